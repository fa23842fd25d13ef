/* minigrid_levels.c: the grid generators of minigrid/envs/empty.py, doorkey.py
 * and fourrooms.py (each draw in the same order as Minigrid's _gen_grid), and
 * the ops tables that register them. */
#include "env/minigrid/minigrid.h"

/* EmptyEnv: walls around, goal in the bottom-right corner, agent at (1, 1)
 * facing right (agent_start_pos/dir defaults); no random draw at all. */
static void gen_empty(struct mg_env *env)
{
	int w = env->width, h = env->height;
	mg__wall_rect(env, 0, 0, w, h);
	mg__set(env, w - 2, h - 2, mg__obj(MG_GOAL, MG_GREEN, 0));
	env->agent_x = 1;
	env->agent_y = 1;
	env->agent_dir = 0;
}

/* DoorKeyEnv: a vertical wall at splitIdx = integers(2, w - 2), the agent left of
 * it (place_agent, then its direction), a locked yellow door at
 * doorIdx = integers(1, h - 2), a yellow key left of the wall (place_obj). */
static void gen_doorkey(struct mg_env *env)
{
	int w = env->width, h = env->height;
	mg__wall_rect(env, 0, 0, w, h);
	mg__set(env, w - 2, h - 2, mg__obj(MG_GOAL, MG_GREEN, 0));
	int split = mg__rand_int(env, 2, w - 2);
	mg__vert_wall(env, split, 0, -1);
	mg__place_agent(env, 0, 0, split, h);
	int door = mg__rand_int(env, 1, h - 2);
	mg__set(env, split, door, mg__obj(MG_DOOR, MG_YELLOW, MG_LOCKED));
	mg__place_obj(env, mg__obj(MG_KEY, MG_YELLOW, 0), 0, 0, split, h, NULL, NULL);
}

/* FourRoomsEnv: four rooms of w/2 x h/2; for each room (rows, then columns) a
 * wall to its right with a gap at integers(yT + 1, yB) and a wall below it with
 * a gap at integers(xL + 1, xR); then place_agent() anywhere and place_obj(Goal). */
static void gen_fourrooms(struct mg_env *env)
{
	int w = env->width, h = env->height;
	mg__horz_wall(env, 0, 0, -1);
	mg__horz_wall(env, 0, h - 1, -1);
	mg__vert_wall(env, 0, 0, -1);
	mg__vert_wall(env, w - 1, 0, -1);
	int room_w = w / 2, room_h = h / 2;
	for (int j = 0; j < 2; j++) {
		for (int i = 0; i < 2; i++) {
			int xl = i * room_w, yt = j * room_h;
			int xr = xl + room_w, yb = yt + room_h;
			if (i + 1 < 2) {
				mg__vert_wall(env, xr, yt, room_h);
				int gy = mg__rand_int(env, yt + 1, yb);
				mg__set(env, xr, gy, mg__obj(MG_EMPTY, 0, 0));
			}
			if (j + 1 < 2) {
				mg__horz_wall(env, xl, yb, room_w);
				int gx = mg__rand_int(env, xl + 1, xr);
				mg__set(env, gx, yb, mg__obj(MG_EMPTY, 0, 0));
			}
		}
	}
	mg__place_agent(env, 0, 0, 0, 0);
	mg__place_obj(env, mg__obj(MG_GOAL, MG_GREEN, 0), 0, 0, 0, 0, NULL, NULL);
}

static const struct mg_level level_empty_5x5 = {
	"MiniGrid-Empty-5x5-v0", 5, 4 * 5 * 5, true, "get to the green goal square", gen_empty,
};
static const struct mg_level level_empty_8x8 = {
	"MiniGrid-Empty-8x8-v0", 8, 4 * 8 * 8, true, "get to the green goal square", gen_empty,
};
static const struct mg_level level_doorkey_5x5 = {
	"MiniGrid-DoorKey-5x5-v0", 5,     10 * 5 * 5, false,
	"use the key to open the door and then get to the goal", gen_doorkey,
};
static const struct mg_level level_fourrooms = {
	"MiniGrid-FourRooms-v0", 19, 100, false, "reach the goal", gen_fourrooms,
};

static int create_empty_5x5(const struct hippo_env_args *a, void **e, char *err, size_t n)
{
	return mg__create(&level_empty_5x5, a, e, err, n);
}

static int create_empty_8x8(const struct hippo_env_args *a, void **e, char *err, size_t n)
{
	return mg__create(&level_empty_8x8, a, e, err, n);
}

static int create_doorkey_5x5(const struct hippo_env_args *a, void **e, char *err, size_t n)
{
	return mg__create(&level_doorkey_5x5, a, e, err, n);
}

static int create_fourrooms(const struct hippo_env_args *a, void **e, char *err, size_t n)
{
	return mg__create(&level_fourrooms, a, e, err, n);
}

#define MG_OPS(ID, SUMMARY, CREATE)                                                        \
	{                                                                                  \
		.abi_version = HIPPO_ENV_ABI_VERSION, .id = ID, .summary = SUMMARY,        \
		.create = CREATE, .destroy = mg__destroy, .info = mg__info,                \
		.reset = mg__reset, .step = mg__step, .render = mg__render,                \
	}

const struct hippo_env_ops mg_empty_5x5_ops =
	MG_OPS("MiniGrid-Empty-5x5-v0", "MiniGrid: empty 5x5 room, reach the green goal",
	       create_empty_5x5);
const struct hippo_env_ops mg_empty_8x8_ops =
	MG_OPS("MiniGrid-Empty-8x8-v0", "MiniGrid: empty 8x8 room, reach the green goal",
	       create_empty_8x8);
const struct hippo_env_ops mg_doorkey_5x5_ops =
	MG_OPS("MiniGrid-DoorKey-5x5-v0",
	       "MiniGrid: pick up the key, unlock the door, reach the goal (5x5)",
	       create_doorkey_5x5);
const struct hippo_env_ops mg_fourrooms_ops =
	MG_OPS("MiniGrid-FourRooms-v0", "MiniGrid: four rooms joined by gaps, reach the goal (19x19)",
	       create_fourrooms);
