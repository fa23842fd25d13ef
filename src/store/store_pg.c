/* The PostgreSQL backend: the schema and its migrations, the statements, the
 * request-batch thread, opening and closing, and the backend table (see
 * store_pg.h and docs/data.md). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/clock.h"
#include "store/store_pg.h"

/* Advisory lock keys (two int4 keys: a class, then an object): the schema
 * migrations of the database, and the group assignments of one project. */
#define LOCK_SCHEMA "1751740528, 0"
#define LOCK_GROUPS "1751740529"

#define FLUSH_EVERY_MS 200

/* ------------------------------------------------------------ schema */

/* The same tables and columns as the SQLite schema, version for version
 * (docs/data.md): row ids are BIGSERIAL and the columns referring to them
 * BIGINT; digests are BYTEA, and so are answer values, which may hold NUL
 * bytes (TEXT cannot). Times stay ISO 8601 TEXT. */
static const char schema_v1_sql[] =
	"CREATE TABLE projects ("
	" id TEXT PRIMARY KEY, name TEXT, researcher TEXT, dir TEXT,"
	" version INTEGER NOT NULL DEFAULT 1, deployed INTEGER NOT NULL DEFAULT 0,"
	" live_override INTEGER, updated TEXT NOT NULL);"
	"CREATE TABLE participants ("
	" id BIGSERIAL PRIMARY KEY, project_id TEXT NOT NULL, user_id TEXT NOT NULL,"
	" created TEXT NOT NULL, updated TEXT NOT NULL, step INTEGER NOT NULL DEFAULT 1,"
	" status TEXT NOT NULL DEFAULT 'active', crowd TEXT,"
	" UNIQUE (project_id, user_id));"
	"CREATE INDEX participants_step ON participants (project_id, step);"
	"CREATE TABLE answers ("
	" id BIGSERIAL PRIMARY KEY, participant BIGINT NOT NULL REFERENCES participants (id),"
	" step INTEGER NOT NULL, field TEXT NOT NULL, value BYTEA, time TEXT NOT NULL);"
	"CREATE INDEX answers_participant ON answers (participant, step);"
	"CREATE TABLE requests ("
	" id BIGSERIAL PRIMARY KEY, participant BIGINT NOT NULL REFERENCES participants (id),"
	" time TEXT NOT NULL, method TEXT NOT NULL, step INTEGER, headers TEXT, ip TEXT);"
	"CREATE INDEX requests_participant ON requests (participant, id);"
	"CREATE TABLE header_sets ("
	" id BIGSERIAL PRIMARY KEY, participant BIGINT NOT NULL REFERENCES participants (id),"
	" digest BYTEA NOT NULL, headers TEXT NOT NULL, first TEXT NOT NULL,"
	" UNIQUE (participant, digest));"
	"CREATE TABLE sessions ("
	" id BIGSERIAL PRIMARY KEY, participant BIGINT NOT NULL REFERENCES participants (id),"
	" step INTEGER, started TEXT NOT NULL, stopped TEXT, reason TEXT, files TEXT);"
	"CREATE INDEX sessions_participant ON sessions (participant, id);"
	"CREATE INDEX sessions_open ON sessions (stopped) WHERE stopped IS NULL;"
	"CREATE TABLE groups ("
	" participant BIGINT NOT NULL REFERENCES participants (id), project_id TEXT NOT NULL,"
	" n INTEGER NOT NULL, grp INTEGER NOT NULL, assigned TEXT NOT NULL,"
	" PRIMARY KEY (participant, n));"
	"CREATE INDEX groups_count ON groups (project_id, n, grp);";

/* Version 2 (store__versions[2]). */
static const char schema_v2_sql[] =
	"ALTER TABLE requests ADD COLUMN header_set BIGINT REFERENCES header_sets (id);"
	"ALTER TABLE requests ADD COLUMN repeats BIGINT NOT NULL DEFAULT 0;"
	"ALTER TABLE requests ADD COLUMN last TEXT;";

/* Version 3 (store__versions[3]). */
static const char schema_v3_sql[] =
	"ALTER TABLE answers ADD COLUMN page_hash TEXT;"
	"ALTER TABLE answers ADD COLUMN project_version INTEGER;"
	"CREATE TABLE passes ("
	" id BIGSERIAL PRIMARY KEY, participant BIGINT NOT NULL REFERENCES participants (id),"
	" step INTEGER NOT NULL, page_hash TEXT, project_version INTEGER, time TEXT NOT NULL);"
	"CREATE INDEX passes_participant ON passes (participant, id);";

/* Indexes that are no part of a schema version (what a query needs, not what
 * is stored): made at every read-write open when missing. For the console:
 * counts by step and state and the idle participants, and when each
 * participant saw each step, each from its index alone. */
