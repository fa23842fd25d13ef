/* The PostgreSQL backend's connections (see store_pg.h): the URL checked
 * before connecting, connecting and resetting a broken connection, running
 * the prepared statements, and error messages on one line without the
 * password. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "store/store_pg.h"

/* ------------------------------------------------------------ messages */

/* MSG on one line (newlines and tabs as spaces, runs of spaces as one,
 * trimmed) with each of SECRETS (NULL-terminated list, may be NULL) replaced
 * by "***", into OUT. */
static void message_clean(const char *msg, const char *const *secrets, char *out, size_t len)
{
	size_t o = 0;
	if (len == 0)
		return;
	for (const char *p = msg ? msg : ""; *p && o + 1 < len;) {
		size_t slen = 0;
		for (size_t i = 0; secrets && secrets[i] && !slen; i++)
			if (secrets[i][0] && strncmp(p, secrets[i], strlen(secrets[i])) == 0)
				slen = strlen(secrets[i]);
		if (slen) {
			for (const char *m = "***"; *m && o + 1 < len; m++)
				out[o++] = *m;
			p += slen;
			continue;
		}
		char ch = *p == '\n' || *p == '\t' || *p == '\r' ? ' ' : *p;
		p++;
		if (ch == ' ' && (o == 0 || out[o - 1] == ' '))
			continue;
		out[o++] = ch;
	}
	while (o > 0 && out[o - 1] == ' ')
		o--;
	out[o] = '\0';
}

void store__pg_fail(struct store__pg *s, struct store__pg_conn *k, const PGresult *r)
{
	const char *m = r ? PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY) : NULL;
	if (!m)
		m = k->c ? PQerrorMessage(k->c) : "out of memory";
	const char *secrets[] = {s->secret, NULL};
	message_clean(m && *m ? m : "unknown error", secrets, k->err, sizeof k->err);
	const char *state = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;
	snprintf(k->sqlstate, sizeof k->sqlstate, "%s", state ? state : "");
	s->last_failed = k;
}

/* ------------------------------------------------------------ statements */

/* The text of statement SQL for this database: before schema version 7
 * (read only) there is no participants.preview, and "p.preview" reads as
 * false (no preview participants). Returns SQL itself or a copy in BUF. */
static const char *stmt_text(const struct store__pg *s, const char *sql, char *buf, size_t len)
{
	static const char col[] = "p.preview", as[] = "false";
	if (s->version >= 7 || !strstr(sql, col) || strlen(sql) >= len)
		return sql;
	size_t o = 0;
	for (const char *c = sql; *c;) {
		if (strncmp(c, col, sizeof col - 1) == 0) {
			memcpy(buf + o, as, sizeof as - 1);
			o += sizeof as - 1;
			c += sizeof col - 1;
		} else {
			buf[o++] = *c++;
		}
	}
	buf[o] = '\0';
	return buf;
}

static int prepare(struct store__pg *s, struct store__pg_conn *k, enum store__pg_stmt id)
{
	if (k->prepared[id])
		return 0;
	char name[16], buf[4096];
	snprintf(name, sizeof name, "h%d", (int)id);
	PGresult *r =
		PQprepare(k->c, name, stmt_text(s, store__pg_sql[id], buf, sizeof buf), 0, NULL);
	bool ok = r && PQresultStatus(r) == PGRES_COMMAND_OK;
	if (!ok)
		store__pg_fail(s, k, r);
	PQclear(r);
	k->prepared[id] = ok;
	return ok ? 0 : -1;
}

#define MAX_PARAMS 10

/* The arrays PQexecPrepared takes, from P. */
struct params {
	const char *v[MAX_PARAMS];
	int len[MAX_PARAMS], fmt[MAX_PARAMS];
};

static void params_of(int n, const struct store__pg_param *p, struct params *a)
{
	for (int i = 0; i < n && i < MAX_PARAMS; i++) {
		a->v[i] = p[i].v;
		a->len[i] = p[i].len;
		a->fmt[i] = p[i].binary ? 1 : 0;
	}
}

PGresult *store__pg_run(struct store__pg *s, struct store__pg_conn *k, enum store__pg_stmt id,
			int n, const struct store__pg_param *p, bool binary_result)
{
	if (n > MAX_PARAMS || prepare(s, k, id) < 0)
		return NULL;
	struct params a;
	params_of(n, p, &a);
	char name[16];
	snprintf(name, sizeof name, "h%d", (int)id);
	PGresult *r = PQexecPrepared(k->c, name, n, a.v, a.len, a.fmt, binary_result ? 1 : 0);
	ExecStatusType st = r ? PQresultStatus(r) : PGRES_FATAL_ERROR;
	if (st == PGRES_TUPLES_OK || st == PGRES_COMMAND_OK)
		return r;
	store__pg_fail(s, k, r);
	PQclear(r);
	return NULL;
}

