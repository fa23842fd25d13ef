/* The PostgreSQL backend's cluster slots (store.h, "cluster"; store_int.h,
 * "Cluster"): the nodes and their leases, placements, and the sessions placed
 * on a node, for nodes on several machines sharing one database.
 *
 * Leases are judged by the server's clock (NOW_MS in store_pg.c, taken once
 * per statement), never the nodes'. Every write is one statement, except a
 * placement: one READ COMMITTED transaction that locks the participant's row
 * (two placements of one participant run one after the other, and the second
 * finds the first's session), chooses the least loaded node, locks that
 * node's row and counts its open sessions in the statement that inserts the
 * session, after the lock (two placements on one node run one after the
 * other, and the second counts the first's session). A placement locks one
 * node only: when the chosen node is full, gone or draining once locked, the
 * transaction is rolled back and run again. A statement or transaction
 * PostgreSQL aborts for a deadlock or a serialization failure is run again
 * too, a bounded number of times. */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "store/store_pg.h"

/* Runs of one operation when PostgreSQL aborts it (deadlock, serialization)
 * or a placement finds its node taken. */
#define TRIES 16

/* place_once's result when the chosen node turned out full once locked. */
#define RACE_LOST -2

static void copy_text(char *dst, size_t len, const PGresult *r, int row, int c)
{
	const char *v = store__pg_text(r, row, c);
	snprintf(dst, len, "%s", v ? v : "");
}

/* Whether the latest failure on K is one to run again: PostgreSQL aborted
 * the transaction for a deadlock (40P01) or a serialization failure (40001). */
static bool aborted(const struct store__pg_conn *k)
{
	return strcmp(k->sqlstate, "40P01") == 0 || strcmp(k->sqlstate, "40001") == 0;
}

static void pause_ms(int ms)
{
	struct timespec ts = {.tv_sec = 0, .tv_nsec = (long)ms * 1000000L};
	nanosleep(&ts, NULL);
}

/* Runs OP (an int expression of s->main, negative on failure) under s->mu:
 * again once after a broken connection (PG_WITH_RETRY), and again after an
 * abort for a deadlock or serialization failure, or RACE_LOST, up to TRIES
 * runs. */
#define CL_RUN(s, rc, op)                                                                          \
	do {                                                                                       \
		pthread_mutex_lock(&(s)->mu);                                                      \
		for (int try_ = 1;; try_++) {                                                      \
			PG_WITH_RETRY(s, &(s)->main, rc, op);                                      \
			bool again_ = rc == RACE_LOST || (rc < 0 && aborted(&(s)->main));          \
			if (!again_ || try_ >= TRIES)                                              \
				break;                                                             \
			if (rc != RACE_LOST)                                                       \
				pause_ms(try_);                                                    \
		}                                                                                  \
		pthread_mutex_unlock(&(s)->mu);                                                    \
	} while (0)

/* A statement that returns no rows: the rows it changed, or -1. */
static int changes(struct store__pg *s, enum store__pg_stmt id, int n,
		   const struct store__pg_param *p)
{
	long long k = store__pg_exec(s, &s->main, id, n, p);
	return k < 0 ? -1 : (int)k;
}

/* ------------------------------------------------------------ nodes */

static int renew_once(struct store__pg *s, const char *name, const char *url, const char *probe,
		      int slots, bool draining, bool fresh, int lease_ms, const char *now,
		      bool *drain_asked)
{
	char b1[24], b2[24];
	PGresult *r = store__pg_run(
		s, &s->main, PG_NODE_RENEW,
		PG_PARAMS(PG_STR(name), PG_STR(url), PG_STR(probe), PG_INT(b1, slots),
			  PG_STR(draining ? "1" : "0"), PG_INT(b2, lease_ms), PG_STR(now),
			  PG_STR(fresh ? "1" : "0")),
		false);
	if (!r)
		return -1;
	if (drain_asked && PQntuples(r) == 1)
		*drain_asked = store__pg_ll(r, 0, 0) != 0;
	PQclear(r);
	return 0;
}

