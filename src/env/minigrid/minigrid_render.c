/* minigrid_render.c: Minigrid's rgb_array picture, pixel for pixel: each 32 px
 * tile is drawn at 3x (96 x 96) by testing every sub-pixel centre against the
 * object's shapes (utils/rendering.py fill_coords with point_in_rect,
 * point_in_circle, point_in_triangle), brightened where the agent sees
 * (highlight_img) and averaged 3x3 down (downsample). Tiles are cached per
 * instance like Grid.tile_cache. The arithmetic mirrors numpy's (float32 triangle
 * vertices, float64 elsewhere, truncation when stored as uint8) so frames hash
 * the same as Minigrid's. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "env/minigrid/minigrid.h"

#define SUBDIVS 3
#define SUB (MG_TILE * SUBDIVS)
#define MAX_TILES 256

static const uint8_t colors[6][3] = {
	{255, 0, 0}, {0, 255, 0}, {0, 0, 255}, {112, 39, 195}, {255, 255, 0}, {100, 100, 100},
};

static const uint8_t black[3] = {0, 0, 0};

struct canvas {
	uint8_t px[SUB][SUB][3];
};

static double centre(int k)
{
	return (k + 0.5) / SUB;
}

static void put(struct canvas *c, int x, int y, const uint8_t rgb[3])
{
	memcpy(c->px[y][x], rgb, 3);
}

/* fill_coords(img, point_in_rect(x0, x1, y0, y1), rgb) */
static void fill_rect(struct canvas *c, double x0, double x1, double y0, double y1,
		      const uint8_t rgb[3])
{
	for (int y = 0; y < SUB; y++) {
		double yf = centre(y);
		if (yf < y0 || yf > y1)
			continue;
		for (int x = 0; x < SUB; x++) {
			double xf = centre(x);
			if (xf >= x0 && xf <= x1)
				put(c, x, y, rgb);
		}
	}
}

/* fill_coords(img, point_in_circle(cx, cy, r), rgb) */
static void fill_circle(struct canvas *c, double cx, double cy, double r, const uint8_t rgb[3])
{
	for (int y = 0; y < SUB; y++) {
		double yf = centre(y);
		for (int x = 0; x < SUB; x++) {
			double xf = centre(x);
			if ((xf - cx) * (xf - cx) + (yf - cy) * (yf - cy) <= r * r)
				put(c, x, y, rgb);
		}
	}
}

/* The agent: point_in_triangle((0.12, 0.19), (0.87, 0.50), (0.12, 0.81)) turned
 * by rotate_fn(theta = pi/2 * dir) about the tile centre. numpy keeps the
 * vertices and their own dot products in float32 and promotes the rest. */
static void fill_agent(struct canvas *c, int dir)
{
	static const uint8_t red[3] = {255, 0, 0};
	const float ax = 0.12f, ay = 0.19f, bx = 0.87f, by = 0.50f, cx = 0.12f, cy = 0.81f;
	float v0x = cx - ax, v0y = cy - ay, v1x = bx - ax, v1y = by - ay;
	float dot00 = v0x * v0x + v0y * v0y;
	float dot01 = v0x * v1x + v0y * v1y;
	float dot11 = v1x * v1x + v1y * v1y;
	float inv = 1.0f / (dot00 * dot11 - dot01 * dot01);
	double theta = 0.5 * M_PI * dir;
	double cs = cos(-theta), sn = sin(-theta);
	for (int y = 0; y < SUB; y++) {
		for (int x = 0; x < SUB; x++) {
			double px = centre(x) - 0.5, py = centre(y) - 0.5;
			double x2 = 0.5 + px * cs - py * sn;
			double y2 = 0.5 + py * cs + px * sn;
			double v2x = x2 - (double)ax, v2y = y2 - (double)ay;
			double dot02 = (double)v0x * v2x + (double)v0y * v2y;
			double dot12 = (double)v1x * v2x + (double)v1y * v2y;
			double u = ((double)dot11 * dot02 - (double)dot01 * dot12) * (double)inv;
			double v = ((double)dot00 * dot12 - (double)dot01 * dot02) * (double)inv;
			if (u >= 0 && v >= 0 && (u + v) < 1)
				put(c, x, y, red);
		}
	}
}