static const char indexes_sql[] =
	"CREATE INDEX IF NOT EXISTS participants_state"
	" ON participants (project_id, status, step, updated);"
	"CREATE INDEX IF NOT EXISTS requests_steps ON requests (participant, step, time);";

/* Version 4 (store__versions[4]): the cluster's nodes and the node a
 * session is placed on (store_int.h, "Cluster"). */
static const char schema_v4_sql[] =
	"CREATE TABLE nodes ("
	" name TEXT PRIMARY KEY, url TEXT NOT NULL, slots INTEGER NOT NULL,"
	" draining BOOLEAN NOT NULL DEFAULT false, lease_until BIGINT NOT NULL,"
	" renewed TEXT NOT NULL);"
	"ALTER TABLE sessions ADD COLUMN node TEXT;"
	"ALTER TABLE sessions ADD COLUMN stop TEXT;"
	"ALTER TABLE sessions ADD COLUMN episodes INTEGER;"
	"CREATE INDEX sessions_node_open ON sessions (node) WHERE stopped IS NULL;";

/* Version 5 (store__versions[5]): the internal URL of a node. */
static const char schema_v5_sql[] = "ALTER TABLE nodes ADD COLUMN probe TEXT;";

/* Version 6 (store__versions[6]): the files of each deployed version. */
static const char schema_v6_sql[] =
	"CREATE TABLE deploys ("
	" project_id TEXT NOT NULL, version INTEGER NOT NULL, config TEXT NOT NULL,"
	" files TEXT NOT NULL, created TEXT NOT NULL, PRIMARY KEY (project_id, version));";

/* Version 7 (store__versions[7]): a researcher's preview participants. */
static const char schema_v7_sql[] =
	"ALTER TABLE participants ADD COLUMN preview BOOLEAN NOT NULL DEFAULT false;";

static const struct migration {
	int version;
	const char *sql;
} migrations[] = {
	{1, schema_v1_sql},
	{2, schema_v2_sql},
	{3, schema_v3_sql},
	{4, schema_v4_sql},
	{5, schema_v5_sql},
	{6, schema_v6_sql},
	{7, schema_v7_sql},
};

_Static_assert(sizeof migrations / sizeof migrations[0] == STORE_SCHEMA_VERSION,
	       "one migration per schema version");

/* ------------------------------------------------------------ statements */

/* Text ordered as SQLite orders it (bytes), whatever the database's collation. */
#define C_ORDER " COLLATE \"C\""
/* The columns the participant iterator reads (struct store_participant_row). */
#define PART_COLS                                                                                  \
	"SELECT p.id, p.project_id, p.user_id, p.created, p.updated, p.step, p.status, p.crowd,"   \
	" (SELECT string_agg(g.grp::text, ';' ORDER BY g.n) FROM groups g"                         \
	"   WHERE g.participant = p.id),"                                                          \
	" (SELECT count(*) FROM sessions s WHERE s.participant = p.id),"                           \
	" (SELECT min(s.started" C_ORDER ") FROM sessions s WHERE s.participant = p.id),"          \
	" (SELECT max(s.stopped" C_ORDER ") FROM sessions s WHERE s.participant = p.id),"          \
	" (SELECT s.reason FROM sessions s WHERE s.participant = p.id ORDER BY s.id DESC LIMIT 1)," \
	" p.preview::int FROM participants p"
#define BY_CREATION " ORDER BY p.created" C_ORDER ", p.id"
/* Rows of a project's participants ($1; the preview participants' too when
 * $2), oldest participant first, or of one participant ($1 its id). A
 * database before schema version 7 reads "p.preview" as false (prepare()). */
#define NOT_PREVIEW      " AND ($2::boolean OR NOT p.preview)"
#define OF_PROJECT                                                                                 \
	" JOIN participants p ON p.id = x.participant WHERE p.project_id = $1" NOT_PREVIEW
#define OF_PROJECT_ORDER BY_CREATION ", x.id"
#define OF_ONE           " JOIN participants p ON p.id = x.participant WHERE x.participant = $1"
#define ANSWER_COLS                                                                                \
	"SELECT x.participant::bigint, p.user_id, x.step::integer, x.field, x.value, x.time,"      \
	" x.page_hash, coalesce(x.project_version, 0)::integer FROM answers x"
#define ANSWER_V2_COLS                                                                             \
	"SELECT x.participant::bigint, p.user_id, x.step::integer, x.field, x.value, x.time,"      \
	" NULL::text, 0::integer FROM answers x"
#define PASS_COLS                                                                                  \
	"SELECT x.participant, p.user_id, x.step, x.page_hash, coalesce(x.project_version, 0),"    \
	" x.time FROM passes x"
