/* spool_db: the upload spool's rows in SQLite (see spool_db.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "store/spool_db.h"

struct spool {
	sqlite3 *db;
};

static const char schema[] =
	"PRAGMA journal_mode=WAL;"
	"PRAGMA synchronous=FULL;"
	"CREATE TABLE IF NOT EXISTS uploads("
	" id INTEGER PRIMARY KEY,"
	" path TEXT NOT NULL,"
	" endpoint TEXT NOT NULL,"
	" region TEXT NOT NULL,"
	" bucket TEXT NOT NULL,"
	" key TEXT NOT NULL,"
	" state TEXT NOT NULL DEFAULT 'pending' CHECK(state IN ('pending','failed','done')),"
	" attempts INTEGER NOT NULL DEFAULT 0,"
	" next_try REAL NOT NULL,"
	" created REAL NOT NULL,"
	" updated REAL NOT NULL,"
	" owner INTEGER,"
	" gen INTEGER NOT NULL DEFAULT 0," /* bumped on every re-submission */
	" size INTEGER, md5 TEXT, etag TEXT, last_error TEXT,"
	" UNIQUE(endpoint, bucket, key));"
	"CREATE INDEX IF NOT EXISTS uploads_due ON uploads(state, next_try);";

int spool_open(struct spool **out, const char *path, char *err, size_t errlen)
{
	*out = NULL;
	struct spool *sp = calloc(1, sizeof *sp);
	if (!sp) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	if (sqlite3_open_v2(path, &sp->db,
			    SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX,
			    NULL) != SQLITE_OK) {
		snprintf(err, errlen, "cannot open %s: %s", path,
			 sp->db ? sqlite3_errmsg(sp->db) : "out of memory");
		spool_close(sp);
		return -1;
	}
	sqlite3_busy_timeout(sp->db, 10000);
	char *msg = NULL;
	if (sqlite3_exec(sp->db, schema, NULL, NULL, &msg) != SQLITE_OK) {
		snprintf(err, errlen, "%s: %s", path, msg ? msg : "schema error");
		sqlite3_free(msg);
		spool_close(sp);
		return -1;
	}
	*out = sp;
	return 0;
}

void spool_close(struct spool *sp)
{
	if (!sp)
		return;
	sqlite3_close(sp->db);
	free(sp);
}

const char *spool_errmsg(struct spool *sp)
{
	return sqlite3_errmsg(sp->db);
}

void spool_begin(struct spool *sp)
{
	sqlite3_exec(sp->db, "BEGIN IMMEDIATE", NULL, NULL, NULL);
}

void spool_commit(struct spool *sp)
{
	sqlite3_exec(sp->db, "COMMIT", NULL, NULL, NULL);
}

static void bind_text(sqlite3_stmt *s, int i, const char *v)
{
	if (v)
		sqlite3_bind_text(s, i, v, -1, SQLITE_STATIC);
	else
		sqlite3_bind_null(s, i);
}

int spool_put(struct spool *sp, const struct spool_put *j, double now)
{
	static const char sql[] =
		"INSERT INTO uploads(path, endpoint, region, bucket, key, next_try, created, updated)"
		" VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?6, ?6)"
		" ON CONFLICT(endpoint, bucket, key) DO UPDATE SET path=excluded.path,"
		" region=excluded.region, state='pending', attempts=0, next_try=excluded.next_try,"
		" updated=excluded.updated, last_error=NULL, owner=NULL, gen=gen+1"
		" WHERE NOT (uploads.state='done' AND uploads.path=excluded.path AND"
		" uploads.size=?7 AND ?8 < uploads.updated)";
	sqlite3_stmt *s = NULL;
	int rc = -1;
	if (sqlite3_prepare_v2(sp->db, sql, -1, &s, NULL) == SQLITE_OK) {
		bind_text(s, 1, j->path);
		bind_text(s, 2, j->endpoint);
		bind_text(s, 3, j->region);
		bind_text(s, 4, j->bucket);
		bind_text(s, 5, j->key);
		sqlite3_bind_double(s, 6, now);
		sqlite3_bind_int64(s, 7, j->size);
		sqlite3_bind_double(s, 8, j->mtime);
		rc = sqlite3_step(s) == SQLITE_DONE ? 0 : -1;
	}
	sqlite3_finalize(s);
	return rc;
}

static void col_copy(sqlite3_stmt *s, int i, char *dst, size_t cap)
{
	const unsigned char *v = sqlite3_column_text(s, i);
	snprintf(dst, cap, "%s", v ? (const char *)v : "");
}

