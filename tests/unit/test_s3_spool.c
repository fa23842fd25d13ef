/* The upload spool without a network: concurrent submissions from several
 * threads (more than the in-memory queue holds) all reach DATA/spool/uploads.db
 * and survive a close and reopen; local-only projects queue nothing; keys
 * follow the original layout; storage_attach queues a session's files before
 * the listeners added after it run; participant records are written then queued;
 * destinations come from the config structs. */
#include <pthread.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/config.h"
#include "session/sess_conn.h"
#include "session/session.h"
#include "storage/storage.h"
#include "test.h"

static char data[64];

static struct storage *open_spool(void)
{
	struct storage_opts o = {.data_dir = data, .no_worker = true};
	struct storage *st = NULL;
	char err[256];
	CHECK_INT(storage_open(&st, &o, err, sizeof err), 0);
	return st;
}

static struct storage_dest dest(const char *prefix)
{
	struct storage_dest d;
	memset(&d, 0, sizeof d);
	snprintf(d.bucket, sizeof d.bucket, "bucket");
	snprintf(d.endpoint, sizeof d.endpoint, "http://127.0.0.1:1");
	snprintf(d.region, sizeof d.region, "us-east-1");
	snprintf(d.prefix, sizeof d.prefix, "%s", prefix);
	return d;
}

struct worker_arg {
	struct storage *st;
	int id, n, failures;
};

static void *submitter(void *p)
{
	struct worker_arg *a = p;
	for (int i = 0; i < a->n; i++) {
		char user[32], path[96];
		snprintf(user, sizeof user, "u%d-%d", a->id, i);
		snprintf(path, sizeof path, "P/trials/%s/episode_1.jsonl", user);
		if (storage_submit_trial_file(a->st, "P", user, path) != 0)
			a->failures++;
	}
	return NULL;
}

struct collect {
	int n;
	char key[128], path[128];
	long long gen_seen;
};

static void collect_row(void *user, const struct storage_job *j)
{
	struct collect *c = user;
	c->n++;
	snprintf(c->key, sizeof c->key, "%s", j->key ? j->key : "");
	snprintf(c->path, sizeof c->path, "%s", j->path ? j->path : "");
}

static void concurrent_submissions_all_persist(void)
{
	struct storage *st = open_spool();
	struct storage_dest d = dest("");
	CHECK_INT(storage_set_project(st, "P", &d), 0);
	enum { THREADS = 4, EACH = 1500 };
	pthread_t th[THREADS];
	struct worker_arg a[THREADS];
	for (int i = 0; i < THREADS; i++) {
		a[i] = (struct worker_arg){.st = st, .id = i, .n = EACH};
		pthread_create(&th[i], NULL, submitter, &a[i]);
	}
	for (int i = 0; i < THREADS; i++) {
		pthread_join(th[i], NULL);
		CHECK_INT(a[i].failures, 0);
	}
	struct storage_counts c;
	CHECK_INT(storage_counts(st, &c), 0);
	printf("check: %d submissions from %d threads: %ld queued in memory (bound 4096), %ld "
	       "already in the spool\n",
	       THREADS * EACH, THREADS, c.queued, c.pending);
	CHECK(c.queued <= 4096);
	CHECK_INT(c.queued + c.pending, THREADS * EACH);
	storage_close(st);

	st = open_spool();
	CHECK_INT(storage_counts(st, &c), 0);
	printf("check: after close and reopen: %ld pending\n", c.pending);
	CHECK_INT(c.pending, THREADS * EACH);
	CHECK_INT(c.done, 0);
	storage_close(st);
}

