/* store: the participant store. It keeps the deployed projects, participants
 * (current step, group, crowd ids, completion), their answers, the requests
 * they made, their game sessions and group assignments. docs/data.md
 * ("Participant store") documents the schema, version STORE_SCHEMA_VERSION.
 *
 * This header is the one contract callers use; where the data lives is the
 * backend's business (store_int.h). A store is opened from a spec:
 *
 *   sqlite:PATH   an SQLite database file (WAL mode, prepared statements with
 *                 bound parameters only, a busy timeout)
 *   PATH          the same (a spec without a known "scheme:" prefix)
 *   postgresql://USER[:PASSWORD]@HOST[:PORT]/DATABASE[?PARAM=VALUE&...]
 *   postgres://...
 *                 a PostgreSQL database (libpq's URL: docs/config.md); its
 *                 password never appears in messages (store_spec_masked)
 *
 * Every function is thread-safe. Functions returning int give 0 (or a
 * documented positive value) on success and -1 on a database error, which is
 * logged by the caller from store_errmsg().
 *
 * Reading many rows goes through the iterators below (store_participants_each
 * ...): they call a function per row and keep nothing, so memory stays the
 * same whatever the number of rows. The strings of a row are valid during
 * the call only, and the function must not call the store (it holds it). */
#ifndef HIPPO_STORE_STORE_H
#define HIPPO_STORE_STORE_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#define STORE_SCHEMA_VERSION 7
#define STORE_ID_MAX 64

/* What one participant can make the store keep of its requests, whatever it
 * sends: header sets of at most STORE_HEADERS_MAX bytes, at most
 * STORE_HEADER_SETS_MAX distinct ones, at most STORE_REQUESTS_MAX request
 * rows. */
#define STORE_HEADERS_MAX 4096
#define STORE_HEADER_SETS_MAX 8
#define STORE_REQUESTS_MAX 1000
#define STORE_REQUESTS_MAX_TEXT "1000"

struct store;

enum store_status { STORE_ACTIVE = 0, STORE_COMPLETED = 1 };

struct store_participant {
	long long id;             /* row id, used by the other calls */
	char project_id[STORE_ID_MAX + 1];
	char user_id[STORE_ID_MAX + 1];
	int step;                 /* current step; past the last numbered one = final */
	enum store_status status;
	char created[32];         /* ISO 8601 UTC */
	bool preview;             /* a researcher's preview (schema version 7): no group
				   * row, left out of counts and exports (docs/data.md) */
};

/* Opens (creating if needed) the store of SPEC, brings its schema up to
 * STORE_SCHEMA_VERSION and starts its maintenance. Returns NULL with a
 * message in ERR on failure. */
struct store *store_open(const char *spec, char *err, size_t errlen);

/* store_open_flags: STORE_READ_ONLY opens an existing store for reading
 * (`hippo export`, beside a running server): nothing is created, migrated or
 * written, and any schema version up to STORE_SCHEMA_VERSION is read. */
#define STORE_READ_ONLY 1u
/* Returns 0 with *OUT, 1 when STORE_READ_ONLY and SPEC names no existing
 * store, -1 with a message in ERR. */
int store_open_flags(const char *spec, unsigned flags, struct store **out, char *err,
		     size_t errlen);
void store_close(struct store *s);
/* The spec S was opened with (to open the same store again, e.g. read only
 * beside it); never to be shown: it may hold a password. */
const char *store_spec(struct store *s);
/* SPEC as it may be shown: every password in it (store__spec_secrets) as
 * "***", into OUT (not SPEC's own buffer). */
void store_spec_masked(const char *spec, char *out, size_t len);
/* The last error message of this connection (not thread-stable). */
const char *store_errmsg(struct store *s);

/* "2026-11-23T21:30:00.123Z" for now, into BUF (>= 32 bytes). */
void store_now(char *buf, size_t len);

/* Commits the pending request records now. */
int store_flush(struct store *s);

