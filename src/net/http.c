/* http: helpers over the request/response shapes of src/net/http.h. Nothing
 * here touches sockets; the server owns those. */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "net/http.h"
#include "net/stream.h"
#include "core/text.h"

const char *http_client_addr(const char *xff, const char *peer, char *buf, size_t len)
{
	if (xff) {
		const char *last = strrchr(xff, ',');
		last = last ? last + 1 : xff;
		while (*last == ' ' || *last == '\t')
			last++;
		size_t n = strspn(last, "0123456789abcdefABCDEF.:[]");
		if (n > 0 && n < len && n < 64 && strspn(last + n, " \t") == strlen(last + n)) {
			memcpy(buf, last, n);
			buf[n] = '\0';
			return buf;
		}
	}
	return peer && peer[0] ? peer : "unknown";
}

const char *http_header_get(const struct http_request *req, const char *name)
{
	size_t n = req->nheaders < HTTP_MAX_HEADERS ? req->nheaders : HTTP_MAX_HEADERS;
	for (size_t i = 0; i < n; i++)
		if (req->headers[i].name && strcasecmp(req->headers[i].name, name) == 0)
			return req->headers[i].value;
	return NULL;
}

int http_url_decode(const char *s, size_t len, char *out, size_t outlen)
{
	size_t o = 0;
	if (outlen == 0)
		return -2;
	for (size_t i = 0; i < len; i++) {
		int c = (unsigned char)s[i];
		if (c == '+') {
			c = ' ';
		} else if (c == '%') {
			if (i + 2 >= len)
				return -2;
			int hi = text_hexval((unsigned char)s[i + 1]), lo = text_hexval((unsigned char)s[i + 2]);
			if (hi < 0 || lo < 0)
				return -2;
			c = hi * 16 + lo;
			i += 2;
		}
		if (c == 0 || o + 1 >= outlen)
			return -2;
		out[o++] = (char)c;
	}
	out[o] = '\0';
	return (int)o;
}

int http_query_get(const char *q, const char *key, char *out, size_t outlen)
{
	if (q == NULL || key == NULL)
		return -1;
	size_t klen = strlen(key);
	const char *p = q;
	while (*p) {
		const char *end = strchr(p, '&');
		size_t plen = end ? (size_t)(end - p) : strlen(p);
		const char *eq = memchr(p, '=', plen);
		size_t nlen = eq ? (size_t)(eq - p) : plen;
		char name[256];
		bool match = nlen == klen && memcmp(p, key, klen) == 0;
		/* An encoded name ("user%49d") matches its decoded key too. */
		if (!match && memchr(p, '%', nlen) &&
		    http_url_decode(p, nlen, name, sizeof name) == (int)klen)
			match = memcmp(name, key, klen) == 0;
		if (match) {
			const char *v = eq ? eq + 1 : p + plen;
			size_t vlen = eq ? plen - nlen - 1 : 0;
			return http_url_decode(v, vlen, out, outlen);
		}
		if (!end)
			break;
		p = end + 1;
	}
	return -1;
}

/* Percent-encodes LEN bytes of S onto OUT at *O; false when OUT is full. */
static bool encode_onto(const char *s, size_t len, char *out, size_t outlen, size_t *o)
{
	static const char hex[] = "0123456789ABCDEF";
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		bool plain = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			     (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.' || c == '~';
		size_t need = plain ? 1 : 3;
		if (*o + need >= outlen)
			return false;
		if (plain) {
			out[(*o)++] = (char)c;
		} else {
			out[(*o)++] = '%';
			out[(*o)++] = hex[c >> 4];
			out[(*o)++] = hex[c & 15];
		}
	}
	return true;
}

int http_query_append(char *q, size_t qlen, const char *arg)
{
	size_t o = strlen(q), start = o;
	const char *eq = strchr(arg, '=');
	size_t nlen = eq ? (size_t)(eq - arg) : strlen(arg);
	bool ok = true;
	if (o > 0) {
		ok = o + 1 < qlen;
		if (ok)
			q[o++] = '&';
	}
	ok = ok && encode_onto(arg, nlen, q, qlen, &o);
	if (ok && eq) {
		ok = o + 1 < qlen;
		if (ok)
			q[o++] = '=';
		ok = ok && encode_onto(eq + 1, strlen(eq + 1), q, qlen, &o);
	}
	q[ok ? o : start] = '\0';
	return ok ? 0 : -1;
}

