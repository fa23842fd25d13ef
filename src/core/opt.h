/* opt: one table per command is the single source of truth for its options:
 * it parses argv and generates the command's --help. */
#ifndef HIPPO_CORE_OPT_H
#define HIPPO_CORE_OPT_H

#include <stdbool.h>
#include <stdio.h>

enum opt_type {
	OPT_FLAG,   /* bool *, no value */
	OPT_STRING, /* const char **, points into argv */
	OPT_INT,    /* int *, bounded by min/max */
	OPT_DOUBLE, /* double *, bounded by min/max */
};

struct opt {
	const char *name;  /* long name without "--" */
	enum opt_type type;
	void *target;
	const char *arg;   /* placeholder in help, e.g. "PORT" */
	const char *help;  /* one line; the default is appended from the target */
	double min, max;   /* bounds for OPT_INT / OPT_DOUBLE (ignored if min == max) */
};

struct opt_cmd {
	const char *name;      /* "check" */
	const char *args;      /* positional usage, e.g. "PROJECT_DIR" */
	const char *summary;   /* one line */
	int min_pos, max_pos;  /* positional argument count bounds (max -1: unbounded) */
	const struct opt *opts;/* terminated by an entry with name NULL; may be NULL */
	const char *details;   /* more lines for --help after the summary (may be NULL) */
};

/* The non-OK values are the exit codes a command returns: `if (rc != OPT_OK) return rc;`. */
enum { OPT_OK = -1, OPT_EXIT_HELP = 0, OPT_EXIT_USAGE = 2 };

/* Parses ARGV (argv[0] is the command name) against CMD. Options may be given as
 * "--name value" or "--name=value" anywhere; "--" ends options. Positional
 * arguments are moved, in order, to the front of argv starting at argv[1] and
 * their count stored in *NPOS. Returns OPT_OK; OPT_EXIT_HELP (0) after printing
 * help for --help/-h; OPT_EXIT_USAGE (2) after printing a one-line error and the
 * usage to stderr. */
int opt_parse(const struct opt_cmd *cmd, int argc, char **argv, int *npos);

/* Prints "usage: hippo NAME [options] ARGS" and the option list to F. */
void opt_help(const struct opt_cmd *cmd, FILE *f);

#endif
