/* agent: who chooses the actions in the trial modes feedback, advise and watch
 * (trial.mode), and learns from the human's feedback.
 *
 * An agent is a `const struct agent_ops` table plus an instance, like an
 * environment. Built-in agents are listed in agent.c's table (`tamer`,
 * `random`); `agent_external_ops` runs an agent as a child process speaking
 * the external-process protocol (clients/python/hippo_env.py serve_agent).
 *
 * Steps: T is the trial-wide step number, increasing across episodes (the
 * trial loop's frame counter); act() is called with the observation s_T and
 * returns a_T. Feedback names the T whose frame the human had on screen when
 * giving it; agents spread its credit over earlier steps as they see fit. */
#ifndef HIPPO_AGENT_AGENT_H
#define HIPPO_AGENT_AGENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hippo/env.h"

struct agent_args {
	const struct hippo_env_info *env; /* spaces and metadata of the environment (borrowed) */
	const char *options_json;         /* agent options object text, or NULL */
	uint64_t seed;                    /* for the agent's own random choices */
	int fps;                          /* the trial's frame rate (steps per second), > 0 */
	const char *log_ctx;              /* "user=u1" for log lines, or NULL */
	bool nonblocking;                 /* act() may return 1 (AGAIN) instead of waiting */
};

struct agent_ops {
	const char *name;    /* "tamer" */
	const char *summary; /* one line */

	/* Creates an instance (*AGENT owned by the caller, freed with destroy). */
	int (*create)(const struct agent_args *args, void **agent, char *err, size_t errlen);
	/* Frees the instance. AGENT may be NULL. */
	void (*destroy)(void *agent);
	/* Without blocking: 1 when the agent can act, 0 while it starts (an agent
	 * process loading its model), -1 when it failed (message in ERR). May be
	 * NULL: ready at once. */
	int (*ready)(void *agent, char *err, size_t errlen);
	/* Writes the action for observation OBS at step T to ACTION (action space
	 * size scalars) and returns 0. With agent_args.nonblocking an agent may
	 * instead return 1 (AGAIN: the answer is being computed): the caller polls
	 * ready() until it is not 0, then calls act() again with the same OBS and T. */
	int (*act)(void *agent, const double *obs, long t, double *action, char *err,
		   size_t errlen);
	/* The outcome of the action taken at step T. May be NULL. */
	void (*observe)(void *agent, long t, const double *action, double reward,
			const double *next_obs, bool terminated, bool truncated);
	/* Human reinforcement VALUE (+1 good, -1 bad) given while step T's frame was
	 * on screen. May be NULL. */
	void (*feedback)(void *agent, long t, double value);
	/* An episode ended after STEPS steps with return RET. May be NULL. */
	void (*episode_end)(void *agent, int episode, double ret, long steps);
};

/* The built-in agents, and the one named NAME (NULL if none). */
size_t agent_builtin_count(void);
const struct agent_ops *agent_builtin(size_t i);
const struct agent_ops *agent_find(const char *name);

/* The external-process agent: create() takes as options_json the object
 * {"command": [...], "options": {...}, "cwd": "...", "startTimeoutMs": N,
 * "stepTimeoutMs": N} (ext_env_spec builds it); act() waits for the reply up
 * to the step timeout. */
extern const struct agent_ops agent_external_ops;

/* An opened agent: the table, the instance, the last error. */
struct agent {
	const struct agent_ops *ops;
	void *inst;
	size_t action_n;
	char err[256];
};

/* Opens built-in agent NAME, or the external agent when NAME is NULL and
 * ARGS->options_json is an external spec. Returns 0, or -1 with ERR
 * ("unknown agent 'x' (built-in: tamer, random)"). */
int agent_open(struct agent *a, const char *name, const struct agent_args *args, char *err,
	       size_t errlen);
int agent_open_ops(struct agent *a, const struct agent_ops *ops, const struct agent_args *args,
		   char *err, size_t errlen);
/* ready() (1, 0 or -1 with the message in a->err). */
int agent_ready(struct agent *a);
/* act() with the error kept in a->err: 0, 1 (AGAIN) or -1. */
int agent_act(struct agent *a, const double *obs, long t, double *action);
void agent_observe(struct agent *a, long t, const double *action, double reward,
		   const double *next_obs, bool terminated, bool truncated);
void agent_feedback(struct agent *a, long t, double value);
void agent_episode_end(struct agent *a, int episode, double ret, long steps);
void agent_close(struct agent *a);

#endif
