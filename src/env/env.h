/* env: the host side of the environment ABI (include/hippo/env.h): the
 * registry of built-in environments and `struct env`, an opened instance with
 * its observation buffer and Gymnasium's TimeLimit applied. */
#ifndef HIPPO_ENV_ENV_H
#define HIPPO_ENV_ENV_H

#include <stddef.h>
#include <stdint.h>

#include "hippo/env.h"

/* Built-in environments, in listing order. */
size_t env_builtin_count(void);
const struct hippo_env_ops *env_builtin(size_t i);
/* The built-in environment with ID, or NULL. */
const struct hippo_env_ops *env_find(const char *id);
/* Writes up to 3 known ids closest to ID (edit distance), comma-separated. */
void env_suggest(const char *id, char *out, size_t outlen);
/* numpy's name of T: "float32", "float64", "uint8", "int64". */
const char *env_dtype_name(enum hippo_dtype t);

struct env {
	const struct hippo_env_ops *ops;
	void *inst;
	const struct hippo_env_info *info;
	double *obs;         /* observation_space size scalars, owned */
	size_t obs_n;
	int elapsed_steps;   /* steps since reset, for the TimeLimit */
	int needs_reset;     /* step() refused until reset() */
	char err[256];       /* last error message */
};

/* Opens built-in environment ID with OPTIONS_JSON (may be NULL).
 * Returns 0, or -1 with a message in ERR ("unknown environment 'X'; did you mean ...?"). */
int env_open(struct env *e, const char *id, const char *options_json, char *err, size_t errlen);
/* Same with an explicit ops table (plug-ins); checks the table's abi_version. */
int env_open_ops(struct env *e, const struct hippo_env_ops *ops, const char *id,
		 const char *options_json, char *err, size_t errlen);
/* SEED NULL continues the generator. INFO gets the env's info JSON (may be NULL). */
int env_reset(struct env *e, const uint64_t *seed, char *info, size_t infolen);
/* Validates ACTION against the action space (range, integrality, NaN/inf) and
 * steps; applies the TimeLimit. Errors go to e->err. */
int env_step(struct env *e, const double *action, struct hippo_step_result *res, char *info,
	     size_t infolen);
/* RGB must hold meta.render_width * 3 bytes per row, STRIDE apart. */
int env_render(struct env *e, uint8_t *rgb, size_t stride);
void env_close(struct env *e);

#endif
