/* A plug-in whose action is a Box of WIDE_N values, far more than an agent
 * writes (test_trial): each step checks that the whole action it was given
 * is the zero action that play mode applies for a continuous space, and
 * fails with the first value that is not. Episodes last 3 steps. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hippo/env.h"

#define WIDE_N 4096

struct wide {
	struct hippo_env_info info;
	double alow[WIDE_N], ahigh[WIDE_N], olow[1], ohigh[1];
	int t;
};

static int wide_create(const struct hippo_env_args *args, void **env, char *err, size_t errlen)
{
	struct wide *w = calloc(1, sizeof *w);
	if (!w) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	for (int i = 0; i < WIDE_N; i++) {
		w->alow[i] = -1;
		w->ahigh[i] = 1;
	}
	w->ohigh[0] = 3;
	w->info = (struct hippo_env_info){
		.id = "WideAction-v0",
		.action_space = {.kind = HIPPO_SPACE_BOX, .dtype = HIPPO_DTYPE_FLOAT64, .ndim = 2,
				 .shape = {64, 64}, .low = w->alow, .high = w->ahigh},
		.observation_space = {.kind = HIPPO_SPACE_BOX, .dtype = HIPPO_DTYPE_FLOAT64,
				      .ndim = 1, .shape = {1}, .low = w->olow, .high = w->ohigh},
		.meta = {.reward_threshold = NAN, .render_fps = 30, .render_width = 32,
			 .render_height = 16},
	};
	*env = w;
	return 0;
}

static void wide_destroy(void *env)
{
	free(env);
}

static const struct hippo_env_info *wide_info(void *env)
{
	return &((struct wide *)env)->info;
}

static int wide_reset(void *env, const uint64_t *seed, double *obs, char *info, size_t infolen,
		      char *err, size_t errlen)
{
	struct wide *w = env;
	w->t = 0;
	obs[0] = 0;
	snprintf(info, infolen, "{}");
	return 0;
}

static int wide_step(void *env, const double *action, double *obs, struct hippo_step_result *res,
		     char *info, size_t infolen, char *err, size_t errlen)
{
	struct wide *w = env;
	for (int i = 0; i < WIDE_N; i++)
		if (action[i] != 0) {
			snprintf(err, errlen, "action[%d] is %g, not the zero action", i, action[i]);
			return -1;
		}
	obs[0] = ++w->t;
	res->reward = 1;
	res->terminated = w->t >= 3;
	snprintf(info, infolen, "{}");
	return 0;
}

static int wide_render(void *env, uint8_t *rgb, size_t stride, char *err, size_t errlen)
{
	struct wide *w = env;
	for (int y = 0; y < 16; y++)
		memset(rgb + (size_t)y * stride, 40 * w->t, 32 * 3);
	return 0;
}

static const struct hippo_env_ops tables[] = {{
	.abi_version = HIPPO_ENV_ABI_VERSION,
	.id = "WideAction-v0",
	.summary = "a Box action of 4096 values (tests)",
	.create = wide_create,
	.destroy = wide_destroy,
	.info = wide_info,
	.reset = wide_reset,
	.step = wide_step,
	.render = wide_render,
}};

const struct hippo_env_ops *hippo_env_plugin(uint32_t host_abi_version, size_t *count)
{
	(void)host_abi_version;
	*count = 1;
	return tables;
}
