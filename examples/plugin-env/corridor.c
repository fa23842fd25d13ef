/* corridor: a reference environment plug-in for hippo, compiled against
 * include/hippo/env.h only (no other hippo header, no library).
 *
 * Corridor-v0: the agent stands in a row of LENGTH cells (option "length",
 * 3..50, default 10) and walks left or right; reaching the last cell ends the
 * episode with reward 1, every other step costs 0.01. The start cell is drawn
 * from the seed among the left half. Pictures are 600x400: grey cells, a green
 * goal, a blue agent.
 *
 * Build: make (see Makefile), then in config.yml:
 *     trial:
 *       game: Corridor-v0
 *       actionSpace: [left, right]
 *       env: {plugin: plugin-env/libcorridor.so, id: Corridor-v0, options: {length: 12}}
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hippo/env.h"

#define W 600
#define H 400

static const char *const action_names[] = {"left", "right"};

struct corridor {
	struct hippo_env_info info;
	double low[1], high[1];
	int length;
	int pos;
	uint64_t rng;
};

/* splitmix64: a small seeded generator, enough for a start cell */
static uint64_t next_random(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/* Reads "length": N from the options object text (a plug-in may use any JSON
 * parser; this one needs a single integer). */
static int option_length(const char *json, int *length, char *err, size_t errlen)
{
	const char *k = json ? strstr(json, "\"length\"") : NULL;
	if (!k)
		return 0;
	k = strchr(k + 8, ':');
	char *end;
	long v = k ? strtol(k + 1, &end, 10) : 0;
	if (!k || end == k + 1 || v < 3 || v > 50) {
		snprintf(err, errlen, "option \"length\" must be an integer in [3, 50]");
		return -1;
	}
	*length = (int)v;
	return 0;
}

static int corridor_create(const struct hippo_env_args *args, void **env, char *err,
			   size_t errlen)
{
	struct corridor *c = calloc(1, sizeof *c);
	if (!c) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	c->length = 10;
	if (option_length(args->options_json, &c->length, err, errlen) < 0) {
		free(c);
		return -1;
	}
	c->low[0] = 0;
	c->high[0] = c->length - 1;
	c->rng = 0x1234;
	c->info = (struct hippo_env_info){
		.id = "Corridor-v0",
		.action_space = {.kind = HIPPO_SPACE_DISCRETE, .n = 2, .action_names = action_names},
		.observation_space = {.kind = HIPPO_SPACE_BOX, .dtype = HIPPO_DTYPE_FLOAT32,
				      .ndim = 1, .shape = {1}, .low = c->low, .high = c->high},
		.meta = {.max_episode_steps = 200, .reward_threshold = 0.5, .render_fps = 10,
			 .render_width = W, .render_height = H},
	};
	*env = c;
	return 0;
}

static void corridor_destroy(void *env)
{
	free(env);
}

static const struct hippo_env_info *corridor_info(void *env)
{
	return &((struct corridor *)env)->info;
}

static int corridor_reset(void *env, const uint64_t *seed, double *obs, char *info,
			  size_t infolen, char *err, size_t errlen)
{
	struct corridor *c = env;
	if (seed)
		c->rng = *seed;
	c->pos = (int)(next_random(&c->rng) % (uint64_t)(c->length / 2));
	obs[0] = c->pos;
	snprintf(info, infolen, "{\"goal\":%d}", c->length - 1);
	return 0;
}

static int corridor_step(void *env, const double *action, double *obs,
			 struct hippo_step_result *res, char *info, size_t infolen, char *err,
			 size_t errlen)
{
	struct corridor *c = env;
	int a = (int)action[0];
	if (a != 0 && a != 1) {
		snprintf(err, errlen, "action %d is not 0 (left) or 1 (right)", a);
		return -1;
	}
	c->pos += a ? 1 : -1;
	if (c->pos < 0)
		c->pos = 0;
	obs[0] = c->pos;
	res->terminated = c->pos == c->length - 1;
	res->truncated = false;
	res->reward = res->terminated ? 1.0 : -0.01;
	snprintf(info, infolen, "{}");
	return 0;
}

static void fill(uint8_t *rgb, size_t stride, int x0, int y0, int w, int h, uint8_t r, uint8_t g,
		 uint8_t b)
{
	for (int y = y0; y < y0 + h && y < H; y++)
		for (int x = x0; x < x0 + w && x < W; x++) {
			uint8_t *p = rgb + (size_t)y * stride + (size_t)x * 3;
			p[0] = r;
			p[1] = g;
			p[2] = b;
		}
}

static int corridor_render(void *env, uint8_t *rgb, size_t stride, char *err, size_t errlen)
{
	struct corridor *c = env;
	int cell = W / c->length, top = H / 2 - cell / 2;
	fill(rgb, stride, 0, 0, W, H, 255, 255, 255);
	for (int i = 0; i < c->length; i++) {
		int goal = i == c->length - 1;
		fill(rgb, stride, i * cell + 2, top, cell - 4, cell, goal ? 60 : 200, goal ? 180 : 200,
		     goal ? 75 : 200);
	}
	fill(rgb, stride, c->pos * cell + cell / 4, top + cell / 4, cell / 2, cell / 2, 40, 80, 220);
	return 0;
}

static const struct hippo_env_ops tables[] = {{
	.abi_version = HIPPO_ENV_ABI_VERSION,
	.id = "Corridor-v0",
	.summary = "walk right along a corridor to the goal (reference plug-in)",
	.create = corridor_create,
	.destroy = corridor_destroy,
	.info = corridor_info,
	.reset = corridor_reset,
	.step = corridor_step,
	.render = corridor_render,
}};

/* The entry point hippo looks up. A plug-in built for another ABI version
 * still loads: hippo compares each table's abi_version and refuses clearly. */
const struct hippo_env_ops *hippo_env_plugin(uint32_t host_abi_version, size_t *count)
{
	(void)host_abi_version;
	*count = sizeof tables / sizeof tables[0];
	return tables;
}
