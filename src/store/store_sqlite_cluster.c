/* The SQLite backend's cluster slots (store.h, "cluster"; store_int.h): the
 * nodes and their leases, placements, and the sessions placed on a node.
 * Several processes share the database file (WAL mode); every write here is
 * one statement or one BEGIN IMMEDIATE transaction, which SQLite serialises
 * across processes, so a placement counts and takes a slot atomically.
 * Lease times are clock_wall_ms() of the caller: the nodes of one SQLite
 * store share a machine, and so a clock. */
#include <stdlib.h>
#include <string.h>

#include "core/clock.h"
#include "store/store_sqlite.h"

/* Schema version 4 (store__versions[4]). */
const char store__sq_schema_v4[] =
	"CREATE TABLE IF NOT EXISTS nodes ("
	" name TEXT PRIMARY KEY, url TEXT NOT NULL, slots INTEGER NOT NULL,"
	" draining INTEGER NOT NULL DEFAULT 0, lease_until INTEGER NOT NULL,"
	" renewed TEXT NOT NULL);"
	"ALTER TABLE sessions ADD COLUMN node TEXT;"
	"ALTER TABLE sessions ADD COLUMN stop TEXT;"
	"ALTER TABLE sessions ADD COLUMN episodes INTEGER;"
	"CREATE INDEX IF NOT EXISTS sessions_node_open ON sessions (node)"
	" WHERE stopped IS NULL;";

/* Schema version 5 (store__versions[5]). */
const char store__sq_schema_v5[] = "ALTER TABLE nodes ADD COLUMN probe TEXT;";

/* The open sessions of node N (a correlated count). */
#define USED_OF(n) "(SELECT count(*) FROM sessions s WHERE s.node = " n " AND s.stopped IS NULL)"

static const char *const cl_sql[CL_COUNT] = {
	/* ?8: fresh (the stored draining is replaced, not kept) */
	[CL_NODE_RENEW] = "INSERT INTO nodes (name, url, slots, draining, lease_until, renewed, probe)"
			  " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) ON CONFLICT (name) DO UPDATE SET"
			  " url = ?2, slots = ?3,"
			  " draining = CASE WHEN ?8 THEN ?4 ELSE (nodes.draining OR ?4) END,"
			  " lease_until = ?5, renewed = ?6, probe = ?7 RETURNING draining",
	[CL_NODE_REMOVE] = "DELETE FROM nodes WHERE name = ?1",
	[CL_NODE_DRAIN] = "UPDATE nodes SET draining = 1 WHERE name = ?1",
	[CL_NODE_EXPIRE] = "UPDATE nodes SET lease_until = ?2 WHERE name = ?1 AND lease_until > ?2",
	[CL_NODES] = "SELECT n.name, n.url, n.slots, " USED_OF("n.name") ", n.draining,"
		     " n.lease_until - ?1, n.renewed, n.probe FROM nodes n ORDER BY n.name",
	/* a database of schema version 4 (read only): no probe */
	[CL_NODES_V4] = "SELECT n.name, n.url, n.slots, " USED_OF("n.name") ", n.draining,"
			" n.lease_until - ?1, n.renewed, NULL FROM nodes n ORDER BY n.name",
	[CL_OPEN_OF] = "SELECT s.id, s.node, n.url, coalesce(n.lease_until > ?2, 0)"
		       " FROM sessions s LEFT JOIN nodes n ON n.name = s.node"
		       " WHERE s.participant = ?1 AND s.stopped IS NULL ORDER BY s.id DESC",
	[CL_CLOSE_PART] = "UPDATE sessions SET stopped = ?2, reason = ?3"
			  " WHERE participant = ?1 AND stopped IS NULL",
	[CL_CHOOSE] = "SELECT name, url FROM (SELECT n.name, n.url, n.slots, " USED_OF("n.name")
		      " AS used FROM nodes n WHERE n.lease_until > ?1 AND n.draining = 0)"
		      " WHERE used < slots ORDER BY CAST(used AS REAL) / slots, used, name LIMIT 1",
	[CL_INSERT] = "INSERT INTO sessions (participant, step, started, node, episodes)"
		      " VALUES (?1, ?2, ?3, ?4, ?5)",
	[CL_INFO] = "SELECT s.id, s.stopped IS NULL, coalesce(s.reason, ''), coalesce(s.stop, ''),"
		    " coalesce(s.node, ''), coalesce(n.url, ''), coalesce(n.lease_until > ?2, 0),"
		    " coalesce(s.episodes, 0) FROM sessions s LEFT JOIN nodes n ON n.name = s.node"
		    " WHERE s.participant = ?1 ORDER BY s.id DESC LIMIT 1",
	[CL_PLACED] = "SELECT s.id, s.participant, p.project_id, p.user_id, s.step, s.stop,"
		      " coalesce(s.episodes, 0)"
		      " FROM sessions s JOIN participants p ON p.id = s.participant"
		      " WHERE s.node = ?1 AND s.stopped IS NULL ORDER BY s.id",
	[CL_END_NODE] = "UPDATE sessions SET stopped = ?3, reason = ?4, files = ?5"
			" WHERE participant = ?1 AND node = ?2 AND stopped IS NULL",
	[CL_STOP] = "UPDATE sessions SET stop = ?2 WHERE participant = ?1 AND stopped IS NULL"
		    " AND node IS NOT NULL AND stop IS NULL",
	[CL_PROGRESS] = "UPDATE sessions SET episodes = ?3 WHERE id = (SELECT max(id) FROM sessions"
			" WHERE participant = ?1 AND node = ?2)",
	[CL_CLOSE_NODE] = "UPDATE sessions SET stopped = ?2, reason = ?3"
			  " WHERE stopped IS NULL AND node IS ?1",
	[CL_REAP] = "UPDATE sessions SET stopped = ?2, reason = 'node_lost'"
		    " WHERE stopped IS NULL AND node IS NOT NULL"
		    " AND node NOT IN (SELECT name FROM nodes WHERE lease_until > ?1)",
};

