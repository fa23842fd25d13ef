/* msg: parsing one client -> server message of the trial websocket protocol
 * (docs/protocol.md). Pure: no I/O, no session state; fuzzed by
 * tests/fuzz/fuzz_trial_msg.c. */
#ifndef HIPPO_TRIAL_MSG_H
#define HIPPO_TRIAL_MSG_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#define MSG_ID_MAX 64 /* userId / projectId: core/id.h */

/* Which parts a message carries (several may be set; precedence as the
 * original: handshake, command, changeFrameRate, action). */
enum {
	MSG_HANDSHAKE = 1u << 0,  /* userId and/or projectId */
	MSG_COMMAND = 1u << 1,
	MSG_FRAMERATE = 1u << 2,
	MSG_ACTION = 1u << 3,
	MSG_FEEDBACK = 1u << 4,   /* {"feedback": ...} or command good/bad */
	MSG_VISIBILITY = 1u << 5,
};

enum msg_command {
	MSG_CMD_NONE = 0,
	MSG_CMD_START,
	MSG_CMD_PAUSE,
	MSG_CMD_STOP,
	MSG_CMD_RESET,
	MSG_CMD_REQUEST_UI,
	MSG_CMD_OTHER,  /* good/bad/trainOnline/custom: recorded only */
};

struct trial_msg {
	unsigned has;
	/* handshake */
	char user_id[MSG_ID_MAX + 1];    /* "" when absent or empty (a generated one is used) */
	char project_id[MSG_ID_MAX + 1]; /* "" when absent */
	bool accept_binary;              /* "accept": [..., "binary"] */
	bool want_hello;                 /* "hello": true, or any "accept" list */
	/* command */
	enum msg_command command;
	char command_name[32];
	/* changeFrameRate: DELTA is +1 (faster), -1 (slower) or 0 (set to VALUE) */
	int fps_delta;
	int fps_value;
	/* action: the name as sent (case kept), or a code when sent as a number */
	char action[MSG_ID_MAX + 1];
	long long action_code;           /* -1 when given by name */
	/* feedback */
	bool feedback_good;
	/* visibility */
	bool visible;
	/* latency data the client may add to any message */
	long long frame_id;              /* the frame on screen; -1 if absent */
	double since_frame_ms;           /* ms since that frame appeared; -1 if absent */
	json_t *root;                    /* the whole object, owned; recorded verbatim */
};

/* Parses BUF (LEN bytes, not necessarily NUL-terminated) into M. Returns 0, or
 * -1 with a client-facing message in ERR (M is then empty and needs no free).
 * Unknown keys are kept (in root) and ignored; known keys with a wrong type or
 * an out-of-range value are errors. */
int msg_parse(const char *buf, size_t len, struct trial_msg *m, char *err, size_t errlen);
void msg_free(struct trial_msg *m);

#endif
