/* bench place: the cluster's placement transaction (store_place) as several
 * nodes run it at once, in-process: each node is a thread with a store
 * connection of its own (as a node process has), registered with its slots,
 * placing new participants one after the other and ending the session it
 * placed HOLD placements before (so the nodes stay part full and every
 * placement chooses among them). Measures each store_place call: latency
 * percentiles and placements per second in all, on a new SQLite file or the
 * store of --store (e.g. a PostgreSQL database: its server's round trips and
 * row locks are what is measured). bench/cluster.py measures the same
 * through HTTP and HAProxy. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench/bench.h"
#include "core/clock.h"
#include "core/datapath.h"
#include "core/log.h"
#include "core/opt.h"
#include "flow/admin.h"
#include "store/store.h"

static int o_nodes = 3;
static int o_slots = 20;
static int o_placements = 3000;
static int o_hold = 8;
static const char *o_store = NULL;

static const struct opt opts[] = {
	{"nodes", OPT_INT, &o_nodes, "N", "nodes placing at once (one connection each)", 1, 64},
	{"slots", OPT_INT, &o_slots, "S", "slots of each node", 1, 100000},
	{"placements", OPT_INT, &o_placements, "P", "placements to time in all", 10, 10000000},
	{"hold", OPT_INT, &o_hold, "K",
	 "sessions each node keeps open (it ends the one placed K placements before)", 0, 100000},
	{"store", OPT_STRING, &o_store, "SPEC",
	 "participant store (default: a new SQLite file); an empty database, or one without other "
	 "live nodes",
	 0, 0},
	{NULL, 0, NULL, NULL, NULL, 0, 0},
};

static const struct opt_cmd spec = {
	.name = "bench place",
	.args = NULL,
	.summary = "placement (store_place) latency with several nodes placing at once",
	.min_pos = 0,
	.max_pos = 0,
	.opts = opts,
};

struct node_run {
	int index;
	const char *path, *tag;
	int n;                  /* placements to make */
	double *t;              /* their times, ms */
	int placed, full, failed;
	char err[256];
};

static void *node_main(void *arg)
{
	struct node_run *r = arg;
	struct store *s = store_open(r->path, r->err, sizeof r->err);
	long long *held = calloc((size_t)o_hold + 1, sizeof *held);
	char(*held_node)[STORE_NODE_MAX + 1] = calloc((size_t)o_hold + 1, sizeof *held_node);
	if (!s || !held || !held_node) {
		r->failed = r->n;
		goto out;
	}
	for (int i = 0; i < r->n; i++) {
		char user[64];
		snprintf(user, sizeof user, "p%s-%d-%d", r->tag, r->index, i);
		struct store_participant p;
		bool created;
		struct store_placement pl;
		if (store_participant_ensure(s, "bench-place", user, NULL, &p, &created) < 0) {
			r->failed++;
			continue;
		}
		double t0 = clock_mono_s();
		int k = store_place(s, p.id, 2, 0, &pl);
		r->t[i] = (clock_mono_s() - t0) * 1e3;
		if (k < 0) {
			snprintf(r->err, sizeof r->err, "%s", store_errmsg(s));
			r->failed++;
			continue;
		}
		if (k == 0) {
			r->full++;
			continue;
		}
		r->placed++;
		/* the session placed HOLD placements ago ends (not timed) */
		int slot = i % (o_hold + 1);
		if (held[slot] > 0)
			store_session_end_node(s, held[slot], held_node[slot], "done", NULL);
		held[slot] = p.id;
		snprintf(held_node[slot], sizeof held_node[slot], "%s", pl.node);
	}
out:
	free(held);
	free(held_node);
	store_close(s);
	return NULL;
}

static int run(int argc, char **argv)
{
	int npos, rc = 1;
	char tmp[] = "/tmp/hippo-bench-place-XXXXXX", path[1024], shown[1024], err[512];
	char tag[24], name[STORE_NODE_MAX + 1], url[STORE_URL_MAX + 1];
	struct node_run *runs = NULL;
	pthread_t *th = NULL;
	double *all = NULL;
	int prc = opt_parse(&spec, argc, argv, &npos);
	if (prc != OPT_OK)
		return prc;
	log_set_level(LOG_WARN);
	if (!mkdtemp(tmp)) {
		perror("mkdtemp");
		return 1;
	}
	datapath_store(path, sizeof path, tmp);
	if (o_store)
		snprintf(path, sizeof path, "%s", o_store);
	store_spec_masked(path, shown, sizeof shown);
	struct store *s = store_open(path, err, sizeof err);
	if (!s) {
		fprintf(stderr, "bench place: %s\n", err);
		admin_rmtree(tmp);
		return 1;
	}
	/* this run's nodes and participants are new in a store used before */
	snprintf(tag, sizeof tag, "%lx", (unsigned long)(clock_wall_ms() ^ getpid()));
	for (int i = 0; i < o_nodes; i++) {
		snprintf(name, sizeof name, "bench-%s-%d", tag, i);
		snprintf(url, sizeof url, "http://127.0.0.1:1/g/%s", name);
		if (store_node_renew(s, name, url, NULL, o_slots, false, true, 600000, NULL) < 0) {
			fprintf(stderr, "bench place: %s\n", store_errmsg(s));
			goto out;
		}
	}
	size_t total = 0, each = (size_t)o_placements / (size_t)o_nodes;
	runs = calloc((size_t)o_nodes, sizeof *runs);
	th = calloc((size_t)o_nodes, sizeof *th);
	all = calloc(each * (size_t)o_nodes + 1, sizeof *all);
	if (!runs || !th || !all)
		goto out;
	for (int i = 0; i < o_nodes; i++) {
		runs[i] = (struct node_run){.index = i, .path = path, .tag = tag, .n = (int)each};
		runs[i].t = all + (size_t)i * each;
	}
	double t0 = clock_mono_s();
	int started = 0;
	for (int i = 0; i < o_nodes; i++)
		if (pthread_create(&th[i], NULL, node_main, &runs[i]) == 0)
			started = i + 1;
		else
			break;
	int placed = 0, full = 0, failed = 0;
	for (int i = 0; i < started; i++) {
		pthread_join(th[i], NULL);
		placed += runs[i].placed;
		full += runs[i].full;
		failed += runs[i].failed;
		if (runs[i].err[0])
			fprintf(stderr, "bench place: node %d: %s\n", i, runs[i].err);
	}
	double elapsed = clock_mono_s() - t0;
	total = each * (size_t)started;
	bench_sort(all, total);
	printf("store %s, %d nodes of %d slots placing at once, each keeping %d sessions open\n",
	       shown, o_nodes, o_slots, o_hold);
	printf("store_place  n=%zu  p50 %.2f ms  p90 %.2f ms  p99 %.2f ms  max %.2f ms\n", total,
	       bench_pct(all, total, 50), bench_pct(all, total, 90), bench_pct(all, total, 99), all[total - 1]);
	printf("             %d placed, %d found no free slot, %d failed; %.0f placements/s in all\n",
	       placed, full, failed, (double)total / elapsed);
	rc = failed == 0 && started == o_nodes ? 0 : 1;
out:
	for (int i = 0; i < o_nodes; i++) { /* leave no live bench node behind */
		snprintf(name, sizeof name, "bench-%s-%d", tag, i);
		store_sessions_close_node(s, name, "done");
		store_node_remove(s, name);
	}
	store_close(s);
	admin_rmtree(tmp);
	free(runs);
	free(th);
	free(all);
	return rc;
}

const struct bench_kind bench_place = {"place", "cluster placement latency, nodes at once", run};
