/* config diagnostics: the problems of one load, each with the position of
 * the key or value it is about, reported in file order. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/config_int.h"

static void diag_vadd(struct cfg_diags *d, enum cfg_severity sev, int line, int col,
		      const char *path, const char *fmt, va_list ap)
{
	if (sev == CFG_ERROR)
		d->nerrors++;
	else
		d->nwarnings++;
	if (d->n >= CFG_DIAGS_MAX) {
		d->ndropped++;
		return;
	}
	if (buf_grow_array((void **)&d->items, &d->cap, d->n + 1, sizeof *d->items, 16, 0) < 0) {
		d->ndropped++;
		return;
	}
	char msg[512];
	vsnprintf(msg, sizeof msg, fmt, ap);
	struct cfg_diag *g = &d->items[d->n];
	g->severity = sev;
	g->line = line;
	g->col = col;
	g->path = strdup(path ? path : "");
	g->message = strdup(msg);
	if (!g->path || !g->message) {
		free(g->path);
		free(g->message);
		d->ndropped++;
		return;
	}
	d->n++;
}

void cfg__diag(struct cfg_diags *d, enum cfg_severity sev, int line, int col, const char *path,
	       const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	diag_vadd(d, sev, line, col, path, fmt, ap);
	va_end(ap);
}

/* Problems are reported in file order (file-level ones first); the walk
 * finds them roughly in that order already, so an insertion sort is cheap. */
void cfg__diags_sort(struct cfg_diags *d, size_t from)
{
	for (size_t i = from + 1; i < d->n; i++) {
		struct cfg_diag x = d->items[i];
		size_t j = i;
		while (j > from &&
		       (d->items[j - 1].line > x.line ||
			(d->items[j - 1].line == x.line && d->items[j - 1].col > x.col))) {
			d->items[j] = d->items[j - 1];
			j--;
		}
		d->items[j] = x;
	}
}

void cfg_diags_print(const struct cfg_diags *d, const char *file_label, FILE *f)
{
	const char *label = file_label ? file_label : "config.yml";
	for (size_t i = 0; i < d->n; i++) {
		const struct cfg_diag *g = &d->items[i];
		const char *sev = g->severity == CFG_ERROR ? "error" : "warning";
		if (g->line > 0)
			fprintf(f, "%s: %s:%d:%d: ", sev, label, g->line, g->col);
		else
			fprintf(f, "%s: %s: ", sev, label);
		if (g->path[0])
			fprintf(f, "%s: ", g->path);
		fprintf(f, "%s\n", g->message);
	}
	if (d->ndropped)
		fprintf(f, "%s: %zu more problems not shown\n", label, d->ndropped);
}

void cfg_diags_free(struct cfg_diags *d)
{
	for (size_t i = 0; i < d->n; i++) {
		free(d->items[i].path);
		free(d->items[i].message);
	}
	free(d->items);
	memset(d, 0, sizeof *d);
}

const char *cfg__clean(const char *s, size_t len, char *out, size_t cap)
{
	size_t n = 0, max = cap > 4 ? cap - 4 : 0;
	size_t i;
	for (i = 0; i < len && n < max; i++) {
		unsigned char ch = (unsigned char)s[i];
		out[n++] = (ch < 0x20 || ch == 0x7f) ? '?' : (char)ch;
	}
	if (i < len && cap >= 4) {
		memcpy(out + n, "...", 3);
		n += 3;
	}
	if (cap)
		out[n < cap ? n : cap - 1] = '\0';
	return out;
}

void cfg__err_at(struct cfg__ld *l, const struct ytree_node *n, const char *path, const char *fmt,
		   ...)
{
	va_list ap;
	va_start(ap, fmt);
	diag_vadd(l->d, CFG_ERROR, n ? n->line : 0, n ? n->col : 0, path, fmt, ap);
	va_end(ap);
}

void cfg__warn_at(struct cfg__ld *l, const struct ytree_node *n, const char *path, const char *fmt,
		    ...)
{
	va_list ap;
	va_start(ap, fmt);
	diag_vadd(l->d, CFG_WARNING, n ? n->line : 0, n ? n->col : 0, path, fmt, ap);
	va_end(ap);
}
