/* s3: see s3.h. */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <curl/curl.h>
#include <openssl/evp.h>

#include "storage/s3.h"

static void copy_str(char *dst, size_t cap, const char *src)
{
	snprintf(dst, cap, "%s", src ? src : "");
}

/* ------------------------------------------------------------ credentials */

static char *trim(char *s)
{
	while (isspace((unsigned char)*s))
		s++;
	size_t n = strlen(s);
	while (n > 0 && isspace((unsigned char)s[n - 1]))
		s[--n] = '\0';
	return s;
}

/* Reads PROFILE from the shared credentials file at PATH (INI format:
 * "[name]" sections, "key = value" lines, '#' or ';' comments). */
static int creds_from_file(struct s3_creds *c, const char *path, const char *profile)
{
	FILE *f = fopen(path, "r");
	if (!f)
		return -1;
	char line[8192];
	bool in = false;
	while (fgets(line, sizeof line, f)) {
		char *s = trim(line);
		if (*s == '#' || *s == ';' || *s == '\0')
			continue;
		if (*s == '[') {
			char *end = strchr(s, ']');
			if (end)
				*end = '\0';
			in = strcmp(trim(s + 1), profile) == 0;
			continue;
		}
		char *eq = strchr(s, '=');
		if (!in || !eq)
			continue;
		*eq = '\0';
		char *k = trim(s), *v = trim(eq + 1);
		if (strcmp(k, "aws_access_key_id") == 0)
			copy_str(c->key_id, sizeof c->key_id, v);
		else if (strcmp(k, "aws_secret_access_key") == 0)
			copy_str(c->secret, sizeof c->secret, v);
		else if (strcmp(k, "aws_session_token") == 0)
			copy_str(c->token, sizeof c->token, v);
	}
	fclose(f);
	return c->key_id[0] && c->secret[0] ? 0 : -1;
}

int s3_creds_load(struct s3_creds *c, char *err, size_t errlen)
{
	memset(c, 0, sizeof *c);
	const char *id = getenv("AWS_ACCESS_KEY_ID"), *secret = getenv("AWS_SECRET_ACCESS_KEY");
	if (id && *id && secret && *secret) {
		copy_str(c->key_id, sizeof c->key_id, id);
		copy_str(c->secret, sizeof c->secret, secret);
		copy_str(c->token, sizeof c->token, getenv("AWS_SESSION_TOKEN"));
		return 0;
	}
	char path[4096];
	const char *file = getenv("AWS_SHARED_CREDENTIALS_FILE");
	const char *home = getenv("HOME");
	if (file && *file)
		copy_str(path, sizeof path, file);
	else if (home && *home)
		snprintf(path, sizeof path, "%s/.aws/credentials", home);
	else
		path[0] = '\0';
	const char *profile = getenv("AWS_PROFILE");
	if (!profile || !*profile)
		profile = "default";
	if (path[0] && creds_from_file(c, path, profile) == 0)
		return 0;
	memset(c, 0, sizeof *c);
	snprintf(err, errlen,
		 "no S3 credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or profile "
		 "'%s' in %s",
		 profile, path[0] ? path : "~/.aws/credentials");
	return -1;
}

/* ------------------------------------------------------------ keys, URLs */

bool s3_key_valid(const char *key)
{
	size_t n = key ? strlen(key) : 0;
	if (n == 0 || n > 1024 || key[0] == '/')
		return false;
	const char *seg = key;
	for (const char *p = key;; p++) {
		if (*p == '/' || *p == '\0') {
			size_t len = (size_t)(p - seg);
			if (len == 0 && *p == '/')
				return false;
			if ((len == 1 && seg[0] == '.') || (len == 2 && seg[0] == '.' && seg[1] == '.'))
				return false;
			if (*p == '\0')
				return true;
			seg = p + 1;
			continue;
		}
		if (!isalnum((unsigned char)*p) && *p != '.' && *p != '_' && *p != '-')
			return false;
	}
}

/* S3 bucket naming rules, simplified: 3..63 of [a-z0-9.-] (uppercase and '_'
 * accepted for older buckets and compatible stores). */
