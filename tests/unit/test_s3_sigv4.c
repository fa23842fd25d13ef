/* The S3 client's requests, captured by a small HTTP listener on 127.0.0.1:
 * the SigV4 Authorization header libcurl produces for AWS's two published S3
 * examples ("Signature Calculations for the Authorization Header: Transferring
 * Payload in a Single Chunk": GET Object with a Range, PUT Object) must equal
 * the published signatures, and must also equal a signature computed here,
 * independently, with OpenSSL HMAC from the request as it went over the wire.
 * Also: the signing-key derivation example (IAM, 20120215), the verified PUT
 * (payload hash, Content-MD5, ETag check, HEAD check), keys, URLs and the
 * credentials file. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include <curl/curl.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "storage/s3.h"
#include "test.h"

static const char AKID[] = "AKIAIOSFODNN7EXAMPLE";
static const char SECRET[] = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";

/* ------------------------------------------------------------ listener */

struct captured {
	char method[16], path[512];
	char headers[32][2][512]; /* lowercased name, raw value */
	int nheaders;
	char body[4096];
	size_t nbody;
};

enum mode { ANSWER_OK, ANSWER_WRONG_ETAG };

struct listener {
	int fd, port;
	int nrequests;
	enum mode mode;
	struct captured req[4];
	char stored_md5[33];
	long long stored_len;
	pthread_t th;
};

static void md5_hex(const void *data, size_t n, char out[33])
{
	unsigned char d[16];
	unsigned len = 0;
	EVP_Digest(data, n, d, &len, EVP_md5(), NULL);
	for (int i = 0; i < 16; i++)
		snprintf(out + 2 * i, 3, "%02x", d[i]);
}

static void sha256_hex(const void *data, size_t n, char out[65])
{
	unsigned char d[32];
	unsigned len = 0;
	EVP_Digest(data, n, d, &len, EVP_sha256(), NULL);
	for (int i = 0; i < 32; i++)
		snprintf(out + 2 * i, 3, "%02x", d[i]);
}

static const char *header(const struct captured *c, const char *name)
{
	for (int i = 0; i < c->nheaders; i++)
		if (strcmp(c->headers[i][0], name) == 0)
			return c->headers[i][1];
	return NULL;
}

/* Reads one request (headers + Content-Length body) from FD into C. */
static int read_request(int fd, struct captured *c)
{
	char buf[16384];
	size_t n = 0;
	char *end = NULL;
	while (!end && n < sizeof buf - 1) {
		ssize_t r = read(fd, buf + n, sizeof buf - 1 - n);
		if (r <= 0)
			return -1;
		n += (size_t)r;
		buf[n] = '\0';
		end = strstr(buf, "\r\n\r\n");
	}
	if (!end)
		return -1;
	*end = '\0';
	char *line = buf, *next;
	memset(c, 0, sizeof *c);
	next = strstr(line, "\r\n");
	if (next)
		*next = '\0';
	sscanf(line, "%15s %511s", c->method, c->path);
	while (next && c->nheaders < 32) {
		line = next + 2;
		next = strstr(line, "\r\n");
		if (next)
			*next = '\0';
		char *colon = strchr(line, ':');
		if (!colon)
			continue;
		*colon = '\0';
		for (char *p = line; *p; p++)
			*p = (char)(*p >= 'A' && *p <= 'Z' ? *p + 32 : *p);
		char *v = colon + 1;
		while (*v == ' ')
			v++;
		snprintf(c->headers[c->nheaders][0], 512, "%s", line);
		snprintf(c->headers[c->nheaders][1], 512, "%s", v);
		c->nheaders++;
	}
	const char *cl = header(c, "content-length");
	size_t want = cl ? (size_t)strtoul(cl, NULL, 10) : 0;
	size_t have = n - (size_t)(end + 4 - buf);
	if (want > sizeof c->body)
		return -1;
	memcpy(c->body, end + 4, have < want ? have : want);
	c->nbody = have < want ? have : want;
	while (c->nbody < want) {
		ssize_t r = read(fd, c->body + c->nbody, want - c->nbody);
		if (r <= 0)
			return -1;
		c->nbody += (size_t)r;
	}
	return 0;
}

