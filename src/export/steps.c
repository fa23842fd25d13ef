/* export: step and episode rows from the record files (see export_int.h and
 * docs/data.md, "Export"). */
#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "core/clock.h"
#include "export/export_int.h"
#include "export/records.h"

/* What a step row is made of (steps.csv). */
struct step_facts {
	const char *project, *user, *trial;
	long long episode, step, n_inputs, good, bad;
	const char *time; /* ISO 8601 of "t", NULL without */
	bool reset;
	json_t *rec;
};

#define S(field) offsetof(struct step_facts, field)
#define MEMBER(name, key) {name, EXP__MEMBER, S(rec), key, 0}

const struct exp__col exp__step_cols[] = {
	{"project_id", EXP__TEXT, S(project), NULL, 0},
	{"user_id", EXP__TEXT, S(user), NULL, 0},
	{"trial_id", EXP__TEXT, S(trial), NULL, 0},
	{"episode", EXP__INT, S(episode), NULL, 0},
	{"step", EXP__INT, S(step), NULL, 0},
	MEMBER("t_ms", "t"),
	{"time", EXP__TEXT, S(time), NULL, 0},
	MEMBER("frame_id", "frameId"),
	{"reset", EXP__BOOL, S(reset), NULL, 0},
	MEMBER("action", "action"),
	MEMBER("action_name", "actionName"),
	MEMBER("reward", "reward"),
	MEMBER("terminated", "terminated"),
	MEMBER("truncated", "truncated"),
	MEMBER("fps", "fps"),
	MEMBER("seen_frame_id", "seenFrameId"),
	MEMBER("reaction_ms", "reactionMs"),
	MEMBER("rtt_ms", "rttMs"),
	{"n_inputs", EXP__INT, S(n_inputs), NULL, 0},
	{"feedback_good", EXP__INT, S(good), NULL, 0},
	{"feedback_bad", EXP__INT, S(bad), NULL, 0},
	MEMBER("inputs", "inputs"),
	MEMBER("info", "info"),
	/* then obs_0 .. obs_<n-1> in CSV, "observation" in JSONL */
};
const size_t exp__nstep_cols = EXP__COLS(exp__step_cols);

struct exp__episode {
	char trial_id[96];
	long long episode, steps, inputs, fb_good, fb_bad;
	double ret;
	long long first_t, last_t;
	bool terminated, truncated, have_t;
};

/* What an episode row is made of (episodes.csv). */
struct episode_facts {
	const char *project, *user, *trial;
	long long episode, steps, fb_good, fb_bad, inputs;
	const char *ret, *start, *end, *duration; /* NULL when not known */
	bool terminated, truncated;
};

#define E(field) offsetof(struct episode_facts, field)

const struct exp__col exp__episode_cols[] = {
	{"project_id", EXP__TEXT, E(project), NULL, 0},
	{"user_id", EXP__TEXT, E(user), NULL, 0},
	{"trial_id", EXP__TEXT, E(trial), NULL, 0},
	{"episode", EXP__INT, E(episode), NULL, 0},
	{"steps", EXP__INT, E(steps), NULL, 0},
	{"return", EXP__NUMBER, E(ret), NULL, 0},
	{"terminated", EXP__BOOL, E(terminated), NULL, 0},
	{"truncated", EXP__BOOL, E(truncated), NULL, 0},
	{"start_time", EXP__TEXT, E(start), NULL, 0},
	{"end_time", EXP__TEXT, E(end), NULL, 0},
	{"duration_s", EXP__NUMBER, E(duration), NULL, 0},
	{"feedback_good", EXP__INT, E(fb_good), NULL, 0},
	{"feedback_bad", EXP__INT, E(fb_bad), NULL, 0},
	{"n_inputs", EXP__INT, E(inputs), NULL, 0},
};
const size_t exp__nepisode_cols = EXP__COLS(exp__episode_cols);

#define MAX_OPEN_EPISODES 100000

/* Number of leaves in a (nested) observation array. */
static long long obs_count(json_t *v, int depth)
{
	if (!json_is_array(v))
		return 1;
	if (depth > 32)
		return 0;
	long long n = 0;
	size_t i;
	json_t *e;
	json_array_foreach(v, i, e) n += obs_count(e, depth + 1);
	return n;
}

/* Writes the leaves of V (row-major) as cells until COLUMNS are written;
 * counts the ones that did not fit in *CLIPPED. */
