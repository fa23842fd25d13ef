/* agent_external: an agent in a child process (hippo_env.serve_agent), over
 * the external-process protocol (docs/plugins.md). create() only starts the
 * process: its hello is answered while the participant reads the instructions,
 * and the first act() waits for it if it has not come yet. act() waits for its
 * reply up to the step timeout; feedback, observe and episode_end are
 * notifications without a reply. A failed process fails every later act(). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/agent.h"
#include "env/external.h"
#include "env/external_proto.h"

struct ext_agent {
	struct ext_proc *proc;
	struct hippo_space action;
	size_t obs_n, act_n;
	bool ready;        /* hello answered */
	bool nonblocking;  /* act() returns 1 (AGAIN) instead of waiting */
	bool act_pending;  /* an act request is outstanding */
};

static int ea_create(const struct agent_args *args, void **out, char *err, size_t errlen)
{
	json_error_t je;
	json_t *spec = args->options_json ? json_loads(args->options_json, 0, &je) : NULL;
	json_t *cmd = json_object_get(spec, "command");
	char **argv = NULL;
	struct ext_agent *a = NULL;
	int rc = -1;
	if (!json_is_array(cmd) || json_array_size(cmd) == 0 || json_array_size(cmd) > 256) {
		snprintf(err, errlen, "an external agent needs \"command\": a list of strings");
		goto out;
	}
	argv = calloc(json_array_size(cmd) + 1, sizeof *argv);
	a = calloc(1, sizeof *a);
	if (!argv || !a) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < json_array_size(cmd); i++)
		if (!(argv[i] = (char *)json_string_value(json_array_get(cmd, i)))) {
			snprintf(err, errlen, "\"command\" must be a list of strings");
			goto out;
		}
	json_t *options = json_object_get(spec, "options");
	options = json_is_object(options) ? json_incref(options) : json_object();
	json_t *hello = json_pack("{s:s, s:i, s:s, s:o, s:o}", "type", "hello", "protocol",
				  (int)XP_VERSION, "role", "agent", "env",
				  xp_env_info_json(args->env), "options", options);
	struct ext_proc_conf c = {
		.argv = argv,
		.cwd = json_string_value(json_object_get(spec, "cwd")),
		.start_timeout_ms = (int)json_integer_value(json_object_get(spec, "startTimeoutMs")),
		.step_timeout_ms = (int)json_integer_value(json_object_get(spec, "stepTimeoutMs")),
		.log_ctx = args->log_ctx,
	};
	if (ext_proc_spawn(&c, hello, &a->proc, err, errlen) < 0)
		goto out;
	a->action = args->env->action_space;
	a->nonblocking = args->nonblocking;
	a->act_n = hippo_space_size(&args->env->action_space);
	a->obs_n = hippo_space_size(&args->env->observation_space);
	*out = a;
	a = NULL;
	rc = 0;
out:
	free(a);
	free(argv);
	json_decref(spec);
	return rc;
}

static void ea_destroy(void *agent)
{
	struct ext_agent *a = agent;
	if (!a)
		return;
	ext_proc_close(a->proc);
	free(a);
}

static json_t *numbers(const double *v, size_t n)
{
	json_t *arr = json_array();
	for (size_t i = 0; i < n; i++)
		json_array_append_new(arr, isfinite(v[i]) ? json_real(v[i]) : json_null());
	return arr;
}

/* Waits for the hello reply once. */
static int ready(struct ext_agent *a, char *err, size_t errlen)
{
	if (!a->ready && ext_proc_wait(a->proc) == EXT_FAILED) {
		snprintf(err, errlen, "%s", ext_proc_error(a->proc));
		return -1;
	}
	a->ready = true;
	return 0;
}

/* 1 when the agent can answer (hello done, no act outstanding, or its reply
 * is there), 0 while busy, -1 when the process failed. */
static int ea_ready(void *agent, char *err, size_t errlen)
{
	struct ext_agent *a = agent;
	enum ext_state st = ext_proc_progress(a->proc);
	if (st == EXT_FAILED) {
		snprintf(err, errlen, "%s", ext_proc_error(a->proc));
		return -1;
	}
	if (st == EXT_STARTING || st == EXT_BUSY)
		return 0;
	a->ready = true;
	return 1;
}

