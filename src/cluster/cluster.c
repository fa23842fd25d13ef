/* cluster: the node's thread (cluster.h): lease, reaping, the sessions
 * placed on this node; and the probe thread, which checks the nodes
 * suspected dead. The store is only called from these threads and from
 * cluster_start/cluster_ask_drain/cluster_metrics, never from the session
 * listeners, which run on session workers and only note what happened under
 * the cluster's lock, nor from cluster_suspect (the thread answering /next),
 * which only notes a name under the probe lock. */
#include "cluster/cluster.h"

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/buf.h"
#include "core/clock.h"
#include "core/id.h"
#include "core/log.h"
#include "cluster/probe.h"
#include "flow/flow.h"
#include "session/session.h"
#include "store/store.h"

/* A session placed on this node, as last seen in the store. */
struct placed {
	long long session, participant;
	char project_id[ID_MAX + 1], user_id[ID_MAX + 1];
	int episodes;              /* played before it (store_place) */
	bool stopped;              /* a stop asked of it was carried out */
	bool ended;                /* it ended here (a session listener saw it) */
	bool seen;                 /* open in the latest poll */
};

/* The latest episode count of a participant's session, to record. */
struct progress {
	char project_id[ID_MAX + 1], user_id[ID_MAX + 1];
	int episodes;
};

/* A node a participant's /next made suspect (cluster_suspect). */
struct suspect {
	char node[ID_NODE_MAX + 1]; /* "" for a free entry */
	int64_t last_ms;            /* when its last probe was asked (clock_mono_ms) */
	bool pending;               /* asked, not probed yet */
};

#define CLUSTER_SUSPECTS 64      /* nodes tracked at once; the oldest entry is reused */

struct cluster {
	struct cluster_opts o;
	char node[ID_NODE_MAX + 1];
	char url[STORE_URL_MAX + 1];
	char internal[STORE_URL_MAX + 1]; /* "" when none */
	struct store *st;
	struct flow *flow;
	struct sess_mgr *m;
	pthread_t th;
	bool started;
	pthread_mutex_t mu;        /* guards everything below */
	pthread_cond_t cv;
	bool stop, draining, renew_now;
	struct placed *p;          /* the thread's own (no lock needed) */
	size_t np, pcap;
	struct progress *q;        /* noted by the episode listener */
	size_t nq, qcap;
	struct placed_end {        /* noted by the end listener */
		char project_id[ID_MAX + 1], user_id[ID_MAX + 1];
	} *ends;
	size_t nends, ecap;
	/* the probe thread */
	pthread_t pth;
	bool pstarted;
	pthread_mutex_t pmu;       /* guards what follows */
	pthread_cond_t pcv;
	bool pstop;
	struct suspect sus[CLUSTER_SUSPECTS];
};

#define CLUSTER_PLACED_MAX 1000000

/* ---- what the session listeners note (session workers) ---- */

static void on_end(void *user, const char *project_id, const char *user_id,
		   enum sess_end_reason reason, const char *const *files)
{
	struct cluster *c = user;
	(void)reason;
	(void)files;
	pthread_mutex_lock(&c->mu);
	if (buf_grow_array((void **)&c->ends, &c->ecap, c->nends + 1, sizeof *c->ends, 16,
			   CLUSTER_PLACED_MAX) == 0) {
		struct placed_end *e = &c->ends[c->nends++];
		snprintf(e->project_id, sizeof e->project_id, "%s", project_id);
		snprintf(e->user_id, sizeof e->user_id, "%s", user_id);
	}
	pthread_mutex_unlock(&c->mu);
}

