/* plugin: environments from shared libraries compiled against
 * include/hippo/env.h, loaded with dlopen. The library exports
 * HIPPO_ENV_PLUGIN_SYMBOL; every table it returns must carry hippo's
 * HIPPO_ENV_ABI_VERSION, or the library is refused with a message that says
 * which versions differ. dlopen counts references, so each session may open
 * the library itself; instances must be destroyed before plugin_close. */
#ifndef HIPPO_ENV_PLUGIN_H
#define HIPPO_ENV_PLUGIN_H

#include <stddef.h>

#include "env/env.h"
#include "hippo/env.h"

struct plugin;

/* Loads PATH and checks its tables. With DIR (a study folder), PATH is
 * relative to DIR and must lie inside it, also through symbolic links; with
 * DIR NULL, any path (relative to the working directory). Returns 0 with
 * *OUT, or -1 with a message in ERR:
 * "plugin.so: cannot open: ...", "... lacks hippo_env_plugin", "... was built
 * for environment ABI version 2, this hippo speaks 1: rebuild it against this
 * hippo's include/hippo/env.h". */
int plugin_open(const char *dir, const char *path, struct plugin **out, char *err, size_t errlen);

size_t plugin_count(const struct plugin *p);
const struct hippo_env_ops *plugin_ops(const struct plugin *p, size_t i);
/* The table for ID; with ID NULL, the library's only table. NULL if none. */
const struct hippo_env_ops *plugin_find(const struct plugin *p, const char *id);
/* The resolved path of the library. */
const char *plugin_path(const struct plugin *p);
void plugin_close(struct plugin *p);

/* Opens environment ID (NULL: the only one) from the library at PATH into E,
 * keeping the library open in *PL (close E first, then *PL). Returns 0, or -1
 * with a message in ERR that lists the library's ids when ID is unknown. */
int plugin_env_open(struct env *e, struct plugin **pl, const char *dir, const char *path,
		    const char *id, const char *options_json, char *err, size_t errlen);

#endif
