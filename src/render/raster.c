/* raster: coverage-based anti-aliased drawing into packed RGB.
 *
 * Polygons are scan-converted row by row: each pixel row is sampled on
 * RASTER_SUB horizontal sub-scanlines; on each, the spans inside the polygon
 * (non-zero winding) are accumulated with exact fractional ends into a
 * per-row coverage array. Pixels fully covered are written directly, partly
 * covered ones are blended. Circles use the distance from the pixel centre. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "render/raster.h"

#define RASTER_SUB       5    /* sub-scanlines per pixel row */
#define RASTER_MAX_EDGES 64   /* crossings per sub-scanline kept (simple shapes have 2) */
#define RASTER_STACK_W   2048 /* coverage row kept on the stack up to this width */

void raster_init(struct raster *r, uint8_t *px, int w, int h, size_t stride)
{
	r->px = px;
	r->w = w;
	r->h = h;
	r->stride = stride;
}

static inline void put(uint8_t *p, struct rgb c)
{
	p[0] = c.r;
	p[1] = c.g;
	p[2] = c.b;
}

/* Blends C over P with coverage A in [0, 1]. */
static inline void blend(uint8_t *p, struct rgb c, float a)
{
	if (a >= 0.998f) {
		put(p, c);
		return;
	}
	if (a <= 0.002f)
		return;
	int w = (int)(a * 256.0f + 0.5f);
	p[0] = (uint8_t)(p[0] + (((int)c.r - p[0]) * w >> 8));
	p[1] = (uint8_t)(p[1] + (((int)c.g - p[1]) * w >> 8));
	p[2] = (uint8_t)(p[2] + (((int)c.b - p[2]) * w >> 8));
}

/* Fills N pixels starting at P with C: the first pixel is written, then the
 * filled prefix is doubled with memcpy, so long runs cost a few copies. */
static void fill_run(uint8_t *p, int n, struct rgb c)
{
	if (n <= 0)
		return;
	if (c.r == c.g && c.g == c.b) {
		memset(p, c.r, (size_t)n * 3);
		return;
	}
	put(p, c);
	size_t done = 3, total = (size_t)n * 3;
	while (done < total) {
		size_t k = done < total - done ? done : total - done;
		memcpy(p + done, p, k);
		done += k;
	}
}

void raster_clear(struct raster *r, struct rgb c)
{
	raster_fill_rect(r, 0, 0, r->w, r->h, c);
}

void raster_fill_rect(struct raster *r, int x, int y, int w, int h, struct rgb c)
{
	int x0 = x < 0 ? 0 : x, y0 = y < 0 ? 0 : y;
	int x1 = x + w > r->w ? r->w : x + w, y1 = y + h > r->h ? r->h : y + h;
	if (x0 >= x1 || y0 >= y1)
		return;
	uint8_t *first = r->px + (size_t)y0 * r->stride + (size_t)x0 * 3;
	fill_run(first, x1 - x0, c);
	for (int yy = y0 + 1; yy < y1; yy++)
		memcpy(r->px + (size_t)yy * r->stride + (size_t)x0 * 3, first, (size_t)(x1 - x0) * 3);
}

/* Adds coverage WEIGHT for the span [XA, XB) (already clipped to [0, w]) to COV,
 * whose index 0 is pixel column X0. */
static void add_span(float *cov, int x0, double xa, double xb, float weight)
{
	if (xb <= xa)
		return;
	int ia = (int)floor(xa), ib = (int)floor(xb);
	if (ia == ib) {
		cov[ia - x0] += weight * (float)(xb - xa);
		return;
	}
	cov[ia - x0] += weight * (float)(ia + 1 - xa);
	for (int i = ia + 1; i < ib; i++)
		cov[i - x0] += weight;
	if (xb > ib)
		cov[ib - x0] += weight * (float)(xb - ib);
}

struct crossing {
	double x;
	int dir;
};

static void sort_crossings(struct crossing *c, int n)
{
	for (int i = 1; i < n; i++) {
		struct crossing t = c[i];
		int j = i - 1;
		while (j >= 0 && c[j].x > t.x) {
			c[j + 1] = c[j];
			j--;
		}
		c[j + 1] = t;
	}
}

/* Accumulates one sub-scanline at height SY into COV. */
static void scan_sub(const struct pt *p, int n, double sy, float *cov, int x0, int x1,
		     float weight)
{
	struct crossing xs[RASTER_MAX_EDGES];
	int nx = 0;
	for (int i = 0; i < n && nx < RASTER_MAX_EDGES; i++) {
		struct pt a = p[i], b = p[(i + 1) % n];
		if (a.y == b.y)
			continue;
		int dir = 1;
		if (a.y > b.y) {
			struct pt t = a;
			a = b;
			b = t;
			dir = -1;
		}
		/* half-open in y so shared vertices count once */
		if (sy < a.y || sy >= b.y)
			continue;
		xs[nx].x = a.x + (sy - a.y) * (b.x - a.x) / (b.y - a.y);
		xs[nx].dir = dir;
		nx++;
	}
	if (nx < 2)
		return;
	sort_crossings(xs, nx);
	int wind = 0;
	for (int i = 0; i < nx - 1; i++) {
		wind += xs[i].dir;
		if (wind == 0)
			continue;
		double xa = fmax(xs[i].x, x0), xb = fmin(xs[i + 1].x, x1);
		add_span(cov, x0, xa, xb, weight);
	}
}

