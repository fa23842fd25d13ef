/* frozen_lake.c: FrozenLake-v1 (gymnasium/envs/toy_text/frozen_lake.py).
 * Cross the lake from S to G without falling into a hole H. Slippery by
 * default: the intended move happens with probability success_rate = 1/3 and
 * each perpendicular one with (1 - 1/3) / 2. Reward 1 on reaching G.
 * Options: {"map_name": "4x4" | "8x8", "is_slippery": bool}. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "env/builtin.h"
#include "env/toytext.h"

enum { LEFT = 0, DOWN = 1, RIGHT = 2, UP = 3 };

static const char *const map_4x4[] = {"SFFF", "FHFH", "FFFH", "HFFG"};
static const char *const map_8x8[] = {"SFFFFFFF", "FFFFFFFF", "FFFHFFFF", "FFFFFHFF",
				      "FFFHFFFF", "FHHFFFHF", "FHFFHFHF", "FFFHFFFG"};

static const char *const action_names[] = {"left", "down", "right", "up"};
static const char *const option_keys[] = {"map_name", "is_slippery", NULL};

static int configure(struct tt_env *env, json_t *opts, char *err, size_t errlen)
{
	env->slippery = true;
	env->desc = map_4x4;
	env->nrow = env->ncol = 4;
	if (env__opt_bool(opts, "is_slippery", &env->slippery, err, errlen))
		return -1;
	json_t *m = opts ? json_object_get(opts, "map_name") : NULL;
	if (m) {
		const char *name = json_string_value(m);
		if (name && strcmp(name, "8x8") == 0) {
			env->desc = map_8x8;
			env->nrow = env->ncol = 8;
		} else if (!name || strcmp(name, "4x4") != 0) {
			return env__fail(err, errlen, "options: map_name must be \"4x4\" or \"8x8\"");
		}
	}
	env->n_states = env->nrow * env->ncol;
	/* window_size = (min(64 * ncol, 512), min(64 * nrow, 512)) */
	env->info.meta.render_width = 64 * env->ncol < 512 ? 64 * env->ncol : 512;
	env->info.meta.render_height = 64 * env->nrow < 512 ? 64 * env->nrow : 512;
	return 0;
}

static void move(const struct tt_env *env, int *row, int *col, int a)
{
	if (a == LEFT && *col > 0)
		(*col)--;
	else if (a == DOWN && *row < env->nrow - 1)
		(*row)++;
	else if (a == RIGHT && *col < env->ncol - 1)
		(*col)++;
	else if (a == UP && *row > 0)
		(*row)--;
}

/* The transition table, built as FrozenLakeEnv.__init__ builds P: holes and the
 * goal are absorbing; elsewhere the moves (a-1)%4, a, (a+1)%4 in that order. */
static void build(struct tt_env *env)
{
	const double success = 1.0 / 3.0, fail = (1.0 - success) / 2.0;
	for (int row = 0; row < env->nrow; row++) {
		for (int col = 0; col < env->ncol; col++) {
			int s = row * env->ncol + col;
			char letter = env->desc[row][col];
			env->start[s] = letter == 'S';
			for (int a = 0; a < 4; a++) {
				if (letter == 'G' || letter == 'H') {
					tt__add(env, s, a, 1.0, s, 0, true);
					continue;
				}
				for (int k = -1; k <= 1; k++) {
					int b = env->slippery ? (a + k + 4) % 4 : a;
					if (!env->slippery && k != 0)
						continue;
					int r = row, c = col;
					move(env, &r, &c, b);
					char nl = env->desc[r][c];
					double p = !env->slippery ? 1.0 : b == a ? success : fail;
					tt__add(env, s, a, p, r * env->ncol + c, nl == 'G' ? 1 : 0,
						nl == 'G' || nl == 'H');
				}
			}
		}
	}
	/* initial_state_distrib /= sum: one start cell, so exactly 1.0 there */
}

static void info(const struct tt_env *env, double prob, char *out, size_t outlen)
{
	(void)env;
	if (out && outlen)
		snprintf(out, outlen, "{\"prob\":%.17g}", prob);
}

