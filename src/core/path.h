/* path: where a file named by a study lands, and making folders. A study folder names files
 * relative to itself (step pages, plug-ins); following symbolic links must not
 * lead out of it, or a study could serve /etc/hostname as a page or load any
 * library on the host. */
#ifndef HIPPO_CORE_PATH_H
#define HIPPO_CORE_PATH_H

#include <stddef.h>

enum path_where {
	PATH_MISSING = -1, /* cannot be resolved: errno says why (ENOENT, ENAMETOOLONG...) */
	PATH_INSIDE = 0,   /* the file is inside ROOT */
	PATH_OUTSIDE = 1,  /* the file, after symbolic links, is outside ROOT */
};

/* Resolves ROOT/REL (every symbolic link followed) and says whether the result
 * lies inside ROOT (also resolved). With OUT (LEN bytes), the resolved path is
 * written there when the answer is PATH_INSIDE. REL must be relative. */
enum path_where path_inside(const char *root, const char *rel, char *out, size_t len);

/* mkdir -p: creates the folder PATH and its missing parents (mode 0755).
 * Returns 0 when PATH is a folder afterwards, or -1 with errno
 * (ENAMETOOLONG, ENOTDIR when PATH is another kind of file, mkdir's). */
int path_mkdirs(const char *path);

#endif