/* The statement, reset and unbound (s->mu held); NULL when it cannot be
 * prepared (a read-only store of an older version). */
static sqlite3_stmt *cl_stmt(struct store__sq *s, enum store__sq_cl id)
{
	sqlite3_stmt *st = s->cl[id];
	if (!st) {
		if (sqlite3_prepare_v3(s->db, cl_sql[id], -1, SQLITE_PREPARE_PERSISTENT, &s->cl[id],
				       NULL) != SQLITE_OK)
			return NULL;
		return s->cl[id];
	}
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return st;
}

void store__sq_cl_finalize(struct store__sq *s)
{
	for (int i = 0; i < CL_COUNT; i++)
		sqlite3_finalize(s->cl[i]);
}

static void copy_text(char *dst, size_t len, sqlite3_stmt *st, int col)
{
	const unsigned char *v = sqlite3_column_text(st, col);
	snprintf(dst, len, "%s", v ? (const char *)v : "");
}

/* Runs a write of one statement; its changes, or -1. */
static int changes_of(struct store__sq *s, sqlite3_stmt *st)
{
	int rc = store__sq_exec(st);
	return rc == 0 ? sqlite3_changes(s->db) : -1;
}

int store__sq_node_renew(void *db, const char *name, const char *url, const char *probe,
			 int slots, bool draining, bool fresh, int lease_ms, bool *drain_asked)
{
	struct store__sq *s = db;
	char now[32];
	store_now(now, sizeof now);
	store__sq_lock_for_write(s);
	sqlite3_stmt *st = cl_stmt(s, CL_NODE_RENEW);
	int rc = -1;
	if (st) {
		store__sq_bind_text(st, 1, name);
		store__sq_bind_text(st, 2, url);
		sqlite3_bind_int(st, 3, slots);
		sqlite3_bind_int(st, 4, draining ? 1 : 0);
		sqlite3_bind_int64(st, 5, clock_wall_ms() + lease_ms);
		store__sq_bind_text(st, 6, now);
		store__sq_bind_text(st, 7, probe);
		sqlite3_bind_int(st, 8, fresh ? 1 : 0);
		int k = sqlite3_step(st);
		if (k == SQLITE_ROW) {
			if (drain_asked)
				*drain_asked = sqlite3_column_int(st, 0) != 0;
			k = sqlite3_step(st);
		}
		rc = k == SQLITE_DONE ? 0 : -1;
		sqlite3_reset(st);
	}
	pthread_mutex_unlock(&s->mu);
	return rc;
}

