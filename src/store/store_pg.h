/* The PostgreSQL backend of the participant store, shared by its files
 * (store__pg_ prefix): store_pg.c (the schema and migrations, the statements,
 * the request-batch thread, open and close, the backend table),
 * store_pg_conn.c (the URL, connections, running statements, messages),
 * store_pg_write.c (the writes), store_pg_batch.c (the request records),
 * store_pg_read.c (the iterators), store_pg_cluster.c (the cluster's slots:
 * nodes, leases by the server's clock, placement).
 *
 * One connection for the callers behind a mutex (as the SQLite backend), and
 * one of its own for the thread that commits the request batches, so a GET
 * never waits for a batch's round trips. Every statement is prepared once per
 * connection (on first use) and run with bound parameters. A connection found
 * broken after a failure is reset once (logged) and the operation retried. */
#ifndef HIPPO_STORE_STORE_PG_H
#define HIPPO_STORE_STORE_PG_H

#include <pthread.h>
#include <stdbool.h>

#include <libpq-fe.h>

#include "store/store_int.h"

enum store__pg_stmt {
	PG_BEGIN,
	PG_COMMIT,
	PG_ROLLBACK,
	PG_PART_GET,
	PG_PART_INSERT,
	PG_PART_CROWD,
	PG_PART_CROWD_LOCK,
	PG_REQ_INSERT,
	PG_REQ_LAST,
	PG_REQ_COUNT,
	PG_REQ_FOLD,
	PG_HSET_GET,
	PG_HSET_COUNT,
	PG_HSET_INSERT,
	PG_PART_STEP_LOCK,
	PG_ANSWER_ANY,
	PG_ADVANCE,
	PG_ANSWER_INSERT,
	PG_PASS_INSERT,
	PG_GROUP_GET,
	PG_GROUP_LOCK,
	PG_GROUP_COUNTS,
	PG_GROUP_INSERT,
	PG_SESS_START,
	PG_SESS_END,
	PG_SESS_LAST,
	PG_SESS_CLOSE_ALL,
	PG_SESS_OPEN,
	PG_PROJ_LOCK,
	PG_PROJ_PUT,
	PG_PROJ_LIVE_GET,
	PG_PROJ_LIVE_SET,
	PG_STEP_COUNTS,
	PG_STEP_COUNTS_ALL,
	/* the console */
	PG_PART_FIND,
	PG_PART_FIND_COUNT,
	PG_STEP_TIMES,
	PG_GROUP_COUNTS_ALL,
	PG_PART_LOCK,
	PG_DEL_ANSWERS, /* ... to PG_DEL_PART: a withdrawal, in this order */
	PG_DEL_PASSES,
	PG_DEL_REQUESTS,
	PG_DEL_HSETS,
	PG_DEL_SESSIONS,
	PG_DEL_GROUPS,
	PG_DEL_PART,
	/* the iterators: of a project (_P) or of one participant (_1) */
	PG_PART_LIST_P, /* by creation */
	PG_PART_LIST_ID_P,
	PG_PART_LIST_1,
	PG_ANSWER_LIST_P,
	PG_ANSWER_LIST_1,
	PG_ANSWER_LIST_V2_P, /* a database before schema version 3 (read only) */
	PG_ANSWER_LIST_V2_1,
	PG_PASS_LIST_P,
	PG_PASS_LIST_1,
	PG_GROUP_LIST_P,
	PG_GROUP_LIST_1,
	PG_SESS_LIST_P,
	PG_SESS_LIST_1,
	PG_REQ_LIST_P,
	PG_REQ_LIST_1,
	PG_REQ_LIST_V1_P, /* a database at schema version 1 (read only) */
	PG_REQ_LIST_V1_1,
	PG_PROJ_LIST,
	PG_DEPLOY_PUT, /* store_pg_deploy.c */
	PG_DEPLOY_GET,
	PG_DEPLOY_LATEST_1,
	PG_DEPLOYS_LATEST,
	PG_WITHDRAWAL_ADD,
	PG_WITHDRAWALS,
	PG_WITHDRAWN_SINCE,
	/* the cluster (store_pg_cluster.c) */
	PG_NODE_RENEW,
	PG_NODE_REMOVE,
	PG_NODE_DRAIN,
	PG_NODE_EXPIRE,
	PG_NODES,
	PG_NODES_V4, /* a database at schema version 4 (read only) */
	PG_PLACE_OPEN_OF,
	PG_PLACE_CLOSE_PART,
	PG_PLACE_CHOOSE,
	PG_PLACE_NODE_LOCK,
	PG_PLACE_INSERT,
	PG_SESS_INFO,
	PG_PLACED,
	PG_SESS_END_NODE,
	PG_SESS_STOP,
	PG_SESS_PROGRESS,
	PG_SESS_CLOSE_NODE,
	PG_NODES_REAP,
	PG_COUNT
};

