/* hippo storage status|push|retry|add: the upload spool of a data folder. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "cli/commands.h"
#include "core/clock.h"
#include "core/config.h"
#include "core/datapath.h"
#include "core/id.h"
#include "storage/storage.h"

static const char *data_dir = "data";
static bool as_json, show_all;
static const char *bucket, *endpoint, *region, *prefix, *project_dir, *node;
static int wait_s = 600, retry_base_ms = 2000, retry_max_ms = 600000, max_attempts = 0;
static int timeout_s = 0;

static const struct opt opts[] = {
	{"data", OPT_STRING, &data_dir, "DIR", "data folder (its spool is DIR/spool/uploads.db)", 0, 0},
	{"json", OPT_FLAG, &as_json, NULL, "status: one JSON document instead of a table", 0, 0},
	{"all", OPT_FLAG, &show_all, NULL, "status: list verified uploads too", 0, 0},
	{"wait", OPT_INT, &wait_s, "SECONDS", "push: give up waiting after this long", 1, 31536000},
	{"retry-base-ms", OPT_INT, &retry_base_ms, "MS", "push: first retry delay", 1, 86400000},
	{"retry-max-ms", OPT_INT, &retry_max_ms, "MS", "push: longest retry delay", 1, 86400000},
	{"max-attempts", OPT_INT, &max_attempts, "N", "push: give up after N tries (0: never)", 0,
	 1000000},
	{"timeout", OPT_INT, &timeout_s, "SECONDS", "push: per-request timeout (0: none)", 0, 86400},
	{"project", OPT_STRING, &project_dir, "DIR",
	 "add, sync: the study folder whose config.yml gives the project id and S3 settings", 0, 0},
	{"bucket", OPT_STRING, &bucket, "NAME", "add: S3 bucket", 0, 0},
	{"endpoint", OPT_STRING, &endpoint, "URL", "add: S3-compatible endpoint (default: AWS)", 0, 0},
	{"region", OPT_STRING, &region, "REGION", "add: region (default: us-east-1)", 0, 0},
	{"prefix", OPT_STRING, &prefix, "PREFIX", "add: key prefix", 0, 0},
	{"node", OPT_STRING, &node, "NAME",
	 "sync: the data folder is cluster node NAME's (keys PROJECT/Trials/USER/NAME/FILE)", 0, 0},
	{0},
};

static const struct opt_cmd spec = {
	.name = "storage",
	.args = "status | push | retry | sync | add FILE KEY",
	.summary = "the S3 upload spool: what is pending or failed, push, retry, sync",
	.min_pos = 1,
	.max_pos = 3,
	.opts = opts,
	.details = "  status             list pending and failed uploads\n"
		   "  push               upload everything pending now and wait\n"
		   "  retry              re-arm failed uploads\n"
		   "  sync --project DIR queue a project's files that were never uploaded\n"
		   "  add FILE KEY       queue one file",
};

static void fmt_time(double t, char *out, size_t cap)
{
	time_t s = (time_t)t;
	struct tm tm;
	gmtime_r(&s, &tm);
	strftime(out, cap, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static void print_row(void *user, const struct storage_job *j)
{
	double now = *(double *)user;
	char when[32] = "-";
	if (strcmp(j->state, "pending") == 0) {
		double in = j->next_try - now;
		if (in < 1)
			snprintf(when, sizeof when, "now");
		else
			snprintf(when, sizeof when, "in %.0fs", in);
	} else {
		fmt_time(j->updated, when, sizeof when);
	}
	printf("%-8s %8d  %-20s  %s/%s  <- %s%s%s\n", j->state, j->attempts, when, j->bucket, j->key,
	       j->path, j->last_error ? "\n         last error: " : "",
	       j->last_error ? j->last_error : "");
}

static void json_row(void *user, const struct storage_job *j)
{
	json_t *o = json_pack("{s:I, s:s, s:s, s:s, s:s, s:s, s:i, s:f, s:f, s:f}", "id",
			      (json_int_t)j->id, "state", j->state, "path", j->path ? j->path : "",
			      "endpoint", j->endpoint ? j->endpoint : "", "bucket",
			      j->bucket ? j->bucket : "", "key", j->key ? j->key : "", "attempts",
			      j->attempts, "created", j->created, "updated", j->updated, "next_try",
			      j->next_try);
	if (!o)
		return;
	json_object_set_new(o, "size", j->size >= 0 ? json_integer(j->size) : json_null());
	json_object_set_new(o, "md5", j->md5 ? json_string(j->md5) : json_null());
	json_object_set_new(o, "etag", j->etag ? json_string(j->etag) : json_null());
	json_object_set_new(o, "last_error",
			    j->last_error ? json_string(j->last_error) : json_null());
	json_array_append_new(user, o);
}

static int status(struct storage *st)
{
	struct storage_counts c;
	if (storage_counts(st, &c) != 0) {
		fprintf(stderr, "hippo storage: cannot read the spool\n");
		return 1;
	}
	const char *states = show_all ? NULL : "pending,failed";
	if (as_json) {
		json_t *jobs = json_array();
		storage_list(st, states, json_row, jobs);
		json_t *doc = json_pack("{s:i, s:i, s:i, s:o}", "pending", (int)c.pending, "failed",
					(int)c.failed, "done", (int)c.done, "jobs", jobs);
		char *s = doc ? json_dumps(doc, JSON_INDENT(2)) : NULL;
		if (s)
			puts(s);
		free(s);
		json_decref(doc);
		return s ? 0 : 1;
	}
	char spool[4096];
	datapath_spool_db(spool, sizeof spool, data_dir);
	printf("spool %s: %ld pending, %ld failed, %ld verified\n", spool, c.pending, c.failed,
	       c.done);
	if (c.pending + c.failed + (show_all ? c.done : 0) > 0) {
		printf("%-8s %8s  %-20s  %s\n", "state", "attempts", "next try / updated",
		       "bucket/key  <- local file");
		double now = clock_wall_s();
		storage_list(st, states, print_row, &now);
	}
	return 0;
}

static int push(struct storage *st)
{
	int idle = storage_wait_idle(st, (long)wait_s * 1000);
	struct storage_counts c;
	storage_counts(st, &c);
	fprintf(stderr, "hippo storage push: %ld verified, %ld pending, %ld failed (%ld attempts)\n",
		c.done, c.pending, c.failed, c.attempts_total);
	return idle == 0 && c.failed == 0 ? 0 : 1;
}

/* The destination from --project's config, overridden by --bucket etc. */
static int dest_from_options(struct storage_dest *d, char *id, size_t idlen)
{
	memset(d, 0, sizeof *d);
	if (id)
		id[0] = '\0';
	if (project_dir) {
		struct cfg c;
		struct cfg_diags diags = {0};
		char err[256];
		int rc = cfg_load(project_dir, &c, &diags);
		if (rc != 0) {
			cfg_diags_print(&diags, "config.yml", stderr);
			cfg_diags_free(&diags);
			return -1;
		}
		cfg_diags_free(&diags);
		rc = storage_dest_from_cfg(&c, d, err, sizeof err);
		if (id)
			snprintf(id, idlen, "%s", c.project.id ? c.project.id : "");
		cfg_free(&c);
		if (rc <= 0) {
			fprintf(stderr, "hippo storage: %s: %s\n", project_dir,
				rc == 0 ? "the project stores its data locally (project.storage)" : err);
			return -1;
		}
	}
	if (bucket)
		snprintf(d->bucket, sizeof d->bucket, "%s", bucket);
	if (endpoint)
		snprintf(d->endpoint, sizeof d->endpoint, "%s", endpoint);
	if (region)
		snprintf(d->region, sizeof d->region, "%s", region);
	if (prefix)
		snprintf(d->prefix, sizeof d->prefix, "%s", prefix);
	if (!d->region[0])
		snprintf(d->region, sizeof d->region, "us-east-1");
	if (!d->bucket[0]) {
		fprintf(stderr, "hippo storage: --bucket (or --project) is required\n");
		return -1;
	}
	return 0;
}

