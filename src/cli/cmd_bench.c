/* hippo bench KIND ...: benchmarks, one kind per entry of the table below
 * (see src/bench/bench.h). Each kind parses its own arguments. */
#include <stdio.h>
#include <string.h>

#include "bench/bench.h"
#include "cli/commands.h"

static const struct bench_kind *const kinds[] = {
	&bench_env,
	&bench_external,
	&bench_trial,
	&bench_next,
	&bench_admin,
	&bench_place,
};

#define NKINDS (sizeof kinds / sizeof kinds[0])

static const struct opt_cmd spec = {
	.name = "bench",
	.args = "KIND [ARGS...]",
	.summary = "run a benchmark (hippo bench KIND --help for its options)",
	.min_pos = 1,
	.max_pos = -1,
	.opts = NULL,
};

static void list(FILE *f)
{
	fprintf(f, "usage: hippo bench KIND [ARGS...]\n\n%s\n\nkinds:\n", spec.summary);
	for (size_t i = 0; i < NKINDS; i++)
		fprintf(f, "  %-10s %s\n", kinds[i]->name, kinds[i]->summary);
}

static int run(int argc, char **argv)
{
	if (argc < 2) {
		list(stderr);
		return 2;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		list(stdout);
		return 0;
	}
	for (size_t i = 0; i < NKINDS; i++)
		if (strcmp(kinds[i]->name, argv[1]) == 0)
			return kinds[i]->run(argc - 1, argv + 1);
	fprintf(stderr, "hippo bench: unknown %s '%s'\n", argv[1][0] == '-' ? "option" : "kind",
		argv[1]);
	list(stderr);
	return 2;
}

static void help(FILE *f)
{
	list(f);
}

const struct command cmd_bench = {.spec = &spec, .run = run, .help = help};