/* Finds the participant. Returns 1 and fills *P when found, 0 when not, -1 on error. */
int store_participant_get(struct store *s, const char *project_id, const char *user_id,
			  struct store_participant *p);
/* Finds or creates the participant at step 1 with CROWD (a JSON object of
 * crowd-platform ids, may be NULL; merged into an existing record's missing
 * keys). *CREATED tells whether the row is new. */
int store_participant_ensure(struct store *s, const char *project_id, const char *user_id,
			     json_t *crowd, struct store_participant *p, bool *created);
/* store_participant_ensure, a new participant created as a preview when
 * PREVIEW (an existing one keeps what it was). */
int store_participant_ensure_preview(struct store *s, const char *project_id,
				     const char *user_id, json_t *crowd, bool preview,
				     struct store_participant *p, bool *created);

/* Records a request: METHOD, step shown, HEADERS (JSON object text, NULL for
 * none), IP (NULL unless the project logs IPs). Each distinct header set is
 * stored once per participant (the first STORE_HEADER_SETS_MAX of them; a set
 * longer than STORE_HEADERS_MAX is not kept); a request identical to the
 * participant's previous one (method, step, headers, IP), or any request once
 * the participant has STORE_REQUESTS_MAX rows, is counted in the previous row
 * instead of adding one (docs/data.md). Records are committed in batches (at
 * most 256 rows or 200 ms later, and at store_close), so a GET costs no
 * commit; a kill -9 can lose the last 200 ms of request records, never answers
 * or steps. */
int store_request_log(struct store *s, long long pid, const char *method, int step,
		      const char *headers_json, const char *ip);

/* The version of the page a participant was shown at a step, kept with its
 * answers and its pass of the step (docs/data.md, "Page versions"). */
#define STORE_PAGE_HASH_LEN 64 /* hex digits of a page hash */
struct store_page {
	/* SHA-256 of the step file's bytes as served (the group's variant file),
	 * STORE_PAGE_HASH_LEN lowercase hex digits; NULL: no page (a game step). */
	const char *hash;
	/* The project's version that served it (projects.version); 0: unknown. */
	int version;
};

/* In one transaction: stores ANSWERS (JSON object; strings verbatim, other
 * values as JSON text) for step FROM, records the pass of FROM (a row of
 * `passes`) and moves the participant from FROM to TO, setting the status to
 * completed when COMPLETED. PAGE (NULL: unknown) is what step FROM showed; it
 * is kept with each answer and the pass. Returns 1 when done, 0 when the
 * participant is no longer at FROM (nothing stored), -1 on error. */
int store_advance_page(struct store *s, long long pid, int from, int to, json_t *answers,
		       bool completed, const struct store_page *page);
/* store_advance_page with the page unknown. */
int store_advance(struct store *s, long long pid, int from, int to, json_t *answers,
		  bool completed);

/* Stores ANSWERS (as store_advance_page, with PAGE) for STEP, the final step
 * the participant stays on, once: returns 1 when stored, 0 when nothing was
 * (answers for STEP are stored already, ANSWERS is empty, or the participant
 * is not at STEP), -1 on error. Repeated submissions of the final page are
 * ignored. The final step is never passed: no `passes` row. */
int store_submit_final_page(struct store *s, long long pid, int step, json_t *answers,
			    const struct store_page *page);
/* store_submit_final_page with the page unknown. */
int store_submit_final(struct store *s, long long pid, int step, json_t *answers);

/* The participant's group among N variants: returns 1 and sets *GROUP when
 * assigned, 0 when not. */
int store_group_get(struct store *s, long long pid, int n, int *group);
/* Assigns a group among N once: if the participant has none, CHOOSE is called
 * (inside the transaction) with the current per-group counts of the project
 * and returns the group (one out of 0..N-1 means 0); the result is stored.
 * *GROUP gets the stored group. */
typedef int (*store_choose_fn)(void *user, const long long *counts, int n);
int store_group_assign(struct store *s, long long pid, const char *project_id, int n,
		       store_choose_fn choose, void *user, int *group);

