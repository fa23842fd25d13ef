/* minari metadata: the spaces of a dataset, metadata.json (Minari's
 * serialised spaces, Gymnasium's EnvSpec JSON, hippo's own fields) and the
 * dataset ids (see minari_int.h). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/buf.h"
#include "core/clock.h"
#include "dataset/minari_int.h"

/* ------------------------------------------------------------ spaces */

int mn__space_copy(struct mn__space *d, const struct hippo_space *s)
{
	d->s = *s;
	d->s.action_names = NULL;
	d->low = d->high = NULL;
	if (s->kind != HIPPO_SPACE_BOX)
		return 0;
	size_t n = hippo_space_size(s);
	d->low = malloc((n ? n : 1) * sizeof *d->low);
	d->high = malloc((n ? n : 1) * sizeof *d->high);
	if (!d->low || !d->high)
		return -1;
	for (size_t i = 0; i < n; i++) {
		d->low[i] = s->low ? s->low[i] : -INFINITY;
		d->high[i] = s->high ? s->high[i] : INFINITY;
	}
	d->s.low = d->low;
	d->s.high = d->high;
	return 0;
}

/* Gymnasium's entry points of the environments it ships that hippo rebuilds
 * (for env_spec: gym.make needs them to recover the environment). */
static const char *entry_point(const char *id)
{
	static const char *const map[][2] = {
		{"CartPole-", "gymnasium.envs.classic_control.cartpole:CartPoleEnv"},
		{"MountainCar-", "gymnasium.envs.classic_control.mountain_car:MountainCarEnv"},
		{"MountainCarContinuous-", "gymnasium.envs.classic_control.continuous_mountain_car:"
					   "Continuous_MountainCarEnv"},
		{"Acrobot-", "gymnasium.envs.classic_control.acrobot:AcrobotEnv"},
		{"Pendulum-", "gymnasium.envs.classic_control.pendulum:PendulumEnv"},
		{"FrozenLake-", "gymnasium.envs.toy_text.frozen_lake:FrozenLakeEnv"},
		{"FrozenLake8x8-", "gymnasium.envs.toy_text.frozen_lake:FrozenLakeEnv"},
		{"Taxi-", "gymnasium.envs.toy_text.taxi:TaxiEnv"},
		{"CliffWalking-", "gymnasium.envs.toy_text.cliffwalking:CliffWalkingEnv"},
	};
	for (size_t i = 0; i < sizeof map / sizeof map[0]; i++) {
		size_t n = strlen(map[i][0]);
		/* the prefix, then only a version: "CartPole-v1" */
		if (strncmp(id, map[i][0], n) == 0 && id[n] == 'v' && strchr(id + n, '-') == NULL)
			return map[i][1];
	}
	return NULL;
}

/* ------------------------------------------------------------ JSON text */

/* A bound as Python's json.dumps writes it (Infinity for inf). */
static int put_bound(struct buf *b, double v, enum hippo_dtype t)
{
	char buf[40];
	if (isnan(v))
		snprintf(buf, sizeof buf, "NaN");
	else if (isinf(v))
		snprintf(buf, sizeof buf, "%sInfinity", v < 0 ? "-" : "");
	else if (t == HIPPO_DTYPE_UINT8 || t == HIPPO_DTYPE_INT64)
		snprintf(buf, sizeof buf, "%.0f", v);
	else if (t == HIPPO_DTYPE_FLOAT32)
		snprintf(buf, sizeof buf, "%.17g", (double)(float)v);
	else
		snprintf(buf, sizeof buf, "%.17g", v);
	if (!isinf(v) && !isnan(v) && t != HIPPO_DTYPE_UINT8 && t != HIPPO_DTYPE_INT64 &&
	    !strpbrk(buf, ".eE"))
		strncat(buf, ".0", sizeof buf - strlen(buf) - 1);
	return buf_puts(b, buf);
}