/* One connection and the statements prepared on it. */
struct store__pg_conn {
	PGconn *c;
	const char *name; /* "main" or "batch", for the log */
	bool prepared[PG_COUNT];
	char err[512]; /* the last error, one line, password masked */
	char sqlstate[6]; /* its SQLSTATE ("40P01": a deadlock), "" when none */
};

/* A bound parameter: V (NULL: SQL NULL) as text, or LEN bytes when BINARY. */
struct store__pg_param {
	const char *v;
	int len;
	bool binary;
};

#define PG_PENDING_MAX 256

struct store__pg {
	char *url;        /* the connection URL (with its password) */
	char *secret;     /* the password, to keep out of messages; NULL when none */
	char masked[512]; /* the URL as logged: store_spec_masked() */
	bool read_only;
	int version;        /* the database's schema version */
	pthread_mutex_t mu; /* main, and what the callers share */
	struct store__pg_conn main;
	struct store__pg_conn *last_failed; /* whose err store_errmsg() shows */
	/* Request records wait in PENDING (under mu) and are committed in
	 * batches on BATCH's connection (under flush_mu), every
	 * PG_FLUSH_EVERY_MS or when PENDING is full. */
	struct store__request pending[PG_PENDING_MAX];
	size_t npending;
	pthread_mutex_t flush_mu;
	struct store__pg_conn batch;
	pthread_t bg;
	pthread_cond_t bg_cond;
	bool bg_started, bg_stop;
};

/* The SQL of each statement (store_pg.c). */
extern const char *const store__pg_sql[PG_COUNT];

/* store_pg_conn.c: checks URL (the whole "postgresql://..." spec) before
 * connecting: the form, and a database named. *SECRET gets its password
 * (free()), NULL when none. Messages name the URL as MASKED. 0 or -1. */
int store__pg_url_check(const char *url, char **secret, const char *masked, char *err,
			size_t errlen);
/* Connects K (NAME for the log) to s->url; 0, or -1 with a message in ERR. */
int store__pg_connect(struct store__pg *s, struct store__pg_conn *k, const char *name, char *err,
		      size_t errlen);
/* Runs statement ID on K with N parameters; results in binary format when
 * BINARY_RESULT. Returns the result (PQclear it) when the statement
 * succeeded, or NULL with the error in K->err. */
PGresult *store__pg_run(struct store__pg *s, struct store__pg_conn *k, enum store__pg_stmt id,
			int n, const struct store__pg_param *p, bool binary_result);
/* The same for a statement that returns no rows: the number of rows it
 * changed, or -1. */
long long store__pg_exec(struct store__pg *s, struct store__pg_conn *k, enum store__pg_stmt id,
			 int n, const struct store__pg_param *p);
/* Sends statement ID for rows one at a time (single-row mode); 0 or -1. */
int store__pg_send(struct store__pg *s, struct store__pg_conn *k, enum store__pg_stmt id, int n,
		   const struct store__pg_param *p, bool binary_result);
/* Records the error of R (or of the connection when R is NULL) in K->err. */
void store__pg_fail(struct store__pg *s, struct store__pg_conn *k, const PGresult *r);
int store__pg_begin(struct store__pg *s, struct store__pg_conn *k);
int store__pg_commit(struct store__pg *s, struct store__pg_conn *k);
void store__pg_rollback(struct store__pg *s, struct store__pg_conn *k);
/* After an operation failed on K: when its connection is broken and this is
 * the first retry (*ATTEMPT 0), resets it (logged) and returns true: run the
 * operation again. */
bool store__pg_retry(struct store__pg *s, struct store__pg_conn *k, int *attempt);
/* Statement ID with P on the main connection, under the backend's lock, run
 * again once after a broken connection: its result (PQclear it) or NULL on
 * error; or, for a statement returning no rows, its row count or -1. */
PGresult *store__pg_query_main(struct store__pg *s, enum store__pg_stmt id, int n,
			       const struct store__pg_param *p);
long long store__pg_exec_main(struct store__pg *s, enum store__pg_stmt id, int n,
			      const struct store__pg_param *p);

/* Column C of row ROW as a number (text or binary result), 0 when NULL. */
long long store__pg_ll(const PGresult *r, int row, int c);
/* Column C of row ROW as text, NULL when NULL. */
const char *store__pg_text(const PGresult *r, int row, int c);
/* Text parameters: a number in BUF (>= 24 bytes); a string (NULL: SQL NULL). */
struct store__pg_param store__pg_int(char *buf, long long v);
struct store__pg_param store__pg_str(const char *v);

/* Parameters and retries, for the files of the backend: PG_PARAMS(p...)
 * gives the count and the array of parameters; PG_WITH_RETRY runs OP (an
 * expression giving an int, negative on failure) on K again once after K's
 * connection broke (store__pg_retry). */
#define PG_INT(b, v) store__pg_int(b, v)
#define PG_STR(v)    store__pg_str(v)
#define PG_PARAMS(...)                                                                             \
	(sizeof((struct store__pg_param[]){__VA_ARGS__}) / sizeof(struct store__pg_param)),        \
		(struct store__pg_param[])                                                         \
	{                                                                                          \
		__VA_ARGS__                                                                        \
	}
