/* tenv: the trial's environment source; see trial_env.h. */
#include "trial/trial_env.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/buf.h"
#include "core/config.h"
#include "env/external.h"
#include "env/plugin.h"

int tenv_open(struct tenv *te, struct env *env, const struct cfg *cfg, const char *log_ctx,
	      char *err, size_t errlen)
{
	const struct cfg_trial *ct = &cfg->trial;
	const struct cfg_env_source *src = &ct->env;
	const char *id = src->id ? src->id : ct->game;
	char *opts = src->options ? json_dumps(src->options, JSON_COMPACT) : NULL;
	int rc;
	memset(te, 0, sizeof *te);
	te->env = env;
	if (src->command) {
		struct ext_env_conf c = {
			.proc = {.argv = src->command,
				 .cwd = cfg->dir,
				 .start_timeout_ms = src->start_timeout_s > 0
							     ? src->start_timeout_s * 1000
							     : 0,
				 .step_timeout_ms = src->step_timeout_ms,
				 .log_ctx = log_ctx},
			.id = id,
			.options_json = opts,
			.action_names = ct->action_space,
		};
		rc = ext_env_start(&c, &te->starting, err, errlen);
	} else if (src->plugin) {
		rc = plugin_env_open(te->env, &te->plugin, cfg->dir, src->plugin, id, opts, err,
				     errlen);
		te->ready = rc == 0;
	} else {
		rc = env_open(te->env, id ? id : "CartPole-v1", opts, err, errlen);
		te->ready = rc == 0;
	}
	free(opts);
	return rc;
}

int tenv_poll(struct tenv *te)
{
	if (te->ready)
		return 1;
	if (!te->starting)
		return -1;
	int rc = ext_env_poll(te->starting);
	if (rc == 0)
		return 0;
	if (rc < 0) {
		snprintf(te->err, sizeof te->err, "%s", ext_env_error(te->starting));
		ext_env_close(te->starting);
		te->starting = NULL;
		return -1;
	}
	struct ext_env *x = te->starting;
	te->starting = NULL;
	if (ext_env_open_started(te->env, x, te->err, sizeof te->err) < 0)
		return -1;
	ext_env_set_async(x, true);
	te->ready = true;
	return 1;
}

bool tenv_step_pending(const struct tenv *te)
{
	return te->ready && te->env->ops == &ext_env_ops && ext_env_step_pending(te->env->inst);
}

bool tenv_step_ready(struct tenv *te)
{
	if (!te->ready || te->env->ops != &ext_env_ops)
		return true;
	return ext_env_step_poll(te->env->inst) != 0;
}

void tenv_close(struct tenv *te)
{
	if (te->ready)
		env_close(te->env);
	ext_env_close(te->starting);
	plugin_close(te->plugin);
	struct env *env = te->env;
	memset(te, 0, sizeof *te);
	te->env = env;
}

static int add_error(struct cfg_diags *d, const char *path, const char *msg)
{
	if (buf_grow_array((void **)&d->items, &d->cap, d->n + 1, sizeof *d->items, 8, 0) < 0)
		return 0;
	struct cfg_diag *g = &d->items[d->n];
	*g = (struct cfg_diag){.severity = CFG_ERROR, .path = strdup(path), .message = strdup(msg)};
	if (!g->path || !g->message) {
		free(g->path);
		free(g->message);
		return 0;
	}
	d->n++;
	d->nerrors++;
	return 1;
}

/* Whether PROG runs: a path (relative to DIR) or a name found in PATH. */
static bool runnable(const char *dir, const char *prog)
{
	char path[4096];
	if (strchr(prog, '/')) {
		if (prog[0] == '/' || !dir)
			snprintf(path, sizeof path, "%s", prog);
		else
			snprintf(path, sizeof path, "%s/%s", dir, prog);
		return access(path, X_OK) == 0;
	}
	const char *p = getenv("PATH");
	while (p && *p) {
		const char *end = strchr(p, ':');
		size_t n = end ? (size_t)(end - p) : strlen(p);
		snprintf(path, sizeof path, "%.*s/%s", (int)n, p, prog);
		if (n && access(path, X_OK) == 0)
			return true;
		p = end ? end + 1 : NULL;
	}
	return false;
}

int tenv_check(const struct cfg *cfg, struct cfg_diags *diags)
{
	const struct cfg_env_source *src = &cfg->trial.env;
	char err[512];
	int n = 0;
	if (src->plugin) {
		struct plugin *p;
		const char *id = src->id ? src->id : cfg->trial.game;
		if (plugin_open(cfg->dir, src->plugin, &p, err, sizeof err) < 0) {
			n += add_error(diags, "trial.env.plugin", err);
		} else {
			if (!plugin_find(p, id)) {
				snprintf(err, sizeof err, "%s offers no environment '%s'",
					 plugin_path(p), id ? id : "(several: name one with trial.env.id)");
				n += add_error(diags, "trial.env.id", err);
			}
			plugin_close(p);
		}
	}
	if (src->command && src->command[0] && !runnable(cfg->dir, src->command[0])) {
		snprintf(err, sizeof err, "program '%s' not found or not executable",
			 src->command[0]);
		n += add_error(diags, "trial.env.command", err);
	}
	if (cfg->trial.agent_command && cfg->trial.agent_command[0] &&
	    !runnable(cfg->dir, cfg->trial.agent_command[0])) {
		snprintf(err, sizeof err, "program '%s' not found or not executable",
			 cfg->trial.agent_command[0]);
		n += add_error(diags, "trial.agentCommand", err);
	}
	return n;
}

bool tenv_game_known(const char *id, char *near, size_t nearlen)
{
	if (env_find(id))
		return true;
	env_suggest(id, near, nearlen);
	return false;
}

int tenv_probe(const struct cfg *cfg, int max_wait_s, struct cfg_diags *diags)
{
	const struct cfg_env_source *src = &cfg->trial.env;
	char cmd[200] = "", err[512], msg[900];
	size_t off = 0;
	if (!src->command || !src->command[0])
		return 0;
	for (size_t i = 0; src->command[i] && off + 1 < sizeof cmd; i++) {
		int k = snprintf(cmd + off, sizeof cmd - off, "%s%s", i ? " " : "", src->command[i]);
		if (k < 0)
			break;
		off += (size_t)k;
	}
	int wait_s = src->start_timeout_s;
	if (wait_s > max_wait_s)
		wait_s = max_wait_s;
	char *opts = src->options ? json_dumps(src->options, JSON_COMPACT) : NULL;
	struct ext_env_conf c = {
		.proc = {.argv = src->command,
			 .cwd = cfg->dir,
			 .start_timeout_ms = wait_s * 1000,
			 .step_timeout_ms = src->step_timeout_ms,
			 .log_ctx = "check=hello"},
		.id = src->id ? src->id : cfg->trial.game,
		.options_json = opts,
		.action_names = cfg->trial.action_space,
	};
	struct ext_env *x = NULL;
	int n = 0;
	if (ext_env_start(&c, &x, err, sizeof err) < 0) {
		snprintf(msg, sizeof msg, "%s (command: %s)", err, cmd);
		n = add_error(diags, "trial.env.command", msg);
	} else if (ext_env_wait(x) < 0) {
		snprintf(msg, sizeof msg, "the environment failed at hello: %s (command: %s)",
			 ext_env_error(x), cmd);
		n = add_error(diags, "trial.env.command", msg);
	}
	ext_env_close(x);
	free(opts);
	return n;
}