static bool bucket_valid(const char *b)
{
	size_t n = b ? strlen(b) : 0;
	if (n < 3 || n > 63)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)b[i]) && b[i] != '.' && b[i] != '-' && b[i] != '_')
			return false;
	return true;
}

int s3_url(const struct s3_dest *d, const char *key, char *out, size_t outlen)
{
	if (!bucket_valid(d->bucket))
		return -1;
	const char *region = d->region && *d->region ? d->region : "us-east-1";
	int n;
	if (d->endpoint && *d->endpoint) {
		size_t elen = strlen(d->endpoint);
		while (elen > 0 && d->endpoint[elen - 1] == '/')
			elen--;
		n = snprintf(out, outlen, "%.*s/%s/%s", (int)elen, d->endpoint, d->bucket, key);
	} else if (strchr(d->bucket, '.')) {
		/* dotted names break the wildcard certificate: path style */
		n = snprintf(out, outlen, "https://s3.%s.amazonaws.com/%s/%s", region, d->bucket, key);
	} else {
		n = snprintf(out, outlen, "https://%s.s3.%s.amazonaws.com/%s", d->bucket, region, key);
	}
	return n < 0 || (size_t)n >= outlen ? -1 : 0;
}

/* ------------------------------------------------------------ requests */

struct xfer {
	struct s3_resp *resp;
	char body[1024]; /* the start of the response body, for error messages */
	size_t nbody;
	FILE *in;
	long long left;
	FILE *out;           /* s3_req.out */
	long long out_max;   /* s3_req.out_max */
	long long out_n;     /* bytes written to OUT */
};

/* A header value [V, END) that is a whole number >= 0, else -1. */
static long long header_count(const char *v, const char *end)
{
	char num[32], *e;
	size_t vl = (size_t)(end - v) < sizeof num - 1 ? (size_t)(end - v) : sizeof num - 1;
	memcpy(num, v, vl);
	num[vl] = '\0';
	errno = 0;
	long long n = strtoll(num, &e, 10);
	return !errno && e != num && *e == '\0' && n >= 0 ? n : -1;
}

static size_t on_header(char *buf, size_t size, size_t n, void *user)
{
	struct xfer *x = user;
	size_t len = size * n;
	const char *colon = memchr(buf, ':', len);
	if (!colon)
		return len;
	size_t nlen = (size_t)(colon - buf);
	const char *v = colon + 1, *end = buf + len;
	while (v < end && (*v == ' ' || *v == '\t'))
		v++;
	while (end > v && (end[-1] == '\r' || end[-1] == '\n' || end[-1] == ' '))
		end--;
	if (nlen == 4 && strncasecmp(buf, "ETag", 4) == 0) {
		if (end - v >= 2 && *v == '"' && end[-1] == '"') {
			v++;
			end--;
		}
		size_t vl = (size_t)(end - v);
		if (vl >= sizeof x->resp->etag)
			vl = sizeof x->resp->etag - 1;
		memcpy(x->resp->etag, v, vl);
		x->resp->etag[vl] = '\0';
	} else if (nlen == 24 && strncasecmp(buf, "x-amz-meta-hippo-version", 24) == 0) {
		x->resp->version = header_count(v, end);
	} else if (nlen == 14 && strncasecmp(buf, "Content-Length", 14) == 0) {
		x->resp->content_length = header_count(v, end);
	}
	return len;
}

static size_t on_body(char *buf, size_t size, size_t n, void *user)
{
	struct xfer *x = user;
	size_t len = size * n, room = sizeof x->body - 1 - x->nbody;
	size_t take = len < room ? len : room;
	memcpy(x->body + x->nbody, buf, take);
	x->nbody += take;
	x->body[x->nbody] = '\0';
	if (x->out) {
		if (x->out_max > 0 && x->out_n + (long long)len > x->out_max)
			return 0; /* aborts the transfer */
		if (len > 0 && fwrite(buf, 1, len, x->out) != len)
			return 0;
		x->out_n += (long long)len;
	}
	return len;
}

