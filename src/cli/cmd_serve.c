/* hippo serve [PROJECT_DIR ...]: the whole study platform in one process:
 * the participant UI at /, the study flow at /next, game sessions over
 * websockets at /ws, the admin API at /api/, /healthz and /metrics. */
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli/commands.h"
#include "cluster/cluster.h"
#include "console/console.h"
#include "core/clock.h"
#include "core/config.h"
#include "core/datapath.h"
#include "core/id.h"
#include "core/log.h"
#include "flow/admin.h"
#include "flow/flow.h"
#include "net/server.h"
#include "net/static.h"
#include "storage/storage.h"
#include "store/store.h"
#include "trial/recorder.h"

static const char *opt_host = "127.0.0.1";
static int opt_port = 8080;
static const char *opt_data = "data";
static const char *opt_token_file = NULL;
static const char *opt_tls_cert = NULL;
static const char *opt_tls_key = NULL;
static const char *opt_log_level = "info";
static bool opt_trust_deployed_code = false;
static const char *opt_frame_ancestors = STATIC_FRAME_ANCESTORS_DEFAULT;
static const char *opt_metrics_from = "loopback";
static int opt_max_sessions = 2000;
static int opt_alloc_rate = 120;
static int opt_max_per_address = 200;
static bool opt_trust_proxy;
/* the participant store, and this process as a node of several (docs/cluster.md) */
static const char *opt_store = NULL;
static const char *opt_node = NULL;
static const char *opt_advertise = NULL;
static const char *opt_internal = NULL;
static int opt_slots = 100;
static int opt_drain_grace = 30;
static int opt_node_renew = 2000, opt_node_lease = 10000, opt_node_poll = 300;
static int opt_records_every = 5;
static bool opt_records_local;

static const struct opt opts[] = {
	{"host", OPT_STRING, &opt_host, "ADDR", "address to listen on", 0, 0},
	{"port", OPT_INT, &opt_port, "PORT", "TCP port (0: any free port)", 0, 65535},
	{"data", OPT_STRING, &opt_data, "DIR", "data folder: hippo.db, deployed projects, trial data",
	 0, 0},
	{"admin-token-file", OPT_STRING, &opt_token_file, "FILE",
	 "file holding the admin API token (else HIPPO_ADMIN_TOKEN; neither: API disabled)", 0, 0},
	{"tls-cert", OPT_STRING, &opt_tls_cert, "PEM", "certificate chain (https/wss)", 0, 0},
	{"tls-key", OPT_STRING, &opt_tls_key, "PEM", "private key (https/wss)", 0, 0},
	{"log-level", OPT_STRING, &opt_log_level, "LEVEL", "debug, info, warn, error or off", 0, 0},
	{"trust-deployed-code", OPT_FLAG, &opt_trust_deployed_code, NULL,
	 "let studies deployed through the admin API run programs and plug-ins (the admin token "
	 "is then equivalent to a shell)",
	 0, 0},
	{"frame-ancestors", OPT_STRING, &opt_frame_ancestors, "SOURCES",
	 "sites that may show the participant UI in a frame (CSP sources)", 0, 0},
	{"metrics-from", OPT_STRING, &opt_metrics_from, "LIST",
	 "who may read /metrics without the admin token: loopback (default), any, none, or "
	 "addresses/prefixes (10.0.0.0/8), comma-separated",
	 0, 0},
	{"max-sessions", OPT_INT, &opt_max_sessions, "N",
	 "game sessions live at once, all projects (more participants wait)", 1, 1000000},
	{"alloc-rate", OPT_INT, &opt_alloc_rate, "N",
	 "new game sessions per client address and minute, in bursts of N (0: no limit)", 0,
	 1000000},
	{"max-per-address", OPT_INT, &opt_max_per_address, "N",
	 "live game sessions one client address may hold (0: no limit)", 0, 1000000},
	{"trust-proxy", OPT_FLAG, &opt_trust_proxy, NULL,
	 "behind a reverse proxy: the client address is X-Forwarded-For's last entry", 0, 0},
	{"store", OPT_STRING, &opt_store, "SPEC",
	 "participant store: sqlite:FILE or postgresql://USER@HOST:PORT/DB (default: "
	 "sqlite:DATA/hippo.db)",
	 0, 0},
	{"advertise", OPT_STRING, &opt_advertise, "URL",
	 "run as a cluster node: the base URL browsers reach this node at (its websocket is "
	 "URL/ws), e.g. wss://study.example.org/g/hippo-0 (with --node alone: http://HOST:PORT)",
	 0, 0},
	{"internal", OPT_STRING, &opt_internal, "URL",
	 "cluster node: the base URL other nodes reach this node at directly, e.g. "
	 "http://10.0.0.7:8080; they probe URL/healthz to find it dead at once when its "
	 "participants lose their websockets (default: none, found dead when its lease ends)",
	 0, 0},
	{"node", OPT_STRING, &opt_node, "NAME",
	 "run as a cluster node named NAME, unique among the nodes sharing the store (with "
	 "--advertise alone: the host name)",
	 0, 0},
	{"slots", OPT_INT, &opt_slots, "N",
	 "cluster node: game sessions it takes (instead of --max-sessions)", 1, 1000000},
	{"drain-grace", OPT_INT, &opt_drain_grace, "S",
	 "cluster node: on SIGTERM, take no new sessions and let running ones go on for up to "
	 "S seconds, then move them to other nodes",
	 0, 86400},
	{"node-renew", OPT_INT, &opt_node_renew, "MS", "cluster lease renewal period", 50,
	 600000},
	{"node-lease", OPT_INT, &opt_node_lease, "MS",
	 "cluster lease: a node silent this long is lost", 100, 3600000},
	{"node-poll", OPT_INT, &opt_node_poll, "MS",
	 "how often a cluster node looks for sessions placed on it", 20, 60000},
	{"records-every", OPT_INT, &opt_records_every, "S",
	 "cluster node: upload the open record files of S3 projects every S seconds (0: as "
	 "episodes close only)",
	 0, 3600},
	{"records-local", OPT_FLAG, &opt_records_local, NULL,
	 "cluster node: accept projects that keep their records in --data (a folder every node "
	 "shares, or one machine) instead of S3",
	 0, 0},
	{NULL, 0, NULL, NULL, NULL, 0, 0},
};

