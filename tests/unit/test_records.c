/* Unit tests for the record reader (export/records.h): lines up to the limit
 * are read whatever the buffer's growth, longer ones are skipped and counted,
 * and the reader goes on after them. */
#include <stdlib.h>
#include <string.h>

#include "export/records.h"
#include "test.h"

/* A record line {"k":"xxx..."} of exactly LEN bytes (LEN >= 8). */
static char *record_line(size_t len)
{
	char *s = malloc(len + 1);
	if (!s)
		return NULL;
	memcpy(s, "{\"k\":\"", 6);
	memset(s + 6, 'x', len - 8);
	memcpy(s + len - 2, "\"}", 2);
	s[len] = '\0';
	return s;
}

/* Reads TEXT with MAX_LINE: the number of records, and *BAD lines skipped. */
static int read_all(const char *text, size_t max_line, unsigned long long *bad, size_t *klen)
{
	FILE *f = fmemopen((void *)text, strlen(text), "r");
	if (!f)
		return -1;
	struct rr r;
	rr_init(&r, f, max_line);
	int n = 0, rc;
	char err[128];
	json_t *j;
	*klen = 0;
	while ((rc = rr_next(&r, &j, err, sizeof err)) != 0) {
		if (rc == -2)
			break;
		if (rc == 1) {
			n++;
			*klen += strlen(json_string_value(json_object_get(j, "k")));
			json_decref(j);
		}
	}
	*bad = r.bad;
	rr_free(&r);
	fclose(f);
	return rc == -2 ? -1 : n;
}

static void lines_at_the_limit_are_read(void)
{
	/* around the first buffer (4096 bytes) and its doublings, with the
	 * limit at, under and over the line's length */
	size_t lens[] = {8, 4093, 4094, 4095, 4096, 4097, 8190, 8191, 8192, 20000};
	for (size_t i = 0; i < sizeof lens / sizeof *lens; i++) {
		char *line = record_line(lens[i]);
		CHECK(line != NULL);
		if (!line)
			return;
		size_t tlen = 2 * lens[i] + 8;
		char *text = malloc(tlen);
		CHECK(text != NULL);
		if (!text) {
			free(line);
			return;
		}
		snprintf(text, tlen, "%s\n%s", line, line); /* the last one without '\n' */
		unsigned long long bad;
		size_t klen;
		CHECK_INT(read_all(text, lens[i], &bad, &klen), 2);
		CHECK_INT(bad, 0);
		CHECK_INT(klen, 2 * (lens[i] - 8));
		CHECK_INT(read_all(text, lens[i] - 1, &bad, &klen), 0);
		CHECK_INT(bad, 2);
		CHECK_INT(read_all(text, lens[i] + 1, &bad, &klen), 2);
		CHECK_INT(bad, 0);
		free(text);
		free(line);
	}
}

static void a_long_line_is_skipped_and_reading_goes_on(void)
{
	char *big = record_line(50000);
	CHECK(big != NULL);
	if (!big)
		return;
	size_t tlen = 50000 + 64;
	char *text = malloc(tlen);
	CHECK(text != NULL);
	if (!text) {
		free(big);
		return;
	}
	/* a CRLF line, a blank one; the last line has no '\n' (a file cut short) */
	snprintf(text, tlen, "{\"k\":\"a\"}\r\n\n%s\n  \n{\"k\":\"bc\"}", big);
	unsigned long long bad;
	size_t klen;
	CHECK_INT(read_all(text, 1000, &bad, &klen), 2);
	CHECK_INT(bad, 1);
	CHECK_INT(klen, 3);
	CHECK_INT(read_all(text, 0, &bad, &klen), 3); /* the default limit: 16 MiB */
	CHECK_INT(bad, 0);
	free(text);
	free(big);
}

int main(void)
{
	RUN(lines_at_the_limit_are_read);
	RUN(a_long_line_is_skipped_and_reading_goes_on);
	return test_summary();
}