/* Ice tiles with Gymnasium's (180, 200, 230) cell borders, dark holes, a gift
 * at the goal, a stool at the start and the player facing its last move (a
 * cracked hole when it fell in). */
static void render(const struct tt_env *env, struct raster *r)
{
	const struct rgb ice = {204, 230, 250}, border = {180, 200, 230};
	const struct rgb hole = {40, 60, 110}, water = {20, 35, 70};
	const struct rgb gift = {220, 40, 40}, ribbon = {250, 210, 60}, stool = {150, 100, 50};
	int cw = r->w / env->ncol, ch = r->h / env->nrow;
	raster_clear(r, ice);
	for (int y = 0; y < env->nrow; y++) {
		for (int x = 0; x < env->ncol; x++) {
			int px = x * cw, py = y * ch;
			char l = env->desc[y][x];
			if (l == 'H') {
				raster_fill_circle(r, px + cw / 2.0, py + ch / 2.0, cw * 0.42, hole);
				raster_fill_circle(r, px + cw / 2.0, py + ch / 2.0, cw * 0.30, water);
			} else if (l == 'G') {
				raster_fill_rect(r, px + cw / 4, py + ch / 3, cw / 2, ch / 2, gift);
				raster_fill_rect(r, px + cw / 2 - cw / 16, py + ch / 3, cw / 8, ch / 2,
						 ribbon);
				raster_fill_rect(r, px + cw / 5, py + ch / 3 - ch / 10, cw * 3 / 5,
						 ch / 8, gift);
			} else if (l == 'S') {
				raster_fill_rect(r, px + cw / 4, py + ch / 2, cw / 2, ch / 8, stool);
				raster_fill_rect(r, px + cw / 4, py + ch / 2, cw / 10, ch / 3, stool);
				raster_fill_rect(r, px + cw * 3 / 4 - cw / 10, py + ch / 2, cw / 10,
						 ch / 3, stool);
			}
			raster_fill_rect(r, px, py, cw, 1, border);
			raster_fill_rect(r, px, py + ch - 1, cw, 1, border);
			raster_fill_rect(r, px, py, 1, ch, border);
			raster_fill_rect(r, px + cw - 1, py, 1, ch, border);
		}
	}
	int row = env->state / env->ncol, col = env->state % env->ncol;
	double cx = col * cw + cw / 2.0, cy = row * ch + ch / 2.0;
	if (env->desc[row][col] == 'H') {
		const struct rgb crack = {230, 240, 255};
		raster_line(r, (struct pt){cx - cw * 0.3, cy - ch * 0.2},
			    (struct pt){cx + cw * 0.25, cy + ch * 0.25}, 2, crack);
		raster_line(r, (struct pt){cx + cw * 0.3, cy - ch * 0.25},
			    (struct pt){cx - cw * 0.2, cy + ch * 0.3}, 2, crack);
		return;
	}
	/* lastaction None draws the elf facing down */
	static const int facing[4] = {TT_FACE_LEFT, TT_FACE_DOWN, TT_FACE_RIGHT, TT_FACE_UP};
	tt__draw_player(r, cx, cy, cw, facing[env->last_action < 0 ? DOWN : env->last_action]);
}

static const struct tt_spec spec = {
	.id = "FrozenLake-v1",
	.n_states = 16,
	.n_actions = 4,
	.action_names = action_names,
	.max_episode_steps = 100,
	.reward_threshold = 0.70,
	.render_width = 256,
	.render_height = 256,
	.option_keys = option_keys,
	.configure = configure,
	.build = build,
	.info = info,
	.render = render,
};

static int create(const struct hippo_env_args *args, void **env, char *err, size_t errlen)
{
	return tt__create(&spec, args, env, err, errlen);
}

const struct hippo_env_ops tt_frozen_lake_v1_ops =
	TT_OPS("FrozenLake-v1", "Toy text: cross the slippery frozen lake to the goal (4x4)", create);