static int sync_project(struct storage *st)
{
	struct storage_dest d;
	char id[CFG_ID_MAX + 1];
	if (dest_from_options(&d, id, sizeof id) != 0)
		return 2;
	long n = storage_sync_project(st, id, &d);
	if (n < 0) {
		fprintf(stderr, "hippo storage sync: cannot queue the files of %s\n", id);
		return 1;
	}
	printf("%ld file(s) of project %s queued for upload ('hippo storage push' uploads them now)\n",
	       n, id);
	return 0;
}

static int add(struct storage *st, const char *file, const char *key)
{
	struct storage_dest d;
	if (dest_from_options(&d, NULL, 0) != 0)
		return 2;
	/* FILE is relative to the data folder; a path that only exists relative
	 * to the working directory is made absolute */
	char in_data[PATH_MAX + 64], abs[PATH_MAX];
	snprintf(in_data, sizeof in_data, "%s/%s", data_dir, file);
	if (file[0] != '/' && access(in_data, F_OK) != 0 && realpath(file, abs))
		file = abs;
	if (storage_submit_to(st, &d, file, key) != 0) {
		fprintf(stderr, "hippo storage add: invalid file '%s' or key '%s' (keys: [A-Za-z0-9._/-])\n",
			file, key);
		return 2;
	}
	return 0;
}

