/* The PostgreSQL backend's writes, and the point reads beside them:
 * participants, request batches, answers, groups, sessions, projects (see
 * store_pg.h). Each operation is a function of the locked connection, run
 * again once when it failed because the connection broke (store__pg_retry).
 * The transactions give the semantics of store.h between servers sharing
 * the database: a step advances only from the step it is still at (the
 * UPDATE's WHERE is evaluated again on the row a concurrent transaction
 * committed), the final page's answers and a participant's crowd ids are
 * written under the participant's row lock, and a project's group counts are
 * read and extended under a transaction-scoped advisory lock of the project. */
#include <stdlib.h>
#include <string.h>

#include "store/store_pg.h"

#define INT(b, v) store__pg_int(b, v)
#define STR(v) store__pg_str(v)
#define PARAMS(...) (sizeof((struct store__pg_param[]){__VA_ARGS__}) / sizeof(struct store__pg_param)), \
		    (struct store__pg_param[]){__VA_ARGS__}

/* Runs OP (an expression using s->main) again once after a broken connection. */
#define WITH_RETRY(s, k, rc, op)                                          \
	do {                                                              \
		int attempt_ = 0;                                         \
		do {                                                      \
			rc = (op);                                        \
		} while (rc < 0 && store__pg_retry(s, k, &attempt_));     \
	} while (0)

static void copy_text(char *dst, size_t len, const PGresult *r, int row, int c)
{
	const char *v = store__pg_text(r, row, c);
	snprintf(dst, len, "%s", v ? v : "");
}

/* ------------------------------------------------------------ participants */

static int part_get_locked(struct store__pg *s, const char *project_id, const char *user_id,
			   struct store_participant *p)
{
	PGresult *r = store__pg_run(s, &s->main, PG_PART_GET,
				    PARAMS(STR(project_id), STR(user_id)), false);
	if (!r)
		return -1;
	int rc = PQntuples(r) > 0;
	if (rc) {
		p->id = store__pg_ll(r, 0, 0);
		p->step = (int)store__pg_ll(r, 0, 1);
		const char *status = store__pg_text(r, 0, 2);
		p->status = status && strcmp(status, "completed") == 0 ? STORE_COMPLETED
								       : STORE_ACTIVE;
		copy_text(p->created, sizeof p->created, r, 0, 3);
		snprintf(p->project_id, sizeof p->project_id, "%s", project_id);
		snprintf(p->user_id, sizeof p->user_id, "%s", user_id);
	}
	PQclear(r);
	return rc;
}

int store__pg_participant_get(void *db, const char *project_id, const char *user_id,
			      struct store_participant *p)
{
	struct store__pg *s = db;
	int rc;
	pthread_mutex_lock(&s->mu);
	WITH_RETRY(s, &s->main, rc, part_get_locked(s, project_id, user_id, p));
	pthread_mutex_unlock(&s->mu);
	return rc;
}

/* Adds the keys of CROWD missing from the stored crowd object of PID, under
 * the participant's row lock. */
static int crowd_merge_locked(struct store__pg *s, long long pid, json_t *crowd)
{
	struct store__pg_conn *k = &s->main;
	char b[24];
	if (store__pg_begin(s, k) < 0)
		return -1;
	PGresult *r = store__pg_run(s, k, PG_PART_CROWD_LOCK, PARAMS(INT(b, pid)), false);
	if (!r)
		goto fail;
	char *text = store__crowd_merge(PQntuples(r) ? store__pg_text(r, 0, 0) : NULL, crowd);
	PQclear(r);
	if (text) {
		long long n = store__pg_exec(s, k, PG_PART_CROWD, PARAMS(INT(b, pid), STR(text)));
		free(text);
		if (n < 0)
			goto fail;
	}
	if (store__pg_commit(s, k) == 0)
		return 0;
fail:
	store__pg_rollback(s, k);
	return -1;
}

