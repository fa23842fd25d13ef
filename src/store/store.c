/* store: the SQLite participant store (see store.h and docs/data.md). */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>
#include <sqlite3.h>

#include "store/store.h"

static const char schema_sql[] =
	"CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL);"
	"CREATE TABLE IF NOT EXISTS projects ("
	" id TEXT PRIMARY KEY, name TEXT, researcher TEXT, dir TEXT,"
	" version INTEGER NOT NULL DEFAULT 1, deployed INTEGER NOT NULL DEFAULT 0,"
	" live_override INTEGER, updated TEXT NOT NULL);"
	"CREATE TABLE IF NOT EXISTS participants ("
	" id INTEGER PRIMARY KEY, project_id TEXT NOT NULL, user_id TEXT NOT NULL,"
	" created TEXT NOT NULL, updated TEXT NOT NULL, step INTEGER NOT NULL DEFAULT 1,"
	" status TEXT NOT NULL DEFAULT 'active', crowd TEXT,"
	" UNIQUE (project_id, user_id));"
	"CREATE INDEX IF NOT EXISTS participants_step ON participants (project_id, step);"
	"CREATE TABLE IF NOT EXISTS answers ("
	" id INTEGER PRIMARY KEY, participant INTEGER NOT NULL REFERENCES participants (id),"
	" step INTEGER NOT NULL, field TEXT NOT NULL, value TEXT, time TEXT NOT NULL);"
	"CREATE INDEX IF NOT EXISTS answers_participant ON answers (participant, step);"
	"CREATE TABLE IF NOT EXISTS requests ("
	" id INTEGER PRIMARY KEY, participant INTEGER NOT NULL REFERENCES participants (id),"
	" time TEXT NOT NULL, method TEXT NOT NULL, step INTEGER, headers TEXT, ip TEXT);"
	"CREATE INDEX IF NOT EXISTS requests_participant ON requests (participant);"
	"CREATE TABLE IF NOT EXISTS header_sets ("
	" id INTEGER PRIMARY KEY, participant INTEGER NOT NULL REFERENCES participants (id),"
	" digest BLOB NOT NULL, headers TEXT NOT NULL, first TEXT NOT NULL,"
	" UNIQUE (participant, digest));"
	"CREATE TABLE IF NOT EXISTS sessions ("
	" id INTEGER PRIMARY KEY, participant INTEGER NOT NULL REFERENCES participants (id),"
	" step INTEGER, started TEXT NOT NULL, stopped TEXT, reason TEXT, files TEXT);"
	"CREATE INDEX IF NOT EXISTS sessions_participant ON sessions (participant);"
	"CREATE INDEX IF NOT EXISTS sessions_open ON sessions (stopped) WHERE stopped IS NULL;"
	"CREATE TABLE IF NOT EXISTS groups ("
	" participant INTEGER NOT NULL REFERENCES participants (id), project_id TEXT NOT NULL,"
	" n INTEGER NOT NULL, grp INTEGER NOT NULL, assigned TEXT NOT NULL,"
	" PRIMARY KEY (participant, n));"
	"CREATE INDEX IF NOT EXISTS groups_count ON groups (project_id, n, grp);";

/* Version 1 -> 2: requests refer to a header set stored once per participant,
 * and one row stands for a run of identical requests. */
static const char migrate_v2_sql[] =
	"ALTER TABLE requests ADD COLUMN header_set INTEGER REFERENCES header_sets (id);"
	"ALTER TABLE requests ADD COLUMN repeats INTEGER NOT NULL DEFAULT 0;"
	"ALTER TABLE requests ADD COLUMN last TEXT;"
	"UPDATE schema_version SET version = 2;";

enum stmt_id {
	ST_BEGIN,
	ST_COMMIT,
	ST_ROLLBACK,
	ST_PART_GET,
	ST_PART_INSERT,
	ST_PART_CROWD,
	ST_PART_CROWD_GET,
	ST_REQ_INSERT,
	ST_REQ_LAST,
	ST_REQ_COUNT,
	ST_REQ_FOLD,
	ST_HSET_GET,
	ST_HSET_COUNT,
	ST_HSET_INSERT,
	ST_PART_STEP,
	ST_ANSWER_ANY,
	ST_ADVANCE,
	ST_ANSWER_INSERT,
	ST_GROUP_GET,
	ST_GROUP_COUNTS,
	ST_GROUP_INSERT,
	ST_SESS_START,
	ST_SESS_END,
	ST_SESS_LAST,
	ST_SESS_CLOSE_ALL,
	ST_SESS_OPEN,
	ST_PROJ_GET,
	ST_PROJ_PUT,
	ST_PROJ_LIVE_GET,
	ST_PROJ_LIVE_SET,
	ST_STEP_COUNTS,
	ST_STEP_COUNTS_ALL,
	ST_PART_LIST,
	ST_ANSWER_LIST,
	ST_GROUP_LIST,
	ST_SESS_LIST,
	ST_PART_ONE,
	ST_COUNT
};

