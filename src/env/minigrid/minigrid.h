/* minigrid: Farama Minigrid's grid worlds (MiniGrid-Empty-5x5-v0, -Empty-8x8-v0,
 * -DoorKey-5x5-v0, -FourRooms-v0), reproducing Minigrid 2.x step for step: the
 * same grid generation from the seed (numpy's generator, same order of draws),
 * the 7 actions, reward 1 - 0.9 * step_count / max_steps, truncation at
 * max_steps, the 7x7x3 partial view encoding and the 32-pixel-tile picture.
 *
 * Public: the four ops tables below (listed in the registry, src/env/env.c).
 * mg__ names are shared between the module's files only. */
#ifndef HIPPO_ENV_MINIGRID_H
#define HIPPO_ENV_MINIGRID_H

#include <stdbool.h>
#include <stdint.h>

#include "env/rng.h"
#include "hippo/env.h"

extern const struct hippo_env_ops mg_empty_5x5_ops;
extern const struct hippo_env_ops mg_empty_8x8_ops;
extern const struct hippo_env_ops mg_doorkey_5x5_ops;
extern const struct hippo_env_ops mg_fourrooms_ops;

/* ---- inside the module ---- */

#define MG_MAX_SIZE 32   /* largest grid side accepted */
#define MG_VIEW 7        /* agent_view_size */
#define MG_OBS_N (MG_VIEW * MG_VIEW * 3)
#define MG_TILE 32       /* TILE_PIXELS */
#define MG_NACTIONS 7

/* OBJECT_TO_IDX */
enum mg_type {
	MG_UNSEEN = 0,
	MG_EMPTY = 1, /* no object: Minigrid's None */
	MG_WALL = 2,
	MG_FLOOR = 3,
	MG_DOOR = 4,
	MG_KEY = 5,
	MG_BALL = 6,
	MG_BOX = 7,
	MG_GOAL = 8,
	MG_LAVA = 9,
	MG_AGENT = 10,
};

/* COLOR_TO_IDX */
enum mg_color { MG_RED = 0, MG_GREEN, MG_BLUE, MG_PURPLE, MG_YELLOW, MG_GREY };

/* STATE_TO_IDX (doors only; 0 for everything else) */
enum mg_state { MG_OPEN = 0, MG_CLOSED = 1, MG_LOCKED = 2 };

enum mg_action { MG_LEFT = 0, MG_RIGHT, MG_FORWARD, MG_PICKUP, MG_DROP, MG_TOGGLE, MG_DONE };

/* A cell's object by value, exactly its (type, color, state) encoding. */
struct mg_cell {
	uint8_t type, color, state;
};

struct mg_env;

/* One registered environment: its id, size, limits and grid generator. */
struct mg_level {
	const char *id;
	int size;           /* grid_size */
	int max_steps;      /* Minigrid's default for this id */
	bool see_through_walls;
	const char *mission;
	/* Builds the grid and places the agent, drawing from env->rng in Minigrid's order. */
	void (*gen)(struct mg_env *env);
};

struct mg_tile {
	uint32_t key;
	uint8_t px[MG_TILE * MG_TILE * 3];
};

struct mg_env {
	const struct mg_level *level;
	struct hippo_env_info info;
	double low[MG_OBS_N], high[MG_OBS_N];
	struct rng rng;
	bool seeded;       /* rng seeded at least once */
	bool needs_reset;  /* terminated or truncated, or never reset */
	int width, height, max_steps;
	struct mg_cell grid[MG_MAX_SIZE * MG_MAX_SIZE]; /* [y * width + x] */
	int agent_x, agent_y, agent_dir;
	struct mg_cell carrying; /* MG_EMPTY when the agent carries nothing */
	int step_count;
	struct mg_tile *tiles;   /* render cache, grown on demand */
	int ntiles, tiles_cap;
};

/* minigrid.c: the grid and the generation helpers of MiniGridEnv. */
struct mg_cell mg__get(const struct mg_env *env, int x, int y);
void mg__set(struct mg_env *env, int x, int y, struct mg_cell c);
void mg__wall_rect(struct mg_env *env, int x, int y, int w, int h);
void mg__horz_wall(struct mg_env *env, int x, int y, int length);
void mg__vert_wall(struct mg_env *env, int x, int y, int length);
int mg__rand_int(struct mg_env *env, int low, int high);
/* place_obj: rejection sampling in [top, top + size) clipped to the grid. */
void mg__place_obj(struct mg_env *env, struct mg_cell obj, int top_x, int top_y, int size_x,
		   int size_y, int *out_x, int *out_y);
/* place_agent with rand_dir=True. */
void mg__place_agent(struct mg_env *env, int top_x, int top_y, int size_x, int size_y);
/* gen_obs_grid(): the 7x7 view [i][j] (i across, j from far to near) and its
 * visibility mask, with the carried object at the agent's own cell. */
void mg__view(const struct mg_env *env, struct mg_cell view[MG_VIEW][MG_VIEW],
	      bool vis[MG_VIEW][MG_VIEW]);
/* The hippo_env_ops slots shared by every level (see include/hippo/env.h). */
int mg__reset(void *env, const uint64_t *seed, double *obs, char *info, size_t infolen,
	      char *err, size_t errlen);
int mg__step(void *env, const double *action, double *obs, struct hippo_step_result *res,
	     char *info, size_t infolen, char *err, size_t errlen);
const struct hippo_env_info *mg__info(void *env);
void mg__destroy(void *env);
int mg__create(const struct mg_level *level, const struct hippo_env_args *args, void **out,
	       char *err, size_t errlen);

/* minigrid_render.c */
int mg__render(void *env, uint8_t *rgb, size_t stride, char *err, size_t errlen);

static inline struct mg_cell mg__obj(uint8_t type, uint8_t color, uint8_t state)
{
	struct mg_cell c = {type, color, state};
	return c;
}

#endif
