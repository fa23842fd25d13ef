/* hippo rollout: resets an environment with a seed, applies actions from a
 * file (or action 0) and prints the trajectory as JSON Lines:
 *
 *   {"obs":[...],"info":{...}}                                   (the reset)
 *   {"action":A,"obs":[...],"reward":R,"terminated":B,"truncated":B}  (each step)
 *
 * float32 values are printed with %.9g and float64 with %.17g, which both
 * round-trip. Keys "agent_pos", "agent_dir" and "mission" of an env's info
 * (MiniGrid) are lifted to the top level of the line. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cli/commands.h"
#include "cli/envrun.h"

#define INFO_MAX 65536

static const char *o_seed, *o_actions, *o_options;
static int o_steps = -1;

static const struct opt opts[] = {
	{"seed", OPT_STRING, &o_seed, "N", "reset(seed=N) (default: a random seed)", 0, 0},
	{"actions", OPT_STRING, &o_actions, "FILE",
	 "actions, one per line: an integer (Discrete) or space-separated numbers (Box)", 0, 0},
	{"steps", OPT_INT, &o_steps, "K",
	 "at most K steps (default: all actions in FILE, or action 0 until the episode ends)", 0,
	 100000000},
	{"options", OPT_STRING, &o_options, "JSON", "environment options as a JSON object", 0, 0},
	{NULL, 0, NULL, NULL, NULL, 0, 0},
};

static const struct opt_cmd spec = {
	.name = "rollout",
	.args = "ENV_ID",
	.summary = "run an environment from a seed and print its trajectory as JSON Lines",
	.min_pos = 1,
	.max_pos = 1,
	.opts = opts,
};

static void put_num(FILE *f, double v, enum hippo_dtype t)
{
	if (!isfinite(v))
		fputs("null", f);
	else if (t == HIPPO_DTYPE_FLOAT32)
		fprintf(f, "%.9g", v);
	else if (t == HIPPO_DTYPE_FLOAT64)
		fprintf(f, "%.17g", v);
	else
		fprintf(f, "%.0f", v);
}

static void put_array(FILE *f, const double *v, size_t n, enum hippo_dtype t)
{
	fputc('[', f);
	for (size_t i = 0; i < n; i++) {
		if (i)
			fputc(',', f);
		put_num(f, v[i], t);
	}
	fputc(']', f);
}

/* Appends ',"key":value' for the MiniGrid keys present in INFO (JSON text). */
static void put_lifted(FILE *f, const char *info, bool with_mission)
{
	if (!strstr(info, "agent_") && !(with_mission && strstr(info, "mission")))
		return;
	json_t *o = json_loads(info, 0, NULL);
	if (!json_is_object(o)) {
		json_decref(o);
		return;
	}
	static const char *const keys[] = {"mission", "agent_pos", "agent_dir"};
	for (size_t i = 0; i < 3; i++) {
		if (i == 0 && !with_mission)
			continue;
		json_t *v = json_object_get(o, keys[i]);
		if (!v)
			continue;
		char *s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
		if (s)
			fprintf(f, ",\"%s\":%s", keys[i], s);
		free(s);
	}
	json_decref(o);
}

static int run(int argc, char **argv)
{
	int npos;
	o_seed = o_actions = o_options = NULL;
	o_steps = -1;
	int rc = opt_parse(&spec, argc, argv, &npos);
	if (rc != OPT_OK)
		return rc;
	struct envrun r;
	if (envrun_open(&r, "rollout", argv[1], o_options, o_seed, o_actions) != 0)
		return 1;
	char *info = malloc(INFO_MAX);
	const struct hippo_env_info *in = r.env.info;
	const struct hippo_space *as = &in->action_space;
	size_t adim = hippo_space_size(as);
	double *action = calloc(adim, sizeof *action);
	int status = 1;
	if (!info || !action) {
		fprintf(stderr, "hippo rollout: out of memory\n");
		goto out;
	}
	if (env_reset(&r.env, r.has_seed ? &r.seed : NULL, info, INFO_MAX) != 0) {
		fprintf(stderr, "hippo rollout: reset: %s\n", r.env.err);
		goto out;
	}
	enum hippo_dtype odt = in->observation_space.kind == HIPPO_SPACE_BOX
				       ? in->observation_space.dtype
				       : HIPPO_DTYPE_INT64;
	fputs("{\"obs\":", stdout);
	put_array(stdout, r.env.obs, r.env.obs_n, odt);
	printf(",\"info\":%s", info[0] ? info : "{}");
	put_lifted(stdout, info, true);
	fputs("}\n", stdout);

	size_t limit = r.has_actions ? r.actions.n : (size_t)-1;
	if (o_steps >= 0 && (size_t)o_steps < limit)
		limit = (size_t)o_steps;
	for (size_t k = 0; k < limit; k++) {
		envrun_action(&r, k, action);
		struct hippo_step_result res;
		if (env_step(&r.env, action, &res, info, INFO_MAX) != 0) {
			char where[300];
			envrun_where(&r, k, where, sizeof where);
			fprintf(stderr, "hippo rollout: %s: %s\n", where, r.env.err);
			goto out;
		}
		fputs("{\"action\":", stdout);
		if (as->kind == HIPPO_SPACE_DISCRETE)
			printf("%.0f", action[0]);
		else
			put_array(stdout, action, adim, as->dtype);
		fputs(",\"obs\":", stdout);
		put_array(stdout, r.env.obs, r.env.obs_n, odt);
		fputs(",\"reward\":", stdout);
		put_num(stdout, res.reward, HIPPO_DTYPE_FLOAT64);
		printf(",\"terminated\":%s,\"truncated\":%s", res.terminated ? "true" : "false",
		       res.truncated ? "true" : "false");
		put_lifted(stdout, info, false);
		fputs("}\n", stdout);
		if (res.terminated || res.truncated)
			break;
	}
	status = 0;
out:
	if (fflush(stdout) != 0)
		status = 1;
	free(info);
	free(action);
	envrun_close(&r);
	return status;
}

const struct command cmd_rollout = {.spec = &spec, .run = run};