static void *serve(void *arg)
{
	struct listener *l = arg;
	for (int i = 0; i < l->nrequests; i++) {
		int fd = accept(l->fd, NULL, NULL);
		if (fd < 0)
			break;
		struct captured *c = &l->req[i];
		char resp[512];
		if (read_request(fd, c) != 0) {
			close(fd);
			continue;
		}
		if (strcmp(c->method, "PUT") == 0) {
			md5_hex(c->body, c->nbody, l->stored_md5);
			l->stored_len = (long long)c->nbody;
		}
		const char *etag = l->mode == ANSWER_WRONG_ETAG ? "0123456789abcdef0123456789abcdef"
								: l->stored_md5;
		long long len = strcmp(c->method, "HEAD") == 0 ? l->stored_len : 0;
		snprintf(resp, sizeof resp,
			 "HTTP/1.1 200 OK\r\nETag: \"%s\"\r\nContent-Length: %lld\r\n"
			 "Connection: close\r\n\r\n",
			 etag, len);
		ssize_t w = write(fd, resp, strlen(resp));
		(void)w;
		close(fd);
	}
	return NULL;
}

static void listener_start(struct listener *l, int nrequests, enum mode mode)
{
	memset(l, 0, sizeof *l);
	l->nrequests = nrequests;
	l->mode = mode;
	l->fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	bind(l->fd, (struct sockaddr *)&a, sizeof a);
	socklen_t alen = sizeof a;
	getsockname(l->fd, (struct sockaddr *)&a, &alen);
	l->port = ntohs(a.sin_port);
	listen(l->fd, 8);
	pthread_create(&l->th, NULL, serve, l);
}

static void listener_stop(struct listener *l)
{
	pthread_join(l->th, NULL);
	close(l->fd);
}

/* ------------------------------------------------------------ reference SigV4 */

static void hmac(const void *key, size_t klen, const char *msg, unsigned char out[32])
{
	unsigned len = 32;
	HMAC(EVP_sha256(), key, (int)klen, (const unsigned char *)msg, strlen(msg), out, &len);
}

static void hexs(const unsigned char *b, size_t n, char *out)
{
	for (size_t i = 0; i < n; i++)
		snprintf(out + 2 * i, 3, "%02x", b[i]);
}

/* kSigning = HMAC(HMAC(HMAC(HMAC("AWS4" + secret, date), region), service), "aws4_request") */
static void signing_key(const char *secret, const char *date, const char *region,
			const char *service, unsigned char out[32])
{
	char k[300];
	unsigned char a[32], b[32];
	snprintf(k, sizeof k, "AWS4%s", secret);
	hmac(k, strlen(k), date, a);
	hmac(a, 32, region, b);
	hmac(b, 32, service, a);
	hmac(a, 32, "aws4_request", out);
}

/* Computes the signature of the captured request C over the header names in
 * SIGNED ("a;b;c", already sorted), following the published algorithm. */
static void reference_signature(const struct captured *c, const char *signed_hdrs,
				const char *secret, const char *region, char out[65])
{
	char canon[8192];
	size_t n = 0;
	char path[512], query[512] = "";
	snprintf(path, sizeof path, "%s", c->path);
	char *q = strchr(path, '?');
	if (q) {
		*q = '\0';
		snprintf(query, sizeof query, "%s", q + 1);
	}
	n += (size_t)snprintf(canon + n, sizeof canon - n, "%s\n%s\n%s\n", c->method, path, query);
	char names[512];
	snprintf(names, sizeof names, "%s", signed_hdrs);
	for (char *save = NULL, *tok = strtok_r(names, ";", &save); tok;
	     tok = strtok_r(NULL, ";", &save)) {
		const char *v = header(c, tok);
		n += (size_t)snprintf(canon + n, sizeof canon - n, "%s:%s\n", tok, v ? v : "");
	}
	const char *payload = header(c, "x-amz-content-sha256");
	n += (size_t)snprintf(canon + n, sizeof canon - n, "\n%s\n%s", signed_hdrs,
			      payload ? payload : "");
	char canon_hash[65];
	sha256_hex(canon, n, canon_hash);
	const char *amz_date = header(c, "x-amz-date");
	char date[9];
	snprintf(date, sizeof date, "%s", amz_date ? amz_date : "");
	char sts[1024];
	snprintf(sts, sizeof sts, "AWS4-HMAC-SHA256\n%s\n%s/%s/s3/aws4_request\n%s",
		 amz_date ? amz_date : "", date, region, canon_hash);
	unsigned char key[32], sig[32];
	signing_key(secret, date, region, "s3", key);
	hmac(key, 32, sts, sig);
	hexs(sig, 32, out);
}