static void on_episode(void *user, const char *project_id, const char *user_id, int episodes)
{
	struct cluster *c = user;
	pthread_mutex_lock(&c->mu);
	size_t i = 0;
	while (i < c->nq && (strcmp(c->q[i].user_id, user_id) != 0 ||
			     strcmp(c->q[i].project_id, project_id) != 0))
		i++;
	if (i == c->nq && buf_grow_array((void **)&c->q, &c->qcap, c->nq + 1, sizeof *c->q, 16,
					 CLUSTER_PLACED_MAX) == 0) {
		snprintf(c->q[i].project_id, sizeof c->q[i].project_id, "%s", project_id);
		snprintf(c->q[i].user_id, sizeof c->q[i].user_id, "%s", user_id);
		c->nq++;
	}
	if (i < c->nq)
		c->q[i].episodes = episodes;
	pthread_mutex_unlock(&c->mu);
}

/* ---- the thread ---- */

static void renew(struct cluster *c)
{
	pthread_mutex_lock(&c->mu);
	bool draining = c->draining;
	c->renew_now = false;
	pthread_mutex_unlock(&c->mu);
	bool asked = false;
	if (store_node_renew(c->st, c->node, c->url, c->internal[0] ? c->internal : NULL,
			     c->o.slots, draining, false, c->o.lease_ms, &asked) < 0)
		log_error("cluster", "lease not renewed", "node=%s error=\"%s\"", c->node,
			  store_errmsg(c->st));
	else if (asked && !draining) {
		/* the console asked (store_node_drain): as SIGTERM, without the exit */
		log_info("cluster", "drain asked through the console", "node=%s", c->node);
		cluster_drain(c);
	}
	int lost = store_nodes_reap(c->st);
	if (lost > 0)
		log_warn("cluster", "sessions of a lost node ended", "count=%d reason=node_lost",
			 lost);
}

/* Records the episode counts noted since the last call. */
static void record_progress(struct cluster *c)
{
	pthread_mutex_lock(&c->mu);
	struct progress *q = c->q;
	size_t n = c->nq;
	c->q = NULL;
	c->nq = c->qcap = 0;
	pthread_mutex_unlock(&c->mu);
	for (size_t i = 0; i < n; i++) {
		struct store_participant part;
		if (store_participant_get(c->st, q[i].project_id, q[i].user_id, &part) == 1 &&
		    store_session_progress(c->st, part.id, c->node, q[i].episodes) < 0)
			log_error("cluster", "store", "error=\"%s\"", store_errmsg(c->st));
	}
	free(q);
}

/* Marks ended the placed sessions whose end a listener noted. */
static void take_ends(struct cluster *c)
{
	pthread_mutex_lock(&c->mu);
	for (size_t k = 0; k < c->nends; k++)
		for (size_t i = 0; i < c->np; i++)
			if (strcmp(c->p[i].user_id, c->ends[k].user_id) == 0 &&
			    strcmp(c->p[i].project_id, c->ends[k].project_id) == 0)
				c->p[i].ended = true;
	c->nends = 0;
	pthread_mutex_unlock(&c->mu);
}

/* The rows of one poll (the iterator must not call the store). */
struct rows {
	struct placed *v;
	size_t n, cap;
	char (*stop)[32];
	size_t scap;
	bool failed;
};

static int on_row(void *user, const struct store_placed_row *r)
{
	struct rows *k = user;
	if (!r->project_id || !r->user_id || !id_valid_project(r->project_id) ||
	    !id_valid_user(r->user_id))
		return 0;
	if (buf_grow_array((void **)&k->v, &k->cap, k->n + 1, sizeof *k->v, 16,
			   CLUSTER_PLACED_MAX) < 0 ||
	    buf_grow_array((void **)&k->stop, &k->scap, k->n + 1, sizeof *k->stop, 16,
			   CLUSTER_PLACED_MAX) < 0) {
		k->failed = true;
		return 1;
	}
	struct placed *p = &k->v[k->n];
	*p = (struct placed){.session = r->session,
			     .participant = r->participant,
			     .episodes = r->episodes};
	snprintf(p->project_id, sizeof p->project_id, "%s", r->project_id);
	snprintf(p->user_id, sizeof p->user_id, "%s", r->user_id);
	snprintf(k->stop[k->n], sizeof k->stop[0], "%s", r->stop ? r->stop : "");
	k->n++;
	return 0;
}

