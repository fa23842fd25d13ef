/* server: libwebsockets front end: HTTP dispatch, websocket trial
 * connections, limits, TLS, signals and graceful shutdown. Everything here
 * runs on the I/O thread except net_server_stop/reload (flags + wake-up). */
#include "net/server.h"

#include <errno.h>
#include <libwebsockets.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/config.h"
#include "core/log.h"
#include "net/stream.h"
#include "net/ws_close.h"
#include "session/sess_conn.h"

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
	char *body;
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
	bool closing;
	enum ws_close close_code;
	char close_reason[100];
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
	atomic_int stop_req, reload_req;
	bool stopping, finished;
	int64_t stop_deadline;
	size_t max_msg;
	int max_rate;
};

static struct net_server *running; /* for the signal handlers */

void net_config_defaults(struct net_config *c)
{
	memset(c, 0, sizeof *c);
	c->host = "127.0.0.1";
	c->port = 5000;
	c->data_dir = "data";
	c->grace_s = -1;
	c->max_http_body = 1 << 20;
	c->max_sessions = 2000;
	c->handle_signals = true;
}

static void lws_log(int level, const char *line)
{
	size_t n = strlen(line);
	while (n && (line[n - 1] == '\n' || line[n - 1] == '\r'))
		n--;
	log_emit(level == LLL_ERR ? LOG_ERROR : LOG_WARN, "net", "libwebsockets", "detail=\"%.*s\"",
		 (int)n, line);
}

/* Wakes the I/O thread (from any thread). */
static void wake_ctx(void *ctx)
{
	lws_cancel_service(ctx);
}

/* ---------------------------------------------------------------- HTTP ---- */

static void resp_reset(struct http_response *r)
{
	http_response_free(r);
	http_response_init(r);
}

static void resp_text(struct http_response *r, int status, const char *json)
{
	resp_reset(r);
	r->status = status;
	r->body = strdup(json);
	r->body_len = r->body ? strlen(r->body) : 0;
}

static const struct {
	const char *name;
	enum lws_token_indexes tok;
} req_headers[] = {
	{"host", WSI_TOKEN_HOST},
	{"origin", WSI_TOKEN_ORIGIN},
	{"user-agent", WSI_TOKEN_HTTP_USER_AGENT},
	{"content-type", WSI_TOKEN_HTTP_CONTENT_TYPE},
	{"content-length", WSI_TOKEN_HTTP_CONTENT_LENGTH},
	{"accept", WSI_TOKEN_HTTP_ACCEPT},
	{"accept-language", WSI_TOKEN_HTTP_ACCEPT_LANGUAGE},
	{"referer", WSI_TOKEN_HTTP_REFERER},
	{"cookie", WSI_TOKEN_HTTP_COOKIE},
	{"authorization", WSI_TOKEN_HTTP_AUTHORIZATION},
	{"x-forwarded-for", WSI_TOKEN_X_FORWARDED_FOR},
	{"if-none-match", WSI_TOKEN_HTTP_IF_NONE_MATCH},
};

static const struct {
	const char *method;
	enum lws_token_indexes tok;
} methods[] = {
	{"GET", WSI_TOKEN_GET_URI},	    {"POST", WSI_TOKEN_POST_URI},
	{"OPTIONS", WSI_TOKEN_OPTIONS_URI}, {"PUT", WSI_TOKEN_PUT_URI},
	{"PATCH", WSI_TOKEN_PATCH_URI},	    {"DELETE", WSI_TOKEN_DELETE_URI},
	{"HEAD", WSI_TOKEN_HEAD_URI},
};

static const char *method_of(struct lws *wsi)
{
	for (size_t i = 0; i < sizeof methods / sizeof methods[0]; i++)
		if (lws_hdr_total_length(wsi, methods[i].tok) > 0)
			return methods[i].method;
	return "GET";
}

/* An HTTP/2 stream (its TCP connection is its parent's). */
static bool is_h2(struct lws *wsi)
{
	return lws_get_network_wsi(wsi) != wsi;
}

/* How many times header TOK was sent (libwebsockets keeps one fragment each). */
static int header_count(struct lws *wsi, enum lws_token_indexes tok)
{
	char v[8200]; /* more than info.max_http_header_data: no fragment is too long */
	int n = 0;
	while (lws_hdr_copy_fragment(wsi, v, sizeof v, tok, n) >= 0)
		n++;
	return n;
}

/* Whether the request's body can be read (http.h, http_framing_check). */
static int check_framing(struct net_conn *c, struct lws *wsi, const char *method,
			 size_t *body_len, const char **why)
{
	char cl[32] = "";
	struct http_framing f = {
		.method = method,
		.http2 = is_h2(wsi),
		.has_version = lws_hdr_total_length(wsi, WSI_TOKEN_HTTP) > 0,
		.content_lengths = header_count(wsi, WSI_TOKEN_HTTP_CONTENT_LENGTH),
		.transfer_encoding = lws_hdr_total_length(wsi, WSI_TOKEN_HTTP_TRANSFER_ENCODING) > 0,
		.max_body = c->srv->c.max_http_body,
	};
	if (f.content_lengths > 0)
		f.content_length =
			lws_hdr_copy_fragment(wsi, cl, sizeof cl, WSI_TOKEN_HTTP_CONTENT_LENGTH, 0) >= 0
				? cl
				: "(too long)";
	return http_framing_check(&f, body_len, why);
}

