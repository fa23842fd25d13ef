/* tilejpeg: JPEG frames from cached per-MCU entropy-coded segments. */
#include "render/tilejpeg.h"

#include <pthread.h>
#include <setjmp.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jpeglib.h>

#include "core/buf.h"

#define MCU 16            /* 4:2:0: 16x16 pixels per MCU */
#define MAX_STRIP 1024    /* MCUs encoded per libjpeg call */

/* ---- libjpeg plumbing: errors by longjmp, output into a struct buf ---- */

struct jerr {
	struct jpeg_error_mgr mgr;
	jmp_buf jb;
};

static void on_error(j_common_ptr ci)
{
	longjmp(((struct jerr *)ci->err)->jb, 1);
}

static void on_message(j_common_ptr ci)
{
	(void)ci;
}

struct jdest {
	struct jpeg_destination_mgr mgr;
	struct buf *out;
};

static void dest_init(j_compress_ptr ci)
{
	struct jdest *d = (struct jdest *)ci->dest;
	d->out->len = 0;
	if (buf_reserve(d->out, 65536) < 0)
		ci->err->error_exit((j_common_ptr)ci);
	d->mgr.next_output_byte = (JOCTET *)d->out->data;
	d->mgr.free_in_buffer = d->out->cap;
}

static boolean dest_empty(j_compress_ptr ci)
{
	struct jdest *d = (struct jdest *)ci->dest;
	d->out->len = d->out->cap; /* the whole buffer is full */
	if (buf_reserve(d->out, d->out->cap) < 0)
		ci->err->error_exit((j_common_ptr)ci);
	d->mgr.next_output_byte = (JOCTET *)d->out->data + d->out->len;
	d->mgr.free_in_buffer = d->out->cap - d->out->len;
	return TRUE;
}

static void dest_term(j_compress_ptr ci)
{
	struct jdest *d = (struct jdest *)ci->dest;
	d->out->len = d->out->cap - d->mgr.free_in_buffer;
}

/* Encodes W x H RGB with the settings every tile and header share. */
static int encode_plain(struct jpeg_compress_struct *ci, struct jerr *je, struct jdest *jd,
			const uint8_t *rgb, int w, int h, size_t stride, int quality)
{
	if (setjmp(je->jb)) {
		jpeg_abort_compress(ci);
		return -1;
	}
	ci->image_width = (JDIMENSION)w;
	ci->image_height = (JDIMENSION)h;
	ci->input_components = 3;
	ci->in_color_space = JCS_RGB;
	jpeg_set_defaults(ci);
	jpeg_set_quality(ci, quality, TRUE);
	ci->dct_method = JDCT_IFAST;
	ci->optimize_coding = FALSE;
	ci->restart_interval = 1;
	ci->comp_info[0].h_samp_factor = 2;
	ci->comp_info[0].v_samp_factor = 2;
	ci->dest = &jd->mgr;
	jpeg_start_compress(ci, TRUE);
	while (ci->next_scanline < ci->image_height) {
		JSAMPROW row = (JSAMPROW)(rgb + (size_t)ci->next_scanline * stride);
		jpeg_write_scanlines(ci, &row, 1);
	}
	jpeg_finish_compress(ci);
	return 0;
}

/* ---- the shared cache: open addressing on 128-bit keys ---- */

struct entry {
	uint64_t k1, k2;      /* k1 == 0: empty */
	uint32_t off, len;    /* bytes in the arena */
};

struct tile_cache {
	pthread_rwlock_t lock;
	struct entry *tab;
	size_t cap, n;        /* cap: power of two */
	struct buf arena;
	size_t max_bytes;
	unsigned long long hits, misses;
};

struct tile_cache *tile_cache_new(size_t max_bytes)
{
	struct tile_cache *c = calloc(1, sizeof *c);
	if (!c)
		return NULL;
	c->cap = 1 << 16;
	c->tab = calloc(c->cap, sizeof *c->tab);
	c->max_bytes = max_bytes < (1 << 20) ? (1 << 20) : max_bytes;
	if (!c->tab) {
		free(c);
		return NULL;
	}
	pthread_rwlock_init(&c->lock, NULL);
	return c;
}

void tile_cache_free(struct tile_cache *c)
{
	if (!c)
		return;
	pthread_rwlock_destroy(&c->lock);
	free(c->tab);
	buf_free(&c->arena);
	free(c);
}