static struct placed *find(struct cluster *c, long long session)
{
	for (size_t i = 0; i < c->np; i++)
		if (c->p[i].session == session)
			return &c->p[i];
	return NULL;
}

/* Whether a session of the participant of P is live here. */
static bool live_here(struct cluster *c, const struct placed *p)
{
	enum sess_state s = sess_get_state(c->m, p->project_id, p->user_id, NULL);
	return s != SESS_NONE && s != SESS_ENDED;
}

/* Allocates a session the store placed here; one that cannot start ends at
 * once ("lost": the participant's next /next places it again). */
static void prepare(struct cluster *c, struct placed *p)
{
	char err[256];
	if (flow_node_prepare(c->flow, p->project_id, p->user_id, p->episodes, err, sizeof err) ==
	    0)
		return;
	log_warn("cluster", "placed session not started", "project=%s user=%s err=\"%s\"",
		 p->project_id, p->user_id, err);
	if (store_session_end_node(c->st, p->participant, c->node, "lost", NULL) < 0)
		log_error("cluster", "store", "error=\"%s\"", store_errmsg(c->st));
	p->ended = true;
}

static void poll_placed(struct cluster *c)
{
	struct rows k = {0};
	if (store_placed_each(c->st, c->node, on_row, &k) < 0 || k.failed) {
		log_error("cluster", "placed sessions not read", "error=\"%s\"",
			  k.failed ? "out of memory" : store_errmsg(c->st));
		free(k.v);
		free(k.stop);
		return;
	}
	take_ends(c);
	for (size_t i = 0; i < c->np; i++)
		c->p[i].seen = false;
	for (size_t i = 0; i < k.n; i++) {
		struct placed *p = find(c, k.v[i].session);
		if (!p) {
			if (buf_grow_array((void **)&c->p, &c->pcap, c->np + 1, sizeof *c->p, 16,
					   CLUSTER_PLACED_MAX) < 0)
				break;
			p = &c->p[c->np++];
			*p = k.v[i];
			prepare(c, p);
		}
		p->seen = true;
		if (k.stop[i][0] && !p->stopped) {
			p->stopped = true;
			/* the one stop another node asks for: stopServerStep */
			sess_stop(c->m, p->project_id, p->user_id, SESS_END_STOP_STEP);
		}
	}
	/* Sessions the store no longer has open: ended here (their end is
	 * recorded), or closed elsewhere while running here (this node was
	 * taken for lost), which must end here too. A newer placement of the
	 * same participant keeps its session. */
	size_t w = 0;
	for (size_t i = 0; i < c->np; i++) {
		struct placed *p = &c->p[i];
		if (!p->seen) {
			bool newer = false;
			for (size_t j = 0; j < c->np; j++)
				newer = newer || (c->p[j].seen && c->p[j].session > p->session &&
						  strcmp(c->p[j].user_id, p->user_id) == 0 &&
						  strcmp(c->p[j].project_id, p->project_id) == 0);
			if (!p->ended && !newer && live_here(c, p)) {
				log_warn("cluster", "session closed by another node: ended here",
					 "project=%s user=%s", p->project_id, p->user_id);
				sess_stop(c->m, p->project_id, p->user_id, SESS_END_NODE_LOST);
			}
			continue;
		}
		c->p[w++] = *p;
	}
	c->np = w;
	free(k.v);
	free(k.stop);
}

static void *cluster_main(void *arg)
{
	struct cluster *c = arg;
	int64_t next_renew = clock_mono_ms() + c->o.renew_ms;
	pthread_mutex_lock(&c->mu);
	while (!c->stop) {
		bool now_renew = c->renew_now || clock_mono_ms() >= next_renew;
		pthread_mutex_unlock(&c->mu);
		if (now_renew) {
			next_renew = clock_mono_ms() + c->o.renew_ms;
			renew(c);
		}
		poll_placed(c);
		record_progress(c);
		pthread_mutex_lock(&c->mu);
		struct timespec ts = clock_deadline(CLOCK_MONOTONIC, c->o.poll_ms);
		if (!c->stop && !c->renew_now)
			pthread_cond_timedwait(&c->cv, &c->mu, &ts);
	}
	pthread_mutex_unlock(&c->mu);
	return NULL;
}