static int ensure_locked(struct store__pg *s, const char *project_id, const char *user_id,
			 json_t *crowd, struct store_participant *p, bool *created)
{
	int rc = part_get_locked(s, project_id, user_id, p);
	if (rc < 0)
		return -1;
	if (rc == 1)
		return crowd ? crowd_merge_locked(s, p->id, crowd) : 0;
	char now[32];
	store_now(now, sizeof now);
	char *crowd_text = crowd ? store__crowd_text(crowd) : NULL;
	long long n = store__pg_exec(s, &s->main, PG_PART_INSERT,
				     PARAMS(STR(project_id), STR(user_id), STR(now),
					    STR(crowd_text)));
	free(crowd_text);
	if (n < 0)
		return -1;
	*created = n > 0;
	return part_get_locked(s, project_id, user_id, p) == 1 ? 0 : -1;
}

int store__pg_participant_ensure(void *db, const char *project_id, const char *user_id,
				 json_t *crowd, struct store_participant *p, bool *created)
{
	struct store__pg *s = db;
	int rc;
	*created = false;
	pthread_mutex_lock(&s->mu);
	WITH_RETRY(s, &s->main, rc, ensure_locked(s, project_id, user_id, crowd, p, created));
	pthread_mutex_unlock(&s->mu);
	return rc;
}

/* ------------------------------------------------------------ requests */

static struct store__pg_param digest_param(const struct store__request *r)
{
	return (struct store__pg_param){.v = (const char *)r->digest,
					.len = (int)sizeof r->digest,
					.binary = true};
}

/* The id of R's header set for its participant, stored now if it is new and
 * the participant has fewer than STORE_HEADER_SETS_MAX; 0 when none, -1 on
 * error. */
static long long header_set(struct store__pg *s, const struct store__request *r)
{
	struct store__pg_conn *k = &s->batch;
	char b[24];
	if (!r->has_digest)
		return 0;
	PGresult *q = store__pg_run(s, k, PG_HSET_GET, PARAMS(INT(b, r->pid), digest_param(r)),
				    false);
	if (!q)
		return -1;
	long long id = PQntuples(q) ? store__pg_ll(q, 0, 0) : 0;
	PQclear(q);
	if (id)
		return id;
	q = store__pg_run(s, k, PG_HSET_COUNT, PARAMS(INT(b, r->pid)), false);
	if (!q)
		return -1;
	long long n = store__pg_ll(q, 0, 0);
	PQclear(q);
	if (n >= STORE_HEADER_SETS_MAX)
		return 0;
	q = store__pg_run(s, k, PG_HSET_INSERT,
			  PARAMS(INT(b, r->pid), digest_param(r), STR(r->headers), STR(r->time)),
			  false);
	if (!q)
		return -1;
	id = PQntuples(q) ? store__pg_ll(q, 0, 0) : 0;
	PQclear(q);
	if (id)
		return id;
	/* stored by another server meanwhile */
	q = store__pg_run(s, k, PG_HSET_GET, PARAMS(INT(b, r->pid), digest_param(r)), false);
	if (!q)
		return -1;
	id = PQntuples(q) ? store__pg_ll(q, 0, 0) : 0;
	PQclear(q);
	return id;
}

/* Stores one request record: folded into the participant's last row when
 * identical to it (or when the participant has STORE_REQUESTS_MAX rows),
 * else as a new row. */
