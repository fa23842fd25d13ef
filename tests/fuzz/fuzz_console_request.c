/* fuzz_console_request: what the researcher console's handler makes of a
 * request's method, path and query (src/console/console.c,
 * con_parse_request) on arbitrary bytes: "METHOD PATH?QUERY". A request let
 * through names only valid ids and a plain file name (nothing that could
 * leave a participant's folder); every answer is one of 0, 200, 400, 405. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "console/console.h"
#include "core/id.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *in = malloc(size + 1);
	if (!in)
		return 0;
	memcpy(in, data, size);
	in[size] = '\0';
	char *sp = strchr(in, ' ');
	const char *method = "GET", *path = in, *query = "";
	if (sp) {
		*sp = '\0';
		method = in;
		path = sp + 1;
	}
	char *q = strchr(path, '?');
	if (q) {
		*q = '\0';
		query = q + 1;
	}
	char project[ID_MAX + 1], user[ID_MAX + 1], name[256];
	int st = con_parse_request(method, path, query, project, user, name);
	if (st != 0 && st != 200 && st != 400 && st != 405)
		abort();
	if (st == 200) {
		if (project[0] && !id_valid_project(project))
			abort();
		if (user[0] && !id_valid_user(user))
			abort();
		if (name[0] && (name[0] == '.' || strchr(name, '/') || strstr(name, "..")))
			abort();
	}
	free(in);
	return 0;
}