/* Picks "NAME=value" (up to ',' or end) out of an Authorization header. */
static void auth_part(const char *auth, const char *name, char *out, size_t cap)
{
	const char *p = strstr(auth, name);
	out[0] = '\0';
	if (!p)
		return;
	p += strlen(name);
	size_t len = strcspn(p, ", ");
	snprintf(out, cap, "%.*s", (int)len, p);
}

/* ------------------------------------------------------------ tests */

static void signing_key_matches_published_iam_example(void)
{
	unsigned char k[32];
	char h[65];
	signing_key("wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "20120215", "us-east-1", "iam", k);
	hexs(k, 32, h);
	printf("check: reference signing key derivation = AWS example\n");
	CHECK_STR(h, "f4780e2d9f65fa895f9c67b32ce1baf0b0d8a43505a000a1a9e090d414db404d");
}

static struct s3_creds example_creds(void)
{
	struct s3_creds c;
	memset(&c, 0, sizeof c);
	snprintf(c.key_id, sizeof c.key_id, "%s", AKID);
	snprintf(c.secret, sizeof c.secret, "%s", SECRET);
	return c;
}

static void get_object_example_signature(void)
{
	struct listener l;
	listener_start(&l, 1, ANSWER_OK);
	char connect_to[128];
	snprintf(connect_to, sizeof connect_to, "examplebucket.s3.amazonaws.com:80:127.0.0.1:%d",
		 l.port);
	struct s3_creds c = example_creds();
	struct curl_slist *h = curl_slist_append(NULL, "Range: bytes=0-9");
	struct s3_req req = {.method = "GET", .url = "http://examplebucket.s3.amazonaws.com/test.txt",
			     .region = "us-east-1", .creds = &c, .headers = h,
			     .amz_date = "20130524T000000Z", .connect_to = connect_to,
			     .timeout_s = 30};
	struct s3_resp resp;
	CHECK_INT(s3_request(&req, &resp), 0);
	CHECK_INT(resp.status, 200);
	listener_stop(&l);
	curl_slist_free_all(h);

	const char *auth = header(&l.req[0], "authorization");
	CHECK(auth != NULL);
	if (!auth)
		return;
	printf("check: GET Object example: %s\n", auth);
	char cred[256], signed_hdrs[256], sig[80], mine[65];
	auth_part(auth, "Credential=", cred, sizeof cred);
	auth_part(auth, "SignedHeaders=", signed_hdrs, sizeof signed_hdrs);
	auth_part(auth, "Signature=", sig, sizeof sig);
	CHECK(strncmp(auth, "AWS4-HMAC-SHA256 ", 17) == 0);
	CHECK_STR(cred, "AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request");
	CHECK_STR(signed_hdrs, "host;range;x-amz-content-sha256;x-amz-date");
	CHECK_STR(sig, "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41");
	reference_signature(&l.req[0], signed_hdrs, SECRET, "us-east-1", mine);
	CHECK_STR(sig, mine);
	CHECK_STR(header(&l.req[0], "x-amz-date"), "20130524T000000Z");
	CHECK_STR(header(&l.req[0], "host"), "examplebucket.s3.amazonaws.com");
}

static void put_object_example_signature(void)
{
	static const char body[] = "Welcome to Amazon S3.";
	char sha[65];
	sha256_hex(body, strlen(body), sha);
	CHECK_STR(sha, "44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072");
	FILE *f = tmpfile();
	fwrite(body, 1, strlen(body), f);
	rewind(f);

	struct listener l;
	listener_start(&l, 1, ANSWER_OK);
	char connect_to[128];
	snprintf(connect_to, sizeof connect_to, "examplebucket.s3.amazonaws.com:80:127.0.0.1:%d",
		 l.port);
	struct s3_creds c = example_creds();
	struct curl_slist *h = curl_slist_append(NULL, "Date: Fri, 24 May 2013 00:00:00 GMT");
	h = curl_slist_append(h, "x-amz-storage-class: REDUCED_REDUNDANCY");
	struct s3_req req = {.method = "PUT",
			     .url = "http://examplebucket.s3.amazonaws.com/test%24file.text",
			     .region = "us-east-1", .creds = &c, .headers = h,
			     .payload_sha256 = sha, .body = f, .body_len = (long long)strlen(body),
			     .amz_date = "20130524T000000Z", .connect_to = connect_to,
			     .timeout_s = 30};
	struct s3_resp resp;
	CHECK_INT(s3_request(&req, &resp), 0);
	CHECK_INT(resp.status, 200);
	listener_stop(&l);
	curl_slist_free_all(h);
	fclose(f);

	const char *auth = header(&l.req[0], "authorization");
	CHECK(auth != NULL);
	if (!auth)
		return;
	printf("check: PUT Object example: %s\n", auth);
	char signed_hdrs[256], sig[80], mine[65];
	auth_part(auth, "SignedHeaders=", signed_hdrs, sizeof signed_hdrs);
	auth_part(auth, "Signature=", sig, sizeof sig);
	CHECK_STR(signed_hdrs, "date;host;x-amz-content-sha256;x-amz-date;x-amz-storage-class");
	CHECK_STR(sig, "98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd");
	reference_signature(&l.req[0], signed_hdrs, SECRET, "us-east-1", mine);
	CHECK_STR(sig, mine);
	CHECK_INT(l.req[0].nbody, strlen(body));
	CHECK(memcmp(l.req[0].body, body, strlen(body)) == 0);
}

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	fputs(text, f);
	fclose(f);
}

