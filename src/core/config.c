/* config: config.yml -> struct cfg, driven by one table of typed entries.
 *
 * The YAML is first read into a bounded tree (ytree.c), then one walker visits
 * every mapping: each key is looked up in the table by its dotted path and its
 * value converted by the entry's type into the field at the entry's offset.
 * Cross-field rules (frame rates, events, storage...) run after the walk.
 * Every problem becomes a diagnostic with the position of the key or value. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/buf.h"
#include "core/config.h"
#include "core/id.h"
#include "core/text.h"
#include "core/config_table.h"
#include "core/path.h"
#include "core/ytree.h"

_Static_assert(sizeof(enum cfg_data_file) == sizeof(int), "enums are stored through int *");
_Static_assert(sizeof(enum cfg_trial_mode) == sizeof(int), "enums are stored through int *");

#define PATH_MAX_LEN 256

/* ---- the table ---------------------------------------------------------- */

static const char *const data_file_names[] = {"episode", "trial", NULL};
static const char *const input_mode_names[] = {"hold", "press", "turn", NULL};
static const char *const mode_names[] = {"play", "feedback", "advise", "watch", NULL};
static const char *const group_names[] = {"balanced", "hash", NULL};
static const char *const node_loss_names[] = {"restart_episode", "skip_game", "end_study", NULL};

const char *const cfg__ui_controls[] = {
	"left",  "right",        "up",          "down", "leftUp", "rightUp", "leftDown",
	"rightDown", "fire",     "start",       "stop", "pause",  "reset",   "trainOffline",
	"trainOnline", "good",   "bad",         "fpsSet", "fpsUp", "fpsDown", NULL,
};

static const char *const default_ui[] = {"left", "right", "up", "down", "start", "pause"};

static const char *check_project_id(const struct cfg *c)
{
	return id_valid_project(c->project.id) ? NULL : "must match " ID_PROJECT_RULE;
}

#define P(field) offsetof(struct cfg, project.field)
#define T(field) offsetof(struct cfg, trial.field)
#define SEC(path, fl) {path, CFG_T_SECTION, 0, 0, 0, 0, 0, NULL, fl, NULL}
#define STR(path, off, fl) {path, CFG_T_STR, off, 0, 0, 0, 0, NULL, fl, NULL}
#define BOOL(path, off, def, fl) {path, CFG_T_BOOL, off, 0, 0, 1, def, NULL, fl, NULL}
#define INT(path, off, lo, hi, def, fl) {path, CFG_T_INT, off, 0, lo, hi, def, NULL, fl, NULL}
#define ENUM(path, off, names, fl) {path, CFG_T_ENUM, off, 0, 0, 0, 0, names, fl, NULL}
#define IGN(path) {path, CFG_T_IGNORED, 0, 0, 0, 0, 0, NULL, 0, NULL}
#define H CFG_F_HIPPO
#define REQ CFG_F_REQUIRED
#define CODE (CFG_F_HIPPO | CFG_F_CODE)

static const struct cfg__entry table[] = {
	SEC("project", REQ),
	{"project.id", CFG_T_STR, P(id), 0, 0, 0, 0, NULL, REQ, check_project_id},
	STR("project.name", P(name), 0),
	STR("project.researcher", P(researcher), 0),
	STR("project.teamMembers", P(team_members), 0),
	BOOL("project.live", P(live), 1, 0),
	INT("project.maxRuntime", P(max_runtime_min), 1, 1440, 60, 0),
	SEC("project.events", 0),
	{"project.events.startServerStep", CFG_T_INT_NULL, P(start_server_step), 0, 1,
	 CFG_MAX_STEPS + 1, 0, NULL, 0, NULL},
	{"project.events.stopServerStep", CFG_T_INT_NULL, P(stop_server_step), 0, 1,
	 CFG_MAX_STEPS + 1, 0, NULL, 0, NULL},
	{"project.steps", CFG_T_STEPS, 0, 0, 0, 0, 0, NULL, REQ, NULL},
	BOOL("project.useAWS", P(use_aws), 0, 0),
	SEC("project.awsSetup", 0),
	STR("project.awsSetup.bucket", P(aws_bucket), 0),
	STR("project.awsSetup.region", P(aws_region), 0),
	STR("project.awsSetup.rootDomain", P(aws_root_domain), 0),
	STR("project.awsSetup.cpu", P(aws_cpu), 0),
	STR("project.awsSetup.memory", P(aws_memory), 0),
	IGN("project.awsSetup.containerName"),
	IGN("project.awsSetup.repository"),
	IGN("project.awsSetup.repositoryUri"),
	SEC("project.ssl", 0),
	STR("project.ssl.fullchain", P(ssl_fullchain), 0),
	STR("project.ssl.privkey", P(ssl_privkey), 0),
	STR("project.ssl.sslBucket", P(ssl_bucket), 0),
	IGN("project.bucket"),
	IGN("project.ecsTask"),
	BOOL("project.logIp", P(log_ip), 0, H),
	ENUM("project.groupStrategy", P(groups), group_names, H),
	ENUM("project.onNodeLoss", P(on_node_loss), node_loss_names, H),
	{"project.storage", CFG_T_STORAGE, P(storage), 0, 0, 0, 0, NULL, H, NULL},
	SEC("project.storage.s3", H),
	STR("project.storage.s3.bucket", P(s3.bucket), H),
	STR("project.storage.s3.prefix", P(s3.prefix), H),
	STR("project.storage.s3.region", P(s3.region), H),
	STR("project.storage.s3.endpoint", P(s3.endpoint), H),

	SEC("trial", 0),
	STR("trial.game", T(game), 0),
	INT("trial.maxEpisodes", T(max_episodes), 1, 1000000, 20, 0),
	ENUM("trial.dataFile", T(data_file), data_file_names, 0),
	BOOL("trial.s3upload", T(s3upload), 0, 0),
	{"trial.actionSpace", CFG_T_STRLIST, T(action_space), T(naction_space), 0, 0, 0, NULL, 0,
	 NULL},
	INT("trial.actionBufferLifespan", T(action_buffer_lifespan), 1, 1000000, 1, 0),
	INT("trial.startingFrameRate", T(starting_frame_rate), 1, 1000, 30, 0),
	BOOL("trial.allowFrameRateChange", T(allow_frame_rate_change), 0, 0),
	INT("trial.frameRateStepSize", T(frame_rate_step_size), 1, 1000, 5, 0),
	INT("trial.minFrameRate", T(min_frame_rate), 1, 1000, 1, 0),
	INT("trial.maxFrameRate", T(max_frame_rate), 1, 1000, 90, 0),
	{"trial.ui", CFG_T_UI, T(ui), T(nui), 0, 0, 0, NULL, 0, NULL},
	{"trial.variables", CFG_T_JSON_MAP, T(variables), 0, 0, 0, 0, NULL, 0, NULL},
	{"trial.instructions", CFG_T_JSON_STRLIST, T(instructions), 0, 0, 0, 0, NULL, 0, NULL},
	IGN("trial.bucket"),
	IGN("trial.projectId"),
	IGN("trial.defaultAction"),
	IGN("trial.defaultStart"),
	ENUM("trial.inputMode", T(input_mode), input_mode_names, H),
	ENUM("trial.mode", T(mode), mode_names, H),
	STR("trial.agent", T(agent), H),
	SEC("trial.env", H),
	STR("trial.env.plugin", T(env.plugin), CODE),
	{"trial.env.command", CFG_T_ARGV, T(env.command), 0, 0, 0, 0, NULL, CODE, NULL},
	STR("trial.env.id", T(env.id), H),
	{"trial.env.options", CFG_T_JSON, T(env.options), 0, 0, 0, 0, NULL, H, NULL},
	INT("trial.env.startTimeout", T(env.start_timeout_s), 1, 3600, 60, H),
	INT("trial.env.stepTimeout", T(env.step_timeout_ms), 10, 600000, 5000, H),
	{"trial.agentCommand", CFG_T_ARGV, T(agent_command), 0, 0, 0, 0, NULL, CODE, NULL},
	{"trial.agentOptions", CFG_T_JSON, T(agent_options), 0, 0, 0, 0, NULL, H, NULL},
	INT("trial.inputBudget", T(input_budget), 0, INT_MAX, 0, H),
	BOOL("trial.pauseWhenHidden", T(pause_when_hidden), 1, H),
	INT("trial.reconnectGrace", T(reconnect_grace_s), 0, 86400, 60, H),
	INT("trial.connectTimeout", T(connect_timeout_s), 1, 86400, 60, H),
	INT("trial.jpegQuality", T(jpeg_quality), 1, 100, 80, H),
	{"trial.maxMessageBytes", CFG_T_SIZE, T(max_message_bytes), 0, 256, 16 * 1024 * 1024,
	 65536, NULL, H, NULL},
	INT("trial.maxMessagesPerSecond", T(max_messages_per_s), 1, 100000, 200, H),
	{"trial.seed", CFG_T_LLONG, T(seed), 0, -1, LLONG_MAX, -1, NULL, H, NULL},
};

