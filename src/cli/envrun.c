/* envrun: shared set-up of the environment commands (see envrun.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/envrun.h"
#include "core/buf.h"

int envrun_read_file(const char *path, size_t max, char **buf, size_t *len, char *err,
		     size_t errlen)
{
	*buf = NULL;
	FILE *f = fopen(path, "rb");
	if (!f) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	struct buf b;
	buf_init(&b, max); /* the contents and their NUL: fewer than MAX bytes of file */
	char chunk[4096];
	size_t got;
	int rc = -1;
	while ((got = fread(chunk, 1, sizeof chunk, f)) > 0)
		if (buf_append(&b, chunk, got) < 0 || b.len >= max) {
			if (b.len + got >= max)
				snprintf(err, errlen, "%s: larger than %zu bytes", path, max);
			else
				snprintf(err, errlen, "%s: out of memory", path);
			goto out;
		}
	if (ferror(f)) {
		snprintf(err, errlen, "%s: read error", path);
		goto out;
	}
	if (!(*buf = buf_detach(&b, len))) {
		snprintf(err, errlen, "%s: out of memory", path);
		goto out;
	}
	rc = 0;
out:
	buf_free(&b);
	fclose(f);
	return rc;
}

static int parse_seed(const char *s, uint64_t *out)
{
	if (!s || !*s || *s == '-' || *s == '+')
		return -1;
	char *end;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (*end || errno)
		return -1;
	*out = v;
	return 0;
}

int envrun_open(struct envrun *r, const char *cmd, const char *id, const char *options,
		const char *seed, const char *actions_path)
{
	char err[512];
	memset(r, 0, sizeof *r);
	if (seed) {
		if (parse_seed(seed, &r->seed) != 0) {
			fprintf(stderr, "hippo %s: --seed: '%s' is not a non-negative integer below 2^64\n",
				cmd, seed);
			return -1;
		}
		r->has_seed = true;
	}
	if (env_open(&r->env, id, options, err, sizeof err) != 0) {
		fprintf(stderr, "hippo %s: %s\n", cmd, err);
		return -1;
	}
	if (actions_path) {
		char *text;
		size_t len;
		if (envrun_read_file(actions_path, ENVRUN_FILE_MAX, &text, &len, err, sizeof err) != 0) {
			fprintf(stderr, "hippo %s: %s\n", cmd, err);
			env_close(&r->env);
			return -1;
		}
		int rc = env_actions_parse(text, len, &r->env.info->action_space, &r->actions, err,
					   sizeof err);
		free(text);
		if (rc != 0) {
			fprintf(stderr, "hippo %s: %s:%s\n", cmd, actions_path,
				err + (strncmp(err, "line ", 5) == 0 ? 5 : 0));
			env_close(&r->env);
			return -1;
		}
		r->has_actions = true;
		r->actions_path = actions_path;
	}
	return 0;
}

void envrun_close(struct envrun *r)
{
	env_actions_free(&r->actions);
	env_close(&r->env);
}

void envrun_action(const struct envrun *r, size_t k, double *out)
{
	const struct hippo_space *s = &r->env.info->action_space;
	size_t dim = hippo_space_size(s);
	if (r->has_actions && k < r->actions.n) {
		memcpy(out, r->actions.v + k * dim, dim * sizeof *out);
		return;
	}
	for (size_t i = 0; i < dim; i++)
		out[i] = s->kind == HIPPO_SPACE_DISCRETE ? (double)s->start : 0.0;
}

void envrun_where(const struct envrun *r, size_t k, char *out, size_t outlen)
{
	if (r->has_actions && k < r->actions.n)
		snprintf(out, outlen, "%s:%zu", r->actions_path, r->actions.line[k]);
	else
		snprintf(out, outlen, "step %zu", k + 1);
}
