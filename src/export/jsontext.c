/* export: values as compact JSON text (see export_int.h). */
#include <stdlib.h>
#include <string.h>

#include "export/export_int.h"

void exp__fmt_real(double v, char *out, size_t cap)
{
	for (int p = 15; p <= 17; p++) {
		snprintf(out, cap, "%.*g", p, v);
		if (strtod(out, NULL) == v)
			return;
	}
}

int exp__json_str(struct buf *b, const char *s, size_t n)
{
	static const char hexd[] = "0123456789abcdef";
	int rc = buf_reserve(b, n + 2) | buf_putc(b, '"');
	size_t run = 0;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c >= 0x20 && c != '"' && c != '\\' && c != 0x7f)
			continue;
		rc |= buf_append(b, s + run, i - run);
		run = i + 1;
		char e[8] = {'\\', (char)c, 0};
		if (c == '\n')
			e[1] = 'n';
		else if (c == '\r')
			e[1] = 'r';
		else if (c == '\t')
			e[1] = 't';
		else if (c != '"' && c != '\\')
			snprintf(e, sizeof e, "\\u00%c%c", hexd[c >> 4], hexd[c & 15]);
		rc |= buf_puts(b, e);
	}
	rc |= buf_append(b, s + run, n - run);
	rc |= buf_putc(b, '"');
	return rc ? -1 : 0;
}

static int value(struct buf *b, json_t *v, int depth)
{
	char num[64];
	size_t i;
	const char *k;
	json_t *e;
	int rc = 0;
	if (depth > 4096)
		return buf_puts(b, "null");
	switch (json_typeof(v)) {
	case JSON_OBJECT:
		rc |= buf_putc(b, '{');
		i = 0;
		json_object_foreach(v, k, e) {
			if (i++)
				rc |= buf_putc(b, ',');
			rc |= exp__json_str(b, k, strlen(k));
			rc |= buf_putc(b, ':');
			rc |= value(b, e, depth + 1);
		}
		return rc | buf_putc(b, '}');
	case JSON_ARRAY:
		rc |= buf_putc(b, '[');
		json_array_foreach(v, i, e) {
			if (i)
				rc |= buf_putc(b, ',');
			rc |= value(b, e, depth + 1);
		}
		return rc | buf_putc(b, ']');
	case JSON_STRING:
		return exp__json_str(b, json_string_value(v), json_string_length(v));
	case JSON_INTEGER:
		snprintf(num, sizeof num, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
		return buf_puts(b, num);
	case JSON_REAL:
		exp__fmt_real(json_real_value(v), num, sizeof num);
		return buf_puts(b, num);
	case JSON_TRUE:
		return buf_puts(b, "true");
	case JSON_FALSE:
		return buf_puts(b, "false");
	default:
		return buf_puts(b, "null");
	}
}

int exp__json_value(struct buf *b, json_t *v)
{
	return value(b, v, 0) ? -1 : 0;
}
