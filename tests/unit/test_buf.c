/* core/buf: appends grow the buffer, the maximum holds (all or nothing),
 * printf of long strings, detach and reset, the array growth rule. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "test.h"

static void appends_grow_and_keep_bytes(void)
{
	struct buf b = {0};
	for (int i = 0; i < 1000; i++)
		CHECK_INT(buf_putc(&b, (char)('a' + i % 26)), 0);
	CHECK_INT(b.len, 1000);
	CHECK(b.cap >= 1000);
	CHECK(b.data[0] == 'a' && b.data[25] == 'z' && b.data[999] == (char)('a' + 999 % 26));
	CHECK_INT(buf_append(&b, "\0x", 2), 0);
	CHECK_INT(b.len, 1002);
	CHECK(b.data[1000] == '\0' && b.data[1001] == 'x');
	buf_free(&b);
	CHECK(b.data == NULL && b.len == 0);
}

static void maximum_is_all_or_nothing(void)
{
	struct buf b;
	buf_init(&b, 10);
	CHECK_INT(buf_puts(&b, "12345678"), 0);
	CHECK_INT(buf_puts(&b, "abc"), -1); /* would pass 10 */
	CHECK_INT(b.len, 8);
	CHECK_INT(buf_puts(&b, "ab"), 0);
	CHECK_INT(b.len, 10);
	CHECK(b.cap <= 10);
	CHECK(buf_cstr(&b) == NULL); /* no room for the NUL */
	CHECK_INT(buf_printf(&b, "%d", 1), -1);
	buf_reset(&b);
	CHECK_INT(b.len, 0);
	CHECK_STR(buf_cstr(&b), "");
	buf_free(&b);
}

static void printf_short_and_long(void)
{
	struct buf b = {0};
	CHECK_INT(buf_printf(&b, "%s=%d;", "a", 1), 0);
	char big[1000];
	memset(big, 'q', sizeof big - 1);
	big[sizeof big - 1] = '\0';
	CHECK_INT(buf_printf(&b, "[%s]", big), 0);
	CHECK_INT(b.len, 4 + 1 + 999 + 1);
	const char *s = buf_cstr(&b);
	CHECK(s && strncmp(s, "a=1;[qqq", 8) == 0 && s[b.len - 1] == ']' && s[b.len] == '\0');
	size_t n = 0;
	char *d = buf_detach(&b, &n);
	CHECK_INT(n, 1005);
	CHECK(d && d[1004] == ']' && d[1005] == '\0');
	CHECK(b.data == NULL && b.len == 0 && b.cap == 0);
	free(d);
	buf_free(&b);
}

static void arrays_double_from_first_within_max(void)
{
	int *a = NULL;
	size_t cap = 0;
	CHECK_INT(buf_grow_array((void **)&a, &cap, 1, sizeof *a, 8, 0), 0);
	CHECK_INT(cap, 8);
	CHECK_INT(buf_grow_array((void **)&a, &cap, 9, sizeof *a, 8, 0), 0);
	CHECK_INT(cap, 16);
	CHECK_INT(buf_grow_array((void **)&a, &cap, 40, sizeof *a, 8, 0), 0);
	CHECK_INT(cap, 64);
	for (int i = 0; i < 40; i++)
		a[i] = i;
	CHECK_INT(buf_grow_array((void **)&a, &cap, 70, sizeof *a, 8, 100), 0);
	CHECK_INT(cap, 100); /* doubling stops at the maximum */
	CHECK_INT(a[39], 39);
	CHECK_INT(buf_grow_array((void **)&a, &cap, 101, sizeof *a, 8, 100), -1);
	CHECK_INT(cap, 100);
	CHECK_INT(buf_grow_array((void **)&a, &cap, SIZE_MAX / 2, sizeof *a, 8, 0), -1);
	CHECK_INT(cap, 100);
	free(a);
}

int main(void)
{
	RUN(appends_grow_and_keep_bytes);
	RUN(maximum_is_all_or_nothing);
	RUN(printf_short_and_long);
	RUN(arrays_double_from_first_within_max);
	return test_summary();
}
