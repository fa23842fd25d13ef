/* config parsing: the YAML tree (ytree.c) into struct cfg. One walker visits
 * every mapping: each key is looked up in the table (config_table.h) by its
 * dotted path and its value converted by the entry's type into the field at
 * the entry's offset; unknown keys become warnings, missing required keys
 * errors. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>

#include "core/config_int.h"
#include "core/text.h"

/* ---- scalars ------------------------------------------------------------ */

bool cfg__is_scalar(const struct ytree_node *n)
{
	return n && n->kind == YTREE_SCALAR;
}

bool cfg__text_is(const struct ytree_node *n, const char *const *words)
{
	for (; *words; words++)
		if (strlen(*words) == n->len && memcmp(*words, n->text, n->len) == 0)
			return true;
	return false;
}

/* YAML 1.1 null, as PyYAML (the original's parser) reads it. */
bool cfg__is_null(const struct ytree_node *n)
{
	static const char *const words[] = {"~", "null", "Null", "NULL", NULL};
	return !n ||
	       (n->kind == YTREE_SCALAR && n->plain && (n->len == 0 || cfg__text_is(n, words)));
}

bool cfg__parse_bool(const struct ytree_node *n, bool *out)
{
	static const char *const yes[] = {"true", "True", "TRUE", "yes", "Yes", "YES",
					  "on",   "On",   "ON",   NULL};
	static const char *const no[] = {"false", "False", "FALSE", "no", "No", "NO",
					 "off",   "Off",   "OFF",   NULL};
	if (!cfg__is_scalar(n) || !n->plain)
		return false;
	if (cfg__text_is(n, yes))
		*out = true;
	else if (cfg__text_is(n, no))
		*out = false;
	else
		return false;
	return true;
}

/* Decimal integer with an optional sign, the whole text. */
bool cfg__parse_ll(const char *s, size_t len, long long *out)
{
	if (len == 0 || len > 24 || strlen(s) != len)
		return false;
	size_t i = (s[0] == '+' || s[0] == '-') ? 1 : 0;
	if (i == len)
		return false;
	for (size_t k = i; k < len; k++)
		if (s[k] < '0' || s[k] > '9')
			return false;
	errno = 0;
	char *end;
	long long v = strtoll(s, &end, 10);
	if (errno || *end)
		return false;
	*out = v;
	return true;
}

static bool parse_double(const char *s, size_t len, double *out)
{
	if (len == 0 || len > 64 || strlen(s) != len)
		return false;
	bool digit = false;
	for (size_t i = 0; i < len; i++) {
		if (s[i] >= '0' && s[i] <= '9')
			digit = true;
		else if (!strchr("+-.eE", s[i]))
			return false;
	}
	if (!digit)
		return false;
	errno = 0;
	char *end;
	double v = strtod(s, &end);
	if (errno || *end)
		return false;
	*out = v;
	return true;
}

char *cfg__dup_text(struct cfg__ld *l, const struct ytree_node *n, const char *path)
{
	if (strlen(n->text) != n->len) {
		cfg__err_at(l, n, path, "contains a NUL character");
		return NULL;
	}
	char *s = strdup(n->text);
	if (!s)
		cfg__err_at(l, n, path, "out of memory");
	return s;
}

/* ---- scalar and list conversions ---------------------------------------- */

const struct cfg__entry *cfg__find_entry(const char *path, size_t *idx)
{
	size_t nentries;
	const struct cfg__entry *table = cfg__table(&nentries);
	for (size_t i = 0; i < nentries; i++) {
		if (strcmp(table[i].path, path) == 0) {
			if (idx)
				*idx = i;
			return &table[i];
		}
	}
	return NULL;
}

static void range_error(struct cfg__ld *l, const struct ytree_node *v, const struct cfg__entry *e,
			long long x)
{
	if (e->max >= INT_MAX)
		cfg__err_at(l, v, e->path, "must be at least %lld, got %lld", e->min, x);
	else
		cfg__err_at(l, v, e->path, "must be between %lld and %lld, got %lld", e->min,
			    e->max, x);
}

static bool get_number(struct cfg__ld *l, const struct ytree_node *v, const struct cfg__entry *e,
		       long long *out)
{
	char buf[64];
	if (!cfg__is_scalar(v) || !v->plain || !cfg__parse_ll(v->text, v->len, out)) {
		if (cfg__is_scalar(v))
			cfg__err_at(l, v, e->path, "expected a whole number, got '%s'",
				    CFG__CLEAN(v, buf));
		else
			cfg__err_at(l, v, e->path, "expected a whole number, got %s",
				    ytree_kind_name(v));
		return false;
	}
	if (*out < e->min || *out > e->max) {
		range_error(l, v, e, *out);
		return false;
	}
	return true;
}

