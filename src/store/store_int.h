/* store internals: the backend interface and what every backend shares
 * (store__ prefix). store.c parses the spec, picks the backend, and keeps the
 * logic that does not depend on where the data lives (JSON shaping of
 * participant records, answer values as text, crowd-id merging, the request
 * folding rule, the clamp on a chosen group); a backend only reads and
 * writes rows.
 *
 * A backend is a `const struct store_backend` listed in store.c's table
 * under its scheme: SQLite (store_sqlite*.c) and PostgreSQL (store_pg*.c,
 * "postgresql://..." and "postgres://...").
 *
 * Contract for every slot: DB is the backend's own state from open(). Slots
 * are called from any thread, concurrently: the backend serialises what must
 * be (each has one connection for the callers behind a mutex). Writes follow the
 * documented semantics of the store_ function of the same name in store.h
 * (transactions, the "1 done / 0 not" results). Iterators hold the backend
 * while they call FN. Times are store_now() strings. */
#ifndef HIPPO_STORE_STORE_INT_H
#define HIPPO_STORE_STORE_INT_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "store/store.h"

/* One answered form field: VALUE (LEN bytes, may hold NUL) or NULL for a
 * JSON null. */
struct store__answer {
	const char *field;
	const char *value;
	size_t len;
};

/* One request to record (store_request_log), prepared by store.c. */
struct store__request {
	long long pid;
	int step;
	long long repeats;         /* identical requests that followed it */
	char time[32], last[32];   /* first request; latest one (when REPEATS > 0) */
	char method[16];
	bool has_digest;           /* HEADERS are kept: at most STORE_HEADERS_MAX bytes */
	unsigned char digest[32];  /* SHA-256 of HEADERS */
	const char *headers, *ip;  /* NULL when none; the backend copies what it keeps */
};

/* Schema versions. Version N means the same tables and columns in every
 * backend (docs/data.md); a backend lists one migration per version, applies
 * the ones past the database's version in order, in one transaction with
 * the version update, and refuses a database newer than
 * STORE_SCHEMA_VERSION. STORE__VERSIONS[v] says what version v brings. */
extern const char *const store__versions[STORE_SCHEMA_VERSION + 1];

struct store_backend {
	const char *scheme; /* the spec prefix before ':' */

	/* Opens the store at WHERE (the spec after "scheme:"). With
	 * STORE_READ_ONLY: returns 1 when there is no such store, and never
	 * writes. Returns 0 with *DB, or -1 with a message in ERR. */
	int (*open)(const char *where, unsigned flags, void **db, char *err, size_t errlen);
	/* Commits what is pending and frees DB (may be NULL). */
	void (*close)(void *db);
	const char *(*errmsg)(void *db);
	int (*flush)(void *db);

	int (*participant_get)(void *db, const char *project_id, const char *user_id,
			       struct store_participant *p);
	/* CROWD: a non-empty JSON object or NULL; merged with store__crowd_merge. */
	/* PREVIEW: a new row's participants.preview (schema version 7). */
	int (*participant_ensure)(void *db, const char *project_id, const char *user_id,
				  json_t *crowd, bool preview, struct store_participant *p,
				  bool *created);
	/* Records R, folding it with store__request_same. */
	int (*request_log)(void *db, const struct store__request *r);
	/* PAGE (NULL: unknown; its hash may be NULL): stored with each answer
	 * (answers.page_hash, answers.project_version) and, by advance, in the
	 * row of `passes` it adds for step FROM, in the same transaction
	 * (schema version 3). */
	int (*advance)(void *db, long long pid, int from, int to, const struct store__answer *a,
		       size_t n, bool completed, const struct store_page *page);
	int (*submit_final)(void *db, long long pid, int step, const struct store__answer *a,
			    size_t n, const struct store_page *page);
	int (*group_get)(void *db, long long pid, int n, int *group);
	/* CHOOSE returns a group in 0..N-1 (store.c clamps it). */
	int (*group_assign)(void *db, long long pid, const char *project_id, int n,
			    store_choose_fn choose, void *user, int *group);
	int (*session_start)(void *db, long long pid, int step);
	/* FILES: JSON array text or NULL. */
	int (*session_end)(void *db, long long pid, const char *reason, const char *files);
	int (*session_last)(void *db, long long pid, bool *open, char *reason, size_t rlen);
	int (*sessions_close_all)(void *db, const char *reason);
	long long (*sessions_open)(void *db);
	int (*project_put)(void *db, const char *id, const char *name, const char *researcher,
			   const char *dir, bool deployed, int *version);
	int (*project_live_get)(void *db, const char *id);
	int (*project_live_set)(void *db, const char *id, int live);
	/* store_deploy_put, store_deploy_get, store_deploys_latest (store.h) */
	int (*deploy_put)(void *db, const char *id, int version, const char *config,
			  const char *files);
	int (*deploy_get)(void *db, const char *id, int version, int *got, char **config,
			  char **files);
	int (*deploys_latest)(void *db, int (*fn)(void *user, const char *id, int version),
			      void *user);

