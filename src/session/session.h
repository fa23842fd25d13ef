/* session: the lifecycle of participants' game sessions, the contract between
 * the study flow (src/flow/, which decides when a session starts and stops)
 * and the trial server (src/trial/ + src/net/, which runs them).
 *
 * A session belongs to (projectId, userId). It is allocated when the
 * participant reaches events.startServerStep (environment created, max-runtime
 * timer armed), attached when the participant's websocket handshake names that
 * userId, and ends when the trial is done (maxEpisodes or "stop"), when the flow
 * stops it (stopServerStep), at max-runtime, or at shutdown. Every function
 * here is thread-safe. */
#ifndef HIPPO_SESSION_SESSION_H
#define HIPPO_SESSION_SESSION_H

#include <stdbool.h>
#include <stddef.h>

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

enum sess_end_reason {
	SESS_END_NONE = 0,
	SESS_END_DONE,        /* maxEpisodes reached */
	SESS_END_STOP,        /* the participant sent "stop" */
	SESS_END_STOP_STEP,   /* the flow reached events.stopServerStep */
	SESS_END_MAX_RUNTIME, /* maxRuntime minutes after start */
	SESS_END_GRACE,       /* disconnected longer than the grace period */
	SESS_END_ERROR,       /* the environment failed */
	SESS_END_SHUTDOWN,    /* the server stopped */
};

const char *sess_end_reason_name(enum sess_end_reason r);

/* Called (on a server thread, without locks held) when a session ends, with the
 * data files it wrote (paths relative to the data folder, NULL-terminated). */
typedef void (*sess_end_fn)(void *user, const char *project_id, const char *user_id,
			    enum sess_end_reason reason, const char *const *files);

/* Allocates a session for USER_ID with the project's CFG (borrowed: the cfg must
 * outlive the session). Idempotent: allocating an existing live session returns
 * 0 and changes nothing. Returns 0, or -1 with a message in ERR. */
int sess_allocate(struct sess_mgr *m, const struct cfg *cfg, const char *user_id, char *err,
		  size_t errlen);

/* Ends the session (no-op if none); its data is flushed and closed first. */
void sess_stop(struct sess_mgr *m, const char *project_id, const char *user_id,
	       enum sess_end_reason reason);

/* The state of the participant's session; *REASON (if not NULL) gets the end
 * reason when the state is SESS_ENDED. */
enum sess_state sess_get_state(struct sess_mgr *m, const char *project_id, const char *user_id,
			       enum sess_end_reason *reason);

/* Registers the callback invoked whenever a session ends. */
void sess_on_end(struct sess_mgr *m, sess_end_fn fn, void *user);

/* Counters for /metrics. */
struct sess_stats {
	unsigned long long frames_sent; /* frames handed to participants' connections */
	size_t live;                    /* sessions not ended */
};
void sess_stats(struct sess_mgr *m, struct sess_stats *st);

#endif
