/* The HTTP helpers: header lookup, query decoding, responses, request
 * framing, address lists, streamed bodies. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "net/http.h"
#include "net/stream.h"
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

/* Runs the framing rules on METHOD with the given Content-Length headers. */
static int framing(const char *method, int ncl, const char *cl, bool te, bool version, size_t *len,
                   const char **why)
{
	struct http_framing f = {.method = method,
	                         .has_version = version,
	                         .content_lengths = ncl,
	                         .content_length = cl,
	                         .transfer_encoding = te,
	                         .max_body = 1000};
	return http_framing_check(&f, len, why);
}

static void framing_accepts_plain_requests(void)
{
	size_t len = 99;
	const char *why = NULL;
	CHECK_INT(framing("GET", 0, NULL, false, true, &len, &why), 0);
	CHECK_INT(len, 0);
	CHECK_INT(framing("GET", 1, "0", false, true, &len, &why), 0);
	CHECK_INT(framing("POST", 1, "12", false, true, &len, &why), 0);
	CHECK_INT(len, 12);
	CHECK_INT(framing("POST", 1, "0", false, true, &len, &why), 0);
	CHECK_INT(len, 0);
	CHECK_INT(framing("PUT", 1, "1000", false, true, &len, &why), 0);
	CHECK_INT(len, 1000);
	/* A GET's body is read (and ignored), so nothing after it is mistaken for it. */
	CHECK_INT(framing("GET", 1, "5", false, true, &len, &why), 0);
	CHECK_INT(len, 5);
	/* HTTP/2 frames the body itself: no Content-Length needed. */
	struct http_framing h2 = {.method = "POST", .http2 = true, .max_body = 10};
	CHECK_INT(http_framing_check(&h2, &len, &why), 0);
}

static void framing_refuses_what_cannot_be_framed(void)
{
	size_t len;
	const char *why = NULL;
	CHECK_INT(framing("GET", 0, NULL, false, false, &len, &why), 400); /* cut request line */
	CHECK(strstr(why, "request line") != NULL);
	CHECK_INT(framing("POST", 2, "2", false, true, &len, &why), 400);
	CHECK(strstr(why, "several") != NULL);
	CHECK_INT(framing("POST", 1, "abc", false, true, &len, &why), 400);
	CHECK_INT(framing("POST", 1, "", false, true, &len, &why), 400);
	CHECK_INT(framing("POST", 1, "+2", false, true, &len, &why), 400);
	CHECK_INT(framing("POST", 1, "-2", false, true, &len, &why), 400);
	CHECK_INT(framing("POST", 1, "0x2", false, true, &len, &why), 400);
	CHECK_INT(framing("POST", 1, "2 ", false, true, &len, &why), 400);
	CHECK_INT(framing("POST", 1, "9999999999999999999", false, true, &len, &why), 400);
	CHECK_INT(framing("POST", 0, NULL, true, true, &len, &why), 411); /* chunked */
	CHECK_INT(framing("POST", 1, "2", true, true, &len, &why), 400);  /* both */
	CHECK_INT(framing("POST", 0, NULL, false, true, &len, &why), 411);
	CHECK_INT(framing("PATCH", 0, NULL, false, true, &len, &why), 411);
	CHECK_INT(framing("PUT", 0, NULL, false, true, &len, &why), 411);
	CHECK_INT(framing("POST", 1, "1001", false, true, &len, &why), 413);
	CHECK_INT(framing("GET", 0, NULL, true, true, &len, &why), 400); /* a chunked GET */
	CHECK_INT(framing("DELETE", 0, NULL, true, true, &len, &why), 400);
	CHECK(why && why[0]);
}