/* Answers STATUS {"error": WHY} without asking the handlers, ignores the
 * body if one follows, and closes the connection after the answer (what
 * follows on it cannot be framed). */
static void refuse(struct net_conn *c, struct lws *wsi, int status, const char *why)
{
	char ip[64] = "";
	lws_get_peer_simple(wsi, ip, sizeof ip);
	log_info("net", "request refused", "status=%d method=%s reason=\"%s\" peer=%s", status,
		 method_of(wsi), why, ip);
	resp_reset(&c->resp);
	http_respond_error(&c->resp, status, why);
	c->have_resp = true;
	c->refused = true;
	c->headers_sent = false;
	c->sent = 0;
	lws_callback_on_writable(wsi);
}

/* Builds the request from the parsed headers and runs the handlers. */
static void dispatch(struct net_conn *c, struct lws *wsi)
{
	struct net_server *srv = c->srv;
	char path[2048] = "", query[4096] = "", ip[64] = "", authority[1024] = "";
	char hv[sizeof req_headers / sizeof req_headers[0]][1024];
	struct http_request req = {0};
	req.method = method_of(wsi);
	c->head = strcmp(req.method, "HEAD") == 0;
	for (size_t i = 0; i < sizeof methods / sizeof methods[0]; i++)
		if (strcmp(methods[i].method, req.method) == 0)
			lws_hdr_copy(wsi, path, sizeof path, methods[i].tok);
	/* libwebsockets hands the arguments over decoded, one fragment each:
	 * re-encode them into the raw query string http.h promises. */
	char arg[2048];
	for (int i = 0; lws_hdr_copy_fragment(wsi, arg, sizeof arg, WSI_TOKEN_HTTP_URI_ARGS, i) >= 0;
	     i++)
		if (http_query_append(query, sizeof query, arg) < 0)
			break;
	for (size_t i = 0; i < sizeof req_headers / sizeof req_headers[0]; i++) {
		if (lws_hdr_total_length(wsi, req_headers[i].tok) <= 0 ||
		    lws_hdr_copy(wsi, hv[i], sizeof hv[i], req_headers[i].tok) < 0)
			continue;
		req.headers[req.nheaders].name = req_headers[i].name;
		req.headers[req.nheaders].value = hv[i];
		req.nheaders++;
	}
	/* HTTP/2 sends no Host header: its :authority names the server. */
	if (!http_header_get(&req, "host") &&
	    lws_hdr_copy(wsi, authority, sizeof authority, WSI_TOKEN_HTTP_COLON_AUTHORITY) > 0)
		http_request_add_header(&req, "host", authority);
	lws_get_peer_simple(wsi, ip, sizeof ip);
	req.path = path;
	req.query = query;
	req.body = c->body ? c->body : "";
	req.body_len = c->body_len;
	req.remote_ip = ip;

	resp_reset(&c->resp);
	c->have_resp = true;
	if (c->body_too_big) {
		resp_text(&c->resp, 413, "{\"error\":\"request body too large\"}");
		return;
	}
	for (size_t i = 0; i < srv->nhandlers; i++)
		if (srv->handlers[i].fn(srv->handlers[i].user, &req, &c->resp)) {
			if (c->resp.stream)
				http_stream_set_wake(c->resp.stream, wake_ctx, srv->ctx);
			return;
		}
	resp_text(&c->resp, 404, "{\"error\":\"not found\"}");
}

/* Whether the "Name: value\r\n" lines EXTRA set header NAME. */
static bool extra_has(const char *extra, const char *name)
{
	size_t nl = strlen(name);
	while (extra && *extra) {
		if (strncasecmp(extra, name, nl) == 0 && extra[nl] == ':')
			return true;
		const char *eol = strstr(extra, "\r\n");
		extra = eol ? eol + 2 : NULL;
	}
	return false;
}

/* Adds the handler's "Name: value\r\n" lines to the header block. */
static int add_extra_headers(struct lws *wsi, const char *extra, unsigned char **p,
			     unsigned char *end)
{
	while (extra && *extra) {
		const char *eol = strstr(extra, "\r\n");
		size_t n = eol ? (size_t)(eol - extra) : strlen(extra);
		const char *colon = memchr(extra, ':', n);
		if (colon && colon > extra && (size_t)(colon - extra) < 120) {
			char name[128];
			size_t nl = (size_t)(colon - extra);
			memcpy(name, extra, nl);
			name[nl] = ':';
			name[nl + 1] = '\0';
			const char *v = colon + 1;
			while (*v == ' ' && v < extra + n)
				v++;
			if (lws_add_http_header_by_name(wsi, (unsigned char *)name,
							(const unsigned char *)v,
							(int)(extra + n - v), p, end))
				return -1;
		}
		extra += n + (eol ? 2 : 0);
	}
	return 0;
}

static int add_header(struct lws *wsi, const char *name, const char *value, unsigned char **p,
		      unsigned char *end)
{
	return lws_add_http_header_by_name(wsi, (const unsigned char *)name,
					   (const unsigned char *)value, (int)strlen(value), p, end);
}

/* Sends the status line and headers of C's answer. A streamed body has no
 * length: HTTP/1.1 chunks, or (HTTP/1.0) the end of the connection. */