static int on_progress(void *user, curl_off_t dt, curl_off_t dn, curl_off_t ut, curl_off_t un)
{
	const atomic_bool *cancel = user;
	return atomic_load(cancel) ? 1 : 0;
}

static size_t on_read(char *buf, size_t size, size_t n, void *user)
{
	struct xfer *x = user;
	size_t want = size * n;
	if ((long long)want > x->left)
		want = (size_t)x->left;
	if (want == 0)
		return 0;
	size_t got = fread(buf, 1, want, x->in);
	if (got == 0)
		return CURL_READFUNC_ABORT; /* the file shrank: never send a short body */
	x->left -= (long long)got;
	return got;
}

/* Copies the text of <TAG>...</TAG> from an S3 error document. */
static void xml_field(const char *doc, const char *tag, char *out, size_t cap)
{
	char open[32], close[32];
	snprintf(open, sizeof open, "<%s>", tag);
	snprintf(close, sizeof close, "</%s>", tag);
	const char *a = strstr(doc, open);
	const char *b = a ? strstr(a, close) : NULL;
	if (!a || !b) {
		out[0] = '\0';
		return;
	}
	a += strlen(open);
	snprintf(out, cap, "%.*s", (int)(b - a), a);
}

int s3_request(const struct s3_req *req, struct s3_resp *resp)
{
	static const char empty_sha[] =
		"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
	memset(resp, 0, sizeof *resp);
	resp->content_length = -1;
	resp->version = -1;
	struct xfer x = {.resp = resp, .in = req->body, .left = req->body_len, .out = req->out,
			 .out_max = req->out_max};
	struct curl_slist *hdrs = NULL, *ct = NULL;
	char line[4200], sigv4[128];
	int rc = -1;

	CURL *h = curl_easy_init();
	if (!h) {
		copy_str(resp->error, sizeof resp->error, "out of memory");
		return -1;
	}
	for (struct curl_slist *l = req->headers; l; l = l->next)
		if (!(hdrs = curl_slist_append(hdrs, l->data)))
			goto oom;
	snprintf(line, sizeof line, "x-amz-content-sha256: %s",
		 req->payload_sha256 ? req->payload_sha256 : empty_sha);
	if (!(hdrs = curl_slist_append(hdrs, line)))
		goto oom;
	if (req->amz_date) {
		snprintf(line, sizeof line, "X-Amz-Date: %s", req->amz_date);
		if (!(hdrs = curl_slist_append(hdrs, line)))
			goto oom;
	}
	if (req->creds && req->creds->token[0]) {
		snprintf(line, sizeof line, "x-amz-security-token: %s", req->creds->token);
		if (!(hdrs = curl_slist_append(hdrs, line)))
			goto oom;
	}
	if (req->connect_to && !(ct = curl_slist_append(NULL, req->connect_to)))
		goto oom;

	snprintf(sigv4, sizeof sigv4, "aws:amz:%s:s3",
		 req->region && *req->region ? req->region : "us-east-1");
	curl_easy_setopt(h, CURLOPT_URL, req->url);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
	curl_easy_setopt(h, CURLOPT_AWS_SIGV4, sigv4);
	if (req->creds) {
		curl_easy_setopt(h, CURLOPT_USERNAME, req->creds->key_id);
		curl_easy_setopt(h, CURLOPT_PASSWORD, req->creds->secret);
	}
	curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(h, CURLOPT_HEADERDATA, &x);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, &x);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, 15L);
	curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, 1L);
	curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME, 60L);
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
	if (req->timeout_s > 0)
		curl_easy_setopt(h, CURLOPT_TIMEOUT, req->timeout_s);
	if (ct)
		curl_easy_setopt(h, CURLOPT_CONNECT_TO, ct);
	if (req->cancel) {
		curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, on_progress);
		curl_easy_setopt(h, CURLOPT_XFERINFODATA, (void *)req->cancel);
		curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
	}
	if (strcmp(req->method, "PUT") == 0) {
		curl_easy_setopt(h, CURLOPT_UPLOAD, 1L);
		curl_easy_setopt(h, CURLOPT_INFILESIZE_LARGE, (curl_off_t)req->body_len);
		curl_easy_setopt(h, CURLOPT_READFUNCTION, on_read);
		curl_easy_setopt(h, CURLOPT_READDATA, &x);
	} else if (strcmp(req->method, "HEAD") == 0) {
		curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
	} else if (strcmp(req->method, "GET") != 0) {
		curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, req->method);
	}

	CURLcode cc = curl_easy_perform(h);
	if (cc != CURLE_OK) {
		snprintf(resp->error, sizeof resp->error, "%s", curl_easy_strerror(cc));
		goto out;
	}
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &resp->status);
	if (resp->status < 200 || resp->status > 299) {
		char code[64], msg[160];
		xml_field(x.body, "Code", code, sizeof code);
		xml_field(x.body, "Message", msg, sizeof msg);
		snprintf(resp->error, sizeof resp->error, "HTTP %ld%s%s%s%s", resp->status,
			 code[0] ? " " : "", code, msg[0] ? ": " : "", msg);
	}
	rc = 0;
	goto out;