void tile_cache_stats(struct tile_cache *c, unsigned long long *hits, unsigned long long *misses)
{
	pthread_rwlock_rdlock(&c->lock);
	*hits = c->hits;
	*misses = c->misses;
	pthread_rwlock_unlock(&c->lock);
}

static const struct entry *lookup(const struct tile_cache *c, uint64_t k1, uint64_t k2)
{
	size_t mask = c->cap - 1;
	for (size_t i = k1 & mask;; i = (i + 1) & mask) {
		const struct entry *e = &c->tab[i];
		if (e->k1 == 0)
			return NULL;
		if (e->k1 == k1 && e->k2 == k2)
			return e;
	}
}

/* With the write lock: inserts unless present; clears everything when the
 * arena or the table is full (the next frames re-encode what they need). */
static void insert(struct tile_cache *c, uint64_t k1, uint64_t k2, const uint8_t *seg, size_t len)
{
	if (lookup(c, k1, k2))
		return;
	if (c->arena.len + len > c->max_bytes || (c->n + 1) * 4 > c->cap * 3) {
		memset(c->tab, 0, c->cap * sizeof *c->tab);
		c->n = 0;
		c->arena.len = 0;
	}
	size_t off = c->arena.len;
	if (buf_append(&c->arena, seg, len) < 0)
		return;
	size_t mask = c->cap - 1;
	size_t i = k1 & mask;
	while (c->tab[i].k1)
		i = (i + 1) & mask;
	c->tab[i] = (struct entry){k1, k2, (uint32_t)off, (uint32_t)len};
	c->n++;
}

/* ---- per-thread encoder ---- */

struct tile_enc {
	struct tile_cache *cache;
	struct jpeg_compress_struct ci;
	struct jerr je;
	struct jdest jd;
	struct buf jpeg;        /* libjpeg output */
	struct buf header;      /* SOI .. end of the SOS header for (w, h, quality) */
	int hw, hh, hq;
	struct buf segs;        /* this frame's segments, back to back */
	uint32_t *seg_off, *seg_len;
	uint64_t *k1, *k2;
	int *miss;                /* indices of MCUs to encode */
	size_t ntiles_cap;
	uint8_t *strip;           /* MAX_STRIP MCUs side by side */
	struct buf out;
};

static int create_compress(struct tile_enc *e)
{
	e->ci.err = jpeg_std_error(&e->je.mgr);
	e->je.mgr.error_exit = on_error;
	e->je.mgr.output_message = on_message;
	if (setjmp(e->je.jb))
		return -1;
	jpeg_create_compress(&e->ci);
	return 0;
}

struct tile_enc *tile_enc_new(struct tile_cache *c)
{
	struct tile_enc *e = calloc(1, sizeof *e);
	if (!e)
		return NULL;
	e->cache = c;
	if (create_compress(e) < 0) {
		free(e);
		return NULL;
	}
	e->jd.mgr.init_destination = dest_init;
	e->jd.mgr.empty_output_buffer = dest_empty;
	e->jd.mgr.term_destination = dest_term;
	e->jd.out = &e->jpeg;
	e->strip = malloc((size_t)MAX_STRIP * MCU * MCU * 3);
	if (!e->strip) {
		jpeg_destroy_compress(&e->ci);
		free(e);
		return NULL;
	}
	return e;
}

void tile_enc_free(struct tile_enc *e)
{
	if (!e)
		return;
	jpeg_destroy_compress(&e->ci);
	buf_free(&e->jpeg);
	buf_free(&e->header);
	buf_free(&e->segs);
	free(e->seg_off);
	free(e->seg_len);
	free(e->k1);
	free(e->k2);
	free(e->miss);
	free(e->strip);
	buf_free(&e->out);
	free(e);
}

/* The offset just past the SOS header in a JPEG, or 0. */
static size_t scan_start(const uint8_t *p, size_t n)
{
	size_t i = 2;
	while (i + 4 <= n && p[i] == 0xff) {
		uint8_t m = p[i + 1];
		size_t len = (size_t)p[i + 2] << 8 | p[i + 3];
		if (m == 0xda)
			return i + 2 + len <= n ? i + 2 + len : 0;
		i += 2 + len;
	}
	return 0;
}

