/* msg: client message parsing for the trial websocket protocol. */
#include "trial/msg.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "core/id.h"

static int fail(struct trial_msg *m, char *err, size_t errlen, const char *what)
{
	snprintf(err, errlen, "%s", what);
	json_decref(m->root);
	memset(m, 0, sizeof *m);
	return -1;
}

/* Copies the string value of KEY into OUT (OUTLEN) after checking it with
 * VALID (or empty when ALLOW_EMPTY). Returns 1 if present, 0 if absent, -1 if bad. */
static int get_id(json_t *root, const char *key, char *out, size_t outlen, bool allow_empty,
		  bool (*valid)(const char *))
{
	json_t *v = json_object_get(root, key);
	if (!v || json_is_null(v))
		return 0;
	if (!json_is_string(v))
		return -1;
	const char *s = json_string_value(v);
	size_t n = json_string_length(v);
	if (n == 0 && allow_empty) {
		out[0] = '\0';
		return 1;
	}
	if (n >= outlen || strlen(s) != n || !valid(s))
		return -1;
	memcpy(out, s, n + 1);
	return 1;
}

static const struct {
	const char *name;
	enum msg_command cmd;
} commands[] = {
	{"start", MSG_CMD_START},	  {"pause", MSG_CMD_PAUSE}, {"stop", MSG_CMD_STOP},
	{"reset", MSG_CMD_RESET},	  {"requestUI", MSG_CMD_REQUEST_UI},
};

static int parse_command(struct trial_msg *m, json_t *v, char *err, size_t errlen)
{
	if (!json_is_string(v))
		return fail(m, err, errlen, "command must be a string");
	const char *s = json_string_value(v);
	size_t n = json_string_length(v);
	if (n == 0 || n >= sizeof m->command_name || strlen(s) != n)
		return fail(m, err, errlen, "command must be 1-31 characters");
	memcpy(m->command_name, s, n + 1);
	m->command = MSG_CMD_OTHER;
	for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
		if (strcmp(s, commands[i].name) == 0)
			m->command = commands[i].cmd;
	if (strcmp(s, "good") == 0 || strcmp(s, "bad") == 0) {
		m->has |= MSG_FEEDBACK;
		m->feedback_good = s[0] == 'g';
	}
	m->has |= MSG_COMMAND;
	return 0;
}

static int parse_fps(struct trial_msg *m, json_t *v, char *err, size_t errlen)
{
	if (json_is_integer(v)) {
		json_int_t x = json_integer_value(v);
		if (x < 1 || x > 1000)
			return fail(m, err, errlen, "changeFrameRate must be within 1..1000");
		m->fps_value = (int)x;
	} else if (json_is_string(v)) {
		const char *s = json_string_value(v);
		if (strcmp(s, "faster") == 0) {
			m->fps_delta = 1;
		} else if (strcmp(s, "slower") == 0) {
			m->fps_delta = -1;
		} else {
			char *end = NULL;
			long x = strtol(s, &end, 10);
			if (end == s || *end != '\0' || x < 1 || x > 1000)
				return fail(m, err, errlen,
					    "changeFrameRate must be \"faster\", \"slower\" or "
					    "a number within 1..1000");
			m->fps_value = (int)x;
		}
	} else {
		return fail(m, err, errlen, "changeFrameRate must be a string or a number");
	}
	m->has |= MSG_FRAMERATE;
	return 0;
}

static int parse_action(struct trial_msg *m, json_t *v, char *err, size_t errlen)
{
	m->action_code = -1;
	if (json_is_integer(v)) {
		json_int_t x = json_integer_value(v);
		if (x < 0 || x > 1000000)
			return fail(m, err, errlen, "action code out of range");
		m->action_code = x;
	} else if (json_is_string(v)) {
		size_t n = json_string_length(v);
		if (n >= sizeof m->action || strlen(json_string_value(v)) != n)
			return fail(m, err, errlen, "action name longer than 64 characters");
		memcpy(m->action, json_string_value(v), n + 1);
	} else {
		return fail(m, err, errlen, "action must be a string");
	}
	m->has |= MSG_ACTION;
	return 0;
}