oom:
	copy_str(resp->error, sizeof resp->error, "out of memory");
out:
	curl_easy_cleanup(h);
	curl_slist_free_all(hdrs);
	curl_slist_free_all(ct);
	return rc;
}

/* ------------------------------------------------------------ digests */

static void hex(const unsigned char *b, size_t n, char *out)
{
	static const char digits[] = "0123456789abcdef";
	for (size_t i = 0; i < n; i++) {
		out[2 * i] = digits[b[i] >> 4];
		out[2 * i + 1] = digits[b[i] & 15];
	}
	out[2 * n] = '\0';
}

int s3_digest_file(FILE *f, struct s3_digest *d)
{
	memset(d, 0, sizeof *d);
	EVP_MD_CTX *md5 = EVP_MD_CTX_new(), *sha = EVP_MD_CTX_new();
	int rc = -1;
	if (!md5 || !sha || !EVP_DigestInit_ex(md5, EVP_md5(), NULL) ||
	    !EVP_DigestInit_ex(sha, EVP_sha256(), NULL))
		goto out;
	unsigned char buf[65536];
	size_t n;
	while ((n = fread(buf, 1, sizeof buf, f)) > 0) {
		if (!EVP_DigestUpdate(md5, buf, n) || !EVP_DigestUpdate(sha, buf, n))
			goto out;
		d->size += (long long)n;
	}
	if (ferror(f))
		goto out;
	unsigned char m[EVP_MAX_MD_SIZE], s[EVP_MAX_MD_SIZE];
	unsigned ml = 0, sl = 0;
	if (!EVP_DigestFinal_ex(md5, m, &ml) || !EVP_DigestFinal_ex(sha, s, &sl) || ml != 16 ||
	    sl != 32)
		goto out;
	hex(m, 16, d->md5_hex);
	hex(s, 32, d->sha256_hex);
	EVP_EncodeBlock((unsigned char *)d->md5_b64, m, 16);
	rc = 0;
out:
	EVP_MD_CTX_free(md5);
	EVP_MD_CTX_free(sha);
	return rc;
}

/* ------------------------------------------------------------ verified PUT */

static const char *content_type(const char *key)
{
	const char *dot = strrchr(key, '.');
	if (dot && strcmp(dot, ".json") == 0)
		return "application/json";
	if (dot && strcmp(dot, ".jsonl") == 0)
		return "application/x-ndjson";
	if (dot && strcmp(dot, ".csv") == 0)
		return "text/csv";
	return "application/octet-stream";
}

/* Before the PUT of a versioned object (s3_put_verified): the remote copy's
 * version decides. Returns 1 when it is as new as VERSION or newer (keep it),
 * 0 to go on with the PUT made conditional on the copy seen (If-Match its
 * ETag, or If-None-Match when there is none: where S3 honours them, a copy
 * written in between fails the PUT with 412 and the upload is tried again),
 * -1 on failure (R->error). */
