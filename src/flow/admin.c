/* admin: the researcher's API (see admin.h and docs/api.md). */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "core/childenv.h"
#include "core/clock.h"
#include "core/config.h"
#include "core/datapath.h"
#include "core/id.h"
#include "core/log.h"
#include "export/export.h"
#include "flow/admin.h"
#include "flow/deploy_archive.h"
#include "flow/flow.h"
#include "flow/flow_int.h"
#include "flow/login_limit.h"
#include "net/stream.h"
#include "store/store.h"

#define DOWNLOAD_BUFFER (256u << 10) /* bytes between tar and the client */
#define DOWNLOAD_NICE 10             /* the archive yields the CPU to the games */


/* One data download: a thread that prepares the archive's extra files, runs
 * tar and streams its output. */
struct download {
	struct admin *a;
	pthread_t th;
	bool started;       /* the thread exists (join it) */
	atomic_bool done;   /* it has finished */
	char id[80];
	char status[16];    /* only participants in this state ("": all) */
	bool preview;       /* the preview participants too */
	struct http_stream *st; /* the producer's reference */
};

struct admin {
	struct flow *flow;
	char *token;
	struct login_limit *logins; /* failed logins per address */
	pthread_mutex_t mu; /* the download slots */
	struct download dl[ADMIN_MAX_DOWNLOADS];
};

struct admin *admin_new(struct flow *flow, const char *token)
{
	struct admin *a = calloc(1, sizeof *a);
	if (!a)
		return NULL;
	a->flow = flow;
	if (token && token[0]) {
		a->token = strdup(token);
		if (!a->token) {
			free(a);
			return NULL;
		}
	}
	a->logins = login_limit_new();
	if (!a->logins || flow_preview_key_set(flow, a->token) < 0) {
		login_limit_free(a->logins);
		free(a->token);
		free(a);
		return NULL;
	}
	pthread_mutex_init(&a->mu, NULL);
	return a;
}

void admin_free(struct admin *a)
{
	if (!a)
		return;
	/* The server is gone by now: its downloads' writes fail and they end. */
	for (int i = 0; i < ADMIN_MAX_DOWNLOADS; i++)
		if (a->dl[i].started)
			pthread_join(a->dl[i].th, NULL);
	pthread_mutex_destroy(&a->mu);
	login_limit_free(a->logins);
	if (a->token) {
		memset(a->token, 0, strlen(a->token));
		free(a->token);
	}
	free(a);
}

/* Compares without an early exit, so timing does not tell how much matched. */
static bool token_equal(const char *given, const char *want)
{
	size_t gl = strlen(given), wl = strlen(want);
	unsigned char diff = gl != wl;
	for (size_t i = 0; i < wl; i++)
		diff |= (unsigned char)(want[i] ^ (i < gl ? given[i] : 0));
	return diff == 0;
}

bool admin_authorized(const struct admin *a, const struct http_request *req)
{
	const char *auth = http_header_get(req, "authorization");
	return a && a->token && auth && strncasecmp(auth, "Bearer ", 7) == 0 &&
	       token_equal(auth + 7, a->token);
}

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)ftw;
	return (flag == FTW_DP ? rmdir(path) : unlink(path)) < 0 && errno != ENOENT ? -1 : 0;
}

int admin_rmtree(const char *path)
{
	struct stat st;
	if (lstat(path, &st) < 0)
		return errno == ENOENT ? 0 : -1;
	return nftw(path, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

bool admin_file_name_ok(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n > 200 || s[0] == '.')
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '-' || c == '_' || c == '.'))
			return false;
	}
	return strstr(s, "..") == NULL;
}

static int write_file(const char *path, const char *data, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (fd < 0)
		return -1;
	size_t off = 0;
	while (off < len) {
		ssize_t w = write(fd, data + off, len - off);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			close(fd);
			return -1;
		}
		off += (size_t)w;
	}
	if (fsync(fd) < 0) {
		close(fd);
		return -1;
	}
	return close(fd);
}