static const struct opt_cmd spec = {
	.name = "serve",
	.args = "[PROJECT_DIR ...]",
	.summary = "serve studies: participant UI, /next, game sessions, admin API",
	.min_pos = 0,
	.max_pos = -1,
	.opts = opts,
};

/* Upload counts for /metrics, read from the spool once a second by a
 * thread of their own: the spool's lock can be held for a batch of fsyncs,
 * and the I/O thread that answers /metrics must never wait for that. The
 * counts (a scan of the spool's state index) are only refreshed while
 * someone reads /metrics (within the last minute). */
#define GAUGE_IDLE_S 60
struct upload_gauge {
	struct storage *st;
	pthread_t th;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	bool started, stop, have;
	double last_read; /* clock_mono_s */
	struct storage_counts c;
};

struct serve_ctx {
	struct flow *flow;
	struct store *store;
	struct sess_mgr *sess;
	struct storage *storage;
	struct upload_gauge *gauge;
	bool running; /* past start-up: deploys skip the catch-up sync */
	struct admin *admin;
	bool node;    /* a cluster node (--advertise) */
	struct cluster *cluster; /* once joined */
};

static void *gauge_main(void *arg)
{
	struct upload_gauge *g = arg;
	pthread_mutex_lock(&g->mu);
	while (!g->stop) {
		if (clock_mono_s() - g->last_read < GAUGE_IDLE_S) {
			pthread_mutex_unlock(&g->mu);
			struct storage_counts c;
			bool ok = storage_counts(g->st, &c) == 0;
			pthread_mutex_lock(&g->mu);
			if (ok) {
				g->c = c;
				g->have = true;
			}
		}
		struct timespec ts = clock_deadline(CLOCK_REALTIME, 1000);
		if (!g->stop)
			pthread_cond_timedwait(&g->cv, &g->mu, &ts);
	}
	pthread_mutex_unlock(&g->mu);
	return NULL;
}

static void gauge_start(struct upload_gauge *g, struct storage *st)
{
	*g = (struct upload_gauge){.st = st, .last_read = clock_mono_s()};
	pthread_mutex_init(&g->mu, NULL);
	pthread_cond_init(&g->cv, NULL);
	g->started = pthread_create(&g->th, NULL, gauge_main, g) == 0;
}

