/* session: the lifecycle of participants' game sessions, the contract between
 * the study flow (src/flow/, which decides when a session starts and stops)
 * and the trial server (src/trial/ + src/net/, which runs them).
 *
 * A session belongs to (projectId, userId). It is allocated when the
 * participant reaches events.startServerStep (environment created, max-runtime
 * timer armed), attached when the participant's websocket handshake names that
 * userId, and ends when the trial is done (maxEpisodes or "stop"), when the flow
 * stops it (stopServerStep), at max-runtime, or at shutdown. A session nobody
 * connects to is released after trial.connectTimeout (the flow allocates
 * again when the participant comes back). Ended sessions are forgotten once
 * their end callback returned: from then on sess_get_state says SESS_NONE and
 * the store's session record (written by the callback) says why it ended.
 * Every function here is thread-safe. */
#ifndef HIPPO_SESSION_SESSION_H
#define HIPPO_SESSION_SESSION_H

#include <stdbool.h>
#include <stddef.h>

#include <stdint.h>

#include "core/id.h"
#include "trial/end_reason.h" /* enum sess_end_reason, its names */

struct cfg;
struct sess_mgr;

enum sess_state {
	SESS_NONE = 0,   /* no session for this participant */
	SESS_STARTING,   /* allocated, not ready yet (e.g. external env process loading) */
	SESS_READY,      /* ready: the client may connect ("show_game_page") */
	SESS_RUNNING,    /* a client is attached */
	SESS_PAUSED,     /* client disconnected, within its grace period */
	SESS_ENDED,      /* over; see the reason */
};

/* Called (on a server thread, without locks held) when a session ends, with the
 * data files it wrote (paths relative to the data folder, NULL-terminated). */
typedef void (*sess_end_fn)(void *user, const char *project_id, const char *user_id,
			    enum sess_end_reason reason, const char *const *files);

/* What sess_allocate returns. */
enum sess_alloc {
	SESS_ALLOC_OK = 0,
	SESS_ALLOC_ERROR = -1,   /* bad id, or the trial could not start (environment, files) */
	SESS_ALLOC_FULL = -2,    /* max_sessions live sessions already */
	SESS_ALLOC_LIMITED = -3, /* CLIENT allocated too many sessions lately */
};

/* Allocates a session for USER_ID with the project's CFG (borrowed: the cfg must
 * outlive the session). Idempotent: allocating an existing live session returns
 * SESS_ALLOC_OK and changes nothing. CLIENT (the address the request came from,
 * or NULL: no limit) is charged one allocation from its allowance (see
 * sess_set_alloc_rate); a client without allowance left gets
 * SESS_ALLOC_LIMITED and *RETRY_S (if not NULL) the seconds until it has one.
 * Failures leave a message in ERR. */
enum sess_alloc sess_allocate(struct sess_mgr *m, const struct cfg *cfg, const char *user_id,
			      const char *client, int *retry_s, char *err, size_t errlen);

/* sess_allocate for a game that goes on from EPISODES_BEFORE episodes played
 * in an earlier session (a cluster node was lost, docs/cluster.md): the trial
 * plays the remaining trial.maxEpisodes - EPISODES_BEFORE episodes (at least
 * one) and says so in its start line, and RUNTIME_USED_MS of
 * project.maxRuntime went to the earlier sessions (the game ends with
 * max_runtime when the whole of it is used, as on one node). No client
 * allowance is charged. */
enum sess_alloc sess_allocate_from(struct sess_mgr *m, const struct cfg *cfg, const char *user_id,
				   int episodes_before, int64_t runtime_used_ms, char *err,
				   size_t errlen);

/* Allocations per client address: PER_MINUTE a minute, in bursts of up to
 * PER_MINUTE (a token bucket per address); 0 lifts the limit. Default 120.
 * Every address starts again with a full allowance. */
void sess_set_alloc_rate(struct sess_mgr *m, int per_minute);

/* CLIENT's allowance (above) for a session allocated elsewhere (a cluster
 * node placing it on another node): true when CLIENT may have one now (with
 * CHARGE, one is taken from its allowance); false with *RETRY_S (if not
 * NULL) and the refusal counted. */
bool sess_client_allowed(struct sess_mgr *m, const char *client, bool charge, int *retry_s);

/* Live game sessions one client address may hold at once on this server
 * (the address sess_allocate or a websocket opening a session in open mode
 * gave); more get SESS_ALLOC_LIMITED (open mode: the connection is refused)
 * until one ends. 0 lifts the limit. Default 200. */
void sess_set_max_per_address(struct sess_mgr *m, int n);

/* Ends the session (no-op if none); its data is flushed and closed first. */
void sess_stop(struct sess_mgr *m, const char *project_id, const char *user_id,
	       enum sess_end_reason reason);

/* The state of the participant's session; *REASON (if not NULL) gets the end
 * reason when the state is SESS_ENDED. */
enum sess_state sess_get_state(struct sess_mgr *m, const char *project_id, const char *user_id,
			       enum sess_end_reason *reason);

/* Adds FN to the listeners called whenever a session ends, in the order they
 * were added (e.g. the upload spool queues the files, then the flow records
 * the end). Returns 0, or -1 when FN is NULL or 8 listeners are registered. */
int sess_on_end(struct sess_mgr *m, sess_end_fn fn, void *user);

/* Called (on a session worker, must not block) each time a session closes a
 * per-episode data file: the ids and the file's path relative to the data
 * folder (recorder.h, rec_closed_fn). Set it before any session is allocated
 * (sessions take it when they start); NULL clears it. */
typedef void (*sess_file_fn)(void *user, const char *project_id, const char *user_id,
			     const char *rel_path);
