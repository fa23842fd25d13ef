/* tilejpeg: frames assembled from cached MCU segments are byte-identical to
 * libjpeg's whole-frame encoding (restart interval 1), for CartPole frames,
 * odd sizes, several qualities, with hits, misses and a full cache; and the
 * frame encoder (enc_frame) that picks it or libturbojpeg. */
#include <stdlib.h>
#include <string.h>

#include "env/env.h"
#include "render/encode.h"
#include "render/tilejpeg.h"
#include "test.h"

static int same_as_reference(struct tile_enc *e, const uint8_t *rgb, int w, int h, int q)
{
	size_t n = 0, rn = 0;
	const uint8_t *a = tile_encode(e, rgb, w, h, (size_t)w * 3, q, &n);
	uint8_t *b = tile_encode_reference(rgb, w, h, (size_t)w * 3, q, &rn);
	int ok = a && b && n == rn && memcmp(a, b, n) == 0;
	free(b);
	return ok;
}

static void test_cartpole_frames(void)
{
	struct env e;
	char err[256];
	CHECK(env_open(&e, "CartPole-v1", NULL, err, sizeof err) == 0);
	int w = e.info->meta.render_width, h = e.info->meta.render_height;
	uint8_t *rgb = malloc((size_t)w * h * 3);
	struct tile_cache *c = tile_cache_new(8 << 20);
	struct tile_enc *t = tile_enc_new(c);
	uint64_t seed = 5;
	env_reset(&e, &seed, NULL, 0);
	int same = 0, frames = 0;
	for (int i = 0; i < 120; i++) {
		struct hippo_step_result r;
		double a = (double)((i / 7) % 2);
		if (env_step(&e, &a, &r, NULL, 0) < 0 || r.terminated || r.truncated)
			env_reset(&e, NULL, NULL, 0);
		env_render(&e, rgb, (size_t)w * 3);
		same += same_as_reference(t, rgb, w, h, 80);
		frames++;
	}
	CHECK_INT(same, frames);
	unsigned long long hits, misses;
	tile_cache_stats(c, &hits, &misses);
	CHECK(hits > misses * 10); /* most of a CartPole frame is shared background */
	tile_enc_free(t);
	tile_cache_free(c);
	free(rgb);
	env_close(&e);
}

static void test_odd_sizes_and_qualities(void)
{
	struct tile_cache *c = tile_cache_new(1); /* the minimum: cleared often */
	struct tile_enc *t = tile_enc_new(c);
	static const int sizes[][2] = {{1, 1}, {17, 9}, {37, 23}, {64, 48}, {600, 400}};
	unsigned s = 1;
	for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
		int w = sizes[k][0], h = sizes[k][1];
		uint8_t *rgb = malloc((size_t)w * h * 3);
		for (size_t i = 0; i < (size_t)w * h * 3; i++) {
			s = s * 1103515245u + 12345u;
			rgb[i] = (uint8_t)((i / 3 % 7 == 0) ? s >> 16 : 200);
		}
		for (int q = 20; q <= 100; q += 40) {
			CHECK(same_as_reference(t, rgb, w, h, q));
			CHECK(same_as_reference(t, rgb, w, h, q)); /* again, from the cache */
		}
		free(rgb);
	}
	tile_enc_free(t);
	tile_cache_free(c);
}

/* enc_frame: with a cache, the tiled encoding (the reference's bytes); without
 * one, libturbojpeg's; a change of quality reaches either encoder. */
static void test_frame_encoder_chooses_tiled_or_plain(void)
{
	int w = 64, h = 48;
	uint8_t *rgb = malloc((size_t)w * h * 3);
	for (int i = 0; i < w * h * 3; i++)
		rgb[i] = (uint8_t)(i * 7 + i / 97);
	struct tile_cache *c = tile_cache_new(1 << 20);
	struct enc_frame *tiled = enc_frame_new(c), *plain = enc_frame_new(NULL);
	struct enc_jpeg *ref = enc_jpeg_new(80);
	for (int q = 80; q >= 40; q -= 40) {
		size_t n = 0, rn = 0, pn = 0, jn = 0;
		const uint8_t *a = enc_frame(tiled, rgb, w, h, (size_t)w * 3, q, &n);
		uint8_t *b = tile_encode_reference(rgb, w, h, (size_t)w * 3, q, &rn);
		CHECK(a && b && n == rn && memcmp(a, b, n) == 0);
		free(b);
		const uint8_t *p = enc_frame(plain, rgb, w, h, (size_t)w * 3, q, &pn);
		enc_jpeg_set_quality(ref, q);
		const uint8_t *j = enc_jpeg_encode(ref, rgb, w, h, (size_t)w * 3, &jn);
		CHECK(p && j && pn == jn && memcmp(p, j, pn) == 0);
		CHECK(p && pn > 4 && p[0] == 0xff && p[1] == 0xd8 && p[pn - 2] == 0xff &&
		      p[pn - 1] == 0xd9);
	}
	enc_jpeg_free(ref);
	enc_frame_free(plain);
	enc_frame_free(tiled);
	tile_cache_free(c);
	free(rgb);
}

int main(void)
{
	RUN(test_cartpole_frames);
	RUN(test_odd_sizes_and_qualities);
	RUN(test_frame_encoder_chooses_tiled_or_plain);
	return test_summary();
}