/* WorldObj.render for each object type (world_object.py). */
static void draw_object(struct canvas *c, struct mg_cell o)
{
	const uint8_t *col = colors[o.color < 6 ? o.color : MG_GREY];
	switch (o.type) {
	case MG_WALL:
	case MG_GOAL:
		fill_rect(c, 0, 1, 0, 1, col);
		break;
	case MG_FLOOR: {
		uint8_t pale[3] = {(uint8_t)(col[0] / 2.0), (uint8_t)(col[1] / 2.0),
				   (uint8_t)(col[2] / 2.0)};
		fill_rect(c, 0.031, 1, 0.031, 1, pale);
		break;
	}
	case MG_BALL:
		fill_circle(c, 0.5, 0.5, 0.31, col);
		break;
	case MG_KEY:
		fill_rect(c, 0.50, 0.63, 0.31, 0.88, col);
		fill_rect(c, 0.38, 0.50, 0.59, 0.66, col);
		fill_rect(c, 0.38, 0.50, 0.81, 0.88, col);
		fill_circle(c, 0.56, 0.28, 0.190, col);
		fill_circle(c, 0.56, 0.28, 0.064, black);
		break;
	case MG_DOOR:
		if (o.state == MG_OPEN) {
			fill_rect(c, 0.88, 1.00, 0.00, 1.00, col);
			fill_rect(c, 0.92, 0.96, 0.04, 0.96, black);
		} else if (o.state == MG_LOCKED) {
			uint8_t dark[3] = {(uint8_t)(0.45 * col[0]), (uint8_t)(0.45 * col[1]),
					   (uint8_t)(0.45 * col[2])};
			fill_rect(c, 0.00, 1.00, 0.00, 1.00, col);
			fill_rect(c, 0.06, 0.94, 0.06, 0.94, dark);
			fill_rect(c, 0.52, 0.75, 0.50, 0.56, col); /* key slot */
		} else {
			fill_rect(c, 0.00, 1.00, 0.00, 1.00, col);
			fill_rect(c, 0.04, 0.96, 0.04, 0.96, black);
			fill_rect(c, 0.08, 0.92, 0.08, 0.92, col);
			fill_rect(c, 0.12, 0.88, 0.12, 0.88, black);
			fill_circle(c, 0.75, 0.50, 0.08, col); /* handle */
		}
		break;
	default:
		break;
	}
}

/* Grid.render_tile: grid lines, object, agent, highlight, then 3x3 averaging as
 * numpy's mean(axis=3).mean(axis=1) computes it, truncated into uint8. */
static void render_tile(struct mg_cell o, int agent_dir, bool highlight, uint8_t *out)
{
	static const uint8_t grey[3] = {100, 100, 100};
	struct canvas *c = calloc(1, sizeof *c);
	if (!c) {
		memset(out, 0, MG_TILE * MG_TILE * 3);
		return;
	}
	fill_rect(c, 0, 0.031, 0, 1, grey);
	fill_rect(c, 0, 1, 0, 0.031, grey);
	if (o.type != MG_EMPTY)
		draw_object(c, o);
	if (agent_dir >= 0)
		fill_agent(c, agent_dir);
	if (highlight) {
		for (int y = 0; y < SUB; y++)
			for (int x = 0; x < SUB; x++)
				for (int k = 0; k < 3; k++) {
					uint8_t v = c->px[y][x][k];
					double b = v + 0.30 * (uint8_t)(255 - v);
					c->px[y][x][k] = (uint8_t)(b > 255 ? 255 : b);
				}
	}
	for (int ty = 0; ty < MG_TILE; ty++) {
		for (int tx = 0; tx < MG_TILE; tx++) {
			for (int k = 0; k < 3; k++) {
				double row[SUBDIVS];
				for (int sy = 0; sy < SUBDIVS; sy++) {
					const uint8_t(*line)[3] = c->px[ty * SUBDIVS + sy];
					double s = 0;
					for (int sx = 0; sx < SUBDIVS; sx++)
						s += line[tx * SUBDIVS + sx][k];
					row[sy] = s / SUBDIVS;
				}
				double m = ((row[0] + row[1]) + row[2]) / SUBDIVS;
				out[(ty * MG_TILE + tx) * 3 + k] = (uint8_t)m;
			}
		}
	}
	free(c);
}