static const char *const stmt_sql[ST_COUNT] = {
	[ST_BEGIN] = "BEGIN IMMEDIATE",
	[ST_COMMIT] = "COMMIT",
	[ST_ROLLBACK] = "ROLLBACK",
	[ST_PART_GET] = "SELECT id, step, status, created FROM participants"
			" WHERE project_id = ?1 AND user_id = ?2",
	[ST_PART_INSERT] = "INSERT OR IGNORE INTO participants"
			   " (project_id, user_id, created, updated, step, crowd)"
			   " VALUES (?1, ?2, ?3, ?3, 1, ?4)",
	[ST_PART_CROWD] = "UPDATE participants SET crowd = ?2 WHERE id = ?1",
	[ST_PART_CROWD_GET] = "SELECT crowd FROM participants WHERE id = ?1",
	[ST_REQ_INSERT] = "INSERT INTO requests"
			  " (participant, time, method, step, header_set, ip, repeats, last)"
			  " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
	[ST_REQ_LAST] = "SELECT id, method, step, header_set, ip, headers IS NULL FROM requests"
			" WHERE participant = ?1 ORDER BY id DESC LIMIT 1",
	[ST_REQ_COUNT] = "SELECT count(*) FROM (SELECT 1 FROM requests WHERE participant = ?1"
			 " LIMIT " STORE_REQUESTS_MAX_TEXT ")",
	[ST_REQ_FOLD] = "UPDATE requests SET repeats = repeats + ?2, last = ?3 WHERE id = ?1",
	[ST_HSET_GET] = "SELECT id FROM header_sets WHERE participant = ?1 AND digest = ?2",
	[ST_HSET_COUNT] = "SELECT count(*) FROM header_sets WHERE participant = ?1",
	[ST_HSET_INSERT] = "INSERT INTO header_sets (participant, digest, headers, first)"
			   " VALUES (?1, ?2, ?3, ?4)",
	[ST_PART_STEP] = "SELECT step FROM participants WHERE id = ?1",
	[ST_ANSWER_ANY] = "SELECT 1 FROM answers WHERE participant = ?1 AND step = ?2 LIMIT 1",
	[ST_ADVANCE] = "UPDATE participants SET step = ?3, updated = ?4,"
		       " status = CASE WHEN ?5 THEN 'completed' ELSE status END"
		       " WHERE id = ?1 AND step = ?2",
	[ST_ANSWER_INSERT] = "INSERT INTO answers (participant, step, field, value, time)"
			     " VALUES (?1, ?2, ?3, ?4, ?5)",
	[ST_GROUP_GET] = "SELECT grp FROM groups WHERE participant = ?1 AND n = ?2",
	[ST_GROUP_COUNTS] = "SELECT grp, count(*) FROM groups WHERE project_id = ?1 AND n = ?2"
			    " GROUP BY grp",
	[ST_GROUP_INSERT] = "INSERT INTO groups (participant, project_id, n, grp, assigned)"
			    " VALUES (?1, ?2, ?3, ?4, ?5)",
	[ST_SESS_START] = "INSERT INTO sessions (participant, step, started) VALUES (?1, ?2, ?3)",
	[ST_SESS_END] = "UPDATE sessions SET stopped = ?2, reason = ?3, files = ?4"
			" WHERE participant = ?1 AND stopped IS NULL",
	[ST_SESS_LAST] = "SELECT stopped IS NULL, coalesce(reason, '') FROM sessions"
			 " WHERE participant = ?1 ORDER BY id DESC LIMIT 1",
	[ST_SESS_CLOSE_ALL] = "UPDATE sessions SET stopped = ?1, reason = ?2 WHERE stopped IS NULL",
	[ST_SESS_OPEN] = "SELECT count(*) FROM sessions WHERE stopped IS NULL",
	[ST_PROJ_GET] = "SELECT version FROM projects WHERE id = ?1",
	[ST_PROJ_PUT] = "INSERT INTO projects (id, name, researcher, dir, version, deployed, updated)"
			" VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)"
			" ON CONFLICT (id) DO UPDATE SET name = ?2, researcher = ?3, dir = ?4,"
			" version = ?5, deployed = ?6, updated = ?7,"
			" live_override = CASE WHEN ?6 THEN NULL ELSE live_override END",
	[ST_PROJ_LIVE_GET] = "SELECT live_override FROM projects WHERE id = ?1",
	[ST_PROJ_LIVE_SET] = "UPDATE projects SET live_override = ?2, updated = ?3 WHERE id = ?1",
	[ST_STEP_COUNTS] = "SELECT step, status, count(*) FROM participants WHERE project_id = ?1"
			   " GROUP BY step, status",
	[ST_STEP_COUNTS_ALL] = "SELECT project_id, step, count(*) FROM participants"
			       " GROUP BY project_id, step",
	[ST_PART_LIST] = "SELECT id, user_id, created, updated, step, status, crowd"
			 " FROM participants WHERE project_id = ?1 ORDER BY id",
	[ST_ANSWER_LIST] = "SELECT step, field, value, time FROM answers WHERE participant = ?1"
			   " ORDER BY id",
	[ST_GROUP_LIST] = "SELECT n, grp, assigned FROM groups WHERE participant = ?1 ORDER BY n",
	[ST_SESS_LIST] = "SELECT step, started, stopped, reason, files FROM sessions"
			 " WHERE participant = ?1 ORDER BY id",
	[ST_PART_ONE] = "SELECT id, user_id, created, updated, step, status, crowd"
			" FROM participants WHERE project_id = ?1 AND user_id = ?2",
};

/* A request log row waiting for the next batch commit: one request and the
 * REPEATS identical ones that followed it. */
struct pending_req {
	long long pid, repeats;
	int step;
	char time[32], last[32];
	char method[16];
	bool has_digest;
	unsigned char digest[32]; /* SHA-256 of HEADERS */
	char *headers, *ip;
};

#define PENDING_MAX 256
#define FLUSH_EVERY_MS 200
/* The WAL is checkpointed every CHECKPOINT_EVERY_MS, and as soon as a commit
 * leaves it WAL_CHECKPOINT_FRAMES pages long; it is cut back to
 * WAL_SIZE_LIMIT_TEXT bytes when it restarts. */
#define CHECKPOINT_EVERY_MS 1000
#define WAL_CHECKPOINT_FRAMES 512
/* While a checkpoint runs, writers wait for it once the WAL holds this many
 * pages: when the disk cannot keep up, requests slow down instead of the WAL
 * growing without bound. */
#define WAL_WAIT_FRAMES 2048
#define WAL_SIZE_LIMIT_TEXT "4194304"

struct store {
	sqlite3 *db;
	pthread_mutex_t mu;
	sqlite3_stmt *st[ST_COUNT];
	/* Request logs are committed in batches, and WAL checkpoints run on a
	 * maintenance thread with its own connection, so neither costs the
	 * HTTP thread a commit or an fsync per request. */
	struct pending_req pending[PENDING_MAX];
	size_t npending;
	sqlite3 *ckpt_db;
	pthread_t bg;
	bool bg_started, bg_stop, ckpt_wanted, ckpt_running;
	int wal_frames; /* pages in the WAL after the latest commit */
	pthread_cond_t bg_cond, ckpt_cond;
};

void store_now(char *buf, size_t len)
{
	struct timespec ts;
	struct tm tm;
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	size_t n = strftime(buf, len, "%Y-%m-%dT%H:%M:%S", &tm);
	unsigned ms = (unsigned)(ts.tv_nsec / 1000000) % 1000u;
	if (n > 0 && n + 6 <= len) {
		buf[n] = '.';
		buf[n + 1] = (char)('0' + ms / 100);
		buf[n + 2] = (char)('0' + ms / 10 % 10);
		buf[n + 3] = (char)('0' + ms % 10);
		buf[n + 4] = 'Z';
		buf[n + 5] = '\0';
	}
}