#define GROUP_COLS "SELECT x.participant, p.user_id, x.n, x.grp, x.assigned FROM groups x"
#define SESS_COLS                                                                                  \
	"SELECT x.participant, p.user_id, x.step, x.started, x.stopped, x.reason, x.files"         \
	" FROM sessions x"
#define REQ_COLS                                                                                   \
	"SELECT x.participant, p.user_id, x.time, coalesce(x.last, x.time), x.method, x.step,"     \
	" coalesce(h.headers, x.headers), x.ip, x.repeats FROM requests x"                         \
	" LEFT JOIN header_sets h ON h.id = x.header_set"
/* The console's filters of the participants (store_find): $2 step, $3
 * status, $4/$5 group n/grp, $6 a text in the userId or the crowd ids, $7
 * updated before (each 0 or NULL: not applied), $8 preview participants too. */
#define FIND_WHERE                                                                                 \
	" AND ($2::int = 0 OR p.step = $2) AND ($3::text IS NULL OR p.status = $3)"                \
	" AND ($4::int = 0 OR EXISTS (SELECT 1 FROM groups g WHERE g.participant = p.id"           \
	"  AND g.n = $4 AND g.grp = $5::int))"                                                     \
	" AND ($6::text IS NULL OR strpos(p.user_id, $6) > 0"                                      \
	"  OR strpos(coalesce(p.crowd, ''), $6) > 0)"                                              \
	" AND ($7::text IS NULL OR p.updated" C_ORDER " < $7) AND ($8::boolean OR NOT p.preview)"
#define REQ_V1_COLS                                                                                \
	"SELECT x.participant, p.user_id, x.time, x.time, x.method, x.step, x.headers, x.ip, 0"    \
	" FROM requests x"

/* The cluster (store_int.h, "Cluster"): times of leases are milliseconds
 * since 1970 by the server's clock, taken once per statement, never the
 * nodes'. A node's used slots are its open sessions, counted. */
#define NOW_MS "(extract(epoch FROM statement_timestamp()) * 1000)::bigint"
#define USED_OF(n)                                                                                 \
	"(SELECT count(*) FROM sessions s WHERE s.node = " n " AND s.stopped IS NULL)"
#define NODE_COLS                                                                                  \
	"SELECT n.name, n.url, n.slots, " USED_OF("n.name") ", n.draining::int,"                   \
	" n.lease_until - " NOW_MS ", n.renewed,"