static void gauge_stop(struct upload_gauge *g)
{
	if (!g->st)
		return;
	pthread_mutex_lock(&g->mu);
	g->stop = true;
	pthread_cond_signal(&g->cv);
	pthread_mutex_unlock(&g->mu);
	if (g->started)
		pthread_join(g->th, NULL);
	pthread_mutex_destroy(&g->mu);
	pthread_cond_destroy(&g->cv);
	g->st = NULL;
}

/* Reads the admin token from FILE (first line, surrounding blanks trimmed). */
static char *read_token(const char *file)
{
	FILE *f = fopen(file, "r");
	if (!f)
		return NULL;
	char buf[1024];
	size_t n = fread(buf, 1, sizeof buf - 1, f);
	fclose(f);
	buf[n] = '\0';
	char *s = buf;
	while (*s == ' ' || *s == '\t' || *s == '\r' || *s == '\n')
		s++;
	size_t len = strcspn(s, "\r\n");
	while (len > 0 && (s[len - 1] == ' ' || s[len - 1] == '\t'))
		len--;
	s[len] = '\0';
	return strdup(s);
}

/* flow hook: registers the project's destination with the upload spool. At
 * start-up, files written while the server was down or before the project
 * switched to S3 are queued too (`hippo storage sync`); a deploy only
 * changes the destination, so the I/O thread never scans a data folder. */
static int on_project_added(void *user, const struct cfg *cfg, char *err, size_t errlen)
{
	struct serve_ctx *c = user;
	struct storage_dest d;
	int k = storage_dest_from_cfg(cfg, &d, err, errlen);
	if (k < 0)
		return -1;
	if (k == 0 && c->node && !opt_records_local) {
		snprintf(err, errlen,
			 "project %s keeps its records in this node's data folder: a cluster node "
			 "needs project.storage s3 (or --records-local with a folder every node "
			 "shares)",
			 cfg->project.id);
		return -1;
	}
	if (storage_set_project(c->storage, cfg->project.id, k == 1 ? &d : NULL) < 0) {
		snprintf(err, errlen, "cannot register the project's storage");
		return -1;
	}
	if (k == 0)
		return 0;
	log_info("serve", "project stores to S3", "project=%s bucket=%s prefix=%s endpoint=%s",
		 cfg->project.id, d.bucket, d.prefix, d.endpoint[0] ? d.endpoint : "aws");
	if (!c->running) {
		long n = storage_catch_up(c->storage, cfg->project.id, &d, c->store);
		if (n > 0)
			log_info("serve", "files not uploaded yet queued", "project=%s count=%ld",
				 cfg->project.id, n);
	}
	return 0;
}

/* flow hook: the participant record changed. For projects storing to S3 it
 * is read from the store (one participant: a few indexed queries) and handed
 * to the spool, which writes DATA/P/users/U.json and uploads it as
 * P/Users/U.json on its own thread. */
static void on_participant_changed(void *user, const struct cfg *cfg, const char *project_id,
				   const char *user_id)
{
	struct serve_ctx *c = user;
	(void)cfg;
	if (storage_participant_changed(c->storage, c->store, project_id, user_id) != 0)
		log_error("serve", "participant record not queued for upload",
			  "project=%s user=%s", project_id, user_id);
}

/* One hippo_participants line per project and step (M: the output). */
static int metrics_participants(void *m, const struct store_step_count_row *r)
{
	if (r->project_id && id_valid_project(r->project_id))
		fprintf(m, "hippo_participants{project=\"%s\",step=\"%d\"} %lld\n",
			r->project_id, r->step, r->count);
	return 0;
}

/* Prometheus label values: backslash, quote and newline escaped. Ids are
 * validated already, so this is belt and braces. */