/* The optional latency fields: frameId (integer >= 0) and sinceFrameMs. */
static int parse_latency(struct trial_msg *m, char *err, size_t errlen)
{
	json_t *v = json_object_get(m->root, "frameId");
	if (v && !json_is_null(v)) {
		if (!json_is_integer(v) || json_integer_value(v) < 0)
			return fail(m, err, errlen, "frameId must be a non-negative integer");
		m->frame_id = json_integer_value(v);
	}
	v = json_object_get(m->root, "sinceFrameMs");
	if (v && !json_is_null(v)) {
		double x = json_number_value(v);
		if (!json_is_number(v) || !isfinite(x) || x < 0 || x > 1e9)
			return fail(m, err, errlen, "sinceFrameMs must be a number of milliseconds");
		m->since_frame_ms = x;
	}
	return 0;
}

static int parse_handshake(struct trial_msg *m, char *err, size_t errlen)
{
	int u = get_id(m->root, "userId", m->user_id, sizeof m->user_id, true, id_valid_user);
	int p = get_id(m->root, "projectId", m->project_id, sizeof m->project_id, true,
		       id_valid_project);
	if (u < 0)
		return fail(m, err, errlen, "userId must match " ID_USER_RULE);
	if (p < 0)
		return fail(m, err, errlen, "projectId must match " ID_PROJECT_RULE);
	if (u == 0 && p == 0 && !json_object_get(m->root, "userId") &&
	    !json_object_get(m->root, "projectId"))
		return 0;
	m->has |= MSG_HANDSHAKE;
	json_t *acc = json_object_get(m->root, "accept");
	if (acc) {
		if (!json_is_array(acc))
			return fail(m, err, errlen, "accept must be a list of strings");
		m->want_hello = true;
		size_t i;
		json_t *x;
		json_array_foreach(acc, i, x) {
			if (json_is_string(x) && strcmp(json_string_value(x), "binary") == 0)
				m->accept_binary = true;
		}
	}
	json_t *h = json_object_get(m->root, "hello");
	if (h && json_is_true(h))
		m->want_hello = true;
	return 0;
}

int msg_parse(const char *buf, size_t len, struct trial_msg *m, char *err, size_t errlen)
{
	memset(m, 0, sizeof *m);
	m->frame_id = -1;
	m->since_frame_ms = -1;
	m->action_code = -1;
	json_error_t jerr;
	m->root = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!m->root)
		return fail(m, err, errlen, "malformed JSON");
	if (!json_is_object(m->root))
		return fail(m, err, errlen, "a message must be a JSON object");
	if (parse_handshake(m, err, errlen) < 0)
		return -1;
	json_t *v;
	if ((v = json_object_get(m->root, "command")) && parse_command(m, v, err, errlen) < 0)
		return -1;
	if ((v = json_object_get(m->root, "changeFrameRate")) && parse_fps(m, v, err, errlen) < 0)
		return -1;
	if ((v = json_object_get(m->root, "action")) && parse_action(m, v, err, errlen) < 0)
		return -1;
	if ((v = json_object_get(m->root, "feedback"))) {
		const char *s = json_string_value(v);
		if (!s || (strcmp(s, "good") != 0 && strcmp(s, "bad") != 0))
			return fail(m, err, errlen, "feedback must be \"good\" or \"bad\"");
		m->has |= MSG_FEEDBACK;
		m->feedback_good = s[0] == 'g';
	}
	if ((v = json_object_get(m->root, "visibility"))) {
		const char *s = json_string_value(v);
		if (!s || (strcmp(s, "hidden") != 0 && strcmp(s, "visible") != 0))
			return fail(m, err, errlen, "visibility must be \"hidden\" or \"visible\"");
		m->has |= MSG_VISIBILITY;
		m->visible = s[0] == 'v';
	}
	return parse_latency(m, err, errlen);
}

void msg_free(struct trial_msg *m)
{
	json_decref(m->root);
	m->root = NULL;
}
