/* bench admin: the researcher console's answers with a large store. Fills a
 * data folder with N participants walked through a study in-process (the
 * /next handler: participants, requests, answers, groups as a real run
 * writes them), then times each console route that reads them, called as
 * the console's threads call it (con_call, on the console's read-only store
 * connection): the studies page, the funnel (computed, and answered again
 * from its cache), pages of the participants table with each filter, one
 * participant's page. Figures: docs/performance.md, "Researcher console". */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bench/bench.h"
#include "console/console.h"
#include "core/clock.h"
#include "core/config.h"
#include "core/datapath.h"
#include "core/log.h"
#include "core/opt.h"
#include "flow/admin.h"
#include "flow/flow.h"
#include "store/store.h"

static int o_participants = 100000;
static int o_runs = 5;
static const char *o_project = "bench/projects/console";
static const char *o_data;
static const char *o_store;

static const struct opt opts[] = {
	{"participants", OPT_INT, &o_participants, "N", "participants in the store", 1, 10000000},
	{"runs", OPT_INT, &o_runs, "K", "timed calls of each route", 1, 1000},
	{"project", OPT_STRING, &o_project, "DIR", "the study (bench/projects/console)", 0, 0},
	{"data", OPT_STRING, &o_data, "DIR",
	 "data folder: filled when it has no store yet, reused as it is otherwise (default: a "
	 "temporary one, removed)",
	 0, 0},
	{"store", OPT_STRING, &o_store, "SPEC",
	 "participant store (default: DATA/hippo.db); filled when the study has no participant in it",
	 0, 0},
	{NULL, 0, NULL, NULL, NULL, 0, 0},
};

static const struct opt_cmd spec = {
	.name = "bench admin",
	.args = NULL,
	.summary = "the researcher console's routes with N participants in the store",
	.min_pos = 0,
	.max_pos = 0,
	.opts = opts,
};

static void request(struct flow *f, const char *method, const char *query, const char *body)
{
	struct http_request req;
	struct http_response resp;
	http_response_init(&resp);
	http_request_init(&req, method, "/next", query, body);
	http_request_add_header(&req, "host", "127.0.0.1:8080");
	http_request_add_header(&req, "user-agent", "bench/1.0");
	http_request_add_header(&req, "content-type", "application/json");
	flow_http_handler(f, &req, &resp);
	if (resp.status != 200)
		fprintf(stderr, "bench admin: %s %s answered %d\n", method, query, resp.status);
	http_response_free(&resp);
}

/* Participant I walks DEPTH steps: 1 in 5 stays on the consent page, ...,
 * about half complete; one in three comes with a crowd id. */
static void walk(struct flow *f, const char *pid, int i)
{
	static const int depth_of[10] = {0, 0, 1, 2, 3, 4, 4, 4, 4, 4};
	char q[256], body[96];
	int depth = depth_of[(i * 7) % 10];
	if (i % 3 == 0)
		snprintf(q, sizeof q, "projectId=%s&userId=p%07d&PROLIFIC_PID=prolific%07d", pid, i, i);
	else
		snprintf(q, sizeof q, "projectId=%s&userId=p%07d", pid, i);
	request(f, "GET", q, NULL);
	for (int s = 1; s <= depth; s++) {
		snprintf(body, sizeof body, "{\"a\":\"answer %d of %d\",\"b\":\"%d\"}", s, i, s * i);
		char qs[300];
		snprintf(qs, sizeof qs, "%s&step=%d", q, s);
		request(f, "POST", qs, body);
		request(f, "GET", q, NULL);
	}
}

/* Calls PATH?QUERY RUNS times (FORGET: with the caches dropped before each)
 * and prints the median and the slowest. */
static void timed(struct console *c, const char *label, const char *path, const char *query,
		  bool forget)
{
	double t[1000];
	int status = 0;
	size_t bytes = 0;
	for (int k = 0; k < o_runs; k++) {
		json_t *out;
		if (forget)
			con_forget(c);
		double t0 = clock_mono_s();
		status = con_call(c, "GET", path, query, &out);
		char *text = json_dumps(out, JSON_COMPACT);
		t[k] = (clock_mono_s() - t0) * 1000.0;
		bytes = text ? strlen(text) : 0;
		if (status != 200)
			fprintf(stderr, "bench admin: %s: %d %s\n", path, status, text ? text : "");
		free(text);
		json_decref(out);
	}
	bench_sort(t, (size_t)o_runs);
	printf("  %-44s %8.1f ms median %8.1f ms max  (%d, %zu bytes)\n", label, t[o_runs / 2],
	       t[o_runs - 1], status, bytes);
}

