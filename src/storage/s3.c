/* s3: see s3.h. */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

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
};

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
		char num[32];
		size_t vl = (size_t)(end - v) < sizeof num - 1 ? (size_t)(end - v) : sizeof num - 1;
		memcpy(num, v, vl);
		num[vl] = '\0';
		char *e;
		errno = 0;
		long long ver = strtoll(num, &e, 10);
		if (!errno && e != num && *e == '\0' && ver >= 0)
			x->resp->version = ver;
	} else if (nlen == 14 && strncasecmp(buf, "Content-Length", 14) == 0) {
		char num[32];
		size_t vl = (size_t)(end - v) < sizeof num - 1 ? (size_t)(end - v) : sizeof num - 1;
		memcpy(num, v, vl);
		num[vl] = '\0';
		char *e;
		errno = 0;
		long long cl = strtoll(num, &e, 10);
		if (!errno && e != num && *e == '\0' && cl >= 0)
			x->resp->content_length = cl;
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
	struct xfer x = {.resp = resp, .in = req->body, .left = req->body_len};
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
