/* config steps: project.steps (numbered step files and finalStep) and the
 * files they name in StepFiles/: present, inside the study folder, and
 * what the participant UI's Content-Security-Policy would refuse in them. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/config_int.h"
#include "core/path.h"

enum step_file { STEP_FILE_NONE, STEP_FILE_OK, STEP_FILE_OUTSIDE };

/* Whether StepFiles/NAME is a regular file inside the study folder DIR. A
 * symbolic link (the file's or StepFiles/'s own) may point elsewhere inside
 * the study, never outside it: the page would be served to anyone. */
static enum step_file step_file(const char *dir, const char *name)
{
	char rel[PATH_MAX], res[PATH_MAX];
	struct stat st;
	int n = snprintf(rel, sizeof rel, "StepFiles/%s", name);
	if (n < 0 || (size_t)n >= sizeof rel)
		return STEP_FILE_NONE;
	switch (path_inside(dir, rel, res, sizeof res)) {
	case PATH_INSIDE:
		return stat(res, &st) == 0 && S_ISREG(st.st_mode) ? STEP_FILE_OK : STEP_FILE_NONE;
	case PATH_OUTSIDE:
		return STEP_FILE_OUTSIDE;
	default:
		return STEP_FILE_NONE;
	}
}

static bool file_exists(const char *dir, const char *name)
{
	return step_file(dir, name) != STEP_FILE_NONE;
}

/* Counts the variants <stem>-0<ext>, <stem>-1<ext>... of FILE in StepFiles/. */
static int count_variants(const char *dir, const char *file)
{
	const char *dot = strrchr(file, '.');
	size_t stem = dot ? (size_t)(dot - file) : strlen(file);
	const char *ext = dot ? dot : "";
	int k = 0;
	for (; k < CFG_MAX_VARIANTS; k++) {
		char name[512];
		int n = snprintf(name, sizeof name, "%.*s-%d%s", (int)stem, file, k, ext);
		if (n < 0 || (size_t)n >= sizeof name || !file_exists(dir, name))
			break;
	}
	return k;
}

/* What the participant UI's Content-Security-Policy refuses in a step page
 * (docs/participant-ui.md): a warning, not an error, since studies written
 * for the original keep loading; the researcher learns it before a
 * participant sees a page without its script, style or handler. Reads at
 * most the first STEP_SCAN_MAX bytes. */
#define STEP_SCAN_MAX (4 * 1024 * 1024)

static bool has_handler_attr(const char *s)
{
	/* an attribute named on<letters> followed by '=' inside a tag */
	for (const char *p = s; (p = strstr(p, "on")); p += 2) {
		if (p == s || !(p[-1] == ' ' || p[-1] == '\t' || p[-1] == '\n' || p[-1] == '/'))
			continue;
		const char *q = p + 2;
		while (*q >= 'a' && *q <= 'z')
			q++;
		if (q == p + 2)
			continue;
		while (*q == ' ' || *q == '\t')
			q++;
		if (*q == '=') {
			const char *lt = p, *gt = p;
			while (lt > s && *lt != '<' && *lt != '>')
				lt--;
			while (*gt && *gt != '>')
				gt++;
			if (*lt == '<' && *gt == '>')
				return true;
		}
	}
	return false;
}

/* Appends ITEM to the list in BUF (CAP bytes), comma-separated. */
static void list_add(char *buf, size_t cap, const char *item)
{
	size_t n = strlen(buf);
	snprintf(buf + n, cap - n, "%s%s", n ? ", " : "", item);
}

static void warn_csp(struct cfg__ld *l, const struct ytree_node *v, const char *path,
		     const char *shown)
{
	char rel[PATH_MAX], res[PATH_MAX];
	int n = snprintf(rel, sizeof rel, "StepFiles/%s", shown);
	if (n < 0 || (size_t)n >= sizeof rel ||
	    path_inside(l->dir, rel, res, sizeof res) != PATH_INSIDE)
		return;
	FILE *f = fopen(res, "rb");
	if (!f)
		return;
	char *text = malloc(STEP_SCAN_MAX + 1);
	size_t len = text ? fread(text, 1, STEP_SCAN_MAX, f) : 0;
	fclose(f);
	if (!text)
		return;
	for (size_t i = 0; i < len; i++) /* lower case; NULs end nothing */
		text[i] = text[i] >= 'A' && text[i] <= 'Z' ? (char)(text[i] - 'A' + 'a')
			  : text[i] ? text[i] : ' ';
	text[len] = '\0';
	char what[128] = "";
	if (strstr(text, "<script"))
		list_add(what, sizeof what, "<script> elements (removed)");
	if (strstr(text, "<style"))
		list_add(what, sizeof what, "<style> elements");
	if (has_handler_attr(text))
		list_add(what, sizeof what, "on...= event handlers");
	if (strstr(text, "src=\"http:") || strstr(text, "src='http:") ||
	    strstr(text, "href=\"http:"))
		list_add(what, sizeof what, "http:// resources");
	free(text);
	if (what[0])
		cfg__warn_at(l, v, path,
			     "step file '%.200s' has %s, which the participant UI's "
			     "Content-Security-Policy "
			     "refuses (docs/participant-ui.md)",
			     shown, what);
}

/* Fills STEP from the value V of the steps entry at PATH. Returns false on
 * error (already reported). */