static int versioned_pre(const char *url, const struct s3_dest *d, const struct s3_creds *c,
			 long version, long timeout_s, const atomic_bool *cancel,
			 struct curl_slist **hdrs, struct s3_result *r)
{
	struct s3_resp resp;
	struct s3_req head = {.method = "HEAD", .url = url, .region = d->region, .creds = c,
			      .timeout_s = timeout_s > 0 ? timeout_s : 120, .cancel = cancel};
	if (s3_request(&head, &resp) != 0) {
		snprintf(r->error, sizeof r->error, "HEAD: %.240s", resp.error);
		return -1;
	}
	r->status = resp.status;
	if (resp.status == 200 && resp.version >= version)
		return 1;
	char line[160];
	if (resp.status == 200 && resp.etag[0])
		snprintf(line, sizeof line, "If-Match: \"%s\"", resp.etag);
	else if (resp.status == 404)
		snprintf(line, sizeof line, "If-None-Match: *");
	else {
		snprintf(r->error, sizeof r->error, "HEAD: %.240s", resp.error);
		return -1;
	}
	struct curl_slist *l = curl_slist_append(*hdrs, line);
	if (l)
		*hdrs = l;
	snprintf(line, sizeof line, "x-amz-meta-hippo-version: %ld", version);
	if (l && (l = curl_slist_append(*hdrs, line)))
		*hdrs = l;
	if (!l) {
		snprintf(r->error, sizeof r->error, "out of memory");
		return -1;
	}
	return 0;
}

int s3_put_verified(const struct s3_dest *d, const struct s3_creds *c, const char *path,
		    const char *key, long version, long timeout_s, const atomic_bool *cancel,
		    struct s3_result *r)
{
	memset(r, 0, sizeof *r);
	r->retryable = true;
	char url[2048], line[256];
	struct curl_slist *hdrs = NULL;
	struct s3_resp resp;
	int rc = -1;

	if (!s3_key_valid(key) || s3_url(d, key, url, sizeof url) != 0) {
		snprintf(r->error, sizeof r->error, "invalid bucket or key '%s'", key);
		r->retryable = false;
		return -1;
	}
	FILE *f = fopen(path, "rb");
	if (!f) {
		snprintf(r->error, sizeof r->error, "cannot open %s: %s", path, strerror(errno));
		r->retryable = errno != ENOENT;
		return -1;
	}
	if (s3_digest_file(f, &r->dg) != 0 || fseek(f, 0, SEEK_SET) != 0) {
		snprintf(r->error, sizeof r->error, "cannot read %s", path);
		goto out;
	}
	snprintf(line, sizeof line, "Content-MD5: %s", r->dg.md5_b64);
	if (!(hdrs = curl_slist_append(hdrs, line)))
		goto oom;
	snprintf(line, sizeof line, "Content-Type: %s", content_type(key));
	if (!(hdrs = curl_slist_append(hdrs, line)))
		goto oom;

	if (version >= 0) {
		int pre = versioned_pre(url, d, c, version, timeout_s, cancel, &hdrs, r);
		if (pre != 0) {
			r->superseded = pre == 1;
			rc = pre == 1 ? 0 : -1;
			goto out;
		}
	}
	struct s3_req put = {.method = "PUT", .url = url, .region = d->region, .creds = c,
			     .headers = hdrs, .payload_sha256 = r->dg.sha256_hex, .body = f,
			     .body_len = r->dg.size, .timeout_s = timeout_s,
			     .cancel = cancel};
	if (s3_request(&put, &resp) != 0) {
		snprintf(r->error, sizeof r->error, "PUT: %.240s", resp.error);
		goto out;
	}
	r->status = resp.status;
	copy_str(r->etag, sizeof r->etag, resp.etag);
	if (resp.status < 200 || resp.status > 299) {
		snprintf(r->error, sizeof r->error, "PUT: %.240s", resp.error);
		goto out;
	}
	if (strcasecmp(resp.etag, r->dg.md5_hex) != 0) {
		snprintf(r->error, sizeof r->error, "PUT: ETag '%.40s' does not match MD5 %s",
			 resp.etag, r->dg.md5_hex);
		goto out;
	}

