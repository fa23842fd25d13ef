/* The SQLite backend's iterators (see store_sqlite.h): one prepared statement
 * stepped row by row, each row handed to the caller's function, so memory
 * does not grow with the number of rows. */
#include "store/store_sqlite.h"

#define TEXT(st, i) ((const char *)sqlite3_column_text(st, i))

/* The caller's function and its argument. */
struct sink {
	union {
		store_participant_fn participant;
		store_answer_fn answer;
		store_group_fn group;
		store_session_fn session;
		store_request_fn request;
		store_pass_fn pass;
	} fn;
	void *user;
};

typedef int (*row_fn)(sqlite3_stmt *st, const struct sink *k);

/* Runs the statement of Q (ONE_ID for one participant, else PROJECT_ID)
 * under the lock, calling ROW for each row. */
static int iterate(struct store__sq *s, const struct store_query *q, enum store__sq_stmt project_id,
		   enum store__sq_stmt one_id, row_fn row, const struct sink *k)
{
	int rc = -1, r;
	pthread_mutex_lock(&s->mu);
	sqlite3_stmt *st = store__sq_stmt(s, q->participant ? one_id : project_id);
	if (!st)
		goto out;
	if (q->participant) {
		sqlite3_bind_int64(st, 1, q->participant);
	} else {
		store__sq_bind_text(st, 1, q->project_id);
		sqlite3_bind_int(st, 2, q->preview);
	}
	int stop = 0;
	while ((r = sqlite3_step(st)) == SQLITE_ROW)
		if ((stop = row(st, k)) != 0)
			break;
	rc = stop ? stop : r == SQLITE_DONE ? 0 : -1;
	sqlite3_reset(st);
out:
	pthread_mutex_unlock(&s->mu);
	return rc;
}

static int participant_row(sqlite3_stmt *st, const struct sink *k)
{
	struct store_participant_row r = {
		.id = sqlite3_column_int64(st, 0),
		.project_id = TEXT(st, 1),
		.user_id = TEXT(st, 2),
		.created = TEXT(st, 3),
		.updated = TEXT(st, 4),
		.step = sqlite3_column_int(st, 5),
		.status = TEXT(st, 6),
		.crowd = TEXT(st, 7),
		.groups = TEXT(st, 8),
		.sessions = sqlite3_column_int64(st, 9),
		.session_started = TEXT(st, 10),
		.session_stopped = TEXT(st, 11),
		.session_reason = TEXT(st, 12),
		.preview = sqlite3_column_int(st, 13) != 0,
	};
	return k->fn.participant(k->user, &r);
}

int store__sq_participants(void *db, const struct store_query *q, store_participant_fn fn,
			   void *user)
{
	enum store__sq_stmt p = q->order == STORE_ORDER_ID ? ST_PART_LIST_ID_P : ST_PART_LIST_P;
	struct sink k = {.fn.participant = fn, .user = user};
	return iterate(db, q, p, ST_PART_LIST_1, participant_row, &k);
}

static int answer_row(sqlite3_stmt *st, const struct sink *k)
{
	/* the text first, then its length (SQLite's order for a valid pointer) */
	const char *value = TEXT(st, 4);
	size_t value_len = (size_t)sqlite3_column_bytes(st, 4);
	struct store_answer_row r = {
		.participant = sqlite3_column_int64(st, 0),
		.user_id = TEXT(st, 1),
		.step = sqlite3_column_int(st, 2),
		.field = TEXT(st, 3),
		.value = value,
		.value_len = value_len,
		.time = TEXT(st, 5),
		.page_hash = TEXT(st, 6),
		.project_version = sqlite3_column_int(st, 7),
	};
	return k->fn.answer(k->user, &r);
}

int store__sq_answers(void *db, const struct store_query *q, store_answer_fn fn, void *user)
{
	struct store__sq *s = db;
	bool v2 = s->version < 3; /* answers without their page (read only) */
	struct sink k = {.fn.answer = fn, .user = user};
	return iterate(s, q, v2 ? ST_ANSWER_LIST_V2_P : ST_ANSWER_LIST_P,
		       v2 ? ST_ANSWER_LIST_V2_1 : ST_ANSWER_LIST_1, answer_row, &k);
}

static int pass_row(sqlite3_stmt *st, const struct sink *k)
{
	struct store_pass_row r = {
		.participant = sqlite3_column_int64(st, 0),
		.user_id = TEXT(st, 1),
		.step = sqlite3_column_int(st, 2),
		.page_hash = TEXT(st, 3),
		.project_version = sqlite3_column_int(st, 4),
		.time = TEXT(st, 5),
	};
	return k->fn.pass(k->user, &r);
}