#define NENTRIES (sizeof table / sizeof table[0])

const struct cfg__entry *cfg__table(size_t *n)
{
	*n = NENTRIES;
	return table;
}

#define FIELD(c, e, type) ((type *)(void *)((char *)(c) + (e)->off))

void cfg_defaults(struct cfg *c)
{
	memset(c, 0, sizeof *c);
	for (size_t i = 0; i < NENTRIES; i++) {
		const struct cfg__entry *e = &table[i];
		switch (e->type) {
		case CFG_T_BOOL:
			*FIELD(c, e, bool) = e->def != 0;
			break;
		case CFG_T_INT:
		case CFG_T_INT_NULL:
		case CFG_T_ENUM:
			*FIELD(c, e, int) = (int)e->def;
			break;
		case CFG_T_SIZE:
			*FIELD(c, e, size_t) = (size_t)e->def;
			break;
		case CFG_T_LLONG:
			*FIELD(c, e, long long) = e->def;
			break;
		default:
			break;
		}
	}
}

/* ---- diagnostics -------------------------------------------------------- */

static void diag_vadd(struct cfg_diags *d, enum cfg_severity sev, int line, int col,
		      const char *path, const char *fmt, va_list ap)
{
	if (sev == CFG_ERROR)
		d->nerrors++;
	else
		d->nwarnings++;
	if (d->n >= CFG_DIAGS_MAX) {
		d->ndropped++;
		return;
	}
	if (buf_grow_array((void **)&d->items, &d->cap, d->n + 1, sizeof *d->items, 16, 0) < 0) {
		d->ndropped++;
		return;
	}
	char msg[512];
	vsnprintf(msg, sizeof msg, fmt, ap);
	struct cfg_diag *g = &d->items[d->n];
	g->severity = sev;
	g->line = line;
	g->col = col;
	g->path = strdup(path ? path : "");
	g->message = strdup(msg);
	if (!g->path || !g->message) {
		free(g->path);
		free(g->message);
		d->ndropped++;
		return;
	}
	d->n++;
}

__attribute__((format(printf, 6, 7))) static void
diag(struct cfg_diags *d, enum cfg_severity sev, int line, int col, const char *path,
     const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	diag_vadd(d, sev, line, col, path, fmt, ap);
	va_end(ap);
}

/* Problems are reported in file order (file-level ones first); the walk
 * finds them roughly in that order already, so an insertion sort is cheap. */
static void diags_sort(struct cfg_diags *d, size_t from)
{
	for (size_t i = from + 1; i < d->n; i++) {
		struct cfg_diag x = d->items[i];
		size_t j = i;
		while (j > from && (d->items[j - 1].line > x.line ||
				    (d->items[j - 1].line == x.line && d->items[j - 1].col > x.col))) {
			d->items[j] = d->items[j - 1];
			j--;
		}
		d->items[j] = x;
	}
}

void cfg_diags_print(const struct cfg_diags *d, const char *file_label, FILE *f)
{
	const char *label = file_label ? file_label : "config.yml";
	for (size_t i = 0; i < d->n; i++) {
		const struct cfg_diag *g = &d->items[i];
		const char *sev = g->severity == CFG_ERROR ? "error" : "warning";
		if (g->line > 0)
			fprintf(f, "%s: %s:%d:%d: ", sev, label, g->line, g->col);
		else
			fprintf(f, "%s: %s: ", sev, label);
		if (g->path[0])
			fprintf(f, "%s: ", g->path);
		fprintf(f, "%s\n", g->message);
	}
	if (d->ndropped)
		fprintf(f, "%s: %zu more problems not shown\n", label, d->ndropped);
}

