/* path: containment of study files; see path.h. */
#include "core/path.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum path_where path_inside(const char *root, const char *rel, char *out, size_t len)
{
	char rroot[PATH_MAX], full[PATH_MAX], res[PATH_MAX];
	if (!rel || rel[0] == '/') {
		errno = EINVAL;
		return PATH_MISSING;
	}
	int n = snprintf(full, sizeof full, "%s/%s", root && root[0] ? root : ".", rel);
	if (n < 0 || (size_t)n >= sizeof full) {
		errno = ENAMETOOLONG;
		return PATH_MISSING;
	}
	if (!realpath(root && root[0] ? root : ".", rroot) || !realpath(full, res))
		return PATH_MISSING;
	size_t rl = strlen(rroot);
	if (rl == 1) /* the root folder "/" holds everything */
		rl = 0;
	if (strncmp(res, rroot, rl) != 0 || res[rl] != '/')
		return PATH_OUTSIDE;
	if (out) {
		if (strlen(res) >= len) {
			errno = ENAMETOOLONG;
			return PATH_MISSING;
		}
		memcpy(out, res, strlen(res) + 1);
	}
	return PATH_INSIDE;
}