static uint32_t tile_key(struct mg_cell o, int agent_dir, bool highlight)
{
	return (uint32_t)o.type | (uint32_t)o.color << 8 | (uint32_t)o.state << 16 |
	       (uint32_t)(agent_dir + 1) << 24 | (uint32_t)highlight << 28;
}

/* The cached tile for KEY, rendering it on a miss. NULL when memory runs out. */
static const uint8_t *tile(struct mg_env *env, struct mg_cell o, int agent_dir, bool highlight)
{
	uint32_t key = tile_key(o, agent_dir, highlight);
	for (int i = 0; i < env->ntiles; i++)
		if (env->tiles[i].key == key)
			return env->tiles[i].px;
	if (env->ntiles == env->tiles_cap) {
		if (env->tiles_cap >= MAX_TILES) {
			env->ntiles = 0; /* start over rather than grow without bound */
		} else {
			size_t cap = (size_t)env->tiles_cap;
			if (buf_grow_array((void **)&env->tiles, &cap, cap + 1, sizeof *env->tiles, 16,
					   MAX_TILES) < 0)
				return NULL;
			env->tiles_cap = (int)cap;
		}
	}
	struct mg_tile *t = &env->tiles[env->ntiles++];
	t->key = key;
	render_tile(o, agent_dir, highlight, t->px);
	return t->px;
}

/* get_full_render(highlight=True, tile_size=32): the cells the agent sees (its
 * view's visibility mask mapped back onto the world) are highlighted. */
int mg__render(void *p, uint8_t *rgb, size_t stride, char *err, size_t errlen)
{
	struct mg_env *env = p;
	if (env->agent_dir < 0) {
		snprintf(err, errlen, "render() called before reset()");
		return -1;
	}
	static const int dir_vec[4][2] = {{1, 0}, {0, 1}, {-1, 0}, {0, -1}};
	bool hl[MG_MAX_SIZE][MG_MAX_SIZE] = {{false}};
	struct mg_cell view[MG_VIEW][MG_VIEW];
	bool vis[MG_VIEW][MG_VIEW];
	mg__view(env, view, vis);
	int fx = dir_vec[env->agent_dir][0], fy = dir_vec[env->agent_dir][1];
	int rx = -fy, ry = fx;
	for (int i = 0; i < MG_VIEW; i++) {
		for (int j = 0; j < MG_VIEW; j++) {
			if (!vis[i][j])
				continue;
			int fwd = MG_VIEW - 1 - j, right = i - MG_VIEW / 2;
			int x = env->agent_x + fx * fwd + rx * right;
			int y = env->agent_y + fy * fwd + ry * right;
			if (x >= 0 && y >= 0 && x < env->width && y < env->height)
				hl[x][y] = true;
		}
	}
	for (int y = 0; y < env->height; y++) {
		for (int x = 0; x < env->width; x++) {
			bool here = x == env->agent_x && y == env->agent_y;
			const uint8_t *t =
				tile(env, mg__get(env, x, y), here ? env->agent_dir : -1, hl[x][y]);
			if (!t) {
				snprintf(err, errlen, "out of memory");
				return -1;
			}
			for (int r = 0; r < MG_TILE; r++)
				memcpy(rgb + (size_t)(y * MG_TILE + r) * stride + (size_t)x * MG_TILE * 3,
				       t + r * MG_TILE * 3, MG_TILE * 3);
		}
	}
	return 0;
}