static int write_headers(struct net_conn *c, struct lws *wsi)
{
	unsigned char hdr[LWS_PRE + 4096];
	unsigned char *start = hdr + LWS_PRE, *p = start, *end = hdr + sizeof hdr - 1;
	bool h1 = !is_h2(wsi);
	if (c->resp.stream) {
		if (lws_add_http_header_status(wsi, (unsigned)c->resp.status, &p, end) ||
		    add_header(wsi, "content-type:", c->resp.content_type, &p, end) ||
		    (h1 && add_header(wsi, c->chunked ? "transfer-encoding:" : "connection:",
				      c->chunked ? "chunked" : "close", &p, end)))
			return -1;
	} else if (lws_add_http_common_headers(wsi, (unsigned)c->resp.status,
					       c->resp.content_type, c->resp.body_len, &p, end) ||
		   (c->refused && h1 && add_header(wsi, "connection:", "close", &p, end))) {
		return -1;
	}
	if ((!extra_has(c->resp.extra_headers, "x-content-type-options") &&
	     add_header(wsi, "x-content-type-options:", "nosniff", &p, end)) ||
	    add_extra_headers(wsi, c->resp.extra_headers, &p, end) ||
	    lws_finalize_write_http_header(wsi, start, &p, end))
		return -1;
	c->headers_sent = true;
	return 0;
}

/* Takes C off the list of streaming connections. */
static void stream_unlist(struct net_conn *c)
{
	if (!c->in_streams)
		return;
	if (c->sprev)
		c->sprev->snext = c->snext;
	else
		c->srv->streams = c->snext;
	if (c->snext)
		c->snext->sprev = c->sprev;
	c->snext = c->sprev = NULL;
	c->in_streams = false;
}

/* Frees what the transaction held (the answer, the body, a stream). */
static void http_reset(struct net_conn *c)
{
	stream_unlist(c);
	resp_reset(&c->resp);
	c->have_resp = false;
	c->headers_sent = false;
	c->sent = 0;
	c->chunked = false;
	free(c->body);
	c->body = NULL;
	c->body_len = c->body_cap = 0;
	c->body_too_big = false;
}

/* The answer is out: close (refused requests, bodies ended by the close) or
 * keep the connection for the next request. */
static int http_done(struct net_conn *c, struct lws *wsi, bool close)
{
	close = close || c->refused;
	http_reset(c);
	if (close)
		return -1;
	return lws_http_transaction_completed(wsi) ? -1 : 0;
}

static int http_write(struct net_conn *c, struct lws *wsi);

/* The next piece of a streamed body, on a writable callback. */
static int stream_write(struct net_conn *c, struct lws *wsi)
{
	/* Room for a chunk header before the data and its CRLF after. */
	unsigned char buf[LWS_PRE + 16 + NET_HTTP_CHUNK + 8];
	unsigned char *data = buf + LWS_PRE + 16;
	struct http_stream *st = c->resp.stream;
	size_t n = 0;
	enum http_stream_state s =
		http_stream_read(st, data, c->headers_sent ? NET_HTTP_CHUNK : 0, &n);
	if (s == HTTP_STREAM_FAILED) {
		char msg[160];
		bool started;
		int status = http_stream_error(st, msg, sizeof msg, &started);
		if (c->headers_sent || started) {
			log_warn("net", "streamed answer cut short", "status=%d reason=\"%s\"",
				 status, msg);
			return http_done(c, wsi, true);
		}
		/* Nothing sent yet: the producer's error is the answer. */
		stream_unlist(c);
		http_stream_detach(st);
		c->resp.stream = NULL;
		http_respond_error(&c->resp, status, msg);
		return http_write(c, wsi);
	}
	if (s == HTTP_STREAM_WAIT) {
		/* The producer may prepare for long before its first byte: no
		 * deadline until then (a client that hangs up is noticed anyway). */
		if (!c->headers_sent)
			lws_set_timeout(wsi, NO_PENDING_TIMEOUT, 0);
		return 0; /* the producer wakes us */
	}
	if (!c->headers_sent) {
		if (write_headers(c, wsi))
			return -1;
		if (c->head)
			return http_done(c, wsi, false);
		lws_set_timeout(wsi, PENDING_TIMEOUT_HTTP_CONTENT, NET_STREAM_IDLE_S);
		lws_callback_on_writable(wsi);
		return 0;
	}
	bool h2 = is_h2(wsi);
	if (s == HTTP_STREAM_END) {
		int rc = 0;
		if (c->chunked) {
			memcpy(data, "0\r\n\r\n", 5);
			rc = lws_write(wsi, data, 5, LWS_WRITE_HTTP_FINAL) == 5 ? 0 : -1;
		} else if (h2) {
			rc = lws_write(wsi, data, 0, LWS_WRITE_HTTP_FINAL) == 0 ? 0 : -1;
		}
		lws_set_timeout(wsi, NO_PENDING_TIMEOUT, 0);
		return rc ? -1 : http_done(c, wsi, !c->chunked && !h2);
	}
	unsigned char *out = data;
	size_t len = n;
	if (c->chunked) {
		char head[16];
		int hl = snprintf(head, sizeof head, "%zx\r\n", n);
		out = data - hl;
		memcpy(out, head, (size_t)hl);
		memcpy(data + n, "\r\n", 2);
		len = (size_t)hl + n + 2;
	}
	if (lws_write(wsi, out, len, LWS_WRITE_HTTP) != (int)len)
		return -1;
	lws_set_timeout(wsi, PENDING_TIMEOUT_HTTP_CONTENT, NET_STREAM_IDLE_S);
	lws_callback_on_writable(wsi);
	return 0;
}