int store__pg_node_renew(void *db, const char *name, const char *url, const char *probe,
			 int slots, bool draining, bool fresh, int lease_ms, bool *drain_asked)
{
	struct store__pg *s = db;
	char now[32];
	int rc;
	store_now(now, sizeof now);
	CL_RUN(s, rc,
	       renew_once(s, name, url, probe, slots, draining, fresh, lease_ms, now, drain_asked));
	return rc;
}

int store__pg_node_remove(void *db, const char *name)
{
	struct store__pg *s = db;
	int rc;
	CL_RUN(s, rc, changes(s, PG_NODE_REMOVE, PG_PARAMS(PG_STR(name))));
	return rc < 0 ? -1 : 0;
}

int store__pg_node_drain(void *db, const char *name)
{
	struct store__pg *s = db;
	int rc;
	CL_RUN(s, rc, changes(s, PG_NODE_DRAIN, PG_PARAMS(PG_STR(name))));
	return rc;
}

int store__pg_node_expire(void *db, const char *name)
{
	struct store__pg *s = db;
	int rc;
	CL_RUN(s, rc, changes(s, PG_NODE_EXPIRE, PG_PARAMS(PG_STR(name))));
	return rc;
}

static int nodes_once(struct store__pg *s, store_node_fn fn, void *user, bool *called)
{
	/* a few rows: read whole */
	PGresult *r = store__pg_run(s, &s->main, s->version >= 5 ? PG_NODES : PG_NODES_V4, 0,
				    NULL, false);
	if (!r)
		return -1;
	int stop = 0;
	for (int i = 0; i < PQntuples(r) && !stop; i++) {
		long long left = store__pg_ll(r, i, 5);
		struct store_node_row w = {
			.name = store__pg_text(r, i, 0),
			.url = store__pg_text(r, i, 1),
			.slots = (int)store__pg_ll(r, i, 2),
			.used = (int)store__pg_ll(r, i, 3),
			.draining = store__pg_ll(r, i, 4) != 0,
			.live = left > 0,
			.lease_left_ms = left,
			.renewed = store__pg_text(r, i, 6),
		};
		copy_text(w.probe, sizeof w.probe, r, i, 7);
		*called = true;
		stop = fn(user, &w);
	}
	PQclear(r);
	return stop;
}

int store__pg_nodes(void *db, store_node_fn fn, void *user)
{
	struct store__pg *s = db;
	bool called = false;
	int rc, attempt = 0;
	pthread_mutex_lock(&s->mu);
	do
		rc = nodes_once(s, fn, user, &called);
	while (rc < 0 && !called && store__pg_retry(s, &s->main, &attempt));
	pthread_mutex_unlock(&s->mu);
	return rc;
}

/* ------------------------------------------------------------ placement */

/* Inside the placement's transaction, the participant's row locked: 1 with
 * *OUT when the participant has an open session on a live node; otherwise
 * closes their open sessions ("lost") and returns 0; -1 on error. */
static int place_existing(struct store__pg *s, long long pid, const char *now,
			  struct store_placement *out)
{
	char b[24];
	PGresult *r = store__pg_run(s, &s->main, PG_PLACE_OPEN_OF, PG_PARAMS(PG_INT(b, pid)),
				    false);
	if (!r)
		return -1;
	int n = PQntuples(r), found = 0;
	for (int i = 0; i < n && found == 0; i++) {
		if (!PQgetisnull(r, i, 1) && store__pg_ll(r, i, 3)) {
			out->session = store__pg_ll(r, i, 0);
			copy_text(out->node, sizeof out->node, r, i, 1);
			copy_text(out->url, sizeof out->url, r, i, 2);
			found = 1;
		}
	}
	PQclear(r);
	if (found || n == 0)
		return found;
	return changes(s, PG_PLACE_CLOSE_PART,
		       PG_PARAMS(PG_INT(b, pid), PG_STR(now), PG_STR("lost"))) < 0
		       ? -1
		       : 0;
}

