#include <string.h>

#include "net/assets.h"

const struct asset *asset_find(const char *path)
{
	if (path == NULL || strcmp(path, "/") == 0 || path[0] == '\0')
		path = "/index.html";
	for (const struct asset *a = assets; a->path != NULL; a++)
		if (strcmp(a->path, path) == 0)
			return a;
	return NULL;
}
