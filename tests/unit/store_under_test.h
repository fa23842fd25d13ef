/* store_under_test.h: the participant store the unit tests open. By default
 * an SQLite file; with HIPPO_TEST_STORE=postgresql://... (CTest's `_pg`
 * variants run the test under `tests/integration/pgutil.py run`, which starts
 * a PostgreSQL server of its own and sets it) a fresh database of that
 * server. Tests look into the store with tsu_sql(), whose SQL both backends
 * read ("?1" is the parameter). */
#ifndef HIPPO_TEST_STORE_UNDER_TEST_H
#define HIPPO_TEST_STORE_UNDER_TEST_H

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>
#include <sqlite3.h>

#include "store/store.h"

/* Whether the tests run against PostgreSQL. */
static inline bool tsu_pg(void)
{
	const char *e = getenv("HIPPO_TEST_STORE");
	return e && strncmp(e, "postgres", 8) == 0;
}

static inline const char *tsu_backend(void)
{
	return tsu_pg() ? "postgresql" : "sqlite";
}

static inline void tsu_quiet(void *arg, const char *msg)
{
	(void)arg;
	(void)msg;
}

/* The spec of a new, empty store NAME ([a-z0-9_]): DIR/NAME.db, or a new
 * database t_NAME (dropped first) on the test's server. 0, or -1 (printed). */
static inline int tsu_new(char *out, size_t len, const char *dir, const char *name)
{
	if (!tsu_pg()) {
		snprintf(out, len, "%s/%s.db", dir, name);
		remove(out);
		return 0;
	}
	const char *base = getenv("HIPPO_TEST_STORE");
	const char *slash = strrchr(base, '/');
	PGconn *c = PQconnectdb(base);
	PQsetNoticeProcessor(c, tsu_quiet, NULL);
	char sql[160];
	int rc = 0;
	const char *steps[] = {"DROP DATABASE IF EXISTS t_%s", "CREATE DATABASE t_%s"};
	for (int i = 0; i < 2 && rc == 0; i++) {
		snprintf(sql, sizeof sql, steps[i], name);
		PGresult *r = PQstatus(c) == CONNECTION_OK ? PQexec(c, sql) : NULL;
		if (!r || PQresultStatus(r) != PGRES_COMMAND_OK) {
			fprintf(stderr, "%s: %s", sql, PQerrorMessage(c));
			rc = -1;
		}
		PQclear(r);
	}
	PQfinish(c);
	snprintf(out, len, "%.*s/t_%s", (int)(slash - base), base, name);
	return rc;
}

/* Runs SQL on the store SPEC (several statements when ARG is NULL and the
 * SQL has no parameter), "?1" bound to ARG. OUT (may be NULL) gets the first
 * row, its columns separated by '|' (NULL as ""), "" when none. 0, or -1
 * (printed). */