long long store__pg_exec(struct store__pg *s, struct store__pg_conn *k, enum store__pg_stmt id,
			 int n, const struct store__pg_param *p)
{
	PGresult *r = store__pg_run(s, k, id, n, p, false);
	if (!r)
		return -1;
	const char *t = PQcmdTuples(r);
	long long changed = t && *t ? strtoll(t, NULL, 10) : 0;
	PQclear(r);
	return changed;
}

int store__pg_send(struct store__pg *s, struct store__pg_conn *k, enum store__pg_stmt id, int n,
		   const struct store__pg_param *p, bool binary_result)
{
	if (n > MAX_PARAMS || prepare(s, k, id) < 0)
		return -1;
	struct params a;
	params_of(n, p, &a);
	char name[16];
	snprintf(name, sizeof name, "h%d", (int)id);
	if (!PQsendQueryPrepared(k->c, name, n, a.v, a.len, a.fmt, binary_result ? 1 : 0) ||
	    !PQsetSingleRowMode(k->c)) {
		store__pg_fail(s, k, NULL);
		return -1;
	}
	return 0;
}

int store__pg_begin(struct store__pg *s, struct store__pg_conn *k)
{
	return store__pg_exec(s, k, PG_BEGIN, 0, NULL) < 0 ? -1 : 0;
}

int store__pg_commit(struct store__pg *s, struct store__pg_conn *k)
{
	return store__pg_exec(s, k, PG_COMMIT, 0, NULL) < 0 ? -1 : 0;
}

void store__pg_rollback(struct store__pg *s, struct store__pg_conn *k)
{
	char keep[sizeof k->err], state[sizeof k->sqlstate];
	memcpy(keep, k->err, sizeof keep); /* the error that made it roll back */
	memcpy(state, k->sqlstate, sizeof state);
	if (PQtransactionStatus(k->c) != PQTRANS_IDLE)
		store__pg_exec(s, k, PG_ROLLBACK, 0, NULL);
	memcpy(k->err, keep, sizeof keep);
	memcpy(k->sqlstate, state, sizeof state);
}

long long store__pg_ll(const PGresult *r, int row, int c)
{
	if (PQgetisnull(r, row, c))
		return 0;
	const char *v = PQgetvalue(r, row, c);
	if (PQfformat(r, c) == 0)
		return strtoll(v, NULL, 10);
	int len = PQgetlength(r, row, c);
	uint64_t x = 0;
	for (int i = 0; i < len && i < 8; i++)
		x = x << 8 | (unsigned char)v[i];
	if (len == 4)
		return (int32_t)(uint32_t)x;
	if (len == 2)
		return (int16_t)(uint16_t)x;
	return (long long)x;
}

const char *store__pg_text(const PGresult *r, int row, int c)
{
	return PQgetisnull(r, row, c) ? NULL : PQgetvalue(r, row, c);
}

struct store__pg_param store__pg_int(char *buf, long long v)
{
	snprintf(buf, 24, "%lld", v);
	return (struct store__pg_param){.v = buf};
}

struct store__pg_param store__pg_str(const char *v)
{
	return (struct store__pg_param){.v = v};
}

/* ------------------------------------------------------------ connections */

static void notice_quiet(void *arg, const char *msg)
{
	(void)arg;
	(void)msg; /* "relation already exists, skipping" and the like */
}

/* What every connection sets once it is (re)connected. */
static int conn_setup(struct store__pg *s, struct store__pg_conn *k)
{
	memset(k->prepared, 0, sizeof k->prepared);
	PQsetNoticeProcessor(k->c, notice_quiet, NULL);
	if (!s->read_only)
		return 0;
	PGresult *r = PQexec(k->c, "SET default_transaction_read_only = on");
	bool ok = r && PQresultStatus(r) == PGRES_COMMAND_OK;
	if (!ok)
		store__pg_fail(s, k, r);
	PQclear(r);
	return ok ? 0 : -1;
}