static int make_header(struct tile_enc *e, int w, int h, int q)
{
	if (e->hw == w && e->hh == h && e->hq == q)
		return 0;
	size_t stride = (size_t)w * 3;
	uint8_t *blank = calloc((size_t)h, stride);
	if (!blank)
		return -1;
	int rc = encode_plain(&e->ci, &e->je, &e->jd, blank, w, h, stride, q);
	free(blank);
	size_t s = rc == 0 ? scan_start((const uint8_t *)e->jpeg.data, e->jpeg.len) : 0;
	if (!s)
		return -1;
	e->header.len = 0;
	if (buf_append(&e->header, e->jpeg.data, s) < 0)
		return -1;
	e->hw = w;
	e->hh = h;
	e->hq = q;
	return 0;
}

/* Copies MCU (tx, ty) of the frame into DST (MCU x MCU RGB, row length
 * DST_STRIDE), replicating the last column/row past the frame's edge as
 * libjpeg pads a partial MCU. */
static void copy_tile(uint8_t *dst, size_t dst_stride, const uint8_t *rgb, int w, int h,
		      size_t stride, int tx, int ty)
{
	int x0 = tx * MCU, y0 = ty * MCU;
	int cw = w - x0 < MCU ? w - x0 : MCU;
	for (int y = 0; y < MCU; y++) {
		int sy = y0 + y < h ? y0 + y : h - 1;
		const uint8_t *src = rgb + (size_t)sy * stride + (size_t)x0 * 3;
		uint8_t *d = dst + (size_t)y * dst_stride;
		memcpy(d, src, (size_t)cw * 3);
		for (int x = cw; x < MCU; x++)
			memcpy(d + x * 3, src + (cw - 1) * 3, 3);
	}
}

static inline uint64_t rotl64(uint64_t x, int r)
{
	return x << r | x >> (64 - r);
}

/* 128-bit hash of one MCU's pixels. */
static void hash_tile(const uint8_t *rgb, int w, int h, size_t stride, int tx, int ty,
		      uint64_t *k1, uint64_t *k2)
{
	uint8_t tile[MCU * MCU * 3];
	int x0 = tx * MCU, y0 = ty * MCU;
	const uint8_t *base;
	size_t row;
	if (x0 + MCU <= w && y0 + MCU <= h) {
		base = rgb + (size_t)y0 * stride + (size_t)x0 * 3;
		row = stride;
	} else {
		copy_tile(tile, MCU * 3, rgb, w, h, stride, tx, ty);
		base = tile;
		row = MCU * 3;
	}
	/* four independent lanes: the multiplies of one word do not wait for the
	 * previous word's (this loop is the encoder's hottest) */
	uint64_t l0 = 0x9e3779b97f4a7c15ull, l1 = 0xc2b2ae3d27d4eb4full;
	uint64_t l2 = 0x165667b19e3779f9ull, l3 = 0x27d4eb2f165667c5ull;
	for (int y = 0; y < MCU; y += 2) {
		const uint8_t *p = base + (size_t)y * row, *q = p + row;
		uint64_t v[12];
		memcpy(v, p, 48);
		memcpy(v + 6, q, 48);
		for (int i = 0; i < 12; i += 4) {
			l0 = rotl64((l0 ^ v[i]) * 0x100000001b3ull, 29);
			l1 = rotl64((l1 ^ v[i + 1]) * 0xff51afd7ed558ccdull, 31);
			l2 = rotl64((l2 ^ v[i + 2]) * 0xc4ceb9fe1a85ec53ull, 27);
			l3 = rotl64((l3 ^ v[i + 3]) * 0x9e3779b97f4a7c15ull, 33);
		}
	}
	uint64_t a = (l0 ^ rotl64(l2, 17)) * 0xc4ceb9fe1a85ec53ull;
	uint64_t b = (l1 ^ rotl64(l3, 23)) * 0xff51afd7ed558ccdull;
	a ^= a >> 33;
	b ^= b >> 29;
	/* edge MCUs encode differently (libjpeg's dummy blocks): their size is in the key */
	int cw = w - x0 < MCU ? w - x0 : MCU, ch = h - y0 < MCU ? h - y0 : MCU;
	*k1 = a | 1; /* never 0: 0 marks an empty slot */
	*k2 = b ^ ((uint64_t)(cw * 17 + ch) << 56);
}