const char *store_errmsg(struct store *s)
{
	return sqlite3_errmsg(s->db);
}

/* Resets a statement for reuse, unbinding nothing (every call rebinds all). */
static sqlite3_stmt *stmt(struct store *s, enum stmt_id id)
{
	sqlite3_stmt *st = s->st[id];
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return st;
}

/* Runs a statement that returns no rows; 0 or -1. */
static int exec_done(sqlite3_stmt *st)
{
	int rc = sqlite3_step(st);
	sqlite3_reset(st);
	return rc == SQLITE_DONE ? 0 : -1;
}

static void bind_text(sqlite3_stmt *st, int i, const char *v)
{
	if (v)
		sqlite3_bind_text(st, i, v, -1, SQLITE_TRANSIENT);
	else
		sqlite3_bind_null(st, i);
}

static int begin(struct store *s)
{
	return exec_done(stmt(s, ST_BEGIN));
}

static int commit(struct store *s)
{
	return exec_done(stmt(s, ST_COMMIT));
}

static void rollback(struct store *s)
{
	exec_done(stmt(s, ST_ROLLBACK));
}

/* The schema version stored in the database (0 when none yet), or -1. */
static int schema_version(struct store *s)
{
	sqlite3_stmt *st = NULL;
	int v = -1;
	if (sqlite3_prepare_v2(s->db, "SELECT max(version) FROM schema_version", -1, &st, NULL) ==
		    SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	return v;
}

/* Creates the tables and brings an older database to STORE_SCHEMA_VERSION in
 * one transaction (another process may open the same file at once). */
static int schema_check(struct store *s, char *err, size_t errlen)
{
	char *msg = NULL;
	int rc = -1, v;
	if (sqlite3_exec(s->db, "BEGIN IMMEDIATE", NULL, NULL, &msg) != SQLITE_OK) {
		snprintf(err, errlen, "schema: %s", msg ? msg : "?");
		sqlite3_free(msg);
		return -1;
	}
	if (sqlite3_exec(s->db, schema_sql, NULL, NULL, &msg) != SQLITE_OK) {
		snprintf(err, errlen, "schema: %s", msg ? msg : "?");
		goto out;
	}
	if ((v = schema_version(s)) < 0) {
		snprintf(err, errlen, "schema version: %s", sqlite3_errmsg(s->db));
		goto out;
	}
	if (v > STORE_SCHEMA_VERSION) {
		snprintf(err, errlen,
			 "the database has schema version %d, newer than this hippo's %d", v,
			 STORE_SCHEMA_VERSION);
		goto out;
	}
	if (v == 0 && sqlite3_exec(s->db, "INSERT INTO schema_version VALUES (1)", NULL, NULL,
				   &msg) != SQLITE_OK) {
		snprintf(err, errlen, "schema version: %s", msg ? msg : "?");
		goto out;
	}
	if (v < 2 && sqlite3_exec(s->db, migrate_v2_sql, NULL, NULL, &msg) != SQLITE_OK) {
		snprintf(err, errlen, "schema version 2: %s", msg ? msg : "?");
		goto out;
	}
	rc = 0;
out:
	sqlite3_free(msg);
	msg = NULL;
	if (sqlite3_exec(s->db, rc == 0 ? "COMMIT" : "ROLLBACK", NULL, NULL, &msg) != SQLITE_OK &&
	    rc == 0) {
		snprintf(err, errlen, "schema: %s", msg ? msg : "?");
		rc = -1;
	}
	sqlite3_free(msg);
	return rc;
}

static bool same_text(const char *a, const char *b)
{
	return a && b ? strcmp(a, b) == 0 : a == b;
}

/* The id of R's header set for its participant, stored now if it is new and
 * the participant has fewer than STORE_HEADER_SETS_MAX; 0 when none. */
static long long header_set_locked(struct store *s, const struct pending_req *r, int *rc)
{
	long long id = 0;
	if (!r->has_digest)
		return 0;
	sqlite3_stmt *st = stmt(s, ST_HSET_GET);
	sqlite3_bind_int64(st, 1, r->pid);
	sqlite3_bind_blob(st, 2, r->digest, sizeof r->digest, SQLITE_STATIC);
	int k = sqlite3_step(st);
	if (k == SQLITE_ROW)
		id = sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	if (k == SQLITE_ROW)
		return id;
	st = stmt(s, ST_HSET_COUNT);
	sqlite3_bind_int64(st, 1, r->pid);
	long long n = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int64(st, 0) : -1;
	sqlite3_reset(st);
	if (n < 0 || n >= STORE_HEADER_SETS_MAX) {
		*rc = n < 0 ? -1 : *rc;
		return 0;
	}
	st = stmt(s, ST_HSET_INSERT);
	sqlite3_bind_int64(st, 1, r->pid);
	sqlite3_bind_blob(st, 2, r->digest, sizeof r->digest, SQLITE_STATIC);
	bind_text(st, 3, r->headers);
	bind_text(st, 4, r->time);
	if (exec_done(st) < 0) {
		*rc = -1;
		return 0;
	}
	return sqlite3_last_insert_rowid(s->db);
}

/* Stores one pending request: folded into the participant's last row when
 * identical to it (or when the participant has STORE_REQUESTS_MAX rows), else
 * as a new row. */
static int request_store_locked(struct store *s, const struct pending_req *r)
{
	int rc = 0;
	long long hset = header_set_locked(s, r, &rc);
	long long last_id = 0;
	bool same = false;
	sqlite3_stmt *st = stmt(s, ST_REQ_LAST);
	sqlite3_bind_int64(st, 1, r->pid);
	if (sqlite3_step(st) == SQLITE_ROW) {
		last_id = sqlite3_column_int64(st, 0);
		same = same_text((const char *)sqlite3_column_text(st, 1), r->method) &&
		       sqlite3_column_int(st, 2) == r->step &&
		       sqlite3_column_int64(st, 3) == hset &&
		       same_text((const char *)sqlite3_column_text(st, 4), r->ip) &&
		       sqlite3_column_int(st, 5) != 0;
	}
	sqlite3_reset(st);
	if (last_id && !same) {
		st = stmt(s, ST_REQ_COUNT);
		sqlite3_bind_int64(st, 1, r->pid);
		same = sqlite3_step(st) == SQLITE_ROW &&
		       sqlite3_column_int64(st, 0) >= STORE_REQUESTS_MAX;
		sqlite3_reset(st);
	}
	const char *last = r->repeats ? r->last : r->time;
	if (same) {
		st = stmt(s, ST_REQ_FOLD);
		sqlite3_bind_int64(st, 1, last_id);
		sqlite3_bind_int64(st, 2, 1 + r->repeats);
		bind_text(st, 3, last);
		return exec_done(st) < 0 ? -1 : rc;
	}
	st = stmt(s, ST_REQ_INSERT);
	sqlite3_bind_int64(st, 1, r->pid);
	bind_text(st, 2, r->time);
	bind_text(st, 3, r->method);
	sqlite3_bind_int(st, 4, r->step);
	if (hset)
		sqlite3_bind_int64(st, 5, hset);
	else
		sqlite3_bind_null(st, 5);
	bind_text(st, 6, r->ip);
	sqlite3_bind_int64(st, 7, r->repeats);
	bind_text(st, 8, last);
	return exec_done(st) < 0 ? -1 : rc;
}

/* Commits the pending request logs in one transaction. */
static int flush_locked(struct store *s)
{
	int rc = 0;
	if (s->npending == 0)
		return 0;
	bool tx = begin(s) == 0;
	for (size_t i = 0; i < s->npending; i++) {
		struct pending_req *r = &s->pending[i];
		if (request_store_locked(s, r) < 0)
			rc = -1;
		free(r->headers);
		free(r->ip);
	}
	s->npending = 0;
	if (tx && commit(s) < 0) {
		rollback(s);
		rc = -1;
	}
	return rc;
}

/* Called by SQLite after each commit of the main connection (under s->mu)
 * with the number of pages in the WAL: a long WAL is checkpointed now. */
static int wal_hook(void *arg, sqlite3 *db, const char *name, int frames)
{
	struct store *s = arg;
	(void)db;
	(void)name;
	s->wal_frames = frames;
	if (frames >= WAL_CHECKPOINT_FRAMES && !s->ckpt_wanted) {
		s->ckpt_wanted = true;
		pthread_cond_signal(&s->bg_cond);
	}
	return SQLITE_OK;
}

/* Copies the WAL into the database (called with s->mu held). The copy runs
 * without the lock, so requests go on meanwhile. The WAL only starts over
 * from its beginning when a transaction begins with every frame copied, which
 * commits made during the copy prevent; so when the WAL is long, a second
 * pass with the lock held copies what they added (a few pages, often none),
 * and the next commit starts the WAL over. */
static void checkpoint_locked(struct store *s)
{
	int log = 0, done = 0;
	s->ckpt_wanted = false;
	s->ckpt_running = true;
	pthread_mutex_unlock(&s->mu);
	int rc = sqlite3_wal_checkpoint_v2(s->ckpt_db, NULL, SQLITE_CHECKPOINT_PASSIVE, &log, &done);
	pthread_mutex_lock(&s->mu);
	if (rc == SQLITE_OK && log >= WAL_CHECKPOINT_FRAMES)
		rc = sqlite3_wal_checkpoint_v2(s->ckpt_db, NULL, SQLITE_CHECKPOINT_PASSIVE, &log,
					       &done);
	if (rc == SQLITE_OK && done == log)
		s->wal_frames = 0; /* all copied: the next commit starts the WAL over */
	s->ckpt_running = false;
	pthread_cond_broadcast(&s->ckpt_cond);
}

/* Called with s->mu held before a write: see WAL_WAIT_FRAMES. Waiting
 * releases s->mu, which the maintenance thread needs to checkpoint. */
static void wal_wait_locked(struct store *s)
{
	while (s->wal_frames >= WAL_WAIT_FRAMES && (s->ckpt_running || s->ckpt_wanted) &&
	       !s->bg_stop)
		pthread_cond_wait(&s->ckpt_cond, &s->mu);
}

static void lock_for_write(struct store *s)
{
	pthread_mutex_lock(&s->mu);
	wal_wait_locked(s);
}

static void *bg_main(void *arg)
{
	struct store *s = arg;
	struct timespec last_ckpt;
	clock_gettime(CLOCK_MONOTONIC, &last_ckpt);
	pthread_mutex_lock(&s->mu);
	while (!s->bg_stop) {
		struct timespec ts;
		clock_gettime(CLOCK_MONOTONIC, &ts);
		ts.tv_nsec += FLUSH_EVERY_MS * 1000000L;
		if (ts.tv_nsec >= 1000000000L) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000L;
		}
		if (!s->ckpt_wanted)
			pthread_cond_timedwait(&s->bg_cond, &s->mu, &ts);
		if (s->bg_stop)
			break;
		flush_locked(s);
		struct timespec now;
		clock_gettime(CLOCK_MONOTONIC, &now);
		long ms = (long)(now.tv_sec - last_ckpt.tv_sec) * 1000 +
			  (now.tv_nsec - last_ckpt.tv_nsec) / 1000000;
		if (s->ckpt_db && (s->ckpt_wanted || ms >= CHECKPOINT_EVERY_MS)) {
			last_ckpt = now;
			checkpoint_locked(s);
		}
	}
	pthread_cond_broadcast(&s->ckpt_cond);
	pthread_mutex_unlock(&s->mu);
	return NULL;
}

