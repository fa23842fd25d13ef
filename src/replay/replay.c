/* replay: see replay.h. */
#include "replay/replay.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/datapath.h"
#include "core/id.h"
#include "dataset/walk.h"
#include "export/records.h"

int rp_open(struct replay *r, const char *env_id, const char *options_json, uint64_t seed,
	    char *err, size_t errlen)
{
	memset(r, 0, sizeof *r);
	if (env_open(&r->env, env_id, options_json, err, errlen) != 0)
		return -1;
	r->open = true;
	r->seed = seed;
	return 0;
}

int rp_reset(struct replay *r, char *err, size_t errlen)
{
	uint64_t seed = r->seed;
	r->info[0] = '\0';
	if (env_reset(&r->env, r->episodes == 0 ? &seed : NULL, r->info, sizeof r->info) != 0) {
		snprintf(err, errlen, "reset: %s", r->env.err);
		return -1;
	}
	r->episodes++;
	r->step = 0;
	r->done = false;
	memset(&r->last, 0, sizeof r->last);
	return 0;
}

int rp_step(struct replay *r, const double *action, char *err, size_t errlen)
{
	r->info[0] = '\0';
	if (env_step(&r->env, action, &r->last, r->info, sizeof r->info) != 0) {
		snprintf(err, errlen, "step %lld: %s", r->step + 1, r->env.err);
		return -1;
	}
	r->step++;
	r->done = r->last.terminated || r->last.truncated;
	return 0;
}

const double *rp_obs(const struct replay *r, size_t *n)
{
	*n = r->env.obs_n;
	return r->env.obs;
}

int rp_action_of(const struct replay *r, json_t *rec, double *action, char *why, size_t whylen)
{
	const struct hippo_space *as = &r->env.info->action_space;
	size_t n = hippo_space_size(as);
	if (as->kind == HIPPO_SPACE_DISCRETE) {
		json_t *a = json_object_get(rec, "action");
		if (!json_is_integer(a)) {
			snprintf(why, whylen, "no integer \"action\"");
			return -1;
		}
		action[0] = (double)json_integer_value(a) + (double)as->start;
		return 0;
	}
	json_t *ea = json_object_get(rec, "envAction");
	if (!ea) {
		/* the trial server applies the zero action in play mode; agent modes
		 * need the recorded vector */
		if (json_object_get(rec, "mode")) {
			snprintf(why, whylen, "the continuous action applied was not recorded "
					      "(no \"envAction\")");
			return -1;
		}
		memset(action, 0, n * sizeof *action);
		return 0;
	}
	if (!json_is_array(ea) || json_array_size(ea) != n) {
		snprintf(why, whylen, "\"envAction\" is not an array of %zu numbers", n);
		return -1;
	}
	for (size_t i = 0; i < n; i++) {
		json_t *v = json_array_get(ea, i);
		if (!json_is_number(v)) {
			snprintf(why, whylen, "envAction[%zu] is not a number", i);
			return -1;
		}
		action[i] = json_number_value(v);
	}
	return 0;
}

/* The value as the recorder printed it, read back. */
static double as_printed(double v, bool f32)
{
	char buf[40];
	snprintf(buf, sizeof buf, f32 ? "%.9g" : "%.17g", v);
	return strtod(buf, NULL);
}

/* A recorded value for a message (reals as the recorder prints them). */
static void num_text(json_t *v, bool f32, char *out, size_t cap)
{
	if (json_is_integer(v))
		snprintf(out, cap, "%lld", (long long)json_integer_value(v));
	else if (json_is_real(v))
		snprintf(out, cap, f32 ? "%.9g" : "%.17g", json_real_value(v));
	else if (json_is_null(v))
		snprintf(out, cap, "null");
	else if (json_is_true(v) || json_is_false(v))
		snprintf(out, cap, "%s", json_is_true(v) ? "true" : "false");
	else
		snprintf(out, cap, "%s", v ? "(not a number)" : "(absent)");
}

