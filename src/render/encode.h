/* encode: RGB frames to JPEG (libturbojpeg) and PNG (libspng). The JPEG
 * encoder keeps its handle and output buffer across frames: no allocation per
 * frame once the buffer has grown to the frame size. */
#ifndef HIPPO_RENDER_ENCODE_H
#define HIPPO_RENDER_ENCODE_H

#include <stddef.h>
#include <stdint.h>

struct enc_jpeg;

/* QUALITY 1..100. Returns NULL on allocation failure. One encoder per thread. */
struct enc_jpeg *enc_jpeg_new(int quality);
void enc_jpeg_free(struct enc_jpeg *e);
void enc_jpeg_set_quality(struct enc_jpeg *e, int quality);
/* Encodes W x H packed RGB (STRIDE bytes per row). Returns the JPEG bytes, owned
 * by E and valid until the next call on E, with *LEN set; NULL on failure. */
const uint8_t *enc_jpeg_encode(struct enc_jpeg *e, const uint8_t *rgb, int w, int h,
			       size_t stride, size_t *len);

/* The frame encoder of a session worker: JPEG frames through the MCU cache
 * (render/tilejpeg.h) when it has one, else (no cache, or a frame the tiled
 * encoder refuses) through enc_jpeg. One per thread; created empty, its
 * encoders are made at the first frame and reused (no allocation per frame). */
struct enc_frame;
struct tile_cache;

/* CACHE (shared by the threads, may be NULL; borrowed: it outlives E). NULL
 * when memory is short. */
struct enc_frame *enc_frame_new(struct tile_cache *cache);
void enc_frame_free(struct enc_frame *e);
/* Encodes W x H packed RGB (STRIDE bytes per row) at QUALITY (1..100).
 * Returns the JPEG (owned by E, valid until the next call) with *LEN, or NULL. */
const uint8_t *enc_frame(struct enc_frame *e, const uint8_t *rgb, int w, int h, size_t stride,
			 int quality, size_t *len);

/* Encodes a PNG into a malloc'ed buffer (*OUT, freed by the caller).
 * Returns 0, or -1 with a message in ERR. */
int enc_png_encode(const uint8_t *rgb, int w, int h, size_t stride, uint8_t **out, size_t *len,
		   char *err, size_t errlen);

/* Writes a frame to PATH as PNG or JPEG according to its extension
 * (.png, .jpg, .jpeg). Returns 0, or -1 with a message in ERR. */
int enc_write_file(const char *path, const uint8_t *rgb, int w, int h, size_t stride,
		   int jpeg_quality, char *err, size_t errlen);

#endif