/* One run of the placement's transaction (store_int.h, place): 2, 1 or 0 as
 * store_place, RACE_LOST when the chosen node was taken meanwhile (rolled
 * back: run it again), -1 on error (rolled back). */
static int place_once(struct store__pg *s, long long pid, int step, int episodes, const char *now,
		      struct store_placement *out)
{
	struct store__pg_conn *k = &s->main;
	char b1[24], b2[24], b3[24], b4[24];
	PGresult *r = NULL;
	if (store__pg_begin(s, k) < 0)
		return -1;
	/* 1. the participant's row: one placement of them at a time */
	if (!(r = store__pg_run(s, k, PG_PART_LOCK, PG_PARAMS(PG_INT(b1, pid)), false)))
		goto fail;
	PQclear(r);
	/* 2. their session on a live node, or the others closed */
	int e = place_existing(s, pid, now, out);
	if (e < 0)
		goto fail;
	if (e == 1)
		return store__pg_commit(s, k) < 0 ? -1 : 2;
	/* 3. the least loaded live node with a free slot (as of this statement) */
	if (!(r = store__pg_run(s, k, PG_PLACE_CHOOSE, 0, NULL, false)))
		goto fail;
	if (PQntuples(r) == 0) {
		PQclear(r);
		return store__pg_commit(s, k) < 0 ? -1 : 0; /* commits the closes, if any */
	}
	copy_text(out->node, sizeof out->node, r, 0, 0);
	PQclear(r);
	/* 4. its row locked: still live and not draining? */
	if (!(r = store__pg_run(s, k, PG_PLACE_NODE_LOCK, PG_PARAMS(PG_STR(out->node)), false)))
		goto fail;
	if (PQntuples(r) == 0) {
		PQclear(r);
		store__pg_rollback(s, k);
		return RACE_LOST;
	}
	copy_text(out->url, sizeof out->url, r, 0, 0);
	int slots = (int)store__pg_ll(r, 0, 1);
	PQclear(r);
	/* 5. the session, if the node's open sessions counted now leave a slot */
	if (!(r = store__pg_run(s, k, PG_PLACE_INSERT,
				PG_PARAMS(PG_INT(b1, pid), PG_INT(b2, step), PG_STR(now),
					  PG_STR(out->node), PG_INT(b3, episodes),
					  PG_INT(b4, slots)),
				false)))
		goto fail;
	if (PQntuples(r) == 0) {
		PQclear(r);
		store__pg_rollback(s, k);
		return RACE_LOST;
	}
	out->session = store__pg_ll(r, 0, 0);
	PQclear(r);
	if (store__pg_commit(s, k) < 0)
		goto fail;
	return 1;
fail:
	store__pg_rollback(s, k);
	return -1;
}

int store__pg_place(void *db, long long pid, int step, int episodes, struct store_placement *out)
{
	struct store__pg *s = db;
	char now[32];
	int rc;
	store_now(now, sizeof now);
	CL_RUN(s, rc, place_once(s, pid, step, episodes, now, out));
	if (rc == RACE_LOST) {
		pthread_mutex_lock(&s->mu);
		snprintf(s->main.err, sizeof s->main.err,
			 "placement: the chosen node was taken by other placements %d times", TRIES);
		s->main.sqlstate[0] = '\0';
		s->last_failed = &s->main;
		pthread_mutex_unlock(&s->mu);
		rc = -1;
	}
	if (rc != 1 && rc != 2)
		memset(out, 0, sizeof *out);
	return rc;
}

/* ------------------------------------------------------------ sessions */

static int info_once(struct store__pg *s, long long pid, struct store_session_info *out)
{
	char b[24];
	PGresult *r =
		store__pg_run(s, &s->main, PG_SESS_INFO, PG_PARAMS(PG_INT(b, pid)), false);
	if (!r)
		return -1;
	int rc = PQntuples(r) > 0;
	if (rc) {
		out->id = store__pg_ll(r, 0, 0);
		out->open = store__pg_ll(r, 0, 1) != 0;
		copy_text(out->reason, sizeof out->reason, r, 0, 2);
		copy_text(out->stop, sizeof out->stop, r, 0, 3);
		copy_text(out->node, sizeof out->node, r, 0, 4);
		copy_text(out->url, sizeof out->url, r, 0, 5);
		out->node_live = store__pg_ll(r, 0, 6) != 0;
		out->episodes = (int)store__pg_ll(r, 0, 7);
	}
	PQclear(r);
	return rc;
}