/* Reads the act reply into ACTION. */
static int take_action(struct ext_agent *a, double *action, char *err, size_t errlen)
{
	char perr[200];
	json_t *r = ext_proc_reply(a->proc);
	const char *type = json_string_value(json_object_get(r, "type"));
	if (!type || strcmp(type, "act") != 0 ||
	    xp_numbers(json_object_get(r, "action"), action, a->act_n, perr, sizeof perr) < 0) {
		char m2[256];
		snprintf(m2, sizeof m2, "protocol error: expected {\"type\":\"act\",\"action\":...}%s%s",
			 type && strcmp(type, "act") == 0 ? ": " : "",
			 type && strcmp(type, "act") == 0 ? perr : "");
		ext_proc_fail(a->proc, m2);
		snprintf(err, errlen, "%s", m2);
		return -1;
	}
	return 0;
}

static int ea_act(void *agent, const double *obs, long t, double *action, char *err,
		  size_t errlen)
{
	struct ext_agent *a = agent;
	if (a->act_pending) { /* nonblocking: the second call takes the reply */
		enum ext_state st = ext_proc_progress(a->proc);
		if (st == EXT_BUSY)
			return 1;
		a->act_pending = false;
		if (st == EXT_FAILED) {
			snprintf(err, errlen, "%s", ext_proc_error(a->proc));
			return -1;
		}
		return take_action(a, action, err, errlen);
	}
	if (ready(a, err, errlen) < 0)
		return -1;
	json_t *m = json_pack("{s:s, s:I, s:o}", "type", "act", "step", (json_int_t)t,
			      "observation", numbers(obs, a->obs_n));
	if (ext_proc_send(a->proc, m, true) < 0) {
		snprintf(err, errlen, "%s", ext_proc_error(a->proc));
		return -1;
	}
	if (a->nonblocking) {
		a->act_pending = true;
		ext_proc_progress(a->proc);
		return 1;
	}
	if (ext_proc_wait(a->proc) == EXT_FAILED) {
		snprintf(err, errlen, "%s", ext_proc_error(a->proc));
		return -1;
	}
	return take_action(a, action, err, errlen);
}

/* Notifications are queued behind an outstanding request; a failed process
 * drops them (the next act() reports the failure). */
static void notify(struct ext_agent *a, json_t *m)
{
	if (ext_proc_state(a->proc) == EXT_FAILED) {
		json_decref(m);
		return;
	}
	ext_proc_send(a->proc, m, false);
	ext_proc_progress(a->proc);
}

static void ea_observe(void *agent, long t, const double *action, double reward,
		       const double *next_obs, bool terminated, bool truncated)
{
	struct ext_agent *a = agent;
	notify(a, json_pack("{s:s, s:I, s:o, s:f, s:o, s:b, s:b}", "type", "observe", "step",
			    (json_int_t)t, "action", numbers(action, a->act_n), "reward",
			    isfinite(reward) ? reward : 0.0, "observation",
			    numbers(next_obs, a->obs_n), "terminated", terminated, "truncated",
			    truncated));
}

static void ea_feedback(void *agent, long t, double value)
{
	notify(agent, json_pack("{s:s, s:I, s:f}", "type", "feedback", "step", (json_int_t)t,
				"value", isfinite(value) ? value : 0.0));
}

static void ea_episode_end(void *agent, int episode, double ret, long steps)
{
	notify(agent, json_pack("{s:s, s:i, s:f, s:I}", "type", "episode_end", "episode", episode,
				"return", isfinite(ret) ? ret : 0.0, "steps", (json_int_t)steps));
}

const struct agent_ops agent_external_ops = {
	.name = "external",
	.summary = "an agent served by a child process (hippo_env.serve_agent)",
	.create = ea_create,
	.destroy = ea_destroy,
	.ready = ea_ready,
	.act = ea_act,
	.observe = ea_observe,
	.feedback = ea_feedback,
	.episode_end = ea_episode_end,
};