static json_t *diags_json(const struct cfg_diags *d)
{
	json_t *a = json_array();
	for (size_t i = 0; i < d->n; i++) {
		const struct cfg_diag *x = &d->items[i];
		char line[1024];
		snprintf(line, sizeof line, "%s: config.yml:%d:%d: %s: %s",
			 x->severity == CFG_ERROR ? "error" : "warning", x->line, x->col,
			 x->path ? x->path : "", x->message ? x->message : "");
		json_array_append_new(a, json_string(line));
	}
	return a;
}

/* The answer to a deploy whose config has errors: 403 when they are all keys
 * naming code this server does not run for deployed studies, else 400. */
static int invalid_project(const struct cfg_diags *d, json_t **resp_j)
{
	bool refused = d->nrefused > 0 && d->nrefused == d->nerrors;
	*resp_j = json_pack("{s:s,s:o}", "error",
			    refused ? "this server does not run programs or plug-ins named by "
				      "deployed studies (hippo serve --trust-deployed-code)"
				    : "invalid project",
			    "diagnostics", diags_json(d));
	return refused ? 403 : 400;
}

static int deploy_error(json_t **resp_j, int status, const char *msg)
{
	*resp_j = json_pack("{s:s}", "error", msg);
	return status;
}

/* One deploy at a time per process: the admin API's and the copies of
 * versions deployed on other nodes (flow_deploys_sync) swap the same folder. */
static pthread_mutex_t deploy_mu = PTHREAD_MUTEX_INITIALIZER;

/* admin_deploy without the lock; FROM_STORE: version FROM_STORE of the
 * deploys table, deployed on another node (its version is kept, not a new one). */
static int deploy_locked(struct flow *f, const char *id, const char *config, json_t *files,
			 int from_store, json_t **resp_j)
{
	char root[PATH_MAX], tmp[PATH_MAX], final[PATH_MAX], path[PATH_MAX], err[4096];
	struct cfg c;
	struct cfg_diags d = {0};
	int status = 500;
	bool loaded = false, exchanged = false;
	const char *name;
	json_t *v;

	if (!id_valid_project(id))
		return deploy_error(resp_j, 400, "invalid project id: expected " ID_PROJECT_RULE);
	if (!config)
		return deploy_error(resp_j, 400, "missing \"config\" (the text of config.yml)");
	if (files && !json_is_object(files))
		return deploy_error(resp_j, 400, "\"files\" must be an object {name: text}");
	if (json_object_size(files) > ADMIN_MAX_FILES)
		return deploy_error(resp_j, 400, "too many files");
	json_object_foreach(files, name, v)
	{
		if (!admin_file_name_ok(name) || !json_is_string(v)) {
			snprintf(err, sizeof err,
				 "file '%.100s': names are [A-Za-z0-9._-] without '..', values text",
				 name);
			return deploy_error(resp_j, 400, err);
		}
	}
	/* The text alone first: a refused config costs no disk work. */
	if (flow_cfg_check_deployed_text(f, config, strlen(config), &c, &d) < 0) {
		status = invalid_project(&d, resp_j);
		cfg_diags_free(&d);
		return status;
	}
	cfg_free(&c);
	cfg_diags_free(&d);
	if (datapath_projects(root, sizeof root, flow_data_dir(f)) < 0)
		return deploy_error(resp_j, 500, "data folder path too long");
	if (mkdir(flow_data_dir(f), 0755) < 0 && errno != EEXIST)
		return deploy_error(resp_j, 500, "cannot create the data folder");
	if (mkdir(root, 0755) < 0 && errno != EEXIST)
		return deploy_error(resp_j, 500, "cannot create DATA/projects");
	if (flow_pathf(tmp, sizeof tmp, "%s/.tmp-%s-XXXXXX", root, id) < 0 || !mkdtemp(tmp))
		return deploy_error(resp_j, 500, "cannot create a temporary folder");
	if (flow_pathf(final, sizeof final, "%s/%s", root, id) < 0 ||
	    flow_pathf(path, sizeof path, "%s/StepFiles", tmp) < 0 || mkdir(path, 0755) < 0 ||
	    flow_pathf(path, sizeof path, "%s/config.yml", tmp) < 0 ||
	    write_file(path, config, strlen(config)) < 0)
		goto io_fail;
	json_object_foreach(files, name, v)
	{
		if (flow_pathf(path, sizeof path, "%s/StepFiles/%s", tmp, name) < 0 ||
		    write_file(path, json_string_value(v), json_string_length(v)) < 0)
			goto io_fail;
	}
	if (flow_cfg_load_deployed(f, tmp, &c, &d) < 0) {
		status = invalid_project(&d, resp_j);
		goto out;
	}
	loaded = true;
	if (!c.project.id || strcmp(c.project.id, id) != 0) {
		snprintf(err, sizeof err, "project.id in config.yml is '%s', the URL says '%s'",
			 c.project.id ? c.project.id : "", id);
		*resp_j = json_pack("{s:s}", "error", err);
		status = 400;
		goto out;
	}
	/* Swap the new folder in: the old one ends up at TMP and is removed. */
	struct stat st;
	if (stat(final, &st) == 0) {
		if (renameat2(AT_FDCWD, tmp, AT_FDCWD, final, RENAME_EXCHANGE) < 0)
			goto io_fail;
		exchanged = true;
	} else if (rename(tmp, final) < 0) {
		goto io_fail;
	}
	if ((from_store ? flow__project_load_copy(f, final, from_store, err, sizeof err)
			: flow_project_load(f, final, true, err, sizeof err)) < 0) {
		log_error("admin", "deployed project not registered", "project=%s error=\"%s\"", id,
			  err);
		/* Put the previous version back on disk; memory still serves it. */
		if (exchanged)
			renameat2(AT_FDCWD, tmp, AT_FDCWD, final, RENAME_EXCHANGE);
		*resp_j = json_pack("{s:s}", "error", err);
		status = 400;
		goto out;
	}
	json_t *list = flow_projects_json(f);
	json_t *entry = NULL;
	size_t i;
	json_array_foreach(list, i, v)
		if (strcmp(json_string_value(json_object_get(v, "id")), id) == 0)
			entry = json_incref(v);
	json_decref(list);
	*resp_j = json_pack("{s:s,s:o,s:o}", "deployed", id, "project",
			    entry ? entry : json_null(), "warnings", diags_json(&d));
	log_info("admin", "project deployed", "project=%s files=%zu", id,
		 json_object_size(files));
	status = 200;
	goto out;
io_fail:
	snprintf(err, sizeof err, "writing the project failed: %s", strerror(errno));
	*resp_j = json_pack("{s:s}", "error", err);
	status = 500;
out:
	if (loaded)
		cfg_free(&c);
	cfg_diags_free(&d);
	admin_rmtree(tmp);
	return status;
}

