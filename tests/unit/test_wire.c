/* trial/wire: the frame messages of the protocol (docs/protocol.md): JSON
 * frames parse and carry the JPEG in base64 (the same text as
 * libwebsockets' encoder, which wrote them before), binary frames have the
 * documented header, the send time lands where the protocol says, and no
 * message is longer than wire_frame_max. */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <libwebsockets.h>

#include "test.h"
#include "trial/wire.h"

static void base64_matches_libwebsockets_for_every_tail(void)
{
	uint8_t in[300];
	for (size_t i = 0; i < sizeof in; i++)
		in[i] = (uint8_t)(i * 131 + (i >> 3) * 7);
	int bad = 0;
	for (size_t n = 0; n <= sizeof in; n++) {
		char a[4 * sizeof in + 1], b[4 * sizeof in + 8];
		size_t an = wire_base64(a, in, n);
		int bn = lws_b64_encode_string((const char *)in, (int)n, b, (int)sizeof b);
		if (bn < 0 || an != (size_t)bn || an != 4 * ((n + 2) / 3) || memcmp(a, b, an) != 0)
			bad++;
	}
	CHECK_INT(bad, 0);
	char o[8];
	CHECK_INT(wire_base64(o, (const uint8_t *)"Ma", 2), 4);
	CHECK_STR(o, "TWE=");
}

static void json_frame_parses_with_its_members(void)
{
	const uint8_t jpeg[] = {0xff, 0xd8, 0x00, 0x10, 0x20, 0xff, 0xd9};
	const char *extra = ",\"display\":{\"episode\":\"1 / 5\",\"score\":0,\"step\":0}";
	size_t max = wire_frame_max(sizeof jpeg, strlen(extra), false);
	unsigned char *buf = malloc(max);
	size_t off = 0;
	size_t n = wire_frame(buf, false, jpeg, sizeof jpeg, 42, extra, &off);
	CHECK(n > 0 && n <= max);
	wire_stamp(buf, off, false, 1795469895377LL);
	json_error_t e;
	json_t *j = json_loadb((const char *)buf, n, 0, &e);
	CHECK(j != NULL);
	CHECK_INT(json_integer_value(json_object_get(j, "frameId")), 42);
	CHECK_INT(json_integer_value(json_object_get(j, "serverTime")), 1795469895377LL);
	CHECK_STR(json_string_value(json_object_get(j, "frame")), "/9gAECD/2Q==");
	CHECK_STR(json_string_value(json_object_get(json_object_get(j, "display"), "episode")),
		  "1 / 5");
	CHECK_INT(json_object_size(j), 4);
	json_decref(j);
	/* stamped again when sent again: only the time changes */
	wire_stamp(buf, off, false, 1795469895378LL);
	j = json_loadb((const char *)buf, n, 0, &e);
	CHECK(j && json_integer_value(json_object_get(j, "serverTime")) == 1795469895378LL);
	json_decref(j);
	free(buf);
}

static void binary_frame_has_the_documented_header(void)
{
	uint8_t jpeg[100];
	for (size_t i = 0; i < sizeof jpeg; i++)
		jpeg[i] = (uint8_t)i;
	size_t max = wire_frame_max(sizeof jpeg, 0, true);
	CHECK_INT(max, WIRE_BINARY_HEADER + sizeof jpeg);
	unsigned char *buf = malloc(max);
	size_t off = 0;
	size_t n = wire_frame(buf, true, jpeg, sizeof jpeg, 0x01020304ull, "ignored", &off);
	CHECK_INT(n, max);
	wire_stamp(buf, off, true, 0x0102030405060708LL);
	static const unsigned char head[16] = {1, 0, 0, 0, 1, 2, 3, 4, 1, 2, 3, 4, 5, 6, 7, 8};
	CHECK(memcmp(buf, head, sizeof head) == 0);
	CHECK(memcmp(buf + 16, jpeg, sizeof jpeg) == 0);
	free(buf);
}

int main(void)
{
	RUN(base64_matches_libwebsockets_for_every_tail);
	RUN(json_frame_parses_with_its_members);
	RUN(binary_frame_has_the_documented_header);
	return test_summary();
}
