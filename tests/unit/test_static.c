/* static: the participant UI's files come with their Content-Security-Policy
 * (on every file, HEAD and 304 included), the policy allows no inline
 * script and no eval, and --frame-ancestors takes CSP sources only. */
#include <stdlib.h>

#include "test.h"
#include "net/static.h"

/* The value of header NAME in RESP's extra headers, copied to OUT. */
static bool header_value(const struct http_response *resp, const char *name, char *out,
			 size_t outlen)
{
	char key[64];
	snprintf(key, sizeof key, "%s: ", name);
	const char *h = resp->extra_headers ? strstr(resp->extra_headers, key) : NULL;
	if (!h)
		return false;
	h += strlen(key);
	size_t n = strcspn(h, "\r\n");
	if (n >= outlen)
		return false;
	memcpy(out, h, n);
	out[n] = '\0';
	return true;
}

/* The directive NAME's sources in POLICY ("" when absent), copied to OUT. */
static void directive(const char *policy, const char *name, char *out, size_t outlen)
{
	out[0] = '\0';
	size_t nl = strlen(name);
	for (const char *p = policy; *p;) {
		while (*p == ' ' || *p == ';')
			p++;
		size_t n = strcspn(p, ";");
		if (n > nl && strncmp(p, name, nl) == 0 && p[nl] == ' ') {
			snprintf(out, outlen, "%.*s", (int)(n - nl - 1), p + nl + 1);
			return;
		}
		p += n;
	}
}

static int serve(void *user, const char *method, const char *path, const char *inm, char *csp,
		 size_t csplen)
{
	struct http_request req;
	struct http_response resp;
	http_request_init(&req, method, path, "", NULL);
	if (inm)
		http_request_add_header(&req, "if-none-match", inm);
	http_response_init(&resp);
	int status = 0;
	csp[0] = '\0';
	if (static_http_handler(user, &req, &resp)) {
		status = resp.status;
		header_value(&resp, "Content-Security-Policy", csp, csplen);
	}
	http_response_free(&resp);
	return status;
}

static void every_ui_file_carries_the_policy(void)
{
	char csp[2048];
	printf("/, /index.html, /app.js, /ui.css, HEAD and a 304: the same policy\n");
	CHECK_INT(serve(NULL, "GET", "/", NULL, csp, sizeof csp), 200);
	char first[2048];
	snprintf(first, sizeof first, "%s", csp);
	CHECK(first[0] != '\0');
	const char *paths[] = {"/index.html", "/app.js", "/ui.css", "/favicon.svg"};
	for (size_t i = 0; i < sizeof paths / sizeof *paths; i++) {
		CHECK_INT(serve(NULL, "GET", paths[i], NULL, csp, sizeof csp), 200);
		CHECK_STR(csp, first);
	}
	CHECK_INT(serve(NULL, "HEAD", "/", NULL, csp, sizeof csp), 200);
	CHECK_STR(csp, first);
	/* The ETag of "/" for a conditional request. */
	struct http_request req;
	struct http_response resp;
	char etag[64] = "";
	http_request_init(&req, "GET", "/", "", NULL);
	http_response_init(&resp);
	CHECK(static_http_handler(NULL, &req, &resp));
	CHECK(header_value(&resp, "ETag", etag, sizeof etag));
	http_response_free(&resp);
	CHECK_INT(serve(NULL, "GET", "/", etag, csp, sizeof csp), 304);
	CHECK_STR(csp, first);
	/* Not the UI's: not answered here. */
	CHECK_INT(serve(NULL, "GET", "/next", NULL, csp, sizeof csp), 0);
	CHECK_INT(serve(NULL, "POST", "/", NULL, csp, sizeof csp), 0);
}

static void the_default_policy_is_strict(void)
{
	char csp[2048], d[512];
	printf("scripts from the UI's origin only, no inline script or eval, frames: 'self'\n");
	serve(NULL, "GET", "/", NULL, csp, sizeof csp);
	directive(csp, "default-src", d, sizeof d);
	CHECK_STR(d, "'none'");
	directive(csp, "script-src", d, sizeof d);
	CHECK_STR(d, "'self'");
	directive(csp, "style-src", d, sizeof d);
	CHECK(strncmp(d, "'self'", 6) == 0 && !strstr(d, "unsafe") && !strstr(d, "data:"));
	directive(csp, "connect-src", d, sizeof d);
	CHECK(strncmp(d, "'self'", 6) == 0);
	directive(csp, "object-src", d, sizeof d);
	CHECK(d[0] == '\0'); /* default-src 'none' */
	directive(csp, "base-uri", d, sizeof d);
	CHECK_STR(d, "'none'");
	directive(csp, "form-action", d, sizeof d);
	CHECK_STR(d, "'none'");
	directive(csp, "frame-ancestors", d, sizeof d);
	CHECK_STR(d, "'self'");
	CHECK(strstr(csp, "unsafe-eval") == NULL);
	/* the only 'unsafe-inline': style attributes of step pages */
	const char *u = strstr(csp, "'unsafe-inline'");
	CHECK(u && strstr(u + 1, "'unsafe-inline'") == NULL);
	directive(csp, "style-src-attr", d, sizeof d);
	CHECK_STR(d, "'unsafe-inline'");
	/* static_csp(NULL) is the default */
	char built[STATIC_CSP_MAX], err[256];
	CHECK(static_csp(NULL, built, sizeof built, err, sizeof err));
	CHECK_STR(built, csp);
}

static void frame_ancestors_takes_sources_only(void)
{
	char csp[STATIC_CSP_MAX], got[2048], d[1200], err[256];
	printf("--frame-ancestors: sources accepted and sent; ';' ',' quotes, CR/LF refused\n");
	const char *good[] = {"'self'", "'none'", "https:", "'self' https://*.qualtrics.com",
			      "https://app.prolific.com  https://example.org:8443/study",
			      "*.example.org http://127.0.0.1:*"};
	for (size_t i = 0; i < sizeof good / sizeof *good; i++) {
		err[0] = '\0';
		CHECK(static_csp(good[i], csp, sizeof csp, err, sizeof err));
		directive(csp, "frame-ancestors", d, sizeof d);
		CHECK_STR(d, good[i]);
		CHECK_INT(serve(csp, "GET", "/", NULL, got, sizeof got), 200);
		CHECK_STR(got, csp);
	}
	const char *bad[] = {"", "   ", "'self'; script-src *", "'self', https:", "'unsafe-inline'",
			     "'self\r\nSet-Cookie: a=b", "https://a.example\n", "'none' 'self'",
			     "https://exa\"mple.org", "\xc3\xa9.example"};
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		err[0] = '\0';
		CHECK(!static_csp(bad[i], csp, sizeof csp, err, sizeof err));
		CHECK(err[0] != '\0');
	}
	char long_list[1200];
	memset(long_list, 'a', sizeof long_list - 1);
	long_list[sizeof long_list - 1] = '\0';
	CHECK(!static_csp(long_list, csp, sizeof csp, err, sizeof err));
	CHECK(strstr(err, "longer") != NULL);
	/* the longest accepted list fits */
	long_list[1000] = '\0';
	CHECK(static_csp(long_list, csp, sizeof csp, err, sizeof err));
}

int main(void)
{
	RUN(every_ui_file_carries_the_policy);
	RUN(the_default_policy_is_strict);
	RUN(frame_ancestors_takes_sources_only);
	return test_summary();
}
