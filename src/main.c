/* hippo: the HIPPO Gym platform in one program. main() only dispatches to the
 * subcommands in src/cli/; each parses its own options from its opt table. */
#include <stdio.h>
#include <string.h>

#include "cli/commands.h"

static const struct command *const commands[] = {
	&cmd_check,
	&cmd_serve,
	&cmd_deploy,
	&cmd_trial,
	&cmd_envs,
	&cmd_rollout,
	&cmd_render,
	&cmd_bench,
	&cmd_storage,
	&cmd_export,
	&cmd_verify,
	&cmd_withdraw,
};

#define NCOMMANDS (sizeof commands / sizeof commands[0])

static void usage(FILE *f)
{
	fprintf(f, "usage: hippo <command> [options] [args]\n\n"
		   "HIPPO Gym: human-in-the-loop reinforcement-learning studies on the web.\n\n"
		   "commands:\n");
	for (size_t i = 0; i < NCOMMANDS; i++)
		fprintf(f, "  %-10s %s\n", commands[i]->spec->name, commands[i]->spec->summary);
	fprintf(f, "  %-10s %s\n", "help", "show this help, or a command's help: hippo help CMD");
	fprintf(f, "\nhippo --version prints the version; hippo CMD --help a command's options.\n");
}

static const struct command *find(const char *name)
{
	for (size_t i = 0; i < NCOMMANDS; i++)
		if (strcmp(commands[i]->spec->name, name) == 0)
			return commands[i];
	return NULL;
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	const char *name = argv[1];
	if (strcmp(name, "--version") == 0 || strcmp(name, "version") == 0) {
		printf("hippo %s\n", HIPPO_VERSION);
		return 0;
	}
	if (strcmp(name, "help") == 0 || strcmp(name, "--help") == 0 || strcmp(name, "-h") == 0) {
		if (argc > 2) {
			const struct command *c = find(argv[2]);
			if (!c) {
				fprintf(stderr, "hippo: unknown command '%s'\n", argv[2]);
				usage(stderr);
				return 2;
			}
			if (c->help)
				c->help(stdout);
			else
				opt_help(c->spec, stdout);
			return 0;
		}
		usage(stdout);
		return 0;
	}
	const struct command *c = find(name);
	if (!c) {
		fprintf(stderr, "hippo: unknown %s '%s'\n", name[0] == '-' ? "option" : "command", name);
		usage(stderr);
		return 2;
	}
	return c->run(argc - 1, argv + 1);
}