struct store *store_open(const char *path, char *err, size_t errlen)
{
	struct store *s = calloc(1, sizeof *s);
	char *msg = NULL;
	if (!s) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	pthread_mutex_init(&s->mu, NULL);
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&s->bg_cond, &ca);
	pthread_condattr_destroy(&ca);
	pthread_cond_init(&s->ckpt_cond, NULL);
	if (sqlite3_open_v2(path, &s->db,
			    SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX,
			    NULL) != SQLITE_OK) {
		snprintf(err, errlen, "%s: %s", path, s->db ? sqlite3_errmsg(s->db) : "cannot open");
		goto fail;
	}
	sqlite3_busy_timeout(s->db, 5000);
	if (sqlite3_exec(s->db,
			 "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;"
			 "PRAGMA foreign_keys = ON; PRAGMA wal_autocheckpoint = 0;"
			 "PRAGMA journal_size_limit = " WAL_SIZE_LIMIT_TEXT ";",
			 NULL, NULL, &msg) != SQLITE_OK) {
		snprintf(err, errlen, "%s: %s", path, msg ? msg : "?");
		goto fail;
	}
	if (schema_check(s, err, errlen) < 0)
		goto fail;
	for (int i = 0; i < ST_COUNT; i++) {
		if (sqlite3_prepare_v3(s->db, stmt_sql[i], -1, SQLITE_PREPARE_PERSISTENT, &s->st[i],
				       NULL) != SQLITE_OK) {
			snprintf(err, errlen, "prepare %d: %s", i, sqlite3_errmsg(s->db));
			goto fail;
		}
	}
	/* The checkpoint connection reads once now: a connection that never ran a
	 * statement has not opened the WAL, and its checkpoints do nothing. */
	if (sqlite3_open_v2(path, &s->ckpt_db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_FULLMUTEX,
			    NULL) != SQLITE_OK ||
	    sqlite3_exec(s->ckpt_db, "SELECT count(*) FROM schema_version", NULL, NULL, &msg) !=
		    SQLITE_OK) {
		snprintf(err, errlen, "%s: checkpoint connection: %s", path,
			 msg ? msg : s->ckpt_db ? sqlite3_errmsg(s->ckpt_db) : "cannot open");
		goto fail;
	}
	sqlite3_busy_timeout(s->ckpt_db, 5000);
	sqlite3_wal_hook(s->db, wal_hook, s);
	if (pthread_create(&s->bg, NULL, bg_main, s) != 0) {
		snprintf(err, errlen, "cannot start the store's maintenance thread");
		goto fail;
	}
	s->bg_started = true;
	return s;
