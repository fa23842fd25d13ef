/* tamer: learns a model H(s, a) of the human's reinforcement online and acts
 * greedily on it (Knox & Stone, "Interactively Shaping Agents via Human
 * Reinforcement: The TAMER Framework", K-CAP 2009; credit assignment as in
 * Knox & Stone, "Combining manual feedback with subsequent MDP reward signals
 * for reinforcement learning", AAMAS 2010).
 *
 * H is linear in tile-coded features of the observation, one weight table per
 * discrete action (hashed tilings with Sutton's asymmetric offsets). When the
 * human gives feedback h while step T's frame is on screen, every recent step
 * i gets the credit c_i = the probability that the human's delay falls in the
 * time step i was on screen, under a uniform delay density on [delay_min,
 * delay_max] seconds (default 0.2 .. 0.8 s, converted with the trial's fps).
 * Then, with f = sum_i c_i phi(s_i, a_i):
 *     error = h - w . f;   w += (alpha / tilings) * error * f.
 * The agent acts greedily: argmax_a H(s, a), ties broken by a seeded generator.
 *
 * Options (JSON object, all optional): tilings (8), tiles (6 per dimension),
 * memory (32768 weights per action), alpha (0.2), delay ([0.2, 0.8] seconds),
 * low / high (tile-coding bounds per observation value; default: the
 * observation space's finite bounds, built-in ranges for CartPole's velocities
 * and its termination limits, else [-1, 1]). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "agent/agent.h"

#define TAMER_MAX_TILINGS 32
#define TAMER_MAX_DIMS    64
#define TAMER_MAX_ACTIONS 64
#define TAMER_HISTORY     512 /* steps kept for credit assignment */

struct tamer_step {
	long t;
	int action;
	uint32_t idx[TAMER_MAX_TILINGS];
};

struct tamer {
	int nact, dims, tilings, tiles;
	uint32_t memory;
	double alpha, delay_min, delay_max, dt;
	double low[TAMER_MAX_DIMS], high[TAMER_MAX_DIMS];
	double *w; /* nact x memory */
	struct tamer_step hist[TAMER_HISTORY];
	long nhist; /* steps recorded in total */
	uint64_t rng;
};

