/* con_studies: the studies page (every project with its live switch, version,
 * participants started, completed and dropped, groups and their sizes) and
 * the funnel of one project (participants at each step, completion, time per
 * step, drop-off). Read from the console's read-only store connection with
 * aggregate queries: a page costs a few indexed queries whatever the number
 * of participants, except the funnel's times, which read the first request
 * of each participant once (the result kept for CON_FUNNEL_TTL_MS). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "console/con_int.h"
#include "core/clock.h"
#include "core/config.h"
#include "flow/flow.h"
#include "store/store.h"

#define CON_FUNNEL_TTL_MS 5000 /* a funnel computed this recently is answered again */
#define CON_FUNNELS 16         /* projects whose funnel is kept */

/* The cutoff of "dropped": store times before now - IDLE_MIN minutes. */
static void idle_cutoff(long long idle_min, char *out, size_t len)
{
	int64_t t = clock_wall_ms() - idle_min * 60000;
	clock_iso8601(t, out, len);
}

/* ------------------------------------------------------------ studies */

struct counts {
	long long total, completed;
	json_t *steps; /* {"<step>": n} */
};

static int count_step(void *user, const struct store_step_count_row *r)
{
	struct counts *k = user;
	k->total += r->count;
	if (r->status && strcmp(r->status, "completed") == 0)
		k->completed += r->count;
	char key[16];
	snprintf(key, sizeof key, "%d", r->step);
	json_t *v = json_object_get(k->steps, key);
	json_object_set_new(k->steps, key,
			    json_integer((v ? json_integer_value(v) : 0) + r->count));
	return 0;
}

static int count_group(void *user, const struct store_group_count_row *r)
{
	json_t *groups = user; /* [{n, sizes: [...]}] */
	json_t *last = json_array_get(groups, json_array_size(groups) - 1);
	if (!last || json_integer_value(json_object_get(last, "variants")) != r->n) {
		last = json_pack("{s:i,s:[]}", "variants", r->n, "sizes");
		json_array_append_new(groups, last);
		json_t *sizes = json_object_get(last, "sizes");
		for (int i = 0; i < r->n && i < 1000; i++)
			json_array_append_new(sizes, json_integer(0));
	}
	json_t *sizes = json_object_get(last, "sizes");
	if (r->group >= 0 && (size_t)r->group < json_array_size(sizes))
		json_array_set_new(sizes, (size_t)r->group, json_integer(r->count));
	return 0;
}

/* The steps of CFG: [{step, file, game, variants}], the final step last. */
static json_t *steps_json(const struct cfg *cfg)
{
	json_t *a = json_array();
	for (size_t i = 0; i < cfg->project.nsteps; i++) {
		const struct cfg_step *s = &cfg->project.steps[i];
		json_array_append_new(a, json_pack("{s:i,s:s?,s:b,s:i}", "step", s->number, "file",
						   s->file, "game", s->is_game, "variants",
						   s->nvariants));
	}
	const struct cfg_step *f = &cfg->project.final_step;
	json_array_append_new(a, json_pack("{s:i,s:s?,s:b,s:i,s:b}", "step", f->number, "file",
					   f->file, "game", false, "variants", f->nvariants, "final",
					   true));
	return a;
}