static int run(int argc, char **argv)
{
	int npos;
	int rc = opt_parse(&spec, argc, argv, &npos);
	if (rc != OPT_OK)
		return rc;
	const char *sub = argv[1];
	bool is_push = strcmp(sub, "push") == 0, is_add = strcmp(sub, "add") == 0;
	bool is_sync = strcmp(sub, "sync") == 0;
	if (!is_push && !is_add && !is_sync && strcmp(sub, "status") != 0 &&
	    strcmp(sub, "retry") != 0) {
		fprintf(stderr, "hippo storage: unknown action '%s' (status, push, retry, sync, add)\n",
			sub);
		return 2;
	}
	if (is_sync && !project_dir) {
		fprintf(stderr, "hippo storage sync: --project DIR is required\n");
		return 2;
	}
	if (node && !id_valid_node(node)) {
		fprintf(stderr, "hippo storage: --node: expected %s\n", ID_NODE_RULE);
		return 2;
	}
	if ((is_add && npos != 3) || (!is_add && npos != 1)) {
		fprintf(stderr, "hippo storage %s: wrong number of arguments\n", sub);
		opt_help(&spec, stderr);
		return 2;
	}
	char spool[4096];
	datapath_spool_db(spool, sizeof spool, data_dir);
	if (!is_push && !is_add && !is_sync && access(spool, F_OK) != 0) {
		/* nothing was ever queued here: report it without creating anything */
		if (as_json)
			printf("{\"pending\": 0, \"failed\": 0, \"done\": 0, \"jobs\": []}\n");
		else
			printf("no upload spool in %s (nothing was ever queued for upload)\n", data_dir);
		return 0;
	}
	struct storage_opts o = {.data_dir = data_dir, .retry_base_ms = retry_base_ms,
				 .retry_max_ms = retry_max_ms, .max_attempts = max_attempts,
				 .timeout_s = timeout_s, .no_worker = !is_push, .node = node};
	char err[512];
	struct storage *st;
	if (storage_open(&st, &o, err, sizeof err) != 0) {
		fprintf(stderr, "hippo storage: %s\n", err);
		return 1;
	}
	if (is_push)
		rc = push(st);
	else if (is_add)
		rc = add(st, argv[2], argv[3]);
	else if (is_sync)
		rc = sync_project(st);
	else if (strcmp(sub, "retry") == 0) {
		long n = storage_retry_failed(st);
		printf("%ld failed upload(s) set to pending\n", n < 0 ? 0 : n);
		rc = n < 0 ? 1 : 0;
	} else
		rc = status(st);
	storage_close(st);
	return rc;
}

const struct command cmd_storage = {.spec = &spec, .run = run};
