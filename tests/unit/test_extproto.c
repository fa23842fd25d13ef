/* The external-process protocol codec: framing in any chunking, limits, and
 * the interpretation of hello/step/frame headers. */
#include <stdlib.h>

#include "test.h"
#include "env/external_proto.h"

/* Builds one message into BUF; returns its length. */
static size_t msg(uint8_t *buf, const char *json, const uint8_t *payload, size_t plen)
{
	size_t h = strlen(json);
	xp_frame_header(buf, (uint32_t)h, (uint32_t)plen);
	memcpy(buf + XP_FRAME_HEADER, json, h);
	if (plen)
		memcpy(buf + XP_FRAME_HEADER + h, payload, plen);
	return XP_FRAME_HEADER + h + plen;
}

static void decodes_two_messages_byte_by_byte(void)
{
	uint8_t buf[256];
	const uint8_t px[6] = {1, 2, 3, 4, 5, 6};
	size_t n = msg(buf, "{\"type\":\"hello\"}", NULL, 0);
	n += msg(buf + n, "{\"type\":\"render\"}", px, sizeof px);
	struct xp_decoder d;
	xp_decoder_init(&d, 0, 0);
	int got = 0;
	for (size_t i = 0; i < n;) {
		size_t used;
		int rc = xp_decode(&d, buf + i, 1, &used);
		CHECK(rc >= 0);
		i += used;
		if (rc == 1) {
			got++;
			if (got == 1)
				CHECK_STR(d.header, "{\"type\":\"hello\"}");
			if (got == 2) {
				CHECK_STR(d.header, "{\"type\":\"render\"}");
				CHECK_INT(d.payload_len, 6);
				CHECK(memcmp(d.payload, px, 6) == 0);
			}
		}
	}
	CHECK_INT(got, 2);
	xp_decoder_free(&d);
}

static void decodes_whole_buffer_in_one_call_per_message(void)
{
	uint8_t buf[256];
	size_t n = msg(buf, "{\"type\":\"a\"}", NULL, 0);
	n += msg(buf + n, "{\"type\":\"b\"}", NULL, 0);
	struct xp_decoder d;
	xp_decoder_init(&d, 0, 0);
	size_t used;
	CHECK_INT(xp_decode(&d, buf, n, &used), 1);
	CHECK_STR(d.header, "{\"type\":\"a\"}");
	size_t rest = n - used;
	CHECK_INT(xp_decode(&d, buf + used, rest, &used), 1);
	CHECK_STR(d.header, "{\"type\":\"b\"}");
	CHECK_INT(used, rest);
	xp_decoder_free(&d);
}

static void rejects_bad_magic_version_and_oversize(void)
{
	uint8_t buf[64];
	size_t used;
	struct xp_decoder d;
	xp_decoder_init(&d, 0, 0);
	CHECK_INT(xp_decode(&d, (const uint8_t *)"hello world, this is text\n", 26, &used), -1);
	CHECK(strstr(d.err, "magic") != NULL);
	CHECK_INT(xp_decode(&d, buf, 1, &used), -1); /* stays failed */
	xp_decoder_free(&d);

	xp_decoder_init(&d, 0, 0);
	msg(buf, "{\"type\":\"x\"}", NULL, 0);
	buf[4] = 9;
	CHECK_INT(xp_decode(&d, buf, 28, &used), -1);
	CHECK(strstr(d.err, "version 9") != NULL);
	xp_decoder_free(&d);

	xp_decoder_init(&d, 64, 100);
	xp_frame_header(buf, 10, 101);
	CHECK_INT(xp_decode(&d, buf, XP_FRAME_HEADER, &used), -1);
	CHECK(strstr(d.err, "payload of 101 bytes") != NULL);
	xp_decoder_free(&d);

	xp_decoder_init(&d, 64, 100);
	xp_frame_header(buf, 65, 0);
	CHECK_INT(xp_decode(&d, buf, XP_FRAME_HEADER, &used), -1);
	CHECK(strstr(d.err, "header of 65 bytes") != NULL);
	xp_decoder_free(&d);
}