static void obs_cells(struct exp__table *t, json_t *v, int depth, int *idx, int columns,
		      long long *clipped)
{
	if (json_is_array(v) && depth <= 32) {
		size_t i;
		json_t *e;
		json_array_foreach(v, i, e) obs_cells(t, e, depth + 1, idx, columns, clipped);
		return;
	}
	if (json_is_array(v))
		return;
	if (*idx >= columns) {
		(*clipped)++;
		return;
	}
	char name[24];
	snprintf(name, sizeof name, "obs_%d", *idx);
	exp__cell_value(t, name, v);
	(*idx)++;
}

/* The feedback in one step's inputs (rr_feedback). */
static void count_feedback(json_t *inputs, long long *good, long long *bad)
{
	size_t i;
	json_t *in;
	*good = *bad = 0;
	json_array_foreach(inputs, i, in) {
		int v = rr_feedback(in, NULL);
		if (v > 0)
			(*good)++;
		else if (v < 0)
			(*bad)++;
	}
}

static struct exp__episode *episode_find(struct exp__episodes *eps, const char *trial_id,
					 long long ep)
{
	for (size_t i = eps->n; i-- > 0;)
		if (eps->v[i].episode == ep && strcmp(eps->v[i].trial_id, trial_id) == 0)
			return &eps->v[i];
	if (buf_grow_array((void **)&eps->v, &eps->cap, eps->n + 1, sizeof *eps->v, 16, 0) < 0)
		return NULL;
	struct exp__episode *e = &eps->v[eps->n++];
	memset(e, 0, sizeof *e);
	snprintf(e->trial_id, sizeof e->trial_id, "%s", trial_id);
	e->episode = ep;
	return e;
}

void exp__episodes_write(struct exp__episodes *eps, const char *project, const char *user,
			 struct exp_stats *st)
{
	for (size_t i = 0; i < eps->n; i++) {
		const struct exp__episode *e = &eps->v[i];
		char ret[64], dur[64], t0[CLOCK_ISO_LEN], t1[CLOCK_ISO_LEN];
		exp__fmt_real(e->ret, ret, sizeof ret);
		clock_iso8601(e->first_t, t0, sizeof t0);
		clock_iso8601(e->last_t, t1, sizeof t1);
		exp__fmt_real((double)(e->last_t - e->first_t) / 1000.0, dur, sizeof dur);
		struct episode_facts f = {
			.project = project,
			.user = user,
			.trial = e->trial_id[0] ? e->trial_id : NULL,
			.episode = e->episode,
			.steps = e->steps,
			.fb_good = e->fb_good,
			.fb_bad = e->fb_bad,
			.inputs = e->inputs,
			.ret = ret,
			.start = e->have_t ? t0 : NULL,
			.end = e->have_t ? t1 : NULL,
			.duration = e->have_t ? dur : NULL,
			.terminated = e->terminated,
			.truncated = e->truncated,
		};
		exp__row_begin(eps->out);
		exp__row_cells(eps->out, exp__episode_cols, exp__nepisode_cols, &f);
		exp__row_end(eps->out);
		st->episodes++;
	}
	eps->n = 0;
}

void exp__episodes_free(struct exp__episodes *eps)
{
	free(eps->v);
	eps->v = NULL;
	eps->n = eps->cap = 0;
}

static bool json_int_of(json_t *o, const char *key, long long *out)
{
	json_t *v = json_object_get(o, key);
	if (json_is_integer(v)) {
		*out = (long long)json_integer_value(v);
		return true;
	}
	if (json_is_real(v) && isfinite(json_real_value(v)) && fabs(json_real_value(v)) < 9e15) {
		*out = (long long)json_real_value(v);
		return true;
	}
	return false;
}

/* Adds step record R (facts F) to its episode. */
static void episode_add(struct exp__episodes *eps, const struct step_facts *f, json_t *r,
			bool have_t, long long t)
{
	struct exp__episode *e = episode_find(eps, f->trial ? f->trial : "", f->episode);
	if (!e)
		return;
	json_t *rw = json_object_get(r, "reward");
	if (!f->reset)
		e->steps++;
	if (json_is_number(rw) && isfinite(json_number_value(rw)))
		e->ret += json_number_value(rw);
	e->terminated = e->terminated || json_is_true(json_object_get(r, "terminated"));
	e->truncated = e->truncated || json_is_true(json_object_get(r, "truncated"));
	e->fb_good += f->good;
	e->fb_bad += f->bad;
	e->inputs += f->n_inputs;
	if (have_t) {
		if (!e->have_t || t < e->first_t)
			e->first_t = t;
		if (!e->have_t || t > e->last_t)
			e->last_t = t;
		e->have_t = true;
	}
}

