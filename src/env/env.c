/* env: the registry of built-in environments and the host wrapper that
 * validates actions and applies Gymnasium's TimeLimit. */
#include <ctype.h>
#include <float.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "env/builtin.h"
#include "env/env.h"
#include "core/text.h"

/* One line per environment, in `hippo envs` order. */
static const struct hippo_env_ops *const builtin[] = {
	&env_cartpole_v1_ops,
	&env_cartpole_v0_ops,
	&env_mountain_car_v0_ops,
	&env_mountain_car_continuous_v0_ops,
	&env_acrobot_v1_ops,
	&env_pendulum_v1_ops,
	&mg_empty_5x5_ops,
	&mg_empty_8x8_ops,
	&mg_doorkey_5x5_ops,
	&mg_fourrooms_ops,
	&tt_frozen_lake_v1_ops,
	&tt_taxi_v3_ops,
	&tt_cliff_walking_v0_ops,
};

#define NBUILTIN (sizeof builtin / sizeof builtin[0])

size_t env_builtin_count(void)
{
	return NBUILTIN;
}

const struct hippo_env_ops *env_builtin(size_t i)
{
	return i < NBUILTIN ? builtin[i] : NULL;
}

const struct hippo_env_ops *env_find(const char *id)
{
	if (!id)
		return NULL;
	for (size_t i = 0; i < NBUILTIN; i++)
		if (strcmp(builtin[i]->id, id) == 0)
			return builtin[i];
	return NULL;
}

void env_suggest(const char *id, char *out, size_t outlen)
{
	if (outlen == 0)
		return;
	out[0] = '\0';
	size_t dist[NBUILTIN];
	int used[NBUILTIN] = {0};
	for (size_t i = 0; i < NBUILTIN; i++)
		dist[i] = text_edit_distance(id ? id : "", builtin[i]->id, true, TEXT_EDIT_MAX);
	size_t len = 0;
	for (int k = 0; k < 3 && k < (int)NBUILTIN; k++) {
		size_t best = NBUILTIN;
		for (size_t i = 0; i < NBUILTIN; i++)
			if (!used[i] && (best == NBUILTIN || dist[i] < dist[best]))
				best = i;
		used[best] = 1;
		int n = snprintf(out + len, outlen - len, "%s%s", k ? ", " : "", builtin[best]->id);
		if (n < 0 || (size_t)n >= outlen - len)
			break;
		len += (size_t)n;
	}
}

const char *env_dtype_name(enum hippo_dtype t)
{
	switch (t) {
	case HIPPO_DTYPE_FLOAT64:
		return "float64";
	case HIPPO_DTYPE_UINT8:
		return "uint8";
	case HIPPO_DTYPE_INT64:
		return "int64";
	default:
		return "float32";
	}
}

int env__fail(char *err, size_t errlen, const char *fmt, ...)
{
	if (err && errlen) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return -1;
}

int env__options(const char *options_json, const char *const *allowed, json_t **out, char *err,
		 size_t errlen)
{
	*out = NULL;
	if (!options_json || !options_json[0])
		return 0;
	json_error_t je;
	json_t *o = json_loads(options_json, JSON_REJECT_DUPLICATES, &je);
	if (!o)
		return env__fail(err, errlen, "options: %s (line %d)", je.text, je.line);
	if (json_is_null(o)) {
		json_decref(o);
		return 0;
	}
	if (!json_is_object(o)) {
		json_decref(o);
		return env__fail(err, errlen, "options: expected a JSON object");
	}
	const char *key;
	json_t *v;
	json_object_foreach(o, key, v)
	{
		int ok = 0;
		for (const char *const *a = allowed; a && *a; a++)
			if (strcmp(*a, key) == 0)
				ok = 1;
		if (!ok) {
			char known[256] = "";
			size_t len = 0;
			for (const char *const *a = allowed; a && *a && len < sizeof known; a++) {
				int n = snprintf(known + len, sizeof known - len, "%s%s",
						 a == allowed ? "" : ", ", *a);
				if (n < 0)
					break;
				len += (size_t)n;
			}
			env__fail(err, errlen, "options: unknown key '%s' (known: %s)", key,
				  known[0] ? known : "none");
			json_decref(o);
			return -1;
		}
	}
	*out = o;
	return 0;
}

