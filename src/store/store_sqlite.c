/* The SQLite backend: connection, schema and migrations, the maintenance
 * thread (batch commits, WAL checkpoints), and the backend table (see
 * store_sqlite.h and docs/data.md). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/clock.h"
#include "store/store_sqlite.h"

/* ------------------------------------------------------------ schema */

/* Version 1: the tables and indexes. Run (CREATE ... IF NOT EXISTS) at every
 * read-write open, which also gives a database written by an early version 1
 * the tables and indexes added to it since. */
static const char schema_v1_sql[] =
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
	/* counts by step and state, and the console's idle participants, from the index alone */
	"CREATE INDEX IF NOT EXISTS participants_state"
	" ON participants (project_id, status, step, updated);"
	"CREATE TABLE IF NOT EXISTS answers ("
	" id INTEGER PRIMARY KEY, participant INTEGER NOT NULL REFERENCES participants (id),"
	" step INTEGER NOT NULL, field TEXT NOT NULL, value TEXT, time TEXT NOT NULL);"
	"CREATE INDEX IF NOT EXISTS answers_participant ON answers (participant, step);"
	"CREATE TABLE IF NOT EXISTS requests ("
	" id INTEGER PRIMARY KEY, participant INTEGER NOT NULL REFERENCES participants (id),"
	" time TEXT NOT NULL, method TEXT NOT NULL, step INTEGER, headers TEXT, ip TEXT);"
	"CREATE INDEX IF NOT EXISTS requests_participant ON requests (participant);"
	/* the console's funnel reads when each participant saw each step from it alone */
	"CREATE INDEX IF NOT EXISTS requests_steps ON requests (participant, step, time);"
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

/* Version 2 (store__versions[2]); versions 4 and 5 are the cluster's
 * (store_sqlite_cluster.c). */
static const char schema_v2_sql[] =
	"ALTER TABLE requests ADD COLUMN header_set INTEGER REFERENCES header_sets (id);"
	"ALTER TABLE requests ADD COLUMN repeats INTEGER NOT NULL DEFAULT 0;"
	"ALTER TABLE requests ADD COLUMN last TEXT;";

/* Version 7 (store__versions[7]): a researcher's preview participants. */
static const char schema_v7_sql[] =
	"ALTER TABLE participants ADD COLUMN preview INTEGER NOT NULL DEFAULT 0;";

/* Version 3 (store__versions[3]). */
static const char schema_v3_sql[] =
	"ALTER TABLE answers ADD COLUMN page_hash TEXT;"
	"ALTER TABLE answers ADD COLUMN project_version INTEGER;"
	"CREATE TABLE passes ("
	" id INTEGER PRIMARY KEY, participant INTEGER NOT NULL REFERENCES participants (id),"
	" step INTEGER NOT NULL, page_hash TEXT, project_version INTEGER, time TEXT NOT NULL);"
	"CREATE INDEX passes_participant ON passes (participant);";

static const struct migration {
	int version;
	bool every_open; /* idempotent, run whatever the database's version */
	const char *sql;
} migrations[] = {
	{1, true, schema_v1_sql},
	{2, false, schema_v2_sql},
	{3, false, schema_v3_sql},
	{4, false, store__sq_schema_v4},
	{5, false, store__sq_schema_v5},
	{6, false, store__sq_schema_v6},
	{7, false, schema_v7_sql},
};

_Static_assert(sizeof migrations / sizeof migrations[0] == STORE_SCHEMA_VERSION,
	       "one migration per schema version");

/* ------------------------------------------------------------ statements */

/* The columns the participant iterator reads (struct store_participant_row). */
#define PART_COLS                                                                              \
	"SELECT p.id, p.project_id, p.user_id, p.created, p.updated, p.step, p.status, p.crowd,"  \
	" (SELECT group_concat(grp, ';') FROM (SELECT grp FROM groups g"                         \
	"   WHERE g.participant = p.id ORDER BY n)),"                                             \
	" (SELECT count(*) FROM sessions s WHERE s.participant = p.id),"                          \
	" (SELECT min(started) FROM sessions s WHERE s.participant = p.id),"                      \
	" (SELECT max(stopped) FROM sessions s WHERE s.participant = p.id),"                      \
	" (SELECT reason FROM sessions s WHERE s.participant = p.id ORDER BY s.id DESC LIMIT 1)," \
	" p.preview FROM participants p"
