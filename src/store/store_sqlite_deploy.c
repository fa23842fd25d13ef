/* The SQLite backend's deployed versions (store.h, "Deployed versions";
 * schema version 6) and withdrawals (schema version 8). Statements are
 * prepared per call: a deploy or a withdrawal is rare, and a node polls for
 * new ones every few seconds. */
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "core/buf.h"
#include "store/store_sqlite.h"

const char store__sq_schema_v6[] =
	"CREATE TABLE deploys ("
	" project_id TEXT NOT NULL, version INTEGER NOT NULL, config TEXT NOT NULL,"
	" files TEXT NOT NULL, created TEXT NOT NULL, PRIMARY KEY (project_id, version));";

int store__sq_deploy_put(void *db, const char *id, int version, const char *config,
			 const char *files)
{
	struct store__sq *s = db;
	char now[32];
	sqlite3_stmt *st = NULL;
	int rc = -1;
	store_now(now, sizeof now);
	store__sq_lock_for_write(s);
	if (sqlite3_prepare_v2(s->db,
			       "INSERT INTO deploys (project_id, version, config, files, created)"
			       " VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT DO NOTHING",
			       -1, &st, NULL) == SQLITE_OK &&
	    sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC) == SQLITE_OK &&
	    sqlite3_bind_int(st, 2, version) == SQLITE_OK &&
	    sqlite3_bind_text(st, 3, config, -1, SQLITE_STATIC) == SQLITE_OK &&
	    sqlite3_bind_text(st, 4, files, -1, SQLITE_STATIC) == SQLITE_OK &&
	    sqlite3_bind_text(st, 5, now, -1, SQLITE_STATIC) == SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_DONE)
		rc = 0;
	sqlite3_finalize(st);
	pthread_mutex_unlock(&s->mu);
	return rc;
}

static char *dup_col(sqlite3_stmt *st, int c)
{
	const unsigned char *t = sqlite3_column_text(st, c);
	return strdup(t ? (const char *)t : "");
}

int store__sq_deploy_get(void *db, const char *id, int version, int *got, char **config,
			 char **files)
{
	struct store__sq *s = db;
	sqlite3_stmt *st = NULL;
	int rc = -1;
	*config = *files = NULL;
	pthread_mutex_lock(&s->mu);
	if (s->version < 6) {
		pthread_mutex_unlock(&s->mu);
		return 0; /* an older database read as it is: no deployed versions */
	}
	const char *sql = version > 0 ? "SELECT version, config, files FROM deploys"
					" WHERE project_id = ?1 AND version = ?2"
				      : "SELECT version, config, files FROM deploys"
					" WHERE project_id = ?1 ORDER BY version DESC LIMIT 1";
	if (sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) != SQLITE_OK ||
	    sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC) != SQLITE_OK ||
	    (version > 0 && sqlite3_bind_int(st, 2, version) != SQLITE_OK))
		goto out;
	int r = sqlite3_step(st);
	if (r == SQLITE_DONE) {
		rc = 0;
	} else if (r == SQLITE_ROW) {
		*got = sqlite3_column_int(st, 0);
		*config = dup_col(st, 1);
		*files = dup_col(st, 2);
		if (*config && *files) {
			rc = 1;
		} else {
			free(*config);
			free(*files);
			*config = *files = NULL;
		}
	}
out:
	sqlite3_finalize(st);
	pthread_mutex_unlock(&s->mu);
	return rc;
}

int store__sq_deploys_latest(void *db, int (*fn)(void *user, const char *id, int version),
			     void *user)
{
	struct store__sq *s = db;
	sqlite3_stmt *st = NULL;
	int rc = -1;
	pthread_mutex_lock(&s->mu);
	if (s->version < 6) {
		pthread_mutex_unlock(&s->mu);
		return 0;
	}
	if (sqlite3_prepare_v2(s->db,
			       "SELECT project_id, max(version) FROM deploys GROUP BY project_id"
			       " ORDER BY project_id",
			       -1, &st, NULL) != SQLITE_OK)
		goto out;
	int r;
	while ((r = sqlite3_step(st)) == SQLITE_ROW) {
		const unsigned char *id = sqlite3_column_text(st, 0);
		if (id && fn(user, (const char *)id, sqlite3_column_int(st, 1)) != 0)
			break;
	}
	rc = r == SQLITE_ROW || r == SQLITE_DONE ? 0 : -1;
out:
	sqlite3_finalize(st);
	pthread_mutex_unlock(&s->mu);
	return rc;
}

const char store__sq_schema_v8[] =
	"CREATE TABLE withdrawals ("
	" id INTEGER PRIMARY KEY, project_id TEXT NOT NULL, user_id TEXT NOT NULL,"
	" node TEXT NOT NULL, at TEXT NOT NULL);"
	"CREATE INDEX withdrawals_user ON withdrawals (project_id, user_id);";