void sess_on_file_closed(struct sess_mgr *m, sess_file_fn fn, void *user);

/* Called (on a session worker, must not block) each time an episode of a
 * session ends, with the number of episodes of the game played so far (those
 * of sess_allocate_from's earlier sessions included). Set it before any
 * session is allocated; NULL clears it. */
typedef void (*sess_episode_fn)(void *user, const char *project_id, const char *user_id,
				int episodes);
void sess_on_episode_end(struct sess_mgr *m, sess_episode_fn fn, void *user);

/* The open data files of running sessions are also handed to the
 * sess_on_file_closed function every EVERY_MS milliseconds while they grow
 * (their records so far: a cluster's records reach S3 before the episode
 * ends); 0 (the default) only when they close. Set it before any session is
 * allocated. */
void sess_set_upload_every(struct sess_mgr *m, int every_ms);

/* Draining: new allocations are refused (SESS_ALLOC_FULL); running sessions
 * go on. */
void sess_set_draining(struct sess_mgr *m, bool draining);

/* Where a participant's session is when a websocket handshake names one
 * this server does not have (several nodes, docs/cluster.md). */
enum sess_locate {
	SESS_LOCATE_NONE = 0,  /* nowhere: the handshake is refused */
	SESS_LOCATE_HERE,      /* placed here and allocated now: the handshake attaches */
	SESS_LOCATE_ELSEWHERE, /* on another node, whose websocket URL is in URL */
};
/* Called on the I/O thread; may call sess_allocate. */
typedef enum sess_locate (*sess_locate_fn)(void *user, const char *project_id,
					   const char *user_id, char *url, size_t len);
void sess_set_locator(struct sess_mgr *m, sess_locate_fn fn, void *user);

/* Counters for /metrics. */
struct sess_stats {
	unsigned long long frames_sent; /* frames handed to participants' connections */
	size_t live;                    /* sessions not ended */
	size_t held;                    /* session objects in memory (live, ending, or still
					   attached to a closing connection) */
	unsigned long long refused_full;    /* allocations refused: max_sessions reached */
	unsigned long long refused_rate;    /* allocations refused: the client's rate limit */
	unsigned long long connect_timeouts; /* sessions released: nobody connected */
};
void sess_stats(struct sess_mgr *m, struct sess_stats *st);

/* ---- the researcher console (sess_watch.c, docs/console.md) ---- */

/* A live session as the console shows it. */
struct sess_info {
	char project_id[ID_MAX + 1], user_id[ID_MAX + 1];
	enum sess_state state;
	int episode, max_episodes;    /* the current episode; 0 before the first */
	long long step;               /* steps in the episode */
	double score;                 /* its return so far */
	int fps_target;               /* the frame rate in force */
	double fps;                   /* frames sent to the participant per second, lately */
	bool playing;                 /* frames are due at fps_target (started, not paused) */
	double rtt_ms, lag_ms;        /* websocket round trip; input to frame (trial.h) */
	unsigned long long frames;    /* frames sent to the participant */
	unsigned long long dropped;   /* frames replaced before they could be sent (a slow link) */
	int reconnects;               /* connections after the first */
	int64_t started_ms;           /* wall clock, when the session was allocated */
	int viewers;                  /* spectators now */
};

/* Calls FN with a snapshot of each live session (each taken under its own
 * lock, FN called without any). Returns how many. */
size_t sess_each(struct sess_mgr *m, void (*fn)(void *user, const struct sess_info *i),
		 void *user);

#define SESS_VIEW_INPUTS 64      /* participant messages a session keeps for its viewers */
#define SESS_VIEW_INPUT_MAX 512  /* bytes of each (longer ones are cut) */

/* Adds (DELTA 1) or removes (-1) a viewer of the session of (PROJECT, USER).
 * While it has viewers, the session keeps a copy of the newest frame it sent
 * (the bytes already encoded for the participant: nothing is encoded again)
 * and of the messages its participant sends. Returns 0, or -1 when there is
 * no live session. */
int sess_watch(struct sess_mgr *m, const char *project, const char *user, int delta);

struct sess_view_input {
	unsigned long long seq;       /* 1, 2, ... per session */
	int64_t t_ms;                 /* wall clock, when it arrived */
	char text[SESS_VIEW_INPUT_MAX + 1]; /* the message as sent (cut) */
};

/* What a viewer takes from a session (sess_view_take). Zero it first; free
 * JPEG with free(). */
struct sess_view {
	unsigned long long frame_id;  /* in: the frame taken last; out: the one copied */
	unsigned long long input_seq; /* in: the input taken last; out: the last copied */
	unsigned char *jpeg;          /* the frame copied (grown as needed) */
	size_t len, cap;
	struct sess_info info;        /* the session now */
	struct sess_view_input in[SESS_VIEW_INPUTS]; /* the inputs after input_seq, oldest first */
	int nin;
	unsigned long long inputs_missed; /* inputs overwritten before this viewer took them */
};

/* Copies what is new for a viewer, under the session's lock: the newest
 * frame if it is newer than V->frame_id (newest frame wins: frames sent in
 * between are skipped), the inputs after V->input_seq and the state.
 * Returns 1 when a frame was copied, 0 when not, -1 when the session has
 * ended or is gone. */
int sess_view_take(struct sess_mgr *m, const char *project, const char *user,
		   struct sess_view *v);

/* Raises the process's open-file limit (RLIMIT_NOFILE) to its hard limit:
 * every session holds descriptors (its record file, its connection, an
 * environment process's pipes). Returns the limit now in force (-1 if unknown). */
long sess_raise_fd_limit(void);

#endif