/* ---- the probe thread ---- */

/* A suspect node as the store knows it. */
struct target {
	char node[ID_NODE_MAX + 1];
	char probe[STORE_URL_MAX + 1]; /* the internal URL it registered, "" when none */
	bool found, live;
};

struct targets {
	struct target *v;
	size_t n;
};

static int target_row(void *user, const struct store_node_row *r)
{
	struct targets *k = user;
	for (size_t i = 0; r->name && i < k->n; i++)
		if (strcmp(r->name, k->v[i].node) == 0) {
			k->v[i].found = true;
			k->v[i].live = r->live;
			snprintf(k->v[i].probe, sizeof k->v[i].probe, "%s", r->probe);
		}
	return 0;
}

/* Probes the live nodes of T that registered an internal URL (never a URL
 * from anywhere else) and ends the lease of those found dead. */
static void probe_batch(struct cluster *c, struct target *t, size_t n)
{
	struct targets k = {t, n};
	if (store_nodes_each(c->st, target_row, &k) < 0) {
		log_error("cluster", "nodes not read", "error=\"%s\"", store_errmsg(c->st));
		return;
	}
	struct probe pv[CLUSTER_SUSPECTS];
	size_t idx[CLUSTER_SUSPECTS], np = 0;
	for (size_t i = 0; i < n; i++) {
		/* gone, lost already (the flow reaps it), or found by its lease only */
		if (!t[i].found || !t[i].live || !t[i].probe[0])
			continue;
		pv[np] = (struct probe){.base = t[i].probe};
		idx[np++] = i;
	}
	if (np == 0)
		return;
	probe_run(pv, np, PROBE_TIMEOUT_MS);
	for (size_t j = 0; j < np; j++) {
		const struct target *x = &t[idx[j]];
		if (pv[j].result == PROBE_ALIVE) {
			log_debug("cluster", "node answered its probe", "node=%s status=%d",
				  x->node, pv[j].status);
			continue;
		}
		if (pv[j].result == PROBE_UNKNOWN) {
			log_warn("cluster", "node probe inconclusive: its lease decides",
				 "node=%s probe=%s error=\"%s\"", x->node, x->probe, pv[j].error);
			continue;
		}
		int e = store_node_expire(c->st, x->node);
		if (e < 0) {
			log_error("cluster", "store", "error=\"%s\"", store_errmsg(c->st));
			continue;
		}
		if (e == 0)
			continue; /* its lease ended meanwhile */
		log_warn("cluster", "node does not answer its probe: lease ended",
			 "node=%s probe=%s error=\"%s\"", x->node, x->probe, pv[j].error);
		int lost = store_nodes_reap(c->st);
		if (lost > 0)
			log_warn("cluster", "sessions of a lost node ended",
				 "count=%d reason=node_lost", lost);
		else if (lost < 0)
			log_error("cluster", "store", "error=\"%s\"", store_errmsg(c->st));
	}
}

static void *probe_main(void *arg)
{
	struct cluster *c = arg;
	struct target t[CLUSTER_SUSPECTS];
	bool batch[CLUSTER_SUSPECTS];
	pthread_mutex_lock(&c->pmu);
	while (!c->pstop) {
		size_t n = 0;
		for (size_t i = 0; i < CLUSTER_SUSPECTS; i++) {
			batch[i] = c->sus[i].pending;
			if (batch[i]) {
				t[n] = (struct target){0};
				snprintf(t[n].node, sizeof t[n].node, "%s", c->sus[i].node);
				n++;
			}
		}
		if (n == 0) {
			pthread_cond_wait(&c->pcv, &c->pmu);
			continue;
		}
		pthread_mutex_unlock(&c->pmu);
		probe_batch(c, t, n);
		pthread_mutex_lock(&c->pmu);
		/* pending entries are never reused: these are still the batch's */
		int64_t now = clock_mono_ms();
		for (size_t i = 0; i < CLUSTER_SUSPECTS; i++)
			if (batch[i]) {
				c->sus[i].pending = false;
				c->sus[i].last_ms = now;
			}
	}
	pthread_mutex_unlock(&c->pmu);
	return NULL;
}

