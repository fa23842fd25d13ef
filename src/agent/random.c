/* random: uniformly random actions from a seeded generator, for watch and
 * advise demonstrations and tests. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "agent/agent.h"

static uint64_t splitmix(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

struct random_agent {
	struct hippo_space space;
	uint64_t rng;
};

static int random_create(const struct agent_args *args, void **out, char *err, size_t errlen)
{
	struct random_agent *r = calloc(1, sizeof *r);
	if (!r) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	r->space = args->env->action_space;
	r->rng = args->seed ^ 0x5bd1e9955bd1e995ULL;
	*out = r;
	return 0;
}

static int random_act(void *agent, const double *obs, long t, double *action, char *err,
		      size_t errlen)
{
	struct random_agent *r = agent;
	if (r->space.kind == HIPPO_SPACE_DISCRETE) {
		action[0] = (double)(r->space.start + (int64_t)(splitmix(&r->rng) % (uint64_t)r->space.n));
		return 0;
	}
	size_t n = hippo_space_size(&r->space);
	for (size_t i = 0; i < n; i++) {
		double lo = r->space.low ? r->space.low[i] : -1, hi = r->space.high ? r->space.high[i] : 1;
		if (!isfinite(lo))
			lo = -1;
		if (!isfinite(hi))
			hi = lo + 2;
		double u = (double)(splitmix(&r->rng) >> 11) * 0x1.0p-53;
		action[i] = lo + u * (hi - lo);
		if (r->space.dtype == HIPPO_DTYPE_INT64 || r->space.dtype == HIPPO_DTYPE_UINT8)
			action[i] = floor(action[i]);
	}
	return 0;
}

const struct agent_ops agent_random_ops = {
	.name = "random",
	.summary = "uniformly random actions (seeded)",
	.create = random_create,
	.destroy = free,
	.act = random_act,
};
