/* taxi.c: Taxi-v3 (gymnasium/envs/toy_text/taxi.py, the default dry road).
 * A 5 x 5 town with walls; pick the passenger up at one of R, G, Y, B and drop
 * them at their destination. State ((row * 5 + col) * 5 + passenger) * 4 +
 * destination, passenger 4 meaning in the taxi. -1 per step, -10 for an illegal
 * pickup or drop-off, +20 for the delivery, which ends the episode. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "env/toytext.h"

enum { SOUTH = 0, NORTH = 1, EAST = 2, WEST = 3, PICKUP = 4, DROPOFF = 5 };
enum { CELL = 50, IN_TAXI = 4 };

static const char *const map[7] = {
	"+---------+", "|R: | : :G|", "| : | : : |", "| : : : : |",
	"| | : | : |", "|Y| : |B: |", "+---------+",
};
static const int locs[4][2] = {{0, 0}, {0, 4}, {4, 0}, {4, 3}};
static const struct rgb loc_colors[4] = {{255, 0, 0}, {0, 255, 0}, {255, 255, 0}, {0, 0, 255}};

static const char *const action_names[] = {"south", "north", "east", "west", "pickup",
					   "dropoff"};

static int encode(int row, int col, int pass, int dest)
{
	return ((row * 5 + col) * 5 + pass) * 4 + dest;
}

static void decode(int s, int *row, int *col, int *pass, int *dest)
{
	*dest = s % 4;
	s /= 4;
	*pass = s % 5;
	s /= 5;
	*col = s % 5;
	*row = s / 5;
}

/* Index of the R/G/Y/B stand at (row, col), or -1. */
static int loc_at(int row, int col)
{
	for (int i = 0; i < 4; i++)
		if (locs[i][0] == row && locs[i][1] == col)
			return i;
	return -1;
}

/* _build_dry_transitions, for every state and action. */
static void build(struct tt_env *env)
{
	double total = 0;
	for (int s = 0; s < 500; s++) {
		int row, col, pass, dest;
		decode(s, &row, &col, &pass, &dest);
		if (pass < 4 && pass != dest) {
			env->start[s] = 1;
			total += 1;
		}
		for (int a = 0; a < 6; a++) {
			int nr = row, nc = col, np = pass;
			double reward = -1;
			bool term = false;
			if (a == SOUTH)
				nr = row < 4 ? row + 1 : 4;
			else if (a == NORTH)
				nr = row > 0 ? row - 1 : 0;
			if (a == EAST && map[1 + row][2 * col + 2] == ':') {
				nc = col < 4 ? col + 1 : 4;
			} else if (a == WEST && map[1 + row][2 * col] == ':') {
				nc = col > 0 ? col - 1 : 0;
			} else if (a == PICKUP) {
				if (pass < 4 && locs[pass][0] == row && locs[pass][1] == col)
					np = IN_TAXI;
				else
					reward = -10;
			} else if (a == DROPOFF) {
				int here = loc_at(row, col);
				if (here == dest && pass == IN_TAXI) {
					np = dest;
					term = true;
					reward = 20;
				} else if (here >= 0 && pass == IN_TAXI) {
					np = here;
				} else {
					reward = -10;
				}
			}
			tt__add(env, s, a, 1.0, encode(nr, nc, np, dest), reward, term);
		}
	}
	for (int s = 0; s < 500; s++)
		env->start[s] /= total;
}

/* action_mask(state): which actions change something. */
static void action_mask(int s, int mask[6])
{
	int row, col, pass, dest;
	decode(s, &row, &col, &pass, &dest);
	mask[SOUTH] = row < 4;
	mask[NORTH] = row > 0;
	mask[EAST] = col < 4 && map[row + 1][2 * col + 2] == ':';
	mask[WEST] = col > 0 && map[row + 1][2 * col] == ':';
	mask[PICKUP] = pass < 4 && locs[pass][0] == row && locs[pass][1] == col;
	mask[DROPOFF] = pass == IN_TAXI && loc_at(row, col) >= 0;
}

static void info(const struct tt_env *env, double prob, char *out, size_t outlen)
{
	int m[6];
	if (!out || !outlen)
		return;
	action_mask(env->state, m);
	snprintf(out, outlen, "{\"prob\":%.17g,\"action_mask\":[%d,%d,%d,%d,%d,%d]}", prob, m[0],
		 m[1], m[2], m[3], m[4], m[5]);
}

static void blend_rect(struct raster *r, int x, int y, int w, int h, struct rgb c, int alpha)
{
	for (int j = y; j < y + h && j < r->h; j++) {
		for (int i = x; i < x + w && i < r->w; i++) {
			uint8_t *p = r->px + (size_t)j * r->stride + (size_t)i * 3;
			p[0] = (uint8_t)((p[0] * (255 - alpha) + c.r * alpha) / 255);
			p[1] = (uint8_t)((p[1] * (255 - alpha) + c.g * alpha) / 255);
			p[2] = (uint8_t)((p[2] * (255 - alpha) + c.b * alpha) / 255);
		}
	}
}

