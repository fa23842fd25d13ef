/* end_reason: why a trial, and so its session, ended. The trial layer ends
 * trials with these reasons, the session layer reports them (session.h
 * re-exports this header), the flow and the store keep them by name. The
 * names keep the sess_ prefix of that contract. Includes nothing of hippo:
 * every layer may include it. */
#ifndef HIPPO_TRIAL_END_REASON_H
#define HIPPO_TRIAL_END_REASON_H

#include <stdbool.h>

enum sess_end_reason {
	SESS_END_NONE = 0,
	SESS_END_DONE,        /* maxEpisodes reached */
	SESS_END_STOP,        /* the participant sent "stop" */
	SESS_END_STOP_STEP,   /* the flow reached events.stopServerStep */
	SESS_END_MAX_RUNTIME, /* maxRuntime minutes after start */
	SESS_END_GRACE,       /* disconnected longer than the grace period */
	SESS_END_ERROR,       /* the environment failed */
	SESS_END_SHUTDOWN,    /* the server stopped */
	SESS_END_CONNECT_TIMEOUT, /* nobody connected within trial.connectTimeout */
	SESS_END_RECORD,      /* the records could not be written (e.g. out of descriptors) */
	SESS_END_NODE_LOST,   /* cluster: the node running it stopped renewing its lease */
	SESS_END_DRAINED,     /* cluster: its node drained and the grace period ran out */
};

/* "done", "stop", "stop_step", "max_runtime", "grace", "error", "shutdown",
 * "connect_timeout", "record_error", "node_lost", "drained" ("none" for
 * SESS_END_NONE, "unknown" out of range): the names in the records and the
 * participant store. */
const char *sess_end_reason_name(enum sess_end_reason r);

/* Whether an end with the reason named NAME (sess_end_reason_name, or a name
 * the store uses such as "restart") is the end of the participant's game: done,
 * stop, stop_step, max_runtime, grace, error. Any other (shutdown,
 * connect_timeout, record_error, node_lost, drained, restart, lost, unknown)
 * means the game is still to be played: the flow allocates a new session
 * (after node_lost, as project.onNodeLoss says). */
bool sess_end_name_final(const char *name);

/* Whether a session ending with R closes its connection without "done" (the
 * game is not over; the client asks the flow again): record_error,
 * node_lost, drained. */
bool sess_end_retry(enum sess_end_reason r);

#endif
