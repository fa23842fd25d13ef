/* project_arg: the PROJECT argument of `hippo export` and `hippo verify`: a
 * project id, or a study folder whose config.yml names it. */
#ifndef HIPPO_CLI_PROJECT_ARG_H
#define HIPPO_CLI_PROJECT_ARG_H

#include <stddef.h>

/* Writes the project id of ARG into ID (CAP bytes): ARG itself, or the
 * project.id of ARG/config.yml when there is one. Returns 0, or -1 after
 * printing the config's problems on stderr. The id is checked by the
 * caller's module (core/id). */
int project_arg_id(const char *arg, char *id, size_t cap);

#endif
