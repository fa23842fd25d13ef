/* trial: one participant's trial driven directly (no session, no socket).
 * A plug-in whose Box action has 4096 values is played in play mode: every
 * step applies the whole zero action (read from a buffer sized by the
 * environment's action space, under ASan) and records it. An environment
 * process slower than the frame period, whose every step ends the episode,
 * keeps playing episode after episode. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/config.h"
#include "test.h"
#include "trial/msg.h"
#include "trial/trial.h"

static char dir[] = "/tmp/hippo-test-trial-XXXXXX";
static char build_dir[1024];
static char examples_dir[1024]; /* clients/python/examples */

struct out {
	int frames, errors, done;
	char last_error[300];
};

static void on_text(void *user, const char *msg, size_t len)
{
	struct out *o = user;
	if (len == 4 && memcmp(msg, "done", 4) == 0)
		o->done++;
	if (len > 9 && memcmp(msg, "{\"error\"", 8) == 0) {
		o->errors++;
		snprintf(o->last_error, sizeof o->last_error, "%.*s", (int)len, msg);
	}
}

static void on_frame(void *user, const uint8_t *jpeg, size_t len, unsigned long long id,
		     const char *extra)
{
	struct out *o = user;
	o->frames++;
}

static void message(struct trial *t, const char *text, const struct trial_sink *sink)
{
	struct trial_msg m;
	char err[160];
	CHECK(msg_parse(text, strlen(text), &m, err, sizeof err) == 0);
	trial_on_message(t, &m, clock_mono_ns(), sink);
	msg_free(&m);
}

/* The number of values of the first "envAction" array in FILE's first step line. */
static long env_action_values(const char *path)
{
	FILE *f = fopen(path, "r");
	if (!f)
		return -1;
	long n = -1;
	char *line = NULL;
	size_t cap = 0;
	while (getline(&line, &cap, f) > 0) {
		char *a = strstr(line, "\"envAction\":[");
		if (!a)
			continue;
		n = 1;
		for (char *p = a + 13; *p && *p != ']'; p++)
			n += *p == ',';
		break;
	}
	free(line);
	fclose(f);
	return n;
}

static void wide_box_action_is_applied_whole(void)
{
	char plugin[1200];
	snprintf(plugin, sizeof plugin, "%s/tests/libhippo_plugin_wide.so", build_dir);
	static char *names[] = {"noop"};
	struct cfg c;
	cfg_defaults(&c);
	c.project.id = "wide";
	c.trial.game = "WideAction-v0";
	c.trial.env.plugin = plugin;
	c.trial.action_space = names;
	c.trial.naction_space = 1;
	c.trial.max_episodes = 2;
	c.trial.starting_frame_rate = 1000;
	c.trial.seed = 7;
	struct trial_params p = {.cfg = &c, .data_dir = dir, .project_id = "wide", .user_id = "w1"};
	char err[256];
	struct trial *t = trial_new(&p, err, sizeof err);
	CHECK(t != NULL);
	if (!t) {
		fprintf(stderr, "%s\n", err);
		return;
	}
	struct out o = {0};
	struct trial_sink sink = {.user = &o, .text = on_text, .frame = on_frame};
	struct trial_scratch sc = {0};
	trial_on_attach(t, NULL, &sink);
	message(t, "{\"command\":\"start\"}", &sink);
	for (int i = 0; i < 5000 && trial_ended(t) == SESS_END_NONE; i++) {
		int64_t now = clock_mono_ns();
		if (trial_due(t) <= now)
			trial_run(t, now, &sc, &sink);
		else
			usleep(200);
	}
	CHECK(trial_ended(t) == SESS_END_DONE); /* 2 episodes of 3 steps */
	CHECK(o.errors == 0 && o.done == 1);
	if (o.errors)
		fprintf(stderr, "%s\n", o.last_error);
	CHECK(o.frames >= 6);
	char path[512];
	snprintf(path, sizeof path, "%s/wide/trials/w1/episode_1.jsonl", dir);
	CHECK_INT(env_action_values(path), 4096); /* the vector applied, whole */
	trial_free(t);
	trial_scratch_free(&sc);
}

