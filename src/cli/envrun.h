/* envrun: what `hippo rollout`, `hippo render` and `hippo bench env` share:
 * opening an environment with a seed and an optional actions file. */
#ifndef HIPPO_CLI_ENVRUN_H
#define HIPPO_CLI_ENVRUN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "env/actions.h"
#include "env/env.h"

#define ENVRUN_FILE_MAX (256u << 20) /* bytes read from an actions file */

struct envrun {
	struct env env;
	bool has_seed;
	uint64_t seed;
	struct env_actions actions;  /* from --actions, empty otherwise */
	bool has_actions;
	const char *actions_path;
};

/* Opens ID with OPTIONS (JSON or NULL), parses SEED (decimal, or NULL for a
 * random one) and reads ACTIONS_PATH (or NULL). Prints errors to stderr
 * prefixed by CMD and returns -1 (everything released) or 0. */
int envrun_open(struct envrun *r, const char *cmd, const char *id, const char *options,
		const char *seed, const char *actions_path);
void envrun_close(struct envrun *r);

/* The action for step K (0-based): from the actions file, or the space's
 * lowest discrete value / all zeros for a Box. Writes to OUT. */
void envrun_action(const struct envrun *r, size_t k, double *out);
/* "FILE:LINE" of step K's action for error messages, or "step K+1". */
void envrun_where(const struct envrun *r, size_t k, char *out, size_t outlen);

/* Reads at most MAX bytes of PATH into a malloc'ed, NUL-terminated buffer. */
int envrun_read_file(const char *path, size_t max, char **buf, size_t *len, char *err,
		     size_t errlen);

#endif