static void set_enum(struct cfg__ld *l, const struct cfg__entry *e, const struct ytree_node *v)
{
	char buf[64], list[128] = "";
	if (cfg__is_scalar(v)) {
		for (int i = 0; e->names[i]; i++) {
			if (strlen(e->names[i]) == v->len &&
			    memcmp(e->names[i], v->text, v->len) == 0) {
				*CFG__FIELD(l->c, e, int) = i;
				return;
			}
		}
	}
	for (int i = 0; e->names[i]; i++) {
		size_t n = strlen(list);
		snprintf(list + n, sizeof list - n, "%s%s", i ? ", " : "", e->names[i]);
	}
	if (cfg__is_scalar(v))
		cfg__err_at(l, v, e->path, "expected one of %s, got '%s'", list,
			    CFG__CLEAN(v, buf));
	else
		cfg__err_at(l, v, e->path, "expected one of %s, got %s", list, ytree_kind_name(v));
}

/* A list of non-empty strings: actionSpace (with count) or env.command (argv). */
static void set_strlist(struct cfg__ld *l, const struct cfg__entry *e, const struct ytree_node *v)
{
	if (v->kind != YTREE_SEQ) {
		cfg__err_at(l, v, e->path, "expected a list, got %s", ytree_kind_name(v));
		return;
	}
	if (v->n == 0) {
		cfg__err_at(l, v, e->path, "must not be empty");
		return;
	}
	char **list = calloc(v->n + 1, sizeof *list);
	if (!list) {
		cfg__err_at(l, v, e->path, "out of memory");
		return;
	}
	size_t n = 0;
	bool ok = true;
	for (size_t i = 0; i < v->n; i++) {
		const struct ytree_node *it = v->items[i];
		if (!cfg__is_scalar(it) || cfg__is_null(it) || it->len == 0) {
			cfg__err_at(l, it, e->path, "item %zu: expected non-empty text, got %s",
				    i + 1, cfg__is_scalar(it) ? "nothing" : ytree_kind_name(it));
			ok = false;
			continue;
		}
		char *s = cfg__dup_text(l, it, e->path);
		if (!s) {
			ok = false;
			continue;
		}
		list[n++] = s;
	}
	if (!ok) {
		for (size_t i = 0; i < n; i++)
			free(list[i]);
		free(list);
		return;
	}
	*CFG__FIELD(l->c, e, char **) = list;
	if (e->type == CFG_T_STRLIST)
		*(size_t *)(void *)((char *)l->c + e->off_n) = n;
}

static bool ui_known(const char *name)
{
	for (int i = 0; cfg__ui_controls[i]; i++)
		if (strcmp(cfg__ui_controls[i], name) == 0)
			return true;
	return false;
}

static int ui_add(struct cfg__ld *l, const struct ytree_node *name, char **list, size_t *n)
{
	char buf[64], path[CFG__PATH_LEN];
	snprintf(path, sizeof path, "trial.ui.%s", CFG__CLEAN(name, buf));
	char *s = cfg__dup_text(l, name, path);
	if (!s)
		return -1;
	if (!ui_known(s))
		cfg__warn_at(
			l, name, path,
			"unknown control, passed on to the page (the participant UI shows only "
			"the controls listed in docs/config.md)");
	list[(*n)++] = s;
	return 0;
}

/* trial.ui: {name: bool} (the original), or [name, ...] (its generated trial
 * config). Names set true, in file order. */
