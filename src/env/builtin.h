/* builtin: what the built-in environments share inside src/env/ (the env__
 * helpers) and the ops tables that env.c lists. Adding an environment is one
 * extern here and one line in env.c's table. */
#ifndef HIPPO_ENV_BUILTIN_H
#define HIPPO_ENV_BUILTIN_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "hippo/env.h"

/* Gymnasium's numbers come from one rounding per operation: no fused
 * multiply-add. GCC in ISO C mode already contracts nothing; clang needs this. */
#ifdef __clang__
#pragma STDC FP_CONTRACT OFF
#endif

/* Classic control (cartpole.c, mountain_car.c, acrobot.c, pendulum.c). */
extern const struct hippo_env_ops env_cartpole_v0_ops;
extern const struct hippo_env_ops env_cartpole_v1_ops;
extern const struct hippo_env_ops env_mountain_car_v0_ops;
extern const struct hippo_env_ops env_mountain_car_continuous_v0_ops;
extern const struct hippo_env_ops env_acrobot_v1_ops;
extern const struct hippo_env_ops env_pendulum_v1_ops;

/* MiniGrid (minigrid/minigrid_levels.c) and toy text (frozen_lake.c, taxi.c, cliff_walking.c). */
extern const struct hippo_env_ops mg_empty_5x5_ops;
extern const struct hippo_env_ops mg_empty_8x8_ops;
extern const struct hippo_env_ops mg_doorkey_5x5_ops;
extern const struct hippo_env_ops mg_fourrooms_ops;
extern const struct hippo_env_ops tt_frozen_lake_v1_ops;
extern const struct hippo_env_ops tt_taxi_v3_ops;
extern const struct hippo_env_ops tt_cliff_walking_v0_ops;

/* Writes a printf-style message to ERR and returns -1. */
int env__fail(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Parses OPTIONS_JSON (NULL or "" means no options) into an object whose keys
 * must all be in ALLOWED (NULL-terminated). *OUT is NULL when there are no
 * options, else a new reference the caller releases with json_decref. */
int env__options(const char *options_json, const char *const *allowed, json_t **out, char *err,
		 size_t errlen);
/* Reads number KEY from OPTS into *V if present (V unchanged otherwise). */
int env__opt_number(json_t *opts, const char *key, double *v, char *err, size_t errlen);
/* Reads boolean KEY from OPTS into *V if present. */
int env__opt_bool(json_t *opts, const char *key, bool *v, char *err, size_t errlen);
/* Gymnasium's maybe_parse_reset_bounds(): options "low"/"high" over the defaults. */
int env__reset_bounds(json_t *opts, double *low, double *high, char *err, size_t errlen);

/* Writes "{}" to INFO if there is room (INFO may be NULL). */
void env__empty_info(char *info, size_t infolen);

/* The float32 rounding of X (numpy's astype(np.float32)), as a double. */
static inline double env__f32(double x)
{
	return (double)(float)x;
}

#endif
