/* fuzz_store_spec: the password spans of a store spec and its masked form
 * (src/store/store.c) on arbitrary bytes. The spans lie inside the spec; the
 * masked form is the spec with each span replaced by "***" (cut to the
 * buffer, never past it), so a password written once never shows, and
 * masking it again changes nothing. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "store/store.h"
#include "store/store_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *in = malloc(size + 1);
	if (!in)
		return 0;
	memcpy(in, data, size);
	in[size] = '\0';
	size_t len = strlen(in);
	struct store__span sp[STORE__SECRETS_MAX];
	size_t n = store__spec_secrets(in, sp, STORE__SECRETS_MAX);
	size_t kept = n < STORE__SECRETS_MAX ? n : STORE__SECRETS_MAX;
	for (size_t i = 0; i < kept; i++) {
		if (sp[i].off > len || sp[i].len > len - sp[i].off)
			abort();
		if (i > 0 && sp[i].off < sp[i - 1].off + sp[i - 1].len)
			abort();
	}
	char *out = malloc(len + 4 * STORE__SECRETS_MAX + 64), *again = malloc(len + 256);
	char small[16];
	if (!out || !again)
		abort();
	store_spec_masked(in, out, len + 4 * STORE__SECRETS_MAX + 64);
	store_spec_masked(in, small, sizeof small);
	if (strlen(small) >= sizeof small || strncmp(small, out, strlen(small)) != 0)
		abort();
	if (n <= STORE__SECRETS_MAX) {
		/* the spec, each span replaced */
		size_t o = 0, from = 0;
		for (size_t i = 0; i < n; i++) {
			if (memcmp(out + o, in + from, sp[i].off - from) != 0 ||
			    memcmp(out + o + (sp[i].off - from), "***", 3) != 0)
				abort();
			o += sp[i].off - from + 3;
			from = sp[i].off + sp[i].len;
		}
		if (strcmp(out + o, in + from) != 0)
			abort();
		for (size_t i = 0; i < n; i++) {
			char secret[64];
			if (sp[i].len < 4 || sp[i].len >= sizeof secret)
				continue;
			memcpy(secret, in + sp[i].off, sp[i].len);
			secret[sp[i].len] = '\0';
			/* a secret with a '*' can be spelt by the text around a mask
			 * ("password=" + "***" holds "rd=*"): not a leak */
			if (strchr(secret, '*'))
				continue;
			const char *first = strstr(in, secret);
			if (first == in + sp[i].off && !strstr(first + 1, secret) &&
			    strstr(out, secret))
				abort();
		}
		store_spec_masked(out, again, len + 256);
		if (strcmp(again, out) != 0)
			abort();
	} else if (strstr(out, "://***") == NULL) {
		abort();
	}
	free(again);
	free(out);
	free(in);
	return 0;
}
