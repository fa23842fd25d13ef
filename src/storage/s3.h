/* s3: a small client for AWS S3 and S3-compatible stores (MinIO, s3rver, ...)
 * built on libcurl. Requests are signed by libcurl's own SigV4 code
 * (CURLOPT_AWS_SIGV4 "aws:amz:REGION:s3"); this module supplies the payload
 * hash (x-amz-content-sha256), the Content-MD5 and the session token, and
 * checks what comes back. Every function here is blocking and thread-safe
 * (no shared state): the spool (storage.h) calls it from its worker thread. */
#ifndef HIPPO_STORAGE_S3_H
#define HIPPO_STORAGE_S3_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

struct curl_slist;

/* Credentials: never from the study config, only from the environment
 * (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN) or the shared
 * credentials file (AWS_SHARED_CREDENTIALS_FILE, default ~/.aws/credentials,
 * profile AWS_PROFILE or "default"). */
struct s3_creds {
	char key_id[128];
	char secret[256];
	char token[4096]; /* "" when none */
};

/* Fills C. Returns 0, or -1 with a message in ERR when no credentials are found. */
int s3_creds_load(struct s3_creds *c, char *err, size_t errlen);

/* Where objects go. endpoint NULL or "": AWS (https://BUCKET.s3.REGION.amazonaws.com);
 * otherwise path-style requests to ENDPOINT/BUCKET/KEY. */
struct s3_dest {
	const char *endpoint;
	const char *region; /* NULL: us-east-1 */
	const char *bucket;
};

/* true when KEY is a safe object key: 1..1024 bytes of [A-Za-z0-9._/-], no
 * leading '/', no "//", no "." or ".." segment. Keys are used unencoded in URLs
 * and in the SigV4 canonical URI, which is why the set is this small. */
bool s3_key_valid(const char *key);

/* Writes the object URL for KEY to OUT. Returns 0, -1 if it does not fit or the
 * bucket name is not valid. */
int s3_url(const struct s3_dest *d, const char *key, char *out, size_t outlen);

/* One signed request: the building block of s3_put_verified, public so the
 * signature can be tested against AWS's published examples. */
struct s3_req {
	const char *method;          /* "GET", "PUT", "HEAD" */
	const char *url;
	const char *region;          /* NULL: us-east-1 */
	const struct s3_creds *creds;
	struct curl_slist *headers;  /* extra request headers; libcurl signs every one */
	const char *payload_sha256;  /* hex SHA-256 of the body; NULL: of the empty body */
	FILE *body;                  /* PUT body read from here ... */
	long long body_len;          /* ... this many bytes */
	long timeout_s;              /* whole request; 0: none (a low-speed limit still applies) */
	FILE *out;                   /* GET: the response body is written here (any status) */
	long long out_max;           /* ... and the transfer fails past this many bytes (0: no limit) */
	const atomic_bool *cancel;   /* when it becomes true the transfer is aborted (may be NULL) */
	/* test hooks: a fixed "X-Amz-Date" value (NULL: now), and a libcurl
	 * CONNECT_TO entry "HOST:PORT:CONNECT-HOST:CONNECT-PORT" (NULL: none) */
	const char *amz_date;
	const char *connect_to;
};

struct s3_resp {
	long status;              /* HTTP status, 0 when no response */
	char etag[96];            /* ETag without quotes, "" when absent */
	long long content_length; /* -1 when absent */
	long long version;        /* x-amz-meta-hippo-version (s3_put_verified), -1 when absent */
	char error[256];          /* transport error or the S3 <Code>/<Message>, "" when none */
};

/* Performs REQ and fills RESP. Returns 0 when an HTTP response arrived (any
 * status), -1 on a transport failure (RESP->error says which). */
int s3_request(const struct s3_req *req, struct s3_resp *resp);

/* Digests of a file, computed in one streaming pass. */
struct s3_digest {
	long long size;
	char md5_hex[33];
	char md5_b64[25];
	char sha256_hex[65];
};

int s3_digest_file(FILE *f, struct s3_digest *d);

/* Outcome of an upload. */
struct s3_result {
	bool retryable;       /* false for failures a retry cannot fix (local file gone) */
	long status;          /* last HTTP status */
	char etag[96];        /* ETag returned by the PUT */
	struct s3_digest dg;  /* what was sent */
	bool superseded;      /* VERSION given: the remote copy is as new or newer, kept */
	char error[256];
};

/* Uploads the file at PATH to KEY with a single PUT (objects up to 5 GiB) and
 * verifies it: the PUT must answer 2xx with an ETag equal to the file's MD5,
 * and a HEAD afterwards must report the same ETag and length. Returns 0 only
 * when both hold (the remote copy is verified), -1 otherwise with R->error.
 *
 * VERSION >= 0: the object is one that several writers replace (a
 * participant's record, written by every node that changes it), and VERSION
 * orders its copies (a newer copy has a greater or equal one). It goes up as
 * x-amz-meta-hippo-version; a remote copy with a version >= VERSION, seen
 * before the PUT or instead of ours after it, is kept: 0 with R->superseded,
 * so an older copy never replaces a newer one however the uploads interleave.
 * VERSION -1: plain objects. */
int s3_put_verified(const struct s3_dest *d, const struct s3_creds *c, const char *path,
		    const char *key, long version, long timeout_s, const atomic_bool *cancel,
		    struct s3_result *r);

/* ------------------------------------------------------------ listing, GET
 *
 * A listing (ListObjectsV2) comes from the network: every key it names is
 * untrusted until the caller has checked it (s3_key_valid, then its own
 * rules) before it becomes a local path. */

/* One object of a listing page: KEY entity-decoded ("" when it could not be:
 * too long, a bad entity, a NUL), SIZE -1 when absent or not a number, ETAG
 * without quotes ("" when absent). */
struct s3_object {
	const char *key;
	long long size;
	const char *etag;
};

typedef int (*s3_object_fn)(void *user, const struct s3_object *o);

/* Parses one ListObjectsV2 result page (XML of LEN bytes, not necessarily
 * NUL-terminated) and calls FN for each <Contents> (FN returning non-zero
 * stops with -1). *TRUNCATED: whether <IsTruncated> says true; NEXT gets
 * <NextContinuationToken> ("" when absent, or too long for NEXTCAP).
 * Returns the number of objects, or -1 when the document is no
 * ListBucketResult. */
long s3_list_parse(const char *xml, size_t len, s3_object_fn fn, void *user, bool *truncated,
		   char *next, size_t nextcap);

/* Lists the objects under PREFIX, every page (MAX_KEYS per page, 0: the
 * service's default of 1000), following the continuation tokens. Returns the
 * number of objects, or -1 with a message in ERR (transport, HTTP status and
 * the S3 error code: NoSuchBucket, AccessDenied, ...). */
long s3_list(const struct s3_dest *d, const struct s3_creds *c, const char *prefix, int max_keys,
	     long timeout_s, s3_object_fn fn, void *user, char *err, size_t errlen);

/* Downloads KEY into the file at PATH (written as PATH.part, renamed when
 * complete and checked: the length announced, and the MD5 when the ETag is
 * one). Returns 0 with *SIZE, or -1 with a message in ERR. */
int s3_get_file(const struct s3_dest *d, const struct s3_creds *c, const char *key,
		const char *path, long timeout_s, long long *size, char *err, size_t errlen);

#endif
