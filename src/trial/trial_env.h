/* tenv: where a trial's environment comes from (trial.env, docs/plugins.md):
 * a built-in one (trial.game), a C plug-in (trial.env.plugin, dlopen), or an
 * external process (trial.env.command). An external process is started
 * without blocking when the session is allocated, so slow imports and model
 * loading happen while the participant reads the instructions; the trial
 * polls tenv_poll from its worker until the process has said hello. */
#ifndef HIPPO_TRIAL_TRIAL_ENV_H
#define HIPPO_TRIAL_TRIAL_ENV_H

#include <stdbool.h>
#include <stddef.h>

#include "env/env.h"

struct cfg;
struct plugin;
struct ext_env;

struct tenv {
	struct env *env;         /* the caller's; usable once tenv_poll returned 1 */
	bool ready;
	struct plugin *plugin;   /* the library of a plug-in env */
	struct ext_env *starting;/* an external process until its hello arrived */
	char err[256];
};

/* Opens the environment CFG names into ENV (CFG->dir resolves relative plug-in paths
 * and is the external process's working directory). LOG_CTX ("user=u1") goes
 * into the external process's log lines. Returns 0 (ready at once unless it
 * is an external process), or -1 with ERR. */
int tenv_open(struct tenv *te, struct env *env, const struct cfg *cfg, const char *log_ctx,
	      char *err, size_t errlen);

/* Without blocking: 1 when the environment is ready, 0 while its process
 * starts, -1 when it failed (message in te->err). */
int tenv_poll(struct tenv *te);

/* Steps and resets of an external process do not block: env_step() or
 * env_reset() fails at once with tenv_step_pending() true while the process
 * computes; tenv_step_ready() (without blocking) says when to repeat the call
 * with the same arguments. Always false / true for other environments. */
bool tenv_step_pending(const struct tenv *te);
bool tenv_step_ready(struct tenv *te);

struct cfg_diags;
/* For `hippo check`: loads a plug-in named by trial.env.plugin (ABI version,
 * id) and looks up an external command's program, without starting anything.
 * Appends an error per problem to DIAGS; returns the number appended. */
int tenv_check(const struct cfg *cfg, struct cfg_diags *diags);

/* For `hippo check`: starts the external environment process of
 * trial.env.command once and waits for its hello, at most the study's
 * startTimeout and never more than MAX_WAIT_S seconds; then closes it.
 * Appends an error naming the command when it fails (cannot start, exits,
 * times out, a bad hello, no action space); returns the number appended (0
 * without trial.env.command). */
int tenv_probe(const struct cfg *cfg, int max_wait_s, struct cfg_diags *diags);

/* For cfg_load_with (struct cfg_load_opts.game_known): whether ID is a
 * built-in environment; if not, up to 3 close ids go to NEAR. */
bool tenv_game_known(const char *id, char *near, size_t nearlen);

/* Closes the environment, its process or library (no-op after a failed open). */
void tenv_close(struct tenv *te);

#endif