static int request_store(struct store__pg *s, const struct store__request *r)
{
	struct store__pg_conn *k = &s->batch;
	char b1[24], b2[24], b3[24], b4[24];
	long long hset = header_set(s, r);
	if (hset < 0)
		return -1;
	PGresult *q = store__pg_run(s, k, PG_REQ_LAST, PARAMS(INT(b1, r->pid)), false);
	if (!q)
		return -1;
	long long last_id = 0;
	bool same = false;
	if (PQntuples(q)) {
		last_id = store__pg_ll(q, 0, 0);
		same = store__text_same(store__pg_text(q, 0, 1), r->method) &&
		       store__pg_ll(q, 0, 2) == r->step && store__pg_ll(q, 0, 3) == hset &&
		       store__text_same(store__pg_text(q, 0, 4), r->ip) && store__pg_ll(q, 0, 5) != 0;
	}
	PQclear(q);
	if (last_id && !same) {
		q = store__pg_run(s, k, PG_REQ_COUNT, PARAMS(INT(b1, r->pid)), false);
		if (!q)
			return -1;
		same = store__pg_ll(q, 0, 0) >= STORE_REQUESTS_MAX;
		PQclear(q);
	}
	const char *last = r->repeats ? r->last : r->time;
	if (same)
		return store__pg_exec(s, k, PG_REQ_FOLD,
				      PARAMS(INT(b1, last_id), INT(b2, 1 + r->repeats), STR(last))) < 0
			       ? -1
			       : 0;
	return store__pg_exec(s, k, PG_REQ_INSERT,
			      PARAMS(INT(b1, r->pid), STR(r->time), STR(r->method),
				     INT(b2, r->step), hset ? INT(b3, hset) : STR(NULL), STR(r->ip),
				     INT(b4, r->repeats), STR(last))) < 0
		       ? -1
		       : 0;
}

/* Stores BATCH in one transaction on the batch connection. */
static int batch_store(struct store__pg *s, const struct store__request *batch, size_t n)
{
	if (store__pg_begin(s, &s->batch) < 0)
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (request_store(s, &batch[i]) < 0) {
			store__pg_rollback(s, &s->batch);
			return -1;
		}
	}
	if (store__pg_commit(s, &s->batch) == 0)
		return 0;
	store__pg_rollback(s, &s->batch);
	return -1;
}

int store__pg_flush_pending(struct store__pg *s)
{
	struct store__request *batch = NULL;
	size_t n;
	int rc = 0;
	pthread_mutex_lock(&s->flush_mu); /* one batch at a time, in order */
	pthread_mutex_lock(&s->mu);
	n = s->npending;
	if (n) {
		batch = malloc(n * sizeof *batch);
		if (batch) {
			memcpy(batch, s->pending, n * sizeof *batch);
			s->npending = 0;
		}
	}
	pthread_mutex_unlock(&s->mu);
	if (n && !batch)
		rc = -1;
	if (batch) {
		WITH_RETRY(s, &s->batch, rc, batch_store(s, batch, n));
		for (size_t i = 0; i < n; i++) {
			free((char *)batch[i].headers);
			free((char *)batch[i].ip);
		}
		free(batch);
	}
	pthread_mutex_unlock(&s->flush_mu);
	return rc;
}

int store__pg_request_log(void *db, const struct store__request *n)
{
	struct store__pg *s = db;
	pthread_mutex_lock(&s->mu);
	/* The same request as the participant's previous pending one (a reload,
	 * a poll): counted in that one. */
	for (size_t i = s->npending; i-- > 0;) {
		struct store__request *r = &s->pending[i];
		if (r->pid != n->pid)
			continue;
		if (store__request_same(r, n)) {
			r->repeats++;
			memcpy(r->last, n->time, sizeof r->last);
			pthread_mutex_unlock(&s->mu);
			return 0;
		}
		break;
	}
	int rc = 0;
	while (s->npending == PG_PENDING_MAX && rc == 0) {
		pthread_mutex_unlock(&s->mu);
		rc = store__pg_flush_pending(s);
		pthread_mutex_lock(&s->mu);
	}
	if (s->npending == PG_PENDING_MAX) { /* the database refuses them: this one is lost */
		pthread_mutex_unlock(&s->mu);
		return -1;
	}
	struct store__request *k = &s->pending[s->npending++];
	*k = *n;
	k->headers = n->has_digest ? strdup(n->headers) : NULL;
	k->ip = n->ip ? strdup(n->ip) : NULL;
	k->has_digest = n->has_digest && k->headers;
	pthread_mutex_unlock(&s->mu);
	return rc;
}

int store__pg_flush(void *db)
{
	return store__pg_flush_pending(db);
}

/* ------------------------------------------------------------ answers */

/* PAGE's version as a parameter: NULL when unknown. */
static struct store__pg_param page_version(char *buf, const struct store_page *page)
{
	return page && page->version > 0 ? INT(buf, page->version) : STR(NULL);
}