fail:
	sqlite3_free(msg);
	store_close(s);
	return NULL;
}

void store_close(struct store *s)
{
	if (!s)
		return;
	if (s->bg_started) {
		pthread_mutex_lock(&s->mu);
		s->bg_stop = true;
		pthread_cond_signal(&s->bg_cond);
		pthread_mutex_unlock(&s->mu);
		pthread_join(s->bg, NULL);
	}
	if (s->db) {
		pthread_mutex_lock(&s->mu);
		flush_locked(s);
		pthread_mutex_unlock(&s->mu);
	}
	sqlite3_close(s->ckpt_db);
	pthread_cond_destroy(&s->bg_cond);
	pthread_cond_destroy(&s->ckpt_cond);
	for (int i = 0; i < ST_COUNT; i++)
		sqlite3_finalize(s->st[i]);
	sqlite3_close(s->db);
	pthread_mutex_destroy(&s->mu);
	free(s);
}

static void copy_col(char *dst, size_t len, sqlite3_stmt *st, int col)
{
	const unsigned char *v = sqlite3_column_text(st, col);
	snprintf(dst, len, "%s", v ? (const char *)v : "");
}

static int part_get_locked(struct store *s, const char *project_id, const char *user_id,
			   struct store_participant *p)
{
	sqlite3_stmt *st = stmt(s, ST_PART_GET);
	bind_text(st, 1, project_id);
	bind_text(st, 2, user_id);
	int rc = sqlite3_step(st);
	if (rc == SQLITE_DONE) {
		sqlite3_reset(st);
		return 0;
	}
	if (rc != SQLITE_ROW) {
		sqlite3_reset(st);
		return -1;
	}
	p->id = sqlite3_column_int64(st, 0);
	p->step = sqlite3_column_int(st, 1);
	const unsigned char *status = sqlite3_column_text(st, 2);
	p->status = status && strcmp((const char *)status, "completed") == 0 ? STORE_COMPLETED
									     : STORE_ACTIVE;
	copy_col(p->created, sizeof p->created, st, 3);
	snprintf(p->project_id, sizeof p->project_id, "%s", project_id);
	snprintf(p->user_id, sizeof p->user_id, "%s", user_id);
	sqlite3_reset(st);
	return 1;
}

int store_participant_get(struct store *s, const char *project_id, const char *user_id,
			  struct store_participant *p)
{
	pthread_mutex_lock(&s->mu);
	int rc = part_get_locked(s, project_id, user_id, p);
	pthread_mutex_unlock(&s->mu);
	return rc;
}

/* Adds the keys of CROWD missing from the stored crowd object of PID. */
static int crowd_merge_locked(struct store *s, long long pid, json_t *crowd)
{
	int rc = 0;
	json_t *old = NULL;
	sqlite3_stmt *q = stmt(s, ST_PART_CROWD_GET);
	sqlite3_bind_int64(q, 1, pid);
	if (sqlite3_step(q) == SQLITE_ROW && sqlite3_column_type(q, 0) == SQLITE_TEXT)
		old = json_loads((const char *)sqlite3_column_text(q, 0), 0, NULL);
	sqlite3_reset(q);
	if (!json_is_object(old)) {
		json_decref(old);
		old = json_object();
	}
	bool changed = false;
	const char *k;
	json_t *v;
	json_object_foreach(crowd, k, v)
	{
		if (!json_object_get(old, k)) {
			json_object_set(old, k, v);
			changed = true;
		}
	}
	if (changed) {
		char *text = json_dumps(old, JSON_COMPACT | JSON_SORT_KEYS);
		sqlite3_stmt *u = stmt(s, ST_PART_CROWD);
		sqlite3_bind_int64(u, 1, pid);
		bind_text(u, 2, text);
		rc = exec_done(u);
		free(text);
	}
	json_decref(old);
	return rc;
}

int store_participant_ensure(struct store *s, const char *project_id, const char *user_id,
			     json_t *crowd, struct store_participant *p, bool *created)
{
	char now[32];
	char *crowd_text = NULL;
	int rc;
	bool has_crowd = json_is_object(crowd) && json_object_size(crowd) > 0;
	*created = false;
	lock_for_write(s);
	rc = part_get_locked(s, project_id, user_id, p);
	if (rc != 0)
		goto found;
	store_now(now, sizeof now);
	if (has_crowd)
		crowd_text = json_dumps(crowd, JSON_COMPACT | JSON_SORT_KEYS);
	sqlite3_stmt *st = stmt(s, ST_PART_INSERT);
	bind_text(st, 1, project_id);
	bind_text(st, 2, user_id);
	bind_text(st, 3, now);
	bind_text(st, 4, crowd_text);
	if (exec_done(st) < 0) {
		rc = -1;
		goto out;
	}
	*created = sqlite3_changes(s->db) > 0;
	rc = part_get_locked(s, project_id, user_id, p);
	if (rc == 0)
		rc = -1;
	goto out;
found:
	if (rc == 1 && has_crowd && crowd_merge_locked(s, p->id, crowd) < 0)
		rc = -1;
out:
	pthread_mutex_unlock(&s->mu);
	free(crowd_text);
	return rc < 0 ? -1 : 0;
}

