/* toytext: Gymnasium's tabular "toy text" environments (FrozenLake-v1, Taxi-v3,
 * CliffWalking-v0) as one engine: a table P[s][a] of up to three transitions
 * (probability, next state, reward, terminated) and a start distribution, drawn
 * with Gymnasium's categorical_sample (argmax(cumsum(p) > np_random.random()):
 * one draw per reset and one per step, whatever the number of transitions).
 *
 * The observation is the Discrete state index, exposed through the ABI as a Box
 * int64 of shape (1,) in [0, n_states - 1]. tt__ names are shared by
 * toytext.c, frozen_lake.c, taxi.c and cliff_walking.c only. */
#ifndef HIPPO_ENV_TOYTEXT_H
#define HIPPO_ENV_TOYTEXT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "env/rng.h"
#include "hippo/env.h"
#include "render/raster.h"

extern const struct hippo_env_ops tt_frozen_lake_v1_ops;
extern const struct hippo_env_ops tt_taxi_v3_ops;
extern const struct hippo_env_ops tt_cliff_walking_v0_ops;

#define TT_MAX_OUTCOMES 3

struct tt_transition {
	double p;
	int next;
	double reward;
	bool terminated;
};

struct tt_env;

/* What differs between the toy-text environments. */
struct tt_spec {
	const char *id;
	int n_states, n_actions;
	const char *const *action_names;
	int max_episode_steps;   /* Gymnasium's registration (0: none) */
	double reward_threshold; /* NAN when none */
	int render_width, render_height;
	const char *const *option_keys; /* NULL-terminated keys create() accepts, or NULL */
	/* Applies the options (OPTS may be NULL) and may change env->n_states and the
	 * render size; NULL when the environment takes none. */
	int (*configure)(struct tt_env *env, json_t *opts, char *err, size_t errlen);
	/* Fills env->table and env->start (zeroed beforehand). */
	void (*build)(struct tt_env *env);
	/* Writes the info object of a reset (PROB 1) or a step as JSON text. */
	void (*info)(const struct tt_env *env, double prob, char *info, size_t infolen);
	/* Draws the current state (meta.render_width x render_height). */
	void (*render)(const struct tt_env *env, struct raster *r);
};

struct tt_env {
	const struct tt_spec *spec;
	struct hippo_env_info info;
	double low, high;
	struct rng rng;
	bool seeded, needs_reset;
	int n_states;
	int state;
	/* FrozenLake's map and slipperiness (configure) */
	const char *const *desc;
	int nrow, ncol;
	bool slippery;
	int last_action;           /* -1 after reset, as Gymnasium's lastaction = None */
	int last_move;             /* last action among 0..3, -1 after reset (Taxi's orientation) */
	/* table[(s * n_actions + a) * TT_MAX_OUTCOMES + k], count[s * n_actions + a] */
	struct tt_transition *table;
	int *count;
	double *start;             /* initial_state_distrib, n_states entries */
};

enum tt_facing { TT_FACE_LEFT, TT_FACE_DOWN, TT_FACE_RIGHT, TT_FACE_UP };

/* Draws the player (Gymnasium's elf) centred at CX, CY in a cell SIZE pixels wide,
 * its face turned towards FACING. */
void tt__draw_player(struct raster *r, double cx, double cy, double size, enum tt_facing facing);

/* Appends a transition to P[s][a]. */
void tt__add(struct tt_env *env, int s, int a, double p, int next, double reward, bool terminated);

int tt__create(const struct tt_spec *spec, const struct hippo_env_args *args, void **out,
	       char *err, size_t errlen);
void tt__destroy(void *env);
const struct hippo_env_info *tt__info(void *env);
int tt__reset(void *env, const uint64_t *seed, double *obs, char *info, size_t infolen, char *err,
	      size_t errlen);
int tt__step(void *env, const double *action, double *obs, struct hippo_step_result *res,
	     char *info, size_t infolen, char *err, size_t errlen);
int tt__render(void *env, uint8_t *rgb, size_t stride, char *err, size_t errlen);

#define TT_OPS(ID, SUMMARY, CREATE)                                                        \
	{                                                                                  \
		.abi_version = HIPPO_ENV_ABI_VERSION, .id = ID, .summary = SUMMARY,        \
		.create = CREATE, .destroy = tt__destroy, .info = tt__info,                \
		.reset = tt__reset, .step = tt__step, .render = tt__render,                \
	}

#endif