/* Rows of a project's participants (?1; the preview participants' too when
 * ?2), oldest participant first, or of one participant (?1 its id). A
 * database before schema version 7 reads "p.preview" as 0 (stmt_text). */
#define NOT_PREVIEW " AND (?2 OR p.preview = 0)"
#define OF_PROJECT                                                                             \
	" JOIN participants p ON p.id = x.participant WHERE p.project_id = ?1" NOT_PREVIEW
#define OF_PROJECT_ORDER " ORDER BY p.created, p.id, x.id"
#define OF_ONE " JOIN participants p ON p.id = x.participant WHERE x.participant = ?1"
#define ANSWER_COLS                                                                            \
	"SELECT x.participant, p.user_id, x.step, x.field, x.value, x.time, x.page_hash,"        \
	" x.project_version FROM answers x"
#define ANSWER_V2_COLS                                                                         \
	"SELECT x.participant, p.user_id, x.step, x.field, x.value, x.time, NULL, NULL"          \
	" FROM answers x"
#define PASS_COLS                                                                              \
	"SELECT x.participant, p.user_id, x.step, x.page_hash, x.project_version, x.time"        \
	" FROM passes x"
#define GROUP_COLS "SELECT x.participant, p.user_id, x.n, x.grp, x.assigned FROM groups x"
#define SESS_COLS                                                                              \
	"SELECT x.participant, p.user_id, x.step, x.started, x.stopped, x.reason, x.files"       \
	" FROM sessions x"
#define REQ_COLS                                                                               \
	"SELECT x.participant, p.user_id, x.time, coalesce(x.last, x.time), x.method, x.step,"   \
	" coalesce(h.headers, x.headers), x.ip, x.repeats FROM requests x"                        \
	" LEFT JOIN header_sets h ON h.id = x.header_set"
/* The console's filters of the participants (store_find): ?2 step, ?3 status,
 * ?4/?5 group n/grp, ?6 a text in the userId or the crowd ids, ?7 updated before. */
#define FIND_WHERE                                                                             \
	" AND (?2 = 0 OR p.step = ?2) AND (?3 IS NULL OR p.status = ?3)"                         \
	" AND (?4 = 0 OR EXISTS (SELECT 1 FROM groups g WHERE g.participant = p.id"            \
	"  AND g.n = ?4 AND g.grp = ?5))"                                                        \
	" AND (?6 IS NULL OR instr(p.user_id, ?6) > 0 OR instr(coalesce(p.crowd, ''), ?6) > 0)" \
	" AND (?7 IS NULL OR p.updated < ?7) AND (?10 OR p.preview = 0)"
#define REQ_V1_COLS                                                                            \
	"SELECT x.participant, p.user_id, x.time, x.time, x.method, x.step, x.headers, x.ip, 0"  \
	" FROM requests x"

