/* The SQLite backend's writes, and the point reads beside them: participants,
 * request batches, answers, groups, sessions, projects (see store_sqlite.h). */
#include <stdlib.h>
#include <string.h>

#include "store/store_sqlite.h"

static void copy_col(char *dst, size_t len, sqlite3_stmt *st, int col)
{
	const unsigned char *v = sqlite3_column_text(st, col);
	snprintf(dst, len, "%s", v ? (const char *)v : "");
}

/* ------------------------------------------------------------ participants */

static int part_get_locked(struct store__sq *s, const char *project_id, const char *user_id,
			   struct store_participant *p)
{
	sqlite3_stmt *st = store__sq_stmt(s, ST_PART_GET);
	if (!st)
		return -1;
	store__sq_bind_text(st, 1, project_id);
	store__sq_bind_text(st, 2, user_id);
	int rc = sqlite3_step(st);
	if (rc == SQLITE_DONE) {
		sqlite3_reset(st);
		return 0;
	}
	if (rc != SQLITE_ROW) {
		sqlite3_reset(st);
		return -1;
	}
	p->id = sqlite3_column_int64(st, 0);
	p->step = sqlite3_column_int(st, 1);
	const unsigned char *status = sqlite3_column_text(st, 2);
	p->status = status && strcmp((const char *)status, "completed") == 0 ? STORE_COMPLETED
									     : STORE_ACTIVE;
	copy_col(p->created, sizeof p->created, st, 3);
	p->preview = sqlite3_column_int(st, 4) != 0;
	snprintf(p->project_id, sizeof p->project_id, "%s", project_id);
	snprintf(p->user_id, sizeof p->user_id, "%s", user_id);
	sqlite3_reset(st);
	return 1;
}

int store__sq_participant_get(void *db, const char *project_id, const char *user_id,
			      struct store_participant *p)
{
	struct store__sq *s = db;
	pthread_mutex_lock(&s->mu);
	int rc = part_get_locked(s, project_id, user_id, p);
	pthread_mutex_unlock(&s->mu);
	return rc;
}

/* Adds the keys of CROWD missing from the stored crowd object of PID. */
static int crowd_merge_locked(struct store__sq *s, long long pid, json_t *crowd)
{
	int rc = 0;
	char *text = NULL;
	sqlite3_stmt *q = store__sq_stmt(s, ST_PART_CROWD_GET);
	sqlite3_bind_int64(q, 1, pid);
	if (sqlite3_step(q) == SQLITE_ROW && sqlite3_column_type(q, 0) == SQLITE_TEXT)
		text = store__crowd_merge((const char *)sqlite3_column_text(q, 0), crowd);
	else
		text = store__crowd_merge(NULL, crowd);
	sqlite3_reset(q);
	if (text) {
		sqlite3_stmt *u = store__sq_stmt(s, ST_PART_CROWD);
		sqlite3_bind_int64(u, 1, pid);
		store__sq_bind_text(u, 2, text);
		rc = store__sq_exec(u);
		free(text);
	}
	return rc;
}

int store__sq_participant_ensure(void *db, const char *project_id, const char *user_id,
				 json_t *crowd, bool preview, struct store_participant *p,
				 bool *created)
{
	struct store__sq *s = db;
	char now[32];
	char *crowd_text = NULL;
	int rc;
	*created = false;
	store__sq_lock_for_write(s);
	rc = part_get_locked(s, project_id, user_id, p);
	if (rc != 0)
		goto found;
	store_now(now, sizeof now);
	if (crowd)
		crowd_text = store__crowd_text(crowd);
	sqlite3_stmt *st = store__sq_stmt(s, ST_PART_INSERT);
	store__sq_bind_text(st, 1, project_id);
	store__sq_bind_text(st, 2, user_id);
	store__sq_bind_text(st, 3, now);
	store__sq_bind_text(st, 4, crowd_text);
	sqlite3_bind_int(st, 5, preview);
	if (store__sq_exec(st) < 0) {
		rc = -1;
		goto out;
	}
	*created = sqlite3_changes(s->db) > 0;
	rc = part_get_locked(s, project_id, user_id, p);
	if (rc == 0)
		rc = -1;
	goto out;
found:
	if (rc == 1 && crowd && crowd_merge_locked(s, p->id, crowd) < 0)
		rc = -1;
out:
	pthread_mutex_unlock(&s->mu);
	free(crowd_text);
	return rc < 0 ? -1 : 0;
}

/* ------------------------------------------------------------ requests */