static int http_write(struct net_conn *c, struct lws *wsi)
{
	if (!c->have_resp)
		return 0;
	if (c->resp.stream)
		return stream_write(c, wsi);
	if (!c->headers_sent) {
		if (write_headers(c, wsi))
			return -1;
		if (c->resp.body_len && !c->head) {
			lws_callback_on_writable(wsi);
			return 0;
		}
	} else {
		size_t left = c->resp.body_len - c->sent;
		size_t n = left < NET_HTTP_CHUNK ? left : NET_HTTP_CHUNK;
		unsigned char buf[LWS_PRE + NET_HTTP_CHUNK];
		memcpy(buf + LWS_PRE, c->resp.body + c->sent, n);
		bool final = n == left;
		if (lws_write(wsi, buf + LWS_PRE, n, final ? LWS_WRITE_HTTP_FINAL : LWS_WRITE_HTTP) !=
		    (int)n)
			return -1;
		c->sent += n;
		if (!final) {
			lws_callback_on_writable(wsi);
			return 0;
		}
	}
	return http_done(c, wsi, false);
}

/* A handler's answer is ready: send it (a streamed one once its producer
 * has data, see net_server's wake-ups). */
static void answer(struct net_conn *c, struct lws *wsi)
{
	if (c->resp.stream) {
		char ver[16] = "";
		c->chunked = !is_h2(wsi) &&
			     lws_hdr_copy(wsi, ver, sizeof ver, WSI_TOKEN_HTTP) > 0 &&
			     strcmp(ver, "HTTP/1.0") != 0;
		c->snext = c->srv->streams;
		c->sprev = NULL;
		if (c->snext)
			c->snext->sprev = c;
		c->srv->streams = c;
		c->in_streams = true;
	}
	lws_callback_on_writable(wsi);
}

static void body_append(struct net_conn *c, const void *in, size_t len)
{
	if (c->body_too_big || len == 0)
		return;
	if (c->body_len + len + 1 > c->srv->c.max_http_body + 1) {
		c->body_too_big = true;
		return;
	}
	if (c->body_len + len + 1 > c->body_cap) {
		size_t cap = c->body_cap ? c->body_cap * 2 : 4096;
		while (cap < c->body_len + len + 1)
			cap *= 2;
		char *b = realloc(c->body, cap);
		if (!b) {
			c->body_too_big = true;
			return;
		}
		c->body = b;
		c->body_cap = cap;
	}
	memcpy(c->body + c->body_len, in, len);
	c->body_len += len;
	c->body[c->body_len] = '\0';
}

/* ----------------------------------------------------------- websocket ---- */

static void conn_close(struct net_conn *c, enum ws_close code, const char *reason)
{
	if (c->closing)
		return;
	c->closing = true;
	c->close_code = code;
	/* A close frame's reason is short: cut a long one. */
	snprintf(c->close_reason, sizeof c->close_reason, "%.*s", (int)sizeof c->close_reason - 1,
		 reason);
	lws_callback_on_writable(c->wsi);
}

static void on_wake(void *conn, void *user)
{
	struct net_conn *c = conn;
	lws_callback_on_writable(c->wsi);
}

/* Token bucket per connection: max_rate messages per second, bursts of one
 * second. Returns false when the message must be dropped. */
static bool rate_ok(struct net_conn *c)
{
	int rate = c->srv->max_rate;
	int64_t now = clock_mono_ns();
	c->tokens += (double)(now - c->tokens_ns) * rate / 1e9;
	c->tokens_ns = now;
	if (c->tokens > rate)
		c->tokens = rate;
	if (now - c->drops_window_ns > 1000000000) {
		c->drops_window_ns = now;
		c->drops = 0;
	}
	if (c->tokens >= 1) {
		c->tokens -= 1;
		return true;
	}
	c->drops++;
	if (c->drops == 1 && c->s) /* one error per second of flooding */
		sess__error(c->s, "message rate limit exceeded: messages dropped");
	if (c->drops > 100u * (unsigned)rate) /* far beyond any client: hostile */
		conn_close(c, WS_CLOSE_REFUSED, "message rate limit exceeded");
	return false;
}

static void handle_message(struct net_conn *c)
{
	struct net_server *srv = c->srv;
	if (!rate_ok(c))
		return;
	if (c->rx_binary) {
		if (c->s)
			sess__error(c->s, "binary messages are not accepted");
		else
			conn_close(c, WS_CLOSE_BINARY_REFUSED, "binary messages are not accepted");
		return;
	}
	if (c->s) {
		sess__text(c->s, c->rx, c->rx_len);
		return;
	}
	char err[160];
	struct sess *s = NULL;
	void *replaced = NULL;
	enum sess_open o = sess__open(srv->m, c->rx, c->rx_len, c, &s, &replaced, err, sizeof err);
	if (o == SESS_OPEN_SHUTTING_DOWN) {
		conn_close(c, WS_CLOSE_SHUTTING_DOWN, err);
		return;
	}
	if (o != SESS_OPEN_ATTACHED) {
		conn_close(c, WS_CLOSE_REFUSED, err);
		return;
	}
	c->s = s;
	if (replaced) {
		struct net_conn *old = replaced;
		old->s = NULL;
		conn_close(old, WS_CLOSE_TAKEN_OVER, "replaced by a newer connection of this participant");
	}
	c->next_ping_ns = clock_mono_ns() + 1000000000;
}

