/* The PostgreSQL backend's cluster slots (store_int.h, "Cluster"): not kept
 * by this backend yet. The tables and columns of schema version 4 exist (its
 * migration is in store_pg.c), so a database stays readable by a later
 * version; each slot fails with a message saying so, which stops a node at
 * start (cluster_start reads the nodes first). A server that is no cluster
 * node calls none of them. */
#include <stdio.h>

#include "store/store_pg.h"

static int unsupported(void *db)
{
	struct store__pg *s = db;
	pthread_mutex_lock(&s->mu);
	snprintf(s->main.err, sizeof s->main.err,
		 "the PostgreSQL store does not keep cluster nodes yet: run the nodes on an SQLite "
		 "store (docs/cluster.md)");
	s->last_failed = &s->main;
	pthread_mutex_unlock(&s->mu);
	return -1;
}

int store__pg_node_renew(void *db, const char *name, const char *url, const char *probe,
			 int slots, bool draining, bool fresh, int lease_ms, bool *drain_asked)
{
	return unsupported(db);
}

int store__pg_node_drain(void *db, const char *name)
{
	return unsupported(db);
}

int store__pg_node_expire(void *db, const char *name)
{
	return unsupported(db);
}

int store__pg_node_remove(void *db, const char *name)
{
	return unsupported(db);
}

int store__pg_nodes(void *db, store_node_fn fn, void *user)
{
	return unsupported(db);
}

int store__pg_place(void *db, long long pid, int step, int episodes, struct store_placement *out)
{
	return unsupported(db);
}

int store__pg_session_info(void *db, long long pid, struct store_session_info *out)
{
	return unsupported(db);
}

int store__pg_placed(void *db, const char *node, store_placed_fn fn, void *user)
{
	return unsupported(db);
}

int store__pg_session_end_node(void *db, long long pid, const char *node, const char *reason,
			       const char *files)
{
	return unsupported(db);
}

int store__pg_session_progress(void *db, long long pid, const char *node, int episodes)
{
	return unsupported(db);
}

int store__pg_session_stop(void *db, long long pid, const char *reason)
{
	return unsupported(db);
}

int store__pg_sessions_close_node(void *db, const char *node, const char *reason)
{
	return unsupported(db);
}

int store__pg_nodes_reap(void *db)
{
	return unsupported(db);
}