/* Sessions: one row per allocation. */
int store_session_start(struct store *s, long long pid, int step);
/* Closes the participant's open session(s) with REASON and FILES (a JSON
 * array, may be NULL). Returns the number of rows closed. */
int store_session_end(struct store *s, long long pid, const char *reason, json_t *files);
/* The latest session: returns 1 when one exists, with *OPEN (not stopped yet)
 * and REASON (empty while open); 0 when none. */
int store_session_last(struct store *s, long long pid, bool *open, char *reason, size_t rlen);
/* Marks every open session stopped with REASON (at start-up after a crash or
 * restart: those sessions are gone). Returns the number closed. */
int store_sessions_close_all(struct store *s, const char *reason);
/* Number of open sessions. */
long long store_sessions_open(struct store *s);

/* Projects: the deployed versions. */
int store_project_put(struct store *s, const char *id, const char *name, const char *researcher,
		      const char *dir, bool deployed, int *version);
/* Live override set by the admin API: 1 on, 0 off, -1 none (config decides). */
int store_project_live_get(struct store *s, const char *id);
int store_project_live_set(struct store *s, const char *id, int live);

/* Deployed versions (schema version 6, table deploys): the files of each
 * version of a study deployed through the admin API, so every node of a
 * cluster serves it (docs/cluster.md). CONFIG is the text of config.yml,
 * FILES a JSON object {name: text} of its StepFiles. A version is written
 * once: a second put of the same (ID, VERSION) changes nothing. 0 or -1. */
int store_deploy_put(struct store *s, const char *id, int version, const char *config,
		     const char *files);
/* Version VERSION of ID (0: the latest): 1 with *CONFIG and *FILES (free())
 * and *GOT its version, 0 when there is none, -1 on error. */
int store_deploy_get(struct store *s, const char *id, int version, int *got, char **config,
		     char **files);
/* Calls FN with the latest deployed version of every study (one cheap
 * query: what a node polls). FN returning non-zero stops. 0 or -1. */
int store_deploys_latest(struct store *s, int (*fn)(void *user, const char *id, int version),
			 void *user);

/* ------------------------------------------------------------ cluster */

/* Several `hippo serve` processes ("nodes") sharing one store
 * (docs/cluster.md). Each node registers itself with a lease it renews; a
 * participant's game session is placed on a node in one transaction (a
 * session row naming the node); the node polls for the sessions placed on
 * it. A node whose lease expired is dead: its open sessions end with reason
 * "node_lost". Leases are judged by the backend's clock (SQLite: the
 * calling process's; PostgreSQL: the server's), so the nodes' clocks need
 * not agree. */

#define STORE_NODE_MAX 63   /* a node name: core/id.h's rule */
#define STORE_URL_MAX 255   /* an advertised URL */

/* Registers node NAME, or renews it: its advertised base URL, SLOTS (game
 * sessions it takes), DRAINING (takes no new ones) and a lease that expires
 * LEASE_MS from now. PROBE: the node's internal base URL (e.g.
 * http://10.0.0.7:8080) that other nodes use to check directly that it is
 * alive, NULL for none. FRESH: the node process has just started (the first
 * call from cluster_start): the stored draining becomes DRAINING. Otherwise
 * draining stays true once set (DRAINING or store_node_drain): draining =
 * stored OR DRAINING. *DRAIN_ASKED (may be NULL) receives the stored
 * draining after the call, so a node learns that the console asked it to
 * drain. One statement (UPSERT ... RETURNING draining). */
int store_node_renew(struct store *s, const char *name, const char *url, const char *probe,
		     int slots, bool draining, bool fresh, int lease_ms, bool *drain_asked);
/* Removes node NAME (a clean exit: its sessions have ended). */
int store_node_remove(struct store *s, const char *name);
/* Asks node NAME to drain (the console's drain button): draining = true.
 * Returns 1, 0 when there is no such node, -1 on error. */