static const char *const stmt_sql[ST_COUNT] = {
	[ST_BEGIN] = "BEGIN IMMEDIATE",
	[ST_COMMIT] = "COMMIT",
	[ST_ROLLBACK] = "ROLLBACK",
	[ST_PART_GET] = "SELECT id, step, status, created, p.preview FROM participants p"
			" WHERE project_id = ?1 AND user_id = ?2",
	[ST_PART_INSERT] = "INSERT OR IGNORE INTO participants"
			   " (project_id, user_id, created, updated, step, crowd, preview)"
			   " VALUES (?1, ?2, ?3, ?3, 1, ?4, ?5)",
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
	[ST_ANSWER_INSERT] = "INSERT INTO answers"
			     " (participant, step, field, value, time, page_hash, project_version)"
			     " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
	[ST_PASS_INSERT] = "INSERT INTO passes (participant, step, page_hash, project_version, time)"
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
	[ST_STEP_COUNTS] = "SELECT project_id, step, status, count(*) FROM participants p"
			   " WHERE project_id = ?1 AND p.preview = 0 GROUP BY step, status",
	[ST_STEP_COUNTS_ALL] = "SELECT project_id, step, NULL, count(*) FROM participants p"
			       " WHERE p.preview = 0 GROUP BY project_id, step",
	/* the console: optional filters (?2..?7 NULL or 0: not applied), newest first */
	/* the page's ids first: the summaries of PART_COLS for its rows only */
	[ST_PART_FIND] = PART_COLS " WHERE p.id IN (SELECT p.id FROM participants p"
			 " WHERE p.project_id = ?1" FIND_WHERE " ORDER BY p.id DESC"
			 " LIMIT ?8 OFFSET ?9) ORDER BY p.id DESC",
	[ST_PART_FIND_COUNT] = "SELECT count(*) FROM participants p WHERE p.project_id = ?1"
			       FIND_WHERE,
	/* every request row, a participant's together (no sort: the console
	 * keeps the earliest of each step) */
	[ST_STEP_TIMES] = "SELECT r.participant, r.step, r.time FROM participants p"
			  " JOIN requests r ON r.participant = p.id"
			  " WHERE p.project_id = ?1 AND r.step IS NOT NULL AND p.preview = 0",
	[ST_GROUP_COUNTS_ALL] = "SELECT n, grp, count(*) FROM groups WHERE project_id = ?1"
				" GROUP BY n, grp ORDER BY n, grp",
	[ST_DEL_ANSWERS] = "DELETE FROM answers WHERE participant = ?1",
	[ST_DEL_PASSES] = "DELETE FROM passes WHERE participant = ?1",
	[ST_DEL_REQUESTS] = "DELETE FROM requests WHERE participant = ?1",
	[ST_DEL_HSETS] = "DELETE FROM header_sets WHERE participant = ?1",
	[ST_DEL_SESSIONS] = "DELETE FROM sessions WHERE participant = ?1",
	[ST_DEL_GROUPS] = "DELETE FROM groups WHERE participant = ?1",
	[ST_DEL_PART] = "DELETE FROM participants WHERE id = ?1",
	[ST_PART_LIST_P] = PART_COLS " WHERE p.project_id = ?1" NOT_PREVIEW
				     " ORDER BY p.created, p.id",
	[ST_PART_LIST_ID_P] = PART_COLS " WHERE p.project_id = ?1" NOT_PREVIEW " ORDER BY p.id",
	[ST_PART_LIST_1] = PART_COLS " WHERE p.id = ?1",
	[ST_ANSWER_LIST_P] = ANSWER_COLS OF_PROJECT OF_PROJECT_ORDER,
	[ST_ANSWER_LIST_1] = ANSWER_COLS OF_ONE " ORDER BY x.id",
	[ST_ANSWER_LIST_V2_P] = ANSWER_V2_COLS OF_PROJECT OF_PROJECT_ORDER,
	[ST_ANSWER_LIST_V2_1] = ANSWER_V2_COLS OF_ONE " ORDER BY x.id",
	[ST_PASS_LIST_P] = PASS_COLS OF_PROJECT OF_PROJECT_ORDER,
	[ST_PASS_LIST_1] = PASS_COLS OF_ONE " ORDER BY x.id",
	[ST_GROUP_LIST_P] = GROUP_COLS OF_PROJECT " ORDER BY p.created, p.id, x.n",
	[ST_GROUP_LIST_1] = GROUP_COLS OF_ONE " ORDER BY x.n",
	[ST_SESS_LIST_P] = SESS_COLS OF_PROJECT OF_PROJECT_ORDER,
	[ST_SESS_LIST_1] = SESS_COLS OF_ONE " ORDER BY x.id",
	[ST_REQ_LIST_P] = REQ_COLS OF_PROJECT OF_PROJECT_ORDER,
	[ST_REQ_LIST_1] = REQ_COLS OF_ONE " ORDER BY x.id",
	[ST_REQ_LIST_V1_P] = REQ_V1_COLS OF_PROJECT OF_PROJECT_ORDER,
	[ST_REQ_LIST_V1_1] = REQ_V1_COLS OF_ONE " ORDER BY x.id",
	[ST_PROJ_LIST] = "SELECT id, name, researcher, dir, version, deployed,"
			 " coalesce(live_override, -1), updated FROM projects"
			 " WHERE ?1 IS NULL OR id = ?1 ORDER BY id",
};

/* ------------------------------------------------------------ helpers */

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

/* The text of statement ID for this database: before schema version 7
 * (read only) there is no participants.preview, and "p.preview" reads as 0
 * (no preview participants). Returns SQL itself or a copy in BUF. */
