/* Fuzzes what the server decides from a request's untrusted framing headers
 * (http_framing_check: the Content-Length value) and the address lists of
 * `hippo serve --metrics-from` (http_addr_list_check, http_addr_allowed).
 * Input: FLAGS CONTENT_LENGTH '\n' ADDRESS_LIST '\n' PEER_ADDRESS, where
 * FLAGS picks the method, the header counts and Transfer-Encoding. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "net/http.h"

static const char *const methods[] = {"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	uint8_t flags = data[0];
	char *buf = malloc(size);
	if (!buf)
		return 0;
	memcpy(buf, data + 1, size - 1);
	buf[size - 1] = '\0';
	char *list = strchr(buf, '\n'), *peer = NULL;
	if (list) {
		*list++ = '\0';
		peer = strchr(list, '\n');
		if (peer)
			*peer++ = '\0';
	}
	struct http_framing f = {
	        .method = methods[(flags & 7) % 7],
	        .http2 = flags & 8,
	        .has_version = !(flags & 16),
	        .content_lengths = (flags >> 5) & 3,
	        .content_length = buf,
	        .transfer_encoding = flags & 128,
	        .max_body = 4096,
	};
	size_t len = 12345;
	const char *why = NULL;
	int st = http_framing_check(&f, &len, &why);
	if (st == 0 && (len > f.max_body || (len > 0 && strspn(buf, "0123456789") != strlen(buf))))
		abort();
	if (st != 0 && (st != 400 && st != 411 && st != 413))
		abort();
	if (st != 0 && (!why || !why[0] || len != 0))
		abort();
	if (list) {
		char err[200];
		int ok = http_addr_list_check(list, err, sizeof err);
		bool allowed = http_addr_allowed(list, peer ? peer : "127.0.0.1");
		/* Nothing is allowed by an empty or "none" list. */
		if (allowed && (list[0] == '\0' || strcmp(list, "none") == 0))
			abort();
		(void)ok;
	}
	free(buf);
	return 0;
}
