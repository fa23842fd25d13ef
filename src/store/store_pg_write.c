/* The PostgreSQL backend's writes, and the point reads beside them:
 * participants, answers, groups, sessions, projects (see store_pg.h). Each
 * operation is a function of the locked connection, run again once when it
 * failed because the connection broke (store__pg_retry).
 * The transactions give the semantics of store.h between servers sharing
 * the database: a step advances only from the step it is still at (the
 * UPDATE's WHERE is evaluated again on the row a concurrent transaction
 * committed), the final page's answers and a participant's crowd ids are
 * written under the participant's row lock, and a project's group counts are
 * read and extended under a transaction-scoped advisory lock of the project. */
#include <stdlib.h>
#include <string.h>

#include "store/store_pg.h"

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
				    PG_PARAMS(PG_STR(project_id), PG_STR(user_id)), false);
	if (!r)
		return -1;
	int rc = PQntuples(r) > 0;
	if (rc) {
		p->id = store__pg_ll(r, 0, 0);
		p->step = (int)store__pg_ll(r, 0, 1);
		const char *status = store__pg_text(r, 0, 2);
		p->status =
			status && strcmp(status, "completed") == 0 ? STORE_COMPLETED : STORE_ACTIVE;
		copy_text(p->created, sizeof p->created, r, 0, 3);
		p->preview = store__pg_ll(r, 0, 4) != 0;
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
	PG_WITH_RETRY(s, &s->main, rc, part_get_locked(s, project_id, user_id, p));
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
	PGresult *r = store__pg_run(s, k, PG_PART_CROWD_LOCK, PG_PARAMS(PG_INT(b, pid)), false);
	if (!r)
		goto fail;
	char *text = store__crowd_merge(PQntuples(r) ? store__pg_text(r, 0, 0) : NULL, crowd);
	PQclear(r);
	if (text) {
		long long n = store__pg_exec(s, k, PG_PART_CROWD,
					     PG_PARAMS(PG_INT(b, pid), PG_STR(text)));
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
			 json_t *crowd, bool preview, struct store_participant *p, bool *created)
{
	int rc = part_get_locked(s, project_id, user_id, p);
	if (rc < 0)
		return -1;
	if (rc == 1)
		return crowd ? crowd_merge_locked(s, p->id, crowd) : 0;
	char now[32];
	store_now(now, sizeof now);
	char *crowd_text = crowd ? store__crowd_text(crowd) : NULL;
	long long n = store__pg_exec(
		s, &s->main, PG_PART_INSERT,
		PG_PARAMS(PG_STR(project_id), PG_STR(user_id), PG_STR(now), PG_STR(crowd_text),
			  PG_STR(preview ? "true" : "false")));
	free(crowd_text);
	if (n < 0)
		return -1;
	*created = n > 0;
	return part_get_locked(s, project_id, user_id, p) == 1 ? 0 : -1;
}

int store__pg_participant_ensure(void *db, const char *project_id, const char *user_id,
				 json_t *crowd, bool preview, struct store_participant *p,
				 bool *created)
{
	struct store__pg *s = db;
	int rc;
	*created = false;
	pthread_mutex_lock(&s->mu);
	PG_WITH_RETRY(s, &s->main, rc, ensure_locked(s, project_id, user_id, crowd, preview, p, created));
	pthread_mutex_unlock(&s->mu);
	return rc;
}

/* ------------------------------------------------------------ answers */

/* PAGE's version as a parameter: NULL when unknown. */
static struct store__pg_param page_version(char *buf, const struct store_page *page)
{
	return page && page->version > 0 ? PG_INT(buf, page->version) : PG_STR(NULL);
}

static int answers_insert(struct store__pg *s, long long pid, int step,
			  const struct store__answer *a, size_t n, const char *now,
			  const struct store_page *page)
{
	char b1[24], b2[24], b3[24];
	for (size_t i = 0; i < n; i++) {
		struct store__pg_param v = {.v = a[i].value, .len = (int)a[i].len, .binary = true};
		if (store__pg_exec(s, &s->main, PG_ANSWER_INSERT,
				   PG_PARAMS(PG_INT(b1, pid), PG_INT(b2, step), PG_STR(a[i].field),
					     v, PG_STR(now), PG_STR(page ? page->hash : NULL),
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
			      PG_PARAMS(PG_INT(b1, pid), PG_INT(b2, step),
					PG_STR(page ? page->hash : NULL), page_version(b3, page),
					PG_STR(now))) < 0
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
	long long changed =
		store__pg_exec(s, k, PG_ADVANCE,
			       PG_PARAMS(PG_INT(b1, pid), PG_INT(b2, from), PG_INT(b3, to),
					 PG_STR(now), PG_INT(b4, completed ? 1 : 0)));
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
	PG_WITH_RETRY(s, &s->main, rc,
		      advance_locked(s, pid, from, to, a, n, completed, page, now));
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
	PGresult *r = store__pg_run(s, k, PG_PART_STEP_LOCK, PG_PARAMS(PG_INT(b1, pid)), false);
	if (!r)
		goto fail;
	bool at_step = PQntuples(r) && store__pg_ll(r, 0, 0) == step;
	PQclear(r);
	r = store__pg_run(s, k, PG_ANSWER_ANY, PG_PARAMS(PG_INT(b1, pid), PG_INT(b2, step)), false);
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
	PG_WITH_RETRY(s, &s->main, rc, submit_final_locked(s, pid, step, a, n, page, now));
	pthread_mutex_unlock(&s->mu);
	return rc;
}

/* ------------------------------------------------------------ groups */

static int group_get_locked(struct store__pg *s, long long pid, int n, int *group)
{
	char b1[24], b2[24];
	PGresult *r = store__pg_run(s, &s->main, PG_GROUP_GET,
				    PG_PARAMS(PG_INT(b1, pid), PG_INT(b2, n)), false);
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
	PG_WITH_RETRY(s, &s->main, rc, group_get_locked(s, pid, n, group));
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
	PGresult *r = store__pg_run(s, k, PG_GROUP_LOCK, PG_PARAMS(PG_STR(project_id)), false);
	if (!r)
		goto fail;
	PQclear(r);
	int found = group_get_locked(s, pid, n, group);
	if (found < 0)
		goto fail;
	if (found == 1)
		return store__pg_commit(s, k) < 0 ? -1 : 0;
	r = store__pg_run(s, k, PG_GROUP_COUNTS, PG_PARAMS(PG_STR(project_id), PG_INT(b1, n)),
			  false);
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
			   PG_PARAMS(PG_INT(b1, pid), PG_STR(project_id), PG_INT(b2, n),
				     PG_INT(b3, g), PG_STR(now))) < 0 ||
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
	PG_WITH_RETRY(s, &s->main, rc,
		      group_assign_locked(s, pid, project_id, n, choose, user, group, counts, now));
	pthread_mutex_unlock(&s->mu);
	free(counts);
	return rc;
}

/* ------------------------------------------------------------ sessions */

int store__pg_session_start(void *db, long long pid, int step)
{
	char now[32], b1[24], b2[24];
	store_now(now, sizeof now);
	long long n = store__pg_exec_main(db, PG_SESS_START,
					  PG_PARAMS(PG_INT(b1, pid), PG_INT(b2, step), PG_STR(now)));
	return n < 0 ? -1 : 0;
}

int store__pg_session_end(void *db, long long pid, const char *reason, const char *files)
{
	char now[32], b1[24];
	store_now(now, sizeof now);
	long long n = store__pg_exec_main(db, PG_SESS_END,
					  PG_PARAMS(PG_INT(b1, pid), PG_STR(now), PG_STR(reason),
						    PG_STR(files)));
	return n < 0 ? -1 : (int)n;
}

int store__pg_session_last(void *db, long long pid, bool *open, char *reason, size_t rlen)
{
	char b1[24];
	PGresult *r = store__pg_query_main(db, PG_SESS_LAST, PG_PARAMS(PG_INT(b1, pid)));
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
	long long n =
		store__pg_exec_main(db, PG_SESS_CLOSE_ALL, PG_PARAMS(PG_STR(now), PG_STR(reason)));
	return n < 0 ? -1 : (int)n;
}

long long store__pg_sessions_open(void *db)
{
	PGresult *r = store__pg_query_main(db, PG_SESS_OPEN, 0, NULL);
	if (!r)
		return -1;
	long long n = store__pg_ll(r, 0, 0);
	PQclear(r);
	return n;
}

/* ------------------------------------------------------------ withdrawal */

static int delete_locked(struct store__pg *s, long long pid, struct store_delete_counts *c)
{
	struct store__pg_conn *k = &s->main;
	long long *field[] = {&c->answers,     &c->passes,   &c->requests,    &c->header_sets,
			      &c->sessions,    &c->groups,   &c->participants};
	char b[24];
	memset(c, 0, sizeof *c);
	if (store__pg_begin(s, k) < 0)
		return -1;
	PGresult *r = store__pg_run(s, k, PG_PART_LOCK, PG_PARAMS(PG_INT(b, pid)), false);
	if (!r)
		goto fail;
	int found = PQntuples(r) > 0;
	PQclear(r);
	if (!found) {
		store__pg_rollback(s, k);
		return 0;
	}
	for (int i = 0; i <= PG_DEL_PART - PG_DEL_ANSWERS; i++) {
		long long n = store__pg_exec(s, k, (enum store__pg_stmt)(PG_DEL_ANSWERS + i),
					     PG_PARAMS(PG_INT(b, pid)));
		if (n < 0)
			goto fail;
		*field[i] = n;
	}
	if (store__pg_commit(s, k) < 0)
		goto fail;
	return 1;
fail:
	store__pg_rollback(s, k);
	memset(c, 0, sizeof *c);
	return -1;
}

int store__pg_participant_delete(void *db, long long pid, struct store_delete_counts *counts)
{
	struct store__pg *s = db;
	int rc;
	/* the participant's request records still waiting go in first (and are
	 * deleted with the others); no batch is committed until it is gone */
	pthread_mutex_lock(&s->flush_mu);
	rc = store__pg_flush_held(s);
	if (rc == 0) {
		pthread_mutex_lock(&s->mu);
		PG_WITH_RETRY(s, &s->main, rc, delete_locked(s, pid, counts));
		pthread_mutex_unlock(&s->mu);
	}
	pthread_mutex_unlock(&s->flush_mu);
	return rc;
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
	PGresult *r = store__pg_run(s, k, PG_PROJ_LOCK, PG_PARAMS(PG_STR(id)), false);
	if (!r)
		goto fail;
	if (PQntuples(r))
		v = (int)store__pg_ll(r, 0, 0) + (deployed ? 1 : 0);
	PQclear(r);
	if (store__pg_exec(s, k, PG_PROJ_PUT,
			   PG_PARAMS(PG_STR(id), PG_STR(name), PG_STR(researcher), PG_STR(dir),
				     PG_INT(b1, v), PG_INT(b2, deployed ? 1 : 0), PG_STR(now))) <
		    0 ||
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
	PG_WITH_RETRY(s, &s->main, rc,
		      project_put_locked(s, id, name, researcher, dir, deployed, version, now));
	pthread_mutex_unlock(&s->mu);
	return rc;
}

int store__pg_project_live_get(void *db, const char *id)
{
	PGresult *r = store__pg_query_main(db, PG_PROJ_LIVE_GET, PG_PARAMS(PG_STR(id)));
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
	long long n = store__pg_exec_main(
		db, PG_PROJ_LIVE_SET,
		PG_PARAMS(PG_STR(id), live < 0 ? PG_STR(NULL) : PG_INT(b1, live ? 1 : 0),
			  PG_STR(now)));
	return n > 0 ? 0 : -1;
}