int store__sq_passes(void *db, const struct store_query *q, store_pass_fn fn, void *user)
{
	struct store__sq *s = db;
	if (s->version < 3)
		return 0; /* no passes table yet (read only) */
	struct sink k = {.fn.pass = fn, .user = user};
	return iterate(s, q, ST_PASS_LIST_P, ST_PASS_LIST_1, pass_row, &k);
}

static int group_row(sqlite3_stmt *st, const struct sink *k)
{
	struct store_group_row r = {
		.participant = sqlite3_column_int64(st, 0),
		.user_id = TEXT(st, 1),
		.n = sqlite3_column_int(st, 2),
		.group = sqlite3_column_int(st, 3),
		.assigned = TEXT(st, 4),
	};
	return k->fn.group(k->user, &r);
}

int store__sq_groups(void *db, const struct store_query *q, store_group_fn fn, void *user)
{
	struct sink k = {.fn.group = fn, .user = user};
	return iterate(db, q, ST_GROUP_LIST_P, ST_GROUP_LIST_1, group_row, &k);
}

static int session_row(sqlite3_stmt *st, const struct sink *k)
{
	struct store_session_row r = {
		.participant = sqlite3_column_int64(st, 0),
		.user_id = TEXT(st, 1),
		.step = sqlite3_column_int(st, 2),
		.started = TEXT(st, 3),
		.stopped = TEXT(st, 4),
		.reason = TEXT(st, 5),
		.files = TEXT(st, 6),
	};
	return k->fn.session(k->user, &r);
}

int store__sq_sessions(void *db, const struct store_query *q, store_session_fn fn, void *user)
{
	struct sink k = {.fn.session = fn, .user = user};
	return iterate(db, q, ST_SESS_LIST_P, ST_SESS_LIST_1, session_row, &k);
}

static int request_row(sqlite3_stmt *st, const struct sink *k)
{
	struct store_request_row r = {
		.participant = sqlite3_column_int64(st, 0),
		.user_id = TEXT(st, 1),
		.time = TEXT(st, 2),
		.last = TEXT(st, 3),
		.method = TEXT(st, 4),
		.step = sqlite3_column_int(st, 5),
		.headers = TEXT(st, 6),
		.ip = TEXT(st, 7),
		.repeats = sqlite3_column_int64(st, 8),
	};
	return k->fn.request(k->user, &r);
}

int store__sq_requests(void *db, const struct store_query *q, store_request_fn fn, void *user)
{
	struct store__sq *s = db;
	if (!s->read_only && store__sq_flush(s) < 0)
		return -1;
	bool v1 = s->version < 2; /* requests without header sets (read only) */
	struct sink k = {.fn.request = fn, .user = user};
	return iterate(s, q, v1 ? ST_REQ_LIST_V1_P : ST_REQ_LIST_P,
		       v1 ? ST_REQ_LIST_V1_1 : ST_REQ_LIST_1, request_row, &k);
}

int store__sq_step_counts(void *db, const char *project_id, store_step_count_fn fn, void *user)
{
	struct store__sq *s = db;
	int rc = -1, k, stop = 0;
	pthread_mutex_lock(&s->mu);
	sqlite3_stmt *st = store__sq_stmt(s, project_id ? ST_STEP_COUNTS : ST_STEP_COUNTS_ALL);
	if (!st)
		goto out;
	if (project_id)
		store__sq_bind_text(st, 1, project_id);
	while ((k = sqlite3_step(st)) == SQLITE_ROW) {
		struct store_step_count_row r = {
			.project_id = TEXT(st, 0),
			.step = sqlite3_column_int(st, 1),
			.status = TEXT(st, 2),
			.count = sqlite3_column_int64(st, 3),
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

int store__sq_projects(void *db, const char *project_id, store_project_fn fn, void *user)
{
	struct store__sq *s = db;
	int rc = -1, k, stop = 0;
	pthread_mutex_lock(&s->mu);
	sqlite3_stmt *st = store__sq_stmt(s, ST_PROJ_LIST);
	if (!st)
		goto out;
	store__sq_bind_text(st, 1, project_id);
	while ((k = sqlite3_step(st)) == SQLITE_ROW) {
		struct store_project_row r = {
			.id = TEXT(st, 0),
			.name = TEXT(st, 1),
			.researcher = TEXT(st, 2),
			.dir = TEXT(st, 3),
			.version = sqlite3_column_int(st, 4),
			.deployed = sqlite3_column_int(st, 5) != 0,
			.live = sqlite3_column_int(st, 6),
			.updated = TEXT(st, 7),
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