static int answers_insert(struct store__pg *s, long long pid, int step,
			  const struct store__answer *a, size_t n, const char *now,
			  const struct store_page *page)
{
	char b1[24], b2[24], b3[24];
	for (size_t i = 0; i < n; i++) {
		struct store__pg_param v = {.v = a[i].value, .len = (int)a[i].len, .binary = true};
		if (store__pg_exec(s, &s->main, PG_ANSWER_INSERT,
				   PARAMS(INT(b1, pid), INT(b2, step), STR(a[i].field), v,
					  STR(now), STR(page ? page->hash : NULL),
					  page_version(b3, page))) < 0)
			return -1;
	}
	return 0;
}

/* The row of `passes` for step STEP of PID. */
static int pass_insert(struct store__pg *s, long long pid, int step, const char *now,
		       const struct store_page *page)
{
	char b1[24], b2[24], b3[24];
	return store__pg_exec(s, &s->main, PG_PASS_INSERT,
			      PARAMS(INT(b1, pid), INT(b2, step), STR(page ? page->hash : NULL),
				     page_version(b3, page), STR(now))) < 0
		       ? -1
		       : 0;
}

static int advance_locked(struct store__pg *s, long long pid, int from, int to,
			  const struct store__answer *a, size_t n, bool completed,
			  const struct store_page *page, const char *now)
{
	struct store__pg_conn *k = &s->main;
	char b1[24], b2[24], b3[24], b4[24];
	if (store__pg_begin(s, k) < 0)
		return -1;
	long long changed = store__pg_exec(s, k, PG_ADVANCE,
					   PARAMS(INT(b1, pid), INT(b2, from), INT(b3, to), STR(now),
						  INT(b4, completed ? 1 : 0)));
	if (changed < 0)
		goto fail;
	if (changed == 0) {
		store__pg_rollback(s, k);
		return 0;
	}
	if (answers_insert(s, pid, from, a, n, now, page) < 0 ||
	    pass_insert(s, pid, from, now, page) < 0 || store__pg_commit(s, k) < 0)
		goto fail;
	return 1;
fail:
	store__pg_rollback(s, k);
	return -1;
}

int store__pg_advance(void *db, long long pid, int from, int to, const struct store__answer *a,
		      size_t n, bool completed, const struct store_page *page)
{
	struct store__pg *s = db;
	char now[32];
	int rc;
	store_now(now, sizeof now);
	pthread_mutex_lock(&s->mu);
	WITH_RETRY(s, &s->main, rc, advance_locked(s, pid, from, to, a, n, completed, page, now));
	pthread_mutex_unlock(&s->mu);
	return rc;
}

static int submit_final_locked(struct store__pg *s, long long pid, int step,
			       const struct store__answer *a, size_t n,
			       const struct store_page *page, const char *now)
{
	struct store__pg_conn *k = &s->main;
	char b1[24], b2[24];
	if (store__pg_begin(s, k) < 0)
		return -1;
	PGresult *r = store__pg_run(s, k, PG_PART_STEP_LOCK, PARAMS(INT(b1, pid)), false);
	if (!r)
		goto fail;
	bool at_step = PQntuples(r) && store__pg_ll(r, 0, 0) == step;
	PQclear(r);
	r = store__pg_run(s, k, PG_ANSWER_ANY, PARAMS(INT(b1, pid), INT(b2, step)), false);
	if (!r)
		goto fail;
	bool answered = PQntuples(r) > 0;
	PQclear(r);
	if (!at_step || answered) {
		store__pg_rollback(s, k);
		return 0;
	}
	if (answers_insert(s, pid, step, a, n, now, page) < 0 || store__pg_commit(s, k) < 0)
		goto fail;
	return 1;
fail:
	store__pg_rollback(s, k);
	return -1;
}

int store__pg_submit_final(void *db, long long pid, int step, const struct store__answer *a,
			   size_t n, const struct store_page *page)
{
	struct store__pg *s = db;
	char now[32];
	int rc;
	store_now(now, sizeof now);
	pthread_mutex_lock(&s->mu);
	WITH_RETRY(s, &s->main, rc, submit_final_locked(s, pid, step, a, n, page, now));
	pthread_mutex_unlock(&s->mu);
	return rc;
}