int admin_deploy(struct flow *f, const char *id, const char *config, json_t *files,
		 json_t **resp_j)
{
	pthread_mutex_lock(&deploy_mu);
	int status = deploy_locked(f, id, config, files, 0, resp_j);
	if (status == 200) {
		/* the version's files in the store: every node of a cluster serves it */
		int v = flow__project_version(f, id);
		char *text = files ? json_dumps(files, JSON_COMPACT) : strdup("{}");
		if (v < 1 || !text || store_deploy_put(flow_store(f), id, v, config, text) < 0)
			log_error("admin", "deployed version not stored: other nodes keep the "
					   "previous one", "project=%s version=%d error=\"%s\"", id, v,
				  store_errmsg(flow_store(f)));
		else
			flow__project_applied(f, id, v);
		free(text);
	}
	pthread_mutex_unlock(&deploy_mu);
	return status;
}

int admin_deploy_copy(struct flow *f, const char *id, int version, const char *config,
		      const char *files_text, char *err, size_t errlen)
{
	json_error_t je;
	json_t *files = json_loads(files_text, 0, &je), *resp = NULL;
	if (!json_is_object(files)) {
		snprintf(err, errlen, "version %d: its files are no JSON object", version);
		json_decref(files);
		return -1;
	}
	pthread_mutex_lock(&deploy_mu);
	int status = flow__project_applied_get(f, id) >= version
			     ? 200 /* applied meanwhile (the admin API of this node) */
			     : deploy_locked(f, id, config, files, version, &resp);
	if (status == 200)
		flow__project_applied(f, id, version);
	pthread_mutex_unlock(&deploy_mu);
	if (status != 200) {
		char *t = resp ? json_dumps(resp, JSON_COMPACT) : NULL;
		snprintf(err, errlen, "version %d: %d %s", version, status, t ? t : "");
		free(t);
	}
	json_decref(resp);
	json_decref(files);
	return status == 200 ? 0 : -1;
}