int exp__step_row(struct exp__table *t, const char *project, const char *user, json_t *r,
		  int obs_columns, struct exp__episodes *eps, struct exp_stats *st)
{
	struct step_facts f = {.rec = r};
	long long tms = 0;
	if (!json_int_of(r, "episode", &f.episode) || !json_int_of(r, "step", &f.step))
		return 0;
	bool have_t = json_int_of(r, "t", &tms);
	const char *rec_user = json_string_value(json_object_get(r, "userId"));
	const char *rec_proj = json_string_value(json_object_get(r, "projectId"));
	json_t *inputs = json_object_get(r, "inputs");
	f.project = rec_proj ? rec_proj : project;
	f.user = rec_user ? rec_user : user;
	f.trial = json_string_value(json_object_get(r, "trialId"));
	f.reset = json_is_true(json_object_get(r, "reset"));
	f.n_inputs = json_is_array(inputs) ? (long long)json_array_size(inputs) : 0;
	if (json_is_array(inputs))
		count_feedback(inputs, &f.good, &f.bad);
	char tb[CLOCK_ISO_LEN];
	if (have_t) {
		clock_iso8601(tms, tb, sizeof tb);
		f.time = tb;
	}

	exp__row_begin(t);
	exp__row_cells(t, exp__step_cols, exp__nstep_cols, &f);
	json_t *obs = json_object_get(r, "observation");
	if (t->csv) {
		int idx = 0;
		if (obs)
			obs_cells(t, obs, 0, &idx, obs_columns, &st->obs_clipped);
		for (; idx < obs_columns; idx++)
			exp__cell_raw(t, "obs", NULL);
	} else {
		exp__cell_value(t, "observation", obs);
	}
	exp__row_end(t);
	st->steps++;

	if (eps) {
		if (eps->n >= MAX_OPEN_EPISODES)
			exp__episodes_write(eps, project, user, st);
		episode_add(eps, &f, r, have_t, tms);
	}
	return 1;
}

long long exp_convert_records(FILE *in, FILE *out, enum exp_format fmt, int obs_columns,
			      struct exp_stats *st)
{
	struct exp__table t, et;
	struct rr r;
	char err[256];
	long long rows = 0;
	exp__table_on(&t, out, fmt);
	exp__table_on(&et, out, fmt);
	struct exp__episodes eps = {.out = &et};
	rr_init(&r, in, 1 << 20);
	for (;;) {
		json_t *rec;
		int rc = rr_next(&r, &rec, err, sizeof err);
		if (rc == 0 || rc == -2)
			break;
		if (rc < 0) {
			st->bad_lines++;
			continue;
		}
		rows += exp__step_row(&t, "P", "U", rec, obs_columns, &eps, st);
		json_decref(rec);
	}
	exp__episodes_write(&eps, "P", "U", st);
	exp__table_close(&t, false, NULL, 0);
	exp__table_close(&et, false, NULL, 0);
	exp__episodes_free(&eps);
	rr_free(&r);
	return rows;
}

int exp__obs_width(const struct exp__file *files, size_t n)
{
	long long w = 0;
	for (size_t i = 0; i < n; i++) {
		FILE *f = fopen(files[i].path, "r");
		if (!f)
			continue;
		struct rr r;
		rr_init(&r, f, 0);
		char err[256];
		for (int k = 0; k < 64; k++) {
			json_t *rec;
			int rc = rr_next(&r, &rec, err, sizeof err);
			if (rc == 0 || rc == -2)
				break;
			if (rc < 0)
				continue;
			json_t *obs = json_object_get(rec, "observation");
			bool found = obs != NULL;
			if (obs) {
				long long c = obs_count(obs, 0);
				if (c > w)
					w = c;
			}
			json_decref(rec);
			if (found)
				break;
		}
		rr_free(&r);
		fclose(f);
	}
	return w > EXP_MAX_OBS_COLUMNS ? EXP_MAX_OBS_COLUMNS : (int)w;
}