void cfg_diags_free(struct cfg_diags *d)
{
	for (size_t i = 0; i < d->n; i++) {
		free(d->items[i].path);
		free(d->items[i].message);
	}
	free(d->items);
	memset(d, 0, sizeof *d);
}

/* ---- loader state and scalar helpers ------------------------------------ */

struct ld {
	struct cfg *c;
	struct cfg_diags *d;
	const char *dir;                        /* NULL: step files not checked */
	struct cfg_load_opts opts;
	bool refused_code;                      /* a CFG_F_CODE key was refused */
	const struct ytree_node *key[NENTRIES]; /* key node of each entry seen */
	const struct ytree_node *val[NENTRIES]; /* its value node */
	const struct ytree_node *root;
};

/* Copies user text into OUT for a message: control bytes become '?', long
 * text is cut with "...". */
static const char *clean(const char *s, size_t len, char *out, size_t cap)
{
	size_t n = 0, max = cap > 4 ? cap - 4 : 0;
	size_t i;
	for (i = 0; i < len && n < max; i++) {
		unsigned char ch = (unsigned char)s[i];
		out[n++] = (ch < 0x20 || ch == 0x7f) ? '?' : (char)ch;
	}
	if (i < len && cap >= 4) {
		memcpy(out + n, "...", 3);
		n += 3;
	}
	if (cap)
		out[n < cap ? n : cap - 1] = '\0';
	return out;
}

#define CLEAN(node, buf) clean((node)->text, (node)->len, buf, sizeof buf)

static void err_at(struct ld *l, const struct ytree_node *n, const char *path, const char *fmt,
		   ...) __attribute__((format(printf, 4, 5)));
static void err_at(struct ld *l, const struct ytree_node *n, const char *path, const char *fmt,
		   ...)
{
	va_list ap;
	va_start(ap, fmt);
	diag_vadd(l->d, CFG_ERROR, n ? n->line : 0, n ? n->col : 0, path, fmt, ap);
	va_end(ap);
}

static void warn_at(struct ld *l, const struct ytree_node *n, const char *path, const char *fmt,
		    ...) __attribute__((format(printf, 4, 5)));
static void warn_at(struct ld *l, const struct ytree_node *n, const char *path, const char *fmt,
		    ...)
{
	va_list ap;
	va_start(ap, fmt);
	diag_vadd(l->d, CFG_WARNING, n ? n->line : 0, n ? n->col : 0, path, fmt, ap);
	va_end(ap);
}

static bool is_scalar(const struct ytree_node *n)
{
	return n && n->kind == YTREE_SCALAR;
}

static bool text_is(const struct ytree_node *n, const char *const *words)
{
	for (; *words; words++)
		if (strlen(*words) == n->len && memcmp(*words, n->text, n->len) == 0)
			return true;
	return false;
}

/* YAML 1.1 null, as PyYAML (the original's parser) reads it. */
static bool is_null(const struct ytree_node *n)
{
	static const char *const words[] = {"~", "null", "Null", "NULL", NULL};
	return !n || (n->kind == YTREE_SCALAR && n->plain && (n->len == 0 || text_is(n, words)));
}

static bool parse_bool(const struct ytree_node *n, bool *out)
{
	static const char *const yes[] = {"true", "True", "TRUE", "yes", "Yes", "YES",
					  "on",   "On",   "ON",   NULL};
	static const char *const no[] = {"false", "False", "FALSE", "no", "No", "NO",
					 "off",   "Off",   "OFF",   NULL};
	if (!is_scalar(n) || !n->plain)
		return false;
	if (text_is(n, yes))
		*out = true;
	else if (text_is(n, no))
		*out = false;
	else
		return false;
	return true;
}

/* Decimal integer with an optional sign, the whole text. */
static bool parse_ll(const char *s, size_t len, long long *out)
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

static char *dup_text(struct ld *l, const struct ytree_node *n, const char *path)
{
	if (strlen(n->text) != n->len) {
		err_at(l, n, path, "contains a NUL character");
		return NULL;
	}
	char *s = strdup(n->text);
	if (!s)
		err_at(l, n, path, "out of memory");
	return s;
}

/* ---- scalar and list conversions ---------------------------------------- */

static const struct cfg__entry *find_entry(const char *path, size_t *idx)
{
	for (size_t i = 0; i < NENTRIES; i++) {
		if (strcmp(table[i].path, path) == 0) {
			if (idx)
				*idx = i;
			return &table[i];
		}
	}
	return NULL;
}

static void range_error(struct ld *l, const struct ytree_node *v, const struct cfg__entry *e,
			long long x)
{
	if (e->max >= INT_MAX)
		err_at(l, v, e->path, "must be at least %lld, got %lld", e->min, x);
	else
		err_at(l, v, e->path, "must be between %lld and %lld, got %lld", e->min, e->max, x);
}

static bool get_number(struct ld *l, const struct ytree_node *v, const struct cfg__entry *e,
		       long long *out)
{
	char buf[64];
	if (!is_scalar(v) || !v->plain || !parse_ll(v->text, v->len, out)) {
		if (is_scalar(v))
			err_at(l, v, e->path, "expected a whole number, got '%s'", CLEAN(v, buf));
		else
			err_at(l, v, e->path, "expected a whole number, got %s", ytree_kind_name(v));
		return false;
	}
	if (*out < e->min || *out > e->max) {
		range_error(l, v, e, *out);
		return false;
	}
	return true;
}

static void set_enum(struct ld *l, const struct cfg__entry *e, const struct ytree_node *v)
{
	char buf[64], list[128] = "";
	if (is_scalar(v)) {
		for (int i = 0; e->names[i]; i++) {
			if (strlen(e->names[i]) == v->len && memcmp(e->names[i], v->text, v->len) == 0) {
				*FIELD(l->c, e, int) = i;
				return;
			}
		}
	}
	for (int i = 0; e->names[i]; i++) {
		size_t n = strlen(list);
		snprintf(list + n, sizeof list - n, "%s%s", i ? ", " : "", e->names[i]);
	}
	if (is_scalar(v))
		err_at(l, v, e->path, "expected one of %s, got '%s'", list, CLEAN(v, buf));
	else
		err_at(l, v, e->path, "expected one of %s, got %s", list, ytree_kind_name(v));
}