/* Writes the analysis-ready tables of project ID (`hippo export` CSV) to
 * SUB/export/. A project without data has none: logged, not an error. */
static void export_tables(struct flow *f, const char *id, const char *sub, const char *status,
			  bool preview)
{
	char out[PATH_MAX], err[512];
	struct exp_stats es;
	if (flow_pathf(out, sizeof out, "%s/export", sub) < 0)
		return;
	struct exp_opts eo = {.data_dir = flow_data_dir(f),
			      .store = store_spec(flow_store(f)),
			      .project_id = id,
			      .out_dir = out,
			      .status = status[0] ? status : NULL,
			      .preview = preview,
			      .format = EXP_CSV};
	if (exp_run(&eo, &es, err, sizeof err) < 0)
		log_info("admin", "no export tables in the download", "project=%s why=\"%s\"", id,
			 err);
}

/* Streams the tar.gz of project ID to ST (with STATE, "completed" or
 * "active", only the participants in that state: their rows, tables and
 * files; "": everyone; the preview participants only with PREVIEW): participants.json and the export
 * tables (written to a scratch folder DATA/.export-XXXXXX/ID/) and the trial
 * data folder DATA/ID/, under the names ID/... Runs on the download's thread.
 * Returns 0, or the HTTP status of the failure with a message in MSG. */
static int stream_tar(struct flow *f, const char *id, const char *state, bool preview,
		      struct http_stream *st, char *msg, size_t msglen)
{
	char scratch[PATH_MAX], sub[PATH_MAX], path[PATH_MAX], datadir[PATH_MAX];
	char transform[64], member[96];
	int pipefd[2] = {-1, -1}, status = 500;
	pid_t pid = -1;
	posix_spawn_file_actions_t fa;
	bool fa_init = false, cut = false;

	snprintf(msg, msglen, "internal error");
	if (flow_pathf(scratch, sizeof scratch, "%s/.export-XXXXXX", flow_data_dir(f)) < 0 ||
	    !mkdtemp(scratch)) {
		snprintf(msg, msglen, "cannot create a scratch folder");
		return 500;
	}
	json_t *parts = store_participants_json_with(flow_store(f), id, true);
	bool drop = false; /* preview participants to leave out */
	size_t pi;
	json_t *p;
	json_array_foreach(parts, pi, p)
	{
		drop = drop || (!preview && json_is_true(json_object_get(p, "preview")));
	}
	json_t *kept = NULL; /* with STATE or previews left out: the userIds whose data go in */
	if (state[0] || drop) {
		json_t *all = parts;
		parts = json_array();
		kept = json_array();
		json_array_foreach(all, pi, p)
		{
			const char *s = json_string_value(json_object_get(p, "status"));
			const char *u = json_string_value(json_object_get(p, "userId"));
			if (s && u && (!state[0] || strcmp(s, state) == 0) && id_valid_user(u) &&
			    (preview || !json_is_true(json_object_get(p, "preview")))) {
				json_array_append(parts, p);
				json_array_append_new(kept, json_string(u));
			}
		}
		json_decref(all);
	}
	char *text = json_dumps(parts, JSON_INDENT(1));
	json_decref(parts);
	if (flow_pathf(sub, sizeof sub, "%s/%s", scratch, id) < 0 ||
	    flow_pathf(path, sizeof path, "%s/participants.json", sub) < 0 || mkdir(sub, 0755) < 0 ||
	    !text || write_file(path, text, strlen(text)) < 0) {
		free(text);
		snprintf(msg, msglen, "cannot write participants.json");
		goto out;
	}
	free(text);
	export_tables(f, id, sub, state, preview);
	if (http_stream_write(st, NULL, 0) < 0) {
		snprintf(msg, msglen, "client gone");
		status = 499;
		goto out;
	}