static bool grow_tiles(struct tile_enc *e, size_t n)
{
	if (n <= e->ntiles_cap)
		return true;
	uint32_t *o = realloc(e->seg_off, n * sizeof *o);
	if (o)
		e->seg_off = o;
	uint32_t *l = realloc(e->seg_len, n * sizeof *l);
	if (l)
		e->seg_len = l;
	uint64_t *a = realloc(e->k1, n * sizeof *a);
	if (a)
		e->k1 = a;
	uint64_t *b = realloc(e->k2, n * sizeof *b);
	if (b)
		e->k2 = b;
	int *m = realloc(e->miss, 2 * n * sizeof *m); /* misses, then one size class */
	if (m)
		e->miss = m;
	if (!o || !l || !a || !b || !m)
		return false;
	e->ntiles_cap = n;
	return true;
}

/* Encodes the missed MCUs MISS[0..N), all of CW x CH real pixels, as one
 * image: side by side (full or bottom-edge MCUs) or stacked (right-edge MCUs,
 * VERTICAL), so that libjpeg pads each exactly as in the whole frame (edge
 * replication, dummy blocks). Appends their segments to e->segs. */
static int encode_group(struct tile_enc *e, const uint8_t *rgb, size_t stride, int q, int tiles_x,
			const int *miss, size_t n, int cw, int ch, bool vertical)
{
	int iw = vertical ? cw : (int)(n - 1) * MCU + cw;
	int ih = vertical ? (int)(n - 1) * MCU + ch : ch;
	size_t sstride = (size_t)iw * 3;
	for (size_t i = 0; i < n; i++) {
		int x0 = miss[i] % tiles_x * MCU, y0 = miss[i] / tiles_x * MCU;
		uint8_t *d = e->strip + (vertical ? i * MCU * sstride : i * MCU * 3);
		for (int y = 0; y < ch; y++)
			memcpy(d + (size_t)y * sstride, rgb + (size_t)(y0 + y) * stride + (size_t)x0 * 3,
			       (size_t)cw * 3);
	}
	if (encode_plain(&e->ci, &e->je, &e->jd, e->strip, iw, ih, sstride, q) < 0)
		return -1;
	const uint8_t *p = (const uint8_t *)e->jpeg.data;
	size_t len = e->jpeg.len, pos = scan_start(p, len);
	if (!pos)
		return -1;
	for (size_t i = 0; i < n; i++) {
		size_t start = pos;
		/* up to the next RSTn (0xFFD0..D7) or EOI; 0xFF00 is a stuffed byte */
		while (pos + 1 < len && !(p[pos] == 0xff && p[pos + 1] != 0x00))
			pos++;
		if (pos + 1 >= len)
			return -1;
		int idx = miss[i];
		e->seg_off[idx] = (uint32_t)e->segs.len;
		e->seg_len[idx] = (uint32_t)(pos - start);
		if (buf_append(&e->segs, p + start, pos - start) < 0)
			return -1;
		pos += 2;
	}
	return 0;
}

/* Encodes every missed MCU, grouped by size class, MAX_STRIP at a time. */
static int encode_misses(struct tile_enc *e, const uint8_t *rgb, int w, int h, size_t stride,
			 int q, int tiles_x, size_t nmiss)
{
	int rw = w % MCU, rh = h % MCU; /* partial edge sizes, 0 if none */
	for (int cls = 0; cls < 4; cls++) {
		bool right = cls & 1, bottom = cls & 2;
		if ((right && !rw) || (bottom && !rh))
			continue;
		size_t n = 0;
		int *group = e->miss + nmiss; /* scratch after the miss list */
		for (size_t i = 0; i < nmiss; i++) {
			int t = e->miss[i];
			bool r = rw && t % tiles_x == tiles_x - 1;
			bool b = rh && t / tiles_x == (h + MCU - 1) / MCU - 1;
			if (r == right && b == bottom)
				group[n++] = t;
		}
		int cw = right ? rw : MCU, ch = bottom ? rh : MCU;
		for (size_t i = 0; i < n; i += MAX_STRIP) {
			size_t k = n - i < MAX_STRIP ? n - i : MAX_STRIP;
			if (right && bottom)
				k = 1;
			if (encode_group(e, rgb, stride, q, tiles_x, group + i, k, cw, ch,
					 right) < 0)
				return -1;
			if (right && bottom)
				break;
		}
	}
	return 0;
}

