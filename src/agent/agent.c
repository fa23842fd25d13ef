/* agent: the registry of built-in agents and the host wrapper; see agent.h. */
#include "agent/agent.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

extern const struct agent_ops agent_tamer_ops;
extern const struct agent_ops agent_random_ops;

static const struct agent_ops *const builtins[] = {
	&agent_tamer_ops,
	&agent_random_ops,
};

#define NBUILTINS (sizeof builtins / sizeof builtins[0])

size_t agent_builtin_count(void)
{
	return NBUILTINS;
}

const struct agent_ops *agent_builtin(size_t i)
{
	return i < NBUILTINS ? builtins[i] : NULL;
}

const struct agent_ops *agent_find(const char *name)
{
	for (size_t i = 0; name && i < NBUILTINS; i++)
		if (strcmp(builtins[i]->name, name) == 0)
			return builtins[i];
	return NULL;
}

int agent_open_ops(struct agent *a, const struct agent_ops *ops, const struct agent_args *args,
		   char *err, size_t errlen)
{
	memset(a, 0, sizeof *a);
	char msg[256] = "";
	if (!args->env) {
		snprintf(err, errlen, "agent %s: no environment description", ops->name);
		return -1;
	}
	if (ops->create(args, &a->inst, msg, sizeof msg) < 0 || !a->inst) {
		snprintf(err, errlen, "agent %s: %s", ops->name, msg[0] ? msg : "create failed");
		return -1;
	}
	a->ops = ops;
	a->action_n = hippo_space_size(&args->env->action_space);
	return 0;
}

int agent_open(struct agent *a, const char *name, const struct agent_args *args, char *err,
	       size_t errlen)
{
	if (!name)
		return agent_open_ops(a, &agent_external_ops, args, err, errlen);
	const struct agent_ops *ops = agent_find(name);
	if (!ops) {
		char list[128] = "";
		size_t off = 0;
		for (size_t i = 0; i < NBUILTINS && off < sizeof list; i++) {
			int k = snprintf(list + off, sizeof list - off, "%s%s", i ? ", " : "",
					 builtins[i]->name);
			if (k < 0)
				break;
			off += (size_t)k;
		}
		memset(a, 0, sizeof *a);
		snprintf(err, errlen, "unknown agent '%s' (built-in: %s)", name, list);
		return -1;
	}
	return agent_open_ops(a, ops, args, err, errlen);
}

int agent_ready(struct agent *a)
{
	return a->ops->ready ? a->ops->ready(a->inst, a->err, sizeof a->err) : 1;
}

int agent_act(struct agent *a, const double *obs, long t, double *action)
{
	int r = a->ops->act(a->inst, obs, t, action, a->err, sizeof a->err);
	if (r != 0)
		return r < 0 ? -1 : 1;
	for (size_t i = 0; i < a->action_n; i++)
		if (!isfinite(action[i])) {
			snprintf(a->err, sizeof a->err, "agent %s chose a non-finite action",
				 a->ops->name);
			return -1;
		}
	return 0;
}

void agent_observe(struct agent *a, long t, const double *action, double reward,
		   const double *next_obs, bool terminated, bool truncated)
{
	if (a->ops->observe)
		a->ops->observe(a->inst, t, action, reward, next_obs, terminated, truncated);
}

void agent_feedback(struct agent *a, long t, double value)
{
	if (a->ops->feedback)
		a->ops->feedback(a->inst, t, value);
}

void agent_episode_end(struct agent *a, int episode, double ret, long steps)
{
	if (a->ops->episode_end)
		a->ops->episode_end(a->inst, episode, ret, steps);
}

void agent_close(struct agent *a)
{
	if (a->ops && a->inst)
		a->ops->destroy(a->inst);
	a->ops = NULL;
	a->inst = NULL;
}
