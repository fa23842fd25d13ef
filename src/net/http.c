/* http: helpers over the request/response shapes of src/net/http.h. Nothing
 * here touches sockets; the server owns those. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "net/http.h"
#include "core/text.h"

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
	resp->body = NULL;
	resp->extra_headers = NULL;
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