const uint8_t *tile_encode(struct tile_enc *e, const uint8_t *rgb, int w, int h, size_t stride,
			   int quality, size_t *len)
{
	if (w <= 0 || h <= 0 || w > 65500 || h > 65500 || make_header(e, w, h, quality) < 0)
		return NULL;
	int tx = (w + MCU - 1) / MCU, ty = (h + MCU - 1) / MCU;
	size_t nt = (size_t)tx * (size_t)ty;
	if (!grow_tiles(e, nt))
		return NULL;
	for (int y = 0; y < ty; y++)
		for (int x = 0; x < tx; x++)
			hash_tile(rgb, w, h, stride, x, y, &e->k1[y * tx + x], &e->k2[y * tx + x]);
	/* the quality is part of the key */
	uint64_t qk = (uint64_t)quality * 0x9e3779b97f4a7c15ull;
	e->segs.len = 0;
	size_t nmiss = 0;
	struct tile_cache *c = e->cache;
	pthread_rwlock_rdlock(&c->lock);
	for (size_t i = 0; i < nt; i++) {
		const struct entry *en = lookup(c, e->k1[i], e->k2[i] ^ qk);
		if (!en) {
			e->miss[nmiss++] = (int)i;
			continue;
		}
		e->seg_off[i] = (uint32_t)e->segs.len;
		e->seg_len[i] = en->len;
		if (buf_append(&e->segs, c->arena.data + en->off, en->len) < 0) {
			pthread_rwlock_unlock(&c->lock);
			return NULL;
		}
	}
	pthread_rwlock_unlock(&c->lock);
	if (nmiss && encode_misses(e, rgb, w, h, stride, quality, tx, nmiss) < 0)
		return NULL;
	if (nmiss) {
		pthread_rwlock_wrlock(&c->lock);
		for (size_t i = 0; i < nmiss; i++) {
			int t = e->miss[i];
			insert(c, e->k1[t], e->k2[t] ^ qk, (const uint8_t *)e->segs.data + e->seg_off[t],
			       e->seg_len[t]);
		}
		c->misses += nmiss;
		c->hits += nt - nmiss;
		pthread_rwlock_unlock(&c->lock);
	} else {
		__atomic_fetch_add(&c->hits, nt, __ATOMIC_RELAXED);
	}
	/* header, segments with RST0..7 between them, EOI */
	e->out.len = 0;
	if (buf_reserve(&e->out, e->header.len + e->segs.len + nt * 2) < 0)
		return NULL;
	uint8_t *o = (uint8_t *)e->out.data;
	const uint8_t *segs = (const uint8_t *)e->segs.data;
	memcpy(o, e->header.data, e->header.len);
	o += e->header.len;
	for (size_t i = 0; i < nt; i++) {
		memcpy(o, segs + e->seg_off[i], e->seg_len[i]);
		o += e->seg_len[i];
		*o++ = 0xff;
		*o++ = (uint8_t)(i + 1 < nt ? 0xd0 + (i & 7) : 0xd9);
	}
	e->out.len = (size_t)(o - (uint8_t *)e->out.data);
	*len = e->out.len;
	return (const uint8_t *)e->out.data;
}

uint8_t *tile_encode_reference(const uint8_t *rgb, int w, int h, size_t stride, int quality,
			       size_t *len)
{
	struct jpeg_compress_struct ci;
	struct jerr je;
	struct buf out = {0};
	struct jdest jd = {.mgr = {.init_destination = dest_init,
				   .empty_output_buffer = dest_empty,
				   .term_destination = dest_term},
			   .out = &out};
	ci.err = jpeg_std_error(&je.mgr);
	je.mgr.error_exit = on_error;
	je.mgr.output_message = on_message;
	if (setjmp(je.jb)) {
		buf_free(&out);
		return NULL;
	}
	jpeg_create_compress(&ci);
	int rc = encode_plain(&ci, &je, &jd, rgb, w, h, stride, quality);
	jpeg_destroy_compress(&ci);
	if (rc < 0) {
		buf_free(&out);
		return NULL;
	}
	*len = out.len;
	return (uint8_t *)out.data;
}