/* The id of R's header set for its participant, stored now if it is new and
 * the participant has fewer than STORE_HEADER_SETS_MAX; 0 when none. */
static long long header_set_locked(struct store__sq *s, const struct store__request *r, int *rc)
{
	long long id = 0;
	if (!r->has_digest)
		return 0;
	sqlite3_stmt *st = store__sq_stmt(s, ST_HSET_GET);
	sqlite3_bind_int64(st, 1, r->pid);
	sqlite3_bind_blob(st, 2, r->digest, sizeof r->digest, SQLITE_STATIC);
	int k = sqlite3_step(st);
	if (k == SQLITE_ROW)
		id = sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	if (k == SQLITE_ROW)
		return id;
	st = store__sq_stmt(s, ST_HSET_COUNT);
	sqlite3_bind_int64(st, 1, r->pid);
	long long n = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int64(st, 0) : -1;
	sqlite3_reset(st);
	if (n < 0 || n >= STORE_HEADER_SETS_MAX) {
		*rc = n < 0 ? -1 : *rc;
		return 0;
	}
	st = store__sq_stmt(s, ST_HSET_INSERT);
	sqlite3_bind_int64(st, 1, r->pid);
	sqlite3_bind_blob(st, 2, r->digest, sizeof r->digest, SQLITE_STATIC);
	store__sq_bind_text(st, 3, r->headers);
	store__sq_bind_text(st, 4, r->time);
	if (store__sq_exec(st) < 0) {
		*rc = -1;
		return 0;
	}
	return sqlite3_last_insert_rowid(s->db);
}

/* Stores one pending request: folded into the participant's last row when
 * identical to it (or when the participant has STORE_REQUESTS_MAX rows), else
 * as a new row. */
static int request_store_locked(struct store__sq *s, const struct store__request *r)
{
	int rc = 0;
	long long hset = header_set_locked(s, r, &rc);
	long long last_id = 0;
	bool same = false;
	sqlite3_stmt *st = store__sq_stmt(s, ST_REQ_LAST);
	sqlite3_bind_int64(st, 1, r->pid);
	if (sqlite3_step(st) == SQLITE_ROW) {
		last_id = sqlite3_column_int64(st, 0);
		same = store__text_same((const char *)sqlite3_column_text(st, 1), r->method) &&
		       sqlite3_column_int(st, 2) == r->step &&
		       sqlite3_column_int64(st, 3) == hset &&
		       store__text_same((const char *)sqlite3_column_text(st, 4), r->ip) &&
		       sqlite3_column_int(st, 5) != 0;
	}
	sqlite3_reset(st);
	if (last_id && !same) {
		st = store__sq_stmt(s, ST_REQ_COUNT);
		sqlite3_bind_int64(st, 1, r->pid);
		same = sqlite3_step(st) == SQLITE_ROW &&
		       sqlite3_column_int64(st, 0) >= STORE_REQUESTS_MAX;
		sqlite3_reset(st);
	}
	const char *last = r->repeats ? r->last : r->time;
	if (same) {
		st = store__sq_stmt(s, ST_REQ_FOLD);
		sqlite3_bind_int64(st, 1, last_id);
		sqlite3_bind_int64(st, 2, 1 + r->repeats);
		store__sq_bind_text(st, 3, last);
		return store__sq_exec(st) < 0 ? -1 : rc;
	}
	st = store__sq_stmt(s, ST_REQ_INSERT);
	sqlite3_bind_int64(st, 1, r->pid);
	store__sq_bind_text(st, 2, r->time);
	store__sq_bind_text(st, 3, r->method);
	sqlite3_bind_int(st, 4, r->step);
	if (hset)
		sqlite3_bind_int64(st, 5, hset);
	else
		sqlite3_bind_null(st, 5);
	store__sq_bind_text(st, 6, r->ip);
	sqlite3_bind_int64(st, 7, r->repeats);
	store__sq_bind_text(st, 8, last);
	return store__sq_exec(st) < 0 ? -1 : rc;
}

int store__sq_flush_locked(struct store__sq *s)
{
	int rc = 0;
	if (s->npending == 0)
		return 0;
	bool tx = store__sq_begin(s) == 0;
	for (size_t i = 0; i < s->npending; i++) {
		struct store__request *r = &s->pending[i];
		if (request_store_locked(s, r) < 0)
			rc = -1;
		free((char *)r->headers);
		free((char *)r->ip);
	}
	s->npending = 0;
	if (tx && store__sq_commit(s) < 0) {
		store__sq_rollback(s);
		rc = -1;
	}
	return rc;
}