/* ------------------------------------------------------------ groups */

static int group_get_locked(struct store__pg *s, long long pid, int n, int *group)
{
	char b1[24], b2[24];
	PGresult *r = store__pg_run(s, &s->main, PG_GROUP_GET, PARAMS(INT(b1, pid), INT(b2, n)),
				    false);
	if (!r)
		return -1;
	int rc = PQntuples(r) > 0;
	if (rc)
		*group = (int)store__pg_ll(r, 0, 0);
	PQclear(r);
	return rc;
}

int store__pg_group_get(void *db, long long pid, int n, int *group)
{
	struct store__pg *s = db;
	int rc;
	pthread_mutex_lock(&s->mu);
	WITH_RETRY(s, &s->main, rc, group_get_locked(s, pid, n, group));
	pthread_mutex_unlock(&s->mu);
	return rc;
}

static int group_assign_locked(struct store__pg *s, long long pid, const char *project_id, int n,
			       store_choose_fn choose, void *user, int *group, long long *counts,
			       const char *now)
{
	struct store__pg_conn *k = &s->main;
	char b1[24], b2[24], b3[24];
	if (store__pg_begin(s, k) < 0)
		return -1;
	/* Servers sharing the database assign one at a time per project, so
	 * every choice sees the counts of the ones before it. */
	PGresult *r = store__pg_run(s, k, PG_GROUP_LOCK, PARAMS(STR(project_id)), false);
	if (!r)
		goto fail;
	PQclear(r);
	int found = group_get_locked(s, pid, n, group);
	if (found < 0)
		goto fail;
	if (found == 1)
		return store__pg_commit(s, k) < 0 ? -1 : 0;
	r = store__pg_run(s, k, PG_GROUP_COUNTS, PARAMS(STR(project_id), INT(b1, n)), false);
	if (!r)
		goto fail;
	memset(counts, 0, (size_t)n * sizeof *counts);
	for (int i = 0; i < PQntuples(r); i++) {
		long long g = store__pg_ll(r, i, 0);
		if (g >= 0 && g < n)
			counts[g] = store__pg_ll(r, i, 1);
	}
	PQclear(r);
	int g = choose(user, counts, n);
	if (store__pg_exec(s, k, PG_GROUP_INSERT,
			   PARAMS(INT(b1, pid), STR(project_id), INT(b2, n), INT(b3, g), STR(now))) <
		    0 ||
	    store__pg_commit(s, k) < 0)
		goto fail;
	*group = g;
	return 0;
fail:
	store__pg_rollback(s, k);
	return -1;
}

int store__pg_group_assign(void *db, long long pid, const char *project_id, int n,
			   store_choose_fn choose, void *user, int *group)
{
	struct store__pg *s = db;
	long long *counts = calloc((size_t)n, sizeof *counts);
	char now[32];
	int rc;
	if (!counts)
		return -1;
	store_now(now, sizeof now);
	pthread_mutex_lock(&s->mu);
	WITH_RETRY(s, &s->main, rc,
		   group_assign_locked(s, pid, project_id, n, choose, user, group, counts, now));
	pthread_mutex_unlock(&s->mu);
	free(counts);
	return rc;
}

/* ------------------------------------------------------------ sessions */

/* Runs a statement returning no rows on the main connection (retried once
 * after a broken connection): the number of rows changed, or -1. */
static long long exec_main(struct store__pg *s, enum store__pg_stmt id, int n,
			   const struct store__pg_param *p)
{
	long long rc;
	pthread_mutex_lock(&s->mu);
	WITH_RETRY(s, &s->main, rc, store__pg_exec(s, &s->main, id, n, p));
	pthread_mutex_unlock(&s->mu);
	return rc;
}

int store__pg_session_start(void *db, long long pid, int step)
{
	char now[32], b1[24], b2[24];
	store_now(now, sizeof now);
	return exec_main(db, PG_SESS_START, PARAMS(INT(b1, pid), INT(b2, step), STR(now))) < 0
		       ? -1
		       : 0;
}

