/* The subcommands of `hippo`. Each lives in its own src/cli/cmd_*.c and exports
 * one `const struct command`; main.c lists them in its table. */
#ifndef HIPPO_CLI_COMMANDS_H
#define HIPPO_CLI_COMMANDS_H

#include <stdio.h>

#include "core/opt.h"

struct command {
	const struct opt_cmd *spec;         /* name, usage, options: also the --help text */
	int (*run)(int argc, char **argv);  /* argv[0] is the command name; returns the exit code */
	void (*help)(FILE *f);              /* full help when spec's is not all (may be NULL) */
};

extern const struct command cmd_check;
extern const struct command cmd_serve;
extern const struct command cmd_deploy;
extern const struct command cmd_trial;
extern const struct command cmd_envs;
extern const struct command cmd_rollout;
extern const struct command cmd_render;
extern const struct command cmd_bench;
extern const struct command cmd_storage;
extern const struct command cmd_export;
extern const struct command cmd_verify;
extern const struct command cmd_withdraw;

#endif