static void address_lists_match_peers(void)
{
	CHECK(http_addr_allowed("loopback", "127.0.0.1"));
	CHECK(http_addr_allowed("loopback", "127.8.9.10"));
	CHECK(http_addr_allowed("loopback", "::1"));
	CHECK(http_addr_allowed("loopback", "::ffff:127.0.0.1"));
	CHECK(!http_addr_allowed("loopback", "10.0.0.1"));
	CHECK(!http_addr_allowed("loopback", "::2"));
	CHECK(!http_addr_allowed("none", "127.0.0.1"));
	CHECK(!http_addr_allowed("", "127.0.0.1"));
	CHECK(http_addr_allowed("any", "203.0.113.9"));
	CHECK(http_addr_allowed("10.0.0.0/8", "10.200.3.4"));
	CHECK(!http_addr_allowed("10.0.0.0/8", "11.0.0.1"));
	CHECK(http_addr_allowed("192.0.2.0/25", "192.0.2.127"));
	CHECK(!http_addr_allowed("192.0.2.0/25", "192.0.2.128"));
	CHECK(http_addr_allowed("192.0.2.7", "192.0.2.7"));
	CHECK(!http_addr_allowed("192.0.2.7", "192.0.2.8"));
	CHECK(http_addr_allowed("0.0.0.0/0", "1.2.3.4"));
	CHECK(http_addr_allowed(" 10.0.0.0/8 , fd00::/8 ", "fd12::1"));
	CHECK(!http_addr_allowed("fd00::/8", "fe80::1"));
	CHECK(http_addr_allowed("10.0.0.0/8,loopback", "::ffff:10.1.2.3"));
	CHECK(!http_addr_allowed("10.0.0.0/8", "not an address"));
	CHECK(!http_addr_allowed("loopback", NULL));
}

static void address_lists_are_checked(void)
{
	char err[200];
	CHECK_INT(http_addr_list_check("loopback", err, sizeof err), 0);
	CHECK_INT(http_addr_list_check("loopback,10.0.0.0/8, ::1, fd00::/8,none,any", err,
	                               sizeof err),
	          0);
	CHECK_INT(http_addr_list_check("", err, sizeof err), 0);
	const char *bad[] = {"10.0.0.0/33", "::/129",        "10.0.0.0/", "10.0.0.0/8x",
	                     "localhost",   "10.0.0.0,,::1", "1.2.3",     "10.0.0.0/-1"};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		CHECK_INT(http_addr_list_check(bad[i], err, sizeof err), -1);
		CHECK(strstr(err, "expected") != NULL);
	}
	CHECK_INT(http_addr_list_check("loopback,10.0.0.0/33", err, sizeof err), -1);
	CHECK(strstr(err, "'10.0.0.0/33'") != NULL);
}

struct producer {
	struct http_stream *st;
	size_t total;
	int write_rc;
	int close_status;
};

static void *produce(void *arg)
{
	struct producer *p = arg;
	unsigned char chunk[3000];
	size_t sent = 0;
	p->write_rc = 0;
	while (sent < p->total && p->write_rc == 0) {
		size_t n = p->total - sent < sizeof chunk ? p->total - sent : sizeof chunk;
		for (size_t i = 0; i < n; i++)
			chunk[i] = (unsigned char)((sent + i) * 7);
		p->write_rc = http_stream_write(p->st, chunk, n);
		sent += n;
	}
	http_stream_close(p->st, p->close_status, "producer failed");
	return NULL;
}

static int wakes;
static void count_wake(void *user)
{
	(void)user;
	__atomic_fetch_add(&wakes, 1, __ATOMIC_RELAXED);
}

static void streams_pass_bodies_larger_than_their_buffer(void)
{
	struct http_stream *st = http_stream_new(4096);
	http_stream_set_wake(st, count_wake, NULL);
	struct producer p = {http_stream_ref(st), 1000000, 0, 0};
	pthread_t th;
	pthread_create(&th, NULL, produce, &p);
	unsigned char buf[1500];
	size_t got = 0, n;
	bool ordered = true;
	enum http_stream_state s;
	while ((s = http_stream_read(st, buf, sizeof buf, &n)) != HTTP_STREAM_END) {
		for (size_t i = 0; i < n; i++)
			ordered = ordered && buf[i] == (unsigned char)((got + i) * 7);
		got += n;
		CHECK(s != HTTP_STREAM_FAILED);
		if (s == HTTP_STREAM_FAILED)
			break;
	}
	pthread_join(th, NULL);
	CHECK_INT(got, 1000000);
	CHECK(ordered);
	CHECK_INT(p.write_rc, 0);
	CHECK(__atomic_load_n(&wakes, __ATOMIC_RELAXED) > 0);
	http_stream_detach(st);
}

static void streams_tell_the_producer_the_client_left(void)
{
	struct http_stream *st = http_stream_new(4096);
	struct producer p = {http_stream_ref(st), 1 << 30, 0, 0};
	pthread_t th;
	pthread_create(&th, NULL, produce, &p);
	unsigned char buf[100];
	size_t n;
	while (http_stream_read(st, buf, sizeof buf, &n) != HTTP_STREAM_DATA)
		;
	http_stream_detach(st); /* the client hung up with the buffer full */
	pthread_join(th, NULL);
	CHECK_INT(p.write_rc, -1);
}