/* A list of non-empty strings: actionSpace (with count) or env.command (argv). */
static void set_strlist(struct ld *l, const struct cfg__entry *e, const struct ytree_node *v)
{
	if (v->kind != YTREE_SEQ) {
		err_at(l, v, e->path, "expected a list, got %s", ytree_kind_name(v));
		return;
	}
	if (v->n == 0) {
		err_at(l, v, e->path, "must not be empty");
		return;
	}
	char **list = calloc(v->n + 1, sizeof *list);
	if (!list) {
		err_at(l, v, e->path, "out of memory");
		return;
	}
	size_t n = 0;
	bool ok = true;
	for (size_t i = 0; i < v->n; i++) {
		const struct ytree_node *it = v->items[i];
		if (!is_scalar(it) || is_null(it) || it->len == 0) {
			err_at(l, it, e->path, "item %zu: expected non-empty text, got %s", i + 1,
			       is_scalar(it) ? "nothing" : ytree_kind_name(it));
			ok = false;
			continue;
		}
		char *s = dup_text(l, it, e->path);
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
	*FIELD(l->c, e, char **) = list;
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

static int ui_add(struct ld *l, const struct ytree_node *name, char **list, size_t *n)
{
	char buf[64], path[PATH_MAX_LEN];
	snprintf(path, sizeof path, "trial.ui.%s", CLEAN(name, buf));
	char *s = dup_text(l, name, path);
	if (!s)
		return -1;
	if (!ui_known(s))
		warn_at(l, name, path,
			"unknown control, passed on to the page (the participant UI shows only "
			"the controls listed in docs/config.md)");
	list[(*n)++] = s;
	return 0;
}

/* trial.ui: {name: bool} (the original), or [name, ...] (its generated trial
 * config). Names set true, in file order. */
static void set_ui(struct ld *l, const struct cfg__entry *e, const struct ytree_node *v)
{
	if (v->kind == YTREE_SCALAR) {
		err_at(l, v, e->path, "expected a mapping of control: true/false, got text");
		return;
	}
	size_t step = v->kind == YTREE_MAP ? 2 : 1;
	if (v->n / step > CFG_MAX_UI) {
		err_at(l, v, e->path, "too many controls (more than %d)", CFG_MAX_UI);
		return;
	}
	char **list = calloc(v->n + 1, sizeof *list);
	if (!list) {
		err_at(l, v, e->path, "out of memory");
		return;
	}
	size_t n = 0;
	for (size_t i = 0; i < v->n; i += step) {
		const struct ytree_node *name = v->items[i];
		char buf[64], path[PATH_MAX_LEN];
		if (!is_scalar(name) || is_null(name)) {
			err_at(l, name, e->path, "expected a control name, got %s",
			       is_scalar(name) ? "nothing" : ytree_kind_name(name));
			continue;
		}
		bool dup = false;
		for (size_t j = 0; j < i && !dup; j += step)
			dup = is_scalar(v->items[j]) && v->items[j]->len == name->len &&
			      memcmp(v->items[j]->text, name->text, name->len) == 0;
		if (dup) {
			snprintf(path, sizeof path, "trial.ui.%s", CLEAN(name, buf));
			err_at(l, name, path, "control listed twice");
			continue;
		}
		if (step == 2) {
			bool on;
			const struct ytree_node *val = v->items[i + 1];
			if (!parse_bool(val, &on)) {
				snprintf(path, sizeof path, "trial.ui.%s", CLEAN(name, buf));
				err_at(l, val, path, "expected true or false");
				continue;
			}
			if (!on)
				continue;
		}
		if (ui_add(l, name, list, &n) < 0)
			break;
	}
	*FIELD(l->c, e, char **) = list;
	*(size_t *)(void *)((char *)l->c + e->off_n) = n;
}

/* ---- YAML -> JSON (variables, env.options, instructions) ----------------- */

static json_t *to_json(struct ld *l, const struct ytree_node *n, const char *path);

static json_t *scalar_json(struct ld *l, const struct ytree_node *n, const char *path)
{
	bool b;
	long long i;
	double x;
	json_t *j;
	if (is_null(n))
		return json_null();
	if (n->plain && parse_bool(n, &b))
		return json_boolean(b);
	if (n->plain && parse_ll(n->text, n->len, &i))
		return json_integer(i);
	if (n->plain && parse_double(n->text, n->len, &x))
		return json_real(x);
	j = json_stringn(n->text, n->len);
	if (!j)
		err_at(l, n, path, "text is not valid UTF-8");
	return j;
}

static json_t *to_json(struct ld *l, const struct ytree_node *n, const char *path)
{
	if (n->kind == YTREE_SCALAR)
		return scalar_json(l, n, path);
	json_t *out = n->kind == YTREE_MAP ? json_object() : json_array();
	if (!out) {
		err_at(l, n, path, "out of memory");
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
		if (!is_scalar(k) || strlen(k->text) != k->len) {
			err_at(l, k, path, "keys must be plain text");
			goto fail;
		}
		if (json_object_get(out, k->text)) {
			err_at(l, k, path, "duplicate key '%s'", CLEAN(k, buf));
			goto fail;
		}
		json_t *val = to_json(l, n->items[i + 1], path);
		if (!val)
			goto fail;
		if (json_object_set_new(out, k->text, val) < 0) {
			err_at(l, k, path, "key '%s' is not valid UTF-8", CLEAN(k, buf));
			goto fail;
		}
	}
	return out;
fail:
	json_decref(out);
	return NULL;
}

static void set_json(struct ld *l, const struct cfg__entry *e, const struct ytree_node *v)
{
	json_t *j = NULL;
	if (e->type == CFG_T_JSON_MAP && v->kind != YTREE_MAP) {
		err_at(l, v, e->path, "expected a mapping, got %s", ytree_kind_name(v));
		return;
	}
	if (e->type == CFG_T_JSON_STRLIST) {
		if (v->kind == YTREE_MAP) {
			err_at(l, v, e->path, "expected a list of text, got a mapping");
			return;
		}
		const struct ytree_node *const *items = v->kind == YTREE_SEQ
								? (const struct ytree_node *const *)v->items
								: &v;
		size_t n = v->kind == YTREE_SEQ ? v->n : 1;
		j = json_array();
		for (size_t i = 0; j && i < n; i++) {
			const struct ytree_node *it = items[i];
			json_t *s = is_scalar(it) ? json_stringn(it->text, it->len) : NULL;
			if (!s) {
				err_at(l, it, e->path, "item %zu: expected text, got %s", i + 1,
				       is_scalar(it) ? "invalid UTF-8" : ytree_kind_name(it));
				json_decref(j);
				return;
			}
			json_array_append_new(j, s);
		}
	} else {
		j = to_json(l, v, e->path);
	}
	if (j)
		*FIELD(l->c, e, json_t *) = j;
}

/* ---- steps -------------------------------------------------------------- */

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

static void warn_csp(struct ld *l, const struct ytree_node *v, const char *path,
		     const char *shown)
{
	char rel[PATH_MAX], res[PATH_MAX];
	int n = snprintf(rel, sizeof rel, "StepFiles/%s", shown);
	if (n < 0 || (size_t)n >= sizeof rel || path_inside(l->dir, rel, res, sizeof res) != PATH_INSIDE)
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
	if (strstr(text, "src=\"http:") || strstr(text, "src='http:") || strstr(text, "href=\"http:"))
		list_add(what, sizeof what, "http:// resources");
	free(text);
	if (what[0])
		warn_at(l, v, path,
			"step file '%.200s' has %s, which the participant UI's Content-Security-Policy "
			"refuses (docs/participant-ui.md)",
			shown, what);
}

/* Fills STEP from the value V of the steps entry at PATH. Returns false on
 * error (already reported). */
static bool set_step(struct ld *l, const char *path, const struct ytree_node *k,
		     const struct ytree_node *v, int number, struct cfg_step *step)
{
	char buf[128];
	if (!is_scalar(v) || is_null(v) || v->len == 0) {
		err_at(l, is_null(v) ? k : v, path, "expected a file name in StepFiles/ or game, got %s",
		       is_scalar(v) ? "nothing" : ytree_kind_name(v));
		return false;
	}
	char *file = dup_text(l, v, path);
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
		err_at(l, v, path, "step file name '%s' must not contain '/', '\\' or '..'",
		       CLEAN(v, buf));
		return false;
	}
	if (!l->dir)
		return true;
	step->nvariants = count_variants(l->dir, file);
	if (step->nvariants == 0 && !file_exists(l->dir, file)) {
		err_at(l, v, path, "step file '%s' not found in StepFiles/", CLEAN(v, buf));
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
			err_at(l, v, path,
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

static void set_steps(struct ld *l, const struct cfg__entry *e, const struct ytree_node *key,
		      const struct ytree_node *v)
{
	struct cfg_project *p = &l->c->project;
	const struct ytree_node *seen_key[CFG_MAX_STEPS + 1] = {0};
	const struct ytree_node *seen_val[CFG_MAX_STEPS + 1] = {0};
	const struct ytree_node *final_key = NULL, *final_val = NULL;
	int max = 0;
	char buf[64], path[PATH_MAX_LEN];

	if (v && v->kind != YTREE_MAP && !is_null(v)) {
		err_at(l, v, e->path, "expected a mapping of step number: file, got %s",
		       ytree_kind_name(v));
		return;
	}
	for (size_t i = 0; v && v->kind == YTREE_MAP && i + 1 < v->n; i += 2) {
		const struct ytree_node *k = v->items[i], *val = v->items[i + 1];
		long long num;
		if (is_scalar(k) && k->len == 9 && memcmp(k->text, "finalStep", 9) == 0) {
			if (final_key) {
				err_at(l, k, "project.steps.finalStep",
				       "listed twice (first at line %d)", final_key->line);
				continue;
			}
			final_key = k;
			final_val = val;
			continue;
		}
		if (!is_scalar(k) || !parse_ll(k->text, k->len, &num) || num < 1 ||
		    num > CFG_MAX_STEPS) {
			err_at(l, k, e->path,
			       "step keys must be numbers 1..%d or finalStep, got %s%s%s",
			       CFG_MAX_STEPS, is_scalar(k) ? "'" : "",
			       is_scalar(k) ? CLEAN(k, buf) : ytree_kind_name(k),
			       is_scalar(k) ? "'" : "");
			continue;
		}
		snprintf(path, sizeof path, "project.steps.%lld", num);
		if (seen_key[num]) {
			err_at(l, k, path, "step %lld listed twice (first at line %d)", num,
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
			err_at(l, v, e->path, "out of memory");
			return;
		}
		p->nsteps = (size_t)max;
	}
	for (int n = 1; n <= max; n++) {
		snprintf(path, sizeof path, "project.steps.%d", n);
		if (!seen_key[n]) {
			err_at(l, key, path, "step %d is missing (steps are numbered 1..%d)", n, max);
			continue;
		}
		set_step(l, path, seen_key[n], seen_val[n], n, &p->steps[n - 1]);
	}
	if (!final_key) {
		err_at(l, key, "project.steps.finalStep", "required key is missing");
		return;
	}
	if (set_step(l, "project.steps.finalStep", final_key, final_val, max + 1, &p->final_step) &&
	    p->final_step.is_game)
		err_at(l, final_val, "project.steps.finalStep",
		       "the final step cannot be the game (it is shown after the last step)");
}

/* ---- the walk ----------------------------------------------------------- */

static void walk_map(struct ld *l, const char *prefix, const struct ytree_node *map,
		     const struct ytree_node *where);

/* A "did you mean" for an unknown PATH: the same key in another case, the
 * same key name in another section, or a near spelling in the same section. */
static const char *suggest(const char *path)
{
	const char *dot = strrchr(path, '.');
	const char *name = dot ? dot + 1 : path;
	size_t plen = dot ? (size_t)(dot - path) : 0;
	for (size_t i = 0; i < NENTRIES; i++)
		if (strcasecmp(table[i].path, path) == 0)
			return table[i].path;
	for (size_t i = 0; i < NENTRIES; i++) {
		const char *tdot = strrchr(table[i].path, '.');
		if (table[i].type != CFG_T_IGNORED && strcasecmp(tdot ? tdot + 1 : table[i].path, name) == 0)
			return table[i].path;
	}
	if (strlen(name) < 4)
		return NULL;
	for (size_t i = 0; i < NENTRIES; i++) {
		const char *tdot = strrchr(table[i].path, '.');
		size_t tlen = tdot ? (size_t)(tdot - table[i].path) : 0;
		if (tlen == plen && strncmp(table[i].path, path, plen) == 0 &&
		    table[i].type != CFG_T_IGNORED &&
		    text_edit_distance(tdot ? tdot + 1 : table[i].path, name, false, 62) <= 2)
			return table[i].path;
	}
	return NULL;
}

static void set_storage(struct ld *l, const struct cfg__entry *e, const struct ytree_node *v)
{
	static const char *const local[] = {"local", NULL}, *const s3[] = {"s3", NULL};
	char buf[64];
	if (v->kind == YTREE_MAP) {
		size_t idx;
		walk_map(l, e->path, v, v);
		if (find_entry("project.storage.s3", &idx) && l->key[idx])
			l->c->project.storage = CFG_STORAGE_S3;
		else
			err_at(l, v, e->path, "expected local, s3 or a mapping with s3:");
	} else if (is_scalar(v) && text_is(v, local)) {
		l->c->project.storage = CFG_STORAGE_LOCAL;
	} else if (is_scalar(v) && text_is(v, s3)) {
		l->c->project.storage = CFG_STORAGE_S3;
	} else if (is_scalar(v)) {
		err_at(l, v, e->path, "expected local, s3 or a mapping with s3:, got '%s'",
		       CLEAN(v, buf));
	} else {
		err_at(l, v, e->path, "expected local, s3 or a mapping with s3:, got a list");
	}
}

/* Converts V (the value of entry E, key K) into its field. */
static void set_value(struct ld *l, const struct cfg__entry *e, const struct ytree_node *k,
		      const struct ytree_node *v)
{
	long long x;
	bool b;
	char buf[64];
	if (e->type == CFG_T_STEPS) {
		set_steps(l, e, k, v);
		return;
	}
	if (e->type == CFG_T_SECTION) {
		walk_map(l, e->path, v, k); /* null: an empty section */
		return;
	}
	if (e->type == CFG_T_IGNORED || is_null(v))
		return; /* null: the default */
	switch (e->type) {
	case CFG_T_STR:
		if (!is_scalar(v)) {
			err_at(l, v, e->path, "expected text, got %s", ytree_kind_name(v));
			break;
		}
		*FIELD(l->c, e, char *) = dup_text(l, v, e->path);
		if (*FIELD(l->c, e, char *) && e->check) {
			const char *msg = e->check(l->c);
			if (msg)
				err_at(l, v, e->path, "'%s' %s", CLEAN(v, buf), msg);
		}
		break;
	case CFG_T_BOOL:
		if (parse_bool(v, &b))
			*FIELD(l->c, e, bool) = b;
		else if (is_scalar(v))
			err_at(l, v, e->path, "expected true or false, got '%s'", CLEAN(v, buf));
		else
			err_at(l, v, e->path, "expected true or false, got %s", ytree_kind_name(v));
		break;
	case CFG_T_INT:
	case CFG_T_INT_NULL:
		if (get_number(l, v, e, &x))
			*FIELD(l->c, e, int) = (int)x;
		break;
	case CFG_T_SIZE:
		if (get_number(l, v, e, &x))
			*FIELD(l->c, e, size_t) = (size_t)x;
		break;
	case CFG_T_LLONG:
		if (get_number(l, v, e, &x))
			*FIELD(l->c, e, long long) = x;
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
static void walk_map(struct ld *l, const char *prefix, const struct ytree_node *map,
		     const struct ytree_node *where)
{
	char path[PATH_MAX_LEN], buf[64];
	if (map && map->kind != YTREE_MAP && !is_null(map)) {
		err_at(l, map, prefix[0] ? prefix : NULL, "expected a mapping, got %s",
		       ytree_kind_name(map));
		return;
	}
	for (size_t i = 0; map && map->kind == YTREE_MAP && i + 1 < map->n; i += 2) {
		const struct ytree_node *k = map->items[i], *v = map->items[i + 1];
		if (!is_scalar(k)) {
			err_at(l, k, prefix[0] ? prefix : NULL, "keys must be plain text, got %s",
			       ytree_kind_name(k));
			continue;
		}
		snprintf(path, sizeof path, "%s%s%s", prefix, prefix[0] ? "." : "", CLEAN(k, buf));
		size_t idx;
		const struct cfg__entry *e =
			strlen(k->text) == k->len ? find_entry(path, &idx) : NULL;
		if (!e) {
			/* suggestions cost more than a lookup: only for messages that are kept */
			const char *s = l->d->n < CFG_DIAGS_MAX ? suggest(path) : NULL;
			if (s)
				warn_at(l, k, path, "unknown key, ignored (did you mean %s?)", s);
			else
				warn_at(l, k, path, "unknown key, ignored");
			continue;
		}
		if (l->key[idx]) {
			err_at(l, k, path, "key listed twice (first at line %d)", l->key[idx]->line);
			continue;
		}
		l->key[idx] = k;
		l->val[idx] = v;
		if ((e->flags & CFG_F_CODE) && (l->opts.flags & CFG_LOAD_NO_CODE) && !is_null(v)) {
			err_at(l, k, path,
			       "names a program or plug-in, which a study deployed through the "
			       "admin API may not do on this server (its operator can allow it with "
			       "hippo serve --trust-deployed-code)");
			l->d->nrefused++;
			l->refused_code = true;
			continue;
		}
		set_value(l, e, k, v);
	}
	for (size_t i = 0; i < NENTRIES; i++) {
		const struct cfg__entry *e = &table[i];
		if (!(e->flags & CFG_F_REQUIRED) || !parent_is(e->path, prefix))
			continue;
		if (!l->key[i])
			err_at(l, where, e->path, "required key is missing");
		else if (is_null(l->val[i]) && e->type != CFG_T_STEPS && e->type != CFG_T_SECTION)
			err_at(l, l->key[i], e->path, "required key has no value");
	}
}

/* ---- cross-field rules -------------------------------------------------- */

static const struct ytree_node *key_of(struct ld *l, const char *path)
{
	size_t idx;
	return find_entry(path, &idx) ? l->key[idx] : NULL;
}

static const struct ytree_node *val_of(struct ld *l, const char *path)
{
	size_t idx;
	return find_entry(path, &idx) ? l->val[idx] : NULL;
}

/* LO <= HI for two frame-rate keys; reported at whichever was written last
 * in the file (the other is the default or an earlier key). */
static void frame_order(struct ld *l, const char *lo_path, int lo, const char *hi_path, int hi)
{
	if (lo <= hi)
		return;
	const struct ytree_node *lo_v = val_of(l, lo_path), *hi_v = val_of(l, hi_path);
	const char *lo_name = strrchr(lo_path, '.') + 1, *hi_name = strrchr(hi_path, '.') + 1;
	if (hi_v && (!lo_v || hi_v->line >= lo_v->line))
		err_at(l, hi_v, hi_path, "%d is below %s (%d%s)", hi, lo_name, lo,
		       lo_v ? "" : ", the default");
	else
		err_at(l, lo_v, lo_path, "%d is above %s (%d%s)", lo, hi_name, hi,
		       hi_v ? "" : ", the default");
}

static void check_frame_rates(struct ld *l)
{
	const struct cfg_trial *t = &l->c->trial;
	frame_order(l, "trial.minFrameRate", t->min_frame_rate, "trial.maxFrameRate",
		    t->max_frame_rate);
	if (t->min_frame_rate > t->max_frame_rate)
		return; /* one message is enough */
	frame_order(l, "trial.minFrameRate", t->min_frame_rate, "trial.startingFrameRate",
		    t->starting_frame_rate);
	frame_order(l, "trial.startingFrameRate", t->starting_frame_rate, "trial.maxFrameRate",
		    t->max_frame_rate);
}

static void check_event(struct ld *l, const char *path, int step)
{
	const struct cfg_project *p = &l->c->project;
	if (step == 0)
		return;
	if ((size_t)step > p->nsteps + 1)
		err_at(l, val_of(l, path), path,
		       "step %d does not exist (the steps are 1..%zu, and %zu is finalStep)", step,
		       p->nsteps, p->nsteps + 1);
}

static void check_events(struct ld *l)
{
	const struct cfg_project *p = &l->c->project;
	check_event(l, "project.events.startServerStep", p->start_server_step);
	check_event(l, "project.events.stopServerStep", p->stop_server_step);
	if (p->start_server_step && p->stop_server_step &&
	    p->start_server_step > p->stop_server_step)
		err_at(l, val_of(l, "project.events.stopServerStep"),
		       "project.events.stopServerStep", "step %d comes before startServerStep (%d)",
		       p->stop_server_step, p->start_server_step);
	for (size_t i = 0; i < p->nsteps; i++) {
		const struct cfg_step *s = &p->steps[i];
		if (!s->is_game)
			continue;
		char path[64];
		snprintf(path, sizeof path, "project.steps.%d", s->number);
		if (!l->c->trial.game && !l->c->trial.env.plugin && !l->c->trial.env.command)
			err_at(l, &(struct ytree_node){.line = s->line, .col = s->col}, path,
			       "a game step needs trial.game (or trial.env)");
		if (p->start_server_step > s->number &&
		    (size_t)p->start_server_step <= p->nsteps + 1)
			warn_at(l, val_of(l, "project.events.startServerStep"),
				"project.events.startServerStep",
				"step %d comes after the game step (%d); the session starts at the "
				"game step instead",
				p->start_server_step, s->number);
	}
}

static char *dup_or_null(const char *s)
{
	return s ? strdup(s) : NULL;
}

/* Where data goes: an explicit project.storage, or S3 implied by the
 * original's trial.s3upload with awsSetup.bucket/region. */
static void resolve_storage(struct ld *l)
{
	struct cfg_project *p = &l->c->project;
	const struct ytree_node *st = val_of(l, "project.storage");
	const struct ytree_node *up = val_of(l, "trial.s3upload");
	if (!st && l->c->trial.s3upload)
		p->storage = CFG_STORAGE_S3;
	if (p->storage != CFG_STORAGE_S3)
		return;
	if (!p->s3.bucket)
		p->s3.bucket = dup_or_null(p->aws_bucket);
	if (!p->s3.region)
		p->s3.region = dup_or_null(p->aws_region ? p->aws_region : "us-east-1");
	if (!p->s3.bucket)
		err_at(l, st ? st : up, st ? "project.storage" : "trial.s3upload",
		       "S3 storage needs a bucket (project.storage.s3.bucket or "
		       "project.awsSetup.bucket)");
}

/* trial.env.plugin: a path inside the study folder (relative, no '..', and
 * no symbolic link leading out): studies never load a library from elsewhere
 * on the host. A file that does not exist yet is left to `hippo check`. */
static void check_plugin_path(struct ld *l, const char *p)
{
	const struct ytree_node *v = val_of(l, "trial.env.plugin");
	char buf[64];
	bool dotdot = false;
	for (const char *s = p; s; s = strchr(s, '/'), s = s ? s + 1 : NULL)
		if (s[0] == '.' && s[1] == '.' && (s[2] == '/' || s[2] == '\0'))
			dotdot = true;
	if (p[0] == '/' || dotdot) {
		err_at(l, v, "trial.env.plugin",
		       "'%s' must be a path inside the study folder (relative, without '..')",
		       v ? CLEAN(v, buf) : "");
		return;
	}
	if (l->dir && path_inside(l->dir, p, NULL, 0) == PATH_OUTSIDE)
		err_at(l, v, "trial.env.plugin",
		       "'%s' is a symbolic link to a file outside the study folder",
		       v ? CLEAN(v, buf) : "");
}

static void check_env(struct ld *l)
{
	const struct cfg_env_source *env = &l->c->trial.env;
	if (!key_of(l, "trial.env"))
		return;
	if (env->plugin && env->command)
		err_at(l, val_of(l, "trial.env.command"), "trial.env",
		       "give either plugin or command, not both");
	else if (!env->plugin && !env->command && !l->refused_code)
		err_at(l, key_of(l, "trial.env"), "trial.env", "needs plugin or command");
	if (env->plugin)
		check_plugin_path(l, env->plugin);
}

/* Without trial.env, trial.game names an environment of the registry the
 * caller passed in (opts.game_known). */
static void check_game(struct ld *l)
{
	const char *game = l->c->trial.game;
	char near[200] = "", buf[64];
	if (!l->opts.game_known || key_of(l, "trial.env") || !game)
		return;
	if (l->opts.game_known(game, near, sizeof near))
		return;
	const struct ytree_node *v = val_of(l, "trial.game");
	err_at(l, v, "trial.game",
	       "unknown environment '%s'%s%s%s (without trial.env it names a built-in "
	       "environment: hippo envs lists them)",
	       v ? CLEAN(v, buf) : game, near[0] ? "; did you mean " : "", near,
	       near[0] ? "?" : "");
}

static int set_default_ui(struct cfg *c)
{
	size_t n = sizeof default_ui / sizeof default_ui[0];
	c->trial.ui = calloc(n + 1, sizeof *c->trial.ui);
	if (!c->trial.ui)
		return -1;
	for (size_t i = 0; i < n; i++) {
		c->trial.ui[i] = strdup(default_ui[i]);
		if (!c->trial.ui[i])
			return -1;
		c->trial.nui = i + 1;
	}
	return 0;
}

/* ---- public entry points ------------------------------------------------ */

int cfg_load_buffer_with(const char *dir, const struct cfg_load_opts *opts, const char *yaml,
			 size_t len, struct cfg *c, struct cfg_diags *diags)
{
	static const struct ytree_limits lim = {CFG_MAX_BYTES, CFG_MAX_DEPTH, CFG_MAX_NODES};
	struct ytree_node *root = NULL;
	struct ytree_error yerr;
	size_t first = diags->n, errors_before = diags->nerrors;
	struct ld *l = NULL;

	cfg_defaults(c);
	if (ytree_parse(yaml, len, &lim, &root, &yerr) < 0) {
		diag(diags, CFG_ERROR, yerr.line, yerr.col, NULL, "%s", yerr.message);
		goto out;
	}
	if (!root || is_null(root)) {
		diag(diags, CFG_ERROR, 0, 0, NULL, "the file is empty (expected project: and trial:)");
		goto out;
	}
	if (root->kind != YTREE_MAP) {
		diag(diags, CFG_ERROR, root->line, root->col, NULL,
		     "expected a mapping with project: and trial:, got %s", ytree_kind_name(root));
		goto out;
	}
	l = calloc(1, sizeof *l);
	if (!l || (dir && !(c->dir = strdup(dir)))) {
		diag(diags, CFG_ERROR, 0, 0, NULL, "out of memory");
		goto out;
	}
	l->c = c;
	l->d = diags;
	l->dir = dir;
	l->root = root;
	if (opts)
		l->opts = *opts;
	walk_map(l, "", root, root);
	check_frame_rates(l);
	check_events(l);
	check_env(l);
	check_game(l);
	resolve_storage(l);
	if (!key_of(l, "trial.ui") && set_default_ui(c) < 0)
		diag(diags, CFG_ERROR, 0, 0, NULL, "out of memory");
out:
	free(l);
	ytree_free(root);
	diags_sort(diags, first);
	if (diags->nerrors > errors_before) {
		cfg_free(c);
		return -1;
	}
	return 0;
}

int cfg_load_buffer(const char *dir, const char *yaml, size_t len, struct cfg *c,
		    struct cfg_diags *diags)
{
	return cfg_load_buffer_with(dir, NULL, yaml, len, c, diags);
}

int cfg_load(const char *dir, struct cfg *c, struct cfg_diags *diags)
{
	return cfg_load_with(dir, NULL, c, diags);
}

int cfg_load_with(const char *dir, const struct cfg_load_opts *opts, struct cfg *c,
		  struct cfg_diags *diags)
{
	char path[PATH_MAX];
	char *buf = NULL;
	int rc = -1, fd = -1;
	struct stat st;

	cfg_defaults(c);
	int n = snprintf(path, sizeof path, "%s/config.yml", dir);
	if (n < 0 || (size_t)n >= sizeof path) {
		diag(diags, CFG_ERROR, 0, 0, NULL, "project folder path too long");
		goto out;
	}
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK); /* a FIFO must not block */
	if (fd < 0 || fstat(fd, &st) < 0) {
		diag(diags, CFG_ERROR, 0, 0, NULL, "cannot open: %s", strerror(errno));
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		diag(diags, CFG_ERROR, 0, 0, NULL, "not a regular file");
		goto out;
	}
	if (st.st_size > CFG_MAX_BYTES) {
		diag(diags, CFG_ERROR, 0, 0, NULL, "file too large (%lld bytes, the limit is %d)",
		     (long long)st.st_size, CFG_MAX_BYTES);
		goto out;
	}
	size_t size = (size_t)st.st_size, got = 0;
	buf = malloc(size + 1);
	if (!buf) {
		diag(diags, CFG_ERROR, 0, 0, NULL, "out of memory");
		goto out;
	}
	while (got < size) {
		ssize_t r = read(fd, buf + got, size - got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			diag(diags, CFG_ERROR, 0, 0, NULL, "read error: %s",
			     r < 0 ? strerror(errno) : "file shrank while reading");
			goto out;
		}
		got += (size_t)r;
	}
	rc = cfg_load_buffer_with(dir, opts, buf, size, c, diags);
out:
	if (fd >= 0)
		close(fd);
	free(buf);
	return rc;
}

static void free_list(char **list)
{
	for (size_t i = 0; list && list[i]; i++)
		free(list[i]);
	free(list);
}

void cfg_free(struct cfg *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < NENTRIES; i++) {
		const struct cfg__entry *e = &table[i];
		switch (e->type) {
		case CFG_T_STR:
			free(*FIELD(c, e, char *));
			break;
		case CFG_T_STRLIST:
		case CFG_T_ARGV:
		case CFG_T_UI:
			free_list(*FIELD(c, e, char **));
			break;
		case CFG_T_JSON_MAP:
		case CFG_T_JSON:
		case CFG_T_JSON_STRLIST:
			json_decref(*FIELD(c, e, json_t *));
			break;
		default:
			break;
		}
	}
	for (size_t i = 0; i < c->project.nsteps; i++)
		free(c->project.steps[i].file);
	free(c->project.steps);
	free(c->project.final_step.file);
	free(c->dir);
	cfg_defaults(c);
}

const struct cfg_step *cfg_step_get(const struct cfg *c, int number)
{
	if (number < 1)
		return NULL;
	if ((size_t)number <= c->project.nsteps)
		return &c->project.steps[number - 1];
	return &c->project.final_step;
}