	/* One -C: the scratch folder is DATA/.export-XXXXXX, whose prefix the
	 * transform strips, so both parts come out as ID/...; "--" ends the
	 * options, as ID may begin with '-'. A data file growing while it is
	 * read is archived as far as it was (exit status 1). */
	const char *base = strrchr(scratch, '/') ? strrchr(scratch, '/') + 1 : scratch;
	if (snprintf(transform, sizeof transform, "--transform=s,^\\%s/,,", base) >=
		    (int)sizeof transform ||
	    snprintf(member, sizeof member, "%s/%s", base, id) >= (int)sizeof member) {
		snprintf(msg, msglen, "data folder path too long");
		goto out;
	}
	char *argv[14];
	int n = 0;
	argv[n++] = "tar";
	argv[n++] = "-czf";
	argv[n++] = "-";
	argv[n++] = "--warning=no-file-changed";
	argv[n++] = "-C";
	argv[n++] = (char *)flow_data_dir(f);
	argv[n++] = transform;
	struct stat sb;
	char list[PATH_MAX], from[PATH_MAX + 16];
	if (kept) {
		/* the selected participants' folders and records, from a list file
		 * (outside the archived part of the scratch folder) */
		FILE *lf = flow_pathf(list, sizeof list, "%s/members", scratch) == 0
				   ? fopen(list, "w")
				   : NULL;
		size_t i;
		json_t *u;
		json_array_foreach(kept, i, u)
		{
			const char *uid = json_string_value(u);
			char rel[256];
			snprintf(rel, sizeof rel, "%s/trials/%s", id, uid);
			if (lf && flow_pathf(datadir, sizeof datadir, "%s/%s", flow_data_dir(f), rel) ==
					  0 &&
			    stat(datadir, &sb) == 0)
				fprintf(lf, "%s\n", rel);
			snprintf(rel, sizeof rel, "%s/users/%s.json", id, uid);
			if (lf && flow_pathf(datadir, sizeof datadir, "%s/%s", flow_data_dir(f), rel) ==
					  0 &&
			    stat(datadir, &sb) == 0)
				fprintf(lf, "%s\n", rel);
		}
		if (!lf || fclose(lf) != 0) {
			snprintf(msg, msglen, "cannot write the list of members");
			goto out;
		}
		snprintf(from, sizeof from, "--files-from=%s", list);
		argv[n++] = "--verbatim-files-from";
		argv[n++] = from;
		argv[n++] = "--";
		argv[n++] = member;
	} else if (flow_pathf(datadir, sizeof datadir, "%s/%s", flow_data_dir(f), id) == 0 &&
		   stat(datadir, &sb) == 0 && S_ISDIR(sb.st_mode)) {
		argv[n++] = "--";
		argv[n++] = member;
		argv[n++] = (char *)id;
	} else {
		argv[n++] = "--";
		argv[n++] = member;
	}
	argv[n] = NULL;
	if (pipe2(pipefd, O_CLOEXEC) < 0 || posix_spawn_file_actions_init(&fa) != 0) {
		snprintf(msg, msglen, "cannot start tar");
		goto out;
	}
	fa_init = true;
	posix_spawn_file_actions_adddup2(&fa, pipefd[1], 1);
	if (posix_spawnp(&pid, "tar", &fa, NULL, argv, (char **)childenv()) != 0) {
		pid = -1;
		snprintf(msg, msglen, "cannot start tar");
		goto out;
	}
	close(pipefd[1]);
	pipefd[1] = -1;
	char buf[65536];
	for (;;) {
		ssize_t r = read(pipefd[0], buf, sizeof buf);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		if (http_stream_write(st, buf, (size_t)r) < 0) {
			cut = true; /* the client is gone */
			kill(pid, SIGTERM);
			break;
		}
	}
	close(pipefd[0]);
	pipefd[0] = -1;
	int wst = 0;
	while (waitpid(pid, &wst, 0) < 0 && errno == EINTR)
		;
	pid = -1;
	if (cut) {
		snprintf(msg, msglen, "client gone");
		status = 499;
	} else if (!WIFEXITED(wst) || WEXITSTATUS(wst) > 1) {
		snprintf(msg, msglen, "tar failed");
	} else {
		status = 0;
	}
out:
	if (fa_init)
		posix_spawn_file_actions_destroy(&fa);
	if (pipefd[0] >= 0)
		close(pipefd[0]);
	if (pipefd[1] >= 0)
		close(pipefd[1]);
	if (pid > 0)
		waitpid(pid, NULL, 0);
	json_decref(kept);
	admin_rmtree(scratch);
	return status;
}

