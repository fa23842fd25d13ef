/* The PostgreSQL backend's deployed versions (store.h, "Deployed versions";
 * schema version 6) and withdrawals (schema version 8), on the main
 * connection. */
#include <stdlib.h>
#include <string.h>

#include "store/store_pg.h"

int store__pg_deploy_put(void *db, const char *id, int version, const char *config,
			 const char *files)
{
	struct store__pg *s = db;
	char now[32], b1[24];
	store_now(now, sizeof now);
	long long n = store__pg_exec_main(s, PG_DEPLOY_PUT,
					  PG_PARAMS(PG_STR(id), PG_INT(b1, version), PG_STR(config),
						    PG_STR(files), PG_STR(now)));
	return n < 0 ? -1 : 0;
}

int store__pg_deploy_get(void *db, const char *id, int version, int *got, char **config,
			 char **files)
{
	struct store__pg *s = db;
	char b1[24];
	*config = *files = NULL;
	if (s->version < 6)
		return 0;
	PGresult *r =
		version > 0
			? store__pg_query_main(s, PG_DEPLOY_GET,
					       PG_PARAMS(PG_STR(id), PG_INT(b1, version)))
			: store__pg_query_main(s, PG_DEPLOY_LATEST_1, PG_PARAMS(PG_STR(id)));
	if (!r)
		return -1;
	int rc = 0;
	if (PQntuples(r) > 0) {
		const char *c = store__pg_text(r, 0, 1), *f = store__pg_text(r, 0, 2);
		*got = (int)store__pg_ll(r, 0, 0);
		*config = strdup(c ? c : "");
		*files = strdup(f ? f : "");
		rc = 1;
		if (!*config || !*files) {
			free(*config);
			free(*files);
			*config = *files = NULL;
			rc = -1;
		}
	}
	PQclear(r);
	return rc;
}

int store__pg_deploys_latest(void *db, int (*fn)(void *user, const char *id, int version),
			     void *user)
{
	struct store__pg *s = db;
	if (s->version < 6)
		return 0;
	PGresult *r = store__pg_query_main(s, PG_DEPLOYS_LATEST, 0, NULL);
	if (!r)
		return -1;
	for (int i = 0; i < PQntuples(r); i++) {
		const char *id = store__pg_text(r, i, 0);
		if (id && fn(user, id, (int)store__pg_ll(r, i, 1)) != 0)
			break;
	}
	PQclear(r);
	return 0;
}

const char store__pg_schema_v8[] =
	"CREATE TABLE withdrawals ("
	" id BIGSERIAL PRIMARY KEY, project_id TEXT NOT NULL, user_id TEXT NOT NULL,"
	" node TEXT NOT NULL, at TEXT NOT NULL);"
	"CREATE INDEX withdrawals_user ON withdrawals (project_id, user_id);";

int store__pg_withdrawal_add(void *db, const char *project_id, const char *user_id,
			     const char *node, long long *id)
{
	struct store__pg *s = db;
	char now[32];
	store_now(now, sizeof now);
	PGresult *r = store__pg_query_main(s, PG_WITHDRAWAL_ADD,
			       PG_PARAMS(PG_STR(project_id), PG_STR(user_id), PG_STR(node),
					 PG_STR(now)));
	if (!r)
		return -1;
	int rc = PQntuples(r) == 1 ? 0 : -1;
	if (rc == 0)
		*id = store__pg_ll(r, 0, 0);
	PQclear(r);
	return rc;
}

int store__pg_withdrawals(void *db, long long after, store_withdrawal_fn fn, void *user)
{
	struct store__pg *s = db;
	char b1[24];
	if (s->version < 8)
		return 0;
	PGresult *r = store__pg_query_main(s, PG_WITHDRAWALS, PG_PARAMS(PG_INT(b1, after)));
	if (!r)
		return -1;
	int rc = 0;
	for (int i = 0; i < PQntuples(r) && rc == 0; i++) {
		struct store_withdrawal_row w = {.id = store__pg_ll(r, i, 0),
						 .project_id = store__pg_text(r, i, 1),
						 .user_id = store__pg_text(r, i, 2),
						 .node = store__pg_text(r, i, 3),
						 .at = store__pg_text(r, i, 4)};
		rc = w.project_id && w.user_id && w.node && w.at ? fn(user, &w) : -1;
	}
	PQclear(r);
	return rc;
}

int store__pg_withdrawn_since(void *db, const char *project_id, const char *user_id,
			      const char *since)
{
	struct store__pg *s = db;
	if (s->version < 8)
		return 0;
	PGresult *r = store__pg_query_main(s, PG_WITHDRAWN_SINCE,
			       PG_PARAMS(PG_STR(project_id), PG_STR(user_id), PG_STR(since)));
	if (!r)
		return -1;
	int rc = PQntuples(r) > 0 ? 1 : 0;
	PQclear(r);
	return rc;
}