int store__pg_session_end(void *db, long long pid, const char *reason, const char *files)
{
	char now[32], b1[24];
	store_now(now, sizeof now);
	long long n = exec_main(db, PG_SESS_END,
				PARAMS(INT(b1, pid), STR(now), STR(reason), STR(files)));
	return n < 0 ? -1 : (int)n;
}

/* One row of statement ID with P on the main connection (retried once after a
 * broken connection): the result (PQclear it), or NULL on error. */
static PGresult *query_main(struct store__pg *s, enum store__pg_stmt id, int n,
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

int store__pg_session_last(void *db, long long pid, bool *open, char *reason, size_t rlen)
{
	char b1[24];
	PGresult *r = query_main(db, PG_SESS_LAST, PARAMS(INT(b1, pid)));
	if (!r)
		return -1;
	int rc = PQntuples(r) > 0;
	if (rc) {
		*open = store__pg_ll(r, 0, 0) != 0;
		copy_text(reason, rlen, r, 0, 1);
	}
	PQclear(r);
	return rc;
}

int store__pg_sessions_close_all(void *db, const char *reason)
{
	char now[32];
	store_now(now, sizeof now);
	long long n = exec_main(db, PG_SESS_CLOSE_ALL, PARAMS(STR(now), STR(reason)));
	return n < 0 ? -1 : (int)n;
}

long long store__pg_sessions_open(void *db)
{
	PGresult *r = query_main(db, PG_SESS_OPEN, 0, NULL);
	if (!r)
		return -1;
	long long n = store__pg_ll(r, 0, 0);
	PQclear(r);
	return n;
}

/* ------------------------------------------------------------ projects */

static int project_put_locked(struct store__pg *s, const char *id, const char *name,
			      const char *researcher, const char *dir, bool deployed, int *version,
			      const char *now)
{
	struct store__pg_conn *k = &s->main;
	char b1[24], b2[24];
	int v = 1;
	if (store__pg_begin(s, k) < 0)
		return -1;
	PGresult *r = store__pg_run(s, k, PG_PROJ_LOCK, PARAMS(STR(id)), false);
	if (!r)
		goto fail;
	if (PQntuples(r))
		v = (int)store__pg_ll(r, 0, 0) + (deployed ? 1 : 0);
	PQclear(r);
	if (store__pg_exec(s, k, PG_PROJ_PUT,
			   PARAMS(STR(id), STR(name), STR(researcher), STR(dir), INT(b1, v),
				  INT(b2, deployed ? 1 : 0), STR(now))) < 0 ||
	    store__pg_commit(s, k) < 0)
		goto fail;
	if (version)
		*version = v;
	return 0;
fail:
	store__pg_rollback(s, k);
	return -1;
}

int store__pg_project_put(void *db, const char *id, const char *name, const char *researcher,
			  const char *dir, bool deployed, int *version)
{
	struct store__pg *s = db;
	char now[32];
	int rc;
	store_now(now, sizeof now);
	pthread_mutex_lock(&s->mu);
	WITH_RETRY(s, &s->main, rc,
		   project_put_locked(s, id, name, researcher, dir, deployed, version, now));
	pthread_mutex_unlock(&s->mu);
	return rc;
}

int store__pg_project_live_get(void *db, const char *id)
{
	PGresult *r = query_main(db, PG_PROJ_LIVE_GET, PARAMS(STR(id)));
	int live = -1;
	if (r && PQntuples(r) && !PQgetisnull(r, 0, 0))
		live = store__pg_ll(r, 0, 0) ? 1 : 0;
	PQclear(r);
	return live;
}

int store__pg_project_live_set(void *db, const char *id, int live)
{
	char now[32], b1[24];
	store_now(now, sizeof now);
	long long n = exec_main(db, PG_PROJ_LIVE_SET,
				PARAMS(STR(id), live < 0 ? STR(NULL) : INT(b1, live ? 1 : 0),
				       STR(now)));
	return n > 0 ? 0 : -1;
}
