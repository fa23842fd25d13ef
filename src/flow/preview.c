/* preview: the preview links of the studies (flow.h, docs/console.md
 * "Preview links"). A study's preview token is HMAC-SHA256 of its project id
 * under the server's key (the admin token), cut to FLOW_PREVIEW_TOKEN_LEN hex
 * digits: the researcher console shows it, every server sharing the token
 * (the nodes of a cluster) accepts it, nobody without the token can make
 * one, and changing the admin token revokes every link. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "flow/flow_int.h"

#define PREVIEW_CONTEXT "hippo preview link v1\n"

int flow_set_preview_key(struct flow *f, const char *key)
{
	if (f->preview_key) {
		memset(f->preview_key, 0, strlen(f->preview_key));
		free(f->preview_key);
		f->preview_key = NULL;
	}
	if (!key || !key[0])
		return 0;
	f->preview_key = strdup(key);
	return f->preview_key ? 0 : -1;
}

int flow_preview_token(const struct flow *f, const char *project_id, char *out, size_t outlen)
{
	unsigned char msg[sizeof PREVIEW_CONTEXT + 80], mac[EVP_MAX_MD_SIZE];
	unsigned int maclen = 0;
	size_t n = strlen(project_id), c = sizeof PREVIEW_CONTEXT - 1;
	if (!f->preview_key || outlen < FLOW_PREVIEW_TOKEN_LEN + 1 || n > 64)
		return -1;
	memcpy(msg, PREVIEW_CONTEXT, c);
	memcpy(msg + c, project_id, n);
	if (!HMAC(EVP_sha256(), f->preview_key, (int)strlen(f->preview_key), msg, c + n, mac,
		  &maclen) ||
	    maclen * 2 < FLOW_PREVIEW_TOKEN_LEN)
		return -1;
	for (size_t i = 0; i < FLOW_PREVIEW_TOKEN_LEN / 2; i++)
		snprintf(out + 2 * i, 3, "%02x", mac[i]);
	return 0;
}

bool flow__preview_valid(const struct flow *f, const char *project_id, const char *token)
{
	char want[FLOW_PREVIEW_TOKEN_LEN + 1];
	if (strlen(token) != FLOW_PREVIEW_TOKEN_LEN ||
	    flow_preview_token(f, project_id, want, sizeof want) < 0)
		return false;
	unsigned char diff = 0; /* no early exit: timing says nothing of the token */
	for (size_t i = 0; i < FLOW_PREVIEW_TOKEN_LEN; i++)
		diff |= (unsigned char)(want[i] ^ token[i]);
	return diff == 0;
}