static int ws_receive(struct net_conn *c, struct lws *wsi, const void *in, size_t len)
{
	size_t max = c->srv->max_msg;
	if (!c->rx_open) {
		c->rx_open = true;
		c->rx_start_ns = clock_mono_ns();
	}
	if (c->rx_len == 0 && !c->rx_discard)
		c->rx_binary = lws_frame_is_binary(wsi);
	if (!c->rx_discard && c->rx_len + len > max) {
		lws_close_reason(wsi, (enum lws_close_status)WS_CLOSE_TOO_LARGE,
				 (unsigned char *)"message too large", 17);
		return -1;
	}
	if (c->rx_len + len + 1 > c->rx_cap) {
		size_t cap = c->rx_cap ? c->rx_cap : 1024;
		while (cap < c->rx_len + len + 1)
			cap *= 2;
		char *b = realloc(c->rx, cap);
		if (!b)
			return -1;
		c->rx = b;
		c->rx_cap = cap;
	}
	memcpy(c->rx + c->rx_len, in, len);
	c->rx_len += len;
	if (lws_is_final_fragment(wsi) && lws_remaining_packet_payload(wsi) == 0) {
		c->rx[c->rx_len] = '\0';
		c->rx_open = false;
		handle_message(c);
		c->rx_len = 0;
		if (c->rx_cap > 65536) { /* do not keep a large buffer for a small session */
			free(c->rx);
			c->rx = NULL;
			c->rx_cap = 0;
		}
	}
	return 0;
}

static int ws_writable(struct net_conn *c, struct lws *wsi)
{
	if (c->closing) {
		lws_close_reason(wsi, (enum lws_close_status)c->close_code,
				 (unsigned char *)c->close_reason, strlen(c->close_reason));
		return -1;
	}
	if (c->ping_due) {
		unsigned char buf[LWS_PRE + 8];
		int64_t now = clock_mono_ns();
		memcpy(buf + LWS_PRE, &now, 8);
		c->ping_due = false;
		if (lws_write(wsi, buf + LWS_PRE, 8, LWS_WRITE_PING) < 0)
			return -1;
		lws_callback_on_writable(wsi);
		return 0;
	}
	if (!c->s)
		return 0;
	unsigned char *buf = NULL;
	size_t len = 0;
	bool more = false;
	enum sess_out o = sess__next_output(c->s, c, &buf, &len, &more);
	log_debug("net", "writable", "out=%d len=%zu more=%d", (int)o, len, (int)more);
	if (o == SESS_OUT_CLOSE) {
		lws_close_reason(wsi, (enum lws_close_status)WS_CLOSE_DONE, (unsigned char *)"done", 4);
		return -1;
	}
	if (o == SESS_OUT_CLOSE_RETRY) {
		lws_close_reason(wsi, (enum lws_close_status)WS_CLOSE_REFUSED,
				 (unsigned char *)"please try again", 16);
		return -1;
	}
	if (o == SESS_OUT_TEXT || o == SESS_OUT_BINARY) {
		if (lws_write(wsi, buf, len, o == SESS_OUT_TEXT ? LWS_WRITE_TEXT : LWS_WRITE_BINARY) <
		    (int)len)
			return -1;
	}
	if (more)
		lws_callback_on_writable(wsi);
	return 0;
}

static void conn_unlink(struct net_conn *c)
{
	struct net_server *srv = c->srv;
	if (!c->is_ws)
		return;
	if (c->prev)
		c->prev->next = c->next;
	else if (srv->conns == c)
		srv->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	c->is_ws = false;
	srv->nconns--;
}

/* Once a second: pings, handshake and message deadlines, shutdown progress. */
static void on_second(lws_sorted_usec_list_t *sul)
{
	struct net_server *srv = lws_container_of(sul, struct net_server, sul);
	int64_t now = clock_mono_ns();
	for (struct net_conn *c = srv->conns; c; c = c->next) {
		if (!c->s && !c->closing && now - c->opened_ns > (int64_t)NET_HANDSHAKE_S * 1000000000)
			conn_close(c, WS_CLOSE_REFUSED, "no handshake");
		/* A message left incomplete (a fragment or a frame's payload that
		 * never ends) would hold its buffer and the connection forever. */
		if (c->rx_open && !c->closing &&
		    now - c->rx_start_ns > (int64_t)NET_MESSAGE_S * 1000000000)
			conn_close(c, WS_CLOSE_REFUSED, "message incomplete for too long");
		if (c->s && now >= c->next_ping_ns) {
			c->ping_due = true;
			c->next_ping_ns = now + (int64_t)NET_PING_S * 1000000000;
			lws_callback_on_writable(c->wsi);
		}
	}
	lws_sul_schedule(srv->ctx, 0, &srv->sul, on_second, LWS_US_PER_SEC);
}

/* ------------------------------------------------------------ callback ---- */

