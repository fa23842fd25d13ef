/* minigrid.c: MiniGridEnv's state, grid helpers, step() and gen_obs(), and the
 * hippo_env_ops slots shared by every MiniGrid environment. Follows
 * minigrid/minigrid_env.py and minigrid/core/grid.py; comments name the Python
 * function each part mirrors. */
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "env/builtin.h"
#include "env/minigrid/minigrid.h"

static const int dir_vec[4][2] = {{1, 0}, {0, 1}, {-1, 0}, {0, -1}}; /* DIR_TO_VEC */

static const char *const action_names[MG_NACTIONS] = {"left",   "right",  "forward", "pickup",
						      "drop",   "toggle", "done"};

static struct mg_cell empty_cell(void)
{
	return mg__obj(MG_EMPTY, 0, 0);
}

static struct mg_cell wall_cell(void)
{
	return mg__obj(MG_WALL, MG_GREY, 0);
}

struct mg_cell mg__get(const struct mg_env *env, int x, int y)
{
	return env->grid[y * env->width + x];
}

void mg__set(struct mg_env *env, int x, int y, struct mg_cell c)
{
	if (x < 0 || y < 0 || x >= env->width || y >= env->height)
		return;
	env->grid[y * env->width + x] = c;
}

void mg__horz_wall(struct mg_env *env, int x, int y, int length)
{
	if (length < 0)
		length = env->width - x;
	for (int i = 0; i < length; i++)
		mg__set(env, x + i, y, wall_cell());
}

void mg__vert_wall(struct mg_env *env, int x, int y, int length)
{
	if (length < 0)
		length = env->height - y;
	for (int j = 0; j < length; j++)
		mg__set(env, x, y + j, wall_cell());
}

void mg__wall_rect(struct mg_env *env, int x, int y, int w, int h)
{
	mg__horz_wall(env, x, y, w);
	mg__horz_wall(env, x, y + h - 1, w);
	mg__vert_wall(env, x, y, h);
	mg__vert_wall(env, x + w - 1, y, h);
}

/* _rand_int: np_random.integers(low, high). */
int mg__rand_int(struct mg_env *env, int low, int high)
{
	return (int)rng_integers(&env->rng, low, high);
}

static bool can_overlap(struct mg_cell c)
{
	return c.type == MG_EMPTY || c.type == MG_GOAL || c.type == MG_FLOOR || c.type == MG_LAVA ||
	       (c.type == MG_DOOR && c.state == MG_OPEN);
}

static bool can_pickup(struct mg_cell c)
{
	return c.type == MG_KEY || c.type == MG_BALL || c.type == MG_BOX;
}

static bool see_behind(struct mg_cell c)
{
	if (c.type == MG_WALL)
		return false;
	if (c.type == MG_DOOR)
		return c.state == MG_OPEN;
	return true;
}

/* place_obj: draws x then y until the cell is empty and not the agent's. The
 * levels here always leave free cells, so the loop ends. */
void mg__place_obj(struct mg_env *env, struct mg_cell obj, int top_x, int top_y, int size_x,
		   int size_y, int *out_x, int *out_y)
{
	if (top_x < 0)
		top_x = 0;
	if (top_y < 0)
		top_y = 0;
	if (size_x <= 0)
		size_x = env->width;
	if (size_y <= 0)
		size_y = env->height;
	int hx = top_x + size_x < env->width ? top_x + size_x : env->width;
	int hy = top_y + size_y < env->height ? top_y + size_y : env->height;
	int x, y;
	for (;;) {
		x = mg__rand_int(env, top_x, hx);
		y = mg__rand_int(env, top_y, hy);
		if (mg__get(env, x, y).type != MG_EMPTY)
			continue;
		if (x == env->agent_x && y == env->agent_y)
			continue;
		break;
	}
	mg__set(env, x, y, obj);
	if (out_x)
		*out_x = x;
	if (out_y)
		*out_y = y;
}

void mg__place_agent(struct mg_env *env, int top_x, int top_y, int size_x, int size_y)
{
	int x, y;
	env->agent_x = env->agent_y = -1;
	mg__place_obj(env, empty_cell(), top_x, top_y, size_x, size_y, &x, &y);
	env->agent_x = x;
	env->agent_y = y;
	env->agent_dir = mg__rand_int(env, 0, 4);
}

/* gen_obs_grid: the world seen from the agent. Minigrid slices the 7x7 square in
 * front of the agent (get_view_exts), rotates it left agent_dir + 1 times so the
 * agent looks "up" from (3, 6), then hides what walls and closed doors occlude
 * (process_vis). Here each view cell (i, j) is mapped straight to its world cell:
 * after the rotations, view x runs along the agent's right vector and view y
 * against its forward vector, from the far edge (j = 0) to the agent (j = 6). */