int store__sq_request_log(void *db, const struct store__request *n)
{
	struct store__sq *s = db;
	int rc = 0;
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
	if (s->npending == PENDING_MAX) {
		store__sq_wal_wait_locked(s);
		if (s->npending == PENDING_MAX)
			rc = store__sq_flush_locked(s);
	}
	struct store__request *k = &s->pending[s->npending++];
	*k = *n;
	k->headers = n->has_digest ? strdup(n->headers) : NULL;
	k->ip = n->ip ? strdup(n->ip) : NULL;
	k->has_digest = n->has_digest && k->headers;
	pthread_mutex_unlock(&s->mu);
	return rc;
}

int store__sq_flush(void *db)
{
	struct store__sq *s = db;
	store__sq_lock_for_write(s);
	int rc = store__sq_flush_locked(s);
	pthread_mutex_unlock(&s->mu);
	return rc;
}

/* ------------------------------------------------------------ answers */

/* Binds PAGE's hash and version to parameters I and I + 1 (NULL when unknown). */
static void bind_page(sqlite3_stmt *st, int i, const struct store_page *page)
{
	store__sq_bind_text(st, i, page ? page->hash : NULL);
	if (page && page->version > 0)
		sqlite3_bind_int(st, i + 1, page->version);
	else
		sqlite3_bind_null(st, i + 1);
}

static int answers_insert(struct store__sq *s, long long pid, int step,
			  const struct store__answer *a, size_t n, const char *now,
			  const struct store_page *page)
{
	for (size_t i = 0; i < n; i++) {
		sqlite3_stmt *st = store__sq_stmt(s, ST_ANSWER_INSERT);
		sqlite3_bind_int64(st, 1, pid);
		sqlite3_bind_int(st, 2, step);
		store__sq_bind_text(st, 3, a[i].field);
		if (a[i].value)
			sqlite3_bind_text(st, 4, a[i].value, (int)a[i].len, SQLITE_TRANSIENT);
		else
			sqlite3_bind_null(st, 4);
		store__sq_bind_text(st, 5, now);
		bind_page(st, 6, page);
		if (store__sq_exec(st) < 0)
			return -1;
	}
	return 0;
}

/* The row of `passes` for step STEP of PID. */
static int pass_insert(struct store__sq *s, long long pid, int step, const char *now,
		       const struct store_page *page)
{
	sqlite3_stmt *st = store__sq_stmt(s, ST_PASS_INSERT);
	sqlite3_bind_int64(st, 1, pid);
	sqlite3_bind_int(st, 2, step);
	bind_page(st, 3, page);
	store__sq_bind_text(st, 5, now);
	return store__sq_exec(st);
}

