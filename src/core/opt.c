#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/opt.h"

static const struct opt *find(const struct opt_cmd *cmd, const char *name, size_t len)
{
	for (const struct opt *o = cmd->opts; o && o->name; o++)
		if (strlen(o->name) == len && strncmp(o->name, name, len) == 0)
			return o;
	return NULL;
}

static void usage_line(const struct opt_cmd *cmd, FILE *f)
{
	fprintf(f, "usage: hippo %s%s%s%s\n", cmd->name, cmd->opts ? " [options]" : "",
		cmd->args ? " " : "", cmd->args ? cmd->args : "");
}

void opt_help(const struct opt_cmd *cmd, FILE *f)
{
	usage_line(cmd, f);
	fprintf(f, "\n%s\n", cmd->summary);
	if (cmd->details)
		fprintf(f, "\n%s\n", cmd->details);
	if (!cmd->opts)
		return;
	fprintf(f, "\noptions:\n");
	for (const struct opt *o = cmd->opts; o->name; o++) {
		char left[64];
		snprintf(left, sizeof left, "--%s%s%s", o->name, o->arg ? " " : "",
			 o->arg ? o->arg : "");
		fprintf(f, "  %-26s %s", left, o->help);
		switch (o->type) {
		case OPT_STRING:
			if (*(const char **)o->target)
				fprintf(f, " (default: %s)", *(const char **)o->target);
			break;
		case OPT_INT:
			fprintf(f, " (default: %d)", *(int *)o->target);
			break;
		case OPT_DOUBLE:
			fprintf(f, " (default: %g)", *(double *)o->target);
			break;
		case OPT_FLAG:
			break;
		}
		fputc('\n', f);
	}
	fprintf(f, "  %-26s %s\n", "--help", "show this help");
}

static int usage_error(const struct opt_cmd *cmd, const char *fmt, const char *a, const char *b)
{
	fprintf(stderr, "hippo %s: ", cmd->name);
	fprintf(stderr, fmt, a, b);
	fputc('\n', stderr);
	usage_line(cmd, stderr);
	fprintf(stderr, "run 'hippo %s --help' for the options\n", cmd->name);
	return OPT_EXIT_USAGE;
}

static int set_value(const struct opt_cmd *cmd, const struct opt *o, const char *v)
{
	char *end;
	bool bounded = o->min != o->max;
	switch (o->type) {
	case OPT_STRING:
		*(const char **)o->target = v;
		return OPT_OK;
	case OPT_INT: {
		errno = 0;
		long x = strtol(v, &end, 10);
		if (errno || end == v || *end || x < -2147483647L || x > 2147483647L ||
		    (bounded && (x < o->min || x > o->max)))
			return usage_error(cmd, "--%s: '%s' is not a whole number in range", o->name, v);
		*(int *)o->target = (int)x;
		return OPT_OK;
	}
	case OPT_DOUBLE: {
		errno = 0;
		double x = strtod(v, &end);
		if (errno || end == v || *end || !isfinite(x) || (bounded && (x < o->min || x > o->max)))
			return usage_error(cmd, "--%s: '%s' is not a number in range", o->name, v);
		*(double *)o->target = x;
		return OPT_OK;
	}
	case OPT_FLAG:
		break;
	}
	return OPT_OK;
}

int opt_parse(const struct opt_cmd *cmd, int argc, char **argv, int *npos)
{
	int pos = 0;
	bool options_done = false;
	for (int i = 1; i < argc; i++) {
		char *a = argv[i];
		if (options_done || a[0] != '-' || a[1] == '\0') {
			argv[1 + pos++] = a;
			continue;
		}
		if (strcmp(a, "--") == 0) {
			options_done = true;
			continue;
		}
		if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
			opt_help(cmd, stdout);
			return OPT_EXIT_HELP;
		}
		if (a[1] != '-')
			return usage_error(cmd, "unknown option '%s'%s", a, "");
		const char *name = a + 2;
		const char *eq = strchr(name, '=');
		size_t len = eq ? (size_t)(eq - name) : strlen(name);
		const struct opt *o = find(cmd, name, len);
		if (!o)
			return usage_error(cmd, "unknown option '%s'%s", a, "");
		if (o->type == OPT_FLAG) {
			if (eq)
				return usage_error(cmd, "option '--%s' takes no value%s", o->name, "");
			*(bool *)o->target = true;
			continue;
		}
		const char *v = eq ? eq + 1 : NULL;
		if (!v) {
			if (i + 1 >= argc)
				return usage_error(cmd, "option '--%s' needs a value (%s)", o->name,
						   o->arg ? o->arg : "VALUE");
			v = argv[++i];
		}
		int rc = set_value(cmd, o, v);
		if (rc != OPT_OK)
			return rc;
	}
	if (pos < cmd->min_pos)
		return usage_error(cmd, "missing argument %s%s", cmd->args ? cmd->args : "", "");
	if (cmd->max_pos >= 0 && pos > cmd->max_pos)
		return usage_error(cmd, "unexpected argument '%s'%s", argv[1 + cmd->max_pos], "");
	*npos = pos;
	return OPT_OK;
}