int spool_take(struct spool *sp, double now, double lease_s, long long owner,
	       struct spool_lease *j, double *next_due)
{
	sqlite3_stmt *s = NULL, *u = NULL;
	int rc = -1;
	*next_due = 0;
	if (sqlite3_prepare_v2(sp->db,
			       "SELECT id, attempts, path, endpoint, region, bucket, key, next_try, gen"
			       " FROM uploads WHERE state='pending' ORDER BY next_try, id LIMIT 1",
			       -1, &s, NULL) != SQLITE_OK)
		goto out;
	int step = sqlite3_step(s);
	if (step == SQLITE_DONE) {
		rc = 0;
		goto out;
	}
	if (step != SQLITE_ROW)
		goto out;
	double due = sqlite3_column_double(s, 7);
	if (due > now) {
		*next_due = due;
		rc = 0;
		goto out;
	}
	j->id = sqlite3_column_int64(s, 0);
	j->attempts = sqlite3_column_int(s, 1);
	j->gen = sqlite3_column_int64(s, 8);
	col_copy(s, 2, j->path, sizeof j->path);
	col_copy(s, 3, j->endpoint, sizeof j->endpoint);
	col_copy(s, 4, j->region, sizeof j->region);
	col_copy(s, 5, j->bucket, sizeof j->bucket);
	col_copy(s, 6, j->key, sizeof j->key);
	if (sqlite3_prepare_v2(sp->db,
			       "UPDATE uploads SET owner=?2, next_try=?3 WHERE id=?1 AND "
			       "state='pending' AND next_try<=?4",
			       -1, &u, NULL) != SQLITE_OK)
		goto out;
	sqlite3_bind_int64(u, 1, j->id);
	sqlite3_bind_int64(u, 2, owner);
	sqlite3_bind_double(u, 3, now + lease_s);
	sqlite3_bind_double(u, 4, now);
	if (sqlite3_step(u) != SQLITE_DONE)
		goto out;
	rc = sqlite3_changes(sp->db) == 1 ? 1 : 0; /* another process took it */
out:
	sqlite3_finalize(s);
	sqlite3_finalize(u);
	return rc;
}

int spool_finish(struct spool *sp, const struct spool_lease *j, const struct spool_outcome *o)
{
	sqlite3_stmt *s = NULL;
	int rc = -1;
	if (sqlite3_prepare_v2(sp->db,
			       "UPDATE uploads SET state=?2, attempts=?3, next_try=?4, updated=?5,"
			       " owner=NULL, size=?6, md5=?7, etag=?8, last_error=?9"
			       " WHERE id=?1 AND gen=?10", /* unless re-submitted meanwhile */
			       -1, &s, NULL) == SQLITE_OK) {
		sqlite3_bind_int64(s, 1, j->id);
		bind_text(s, 2, o->state);
		sqlite3_bind_int(s, 3, o->attempts);
		sqlite3_bind_double(s, 4, o->next_try);
		sqlite3_bind_double(s, 5, o->now);
		if (o->size >= 0)
			sqlite3_bind_int64(s, 6, o->size);
		bind_text(s, 7, o->md5);
		bind_text(s, 8, o->etag);
		bind_text(s, 9, o->error);
		sqlite3_bind_int64(s, 10, j->gen);
		rc = sqlite3_step(s) == SQLITE_DONE ? 0 : -1;
	}
	sqlite3_finalize(s);
	return rc;
}

int spool_release(struct spool *sp, const struct spool_lease *j, double now)
{
	sqlite3_stmt *s = NULL;
	int rc = -1;
	if (sqlite3_prepare_v2(sp->db,
			       "UPDATE uploads SET owner=NULL, next_try=?2 WHERE id=?1 AND gen=?3",
			       -1, &s, NULL) == SQLITE_OK) {
		sqlite3_bind_int64(s, 1, j->id);
		sqlite3_bind_double(s, 2, now);
		sqlite3_bind_int64(s, 3, j->gen);
		rc = sqlite3_step(s) == SQLITE_DONE ? 0 : -1;
	}
	sqlite3_finalize(s);
	return rc;
}

int spool_owners(struct spool *sp, void (*fn)(void *user, long long owner), void *user)
{
	sqlite3_stmt *s = NULL;
	int rc = -1, step;
	if (sqlite3_prepare_v2(sp->db, "SELECT DISTINCT owner FROM uploads WHERE owner IS NOT NULL",
			       -1, &s, NULL) != SQLITE_OK)
		goto out;
	while ((step = sqlite3_step(s)) == SQLITE_ROW)
		fn(user, sqlite3_column_int64(s, 0));
	rc = step == SQLITE_DONE ? 0 : -1;
out:
	sqlite3_finalize(s);
	return rc;
}

int spool_release_owner(struct spool *sp, long long owner, double now)
{
	sqlite3_stmt *s = NULL;
	int rc = -1;
	if (sqlite3_prepare_v2(sp->db,
			       "UPDATE uploads SET owner=NULL, next_try=?2 WHERE owner=?1 AND "
			       "state='pending'",
			       -1, &s, NULL) == SQLITE_OK) {
		sqlite3_bind_int64(s, 1, owner);
		sqlite3_bind_double(s, 2, now);
		rc = sqlite3_step(s) == SQLITE_DONE ? 0 : -1;
	}
	sqlite3_finalize(s);
	return rc;
}