#define PG_WITH_RETRY(s, k, rc, op)                                                                \
	do {                                                                                       \
		int attempt_ = 0;                                                                  \
		do {                                                                               \
			rc = (op);                                                                 \
		} while (rc < 0 && store__pg_retry(s, k, &attempt_));                              \
	} while (0)

/* Commits the pending request records (takes both locks in turn). */
int store__pg_flush_pending(struct store__pg *s);
/* The same with s->flush_mu held (no batch is being committed meanwhile). */
int store__pg_flush_held(struct store__pg *s);

/* The backend slots of store_pg_write.c and store_pg_read.c. */
int store__pg_participant_get(void *db, const char *project_id, const char *user_id,
			      struct store_participant *p);
int store__pg_participant_ensure(void *db, const char *project_id, const char *user_id,
				 json_t *crowd, bool preview, struct store_participant *p,
				 bool *created);
int store__pg_request_log(void *db, const struct store__request *r);
int store__pg_flush(void *db);
int store__pg_advance(void *db, long long pid, int from, int to, const struct store__answer *a,
		      size_t n, bool completed, const struct store_page *page);
int store__pg_submit_final(void *db, long long pid, int step, const struct store__answer *a,
			   size_t n, const struct store_page *page);
int store__pg_group_get(void *db, long long pid, int n, int *group);
int store__pg_group_assign(void *db, long long pid, const char *project_id, int n,
			   store_choose_fn choose, void *user, int *group);
int store__pg_session_start(void *db, long long pid, int step);
int store__pg_session_end(void *db, long long pid, const char *reason, const char *files);
int store__pg_session_last(void *db, long long pid, bool *open, char *reason, size_t rlen);
int store__pg_sessions_close_all(void *db, const char *reason);
long long store__pg_sessions_open(void *db);
int store__pg_project_put(void *db, const char *id, const char *name, const char *researcher,
			  const char *dir, bool deployed, int *version);
int store__pg_project_live_get(void *db, const char *id);
int store__pg_project_live_set(void *db, const char *id, int live);
/* store_pg_deploy.c: the deployed versions (schema version 6) */
int store__pg_deploy_put(void *db, const char *id, int version, const char *config,
			 const char *files);
int store__pg_deploy_get(void *db, const char *id, int version, int *got, char **config,
			 char **files);
int store__pg_deploys_latest(void *db, int (*fn)(void *user, const char *id, int version),
			     void *user);
/* ... and the withdrawals (schema version 8) */
extern const char store__pg_schema_v8[];
int store__pg_withdrawal_add(void *db, const char *project_id, const char *user_id,
			     const char *node, long long *id);
int store__pg_withdrawals(void *db, long long after, store_withdrawal_fn fn, void *user);
int store__pg_withdrawn_since(void *db, const char *project_id, const char *user_id,
			      const char *since);

int store__pg_participants(void *db, const struct store_query *q, store_participant_fn fn,
			   void *user);
int store__pg_answers(void *db, const struct store_query *q, store_answer_fn fn, void *user);
int store__pg_groups(void *db, const struct store_query *q, store_group_fn fn, void *user);
int store__pg_sessions(void *db, const struct store_query *q, store_session_fn fn, void *user);
int store__pg_requests(void *db, const struct store_query *q, store_request_fn fn, void *user);
int store__pg_passes(void *db, const struct store_query *q, store_pass_fn fn, void *user);
int store__pg_participants_find(void *db, const struct store_find *q, store_participant_fn fn,
				void *user, long long *total);
int store__pg_step_times(void *db, const char *project_id, store_step_time_fn fn, void *user);
int store__pg_group_counts(void *db, const char *project_id, store_group_count_fn fn,
			   void *user);
int store__pg_participant_delete(void *db, long long pid, struct store_delete_counts *counts);
/* store_pg_cluster.c */
int store__pg_node_renew(void *db, const char *name, const char *url, const char *probe,
			 int slots, bool draining, bool fresh, int lease_ms, bool *drain_asked);
int store__pg_node_remove(void *db, const char *name);
int store__pg_node_drain(void *db, const char *name);
int store__pg_node_expire(void *db, const char *name);
int store__pg_nodes(void *db, store_node_fn fn, void *user);
int store__pg_place(void *db, long long pid, int step, int episodes, struct store_placement *out);
int store__pg_session_info(void *db, long long pid, struct store_session_info *out);
int store__pg_placed(void *db, const char *node, store_placed_fn fn, void *user);
int store__pg_session_end_node(void *db, long long pid, const char *node, const char *reason,
			       const char *files);
int store__pg_session_progress(void *db, long long pid, const char *node, int episodes);
int store__pg_session_stop(void *db, long long pid, const char *reason);
int store__pg_sessions_close_node(void *db, const char *node, const char *reason);
int store__pg_nodes_reap(void *db);
int store__pg_step_counts(void *db, const char *project_id, store_step_count_fn fn, void *user);
int store__pg_projects(void *db, const char *project_id, store_project_fn fn, void *user);

#endif