static void verified_put_sends_hashes_and_checks_etag_and_head(void)
{
	char dir[] = "/tmp/hippo-s3-XXXXXX", path[128];
	CHECK(mkdtemp(dir) != NULL);
	snprintf(path, sizeof path, "%s/episode_1.jsonl", dir);
	write_file(path, "{\"step\":1}\n{\"step\":2}\n");

	struct listener l;
	listener_start(&l, 2, ANSWER_OK);
	char endpoint[64];
	snprintf(endpoint, sizeof endpoint, "http://127.0.0.1:%d", l.port);
	struct s3_dest d = {.endpoint = endpoint, .region = "eu-west-1", .bucket = "bucket"};
	struct s3_creds c = example_creds();
	snprintf(c.token, sizeof c.token, "session-token-1");
	struct s3_result r;
	int rc = s3_put_verified(&d, &c, path, "P/Trials/u1/episode_1.jsonl", -1, 30, NULL, &r);
	listener_stop(&l);
	printf("check: verified PUT to a listener answering the right ETag: rc=%d %s\n", rc,
	       r.error);
	CHECK_INT(rc, 0);
	const struct captured *put = &l.req[0], *head = &l.req[1];
	CHECK_STR(put->method, "PUT");
	CHECK_STR(put->path, "/bucket/P/Trials/u1/episode_1.jsonl");
	CHECK_STR(head->method, "HEAD");
	char sha[65], md5[33];
	sha256_hex(put->body, put->nbody, sha);
	md5_hex(put->body, put->nbody, md5);
	CHECK_STR(header(put, "x-amz-content-sha256"), sha);
	CHECK_STR(r.dg.md5_hex, md5);
	CHECK_STR(header(put, "content-md5"), r.dg.md5_b64);
	CHECK_STR(header(put, "x-amz-security-token"), "session-token-1");
	const char *auth = header(put, "authorization");
	CHECK(auth && strstr(auth, "/eu-west-1/s3/aws4_request"));
	CHECK(auth && strstr(auth, "x-amz-security-token"));
	char signed_hdrs[256], sig[80], mine[65];
	auth_part(auth ? auth : "", "SignedHeaders=", signed_hdrs, sizeof signed_hdrs);
	auth_part(auth ? auth : "", "Signature=", sig, sizeof sig);
	reference_signature(put, signed_hdrs, SECRET, "eu-west-1", mine);
	CHECK_STR(sig, mine);

	listener_start(&l, 1, ANSWER_WRONG_ETAG);
	snprintf(endpoint, sizeof endpoint, "http://127.0.0.1:%d", l.port);
	rc = s3_put_verified(&d, &c, path, "P/Trials/u1/episode_1.jsonl", -1, 30, NULL, &r);
	listener_stop(&l);
	printf("check: a wrong ETag is not verified: rc=%d %s\n", rc, r.error);
	CHECK_INT(rc, -1);
	CHECK(strstr(r.error, "ETag") != NULL);
	CHECK(r.retryable);

	rc = s3_put_verified(&d, &c, "/nonexistent/file", "k", -1, 30, NULL, &r);
	printf("check: a missing local file is not retryable: %s\n", r.error);
	CHECK_INT(rc, -1);
	CHECK(!r.retryable);
	remove(path);
	rmdir(dir);
}

