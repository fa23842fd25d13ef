/* hippo serve [PROJECT_DIR ...]: the whole study platform in one process:
 * the participant UI at /, the study flow at /next, game sessions over
 * websockets at /ws, the admin API at /api/, /healthz and /metrics. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli/commands.h"
#include "core/log.h"
#include "flow/admin.h"
#include "flow/flow.h"
#include "net/server.h"
#include "net/static.h"
#include "store/store.h"

static const char *opt_host = "127.0.0.1";
static int opt_port = 8080;
static const char *opt_data = "data";
static const char *opt_token_file = NULL;
static const char *opt_tls_cert = NULL;
static const char *opt_tls_key = NULL;
static const char *opt_log_level = "info";

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

struct serve_ctx {
	struct flow *flow;
	struct store *store;
	struct sess_mgr *sess;
};

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

/* Prometheus label values: backslash, quote and newline escaped. Ids are
 * validated already, so this is belt and braces. */
static void metrics_text(struct serve_ctx *c, FILE *m)
{
	struct sess_stats st;
	sess_stats(c->sess, &st);
	fprintf(m, "# HELP hippo_sessions_active Game sessions allocated and not ended.\n"
		   "# TYPE hippo_sessions_active gauge\n"
		   "hippo_sessions_active %zu\n"
		   "# HELP hippo_frames_sent_total Frames sent to participants.\n"
		   "# TYPE hippo_frames_sent_total counter\n"
		   "hippo_frames_sent_total %llu\n",
		st.live, st.frames_sent);
	fprintf(m, "# HELP hippo_participants Participants by project and current step.\n"
		   "# TYPE hippo_participants gauge\n");
	json_t *rows = store_step_counts_all(c->store);
	size_t i;
	json_t *r;
	json_array_foreach(rows, i, r)
	{
		const char *pid = json_string_value(json_array_get(r, 0));
		if (!pid || !flow_valid_project_id(pid))
			continue;
		fprintf(m, "hippo_participants{project=\"%s\",step=\"%lld\"} %lld\n", pid,
			(long long)json_integer_value(json_array_get(r, 1)),
			(long long)json_integer_value(json_array_get(r, 2)));
	}
	json_decref(rows);
	json_t *projects = flow_projects_json(c->flow);
	fprintf(m, "# HELP hippo_project_live Whether the project is served (1) or not (0).\n"
		   "# TYPE hippo_project_live gauge\n");
	json_array_foreach(projects, i, r)
		fprintf(m, "hippo_project_live{project=\"%s\"} %d\n",
			json_string_value(json_object_get(r, "id")),
			json_is_true(json_object_get(r, "live")));
	json_decref(projects);
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
	if (healthz) {
		long long open = store_sessions_open(c->store);
		if (open < 0) {
			http_respond_error(resp, 503, "participant store unavailable");
			return true;
		}
		http_respond_json(resp, 200, json_pack("{s:s,s:I}", "status", "ok", "sessions",
						       (json_int_t)open));
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

static int run(int argc, char **argv)
{
	int npos, rc = 1;
	char err[8192], path[PATH_MAX];
	struct store *store = NULL;
	struct flow *flow = NULL;
	struct admin *admin = NULL;
	struct net_server *srv = NULL;
	char *token = NULL;
	enum log_level level;

	int prc = opt_parse(&spec, argc, argv, &npos);
	if (prc == OPT_EXIT_HELP)
		return 0;
	if (prc != OPT_OK)
		return 2;
	if (!log_level_parse(opt_log_level, &level)) {
		fprintf(stderr, "hippo serve: --log-level: unknown level '%s'\n", opt_log_level);
		return 2;
	}
	log_set_level(level);
	if (mkdir(opt_data, 0755) < 0 && errno != EEXIST) {
		fprintf(stderr, "hippo serve: %s: %s\n", opt_data, strerror(errno));
		return 1;
	}
	snprintf(path, sizeof path, "%s/hippo.db", opt_data);
	store = store_open(path, err, sizeof err);
	if (!store) {
		fprintf(stderr, "hippo serve: %s\n", err);
		return 1;
	}
	/* Sessions that were running when the last process stopped are gone;
	 * participants waiting for them get a new one at the game step. */
	int closed = store_sessions_close_all(store, "restart");
	if (closed > 0)
		log_info("serve", "sessions of the previous run closed", "count=%d", closed);

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
	nc.tls_cert = opt_tls_cert;
	nc.tls_key = opt_tls_key;
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
	int ndeployed = flow_load_deployed(flow);
	if (ndeployed > 0)
		log_info("serve", "deployed projects loaded", "count=%d", ndeployed);
	for (int i = 1; i <= npos; i++) {
		if (flow_project_load(flow, argv[i], false, err, sizeof err) < 0) {
			fprintf(stderr, "hippo serve: %s\n", err);
			goto out;
		}
	}
	sess_on_end(sess, flow_on_session_end, flow);

	struct serve_ctx ctx = {flow, store, sess};
	net_server_add_handler(srv, ops_handler, &ctx);
	net_server_add_handler(srv, flow_http_handler, flow);
	net_server_add_handler(srv, admin_http_handler, admin);
	net_server_add_handler(srv, static_http_handler, NULL);

	const char *scheme = opt_tls_cert ? "https" : "http";
	int port = net_server_port(srv);
	json_t *projects = flow_projects_json(flow);
	size_t i;
	json_t *p;
	printf("hippo serve: listening on %s://%s:%d (data in %s, admin API %s)\n", scheme,
	       opt_host, port, opt_data, token ? "enabled" : "disabled");
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
	/* The server first: its shutdown ends sessions, which calls into the flow. */
	if (srv)
		net_server_free(srv);
	admin_free(admin);
	flow_free(flow);
	store_close(store);
	if (token) {
		memset(token, 0, strlen(token));
		free(token);
	}
	return rc;
}

const struct command cmd_serve = {&spec, run};