int store__sq_withdrawal_add(void *db, const char *project_id, const char *user_id,
			     const char *node, long long *id)
{
	struct store__sq *s = db;
	char now[32];
	sqlite3_stmt *st = NULL;
	int rc = -1;
	store_now(now, sizeof now);
	store__sq_lock_for_write(s);
	if (sqlite3_prepare_v2(s->db,
			       "INSERT INTO withdrawals (project_id, user_id, node, at)"
			       " VALUES (?1, ?2, ?3, ?4)",
			       -1, &st, NULL) == SQLITE_OK &&
	    sqlite3_bind_text(st, 1, project_id, -1, SQLITE_STATIC) == SQLITE_OK &&
	    sqlite3_bind_text(st, 2, user_id, -1, SQLITE_STATIC) == SQLITE_OK &&
	    sqlite3_bind_text(st, 3, node, -1, SQLITE_STATIC) == SQLITE_OK &&
	    sqlite3_bind_text(st, 4, now, -1, SQLITE_STATIC) == SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_DONE) {
		*id = sqlite3_last_insert_rowid(s->db);
		rc = 0;
	}
	sqlite3_finalize(st);
	pthread_mutex_unlock(&s->mu);
	return rc;
}

/* The rows are copied out before FN runs, so FN never runs under the lock. */
struct wd_rows {
	struct store_withdrawal_row *v;
	size_t n;
};

static void wd_free(struct wd_rows *k)
{
	for (size_t i = 0; i < k->n; i++) {
		free((char *)k->v[i].project_id);
		free((char *)k->v[i].user_id);
		free((char *)k->v[i].node);
		free((char *)k->v[i].at);
	}
	free(k->v);
}

int store__sq_withdrawals(void *db, long long after, store_withdrawal_fn fn, void *user)
{
	struct store__sq *s = db;
	sqlite3_stmt *st = NULL;
	struct wd_rows k = {0};
	size_t cap = 0;
	int rc = -1, r = SQLITE_ERROR;
	pthread_mutex_lock(&s->mu);
	if (s->version < 8) {
		pthread_mutex_unlock(&s->mu);
		return 0;
	}
	if (sqlite3_prepare_v2(s->db,
			       "SELECT id, project_id, user_id, node, at FROM withdrawals"
			       " WHERE id > ?1 ORDER BY id",
			       -1, &st, NULL) == SQLITE_OK &&
	    sqlite3_bind_int64(st, 1, after) == SQLITE_OK) {
		while ((r = sqlite3_step(st)) == SQLITE_ROW) {
			if (buf_grow_array((void **)&k.v, &cap, k.n + 1, sizeof *k.v, 16, 0) < 0)
				break;
			k.v[k.n++] = (struct store_withdrawal_row){
				.id = sqlite3_column_int64(st, 0),
				.project_id = dup_col(st, 1),
				.user_id = dup_col(st, 2),
				.node = dup_col(st, 3),
				.at = dup_col(st, 4)};
		}
	}
	sqlite3_finalize(st);
	pthread_mutex_unlock(&s->mu);
	if (r == SQLITE_DONE) {
		rc = 0;
		for (size_t i = 0; i < k.n && rc == 0; i++) {
			const struct store_withdrawal_row *w = &k.v[i];
			if (!w->project_id || !w->user_id || !w->node || !w->at) {
				rc = -1;
				break;
			}
			rc = fn(user, w);
		}
	}
	wd_free(&k);
	return rc;
}

int store__sq_withdrawn_since(void *db, const char *project_id, const char *user_id,
			      const char *since)
{
	struct store__sq *s = db;
	sqlite3_stmt *st = NULL;
	int rc = -1;
	pthread_mutex_lock(&s->mu);
	if (s->version < 8) {
		pthread_mutex_unlock(&s->mu);
		return 0;
	}
	if (sqlite3_prepare_v2(s->db,
			       "SELECT 1 FROM withdrawals WHERE project_id = ?1 AND user_id = ?2"
			       " AND at >= ?3 LIMIT 1",
			       -1, &st, NULL) == SQLITE_OK &&
	    sqlite3_bind_text(st, 1, project_id, -1, SQLITE_STATIC) == SQLITE_OK &&
	    sqlite3_bind_text(st, 2, user_id, -1, SQLITE_STATIC) == SQLITE_OK &&
	    sqlite3_bind_text(st, 3, since, -1, SQLITE_STATIC) == SQLITE_OK) {
		int r = sqlite3_step(st);
		rc = r == SQLITE_ROW ? 1 : r == SQLITE_DONE ? 0 : -1;
	}
	sqlite3_finalize(st);
	pthread_mutex_unlock(&s->mu);
	return rc;
}