static const char *stmt_text(const struct store__sq *s, const char *sql, char *buf, size_t len)
{
	static const char col[] = "p.preview";
	if (s->version >= 7 || !strstr(sql, col) || strlen(sql) >= len)
		return sql;
	size_t o = 0;
	for (const char *c = sql; *c;) {
		if (strncmp(c, col, sizeof col - 1) == 0) {
			buf[o++] = '0';
			c += sizeof col - 1;
		} else {
			buf[o++] = *c++;
		}
	}
	buf[o] = '\0';
	return buf;
}

sqlite3_stmt *store__sq_stmt(struct store__sq *s, enum store__sq_stmt id)
{
	sqlite3_stmt *st = s->st[id];
	if (!st) {
		char buf[4096];
		if (sqlite3_prepare_v3(s->db, stmt_text(s, stmt_sql[id], buf, sizeof buf), -1,
				       SQLITE_PREPARE_PERSISTENT, &s->st[id], NULL) != SQLITE_OK)
			return NULL;
		return s->st[id];
	}
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return st;
}

int store__sq_exec(sqlite3_stmt *st)
{
	if (!st)
		return -1;
	int rc = sqlite3_step(st);
	sqlite3_reset(st);
	return rc == SQLITE_DONE ? 0 : -1;
}

void store__sq_bind_text(sqlite3_stmt *st, int i, const char *v)
{
	if (v)
		sqlite3_bind_text(st, i, v, -1, SQLITE_TRANSIENT);
	else
		sqlite3_bind_null(st, i);
}

int store__sq_begin(struct store__sq *s)
{
	return store__sq_exec(store__sq_stmt(s, ST_BEGIN));
}

int store__sq_commit(struct store__sq *s)
{
	return store__sq_exec(store__sq_stmt(s, ST_COMMIT));
}

void store__sq_rollback(struct store__sq *s)
{
	store__sq_exec(store__sq_stmt(s, ST_ROLLBACK));
}