const char *const store__pg_sql[PG_COUNT] = {
	[PG_BEGIN] = "BEGIN",
	[PG_COMMIT] = "COMMIT",
	[PG_ROLLBACK] = "ROLLBACK",
	[PG_PART_GET] = "SELECT id, step, status, created, p.preview::int FROM participants p"
			" WHERE project_id = $1 AND user_id = $2",
	[PG_PART_INSERT] = "INSERT INTO participants"
			   " (project_id, user_id, created, updated, step, crowd, preview)"
			   " VALUES ($1, $2, $3, $3, 1, $4, $5::boolean)"
			   " ON CONFLICT (project_id, user_id) DO NOTHING",
	[PG_PART_CROWD] = "UPDATE participants SET crowd = $2 WHERE id = $1",
	[PG_PART_CROWD_LOCK] = "SELECT crowd FROM participants WHERE id = $1 FOR UPDATE",
	/* a participant withdrawn meanwhile gets no row (and fails no batch) */
	[PG_REQ_INSERT] = "INSERT INTO requests"
			  " (participant, time, method, step, header_set, ip, repeats, last)"
			  " SELECT $1, $2, $3, $4, $5, $6, $7, $8"
			  " WHERE EXISTS (SELECT 1 FROM participants WHERE id = $1)",
	[PG_REQ_LAST] = "SELECT id, method, step, header_set, ip, (headers IS NULL)::int"
			" FROM requests WHERE participant = $1 ORDER BY id DESC LIMIT 1",
	[PG_REQ_COUNT] = "SELECT count(*) FROM (SELECT 1 FROM requests WHERE participant = $1"
			 " LIMIT " STORE_REQUESTS_MAX_TEXT ") r",
	[PG_REQ_FOLD] = "UPDATE requests SET repeats = repeats + $2, last = $3 WHERE id = $1",
	[PG_HSET_GET] = "SELECT id FROM header_sets WHERE participant = $1 AND digest = $2",
	[PG_HSET_COUNT] = "SELECT count(*) FROM header_sets WHERE participant = $1",
	[PG_HSET_INSERT] = "INSERT INTO header_sets (participant, digest, headers, first)"
			   " SELECT $1, $2, $3, $4"
			   " WHERE EXISTS (SELECT 1 FROM participants WHERE id = $1)"
			   " ON CONFLICT (participant, digest) DO NOTHING RETURNING id",
	[PG_PART_STEP_LOCK] = "SELECT step FROM participants WHERE id = $1 FOR UPDATE",
	[PG_ANSWER_ANY] = "SELECT 1 FROM answers WHERE participant = $1 AND step = $2 LIMIT 1",
	[PG_ADVANCE] = "UPDATE participants SET step = $3, updated = $4,"
		       " status = CASE WHEN $5::int <> 0 THEN 'completed' ELSE status END"
		       " WHERE id = $1 AND step = $2",
	[PG_ANSWER_INSERT] = "INSERT INTO answers"
			     " (participant, step, field, value, time, page_hash, project_version)"
			     " VALUES ($1, $2, $3, $4, $5, $6, $7)",
	[PG_PASS_INSERT] =
		"INSERT INTO passes (participant, step, page_hash, project_version, time)"
		" VALUES ($1, $2, $3, $4, $5)",
	[PG_GROUP_GET] = "SELECT grp FROM groups WHERE participant = $1 AND n = $2",
	[PG_GROUP_LOCK] = "SELECT 1 FROM pg_advisory_xact_lock(" LOCK_GROUPS ", hashtext($1))",
	[PG_GROUP_COUNTS] = "SELECT grp, count(*) FROM groups WHERE project_id = $1 AND n = $2"
			    " GROUP BY grp",
	[PG_GROUP_INSERT] = "INSERT INTO groups (participant, project_id, n, grp, assigned)"
			    " VALUES ($1, $2, $3, $4, $5)",
	[PG_SESS_START] = "INSERT INTO sessions (participant, step, started) VALUES ($1, $2, $3)",
	[PG_SESS_END] = "UPDATE sessions SET stopped = $2, reason = $3, files = $4"
			" WHERE participant = $1 AND stopped IS NULL",
	[PG_SESS_LAST] = "SELECT (stopped IS NULL)::int, coalesce(reason, '') FROM sessions"
			 " WHERE participant = $1 ORDER BY id DESC LIMIT 1",
	[PG_SESS_CLOSE_ALL] = "UPDATE sessions SET stopped = $1, reason = $2 WHERE stopped IS NULL",
	[PG_SESS_OPEN] = "SELECT count(*) FROM sessions WHERE stopped IS NULL",
	[PG_PROJ_LOCK] = "SELECT version FROM projects WHERE id = $1 FOR UPDATE",
	[PG_PROJ_PUT] =
		"INSERT INTO projects (id, name, researcher, dir, version, deployed, updated)"
		" VALUES ($1, $2, $3, $4, $5, $6, $7)"
		" ON CONFLICT (id) DO UPDATE SET name = $2, researcher = $3, dir = $4,"
		" version = $5, deployed = $6, updated = $7,"
		" live_override = CASE WHEN $6 <> 0 THEN NULL ELSE projects.live_override END",
	[PG_DEPLOY_PUT] = "INSERT INTO deploys (project_id, version, config, files, created)"
			  " VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING",
	[PG_DEPLOY_GET] = "SELECT version, config, files FROM deploys"
			  " WHERE project_id = $1 AND version = $2",
	[PG_DEPLOY_LATEST_1] = "SELECT version, config, files FROM deploys"
			       " WHERE project_id = $1 ORDER BY version DESC LIMIT 1",
	[PG_DEPLOYS_LATEST] = "SELECT project_id, max(version) FROM deploys GROUP BY project_id"
			      " ORDER BY project_id",
	[PG_PROJ_LIVE_GET] = "SELECT live_override FROM projects WHERE id = $1",
	[PG_PROJ_LIVE_SET] = "UPDATE projects SET live_override = $2, updated = $3 WHERE id = $1",
	[PG_STEP_COUNTS] = "SELECT project_id, step, status, count(*) FROM participants p"
			   " WHERE project_id = $1 AND NOT p.preview GROUP BY project_id, step, status"
			   " ORDER BY step, status" C_ORDER,
	[PG_STEP_COUNTS_ALL] = "SELECT project_id, step, NULL::text, count(*) FROM participants p"
			       " WHERE NOT p.preview GROUP BY project_id, step ORDER BY project_id" C_ORDER ", step",
	/* the console: the page's ids first, the summaries for its rows only */
	[PG_PART_FIND] = PART_COLS " WHERE p.id IN (SELECT p.id FROM participants p"
			 " WHERE p.project_id = $1" FIND_WHERE " ORDER BY p.id DESC"
			 " LIMIT $9 OFFSET $10) ORDER BY p.id DESC",
	[PG_PART_FIND_COUNT] = "SELECT count(*) FROM participants p WHERE p.project_id = $1"
			       FIND_WHERE,
	/* every request row, a participant's together */
	[PG_STEP_TIMES] = "SELECT r.participant, r.step, r.time FROM participants p"
			  " JOIN requests r ON r.participant = p.id"
			  " WHERE p.project_id = $1 AND r.step IS NOT NULL AND NOT p.preview"
			  " ORDER BY r.participant",
	[PG_GROUP_COUNTS_ALL] = "SELECT n, grp, count(*) FROM groups WHERE project_id = $1"
				" GROUP BY n, grp ORDER BY n, grp",
	[PG_PART_LOCK] = "SELECT id FROM participants WHERE id = $1 FOR UPDATE",
	[PG_DEL_ANSWERS] = "DELETE FROM answers WHERE participant = $1",
	[PG_DEL_PASSES] = "DELETE FROM passes WHERE participant = $1",
	[PG_DEL_REQUESTS] = "DELETE FROM requests WHERE participant = $1",
	[PG_DEL_HSETS] = "DELETE FROM header_sets WHERE participant = $1",
	[PG_DEL_SESSIONS] = "DELETE FROM sessions WHERE participant = $1",
	[PG_DEL_GROUPS] = "DELETE FROM groups WHERE participant = $1",
	[PG_DEL_PART] = "DELETE FROM participants WHERE id = $1",
	[PG_PART_LIST_P] = PART_COLS " WHERE p.project_id = $1" NOT_PREVIEW BY_CREATION,
	[PG_PART_LIST_ID_P] = PART_COLS " WHERE p.project_id = $1" NOT_PREVIEW " ORDER BY p.id",
	[PG_PART_LIST_1] = PART_COLS " WHERE p.id = $1",
	[PG_ANSWER_LIST_P] = ANSWER_COLS OF_PROJECT OF_PROJECT_ORDER,
	[PG_ANSWER_LIST_1] = ANSWER_COLS OF_ONE " ORDER BY x.id",
	[PG_ANSWER_LIST_V2_P] = ANSWER_V2_COLS OF_PROJECT OF_PROJECT_ORDER,
	[PG_ANSWER_LIST_V2_1] = ANSWER_V2_COLS OF_ONE " ORDER BY x.id",
	[PG_PASS_LIST_P] = PASS_COLS OF_PROJECT OF_PROJECT_ORDER,
	[PG_PASS_LIST_1] = PASS_COLS OF_ONE " ORDER BY x.id",
	[PG_GROUP_LIST_P] = GROUP_COLS OF_PROJECT BY_CREATION ", x.n",
	[PG_GROUP_LIST_1] = GROUP_COLS OF_ONE " ORDER BY x.n",
	[PG_SESS_LIST_P] = SESS_COLS OF_PROJECT OF_PROJECT_ORDER,
	[PG_SESS_LIST_1] = SESS_COLS OF_ONE " ORDER BY x.id",
	[PG_REQ_LIST_P] = REQ_COLS OF_PROJECT OF_PROJECT_ORDER,
	[PG_REQ_LIST_1] = REQ_COLS OF_ONE " ORDER BY x.id",
	[PG_REQ_LIST_V1_P] = REQ_V1_COLS OF_PROJECT OF_PROJECT_ORDER,
	[PG_REQ_LIST_V1_1] = REQ_V1_COLS OF_ONE " ORDER BY x.id",
	[PG_PROJ_LIST] = "SELECT id, name, researcher, dir, version, deployed,"
			 " coalesce(live_override, -1), updated FROM projects"
			 " WHERE $1::text IS NULL OR id = $1 ORDER BY id" C_ORDER,
	/* $8: fresh (the stored draining is replaced, not kept) */
	[PG_NODE_RENEW] =
		"INSERT INTO nodes (name, url, probe, slots, draining, lease_until, renewed)"
		" VALUES ($1, $2, $3, $4, $5::boolean, " NOW_MS " + $6::bigint, $7)"
		" ON CONFLICT (name) DO UPDATE SET url = $2, probe = $3, slots = $4,"
		" draining = CASE WHEN $8::boolean THEN $5::boolean"
		"  ELSE nodes.draining OR $5::boolean END,"
		" lease_until = " NOW_MS " + $6::bigint, renewed = $7 RETURNING draining::int",
	[PG_NODE_REMOVE] = "DELETE FROM nodes WHERE name = $1",
	[PG_NODE_DRAIN] = "UPDATE nodes SET draining = true WHERE name = $1",
	[PG_NODE_EXPIRE] = "UPDATE nodes SET lease_until = " NOW_MS
			   " WHERE name = $1 AND lease_until > " NOW_MS,
	[PG_NODES] = NODE_COLS " n.probe FROM nodes n ORDER BY n.name" C_ORDER,
	[PG_NODES_V4] = NODE_COLS " NULL::text FROM nodes n ORDER BY n.name" C_ORDER,
	/* a placement ($1 the participant, whose row is locked first) */
	[PG_PLACE_OPEN_OF] = "SELECT s.id, s.node, n.url,"
			     " coalesce(n.lease_until > " NOW_MS ", false)::int"
			     " FROM sessions s LEFT JOIN nodes n ON n.name = s.node"
			     " WHERE s.participant = $1 AND s.stopped IS NULL ORDER BY s.id DESC",
	[PG_PLACE_CLOSE_PART] = "UPDATE sessions SET stopped = $2, reason = $3"
				" WHERE participant = $1 AND stopped IS NULL",
	[PG_PLACE_CHOOSE] = "SELECT name FROM (SELECT n.name, n.slots, " USED_OF("n.name")
			    " AS used FROM nodes n WHERE n.lease_until > " NOW_MS
			    " AND NOT n.draining) c WHERE used < slots"
			    " ORDER BY used::float8 / slots, used, name" C_ORDER " LIMIT 1",
	/* the chosen node, locked: still live and not draining */
	[PG_PLACE_NODE_LOCK] = "SELECT url, slots FROM nodes WHERE name = $1"
			       " AND lease_until > " NOW_MS " AND NOT draining FOR UPDATE",
	/* under the node's lock, its open sessions counted anew ($6: its slots) */
	[PG_PLACE_INSERT] = "INSERT INTO sessions (participant, step, started, node, episodes)"
			    " SELECT $1::bigint, $2::int, $3::text, $4::text, $5::int"
			    " WHERE (SELECT count(*) FROM sessions"
			    "  WHERE node = $4::text AND stopped IS NULL) < $6::int RETURNING id",
	[PG_SESS_INFO] = "SELECT s.id, (s.stopped IS NULL)::int, coalesce(s.reason, ''),"
			 " coalesce(s.stop, ''), coalesce(s.node, ''), coalesce(n.url, ''),"
			 " coalesce(n.lease_until > " NOW_MS ", false)::int, coalesce(s.episodes, 0)"
			 " FROM sessions s LEFT JOIN nodes n ON n.name = s.node"
			 " WHERE s.participant = $1 ORDER BY s.id DESC LIMIT 1",
	[PG_PLACED] = "SELECT s.id, s.participant, p.project_id, p.user_id, s.step, s.stop,"
		      " coalesce(s.episodes, 0)"
		      " FROM sessions s JOIN participants p ON p.id = s.participant"
		      " WHERE s.node = $1 AND s.stopped IS NULL ORDER BY s.id",
	[PG_SESS_END_NODE] = "UPDATE sessions SET stopped = $3, reason = $4, files = $5"
			     " WHERE participant = $1 AND node = $2 AND stopped IS NULL",
	[PG_SESS_STOP] = "UPDATE sessions SET stop = $2 WHERE participant = $1"
			 " AND stopped IS NULL AND node IS NOT NULL AND stop IS NULL",
	[PG_SESS_PROGRESS] = "UPDATE sessions SET episodes = $3 WHERE id = (SELECT max(id)"
			     " FROM sessions WHERE participant = $1 AND node = $2)",
	[PG_SESS_CLOSE_NODE] = "UPDATE sessions SET stopped = $2, reason = $3"
			       " WHERE stopped IS NULL AND node IS NOT DISTINCT FROM $1::text",
	[PG_NODES_REAP] = "UPDATE sessions SET stopped = $1, reason = 'node_lost'"
			  " WHERE stopped IS NULL AND node IS NOT NULL AND node NOT IN"
			  " (SELECT name FROM nodes WHERE lease_until > " NOW_MS ")",
};