static void set_ui(struct cfg__ld *l, const struct cfg__entry *e, const struct ytree_node *v)
{
	if (v->kind == YTREE_SCALAR) {
		cfg__err_at(l, v, e->path, "expected a mapping of control: true/false, got text");
		return;
	}
	size_t step = v->kind == YTREE_MAP ? 2 : 1;
	if (v->n / step > CFG_MAX_UI) {
		cfg__err_at(l, v, e->path, "too many controls (more than %d)", CFG_MAX_UI);
		return;
	}
	char **list = calloc(v->n + 1, sizeof *list);
	if (!list) {
		cfg__err_at(l, v, e->path, "out of memory");
		return;
	}
	size_t n = 0;
	for (size_t i = 0; i < v->n; i += step) {
		const struct ytree_node *name = v->items[i];
		char buf[64], path[CFG__PATH_LEN];
		if (!cfg__is_scalar(name) || cfg__is_null(name)) {
			cfg__err_at(l, name, e->path, "expected a control name, got %s",
				    cfg__is_scalar(name) ? "nothing" : ytree_kind_name(name));
			continue;
		}
		bool dup = false;
		for (size_t j = 0; j < i && !dup; j += step)
			dup = cfg__is_scalar(v->items[j]) && v->items[j]->len == name->len &&
			      memcmp(v->items[j]->text, name->text, name->len) == 0;
		if (dup) {
			snprintf(path, sizeof path, "trial.ui.%s", CFG__CLEAN(name, buf));
			cfg__err_at(l, name, path, "control listed twice");
			continue;
		}
		if (step == 2) {
			bool on;
			const struct ytree_node *val = v->items[i + 1];
			if (!cfg__parse_bool(val, &on)) {
				snprintf(path, sizeof path, "trial.ui.%s", CFG__CLEAN(name, buf));
				cfg__err_at(l, val, path, "expected true or false");
				continue;
			}
			if (!on)
				continue;
		}
		if (ui_add(l, name, list, &n) < 0)
			break;
	}
	*CFG__FIELD(l->c, e, char **) = list;
	*(size_t *)(void *)((char *)l->c + e->off_n) = n;
}

/* ---- YAML -> JSON (variables, env.options, instructions) ----------------- */

static json_t *to_json(struct cfg__ld *l, const struct ytree_node *n, const char *path);

static json_t *scalar_json(struct cfg__ld *l, const struct ytree_node *n, const char *path)
{
	bool b;
	long long i;
	double x;
	json_t *j;
	if (cfg__is_null(n))
		return json_null();
	if (n->plain && cfg__parse_bool(n, &b))
		return json_boolean(b);
	if (n->plain && cfg__parse_ll(n->text, n->len, &i))
		return json_integer(i);
	if (n->plain && parse_double(n->text, n->len, &x))
		return json_real(x);
	j = json_stringn(n->text, n->len);
	if (!j)
		cfg__err_at(l, n, path, "text is not valid UTF-8");
	return j;
}

static json_t *to_json(struct cfg__ld *l, const struct ytree_node *n, const char *path)
{
	if (n->kind == YTREE_SCALAR)
		return scalar_json(l, n, path);
	json_t *out = n->kind == YTREE_MAP ? json_object() : json_array();
	if (!out) {
		cfg__err_at(l, n, path, "out of memory");
		return NULL;
	}
	if (n->kind == YTREE_SEQ) {
		for (size_t i = 0; i < n->n; i++) {
			json_t *item = to_json(l, n->items[i], path);
			if (!item || json_array_append_new(out, item) < 0)
				goto fail;
		}
		return out;
	}
	for (size_t i = 0; i + 1 < n->n; i += 2) {
		const struct ytree_node *k = n->items[i];
		char buf[64];
		if (!cfg__is_scalar(k) || strlen(k->text) != k->len) {
			cfg__err_at(l, k, path, "keys must be plain text");
			goto fail;
		}
		if (json_object_get(out, k->text)) {
			cfg__err_at(l, k, path, "duplicate key '%s'", CFG__CLEAN(k, buf));
			goto fail;
		}
		json_t *val = to_json(l, n->items[i + 1], path);
		if (!val)
			goto fail;
		if (json_object_set_new(out, k->text, val) < 0) {
			cfg__err_at(l, k, path, "key '%s' is not valid UTF-8", CFG__CLEAN(k, buf));
			goto fail;
		}
	}
	return out;
fail:
	json_decref(out);
	return NULL;
}

static void set_json(struct cfg__ld *l, const struct cfg__entry *e, const struct ytree_node *v)
{
	json_t *j = NULL;
	if (e->type == CFG_T_JSON_MAP && v->kind != YTREE_MAP) {
		cfg__err_at(l, v, e->path, "expected a mapping, got %s", ytree_kind_name(v));
		return;
	}
	if (e->type == CFG_T_JSON_STRLIST) {
		if (v->kind == YTREE_MAP) {
			cfg__err_at(l, v, e->path, "expected a list of text, got a mapping");
			return;
		}
		const struct ytree_node *const *items =
			v->kind == YTREE_SEQ ? (const struct ytree_node *const *)v->items : &v;
		size_t n = v->kind == YTREE_SEQ ? v->n : 1;
		j = json_array();
		for (size_t i = 0; j && i < n; i++) {
			const struct ytree_node *it = items[i];
			json_t *s = cfg__is_scalar(it) ? json_stringn(it->text, it->len) : NULL;
			if (!s) {
				cfg__err_at(
					l, it, e->path, "item %zu: expected text, got %s", i + 1,
					cfg__is_scalar(it) ? "invalid UTF-8" : ytree_kind_name(it));
				json_decref(j);
				return;
			}
			json_array_append_new(j, s);
		}
	} else {
		j = to_json(l, v, e->path);
	}
	if (j)
		*CFG__FIELD(l->c, e, json_t *) = j;
}