static uint64_t splitmix(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static int opt_num(json_t *o, const char *key, double lo, double hi, double *v, char *err,
		   size_t errlen)
{
	json_t *j = json_object_get(o, key);
	if (!j)
		return 0;
	if (!json_is_number(j) || json_number_value(j) < lo || json_number_value(j) > hi) {
		snprintf(err, errlen, "option \"%s\" must be a number in [%g, %g]", key, lo, hi);
		return -1;
	}
	*v = json_number_value(j);
	return 0;
}

static int opt_bounds(json_t *o, const char *key, double *out, int n, char *err, size_t errlen)
{
	json_t *j = json_object_get(o, key);
	if (!j)
		return 0;
	if (!json_is_array(j) || json_array_size(j) != (size_t)n) {
		snprintf(err, errlen, "option \"%s\" must list %d numbers", key, n);
		return -1;
	}
	for (int i = 0; i < n; i++) {
		json_t *v = json_array_get(j, (size_t)i);
		if (!json_is_number(v) || !isfinite(json_number_value(v))) {
			snprintf(err, errlen, "option \"%s\" must list %d finite numbers", key, n);
			return -1;
		}
		out[i] = json_number_value(v);
	}
	return 0;
}

/* Default tile-coding bounds: the space's finite bounds; for CartPole its
 * termination limits and typical velocities (the space says +-inf). */
static void default_bounds(struct tamer *a, const struct hippo_env_info *env)
{
	const struct hippo_space *os = &env->observation_space;
	static const double cp_high[4] = {2.4, 3.0, 0.2095, 3.5};
	bool cartpole = env->id && strncmp(env->id, "CartPole", 8) == 0 && a->dims == 4;
	for (int i = 0; i < a->dims; i++) {
		double lo = os->low ? os->low[i] : -INFINITY, hi = os->high ? os->high[i] : INFINITY;
		if (cartpole) {
			lo = -cp_high[i];
			hi = cp_high[i];
		}
		if (os->kind == HIPPO_SPACE_DISCRETE) {
			lo = (double)os->start;
			hi = (double)(os->start + os->n - 1);
		}
		a->low[i] = isfinite(lo) ? lo : -1;
		a->high[i] = isfinite(hi) && hi > a->low[i] ? hi : a->low[i] + 2;
	}
}

static int tamer_create(const struct agent_args *args, void **out, char *err, size_t errlen)
{
	const struct hippo_env_info *env = args->env;
	json_t *o = NULL;
	struct tamer *a = NULL;
	double tilings = 8, tiles = 6, memory = 32768, delay[2] = {0.2, 0.8};
	if (env->action_space.kind != HIPPO_SPACE_DISCRETE ||
	    env->action_space.n > TAMER_MAX_ACTIONS) {
		snprintf(err, errlen, "needs a discrete action space of at most %d actions",
			 TAMER_MAX_ACTIONS);
		return -1;
	}
	size_t dims = hippo_space_size(&env->observation_space);
	if (dims == 0 || dims > TAMER_MAX_DIMS) {
		snprintf(err, errlen, "needs an observation of 1 to %d values (this one has %zu)",
			 TAMER_MAX_DIMS, dims);
		return -1;
	}
	if (!(a = calloc(1, sizeof *a)))
		goto oom;
	a->nact = (int)env->action_space.n;
	a->dims = (int)dims;
	a->alpha = 0.2;
	if (args->options_json && args->options_json[0]) {
		json_error_t je;
		o = json_loads(args->options_json, 0, &je);
		if (!json_is_object(o)) {
			snprintf(err, errlen, "options must be a JSON object");
			goto fail;
		}
		const char *key;
		json_t *v;
		json_object_foreach(o, key, v)
		{
			static const char *const known[] = {"tilings", "tiles", "memory", "alpha",
							    "delay", "low", "high", NULL};
			bool ok = false;
			for (int i = 0; known[i]; i++)
				ok = ok || strcmp(key, known[i]) == 0;
			if (!ok) {
				snprintf(err, errlen, "unknown option \"%s\"", key);
				goto fail;
			}
		}
		if (opt_num(o, "tilings", 1, TAMER_MAX_TILINGS, &tilings, err, errlen) < 0 ||
		    opt_num(o, "tiles", 1, 64, &tiles, err, errlen) < 0 ||
		    opt_num(o, "memory", 64, 1 << 22, &memory, err, errlen) < 0 ||
		    opt_num(o, "alpha", 1e-6, 10, &a->alpha, err, errlen) < 0 ||
		    opt_bounds(o, "delay", delay, 2, err, errlen) < 0)
			goto fail;
		if (delay[0] < 0 || delay[1] < delay[0] || delay[1] > 10) {
			snprintf(err, errlen, "option \"delay\" must be [min, max] seconds, 0 <= min <= "
					      "max <= 10");
			goto fail;
		}
	}
	a->tilings = (int)tilings;
	a->tiles = (int)tiles;
	a->memory = (uint32_t)memory;
	a->delay_min = delay[0];
	a->delay_max = delay[1];
	a->dt = 1.0 / (args->fps > 0 ? args->fps : 30);
	default_bounds(a, env);
	if (o && (opt_bounds(o, "low", a->low, a->dims, err, errlen) < 0 ||
		  opt_bounds(o, "high", a->high, a->dims, err, errlen) < 0))
		goto fail;
	for (int i = 0; i < a->dims; i++)
		if (!(a->high[i] > a->low[i])) {
			snprintf(err, errlen, "tile bounds: high must exceed low (value %d)", i);
			goto fail;
		}
	a->w = calloc((size_t)a->nact * a->memory, sizeof *a->w);
	if (!a->w)
		goto oom;
	a->rng = args->seed ^ 0x7a3e5c1d2b4f6a89ULL;
	json_decref(o);
	*out = a;
	return 0;
oom:
	snprintf(err, errlen, "out of memory");
fail:
	json_decref(o);
	if (a)
		free(a->w);
	free(a);
	return -1;
}

static void tamer_destroy(void *agent)
{
	struct tamer *a = agent;
	if (a)
		free(a->w);
	free(a);
}

/* The active weight index of each tiling for OBS. */
static void tiles_of(const struct tamer *a, const double *obs, uint32_t *idx)
{
	int64_t q[TAMER_MAX_DIMS];
	for (int j = 0; j < a->dims; j++) {
		double u = (obs[j] - a->low[j]) / (a->high[j] - a->low[j]) * a->tiles;
		if (!(u > 0)) /* also NaN */
			u = 0;
		if (u > a->tiles)
			u = a->tiles;
		q[j] = (int64_t)floor(u * a->tilings);
	}
	for (int k = 0; k < a->tilings; k++) {
		uint64_t h = 0xcbf29ce484222325ULL ^ (uint64_t)k;
		for (int j = 0; j < a->dims; j++) {
			/* Sutton's asymmetric offsets: tiling k shifts dimension j by k(2j+1)/tilings tiles */
			uint64_t c = (uint64_t)((q[j] + (int64_t)k * (2 * j + 1)) / a->tilings);
			h = (h ^ (c + 0x9e3779b97f4a7c15ULL * (uint64_t)(j + 1))) * 0x100000001b3ULL;
			h ^= h >> 29;
		}
		idx[k] = (uint32_t)(h % a->memory);
	}
}

static double h_value(const struct tamer *a, int action, const uint32_t *idx)
{
	const double *w = a->w + (size_t)action * a->memory;
	double s = 0;
	for (int k = 0; k < a->tilings; k++)
		s += w[idx[k]];
	return s;
}

static int tamer_act(void *agent, const double *obs, long t, double *action, char *err,
		     size_t errlen)
{
	struct tamer *a = agent;
	struct tamer_step *st = &a->hist[a->nhist % TAMER_HISTORY];
	tiles_of(a, obs, st->idx);
	double best = -INFINITY;
	int nbest = 0, choice = 0;
	for (int i = 0; i < a->nact; i++) {
		double v = h_value(a, i, st->idx);
		if (v > best + 1e-12) {
			best = v;
			nbest = 1;
			choice = i;
		} else if (fabs(v - best) <= 1e-12 && splitmix(&a->rng) % (uint64_t)++nbest == 0) {
			choice = i; /* reservoir choice among ties: each equally likely */
		}
	}
	st->t = t;
	st->action = choice;
	a->nhist++;
	*action = (double)choice;
	return 0;
}

/* Probability that the human's delay lies in [lo, hi] seconds. */
static double credit(const struct tamer *a, double lo, double hi)
{
	double width = a->delay_max - a->delay_min;
	if (width <= 1e-9) /* a fixed delay: the step whose interval contains it */
		return a->delay_min >= lo && a->delay_min < hi ? 1 : 0;
	double l = lo > a->delay_min ? lo : a->delay_min, h = hi < a->delay_max ? hi : a->delay_max;
	return h > l ? (h - l) / width : 0;
}

static void tamer_feedback(void *agent, long t, double value)
{
	struct tamer *a = agent;
	double c[TAMER_HISTORY];
	const struct tamer_step *steps[TAMER_HISTORY];
	int n = 0;
	double pred = 0;
	if (!isfinite(value))
		return;
	long kept = a->nhist < TAMER_HISTORY ? a->nhist : TAMER_HISTORY;
	for (long i = 0; i < kept; i++) {
		const struct tamer_step *st = &a->hist[(a->nhist - 1 - i) % TAMER_HISTORY];
		if (st->t > t)
			continue; /* after the frame the human saw */
		/* the outcome of step i was on screen from (t - i) to (t - i + 1) steps before */
		double lo = (double)(t - st->t) * a->dt, hi = lo + a->dt;
		if (lo > a->delay_max)
			break; /* steps are recorded in order: older ones are out of the window */
		double ci = credit(a, lo, hi);
		if (ci <= 0)
			continue;
		c[n] = ci;
		steps[n++] = st;
		pred += ci * h_value(a, st->action, st->idx);
	}
	double delta = a->alpha / a->tilings * (value - pred);
	for (int i = 0; i < n; i++) {
		double *w = a->w + (size_t)steps[i]->action * a->memory;
		for (int k = 0; k < a->tilings; k++)
			w[steps[i]->idx[k]] += delta * c[i];
	}
}

const struct agent_ops agent_tamer_ops = {
	.name = "tamer",
	.summary = "learns the human's reinforcement H(s,a) online (tile coding) and acts greedily",
	.create = tamer_create,
	.destroy = tamer_destroy,
	.act = tamer_act,
	.feedback = tamer_feedback,
};
