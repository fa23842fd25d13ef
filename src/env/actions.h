/* actions: the text format of action sequences used by `hippo rollout` and
 * `hippo render --actions FILE`: one action per line; for a Discrete space an
 * integer, for a Box space its size() numbers separated by spaces or tabs.
 * Blank lines and lines starting with '#' are skipped. NaN and infinities are
 * rejected. Errors name the line ("line 3: ..."). */
#ifndef HIPPO_ENV_ACTIONS_H
#define HIPPO_ENV_ACTIONS_H

#include <stddef.h>

#include "hippo/env.h"

#define ENV_ACTIONS_MAX 10000000 /* actions per file */

struct env_actions {
	double *v;     /* n * dim values, owned */
	size_t n;      /* number of actions */
	size_t dim;    /* scalars per action */
	size_t *line;  /* source line of each action, owned */
};

/* Parses TEXT (LEN bytes, need not be NUL-terminated) for SPACE. On success
 * fills OUT (free with env_actions_free) and returns 0; on error returns -1
 * with "line N: ..." in ERR and OUT empty. */
int env_actions_parse(const char *text, size_t len, const struct hippo_space *space,
		      struct env_actions *out, char *err, size_t errlen);
/* Parses one action (a line without its newline) into OUT[space size]. */
int env_actions_parse_line(const char *line, size_t len, const struct hippo_space *space,
			   double *out, char *err, size_t errlen);
void env_actions_free(struct env_actions *a);

#endif