int store__sq_advance(void *db, long long pid, int from, int to, const struct store__answer *a,
		      size_t n, bool completed, const struct store_page *page)
{
	struct store__sq *s = db;
	char now[32];
	int rc = -1;
	store_now(now, sizeof now);
	store__sq_lock_for_write(s);
	if (store__sq_begin(s) < 0)
		goto out;
	sqlite3_stmt *st = store__sq_stmt(s, ST_ADVANCE);
	sqlite3_bind_int64(st, 1, pid);
	sqlite3_bind_int(st, 2, from);
	sqlite3_bind_int(st, 3, to);
	store__sq_bind_text(st, 4, now);
	sqlite3_bind_int(st, 5, completed ? 1 : 0);
	if (store__sq_exec(st) < 0)
		goto fail;
	if (sqlite3_changes(s->db) == 0) {
		store__sq_rollback(s);
		rc = 0;
		goto out;
	}
	if (answers_insert(s, pid, from, a, n, now, page) < 0 ||
	    pass_insert(s, pid, from, now, page) < 0 || store__sq_commit(s) < 0)
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

int store__sq_submit_final(void *db, long long pid, int step, const struct store__answer *a,
			   size_t n, const struct store_page *page)
{
	struct store__sq *s = db;
	char now[32];
	int rc = -1;
	store_now(now, sizeof now);
	store__sq_lock_for_write(s);
	if (store__sq_begin(s) < 0)
		goto out;
	sqlite3_stmt *st = store__sq_stmt(s, ST_PART_STEP);
	sqlite3_bind_int64(st, 1, pid);
	int k = sqlite3_step(st);
	bool at_step = k == SQLITE_ROW && sqlite3_column_int(st, 0) == step;
	sqlite3_reset(st);
	if (k != SQLITE_ROW && k != SQLITE_DONE)
		goto fail;
	st = store__sq_stmt(s, ST_ANSWER_ANY);
	sqlite3_bind_int64(st, 1, pid);
	sqlite3_bind_int(st, 2, step);
	k = sqlite3_step(st);
	sqlite3_reset(st);
	if (k != SQLITE_ROW && k != SQLITE_DONE)
		goto fail;
	if (!at_step || k == SQLITE_ROW) {
		store__sq_rollback(s);
		rc = 0;
		goto out;
	}
	if (answers_insert(s, pid, step, a, n, now, page) < 0 || store__sq_commit(s) < 0)
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

/* ------------------------------------------------------------ groups */

static int group_get_locked(struct store__sq *s, long long pid, int n, int *group)
{
	sqlite3_stmt *st = store__sq_stmt(s, ST_GROUP_GET);
	if (!st)
		return -1;
	sqlite3_bind_int64(st, 1, pid);
	sqlite3_bind_int(st, 2, n);
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		*group = sqlite3_column_int(st, 0);
	sqlite3_reset(st);
	return rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : -1;
}

int store__sq_group_get(void *db, long long pid, int n, int *group)
{
	struct store__sq *s = db;
	pthread_mutex_lock(&s->mu);
	int rc = group_get_locked(s, pid, n, group);
	pthread_mutex_unlock(&s->mu);
	return rc;
}

int store__sq_group_assign(void *db, long long pid, const char *project_id, int n,
			   store_choose_fn choose, void *user, int *group)
{
	struct store__sq *s = db;
	int rc = -1;
	long long *counts = calloc((size_t)n, sizeof *counts);
	char now[32];
	if (!counts)
		return -1;
	store_now(now, sizeof now);
	store__sq_lock_for_write(s);
	if (store__sq_begin(s) < 0)
		goto out;
	int found = group_get_locked(s, pid, n, group);
	if (found < 0)
		goto fail;
	if (found == 1) {
		store__sq_commit(s);
		rc = 0;
		goto out;
	}
	sqlite3_stmt *st = store__sq_stmt(s, ST_GROUP_COUNTS);
	store__sq_bind_text(st, 1, project_id);
	sqlite3_bind_int(st, 2, n);
	int r;
	while ((r = sqlite3_step(st)) == SQLITE_ROW) {
		int g = sqlite3_column_int(st, 0);
		if (g >= 0 && g < n)
			counts[g] = sqlite3_column_int64(st, 1);
	}
	sqlite3_reset(st);
	if (r != SQLITE_DONE)
		goto fail;
	int g = choose(user, counts, n);
	st = store__sq_stmt(s, ST_GROUP_INSERT);
	sqlite3_bind_int64(st, 1, pid);
	store__sq_bind_text(st, 2, project_id);
	sqlite3_bind_int(st, 3, n);
	sqlite3_bind_int(st, 4, g);
	store__sq_bind_text(st, 5, now);
	if (store__sq_exec(st) < 0 || store__sq_commit(s) < 0)
		goto fail;
	*group = g;
	rc = 0;
	goto out;
fail:
	store__sq_rollback(s);
	rc = -1;
out:
	pthread_mutex_unlock(&s->mu);
	free(counts);
	return rc;
}

/* ------------------------------------------------------------ sessions */

int store__sq_session_start(void *db, long long pid, int step)
{
	struct store__sq *s = db;
	char now[32];
	store_now(now, sizeof now);
	store__sq_lock_for_write(s);
	sqlite3_stmt *st = store__sq_stmt(s, ST_SESS_START);
	sqlite3_bind_int64(st, 1, pid);
	sqlite3_bind_int(st, 2, step);
	store__sq_bind_text(st, 3, now);
	int rc = store__sq_exec(st);
	pthread_mutex_unlock(&s->mu);
	return rc;
}

int store__sq_session_end(void *db, long long pid, const char *reason, const char *files)
{
	struct store__sq *s = db;
	char now[32];
	store_now(now, sizeof now);
	store__sq_lock_for_write(s);
	sqlite3_stmt *st = store__sq_stmt(s, ST_SESS_END);
	sqlite3_bind_int64(st, 1, pid);
	store__sq_bind_text(st, 2, now);
	store__sq_bind_text(st, 3, reason);
	store__sq_bind_text(st, 4, files);
	int rc = store__sq_exec(st);
	if (rc == 0)
		rc = sqlite3_changes(s->db);
	pthread_mutex_unlock(&s->mu);
	return rc;
}

int store__sq_session_last(void *db, long long pid, bool *open, char *reason, size_t rlen)
{
	struct store__sq *s = db;
	int rc = -1;
	pthread_mutex_lock(&s->mu);
	sqlite3_stmt *st = store__sq_stmt(s, ST_SESS_LAST);
	if (st) {
		sqlite3_bind_int64(st, 1, pid);
		int r = sqlite3_step(st);
		if (r == SQLITE_ROW) {
			*open = sqlite3_column_int(st, 0) != 0;
			copy_col(reason, rlen, st, 1);
			rc = 1;
		} else {
			rc = r == SQLITE_DONE ? 0 : -1;
		}
		sqlite3_reset(st);
	}
	pthread_mutex_unlock(&s->mu);
	return rc;
}

int store__sq_sessions_close_all(void *db, const char *reason)
{
	struct store__sq *s = db;
	char now[32];
	store_now(now, sizeof now);
	store__sq_lock_for_write(s);
	sqlite3_stmt *st = store__sq_stmt(s, ST_SESS_CLOSE_ALL);
	store__sq_bind_text(st, 1, now);
	store__sq_bind_text(st, 2, reason);
	int rc = store__sq_exec(st);
	if (rc == 0)
		rc = sqlite3_changes(s->db);
	pthread_mutex_unlock(&s->mu);
	return rc;
}

long long store__sq_sessions_open(void *db)
{
	struct store__sq *s = db;
	long long n = -1;
	pthread_mutex_lock(&s->mu);
	sqlite3_stmt *st = store__sq_stmt(s, ST_SESS_OPEN);
	if (st && sqlite3_step(st) == SQLITE_ROW)
		n = sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	pthread_mutex_unlock(&s->mu);
	return n;
}

/* ------------------------------------------------------------ projects */

int store__sq_project_put(void *db, const char *id, const char *name, const char *researcher,
			  const char *dir, bool deployed, int *version)
{
	struct store__sq *s = db;
	char now[32];
	int rc = -1, v = 1;
	store_now(now, sizeof now);
	store__sq_lock_for_write(s);
	if (store__sq_begin(s) < 0)
		goto out;
	sqlite3_stmt *st = store__sq_stmt(s, ST_PROJ_GET);
	store__sq_bind_text(st, 1, id);
	int r = sqlite3_step(st);
	if (r == SQLITE_ROW)
		v = sqlite3_column_int(st, 0) + (deployed ? 1 : 0);
	sqlite3_reset(st);
	if (r != SQLITE_ROW && r != SQLITE_DONE)
		goto fail;
	st = store__sq_stmt(s, ST_PROJ_PUT);
	store__sq_bind_text(st, 1, id);
	store__sq_bind_text(st, 2, name);
	store__sq_bind_text(st, 3, researcher);
	store__sq_bind_text(st, 4, dir);
	sqlite3_bind_int(st, 5, v);
	sqlite3_bind_int(st, 6, deployed ? 1 : 0);
	store__sq_bind_text(st, 7, now);
	if (store__sq_exec(st) < 0 || store__sq_commit(s) < 0)
		goto fail;
	if (version)
		*version = v;
	rc = 0;
	goto out;
fail:
	store__sq_rollback(s);
out:
	pthread_mutex_unlock(&s->mu);
	return rc;
}

int store__sq_project_live_get(void *db, const char *id)
{
	struct store__sq *s = db;
	int live = -1;
	pthread_mutex_lock(&s->mu);
	sqlite3_stmt *st = store__sq_stmt(s, ST_PROJ_LIVE_GET);
	if (st) {
		store__sq_bind_text(st, 1, id);
		if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_type(st, 0) != SQLITE_NULL)
			live = sqlite3_column_int(st, 0) ? 1 : 0;
		sqlite3_reset(st);
	}
	pthread_mutex_unlock(&s->mu);
	return live;
}

int store__sq_project_live_set(void *db, const char *id, int live)
{
	struct store__sq *s = db;
	char now[32];
	store_now(now, sizeof now);
	store__sq_lock_for_write(s);
	sqlite3_stmt *st = store__sq_stmt(s, ST_PROJ_LIVE_SET);
	store__sq_bind_text(st, 1, id);
	if (live < 0)
		sqlite3_bind_null(st, 2);
	else
		sqlite3_bind_int(st, 2, live ? 1 : 0);
	store__sq_bind_text(st, 3, now);
	int rc = store__sq_exec(st);
	if (rc == 0 && sqlite3_changes(s->db) == 0)
		rc = -1;
	pthread_mutex_unlock(&s->mu);
	return rc;
}