void cluster_suspect(struct cluster *c, const char *node)
{
	if (!c || !c->pstarted || !node || !id_valid_node(node) || strcmp(node, c->node) == 0)
		return;
	int64_t now = clock_mono_ms();
	pthread_mutex_lock(&c->pmu);
	struct suspect *e = NULL, *unused = NULL, *oldest = NULL;
	for (size_t i = 0; i < CLUSTER_SUSPECTS && !e; i++) {
		struct suspect *x = &c->sus[i];
		if (!x->node[0])
			unused = unused ? unused : x;
		else if (strcmp(x->node, node) == 0)
			e = x;
		else if (!x->pending && (!oldest || x->last_ms < oldest->last_ms))
			oldest = x;
	}
	if (!e && (e = unused ? unused : oldest)) {
		snprintf(e->node, sizeof e->node, "%s", node);
		e->pending = false;
		e->last_ms = now - CLUSTER_PROBE_EVERY_MS;
	}
	if (e && !e->pending && now - e->last_ms >= CLUSTER_PROBE_EVERY_MS) {
		e->pending = true;
		e->last_ms = now;
		pthread_cond_signal(&c->pcv);
	}
	pthread_mutex_unlock(&c->pmu);
}

/* ---- life cycle ---- */

struct same_name {
	const char *name, *url;
	bool taken;
};

static int check_name(void *user, const struct store_node_row *r)
{
	struct same_name *k = user;
	if (r->name && strcmp(r->name, k->name) == 0 && r->live && r->url &&
	    strcmp(r->url, k->url) != 0)
		k->taken = true;
	return 0;
}

int cluster_start(struct cluster **out, const struct cluster_opts *o, struct store *st,
		  struct flow *f, struct sess_mgr *m, char *err, size_t errlen)
{
	*out = NULL;
	if (!o->node || !id_valid_node(o->node)) {
		snprintf(err, errlen, "node name: expected %s", ID_NODE_RULE);
		return -1;
	}
	char ws[STORE_URL_MAX + 8];
	if (!o->url || strlen(o->url) > STORE_URL_MAX || !flow_node_url(o->url, ws, sizeof ws) ||
	    o->slots < 1) {
		snprintf(err, errlen,
			 "a node needs an http[s]:// or ws[s]:// URL (at most %d bytes) and slots",
			 STORE_URL_MAX);
		return -1;
	}
	struct cluster *c = calloc(1, sizeof *c);
	if (!c) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	c->o = *o;
	c->o.renew_ms = o->renew_ms > 0 ? o->renew_ms : 2000;
	c->o.lease_ms = o->lease_ms > c->o.renew_ms ? o->lease_ms : 5 * c->o.renew_ms;
	c->o.poll_ms = o->poll_ms > 0 ? o->poll_ms : 300;
	snprintf(c->node, sizeof c->node, "%s", o->node);
	snprintf(c->url, sizeof c->url, "%s", o->url);
	snprintf(c->internal, sizeof c->internal, "%s", o->internal ? o->internal : "");
	c->o.internal = NULL; /* c->internal */
	c->st = st;
	c->flow = f;
	c->m = m;
	pthread_mutex_init(&c->mu, NULL);
	pthread_mutex_init(&c->pmu, NULL);
	pthread_cond_init(&c->pcv, NULL);
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&c->cv, &ca);
	pthread_condattr_destroy(&ca);
	if (c->internal[0] && !probe_url_valid(c->internal, STORE_URL_MAX)) {
		snprintf(err, errlen,
			 "the internal URL must be http[s]://host[:port][/path], at most %d bytes",
			 STORE_URL_MAX);
		goto fail;
	}
	probe_init();

	struct same_name k = {c->node, c->url, false};
	if (store_nodes_each(st, check_name, &k) < 0) {
		snprintf(err, errlen, "participant store: %s", store_errmsg(st));
		goto fail;
	}
	if (k.taken) {
		snprintf(err, errlen, "node name %s is held by a live node with another URL",
			 c->node);
		goto fail;
	}
	int lost = store_sessions_close_node(st, c->node, "node_lost");
	int unplaced = store_sessions_close_node(st, NULL, "restart");
	if (lost > 0 || unplaced > 0)
		log_info("cluster", "sessions of an earlier run closed",
			 "node=%s lost=%d restart=%d", c->node, lost, unplaced);
	/* fresh: a drain asked of an earlier run of this node ends with it */
	if (store_node_renew(st, c->node, c->url, c->internal[0] ? c->internal : NULL, c->o.slots,
			     false, true, c->o.lease_ms, NULL) < 0) {
		snprintf(err, errlen, "cannot register the node: %s", store_errmsg(st));
		goto fail;
	}
	if (sess_on_end(m, on_end, c) < 0) {
		snprintf(err, errlen, "too many session listeners");
		goto fail;
	}
	sess_on_episode_end(m, on_episode, c);
	sess_set_locator(m, flow_node_locate, f);
	if (pthread_create(&c->th, NULL, cluster_main, c) != 0) {
		snprintf(err, errlen, "cannot start the cluster thread");
		goto fail;
	}
	c->started = true;
	c->pstarted = pthread_create(&c->pth, NULL, probe_main, c) == 0;
	if (!c->pstarted)
		log_error("cluster", "no probe thread: dead nodes are found by their lease only",
			  "node=%s", c->node);
	log_info("cluster", "node joined", "node=%s url=%s internal=%s slots=%d lease_ms=%d",
		 c->node, c->url, c->internal[0] ? c->internal : "none", c->o.slots,
		 c->o.lease_ms);
	*out = c;
	return 0;
