/* Participant UI files embedded into the binary (generated from web/). */
#ifndef HIPPO_NET_ASSETS_H
#define HIPPO_NET_ASSETS_H

#include <stddef.h>

struct asset {
	const char *path;          /* "/index.html" */
	const char *content_type;
	const unsigned char *data; /* NUL-terminated for convenience */
	size_t len;                /* without the NUL */
};

/* Terminated by an entry whose path is NULL. */
extern const struct asset assets[];

/* The asset at PATH ("/" means "/index.html"), or NULL. */
const struct asset *asset_find(const char *path);

#endif