static int study_json(struct console *c, const struct flow_project_view *v, const char *cutoff,
		      json_t **out)
{
	const struct cfg_project *p = &v->cfg->project;
	struct counts k = {.steps = json_object()};
	json_t *groups = json_array();
	long long dropped = 0;
	struct store_find q = {.project_id = p->id, .status = "active", .updated_before = cutoff};
	if (store_step_counts_each(c->ro, p->id, count_step, &k) < 0 ||
	    store_group_counts_each(c->ro, p->id, count_group, groups) < 0 ||
	    store_participants_find(c->ro, &q, NULL, NULL, &dropped) < 0) {
		json_decref(k.steps);
		json_decref(groups);
		return -1;
	}
	*out = json_pack("{s:s,s:s?,s:s?,s:b,s:i,s:b,s:s?,s:i,s:I,s:I,s:I,s:I,s:o,s:o,s:o}", "id",
			 p->id, "name", p->name, "researcher", p->researcher, "live", v->live,
			 "version", v->version, "deployed", v->deployed, "game", v->cfg->trial.game,
			 "totalSteps", (int)p->nsteps, "started", (json_int_t)k.total, "completed",
			 (json_int_t)k.completed, "dropped", (json_int_t)dropped, "inProgress",
			 (json_int_t)(k.total - k.completed - dropped), "atStep", k.steps, "groups",
			 groups, "steps", steps_json(v->cfg));
	/* the study's preview link (flow.h): a participant left out of groups and counts */
	char pv[FLOW_PREVIEW_LEN + 1], link[160];
	if (*out && flow_preview_value(c->o.flow, p->id, pv, sizeof pv) == 0 &&
	    snprintf(link, sizeof link, "/?projectId=%s&preview=%s", p->id, pv) < (int)sizeof link)
		json_object_set_new(*out, "preview", json_string(link));
	return 0;
}

int con__studies(struct console *c, struct con_job *j)
{
	long long idle;
	if (con__query_int(j, "idleMinutes", CON_IDLE_MIN_DEFAULT, 0, 525600, &idle) < 0)
		return 400;
	char cutoff[32];
	idle_cutoff(idle, cutoff, sizeof cutoff);
	struct flow_project_view *v;
	size_t n = flow_project_views(c->o.flow, NULL, &v);
	json_t *list = json_array();
	for (size_t i = 0; i < n; i++) {
		json_t *s;
		if (study_json(c, &v[i], cutoff, &s) < 0) {
			free(v);
			json_decref(list);
			return con__fail(j, 500, "participant store: %s", store_errmsg(c->ro));
		}
		json_array_append_new(list, s);
	}
	free(v);
	j->out = json_pack("{s:o,s:I}", "studies", list, "idleMinutes", (json_int_t)idle);
	return 200;
}

/* ------------------------------------------------------------ funnel */

/* The durations on each step of one project, gathered from the first-seen
 * times: for participant P, the time on step k is when it first saw the step
 * after k minus when it first saw k. */
struct times {
	const struct cfg *cfg;
	int *next;                 /* next[k]: the step after k (index by step number) */
	int maxstep;
	int64_t **ms;              /* per step number: durations */
	size_t *n, *cap;
	long long cur;             /* the participant being read */
	int64_t *first;            /* its first-seen times per step (-1: none) */
	bool oom;
};

static void flush_participant(struct times *t)
{
	for (int k = 1; k <= t->maxstep; k++) {
		int nx = t->next[k];
		if (nx <= 0 || nx > t->maxstep || t->first[k] < 0 || t->first[nx] < 0 ||
		    t->first[nx] < t->first[k])
			continue;
		if (t->n[k] == t->cap[k]) {
			size_t cap = t->cap[k] ? t->cap[k] * 2 : 1024;
			int64_t *p = realloc(t->ms[k], cap * sizeof *p);
			if (!p) {
				t->oom = true;
				return;
			}
			t->ms[k] = p;
			t->cap[k] = cap;
		}
		t->ms[k][t->n[k]++] = t->first[nx] - t->first[k];
	}
	for (int k = 0; k <= t->maxstep; k++)
		t->first[k] = -1;
}

static int step_time_row(void *user, const struct store_step_time_row *r)
{
	struct times *t = user;
	if (r->participant != t->cur) {
		if (t->cur)
			flush_participant(t);
		t->cur = r->participant;
	}
	if (r->step >= 1 && r->step <= t->maxstep) {
		int64_t ms = con__time_ms(r->first);
		if (ms >= 0 && (t->first[r->step] < 0 || ms < t->first[r->step]))
			t->first[r->step] = ms;
	}
	return t->oom ? -1 : 0;
}

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	return x < y ? -1 : x > y;
}

