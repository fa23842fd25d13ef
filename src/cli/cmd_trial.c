/* hippo trial PROJECT_DIR: the trial server alone, like the original one:
 * every websocket connection (any path) that sends a handshake with a valid
 * userId plays the project's trial; records go to DATA/<projectId>/trials/. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "cli/commands.h"
#include "core/config.h"
#include "core/log.h"
#include "core/path.h"
#include "net/server.h"
#include "session/session.h"
#include "storage/storage.h"
#include "trial/recorder.h"
#include "trial/trial_env.h"

static const char *host = "127.0.0.1";
static int port = 5000;
static const char *data_dir = "data";
static const char *tls_cert, *tls_key;
static int workers;
static int grace = -1;
static int max_sessions = 2000;
static int alloc_rate = 120;
static int max_per_address = 200;
static bool trust_proxy;
static const char *log_level = "info";

static const struct opt opts[] = {
	{"host", OPT_STRING, &host, "ADDR", "address to listen on", 0, 0},
	{"port", OPT_INT, &port, "PORT", "TCP port (0: any free port, printed at start)", 0,
	 65535},
	{"data", OPT_STRING, &data_dir, "DIR", "data folder (records in DIR/<projectId>/trials/)",
	 0, 0},
	{"tls-cert", OPT_STRING, &tls_cert, "FILE", "PEM certificate chain: serve wss:// (SIGHUP "
						    "reloads it)", 0, 0},
	{"tls-key", OPT_STRING, &tls_key, "FILE", "PEM private key for --tls-cert", 0, 0},
	{"workers", OPT_INT, &workers, "N", "session worker threads (0: one per core)", 0, 256},
	{"grace", OPT_INT, &grace, "SECONDS",
	 "reconnect grace after a disconnect (-1: trial.reconnectGrace of the project)", -1,
	 86400},
	{"max-sessions", OPT_INT, &max_sessions, "N", "live sessions at most; more are refused", 1,
	 1000000},
	{"alloc-rate", OPT_INT, &alloc_rate, "N",
	 "new sessions per client address and minute, in bursts of N (0: no limit)", 0, 1000000},
	{"max-per-address", OPT_INT, &max_per_address, "N",
	 "live sessions one client address may hold (0: no limit)", 0, 1000000},
	{"trust-proxy", OPT_FLAG, &trust_proxy, NULL,
	 "behind a reverse proxy: the client address is X-Forwarded-For's last entry", 0, 0},
	{"log-level", OPT_STRING, &log_level, "LEVEL", "debug, info, warn, error or off", 0, 0},
	{NULL, 0, NULL, NULL, NULL, 0, 0},
};

static const struct opt_cmd spec = {
	.name = "trial",
	.args = "PROJECT_DIR",
	.summary = "run the trial websocket server of a study alone (protocol of the original)",
	.min_pos = 1,
	.max_pos = 1,
	.opts = opts,
};

/* When the project stores to S3 (project.storage: s3, or trial.s3upload with
 * awsSetup.bucket): opens the spool, registers the destination and queues
 * what an earlier run left behind. Returns 0 (*OUT NULL when data stays
 * local) or -1 with a message on stderr. */
static int open_storage(const struct cfg *c, struct storage **out)
{
	char err[512];
	struct storage_dest d;
	*out = NULL;
	int k = storage_dest_from_cfg(c, &d, err, sizeof err);
	if (k <= 0) {
		if (k < 0)
			fprintf(stderr, "hippo trial: %s\n", err);
		return k;
	}
	const char *id = c->project.id ? c->project.id : "default";
	if (storage_open(out, &(struct storage_opts){.data_dir = data_dir}, err, sizeof err) < 0) {
		fprintf(stderr, "hippo trial: %s\n", err);
		return -1;
	}
	storage_set_project(*out, id, &d);
	long n = storage_catch_up(*out, id, &d, NULL);
	log_info("trial", "data files upload to S3", "project=%s bucket=%s queued=%ld", id,
		 d.bucket, n);
	return 0;
}

static int run(int argc, char **argv)
{
	int npos;
	int rc = opt_parse(&spec, argc, argv, &npos);
	if (rc != OPT_OK)
		return rc;
	enum log_level lv;
	if (!log_level_parse(log_level, &lv)) {
		fprintf(stderr, "hippo trial: unknown log level '%s'\n", log_level);
		return 2;
	}
	log_set_level(lv);
	const char *dir = argv[1];
	if (path_mkdirs(data_dir) < 0) {
		fprintf(stderr, "hippo trial: --data %s: %s\n", data_dir, strerror(errno));
		return 1;
	}
	char err[512];
	long crashed = rec_recover(data_dir, err, sizeof err);
	if (crashed < 0)
		log_warn("trial", "trial records not checked", "error=\"%s\"", err);
	else if (crashed > 0)
		log_info("trial", "trials cut off by a crash ended", "count=%ld", crashed);
	struct cfg c;
	struct cfg_diags d = {0};
	struct cfg_load_opts lo = {.game_known = tenv_game_known};
	if (cfg_load_with(dir, &lo, &c, &d) < 0) {
		char label[4200];
		snprintf(label, sizeof label, "%s/config.yml", dir);
		cfg_diags_print(&d, label, stderr);
		cfg_diags_free(&d);
		return 1;
	}
	cfg_diags_free(&d);
	struct storage *store = NULL;
	if (open_storage(&c, &store) < 0) {
		cfg_free(&c);
		return 1;
	}

	struct net_config nc;
	net_config_defaults(&nc);
	nc.host = host;
	nc.port = port;
	nc.data_dir = data_dir;
	nc.tls_cert = tls_cert;
	nc.tls_key = tls_key;
	nc.open_project = &c;
	nc.workers = workers;
	nc.grace_s = grace;
	nc.max_sessions = (size_t)max_sessions;
	nc.trust_proxy = trust_proxy;
	/* Before the server starts: libwebsockets sizes its tables by the limit. */
	long nofile = sess_raise_fd_limit();
	log_info("trial", "open-file limit", "nofile=%ld max_sessions=%d", nofile, max_sessions);
	if (nofile >= 0 && nofile < 2L * max_sessions + 64)
		log_warn("trial", "the open-file limit is low for --max-sessions",
			 "nofile=%ld max_sessions=%d hint=\"a session holds about 2 descriptors: raise "
			 "ulimit -n or lower --max-sessions\"",
			 nofile, max_sessions);
	struct net_server *srv = net_server_new(&nc, err, sizeof err);
	if (!srv) {
		fprintf(stderr, "hippo trial: %s\n", err);
		if (store)
			storage_close(store);
		cfg_free(&c);
		return 1;
	}
	/* Episode files go up as each episode ends; the rest (trial.jsonl,
	 * trials.jsonl) when the session ends. */
	sess_set_alloc_rate(net_server_sessions(srv), alloc_rate);
	sess_set_max_per_address(net_server_sessions(srv), max_per_address);
	if (store)
		storage_attach(store, net_server_sessions(srv));
	/* One line on stdout that scripts (and the tests) can wait for. */
	printf("hippo trial: listening on %s://%s:%d (project %s, data in %s)\n",
	       tls_cert ? "wss" : "ws", host, net_server_port(srv),
	       c.project.id ? c.project.id : "default", data_dir);
	fflush(stdout);
	rc = net_server_run(srv);
	net_server_free(srv);
	if (store)
		storage_close(store);
	cfg_free(&c);
	log_info("trial", "stopped", NULL);
	return rc == 0 ? 0 : 1;
}

const struct command cmd_trial = {.spec = &spec, .run = run};
