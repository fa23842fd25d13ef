/* The SQLite backend's deployed versions (store.h, "Deployed versions";
 * schema version 6). Statements are prepared per call: a deploy is rare and
 * a node polls the latest versions every few seconds. */
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

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
