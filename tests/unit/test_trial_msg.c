/* msg: the client message parser of the trial websocket protocol. */
#include <string.h>

#include "test.h"
#include "trial/msg.h"

static int parse(const char *s, struct trial_msg *m, char *err)
{
	return msg_parse(s, strlen(s), m, err, 160);
}

static void test_handshake(void)
{
	struct trial_msg m;
	char err[160];
	CHECK(parse("{\"userId\":\"u-1_A\",\"projectId\":\"p1\"}", &m, err) == 0);
	CHECK(m.has == MSG_HANDSHAKE);
	CHECK_STR(m.user_id, "u-1_A");
	CHECK_STR(m.project_id, "p1");
	CHECK(!m.want_hello && !m.accept_binary);
	msg_free(&m);
	CHECK(parse("{\"userId\":\"\",\"projectId\":\"p\",\"accept\":[\"binary\",3]}", &m, err) == 0);
	CHECK(m.has == MSG_HANDSHAKE && m.user_id[0] == '\0');
	CHECK(m.accept_binary && m.want_hello);
	msg_free(&m);
	CHECK(parse("{\"userId\":\"../etc\"}", &m, err) < 0);
	CHECK(strstr(err, "userId") != NULL);
	CHECK(m.root == NULL);
	char big[200] = "{\"userId\":\"";
	memset(big + 11, 'a', 65);
	memcpy(big + 76, "\"}", 3);
	CHECK(parse(big, &m, err) < 0);
	CHECK(parse("{\"userId\":5}", &m, err) < 0);
	CHECK(parse("{\"userId\":\"a\\u0000b\"}", &m, err) < 0);
}

static void test_commands_and_actions(void)
{
	struct trial_msg m;
	char err[160];
	CHECK(parse("{\"command\":\"start\",\"frameId\":4,\"sinceFrameMs\":12.5}", &m, err) == 0);
	CHECK(m.has == MSG_COMMAND && m.command == MSG_CMD_START);
	CHECK(m.frame_id == 4 && m.since_frame_ms == 12.5);
	msg_free(&m);
	CHECK(parse("{\"command\":\"good\"}", &m, err) == 0);
	CHECK(m.command == MSG_CMD_OTHER && (m.has & MSG_FEEDBACK) && m.feedback_good);
	msg_free(&m);
	CHECK(parse("{\"actionType\":\"ArrowLeft\",\"action\":\"Left\"}", &m, err) == 0);
	CHECK(m.has == MSG_ACTION && m.action_code == -1);
	CHECK_STR(m.action, "Left");
	msg_free(&m);
	CHECK(parse("{\"action\":2}", &m, err) == 0);
	CHECK(m.action_code == 2);
	msg_free(&m);
	CHECK(parse("{\"changeFrameRate\":\"faster\"}", &m, err) == 0);
	CHECK(m.fps_delta == 1);
	msg_free(&m);
	CHECK(parse("{\"changeFrameRate\":\"45\"}", &m, err) == 0);
	CHECK(m.fps_delta == 0 && m.fps_value == 45);
	msg_free(&m);
	CHECK(parse("{\"visibility\":\"hidden\",\"feedback\":\"bad\"}", &m, err) == 0);
	CHECK((m.has & MSG_VISIBILITY) && !m.visible && (m.has & MSG_FEEDBACK) && !m.feedback_good);
	msg_free(&m);
	CHECK(parse("{\"unknown\":{\"deep\":[1,2]}}", &m, err) == 0);
	CHECK(m.has == 0 && m.root != NULL);
	msg_free(&m);
}

static void test_bad_messages(void)
{
	static const char *const bad[] = {
		"", "{", "[1]", "\"x\"", "{\"command\":5}", "{\"command\":\"\"}",
		"{\"changeFrameRate\":\"warp\"}", "{\"changeFrameRate\":0}", "{\"changeFrameRate\":[]}",
		"{\"action\":{}}", "{\"frameId\":-1}", "{\"frameId\":\"1\"}", "{\"sinceFrameMs\":\"x\"}",
		"{\"feedback\":\"meh\"}", "{\"visibility\":true}", "{\"accept\":\"binary\",\"userId\":\"u\"}",
		"{\"a\":1,\"a\":2}", "\xff\xfe{}",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		struct trial_msg m;
		char err[160] = "";
		CHECK(parse(bad[i], &m, err) < 0);
		CHECK(err[0] != '\0' && m.root == NULL);
	}
}

/* The handshake applies core/id.h's rules: '_' is part of a userId, never of
 * a projectId. */
static void test_handshake_id_rules(void)
{
	struct trial_msg m;
	char err[160];
	CHECK(parse("{\"userId\":\"crowd_worker_1\",\"projectId\":\"my-study\"}", &m, err) == 0);
	CHECK_STR(m.user_id, "crowd_worker_1");
	msg_free(&m);
	CHECK(parse("{\"userId\":\"u1\",\"projectId\":\"my_study\"}", &m, err) < 0);
	CHECK(strstr(err, "projectId") != NULL);
	CHECK(parse("{\"userId\":\"u1\",\"projectId\":\"../x\"}", &m, err) < 0);
}

int main(void)
{
	RUN(test_handshake);
	RUN(test_commands_and_actions);
	RUN(test_bad_messages);
	RUN(test_handshake_id_rules);
	return test_summary();
}