/* ------------------------------------------------------------ schema */

/* A statement without parameters (the schema's DDL, fixed text); 0 or -1. */
static int exec_fixed(struct store__pg *s, struct store__pg_conn *k, const char *sql)
{
	PGresult *r = PQexec(k->c, sql);
	ExecStatusType st = r ? PQresultStatus(r) : PGRES_FATAL_ERROR;
	bool ok = st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK;
	if (!ok)
		store__pg_fail(s, k, r);
	PQclear(r);
	return ok ? 0 : -1;
}

/* The database's schema version: 0 when it has none, -1 on error. */
static int schema_version(struct store__pg *s, struct store__pg_conn *k)
{
	PGresult *r = PQexec(k->c, "SELECT to_regclass('schema_version') IS NOT NULL");
	if (!r || PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) != 1) {
		store__pg_fail(s, k, r);
		PQclear(r);
		return -1;
	}
	bool has = PQgetvalue(r, 0, 0)[0] == 't';
	PQclear(r);
	if (!has)
		return 0;
	r = PQexec(k->c, "SELECT coalesce(max(version), 0) FROM schema_version");
	int v = -1;
	if (r && PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1)
		v = (int)store__pg_ll(r, 0, 0);
	else
		store__pg_fail(s, k, r);
	PQclear(r);
	return v;
}

