/* tenv: the trial's environment source; see trial_env.h. */
#include "trial/trial_env.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
	te->ready = true;
	return 1;
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
