/* fuzz_s3_list: a ListObjectsV2 result page from the network (s3_list_parse,
 * src/storage/s3.c: hippo export --from-s3) on arbitrary bytes, with the
 * key checks a key passes before it becomes a local path (s3_key_valid and
 * storage_pull_name_ok). The input is not NUL-terminated (the parser must
 * stay inside it); every key, ETag and token handed out is a terminated
 * string of its buffer without a NUL inside; a size is -1 or >= 0; a key
 * the checks accept holds no "..", no leading '/' and no byte outside
 * [A-Za-z0-9._/-]. */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "storage/s3.h"
#include "storage/storage.h"

static int each(void *user, const struct s3_object *o)
{
	long *n = user;
	(*n)++;
	if (strlen(o->key) >= 1100 || strlen(o->etag) >= 96 || o->size < -1)
		abort();
	if (s3_key_valid(o->key)) {
		if (o->key[0] == '/' || strstr(o->key, "//"))
			abort();
		for (const char *c = o->key; *c; c++)
			if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._/-",
				    *c))
				abort();
		const char *base = strrchr(o->key, '/');
		base = base ? base + 1 : o->key;
		if (storage_pull_name_ok(base) && (base[0] == '.' || strchr(base, '/')))
			abort();
		if (strcmp(base, "..") == 0 || strcmp(base, ".") == 0)
			abort();
	}
	return *n > 100000;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* a copy of exactly SIZE bytes, so reading past it is caught */
	char *in = malloc(size ? size : 1);
	if (!in)
		return 0;
	memcpy(in, data, size);
	char next[64];
	memset(next, 'x', sizeof next);
	bool truncated;
	long n = 0;
	long k = s3_list_parse(in, size, each, &n, &truncated, next, sizeof next);
	if (k >= 0 && k != n)
		abort();
	if (strnlen(next, sizeof next) == sizeof next)
		abort();
	free(in);
	return 0;
}