int store__pg_session_info(void *db, long long pid, struct store_session_info *out)
{
	struct store__pg *s = db;
	int rc;
	pthread_mutex_lock(&s->mu);
	PG_WITH_RETRY(s, &s->main, rc, info_once(s, pid, out));
	pthread_mutex_unlock(&s->mu);
	return rc;
}

static int placed_once(struct store__pg *s, const char *node, store_placed_fn fn, void *user,
		       bool *called)
{
	/* the sessions of one node (at most its slots): read whole */
	PGresult *r = store__pg_run(s, &s->main, PG_PLACED, PG_PARAMS(PG_STR(node)), false);
	if (!r)
		return -1;
	int stop = 0;
	for (int i = 0; i < PQntuples(r) && !stop; i++) {
		struct store_placed_row w = {
			.session = store__pg_ll(r, i, 0),
			.participant = store__pg_ll(r, i, 1),
			.project_id = store__pg_text(r, i, 2),
			.user_id = store__pg_text(r, i, 3),
			.step = (int)store__pg_ll(r, i, 4),
			.stop = store__pg_text(r, i, 5),
			.episodes = (int)store__pg_ll(r, i, 6),
		};
		*called = true;
		stop = fn(user, &w);
	}
	PQclear(r);
	return stop;
}

int store__pg_placed(void *db, const char *node, store_placed_fn fn, void *user)
{
	struct store__pg *s = db;
	bool called = false;
	int rc, attempt = 0;
	pthread_mutex_lock(&s->mu);
	do
		rc = placed_once(s, node, fn, user, &called);
	while (rc < 0 && !called && store__pg_retry(s, &s->main, &attempt));
	pthread_mutex_unlock(&s->mu);
	return rc;
}

int store__pg_session_end_node(void *db, long long pid, const char *node, const char *reason,
			       const char *files)
{
	struct store__pg *s = db;
	char now[32], b[24];
	int rc;
	store_now(now, sizeof now);
	CL_RUN(s, rc,
	       changes(s, PG_SESS_END_NODE,
		       PG_PARAMS(PG_INT(b, pid), PG_STR(node), PG_STR(now), PG_STR(reason),
				 PG_STR(files))));
	return rc;
}

int store__pg_session_progress(void *db, long long pid, const char *node, int episodes)
{
	struct store__pg *s = db;
	char b1[24], b2[24];
	int rc;
	CL_RUN(s, rc,
	       changes(s, PG_SESS_PROGRESS,
		       PG_PARAMS(PG_INT(b1, pid), PG_STR(node), PG_INT(b2, episodes))));
	return rc;
}

int store__pg_session_stop(void *db, long long pid, const char *reason)
{
	struct store__pg *s = db;
	char b[24];
	int rc;
	CL_RUN(s, rc, changes(s, PG_SESS_STOP, PG_PARAMS(PG_INT(b, pid), PG_STR(reason))));
	return rc;
}

int store__pg_sessions_close_node(void *db, const char *node, const char *reason)
{
	struct store__pg *s = db;
	char now[32];
	int rc;
	store_now(now, sizeof now);
	CL_RUN(s, rc,
	       changes(s, PG_SESS_CLOSE_NODE, PG_PARAMS(PG_STR(node), PG_STR(now), PG_STR(reason))));
	return rc;
}

int store__pg_nodes_reap(void *db)
{
	struct store__pg *s = db;
	char now[32];
	int rc;
	store_now(now, sizeof now);
	CL_RUN(s, rc, changes(s, PG_NODES_REAP, PG_PARAMS(PG_STR(now))));
	return rc;
}