static void *download_main(void *arg)
{
	struct download *d = arg;
	char msg[160];
	/* Linux niceness is per thread and inherited by tar: the archive and its
	 * compression take the CPU the games leave. */
	setpriority(PRIO_PROCESS, (id_t)gettid(), DOWNLOAD_NICE);
	int64_t t0 = clock_mono_ms();
	int status = stream_tar(d->a->flow, d->id, d->status, d->preview, d->st, msg, sizeof msg);
	long long ms = (long long)(clock_mono_ms() - t0);
	if (status == 499)
		log_info("admin", "data download abandoned by the client", "project=%s ms=%lld",
			 d->id, ms);
	else if (status)
		log_warn("admin", "data download failed", "project=%s status=%d why=\"%s\" ms=%lld",
			 d->id, status, msg, ms);
	else
		log_info("admin", "data download sent", "project=%s ms=%lld", d->id, ms);
	http_stream_close(d->st, status, msg);
	d->st = NULL;
	atomic_store(&d->done, true);
	return NULL;
}

/* Answers the download of project ID: a stream fed by a download thread.
 * At most ADMIN_MAX_DOWNLOADS run at once; more get 503. */
static void respond_tar(struct admin *a, const char *id, const char *status, bool preview,
			struct http_response *resp)
{
	pthread_mutex_lock(&a->mu);
	struct download *d = NULL;
	for (int i = 0; i < ADMIN_MAX_DOWNLOADS && !d; i++) {
		struct download *x = &a->dl[i];
		if (x->started && atomic_load(&x->done)) {
			pthread_join(x->th, NULL);
			x->started = false;
		}
		if (!x->started)
			d = x;
	}
	if (!d) {
		pthread_mutex_unlock(&a->mu);
		http_add_header(resp, "Retry-After", "30");
		http_respond_error(resp, 503, "too many data downloads at once: retry later");
		return;
	}
	struct http_stream *st = http_stream_new(DOWNLOAD_BUFFER);
	if (!st) {
		pthread_mutex_unlock(&a->mu);
		http_respond_error(resp, 500, "out of memory");
		return;
	}
	d->a = a;
	snprintf(d->id, sizeof d->id, "%s", id);
	snprintf(d->status, sizeof d->status, "%s", status);
	d->preview = preview;
	atomic_store(&d->done, false);
	d->st = http_stream_ref(st);
	http_response_set_body(resp, 200, "application/gzip", NULL, 0);
	char disp[160];
	snprintf(disp, sizeof disp, "attachment; filename=\"%s.tar.gz\"", id);
	http_add_header(resp, "Content-Disposition", disp);
	resp->stream = st;
	if (pthread_create(&d->th, NULL, download_main, d) != 0) {
		http_stream_close(d->st, 500, "cannot start the download");
		d->st = NULL;
	} else {
		d->started = true;
	}
	pthread_mutex_unlock(&a->mu);
}

/* Parses the JSON object body of an admin POST, or sets RESP and returns NULL. */
static json_t *json_body(const struct http_request *req, struct http_response *resp)
{
	json_error_t je;
	json_t *j = json_loadb(req->body ? req->body : "", req->body_len, 0, &je);
	if (!json_is_object(j)) {
		char msg[256];
		snprintf(msg, sizeof msg, "the body must be a JSON object (%s)",
			 j ? "got another value" : je.text);
		json_decref(j);
		http_respond_error(resp, 400, msg);
		return NULL;
	}
	return j;
}

/* Whether REQ's body is JSON (its Content-Type says so, or says nothing). */
static bool json_content(const struct http_request *req)
{
	const char *ct = http_header_get(req, "content-type");
	return !ct || !*ct || strncasecmp(ct, "application/json", 16) == 0 ||
	       strncasecmp(ct, "text/plain", 10) == 0;
}