int store__sq_node_remove(void *db, const char *name)
{
	struct store__sq *s = db;
	store__sq_lock_for_write(s);
	sqlite3_stmt *st = cl_stmt(s, CL_NODE_REMOVE);
	int rc = -1;
	if (st) {
		store__sq_bind_text(st, 1, name);
		rc = store__sq_exec(st);
	}
	pthread_mutex_unlock(&s->mu);
	return rc;
}

int store__sq_node_drain(void *db, const char *name)
{
	struct store__sq *s = db;
	store__sq_lock_for_write(s);
	sqlite3_stmt *st = cl_stmt(s, CL_NODE_DRAIN);
	int rc = -1;
	if (st) {
		store__sq_bind_text(st, 1, name);
		rc = changes_of(s, st);
	}
	pthread_mutex_unlock(&s->mu);
	return rc;
}

int store__sq_node_expire(void *db, const char *name)
{
	struct store__sq *s = db;
	store__sq_lock_for_write(s);
	sqlite3_stmt *st = cl_stmt(s, CL_NODE_EXPIRE);
	int rc = -1;
	if (st) {
		store__sq_bind_text(st, 1, name);
		sqlite3_bind_int64(st, 2, clock_wall_ms());
		rc = changes_of(s, st);
	}
	pthread_mutex_unlock(&s->mu);
	return rc;
}

int store__sq_nodes(void *db, store_node_fn fn, void *user)
{
	struct store__sq *s = db;
	int rc = -1, k, stop = 0;
	pthread_mutex_lock(&s->mu);
	sqlite3_stmt *st = cl_stmt(s, s->version >= 5 ? CL_NODES : CL_NODES_V4);
	if (!st)
		goto out;
	sqlite3_bind_int64(st, 1, clock_wall_ms());
	while ((k = sqlite3_step(st)) == SQLITE_ROW) {
		long long left = sqlite3_column_int64(st, 5);
		struct store_node_row r = {
			.name = (const char *)sqlite3_column_text(st, 0),
			.url = (const char *)sqlite3_column_text(st, 1),
			.slots = sqlite3_column_int(st, 2),
			.used = sqlite3_column_int(st, 3),
			.draining = sqlite3_column_int(st, 4) != 0,
			.live = left > 0,
			.lease_left_ms = left,
			.renewed = (const char *)sqlite3_column_text(st, 6),
		};
		copy_text(r.probe, sizeof r.probe, st, 7);
		if ((stop = fn(user, &r)) != 0)
			break;
	}
	rc = stop ? stop : k == SQLITE_DONE ? 0 : -1;
	sqlite3_reset(st);
out:
	pthread_mutex_unlock(&s->mu);
	return rc;
}

/* Inside the placement's transaction: 1 with *OUT when the participant has
 * an open session on a live node; otherwise closes their open sessions
 * ("lost") and returns 0; -1 on error. */
