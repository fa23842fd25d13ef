/* net internals shared by the files of the server (net__ prefix):
 *
 *   server.c       the libwebsockets context, its callback, the life cycle
 *                  (start, signals, TLS reload, shutdown)
 *   server_http.c  HTTP requests: framing checks, the handlers, answers and
 *                  streamed bodies, websocket upgrades
 *   server_ws.c    websocket connections: messages in (to the session
 *                  layer), output out, limits, pings, close codes
 *
 * Everything runs on the I/O thread. */
#ifndef HIPPO_NET_SERVER_INT_H
#define HIPPO_NET_SERVER_INT_H

#include <libwebsockets.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "net/http.h"
#include "net/server.h"
#include "net/ws_close.h"

#define NET_MAX_HANDLERS 32
#define NET_PING_S 5             /* websocket ping (RTT measurement) interval */
#define NET_HANDSHAKE_S 30       /* a websocket must send its handshake within this */
#define NET_MESSAGE_S 10         /* a websocket message must be complete this long after it began */
/* A request body must be complete within NET_BODY_S seconds of its headers
 * plus one second per NET_BODY_RATE bytes (a 4 MiB deploy: 74 s). */
#define NET_BODY_S 10
#define NET_BODY_RATE 65536
#define NET_STREAM_IDLE_S 60     /* a streamed body's client must take data within this */
#define NET_SHUTDOWN_S 3         /* how long shutdown waits for "done" to be written */
#define NET_HTTP_CHUNK 16384
#define NET_NOTSENT_LOWAT 32768  /* bytes: about two frames */

struct handler {
	http_handler_fn fn;
	void *user;
};

/* Per-connection state (lws allocates and zeroes it; HTTP and websocket). */
struct net_conn {
	struct net_server *srv;
	struct lws *wsi;
	struct net_conn *prev, *next; /* websocket connections */
	bool is_ws;
	/* HTTP */
	char *body;       /* NUL-terminated */
	size_t body_len, body_cap;
	bool body_too_big;
	bool refused;     /* answered before its body: ignore the body, close after */
	int64_t body_deadline_ns; /* when the request's body must be complete */
	struct http_response resp;
	bool have_resp, headers_sent;
	bool head;    /* a HEAD request: the GET answer's headers, never its body */
	size_t sent;
	bool chunked;     /* a streamed body goes out in HTTP/1.1 chunks */
	struct net_conn *snext, *sprev; /* connections sending a streamed body */
	bool in_streams;
	/* websocket */
	char *rx;
	size_t rx_len, rx_cap;
	bool rx_binary, rx_discard;
	bool rx_open;     /* a message has begun and is not complete */
	int64_t rx_start_ns;
	struct sess *s;
	char client[64];  /* the address it came from (net_config.trust_proxy) */
	bool closing;
	enum ws_close close_code;
	char close_reason[124]; /* a close frame's reason: 123 bytes at most */
	int64_t opened_ns, next_ping_ns;
	bool ping_due;
	double tokens;
	int64_t tokens_ns;
	unsigned drops;
	int64_t drops_window_ns;
};

struct net_server {
	struct net_config c;
	struct lws_context *ctx;
	struct lws_vhost *vh;
	struct lws_protocols protocols[2];
	struct handler handlers[NET_MAX_HANDLERS];
	size_t nhandlers;
	struct sess_mgr *m;
	int port;
	struct net_conn *conns;
	size_t nconns;
	struct net_conn *streams; /* HTTP connections with a streamed body */
	lws_sorted_usec_list_t sul;
	atomic_int stop_req, reload_req; /* stop_req counts the requests (signals) */
	bool stopping, finished;
	int64_t stop_deadline;
	/* draining (net_server_set_drain): the first stop request starts it */
	int drain_s;
	void (*drain_fn)(void *user);
	void *drain_user;
	bool draining;
	int64_t drain_deadline;
	size_t max_msg;
	int max_rate;
};

/* server.c */
/* Wakes the I/O thread (from any thread); CTX is the lws context. */
void net__wake_ctx(void *ctx);

/* server_http.c: the callback's HTTP cases */
int net__http_begin(struct net_conn *c, struct net_server *srv, struct lws *wsi);
int net__http_body(struct net_conn *c, struct lws *wsi, const void *in, size_t len);
int net__http_body_done(struct net_conn *c, struct lws *wsi);
int net__http_write(struct net_conn *c, struct lws *wsi);
/* Frees what the transaction held (the answer, the body, a stream). */
void net__http_reset(struct net_conn *c);
/* An upgrade request (UP: "websocket", "h2c"): 0 lets it proceed; a refusal
 * is answered with an HTTP status and a JSON reason, and logged. */
int net__confirm_upgrade(struct net_server *srv, struct lws *wsi, const char *up);
/* Whether the websocket upgrade's path is one the server accepts. */
bool net__ws_path_ok(struct net_server *srv, struct lws *wsi);

/* server_ws.c: the callback's websocket cases */
void net__ws_open(struct net_conn *c, struct net_server *srv, struct lws *wsi);
int net__ws_receive(struct net_conn *c, struct lws *wsi, const void *in, size_t len);
void net__ws_pong(struct net_conn *c, const void *in, size_t len);
int net__ws_writable(struct net_conn *c, struct lws *wsi);
void net__ws_closed(struct net_conn *c);
/* sess__drain_wakes' callback: CONN has output to write. */
void net__on_wake(void *conn, void *user);
/* Once a second: pings, handshake and message deadlines. */
void net__on_second(lws_sorted_usec_list_t *sul);

#endif
