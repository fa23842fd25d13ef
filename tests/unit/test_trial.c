/* trial: one participant's trial driven directly (no session, no socket).
 * A plug-in whose Box action has 4096 values is played in play mode: every
 * step applies the whole zero action (read from a buffer sized by the
 * environment's action space, under ASan) and records it. */
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

int main(void)
{
	if (!mkdtemp(dir))
		return 1;
	const char *b = getenv("HIPPO_BUILD");
	snprintf(build_dir, sizeof build_dir, "%s", b ? b : "../../build/test");
	RUN(wide_box_action_is_applied_whole);
	return test_summary();
}