/* Brings the database to STORE_SCHEMA_VERSION: the migrations past its
 * version in one transaction, one schema_version row per version applied.
 * Under a session advisory lock, so servers starting at once migrate once. */
static int schema_migrate(struct store__pg *s, char *err, size_t errlen)
{
	struct store__pg_conn *k = &s->main;
	int rc = -1, v;
	if (exec_fixed(s, k, "SELECT pg_advisory_lock(" LOCK_SCHEMA ")") < 0) {
		snprintf(err, errlen, "%s: schema lock: %s", s->masked, k->err);
		return -1;
	}
	if (exec_fixed(s, k, "BEGIN") < 0 ||
	    exec_fixed(s, k,
		       "CREATE TABLE IF NOT EXISTS schema_version"
		       " (version INTEGER NOT NULL)") < 0 ||
	    (v = schema_version(s, k)) < 0) {
		snprintf(err, errlen, "%s: schema version: %s", s->masked, k->err);
		goto out;
	}
	if (v > STORE_SCHEMA_VERSION) {
		snprintf(err, errlen,
			 "%s: the database has schema version %d, newer than this "
			 "hippo's %d",
			 s->masked, v, STORE_SCHEMA_VERSION);
		goto out;
	}
	for (size_t i = 0; i < sizeof migrations / sizeof migrations[0]; i++) {
		const struct migration *m = &migrations[i];
		if (m->version <= v)
			continue;
		char b[24];
		struct store__pg_param p = store__pg_int(b, m->version);
		PGresult *r = NULL;
		if (exec_fixed(s, k, m->sql) < 0 ||
		    !(r = PQexecParams(k->c, "INSERT INTO schema_version (version) VALUES ($1)", 1,
				       NULL, &p.v, NULL, NULL, 0)) ||
		    PQresultStatus(r) != PGRES_COMMAND_OK) {
			if (r)
				store__pg_fail(s, k, r);
			PQclear(r);
			snprintf(err, errlen, "%s: schema version %d: %s", s->masked, m->version,
				 k->err);
			goto out;
		}
		PQclear(r);
	}
	if (exec_fixed(s, k, indexes_sql) < 0 || exec_fixed(s, k, "COMMIT") < 0) {
		snprintf(err, errlen, "%s: schema: %s", s->masked, k->err);
		goto out;
	}
	s->version = STORE_SCHEMA_VERSION;
	rc = 0;
out:
	if (rc < 0 && PQtransactionStatus(k->c) != PQTRANS_IDLE)
		exec_fixed(s, k, "ROLLBACK");
	exec_fixed(s, k, "SELECT pg_advisory_unlock(" LOCK_SCHEMA ")");
	return rc;
}

