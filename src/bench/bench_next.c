/* bench next: the study flow in-process, without sockets (bench/next.sh
 * measures the same over HTTP with wrk). Measures, with a real participant
 * store (a new SQLite file, or the store of --store, e.g. a PostgreSQL
 * database) and the real session manager:
 *   - GET /next for existing participants: requests/s and latency percentiles
 *     of the handler (participant lookup, request record, page answer);
 *   - the POST that reaches startServerStep (answers stored, step advanced,
 *     session allocated);
 *   - the POST that reaches the game step, whose answer is show_game_page. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bench/bench.h"
#include "core/clock.h"
#include "core/datapath.h"
#include "core/log.h"
#include "core/opt.h"
#include "flow/admin.h"
#include "flow/flow.h"
#include "net/server.h"
#include "store/store.h"

static int o_requests = 100000;
static int o_participants = 200;
static const char *o_project = "examples/cartpole";
static const char *o_store = NULL;

static const struct opt opts[] = {
	{"requests", OPT_INT, &o_requests, "N", "GET requests to time", 100, 100000000},
	{"participants", OPT_INT, &o_participants, "P", "participants (GETs cycle over them)", 1,
	 100000},
	{"project", OPT_STRING, &o_project, "DIR", "study folder (startServerStep before the game)",
	 0, 0},
	{"store", OPT_STRING, &o_store, "SPEC",
	 "participant store (default: a new SQLite file; participants of this run are new in it)",
	 0, 0},
	{NULL, 0, NULL, NULL, NULL, 0, 0},
};

static const struct opt_cmd spec = {
	.name = "bench next",
	.args = NULL,
	.summary = "/next handler latency in-process: GET, session allocation, show_game_page",
	.min_pos = 0,
	.max_pos = 0,
	.opts = opts,
};

/* One request through the handler; returns its time in microseconds. */
static double timed(struct flow *f, const char *method, const char *query, const char *body,
		    char *page, size_t plen)
{
	struct http_request req;
	struct http_response resp;
	http_response_init(&resp);
	http_request_init(&req, method, "/next", query, body);
	http_request_add_header(&req, "host", "127.0.0.1:8080");
	http_request_add_header(&req, "user-agent", "bench/1.0");
	http_request_add_header(&req, "content-type", "application/json");
	double t0 = clock_mono_s() * 1e6;
	flow_http_handler(f, &req, &resp);
	double t1 = clock_mono_s() * 1e6;
	if (page)
		snprintf(page, plen, "%.*s", resp.body ? (int)(resp.body_len < 200 ? resp.body_len : 200)
						       : 0, resp.body ? resp.body : "");
	if (resp.status != 200)
		fprintf(stderr, "bench next: %s %s answered %d\n", method, query, resp.status);
	http_response_free(&resp);
	return t1 - t0;
}

static void report(const char *what, double *t, size_t n)
{
	bench_sort(t, n);
	printf("%-34s n=%-7zu p50 %8.1f us  p90 %8.1f us  p99 %8.1f us  max %9.1f us\n", what, n,
	       bench_pct(t, n, 50), bench_pct(t, n, 90), bench_pct(t, n, 99), t[n - 1]);
}

static int run(int argc, char **argv)
{
	int npos, rc = 1;
	char tmp[] = "/tmp/hippo-bench-next-XXXXXX", path[1024], shown[1024], err[4096], q[192];
	char run_tag[24];
	struct store *store = NULL;
	struct net_server *srv = NULL;
	struct flow *flow = NULL;
	double *t = NULL, *alloc = NULL, *game = NULL;
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
	store = store_open(path, err, sizeof err);
	store_spec_masked(path, shown, sizeof shown);
	/* this run's participants are new in a store used before */
	snprintf(run_tag, sizeof run_tag, "%lx", (unsigned long)(clock_wall_ms() ^ getpid()));
	struct net_config nc;
	net_config_defaults(&nc);
	nc.port = 0;
	nc.data_dir = tmp;
	nc.handle_signals = false;
	srv = store ? net_server_new(&nc, err, sizeof err) : NULL;
	flow = srv ? flow_new(store, net_server_sessions(srv), tmp) : NULL;
	if (!flow || flow_project_load(flow, o_project, false, err, sizeof err) < 0) {
		fprintf(stderr, "bench next: %s\n", err);
		goto out;
	}
	sess_on_end(net_server_sessions(srv), flow_on_session_end, flow);
	sess_set_alloc_rate(net_server_sessions(srv), 0); /* one client walks every participant */
	size_t np = (size_t)o_participants, nr = (size_t)o_requests;
	t = malloc(nr * sizeof *t);
	alloc = malloc(np * sizeof *alloc);
	game = malloc(np * sizeof *game);
	if (!t || !alloc || !game)
		goto out;
	json_t *projects = flow_projects_json(flow);
	char pid[80];
	snprintf(pid, sizeof pid, "%s",
		 json_string_value(json_object_get(json_array_get(projects, 0), "id")));
	json_decref(projects);

	char page[256];
	for (size_t i = 0; i < np; i++) {
		snprintf(q, sizeof q, "projectId=%s&userId=b%s-%zu", pid, run_tag, i);
		timed(flow, "GET", q, NULL, NULL, 0);                         /* created, step 1 */
		alloc[i] = timed(flow, "POST", q, "{\"consent\":\"yes\"}", NULL, 0); /* step 2 */
		game[i] = timed(flow, "POST", q, "{}", page, sizeof page);   /* the game step */
		if (!strstr(page, "show_game_page"))
			fprintf(stderr, "bench next: no show_game_page: %s\n", page);
	}
	/* Participants on a step page for the timed GETs. */
	for (size_t i = 0; i < np; i++) {
		snprintf(q, sizeof q, "projectId=%s&userId=g%s-%zu", pid, run_tag, i);
		timed(flow, "GET", q, NULL, NULL, 0);
	}
	double t0 = clock_mono_s() * 1e6;
	for (size_t i = 0; i < nr; i++) {
		snprintf(q, sizeof q, "projectId=%s&userId=g%s-%zu", pid, run_tag, i % np);
		t[i] = timed(flow, "GET", q, NULL, NULL, 0);
	}
	double elapsed = (clock_mono_s() * 1e6 - t0) / 1e6;
	printf("study %s, %zu participants, data in %s, store %s\n", pid, np, tmp, shown);
	report("GET /next (step page)", t, nr);
	printf("%-34s %.0f requests/s on one thread\n", "", (double)nr / elapsed);
	report("POST reaching startServerStep", alloc, np);
	report("POST reaching the game step", game, np);
	rc = 0;
out:
	if (srv)
		net_server_free(srv);
	flow_free(flow);
	store_close(store);
	admin_rmtree(tmp);
	free(t);
	free(alloc);
	free(game);
	return rc;
}

const struct bench_kind bench_next = {"next", "/next handler latency in-process", run};