static bool set_step(struct cfg__ld *l, const char *path, const struct ytree_node *k,
		     const struct ytree_node *v, int number, struct cfg_step *step)
{
	char buf[128];
	if (!cfg__is_scalar(v) || cfg__is_null(v) || v->len == 0) {
		cfg__err_at(l, cfg__is_null(v) ? k : v, path,
			    "expected a file name in StepFiles/ or game, got %s",
			    cfg__is_scalar(v) ? "nothing" : ytree_kind_name(v));
		return false;
	}
	char *file = cfg__dup_text(l, v, path);
	if (!file)
		return false;
	step->number = number;
	step->file = file;
	step->line = v->line;
	step->col = v->col;
	step->is_game = strcmp(file, "game") == 0;
	if (step->is_game)
		return true;
	if (strchr(file, '/') || strchr(file, '\\') || strstr(file, "..")) {
		cfg__err_at(l, v, path, "step file name '%s' must not contain '/', '\\' or '..'",
			    CFG__CLEAN(v, buf));
		return false;
	}
	if (!l->dir)
		return true;
	step->nvariants = count_variants(l->dir, file);
	if (step->nvariants == 0 && !file_exists(l->dir, file)) {
		cfg__err_at(l, v, path, "step file '%s' not found in StepFiles/",
			    CFG__CLEAN(v, buf));
		return false;
	}
	/* the page (or each variant) must not lead out of the study */
	const char *dot = strrchr(file, '.');
	int stem = dot ? (int)(dot - file) : (int)strlen(file);
	for (int g = step->nvariants ? 0 : -1; g < step->nvariants || g < 0; g++) {
		char shown[512];
		if (g < 0)
			snprintf(shown, sizeof shown, "%s", file);
		else
			snprintf(shown, sizeof shown, "%.*s-%d%s", stem, file, g, dot ? dot : "");
		if (step_file(l->dir, shown) == STEP_FILE_OUTSIDE) {
			cfg__err_at(
				l, v, path,
				"step file '%.200s' is a symbolic link to a file outside the study "
				"folder (it would be served to participants)",
				shown);
			return false;
		}
		warn_csp(l, v, path, shown);
		if (g < 0)
			break;
	}
	return true;
}

void cfg__set_steps(struct cfg__ld *l, const struct cfg__entry *e, const struct ytree_node *key,
		      const struct ytree_node *v)
{
	struct cfg_project *p = &l->c->project;
	const struct ytree_node *seen_key[CFG_MAX_STEPS + 1] = {0};
	const struct ytree_node *seen_val[CFG_MAX_STEPS + 1] = {0};
	const struct ytree_node *final_key = NULL, *final_val = NULL;
	int max = 0;
	char buf[64], path[CFG__PATH_LEN];

	if (v && v->kind != YTREE_MAP && !cfg__is_null(v)) {
		cfg__err_at(l, v, e->path, "expected a mapping of step number: file, got %s",
			    ytree_kind_name(v));
		return;
	}
	for (size_t i = 0; v && v->kind == YTREE_MAP && i + 1 < v->n; i += 2) {
		const struct ytree_node *k = v->items[i], *val = v->items[i + 1];
		long long num;
		if (cfg__is_scalar(k) && k->len == 9 && memcmp(k->text, "finalStep", 9) == 0) {
			if (final_key) {
				cfg__err_at(l, k, "project.steps.finalStep",
					    "listed twice (first at line %d)", final_key->line);
				continue;
			}
			final_key = k;
			final_val = val;
			continue;
		}
		if (!cfg__is_scalar(k) || !cfg__parse_ll(k->text, k->len, &num) || num < 1 ||
		    num > CFG_MAX_STEPS) {
			cfg__err_at(l, k, e->path,
				    "step keys must be numbers 1..%d or finalStep, got %s%s%s",
				    CFG_MAX_STEPS, cfg__is_scalar(k) ? "'" : "",
				    cfg__is_scalar(k) ? CFG__CLEAN(k, buf) : ytree_kind_name(k),
				    cfg__is_scalar(k) ? "'" : "");
			continue;
		}
		snprintf(path, sizeof path, "project.steps.%lld", num);
		if (seen_key[num]) {
			cfg__err_at(l, k, path, "step %lld listed twice (first at line %d)", num,
				    seen_key[num]->line);
			continue;
		}
		seen_key[num] = k;
		seen_val[num] = val;
		if (num > max)
			max = (int)num;
	}
	if (max > 0) {
		p->steps = calloc((size_t)max, sizeof *p->steps);
		if (!p->steps) {
			cfg__err_at(l, v, e->path, "out of memory");
			return;
		}
		p->nsteps = (size_t)max;
	}
	for (int n = 1; n <= max; n++) {
		snprintf(path, sizeof path, "project.steps.%d", n);
		if (!seen_key[n]) {
			cfg__err_at(l, key, path, "step %d is missing (steps are numbered 1..%d)",
				    n, max);
			continue;
		}
		set_step(l, path, seen_key[n], seen_val[n], n, &p->steps[n - 1]);
	}
	if (!final_key) {
		cfg__err_at(l, key, "project.steps.finalStep", "required key is missing");
		return;
	}
	if (set_step(l, "project.steps.finalStep", final_key, final_val, max + 1, &p->final_step) &&
	    p->final_step.is_game)
		cfg__err_at(l, final_val, "project.steps.finalStep",
			    "the final step cannot be the game (it is shown after the last step)");
}