/* Nested lists of SHAPE (numpy's tolist()). */
static int put_nested(struct buf *b, const double *v, const int *shape, int ndim,
		      enum hippo_dtype t, size_t *at)
{
	int rc = buf_putc(b, '[');
	for (int i = 0; i < shape[0]; i++) {
		if (i)
			rc |= buf_puts(b, ", ");
		if (ndim > 1)
			rc |= put_nested(b, v, shape + 1, ndim - 1, t, at);
		else
			rc |= put_bound(b, v[(*at)++], t);
	}
	return rc | buf_putc(b, ']');
}

/* Minari's serialize_space(): {"type": "Box", "dtype", "shape", "low", "high"}
 * or {"type": "Discrete", "dtype": "int64", "start", "n"}. */
static char *space_json(const struct hippo_space *s)
{
	struct buf b = {0};
	int rc;
	if (s->kind == HIPPO_SPACE_DISCRETE) {
		rc = buf_printf(&b,
				"{\"type\": \"Discrete\", \"dtype\": \"int64\", \"start\": %lld, "
				"\"n\": %lld}",
				(long long)s->start, (long long)s->n);
	} else {
		rc = buf_printf(&b, "{\"type\": \"Box\", \"dtype\": \"%s\", \"shape\": [",
				env_dtype_name(s->dtype));
		for (int i = 0; i < s->ndim; i++)
			rc |= buf_printf(&b, "%s%d", i ? ", " : "", s->shape[i]);
		rc |= buf_puts(&b, "], \"low\": ");
		size_t at = 0;
		int one = 1;
		const int *shape = s->ndim ? s->shape : &one;
		int ndim = s->ndim ? s->ndim : 1;
		if (s->ndim == 0) { /* a scalar Box: tolist() gives a number */
			rc |= put_bound(&b, s->low[0], s->dtype);
			rc |= buf_puts(&b, ", \"high\": ");
			rc |= put_bound(&b, s->high[0], s->dtype);
		} else {
			rc |= put_nested(&b, s->low, shape, ndim, s->dtype, &at);
			rc |= buf_puts(&b, ", \"high\": ");
			at = 0;
			rc |= put_nested(&b, s->high, shape, ndim, s->dtype, &at);
		}
		rc |= buf_putc(&b, '}');
	}
	if (rc) {
		buf_free(&b);
		return NULL;
	}
	return buf_detach(&b, NULL);
}

/* Gymnasium's EnvSpec.to_json() fields accepted by every Gymnasium 0.28..1.x
 * (order_enforce and the API-compatibility flags left to their defaults). */
static char *env_spec_json(const struct mn__ds *d)
{
	json_t *kw = d->options ? json_loads(d->options, 0, NULL) : NULL;
	if (!json_is_object(kw)) {
		json_decref(kw);
		kw = json_object();
	}
	const char *ep = d->builtin ? entry_point(d->env_id) : NULL;
	json_t *j = json_pack("{s:s,s:o,s:o,s:b,s:o,s:b,s:o,s:[],s:n}", "id", d->env_id,
			      "entry_point", ep ? json_string(ep) : json_null(), "reward_threshold",
			      isfinite(d->reward_threshold) ? json_real(d->reward_threshold)
							    : json_null(),
			      "nondeterministic", 0, "max_episode_steps",
			      d->max_episode_steps > 0 ? json_integer(d->max_episode_steps)
						       : json_null(),
			      "disable_env_checker", 0, "kwargs", kw, "additional_wrappers",
			      "vector_entry_point");
	char *s = j ? json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
	json_decref(j);
	return s;
}

/* metadata.json: Minari's dataset metadata, and hippo's own (the project,
 * the filters, the action names). */
