/* toytext.c: the table-driven engine behind FrozenLake-v1, Taxi-v3 and
 * CliffWalking-v0 (see toytext.h), mirroring gymnasium/envs/toy_text. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "env/builtin.h"
#include "env/toytext.h"

/* categorical_sample(prob_n, np_random): the first index whose running sum
 * (np.cumsum, left to right) exceeds one random() draw; 0 if none does, as
 * np.argmax of an all-false array. */
static int categorical(struct rng *rng, const double *p, int n)
{
	double u = rng_next_double(rng);
	double cs = 0;
	for (int i = 0; i < n; i++) {
		cs += p[i];
		if (cs > u)
			return i;
	}
	return 0;
}

void tt__add(struct tt_env *env, int s, int a, double p, int next, double reward, bool terminated)
{
	int cell = s * env->spec->n_actions + a;
	if (env->count[cell] >= TT_MAX_OUTCOMES)
		return;
	struct tt_transition *t = &env->table[cell * TT_MAX_OUTCOMES + env->count[cell]++];
	t->p = p;
	t->next = next;
	t->reward = reward;
	t->terminated = terminated;
}

void tt__destroy(void *p)
{
	struct tt_env *env = p;
	if (!env)
		return;
	free(env->table);
	free(env->count);
	free(env->start);
	free(env);
}

const struct hippo_env_info *tt__info(void *p)
{
	return &((struct tt_env *)p)->info;
}

int tt__create(const struct tt_spec *spec, const struct hippo_env_args *args, void **out,
	       char *err, size_t errlen)
{
	json_t *opts = NULL;
	struct tt_env *env = NULL;
	int rc = -1;
	if (env__options(args ? args->options_json : NULL, spec->option_keys, &opts, err, errlen))
		return -1;
	env = calloc(1, sizeof *env);
	if (!env) {
		env__fail(err, errlen, "out of memory");
		goto out;
	}
	env->spec = spec;
	env->n_states = spec->n_states;
	env->needs_reset = true;
	env->last_action = -1;
	struct hippo_env_info *in = &env->info;
	in->meta.render_width = spec->render_width;
	in->meta.render_height = spec->render_height;
	if (spec->configure && spec->configure(env, opts, err, errlen))
		goto out;
	size_t cells = (size_t)env->n_states * (size_t)spec->n_actions;
	env->table = calloc(cells * TT_MAX_OUTCOMES, sizeof *env->table);
	env->count = calloc(cells, sizeof *env->count);
	env->start = calloc((size_t)env->n_states, sizeof *env->start);
	if (!env->table || !env->count || !env->start) {
		env__fail(err, errlen, "out of memory");
		goto out;
	}
	spec->build(env);

	env->low = 0;
	env->high = env->n_states - 1;
	in->id = spec->id;
	in->action_space.kind = HIPPO_SPACE_DISCRETE;
	in->action_space.n = spec->n_actions;
	in->action_space.action_names = spec->action_names;
	in->observation_space.kind = HIPPO_SPACE_BOX;
	in->observation_space.dtype = HIPPO_DTYPE_INT64;
	in->observation_space.ndim = 1;
	in->observation_space.shape[0] = 1;
	in->observation_space.low = &env->low;
	in->observation_space.high = &env->high;
	in->meta.max_episode_steps = spec->max_episode_steps;
	in->meta.reward_threshold = spec->reward_threshold;
	in->meta.render_fps = 4;
	*out = env;
	env = NULL;
	rc = 0;
out:
	tt__destroy(env);
	json_decref(opts);
	return rc;
}

int tt__reset(void *p, const uint64_t *seed, double *obs, char *info, size_t infolen, char *err,
	      size_t errlen)
{
	struct tt_env *env = p;
	(void)err;
	(void)errlen;
	if (seed)
		rng_seed(&env->rng, *seed);
	else if (!env->seeded)
		rng_seed_random(&env->rng);
	env->seeded = true;
	env->state = categorical(&env->rng, env->start, env->n_states);
	env->last_action = -1;
	env->last_move = -1;
	env->needs_reset = false;
	obs[0] = env->state;
	env->spec->info(env, 1.0, info, infolen);
	return 0;
}

int tt__step(void *p, const double *action, double *obs, struct hippo_step_result *res,
	     char *info, size_t infolen, char *err, size_t errlen)
{
	struct tt_env *env = p;
	double a = action[0];
	int na = env->spec->n_actions;
	if (env->needs_reset)
		return env__fail(err, errlen, "step() called before reset() or after the episode ended");
	if (!(a >= 0 && a < na) || a != (double)(int)a)
		return env__fail(err, errlen, "action must be an integer in 0..%d", na - 1);
	int cell = env->state * na + (int)a;
	const struct tt_transition *t = &env->table[cell * TT_MAX_OUTCOMES];
	double probs[TT_MAX_OUTCOMES];
	for (int i = 0; i < env->count[cell]; i++)
		probs[i] = t[i].p;
	t += categorical(&env->rng, probs, env->count[cell]);
	env->state = t->next;
	env->last_action = (int)a;
	if (a < 4)
		env->last_move = (int)a;
	res->reward = t->reward;
	res->terminated = t->terminated;
	res->truncated = false;
	env->needs_reset = t->terminated;
	obs[0] = env->state;
	env->spec->info(env, t->p, info, infolen);
	return 0;
}

int tt__render(void *p, uint8_t *rgb, size_t stride, char *err, size_t errlen)
{
	struct tt_env *env = p;
	struct raster r;
	if (!env->seeded)
		return env__fail(err, errlen, "render() called before reset()");
	raster_init(&r, rgb, env->info.meta.render_width, env->info.meta.render_height, stride);
	env->spec->render(env, &r);
	return 0;
}

void tt__draw_player(struct raster *r, double cx, double cy, double size, enum tt_facing facing)
{
	const struct rgb cloak = {30, 140, 60}, skin = {245, 205, 170}, hat = {200, 30, 40};
	const struct rgb eye = {20, 20, 20};
	double s = size;
	struct pt body[4] = {{cx - 0.10 * s, cy - 0.05 * s},
			     {cx + 0.10 * s, cy - 0.05 * s},
			     {cx + 0.22 * s, cy + 0.38 * s},
			     {cx - 0.22 * s, cy + 0.38 * s}};
	raster_fill_polygon(r, body, 4, cloak);
	double hx = cx, hy = cy - 0.14 * s, hr = 0.14 * s;
	raster_fill_circle(r, hx, hy, hr, skin);
	struct pt cap[3] = {{hx - 0.16 * s, hy - 0.06 * s},
			    {hx + 0.16 * s, hy - 0.06 * s},
			    {hx + (facing == TT_FACE_LEFT ? 0.12 : facing == TT_FACE_RIGHT ? -0.12 : 0) * s,
			     hy - 0.38 * s}};
	raster_fill_polygon(r, cap, 3, hat);
	double er = 0.025 * s;
	switch (facing) {
	case TT_FACE_DOWN:
		raster_fill_circle(r, hx - 0.05 * s, hy + 0.01 * s, er, eye);
		raster_fill_circle(r, hx + 0.05 * s, hy + 0.01 * s, er, eye);
		break;
	case TT_FACE_LEFT:
		raster_fill_circle(r, hx - 0.08 * s, hy + 0.01 * s, er, eye);
		break;
	case TT_FACE_RIGHT:
		raster_fill_circle(r, hx + 0.08 * s, hy + 0.01 * s, er, eye);
		break;
	case TT_FACE_UP:
		break; /* seen from behind */
	}
}