static void parses_hello_env_description(void)
{
	const char *text =
		"{\"type\":\"hello\",\"protocol\":1,\"env\":{\"id\":\"Pure-v0\","
		"\"action_space\":{\"kind\":\"discrete\",\"n\":2,\"names\":[\"left\",\"right\"]},"
		"\"observation_space\":{\"kind\":\"box\",\"shape\":[4],\"low\":[-4.8,null,-0.42,null],"
		"\"high\":[4.8,null,0.42,null],\"dtype\":\"float32\"},"
		"\"max_episode_steps\":500,\"render_fps\":50,\"render_width\":600,\"render_height\":400}}";
	char err[160];
	const char *type;
	json_t *j = xp_parse_header(text, strlen(text), &type, err, sizeof err);
	CHECK(j != NULL);
	CHECK_STR(type, "hello");
	struct xp_env_info e;
	CHECK_INT(xp_env_info_parse(json_object_get(j, "env"), NULL, &e, err, sizeof err), 0);
	CHECK_STR(e.info.id, "Pure-v0");
	CHECK_INT(e.info.action_space.kind, HIPPO_SPACE_DISCRETE);
	CHECK_INT(e.info.action_space.n, 2);
	CHECK_STR(e.info.action_space.action_names[1], "right");
	CHECK_INT(hippo_space_size(&e.info.observation_space), 4);
	CHECK_EXACT(e.info.observation_space.low[0], -4.8);
	CHECK(isinf(e.info.observation_space.high[1]));
	CHECK_INT(e.info.meta.max_episode_steps, 500);
	CHECK_INT(e.info.meta.render_width, 600);
	CHECK(isnan(e.info.meta.reward_threshold));
	/* round trip through the JSON a process receives */
	json_t *back = xp_env_info_json(&e.info);
	struct xp_env_info e2;
	CHECK_INT(xp_env_info_parse(back, NULL, &e2, err, sizeof err), 0);
	CHECK_INT(e2.info.meta.render_height, 400);
	CHECK_STR(e2.info.action_space.action_names[0], "left");
	xp_env_info_free(&e2);
	json_decref(back);
	xp_env_info_free(&e);
	json_decref(j);
}

static void rejects_bad_spaces_with_a_message(void)
{
	char err[160];
	struct xp_space s;
	json_t *j = json_loads("{\"kind\":\"discrete\",\"n\":0}", 0, NULL);
	CHECK_INT(xp_space_parse(j, &s, err, sizeof err), -1);
	json_decref(j);
	j = json_loads("{\"kind\":\"box\",\"shape\":[2,-1]}", 0, NULL);
	CHECK_INT(xp_space_parse(j, &s, err, sizeof err), -1);
	CHECK(strstr(err, "shape") != NULL);
	json_decref(j);
	j = json_loads("{\"kind\":\"tuple\"}", 0, NULL);
	CHECK_INT(xp_space_parse(j, &s, err, sizeof err), -1);
	CHECK(strstr(err, "tuple") != NULL);
	json_decref(j);
	j = json_loads("{\"kind\":\"discrete\",\"n\":2,\"names\":[\"a\"]}", 0, NULL);
	CHECK_INT(xp_space_parse(j, &s, err, sizeof err), -1);
	json_decref(j);
}

static void flattens_nested_observations(void)
{
	char err[160];
	double v[4];
	json_t *j = json_loads("[[1, 2], [true, 4.5]]", 0, NULL);
	CHECK_INT(xp_numbers(j, v, 4, err, sizeof err), 0);
	CHECK_EXACT(v[2], 1);
	CHECK_EXACT(v[3], 4.5);
	CHECK_INT(xp_numbers(j, v, 3, err, sizeof err), -1);
	json_decref(j);
	j = json_loads("[1, \"x\"]", 0, NULL);
	CHECK_INT(xp_numbers(j, v, 2, err, sizeof err), -1);
	CHECK(strstr(err, "string") != NULL);
	json_decref(j);
}

static void frame_descriptions_are_checked_against_payload(void)
{
	char err[160];
	struct xp_frame f;
	json_t *j = json_loads("{\"frame\":{\"width\":2,\"height\":1,\"format\":\"rgb\"}}", 0, NULL);
	CHECK_INT(xp_frame_parse(j, 6, &f, err, sizeof err), 1);
	CHECK_INT(f.width, 2);
	CHECK_INT(xp_frame_parse(j, 5, &f, err, sizeof err), -1);
	json_decref(j);
	j = json_loads("{\"type\":\"step\"}", 0, NULL);
	CHECK_INT(xp_frame_parse(j, 0, &f, err, sizeof err), 0);
	CHECK_INT(xp_frame_parse(j, 3, &f, err, sizeof err), -1);
	json_decref(j);
	j = json_loads("{\"frame\":{\"width\":2,\"height\":1,\"format\":\"gif\"}}", 0, NULL);
	CHECK_INT(xp_frame_parse(j, 6, &f, err, sizeof err), -1);
	json_decref(j);
}

static void info_is_copied_as_compact_json(void)
{
	char err[160], info[64];
	json_t *j = json_loads("{\"info\":{\"a\": 1}}", 0, NULL);
	CHECK_INT(xp_info_text(j, info, sizeof info, err, sizeof err), 0);
	CHECK_STR(info, "{\"a\":1}");
	json_decref(j);
	j = json_loads("{\"info\":[1]}", 0, NULL);
	CHECK_INT(xp_info_text(j, info, sizeof info, err, sizeof err), -1);
	json_decref(j);
}

int main(void)
{
	RUN(decodes_two_messages_byte_by_byte);
	RUN(decodes_whole_buffer_in_one_call_per_message);
	RUN(rejects_bad_magic_version_and_oversize);
	RUN(parses_hello_env_description);
	RUN(rejects_bad_spaces_with_a_message);
	RUN(flattens_nested_observations);
	RUN(frame_descriptions_are_checked_against_payload);
	RUN(info_is_copied_as_compact_json);
	return test_summary();
}
