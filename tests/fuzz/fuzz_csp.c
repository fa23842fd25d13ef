/* fuzz_csp: the --frame-ancestors source-list check (src/net/static.c) on
 * arbitrary bytes. An accepted list yields the base policy followed by the
 * list unchanged, with no character that could end the directive (';'),
 * start another policy (',') or split the header (CR, LF, NUL); a refused
 * one always says why. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "net/static.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *in = malloc(size + 1);
	if (!in)
		return 0;
	memcpy(in, data, size);
	in[size] = '\0';
	char out[STATIC_CSP_MAX], err[256] = "";
	if (static_csp(in, out, sizeof out, err, sizeof err)) {
		const char *fa = strstr(out, "frame-ancestors ");
		if (!fa || strcmp(fa + strlen("frame-ancestors "), in) != 0)
			abort();
		if (strpbrk(in, ";,\r\n\"\\") || strchr(out, ';') > fa)
			abort();
		if (strncmp(out, "default-src 'none'; script-src 'self';", 38) != 0)
			abort();
	} else if (!err[0]) {
		abort();
	}
	free(in);
	return 0;
}
