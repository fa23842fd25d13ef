/* static: serves the embedded participant UI (web/, src/net/assets.h) at "/"
 * with its content type, an ETag, revalidation caching and the UI's
 * Content-Security-Policy. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "net/assets.h"
#include "net/static.h"

/* The policy (docs/participant-ui.md). The UI's own files need only 'self':
 * no inline script or style, no eval. Step pages (researchers' HTML inserted
 * into the page) may add style attributes, images, audio and video from
 * https or data: URLs, https iframes (a video, another site's form) and
 * https stylesheets (the `css` link parameter); a step page's scripts,
 * event-handler attributes and <style> elements are refused. The game's
 * websocket may be on another host (/next's `server`, the `server` link
 * parameter). frame-ancestors ends it: static_csp() appends the sources. */
#define CSP_BASE                                                                             \
	"default-src 'none'; script-src 'self'; style-src 'self' https:; "                    \
	"style-src-attr 'unsafe-inline'; img-src 'self' https: data:; "                        \
	"media-src 'self' https: data:; font-src 'self' https:; connect-src 'self' ws: wss:; " \
	"frame-src https:; base-uri 'none'; form-action 'none'; frame-ancestors "

static const char default_csp[] = CSP_BASE STATIC_FRAME_ANCESTORS_DEFAULT;

#define FRAME_ANCESTORS_MAX 1000

/* A host or scheme source: letters, digits, '*' and the punctuation of
 * URLs only (no quote, space, ';' or ','). */
static bool plain_source(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)s[i]) && !strchr("-._~:/*%+", s[i]))
			return false;
	return n > 0;
}

bool static_csp(const char *frame_ancestors, char *out, size_t outlen, char *err, size_t errlen)
{
	const char *fa = frame_ancestors ? frame_ancestors : STATIC_FRAME_ANCESTORS_DEFAULT;
	size_t len = strlen(fa);
	if (len > FRAME_ANCESTORS_MAX) {
		snprintf(err, errlen, "longer than %d characters", FRAME_ANCESTORS_MAX);
		return false;
	}
	int ntok = 0;
	bool none = false;
	for (const char *p = fa; *p;) {
		if (*p == ' ') {
			p++;
			continue;
		}
		size_t n = strcspn(p, " ");
		ntok++;
		if (n == 6 && strncmp(p, "'none'", 6) == 0) {
			none = true;
		} else if (!(n == 6 && strncmp(p, "'self'", 6) == 0) && !plain_source(p, n)) {
			snprintf(err, errlen,
				 "\"%.*s\" is not a source ('self', 'none', a scheme such as https: or "
				 "a host such as https://*.example.org)",
				 (int)(n > 80 ? 80 : n), p);
			return false;
		}
		p += n;
	}
	if (ntok == 0) {
		snprintf(err, errlen, "empty (use 'none' to forbid embedding)");
		return false;
	}
	if (none && ntok > 1) {
		snprintf(err, errlen, "'none' cannot be combined with other sources");
		return false;
	}
	int w = snprintf(out, outlen, "%s%s", CSP_BASE, fa);
	if (w < 0 || (size_t)w >= outlen) {
		snprintf(err, errlen, "policy too long");
		return false;
	}
	return true;
}

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
	const char *csp = user ? user : default_csp;
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
	/* On every file, 304s included: a document keeps the policy of the
	 * answer it was loaded from. */
	http_add_header(resp, "Content-Security-Policy", csp);
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
