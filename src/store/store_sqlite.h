/* The SQLite backend of the participant store, shared by its three files
 * (store__sq_ prefix): store_sqlite.c (connection, schema and migrations,
 * the maintenance thread, the backend table), store_sqlite_write.c (the
 * writes and the request batches), store_sqlite_read.c (the iterators).
 *
 * One connection behind a mutex, every statement prepared once; request
 * records are committed in batches and WAL checkpoints run on a maintenance
 * thread with a connection of its own, so the HTTP thread never waits for an
 * fsync on a GET. */
#ifndef HIPPO_STORE_STORE_SQLITE_H
#define HIPPO_STORE_STORE_SQLITE_H

#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>

#include <sqlite3.h>

#include "store/store_int.h"

enum store__sq_stmt {
	ST_BEGIN,
	ST_COMMIT,
	ST_ROLLBACK,
	ST_PART_GET,
	ST_PART_INSERT,
	ST_PART_CROWD,
	ST_PART_CROWD_GET,
	ST_REQ_INSERT,
	ST_REQ_LAST,
	ST_REQ_COUNT,
	ST_REQ_FOLD,
	ST_HSET_GET,
	ST_HSET_COUNT,
	ST_HSET_INSERT,
	ST_PART_STEP,
	ST_ANSWER_ANY,
	ST_ADVANCE,
	ST_ANSWER_INSERT,
	ST_PASS_INSERT,
	ST_GROUP_GET,
	ST_GROUP_COUNTS,
	ST_GROUP_INSERT,
	ST_SESS_START,
	ST_SESS_END,
	ST_SESS_LAST,
	ST_SESS_CLOSE_ALL,
	ST_SESS_OPEN,
	ST_PROJ_GET,
	ST_PROJ_PUT,
	ST_PROJ_LIVE_GET,
	ST_PROJ_LIVE_SET,
	ST_STEP_COUNTS,
	ST_STEP_COUNTS_ALL,
	/* the researcher console (store_sqlite_console.c) */
	ST_PART_FIND,
	ST_PART_FIND_COUNT,
	ST_STEP_TIMES,
	ST_GROUP_COUNTS_ALL,
	ST_DEL_ANSWERS,
	ST_DEL_PASSES,
	ST_DEL_REQUESTS,
	ST_DEL_HSETS,
	ST_DEL_SESSIONS,
	ST_DEL_GROUPS,
	ST_DEL_PART,
	/* the iterators: of a project (_P) or of one participant (_1) */
	ST_PART_LIST_P,   /* by creation */
	ST_PART_LIST_ID_P,
	ST_PART_LIST_1,
	ST_ANSWER_LIST_P,
	ST_ANSWER_LIST_1,
	ST_ANSWER_LIST_V2_P, /* a database before schema version 3 (read only) */
	ST_ANSWER_LIST_V2_1,
	ST_PASS_LIST_P,
	ST_PASS_LIST_1,
	ST_GROUP_LIST_P,
	ST_GROUP_LIST_1,
	ST_SESS_LIST_P,
	ST_SESS_LIST_1,
	ST_REQ_LIST_P,
	ST_REQ_LIST_1,
	ST_REQ_LIST_V1_P, /* a database at schema version 1 (read only) */
	ST_REQ_LIST_V1_1,
	ST_PROJ_LIST,
	ST_COUNT
};

/* The cluster statements (store_sqlite_cluster.c), prepared at first use. */
enum store__sq_cl {
	CL_NODE_RENEW,
	CL_NODE_REMOVE,
	CL_NODE_DRAIN,
	CL_NODE_EXPIRE,
	CL_NODES,
	CL_NODES_V4,
	CL_OPEN_OF,
	CL_CLOSE_PART,
	CL_CHOOSE,
	CL_INSERT,
	CL_INFO,
	CL_PLACED,
	CL_END_NODE,
	CL_STOP,
	CL_PROGRESS,
	CL_CLOSE_NODE,
	CL_REAP,
	CL_COUNT
};

#define PENDING_MAX 256

struct store__sq {
	sqlite3 *db;
	pthread_mutex_t mu;
	bool read_only;
	int version;                 /* the database's schema version */
	sqlite3_stmt *st[ST_COUNT];  /* prepared at open, or at first use when read only */
	sqlite3_stmt *cl[CL_COUNT];  /* the cluster's, prepared at first use */
	/* Request logs are committed in batches, and WAL checkpoints run on a
	 * maintenance thread with its own connection, so neither costs the
	 * HTTP thread a commit or an fsync per request. */
	struct store__request pending[PENDING_MAX];
	size_t npending;
	sqlite3 *ckpt_db;
	pthread_t bg;
	bool bg_started, bg_stop, ckpt_wanted, ckpt_running;
	int wal_frames; /* pages in the WAL after the latest commit */
	pthread_cond_t bg_cond, ckpt_cond;
};

/* The statement, reset and unbound (every call rebinds all); NULL when it
 * cannot be prepared (a read-only database of an older version). Called with
 * s->mu held. */