/* The schema version stored in the database (0 when none yet), or -1. */
static int schema_version(sqlite3 *db)
{
	sqlite3_stmt *st = NULL;
	int v = -1;
	if (sqlite3_prepare_v2(db, "SELECT max(version) FROM schema_version", -1, &st, NULL) ==
		    SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	return v;
}

/* Creates the tables and brings an older database to STORE_SCHEMA_VERSION in
 * one transaction (another process may open the same file at once). */
static int schema_check(struct store__sq *s, char *err, size_t errlen)
{
	char *msg = NULL;
	int rc = -1, v = -1;
	if (sqlite3_exec(s->db, "BEGIN IMMEDIATE", NULL, NULL, &msg) != SQLITE_OK) {
		snprintf(err, errlen, "schema: %s", msg ? msg : "?");
		sqlite3_free(msg);
		return -1;
	}
	const size_t nmig = sizeof migrations / sizeof migrations[0];
	for (size_t i = 0; i < nmig; i++) {
		const struct migration *m = &migrations[i];
		if (m->every_open && sqlite3_exec(s->db, m->sql, NULL, NULL, &msg) != SQLITE_OK) {
			snprintf(err, errlen, "schema: %s", msg ? msg : "?");
			goto out;
		}
	}
	if ((v = schema_version(s->db)) < 0) {
		snprintf(err, errlen, "schema version: %s", sqlite3_errmsg(s->db));
		goto out;
	}
	if (v > STORE_SCHEMA_VERSION) {
		snprintf(err, errlen, "the database has schema version %d, newer than this hippo's %d",
			 v, STORE_SCHEMA_VERSION);
		goto out;
	}
	for (size_t i = 0; i < nmig; i++) {
		const struct migration *m = &migrations[i];
		if (!m->every_open && m->version > v &&
		    sqlite3_exec(s->db, m->sql, NULL, NULL, &msg) != SQLITE_OK) {
			snprintf(err, errlen, "schema version %d: %s", m->version, msg ? msg : "?");
			goto out;
		}
	}
	const char *set = v == 0 ? "INSERT INTO schema_version VALUES (?1)"
		     : v < STORE_SCHEMA_VERSION ? "UPDATE schema_version SET version = ?1"
						: NULL;
	sqlite3_stmt *st = NULL;
	if (set && (sqlite3_prepare_v2(s->db, set, -1, &st, NULL) != SQLITE_OK ||
		    sqlite3_bind_int(st, 1, STORE_SCHEMA_VERSION) != SQLITE_OK ||
		    sqlite3_step(st) != SQLITE_DONE)) {
		snprintf(err, errlen, "schema version: %s", sqlite3_errmsg(s->db));
		sqlite3_finalize(st);
		goto out;
	}
	sqlite3_finalize(st);
	s->version = STORE_SCHEMA_VERSION;
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

/* ------------------------------------------------------------ maintenance */

/* Called by SQLite after each commit of the main connection (under s->mu)
 * with the number of pages in the WAL: a long WAL is checkpointed now. */
static int wal_hook(void *arg, sqlite3 *db, const char *name, int frames)
{
	struct store__sq *s = arg;
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
static void checkpoint_locked(struct store__sq *s)
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

void store__sq_wal_wait_locked(struct store__sq *s)
{
	while (s->wal_frames >= WAL_WAIT_FRAMES && (s->ckpt_running || s->ckpt_wanted) &&
	       !s->bg_stop)
		pthread_cond_wait(&s->ckpt_cond, &s->mu);
}

void store__sq_lock_for_write(struct store__sq *s)
{
	pthread_mutex_lock(&s->mu);
	store__sq_wal_wait_locked(s);
}

static void *bg_main(void *arg)
{
	struct store__sq *s = arg;
	int64_t last_ckpt = clock_mono_ms();
	pthread_mutex_lock(&s->mu);
	while (!s->bg_stop) {
		struct timespec ts = clock_deadline(CLOCK_MONOTONIC, FLUSH_EVERY_MS);
		if (!s->ckpt_wanted)
			pthread_cond_timedwait(&s->bg_cond, &s->mu, &ts);
		if (s->bg_stop)
			break;
		store__sq_flush_locked(s);
		int64_t now = clock_mono_ms();
		if (s->ckpt_db && (s->ckpt_wanted || now - last_ckpt >= CHECKPOINT_EVERY_MS)) {
			last_ckpt = now;
			checkpoint_locked(s);
		}
	}
	pthread_cond_broadcast(&s->ckpt_cond);
	pthread_mutex_unlock(&s->mu);
	return NULL;
}

/* ------------------------------------------------------------ open, close */

static void sq_close(void *db)
{
	struct store__sq *s = db;
	if (!s)
		return;
	if (s->bg_started) {
		pthread_mutex_lock(&s->mu);
		s->bg_stop = true;
		pthread_cond_signal(&s->bg_cond);
		pthread_mutex_unlock(&s->mu);
		pthread_join(s->bg, NULL);
	}
	if (s->db && !s->read_only) {
		pthread_mutex_lock(&s->mu);
		store__sq_flush_locked(s);
		pthread_mutex_unlock(&s->mu);
	}
	sqlite3_close(s->ckpt_db);
	pthread_cond_destroy(&s->bg_cond);
	pthread_cond_destroy(&s->ckpt_cond);
	for (int i = 0; i < ST_COUNT; i++)
		sqlite3_finalize(s->st[i]);
	store__sq_cl_finalize(s);
	sqlite3_close(s->db);
	pthread_mutex_destroy(&s->mu);
	free(s);
}

/* An existing database, for reading: any schema version up to ours. */
static int open_read_only(struct store__sq *s, const char *path, char *err, size_t errlen)
{
	/* NOMUTEX: every use is under s->mu already (SQLite's own mutex would be
	 * taken again for each column of each row) */
	if (sqlite3_open_v2(path, &s->db, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, NULL) !=
	    SQLITE_OK) {
		snprintf(err, errlen, "%s: %s", path, s->db ? sqlite3_errmsg(s->db) : "out of memory");
		return -1;
	}
	sqlite3_busy_timeout(s->db, 10000);
	s->version = schema_version(s->db);
	if (s->version < 0) {
		snprintf(err, errlen, "%s: %s", path, sqlite3_errmsg(s->db));
		return -1;
	}
	if (s->version > STORE_SCHEMA_VERSION) {
		snprintf(err, errlen, "%s: the database has schema version %d, newer than this "
				      "hippo's %d", path, s->version, STORE_SCHEMA_VERSION);
		return -1;
	}
	return 0;
}

static int open_read_write(struct store__sq *s, const char *path, char *err, size_t errlen)
{
	char *msg = NULL;
	if (sqlite3_open_v2(path, &s->db,
			    SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX,
			    NULL) != SQLITE_OK) {
		snprintf(err, errlen, "%s: %s", path, s->db ? sqlite3_errmsg(s->db) : "cannot open");
		return -1;
	}
	sqlite3_busy_timeout(s->db, 5000);
	/* Several processes opening a new file at once (the nodes of one machine)
	 * race to switch it to WAL, and the loser is told SQLITE_BUSY at once (the
	 * busy handler is not asked for that lock): try again for up to 5 s. */
	int rc = SQLITE_BUSY;
	for (int tries = 0; tries < 250; tries++) {
		sqlite3_free(msg);
		msg = NULL;
		rc = sqlite3_exec(s->db,
				  "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;"
				  "PRAGMA foreign_keys = ON; PRAGMA wal_autocheckpoint = 0;"
				  "PRAGMA journal_size_limit = " WAL_SIZE_LIMIT_TEXT ";",
				  NULL, NULL, &msg);
		if ((rc & 0xff) != SQLITE_BUSY)
			break;
		struct timespec pause = {.tv_nsec = 20 * 1000000};
		nanosleep(&pause, NULL);
	}
	if (rc != SQLITE_OK) {
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
	return 0;
fail:
	sqlite3_free(msg);
	return -1;
}

static int sq_open(const char *path, unsigned flags, void **out, char *err, size_t errlen)
{
	*out = NULL;
	if (!*path) {
		snprintf(err, errlen, "no database file named");
		return -1;
	}
	if ((flags & STORE_READ_ONLY) && access(path, F_OK) != 0)
		return 1;
	struct store__sq *s = calloc(1, sizeof *s);
	if (!s) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	s->read_only = flags & STORE_READ_ONLY;
	pthread_mutex_init(&s->mu, NULL);
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&s->bg_cond, &ca);
	pthread_condattr_destroy(&ca);
	pthread_cond_init(&s->ckpt_cond, NULL);
	int rc = s->read_only ? open_read_only(s, path, err, errlen)
			      : open_read_write(s, path, err, errlen);
	if (rc < 0) {
		sq_close(s);
		return -1;
	}
	*out = s;
	return 0;
}

static const char *sq_errmsg(void *db)
{
	return sqlite3_errmsg(((struct store__sq *)db)->db);
}

const struct store_backend store__sqlite = {
	.scheme = "sqlite",
	.open = sq_open,
	.close = sq_close,
	.errmsg = sq_errmsg,
	.flush = store__sq_flush,
	.participant_get = store__sq_participant_get,
	.participant_ensure = store__sq_participant_ensure,
	.request_log = store__sq_request_log,
	.advance = store__sq_advance,
	.submit_final = store__sq_submit_final,
	.group_get = store__sq_group_get,
	.group_assign = store__sq_group_assign,
	.session_start = store__sq_session_start,
	.session_end = store__sq_session_end,
	.session_last = store__sq_session_last,
	.sessions_close_all = store__sq_sessions_close_all,
	.sessions_open = store__sq_sessions_open,
	.project_put = store__sq_project_put,
	.project_live_get = store__sq_project_live_get,
	.project_live_set = store__sq_project_live_set,
	.deploy_put = store__sq_deploy_put,
	.deploy_get = store__sq_deploy_get,
	.deploys_latest = store__sq_deploys_latest,
	.participants = store__sq_participants,
	.answers = store__sq_answers,
	.groups = store__sq_groups,
	.sessions = store__sq_sessions,
	.requests = store__sq_requests,
	.passes = store__sq_passes,
	.step_counts = store__sq_step_counts,
	.projects = store__sq_projects,
	.participants_find = store__sq_participants_find,
	.step_times = store__sq_step_times,
	.group_counts = store__sq_group_counts,
	.participant_delete = store__sq_participant_delete,
	.node_renew = store__sq_node_renew,
	.node_remove = store__sq_node_remove,
	.node_drain = store__sq_node_drain,
	.node_expire = store__sq_node_expire,
	.nodes = store__sq_nodes,
	.place = store__sq_place,
	.session_info = store__sq_session_info,
	.placed = store__sq_placed,
	.session_end_node = store__sq_session_end_node,
	.session_progress = store__sq_session_progress,
	.session_stop = store__sq_session_stop,
	.sessions_close_node = store__sq_sessions_close_node,
	.nodes_reap = store__sq_nodes_reap,
};