fail:
	cluster_free(c, false);
	return -1;
}

void cluster_drain(struct cluster *c)
{
	if (!c)
		return;
	sess_set_draining(c->m, true);
	pthread_mutex_lock(&c->mu);
	bool was = c->draining;
	c->draining = true;
	c->renew_now = true;
	pthread_cond_signal(&c->cv);
	pthread_mutex_unlock(&c->mu);
	if (!was)
		log_info("cluster", "node draining: no new sessions", "node=%s", c->node);
}

int cluster_ask_drain(struct cluster *c, const char *name, char *err, size_t errlen)
{
	if (!c || !name || !id_valid_node(name))
		return 0;
	int k = store_node_drain(c->st, name);
	if (k < 0) {
		snprintf(err, errlen, "participant store: %s", store_errmsg(c->st));
		return -1;
	}
	if (k > 0 && strcmp(name, c->node) == 0)
		cluster_drain(c);
	return k > 0 ? 1 : 0;
}

const char *cluster_node(const struct cluster *c)
{
	return c ? c->node : NULL;
}

bool cluster_draining(struct cluster *c)
{
	if (!c)
		return false;
	pthread_mutex_lock(&c->mu);
	bool d = c->draining;
	pthread_mutex_unlock(&c->mu);
	return d;
}

void cluster_stop(struct cluster *c)
{
	if (!c || !c->started)
		return;
	pthread_mutex_lock(&c->mu);
	bool running = !c->stop;
	c->stop = true;
	pthread_cond_signal(&c->cv);
	pthread_mutex_unlock(&c->mu);
	if (!running)
		return;
	if (c->pstarted) {
		pthread_mutex_lock(&c->pmu);
		c->pstop = true;
		pthread_cond_signal(&c->pcv);
		pthread_mutex_unlock(&c->pmu);
		pthread_join(c->pth, NULL);
		c->pstarted = false;
	}
	pthread_join(c->th, NULL);
	record_progress(c);
	sess_set_locator(c->m, NULL, NULL);
	sess_on_episode_end(c->m, NULL, NULL);
}

