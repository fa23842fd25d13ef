/* config rules across keys, run after the walk: frame-rate order, events
 * within the steps, trial.env, trial.game against the registry, and where
 * data goes. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/config_int.h"
#include "core/path.h"

const struct ytree_node *cfg__key_of(struct cfg__ld *l, const char *path)
{
	size_t idx;
	return cfg__find_entry(path, &idx) ? l->key[idx] : NULL;
}

static const struct ytree_node *val_of(struct cfg__ld *l, const char *path)
{
	size_t idx;
	return cfg__find_entry(path, &idx) ? l->val[idx] : NULL;
}

/* LO <= HI for two frame-rate keys; reported at whichever was written last
 * in the file (the other is the default or an earlier key). */
static void frame_order(struct cfg__ld *l, const char *lo_path, int lo, const char *hi_path, int hi)
{
	if (lo <= hi)
		return;
	const struct ytree_node *lo_v = val_of(l, lo_path), *hi_v = val_of(l, hi_path);
	const char *lo_name = strrchr(lo_path, '.') + 1, *hi_name = strrchr(hi_path, '.') + 1;
	if (hi_v && (!lo_v || hi_v->line >= lo_v->line))
		cfg__err_at(l, hi_v, hi_path, "%d is below %s (%d%s)", hi, lo_name, lo,
			    lo_v ? "" : ", the default");
	else
		cfg__err_at(l, lo_v, lo_path, "%d is above %s (%d%s)", lo, hi_name, hi,
			    hi_v ? "" : ", the default");
}

static void check_frame_rates(struct cfg__ld *l)
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

static void check_event(struct cfg__ld *l, const char *path, int step)
{
	const struct cfg_project *p = &l->c->project;
	if (step == 0)
		return;
	if ((size_t)step > p->nsteps + 1)
		cfg__err_at(l, val_of(l, path), path,
			    "step %d does not exist (the steps are 1..%zu, and %zu is finalStep)",
			    step, p->nsteps, p->nsteps + 1);
}

static void check_events(struct cfg__ld *l)
{
	const struct cfg_project *p = &l->c->project;
	check_event(l, "project.events.startServerStep", p->start_server_step);
	check_event(l, "project.events.stopServerStep", p->stop_server_step);
	if (p->start_server_step && p->stop_server_step &&
	    p->start_server_step > p->stop_server_step)
		cfg__err_at(l, val_of(l, "project.events.stopServerStep"),
			    "project.events.stopServerStep",
			    "step %d comes before startServerStep (%d)", p->stop_server_step,
			    p->start_server_step);
	for (size_t i = 0; i < p->nsteps; i++) {
		const struct cfg_step *s = &p->steps[i];
		if (!s->is_game)
			continue;
		char path[64];
		snprintf(path, sizeof path, "project.steps.%d", s->number);
		if (!l->c->trial.game && !l->c->trial.env.plugin && !l->c->trial.env.command)
			cfg__err_at(l, &(struct ytree_node){.line = s->line, .col = s->col}, path,
				    "a game step needs trial.game (or trial.env)");
		if (p->start_server_step > s->number &&
		    (size_t)p->start_server_step <= p->nsteps + 1)
			cfg__warn_at(
				l, val_of(l, "project.events.startServerStep"),
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
static void resolve_storage(struct cfg__ld *l)
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
		cfg__err_at(l, st ? st : up, st ? "project.storage" : "trial.s3upload",
			    "S3 storage needs a bucket (project.storage.s3.bucket or "
			    "project.awsSetup.bucket)");
}

/* trial.env.plugin: a path inside the study folder (relative, no '..', and
 * no symbolic link leading out): studies never load a library from elsewhere
 * on the host. A file that does not exist yet is left to `hippo check`. */
static void check_plugin_path(struct cfg__ld *l, const char *p)
{
	const struct ytree_node *v = val_of(l, "trial.env.plugin");
	char buf[64];
	bool dotdot = false;
	for (const char *s = p; s; s = strchr(s, '/'), s = s ? s + 1 : NULL)
		if (s[0] == '.' && s[1] == '.' && (s[2] == '/' || s[2] == '\0'))
			dotdot = true;
	if (p[0] == '/' || dotdot) {
		cfg__err_at(l, v, "trial.env.plugin",
			    "'%s' must be a path inside the study folder (relative, without '..')",
			    v ? CFG__CLEAN(v, buf) : "");
		return;
	}
	if (l->dir && path_inside(l->dir, p, NULL, 0) == PATH_OUTSIDE)
		cfg__err_at(l, v, "trial.env.plugin",
			    "'%s' is a symbolic link to a file outside the study folder",
			    v ? CFG__CLEAN(v, buf) : "");
}

static void check_env(struct cfg__ld *l)
{
	const struct cfg_env_source *env = &l->c->trial.env;
	if (!cfg__key_of(l, "trial.env"))
		return;
	if (env->plugin && env->command)
		cfg__err_at(l, val_of(l, "trial.env.command"), "trial.env",
			    "give either plugin or command, not both");
	else if (!env->plugin && !env->command && !l->refused_code)
		cfg__err_at(l, cfg__key_of(l, "trial.env"), "trial.env", "needs plugin or command");
	if (env->plugin)
		check_plugin_path(l, env->plugin);
}

/* Without trial.env, trial.game names an environment of the registry the
 * caller passed in (opts.game_known). */
static void check_game(struct cfg__ld *l)
{
	const char *game = l->c->trial.game;
	char near[200] = "", buf[64];
	if (!l->opts.game_known || cfg__key_of(l, "trial.env") || !game)
		return;
	if (l->opts.game_known(game, near, sizeof near))
		return;
	const struct ytree_node *v = val_of(l, "trial.game");
	cfg__err_at(l, v, "trial.game",
		    "unknown environment '%s'%s%s%s (without trial.env it names a built-in "
		    "environment: hippo envs lists them)",
		    v ? CFG__CLEAN(v, buf) : game, near[0] ? "; did you mean " : "", near,
		    near[0] ? "?" : "");
}

void cfg__check(struct cfg__ld *l)
{
	check_frame_rates(l);
	check_events(l);
	check_env(l);
	check_game(l);
	resolve_storage(l);
}
