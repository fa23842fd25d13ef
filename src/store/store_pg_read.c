/* The PostgreSQL backend's iterators (see store_pg.h): one prepared statement
 * whose rows arrive one at a time (libpq's single-row mode), each handed to
 * the caller's function, so memory does not grow with the number of rows. */
#include <string.h>

#include "store/store_pg.h"

#define TEXT(r, c) store__pg_text(r, 0, c)
#define LL(r, c)   store__pg_ll(r, 0, c)

/* The caller's function and its argument. */
struct sink {
	union {
		store_participant_fn participant;
		store_answer_fn answer;
		store_group_fn group;
		store_session_fn session;
		store_request_fn request;
		store_pass_fn pass;
		store_step_count_fn step_count;
		store_project_fn project;
		store_step_time_fn step_time;
		store_group_count_fn group_count;
	} fn;
	void *user;
};

typedef int (*row_fn)(const PGresult *r, const struct sink *k);

/* Streams the rows of statement ID with parameter P to ROW (s->mu held); a
 * non-zero return of ROW stops the calls (the remaining rows are read and
 * dropped) and is returned. *DELIVERED tells whether ROW was called. */
static int stream_locked(struct store__pg *s, enum store__pg_stmt id, int n,
			 const struct store__pg_param *p, bool binary, row_fn row,
			 const struct sink *k, bool *delivered)
{
	struct store__pg_conn *c = &s->main;
	if (store__pg_send(s, c, id, n, p, binary) < 0)
		return -1;
	int stop = 0;
	bool failed = false;
	PGresult *r;
	while ((r = PQgetResult(c->c))) {
		ExecStatusType st = PQresultStatus(r);
		if (st == PGRES_SINGLE_TUPLE) {
			if (!stop && !failed) {
				*delivered = true;
				stop = row(r, k);
			}
		} else if (st != PGRES_TUPLES_OK && !failed) {
			store__pg_fail(s, c, r);
			failed = true;
		}
		PQclear(r);
	}
	return stop ? stop : failed ? -1 : 0;
}

/* stream_locked under the lock, run again once after a broken connection
 * when no row was delivered yet. */
static int stream(struct store__pg *s, enum store__pg_stmt id, int n,
		  const struct store__pg_param *p, bool binary, row_fn row, const struct sink *k)
{
	int rc, attempt = 0;
	bool delivered = false;
	pthread_mutex_lock(&s->mu);
	do
		rc = stream_locked(s, id, n, p, binary, row, k, &delivered);
	while (rc < 0 && !delivered && store__pg_retry(s, &s->main, &attempt));
	pthread_mutex_unlock(&s->mu);
	return rc;
}

/* The rows of Q: statement ONE_ID for one participant, else PROJECT_ID. */
static int iterate(struct store__pg *s, const struct store_query *q, enum store__pg_stmt project_id,
		   enum store__pg_stmt one_id, bool binary, row_fn row, const struct sink *k)
{
	char b[24];
	struct store__pg_param p[2] = {
		q->participant ? store__pg_int(b, q->participant) : store__pg_str(q->project_id),
		store__pg_str(q->preview ? "true" : "false"),
	};
	return q->participant ? stream(s, one_id, 1, p, binary, row, k)
			      : stream(s, project_id, 2, p, binary, row, k);
}

static int participant_row(const PGresult *r, const struct sink *k)
{
	struct store_participant_row w = {
		.id = LL(r, 0),
		.project_id = TEXT(r, 1),
		.user_id = TEXT(r, 2),
		.created = TEXT(r, 3),
		.updated = TEXT(r, 4),
		.step = (int)LL(r, 5),
		.status = TEXT(r, 6),
		.crowd = TEXT(r, 7),
		.groups = TEXT(r, 8),
		.sessions = LL(r, 9),
		.session_started = TEXT(r, 10),
		.session_stopped = TEXT(r, 11),
		.session_reason = TEXT(r, 12),
		.preview = LL(r, 13) != 0,
	};
	return k->fn.participant(k->user, &w);
}

int store__pg_participants(void *db, const struct store_query *q, store_participant_fn fn,
			   void *user)
{
	enum store__pg_stmt p = q->order == STORE_ORDER_ID ? PG_PART_LIST_ID_P : PG_PART_LIST_P;
	struct sink k = {.fn.participant = fn, .user = user};
	return iterate(db, q, p, PG_PART_LIST_1, false, participant_row, &k);
}

