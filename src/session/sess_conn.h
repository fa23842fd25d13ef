/* sess_conn: the side of the session manager that the network layer uses
 * (src/net/server.c): creating the manager, attaching websocket connections to
 * sessions, feeding their messages, and taking what to write. Internal to
 * hippo (the study flow uses session.h only).
 *
 * Connections are opaque pointers (CONN) owned by the server; every function
 * taking a CONN, and sess__drain_wakes, must be called on the I/O thread. */
#ifndef HIPPO_SESSION_SESS_CONN_H
#define HIPPO_SESSION_SESS_CONN_H

#include <stdbool.h>
#include <stddef.h>

#include "session/session.h"
#include "trial/msg.h"

struct cfg;
struct sess;

struct sess_mgr_config {
	const char *data_dir;
	const struct cfg *open_project; /* create sessions on handshake (hippo trial), or NULL */
	int workers;                    /* worker threads, >= 1 */
	int grace_s;                    /* -1: the project's trial.reconnectGrace */
	size_t max_sessions;            /* live sessions at most; 0: no limit */
	size_t headroom;                /* bytes reserved before every output buffer (LWS_PRE) */
	/* Called from any thread when some connection has output to write; the
	 * server then calls sess__drain_wakes on its I/O thread. */
	void (*wake)(void *user);
	void *wake_user;
};

struct sess_mgr *sess__mgr_new(const struct sess_mgr_config *c, char *err, size_t errlen);
/* Ends every live session (SESS_END_SHUTDOWN), stops the workers, frees. */
void sess__mgr_free(struct sess_mgr *m);
/* Ends every live session with SESS_END_SHUTDOWN ("done" is queued to clients). */
void sess__shutdown(struct sess_mgr *m);
/* Ends every live session with REASON (the server goes on). */
void sess__end_all(struct sess_mgr *m, enum sess_end_reason reason);
/* Sessions not yet ended. */
size_t sess__live(struct sess_mgr *m);

/* What became of a connection's first message (sess__open). */
enum sess_open {
	SESS_OPEN_ATTACHED = 0,  /* the handshake attached the connection to a session */
	SESS_OPEN_REFUSED,       /* not a handshake, a bad one, or no session for it: ERR says why */
	SESS_OPEN_SHUTTING_DOWN, /* a handshake while the server shuts down (sess__shutdown) */
	SESS_OPEN_MOVED,         /* the session is on another node: ERR is its websocket URL */
};

/* The first text message of connection CONN (TEXT, LEN bytes), which must be
 * the handshake (docs/protocol.md): parses it and attaches CONN as
 * sess__attach does, with *S and *REPLACED as sess__attach returns them.
 * CLIENT: the address the connection came from (NULL: unknown). */
enum sess_open sess__open(struct sess_mgr *m, const char *text, size_t len, void *conn,
			  const char *client, struct sess **s, void **replaced, char *err,
			  size_t errlen);

/* A later text message of the connection attached to S: parsed and handed
 * to the trial; a message that does not parse gets {"error": why}. */
void sess__text(struct sess *s, const char *text, size_t len);

/* Attaches CONN to the session named by the handshake HS (creating it in open
 * mode, where CLIENT, the connection's address or NULL, is charged as
 * sess_allocate charges it and may hold at most sess_set_max_per_address
 * sessions). Returns the session (a reference held for CONN until sess__detach)
 * or NULL with a client-facing message in ERR. *REPLACED gets a connection
 * that was attached before and must now be closed (or NULL); its reference
 * passes to CONN, so the replaced connection must not call sess__detach. */
struct sess *sess__attach(struct sess_mgr *m, const struct trial_msg *hs, void *conn,
			  const char *client, bool binary, void **replaced, char *err,
			  size_t errlen);
/* CONN is gone: the session pauses (grace period) if CONN was its connection. Drops the reference. */
void sess__detach(struct sess *s, void *conn);
void sess__message(struct sess *s, const struct trial_msg *msg);
/* Queues {"error": TEXT} (dropped if the control queue is full). */
void sess__error(struct sess *s, const char *text);
void sess__rtt(struct sess *s, double rtt_ms);

enum sess_out {
	SESS_OUT_NONE = 0,
	SESS_OUT_TEXT,
	SESS_OUT_BINARY,
	SESS_OUT_CLOSE,    /* the trial is over and "done" was sent: close normally */
	SESS_OUT_CLOSE_RETRY, /* the session failed (its error was sent) but the game is not
				 over: close with 1008 so the client asks the flow again */
};

/* The next message for CONN: *BUF (headroom bytes available before it) and
 * *LEN, owned by the session and valid until the next call for CONN.
 * *MORE tells whether more output is waiting. Control messages come first, in
 * order, then the newest frame (older unsent frames were replaced). */
enum sess_out sess__next_output(struct sess *s, void *conn, unsigned char **buf, size_t *len,
				bool *more);

/* Calls FN(CONN, USER) for each connection that has output since the last drain. */
void sess__drain_wakes(struct sess_mgr *m, void (*fn)(void *conn, void *user), void *user);

#endif