int store_node_drain(struct store *s, const char *name);
/* Ends node NAME's lease now, because another node found it dead:
 * lease_until = now where lease_until > now. Returns the rows changed (0 or
 * 1), -1 on error. The caller then runs store_nodes_reap. */
int store_node_expire(struct store *s, const char *name);

/* The nodes, by name. USED: open sessions placed on it; LIVE: its lease has
 * not expired; LEASE_LEFT_MS: until it does (negative: expired since). */
struct store_node_row {
	const char *name, *url;
	int slots, used;
	bool draining, live;
	long long lease_left_ms;
	const char *renewed;       /* when it last renewed (ISO 8601) */
	char probe[STORE_URL_MAX + 1]; /* its internal base URL (store_node_renew), "" when none */
};
typedef int (*store_node_fn)(void *user, const struct store_node_row *r);
int store_nodes_each(struct store *s, store_node_fn fn, void *user);

/* Where a session runs. */
struct store_placement {
	long long session;               /* the session row */
	char node[STORE_NODE_MAX + 1];
	char url[STORE_URL_MAX + 1];     /* the node's advertised base URL */
};

/* Places the participant's game session (STEP: the step it is allocated at;
 * EPISODES: episodes of the game played in earlier sessions, 0 for a new
 * game) in one transaction: if the participant has an open session on a live node
 * already, returns 2 with it (a participant is never placed twice);
 * otherwise closes any other open session of theirs (reason "lost"),
 * chooses the live, non-draining node with a free slot that is least loaded
 * (used/slots, then used, then name), opens the session on it and returns 1
 * with *OUT. Returns 0 when no node has a free slot, -1 on error. */
int store_place(struct store *s, long long pid, int step, int episodes,
		struct store_placement *out);

/* The participant's latest session, with where it runs. Returns 1 with
 * *OUT, 0 when the participant has none, -1 on error. */
struct store_session_info {
	long long id;
	bool open;
	char reason[32];                 /* "" while open */
	char stop[32];                   /* a stop asked of its node, "" when none */
	char node[STORE_NODE_MAX + 1];   /* "" when not placed (one node, no cluster) */
	char url[STORE_URL_MAX + 1];
	bool node_live;                  /* the node's lease has not expired */
	int episodes;                    /* episodes of the game played (store_session_progress) */
};
int store_session_info(struct store *s, long long pid, struct store_session_info *out);

/* The open sessions placed on NODE, oldest first. STOP: a reason another
 * node asked it to end with (store_session_stop), NULL when none. */
struct store_placed_row {
	long long session, participant;
	const char *project_id, *user_id;
	int step;
	int episodes;                    /* played before this session (store_place) */
	const char *stop;
};
typedef int (*store_placed_fn)(void *user, const struct store_placed_row *r);
int store_placed_each(struct store *s, const char *node, store_placed_fn fn, void *user);

/* store_session_end for the sessions placed on NODE only (the node running
 * them records their end; a newer session elsewhere stays open). Returns the
 * number of rows closed. */
int store_session_end_node(struct store *s, long long pid, const char *node, const char *reason,
			   json_t *files);
/* Records that the participant's latest session on NODE has seen EPISODES
 * episodes of the game end (those of earlier sessions included), so that a
 * session placed after the node is lost goes on from there. Returns the
 * number of rows changed. */
int store_session_progress(struct store *s, long long pid, const char *node, int episodes);
/* Asks the node running the participant's open session to end it with
 * REASON (it sees it in store_placed_each and records the end). Returns the
 * number of sessions asked. */
int store_session_stop(struct store *s, long long pid, const char *reason);
/* Closes every open session placed on NODE with REASON (a node starting
 * again: "restart"); with NODE NULL, the open sessions placed on no node.
 * Returns the number closed. */
int store_sessions_close_node(struct store *s, const char *node, const char *reason);
/* Closes with "node_lost" every open session of every node whose lease has
 * expired, in one statement. Returns the number closed. */
int store_nodes_reap(struct store *s);

/* ------------------------------------------------------------ reading */