static void streams_try_write_all_or_nothing(void)
{
	struct http_stream *st = http_stream_new(4096);
	struct http_stream *prod = http_stream_ref(st);
	char big[3000], out[4096];
	memset(big, 'x', sizeof big);
	size_t n;
	CHECK_INT(http_stream_try_write(prod, big, sizeof big), 0);
	/* 1096 bytes left: a second event of 3000 does not fit and nothing of it is kept */
	CHECK_INT(http_stream_try_write(prod, big, sizeof big), 1);
	CHECK_INT(http_stream_try_write(prod, "abc", 3), 0);
	CHECK_INT(http_stream_read(st, out, sizeof out, &n), HTTP_STREAM_DATA);
	CHECK_INT(n, 3003);
	CHECK(memcmp(out + 3000, "abc", 3) == 0);
	/* wraps around the ring's end */
	CHECK_INT(http_stream_try_write(prod, big, sizeof big), 0);
	CHECK_INT(http_stream_try_write(prod, big, 1000), 0);
	size_t got = 0;
	while (http_stream_read(st, out, sizeof out, &n) == HTTP_STREAM_DATA && n)
		got += n;
	CHECK_INT(got, 4000);
	http_stream_detach(st);
	CHECK_INT(http_stream_try_write(prod, "abc", 3), -1); /* the client is gone */
	http_stream_close(prod, 0, NULL);
}

static void streams_report_a_failure_before_or_after_data(void)
{
	char msg[64];
	bool started = true;
	size_t n;
	unsigned char buf[16];
	struct http_stream *st = http_stream_new(4096);
	http_stream_close(http_stream_ref(st), 500, "tar failed");
	CHECK_INT(http_stream_read(st, buf, sizeof buf, &n), HTTP_STREAM_FAILED);
	CHECK_INT(http_stream_error(st, msg, sizeof msg, &started), 500);
	CHECK_STR(msg, "tar failed");
	CHECK(!started);
	http_stream_detach(st);

	st = http_stream_new(4096);
	struct http_stream *prod = http_stream_ref(st);
	CHECK_INT(http_stream_write(prod, "abc", 3), 0);
	CHECK_INT(http_stream_read(st, buf, 0, &n), HTTP_STREAM_DATA); /* a look */
	CHECK_INT(n, 0);
	CHECK_INT(http_stream_read(st, buf, sizeof buf, &n), HTTP_STREAM_DATA);
	CHECK_INT(n, 3);
	CHECK_INT(http_stream_read(st, buf, sizeof buf, &n), HTTP_STREAM_WAIT);
	http_stream_close(prod, 500, "cut");
	CHECK_INT(http_stream_read(st, buf, sizeof buf, &n), HTTP_STREAM_FAILED);
	CHECK_INT(http_stream_error(st, msg, sizeof msg, &started), 500);
	CHECK(started);
	http_stream_detach(st);
}

static void responses_release_their_stream(void)
{
	struct http_response r;
	http_response_init(&r);
	r.stream = http_stream_new(4096);
	struct http_stream *prod = http_stream_ref(r.stream);
	http_response_free(&r); /* the server's reference: the client is gone */
	CHECK(r.stream == NULL);
	CHECK_INT(http_stream_write(prod, NULL, 0), -1);
	CHECK_INT(http_stream_write(prod, "x", 1), -1);
	http_stream_close(prod, 0, NULL); /* the last reference: freed (ASan checks) */
}

int main(void)
{
	RUN(framing_accepts_plain_requests);
	RUN(framing_refuses_what_cannot_be_framed);
	RUN(address_lists_match_peers);
	RUN(address_lists_are_checked);
	RUN(streams_pass_bodies_larger_than_their_buffer);
	RUN(streams_tell_the_producer_the_client_left);
	RUN(streams_try_write_all_or_nothing);
	RUN(streams_report_a_failure_before_or_after_data);
	RUN(responses_release_their_stream);
	RUN(query_get_decodes_values);
	RUN(query_get_absent_is_minus_one);
	RUN(query_get_rejects_bad_escapes_and_overflow);
	RUN(header_get_is_case_insensitive);
	RUN(in_process_requests_are_built_and_bounded);
	RUN(responses_json_error_and_headers);
	RUN(query_append_reencodes_decoded_arguments);
	return test_summary();
}