	/* Cluster (store.h, "cluster"; docs/cluster.md). Schema version 4
	 * (and 5: nodes.probe):
	 *
	 *   nodes (name TEXT PRIMARY KEY, url TEXT NOT NULL,
	 *          slots INTEGER NOT NULL, draining BOOLEAN NOT NULL,
	 *          lease_until BIGINT NOT NULL   -- ms since 1970 by the backend's clock
	 *          renewed TEXT NOT NULL,
	 *          probe TEXT)                   -- version 5; NULL: none
	 *   sessions + node TEXT (NULL: not placed), stop TEXT (NULL: none),
	 *              episodes INTEGER (NULL: none recorded),
	 *   an index on sessions (node) WHERE stopped IS NULL
	 *
	 * "used" is not stored: it is the count of the node's open sessions
	 * (sessions.node = name AND stopped IS NULL), exact inside the
	 * transaction that reads it. "Live" means lease_until > now, by one
	 * clock: the backend's (SQLite: clock_wall_ms() of the caller;
	 * PostgreSQL: the server's now(), never the nodes'). */

	/* One UPSERT of the node's row: url, probe (NULL: none), slots,
	 * lease_until = now + LEASE_MS, renewed = store_now(), and draining =
	 * DRAINING when FRESH or when the row is new, stored OR DRAINING
	 * otherwise; RETURNING the stored draining into *DRAIN_ASKED (may be
	 * NULL). */
	int (*node_renew)(void *db, const char *name, const char *url, const char *probe,
			  int slots, bool draining, bool fresh, int lease_ms, bool *drain_asked);
	int (*node_remove)(void *db, const char *name);
	/* UPDATE nodes SET draining = true WHERE name = NAME; the rows changed. */
	int (*node_drain)(void *db, const char *name);
	/* UPDATE nodes SET lease_until = now WHERE name = NAME AND lease_until
	 * > now (now by the backend's clock); the rows changed. */
	int (*node_expire)(void *db, const char *name);
	/* Every node by name, with used and live computed as above (probe ""
	 * when NULL). */
	int (*nodes)(void *db, store_node_fn fn, void *user);
	/* ONE transaction that serialises with every other placement (SQLite:
	 * BEGIN IMMEDIATE; PostgreSQL: lock the participant's row, then the
	 * chosen node's row, SELECT ... FOR UPDATE, and count its open sessions
	 * after the lock, so two nodes placing at once can neither both take a
	 * node's last slot nor both place one participant):
	 *  1. the participant's open session on a live node: return 2 with it;
	 *  2. close the participant's other open sessions (reason "lost");
	 *  3. the live (lease_until > now), non-draining node with used < slots,
	 *     least loaded: ORDER BY used / slots (as a fraction), used, name;
	 *     none: return 0 (roll back);
	 *  4. INSERT the session row (participant, step, started = store_now(),
	 *     node, episodes = EPISODES) and return 1 with its id, the node and
	 *     its url. */
	int (*place)(void *db, long long pid, int step, int episodes, struct store_placement *out);
	/* The participant's session row with the greatest id, joined with its
	 * node (node_live false when the node's row is gone; episodes 0 when
	 * NULL). */
	int (*session_info)(void *db, long long pid, struct store_session_info *out);
	/* Open sessions with node = NODE, joined with their participant, by id
	 * (episodes 0 when NULL). */
	int (*placed)(void *db, const char *node, store_placed_fn fn, void *user);
	/* session_end restricted to node = NODE; returns the rows closed. */
	int (*session_end_node)(void *db, long long pid, const char *node, const char *reason,
				const char *files);
	/* Sets episodes = EPISODES on the participant's latest session with
	 * node = NODE (open or just ended: the count may come after the end). */
	int (*session_progress)(void *db, long long pid, const char *node, int episodes);
	/* Sets stop = REASON on the participant's open sessions that have a
	 * node and no stop yet; returns the rows changed. */
	int (*session_stop)(void *db, long long pid, const char *reason);
	/* Closes (stopped = store_now(), REASON) the open sessions with node =
	 * NODE (NODE NULL: node IS NULL); returns the rows closed. */
	int (*sessions_close_node)(void *db, const char *node, const char *reason);
	/* One UPDATE: reason "node_lost" for open sessions whose node's
	 * lease_until <= now; returns the rows closed. */
	int (*nodes_reap)(void *db);