	struct s3_req head = {.method = "HEAD", .url = url, .region = d->region, .creds = c,
			      .timeout_s = timeout_s > 0 ? timeout_s : 120, .cancel = cancel};
	if (s3_request(&head, &resp) != 0) {
		snprintf(r->error, sizeof r->error, "HEAD: %.240s", resp.error);
		goto out;
	}
	r->status = resp.status;
	if (resp.status != 200) {
		snprintf(r->error, sizeof r->error, "HEAD: %.240s", resp.error);
		goto out;
	}
	if (version >= 0 && resp.version >= version &&
	    (strcasecmp(resp.etag, r->dg.md5_hex) != 0 || resp.content_length != r->dg.size)) {
		r->superseded = true; /* another writer's copy, as new as ours or newer */
		rc = 0;
		goto out;
	}
	if (strcasecmp(resp.etag, r->dg.md5_hex) != 0 || resp.content_length != r->dg.size) {
		snprintf(r->error, sizeof r->error,
			 "HEAD: remote ETag '%.40s' size %lld, local MD5 %s size %lld", resp.etag,
			 resp.content_length, r->dg.md5_hex, r->dg.size);
		goto out;
	}
	rc = 0;
	goto out;
oom:
	copy_str(r->error, sizeof r->error, "out of memory");
out:
	curl_slist_free_all(hdrs);
	fclose(f);
	return rc;
}

/* ------------------------------------------------------------ listing */

/* The first NEEDLE in [P, END), or NULL. */
static const char *find(const char *p, const char *end, const char *needle)
{
	size_t n = strlen(needle);
	if (p >= end || (size_t)(end - p) < n)
		return NULL;
	return memmem(p, (size_t)(end - p), needle, n);
}

/* The text between <TAG> and </TAG> inside [P, END): *A and *B, or 0 when absent. */
static int element(const char *p, const char *end, const char *tag, const char **a,
		   const char **b)
{
	char open[40], close[40];
	snprintf(open, sizeof open, "<%s>", tag);
	snprintf(close, sizeof close, "</%s>", tag);
	const char *s = find(p, end, open);
	if (!s)
		return 0;
	s += strlen(open);
	const char *e = find(s, end, close);
	if (!e)
		return 0;
	*a = s;
	*b = e;
	return 1;
}

/* Decodes XML text [A, B) (the five predefined entities and numeric ones
 * below 128) into OUT. Returns 0, or -1 (OUT "") when it does not fit, holds
 * an unknown entity, a NUL or a character reference outside ASCII. */
static int xml_text(const char *a, const char *b, char *out, size_t cap)
{
	static const struct {
		const char *name;
		char c;
	} ents[] = {{"amp;", '&'}, {"lt;", '<'}, {"gt;", '>'}, {"quot;", '"'}, {"apos;", '\''}};
	size_t n = 0;
	while (a < b) {
		char c = *a++;
		if (c == '&') {
			bool ok = false;
			for (size_t i = 0; i < sizeof ents / sizeof ents[0]; i++) {
				size_t l = strlen(ents[i].name);
				if ((size_t)(b - a) >= l && memcmp(a, ents[i].name, l) == 0) {
					c = ents[i].c;
					a += l;
					ok = true;
					break;
				}
			}
			if (!ok && a < b && *a == '#') {
				const char *q = a + 1;
				int base = 10;
				if (q < b && (*q == 'x' || *q == 'X')) {
					base = 16;
					q++;
				}
				long v = 0;
				const char *d0 = q;
				while (q < b && isxdigit((unsigned char)*q) && v < 128 &&
				       (base == 16 || isdigit((unsigned char)*q))) {
					v = v * base + (isdigit((unsigned char)*q)
								? *q - '0'
								: tolower((unsigned char)*q) - 'a' + 10);
					q++;
				}
				if (q > d0 && q < b && *q == ';' && v > 0 && v < 128) {
					c = (char)v;
					a = q + 1;
					ok = true;
				}
			}
			if (!ok)
				goto bad;
		}
		if (c == '\0' || n + 1 >= cap)
			goto bad;
		out[n++] = c;
	}
	out[n] = '\0';
	return 0;
bad:
	if (cap)
		out[0] = '\0';
	return -1;
}