static void keys_and_urls(void)
{
	printf("check: object keys and URLs\n");
	CHECK(s3_key_valid("P/Trials/u-1/episode_1_user_u-1.jsonl"));
	CHECK(s3_key_valid("P/Users/u_1.json"));
	CHECK(!s3_key_valid(""));
	CHECK(!s3_key_valid("/abs"));
	CHECK(!s3_key_valid("a//b"));
	CHECK(!s3_key_valid("a/../b"));
	CHECK(!s3_key_valid("a/./b"));
	CHECK(!s3_key_valid("a b"));
	CHECK(!s3_key_valid("a?b"));
	CHECK(!s3_key_valid("a%2Fb"));
	char url[256];
	struct s3_dest aws = {.bucket = "my-bucket", .region = "eu-west-1"};
	CHECK_INT(s3_url(&aws, "P/x.json", url, sizeof url), 0);
	CHECK_STR(url, "https://my-bucket.s3.eu-west-1.amazonaws.com/P/x.json");
	struct s3_dest dotted = {.bucket = "my.bucket"};
	CHECK_INT(s3_url(&dotted, "k", url, sizeof url), 0);
	CHECK_STR(url, "https://s3.us-east-1.amazonaws.com/my.bucket/k");
	struct s3_dest local = {.endpoint = "http://127.0.0.1:9000/", .bucket = "b01"};
	CHECK_INT(s3_url(&local, "k", url, sizeof url), 0);
	CHECK_STR(url, "http://127.0.0.1:9000/b01/k");
	struct s3_dest bad = {.bucket = "a/b"};
	CHECK_INT(s3_url(&bad, "k", url, sizeof url), -1);
}

static void credentials_from_env_then_profile_file(void)
{
	char path[] = "/tmp/hippo-creds-XXXXXX";
	int fd = mkstemp(path);
	CHECK(fd >= 0);
	close(fd);
	write_file(path, "# comment\n[default]\naws_access_key_id = DEF\naws_secret_access_key = "
			 "DEFSECRET\n\n[study]\naws_access_key_id=STUDYKEY\n"
			 "aws_secret_access_key = STUDYSECRET\naws_session_token = TOK\n");
	struct s3_creds c;
	char err[256];
	setenv("AWS_ACCESS_KEY_ID", "ENVKEY", 1);
	setenv("AWS_SECRET_ACCESS_KEY", "ENVSECRET", 1);
	unsetenv("AWS_SESSION_TOKEN");
	setenv("AWS_SHARED_CREDENTIALS_FILE", path, 1);
	printf("check: credentials: environment first, then the profile in the shared file\n");
	CHECK_INT(s3_creds_load(&c, err, sizeof err), 0);
	CHECK_STR(c.key_id, "ENVKEY");
	CHECK_STR(c.token, "");
	unsetenv("AWS_ACCESS_KEY_ID");
	unsetenv("AWS_SECRET_ACCESS_KEY");
	setenv("AWS_PROFILE", "study", 1);
	CHECK_INT(s3_creds_load(&c, err, sizeof err), 0);
	CHECK_STR(c.key_id, "STUDYKEY");
	CHECK_STR(c.secret, "STUDYSECRET");
	CHECK_STR(c.token, "TOK");
	unsetenv("AWS_PROFILE");
	CHECK_INT(s3_creds_load(&c, err, sizeof err), 0);
	CHECK_STR(c.key_id, "DEF");
	setenv("AWS_PROFILE", "missing", 1);
	CHECK_INT(s3_creds_load(&c, err, sizeof err), -1);
	CHECK(strstr(err, "missing") != NULL);
	unsetenv("AWS_PROFILE");
	unsetenv("AWS_SHARED_CREDENTIALS_FILE");
	remove(path);
}

int main(void)
{
	curl_global_init(CURL_GLOBAL_DEFAULT);
	RUN(signing_key_matches_published_iam_example);
	RUN(get_object_example_signature);
	RUN(put_object_example_signature);
	RUN(verified_put_sends_hashes_and_checks_etag_and_head);
	RUN(keys_and_urls);
	RUN(credentials_from_env_then_profile_file);
	curl_global_cleanup();
	return test_summary();
}