int store_request_log(struct store *s, long long pid, const char *method, int step,
		      const char *headers_json, const char *ip)
{
	int rc = 0;
	struct pending_req n = {.pid = pid, .step = step};
	size_t hlen = headers_json ? strlen(headers_json) : 0;
	store_now(n.time, sizeof n.time);
	snprintf(n.method, sizeof n.method, "%s", method ? method : "");
	if (headers_json && hlen <= STORE_HEADERS_MAX)
		n.has_digest =
			EVP_Digest(headers_json, hlen, n.digest, NULL, EVP_sha256(), NULL) == 1;
	pthread_mutex_lock(&s->mu);
	/* The same request as the participant's previous pending one (a reload,
	 * a poll): counted in that one. */
	for (size_t i = s->npending; i-- > 0;) {
		struct pending_req *r = &s->pending[i];
		if (r->pid != pid)
			continue;
		if (r->step == step && strcmp(r->method, n.method) == 0 &&
		    r->has_digest == n.has_digest &&
		    (!n.has_digest || memcmp(r->digest, n.digest, sizeof n.digest) == 0) &&
		    same_text(r->ip, ip)) {
			r->repeats++;
			memcpy(r->last, n.time, sizeof r->last);
			pthread_mutex_unlock(&s->mu);
			return 0;
		}
		break;
	}
	if (s->npending == PENDING_MAX) {
		wal_wait_locked(s);
		if (s->npending == PENDING_MAX)
			rc = flush_locked(s);
	}
	n.headers = n.has_digest ? strdup(headers_json) : NULL;
	n.ip = ip ? strdup(ip) : NULL;
	n.has_digest = n.has_digest && n.headers;
	s->pending[s->npending++] = n;
	pthread_mutex_unlock(&s->mu);
	return rc;
}

int store_flush(struct store *s)
{
	lock_for_write(s);
	int rc = flush_locked(s);
	pthread_mutex_unlock(&s->mu);
	return rc;
}

static int answer_insert(struct store *s, long long pid, int step, const char *field,
			 json_t *value, const char *now)
{
	char *owned = NULL;
	const char *text;
	if (json_is_string(value))
		text = json_string_value(value);
	else if (json_is_null(value))
		text = NULL;
	else
		text = owned = json_dumps(value, JSON_COMPACT | JSON_ENCODE_ANY);
	sqlite3_stmt *st = stmt(s, ST_ANSWER_INSERT);
	sqlite3_bind_int64(st, 1, pid);
	sqlite3_bind_int(st, 2, step);
	bind_text(st, 3, field);
	if (json_is_string(value))
		sqlite3_bind_text(st, 4, text, (int)json_string_length(value), SQLITE_TRANSIENT);
	else
		bind_text(st, 4, text);
	bind_text(st, 5, now);
	int rc = exec_done(st);
	free(owned);
	return rc;
}

int store_advance(struct store *s, long long pid, int from, int to, json_t *answers,
		  bool completed)
{
	char now[32];
	int rc = -1;
	store_now(now, sizeof now);
	lock_for_write(s);
	if (begin(s) < 0)
		goto out;
	sqlite3_stmt *st = stmt(s, ST_ADVANCE);
	sqlite3_bind_int64(st, 1, pid);
	sqlite3_bind_int(st, 2, from);
	sqlite3_bind_int(st, 3, to);
	bind_text(st, 4, now);
	sqlite3_bind_int(st, 5, completed ? 1 : 0);
	if (exec_done(st) < 0)
		goto fail;
	if (sqlite3_changes(s->db) == 0) {
		rollback(s);
		rc = 0;
		goto out;
	}
	const char *k;
	json_t *v;
	json_object_foreach(answers, k, v)
	{
		if (answer_insert(s, pid, from, k, v, now) < 0)
			goto fail;
	}
	if (commit(s) < 0)
		goto fail;
	rc = 1;
	goto out;
fail:
	rollback(s);
	rc = -1;
out:
	pthread_mutex_unlock(&s->mu);
	return rc;
}

int store_submit_final(struct store *s, long long pid, int step, json_t *answers)
{
	char now[32];
	int rc = -1;
	if (json_object_size(answers) == 0)
		return 0;
	store_now(now, sizeof now);
	lock_for_write(s);
	if (begin(s) < 0)
		goto out;
	sqlite3_stmt *st = stmt(s, ST_PART_STEP);
	sqlite3_bind_int64(st, 1, pid);
	int k = sqlite3_step(st);
	bool at_step = k == SQLITE_ROW && sqlite3_column_int(st, 0) == step;
	sqlite3_reset(st);
	if (k != SQLITE_ROW && k != SQLITE_DONE)
		goto fail;
	st = stmt(s, ST_ANSWER_ANY);
	sqlite3_bind_int64(st, 1, pid);
	sqlite3_bind_int(st, 2, step);
	k = sqlite3_step(st);
	sqlite3_reset(st);
	if (k != SQLITE_ROW && k != SQLITE_DONE)
		goto fail;
	if (!at_step || k == SQLITE_ROW) {
		rollback(s);
		rc = 0;
		goto out;
	}
	const char *key;
	json_t *v;
	json_object_foreach(answers, key, v)
	{
		if (answer_insert(s, pid, step, key, v, now) < 0)
			goto fail;
	}
	if (commit(s) < 0)
		goto fail;
	rc = 1;
	goto out;
fail:
	rollback(s);
	rc = -1;
out:
	pthread_mutex_unlock(&s->mu);
	return rc;
}

static int group_get_locked(struct store *s, long long pid, int n, int *group)
{
	sqlite3_stmt *st = stmt(s, ST_GROUP_GET);
	sqlite3_bind_int64(st, 1, pid);
	sqlite3_bind_int(st, 2, n);
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		*group = sqlite3_column_int(st, 0);
	sqlite3_reset(st);
	return rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : -1;
}

int store_group_get(struct store *s, long long pid, int n, int *group)
{
	pthread_mutex_lock(&s->mu);
	int rc = group_get_locked(s, pid, n, group);
	pthread_mutex_unlock(&s->mu);
	return rc;
}