void http_request_init(struct http_request *req, const char *method, const char *path,
		       const char *query, const char *body)
{
	memset(req, 0, sizeof *req);
	req->method = method;
	req->path = path;
	req->query = query ? query : "";
	req->body = body ? body : "";
	req->body_len = body ? strlen(body) : 0;
	req->remote_ip = "127.0.0.1";
}

bool http_request_add_header(struct http_request *req, const char *name, const char *value)
{
	if (req->nheaders >= HTTP_MAX_HEADERS)
		return false;
	req->headers[req->nheaders++] = (struct http_header){name, value};
	return true;
}

void http_response_init(struct http_response *resp)
{
	memset(resp, 0, sizeof *resp);
	resp->status = 200;
	memcpy(resp->content_type, "application/json", sizeof "application/json");
}

void http_response_free(struct http_response *resp)
{
	free(resp->body);
	free(resp->extra_headers);
	if (resp->stream)
		http_stream_detach(resp->stream);
	resp->body = NULL;
	resp->extra_headers = NULL;
	resp->stream = NULL;
	resp->body_len = 0;
}

void http_response_set_body(struct http_response *resp, int status, const char *content_type,
			    char *body, size_t len)
{
	free(resp->body);
	resp->status = status;
	snprintf(resp->content_type, sizeof resp->content_type, "%s", content_type);
	resp->body = body;
	resp->body_len = len;
}

void http_respond_json(struct http_response *resp, int status, json_t *j)
{
	char *s = j ? json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;
	json_decref(j);
	if (!s) {
		/* Out of memory or a NULL value: still answer something valid. */
		const char fallback[] = "{\"error\":\"internal error\"}";
		s = strdup(fallback);
		status = 500;
		if (!s) {
			http_response_set_body(resp, status, "application/json", NULL, 0);
			return;
		}
	}
	http_response_set_body(resp, status, "application/json", s, strlen(s));
}

void http_respond_error(struct http_response *resp, int status, const char *message)
{
	http_respond_json(resp, status, json_pack("{s:s}", "error", message ? message : ""));
}

void http_add_header(struct http_response *resp, const char *name, const char *value)
{
	/* Header injection guard: names and values never carry CR or LF. */
	if (strpbrk(name, "\r\n:") || strpbrk(value, "\r\n"))
		return;
	size_t old = resp->extra_headers ? strlen(resp->extra_headers) : 0;
	size_t add = strlen(name) + 2 + strlen(value) + 2;
	char *h = realloc(resp->extra_headers, old + add + 1);
	if (!h)
		return;
	snprintf(h + old, add + 1, "%s: %s\r\n", name, value);
	resp->extra_headers = h;
}

static bool body_method(const char *m)
{
	return strcmp(m, "POST") == 0 || strcmp(m, "PUT") == 0 || strcmp(m, "PATCH") == 0;
}

int http_framing_check(const struct http_framing *f, size_t *body_len, const char **why)
{
	*body_len = 0;
	if (!f->http2 && !f->has_version) {
		*why = "malformed request line (a CR or LF in the URL?)";
		return 400;
	}
	if (f->content_lengths > 1) {
		*why = "several Content-Length headers";
		return 400;
	}
	unsigned long long n = 0;
	if (f->content_lengths == 1) {
		const char *v = f->content_length ? f->content_length : "";
		size_t len = strlen(v);
		if (len == 0 || len > 18 || strspn(v, "0123456789") != len) {
			*why = "Content-Length must be a decimal number";
			return 400;
		}
		for (size_t i = 0; i < len; i++)
			n = n * 10 + (unsigned long long)(v[i] - '0');
	}
	if (f->transfer_encoding && !f->http2) {
		if (f->content_lengths) {
			*why = "Transfer-Encoding and Content-Length together";
			return 400;
		}
		*why = "chunked request bodies are not accepted: send Content-Length";
		return body_method(f->method) ? 411 : 400;
	}
	if (body_method(f->method) && f->content_lengths == 0 && !f->http2) {
		*why = "Content-Length required";
		return 411;
	}
	if (n > f->max_body) {
		*why = "request body too large";
		return 413;
	}
	*body_len = (size_t)n;
	return 0;
}

const char *http_request_authority(const char *host, const char *authority)
{
	if (host && host[0])
		return host;
	if (authority && authority[0])
		return authority;
	return NULL;
}

/* One entry of an address list: an address with an optional /prefix. */
struct addr_entry {
	int family; /* AF_INET, AF_INET6; 0: "any"; -1: "loopback" */
	unsigned char a[16];
	int prefix;
};

