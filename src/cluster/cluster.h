/* cluster: this `hippo serve` process as one node of several sharing a
 * participant store (docs/cluster.md). From a thread of its own the node
 *
 *   - registers in the store and renews its lease (every renew_ms; the lease
 *     runs lease_ms), with its advertised URL, slots and whether it drains;
 *   - ends with "node_lost" the open sessions of nodes whose lease expired
 *     (store_nodes_reap: any live node does it, the first one wins);
 *   - polls the store (every poll_ms) for the sessions placed on it and
 *     allocates them (flow_node_prepare: an environment process starts while
 *     the participant reads the instructions), ends those another node asked
 *     to stop (stopServerStep) and those the store no longer has open (the
 *     node was taken for dead), and records how many episodes each has
 *     played (store_session_progress), so that a game placed again after a
 *     loss goes on from there;
 *   - drains when the console asked it to (the store tells it as it renews:
 *     cluster_drain, no exit);
 *   - from a second thread, probes the nodes it is told to suspect
 *     (cluster_suspect: a participant of that node asked /next again) at
 *     their registered internal URL (probe.h) and ends the lease of a dead
 *     one at once, so that its participants are placed again in about a
 *     second instead of a lease.
 *
 * The placement itself is the flow's (src/flow/placed.c); a websocket that
 * reaches the wrong node is answered by flow_node_locate. Every function is
 * thread-safe. */
#ifndef HIPPO_CLUSTER_CLUSTER_H
#define HIPPO_CLUSTER_CLUSTER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

struct cluster;
struct flow;
struct sess_mgr;
struct store;

struct cluster_opts {
	const char *node;  /* the node's name (core/id.h's rule), unique in the cluster */
	const char *url;   /* the base URL browsers reach it at (flow_node_url) */
	const char *internal; /* the base URL other nodes probe it at (probe_url_valid), or
			       * NULL: it is found dead by its lease only */
	int slots;         /* game sessions it takes, >= 1 */
	int renew_ms;      /* lease renewal period (default 2000) */
	int lease_ms;      /* lease length (default 10000); > renew_ms */
	int poll_ms;       /* how often it looks for sessions placed on it (default 300) */
};

/* Checks O before cluster_start: a NULL node becomes the host name (its
 * first label, lower-cased, into NODE_BUF), which must follow core/id.h's
 * node rule; the URL, when given (cluster_start needs one), must be one
 * flow_node_url accepts, the internal URL one probe_url_valid accepts.
 * Returns 0, or -1 with a message in ERR. */
int cluster_resolve(struct cluster_opts *o, char *node_buf, size_t len, char *err,
		    size_t errlen);

/* Joins the cluster: refuses a name that a live node with another URL holds,
 * ends with "node_lost" the sessions an earlier run of this node left open
 * (and "restart" those placed on no node), registers, and starts the
 * thread. Returns 0 with *OUT, or -1 with a message in ERR. The store, the
 * flow and the session manager must outlive the cluster. */
int cluster_start(struct cluster **out, const struct cluster_opts *o, struct store *st,
		  struct flow *f, struct sess_mgr *m, char *err, size_t errlen);

/* The node drains: it takes no new sessions (draining in the store at once,
 * and for sess_allocate); the running ones go on. It stays so until the
 * process starts again. */
void cluster_drain(struct cluster *c);
bool cluster_draining(struct cluster *c);

/* Asks node NAME to drain (the console): it learns it when it next renews
 * its lease, at once when NAME is this node. Returns 1, 0 when the store has
 * no node NAME, -1 on a store error (message in ERR). */
int cluster_ask_drain(struct cluster *c, const char *name, char *err, size_t errlen);

/* This node's name. */
const char *cluster_node(const struct cluster *c);

/* A participant whose open session runs on node NODE asked /next again (their
 * websocket to it dropped): the probe thread checks NODE at the internal URL
 * NODE registered, and ends its lease if it is dead (probe.h). Never blocks
 * (any thread); at most one probe of a node per CLUSTER_PROBE_EVERY_MS
 * however many ask; this node, names that are not node names and nodes
 * without an internal URL are never probed. */
#define CLUSTER_PROBE_EVERY_MS 1000
void cluster_suspect(struct cluster *c, const char *node);

/* Stops the thread: the node no longer renews its lease or looks for
 * sessions placed on it (its session listeners stay: call before the
 * session manager ends the sessions). C may be NULL. */
void cluster_stop(struct cluster *c);
/* After the session manager is gone: with REMOVE (a clean exit, no session
 * left) takes the node out of the store; frees C (may be NULL). */
void cluster_free(struct cluster *c, bool remove);

/* The nodes as Prometheus lines: hippo_cluster_node_{slots,used,live,draining}. */
void cluster_metrics(struct cluster *c, FILE *out);

#endif