/* Whether the websocket upgrade's path is one the server accepts. */
static bool ws_path_ok(struct net_server *srv, struct lws *wsi)
{
	char uri[512] = "";
	if (!srv->c.ws_path)
		return true;
	if (lws_hdr_copy(wsi, uri, sizeof uri, WSI_TOKEN_GET_URI) < 0)
		return false;
	return strcmp(uri, srv->c.ws_path) == 0 || (srv->c.ws_at_root && strcmp(uri, "/") == 0);
}

/* An upgrade request (UP: "websocket", "h2c"): 0 lets it proceed; a refusal
 * is answered with an HTTP status and a JSON reason, and logged. */
static int confirm_upgrade(struct net_server *srv, struct lws *wsi, const char *up)
{
	if (!up || strcasecmp(up, "websocket") != 0)
		return 0;
	int status = 0;
	const char *why = NULL;
	if (srv->stopping) {
		status = 503;
		why = "server shutting down";
	} else if (!ws_path_ok(srv, wsi)) {
		status = 404;
		why = "no websocket at this path";
	}
	if (!status)
		return 0;
	char uri[512] = "", ip[64] = "", body[160];
	lws_hdr_copy(wsi, uri, sizeof uri, WSI_TOKEN_GET_URI);
	lws_get_peer_simple(wsi, ip, sizeof ip);
	log_warn("net", "websocket upgrade refused", "status=%d path=\"%.200s\" reason=\"%s\" peer=%s",
		 status, uri, why, ip);
	int blen = snprintf(body, sizeof body, "{\"error\":\"%s\"}", why);
	unsigned char hdr[LWS_PRE + 1024];
	unsigned char *start = hdr + LWS_PRE, *p = start, *end = hdr + sizeof hdr - 1;
	if (lws_add_http_common_headers(wsi, (unsigned)status, "application/json",
					(lws_filepos_t)blen, &p, end) ||
	    add_header(wsi, "x-content-type-options:", "nosniff", &p, end) ||
	    add_header(wsi, "connection:", "close", &p, end) ||
	    lws_finalize_http_header(wsi, &p, end))
		return -1;
	if (p + blen > end)
		return -1;
	memcpy(p, body, (size_t)blen);
	p += blen;
	if (lws_write(wsi, start, (size_t)(p - start), LWS_WRITE_HTTP_HEADERS) != (int)(p - start))
		return -1;
	return 1;
}

static void check_requests(struct net_server *srv)
{
	if (atomic_exchange(&srv->reload_req, 0))
		net_server_reload_tls(srv);
	if (atomic_load(&srv->stop_req) && !srv->stopping) {
		srv->stopping = true;
		srv->stop_deadline = clock_mono_ns() + (int64_t)NET_SHUTDOWN_S * 1000000000;
		log_info("net", "shutting down", "sessions=%zu", sess__live(srv->m));
		sess__shutdown(srv->m);
	}
	if (srv->stopping) {
		sess__drain_wakes(srv->m, on_wake, srv);
		if (srv->nconns == 0 || clock_mono_ns() > srv->stop_deadline)
			srv->finished = true;
	}
}