static inline int tsu_sql(const char *spec, const char *sql, const char *arg, char *out, size_t len)
{
	int rc = 0;
	size_t o = 0;
	if (out && len)
		out[0] = '\0';
	if (strncmp(spec, "postgres", 8) == 0) {
		char q[2048];
		snprintf(q, sizeof q, "%s", sql);
		for (char *p = q; *p; p++)
			if (*p == '?')
				*p = '$';
		PGconn *c = PQconnectdb(spec);
		PGresult *r = PQstatus(c) != CONNECTION_OK ? NULL
			      : arg ? PQexecParams(c, q, 1, NULL, &arg, NULL, NULL, 0)
				    : PQexec(c, q);
		ExecStatusType st = r ? PQresultStatus(r) : PGRES_FATAL_ERROR;
		if (st != PGRES_TUPLES_OK && st != PGRES_COMMAND_OK) {
			fprintf(stderr, "%s: %s", sql, PQerrorMessage(c));
			rc = -1;
		} else if (st == PGRES_TUPLES_OK && PQntuples(r) > 0) {
			for (int i = 0; i < PQnfields(r) && out; i++)
				o += (size_t)snprintf(out + o, o < len ? len - o : 0, "%s%s",
						      i ? "|" : "", PQgetvalue(r, 0, i));
		}
		PQclear(r);
		PQfinish(c);
		return rc;
	}
	const char *path = strncmp(spec, "sqlite:", 7) == 0 ? spec + 7 : spec;
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	if (sqlite3_open(path, &db) != SQLITE_OK) {
		fprintf(stderr, "%s: %s\n", path, sqlite3_errmsg(db));
		sqlite3_close(db);
		return -1;
	}
	sqlite3_busy_timeout(db, 5000);
	if (!arg && !out) {
		char *msg = NULL;
		if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK) {
			fprintf(stderr, "%s: %s\n", sql, msg ? msg : "?");
			rc = -1;
		}
		sqlite3_free(msg);
		sqlite3_close(db);
		return rc;
	}
	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) {
		fprintf(stderr, "%s: %s\n", sql, sqlite3_errmsg(db));
		rc = -1;
		goto out;
	}
	if (arg)
		sqlite3_bind_text(st, 1, arg, -1, SQLITE_TRANSIENT);
	int k = sqlite3_step(st);
	if (k == SQLITE_ROW) {
		for (int i = 0; i < sqlite3_column_count(st) && out; i++) {
			const unsigned char *v = sqlite3_column_text(st, i);
			o += (size_t)snprintf(out + o, o < len ? len - o : 0, "%s%s", i ? "|" : "",
					      v ? (const char *)v : "");
		}
	} else if (k != SQLITE_DONE) {
		fprintf(stderr, "%s: %s\n", sql, sqlite3_errmsg(db));
		rc = -1;
	}
out:
	sqlite3_finalize(st);
	sqlite3_close(db);
	return rc;
}

/* The first column of SQL's first row as a number (a PostgreSQL boolean as
 * 1 or 0); -1 on error or no row. */
static inline long long tsu_value(const char *spec, const char *sql, const char *arg)
{
	char v[64];
	if (tsu_sql(spec, sql, arg, v, sizeof v) < 0 || !v[0])
		return -1;
	if (strcmp(v, "t") == 0 || strcmp(v, "f") == 0)
		return v[0] == 't';
	return strtoll(v, NULL, 10);
}

/* PostgreSQL: makes the new store SPEC a database of schema version V (as
 * the migrations up to V left it): opened by the current code, then the
 * versions past V taken back, newest first. (SQLite tests write the old
 * schema themselves.) */
static inline int tsu_pg_make_version(const char *spec, int v)
{
	static const char *const undo[] = {
		[2] = "ALTER TABLE requests DROP COLUMN header_set, DROP COLUMN repeats,"
		      " DROP COLUMN last",
		[3] = "ALTER TABLE answers DROP COLUMN page_hash, DROP COLUMN project_version;"
		      "DROP TABLE passes",
		[4] = "ALTER TABLE sessions DROP COLUMN node, DROP COLUMN stop, DROP COLUMN episodes;"
		      "DROP TABLE nodes",
		[5] = "ALTER TABLE nodes DROP COLUMN probe",
		[6] = "DROP TABLE deploys",
		[7] = "ALTER TABLE participants DROP COLUMN preview",
	};
	_Static_assert(sizeof undo / sizeof undo[0] == STORE_SCHEMA_VERSION + 1,
		       "a way back from each version");
	char err[256], sql[64];
	struct store *s = store_open(spec, err, sizeof err);
	if (!s) {
		fprintf(stderr, "%s\n", err);
		return -1;
	}
	store_close(s);
	for (int i = STORE_SCHEMA_VERSION; i > v; i--)
		if (tsu_sql(spec, undo[i], NULL, NULL, 0) < 0)
			return -1;
	snprintf(sql, sizeof sql, "DELETE FROM schema_version WHERE version > %d", v);
	return tsu_sql(spec, sql, NULL, NULL, 0);
}

#endif
