/* encode: JPEG through libturbojpeg's 2.x API (one compressor handle and one
 * output buffer per encoder, grown only when a frame needs more room) and PNG
 * through libspng's row-by-row encoder (so any stride works). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <spng.h>
#include <turbojpeg.h>

#include "render/encode.h"
#include "render/tilejpeg.h"

struct enc_jpeg {
	tjhandle tj;
	int quality;
	unsigned char *buf; /* tjAlloc'ed, CAP bytes */
	unsigned long cap;
};

static int clamp_quality(int q)
{
	return q < 1 ? 1 : q > 100 ? 100 : q;
}

struct enc_jpeg *enc_jpeg_new(int quality)
{
	struct enc_jpeg *e = calloc(1, sizeof *e);
	if (!e)
		return NULL;
	e->tj = tjInitCompress();
	if (!e->tj) {
		free(e);
		return NULL;
	}
	e->quality = clamp_quality(quality);
	return e;
}

void enc_jpeg_free(struct enc_jpeg *e)
{
	if (!e)
		return;
	tjDestroy(e->tj);
	tjFree(e->buf);
	free(e);
}

void enc_jpeg_set_quality(struct enc_jpeg *e, int quality)
{
	e->quality = clamp_quality(quality);
}

const uint8_t *enc_jpeg_encode(struct enc_jpeg *e, const uint8_t *rgb, int w, int h,
			       size_t stride, size_t *len)
{
	if (w <= 0 || h <= 0 || stride < (size_t)w * 3 || stride > (size_t)INT32_MAX)
		return NULL;
	unsigned long need = tjBufSize(w, h, TJSAMP_420);
	if (need == (unsigned long)-1 || need > (unsigned long)INT32_MAX)
		return NULL;
	if (need > e->cap) {
		unsigned char *nb = tjAlloc((int)need);
		if (!nb)
			return NULL;
		tjFree(e->buf);
		e->buf = nb;
		e->cap = need;
	}
	unsigned long size = e->cap;
	/* NOREALLOC: the buffer is big enough for any frame of this size */
	if (tjCompress2(e->tj, rgb, w, (int)stride, h, TJPF_RGB, &e->buf, &size, TJSAMP_420,
			e->quality, TJFLAG_FASTDCT | TJFLAG_NOREALLOC) != 0)
		return NULL;
	*len = size;
	return e->buf;
}

struct enc_frame {
	struct tile_cache *cache;
	struct tile_enc *tiles;  /* made at the first frame when there is a cache */
	struct enc_jpeg *plain;  /* made at the first frame the tiled encoder does not take */
	int quality;             /* of PLAIN */
};

struct enc_frame *enc_frame_new(struct tile_cache *cache)
{
	struct enc_frame *e = calloc(1, sizeof *e);
	if (e)
		e->cache = cache;
	return e;
}

void enc_frame_free(struct enc_frame *e)
{
	if (!e)
		return;
	tile_enc_free(e->tiles);
	enc_jpeg_free(e->plain);
	free(e);
}

const uint8_t *enc_frame(struct enc_frame *e, const uint8_t *rgb, int w, int h, size_t stride,
			 int quality, size_t *len)
{
	if (e->cache && !e->tiles)
		e->tiles = tile_enc_new(e->cache);
	if (e->tiles) {
		const uint8_t *jpeg = tile_encode(e->tiles, rgb, w, h, stride, quality, len);
		if (jpeg)
			return jpeg;
	}
	if (!e->plain) {
		e->plain = enc_jpeg_new(quality);
		if (!e->plain)
			return NULL;
		e->quality = quality;
	} else if (e->quality != quality) {
		enc_jpeg_set_quality(e->plain, quality);
		e->quality = quality;
	}
	return enc_jpeg_encode(e->plain, rgb, w, h, stride, len);
}

int enc_png_encode(const uint8_t *rgb, int w, int h, size_t stride, uint8_t **out, size_t *len,
		   char *err, size_t errlen)
{
	int rc = -1, e;
	*out = NULL;
	if (w <= 0 || h <= 0 || stride < (size_t)w * 3) {
		snprintf(err, errlen, "png: bad frame geometry %dx%d stride %zu", w, h, stride);
		return -1;
	}
	spng_ctx *ctx = spng_ctx_new(SPNG_CTX_ENCODER);
	if (!ctx) {
		snprintf(err, errlen, "png: out of memory");
		return -1;
	}
	struct spng_ihdr ihdr = {
		.width = (uint32_t)w,
		.height = (uint32_t)h,
		.bit_depth = 8,
		.color_type = SPNG_COLOR_TYPE_TRUECOLOR,
	};
	if ((e = spng_set_option(ctx, SPNG_ENCODE_TO_BUFFER, 1)) || (e = spng_set_ihdr(ctx, &ihdr)))
		goto fail;
	e = spng_encode_image(ctx, NULL, 0, SPNG_FMT_PNG,
			      SPNG_ENCODE_PROGRESSIVE | SPNG_ENCODE_FINALIZE);
	if (e)
		goto fail;
	for (int y = 0; y < h; y++) {
		e = spng_encode_row(ctx, rgb + (size_t)y * stride, (size_t)w * 3);
		if (e && e != SPNG_EOI)
			goto fail;
	}
	size_t n = 0;
	void *png = spng_get_png_buffer(ctx, &n, &e);
	if (!png)
		goto fail;
	*out = png;
	*len = n;
	rc = 0;
	goto out;
fail:
	snprintf(err, errlen, "png: %s", spng_strerror(e));
out:
	spng_ctx_free(ctx);
	return rc;
}

static const char *extension(const char *path)
{
	const char *dot = strrchr(path, '.');
	const char *slash = strrchr(path, '/');
	return dot && (!slash || dot > slash) ? dot + 1 : "";
}

static int write_all(const char *path, const uint8_t *data, size_t len, char *err, size_t errlen)
{
	FILE *f = fopen(path, "wb");
	if (!f) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	size_t n = fwrite(data, 1, len, f);
	int bad = n != len || ferror(f);
	if (fclose(f) != 0)
		bad = 1;
	if (bad) {
		snprintf(err, errlen, "%s: write failed: %s", path, strerror(errno));
		return -1;
	}
	return 0;
}

int enc_write_file(const char *path, const uint8_t *rgb, int w, int h, size_t stride,
		   int jpeg_quality, char *err, size_t errlen)
{
	const char *ext = extension(path);
	if (strcasecmp(ext, "png") == 0) {
		uint8_t *png;
		size_t len;
		if (enc_png_encode(rgb, w, h, stride, &png, &len, err, errlen) != 0)
			return -1;
		int rc = write_all(path, png, len, err, errlen);
		free(png);
		return rc;
	}
	if (strcasecmp(ext, "jpg") == 0 || strcasecmp(ext, "jpeg") == 0) {
		struct enc_jpeg *e = enc_jpeg_new(jpeg_quality);
		if (!e) {
			snprintf(err, errlen, "jpeg: cannot create an encoder");
			return -1;
		}
		size_t len;
		const uint8_t *jpg = enc_jpeg_encode(e, rgb, w, h, stride, &len);
		int rc;
		if (!jpg) {
			snprintf(err, errlen, "jpeg: %s", tjGetErrorStr2(e->tj));
			rc = -1;
		} else {
			rc = write_all(path, jpg, len, err, errlen);
		}
		enc_jpeg_free(e);
		return rc;
	}
	snprintf(err, errlen, "%s: unknown image type (use .png, .jpg or .jpeg)", path);
	return -1;
}