	int (*participants)(void *db, const struct store_query *q, store_participant_fn fn,
			    void *user);
	int (*answers)(void *db, const struct store_query *q, store_answer_fn fn, void *user);
	int (*groups)(void *db, const struct store_query *q, store_group_fn fn, void *user);
	int (*sessions)(void *db, const struct store_query *q, store_session_fn fn, void *user);
	int (*requests)(void *db, const struct store_query *q, store_request_fn fn, void *user);
	/* The rows of `passes` (schema version 3; none from an older database
	 * opened read only), ordered as struct store_query says. */
	int (*passes)(void *db, const struct store_query *q, store_pass_fn fn, void *user);
	int (*step_counts)(void *db, const char *project_id, store_step_count_fn fn, void *user);
	int (*projects)(void *db, const char *project_id, store_project_fn fn, void *user);

	/* The researcher console (docs/console.md); each answers within a
	 * console page's budget with 100 000 participants in a project (an
	 * index on what it filters by, no per-row round trips).
	 *
	 * participants_find: the participants of Q->project_id matching every
	 * filter of Q that is set (store.h, struct store_find), newest first
	 * (highest row id first), Q->offset skipped, at most Q->limit rows (0:
	 * none) to FN; *TOTAL gets how many match in all. */
	int (*participants_find)(void *db, const struct store_find *q, store_participant_fn fn,
				 void *user, long long *total);
	/* step_times: for the participants of PROJECT_ID, the step and time of
	 * their requests (the request log: the step each was answered with); the
	 * rows of one participant consecutive, in any order, a (participant,
	 * step) possibly many times (the caller keeps the earliest). */
	int (*step_times)(void *db, const char *project_id, store_step_time_fn fn, void *user);
	/* group_counts: participants per (n, group) of PROJECT_ID, by n then group. */
	int (*group_counts)(void *db, const char *project_id, store_group_count_fn fn,
			    void *user);
	/* participant_delete: a withdrawal. In one transaction, deletes the
	 * participant with row id PID and every row referring to it (answers,
	 * requests, header sets, sessions, groups), request records not
	 * committed yet included; COUNTS (may be NULL) gets how many rows of each
	 * table went. Returns 1 when deleted, 0 when there is no such
	 * participant, -1 on error. */
	int (*participant_delete)(void *db, long long pid, struct store_delete_counts *counts);
};

extern const struct store_backend store__sqlite;
extern const struct store_backend store__postgresql, store__postgres;

/* Where SPEC holds a password: the user info's after ':' in
 * "scheme://user:PASSWORD@host/...", and the value of each query parameter
 * named password ("?password=VALUE"), as written (percent-encoded). Fills at
 * most MAX spans; returns how many there are. */
struct store__span {
	size_t off, len;
};
#define STORE__SECRETS_MAX 4
size_t store__spec_secrets(const char *spec, struct store__span *out, size_t max);

/* The crowd object as stored: compact JSON text with sorted keys (free()). */
char *store__crowd_text(json_t *crowd);
/* OLD_TEXT (the stored crowd text, may be NULL) with the keys of CROWD it
 * lacks: the new text to store (free()), or NULL when nothing changes. */
char *store__crowd_merge(const char *old_text, json_t *crowd);

/* Whether B is the same request as A (method, step, headers, IP): B is then
 * counted in A's row. */
bool store__request_same(const struct store__request *a, const struct store__request *b);
bool store__text_same(const char *a, const char *b);

#endif