static void metrics_text(struct serve_ctx *c, FILE *m)
{
	struct sess_stats st;
	sess_stats(c->sess, &st);
	fprintf(m, "# HELP hippo_sessions_active Game sessions allocated and not ended.\n"
		   "# TYPE hippo_sessions_active gauge\n"
		   "hippo_sessions_active %zu\n"
		   "# HELP hippo_sessions_held Game session objects in memory (live or closing).\n"
		   "# TYPE hippo_sessions_held gauge\n"
		   "hippo_sessions_held %zu\n"
		   "# HELP hippo_sessions_refused_total Session allocations refused.\n"
		   "# TYPE hippo_sessions_refused_total counter\n"
		   "hippo_sessions_refused_total{reason=\"full\"} %llu\n"
		   "hippo_sessions_refused_total{reason=\"rate\"} %llu\n"
		   "# HELP hippo_sessions_connect_timeouts_total Sessions released: nobody "
		   "connected.\n"
		   "# TYPE hippo_sessions_connect_timeouts_total counter\n"
		   "hippo_sessions_connect_timeouts_total %llu\n"
		   "# HELP hippo_frames_sent_total Frames sent to participants.\n"
		   "# TYPE hippo_frames_sent_total counter\n"
		   "hippo_frames_sent_total %llu\n",
		st.live, st.held, st.refused_full, st.refused_rate, st.connect_timeouts,
		st.frames_sent);
	cluster_metrics(c->cluster, m);
	fprintf(m, "# HELP hippo_participants Participants by project and current step.\n"
		   "# TYPE hippo_participants gauge\n");
	store_step_counts_each(c->store, NULL, metrics_participants, m);
	size_t i;
	json_t *r;
	json_t *projects = flow_projects_json(c->flow);
	fprintf(m, "# HELP hippo_project_live Whether the project is served (1) or not (0).\n"
		   "# TYPE hippo_project_live gauge\n");
	json_array_foreach(projects, i, r)
		fprintf(m, "hippo_project_live{project=\"%s\"} %d\n",
			json_string_value(json_object_get(r, "id")),
			json_is_true(json_object_get(r, "live")));
	json_decref(projects);
	struct storage_counts sc;
	bool have = false;
	if (c->gauge && c->gauge->started) {
		pthread_mutex_lock(&c->gauge->mu);
		sc = c->gauge->c;
		have = c->gauge->have;
		if (clock_mono_s() - c->gauge->last_read >= GAUGE_IDLE_S)
			pthread_cond_signal(&c->gauge->cv); /* idle: refresh now */
		c->gauge->last_read = clock_mono_s();
		pthread_mutex_unlock(&c->gauge->mu);
	}
	if (have)
		fprintf(m, "# HELP hippo_uploads Uploads to S3 by state (pending includes queued).\n"
			   "# TYPE hippo_uploads gauge\n"
			   "hippo_uploads{state=\"pending\"} %ld\n"
			   "hippo_uploads{state=\"failed\"} %ld\n"
			   "hippo_uploads{state=\"done\"} %ld\n"
			   "# HELP hippo_upload_attempts_total Upload attempts by this process.\n"
			   "# TYPE hippo_upload_attempts_total counter\n"
			   "hippo_upload_attempts_total %ld\n",
			sc.pending + sc.queued, sc.failed, sc.done, sc.attempts_total);
}

/* /metrics names every project: it is served to the peers --metrics-from
 * admits and to the admin token. A request relayed by a proxy (it carries
 * X-Forwarded-For) is not judged by the proxy's address, unless the list
 * admits every address. */
