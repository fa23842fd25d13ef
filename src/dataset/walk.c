/* walk: see walk.h. */
#include "dataset/walk.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <jansson.h>

#include "core/buf.h"
#include "core/datapath.h"
#include "export/records.h"

bool dw_id_valid(const char *s)
{
	size_t n = s ? strlen(s) : 0;
	if (n == 0 || n > 64)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '_' || c == '-'))
			return false;
	}
	return true;
}

/* Natural order: runs of digits compare by value. */
static int natcmp(const char *a, const char *b)
{
	while (*a && *b) {
		if (*a >= '0' && *a <= '9' && *b >= '0' && *b <= '9') {
			while (*a == '0' && a[1] >= '0' && a[1] <= '9')
				a++;
			while (*b == '0' && b[1] >= '0' && b[1] <= '9')
				b++;
			size_t la = strspn(a, "0123456789"), lb = strspn(b, "0123456789");
			if (la != lb)
				return la < lb ? -1 : 1;
			int c = strncmp(a, b, la);
			if (c)
				return c;
			a += la;
			b += lb;
			continue;
		}
		if (*a != *b)
			return (unsigned char)*a < (unsigned char)*b ? -1 : 1;
		a++;
		b++;
	}
	return *a ? 1 : *b ? -1 : 0;
}

static int natcmp_ptr(const void *a, const void *b)
{
	return natcmp(*(char *const *)a, *(char *const *)b);
}

void dw_list_free(char **list)
{
	if (!list)
		return;
	for (char **p = list; *p; p++)
		free(*p);
	free(list);
}

static bool is_kind(const char *dir, const char *name, bool want_dir)
{
	char p[4096];
	struct stat sb;
	int n = snprintf(p, sizeof p, "%s/%s", dir, name);
	if (n < 0 || (size_t)n >= sizeof p || stat(p, &sb) != 0)
		return false;
	return want_dir ? S_ISDIR(sb.st_mode) : S_ISREG(sb.st_mode);
}

static bool keep_user(const char *dir, const char *name)
{
	return dw_id_valid(name) && is_kind(dir, name, true);
}

static bool keep_record(const char *dir, const char *name)
{
	return datapath_is_data_file(name) && is_kind(dir, name, false);
}

static long list(const char *dir, bool (*keep)(const char *, const char *), char ***out)
{
	*out = NULL;
	DIR *d = opendir(dir);
	if (!d)
		return -1;
	char **v = calloc(1, sizeof *v);
	size_t n = 0, cap = 1;
	struct dirent *e;
	if (!v)
		goto fail;
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.' || !keep(dir, e->d_name))
			continue;
		if (buf_grow_array((void **)&v, &cap, n + 2, sizeof *v, 1, 0) < 0)
			goto fail;
		if (!(v[n] = strdup(e->d_name)))
			goto fail;
		v[++n] = NULL;
	}
	closedir(d);
	qsort(v, n, sizeof *v, natcmp_ptr);
	*out = v;
	return (long)n;
fail:
	dw_list_free(v);
	closedir(d);
	errno = ENOMEM;
	return -1;
}

long dw_users(const char *trials_dir, char ***out)
{
	return list(trials_dir, keep_user, out);
}

long dw_record_files(const char *user_dir, char ***out)
{
	return list(user_dir, keep_record, out);
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
	int n = snprintf(path, sizeof path, "%s/trials.jsonl", user_dir);
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
		dw_list_free(d->action_names);
	}
	free(t->v);
	memset(t, 0, sizeof *t);
}
