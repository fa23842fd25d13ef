/* server: the network layer of hippo (libwebsockets). One listening socket
 * serves HTTP requests (dispatched to http_handler_fn handlers, src/net/http.h)
 * and participants' websockets (the trial protocol, docs/protocol.md), which
 * are attached to game sessions (src/session/session.h).
 *
 * Threads: one I/O thread runs the libwebsockets loop (every socket, every
 * HTTP handler call); a small pool of session workers (one per core by
 * default) steps, renders, encodes and records the sessions
 * (docs/ARCHITECTURE.md, "Threading model").
 *
 * Typical use (hippo serve):
 *
 *     struct net_config nc;
 *     net_config_defaults(&nc);
 *     nc.host = "127.0.0.1"; nc.port = 8080; nc.data_dir = "data"; nc.ws_path = "/ws";
 *     nc.ws_at_root = true;
 *     struct net_server *srv = net_server_new(&nc, err, sizeof err);
 *     net_server_add_handler(srv, flow_http_handler, flow);
 *     struct sess_mgr *m = net_server_sessions(srv);  // sess_allocate/sess_stop/...
 *     sess_on_end(m, on_session_end, flow);
 *     int rc = net_server_run(srv);                      // until SIGTERM/SIGINT
 *     net_server_free(srv);
 */
#ifndef HIPPO_NET_SERVER_H
#define HIPPO_NET_SERVER_H

#include <stdbool.h>
#include <stddef.h>

#include "net/http.h"

struct cfg;
struct net_server;
struct sess_mgr;

struct net_config {
	const char *host;         /* listen address, default "127.0.0.1" */
	int port;                 /* default 5000; 0 picks a free port (see net_server_port) */
	const char *tls_cert;     /* PEM certificate chain; with tls_key: wss/https */
	const char *tls_key;      /* PEM private key; reloaded with the cert on SIGHUP */
	const char *data_dir;     /* where trial records go: DATA/<projectId>/trials/<userId>/ */
	/* Which websocket upgrade paths are accepted: NULL accepts any path (the
	 * original trial server ignored the path), e.g. "/ws" for hippo serve.
	 * Other paths get an HTTP 404 with a reason (logged with the path). */
	const char *ws_path;
	/* With ws_path: accept the upgrade at "/" too (the original front end
	 * connects there; a request with "Upgrade: websocket" is never the page). */
	bool ws_at_root;
	/* When not NULL, a handshake with a valid userId creates a session with
	 * this project (hippo trial: one server, any participant). When NULL, a
	 * handshake only attaches to sessions allocated with sess_allocate. */
	const struct cfg *open_project;
	int workers;              /* session worker threads; 0: one per online core */
	int grace_s;              /* reconnect grace after a disconnect; -1: the project's
				     trial.reconnectGrace (default 60 s) */
	size_t max_message_bytes; /* websocket message limit; 0: the project's (default 64 KiB) */
	int max_messages_per_s;   /* per connection; 0: the project's (default 200) */
	size_t max_http_body;     /* HTTP request body limit, default 1 MiB */
	size_t max_sessions;      /* live sessions at most (new ones are refused), default 2000;
				     0: no limit */
	bool handle_signals;      /* net_server_run handles SIGTERM/SIGINT/SIGHUP (default true) */
	/* A websocket's client address (open mode's per-address limits, see
	 * sess_set_max_per_address) is the socket's peer; with trust_proxy, the
	 * last X-Forwarded-For entry of the upgrade request (http_client_addr). */
	bool trust_proxy;
};

/* Fills C with the defaults above. */
void net_config_defaults(struct net_config *c);

/* Creates the server and starts listening (the port is bound on return) and
 * its session workers. CFG is copied; the strings and the open_project it
 * points to are borrowed and must outlive the server. Returns NULL with a
 * message in ERR (address in use, unreadable certificate, ...). */
struct net_server *net_server_new(const struct net_config *cfg, char *err, size_t errlen);

/* Appends an HTTP handler; handlers are tried in the order added, on the I/O
 * thread, and must not block (a long body is produced on a thread of the
 * handler's own and streamed: src/net/stream.h). Call before net_server_run.
 * USER is passed back to FN. Requests nobody takes get 404
 * {"error":"not found"}. Requests whose body cannot be framed (http.h,
 * http_framing_check) are answered 400/408/411/413 before any handler sees
 * them, and their connection is closed. */
void net_server_add_handler(struct net_server *s, http_handler_fn fn, void *user);

/* The session manager of the server (owned by it; valid until net_server_free). */
struct sess_mgr *net_server_sessions(struct net_server *s);

/* The bound TCP port (useful with port 0). */
int net_server_port(const struct net_server *s);

/* Serves until net_server_stop or (with handle_signals) SIGTERM/SIGINT. On
 * the way out every session ends with SESS_END_SHUTDOWN: records flushed and
 * fsynced, clients get "done" and a clean close. SIGHUP reloads the TLS
 * certificate and key without dropping connections. Returns 0, or -1 if the
 * loop failed. */
int net_server_run(struct net_server *s);

/* Draining (several nodes, docs/cluster.md): the first SIGTERM/SIGINT (or
 * net_server_stop) calls FN(USER) on the I/O thread (the node stops taking
 * sessions) and lets the running sessions go on for up to SECONDS; once
 * none is left, or then, or at a second signal, the sessions still running
 * end with SESS_END_DRAINED (their clients are told to ask the flow again)
 * and the server shuts down as usual. SECONDS 0 with FN: FN is called, and
 * the sessions end at once with SESS_END_DRAINED; 0 without FN: no draining
 * (the default: sessions end with SESS_END_SHUTDOWN). Call before
 * net_server_run. */
void net_server_set_drain(struct net_server *s, int seconds, void (*fn)(void *user), void *user);

/* Asks a running server to shut down gracefully. Thread-safe and
 * async-signal-safe. */
void net_server_stop(struct net_server *s);

/* Reloads the TLS certificate and key from their files (what SIGHUP does).
 * Thread-safe. Returns 0, or -1 if they could not be loaded (the old ones stay). */
int net_server_reload_tls(struct net_server *s);

/* Frees a server that is not running (after net_server_run returned, or never run). */
void net_server_free(struct net_server *s);

#endif
