/* server_http: HTTP requests on the I/O thread: the framing checks before
 * any handler (http.h, http_framing_check), the request built from
 * libwebsockets' parsed headers, the handlers in order, the answer (a body,
 * or a stream in HTTP/1.1 chunks), and the refusal of websocket upgrades the
 * server does not take. */
#include <libwebsockets.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/buf.h"
#include "core/clock.h"
#include "core/log.h"
#include "net/server_int.h"
#include "net/stream.h"

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
				http_stream_set_wake(c->resp.stream, net__wake_ctx, srv->ctx);
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
void net__http_reset(struct net_conn *c)
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
	net__http_reset(c);
	if (close)
		return -1;
	return lws_http_transaction_completed(wsi) ? -1 : 0;
}

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
		return net__http_write(c, wsi);
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

int net__http_write(struct net_conn *c, struct lws *wsi)
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
	if (buf_grow_array((void **)&c->body, &c->body_cap, c->body_len + len + 1, 1, 4096, 0) < 0) {
		c->body_too_big = true;
		return;
	}
	memcpy(c->body + c->body_len, in, len);
	c->body_len += len;
	c->body[c->body_len] = '\0';
}

/* ---- the callback's cases ---- */

int net__http_begin(struct net_conn *c, struct net_server *srv, struct lws *wsi)
{
	if (c->srv)
		net__http_reset(c);
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

int net__http_body(struct net_conn *c, struct lws *wsi, const void *in, size_t len)
{
	if (c->refused)
		return 0;
	if (clock_mono_ns() > c->body_deadline_ns) {
		refuse(c, wsi, 408, "request body too slow");
		return 0;
	}
	body_append(c, in, len);
	return 0;
}

int net__http_body_done(struct net_conn *c, struct lws *wsi)
{
	if (c->refused)
		return 0;
	dispatch(c, wsi);
	answer(c, wsi);
	return 0;
}

/* ---- websocket upgrades ---- */

bool net__ws_path_ok(struct net_server *srv, struct lws *wsi)
{
	char uri[512] = "";
	if (!srv->c.ws_path)
		return true;
	if (lws_hdr_copy(wsi, uri, sizeof uri, WSI_TOKEN_GET_URI) < 0)
		return false;
	return strcmp(uri, srv->c.ws_path) == 0 || (srv->c.ws_at_root && strcmp(uri, "/") == 0);
}

int net__confirm_upgrade(struct net_server *srv, struct lws *wsi, const char *up)
{
	if (!up || strcasecmp(up, "websocket") != 0)
		return 0;
	int status = 0;
	const char *why = NULL;
	if (srv->stopping) {
		status = 503;
		why = "server shutting down";
	} else if (!net__ws_path_ok(srv, wsi)) {
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
