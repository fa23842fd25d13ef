/* http: the request/response shapes shared by the server (src/net/server.c,
 * which owns sockets and libwebsockets) and the handlers (flow, admin API,
 * static UI), which are plain functions and can be tested without sockets. */
#ifndef HIPPO_NET_HTTP_H
#define HIPPO_NET_HTTP_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#define HTTP_MAX_HEADERS 32

struct http_header {
	const char *name;  /* lower-case, e.g. "user-agent" */
	const char *value;
};

/* A complete request. Every pointer is owned by the server and valid only
 * during the handler call. */
struct http_request {
	const char *method;     /* "GET", "POST", "OPTIONS", "HEAD", ...; for HEAD the
				 * server sends the answer's headers (with its
				 * Content-Length), never its body */
	const char *path;       /* URL path without the query, not decoded: "/next" */
	const char *query;      /* raw query string without '?', "" if none */
	const char *body;       /* NUL-terminated copy of the body, "" if none */
	size_t body_len;
	struct http_header headers[HTTP_MAX_HEADERS];
	size_t nheaders;
	const char *remote_ip;  /* textual peer address */
};

struct http_stream;

/* What a handler produces. The server sends it and then calls http_response_free.
 * Every answer carries "X-Content-Type-Options: nosniff" (the server adds it). */
struct http_response {
	int status;              /* default 200 */
	char content_type[64];   /* default "application/json" */
	char *body;              /* malloc'ed, owned by the response (may be NULL) */
	size_t body_len;
	char *extra_headers;     /* malloc'ed "Name: value\r\n..." lines, or NULL */
	/* A body produced while it is sent (src/net/stream.h), instead of BODY:
	 * owned by the response (the server's reference); STATUS, CONTENT_TYPE and
	 * EXTRA_HEADERS go out once the producer has data. */
	struct http_stream *stream;
};

/* Returns true and sets *RESP fields if the handler took the request; false to
 * let the next handler try (the server answers 404 when none does). */
typedef bool (*http_handler_fn)(void *user, const struct http_request *req,
				struct http_response *resp);

/* The value of header NAME (case-insensitive), or NULL. */
const char *http_header_get(const struct http_request *req, const char *name);

/* The address a request came from: PEER (NULL or "": "unknown"), or behind a
 * trusted proxy (XFF: its X-Forwarded-For value, NULL when absent or not
 * trusted) the last entry, the address the proxy itself saw, when it looks
 * like one (hex digits, '.', ':', '[', ']'; copied into BUF). */
const char *http_client_addr(const char *xff, const char *peer, char *buf, size_t len);

/* Finds KEY in the raw query string Q (names compare decoded), URL-decodes its
 * value into OUT (at most OUTLEN-1 bytes, NUL-terminated). Returns the decoded length, -1 if absent,
 * -2 if too long or malformed (bad %-escape, embedded NUL). */
int http_query_get(const char *q, const char *key, char *out, size_t outlen);

/* URL-decodes LEN bytes of S ('+' is a space) into OUT (NUL-terminated, at most
 * OUTLEN-1 bytes). Returns the decoded length, or -2 if too long or malformed. */
int http_url_decode(const char *s, size_t len, char *out, size_t outlen);

/* Appends one decoded argument ARG ("name=value", as libwebsockets hands URI
 * arguments over) to the raw query string Q, percent-encoded, with a '&'
 * separator. Returns 0, or -1 (Q unchanged) when it does not fit in QLEN. */
int http_query_append(char *q, size_t qlen, const char *arg);

/* Fills REQ for an in-process call (tests, benchmarks): METHOD, PATH, QUERY and
 * BODY (NULL: none) are borrowed, no headers, remote_ip "127.0.0.1". */
void http_request_init(struct http_request *req, const char *method, const char *path,
		       const char *query, const char *body);
/* Appends a header to REQ (borrowed strings); false when REQ is full. */
bool http_request_add_header(struct http_request *req, const char *name, const char *value);

/* How a request's body is framed (HTTP/1.x), as the server parsed it. */
struct http_framing {
	const char *method;          /* "GET", "POST", ... */
	bool http2;                  /* an HTTP/2 stream: DATA frames delimit the body */
	bool has_version;            /* HTTP/1.x: the request line ended with "HTTP/1.x" */
	int content_lengths;         /* how many Content-Length headers were sent */
	const char *content_length;  /* the (first) Content-Length value, or NULL */
	bool transfer_encoding;      /* a Transfer-Encoding header was sent */
	size_t max_body;             /* the server's body limit */
};

/* Whether the body of a request can be read unambiguously. Returns 0 with
 * *BODY_LEN set (0: no body), or the status to answer, with the reason in
 * *WHY: 400 (a request line cut short, e.g. by an encoded CR or LF in the URL;
 * several or non-numeric Content-Length; Transfer-Encoding with
 * Content-Length, or on a method without a body), 411 (POST, PUT or PATCH
 * without Content-Length: chunked bodies are not read), 413 (a declared body
 * over MAX_BODY). A body of another method (GET with Content-Length) is read
 * and ignored. After a refusal the connection must be closed: what follows
 * on it cannot be framed. */
int http_framing_check(const struct http_framing *f, size_t *body_len, const char **why);

/* The authority a request names: the Host header (HTTP/1.1), else HTTP/2's
 * :authority pseudo-header; NULL when neither is set or empty. */
const char *http_request_authority(const char *host, const char *authority);

/* Whether peer address IP matches LIST: comma-separated entries "loopback"
 * (127.0.0.0/8, ::1), "any", or IPv4/IPv6 addresses with an optional /prefix
 * ("10.0.0.0/8", "fd00::/8", "192.0.2.7"); "none" (or "") matches nothing.
 * IPv4-mapped IPv6 peers (::ffff:a.b.c.d) match as IPv4. */
bool http_addr_allowed(const char *list, const char *ip);
/* Checks LIST's syntax; -1 with a message naming the bad entry in ERR. */
int http_addr_list_check(const char *list, char *err, size_t errlen);

void http_response_init(struct http_response *resp);
void http_response_free(struct http_response *resp);
/* Sets status and a JSON body (takes ownership of J: it is decref'ed). */
void http_respond_json(struct http_response *resp, int status, json_t *j);
/* Sets status, content type and BODY (malloc'ed, ownership taken; may be NULL). */
void http_response_set_body(struct http_response *resp, int status, const char *content_type,
			    char *body, size_t len);
/* Sets status and {"error": MESSAGE}. */
void http_respond_error(struct http_response *resp, int status, const char *message);
/* Appends "NAME: VALUE\r\n" to the extra headers. */
void http_add_header(struct http_response *resp, const char *name, const char *value);

#endif
