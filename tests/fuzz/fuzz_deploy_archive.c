/* fuzz_deploy_archive: a study folder uploaded as an archive
 * (deploy_archive_read, src/flow/deploy_archive.c: POST
 * /api/projects/<id>/deploy with a zip, tar or tar.gz body) on arbitrary
 * bytes. Whatever it is given, an accepted archive yields a config.yml text
 * and only files whose names follow the deploy's rule, within the bounds;
 * a refused one leaves nothing to free and a message. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "flow/admin.h"
#include "flow/deploy_archive.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	struct deploy_archive a;
	char err[512];
	err[0] = '\0';
	if (deploy_archive_read(data, len, &a, err, sizeof err) < 0) {
		if (!err[0] || a.config || a.files || a.skipped)
			abort();
		return 0;
	}
	if (!a.config || !json_is_object(a.files) || !json_is_array(a.skipped))
		abort();
	size_t total = strlen(a.config);
	const char *name;
	json_t *v;
	json_object_foreach(a.files, name, v)
	{
		if (!admin_file_name_ok(name) || !json_is_string(v) ||
		    json_string_length(v) > DA_MAX_FILE)
			abort();
		total += json_string_length(v);
	}
	if (total > DA_MAX_TOTAL)
		abort();
	deploy_archive_free(&a);
	return 0;
}