static void local_projects_queue_nothing(void)
{
	struct storage *st = open_spool();
	struct storage_counts before, after;
	storage_counts(st, &before);
	CHECK_INT(storage_set_project(st, "L", NULL), 0);
	printf("check: local-only and unregistered projects queue nothing; bad ids are refused\n");
	CHECK_INT(storage_submit_trial_file(st, "L", "u1", "L/trials/u1/episode_1.jsonl"), 0);
	CHECK_INT(storage_submit_trial_file(st, "Unknown", "u1", "x/episode_1.jsonl"), 0);
	CHECK_INT(storage_submit_participant_record(st, "L", "u1", "{}", 2), 0);
	CHECK_INT(storage_submit_trial_file(st, "L", "../u1", "x"), -1);
	CHECK_INT(storage_submit_trial_file(st, "L", "u 1", "x"), -1);
	CHECK_INT(storage_submit(st, "L", "x", "a/../b"), -1);
	storage_counts(st, &after);
	CHECK_INT(after.queued, 0);
	CHECK_INT(after.pending, before.pending);
	storage_close(st);
}

static void keys_follow_the_original_layout(void)
{
	char sub[128];
	snprintf(sub, sizeof sub, "%s/layout", data);
	struct storage_opts o = {.data_dir = sub, .no_worker = true};
	struct storage *st;
	char err[256];
	CHECK_INT(storage_open(&st, &o, err, sizeof err), 0);
	struct storage_dest d = dest("study-1");
	storage_set_project(st, "P", &d);
	const char *files[] = {"P/trials/u1/episode_1.jsonl", "P/trials/u1/episode_2.jsonl", NULL};
	storage_on_session_end(st, "P", "u1", SESS_END_DONE, files);
	storage_close(st);
	CHECK_INT(storage_open(&st, &o, err, sizeof err), 0);
	struct collect c = {0};
	CHECK_INT(storage_list(st, "pending", collect_row, &c), 2);
	printf("check: trial files go to PREFIX/P/Trials/U/FILE: %s <- %s\n", c.key, c.path);
	CHECK_STR(c.key, "study-1/P/Trials/u1/episode_2.jsonl");
	CHECK_STR(c.path, "P/trials/u1/episode_2.jsonl");
	storage_close(st);
}

/* A listener added after storage_attach (the flow's, in hippo serve). */
struct later {
	struct storage *st;
	int calls, nfiles;
	long queued; /* jobs queued when it ran */
};

static void later_listener(void *user, const char *project_id, const char *user_id,
			   enum sess_end_reason reason, const char *const *files)
{
	struct later *l = user;
	struct storage_counts c;
	(void)project_id, (void)user_id, (void)reason;
	l->calls++;
	for (l->nfiles = 0; files[l->nfiles]; l->nfiles++)
		;
	if (storage_counts(l->st, &c) == 0)
		l->queued = c.queued + c.pending;
}

/* storage_attach wires the spool to a real session manager: an ended
 * session's files are queued before the listeners added after it run. */
static void attach_queues_a_sessions_files_before_later_listeners(void)
{
	char sub[128], err[256];
	snprintf(sub, sizeof sub, "%s/attach", data);
	struct storage_opts o = {.data_dir = sub, .no_worker = true};
	struct storage *st;
	CHECK_INT(storage_open(&st, &o, err, sizeof err), 0);
	struct storage_dest d = dest("");
	storage_set_project(st, "study-1", &d);
	struct sess_mgr_config mc = {.data_dir = sub, .workers = 1, .grace_s = -1};
	struct sess_mgr *m = sess__mgr_new(&mc, err, sizeof err);
	CHECK(m != NULL);
	if (!m) {
		storage_close(st);
		return;
	}
	struct later l = {.st = st};
	CHECK_INT(storage_attach(st, m), 0);
	CHECK_INT(sess_on_end(m, later_listener, &l), 0);
	static char *actions[] = {"left", "right"};
	struct cfg c;
	cfg_defaults(&c);
	c.project.id = "study-1";
	c.trial.game = "CartPole-v1";
	c.trial.action_space = actions;
	c.trial.naction_space = 2;
	CHECK(sess_allocate(m, &c, "u1", NULL, NULL, err, sizeof err) == SESS_ALLOC_OK);
	sess_stop(m, "study-1", "u1", SESS_END_STOP);
	sess__mgr_free(m);
	CHECK_INT(l.calls, 1);
	CHECK(l.nfiles > 0);
	printf("check: %d file(s) of the session, %ld queued when the later listener ran\n",
	       l.nfiles, l.queued);
	CHECK_INT(l.queued, l.nfiles);
	storage_close(st);
}

