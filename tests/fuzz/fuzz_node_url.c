/* fuzz_node_url: a cluster node's advertised URL turned into its websocket
 * URL (flow_node_url, src/flow/placed.c: from --advertise and from the
 * store, then sent to browsers as show_game_page's "server") on arbitrary
 * bytes. An accepted URL is ws:// or wss://, ends in "/ws", holds no byte
 * that could break the JSON or the URL (quote, backslash, control, space,
 * '?', '#', non-ASCII), keeps the host, and fits the buffer; the output is
 * always terminated. The same bytes as a node's internal URL (--internal,
 * probe_url_valid, src/cluster/probe.c: from the command line and from the
 * store, then requested by other nodes): an accepted one is http:// or
 * https:// with a host, within the length, and holds none of those bytes nor
 * '@' (no user info). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cluster/probe.h"
#include "flow/flow.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *in = malloc(size + 1);
	if (!in)
		return 0;
	memcpy(in, data, size);
	in[size] = '\0';
	char out[300];
	memset(out, 'x', sizeof out);
	if (flow_node_url(in, out, sizeof out)) {
		size_t n = strnlen(out, sizeof out);
		if (n == sizeof out || n < 9 || strcmp(out + n - 3, "/ws") != 0)
			abort();
		if (strncmp(out, "ws://", 5) != 0 && strncmp(out, "wss://", 6) != 0)
			abort();
		for (const char *c = out; *c; c++)
			if ((unsigned char)*c <= ' ' || *c == '"' || *c == '\\' || *c == '?' ||
			    *c == '#' || (unsigned char)*c >= 0x7f)
				abort();
		const char *host = strstr(out, "://") + 3;
		const char *inhost = strstr(in, "://");
		if (!inhost || *host == '/' || strncmp(host, inhost + 3, strcspn(host, "/")) != 0)
			abort();
	}
	if (probe_url_valid(in, 255)) {
		size_t n = strlen(in);
		const char *host = strncmp(in, "http://", 7) == 0    ? in + 7
				   : strncmp(in, "https://", 8) == 0 ? in + 8
								     : NULL;
		if (!host || n > 255 || !*host || *host == '/' || *host == ':')
			abort();
		for (const char *c = in; *c; c++)
			if ((unsigned char)*c <= ' ' || *c == '"' || *c == '\\' || *c == '?' ||
			    *c == '#' || *c == '@' || (unsigned char)*c >= 0x7f)
				abort();
	}
	free(in);
	return 0;
}