/* Which participants an iterator reads: those of PROJECT_ID, or the one
 * with row id PARTICIPANT. Participants come oldest first (creation time,
 * then row id) or, with STORE_ORDER_ID, by row id; the rows of each
 * participant in the order they were stored. */
enum store_order { STORE_ORDER_CREATED = 0, STORE_ORDER_ID };
struct store_query {
	const char *project_id;   /* required */
	long long participant;    /* a row id; 0: every participant of the project */
	enum store_order order;
	/* Reading a project's rows: preview participants' rows too (they are
	 * left out otherwise). One participant's rows are read whatever it is. */
	bool preview;
};

/* An iterator calls its function once per row: 0 goes on, another value
 * stops the iteration, which returns it. An iterator returns 0 when every
 * row was seen, -1 on a database error. Strings are NULL for missing
 * values. */
struct store_participant_row {
	long long id;
	const char *project_id, *user_id;
	const char *created, *updated; /* first request; last step change */
	int step;
	const char *status;            /* "active" or "completed" */
	const char *crowd;             /* JSON object text */
	/* Summaries of its groups and sessions: the groups (in the order of
	 * their number of variants, ';'-separated), how many sessions, the first
	 * start, the latest stop and the end reason of the latest session. */
	const char *groups;
	long long sessions;
	const char *session_started, *session_stopped, *session_reason;
	bool preview;                  /* a preview participant (store_participant) */
};
typedef int (*store_participant_fn)(void *user, const struct store_participant_row *r);
int store_participants_each(struct store *s, const struct store_query *q,
			    store_participant_fn fn, void *user);

struct store_answer_row {
	long long participant;
	const char *user_id;
	int step;
	const char *field;
	const char *value;             /* may hold NUL bytes: VALUE_LEN counts them */
	size_t value_len;
	const char *time;
	const char *page_hash;         /* the page answered (struct store_page); NULL: unknown */
	int project_version;           /* 0: unknown (rows stored before schema version 3) */
};
typedef int (*store_answer_fn)(void *user, const struct store_answer_row *r);
int store_answers_each(struct store *s, const struct store_query *q, store_answer_fn fn,
		       void *user);

/* One step a participant passed (moved past), with the page it showed. */
struct store_pass_row {
	long long participant;
	const char *user_id;
	int step;
	const char *page_hash;         /* NULL: a game step, or unknown */
	int project_version;           /* 0: unknown */
	const char *time;
};
typedef int (*store_pass_fn)(void *user, const struct store_pass_row *r);
/* Nothing for a database older than schema version 3 (read only). */
int store_passes_each(struct store *s, const struct store_query *q, store_pass_fn fn,
		      void *user);

struct store_group_row {
	long long participant;
	const char *user_id;
	int n, group;                  /* group 0..n-1 among n variants */
	const char *assigned;
};
typedef int (*store_group_fn)(void *user, const struct store_group_row *r);
/* Groups come in the order of N within each participant. */
int store_groups_each(struct store *s, const struct store_query *q, store_group_fn fn,
		      void *user);

struct store_session_row {
	long long participant;
	const char *user_id;
	int step;                      /* the step it was allocated at */
	const char *started, *stopped; /* stopped NULL while it runs */
	const char *reason;
	const char *files;             /* JSON array text */
};
typedef int (*store_session_fn)(void *user, const struct store_session_row *r);
int store_sessions_each(struct store *s, const struct store_query *q, store_session_fn fn,
			void *user);

/* One row of the request log: the request at TIME and REPEATS identical ones
 * after it, the latest at LAST (docs/data.md, "requests"). Pending records
 * are committed first (store_flush). */
struct store_request_row {
	long long participant;
	const char *user_id;
	const char *time, *last;
	const char *method;
	int step;
	const char *headers;           /* JSON object text, NULL when not kept */
	const char *ip;
	long long repeats;
};
typedef int (*store_request_fn)(void *user, const struct store_request_row *r);
int store_requests_each(struct store *s, const struct store_query *q, store_request_fn fn,
			void *user);