static int compare_obs(const struct replay *r, json_t *rec, char *why, size_t whylen)
{
	json_t *o = json_object_get(rec, "observation");
	bool f32 = r->env.info->observation_space.dtype != HIPPO_DTYPE_FLOAT64;
	if (!json_is_array(o)) {
		snprintf(why, whylen, "no \"observation\" array");
		return 1;
	}
	if (json_array_size(o) != r->env.obs_n) {
		snprintf(why, whylen, "observation has %zu values, re-simulated %zu",
			 json_array_size(o), r->env.obs_n);
		return 1;
	}
	for (size_t i = 0; i < r->env.obs_n; i++) {
		double v = r->env.obs[i];
		json_t *x = json_array_get(o, i);
		bool same;
		if (!isfinite(v))
			same = json_is_null(x);
		else
			same = json_is_number(x) && json_number_value(x) == as_printed(v, f32);
		if (!same) {
			char got[48];
			num_text(x, f32, got, sizeof got);
			snprintf(why, whylen, f32 ? "observation[%zu]: recorded %s, re-simulated %.9g"
						  : "observation[%zu]: recorded %s, re-simulated %.17g",
				 i, got, v);
			return 1;
		}
	}
	return 0;
}

static int compare_info(const struct replay *r, json_t *rec, char *why, size_t whylen)
{
	json_t *ri = json_object_get(rec, "info");
	bool empty = !r->info[0] || strcmp(r->info, "{}") == 0;
	if (empty) {
		if (ri) {
			snprintf(why, whylen, "info recorded, none re-simulated");
			return 1;
		}
		return 0;
	}
	json_t *si = json_loads(r->info, 0, NULL);
	int diff = !ri || !si || !json_equal(ri, si);
	if (diff) {
		char *rt = ri ? json_dumps(ri, JSON_COMPACT) : NULL;
		snprintf(why, whylen, "info: recorded %.200s, re-simulated %.200s",
			 rt ? rt : "(absent)", r->info);
		free(rt);
	}
	json_decref(si);
	return diff;
}

int rp_compare(const struct replay *r, json_t *rec, bool is_step, char *why, size_t whylen)
{
	json_t *st = json_object_get(rec, "step");
	if (!json_is_integer(st) || json_integer_value(st) != r->step) {
		char got[48];
		num_text(st, false, got, sizeof got);
		snprintf(why, whylen, "\"step\" is %s, expected %lld", got, r->step);
		return 1;
	}
	if (is_step) {
		double want = as_printed(isfinite(r->last.reward) ? r->last.reward : 0.0, false);
		json_t *rw = json_object_get(rec, "reward");
		if (!json_is_number(rw) || json_number_value(rw) != want) {
			char got[48];
			num_text(rw, false, got, sizeof got);
			snprintf(why, whylen, "reward: recorded %s, re-simulated %.17g", got, want);
			return 1;
		}
		static const char *const flag[2] = {"terminated", "truncated"};
		bool sim[2] = {r->last.terminated, r->last.truncated};
		for (int k = 0; k < 2; k++) {
			json_t *f = json_object_get(rec, flag[k]);
			if (!json_is_boolean(f) || json_is_true(f) != sim[k]) {
				char got[48];
				num_text(f, false, got, sizeof got);
				snprintf(why, whylen, "%s: recorded %s, re-simulated %s", flag[k], got,
					 sim[k] ? "true" : "false");
				return 1;
			}
		}
	}
	if (compare_obs(r, rec, why, whylen))
		return 1;
	return compare_info(r, rec, why, whylen);
}

void rp_close(struct replay *r)
{
	if (r->open)
		env_close(&r->env);
	memset(r, 0, sizeof *r);
}

/* ------------------------------------------------------------ one episode */

struct rp_episode {
	struct replay r;
	char *env_id, *options;
	uint64_t seed;
	int episode;              /* the target (1-based) */
	long long *len;           /* steps recorded in episodes 1..episode */
	double *actions;          /* all their actions, dim values each */
	size_t dim, nact, cap;
	bool positioned;          /* r is in the target episode at r.step */
};

