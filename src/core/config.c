/* config: config.yml -> struct cfg, driven by one table of typed entries.
 *
 * The YAML is first read into a bounded tree (ytree.c), then one walker
 * (config_parse.c) visits every mapping: each key is looked up in the table
 * below by its dotted path and its value converted by the entry's type into
 * the field at the entry's offset. Rules across keys (config_check.c) run
 * after the walk. Every problem becomes a diagnostic (config_diag.c) with the
 * position of the key or value. This file holds the table, the defaults and
 * the entry points. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/config.h"
#include "core/config_int.h"
#include "core/config_table.h"
#include "core/id.h"
#include "core/ytree.h"

_Static_assert(sizeof(enum cfg_data_file) == sizeof(int), "enums are stored through int *");
_Static_assert(sizeof(enum cfg_trial_mode) == sizeof(int), "enums are stored through int *");

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

const struct cfg__entry table[] = {
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
	BOOL("trial.recordFrames", T(record_frames), 0, H),
	{"trial.maxMessageBytes", CFG_T_SIZE, T(max_message_bytes), 0, 256, 16 * 1024 * 1024,
	 65536, NULL, H, NULL},
	INT("trial.maxMessagesPerSecond", T(max_messages_per_s), 1, 100000, 200, H),
	{"trial.seed", CFG_T_LLONG, T(seed), 0, -1, LLONG_MAX, -1, NULL, H, NULL},
};

#define NENTRIES (sizeof table / sizeof table[0])
_Static_assert(NENTRIES <= CFG__NENTRIES_MAX, "the loader keeps a key and a value per entry");

const struct cfg__entry *cfg__table(size_t *n)
{
	*n = NENTRIES;
	return table;
}

void cfg_defaults(struct cfg *c)
{
	memset(c, 0, sizeof *c);
	for (size_t i = 0; i < NENTRIES; i++) {
		const struct cfg__entry *e = &table[i];
		switch (e->type) {
		case CFG_T_BOOL:
			*CFG__FIELD(c, e, bool) = e->def != 0;
			break;
		case CFG_T_INT:
		case CFG_T_INT_NULL:
		case CFG_T_ENUM:
			*CFG__FIELD(c, e, int) = (int)e->def;
			break;
		case CFG_T_SIZE:
			*CFG__FIELD(c, e, size_t) = (size_t)e->def;
			break;
		case CFG_T_LLONG:
			*CFG__FIELD(c, e, long long) = e->def;
			break;
		default:
			break;
		}
	}
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
	struct cfg__ld *l = NULL;

	cfg_defaults(c);
	if (ytree_parse(yaml, len, &lim, &root, &yerr) < 0) {
		cfg__diag(diags, CFG_ERROR, yerr.line, yerr.col, NULL, "%s", yerr.message);
		goto out;
	}
	if (!root || cfg__is_null(root)) {
		cfg__diag(diags, CFG_ERROR, 0, 0, NULL,
			  "the file is empty (expected project: and trial:)");
		goto out;
	}
	if (root->kind != YTREE_MAP) {
		cfg__diag(diags, CFG_ERROR, root->line, root->col, NULL,
			  "expected a mapping with project: and trial:, got %s",
			  ytree_kind_name(root));
		goto out;
	}
	l = calloc(1, sizeof *l);
	if (!l || (dir && !(c->dir = strdup(dir)))) {
		cfg__diag(diags, CFG_ERROR, 0, 0, NULL, "out of memory");
		goto out;
	}
	l->c = c;
	l->d = diags;
	l->dir = dir;
	l->root = root;
	if (opts)
		l->opts = *opts;
	cfg__walk_map(l, "", root, root);
	cfg__check(l);
	if (!cfg__key_of(l, "trial.ui") && set_default_ui(c) < 0)
		cfg__diag(diags, CFG_ERROR, 0, 0, NULL, "out of memory");
out:
	free(l);
	ytree_free(root);
	cfg__diags_sort(diags, first);
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
		cfg__diag(diags, CFG_ERROR, 0, 0, NULL, "project folder path too long");
		goto out;
	}
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK); /* a FIFO must not block */
	if (fd < 0 || fstat(fd, &st) < 0) {
		cfg__diag(diags, CFG_ERROR, 0, 0, NULL, "cannot open: %s", strerror(errno));
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		cfg__diag(diags, CFG_ERROR, 0, 0, NULL, "not a regular file");
		goto out;
	}
	if (st.st_size > CFG_MAX_BYTES) {
		cfg__diag(diags, CFG_ERROR, 0, 0, NULL,
			  "file too large (%lld bytes, the limit is %d)", (long long)st.st_size,
			  CFG_MAX_BYTES);
		goto out;
	}
	size_t size = (size_t)st.st_size, got = 0;
	buf = malloc(size + 1);
	if (!buf) {
		cfg__diag(diags, CFG_ERROR, 0, 0, NULL, "out of memory");
		goto out;
	}
	while (got < size) {
		ssize_t r = read(fd, buf + got, size - got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			cfg__diag(diags, CFG_ERROR, 0, 0, NULL, "read error: %s",
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
			free(*CFG__FIELD(c, e, char *));
			break;
		case CFG_T_STRLIST:
		case CFG_T_ARGV:
		case CFG_T_UI:
			free_list(*CFG__FIELD(c, e, char **));
			break;
		case CFG_T_JSON_MAP:
		case CFG_T_JSON:
		case CFG_T_JSON_STRLIST:
			json_decref(*CFG__FIELD(c, e, json_t *));
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