long s3_list_parse(const char *xml, size_t len, s3_object_fn fn, void *user, bool *truncated,
		   char *next, size_t nextcap)
{
	const char *end = xml + len, *a, *b;
	*truncated = false;
	if (nextcap)
		next[0] = '\0';
	const char *root = find(xml, end, "<ListBucketResult");
	if (!root)
		return -1;
	/* the page's own fields come before or after the objects: look outside them */
	const char *first = find(root, end, "<Contents>");
	const char *last = root, *p;
	for (p = root; (p = find(p, end, "</Contents>")) != NULL; p += 11)
		last = p + 11;
	if (element(root, first ? first : end, "IsTruncated", &a, &b) ||
	    element(last, end, "IsTruncated", &a, &b))
		*truncated = b - a == 4 && memcmp(a, "true", 4) == 0;
	if ((element(root, first ? first : end, "NextContinuationToken", &a, &b) ||
	     element(last, end, "NextContinuationToken", &a, &b)) &&
	    xml_text(a, b, next, nextcap) != 0 && nextcap)
		next[0] = '\0';
	long count = 0;
	char key[1100], etag[96], num[32];
	for (p = first; p && p < end; p = find(p, end, "<Contents>")) {
		p += 10;
		const char *ce = find(p, end, "</Contents>");
		if (!ce)
			break;
		struct s3_object o = {.key = key, .size = -1, .etag = etag};
		key[0] = etag[0] = '\0';
		if (element(p, ce, "Key", &a, &b))
			xml_text(a, b, key, sizeof key);
		if (element(p, ce, "ETag", &a, &b) && xml_text(a, b, etag, sizeof etag) == 0) {
			size_t el = strlen(etag);
			if (el >= 2 && etag[0] == '"' && etag[el - 1] == '"') {
				memmove(etag, etag + 1, el - 2);
				etag[el - 2] = '\0';
			}
		}
		if (element(p, ce, "Size", &a, &b) && b - a > 0 && (size_t)(b - a) < sizeof num) {
			memcpy(num, a, (size_t)(b - a));
			num[b - a] = '\0';
			char *e;
			errno = 0;
			long long v = strtoll(num, &e, 10);
			if (!errno && *e == '\0' && v >= 0 && isdigit((unsigned char)num[0]))
				o.size = v;
		}
		count++;
		if (fn && fn(user, &o) != 0)
			return -1;
		p = ce + 11;
	}
	return count;
}

/* Appends "&NAME=VALUE" (VALUE percent-encoded as SigV4 wants) to OUT. */
static int query_add(CURL *h, char *out, size_t cap, const char *name, const char *value)
{
	char *enc = curl_easy_escape(h, value, 0);
	if (!enc)
		return -1;
	size_t n = strlen(out);
	int k = snprintf(out + n, cap - n, "%s%s=%s", strchr(out, '?') ? "&" : "?", name, enc);
	curl_free(enc);
	return k < 0 || (size_t)k >= cap - n ? -1 : 0;
}