static int push_action(struct rp_episode *e, const double *a)
{
	if (buf_grow_array((void **)&e->actions, &e->cap, e->nact + 1, e->dim * sizeof *a, 256,
			   0) < 0)
		return -1;
	memcpy(e->actions + e->nact * e->dim, a, e->dim * sizeof *a);
	e->nact++;
	return 0;
}

/* Reads the trial's step lines of episodes 1..e->episode from the
 * participant's record files, in file order, which is episode order for both
 * layouts (episode_<n>.jsonl, or trial.jsonl written in order): the actions of
 * each episode are contiguous in e->actions. SEEN[k] tells whether episode
 * k+1 has any line. */
static int load_actions(struct rp_episode *e, const char *dir, const char *trial_id, bool *seen,
			char *err, size_t errlen)
{
	char **files = NULL;
	long nf = datapath_list_data_files(dir, &files);
	if (nf < 0) {
		snprintf(err, errlen, "cannot list %s: %s", dir, strerror(errno));
		return -1;
	}
	int rc = 0;
	long long last_ep = 0;
	double act[RP_MAX_ACTION];
	for (long i = 0; i < nf && rc == 0; i++) {
		char path[4400];
		snprintf(path, sizeof path, "%s/%s", dir, files[i]);
		FILE *f = fopen(path, "r");
		if (!f)
			continue;
		struct rr rd;
		rr_init(&rd, f, 0);
		for (;;) {
			json_t *j;
			char lerr[256], why[256];
			int k = rr_next(&rd, &j, lerr, sizeof lerr);
			if (k == 0 || k == -2)
				break;
			if (k < 0)
				continue;
			const char *tid = json_string_value(json_object_get(j, "trialId"));
			json_t *epj = json_object_get(j, "episode");
			long long ep = json_is_integer(epj) ? json_integer_value(epj) : 0;
			if (!tid || strcmp(tid, trial_id) != 0 || ep < 1 || ep > e->episode ||
			    json_object_get(j, "end")) {
				json_decref(j);
				continue;
			}
			seen[ep - 1] = true;
			long long step = json_integer_value(json_object_get(j, "step"));
			if (ep < last_ep) {
				snprintf(err, errlen, "%s: episode %lld after episode %lld", files[i],
					 ep, last_ep);
				rc = -1;
			} else if (json_object_get(j, "reset")) {
				/* the reset line: nothing to apply */
			} else if (step != e->len[ep - 1] + 1) {
				snprintf(err, errlen, "%s: episode %lld: step %lld follows step %lld",
					 files[i], ep, step, e->len[ep - 1]);
				rc = -1;
			} else if (rp_action_of(&e->r, j, act, why, sizeof why) != 0) {
				snprintf(err, errlen, "%s: episode %lld step %lld: %s", files[i], ep,
					 step, why);
				rc = -1;
			} else if ((rc = push_action(e, act)) == 0) {
				e->len[ep - 1]++;
			}
			last_ep = ep;
			json_decref(j);
			if (rc)
				break;
		}
		rr_free(&rd);
		fclose(f);
	}
	datapath_list_free(files);
	if (rc == 0)
		for (int k = 0; k < e->episode; k++)
			if (!seen[k]) {
				snprintf(err, errlen, "trial %s: episode %d has no records", trial_id,
					 k + 1);
				rc = -1;
				break;
			}
	return rc;
}