/* Binary results: the value's bytes as stored (NUL bytes included), text
 * columns as their bytes with a NUL after them. */
static int answer_row(const PGresult *r, const struct sink *k)
{
	struct store_answer_row w = {
		.participant = LL(r, 0),
		.user_id = TEXT(r, 1),
		.step = (int)LL(r, 2),
		.field = TEXT(r, 3),
		.value = TEXT(r, 4),
		.value_len = (size_t)PQgetlength(r, 0, 4),
		.time = TEXT(r, 5),
		.page_hash = TEXT(r, 6),
		.project_version = (int)LL(r, 7),
	};
	return k->fn.answer(k->user, &w);
}

int store__pg_answers(void *db, const struct store_query *q, store_answer_fn fn, void *user)
{
	struct store__pg *s = db;
	bool v2 = s->version < 3; /* answers without their page (read only) */
	struct sink k = {.fn.answer = fn, .user = user};
	return iterate(s, q, v2 ? PG_ANSWER_LIST_V2_P : PG_ANSWER_LIST_P,
		       v2 ? PG_ANSWER_LIST_V2_1 : PG_ANSWER_LIST_1, true, answer_row, &k);
}

static int pass_row(const PGresult *r, const struct sink *k)
{
	struct store_pass_row w = {
		.participant = LL(r, 0),
		.user_id = TEXT(r, 1),
		.step = (int)LL(r, 2),
		.page_hash = TEXT(r, 3),
		.project_version = (int)LL(r, 4),
		.time = TEXT(r, 5),
	};
	return k->fn.pass(k->user, &w);
}

int store__pg_passes(void *db, const struct store_query *q, store_pass_fn fn, void *user)
{
	struct store__pg *s = db;
	if (s->version < 3)
		return 0; /* no passes table yet (read only) */
	struct sink k = {.fn.pass = fn, .user = user};
	return iterate(s, q, PG_PASS_LIST_P, PG_PASS_LIST_1, false, pass_row, &k);
}

static int group_row(const PGresult *r, const struct sink *k)
{
	struct store_group_row w = {
		.participant = LL(r, 0),
		.user_id = TEXT(r, 1),
		.n = (int)LL(r, 2),
		.group = (int)LL(r, 3),
		.assigned = TEXT(r, 4),
	};
	return k->fn.group(k->user, &w);
}

int store__pg_groups(void *db, const struct store_query *q, store_group_fn fn, void *user)
{
	struct sink k = {.fn.group = fn, .user = user};
	return iterate(db, q, PG_GROUP_LIST_P, PG_GROUP_LIST_1, false, group_row, &k);
}

static int session_row(const PGresult *r, const struct sink *k)
{
	struct store_session_row w = {
		.participant = LL(r, 0),
		.user_id = TEXT(r, 1),
		.step = (int)LL(r, 2),
		.started = TEXT(r, 3),
		.stopped = TEXT(r, 4),
		.reason = TEXT(r, 5),
		.files = TEXT(r, 6),
	};
	return k->fn.session(k->user, &w);
}

int store__pg_sessions(void *db, const struct store_query *q, store_session_fn fn, void *user)
{
	struct sink k = {.fn.session = fn, .user = user};
	return iterate(db, q, PG_SESS_LIST_P, PG_SESS_LIST_1, false, session_row, &k);
}

static int request_row(const PGresult *r, const struct sink *k)
{
	struct store_request_row w = {
		.participant = LL(r, 0),
		.user_id = TEXT(r, 1),
		.time = TEXT(r, 2),
		.last = TEXT(r, 3),
		.method = TEXT(r, 4),
		.step = (int)LL(r, 5),
		.headers = TEXT(r, 6),
		.ip = TEXT(r, 7),
		.repeats = LL(r, 8),
	};
	return k->fn.request(k->user, &w);
}

int store__pg_requests(void *db, const struct store_query *q, store_request_fn fn, void *user)
{
	struct store__pg *s = db;
	if (!s->read_only && store__pg_flush_pending(s) < 0)
		return -1;
	bool v1 = s->version < 2; /* requests without header sets (read only) */
	struct sink k = {.fn.request = fn, .user = user};
	return iterate(s, q, v1 ? PG_REQ_LIST_V1_P : PG_REQ_LIST_P,
		       v1 ? PG_REQ_LIST_V1_1 : PG_REQ_LIST_1, false, request_row, &k);
}