int store_group_assign(struct store *s, long long pid, const char *project_id, int n,
		       store_choose_fn choose, void *user, int *group)
{
	int rc = -1;
	long long *counts = calloc((size_t)n, sizeof *counts);
	char now[32];
	if (!counts || n <= 0) {
		free(counts);
		return -1;
	}
	store_now(now, sizeof now);
	lock_for_write(s);
	if (begin(s) < 0)
		goto out;
	int found = group_get_locked(s, pid, n, group);
	if (found < 0)
		goto fail;
	if (found == 1) {
		commit(s);
		rc = 0;
		goto out;
	}
	sqlite3_stmt *st = stmt(s, ST_GROUP_COUNTS);
	bind_text(st, 1, project_id);
	sqlite3_bind_int(st, 2, n);
	int r;
	while ((r = sqlite3_step(st)) == SQLITE_ROW) {
		int g = sqlite3_column_int(st, 0);
		if (g >= 0 && g < n)
			counts[g] = sqlite3_column_int64(st, 1);
	}
	sqlite3_reset(st);
	if (r != SQLITE_DONE)
		goto fail;
	int g = choose(user, counts, n);
	if (g < 0 || g >= n)
		g = 0;
	st = stmt(s, ST_GROUP_INSERT);
	sqlite3_bind_int64(st, 1, pid);
	bind_text(st, 2, project_id);
	sqlite3_bind_int(st, 3, n);
	sqlite3_bind_int(st, 4, g);
	bind_text(st, 5, now);
	if (exec_done(st) < 0 || commit(s) < 0)
		goto fail;
	*group = g;
	rc = 0;
	goto out;
fail:
	rollback(s);
	rc = -1;
out:
	pthread_mutex_unlock(&s->mu);
	free(counts);
	return rc;
}

int store_session_start(struct store *s, long long pid, int step)
{
	char now[32];
	store_now(now, sizeof now);
	lock_for_write(s);
	sqlite3_stmt *st = stmt(s, ST_SESS_START);
	sqlite3_bind_int64(st, 1, pid);
	sqlite3_bind_int(st, 2, step);
	bind_text(st, 3, now);
	int rc = exec_done(st);
	pthread_mutex_unlock(&s->mu);
	return rc;
}

int store_session_end(struct store *s, long long pid, const char *reason, json_t *files)
{
	char now[32];
	char *ftext = files ? json_dumps(files, JSON_COMPACT) : NULL;
	store_now(now, sizeof now);
	lock_for_write(s);
	sqlite3_stmt *st = stmt(s, ST_SESS_END);
	sqlite3_bind_int64(st, 1, pid);
	bind_text(st, 2, now);
	bind_text(st, 3, reason);
	bind_text(st, 4, ftext);
	int rc = exec_done(st);
	if (rc == 0)
		rc = sqlite3_changes(s->db);
	pthread_mutex_unlock(&s->mu);
	free(ftext);
	return rc;
}

int store_session_last(struct store *s, long long pid, bool *open, char *reason, size_t rlen)
{
	pthread_mutex_lock(&s->mu);
	sqlite3_stmt *st = stmt(s, ST_SESS_LAST);
	sqlite3_bind_int64(st, 1, pid);
	int r = sqlite3_step(st), rc;
	if (r == SQLITE_ROW) {
		*open = sqlite3_column_int(st, 0) != 0;
		copy_col(reason, rlen, st, 1);
		rc = 1;
	} else {
		rc = r == SQLITE_DONE ? 0 : -1;
	}
	sqlite3_reset(st);
	pthread_mutex_unlock(&s->mu);
	return rc;
}

int store_sessions_close_all(struct store *s, const char *reason)
{
	char now[32];
	store_now(now, sizeof now);
	lock_for_write(s);
	sqlite3_stmt *st = stmt(s, ST_SESS_CLOSE_ALL);
	bind_text(st, 1, now);
	bind_text(st, 2, reason);
	int rc = exec_done(st);
	if (rc == 0)
		rc = sqlite3_changes(s->db);
	pthread_mutex_unlock(&s->mu);
	return rc;
}

long long store_sessions_open(struct store *s)
{
	long long n = -1;
	pthread_mutex_lock(&s->mu);
	sqlite3_stmt *st = stmt(s, ST_SESS_OPEN);
	if (sqlite3_step(st) == SQLITE_ROW)
		n = sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	pthread_mutex_unlock(&s->mu);
	return n;
}

int store_project_put(struct store *s, const char *id, const char *name, const char *researcher,
		      const char *dir, bool deployed, int *version)
{
	char now[32];
	int rc = -1, v = 1;
	store_now(now, sizeof now);
	lock_for_write(s);
	if (begin(s) < 0)
		goto out;
	sqlite3_stmt *st = stmt(s, ST_PROJ_GET);
	bind_text(st, 1, id);
	int r = sqlite3_step(st);
	if (r == SQLITE_ROW)
		v = sqlite3_column_int(st, 0) + (deployed ? 1 : 0);
	sqlite3_reset(st);
	if (r != SQLITE_ROW && r != SQLITE_DONE)
		goto fail;
	st = stmt(s, ST_PROJ_PUT);
	bind_text(st, 1, id);
	bind_text(st, 2, name);
	bind_text(st, 3, researcher);
	bind_text(st, 4, dir);
	sqlite3_bind_int(st, 5, v);
	sqlite3_bind_int(st, 6, deployed ? 1 : 0);
	bind_text(st, 7, now);
	if (exec_done(st) < 0 || commit(s) < 0)
		goto fail;
	if (version)
		*version = v;
	rc = 0;
	goto out;
fail:
	rollback(s);
out:
	pthread_mutex_unlock(&s->mu);
	return rc;
}

int store_project_live_get(struct store *s, const char *id)
{
	int live = -1;
	pthread_mutex_lock(&s->mu);
	sqlite3_stmt *st = stmt(s, ST_PROJ_LIVE_GET);
	bind_text(st, 1, id);
	if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_type(st, 0) != SQLITE_NULL)
		live = sqlite3_column_int(st, 0) ? 1 : 0;
	sqlite3_reset(st);
	pthread_mutex_unlock(&s->mu);
	return live;
}

int store_project_live_set(struct store *s, const char *id, int live)
{
	char now[32];
	store_now(now, sizeof now);
	lock_for_write(s);
	sqlite3_stmt *st = stmt(s, ST_PROJ_LIVE_SET);
	bind_text(st, 1, id);
	if (live < 0)
		sqlite3_bind_null(st, 2);
	else
		sqlite3_bind_int(st, 2, live ? 1 : 0);
	bind_text(st, 3, now);
	int rc = exec_done(st);
	if (rc == 0 && sqlite3_changes(s->db) == 0)
		rc = -1;
	pthread_mutex_unlock(&s->mu);
	return rc;
}