int store__pg_connect(struct store__pg *s, struct store__pg_conn *k, const char *name, char *err,
		      size_t errlen)
{
	/* The URL's own parameters override the defaults before it; the ones
	 * after it override the URL. */
	const char *const keys[] = {"connect_timeout", "fallback_application_name", "dbname",
				    "client_encoding", NULL};
	const char *const vals[] = {"10", "hippo", s->url, "UTF8", NULL};
	k->name = name;
	k->c = PQconnectdbParams(keys, vals, 1);
	if (!k->c || PQstatus(k->c) != CONNECTION_OK) {
		store__pg_fail(s, k, NULL);
		snprintf(err, errlen, "%s: cannot connect: %s", s->masked, k->err);
		return -1;
	}
	if (conn_setup(s, k) < 0) {
		snprintf(err, errlen, "%s: %s", s->masked, k->err);
		return -1;
	}
	return 0;
}

bool store__pg_retry(struct store__pg *s, struct store__pg_conn *k, int *attempt)
{
	if ((*attempt)++ > 0 || !k->c || PQstatus(k->c) != CONNECTION_BAD)
		return false;
	log_warn("store", "the connection to PostgreSQL broke: reconnecting",
		 "store=\"%s\" connection=%s error=\"%s\"", s->masked, k->name, k->err);
	PQreset(k->c);
	if (PQstatus(k->c) != CONNECTION_OK || conn_setup(s, k) < 0) {
		store__pg_fail(s, k, NULL);
		log_error("store", "cannot reconnect to PostgreSQL", "store=\"%s\" error=\"%s\"",
			  s->masked, k->err);
		return false;
	}
	log_info("store", "reconnected to PostgreSQL", "store=\"%s\" connection=%s", s->masked,
		 k->name);
	return true;
}

/* ------------------------------------------------------------ the URL */

int store__pg_url_check(const char *url, char **secret, const char *masked, char *err,
			size_t errlen)
{
	*secret = NULL;
	const char *rest = strchr(url, ':') + 1;
	if (strncmp(rest, "//", 2) != 0) {
		snprintf(err, errlen,
			 "%s: not a PostgreSQL URL: expected "
			 "postgresql://USER@HOST:PORT/DATABASE",
			 masked);
		return -1;
	}
	char *perr = NULL;
	PQconninfoOption *opts = PQconninfoParse(url, &perr);
	if (!opts) {
		/* libpq quotes what it could not read, which may be the password as
		 * written in the URL */
		struct store__span sp[STORE__SECRETS_MAX];
		size_t n = store__spec_secrets(url, sp, STORE__SECRETS_MAX);
		char raw[STORE__SECRETS_MAX][256], m[256];
		const char *secrets[STORE__SECRETS_MAX + 1] = {0};
		for (size_t i = 0; i < n; i++) {
			snprintf(raw[i], sizeof raw[i], "%.*s", (int)sp[i].len, url + sp[i].off);
			secrets[i] = raw[i];
		}
		message_clean(perr ? perr : "out of memory", secrets, m, sizeof m);
		snprintf(err, errlen, "%s: bad PostgreSQL URL: %s", masked, m);
		PQfreemem(perr);
		return -1;
	}
	const char *db = NULL, *pw = NULL;
	for (PQconninfoOption *o = opts; o->keyword; o++) {
		if (strcmp(o->keyword, "dbname") == 0)
			db = o->val;
		else if (strcmp(o->keyword, "password") == 0)
			pw = o->val;
	}
	int rc = 0;
	if (!db || !*db) {
		snprintf(err, errlen,
			 "%s: no database named: expected "
			 "postgresql://USER@HOST:PORT/DATABASE",
			 masked);
		rc = -1;
	} else if (pw && *pw && !(*secret = strdup(pw))) {
		snprintf(err, errlen, "out of memory");
		rc = -1;
	}
	PQconninfoFree(opts);
	return rc;
}

PGresult *store__pg_query_main(struct store__pg *s, enum store__pg_stmt id, int n,
			       const struct store__pg_param *p)
{
	PGresult *r;
	int attempt = 0;
	pthread_mutex_lock(&s->mu);
	while (!(r = store__pg_run(s, &s->main, id, n, p, false)) &&
	       store__pg_retry(s, &s->main, &attempt))
		;
	pthread_mutex_unlock(&s->mu);
	return r;
}

long long store__pg_exec_main(struct store__pg *s, enum store__pg_stmt id, int n,
			      const struct store__pg_param *p)
{
	long long rc;
	pthread_mutex_lock(&s->mu);
	PG_WITH_RETRY(s, &s->main, rc, store__pg_exec(s, &s->main, id, n, p));
	pthread_mutex_unlock(&s->mu);
	return rc;
}
