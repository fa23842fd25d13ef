/* test_raster: the drawing primitives: clearing, clipped rectangles, polygon
 * coverage (exact inside, blended on edges, non-zero winding), circles, lines,
 * and shapes partly or wholly off the canvas. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "render/raster.h"
#include "test.h"

#define W 40
#define H 30

static uint8_t px[H][W * 3 + 6]; /* stride larger than 3*W on purpose */

static const uint8_t *at(int x, int y)
{
	return &px[y][x * 3];
}

static struct raster canvas(void)
{
	struct raster r;
	raster_init(&r, &px[0][0], W, H, sizeof px[0]);
	memset(px, 0xAB, sizeof px);
	raster_clear(&r, (struct rgb){255, 255, 255});
	return r;
}

static int is(int x, int y, int r, int g, int b)
{
	const uint8_t *p = at(x, y);
	return p[0] == r && p[1] == g && p[2] == b;
}

static void test_clear_fills_rows_but_not_padding(void)
{
	struct raster r = canvas();
	raster_clear(&r, (struct rgb){10, 20, 30});
	CHECK(is(0, 0, 10, 20, 30) && is(W - 1, H - 1, 10, 20, 30));
	CHECK_INT(px[5][W * 3], 0xAB); /* padding after the row untouched */
}

static void test_rect_is_clipped(void)
{
	struct raster r = canvas();
	raster_fill_rect(&r, -5, -5, 10, 8, (struct rgb){0, 0, 0});
	CHECK(is(0, 0, 0, 0, 0) && is(4, 2, 0, 0, 0));
	CHECK(is(5, 2, 255, 255, 255) && is(4, 3, 255, 255, 255));
	raster_fill_rect(&r, W - 2, H - 2, 100, 100, (struct rgb){1, 2, 3});
	CHECK(is(W - 1, H - 1, 1, 2, 3));
	raster_fill_rect(&r, 100, 100, 5, 5, (struct rgb){1, 2, 3}); /* off canvas: nothing */
}

static void test_pixel_aligned_square_has_exact_edges(void)
{
	struct raster r = canvas();
	struct pt sq[4] = {{10, 10}, {20, 10}, {20, 20}, {10, 20}};
	raster_fill_polygon(&r, sq, 4, (struct rgb){0, 0, 0});
	CHECK(is(10, 10, 0, 0, 0) && is(19, 19, 0, 0, 0));
	CHECK(is(9, 10, 255, 255, 255) && is(20, 15, 255, 255, 255) && is(15, 20, 255, 255, 255));
}

static void test_half_covered_pixels_are_blended(void)
{
	struct raster r = canvas();
	struct pt sq[4] = {{10.5, 10}, {20.5, 10}, {20.5, 20}, {10.5, 20}};
	raster_fill_polygon(&r, sq, 4, (struct rgb){0, 0, 0});
	int left = at(10, 15)[0], right = at(20, 15)[0];
	CHECK(left > 110 && left < 145);
	CHECK(right > 110 && right < 145);
	CHECK(is(11, 15, 0, 0, 0));
}

static void test_concave_polygon_uses_nonzero_winding(void)
{
	struct raster r = canvas();
	/* a U shape: the notch stays white */
	struct pt u[8] = {{5, 5}, {10, 5}, {10, 20}, {20, 20}, {20, 5}, {25, 5}, {25, 25}, {5, 25}};
	raster_fill_polygon(&r, u, 8, (struct rgb){0, 0, 0});
	CHECK(is(7, 10, 0, 0, 0) && is(22, 10, 0, 0, 0) && is(15, 22, 0, 0, 0));
	CHECK(is(15, 10, 255, 255, 255));
}

static void test_circle_and_line(void)
{
	struct raster r = canvas();
	raster_fill_circle(&r, 20, 15, 5, (struct rgb){129, 132, 203});
	CHECK(is(20, 15, 129, 132, 203) && is(17, 15, 129, 132, 203));
	CHECK(is(20, 8, 255, 255, 255) && is(26, 15, 255, 255, 255));
	raster_line(&r, (struct pt){0, 2.5}, (struct pt){W, 2.5}, 1.0, (struct rgb){0, 0, 0});
	CHECK(is(5, 2, 0, 0, 0) && is(5, 1, 255, 255, 255) && is(5, 3, 255, 255, 255));
	raster_circle_outline(&r, 20.5, 15.5, 10, 1, (struct rgb){0, 0, 0});
	CHECK(is(30, 15, 0, 0, 0) && is(20, 5, 0, 0, 0));
	CHECK(is(20, 15, 129, 132, 203));
}

static void test_offscreen_and_degenerate_shapes_are_safe(void)
{
	struct raster r = canvas();
	struct pt far[3] = {{-1e9, -1e9}, {1e9, -1e9}, {0, 1e9}};
	raster_fill_polygon(&r, far, 3, (struct rgb){0, 0, 0});
	CHECK(is(20, 15, 0, 0, 0)); /* covers the whole canvas */
	struct pt bad[3] = {{NAN, 0}, {5, 5}, {0, 5}};
	raster_fill_polygon(&r, bad, 3, (struct rgb){9, 9, 9});
	raster_fill_polygon(&r, bad, 2, (struct rgb){9, 9, 9});
	raster_fill_circle(&r, -100, -100, 5, (struct rgb){9, 9, 9});
	raster_fill_circle(&r, INFINITY, 0, 5, (struct rgb){9, 9, 9});
	raster_line(&r, (struct pt){3, 3}, (struct pt){3, 3}, 2, (struct rgb){9, 9, 9});
	CHECK(!is(3, 3, 9, 9, 9));
}

int main(void)
{
	RUN(test_clear_fills_rows_but_not_padding);
	RUN(test_rect_is_clipped);
	RUN(test_pixel_aligned_square_has_exact_edges);
	RUN(test_half_covered_pixels_are_blended);
	RUN(test_concave_polygon_uses_nonzero_winding);
	RUN(test_circle_and_line);
	RUN(test_offscreen_and_degenerate_shapes_are_safe);
	return test_summary();
}