json_t *store_step_counts(struct store *s, const char *project_id, long long *total,
			  long long *completed)
{
	json_t *o = json_object();
	*total = *completed = 0;
	pthread_mutex_lock(&s->mu);
	sqlite3_stmt *st = stmt(s, ST_STEP_COUNTS);
	bind_text(st, 1, project_id);
	while (sqlite3_step(st) == SQLITE_ROW) {
		char key[16];
		snprintf(key, sizeof key, "%d", sqlite3_column_int(st, 0));
		long long n = sqlite3_column_int64(st, 2);
		const unsigned char *status = sqlite3_column_text(st, 1);
		json_t *old = json_object_get(o, key);
		json_object_set_new(o, key, json_integer(n + (old ? json_integer_value(old) : 0)));
		*total += n;
		if (status && strcmp((const char *)status, "completed") == 0)
			*completed += n;
	}
	sqlite3_reset(st);
	pthread_mutex_unlock(&s->mu);
	return o;
}

json_t *store_step_counts_all(struct store *s)
{
	json_t *a = json_array();
	pthread_mutex_lock(&s->mu);
	sqlite3_stmt *st = stmt(s, ST_STEP_COUNTS_ALL);
	while (sqlite3_step(st) == SQLITE_ROW)
		json_array_append_new(a, json_pack("[s,i,I]", sqlite3_column_text(st, 0),
						   sqlite3_column_int(st, 1),
						   (json_int_t)sqlite3_column_int64(st, 2)));
	sqlite3_reset(st);
	pthread_mutex_unlock(&s->mu);
	return a;
}

static json_t *col_json(sqlite3_stmt *st, int col)
{
	if (sqlite3_column_type(st, col) == SQLITE_NULL)
		return json_null();
	json_t *v = json_loads((const char *)sqlite3_column_text(st, col), JSON_DECODE_ANY, NULL);
	return v ? v : json_null();
}

static json_t *col_str(sqlite3_stmt *st, int col)
{
	if (sqlite3_column_type(st, col) == SQLITE_NULL)
		return json_null();
	const char *t = (const char *)sqlite3_column_text(st, col);
	json_t *v = json_stringn_nocheck(t, (size_t)sqlite3_column_bytes(st, col));
	return v ? v : json_null();
}

/* Fills P (a participant object) with its answers, groups and sessions. */
static void participant_details(struct store *s, long long pid, json_t *p)
{
	json_t *answers = json_array(), *groups = json_object(), *sessions = json_array();
	sqlite3_stmt *st = stmt(s, ST_ANSWER_LIST);
	sqlite3_bind_int64(st, 1, pid);
	while (sqlite3_step(st) == SQLITE_ROW)
		json_array_append_new(answers,
				      json_pack("{s:i,s:o,s:o,s:o}", "step",
						sqlite3_column_int(st, 0), "field", col_str(st, 1),
						"value", col_str(st, 2), "time", col_str(st, 3)));
	sqlite3_reset(st);
	st = stmt(s, ST_GROUP_LIST);
	sqlite3_bind_int64(st, 1, pid);
	while (sqlite3_step(st) == SQLITE_ROW) {
		char key[16];
		snprintf(key, sizeof key, "%d", sqlite3_column_int(st, 0));
		json_object_set_new(groups, key, json_integer(sqlite3_column_int(st, 1)));
	}
	sqlite3_reset(st);
	st = stmt(s, ST_SESS_LIST);
	sqlite3_bind_int64(st, 1, pid);
	while (sqlite3_step(st) == SQLITE_ROW)
		json_array_append_new(sessions,
				      json_pack("{s:i,s:o,s:o,s:o,s:o}", "step",
						sqlite3_column_int(st, 0), "started",
						col_str(st, 1), "stopped", col_str(st, 2),
						"reason", col_str(st, 3), "files",
						col_json(st, 4)));
	sqlite3_reset(st);
	json_object_set_new(p, "answers", answers);
	json_object_set_new(p, "groups", groups);
	json_object_set_new(p, "sessions", sessions);
}

json_t *store_participants_json(struct store *s, const char *project_id)
{
	json_t *list = json_array();
	long long *ids = NULL;
	size_t n = 0, cap = 0;
	pthread_mutex_lock(&s->mu);
	sqlite3_stmt *st = stmt(s, ST_PART_LIST);
	bind_text(st, 1, project_id);
	while (sqlite3_step(st) == SQLITE_ROW) {
		if (n == cap) {
			size_t ncap = cap ? cap * 2 : 64;
			long long *nids = realloc(ids, ncap * sizeof *nids);
			if (!nids)
				break;
			ids = nids;
			cap = ncap;
		}
		ids[n++] = sqlite3_column_int64(st, 0);
		json_array_append_new(
			list, json_pack("{s:o,s:o,s:o,s:i,s:o,s:o}", "userId", col_str(st, 1),
					"created", col_str(st, 2), "updated", col_str(st, 3),
					"step", sqlite3_column_int(st, 4), "status",
					col_str(st, 5), "crowd", col_json(st, 6)));
	}
	sqlite3_reset(st);
	for (size_t i = 0; i < n; i++)
		participant_details(s, ids[i], json_array_get(list, i));
	pthread_mutex_unlock(&s->mu);
	free(ids);
	return list;
}

json_t *store_participant_json(struct store *s, const char *project_id, const char *user_id)
{
	json_t *p = NULL;
	long long id = 0;
	pthread_mutex_lock(&s->mu);
	sqlite3_stmt *st = stmt(s, ST_PART_ONE);
	bind_text(st, 1, project_id);
	bind_text(st, 2, user_id);
	if (sqlite3_step(st) == SQLITE_ROW) {
		id = sqlite3_column_int64(st, 0);
		p = json_pack("{s:s,s:o,s:o,s:o,s:i,s:o,s:o}", "projectId", project_id, "userId",
			      col_str(st, 1), "created", col_str(st, 2), "updated", col_str(st, 3),
			      "step", sqlite3_column_int(st, 4), "status", col_str(st, 5), "crowd",
			      col_json(st, 6));
	}
	sqlite3_reset(st);
	if (p)
		participant_details(s, id, p);
	pthread_mutex_unlock(&s->mu);
	return p;
}
