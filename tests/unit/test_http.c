/* The HTTP helpers: header lookup, query decoding, responses. */
#include <stdlib.h>

#include "net/http.h"
#include "test.h"

static void query_get_decodes_values(void)
{
	char v[64];
	CHECK_INT(http_query_get("projectId=demo&userId=u%2D1+x", "userId", v, sizeof v), 5);
	CHECK_STR(v, "u-1 x");
	CHECK_INT(http_query_get("projectId=demo&userId=u1", "projectId", v, sizeof v), 4);
	CHECK_STR(v, "demo");
	CHECK_INT(http_query_get("a=1&flag&b=", "flag", v, sizeof v), 0);
	CHECK_INT(http_query_get("a=1&b=", "b", v, sizeof v), 0);
}

static void query_get_absent_is_minus_one(void)
{
	char v[8];
	CHECK_INT(http_query_get("", "x", v, sizeof v), -1);
	CHECK_INT(http_query_get("xy=1&yx=2", "x", v, sizeof v), -1);
	CHECK_INT(http_query_get(NULL, "x", v, sizeof v), -1);
}

static void query_get_rejects_bad_escapes_and_overflow(void)
{
	char v[8];
	CHECK_INT(http_query_get("x=%zz", "x", v, sizeof v), -2);
	CHECK_INT(http_query_get("x=%4", "x", v, sizeof v), -2);
	CHECK_INT(http_query_get("x=%", "x", v, sizeof v), -2);
	CHECK_INT(http_query_get("x=a%00b", "x", v, sizeof v), -2);
	CHECK_INT(http_query_get("x=12345678", "x", v, sizeof v), -2);
	CHECK_INT(http_query_get("x=1234567", "x", v, sizeof v), 7);
}

static void header_get_is_case_insensitive(void)
{
	struct http_request req = {0};
	req.headers[0] = (struct http_header){"user-agent", "test/1"};
	req.headers[1] = (struct http_header){"host", "h:1"};
	req.nheaders = 2;
	CHECK_STR(http_header_get(&req, "User-Agent"), "test/1");
	CHECK_STR(http_header_get(&req, "HOST"), "h:1");
	CHECK(http_header_get(&req, "cookie") == NULL);
}

static void in_process_requests_are_built_and_bounded(void)
{
	struct http_request req;
	http_request_init(&req, "POST", "/next", NULL, "{\"a\":1}");
	CHECK_STR(req.method, "POST");
	CHECK_STR(req.query, "");
	CHECK_INT(req.body_len, 7);
	CHECK_INT(req.nheaders, 0);
	for (int i = 0; i < HTTP_MAX_HEADERS; i++)
		CHECK(http_request_add_header(&req, "x-h", "v"));
	CHECK(!http_request_add_header(&req, "one-too-many", "v"));
	CHECK_INT(req.nheaders, HTTP_MAX_HEADERS);
	CHECK_STR(http_header_get(&req, "X-H"), "v");
}

static void responses_json_error_and_headers(void)
{
	struct http_response r;
	http_response_init(&r);
	CHECK_INT(r.status, 200);
	CHECK_STR(r.content_type, "application/json");
	http_respond_error(&r, 404, "no \"such\" thing");
	CHECK_INT(r.status, 404);
	CHECK_STR(r.body, "{\"error\":\"no \\\"such\\\" thing\"}");
	CHECK_INT(r.body_len, strlen(r.body));
	http_respond_json(&r, 201, json_pack("{s:i}", "a", 1));
	CHECK_STR(r.body, "{\"a\":1}");
	http_add_header(&r, "X-A", "1");
	http_add_header(&r, "X-B", "2");
	http_add_header(&r, "X-Bad", "a\r\nSet-Cookie: x");
	CHECK_STR(r.extra_headers, "X-A: 1\r\nX-B: 2\r\n");
	http_response_free(&r);
	CHECK(r.body == NULL && r.extra_headers == NULL);
}

static void query_append_reencodes_decoded_arguments(void)
{
	char q[64] = "", v[32];
	CHECK_INT(http_query_append(q, sizeof q, "projectId=demo"), 0);
	CHECK_INT(http_query_append(q, sizeof q, "x=a&b c=d"), 0);
	CHECK_INT(http_query_append(q, sizeof q, "flag"), 0);
	CHECK_STR(q, "projectId=demo&x=a%26b%20c%3Dd&flag");
	CHECK_INT(http_query_get(q, "x", v, sizeof v), 7);
	CHECK_STR(v, "a&b c=d");
	CHECK_INT(http_query_get(q, "projectId", v, sizeof v), 4);
	CHECK_INT(http_query_get("user%49d=7", "userId", v, sizeof v), 1);
	char small[12] = "";
	CHECK_INT(http_query_append(small, sizeof small, "a=b"), 0);
	CHECK_INT(http_query_append(small, sizeof small, "long=value"), -1);
	CHECK_STR(small, "a=b");
}

int main(void)
{
	RUN(query_get_decodes_values);
	RUN(query_get_absent_is_minus_one);
	RUN(query_get_rejects_bad_escapes_and_overflow);
	RUN(header_get_is_case_insensitive);
	RUN(in_process_requests_are_built_and_bounded);
	RUN(responses_json_error_and_headers);
	RUN(query_append_reencodes_decoded_arguments);
	return test_summary();
}
