/* buf: the growable byte buffer and string builder every module uses, and
 * the one rule for growing an array (double, from a first capacity, never
 * past a bound). A buffer has an optional maximum size: growth past it fails
 * like an allocation failure, so a peer cannot make one grow without bound.
 *
 * Functions returning int give 0, or -1 when memory is short or the maximum
 * would be passed; the buffer is then unchanged (an append is all or
 * nothing). A zeroed struct buf is an empty buffer without a maximum. */
#ifndef HIPPO_CORE_BUF_H
#define HIPPO_CORE_BUF_H

#include <stdarg.h>
#include <stddef.h>
#include <string.h>

struct buf {
	char *data;  /* NULL until the first byte; NUL-terminated after buf_cstr */
	size_t len;  /* bytes in use */
	size_t cap;  /* bytes allocated */
	size_t max;  /* most bytes it may hold (len + the NUL of buf_cstr); 0: no bound */
};

/* An empty buffer holding at most MAX bytes (0: no bound). */
void buf_init(struct buf *b, size_t max);
/* Makes room for EXTRA more bytes (doubling, at least 64). */
int buf_reserve(struct buf *b, size_t extra);
int buf__append_grow(struct buf *b, const void *p, size_t n);
/* Appends N bytes (inline while they fit: the frame encoders append every MCU). */
static inline int buf_append(struct buf *b, const void *p, size_t n)
{
	if (n <= b->cap - b->len) {
		if (n)
			memcpy(b->data + b->len, p, n);
		b->len += n;
		return 0;
	}
	return buf__append_grow(b, p, n);
}
int buf_puts(struct buf *b, const char *s);
int buf_putc(struct buf *b, char c);
int buf_printf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int buf_vprintf(struct buf *b, const char *fmt, va_list ap);
/* The contents as a NUL-terminated string (the NUL is not counted in len),
 * or NULL when it cannot be terminated (memory, maximum). */
char *buf_cstr(struct buf *b);
/* Hands the memory to the caller (free() it; NUL-terminated, length in *LEN
 * when LEN is not NULL) and leaves B empty; NULL when B is empty and cannot
 * be terminated. */
char *buf_detach(struct buf *b, size_t *len);
/* Empties B, keeping its memory for reuse. */
void buf_reset(struct buf *b);
void buf_free(struct buf *b);

/* Grows the array *ARR of *CAP elements of ELEM bytes so that it holds at
 * least NEED: the capacity doubles from FIRST (at least NEED), capped at MAX
 * elements (0: no bound). New elements are not initialised. Returns 0, or -1
 * (array unchanged) when NEED > MAX or memory is short. */
int buf_grow_array(void **arr, size_t *cap, size_t need, size_t elem, size_t first, size_t max);

#endif