/* The value at quantile Q of the N sorted values V (nearest rank). */
static int64_t quantile(const int64_t *v, size_t n, double q)
{
	size_t i = (size_t)ceil(q * (double)n);
	return v[i ? i - 1 : 0];
}

struct con_funnel_entry {
	char project[ID_MAX + 1];
	int version;
	long long idle;
	int64_t at;   /* clock_mono_ms when computed */
	json_t *json;
};

struct con_funnels {
	pthread_mutex_t mu;
	struct con_funnel_entry e[CON_FUNNELS];
};

struct con_funnels *con__funnels_new(void)
{
	struct con_funnels *f = calloc(1, sizeof *f);
	if (f)
		pthread_mutex_init(&f->mu, NULL);
	return f;
}

void con__funnels_clear(struct con_funnels *f)
{
	pthread_mutex_lock(&f->mu);
	for (int i = 0; i < CON_FUNNELS; i++) {
		json_decref(f->e[i].json);
		f->e[i].json = NULL;
	}
	pthread_mutex_unlock(&f->mu);
}

void con__funnels_free(struct con_funnels *f)
{
	if (!f)
		return;
	for (int i = 0; i < CON_FUNNELS; i++)
		json_decref(f->e[i].json);
	pthread_mutex_destroy(&f->mu);
	free(f);
}

/* Computes the funnel of project V at idle cutoff CUTOFF. */
static json_t *funnel_compute(struct console *c, const struct flow_project_view *v,
			      const char *cutoff, long long idle, char *err, size_t errlen)
{
	const struct cfg *cfg = v->cfg;
	const struct cfg_project *p = &cfg->project;
	int64_t t0 = clock_mono_ms();
	int maxstep = p->final_step.number;
	struct times t = {.cfg = cfg, .maxstep = maxstep};
	struct counts k = {.steps = json_object()};
	json_t *out = NULL;
	t.next = calloc((size_t)maxstep + 1, sizeof *t.next);
	t.ms = calloc((size_t)maxstep + 1, sizeof *t.ms);
	t.n = calloc((size_t)maxstep + 1, sizeof *t.n);
	t.cap = calloc((size_t)maxstep + 1, sizeof *t.cap);
	t.first = malloc(((size_t)maxstep + 1) * sizeof *t.first);
	if (!t.next || !t.ms || !t.n || !t.cap || !t.first) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	for (int i = 0; i <= maxstep; i++)
		t.first[i] = -1;
	for (size_t i = 0; i < p->nsteps; i++)
		t.next[p->steps[i].number] =
			i + 1 < p->nsteps ? p->steps[i + 1].number : p->final_step.number;
	if (store_step_counts_each(c->ro, p->id, count_step, &k) < 0 ||
	    store_step_times_each(c->ro, p->id, step_time_row, &t) < 0) {
		snprintf(err, errlen, "participant store: %s",
			 t.oom ? "out of memory" : store_errmsg(c->ro));
		goto out;
	}
	if (t.cur)
		flush_participant(&t);
	json_t *steps = json_array();
	json_t *list = steps_json(cfg);
	long long dropped_all = 0;
	size_t i;
	json_t *s;
	json_array_foreach(list, i, s)
	{
		int num = (int)json_integer_value(json_object_get(s, "step"));
		bool final = json_is_true(json_object_get(s, "final"));
		/* reached: at this step or past it now */
		long long reached = 0, here = 0;
		const char *key;
		json_t *cv;
		json_object_foreach(k.steps, key, cv)
		{
			int st = (int)strtol(key, NULL, 10);
			if (st >= num)
				reached += json_integer_value(cv);
			if (st == num)
				here = json_integer_value(cv);
		}
		long long idle_here = 0;
		struct store_find q = {.project_id = p->id,
				       .step = num,
				       .status = "active",
				       .updated_before = cutoff};
		if (!final && store_participants_find(c->ro, &q, NULL, NULL, &idle_here) < 0) {
			snprintf(err, errlen, "participant store: %s", store_errmsg(c->ro));
			json_decref(steps);
			json_decref(list);
			goto out;
		}
		dropped_all += idle_here;
		json_t *row = json_copy(s);
		json_object_set_new(row, "reached", json_integer(reached));
		json_object_set_new(row, "here", json_integer(here));
		if (!final) {
			json_object_set_new(row, "continued", json_integer(reached - here));
			json_object_set_new(row, "dropped", json_integer(idle_here));
			json_object_set_new(row, "inProgress", json_integer(here - idle_here));
			size_t n = t.n[num];
			json_object_set_new(row, "timed", json_integer((json_int_t)n));
			if (n > 0) {
				qsort(t.ms[num], n, sizeof *t.ms[num], cmp_i64);
				json_object_set_new(row, "medianMs",
						    json_integer(quantile(t.ms[num], n, 0.5)));
				json_object_set_new(row, "p90Ms",
						    json_integer(quantile(t.ms[num], n, 0.9)));
			} else {
				json_object_set_new(row, "medianMs", json_null());
				json_object_set_new(row, "p90Ms", json_null());
			}
		}
		json_array_append_new(steps, row);
	}
	json_decref(list);
	char now[32];
	clock_iso8601_now(now, sizeof now);
	out = json_pack("{s:s,s:i,s:s,s:I,s:I,s:I,s:I,s:o,s:I,s:o}", "project", p->id, "version",
			v->version, "computedAt", now, "idleMinutes", (json_int_t)idle, "started",
			(json_int_t)k.total, "completed", (json_int_t)k.completed, "dropped",
			(json_int_t)dropped_all, "completionRate",
			k.total ? json_real((double)k.completed / (double)k.total) : json_null(),
			"ms", (json_int_t)(clock_mono_ms() - t0), "steps", steps);
out:
	json_decref(k.steps);
	for (int x = 0; t.ms && x <= maxstep; x++)
		free(t.ms[x]);
	free(t.ms);
	free(t.n);
	free(t.cap);
	free(t.next);
	free(t.first);
	return out;
}

