/* actions: parser for action files (see actions.h). */
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "env/actions.h"

#define TOKEN_MAX 64

static int is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r';
}

/* Copies the next whitespace-separated token of LINE[*pos..len) into TOK.
 * Returns its length, 0 at the end, -1 if it is longer than TOKEN_MAX - 1. */
static int next_token(const char *line, size_t len, size_t *pos, char tok[TOKEN_MAX])
{
	size_t p = *pos;
	while (p < len && is_space(line[p]))
		p++;
	size_t start = p;
	while (p < len && !is_space(line[p]))
		p++;
	*pos = p;
	size_t n = p - start;
	if (n >= TOKEN_MAX)
		return -1;
	memcpy(tok, line + start, n);
	tok[n] = '\0';
	return (int)n;
}

int env_actions_parse_line(const char *line, size_t len, const struct hippo_space *space,
			   double *out, char *err, size_t errlen)
{
	char tok[TOKEN_MAX];
	size_t pos = 0;
	size_t want = hippo_space_size(space);
	for (size_t i = 0; i < want; i++) {
		int n = next_token(line, len, &pos, tok);
		if (n < 0) {
			snprintf(err, errlen, "value %zu is too long", i + 1);
			return -1;
		}
		if (n == 0) {
			snprintf(err, errlen, "expected %zu value%s, got %zu", want, want == 1 ? "" : "s", i);
			return -1;
		}
		char *end;
		errno = 0;
		if (space->kind == HIPPO_SPACE_DISCRETE) {
			long long v = strtoll(tok, &end, 10);
			if (*end || errno) {
				snprintf(err, errlen, "'%s' is not an integer", tok);
				return -1;
			}
			if (v < space->start ||
			    (uint64_t)v - (uint64_t)space->start >= (uint64_t)space->n) {
				snprintf(err, errlen, "action %lld out of range: expected an integer in [%lld, %lld]",
					 v, (long long)space->start, (long long)(space->start + space->n - 1));
				return -1;
			}
			out[i] = (double)v;
		} else {
			double v = strtod(tok, &end);
			if (*end || end == tok) {
				snprintf(err, errlen, "'%s' is not a number", tok);
				return -1;
			}
			if (!isfinite(v)) {
				snprintf(err, errlen, "'%s' is not a finite number (NaN and infinities are rejected)",
					 tok);
				return -1;
			}
			out[i] = v;
		}
	}
	if (next_token(line, len, &pos, tok) != 0) {
		snprintf(err, errlen, "expected %zu value%s, got more", want, want == 1 ? "" : "s");
		return -1;
	}
	return 0;
}

static int grow(struct env_actions *a, size_t *cap)
{
	/* two arrays of the same length: each grows by the same rule from *CAP */
	size_t vcap = *cap, lcap = *cap;
	if (buf_grow_array((void **)&a->v, &vcap, *cap + 1, a->dim * sizeof *a->v, 64, 0) < 0 ||
	    buf_grow_array((void **)&a->line, &lcap, *cap + 1, sizeof *a->line, 64, 0) < 0)
		return -1;
	*cap = vcap;
	return 0;
}

int env_actions_parse(const char *text, size_t len, const struct hippo_space *space,
		      struct env_actions *out, char *err, size_t errlen)
{
	memset(out, 0, sizeof *out);
	out->dim = hippo_space_size(space);
	if (out->dim == 0 || out->dim > 4096) {
		snprintf(err, errlen, "unsupported action space");
		return -1;
	}
	size_t cap = 0, lineno = 0, p = 0;
	char msg[200];
	while (p < len) {
		const char *nl = memchr(text + p, '\n', len - p);
		size_t end = nl ? (size_t)(nl - text) : len;
		const char *line = text + p;
		size_t n = end - p;
		p = nl ? end + 1 : len;
		lineno++;
		size_t i = 0;
		while (i < n && is_space(line[i]))
			i++;
		if (i == n || line[i] == '#')
			continue;
		if (out->n >= ENV_ACTIONS_MAX) {
			snprintf(err, errlen, "line %zu: more than %d actions", lineno, ENV_ACTIONS_MAX);
			goto fail;
		}
		if (out->n == cap && grow(out, &cap) != 0) {
			snprintf(err, errlen, "line %zu: out of memory", lineno);
			goto fail;
		}
		if (memchr(line, '\0', n)) {
			snprintf(err, errlen, "line %zu: NUL byte", lineno);
			goto fail;
		}
		if (env_actions_parse_line(line, n, space, out->v + out->n * out->dim, msg,
					   sizeof msg) != 0) {
			snprintf(err, errlen, "line %zu: %s", lineno, msg);
			goto fail;
		}
		out->line[out->n] = lineno;
		out->n++;
	}
	return 0;
fail:
	env_actions_free(out);
	return -1;
}

void env_actions_free(struct env_actions *a)
{
	free(a->v);
	free(a->line);
	a->v = NULL;
	a->line = NULL;
	a->n = 0;
}