/* ---- the walk ----------------------------------------------------------- */

/* A "did you mean" for an unknown PATH: the same key in another case, the
 * same key name in another section, or a near spelling in the same section. */
static const char *suggest(const char *path)
{
	size_t nentries;
	const struct cfg__entry *table = cfg__table(&nentries);
	const char *dot = strrchr(path, '.');
	const char *name = dot ? dot + 1 : path;
	size_t plen = dot ? (size_t)(dot - path) : 0;
	for (size_t i = 0; i < nentries; i++)
		if (strcasecmp(table[i].path, path) == 0)
			return table[i].path;
	for (size_t i = 0; i < nentries; i++) {
		const char *tdot = strrchr(table[i].path, '.');
		if (table[i].type != CFG_T_IGNORED &&
		    strcasecmp(tdot ? tdot + 1 : table[i].path, name) == 0)
			return table[i].path;
	}
	if (strlen(name) < 4)
		return NULL;
	for (size_t i = 0; i < nentries; i++) {
		const char *tdot = strrchr(table[i].path, '.');
		size_t tlen = tdot ? (size_t)(tdot - table[i].path) : 0;
		if (tlen == plen && strncmp(table[i].path, path, plen) == 0 &&
		    table[i].type != CFG_T_IGNORED &&
		    text_edit_distance(tdot ? tdot + 1 : table[i].path, name, false, 62) <= 2)
			return table[i].path;
	}
	return NULL;
}

static void set_storage(struct cfg__ld *l, const struct cfg__entry *e, const struct ytree_node *v)
{
	static const char *const local[] = {"local", NULL}, *const s3[] = {"s3", NULL};
	char buf[64];
	if (v->kind == YTREE_MAP) {
		size_t idx;
		cfg__walk_map(l, e->path, v, v);
		if (cfg__find_entry("project.storage.s3", &idx) && l->key[idx])
			l->c->project.storage = CFG_STORAGE_S3;
		else
			cfg__err_at(l, v, e->path, "expected local, s3 or a mapping with s3:");
	} else if (cfg__is_scalar(v) && cfg__text_is(v, local)) {
		l->c->project.storage = CFG_STORAGE_LOCAL;
	} else if (cfg__is_scalar(v) && cfg__text_is(v, s3)) {
		l->c->project.storage = CFG_STORAGE_S3;
	} else if (cfg__is_scalar(v)) {
		cfg__err_at(l, v, e->path, "expected local, s3 or a mapping with s3:, got '%s'",
			    CFG__CLEAN(v, buf));
	} else {
		cfg__err_at(l, v, e->path, "expected local, s3 or a mapping with s3:, got a list");
	}
}

/* Converts V (the value of entry E, key K) into its field. */
static void set_value(struct cfg__ld *l, const struct cfg__entry *e, const struct ytree_node *k,
		      const struct ytree_node *v)
{
	long long x;
	bool b;
	char buf[64];
	if (e->type == CFG_T_STEPS) {
		cfg__set_steps(l, e, k, v);
		return;
	}
	if (e->type == CFG_T_SECTION) {
		cfg__walk_map(l, e->path, v, k); /* null: an empty section */
		return;
	}
	if (e->type == CFG_T_IGNORED || cfg__is_null(v))
		return; /* null: the default */
	switch (e->type) {
	case CFG_T_STR:
		if (!cfg__is_scalar(v)) {
			cfg__err_at(l, v, e->path, "expected text, got %s", ytree_kind_name(v));
			break;
		}
		*CFG__FIELD(l->c, e, char *) = cfg__dup_text(l, v, e->path);
		if (*CFG__FIELD(l->c, e, char *) && e->check) {
			const char *msg = e->check(l->c);
			if (msg)
				cfg__err_at(l, v, e->path, "'%s' %s", CFG__CLEAN(v, buf), msg);
		}
		break;
	case CFG_T_BOOL:
		if (cfg__parse_bool(v, &b))
			*CFG__FIELD(l->c, e, bool) = b;
		else if (cfg__is_scalar(v))
			cfg__err_at(l, v, e->path, "expected true or false, got '%s'",
				    CFG__CLEAN(v, buf));
		else
			cfg__err_at(l, v, e->path, "expected true or false, got %s",
				    ytree_kind_name(v));
		break;
	case CFG_T_INT:
	case CFG_T_INT_NULL:
		if (get_number(l, v, e, &x))
			*CFG__FIELD(l->c, e, int) = (int)x;
		break;
	case CFG_T_SIZE:
		if (get_number(l, v, e, &x))
			*CFG__FIELD(l->c, e, size_t) = (size_t)x;
		break;
	case CFG_T_LLONG:
		if (get_number(l, v, e, &x))
			*CFG__FIELD(l->c, e, long long) = x;
		break;
	case CFG_T_ENUM:
		set_enum(l, e, v);
		break;
	case CFG_T_STRLIST:
	case CFG_T_ARGV:
		set_strlist(l, e, v);
		break;
	case CFG_T_UI:
		set_ui(l, e, v);
		break;
	case CFG_T_JSON_MAP:
	case CFG_T_JSON:
	case CFG_T_JSON_STRLIST:
		set_json(l, e, v);
		break;
	case CFG_T_STORAGE:
		set_storage(l, e, v);
		break;
	case CFG_T_SECTION:
	case CFG_T_STEPS:
	case CFG_T_IGNORED:
		break;
	}
}

