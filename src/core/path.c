/* path: containment of study files; see path.h. */
#include "core/path.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

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

int path_mkdirs(const char *path)
{
	char p[PATH_MAX];
	int n = snprintf(p, sizeof p, "%s", path);
	if (n <= 0 || (size_t)n >= sizeof p) {
		errno = ENAMETOOLONG;
		return -1;
	}
	for (char *c = p + 1; *c; c++) {
		if (*c != '/')
			continue;
		*c = '\0';
		if (mkdir(p, 0755) < 0 && errno != EEXIST)
			return -1;
		*c = '/';
	}
	struct stat st;
	if (mkdir(p, 0755) < 0 && errno != EEXIST)
		return -1;
	if (stat(p, &st) < 0)
		return -1;
	if (!S_ISDIR(st.st_mode)) {
		errno = ENOTDIR;
		return -1;
	}
	return 0;
}
