/* cliff_walking.c: CliffWalking-v0 (gymnasium/envs/toy_text/cliffwalking.py).
 * A 4 x 12 grid; start (3, 0), goal (3, 11), the cliff (3, 1..10) between them.
 * Every move costs -1; stepping onto the cliff costs -100 and sends the player
 * back to the start without ending the episode. No time limit. */
#include <math.h>
#include <stdio.h>

#include "env/toytext.h"

enum { UP = 0, RIGHT = 1, DOWN = 2, LEFT = 3 };
enum { ROWS = 4, COLS = 12, START = 3 * COLS, CELL = 60 };

static const char *const action_names[] = {"up", "right", "down", "left"};

static bool is_cliff(int row, int col)
{
	return row == ROWS - 1 && col >= 1 && col <= COLS - 2;
}

/* _calculate_transition_prob for the non-slippery v0: one outcome per move,
 * clamped to the grid. */
static void build(struct tt_env *env)
{
	static const int delta[4][2] = {{-1, 0}, {0, 1}, {1, 0}, {0, -1}};
	for (int s = 0; s < ROWS * COLS; s++) {
		int row = s / COLS, col = s % COLS;
		for (int a = 0; a < 4; a++) {
			int r = row + delta[a][0], c = col + delta[a][1];
			r = r < 0 ? 0 : r > ROWS - 1 ? ROWS - 1 : r;
			c = c < 0 ? 0 : c > COLS - 1 ? COLS - 1 : c;
			if (is_cliff(r, c))
				tt__add(env, s, a, 1.0, START, -100, false);
			else
				tt__add(env, s, a, 1.0, r * COLS + c, -1,
					r == ROWS - 1 && c == COLS - 1);
		}
	}
	env->start[START] = 1.0;
}

static void info(const struct tt_env *env, double prob, char *out, size_t outlen)
{
	(void)env;
	if (out && outlen)
		snprintf(out, outlen, "{\"prob\":%.17g}", prob);
}

/* A checkered mountain meadow, the cliff as a dark drop with a rim on the
 * cells above it, a stool at the start, a flag at the goal and the player
 * drawn 10% of a cell higher, as Gymnasium does. */
static void render(const struct tt_env *env, struct raster *r)
{
	const struct rgb grass[2] = {{150, 190, 110}, {135, 175, 100}};
	const struct rgb drop = {60, 50, 45}, rock = {110, 95, 80}, rim = {95, 80, 65};
	const struct rgb stool = {150, 100, 50}, pole = {90, 70, 50}, flag = {220, 40, 40};
	for (int s = 0; s < ROWS * COLS; s++) {
		int row = s / COLS, col = s % COLS, px = col * CELL, py = row * CELL;
		raster_fill_rect(r, px, py, CELL, CELL, grass[(row % 2) ^ (col % 2)]);
		if (is_cliff(row, col)) {
			raster_fill_rect(r, px, py, CELL, CELL, drop);
			struct pt ledge[4] = {{px, py}, {px + CELL, py}, {px + CELL, py + 12.0},
					      {px, py + 20.0}};
			raster_fill_polygon(r, ledge, 4, rock);
		}
		if (row < ROWS - 1 && is_cliff(row + 1, col))
			raster_fill_rect(r, px, py + CELL - 6, CELL, 6, rim);
		if (s == START) {
			raster_fill_rect(r, px + 15, py + 30, 30, 7, stool);
			raster_fill_rect(r, px + 15, py + 30, 6, 20, stool);
			raster_fill_rect(r, px + 39, py + 30, 6, 20, stool);
		}
		if (s == ROWS * COLS - 1) {
			raster_fill_rect(r, px + 20, py + 10, 4, 42, pole);
			struct pt f[3] = {{px + 24, py + 10.0}, {px + 48, py + 19.0}, {px + 24, py + 28.0}};
			raster_fill_polygon(r, f, 3, flag);
		}
	}
	int row = env->state / COLS, col = env->state % COLS;
	static const int facing[4] = {TT_FACE_UP, TT_FACE_RIGHT, TT_FACE_DOWN, TT_FACE_LEFT};
	int a = env->last_action < 0 ? DOWN : env->last_action;
	tt__draw_player(r, col * CELL + CELL / 2.0, row * CELL + CELL / 2.0 - 0.1 * CELL, CELL,
			facing[a]);
}

static const struct tt_spec spec = {
	.id = "CliffWalking-v0",
	.n_states = ROWS * COLS,
	.n_actions = 4,
	.action_names = action_names,
	.max_episode_steps = 0,
	.reward_threshold = NAN,
	.render_width = COLS * CELL,
	.render_height = ROWS * CELL,
	.build = build,
	.info = info,
	.render = render,
};

static int create(const struct hippo_env_args *args, void **env, char *err, size_t errlen)
{
	return tt__create(&spec, args, env, err, errlen);
}

const struct hippo_env_ops tt_cliff_walking_v0_ops = TT_OPS(
	"CliffWalking-v0", "Toy text: walk along the cliff to the goal without falling (4x12)", create);