/* ------------------------------------------------------------ batches */

static void *bg_main(void *arg)
{
	struct store__pg *s = arg;
	pthread_mutex_lock(&s->mu);
	while (!s->bg_stop) {
		struct timespec ts = clock_deadline(CLOCK_MONOTONIC, FLUSH_EVERY_MS);
		pthread_cond_timedwait(&s->bg_cond, &s->mu, &ts);
		if (s->bg_stop || s->npending == 0)
			continue;
		pthread_mutex_unlock(&s->mu);
		store__pg_flush_pending(s);
		pthread_mutex_lock(&s->mu);
	}
	pthread_mutex_unlock(&s->mu);
	return NULL;
}

/* ------------------------------------------------------------ open, close */

static void pg_close(void *db)
{
	struct store__pg *s = db;
	if (!s)
		return;
	if (s->bg_started) {
		pthread_mutex_lock(&s->mu);
		s->bg_stop = true;
		pthread_cond_signal(&s->bg_cond);
		pthread_mutex_unlock(&s->mu);
		pthread_join(s->bg, NULL);
	}
	if (s->batch.c && !s->read_only)
		store__pg_flush_pending(s);
	for (size_t i = 0; i < s->npending; i++) { /* left over by a failed flush */
		free((char *)s->pending[i].headers);
		free((char *)s->pending[i].ip);
	}
	PQfinish(s->batch.c);
	PQfinish(s->main.c);
	pthread_cond_destroy(&s->bg_cond);
	pthread_mutex_destroy(&s->flush_mu);
	pthread_mutex_destroy(&s->mu);
	if (s->secret)
		memset(s->secret, 0, strlen(s->secret));
	free(s->secret);
	if (s->url)
		memset(s->url, 0, strlen(s->url));
	free(s->url);
	free(s);
}