static void participant_record_written_then_queued(void)
{
	char sub[128], file[256];
	snprintf(sub, sizeof sub, "%s/records", data);
	snprintf(file, sizeof file, "%s/P/users/u-7.json", sub);
	struct storage_opts o = {.data_dir = sub, .no_worker = true};
	struct storage *st;
	char err[256];
	CHECK_INT(storage_open(&st, &o, err, sizeof err), 0);
	struct storage_dest d = dest("");
	storage_set_project(st, "P", &d);
	const char *v1 = "{\"userId\":\"u-7\",\"step\":1}", *v2 = "{\"userId\":\"u-7\",\"step\":2}";
	CHECK_INT(storage_submit_participant_record(st, "P", "u-7", v1, strlen(v1)), 0);
	CHECK_INT(storage_submit_participant_record(st, "P", "u-7", v2, strlen(v2)), 0);
	storage_close(st); /* the queue is drained: files written, jobs recorded */
	FILE *f = fopen(file, "r");
	CHECK(f != NULL);
	char buf[128] = "";
	if (f) {
		size_t n = fread(buf, 1, sizeof buf - 1, f);
		buf[n] = '\0';
		fclose(f);
	}
	printf("check: the record file holds the latest version: %s\n", buf);
	CHECK_STR(buf, v2);
	CHECK_INT(storage_open(&st, &o, err, sizeof err), 0);
	struct collect c = {0};
	CHECK_INT(storage_list(st, NULL, collect_row, &c), 1);
	printf("check: one upload job for it: %s\n", c.key);
	CHECK_STR(c.key, "P/Users/u-7.json");
	CHECK_STR(c.path, "P/users/u-7.json");
	storage_close(st);
}

static void destination_from_config(void)
{
	struct cfg c;
	cfg_defaults(&c);
	struct storage_dest d;
	char err[256];
	printf("check: storage destinations from config structs\n");
	CHECK_INT(storage_dest_from_cfg(&c, &d, err, sizeof err), 0);
	c.project.storage = CFG_STORAGE_S3;
	CHECK_INT(storage_dest_from_cfg(&c, &d, err, sizeof err), -1);
	CHECK(strstr(err, "bucket") != NULL);
	c.project.s3.bucket = "b1";
	c.project.s3.prefix = "pre/fix//";
	c.project.s3.endpoint = "http://127.0.0.1:9000";
	CHECK_INT(storage_dest_from_cfg(&c, &d, err, sizeof err), 1);
	CHECK_STR(d.bucket, "b1");
	CHECK_STR(d.prefix, "pre/fix");
	CHECK_STR(d.region, "us-east-1");
	CHECK_STR(d.endpoint, "http://127.0.0.1:9000");
	c.project.s3.bucket = NULL;
	c.project.aws_bucket = "legacy";
	c.project.aws_region = "eu-west-1";
	c.project.s3.prefix = "bad prefix";
	CHECK_INT(storage_dest_from_cfg(&c, &d, err, sizeof err), -1);
	c.project.s3.prefix = NULL;
	CHECK_INT(storage_dest_from_cfg(&c, &d, err, sizeof err), 1);
	CHECK_STR(d.bucket, "legacy");
	CHECK_STR(d.region, "eu-west-1");
}

int main(void)
{
	snprintf(data, sizeof data, "/tmp/hippo-spool-XXXXXX");
	if (!mkdtemp(data))
		return 1;
	RUN(concurrent_submissions_all_persist);
	RUN(local_projects_queue_nothing);
	RUN(keys_follow_the_original_layout);
	RUN(attach_queues_a_sessions_files_before_later_listeners);
	RUN(participant_record_written_then_queued);
	RUN(destination_from_config);
	char cmd[128];
	snprintf(cmd, sizeof cmd, "rm -rf %s", data);
	if (system(cmd) != 0)
		return 1;
	return test_summary();
}
