/* static: serves the embedded participant UI (web/, src/net/assets.h) at "/"
 * with its content type, an ETag and revalidation caching. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "net/assets.h"
#include "net/static.h"

/* FNV-1a over the bytes: a strong enough validator for files that only
 * change with the binary. */
static void etag_of(const struct asset *a, char *out, size_t len)
{
	unsigned long long h = 1469598103934665603ull;
	for (size_t i = 0; i < a->len; i++) {
		h ^= a->data[i];
		h *= 1099511628211ull;
	}
	snprintf(out, len, "\"%016llx-%zx\"", h, a->len);
}

bool static_http_handler(void *user, const struct http_request *req, struct http_response *resp)
{
	(void)user;
	bool head = strcmp(req->method, "HEAD") == 0;
	if (strcmp(req->method, "GET") != 0 && !head)
		return false;
	const struct asset *a = asset_find(req->path);
	if (!a)
		return false;
	char etag[48];
	etag_of(a, etag, sizeof etag);
	http_add_header(resp, "ETag", etag);
	/* Revalidate every time: names are not versioned, and a 304 is cheap. */
	http_add_header(resp, "Cache-Control", "no-cache");
	http_add_header(resp, "X-Content-Type-Options", "nosniff");
	const char *inm = http_header_get(req, "if-none-match");
	if (inm && strstr(inm, etag)) {
		http_response_set_body(resp, 304, a->content_type, NULL, 0);
		return true;
	}
	/* HEAD gets the same answer; the server sends its headers only
	 * (Content-Length included) */
	char *body = malloc(a->len ? a->len : 1);
	if (!body) {
		http_respond_error(resp, 500, "out of memory");
		return true;
	}
	memcpy(body, a->data, a->len);
	http_response_set_body(resp, 200, a->content_type, body, a->len);
	return true;
}