void raster_fill_polygon(struct raster *r, const struct pt *p, int n, struct rgb c)
{
	if (n < 3)
		return;
	double minx = p[0].x, maxx = p[0].x, miny = p[0].y, maxy = p[0].y;
	for (int i = 1; i < n; i++) {
		if (!isfinite(p[i].x) || !isfinite(p[i].y))
			return;
		minx = fmin(minx, p[i].x);
		maxx = fmax(maxx, p[i].x);
		miny = fmin(miny, p[i].y);
		maxy = fmax(maxy, p[i].y);
	}
	if (!isfinite(p[0].x) || !isfinite(p[0].y))
		return;
	int x0 = (int)fmax(0, floor(minx)), x1 = (int)fmin(r->w, ceil(maxx) + 1);
	int y0 = (int)fmax(0, floor(miny)), y1 = (int)fmin(r->h, ceil(maxy) + 1);
	if (x0 >= x1 || y0 >= y1)
		return;
	int cw = x1 - x0;
	float stackbuf[RASTER_STACK_W];
	float *cov = cw <= RASTER_STACK_W ? stackbuf : malloc((size_t)cw * sizeof *cov);
	if (!cov)
		return;
	const float weight = 1.0f / RASTER_SUB;
	for (int y = y0; y < y1; y++) {
		memset(cov, 0, (size_t)cw * sizeof *cov);
		for (int s = 0; s < RASTER_SUB; s++)
			scan_sub(p, n, y + (s + 0.5) / RASTER_SUB, cov, x0, x1, weight);
		uint8_t *row = r->px + (size_t)y * r->stride;
		int x = 0;
		while (x < cw) {
			if (cov[x] >= 0.998f) { /* a run of full coverage: plain fill */
				int e = x;
				while (e < cw && cov[e] >= 0.998f)
					e++;
				fill_run(row + (size_t)(x0 + x) * 3, e - x, c);
				x = e;
				continue;
			}
			blend(row + (size_t)(x0 + x) * 3, c, cov[x]);
			x++;
		}
	}
	if (cov != stackbuf)
		free(cov);
}

void raster_line(struct raster *r, struct pt a, struct pt b, double width, struct rgb c)
{
	double dx = b.x - a.x, dy = b.y - a.y, len = sqrt(dx * dx + dy * dy);
	if (!(len > 0) || !(width > 0))
		return;
	double hw = width / 2, nx = -dy / len * hw, ny = dx / len * hw;
	struct pt q[4] = {
		{a.x + nx, a.y + ny}, {b.x + nx, b.y + ny}, {b.x - nx, b.y - ny}, {a.x - nx, a.y - ny}};
	raster_fill_polygon(r, q, 4, c);
}

void raster_polygon_outline(struct raster *r, const struct pt *p, int n, double width, struct rgb c)
{
	for (int i = 0; i < n; i++)
		raster_line(r, p[i], p[(i + 1) % n], width, c);
}

/* Draws a ring (INNER < d < OUTER, anti-aliased on both sides) centred on CX, CY. */
static void ring(struct raster *r, double cx, double cy, double inner, double outer, struct rgb c)
{
	if (!isfinite(cx) || !isfinite(cy) || !(outer > 0))
		return;
	int x0 = (int)fmax(0, floor(cx - outer - 1)), x1 = (int)fmin(r->w, ceil(cx + outer + 1));
	int y0 = (int)fmax(0, floor(cy - outer - 1)), y1 = (int)fmin(r->h, ceil(cy + outer + 1));
	for (int y = y0; y < y1; y++) {
		uint8_t *row = r->px + (size_t)y * r->stride;
		double fy = y + 0.5 - cy;
		for (int x = x0; x < x1; x++) {
			double fx = x + 0.5 - cx, d = sqrt(fx * fx + fy * fy);
			double a = fmin(outer - d + 0.5, 1.0);
			if (inner > 0)
				a = fmin(a, d - inner + 0.5);
			if (a > 0)
				blend(row + (size_t)x * 3, c, (float)a);
		}
	}
}

void raster_fill_circle(struct raster *r, double cx, double cy, double radius, struct rgb c)
{
	ring(r, cx, cy, 0, radius, c);
}

void raster_circle_outline(struct raster *r, double cx, double cy, double radius, double width,
			   struct rgb c)
{
	ring(r, cx, cy, radius - width / 2, radius + width / 2, c);
}
