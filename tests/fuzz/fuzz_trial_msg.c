/* Fuzzes the trial websocket message parser (src/trial/msg.c) and feeds every
 * accepted message to a real trial (CartPole-v1, records in a temporary
 * folder), so commands, actions, frame-rate changes and feedback run too. */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/config.h"
#include "core/id.h"
#include "trial/msg.h"
#include "trial/trial.h"

static struct cfg cfg;
static struct trial *trial;
static struct trial_scratch scratch;
static char *actions[] = {"left", "right"};
static char *ui[] = {"left", "right", "start", "pause"};

static void sink_text(void *u, const char *m, size_t n)
{
	(void)u;
	if (n == 0 || m == NULL)
		abort();
}

static void sink_frame(void *u, const uint8_t *j, size_t n, unsigned long long id, const char *x)
{
	(void)u;
	if (n < 4 || j[0] != 0xff || id == 0 || !x)
		abort();
}

static const struct trial_sink sink = {NULL, sink_text, sink_frame};

static char dir[] = "/tmp/hippo-fuzz-trial-XXXXXX";

/* The scratch folder goes when the fuzzer exits (its time is up). */
static void remove_dir(void)
{
	char cmd[64];
	snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", dir);
}

static void setup(void)
{
	static bool made;
	if (!made && !mkdtemp(dir)) /* once: later trials (after a "stop") reuse it */
		abort();
	if (!made)
		atexit(remove_dir);
	made = true;
	cfg_defaults(&cfg);
	cfg.project.id = "fuzz";
	cfg.trial.game = "CartPole-v1";
	cfg.trial.action_space = actions;
	cfg.trial.naction_space = 2;
	cfg.trial.ui = ui;
	cfg.trial.nui = 4;
	cfg.trial.max_episodes = 1000000;
	cfg.trial.allow_frame_rate_change = true;
	cfg.trial.input_budget = 5;
	char err[256];
	struct trial_params p = {.cfg = &cfg, .data_dir = dir, .project_id = "fuzz",
				 .user_id = "fuzzer"};
	trial = trial_new(&p, err, sizeof err);
	if (!trial) {
		fprintf(stderr, "%s\n", err);
		abort();
	}
	trial_on_attach(trial, NULL, &sink);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!trial)
		setup();
	struct trial_msg m;
	char err[160];
	if (msg_parse((const char *)data, size, &m, err, sizeof err) < 0) {
		if (err[0] == '\0' || m.root)
			abort();
		return 0;
	}
	if ((m.has & MSG_HANDSHAKE) && m.user_id[0] && !id_valid_user(m.user_id))
		abort();
	if ((m.has & MSG_HANDSHAKE) && m.project_id[0] && !id_valid_project(m.project_id))
		abort();
	if (m.fps_value < 0 || m.fps_value > 1000 || m.fps_delta < -1 || m.fps_delta > 1)
		abort();
	if (trial_ended(trial) == SESS_END_NONE) {
		int64_t now = clock_mono_ns();
		trial_on_message(trial, &m, now, &sink);
		trial_run(trial, now + 1000000000, &scratch, &sink);
	}
	if (trial_ended(trial) != SESS_END_NONE) { /* "stop": start a fresh trial */
		trial_free(trial);
		trial = NULL;
	}
	msg_free(&m);
	return 0;
}