void mg__view(const struct mg_env *env, struct mg_cell view[MG_VIEW][MG_VIEW],
	      bool vis[MG_VIEW][MG_VIEW])
{
	int fx = dir_vec[env->agent_dir][0], fy = dir_vec[env->agent_dir][1];
	int rx = -fy, ry = fx;
	for (int i = 0; i < MG_VIEW; i++) {
		for (int j = 0; j < MG_VIEW; j++) {
			int fwd = MG_VIEW - 1 - j, right = i - MG_VIEW / 2;
			int x = env->agent_x + fx * fwd + rx * right;
			int y = env->agent_y + fy * fwd + ry * right;
			if (x >= 0 && y >= 0 && x < env->width && y < env->height)
				view[i][j] = mg__get(env, x, y);
			else
				view[i][j] = wall_cell();
		}
	}

	if (env->level->see_through_walls) {
		for (int i = 0; i < MG_VIEW; i++)
			for (int j = 0; j < MG_VIEW; j++)
				vis[i][j] = true;
	} else {
		/* process_vis: sweep rows from the agent's (bottom) up; light spreads
		 * sideways and one row up from every visible cell that can be seen behind. */
		memset(vis, 0, sizeof(bool) * MG_VIEW * MG_VIEW);
		vis[MG_VIEW / 2][MG_VIEW - 1] = true;
		for (int j = MG_VIEW - 1; j >= 0; j--) {
			for (int i = 0; i < MG_VIEW - 1; i++) {
				if (!vis[i][j] || !see_behind(view[i][j]))
					continue;
				vis[i + 1][j] = true;
				if (j > 0) {
					vis[i + 1][j - 1] = true;
					vis[i][j - 1] = true;
				}
			}
			for (int i = MG_VIEW - 1; i >= 1; i--) {
				if (!vis[i][j] || !see_behind(view[i][j]))
					continue;
				vis[i - 1][j] = true;
				if (j > 0) {
					vis[i - 1][j - 1] = true;
					vis[i][j - 1] = true;
				}
			}
		}
		for (int i = 0; i < MG_VIEW; i++)
			for (int j = 0; j < MG_VIEW; j++)
				if (!vis[i][j])
					view[i][j] = empty_cell();
	}
	/* The agent sees what it carries in its own cell. */
	view[MG_VIEW / 2][MG_VIEW - 1] = env->carrying;
}

/* gen_obs + Grid.encode(vis_mask), flattened in numpy's C order of obs["image"]
 * (shape [7][7][3], indexed [x][y][channel]). Unseen cells encode as 0,0,0. */
static void gen_obs(const struct mg_env *env, double *obs)
{
	struct mg_cell view[MG_VIEW][MG_VIEW];
	bool vis[MG_VIEW][MG_VIEW];
	mg__view(env, view, vis);
	for (int i = 0; i < MG_VIEW; i++) {
		for (int j = 0; j < MG_VIEW; j++) {
			double *o = obs + (i * MG_VIEW + j) * 3;
			if (!vis[i][j]) {
				o[0] = o[1] = o[2] = 0;
			} else if (view[i][j].type == MG_EMPTY) {
				o[0] = MG_EMPTY;
				o[1] = o[2] = 0;
			} else {
				o[0] = view[i][j].type;
				o[1] = view[i][j].color;
				o[2] = view[i][j].state;
			}
		}
	}
}

static void write_info(const struct mg_env *env, char *info, size_t infolen)
{
	if (!info || !infolen)
		return;
	int n = snprintf(info, infolen,
			 "{\"direction\":%d,\"mission\":\"%s\",\"agent_pos\":[%d,%d],\"agent_dir\":%d}",
			 env->agent_dir, env->level->mission, env->agent_x, env->agent_y,
			 env->agent_dir);
	if (n < 0 || (size_t)n >= infolen)
		snprintf(info, infolen, "{}");
}

int mg__reset(void *p, const uint64_t *seed, double *obs, char *info, size_t infolen,
		    char *err, size_t errlen)
{
	struct mg_env *env = p;
	(void)err;
	(void)errlen;
	if (seed)
		rng_seed(&env->rng, *seed);
	else if (!env->seeded)
		rng_seed_random(&env->rng);
	env->seeded = true;

	env->width = env->height = env->level->size;
	for (int i = 0; i < env->width * env->height; i++)
		env->grid[i] = empty_cell();
	env->agent_x = env->agent_y = -1;
	env->agent_dir = -1;
	env->level->gen(env);
	env->carrying = empty_cell();
	env->step_count = 0;
	env->needs_reset = false;
	gen_obs(env, obs);
	write_info(env, info, infolen);
	return 0;
}