sqlite3_stmt *store__sq_stmt(struct store__sq *s, enum store__sq_stmt id);
/* Runs a statement that returns no rows; 0 or -1. */
int store__sq_exec(sqlite3_stmt *st);
void store__sq_bind_text(sqlite3_stmt *st, int i, const char *v);
int store__sq_begin(struct store__sq *s);
int store__sq_commit(struct store__sq *s);
void store__sq_rollback(struct store__sq *s);
/* Locks S for a write: waits while a checkpoint runs on a long WAL. */
void store__sq_lock_for_write(struct store__sq *s);
/* Called with s->mu held before a write (see WAL_WAIT_FRAMES). */
void store__sq_wal_wait_locked(struct store__sq *s);
/* Commits the pending request records in one transaction (s->mu held). */
int store__sq_flush_locked(struct store__sq *s);

/* The backend slots of store_sqlite_write.c and store_sqlite_read.c. */
int store__sq_participant_get(void *db, const char *project_id, const char *user_id,
			      struct store_participant *p);
int store__sq_participant_ensure(void *db, const char *project_id, const char *user_id,
				 json_t *crowd, bool preview, struct store_participant *p,
				 bool *created);
int store__sq_request_log(void *db, const struct store__request *r);
int store__sq_flush(void *db);
int store__sq_advance(void *db, long long pid, int from, int to, const struct store__answer *a,
		      size_t n, bool completed, const struct store_page *page);
int store__sq_submit_final(void *db, long long pid, int step, const struct store__answer *a,
			   size_t n, const struct store_page *page);
int store__sq_group_get(void *db, long long pid, int n, int *group);
int store__sq_group_assign(void *db, long long pid, const char *project_id, int n,
			   store_choose_fn choose, void *user, int *group);
int store__sq_session_start(void *db, long long pid, int step);
int store__sq_session_end(void *db, long long pid, const char *reason, const char *files);
int store__sq_session_last(void *db, long long pid, bool *open, char *reason, size_t rlen);
int store__sq_sessions_close_all(void *db, const char *reason);
long long store__sq_sessions_open(void *db);
int store__sq_project_put(void *db, const char *id, const char *name, const char *researcher,
			  const char *dir, bool deployed, int *version);
int store__sq_project_live_get(void *db, const char *id);
int store__sq_project_live_set(void *db, const char *id, int live);

/* store_sqlite_cluster.c: schema versions 4 and 5, and the cluster slots. */
extern const char store__sq_schema_v4[];
extern const char store__sq_schema_v5[];
/* store_sqlite_deploy.c: the deployed versions (schema version 6) */
extern const char store__sq_schema_v6[];
int store__sq_deploy_put(void *db, const char *id, int version, const char *config,
			 const char *files);
int store__sq_deploy_get(void *db, const char *id, int version, int *got, char **config,
			 char **files);
int store__sq_deploys_latest(void *db, int (*fn)(void *user, const char *id, int version),
			     void *user);
void store__sq_cl_finalize(struct store__sq *s);
int store__sq_node_renew(void *db, const char *name, const char *url, const char *probe,
			 int slots, bool draining, bool fresh, int lease_ms, bool *drain_asked);
int store__sq_node_remove(void *db, const char *name);
int store__sq_node_drain(void *db, const char *name);
int store__sq_node_expire(void *db, const char *name);
int store__sq_nodes(void *db, store_node_fn fn, void *user);
int store__sq_place(void *db, long long pid, int step, int episodes,
		    struct store_placement *out);
int store__sq_session_progress(void *db, long long pid, const char *node, int episodes);
int store__sq_session_info(void *db, long long pid, struct store_session_info *out);
int store__sq_placed(void *db, const char *node, store_placed_fn fn, void *user);
int store__sq_session_end_node(void *db, long long pid, const char *node, const char *reason,
			       const char *files);
int store__sq_session_stop(void *db, long long pid, const char *reason);
int store__sq_sessions_close_node(void *db, const char *node, const char *reason);
int store__sq_nodes_reap(void *db);

int store__sq_participants(void *db, const struct store_query *q, store_participant_fn fn,
			   void *user);
int store__sq_answers(void *db, const struct store_query *q, store_answer_fn fn, void *user);
int store__sq_groups(void *db, const struct store_query *q, store_group_fn fn, void *user);
int store__sq_sessions(void *db, const struct store_query *q, store_session_fn fn, void *user);
int store__sq_requests(void *db, const struct store_query *q, store_request_fn fn, void *user);
int store__sq_passes(void *db, const struct store_query *q, store_pass_fn fn, void *user);
int store__sq_step_counts(void *db, const char *project_id, store_step_count_fn fn, void *user);
int store__sq_projects(void *db, const char *project_id, store_project_fn fn, void *user);

/* store_sqlite_console.c */
int store__sq_participants_find(void *db, const struct store_find *q, store_participant_fn fn,
				void *user, long long *total);
int store__sq_step_times(void *db, const char *project_id, store_step_time_fn fn, void *user);
int store__sq_group_counts(void *db, const char *project_id, store_group_count_fn fn,
			   void *user);
int store__sq_participant_delete(void *db, long long pid, struct store_delete_counts *counts);

#endif