/* POST /api/projects/<id>/deploy with the study folder as a zip, tar or
 * tar.gz archive (deploy_archive.h): the same deploy as the JSON body's,
 * plus "skipped" (the archive's files a deploy does not take). */
static void deploy_archive_route(struct admin *a, const char *id, const struct http_request *req,
				 struct http_response *resp)
{
	struct deploy_archive da;
	char err[512];
	if (!req->body || req->body_len == 0) {
		http_respond_error(resp, 400, "an empty body: send the study folder as a zip, tar or "
					      "tar.gz archive, or the JSON deploy");
		return;
	}
	if (deploy_archive_read(req->body, req->body_len, &da, err, sizeof err) < 0) {
		log_info("admin", "deploy archive refused", "project=%s reason=\"%s\"", id, err);
		http_respond_json(resp, 400, json_pack("{s:s,s:[s]}", "error", err, "diagnostics",
						       err));
		return;
	}
	json_t *out = NULL;
	int status = admin_deploy(a->flow, id, da.config, da.files, &out);
	if (json_is_object(out))
		json_object_set(out, "skipped", da.skipped);
	deploy_archive_free(&da);
	http_respond_json(resp, status, out);
}

/* LIST (the master list) with each study's preview link, "preview":
 * "/?projectId=ID&preview=VALUE" (flow.h), which only this token-protected
 * list gives out. */
static json_t *with_preview_links(struct flow *f, json_t *list)
{
	size_t i;
	json_t *v;
	json_array_foreach(list, i, v)
	{
		const char *id = json_string_value(json_object_get(v, "id"));
		char pv[FLOW_PREVIEW_LEN + 1], link[160];
		if (id && flow_preview_value(f, id, pv, sizeof pv) == 0 &&
		    snprintf(link, sizeof link, "/?projectId=%s&preview=%s", id, pv) <
			    (int)sizeof link)
			json_object_set_new(v, "preview", json_string(link));
	}
	return list;
}

/* ?preview=1 (or true): the preview participants too; 0, false or none:
 * not. -1 after a 400 for another value. */
static int preview_param(const struct http_request *req, bool *on, struct http_response *resp)
{
	char v[8];
	int k = http_query_get(req->query ? req->query : "", "preview", v, sizeof v);
	*on = k >= 0 && (strcmp(v, "1") == 0 || strcmp(v, "true") == 0);
	if (k == -1 || *on || (k >= 0 && (strcmp(v, "0") == 0 || strcmp(v, "false") == 0)))
		return 0;
	http_respond_error(resp, 400, "preview: expected 1 or 0");
	return -1;
}

static void route_project(struct admin *a, const char *id, const char *action,
			  const struct http_request *req, struct http_response *resp)
{
	bool get = strcmp(req->method, "GET") == 0, post = strcmp(req->method, "POST") == 0;
	if (strcmp(action, "deploy") == 0 && post && !json_content(req)) {
		deploy_archive_route(a, id, req, resp);
		return;
	}
	if (strcmp(action, "deploy") == 0 && post) {
		json_t *b = json_body(req, resp);
		if (!b)
			return;
		json_t *out = NULL;
		int status = admin_deploy(a->flow, id, json_string_value(json_object_get(b, "config")),
					  json_object_get(b, "files"), &out);
		json_decref(b);
		http_respond_json(resp, status, out);
		return;
	}
	if (!flow_project_exists(a->flow, id)) {
		http_respond_error(resp, 404, "no such project");
		return;
	}
	if (strcmp(action, "live") == 0 && post) {
		json_t *b = json_body(req, resp);
		if (!b)
			return;
		json_t *live = json_object_get(b, "live");
		if (!json_is_boolean(live)) {
			json_decref(b);
			http_respond_error(resp, 400, "expected {\"live\": true|false}");
			return;
		}
		bool on = json_is_true(live);
		json_decref(b);
		if (flow_project_set_live(a->flow, id, on) < 0) {
			http_respond_error(resp, 500, "could not store the live flag");
			return;
		}
		log_info("admin", "project live flag set", "project=%s live=%d", id, on);
		http_respond_json(resp, 200, json_pack("{s:s,s:b}", "id", id, "live", on));
		return;
	}
	if (strcmp(action, "participants") == 0 && get) {
		bool pv;
		if (preview_param(req, &pv, resp) < 0)
			return;
		http_respond_json(resp, 200, store_participants_json_with(flow_store(a->flow), id, pv));
		return;
	}
	if (strcmp(action, "data.tar.gz") == 0 && get) {
		char state[16];
		int k = http_query_get(req->query ? req->query : "", "state", state, sizeof state);
		if (k == -1 || strcmp(state, "all") == 0)
			state[0] = '\0';
		else if (k < 0 || (strcmp(state, "completed") != 0 && strcmp(state, "active") != 0)) {
			http_respond_error(resp, 400, "state: expected all, completed or active");
			return;
		}
		bool pv;
		if (preview_param(req, &pv, resp) < 0)
			return;
		respond_tar(a, id, state, pv, resp);
		return;
	}
	bool known = !strcmp(action, "deploy") || !strcmp(action, "live") ||
		     !strcmp(action, "participants") || !strcmp(action, "data.tar.gz");
	http_respond_error(resp, known ? 405 : 404, known ? "method not allowed" : "not found");
}

