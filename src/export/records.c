/* records: see records.h. */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "export/records.h"

void rr_init(struct rr *r, FILE *f, size_t max_line)
{
	memset(r, 0, sizeof *r);
	r->f = f;
	r->max_line = max_line ? max_line : RR_MAX_LINE_DEFAULT;
}

int rr_feedback(json_t *in, json_t **msg)
{
	json_t *m = json_object_get(in, "msg");
	if (!json_is_object(m))
		m = in;
	if (msg)
		*msg = m;
	const char *fb = json_string_value(json_object_get(m, "feedback"));
	if (!fb)
		fb = json_string_value(json_object_get(m, "command"));
	return fb && strcmp(fb, "good") == 0 ? 1 : fb && strcmp(fb, "bad") == 0 ? -1 : 0;
}

void rr_free(struct rr *r)
{
	free(r->buf);
	r->buf = NULL;
	r->cap = 0;
}

/* Reads one line (without its '\n') into r->buf. Returns its length, -1 at
 * the end, -2 on a read error, -3 when longer than max_line (the rest of the
 * line is consumed and dropped). */
static long long read_line(struct rr *r)
{
	size_t len = 0;
	bool too_long = false, any = false;
	for (;;) {
		if (!too_long && r->cap - len < 2) {
			/* a line holds at most max_line bytes, its '\n' and the NUL */
			if (r->cap >= r->max_line + 2)
				too_long = true;
			else if (buf_grow_array((void **)&r->buf, &r->cap, r->cap + 1, 1, 4096,
						r->max_line + 2) != 0)
				return -2;
		}
		char scratch[4096];
		char *dst = too_long ? scratch : r->buf + len;
		size_t room = too_long ? sizeof scratch : r->cap - len;
		if (!fgets(dst, (int)(room > 1 << 30 ? 1 << 30 : room), r->f)) {
			if (ferror(r->f))
				return -2;
			if (!any)
				return -1;
			break; /* last line without '\n' */
		}
		any = true;
		size_t n = strlen(dst);
		r->bytes += n;
		bool eol = n > 0 && dst[n - 1] == '\n';
		if (!too_long)
			len += n;
		if (eol)
			break;
	}
	if (too_long)
		return -3;
	if (len > 0 && r->buf[len - 1] == '\n')
		len--;
	if (len > 0 && r->buf[len - 1] == '\r')
		len--;
	if (len > r->max_line)
		return -3;
	r->buf[len] = '\0';
	return (long long)len;
}

int rr_next(struct rr *r, json_t **out, char *err, size_t errlen)
{
	*out = NULL;
	for (;;) {
		long long n = read_line(r);
		if (n == -1)
			return 0;
		if (n == -2) {
			snprintf(err, errlen, "read error: %s", strerror(errno));
			return -2;
		}
		r->line++;
		if (n == -3) {
			r->bad++;
			snprintf(err, errlen, "line %llu: longer than %zu bytes", r->line, r->max_line);
			return -1;
		}
		size_t i = 0;
		while (i < (size_t)n && (r->buf[i] == ' ' || r->buf[i] == '\t'))
			i++;
		if (i == (size_t)n)
			continue;
		json_error_t je;
		json_t *j = json_loadb(r->buf, (size_t)n, JSON_REJECT_DUPLICATES, &je);
		if (!j || !json_is_object(j)) {
			r->bad++;
			snprintf(err, errlen, "line %llu: %s", r->line,
				 j ? "not a JSON object" : je.text);
			json_decref(j);
			return -1;
		}
		*out = j;
		return 1;
	}
}