/* Participants per step: of PROJECT_ID, one row per (step, status); with
 * PROJECT_ID NULL, one row per (project, step) over every project, STATUS
 * NULL (every status). Preview participants are not counted. */
struct store_step_count_row {
	const char *project_id;
	int step;
	const char *status;
	long long count;
};
typedef int (*store_step_count_fn)(void *user, const struct store_step_count_row *r);
int store_step_counts_each(struct store *s, const char *project_id, store_step_count_fn fn,
			   void *user);

/* The deployed projects: the one with id PROJECT_ID, or every one (NULL), by
 * id. */
struct store_project_row {
	const char *id, *name, *researcher, *dir;
	int version;
	bool deployed;
	int live;                      /* the live override: 1 on, 0 off, -1 none */
	const char *updated;
};
typedef int (*store_project_fn)(void *user, const struct store_project_row *r);
int store_projects_each(struct store *s, const char *project_id, store_project_fn fn,
			void *user);

/* ------------------------------------------------------------ the console */

/* Which participants store_participants_find reads: those of PROJECT_ID
 * matching every filter set. */
struct store_find {
	const char *project_id;     /* required */
	int step;                   /* current step; 0: any */
	const char *status;         /* "active" or "completed"; NULL: any */
	int group_n, group;         /* assigned GROUP among GROUP_N variants; GROUP_N 0: any */
	const char *search;         /* a text found in the userId or the crowd ids' JSON; NULL: any */
	const char *updated_before; /* last step change before this time (store_now format) */
	long long offset, limit;    /* the page: newest first; LIMIT 0 only counts */
	bool preview;               /* preview participants too (left out otherwise) */
};
/* Calls FN for a page of the participants matching Q, newest first, and sets
 * *TOTAL (may be NULL) to how many match in all. Returns 0, FN's stop value,
 * or -1. */
int store_participants_find(struct store *s, const struct store_find *q, store_participant_fn fn,
			    void *user, long long *total);

/* When the participants of a project saw each step: the step and time of
 * every request of theirs (requests: the step each was answered with). The
 * rows of one participant come together, in no particular order; the first
 * time a participant saw a step is the earliest FIRST of its rows. Preview
 * participants are left out. */
struct store_step_time_row {
	long long participant;
	int step;
	const char *first;
};
typedef int (*store_step_time_fn)(void *user, const struct store_step_time_row *r);
int store_step_times_each(struct store *s, const char *project_id, store_step_time_fn fn,
			  void *user);

/* Participants per group: one row per (n, group) of the project. */
struct store_group_count_row {
	int n, group;
	long long count;
};
typedef int (*store_group_count_fn)(void *user, const struct store_group_count_row *r);
int store_group_counts_each(struct store *s, const char *project_id, store_group_count_fn fn,
			    void *user);

/* Rows a withdrawal deleted, per table. */
struct store_delete_counts {
	long long participants, answers, passes, requests, header_sets, sessions, groups;
};
/* Deletes participant PID and every row of it in every table, in one
 * transaction (a withdrawal, docs/console.md). Returns 1 when deleted, 0 when
 * there was no such participant, -1 on error. */
int store_participant_delete(struct store *s, long long pid, struct store_delete_counts *counts);

/* {"<step>": count, ...} of the project's participants, plus the number of
 * participants in *TOTAL and completed ones in *COMPLETED (preview
 * participants not counted). */
json_t *store_step_counts(struct store *s, const char *project_id, long long *total,
			  long long *completed);
/* The project's participants with their answers, groups, sessions and crowd
 * ids as a JSON array (admin API, data download). */
json_t *store_participants_json(struct store *s, const char *project_id);
/* The same with the preview participants too when PREVIEW ("preview": true
 * in their objects). */
json_t *store_participants_json_with(struct store *s, const char *project_id, bool preview);
/* One participant in the same shape, plus "projectId" (the participant record
 * uploaded as PROJECT/Users/USER.json), or NULL when unknown. */
json_t *store_participant_json(struct store *s, const char *project_id, const char *user_id);

#endif