int spool_counts(struct spool *sp, struct spool_counts *c)
{
	sqlite3_stmt *s = NULL;
	int rc = -1, step;
	memset(c, 0, sizeof *c);
	if (sqlite3_prepare_v2(sp->db, "SELECT state, count(*) FROM uploads GROUP BY state", -1, &s,
			       NULL) != SQLITE_OK)
		goto out;
	while ((step = sqlite3_step(s)) == SQLITE_ROW) {
		const char *state = (const char *)sqlite3_column_text(s, 0);
		long n = (long)sqlite3_column_int64(s, 1);
		if (!state)
			continue;
		if (strcmp(state, "pending") == 0)
			c->pending = n;
		else if (strcmp(state, "failed") == 0)
			c->failed = n;
		else if (strcmp(state, "done") == 0)
			c->done = n;
	}
	rc = step == SQLITE_DONE ? 0 : -1;
out:
	sqlite3_finalize(s);
	return rc;
}

long spool_list(struct spool *sp, void (*fn)(void *user, const struct spool_row *r), void *user)
{
	sqlite3_stmt *s = NULL;
	long count = -1;
	if (sqlite3_prepare_v2(sp->db,
			       "SELECT id, state, path, endpoint, bucket, key, md5, etag, last_error,"
			       " size, attempts, created, updated, next_try, region FROM uploads"
			       " ORDER BY id",
			       -1, &s, NULL) != SQLITE_OK)
		goto out;
	count = 0;
	int step;
	while ((step = sqlite3_step(s)) == SQLITE_ROW) {
#define TXT(i) ((const char *)sqlite3_column_text(s, i))
		struct spool_row r = {
			.id = sqlite3_column_int64(s, 0),
			.state = TXT(1) ? TXT(1) : "",
			.path = TXT(2),
			.endpoint = TXT(3),
			.bucket = TXT(4),
			.key = TXT(5),
			.md5 = TXT(6),
			.etag = TXT(7),
			.last_error = TXT(8),
			.size = sqlite3_column_type(s, 9) == SQLITE_NULL ? -1
									: sqlite3_column_int64(s, 9),
			.attempts = sqlite3_column_int(s, 10),
			.created = sqlite3_column_double(s, 11),
			.updated = sqlite3_column_double(s, 12),
			.next_try = sqlite3_column_double(s, 13),
			.region = TXT(14),
		};
#undef TXT
		fn(user, &r);
		count++;
	}
	if (step != SQLITE_DONE)
		count = -1;
out:
	sqlite3_finalize(s);
	return count;
}

long spool_retry_failed(struct spool *sp, double now)
{
	long n = -1;
	sqlite3_stmt *s = NULL;
	if (sqlite3_prepare_v2(sp->db,
			       "UPDATE uploads SET state='pending', attempts=0, next_try=?1,"
			       " owner=NULL WHERE state='failed'",
			       -1, &s, NULL) == SQLITE_OK) {
		sqlite3_bind_double(s, 1, now);
		if (sqlite3_step(s) == SQLITE_DONE)
			n = sqlite3_changes(sp->db);
	}
	sqlite3_finalize(s);
	return n;
}

int spool_lookup(struct spool *sp, const char *endpoint, const char *bucket, const char *key,
		 char *state, size_t slen, long long *size)
{
	sqlite3_stmt *s = NULL;
	int rc = -1;
	if (sqlite3_prepare_v2(sp->db,
			       "SELECT state, size FROM uploads WHERE endpoint=?1 AND bucket=?2 AND"
			       " key=?3",
			       -1, &s, NULL) == SQLITE_OK) {
		bind_text(s, 1, endpoint);
		bind_text(s, 2, bucket);
		bind_text(s, 3, key);
		int step = sqlite3_step(s);
		if (step == SQLITE_ROW) {
			col_copy(s, 0, state, slen);
			*size = sqlite3_column_int64(s, 1);
			rc = 1;
		} else {
			rc = step == SQLITE_DONE ? 0 : -1;
		}
	}
	sqlite3_finalize(s);
	return rc;
}

int spool_delete(struct spool *sp, long long id)
{
	sqlite3_stmt *s = NULL;
	int rc = -1;
	if (sqlite3_prepare_v2(sp->db, "DELETE FROM uploads WHERE id = ?1", -1, &s, NULL) ==
	    SQLITE_OK) {
		sqlite3_bind_int64(s, 1, id);
		rc = sqlite3_step(s) == SQLITE_DONE ? 0 : -1;
	}
	sqlite3_finalize(s);
	return rc;
}
