/* export: one output table, CSV or JSON Lines (see export_int.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "export/export_int.h"

/* True when S (N bytes) is a plain decimal number: [+-]?digits[.digits][e[+-]digits]
 * (also "1." and ".5"). */
static bool plain_number(const char *s, size_t n)
{
	size_t i = 0, digits = 0;
	if (i < n && (s[i] == '+' || s[i] == '-'))
		i++;
	for (; i < n && s[i] >= '0' && s[i] <= '9'; i++)
		digits++;
	if (i < n && s[i] == '.')
		for (i++; i < n && s[i] >= '0' && s[i] <= '9'; i++)
			digits++;
	if (digits == 0)
		return false;
	if (i < n && (s[i] == 'e' || s[i] == 'E')) {
		i++;
		if (i < n && (s[i] == '+' || s[i] == '-'))
			i++;
		size_t exp = 0;
		for (; i < n && s[i] >= '0' && s[i] <= '9'; i++)
			exp++;
		if (exp == 0)
			return false;
	}
	return i == n;
}

/* OWASP's rule against formula injection: spreadsheets read a cell that
 * starts with = + - @ TAB or CR as a formula, so such a cell gets a leading '
 * (shown as text, the quote hidden). A plain number ("-3", "+1.5") runs
 * nothing and stays as it is, so numeric answers remain numbers. */
static bool formula_like(const char *s, size_t n)
{
	return n > 0 && strchr("=+-@\t\r", s[0]) && s[0] != '\0' && !plain_number(s, n);
}

static void csv_field(FILE *f, const char *s, size_t n)
{
	/* RFC 4180: "Fields containing line breaks (CRLF), double quotes, and
	 * commas should be enclosed in double-quotes" and "a double-quote
	 * appearing inside a field must be escaped by preceding it with another
	 * double quote". */
	bool quote = false;
	bool formula = formula_like(s, n);
	for (size_t i = 0; i < n && !quote; i++)
		quote = s[i] == ',' || s[i] == '"' || s[i] == '\r' || s[i] == '\n';
	if (!quote) {
		if (formula)
			fputc('\'', f);
		fwrite(s, 1, n, f);
		return;
	}
	fputc('"', f);
	if (formula)
		fputc('\'', f);
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '"')
			fputc('"', f);
		fputc(s[i], f);
	}
	fputc('"', f);
}

/* S (N bytes) as a JSON string on T's file. */
static void json_str(struct exp__table *t, const char *s, size_t n)
{
	buf_reset(&t->scratch);
	if (exp__json_str(&t->scratch, s, n) == 0)
		fwrite(t->scratch.data, 1, t->scratch.len, t->f);
	else
		fputs("null", t->f);
}

static void key(struct exp__table *t, const char *name)
{
	if (t->col++ > 0)
		fputc(',', t->f);
	if (!t->csv) {
		json_str(t, name, strlen(name));
		fputc(':', t->f);
	}
}

void exp__row_begin(struct exp__table *t)
{
	t->col = 0;
	if (!t->csv)
		fputc('{', t->f);
}

void exp__row_end(struct exp__table *t)
{
	fputs(t->csv ? "\r\n" : "}\n", t->f);
}

void exp__cell_text(struct exp__table *t, const char *name, const char *s, size_t n)
{
	key(t, name);
	if (!s) {
		if (!t->csv)
			fputs("null", t->f);
	} else if (t->csv) {
		csv_field(t->f, s, n);
	} else {
		json_str(t, s, n);
	}
}

void exp__cell_raw(struct exp__table *t, const char *name, const char *text)
{
	key(t, name);
	if (text)
		fputs(text, t->f);
	else if (!t->csv)
		fputs("null", t->f);
}

static void cell_int(struct exp__table *t, const char *name, long long v)
{
	char b[32];
	snprintf(b, sizeof b, "%lld", v);
	exp__cell_raw(t, name, b);
}