int env__opt_number(json_t *opts, const char *key, double *v, char *err, size_t errlen)
{
	json_t *x = opts ? json_object_get(opts, key) : NULL;
	if (!x)
		return 0;
	if (!json_is_number(x) || !isfinite(json_number_value(x)))
		return env__fail(err, errlen, "options: '%s' must be a finite number", key);
	*v = json_number_value(x);
	return 0;
}

int env__opt_bool(json_t *opts, const char *key, bool *v, char *err, size_t errlen)
{
	json_t *x = opts ? json_object_get(opts, key) : NULL;
	if (!x)
		return 0;
	if (!json_is_boolean(x))
		return env__fail(err, errlen, "options: '%s' must be true or false", key);
	*v = json_is_true(x);
	return 0;
}

int env__reset_bounds(json_t *opts, double *low, double *high, char *err, size_t errlen)
{
	if (env__opt_number(opts, "low", low, err, errlen) ||
	    env__opt_number(opts, "high", high, err, errlen))
		return -1;
	if (*low > *high)
		return env__fail(err, errlen, "options: lower bound (%g) must be lower than higher bound (%g)",
				 *low, *high);
	return 0;
}

void env__empty_info(char *info, size_t infolen)
{
	if (info && infolen >= 3)
		memcpy(info, "{}", 3);
	else if (info && infolen)
		info[0] = '\0';
}

/* --- host wrapper --- */

int env_open(struct env *e, const char *id, const char *options_json, char *err, size_t errlen)
{
	memset(e, 0, sizeof *e);
	const struct hippo_env_ops *ops = env_find(id);
	if (!ops) {
		char near[200];
		env_suggest(id, near, sizeof near);
		return env__fail(err, errlen, "unknown environment '%s'; did you mean %s?",
				 id ? id : "", near);
	}
	return env_open_ops(e, ops, id, options_json, err, errlen);
}

int env_open_ops(struct env *e, const struct hippo_env_ops *ops, const char *id,
		 const char *options_json, char *err, size_t errlen)
{
	memset(e, 0, sizeof *e);
	if (!ops)
		return env__fail(err, errlen, "no environment table");
	if (ops->abi_version != HIPPO_ENV_ABI_VERSION)
		return env__fail(err, errlen,
				 "environment '%s' was built for ABI version %u, this hippo speaks %u",
				 ops->id ? ops->id : "?", ops->abi_version, HIPPO_ENV_ABI_VERSION);
	if (!ops->id || !ops->create || !ops->destroy || !ops->info || !ops->reset || !ops->step)
		return env__fail(err, errlen, "environment table '%s' lacks a required function",
				 ops->id ? ops->id : "?");
	struct hippo_env_args args = {.id = id ? id : ops->id, .options_json = options_json};
	char msg[256] = "";
	if (ops->create(&args, &e->inst, msg, sizeof msg) != 0 || !e->inst)
		return env__fail(err, errlen, "%s: %s", ops->id, msg[0] ? msg : "create failed");
	e->ops = ops;
	e->info = ops->info(e->inst);
	if (!e->info) {
		env_close(e);
		return env__fail(err, errlen, "%s: no spaces", ops->id);
	}
	const struct hippo_space *os = &e->info->observation_space;
	const struct hippo_space *as = &e->info->action_space;
	if ((os->kind == HIPPO_SPACE_BOX && (os->ndim < 0 || os->ndim > HIPPO_SPACE_MAX_DIMS)) ||
	    (as->kind == HIPPO_SPACE_BOX && (as->ndim < 0 || as->ndim > HIPPO_SPACE_MAX_DIMS)) ||
	    (as->kind == HIPPO_SPACE_DISCRETE && as->n <= 0)) {
		env_close(e);
		return env__fail(err, errlen, "%s: invalid spaces", ops->id);
	}
	e->obs_n = hippo_space_size(os);
	e->obs = calloc(e->obs_n ? e->obs_n : 1, sizeof *e->obs);
	if (!e->obs) {
		env_close(e);
		return env__fail(err, errlen, "%s: out of memory", ops->id);
	}
	e->needs_reset = 1;
	return 0;
}

