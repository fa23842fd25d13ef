/* raster: 2-D drawing into packed RGB buffers (8 bits per channel), the
 * primitives Gymnasium's pygame renderers use: filled and outlined polygons,
 * circles, lines, rectangles. Edges are anti-aliased by coverage. No text.
 * Coordinates are in pixels, y down, (0,0) the top-left corner of the top-left
 * pixel; everything is clipped to the canvas. */
#ifndef HIPPO_RENDER_RASTER_H
#define HIPPO_RENDER_RASTER_H

#include <stddef.h>
#include <stdint.h>

struct raster {
	uint8_t *px;    /* RGB rows, not owned */
	int w, h;
	size_t stride;  /* bytes per row (>= 3*w) */
};

struct rgb {
	uint8_t r, g, b;
};

struct pt {
	double x, y;
};

void raster_init(struct raster *r, uint8_t *px, int w, int h, size_t stride);
void raster_clear(struct raster *r, struct rgb c);
void raster_fill_rect(struct raster *r, int x, int y, int w, int h, struct rgb c);
/* Any simple polygon (convex or not), non-zero winding, N >= 3 points. */
void raster_fill_polygon(struct raster *r, const struct pt *p, int n, struct rgb c);
void raster_polygon_outline(struct raster *r, const struct pt *p, int n, double width, struct rgb c);
void raster_fill_circle(struct raster *r, double cx, double cy, double radius, struct rgb c);
void raster_circle_outline(struct raster *r, double cx, double cy, double radius, double width,
			   struct rgb c);
void raster_line(struct raster *r, struct pt a, struct pt b, double width, struct rgb c);

#endif