static int parse_entry(const char *s, size_t n, struct addr_entry *e)
{
	char buf[64];
	if (n == 0 || n >= sizeof buf)
		return -1;
	memcpy(buf, s, n);
	buf[n] = '\0';
	if (strcmp(buf, "any") == 0) {
		e->family = 0;
		return 0;
	}
	if (strcmp(buf, "loopback") == 0) {
		e->family = -1;
		return 0;
	}
	char *slash = strchr(buf, '/');
	if (slash)
		*slash = '\0';
	if (inet_pton(AF_INET, buf, e->a) == 1) {
		e->family = AF_INET;
		e->prefix = 32;
	} else if (inet_pton(AF_INET6, buf, e->a) == 1) {
		e->family = AF_INET6;
		e->prefix = 128;
	} else {
		return -1;
	}
	if (slash) {
		const char *p = slash + 1;
		size_t pl = strlen(p);
		if (pl == 0 || pl > 3 || strspn(p, "0123456789") != pl)
			return -1;
		int v = 0;
		for (size_t i = 0; i < pl; i++)
			v = v * 10 + (p[i] - '0');
		if (v > e->prefix)
			return -1;
		e->prefix = v;
	}
	return 0;
}

/* Calls FN on each entry of LIST until it returns nonzero (returned). A bad
 * entry stops the walk with -1 and its text in *BAD, *BADLEN. */
static int each_entry(const char *list, int (*fn)(const struct addr_entry *, void *), void *user,
		      const char **bad, size_t *badlen)
{
	const char *p = list ? list : "";
	while (*p) {
		size_t n = strcspn(p, ",");
		const char *s = p;
		size_t sl = n;
		while (sl && (*s == ' ' || *s == '\t')) {
			s++;
			sl--;
		}
		while (sl && (s[sl - 1] == ' ' || s[sl - 1] == '\t'))
			sl--;
		struct addr_entry e = {0};
		if (!(sl == 4 && memcmp(s, "none", 4) == 0)) {
			if (parse_entry(s, sl, &e) < 0) {
				*bad = s;
				*badlen = sl;
				return -1;
			}
			int rc = fn ? fn(&e, user) : 0;
			if (rc)
				return rc;
		}
		p += n;
		if (*p == ',')
			p++;
	}
	return 0;
}

static bool prefix_equal(const unsigned char *a, const unsigned char *b, int bits)
{
	int whole = bits / 8, rest = bits % 8;
	if (memcmp(a, b, (size_t)whole) != 0)
		return false;
	if (rest == 0)
		return true;
	unsigned char mask = (unsigned char)(0xff << (8 - rest));
	return (a[whole] & mask) == (b[whole] & mask);
}

struct peer {
	int family;
	unsigned char a[16];
};

static int match_entry(const struct addr_entry *e, void *user)
{
	const struct peer *p = user;
	if (e->family == 0)
		return 1;
	if (e->family == -1) {
		static const unsigned char v6lo[16] = {[15] = 1};
		return (p->family == AF_INET && p->a[0] == 127) ||
		       (p->family == AF_INET6 && memcmp(p->a, v6lo, 16) == 0);
	}
	return e->family == p->family && prefix_equal(e->a, p->a, e->prefix);
}

bool http_addr_allowed(const char *list, const char *ip)
{
	struct peer p = {0};
	if (!ip)
		return false;
	if (inet_pton(AF_INET, ip, p.a) == 1) {
		p.family = AF_INET;
	} else if (inet_pton(AF_INET6, ip, p.a) == 1) {
		static const unsigned char mapped[12] = {[10] = 0xff, [11] = 0xff};
		p.family = AF_INET6;
		if (memcmp(p.a, mapped, 12) == 0) {
			memmove(p.a, p.a + 12, 4);
			p.family = AF_INET;
		}
	} else {
		return false;
	}
	const char *bad;
	size_t badlen;
	return each_entry(list, match_entry, &p, &bad, &badlen) == 1;
}

int http_addr_list_check(const char *list, char *err, size_t errlen)
{
	const char *bad = NULL;
	size_t badlen = 0;
	if (each_entry(list, NULL, NULL, &bad, &badlen) == 0)
		return 0;
	snprintf(err, errlen,
		 "'%.*s': expected loopback, any, none, or an address with an optional /prefix",
		 (int)(badlen < 80 ? badlen : 80), bad);
	return -1;
}
