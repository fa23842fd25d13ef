/* tilejpeg: JPEG encoding that re-encodes only the parts of a frame it has
 * not seen before. The frame is a baseline JPEG (4:2:0, standard Huffman
 * tables) with a restart marker after every MCU (16x16 pixels): each MCU's
 * entropy-coded bytes then depend on its pixels only, so they are cached,
 * keyed by a 128-bit hash of the MCU's pixels, in a cache shared by all
 * sessions. A CartPole frame is mostly background that every session shares;
 * only the MCUs under the cart and the pole are new.
 *
 * The output is byte-identical to libjpeg's encoding of the whole frame with
 * restart_interval = 1 and the same settings (tests/unit/test_tilejpeg.c). */
#ifndef HIPPO_RENDER_TILEJPEG_H
#define HIPPO_RENDER_TILEJPEG_H

#include <stddef.h>
#include <stdint.h>

struct tile_cache;
struct tile_enc;

/* A cache of at most MAX_BYTES of encoded MCUs (cleared when full). Thread-safe. */
struct tile_cache *tile_cache_new(size_t max_bytes);
void tile_cache_free(struct tile_cache *c);

/* One encoder per thread, using the shared cache C. */
struct tile_enc *tile_enc_new(struct tile_cache *c);
void tile_enc_free(struct tile_enc *e);

/* Encodes W x H packed RGB (STRIDE bytes per row) at QUALITY (1..100).
 * Returns the JPEG (owned by E, valid until the next call) with *LEN, or NULL. */
const uint8_t *tile_encode(struct tile_enc *e, const uint8_t *rgb, int w, int h, size_t stride,
			 int quality, size_t *len);

/* Whole-frame reference encoding with the same settings (for tests and
 * comparison). Returns a malloc'ed JPEG or NULL. */
uint8_t *tile_encode_reference(const uint8_t *rgb, int w, int h, size_t stride, int quality,
			     size_t *len);

/* Cache statistics: lookups that hit / missed since the start. */
void tile_cache_stats(struct tile_cache *c, unsigned long long *hits, unsigned long long *misses);

#endif
