/* fuzz_deploy_archive: a study folder's archive from the admin API
 * (unpack_study, src/flow/unpack.c: a deploy with a zip or tar(.gz) body)
 * on arbitrary bytes. It never crashes, and either refuses with a 4xx and
 * a message (no config, no files), or gives config.yml's text without a NUL
 * byte and step files whose every name passes the deploy's file-name rule,
 * within the limits of unpack.h; a refusal's entry is printable ASCII. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "flow/admin.h"
#include "flow/unpack.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* a copy of exactly SIZE bytes, so reading past it is caught */
	unsigned char *in = malloc(size ? size : 1);
	if (!in)
		return 0;
	memcpy(in, data, size);
	struct unpack_result r;
	int st = unpack_study(in, size, &r);
	if (st) {
		if ((st != 400 && st != 413) || !r.error[0] || r.config || r.files)
			abort();
		for (const char *c = r.entry; *c; c++)
			if (*c < 0x20 || *c >= 0x7f)
				abort();
	} else {
		if (!r.config || !json_is_object(r.files) ||
		    json_object_size(r.files) > UNPACK_MAX_ENTRIES)
			abort();
		size_t total = strlen(r.config);
		const char *name;
		json_t *v;
		json_object_foreach(r.files, name, v)
		{
			if (!admin_file_name_valid(name) || !json_is_string(v) ||
			    json_string_length(v) > UNPACK_MAX_FILE)
				abort();
			total += json_string_length(v);
		}
		if (total > UNPACK_MAX_TOTAL)
			abort();
	}
	unpack_result_free(&r);
	free(in);
	return 0;
}