/* step(): every action first looks at the cell in front of the agent. */
int mg__step(void *p, const double *action, double *obs, struct hippo_step_result *res,
		   char *info, size_t infolen, char *err, size_t errlen)
{
	struct mg_env *env = p;
	double a = action[0];
	if (env->needs_reset) {
		snprintf(err, errlen, "step() called before reset() or after the episode ended");
		return -1;
	}
	if (!(a >= 0 && a < MG_NACTIONS) || a != (double)(int)a) {
		snprintf(err, errlen, "action must be an integer in 0..%d", MG_NACTIONS - 1);
		return -1;
	}
	env->step_count++;
	res->reward = 0;
	res->terminated = false;
	res->truncated = false;

	int fx = env->agent_x + dir_vec[env->agent_dir][0];
	int fy = env->agent_y + dir_vec[env->agent_dir][1];
	bool inside = fx >= 0 && fy >= 0 && fx < env->width && fy < env->height;
	struct mg_cell fwd = inside ? mg__get(env, fx, fy) : wall_cell();

	switch ((enum mg_action)(int)a) {
	case MG_LEFT:
		env->agent_dir = (env->agent_dir + 3) % 4;
		break;
	case MG_RIGHT:
		env->agent_dir = (env->agent_dir + 1) % 4;
		break;
	case MG_FORWARD:
		if (inside && can_overlap(fwd)) {
			env->agent_x = fx;
			env->agent_y = fy;
		}
		if (fwd.type == MG_GOAL) {
			res->terminated = true;
			res->reward = 1 - 0.9 * ((double)env->step_count / env->max_steps);
		}
		if (fwd.type == MG_LAVA)
			res->terminated = true;
		break;
	case MG_PICKUP:
		if (can_pickup(fwd) && env->carrying.type == MG_EMPTY) {
			env->carrying = fwd;
			mg__set(env, fx, fy, empty_cell());
		}
		break;
	case MG_DROP:
		if (inside && fwd.type == MG_EMPTY && env->carrying.type != MG_EMPTY) {
			mg__set(env, fx, fy, env->carrying);
			env->carrying = empty_cell();
		}
		break;
	case MG_TOGGLE:
		/* Door.toggle: a locked door opens only with a key of its colour. */
		if (fwd.type == MG_DOOR) {
			if (fwd.state == MG_LOCKED) {
				if (env->carrying.type == MG_KEY && env->carrying.color == fwd.color)
					fwd.state = MG_OPEN;
			} else {
				fwd.state = fwd.state == MG_OPEN ? MG_CLOSED : MG_OPEN;
			}
			mg__set(env, fx, fy, fwd);
		}
		break;
	case MG_DONE:
		break;
	}

	if (env->step_count >= env->max_steps)
		res->truncated = true;
	env->needs_reset = res->terminated || res->truncated;
	gen_obs(env, obs);
	write_info(env, info, infolen);
	return 0;
}

const struct hippo_env_info *mg__info(void *p)
{
	return &((struct mg_env *)p)->info;
}

void mg__destroy(void *p)
{
	struct mg_env *env = p;
	if (!env)
		return;
	free(env->tiles);
	free(env);
}

/* OPTIONS: {"max_steps": N} (Minigrid's constructor argument); nothing else. */
static int parse_options(const char *json, int *max_steps, char *err, size_t errlen)
{
	static const char *const keys[] = {"max_steps", NULL};
	json_t *opts = NULL;
	double v = *max_steps;
	if (env__options(json, keys, &opts, err, errlen))
		return -1;
	int rc = env__opt_number(opts, "max_steps", &v, err, errlen);
	json_decref(opts);
	if (rc)
		return -1;
	if (v < 1 || v > 1e9 || v != (double)(int)v)
		return env__fail(err, errlen, "options: max_steps must be an integer in 1..1000000000");
	*max_steps = (int)v;
	return 0;
}

int mg__create(const struct mg_level *level, const struct hippo_env_args *args, void **out,
	       char *err, size_t errlen)
{
	int max_steps = level->max_steps;
	if (parse_options(args ? args->options_json : NULL, &max_steps, err, errlen) < 0)
		return -1;
	struct mg_env *env = calloc(1, sizeof *env);
	if (!env) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	env->level = level;
	env->max_steps = max_steps;
	env->needs_reset = true;
	env->agent_dir = -1; /* render() refuses until reset() */
	env->width = env->height = level->size;
	for (int i = 0; i < MG_OBS_N; i++) {
		env->low[i] = 0;
		env->high[i] = 255;
	}
	struct hippo_env_info *in = &env->info;
	in->id = level->id;
	in->action_space.kind = HIPPO_SPACE_DISCRETE;
	in->action_space.n = MG_NACTIONS;
	in->action_space.start = 0;
	in->action_space.action_names = action_names;
	in->observation_space.kind = HIPPO_SPACE_BOX;
	in->observation_space.dtype = HIPPO_DTYPE_UINT8;
	in->observation_space.ndim = 3;
	in->observation_space.shape[0] = MG_VIEW;
	in->observation_space.shape[1] = MG_VIEW;
	in->observation_space.shape[2] = 3;
	in->observation_space.low = env->low;
	in->observation_space.high = env->high;
	in->meta.max_episode_steps = 0; /* Minigrid truncates by itself */
	in->meta.reward_threshold = NAN;
	in->meta.render_fps = 10;
	in->meta.render_width = level->size * MG_TILE;
	in->meta.render_height = level->size * MG_TILE;
	*out = env;
	return 0;
}