static bool metrics_allowed(struct serve_ctx *c, const struct http_request *req)
{
	if (admin_authorized(c->admin, req))
		return true;
	if (!http_addr_allowed(opt_metrics_from, req->remote_ip))
		return false;
	bool public = http_addr_allowed(opt_metrics_from, "0.0.0.0") &&
		      http_addr_allowed(opt_metrics_from, "255.255.255.255") &&
		      http_addr_allowed(opt_metrics_from, "::") &&
		      http_addr_allowed(opt_metrics_from, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff");
	return public || !http_header_get(req, "x-forwarded-for");
}

static bool ops_handler(void *user, const struct http_request *req, struct http_response *resp)
{
	struct serve_ctx *c = user;
	bool healthz = strcmp(req->path, "/healthz") == 0;
	bool metrics = strcmp(req->path, "/metrics") == 0;
	if (!healthz && !metrics)
		return false;
	if (strcmp(req->method, "GET") != 0) {
		http_respond_error(resp, 405, "method not allowed: GET");
		return true;
	}
	http_add_header(resp, "Cache-Control", "no-store");
	if (metrics && !metrics_allowed(c, req)) {
		http_respond_error(resp, 403,
				   "/metrics is served to the addresses of --metrics-from "
				   "(default: loopback) or with the admin token");
		return true;
	}
	if (healthz) {
		long long open = store_sessions_open(c->store);
		if (open < 0) {
			http_respond_error(resp, 503, "participant store unavailable");
			return true;
		}
		/* a draining node is not ready: new participants go to the others */
		bool draining = cluster_draining(c->cluster);
		http_respond_json(resp, draining ? 503 : 200,
				  json_pack("{s:s,s:I}", "status", draining ? "draining" : "ok",
					    "sessions", (json_int_t)open));
		return true;
	}
	char *text = NULL;
	size_t len = 0;
	FILE *m = open_memstream(&text, &len);
	if (!m) {
		http_respond_error(resp, 500, "out of memory");
		return true;
	}
	metrics_text(c, m);
	fclose(m);
	http_response_set_body(resp, 200, "text/plain; version=0.0.4", text, len);
	return true;
}

/* flow_set_node_suspect's function: the cluster's probe thread checks NODE. */
static void on_suspect(void *user, const char *node)
{
	cluster_suspect(user, node);
}

/* net_server_set_drain's function: the node takes no new sessions. */
static void on_drain(void *user)
{
	struct serve_ctx *c = user;
	cluster_drain(c->cluster);
}

static int run(int argc, char **argv)
{
	int npos, rc = 1;
	char err[8192], path[PATH_MAX];
	struct store *store = NULL;
	struct flow *flow = NULL;
	struct admin *admin = NULL;
	struct console *con = NULL;
	struct net_server *srv = NULL;
	struct storage *storage = NULL;
	static struct upload_gauge gauge;
	struct cluster *cluster_ptr = NULL;
	struct flow_deploys_watch *deploys_watch = NULL;
	char *token = NULL;
	enum log_level level;

	int prc = opt_parse(&spec, argc, argv, &npos);
	if (prc != OPT_OK)
		return prc;
	if (!log_level_parse(opt_log_level, &level)) {
		fprintf(stderr, "hippo serve: --log-level: unknown level '%s'\n", opt_log_level);
		return 2;
	}
	log_set_level(level);
	static char csp[STATIC_CSP_MAX];
	if (!static_csp(opt_frame_ancestors, csp, sizeof csp, err, sizeof err)) {
		fprintf(stderr, "hippo serve: --frame-ancestors: %s\n", err);
		return 2;
	}
	if (http_addr_list_check(opt_metrics_from, err, sizeof err) < 0) {
		fprintf(stderr, "hippo serve: --metrics-from: %s\n", err);
		return 2;
	}
	if (mkdir(opt_data, 0755) < 0 && errno != EEXIST) {
		fprintf(stderr, "hippo serve: %s: %s\n", opt_data, strerror(errno));
		return 1;
	}
	static char node_name[ID_NODE_MAX + 1];
	struct cluster_opts co = {.node = opt_node, .url = opt_advertise,
				  .internal = opt_internal, .slots = opt_slots,
				  .renew_ms = opt_node_renew, .lease_ms = opt_node_lease,
				  .poll_ms = opt_node_poll};
	bool node = opt_advertise || opt_node;
	if (node && cluster_resolve(&co, node_name, sizeof node_name, err, sizeof err) < 0) {
		fprintf(stderr, "hippo serve: %s\n", err);
		return 2;
	}
	if (!node && opt_internal) {
		fprintf(stderr,
			"hippo serve: --internal is for a cluster node (--advertise or --node)\n");
		return 2;
	}
	if (node && opt_node_lease <= opt_node_renew) {
		fprintf(stderr, "hippo serve: --node-lease must be longer than --node-renew\n");
		return 2;
	}
	const char *store_spec = opt_store;
	if (!store_spec) {
		datapath_store(path, sizeof path, opt_data);
		store_spec = path;
	}
	store = store_open(store_spec, err, sizeof err);
	if (!store) {
		fprintf(stderr, "hippo serve: participant store: %s\n", err);
		return 2;
	}
	char shown[PATH_MAX];
	store_spec_masked(store_spec, shown, sizeof shown);
	log_info("serve", "participant store open", "store=\"%s\"", shown);
	/* Sessions that were running when the last process stopped are gone;
	 * participants waiting for them get a new one at the game step. A
	 * cluster node closes its own only (cluster_start). */
	int closed = node ? 0 : store_sessions_close_all(store, "restart");
	if (closed > 0)
		log_info("serve", "sessions of the previous run closed", "count=%d", closed);
	/* Trials a killed process left without an end line get one (before the
	 * upload spool looks for files to send). */
	long crashed = rec_recover(opt_data, err, sizeof err);
	if (crashed < 0)
		log_warn("serve", "trial records not checked", "error=\"%s\"", err);
	else if (crashed > 0)
		log_info("serve", "trials cut off by a crash ended", "count=%ld", crashed);
	/* Before the server starts: libwebsockets sizes its tables by the limit. */
	long nofile = sess_raise_fd_limit();
	log_info("serve", "open-file limit", "nofile=%ld max_sessions=%d", nofile,
		 opt_max_sessions);
	if (nofile >= 0 && nofile < 2L * opt_max_sessions + 64)
		log_warn("serve", "the open-file limit is low for --max-sessions",
			 "nofile=%ld max_sessions=%d hint=\"a session holds about 2 descriptors: raise "
			 "ulimit -n or lower --max-sessions\"",
			 nofile, opt_max_sessions);
	/* The upload spool (DATA/spool/): its worker resumes uploads left pending
	 * by an earlier run at once. */
	struct storage_opts so = {.data_dir = opt_data, .node = node ? co.node : NULL};
	if (storage_open(&storage, &so, err, sizeof err) < 0) {
		fprintf(stderr, "hippo serve: %s\n", err);
		goto out;
	}

	if (opt_token_file) {
		token = read_token(opt_token_file);
		if (!token || !token[0]) {
			fprintf(stderr, "hippo serve: --admin-token-file %s: unreadable or empty\n",
				opt_token_file);
			goto out;
		}
	} else if (getenv("HIPPO_ADMIN_TOKEN") && getenv("HIPPO_ADMIN_TOKEN")[0]) {
		token = strdup(getenv("HIPPO_ADMIN_TOKEN"));
	}

	struct net_config nc;
	net_config_defaults(&nc);
	nc.host = opt_host;
	nc.port = opt_port;
	nc.data_dir = opt_data;
	nc.ws_path = "/ws";
	nc.ws_at_root = true; /* the original front end connects to "/" */
	nc.tls_cert = opt_tls_cert;
	nc.tls_key = opt_tls_key;
	nc.max_sessions = (size_t)(node ? co.slots : opt_max_sessions);
	/* Deploy uploads (config + step files as JSON) may exceed /next's 1 MB,
	 * which the flow enforces itself. */
	nc.max_http_body = 4u << 20;
	srv = net_server_new(&nc, err, sizeof err);
	if (!srv) {
		fprintf(stderr, "hippo serve: %s\n", err);
		goto out;
	}
	struct sess_mgr *sess = net_server_sessions(srv);
	flow = flow_new(store, sess, opt_data);
	admin = flow ? admin_new(flow, token) : NULL;
	if (!flow || !admin) {
		fprintf(stderr, "hippo serve: out of memory\n");
		goto out;
	}
	flow_set_secure(flow, opt_tls_cert != NULL);
	flow_set_trust_deployed_code(flow, opt_trust_deployed_code);
	flow_set_trust_proxy(flow, opt_trust_proxy);
	sess_set_alloc_rate(sess, opt_alloc_rate);
	sess_set_max_per_address(sess, opt_max_per_address);
	gauge_start(&gauge, storage);
	struct serve_ctx ctx = {flow, store, sess, storage, &gauge, false, admin, node, NULL};
	if (node) {
		flow_set_node(flow, co.node);
		sess_set_upload_every(sess, opt_records_every * 1000);
	}
	flow_set_hooks(flow, &(struct flow_hooks){.user = &ctx,
						  .project_added = on_project_added,
						  .participant_changed = on_participant_changed});
	/* Data files go to the spool as they close, and a session's remaining
	 * files when it ends, before the flow records the end. */
	if (storage_attach(storage, sess) < 0 || sess_on_end(sess, flow_on_session_end, flow) < 0) {
		fprintf(stderr, "hippo serve: cannot listen for session ends\n");
		goto out;
	}
	int ndeployed = flow_load_deployed(flow);
	if (ndeployed > 0)
		log_info("serve", "deployed projects loaded", "count=%d", ndeployed);
	for (int i = 1; i <= npos; i++) {
		if (flow_project_load(flow, argv[i], false, err, sizeof err) < 0) {
			fprintf(stderr, "hippo serve: %s\n", err);
			goto out;
		}
	}
	/* a cluster node serves the latest version of each study deployed on any
	 * node (the store's deploys), now and as new ones come (the thread below) */
	if (node)
		flow_deploys_sync(flow);
	static char own_url[STORE_URL_MAX + 1];
	if (node && !co.url) { /* --node alone: this process's own address */
		char host[256] = "";
		bool any = strcmp(opt_host, "0.0.0.0") == 0 || strcmp(opt_host, "::") == 0;
		if (!any || gethostname(host, sizeof host - 1) != 0)
			snprintf(host, sizeof host, "%s", opt_host);
		snprintf(own_url, sizeof own_url, "%s://%s:%d", opt_tls_cert ? "https" : "http",
			 host, net_server_port(srv));
		co.url = own_url;
	}
	if (node && cluster_start(&ctx.cluster, &co, store, flow, sess, err, sizeof err) < 0) {
		fprintf(stderr, "hippo serve: %s\n", err);
		goto out;
	}
	if (node) {
		net_server_set_drain(srv, opt_drain_grace, on_drain, &ctx);
		flow_set_node_suspect(flow, on_suspect, ctx.cluster);
	}
	cluster_ptr = ctx.cluster;
	ctx.running = true;
	/* started once RUNNING is set: its deploys read it (on_project_added) */
	if (node && !(deploys_watch = flow_deploys_watch(flow, 2000))) {
		fprintf(stderr, "hippo serve: cannot start the deployed versions' thread\n");
		goto out;
	}
	if (con_new(&(struct con_opts){.flow = flow,
				       .admin = admin,
				       .sess = sess,
				       .storage = storage,
				       .data_dir = opt_data,
				       .store_spec = store_spec,
				       .cluster = ctx.cluster},
		    &con, err, sizeof err) < 0) {
		fprintf(stderr, "hippo serve: console: %s\n", err);
		goto out;
	}

	net_server_add_handler(srv, ops_handler, &ctx);
	net_server_add_handler(srv, flow_http_handler, flow);
	net_server_add_handler(srv, con_http_handler, con);
	net_server_add_handler(srv, admin_http_handler, admin);
	net_server_add_handler(srv, static_http_handler, csp);

	const char *scheme = opt_tls_cert ? "https" : "http";
	int port = net_server_port(srv);
	json_t *projects = flow_projects_json(flow);
	size_t i;
	json_t *p;
	printf("hippo serve: listening on %s://%s:%d (data in %s, admin API %s)\n", scheme,
	       opt_host, port, opt_data, token ? "enabled" : "disabled");
	if (node)
		printf("cluster node %s at %s (%d slots)\n", co.node, co.url, co.slots);
	json_array_foreach(projects, i, p)
		printf("open %s://%s:%d/?projectId=%s\n", scheme, opt_host, port,
		       json_string_value(json_object_get(p, "id")));
	if (json_array_size(projects) == 0)
		printf("no project yet: deploy one with hippo deploy PROJECT_DIR --server %s://%s:%d\n",
		       scheme, opt_host, port);
	json_decref(projects);
	fflush(stdout);

	rc = net_server_run(srv) == 0 ? 0 : 1;
out:
	/* The console's threads read the sessions and write to the server's streams. */
	con_free(con);
	flow_deploys_watch_stop(deploys_watch);
	/* The cluster's thread next (it calls the sessions), then the server:
	 * its shutdown ends sessions, which calls into the flow. */
	cluster_stop(cluster_ptr);
	if (srv)
		net_server_free(srv);
	cluster_free(cluster_ptr, rc == 0);
	/* After the server: sessions ended at shutdown have queued their files. */
	gauge_stop(&gauge);
	if (storage)
		storage_close(storage);
	admin_free(admin);
	flow_free(flow);
	store_close(store);
	if (token) {
		memset(token, 0, strlen(token));
		free(token);
	}
	return rc;
}

const struct command cmd_serve = {.spec = &spec, .run = run};