static int callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
		    size_t len)
{
	struct net_conn *c = user;
	struct lws_context *ctx = lws_get_context(wsi);
	struct net_server *srv = ctx ? lws_context_user(ctx) : NULL;

	switch (reason) {
	case LWS_CALLBACK_EVENT_WAIT_CANCELLED:
		if (srv && srv->m) {
			sess__drain_wakes(srv->m, on_wake, srv);
			for (struct net_conn *h = srv->streams; h; h = h->snext)
				if (http_stream_signalled(h->resp.stream))
					lws_callback_on_writable(h->wsi);
			check_requests(srv);
		}
		return 0;

	case LWS_CALLBACK_HTTP: {
		if (c->srv)
			http_reset(c);
		memset(c, 0, sizeof *c);
		http_response_init(&c->resp);
		c->srv = srv;
		c->wsi = wsi;
		const char *method = method_of(wsi), *why = NULL;
		size_t body_len = 0;
		int status = check_framing(c, wsi, method, &body_len, &why);
		if (status) {
			refuse(c, wsi, status, why);
			return 0;
		}
		c->body_deadline_ns = clock_mono_ns() + (int64_t)NET_BODY_S * 1000000000 +
				      (int64_t)(body_len / NET_BODY_RATE) * 1000000000;
		bool post = strcmp(method, "POST") == 0;
		bool body_method = post || strcmp(method, "PUT") == 0 || strcmp(method, "PATCH") == 0;
		/* The body follows (libwebsockets ends an empty POST's itself; over
		 * HTTP/2 the stream's end ends it). */
		if (body_len > 0 || post || (body_method && is_h2(wsi)))
			return 0;
		dispatch(c, wsi);
		answer(c, wsi);
		return 0;
	}
	case LWS_CALLBACK_HTTP_BODY:
		if (c->refused)
			return 0;
		if (clock_mono_ns() > c->body_deadline_ns) {
			refuse(c, wsi, 408, "request body too slow");
			return 0;
		}
		body_append(c, in, len);
		return 0;
	case LWS_CALLBACK_HTTP_BODY_COMPLETION:
		if (c->refused)
			return 0;
		dispatch(c, wsi);
		answer(c, wsi);
		return 0;
	case LWS_CALLBACK_HTTP_WRITEABLE:
		return http_write(c, wsi);
	case LWS_CALLBACK_CLOSED_HTTP:
	case LWS_CALLBACK_HTTP_DROP_PROTOCOL:
		if (c && !c->is_ws && c->srv)
			http_reset(c);
		return 0;

	case LWS_CALLBACK_HTTP_CONFIRM_UPGRADE:
		return confirm_upgrade(srv, wsi, in);
	case LWS_CALLBACK_FILTER_PROTOCOL_CONNECTION:
		/* Checked at the upgrade already (HTTP/1.1); HTTP/2 comes here only. */
		return srv->stopping || !ws_path_ok(srv, wsi) ? 1 : 0;
	case LWS_CALLBACK_ESTABLISHED:
		memset(c, 0, sizeof *c);
		c->srv = srv;
		c->wsi = wsi;
		c->is_ws = true;
		c->opened_ns = clock_mono_ns();
		c->tokens = srv->max_rate;
		c->tokens_ns = c->opened_ns;
		{
			/* Keep the kernel's unsent queue short: the socket reports
			 * writable only below this many unsent bytes, so a slow reader
			 * makes frames wait in the session's one-frame slot (where a newer
			 * frame replaces them) rather than in the socket. Throughput is not
			 * limited (this is not SO_SNDBUF). */
			int fd = lws_get_socket_fd(wsi), lowat = NET_NOTSENT_LOWAT;
			if (fd >= 0)
				setsockopt(fd, IPPROTO_TCP, TCP_NOTSENT_LOWAT, &lowat, sizeof lowat);
		}
		c->next = srv->conns;
		if (srv->conns)
			srv->conns->prev = c;
		srv->conns = c;
		srv->nconns++;
		return 0;
	case LWS_CALLBACK_RECEIVE:
		return ws_receive(c, wsi, in, len);
	case LWS_CALLBACK_RECEIVE_PONG:
		if (c->s && len == 8) {
			int64_t sent;
			memcpy(&sent, in, 8);
			double rtt = (double)(clock_mono_ns() - sent) / 1e6;
			if (rtt >= 0 && rtt < 600000)
				sess__rtt(c->s, rtt);
		}
		return 0;
	case LWS_CALLBACK_SERVER_WRITEABLE:
		return ws_writable(c, wsi);
	case LWS_CALLBACK_CLOSED:
		if (c->s)
			sess__detach(c->s, c);
		c->s = NULL;
		conn_unlink(c);
		free(c->rx);
		c->rx = NULL;
		return 0;
	default:
		break;
	}
	return lws_callback_http_dummy(wsi, reason, user, in, len);
}

/* -------------------------------------------------------------- server ---- */

static void on_signal(int sig)
{
	struct net_server *srv = running;
	if (!srv)
		return;
	if (sig == SIGHUP)
		atomic_store(&srv->reload_req, 1);
	else
		atomic_store(&srv->stop_req, 1);
	lws_cancel_service(srv->ctx);
}

/* Checks that HOST:PORT can be bound (IPv4 literals only; others are left to
 * libwebsockets), so the common "address in use" gets a precise message. */
static int can_bind(const char *host, int port, char *err, size_t errlen)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	if (port <= 0 || inet_pton(AF_INET, host, &sa.sin_addr) != 1)
		return 0;
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1;
	if (fd < 0)
		return 0;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	int rc = bind(fd, (struct sockaddr *)&sa, sizeof sa);
	if (rc < 0)
		snprintf(err, errlen, "cannot listen on %s:%d: %s", host, port, strerror(errno));
	close(fd);
	return rc < 0 ? -1 : 0;
}

struct net_server *net_server_new(const struct net_config *cfg, char *err, size_t errlen)
{
	struct net_server *srv = calloc(1, sizeof *srv);
	if (!srv) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	srv->c = *cfg;
	/* The websocket limits: the open project's, or (hippo serve: any
	 * project's websocket) the config layer's defaults. */
	struct cfg defaults;
	cfg_defaults(&defaults);
	const struct cfg_trial *lim = cfg->open_project ? &cfg->open_project->trial : &defaults.trial;
	srv->max_msg = cfg->max_message_bytes ? cfg->max_message_bytes : lim->max_message_bytes;
	srv->max_rate = cfg->max_messages_per_s ? cfg->max_messages_per_s : lim->max_messages_per_s;
	if ((cfg->tls_cert == NULL) != (cfg->tls_key == NULL)) {
		snprintf(err, errlen, "TLS needs both a certificate and a key");
		free(srv);
		return NULL;
	}
	for (const char *f = cfg->tls_cert; f; f = f == cfg->tls_cert ? cfg->tls_key : NULL)
		if (access(f, R_OK) < 0) {
			snprintf(err, errlen, "%s: %s", f, strerror(errno));
			free(srv);
			return NULL;
		}