void cluster_free(struct cluster *c, bool remove)
{
	if (!c)
		return;
	cluster_stop(c);
	if (remove && c->started && store_node_remove(c->st, c->node) == 0)
		log_info("cluster", "node left", "node=%s", c->node);
	pthread_mutex_destroy(&c->mu);
	pthread_cond_destroy(&c->cv);
	pthread_mutex_destroy(&c->pmu);
	pthread_cond_destroy(&c->pcv);
	free(c->p);
	free(c->q);
	free(c->ends);
	free(c);
}

int cluster_resolve(struct cluster_opts *o, char *node_buf, size_t len, char *err,
		    size_t errlen)
{
	if (!o->node) {
		char host[256] = "";
		if (gethostname(host, sizeof host - 1) != 0 || !host[0]) {
			snprintf(err, errlen, "no host name: give --node");
			return -1;
		}
		host[strcspn(host, ".")] = '\0';
		for (char *h = host; *h; h++)
			if (*h >= 'A' && *h <= 'Z')
				*h = (char)(*h - 'A' + 'a');
		snprintf(node_buf, len, "%s", host);
		o->node = node_buf;
	}
	if (!id_valid_node(o->node)) {
		snprintf(err, errlen, "node name '%.80s': expected %s", o->node, ID_NODE_RULE);
		return -1;
	}
	char url[STORE_URL_MAX + 8];
	if (o->url && (strlen(o->url) > STORE_URL_MAX || !flow_node_url(o->url, url, sizeof url))) {
		snprintf(err, errlen,
			 "the advertised URL must be http[s]:// or ws[s]://host[:port][/path], at "
			 "most %d bytes",
			 STORE_URL_MAX);
		return -1;
	}
	if (o->internal && !probe_url_valid(o->internal, STORE_URL_MAX)) {
		snprintf(err, errlen,
			 "the internal URL must be http[s]://host[:port][/path] (no user, query or "
			 "fragment), at most %d bytes",
			 STORE_URL_MAX);
		return -1;
	}
	return 0;
}

/* ---- metrics ---- */

struct metric_nodes {
	struct store_node_row *v; /* names only valid during the iteration: copied */
	char (*name)[ID_NODE_MAX + 1];
	size_t n, cap, ncap;
};

static int metric_row(void *user, const struct store_node_row *r)
{
	struct metric_nodes *k = user;
	if (!r->name || !id_valid_node(r->name))
		return 0;
	if (buf_grow_array((void **)&k->v, &k->cap, k->n + 1, sizeof *k->v, 8, 100000) < 0 ||
	    buf_grow_array((void **)&k->name, &k->ncap, k->n + 1, sizeof *k->name, 8, 100000) < 0)
		return 1;
	k->v[k->n] = *r;
	snprintf(k->name[k->n], sizeof k->name[0], "%s", r->name);
	k->n++;
	return 0;
}

void cluster_metrics(struct cluster *c, FILE *out)
{
	if (!c)
		return;
	struct metric_nodes k = {0};
	store_nodes_each(c->st, metric_row, &k);
	static const char *const family[][2] = {
		{"slots", "Game sessions a node takes (--slots)."},
		{"used", "Open game sessions placed on a node."},
		{"live", "Whether a node's lease is current."},
		{"draining", "Whether a node drains (takes no new sessions)."},
	};
	for (int f = 0; f < 4; f++) {
		const char *name = family[f][0];
		fprintf(out, "# HELP hippo_cluster_node_%s %s\n", name, family[f][1]);
		fprintf(out, "# TYPE hippo_cluster_node_%s gauge\n", name);
		for (size_t i = 0; i < k.n; i++) {
			const struct store_node_row *r = &k.v[i];
			int v = f == 0 ? r->slots : f == 1 ? r->used : f == 2 ? r->live
									 : r->draining;
			fprintf(out, "hippo_cluster_node_%s{node=\"%s\"} %d\n", name, k.name[i], v);
		}
	}
	free(k.v);
	free(k.name);
}