/* The taxi seen from above, its bonnet towards ORIENT (the last move). */
static void draw_taxi(struct raster *r, double x, double y, int orient)
{
	const struct rgb body = {250, 200, 20}, glass = {120, 170, 210}, tyre = {30, 30, 30};
	bool vertical = orient == SOUTH || orient == NORTH;
	double hw = vertical ? 15 : 22, hh = vertical ? 22 : 15; /* half sizes */
	double cx = x + CELL / 2.0, cy = y + CELL / 2.0;
	raster_fill_rect(r, (int)(cx - hw - 2), (int)(cy - hh + 4), 4, 10, tyre);
	raster_fill_rect(r, (int)(cx + hw - 2), (int)(cy - hh + 4), 4, 10, tyre);
	raster_fill_rect(r, (int)(cx - hw - 2), (int)(cy + hh - 14), 4, 10, tyre);
	raster_fill_rect(r, (int)(cx + hw - 2), (int)(cy + hh - 14), 4, 10, tyre);
	raster_fill_rect(r, (int)(cx - hw), (int)(cy - hh), (int)(2 * hw), (int)(2 * hh), body);
	double dx = orient == EAST ? 1 : orient == WEST ? -1 : 0;
	double dy = orient == SOUTH ? 1 : orient == NORTH ? -1 : 0;
	double wx = cx + dx * (vertical ? 0 : hw * 0.45), wy = cy + dy * (vertical ? hh * 0.45 : 0);
	int ww = vertical ? (int)(2 * hw - 8) : 7, wh = vertical ? 7 : (int)(2 * hh - 8);
	raster_fill_rect(r, (int)(wx - ww / 2.0), (int)(wy - wh / 2.0), ww, wh, glass);
}

static void draw_person(struct raster *r, double cx, double cy)
{
	const struct rgb coat = {60, 90, 200}, skin = {245, 205, 170};
	struct pt body[4] = {{cx - 6, cy - 2}, {cx + 6, cy - 2}, {cx + 10, cy + 18}, {cx - 10, cy + 18}};
	raster_fill_polygon(r, body, 4, coat);
	raster_fill_circle(r, cx, cy - 9, 7, skin);
}

/* The road with its medians, the four stands in their colours, the waiting
 * passenger, the destination (a building) and the taxi. */
static void render(const struct tt_env *env, struct raster *r)
{
	const struct rgb road = {190, 190, 190}, median = {90, 90, 90}, bld = {150, 100, 70};
	raster_clear(r, road);
	for (int y = 0; y < 7; y++) {
		for (int x = 0; x < 11; x++) {
			int px = x * CELL, py = y * CELL;
			if (map[y][x] == '|')
				raster_fill_rect(r, px + CELL / 2 - 5, py, 10, CELL, median);
			else if (map[y][x] == '-' || (map[y][x] == '+'))
				raster_fill_rect(r, px, py + CELL / 2 - 5, CELL, 10, median);
		}
	}
	for (int i = 0; i < 4; i++)
		blend_rect(r, (locs[i][1] * 2 + 1) * CELL, (locs[i][0] + 1) * CELL + 10, CELL, CELL - 10,
			   loc_colors[i], 128);
	int row, col, pass, dest;
	decode(env->state, &row, &col, &pass, &dest);
	if (pass < 4)
		draw_person(r, (locs[pass][1] * 2 + 1) * CELL + 25.0, (locs[pass][0] + 1) * CELL + 25.0);
	int dx = (locs[dest][1] * 2 + 1) * CELL, dy = (locs[dest][0] + 1) * CELL;
	blend_rect(r, dx + 12, dy + 8, 26, 30, bld, 170);
	for (int k = 0; k < 3; k++)
		blend_rect(r, dx + 16 + 7 * k, dy + 13, 4, 5, (struct rgb){250, 240, 160}, 200);
	draw_taxi(r, (col * 2 + 1) * CELL, (row + 1) * CELL, env->last_move < 0 ? SOUTH : env->last_move);
}

static const struct tt_spec spec = {
	.id = "Taxi-v3",
	.n_states = 500,
	.n_actions = 6,
	.action_names = action_names,
	.max_episode_steps = 200,
	.reward_threshold = 8,
	.render_width = 550,
	.render_height = 350,
	.build = build,
	.info = info,
	.render = render,
};

static int create(const struct hippo_env_args *args, void **env, char *err, size_t errlen)
{
	return tt__create(&spec, args, env, err, errlen);
}

const struct hippo_env_ops tt_taxi_v3_ops = TT_OPS(
	"Taxi-v3", "Toy text: drive the taxi, pick up the passenger, drop them off (5x5)", create);