	if (can_bind(srv->c.host, cfg->port, err, errlen) < 0) {
		free(srv);
		return NULL;
	}
	lws_set_log_level(LLL_ERR | LLL_WARN, lws_log);
	srv->protocols[0] = (struct lws_protocols){
		.name = "hippo",
		.callback = callback,
		.per_session_data_size = sizeof(struct net_conn),
		.rx_buffer_size = 0,
	};
	struct lws_context_creation_info info;
	memset(&info, 0, sizeof info);
	info.port = cfg->port;
	info.iface = srv->c.host;
	info.protocols = srv->protocols;
	info.user = srv;
	info.options = LWS_SERVER_OPTION_DISABLE_IPV6;
	info.count_threads = 1;
	info.timeout_secs = 30;
	info.max_http_header_data = 8192; /* long study URLs (crowd-platform ids) */
	info.keepalive_timeout = 30;
	if (cfg->tls_cert) {
		info.options |= LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT;
		info.ssl_cert_filepath = cfg->tls_cert;
		info.ssl_private_key_filepath = cfg->tls_key;
	}
	/* Workers must not take the process signals: block them while they start. */
	sigset_t block, old;
	sigemptyset(&block);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGHUP);
	sigaddset(&block, SIGPIPE);
	pthread_sigmask(SIG_BLOCK, &block, &old);
	srv->ctx = lws_create_context(&info);
	if (!srv->ctx) {
		pthread_sigmask(SIG_SETMASK, &old, NULL);
		snprintf(err, errlen, "cannot listen on %s:%d (address in use, or bad TLS files?)",
			 srv->c.host, cfg->port);
		free(srv);
		return NULL;
	}
	srv->vh = lws_get_vhost_by_name(srv->ctx, "default");
	srv->port = srv->vh ? lws_get_vhost_listen_port(srv->vh) : cfg->port;
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	struct sess_mgr_config mc = {
		.data_dir = srv->c.data_dir,
		.open_project = cfg->open_project,
		.workers = cfg->workers > 0 ? cfg->workers : (ncpu > 0 ? (int)ncpu : 1),
		.grace_s = cfg->grace_s,
		.max_sessions = cfg->max_sessions,
		.headroom = LWS_PRE,
		.wake = wake_ctx,
		.wake_user = srv->ctx,
	};
	srv->m = sess__mgr_new(&mc, err, errlen);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (!srv->m) {
		lws_context_destroy(srv->ctx);
		free(srv);
		return NULL;
	}
	signal(SIGPIPE, SIG_IGN);
	return srv;
}

void net_server_add_handler(struct net_server *s, http_handler_fn fn, void *user)
{
	if (s->nhandlers < NET_MAX_HANDLERS)
		s->handlers[s->nhandlers++] = (struct handler){fn, user};
}

struct sess_mgr *net_server_sessions(struct net_server *s)
{
	return s->m;
}

int net_server_port(const struct net_server *s)
{
	return s->port;
}

void net_server_stop(struct net_server *s)
{
	atomic_store(&s->stop_req, 1);
	lws_cancel_service(s->ctx);
}

static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	char *buf = NULL;
	size_t cap = 0, n = 0;
	for (;;) {
		if (n + 4096 > cap) {
			cap = cap ? cap * 2 : 8192;
			if (cap > (1u << 20))
				break;
			char *b = realloc(buf, cap);
			if (!b)
				break;
			buf = b;
		}
		size_t r = fread(buf + n, 1, cap - n - 1, f);
		n += r;
		if (r == 0)
			break;
	}
	fclose(f);
	if (buf)
		buf[n] = '\0';
	*len = n;
	return buf;
}

int net_server_reload_tls(struct net_server *s)
{
	if (!s->c.tls_cert)
		return 0;
	size_t cl = 0, kl = 0;
	char *cert = slurp(s->c.tls_cert, &cl), *key = slurp(s->c.tls_key, &kl);
	int rc = -1;
	if (cert && key && cl && kl)
		rc = lws_tls_cert_updated(s->ctx, s->c.tls_cert, s->c.tls_key, cert, cl, key, kl);
	if (rc)
		log_error("net", "TLS reload failed; keeping the old certificate", "cert=%s",
			  s->c.tls_cert);
	else
		log_info("net", "TLS certificate reloaded", "cert=%s", s->c.tls_cert);
	if (key)
		explicit_bzero(key, kl);
	free(cert);
	free(key);
	return rc ? -1 : 0;
}

int net_server_run(struct net_server *s)
{
	/* The handlers stay installed after the loop (a second SIGTERM during the
	 * last flushes is ignored rather than fatal); they act only while a
	 * server is running. */
	if (s->c.handle_signals) {
		struct sigaction sa;
		memset(&sa, 0, sizeof sa);
		sa.sa_handler = on_signal;
		sigemptyset(&sa.sa_mask);
		sigaction(SIGTERM, &sa, NULL);
		sigaction(SIGINT, &sa, NULL);
		sigaction(SIGHUP, &sa, NULL);
		running = s;
	}
	lws_sul_schedule(s->ctx, 0, &s->sul, on_second, LWS_US_PER_SEC);
	int rc = 0;
	while (!s->finished) {
		if (lws_service(s->ctx, 0) < 0) {
			rc = -1;
			break;
		}
		check_requests(s);
	}
	lws_sul_cancel(&s->sul);
	if (running == s)
		running = NULL;
	return rc;
}

void net_server_free(struct net_server *s)
{
	if (!s)
		return;
	/* Streamed answers first: their producers stop (their writes fail) and
	 * never wake the context again. Then sessions (they end and flush), then
	 * the sockets. */
	while (s->streams)
		http_reset(s->streams);
	for (struct net_conn *c = s->conns; c; c = c->next)
		c->s = NULL;
	sess__mgr_free(s->m);
	s->m = NULL;
	lws_context_destroy(s->ctx);
	free(s);
}