void exp__cell_value(struct exp__table *t, const char *name, json_t *v)
{
	char b[64];
	switch (v ? json_typeof(v) : JSON_NULL) {
	case JSON_INTEGER:
		cell_int(t, name, (long long)json_integer_value(v));
		return;
	case JSON_REAL:
		exp__fmt_real(json_real_value(v), b, sizeof b);
		exp__cell_raw(t, name, b);
		return;
	case JSON_TRUE:
		exp__cell_raw(t, name, "true");
		return;
	case JSON_FALSE:
		exp__cell_raw(t, name, "false");
		return;
	case JSON_STRING:
		exp__cell_text(t, name, json_string_value(v), json_string_length(v));
		return;
	case JSON_NULL:
		exp__cell_raw(t, name, NULL);
		return;
	default:
		break;
	}
	key(t, name); /* before the value: it uses the scratch buffer too */
	buf_reset(&t->scratch);
	bool ok = exp__json_value(&t->scratch, v) == 0 && t->scratch.len > 0;
	if (!ok)
		fputs(t->csv ? "" : "null", t->f);
	else if (t->csv)
		csv_field(t->f, t->scratch.data, t->scratch.len);
	else
		fwrite(t->scratch.data, 1, t->scratch.len, t->f);
}

void exp__row_cells(struct exp__table *t, const struct exp__col *cols, size_t n, const void *row)
{
	const char *base = row;
	for (size_t i = 0; i < n; i++) {
		const struct exp__col *c = &cols[i];
		const void *p = base + c->off;
		const char *s;
		switch (c->kind) {
		case EXP__TEXT:
			s = *(const char *const *)p;
			exp__cell_text(t, c->name, s, s ? strlen(s) : 0);
			break;
		case EXP__BYTES:
			exp__cell_text(t, c->name, *(const char *const *)p,
				       *(const size_t *)(const void *)(base + c->len_off));
			break;
		case EXP__INT:
			cell_int(t, c->name, *(const long long *)p);
			break;
		case EXP__BOOL:
			exp__cell_raw(t, c->name, *(const bool *)p ? "true" : "false");
			break;
		case EXP__NUMBER:
			exp__cell_raw(t, c->name, *(const char *const *)p);
			break;
		case EXP__MEMBER:
			exp__cell_value(t, c->name, json_object_get(*(json_t *const *)p, c->key));
			break;
		}
	}
}

void exp__table_header(struct exp__table *t, const struct exp__col *cols, size_t n,
		       int obs_columns)
{
	if (!t->csv)
		return;
	for (size_t i = 0; i < n; i++)
		fprintf(t->f, "%s%s", i ? "," : "", cols[i].name);
	for (int i = 0; i < obs_columns; i++)
		fprintf(t->f, ",obs_%d", i);
	fputs("\r\n", t->f);
}

void exp__table_on(struct exp__table *t, FILE *f, enum exp_format fmt)
{
	memset(t, 0, sizeof *t);
	t->f = f;
	t->csv = fmt == EXP_CSV;
}

int exp__table_open(struct exp__table *t, const char *dir, const char *name, enum exp_format fmt,
		    char *err, size_t errlen)
{
	exp__table_on(t, NULL, fmt);
	const char *ext = t->csv ? "csv" : "jsonl";
	if (asprintf(&t->path, "%s/%s.%s", dir, name, ext) < 0 ||
	    asprintf(&t->tmp_path, "%s/.%s.%s.tmp", dir, name, ext) < 0) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	t->f = fopen(t->tmp_path, "w");
	if (!t->f) {
		snprintf(err, errlen, "cannot create %s: %s", t->tmp_path, strerror(errno));
		return -1;
	}
	t->iobuf = malloc(1 << 20);
	if (t->iobuf)
		setvbuf(t->f, t->iobuf, _IOFBF, 1 << 20);
	return 0;
}

int exp__table_close(struct exp__table *t, bool commit, char *err, size_t errlen)
{
	int rc = 0;
	if (t->f && t->path) {
		if (fflush(t->f) != 0 || ferror(t->f) || fsync(fileno(t->f)) != 0) {
			if (commit)
				snprintf(err, errlen, "cannot write %s: %s", t->tmp_path,
					 strerror(errno));
			rc = -1;
		}
		fclose(t->f);
		if (commit && rc == 0 && rename(t->tmp_path, t->path) != 0) {
			snprintf(err, errlen, "cannot rename %s: %s", t->tmp_path, strerror(errno));
			rc = -1;
		}
		if (!commit || rc != 0)
			unlink(t->tmp_path);
	}
	free(t->iobuf);
	buf_free(&t->scratch);
	free(t->path);
	free(t->tmp_path);
	memset(t, 0, sizeof *t);
	return rc;
}