static int run(int argc, char **argv)
{
	int npos, rc = 1;
	char tmp[] = "/tmp/hippo-bench-admin-XXXXXX", path[4200], err[4096], p[256];
	struct store *store = NULL;
	struct flow *flow = NULL;
	struct console *con = NULL;
	int prc = opt_parse(&spec, argc, argv, &npos);
	if (prc != OPT_OK)
		return prc;
	log_set_level(LOG_WARN);
	const char *data = o_data;
	if (!data) {
		if (!mkdtemp(tmp)) {
			perror("mkdtemp");
			return 1;
		}
		data = tmp;
	}
	mkdir(data, 0755);
	datapath_store(path, sizeof path, data);
	struct stat sb;
	bool fill = stat(path, &sb) != 0;
	if (o_store)
		snprintf(path, sizeof path, "%s", o_store);
	store = store_open(path, err, sizeof err);
	flow = store ? flow_new(store, NULL, data) : NULL;
	if (!flow || flow_project_load(flow, o_project, false, err, sizeof err) < 0) {
		fprintf(stderr, "bench admin: %s\n", store ? err : err);
		goto out;
	}
	struct flow_project_view *v;
	flow_project_views(flow, NULL, &v);
	char pid[80];
	snprintf(pid, sizeof pid, "%s", v[0].cfg->project.id);
	free(v);
	if (o_store) {
		long long n = 0, done;
		json_decref(store_step_counts(store, pid, &n, &done));
		fill = n == 0;
	}
	if (fill) {
		double t0 = clock_mono_s();
		for (int i = 0; i < o_participants; i++) {
			walk(flow, pid, i);
			if (i % 10000 == 9999) {
				fprintf(stderr, "\rbench admin: %d participants (%.0f s)", i + 1,
					clock_mono_s() - t0);
			}
		}
		store_flush(store);
		fprintf(stderr, "\n");
		printf("filled %d participants in %.1f s\n", o_participants, clock_mono_s() - t0);
	}
	if (con_new(&(struct con_opts){.flow = flow, .data_dir = data, .store_spec = path}, &con,
		    err, sizeof err) < 0) {
		fprintf(stderr, "bench admin: %s\n", err);
		goto out;
	}
	json_t *probe;
	snprintf(p, sizeof p, "/api/projects/%s/participant-list", pid);
	con_call(con, "GET", p, "limit=0", &probe);
	long long total = json_integer_value(json_object_get(probe, "total"));
	json_decref(probe);
	printf("hippo bench admin: study %s, %lld participants, data in %s, %d runs each\n", pid,
	       total, data, o_runs);
	timed(con, "GET /api/studies", "/api/studies", "", false);
	snprintf(p, sizeof p, "/api/projects/%s/funnel", pid);
	timed(con, "GET .../funnel (computed)", p, "", true);
	timed(con, "GET .../funnel (again within 5 s: cached)", p, "", false);
	snprintf(p, sizeof p, "/api/projects/%s/participant-list", pid);
	timed(con, "GET .../participant-list (first page of 50)", p, "", false);
	timed(con, "GET .../participant-list?step=3", p, "step=3", false);
	timed(con, "GET .../participant-list?status=completed", p, "status=completed", false);
	timed(con, "GET .../participant-list?status=dropped", p, "status=dropped&idleMinutes=0",
	      false);
	timed(con, "GET .../participant-list?group=2:1", p, "group=2:1", false);
	timed(con, "GET .../participant-list?q=prolific0004242", p, "q=prolific0004242", false);
	char deep[64];
	snprintf(deep, sizeof deep, "offset=%lld", total > 100 ? total - 50 : 0);
	timed(con, "GET .../participant-list?offset=(last page)", p, deep, false);
	snprintf(p, sizeof p, "/api/projects/%s/participants/p%07d", pid, o_participants / 2);
	timed(con, "GET .../participants/<userId>", p, "", false);
	rc = 0;
out:
	con_free(con);
	flow_free(flow);
	store_close(store);
	if (!o_data)
		admin_rmtree(tmp);
	return rc;
}

const struct bench_kind bench_admin = {"admin", "the researcher console's routes, N participants",
				       run};