static bool parent_is(const char *path, const char *prefix)
{
	const char *dot = strrchr(path, '.');
	size_t n = dot ? (size_t)(dot - path) : 0;
	return strlen(prefix) == n && strncmp(path, prefix, n) == 0;
}

/* Visits the mapping MAP at PREFIX ("" for the top): every key is converted
 * through its table entry or reported as unknown; required keys of this
 * section that are absent are reported at WHERE (the section's key). */
void cfg__walk_map(struct cfg__ld *l, const char *prefix, const struct ytree_node *map,
		     const struct ytree_node *where)
{
	char path[CFG__PATH_LEN], buf[64];
	size_t nentries;
	const struct cfg__entry *table = cfg__table(&nentries);
	if (map && map->kind != YTREE_MAP && !cfg__is_null(map)) {
		cfg__err_at(l, map, prefix[0] ? prefix : NULL, "expected a mapping, got %s",
			    ytree_kind_name(map));
		return;
	}
	for (size_t i = 0; map && map->kind == YTREE_MAP && i + 1 < map->n; i += 2) {
		const struct ytree_node *k = map->items[i], *v = map->items[i + 1];
		if (!cfg__is_scalar(k)) {
			cfg__err_at(l, k, prefix[0] ? prefix : NULL,
				    "keys must be plain text, got %s", ytree_kind_name(k));
			continue;
		}
		snprintf(path, sizeof path, "%s%s%s", prefix, prefix[0] ? "." : "",
			 CFG__CLEAN(k, buf));
		size_t idx;
		const struct cfg__entry *e =
			strlen(k->text) == k->len ? cfg__find_entry(path, &idx) : NULL;
		if (!e) {
			/* suggestions cost more than a lookup: only for messages that are kept */
			const char *s = l->d->n < CFG_DIAGS_MAX ? suggest(path) : NULL;
			if (s)
				cfg__warn_at(l, k, path, "unknown key, ignored (did you mean %s?)",
					     s);
			else
				cfg__warn_at(l, k, path, "unknown key, ignored");
			continue;
		}
		if (l->key[idx]) {
			cfg__err_at(l, k, path, "key listed twice (first at line %d)",
				    l->key[idx]->line);
			continue;
		}
		l->key[idx] = k;
		l->val[idx] = v;
		if ((e->flags & CFG_F_CODE) && (l->opts.flags & CFG_LOAD_NO_CODE) &&
		    !cfg__is_null(v)) {
			cfg__err_at(
				l, k, path,
				"names a program or plug-in, which a study deployed through the "
				"admin API may not do on this server (its operator can allow it "
				"with "
				"hippo serve --trust-deployed-code)");
			l->d->nrefused++;
			l->refused_code = true;
			continue;
		}
		set_value(l, e, k, v);
	}
	for (size_t i = 0; i < nentries; i++) {
		const struct cfg__entry *e = &table[i];
		if (!(e->flags & CFG_F_REQUIRED) || !parent_is(e->path, prefix))
			continue;
		if (!l->key[i])
			cfg__err_at(l, where, e->path, "required key is missing");
		else if (cfg__is_null(l->val[i]) && e->type != CFG_T_STEPS &&
			 e->type != CFG_T_SECTION)
			cfg__err_at(l, l->key[i], e->path, "required key has no value");
	}
}