/* WHERE is the spec after "SCHEME:". */
static int pg_open_as(const char *scheme, const char *where, unsigned flags, void **out, char *err,
		      size_t errlen)
{
	*out = NULL;
	struct store__pg *s = calloc(1, sizeof *s);
	size_t n = strlen(scheme) + 1 + strlen(where) + 1;
	if (!s || !(s->url = malloc(n))) {
		free(s);
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	snprintf(s->url, n, "%s:%s", scheme, where);
	store_spec_masked(s->url, s->masked, sizeof s->masked);
	s->read_only = flags & STORE_READ_ONLY;
	pthread_mutex_init(&s->mu, NULL);
	pthread_mutex_init(&s->flush_mu, NULL);
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&s->bg_cond, &ca);
	pthread_condattr_destroy(&ca);
	int rc = -1;
	if (store__pg_url_check(s->url, &s->secret, s->masked, err, errlen) < 0 ||
	    store__pg_connect(s, &s->main, "main", err, errlen) < 0)
		goto out;
	if (s->read_only) {
		s->version = schema_version(s, &s->main);
		if (s->version < 0) {
			snprintf(err, errlen, "%s: %s", s->masked, s->main.err);
			goto out;
		}
		if (s->version == 0) { /* no store in this database */
			rc = 1;
			goto out;
		}
		if (s->version > STORE_SCHEMA_VERSION) {
			snprintf(err, errlen,
				 "%s: the database has schema version %d, newer than "
				 "this hippo's %d",
				 s->masked, s->version, STORE_SCHEMA_VERSION);
			goto out;
		}
		rc = 0;
		goto out;
	}
	if (schema_migrate(s, err, errlen) < 0 ||
	    store__pg_connect(s, &s->batch, "batch", err, errlen) < 0)
		goto out;
	if (pthread_create(&s->bg, NULL, bg_main, s) != 0) {
		snprintf(err, errlen, "cannot start the store's batch thread");
		goto out;
	}
	s->bg_started = true;
	rc = 0;
out:
	if (rc != 0) {
		pg_close(s);
		return rc;
	}
	*out = s;
	return 0;
}

static int pg_open(const char *where, unsigned flags, void **out, char *err, size_t errlen)
{
	return pg_open_as("postgresql", where, flags, out, err, errlen);
}

static int pg_open_short(const char *where, unsigned flags, void **out, char *err, size_t errlen)
{
	return pg_open_as("postgres", where, flags, out, err, errlen);
}

static const char *pg_errmsg(void *db)
{
	struct store__pg *s = db;
	return s->last_failed ? s->last_failed->err : "no error";
}

#define PG_SLOTS                                                                                   \
	.close = pg_close, .errmsg = pg_errmsg, .flush = store__pg_flush,                          \
	.participant_get = store__pg_participant_get,                                              \
	.participant_ensure = store__pg_participant_ensure, .request_log = store__pg_request_log,  \
	.advance = store__pg_advance, .submit_final = store__pg_submit_final,                      \
	.group_get = store__pg_group_get, .group_assign = store__pg_group_assign,                  \
	.session_start = store__pg_session_start, .session_end = store__pg_session_end,            \
	.session_last = store__pg_session_last,                                                    \
	.sessions_close_all = store__pg_sessions_close_all,                                        \
	.sessions_open = store__pg_sessions_open, .project_put = store__pg_project_put,            \
	.project_live_get = store__pg_project_live_get,                                            \
	.project_live_set = store__pg_project_live_set, .participants = store__pg_participants,    \
	.deploy_put = store__pg_deploy_put, .deploy_get = store__pg_deploy_get,                    \
	.deploys_latest = store__pg_deploys_latest,                                                \
	.answers = store__pg_answers, .groups = store__pg_groups, .sessions = store__pg_sessions,  \
	.requests = store__pg_requests, .passes = store__pg_passes,                                \
	.step_counts = store__pg_step_counts, .projects = store__pg_projects,                       \
	.participants_find = store__pg_participants_find, .step_times = store__pg_step_times,      \
	.group_counts = store__pg_group_counts, .participant_delete = store__pg_participant_delete, \
	.node_renew = store__pg_node_renew, .node_remove = store__pg_node_remove,                  \
	.node_drain = store__pg_node_drain, .node_expire = store__pg_node_expire,                  \
	.nodes = store__pg_nodes, .place = store__pg_place, .session_info = store__pg_session_info, \
	.placed = store__pg_placed, .session_end_node = store__pg_session_end_node,                \
	.session_progress = store__pg_session_progress, .session_stop = store__pg_session_stop,    \
	.sessions_close_node = store__pg_sessions_close_node, .nodes_reap = store__pg_nodes_reap

const struct store_backend store__postgresql = {.scheme = "postgresql", .open = pg_open, PG_SLOTS};
const struct store_backend store__postgres = {
	.scheme = "postgres", .open = pg_open_short, PG_SLOTS};