static int place_existing(struct store__sq *s, long long pid, int64_t now_ms, const char *now,
			  struct store_placement *out)
{
	sqlite3_stmt *st = cl_stmt(s, CL_OPEN_OF);
	if (!st)
		return -1;
	sqlite3_bind_int64(st, 1, pid);
	sqlite3_bind_int64(st, 2, now_ms);
	int k, found = 0;
	while ((k = sqlite3_step(st)) == SQLITE_ROW) {
		if (sqlite3_column_type(st, 1) != SQLITE_NULL && sqlite3_column_int(st, 3)) {
			out->session = sqlite3_column_int64(st, 0);
			copy_text(out->node, sizeof out->node, st, 1);
			copy_text(out->url, sizeof out->url, st, 2);
			found = 1;
			break;
		}
		found = -2; /* open, but not on a live node */
	}
	sqlite3_reset(st);
	if (k != SQLITE_ROW && k != SQLITE_DONE)
		return -1;
	if (found == 1)
		return 1;
	if (found == -2) {
		st = cl_stmt(s, CL_CLOSE_PART);
		sqlite3_bind_int64(st, 1, pid);
		store__sq_bind_text(st, 2, now);
		store__sq_bind_text(st, 3, "lost");
		if (store__sq_exec(st) < 0)
			return -1;
	}
	return 0;
}

int store__sq_place(void *db, long long pid, int step, int episodes,
		    struct store_placement *out)
{
	struct store__sq *s = db;
	char now[32];
	int64_t now_ms = clock_wall_ms();
	int rc = -1;
	store_now(now, sizeof now);
	store__sq_lock_for_write(s);
	if (store__sq_begin(s) < 0)
		goto out;
	int k = place_existing(s, pid, now_ms, now, out);
	if (k < 0)
		goto fail;
	if (k == 1) {
		rc = store__sq_commit(s) < 0 ? -1 : 2;
		goto out;
	}
	sqlite3_stmt *st = cl_stmt(s, CL_CHOOSE);
	sqlite3_bind_int64(st, 1, now_ms);
	k = sqlite3_step(st);
	if (k == SQLITE_ROW) {
		copy_text(out->node, sizeof out->node, st, 0);
		copy_text(out->url, sizeof out->url, st, 1);
	}
	sqlite3_reset(st);
	if (k == SQLITE_DONE) {
		rc = store__sq_commit(s) < 0 ? -1 : 0; /* commits the closes, if any */
		goto out;
	}
	if (k != SQLITE_ROW)
		goto fail;
	st = cl_stmt(s, CL_INSERT);
	sqlite3_bind_int64(st, 1, pid);
	sqlite3_bind_int(st, 2, step);
	store__sq_bind_text(st, 3, now);
	store__sq_bind_text(st, 4, out->node);
	sqlite3_bind_int(st, 5, episodes);
	if (store__sq_exec(st) < 0)
		goto fail;
	out->session = sqlite3_last_insert_rowid(s->db);
	if (store__sq_commit(s) < 0)
		goto fail;
	rc = 1;
	goto out;
fail:
	store__sq_rollback(s);
	rc = -1;
out:
	pthread_mutex_unlock(&s->mu);
	return rc;
}

int store__sq_session_info(void *db, long long pid, struct store_session_info *out)
{
	struct store__sq *s = db;
	int rc = -1;
	pthread_mutex_lock(&s->mu);
	sqlite3_stmt *st = cl_stmt(s, CL_INFO);
	if (st) {
		sqlite3_bind_int64(st, 1, pid);
		sqlite3_bind_int64(st, 2, clock_wall_ms());
		int k = sqlite3_step(st);
		if (k == SQLITE_ROW) {
			out->id = sqlite3_column_int64(st, 0);
			out->open = sqlite3_column_int(st, 1) != 0;
			copy_text(out->reason, sizeof out->reason, st, 2);
			copy_text(out->stop, sizeof out->stop, st, 3);
			copy_text(out->node, sizeof out->node, st, 4);
			copy_text(out->url, sizeof out->url, st, 5);
			out->node_live = sqlite3_column_int(st, 6) != 0;
			out->episodes = sqlite3_column_int(st, 7);
			rc = 1;
		} else {
			rc = k == SQLITE_DONE ? 0 : -1;
		}
		sqlite3_reset(st);
	}
	pthread_mutex_unlock(&s->mu);
	return rc;
}