/* ------------------------------------------------------------ the console */

int store__pg_participants_find(void *db, const struct store_find *q, store_participant_fn fn,
				void *user, long long *total)
{
	struct store__pg *s = db;
	char b2[24], b4[24], b5[24], b9[24], b10[24];
	const struct store__pg_param p[10] = {
		store__pg_str(q->project_id),
		store__pg_int(b2, q->step > 0 ? q->step : 0),
		store__pg_str(q->status),
		store__pg_int(b4, q->group_n > 0 ? q->group_n : 0),
		store__pg_int(b5, q->group),
		store__pg_str(q->search && q->search[0] ? q->search : NULL),
		store__pg_str(q->updated_before),
		store__pg_str(q->preview ? "true" : "false"),
		store__pg_int(b9, q->limit),
		store__pg_int(b10, q->offset),
	};
	PGresult *r = store__pg_query_main(s, PG_PART_FIND_COUNT, 8, p);
	if (!r)
		return -1;
	*total = LL(r, 0);
	PQclear(r);
	if (q->limit == 0 || *total <= q->offset)
		return 0;
	struct sink k = {.fn.participant = fn, .user = user};
	return stream(s, PG_PART_FIND, 10, p, false, participant_row, &k);
}

static int step_time_row(const PGresult *r, const struct sink *k)
{
	struct store_step_time_row w = {
		.participant = LL(r, 0),
		.step = (int)LL(r, 1),
		.first = TEXT(r, 2),
	};
	return k->fn.step_time(k->user, &w);
}

int store__pg_step_times(void *db, const char *project_id, store_step_time_fn fn, void *user)
{
	struct sink k = {.fn.step_time = fn, .user = user};
	struct store__pg_param p = store__pg_str(project_id);
	return stream(db, PG_STEP_TIMES, 1, &p, false, step_time_row, &k);
}

static int group_count_row(const PGresult *r, const struct sink *k)
{
	struct store_group_count_row w = {
		.n = (int)LL(r, 0),
		.group = (int)LL(r, 1),
		.count = LL(r, 2),
	};
	return k->fn.group_count(k->user, &w);
}

int store__pg_group_counts(void *db, const char *project_id, store_group_count_fn fn,
			   void *user)
{
	struct sink k = {.fn.group_count = fn, .user = user};
	struct store__pg_param p = store__pg_str(project_id);
	return stream(db, PG_GROUP_COUNTS_ALL, 1, &p, false, group_count_row, &k);
}

/* ------------------------------------------------------------ counts, projects */

static int step_count_row(const PGresult *r, const struct sink *k)
{
	struct store_step_count_row w = {
		.project_id = TEXT(r, 0),
		.step = (int)LL(r, 1),
		.status = TEXT(r, 2),
		.count = LL(r, 3),
	};
	return k->fn.step_count(k->user, &w);
}

int store__pg_step_counts(void *db, const char *project_id, store_step_count_fn fn, void *user)
{
	struct sink k = {.fn.step_count = fn, .user = user};
	struct store__pg_param p = store__pg_str(project_id);
	return project_id ? stream(db, PG_STEP_COUNTS, 1, &p, false, step_count_row, &k)
			  : stream(db, PG_STEP_COUNTS_ALL, 0, NULL, false, step_count_row, &k);
}

static int project_row(const PGresult *r, const struct sink *k)
{
	struct store_project_row w = {
		.id = TEXT(r, 0),
		.name = TEXT(r, 1),
		.researcher = TEXT(r, 2),
		.dir = TEXT(r, 3),
		.version = (int)LL(r, 4),
		.deployed = LL(r, 5) != 0,
		.live = (int)LL(r, 6),
		.updated = TEXT(r, 7),
	};
	return k->fn.project(k->user, &w);
}

int store__pg_projects(void *db, const char *project_id, store_project_fn fn, void *user)
{
	struct sink k = {.fn.project = fn, .user = user};
	struct store__pg_param p = store__pg_str(project_id);
	return stream(db, PG_PROJ_LIST, 1, &p, false, project_row, &k);
}