long s3_list(const struct s3_dest *d, const struct s3_creds *c, const char *prefix, int max_keys,
	     long timeout_s, s3_object_fn fn, void *user, char *err, size_t errlen)
{
	char token[1100] = "", url[4096];
	long total = 0;
	CURL *h = curl_easy_init(); /* for curl_easy_escape only */
	if (!h) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	long rc = -1;
	for (int page = 0;; page++) {
		/* the parameters in SigV4's canonical order (sorted by name) */
		char mk[16];
		snprintf(mk, sizeof mk, "%d", max_keys);
		if (s3_url(d, "", url, sizeof url) != 0 ||
		    (token[0] && query_add(h, url, sizeof url, "continuation-token", token) != 0) ||
		    query_add(h, url, sizeof url, "list-type", "2") != 0 ||
		    (max_keys > 0 && query_add(h, url, sizeof url, "max-keys", mk) != 0) ||
		    (prefix && *prefix && query_add(h, url, sizeof url, "prefix", prefix) != 0)) {
			snprintf(err, errlen, "invalid bucket '%s' or listing URL too long",
				 d->bucket);
			goto out;
		}
		char *body = NULL;
		size_t blen = 0;
		FILE *mem = open_memstream(&body, &blen);
		if (!mem) {
			snprintf(err, errlen, "out of memory");
			goto out;
		}
		struct s3_resp resp;
		struct s3_req req = {.method = "GET", .url = url, .region = d->region, .creds = c,
				     .timeout_s = timeout_s > 0 ? timeout_s : 300, .out = mem,
				     .out_max = 64ll << 20};
		int k = s3_request(&req, &resp);
		fclose(mem);
		if (k != 0 || resp.status != 200) {
			snprintf(err, errlen, "listing s3://%s/%s: %.300s", d->bucket,
				 prefix ? prefix : "", resp.error[0] ? resp.error : "no answer");
			free(body);
			goto out;
		}
		bool truncated;
		long n = s3_list_parse(body, blen, fn, user, &truncated, token, sizeof token);
		free(body);
		if (n < 0) {
			snprintf(err, errlen, "listing s3://%s/%s: page %d is no ListBucketResult "
					      "(or the listing was stopped)",
				 d->bucket, prefix ? prefix : "", page + 1);
			goto out;
		}
		total += n;
		if (!truncated)
			break;
		if (!token[0]) {
			snprintf(err, errlen, "listing s3://%s/%s: page %d is truncated without a "
					      "usable NextContinuationToken",
				 d->bucket, prefix ? prefix : "", page + 1);
			goto out;
		}
	}
	rc = total;
out:
	curl_easy_cleanup(h);
	return rc;
}

int s3_get_file(const struct s3_dest *d, const struct s3_creds *c, const char *key,
		const char *path, long timeout_s, long long *size, char *err, size_t errlen)
{
	char url[2048], part[4200];
	if (!s3_key_valid(key) || s3_url(d, key, url, sizeof url) != 0) {
		snprintf(err, errlen, "invalid bucket or key '%.300s'", key);
		return -1;
	}
	int pn = snprintf(part, sizeof part, "%s.part", path);
	if (pn < 0 || (size_t)pn >= sizeof part) {
		snprintf(err, errlen, "path too long: %.300s", path);
		return -1;
	}
	FILE *f = fopen(part, "w+b");
	if (!f) {
		snprintf(err, errlen, "cannot create %s: %s", part, strerror(errno));
		return -1;
	}
	struct s3_resp resp;
	struct s3_req req = {.method = "GET", .url = url, .region = d->region, .creds = c,
			     .timeout_s = timeout_s, .out = f};
	int k = s3_request(&req, &resp);
	int rc = -1;
	if (k != 0 || resp.status != 200) {
		snprintf(err, errlen, "GET %.300s: %.300s", key,
			 resp.error[0] ? resp.error : "no answer");
		goto out;
	}
	struct s3_digest dg;
	if (fflush(f) != 0 || fseek(f, 0, SEEK_SET) != 0 || s3_digest_file(f, &dg) != 0) {
		snprintf(err, errlen, "cannot write %s: %s", part, strerror(errno));
		goto out;
	}
	if (resp.content_length >= 0 && dg.size != resp.content_length) {
		snprintf(err, errlen, "GET %.300s: %lld bytes of %lld", key, dg.size,
			 resp.content_length);
		goto out;
	}
	bool md5_etag = strlen(resp.etag) == 32 && strspn(resp.etag, "0123456789abcdefABCDEF") == 32;
	if (md5_etag && strcasecmp(resp.etag, dg.md5_hex) != 0) {
		snprintf(err, errlen, "GET %.300s: content MD5 %s is not the ETag %s", key,
			 dg.md5_hex, resp.etag);
		goto out;
	}
	if (fsync(fileno(f)) != 0 || fclose(f) != 0) {
		f = NULL;
		snprintf(err, errlen, "cannot write %s: %s", part, strerror(errno));
		goto out;
	}
	f = NULL;
	if (rename(part, path) != 0) {
		snprintf(err, errlen, "cannot rename %s: %s", part, strerror(errno));
		goto out;
	}
	*size = dg.size;
	rc = 0;
out:
	if (f)
		fclose(f);
	if (rc != 0)
		unlink(part);
	return rc;
}