struct rp_episode *rp_episode_open(const char *data_dir, const char *project, const char *user,
				   const char *trial_id, int episode, char *err, size_t errlen)
{
	if (!id_valid_project(project) || !id_valid_user(user) || !trial_id || episode < 1 ||
	    episode > RP_MAX_EPISODE) {
		snprintf(err, errlen, "invalid project, user, trial or episode");
		return NULL;
	}
	char dir[4096];
	datapath_participant(dir, sizeof dir, data_dir, project, user);
	struct dw_trials t = {0};
	if (dw_load_trials(dir, user, &t) != 0) {
		dw_trials_free(&t);
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	const struct dw_trial *tr = dw_trial_find(&t, user, trial_id);
	struct rp_episode *e = NULL;
	bool *seen = NULL;
	if (!tr) {
		snprintf(err, errlen, "no start line for trial %s in %s/" DATAPATH_META, trial_id, dir);
		goto fail;
	}
	if (!tr->has_seed) {
		snprintf(err, errlen, "trial %s: no seed recorded", trial_id);
		goto fail;
	}
	if (tr->source && strcmp(tr->source, "builtin") != 0) {
		snprintf(err, errlen, "trial %s: environment %s is a %s, not built in", trial_id,
			 tr->game, tr->source);
		goto fail;
	}
	e = calloc(1, sizeof *e);
	if (!e || !(e->len = calloc((size_t)episode, sizeof *e->len))) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	e->episode = episode;
	e->seed = tr->seed;
	e->env_id = strdup(tr->game);
	e->options = tr->options ? strdup(tr->options) : NULL;
	if (!e->env_id || rp_open(&e->r, e->env_id, e->options, e->seed, err, errlen) != 0)
		goto fail;
	e->dim = hippo_space_size(&e->r.env.info->action_space);
	if (e->dim > RP_MAX_ACTION) {
		snprintf(err, errlen, "actions of %zu values are not supported", e->dim);
		goto fail;
	}
	seen = calloc((size_t)episode, sizeof *seen);
	if (!seen) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	if (load_actions(e, dir, trial_id, seen, err, errlen) != 0)
		goto fail;
	free(seen);
	dw_trials_free(&t);
	if (rp_episode_seek(e, 0, err, errlen) != 0) {
		rp_episode_close(e);
		return NULL;
	}
	return e;
fail:
	free(seen);
	dw_trials_free(&t);
	rp_episode_close(e);
	return NULL;
}

long long rp_episode_steps(const struct rp_episode *e)
{
	return e->len[e->episode - 1];
}

int rp_episode_seek(struct rp_episode *e, long long step, char *err, size_t errlen)
{
	long long n = rp_episode_steps(e);
	if (step < 0 || step > n) {
		snprintf(err, errlen, "step %lld out of range [0, %lld]", step, n);
		return -1;
	}
	size_t base = 0;
	for (int k = 0; k < e->episode - 1; k++)
		base += (size_t)e->len[k];
	if (!e->positioned || step < e->r.step) {
		rp_close(&e->r);
		e->positioned = false;
		if (rp_open(&e->r, e->env_id, e->options, e->seed, err, errlen) != 0)
			return -1;
		size_t at = 0;
		for (int k = 0; k < e->episode; k++) {
			if (rp_reset(&e->r, err, errlen) != 0)
				return -1;
			if (k == e->episode - 1)
				break;
			for (long long s = 0; s < e->len[k]; s++, at++) {
				if (e->r.done) {
					snprintf(err, errlen, "episode %d ended at step %lld but has "
							      "%lld recorded steps", k + 1, e->r.step,
						 e->len[k]);
					return -1;
				}
				if (rp_step(&e->r, e->actions + at * e->dim, err, errlen) != 0)
					return -1;
			}
		}
		e->positioned = true;
	}
	while (e->r.step < step) {
		if (e->r.done) {
			snprintf(err, errlen, "the episode ended at step %lld", e->r.step);
			return -1;
		}
		size_t at = base + (size_t)e->r.step;
		if (rp_step(&e->r, e->actions + at * e->dim, err, errlen) != 0)
			return -1;
	}
	return 0;
}

struct replay *rp_episode_replay(struct rp_episode *e)
{
	return &e->r;
}

int rp_episode_frame(struct rp_episode *e, uint8_t *rgb, size_t stride, int *w, int *h,
		     char *err, size_t errlen)
{
	*w = e->r.env.info->meta.render_width;
	*h = e->r.env.info->meta.render_height;
	if (!rgb)
		return 0;
	if (env_render(&e->r.env, rgb, stride) != 0) {
		snprintf(err, errlen, "%s", e->r.env.err);
		return -1;
	}
	return 0;
}

void rp_episode_close(struct rp_episode *e)
{
	if (!e)
		return;
	rp_close(&e->r);
	free(e->env_id);
	free(e->options);
	free(e->len);
	free(e->actions);
	free(e);
}