bool admin_gate(struct admin *a, const struct http_request *req, struct http_response *resp)
{
	http_add_header(resp, "Cache-Control", "no-store");
	if (!a->token) {
		http_respond_error(resp, 403,
				   "the admin API is disabled: start hippo serve with "
				   "HIPPO_ADMIN_TOKEN or --admin-token-file");
		return false;
	}
	int64_t now = clock_mono_ms();
	int wait = login_limit_wait(a->logins, req->remote_ip, now);
	if (wait > 0) {
		char msg[160], ra[16];
		snprintf(msg, sizeof msg,
			 "too many failed logins from this address: try again in %d s", wait);
		snprintf(ra, sizeof ra, "%d", wait);
		http_add_header(resp, "Retry-After", ra);
		http_respond_error(resp, 429, msg);
		return false;
	}
	if (!admin_authorized(a, req)) {
		/* a token presented and wrong is a guess; none at all is not */
		if (http_header_get(req, "authorization"))
			login_limit_failed(a->logins, req->remote_ip, now);
		log_info("admin", "admin request refused: missing or wrong token",
			 "peer=%s path=\"%.100s\"", req->remote_ip ? req->remote_ip : "",
			 req->path);
		http_add_header(resp, "WWW-Authenticate", "Bearer");
		http_respond_error(resp, 401, "missing or wrong bearer token");
		return false;
	}
	return true;
}

bool admin_http_handler(void *user, const struct http_request *req, struct http_response *resp)
{
	struct admin *a = user;
	if (strncmp(req->path, "/api/", 5) != 0 && strcmp(req->path, "/api") != 0)
		return false;
	if (!admin_gate(a, req, resp))
		return true;
	const char *rest = req->path + 5;
	if (strcmp(rest, "projects") == 0 || strcmp(rest, "projects/") == 0) {
		if (strcmp(req->method, "GET") != 0) {
			http_respond_error(resp, 405, "method not allowed: GET");
			return true;
		}
		http_respond_json(resp, 200, with_preview_links(a->flow, flow_projects_json(a->flow)));
		return true;
	}
	if (strncmp(rest, "projects/", 9) == 0) {
		const char *p = rest + 9;
		const char *slash = strchr(p, '/');
		char id[80], action[32];
		size_t idlen = slash ? (size_t)(slash - p) : strlen(p);
		if (!slash || idlen >= sizeof id || strlen(slash + 1) >= sizeof action) {
			http_respond_error(resp, 404, "not found");
			return true;
		}
		memcpy(id, p, idlen);
		id[idlen] = '\0';
		snprintf(action, sizeof action, "%s", slash + 1);
		if (!id_valid_project(id)) {
			http_respond_error(resp, 400,
					   "invalid project id: expected " ID_PROJECT_RULE);
			return true;
		}
		route_project(a, id, action, req, resp);
		return true;
	}
	http_respond_error(resp, 404, "not found");
	return true;
}