int env_reset(struct env *e, const uint64_t *seed, char *info, size_t infolen)
{
	char scratch[8];
	if (!info) {
		info = scratch;
		infolen = sizeof scratch;
	}
	e->err[0] = '\0';
	if (e->ops->reset(e->inst, seed, e->obs, info, infolen, e->err, sizeof e->err) != 0) {
		if (!e->err[0])
			snprintf(e->err, sizeof e->err, "reset failed");
		return -1;
	}
	e->elapsed_steps = 0;
	e->needs_reset = 0;
	return 0;
}

/* Checks ACTION against the action space: Discrete actions must be integral
 * and within [start, start + n); Box actions must be finite (and within
 * float32's range for a float32 space). Box values
 * outside [low, high] are passed on, as in Gymnasium, whose environments clip
 * them themselves. */
static int check_action(struct env *e, const double *action)
{
	const struct hippo_space *s = &e->info->action_space;
	if (s->kind == HIPPO_SPACE_DISCRETE) {
		double a = action[0];
		if (!isfinite(a) || a != floor(a))
			return env__fail(e->err, sizeof e->err, "action %g is not an integer", a);
		if (a < (double)s->start || a >= (double)(s->start + s->n))
			return env__fail(e->err, sizeof e->err,
					 "action %g out of range: expected an integer in [%lld, %lld]", a,
					 (long long)s->start, (long long)(s->start + s->n - 1));
		return 0;
	}
	size_t n = hippo_space_size(s);
	for (size_t i = 0; i < n; i++) {
		if (!isfinite(action[i]))
			return env__fail(e->err, sizeof e->err,
					 "action[%zu] is %s: actions must be finite numbers", i,
					 isnan(action[i]) ? "NaN" : "infinite");
		/* a float32 space would see it as infinite */
		if (s->dtype == HIPPO_DTYPE_FLOAT32 && fabs(action[i]) > FLT_MAX)
			return env__fail(e->err, sizeof e->err,
					 "action[%zu] = %g is beyond float32's range", i, action[i]);
	}
	return 0;
}

int env_step(struct env *e, const double *action, struct hippo_step_result *res, char *info,
	     size_t infolen)
{
	char scratch[8];
	if (!info) {
		info = scratch;
		infolen = sizeof scratch;
	}
	e->err[0] = '\0';
	if (e->needs_reset)
		return env__fail(e->err, sizeof e->err,
				 "the episode is over (or not started): reset before stepping");
	if (check_action(e, action) != 0)
		return -1;
	memset(res, 0, sizeof *res);
	if (e->ops->step(e->inst, action, e->obs, res, info, infolen, e->err, sizeof e->err) != 0) {
		if (!e->err[0])
			snprintf(e->err, sizeof e->err, "step failed");
		return -1;
	}
	e->elapsed_steps++;
	int limit = e->info->meta.max_episode_steps;
	if (limit > 0 && e->elapsed_steps >= limit)
		res->truncated = true;
	if (res->terminated || res->truncated)
		e->needs_reset = 1;
	return 0;
}

int env_render(struct env *e, uint8_t *rgb, size_t stride)
{
	e->err[0] = '\0';
	if (!e->ops->render)
		return env__fail(e->err, sizeof e->err, "%s cannot render", e->ops->id);
	if (stride < (size_t)e->info->meta.render_width * 3)
		return env__fail(e->err, sizeof e->err, "render stride too small");
	if (e->ops->render(e->inst, rgb, stride, e->err, sizeof e->err) != 0) {
		if (!e->err[0])
			snprintf(e->err, sizeof e->err, "render failed");
		return -1;
	}
	return 0;
}

void env_close(struct env *e)
{
	if (e->ops && e->inst)
		e->ops->destroy(e->inst);
	free(e->obs);
	memset(e, 0, sizeof *e);
}
