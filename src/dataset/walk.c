/* walk: see walk.h. */
#include "dataset/walk.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "core/buf.h"
#include "core/datapath.h"
#include "export/records.h"

static void free_names(char **list)
{
	if (!list)
		return;
	for (char **p = list; *p; p++)
		free(*p);
	free(list);
}

const struct dw_trial *dw_trial_find(const struct dw_trials *t, const char *user, const char *id)
{
	if (!id)
		return NULL;
	for (size_t i = t->n; i-- > 0;)
		if (strcmp(t->v[i].trial_id, id) == 0 && strcmp(t->v[i].user, user) == 0)
			return &t->v[i];
	return NULL;
}

static char *dup_or_null(const char *s)
{
	return s ? strdup(s) : NULL;
}

static int add_trial(struct dw_trials *t, const char *user, json_t *j)
{
	const char *id = json_string_value(json_object_get(j, "trialId"));
	if (!id || dw_trial_find(t, user, id))
		return 0;
	if (buf_grow_array((void **)&t->v, &t->cap, t->n + 1, sizeof *t->v, 16, 0) < 0)
		return -1;
	struct dw_trial *d = &t->v[t->n];
	memset(d, 0, sizeof *d);
	json_t *env = json_object_get(j, "env");
	const char *game = json_string_value(json_object_get(env, "id"));
	if (!game)
		game = json_string_value(json_object_get(j, "game"));
	json_t *opts = json_object_get(env, "options");
	d->trial_id = strdup(id);
	d->user = strdup(user);
	d->game = strdup(game ? game : "");
	d->source = dup_or_null(json_string_value(json_object_get(env, "source")));
	d->options = opts && !json_is_null(opts) ? json_dumps(opts, JSON_COMPACT) : NULL;
	json_t *seed = json_object_get(j, "seed");
	d->has_seed = json_is_integer(seed) && json_integer_value(seed) >= 0;
	d->seed = d->has_seed ? (uint64_t)json_integer_value(seed) : 0;
	d->t = json_is_integer(json_object_get(j, "t")) ? json_integer_value(json_object_get(j, "t"))
						       : 0;
	json_t *as = json_object_get(j, "actionSpace");
	if (json_is_array(as)) {
		size_t n = json_array_size(as);
		d->action_names = calloc(n + 1, sizeof *d->action_names);
		for (size_t i = 0; d->action_names && i < n; i++) {
			const char *s = json_string_value(json_array_get(as, i));
			d->action_names[i] = strdup(s ? s : "");
		}
	}
	t->n++;
	if (!d->trial_id || !d->user || !d->game)
		return -1;
	return 0;
}

int dw_load_trials_file(FILE *f, const char *user, struct dw_trials *t)
{
	struct rr r;
	rr_init(&r, f, 1u << 20);
	int rc = 0;
	for (;;) {
		json_t *j;
		char err[256];
		int k = rr_next(&r, &j, err, sizeof err);
		if (k == 0 || k == -2)
			break;
		if (k < 0) {
			t->bad_lines++;
			continue;
		}
		const char *ev = json_string_value(json_object_get(j, "event"));
		if (ev && strcmp(ev, "start") == 0 && add_trial(t, user, j) != 0)
			rc = -1;
		json_decref(j);
		if (rc)
			break;
	}
	rr_free(&r);
	return rc;
}

int dw_load_trials(const char *user_dir, const char *user, struct dw_trials *t)
{
	char path[4096];
	int n = snprintf(path, sizeof path, "%s/" DATAPATH_META, user_dir);
	if (n < 0 || (size_t)n >= sizeof path)
		return 0;
	FILE *f = fopen(path, "r");
	if (!f)
		return 0;
	int rc = dw_load_trials_file(f, user, t);
	fclose(f);
	return rc;
}

void dw_trials_free(struct dw_trials *t)
{
	for (size_t i = 0; i < t->n; i++) {
		struct dw_trial *d = &t->v[i];
		free(d->trial_id);
		free(d->user);
		free(d->game);
		free(d->source);
		free(d->options);
		free_names(d->action_names);
	}
	free(t->v);
	memset(t, 0, sizeof *t);
}
