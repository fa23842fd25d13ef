/* session: the lifecycle seen by the study flow (session.h), in process:
 * allocate (idempotent, validated ids, bounded), state, stop with the end
 * callback and the files written, max-runtime, shutdown of the manager. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/config.h"
#include "session/sess_conn.h"
#include "test.h"

static char dir[] = "/tmp/hippo-test-sess-XXXXXX";
static char *actions[] = {"left", "right"};
static char *ui[] = {"left", "right"};

struct ends {
	int n;
	enum sess_end_reason reason;
	char user[80];
	int nfiles;
	int has_meta;
};

static void on_end(void *user, const char *project, const char *uid, enum sess_end_reason r,
		   const char *const *files)
{
	struct ends *e = user;
	e->n++;
	e->reason = r;
	snprintf(e->user, sizeof e->user, "%s/%s", project, uid);
	e->nfiles = 0;
	for (; files[e->nfiles]; e->nfiles++)
		if (strstr(files[e->nfiles], "trials.jsonl"))
			e->has_meta = 1;
}

static void make_cfg(struct cfg *c)
{
	cfg_defaults(c);
	c->project.id = "study-1";
	c->trial.game = "CartPole-v1";
	c->trial.action_space = actions;
	c->trial.naction_space = 2;
	c->trial.ui = ui;
	c->trial.nui = 2;
}

static struct sess_mgr *mgr(size_t max)
{
	char err[256];
	struct sess_mgr_config mc = {.data_dir = dir, .workers = 2, .grace_s = -1, .max_sessions = max};
	struct sess_mgr *m = sess__mgr_new(&mc, err, sizeof err);
	CHECK(m != NULL);
	return m;
}

static void test_allocate_stop(void)
{
	struct cfg c;
	make_cfg(&c);
	struct sess_mgr *m = mgr(0);
	struct ends e = {0};
	sess_on_end(m, on_end, &e);
	char err[256];
	CHECK(sess_get_state(m, "study-1", "u1", NULL) == SESS_NONE);
	CHECK(sess_allocate(m, &c, "u1", err, sizeof err) == 0);
	CHECK(sess_allocate(m, &c, "u1", err, sizeof err) == 0); /* idempotent */
	CHECK(sess_get_state(m, "study-1", "u1", NULL) == SESS_READY);
	CHECK(sess_allocate(m, &c, "../x", err, sizeof err) < 0 && strstr(err, "userId"));
	CHECK(sess__live(m) == 1);
	sess_stop(m, "study-1", "u1", SESS_END_STOP_STEP);
	enum sess_end_reason r = SESS_END_NONE;
	CHECK(sess_get_state(m, "study-1", "u1", &r) == SESS_ENDED);
	CHECK(r == SESS_END_STOP_STEP);
	CHECK(e.n == 1 && e.reason == SESS_END_STOP_STEP && strcmp(e.user, "study-1/u1") == 0);
	CHECK(e.has_meta && e.nfiles >= 1); /* trials.jsonl (+ episode_1.jsonl once started) */
	sess_stop(m, "study-1", "u1", SESS_END_STOP_STEP); /* no-op */
	CHECK(e.n == 1);
	CHECK(sess_allocate(m, &c, "u1", err, sizeof err) == 0); /* a new trial after the end */
	CHECK(sess_get_state(m, "study-1", "u1", NULL) == SESS_READY);
	sess__mgr_free(m); /* ends it with SHUTDOWN */
	CHECK(e.n == 2 && e.reason == SESS_END_SHUTDOWN);
	CHECK_STR(sess_end_reason_name(SESS_END_MAX_RUNTIME), "max_runtime");
}

static void test_limits_and_bad_env(void)
{
	struct cfg c;
	make_cfg(&c);
	struct sess_mgr *m = mgr(2);
	char err[256];
	CHECK(sess_allocate(m, &c, "a", err, sizeof err) == 0);
	CHECK(sess_allocate(m, &c, "b", err, sizeof err) == 0);
	CHECK(sess_allocate(m, &c, "c", err, sizeof err) < 0 && strstr(err, "too many"));
	struct cfg bad;
	make_cfg(&bad);
	bad.trial.game = "NoSuchEnv-v9";
	sess_stop(m, "study-1", "a", SESS_END_STOP);
	CHECK(sess_allocate(m, &bad, "d", err, sizeof err) < 0 && err[0]);
	CHECK(sess_get_state(m, "study-1", "d", NULL) == SESS_NONE);
	sess__mgr_free(m);
}

int main(void)
{
	if (!mkdtemp(dir))
		return 1;
	RUN(test_allocate_stop);
	RUN(test_limits_and_bad_env);
	char cmd[128];
	snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
	if (system(cmd) != 0)
		return 1;
	return test_summary();
}