int store__sq_placed(void *db, const char *node, store_placed_fn fn, void *user)
{
	struct store__sq *s = db;
	int rc = -1, k, stop = 0;
	pthread_mutex_lock(&s->mu);
	sqlite3_stmt *st = cl_stmt(s, CL_PLACED);
	if (!st)
		goto out;
	store__sq_bind_text(st, 1, node);
	while ((k = sqlite3_step(st)) == SQLITE_ROW) {
		struct store_placed_row r = {
			.session = sqlite3_column_int64(st, 0),
			.participant = sqlite3_column_int64(st, 1),
			.project_id = (const char *)sqlite3_column_text(st, 2),
			.user_id = (const char *)sqlite3_column_text(st, 3),
			.step = sqlite3_column_int(st, 4),
			.stop = (const char *)sqlite3_column_text(st, 5),
			.episodes = sqlite3_column_int(st, 6),
		};
		if ((stop = fn(user, &r)) != 0)
			break;
	}
	rc = stop ? stop : k == SQLITE_DONE ? 0 : -1;
	sqlite3_reset(st);
out:
	pthread_mutex_unlock(&s->mu);
	return rc;
}

int store__sq_session_end_node(void *db, long long pid, const char *node, const char *reason,
			       const char *files)
{
	struct store__sq *s = db;
	char now[32];
	store_now(now, sizeof now);
	store__sq_lock_for_write(s);
	sqlite3_stmt *st = cl_stmt(s, CL_END_NODE);
	int rc = -1;
	if (st) {
		sqlite3_bind_int64(st, 1, pid);
		store__sq_bind_text(st, 2, node);
		store__sq_bind_text(st, 3, now);
		store__sq_bind_text(st, 4, reason);
		store__sq_bind_text(st, 5, files);
		rc = changes_of(s, st);
	}
	pthread_mutex_unlock(&s->mu);
	return rc;
}

int store__sq_session_progress(void *db, long long pid, const char *node, int episodes)
{
	struct store__sq *s = db;
	store__sq_lock_for_write(s);
	sqlite3_stmt *st = cl_stmt(s, CL_PROGRESS);
	int rc = -1;
	if (st) {
		sqlite3_bind_int64(st, 1, pid);
		store__sq_bind_text(st, 2, node);
		sqlite3_bind_int(st, 3, episodes);
		rc = changes_of(s, st);
	}
	pthread_mutex_unlock(&s->mu);
	return rc;
}

int store__sq_session_stop(void *db, long long pid, const char *reason)
{
	struct store__sq *s = db;
	store__sq_lock_for_write(s);
	sqlite3_stmt *st = cl_stmt(s, CL_STOP);
	int rc = -1;
	if (st) {
		sqlite3_bind_int64(st, 1, pid);
		store__sq_bind_text(st, 2, reason);
		rc = changes_of(s, st);
	}
	pthread_mutex_unlock(&s->mu);
	return rc;
}

int store__sq_sessions_close_node(void *db, const char *node, const char *reason)
{
	struct store__sq *s = db;
	char now[32];
	store_now(now, sizeof now);
	store__sq_lock_for_write(s);
	sqlite3_stmt *st = cl_stmt(s, CL_CLOSE_NODE);
	int rc = -1;
	if (st) {
		store__sq_bind_text(st, 1, node);
		store__sq_bind_text(st, 2, now);
		store__sq_bind_text(st, 3, reason);
		rc = changes_of(s, st);
	}
	pthread_mutex_unlock(&s->mu);
	return rc;
}

int store__sq_nodes_reap(void *db)
{
	struct store__sq *s = db;
	char now[32];
	store_now(now, sizeof now);
	store__sq_lock_for_write(s);
	sqlite3_stmt *st = cl_stmt(s, CL_REAP);
	int rc = -1;
	if (st) {
		sqlite3_bind_int64(st, 1, clock_wall_ms());
		store__sq_bind_text(st, 2, now);
		rc = changes_of(s, st);
	}
	pthread_mutex_unlock(&s->mu);
	return rc;
}