/* Each step of this process takes longer than a frame period (1 ms at 1000
 * fps) and ends the episode: its answer is taken when the next tick is
 * already due, and the reset of the next episode is sent in that same
 * trial_run. The due tick must wait for the reset's answer: a step asked
 * meanwhile left the trial waiting for a step that was never sent, with no
 * frame, no record and no error from then on. */
static void slow_steps_that_end_episodes_keep_playing(void)
{
	char *argv[] = {"/usr/bin/python3", "-c",
			"import sys, time; sys.path.insert(0, sys.argv[1]);"
			"sys.path.insert(0, sys.argv[1] + '/..')\n"
			"import pure_env, hippo_env\n"
			"class Slow(pure_env.PureCartPole):\n"
			"    def step(self, a):\n"
			"        time.sleep(0.02)\n"
			"        obs, r, _, tr, info = super().step(a)\n"
			"        return obs, r, True, tr, info\n"
			"hippo_env.serve(Slow())",
			examples_dir, NULL};
	static char *names[] = {"left", "right", NULL};
	struct cfg c;
	cfg_defaults(&c);
	c.project.id = "slow";
	c.trial.game = "PureCartPole-v0";
	c.trial.env.command = argv;
	c.trial.env.step_timeout_ms = 20000;
	c.trial.action_space = names;
	c.trial.naction_space = 2;
	c.trial.max_episodes = 4;
	c.trial.starting_frame_rate = 1000;
	c.trial.seed = 3;
	struct trial_params p = {.cfg = &c, .data_dir = dir, .project_id = "slow", .user_id = "s1"};
	char err[256];
	struct trial *t = trial_new(&p, err, sizeof err);
	CHECK(t != NULL);
	if (!t) {
		fprintf(stderr, "%s\n", err);
		return;
	}
	struct out o = {0};
	struct trial_sink sink = {.user = &o, .text = on_text, .frame = on_frame};
	struct trial_scratch sc = {0};
	trial_on_attach(t, NULL, &sink);
	message(t, "{\"command\":\"start\"}", &sink);
	/* a bound for a trial that stops moving, not a timing check: 4 episodes
	 * of one step take well under a second */
	int64_t give_up = clock_mono_ns() + 60 * (int64_t)1000000000;
	while (trial_ended(t) == SESS_END_NONE && clock_mono_ns() < give_up) {
		int64_t now = clock_mono_ns();
		if (trial_due(t) <= now)
			trial_run(t, now, &sc, &sink);
		else
			usleep(200);
	}
	CHECK_INT(trial_ended(t), SESS_END_DONE);
	CHECK(o.errors == 0 && o.done == 1);
	if (o.errors)
		fprintf(stderr, "%s\n", o.last_error);
	CHECK(o.frames >= 4); /* one per step at least */
	for (int ep = 1; ep <= 4; ep++) {
		char path[512];
		snprintf(path, sizeof path, "%s/slow/trials/s1/episode_%d.jsonl", dir, ep);
		CHECK(access(path, F_OK) == 0);
	}
	trial_free(t);
	trial_scratch_free(&sc);
}

int main(void)
{
	if (!mkdtemp(dir))
		return 1;
	const char *b = getenv("HIPPO_BUILD");
	snprintf(build_dir, sizeof build_dir, "%s", b ? b : "../../build/test");
	const char *src = getenv("HIPPO_SRC");
	snprintf(examples_dir, sizeof examples_dir, "%s/clients/python/examples",
		 src ? src : "../..");
	RUN(wide_box_action_is_applied_whole);
	RUN(slow_steps_that_end_episodes_keep_playing);
	char cmd[1400];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		return 1;
	return test_summary();
}
