/* Fuzzes the untrusted parts of a /next request: the query string (ids,
 * step, page hash, crowd parameters) and the POST body (JSON or form-urlencoded).
 * Input: QUERY '\n' BODY; the first body byte picks the content type. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/id.h"
#include "flow/flow.h"
#include "net/http.h"

static const char *const keys[] = {"projectId", "userId", "step", "pageHash", "PROLIFIC_PID",
				   "workerId"};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *buf = malloc(size + 1);
	if (!buf)
		return 0;
	memcpy(buf, data, size);
	buf[size] = '\0';
	char *nl = memchr(buf, '\n', size);
	const char *body = "";
	size_t blen = 0;
	if (nl) {
		*nl = '\0';
		body = nl + 1;
		blen = size - (size_t)(nl + 1 - buf);
	}
	/* The query stops at the first NUL, as the server hands it over. */
	for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
		char out[80];
		int rc = http_query_get(buf, keys[i], out, sizeof out);
		if (rc >= 0) {
			if (strlen(out) != (size_t)rc)
				abort();
			/* A valid projectId is always a valid userId. */
			if (id_valid_project(out) && !id_valid_user(out))
				abort();
		}
	}
	/* Re-encoding a decoded argument (what the server does with libwebsockets'
	 * fragments) must give back the same value. */
	char q[512] = "", val[512];
	if (strlen(buf) < 100 && http_query_append(q, sizeof q, buf) == 0) {
		const char *eq = strchr(buf, '=');
		size_t nlen = eq ? (size_t)(eq - buf) : strlen(buf);
		char name[128];
		memcpy(name, buf, nlen);
		name[nlen] = '\0';
		if (nlen > 0 && !strchr(name, '&')) {
			int rc = http_query_get(q, name, val, sizeof val);
			if (rc < 0 || strcmp(val, eq ? eq + 1 : "") != 0)
				abort();
		}
	}
	const char *ctype = blen && (body[0] & 1) ? "application/x-www-form-urlencoded" : NULL;
	char err[256];
	json_t *a = flow_parse_answers(body, blen, ctype, err, sizeof err);
	if (a) {
		if (!json_is_object(a) || json_object_size(a) > FLOW_MAX_FIELDS)
			abort();
		json_decref(a);
	}
	free(buf);
	return 0;
}
