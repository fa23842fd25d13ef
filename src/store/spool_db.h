/* spool_db: the rows of the upload spool, DATA/spool/uploads.db (SQLite, WAL,
 * synchronous FULL; docs/data.md, "Uploads and the spool"). One row per
 * object (endpoint, bucket, key): its local file, state (pending, failed,
 * done), attempts, next try, lease owner and what the last try learned.
 * What to upload and when to retry is src/storage/'s business; this file
 * only keeps the rows.
 *
 * Not thread-safe: the caller serialises the calls on one struct spool (the
 * SQLite connection itself may be shared by processes: a job is leased to a
 * process by its pid). Functions returning int give 0 (or a documented
 * value) or -1, with the message in spool_errmsg(). Times are Unix seconds. */
#ifndef HIPPO_STORE_SPOOL_DB_H
#define HIPPO_STORE_SPOOL_DB_H

#include <stdbool.h>
#include <stddef.h>

struct spool;

/* Opens (creating if needed) the spool database PATH. */
int spool_open(struct spool **out, const char *path, char *err, size_t errlen);
void spool_close(struct spool *sp);
const char *spool_errmsg(struct spool *sp);

/* A transaction around several spool_put (best effort: a failed BEGIN leaves
 * each put its own transaction). */
void spool_begin(struct spool *sp);
void spool_commit(struct spool *sp);

/* A job to record. */
struct spool_put {
	const char *path, *endpoint, *region, *bucket, *key;
	long long size; /* of the local file when submitted, -1 unknown */
	double mtime;   /* its modification time */
};
/* Inserts or re-arms the job for (endpoint, bucket, key): pending, due NOW,
 * attempts 0, lease dropped, generation + 1. A job done after the file's
 * last change (same path and size, modified before the verification) stays
 * done. */
int spool_put(struct spool *sp, const struct spool_put *j, double now);

/* A leased job. */
struct spool_lease {
	long long id, gen;
	int attempts;
	char path[1024], endpoint[512], region[64], bucket[64], key[1100];
};
/* Leases the pending job due first, if it is due at NOW, to OWNER for
 * LEASE_S seconds. Returns 1 with *J, 0 when none is due (*NEXT_DUE: the
 * earliest future try, 0 when nothing is pending; or another process took
 * it), -1 on error. */
int spool_take(struct spool *sp, double now, double lease_s, long long owner,
	       struct spool_lease *j, double *next_due);

/* What a try of a leased job came to. */
struct spool_outcome {
	const char *state;  /* "pending" | "failed" | "done" */
	int attempts;
	double next_try, now;
	long long size;     /* -1: unknown (MD5 too) */
	const char *md5, *etag, *error; /* NULL: unknown / none */
};
/* Records O for J unless the job was re-submitted since it was leased. */
int spool_finish(struct spool *sp, const struct spool_lease *j, const struct spool_outcome *o);
/* Drops J's lease, due NOW, without counting an attempt (shutdown). */
int spool_release(struct spool *sp, const struct spool_lease *j, double now);

/* Calls FN for each process that holds a lease. */
int spool_owners(struct spool *sp, void (*fn)(void *user, long long owner), void *user);
/* Drops the leases of OWNER on pending jobs, due NOW. */
int spool_release_owner(struct spool *sp, long long owner, double now);

/* Jobs by state. */
struct spool_counts {
	long pending, failed, done;
};
int spool_counts(struct spool *sp, struct spool_counts *c);

/* One row, for listings; strings valid during the call only. */
struct spool_row {
	long long id;
	const char *state;
	const char *path, *endpoint, *bucket, *key, *md5, *etag, *last_error;
	long long size; /* -1 unknown */
	int attempts;
	double created, updated, next_try;
	const char *region;
};
/* Calls FN for every row, oldest first. Returns the number of rows or -1. */
long spool_list(struct spool *sp, void (*fn)(void *user, const struct spool_row *r), void *user);

/* Deletes the job ID (a withdrawal: docs/console.md). Returns 0 or -1. */
int spool_delete(struct spool *sp, long long id);

/* Sets failed jobs back to pending, due NOW. Returns how many, or -1. */
long spool_retry_failed(struct spool *sp, double now);

/* The state (into STATE) and verified size of the job for (ENDPOINT, BUCKET,
 * KEY): 1 when there is one, 0 when not, -1 on error. */
int spool_lookup(struct spool *sp, const char *endpoint, const char *bucket, const char *key,
		 char *state, size_t slen, long long *size);

#endif