int mn__write_metadata(const struct mn__run *r, const struct mn__ds *d)
{
	char path[4400];
	struct stat sb;
	snprintf(path, sizeof path, "%s/main_data.hdf5", d->tmp);
	double mb = stat(path, &sb) == 0 ? (double)sb.st_size / 1e6 : 0;
	char *obs = space_json(&d->obs.s), *act = space_json(&d->act.s), *spec = env_spec_json(d);
	char now[CLOCK_ISO_LEN];
	clock_iso8601_now(now, sizeof now);
	const struct mn__parts *p = &r->parts;
	char desc[600];
	snprintf(desc, sizeof desc,
		 "Human play of %s recorded with hippo in project %s%s%s%s: %lld episodes of %lld "
		 "participants.",
		 d->env_id, r->o->project_id, p->project_name ? " (" : "",
		 p->project_name ? p->project_name : "", p->project_name ? ")" : "", d->episodes,
		 d->participants);
	json_t *filters = json_pack("{s:b,s:s?,s:I,s:I}", "completed_only", r->o->completed_only,
				    "group", r->o->group, "since_ms", (json_int_t)r->o->since_ms,
				    "until_ms", (json_int_t)r->o->until_ms);
	json_t *names = json_array();
	for (size_t i = 0; d->action_names && d->action_names[i]; i++)
		json_array_append_new(names, json_string(d->action_names[i]));
	json_t *m = json_pack(
		"{s:s,s:I,s:I,s:s,s:b,s:s?,s:s?,s:s?,s:s,s:s,s:s,s:f}", "dataset_id", d->id,
		"total_episodes", (json_int_t)d->episodes, "total_steps", (json_int_t)d->steps,
		"data_format", "hdf5", "jpeg_encoding", 0, "observation_space", obs, "action_space",
		act, "env_spec", spec, "algorithm_name", "human", "description", desc,
		"minari_version", MN__FORMAT_VERSION, "dataset_size", round(mb * 10) / 10);
	if (m && p->researcher && p->researcher[0])
		json_object_set_new(m, "author", json_pack("[s]", p->researcher));
	if (m)
		json_object_set_new(
			m, "hippo",
			json_pack("{s:s,s:s,s:s,s:s,s:I,s:o,s:o}", "version", HIPPO_VERSION,
				  "project_id", r->o->project_id, "env_id", d->env_id, "created",
				  now, "participants", (json_int_t)d->participants, "action_names",
				  names, "filters", filters));
	else {
		json_decref(names);
		json_decref(filters);
	}
	free(obs);
	free(act);
	free(spec);
	snprintf(path, sizeof path, "%s/metadata.json", d->tmp);
	int rc = m && json_dump_file(m, path,
				     JSON_INDENT(1) | JSON_PRESERVE_ORDER |
					     JSON_REAL_PRECISION(12)) == 0
			 ? 0
			 : -1;
	json_decref(m);
	return rc;
}

/* ------------------------------------------------------------ dataset ids */

static bool id_valid(const char *s)
{
	if (!*s || *s == '/')
		return false;
	for (const char *p = s; *p; p++) {
		char c = *p;
		bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			  (c >= '0' && c <= '9') || c == '_' || c == '-' || c == '/';
		if (!ok || (c == '/' && (p[1] == '/' || p[1] == '\0')))
			return false;
	}
	return true;
}

int mn_dataset_id(const char *template_, const char *project, const char *env_id, int nenvs,
		  char *out, size_t cap)
{
	char env[128];
	size_t n = 0;
	for (const char *p = env_id; *p && n + 1 < sizeof env; p++) {
		char c = *p;
		bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			  (c >= '0' && c <= '9') || c == '_' || c == '-';
		env[n++] = ok ? c : '_';
	}
	env[n] = '\0';
	if (!n)
		snprintf(env, sizeof env, "unknown");
	int w;
	const char *mark = template_ ? strstr(template_, "{env}") : NULL;
	if (!template_) {
		w = snprintf(out, cap, "%s/%s/human-v0", project, env);
	} else if (mark) {
		w = snprintf(out, cap, "%.*s%s%s", (int)(mark - template_), template_, env,
			     mark + 5);
	} else if (nenvs <= 1) {
		w = snprintf(out, cap, "%s", template_);
	} else {
		const char *slash = strrchr(template_, '/');
		if (slash)
			w = snprintf(out, cap, "%.*s/%s%s", (int)(slash - template_), template_,
				     env, slash);
		else
			w = snprintf(out, cap, "%s/%s", env, template_);
	}
	if (w < 0 || (size_t)w >= cap)
		return -1;
	return id_valid(out) ? 0 : -1;
}
