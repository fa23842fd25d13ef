/* The SQLite backend's slots for the researcher console (store_int.h): a page
 * of filtered participants with their count, the first time each participant
 * saw each step, group sizes, and a participant's withdrawal. */
#include <string.h>

#include "store/store_sqlite.h"

#define TEXT(st, i) ((const char *)sqlite3_column_text(st, i))

/* Binds the filters of Q to ?1..?7 and ?10 of ST (FIND_WHERE in store_sqlite.c). */
static void bind_find(sqlite3_stmt *st, const struct store_find *q)
{
	store__sq_bind_text(st, 1, q->project_id);
	sqlite3_bind_int(st, 2, q->step > 0 ? q->step : 0);
	store__sq_bind_text(st, 3, q->status);
	sqlite3_bind_int(st, 4, q->group_n > 0 ? q->group_n : 0);
	sqlite3_bind_int(st, 5, q->group);
	store__sq_bind_text(st, 6, q->search && q->search[0] ? q->search : NULL);
	store__sq_bind_text(st, 7, q->updated_before);
	sqlite3_bind_int(st, 10, q->preview);
}

int store__sq_participants_find(void *db, const struct store_find *q, store_participant_fn fn,
				void *user, long long *total)
{
	struct store__sq *s = db;
	int rc = -1, r, stop = 0;
	pthread_mutex_lock(&s->mu);
	sqlite3_stmt *st = store__sq_stmt(s, ST_PART_FIND_COUNT);
	if (!st)
		goto out;
	bind_find(st, q);
	if (sqlite3_step(st) != SQLITE_ROW) {
		sqlite3_reset(st);
		goto out;
	}
	*total = sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	if (q->limit == 0 || *total <= q->offset) {
		rc = 0;
		goto out;
	}
	st = store__sq_stmt(s, ST_PART_FIND);
	if (!st)
		goto out;
	bind_find(st, q);
	sqlite3_bind_int64(st, 8, q->limit);
	sqlite3_bind_int64(st, 9, q->offset);
	while ((r = sqlite3_step(st)) == SQLITE_ROW) {
		struct store_participant_row row = {
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
		if ((stop = fn(user, &row)) != 0)
			break;
	}
	rc = stop ? stop : r == SQLITE_DONE ? 0 : -1;
	sqlite3_reset(st);
out:
	pthread_mutex_unlock(&s->mu);
	return rc;
}

int store__sq_step_times(void *db, const char *project_id, store_step_time_fn fn, void *user)
{
	struct store__sq *s = db;
	int rc = -1, r, stop = 0;
	pthread_mutex_lock(&s->mu);
	sqlite3_stmt *st = store__sq_stmt(s, ST_STEP_TIMES);
	if (!st)
		goto out;
	store__sq_bind_text(st, 1, project_id);
	while ((r = sqlite3_step(st)) == SQLITE_ROW) {
		struct store_step_time_row row = {
			.participant = sqlite3_column_int64(st, 0),
			.step = sqlite3_column_int(st, 1),
			.first = TEXT(st, 2),
		};
		if ((stop = fn(user, &row)) != 0)
			break;
	}
	rc = stop ? stop : r == SQLITE_DONE ? 0 : -1;
	sqlite3_reset(st);
out:
	pthread_mutex_unlock(&s->mu);
	return rc;
}

int store__sq_group_counts(void *db, const char *project_id, store_group_count_fn fn,
			   void *user)
{
	struct store__sq *s = db;
	int rc = -1, r, stop = 0;
	pthread_mutex_lock(&s->mu);
	sqlite3_stmt *st = store__sq_stmt(s, ST_GROUP_COUNTS_ALL);
	if (!st)
		goto out;
	store__sq_bind_text(st, 1, project_id);
	while ((r = sqlite3_step(st)) == SQLITE_ROW) {
		struct store_group_count_row row = {
			.n = sqlite3_column_int(st, 0),
			.group = sqlite3_column_int(st, 1),
			.count = sqlite3_column_int64(st, 2),
		};
		if ((stop = fn(user, &row)) != 0)
			break;
	}
	rc = stop ? stop : r == SQLITE_DONE ? 0 : -1;
	sqlite3_reset(st);
out:
	pthread_mutex_unlock(&s->mu);
	return rc;
}

int store__sq_participant_delete(void *db, long long pid, struct store_delete_counts *counts)
{
	struct store__sq *s = db;
	static const enum store__sq_stmt order[] = {ST_DEL_ANSWERS,  ST_DEL_PASSES, ST_DEL_REQUESTS,
						    ST_DEL_HSETS,    ST_DEL_SESSIONS, ST_DEL_GROUPS,
						    ST_DEL_PART};
	long long *field[] = {&counts->answers,     &counts->passes,   &counts->requests,
			      &counts->header_sets, &counts->sessions, &counts->groups,
			      &counts->participants};
	store__sq_lock_for_write(s);
	/* the participant's request records still in the batch go in first */
	int rc = store__sq_flush_locked(s);
	if (rc == 0)
		rc = store__sq_begin(s);
	for (size_t i = 0; rc == 0 && i < sizeof order / sizeof order[0]; i++) {
		sqlite3_stmt *st = store__sq_stmt(s, order[i]);
		if (!st) {
			rc = -1;
			break;
		}
		sqlite3_bind_int64(st, 1, pid);
		rc = store__sq_exec(st);
		if (rc == 0)
			*field[i] = sqlite3_changes(s->db);
	}
	if (rc == 0)
		rc = store__sq_commit(s);
	else
		store__sq_rollback(s);
	pthread_mutex_unlock(&s->mu);
	return rc < 0 ? -1 : counts->participants > 0 ? 1 : 0;
}