int con__funnel(struct console *c, struct con_job *j)
{
	long long idle;
	if (con__query_int(j, "idleMinutes", CON_IDLE_MIN_DEFAULT, 0, 525600, &idle) < 0)
		return 400;
	struct flow_project_view *v;
	if (flow_project_views(c->o.flow, j->project, &v) != 1) {
		free(v);
		return con__fail(j, 404, "no such project");
	}
	struct con_funnels *f = c->funnels;
	int64_t now = clock_mono_ms();
	pthread_mutex_lock(&f->mu);
	for (int i = 0; i < CON_FUNNELS; i++) {
		struct con_funnel_entry *e = &f->e[i];
		if (e->json && strcmp(e->project, j->project) == 0 && e->version == v->version &&
		    e->idle == idle && now - e->at < CON_FUNNEL_TTL_MS) {
			j->out = json_incref(e->json);
			pthread_mutex_unlock(&f->mu);
			free(v);
			return 200;
		}
	}
	pthread_mutex_unlock(&f->mu);
	char cutoff[32];
	idle_cutoff(idle, cutoff, sizeof cutoff);
	json_t *out = funnel_compute(c, v, cutoff, idle, j->err, sizeof j->err);
	if (!out) {
		free(v);
		return 500;
	}
	pthread_mutex_lock(&f->mu);
	struct con_funnel_entry *slot = &f->e[0];
	for (int i = 0; i < CON_FUNNELS; i++) {
		struct con_funnel_entry *e = &f->e[i];
		if (!e->json || strcmp(e->project, j->project) == 0) {
			slot = e;
			break;
		}
		if (e->at < slot->at)
			slot = e;
	}
	json_decref(slot->json);
	snprintf(slot->project, sizeof slot->project, "%s", j->project);
	slot->version = v->version;
	slot->idle = idle;
	slot->at = clock_mono_ms();
	slot->json = json_incref(out);
	pthread_mutex_unlock(&f->mu);
	free(v);
	j->out = out;
	return 200;
}
