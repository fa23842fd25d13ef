/* Preview links of a study (flow.h): the value a researcher's preview link
 * carries, derived from the admin token so that only who holds the token
 * can make one. */
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "flow/flow.h"
#include "flow/flow_int.h"

int flow_preview_key_set(struct flow *f, const char *key)
{
	char *k = key && key[0] ? strdup(key) : NULL;
	if (key && key[0] && !k)
		return -1;
	free(f->preview_key);
	f->preview_key = k;
	return 0;
}

int flow_preview_value(struct flow *f, const char *id, char *out, size_t len)
{
	static const char hex[] = "0123456789abcdef";
	static const char label[] = "hippo-preview:";
	unsigned char msg[sizeof label + 256], mac[EVP_MAX_MD_SIZE];
	unsigned int maclen = 0;
	size_t n = strlen(id);
	if (!f->preview_key || len <= FLOW_PREVIEW_LEN || n > 256)
		return -1;
	memcpy(msg, label, sizeof label - 1);
	memcpy(msg + sizeof label - 1, id, n);
	if (!HMAC(EVP_sha256(), f->preview_key, (int)strlen(f->preview_key), msg,
		  sizeof label - 1 + n, mac, &maclen) ||
	    maclen * 2 < FLOW_PREVIEW_LEN)
		return -1;
	for (size_t i = 0; i < FLOW_PREVIEW_LEN / 2; i++) {
		out[2 * i] = hex[mac[i] >> 4];
		out[2 * i + 1] = hex[mac[i] & 15];
	}
	out[FLOW_PREVIEW_LEN] = '\0';
	return 0;
}

bool flow_preview_ok(struct flow *f, const char *id, const char *value)
{
	char want[FLOW_PREVIEW_LEN + 1];
	if (!value || strlen(value) != FLOW_PREVIEW_LEN ||
	    flow_preview_value(f, id, want, sizeof want) < 0)
		return false;
	return CRYPTO_memcmp(want, value, FLOW_PREVIEW_LEN) == 0;
}
