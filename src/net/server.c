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
#include <unistd.h>

#include "core/config.h"
#include "core/log.h"
#include "session/sess_conn.h"
#include "trial/msg.h"
#include "trial/trial.h"

#define NET_MAX_HANDLERS 32
#define NET_PING_S 5             /* websocket ping (RTT measurement) interval */
#define NET_HANDSHAKE_S 30       /* a websocket must send its handshake within this */
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
	struct http_response resp;
	bool have_resp, headers_sent;
	bool head;    /* a HEAD request: the GET answer's headers, never its body */
	size_t sent;
	/* websocket */
	char *rx;
	size_t rx_len, rx_cap;
	bool rx_binary, rx_discard;
	struct sess *s;
	bool closing;
	int close_code;
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

/* ---------------------------------------------------------------- HTTP ---- */

static void resp_reset(struct http_response *r)
{
	free(r->body);
	free(r->extra_headers);
	memset(r, 0, sizeof *r);
	r->status = 200;
	snprintf(r->content_type, sizeof r->content_type, "application/json");
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

/* Builds the request from the parsed headers and runs the handlers. */
static void dispatch(struct net_conn *c, struct lws *wsi)
{
	struct net_server *srv = c->srv;
	char path[2048] = "", query[4096] = "", ip[64] = "";
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
		if (srv->handlers[i].fn(srv->handlers[i].user, &req, &c->resp))
			return;
	resp_text(&c->resp, 404, "{\"error\":\"not found\"}");
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

static int http_write(struct net_conn *c, struct lws *wsi)
{
	if (!c->have_resp)
		return 0;
	if (!c->headers_sent) {
		unsigned char hdr[LWS_PRE + 4096];
		unsigned char *start = hdr + LWS_PRE, *p = start, *end = hdr + sizeof hdr - 1;
		if (lws_add_http_common_headers(wsi, (unsigned)c->resp.status,
						c->resp.content_type, c->resp.body_len, &p, end) ||
		    add_extra_headers(wsi, c->resp.extra_headers, &p, end) ||
		    lws_finalize_write_http_header(wsi, start, &p, end))
			return -1;
		c->headers_sent = true;
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
	resp_reset(&c->resp);
	free(c->resp.body);
	c->resp.body = NULL;
	c->have_resp = false;
	c->headers_sent = false;
	c->sent = 0;
	free(c->body);
	c->body = NULL;
	c->body_len = c->body_cap = 0;
	c->body_too_big = false;
	return lws_http_transaction_completed(wsi) ? -1 : 0;
}

static void body_append(struct net_conn *c, const void *in, size_t len)
{
	if (c->body_too_big)
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

static void conn_close(struct net_conn *c, int code, const char *reason)
{
	if (c->closing)
		return;
	c->closing = true;
	c->close_code = code;
	snprintf(c->close_reason, sizeof c->close_reason, "%s", reason);
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
	int64_t now = trial_now_ns();
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
		conn_close(c, LWS_CLOSE_STATUS_POLICY_VIOLATION, "message rate limit exceeded");
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
			conn_close(c, LWS_CLOSE_STATUS_UNACCEPTABLE_OPCODE,
				   "binary messages are not accepted");
		return;
	}
	struct trial_msg m;
	char err[160];
	if (msg_parse(c->rx, c->rx_len, &m, err, sizeof err) < 0) {
		if (c->s)
			sess__error(c->s, err);
		else
			conn_close(c, LWS_CLOSE_STATUS_POLICY_VIOLATION, err);
		return;
	}
	if (c->s) {
		sess__message(c->s, &m);
	} else if (!(m.has & MSG_HANDSHAKE)) {
		conn_close(c, LWS_CLOSE_STATUS_POLICY_VIOLATION,
			   "expected the handshake {\"userId\": ..., \"projectId\": ...}");
	} else if (srv->stopping) {
		conn_close(c, LWS_CLOSE_STATUS_GOINGAWAY, "server shutting down");
	} else {
		void *replaced = NULL;
		c->s = sess__attach(srv->m, &m, c, m.accept_binary, &replaced, err, sizeof err);
		if (!c->s)
			conn_close(c, LWS_CLOSE_STATUS_POLICY_VIOLATION, err);
		if (replaced) {
			struct net_conn *old = replaced;
			old->s = NULL;
			conn_close(old, 4001, "replaced by a newer connection of this participant");
		}
		c->next_ping_ns = trial_now_ns() + 1000000000;
	}
	msg_free(&m);
}

static int ws_receive(struct net_conn *c, struct lws *wsi, const void *in, size_t len)
{
	size_t max = c->srv->max_msg;
	if (c->rx_len == 0 && !c->rx_discard)
		c->rx_binary = lws_frame_is_binary(wsi);
	if (!c->rx_discard && c->rx_len + len > max) {
		lws_close_reason(wsi, LWS_CLOSE_STATUS_MESSAGE_TOO_LARGE,
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
		int64_t now = trial_now_ns();
		memcpy(buf + LWS_PRE, &now, 8);
		c->ping_due = false;
		if (lws_write(wsi, buf + LWS_PRE, 8, LWS_WRITE_PING) < 0)
			return -1;
		lws_callback_on_writable(wsi);
		return 0;
	}
	if (!c->s)
		return 0;
	unsigned char *buf;
	size_t len;
	bool more;
	enum sess_out o = sess__next_output(c->s, c, &buf, &len, &more);
	log_debug("net", "writable", "out=%d len=%zu more=%d", (int)o, len, (int)more);
	if (o == SESS_OUT_CLOSE) {
		lws_close_reason(wsi, LWS_CLOSE_STATUS_NORMAL, (unsigned char *)"done", 4);
		return -1;
	}
	if (o == SESS_OUT_CLOSE_RETRY) {
		lws_close_reason(wsi, LWS_CLOSE_STATUS_POLICY_VIOLATION,
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

/* Once a second: pings, handshake deadlines, shutdown progress. */
static void on_second(lws_sorted_usec_list_t *sul)
{
	struct net_server *srv = lws_container_of(sul, struct net_server, sul);
	int64_t now = trial_now_ns();
	for (struct net_conn *c = srv->conns; c; c = c->next) {
		if (!c->s && !c->closing && now - c->opened_ns > (int64_t)NET_HANDSHAKE_S * 1000000000)
			conn_close(c, LWS_CLOSE_STATUS_POLICY_VIOLATION, "no handshake");
		if (c->s && now >= c->next_ping_ns) {
			c->ping_due = true;
			c->next_ping_ns = now + (int64_t)NET_PING_S * 1000000000;
			lws_callback_on_writable(c->wsi);
		}
	}
	lws_sul_schedule(srv->ctx, 0, &srv->sul, on_second, LWS_US_PER_SEC);
}

/* ------------------------------------------------------------ callback ---- */

static void check_requests(struct net_server *srv)
{
	if (atomic_exchange(&srv->reload_req, 0))
		net_server_reload_tls(srv);
	if (atomic_load(&srv->stop_req) && !srv->stopping) {
		srv->stopping = true;
		srv->stop_deadline = trial_now_ns() + (int64_t)NET_SHUTDOWN_S * 1000000000;
		log_info("net", "shutting down", "sessions=%zu", sess__live(srv->m));
		sess__shutdown(srv->m);
	}
	if (srv->stopping) {
		sess__drain_wakes(srv->m, on_wake, srv);
		if (srv->nconns == 0 || trial_now_ns() > srv->stop_deadline)
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
			check_requests(srv);
		}
		return 0;

	case LWS_CALLBACK_HTTP:
		c->srv = srv;
		c->wsi = wsi;
		if (lws_hdr_total_length(wsi, WSI_TOKEN_POST_URI) > 0 ||
		    lws_hdr_total_length(wsi, WSI_TOKEN_PUT_URI) > 0 ||
		    lws_hdr_total_length(wsi, WSI_TOKEN_PATCH_URI) > 0)
			return 0; /* the body follows */
		dispatch(c, wsi);
		lws_callback_on_writable(wsi);
		return 0;
	case LWS_CALLBACK_HTTP_BODY:
		body_append(c, in, len);
		return 0;
	case LWS_CALLBACK_HTTP_BODY_COMPLETION:
		dispatch(c, wsi);
		lws_callback_on_writable(wsi);
		return 0;
	case LWS_CALLBACK_HTTP_WRITEABLE:
		return http_write(c, wsi);
	case LWS_CALLBACK_CLOSED_HTTP:
	case LWS_CALLBACK_HTTP_DROP_PROTOCOL:
		if (c && !c->is_ws) {
			resp_reset(&c->resp);
			free(c->resp.body);
			c->resp.body = NULL;
			free(c->body);
			c->body = NULL;
			c->body_len = c->body_cap = 0;
			c->have_resp = false;
		}
		return 0;

	case LWS_CALLBACK_FILTER_PROTOCOL_CONNECTION:
		if (srv->stopping)
			return 1;
		if (srv->c.ws_path) {
			char uri[512] = "";
			if (lws_hdr_copy(wsi, uri, sizeof uri, WSI_TOKEN_GET_URI) < 0 ||
			    strcmp(uri, srv->c.ws_path) != 0)
				return 1;
		}
		return 0;
	case LWS_CALLBACK_ESTABLISHED:
		memset(c, 0, sizeof *c);
		c->srv = srv;
		c->wsi = wsi;
		c->is_ws = true;
		c->opened_ns = trial_now_ns();
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
			double rtt = (double)(trial_now_ns() - sent) / 1e6;
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

static void wake_ctx(void *ctx)
{
	lws_cancel_service(ctx);
}

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
	if (!srv->c.host)
		srv->c.host = "127.0.0.1";
	if (!srv->c.data_dir)
		srv->c.data_dir = "data";
	if (!srv->c.max_http_body)
		srv->c.max_http_body = 1 << 20;
	const struct cfg *op = cfg->open_project;
	srv->max_msg = cfg->max_message_bytes
			       ? cfg->max_message_bytes
			       : (op && op->trial.max_message_bytes ? op->trial.max_message_bytes
								    : 65536);
	srv->max_rate = cfg->max_messages_per_s
				? cfg->max_messages_per_s
				: (op && op->trial.max_messages_per_s > 0 ? op->trial.max_messages_per_s
									  : 200);
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
		.max_sessions = cfg->max_sessions ? cfg->max_sessions : 2000,
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
	/* Sessions first (they end and flush), then the sockets. */
	for (struct net_conn *c = s->conns; c; c = c->next)
		c->s = NULL;
	sess__mgr_free(s->m);
	s->m = NULL;
	lws_context_destroy(s->ctx);
	free(s);
}
