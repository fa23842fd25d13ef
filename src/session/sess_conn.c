/* sess_conn: the connections' side of the sessions (sess_conn.h): attaching
 * a websocket to its session, the messages it sends (parsed here, handed to
 * the trial), and what it is sent: control messages in order, then the
 * newest frame. Output is built on the worker (under the session's mutex)
 * and taken by the I/O thread, which the wake list calls. */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "core/buf.h"
#include "core/clock.h"
#include "core/config.h"
#include "core/id.h"
#include "session/sess_int.h"
#include "trial/msg.h"
#include "trial/wire.h"

void sess__wake(struct sess *s)
{
	if (!s->conn)
		return;
	struct sess_mgr *m = s->m;
	bool first = false;
	pthread_mutex_lock(&m->mu);
	if (!s->wake_queued) {
		sess__ref(s); /* dropped by sess__drain_wakes */
		s->wake_queued = true;
		first = m->wake_head == NULL;
		s->wake_next = m->wake_head;
		m->wake_head = s;
	}
	pthread_mutex_unlock(&m->mu);
	if (first && m->c.wake)
		m->c.wake(m->c.wake_user);
}

static void sink_text(void *user, const char *msg, size_t len)
{
	struct sess *s = user;
	bool done = len == 4 && memcmp(msg, "done", 4) == 0;
	if (s->qlen >= SESS_CTRL_MAX && !(done && s->qlen == SESS_CTRL_MAX))
		return; /* a client that does not read: drop errors, never "done" */
	size_t h = s->m->c.headroom;
	unsigned char *b = malloc(h + len + 1);
	if (!b)
		return;
	memcpy(b + h, msg, len);
	int i = (s->qhead + s->qlen) % (SESS_CTRL_MAX + 1);
	s->q[i] = (struct ctrl){.buf = b, .len = len, .done = done};
	s->qlen++;
	sess__wake(s);
}

static bool fbuf_reserve(struct fbuf *f, size_t need)
{
	return buf_grow_array((void **)&f->p, &f->cap, need, 1, 32768, 0) == 0;
}

/* Builds the frame message into fpend, replacing an unsent one (newest wins). */
static void sink_frame(void *user, const uint8_t *jpeg, size_t len, unsigned long long id,
		       const char *extra)
{
	struct sess *s = user;
	if (!s->conn || s->closing)
		return;
	size_t h = s->m->c.headroom;
	struct fbuf *f = &s->fpend;
	size_t max = wire_frame_max(len, strlen(extra), s->binary);
	if (!max || !fbuf_reserve(f, h + max))
		return;
	f->binary = s->binary;
	f->len = wire_frame(f->p + h, s->binary, jpeg, len, id, extra, &f->time_off);
	if (s->frame_ready)
		s->frames_dropped++; /* replaced before it could be sent */
	s->frame_ready = true;
	if (__atomic_load_n(&s->viewers, __ATOMIC_RELAXED) > 0)
		sess__watch_frame(s, jpeg, len, id);
	sess__wake(s);
}

struct trial_sink sess__sink(struct sess *s)
{
	return (struct trial_sink){.user = s, .text = sink_text, .frame = sink_frame};
}

void sess__clear_ctrl(struct sess *s)
{
	while (s->qlen > 0) {
		free(s->q[s->qhead].buf);
		s->qhead = (s->qhead + 1) % (SESS_CTRL_MAX + 1);
		s->qlen--;
	}
}

static void uuid4(char out[37])
{
	unsigned char b[16];
	if (getrandom(b, sizeof b, 0) != (ssize_t)sizeof b) {
		uint64_t x = (uint64_t)clock_mono_ns();
		for (int i = 0; i < 16; i++)
			b[i] = (unsigned char)(x >> ((i % 8) * 8)) ^ (unsigned char)i;
	}
	b[6] = (b[6] & 0x0f) | 0x40;
	b[8] = (b[8] & 0x3f) | 0x80;
	snprintf(out, 37,
		 "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0],
		 b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13],
		 b[14], b[15]);
}

/* Open mode: whether CLIENT may have a new session (its allowance and the
 * sessions it holds); ERR says why not, for the close frame. */
static bool open_allowed(struct sess_mgr *m, const char *client, char *err, size_t errlen)
{
	int retry = 0;
	pthread_mutex_lock(&m->mu);
	bool rate = sess__addr_allow(m, client, false, &retry);
	if (!rate)
		m->refused_rate++;
	bool room = rate && sess__addr_room(m, client);
	int most = m->max_per_addr;
	pthread_mutex_unlock(&m->mu);
	if (!rate)
		snprintf(err, errlen, "too many new sessions from your address: try again in %d s",
			 retry);
	else if (!room)
		snprintf(err, errlen, "too many sessions from your address (at most %d)", most);
	return rate && room;
}

struct sess *sess__attach(struct sess_mgr *m, const struct trial_msg *hs, void *conn,
			  const char *client, bool binary, void **replaced, char *err,
			  size_t errlen)
{
	*replaced = NULL;
	char user[MSG_ID_MAX + 1];
	if (hs->user_id[0])
		snprintf(user, sizeof user, "%s", hs->user_id);
	else
		uuid4(user);
	const struct cfg *open = m->c.open_project;
	const char *project = hs->project_id;
	if (open)
		project = open->project.id; /* checked by sess__mgr_new */
	struct sess *s = sess__lookup(m, project, user);
	pthread_mutex_lock(&m->mu);
	bool ended = s && s->ended;
	pthread_mutex_unlock(&m->mu);
	if (!s || ended) {
		if (s)
			sess__unref(s);
		if (!open) {
			snprintf(err, errlen, ended ? "the session of this participant has ended"
						    : "no session for this participant");
			return NULL;
		}
		if (m->c.max_sessions && sess__live(m) >= m->c.max_sessions) {
			snprintf(err, errlen, "the server is full, try again later");
			return NULL;
		}
		if (!open_allowed(m, client, err, errlen))
			return NULL;
		s = sess__create(m, open, user, 0, 0, err, errlen);
		if (!s)
			return NULL;
		bool full;
		s = sess__insert(m, s, &full);
		if (!s) {
			snprintf(err, errlen, full ? "the server is full, try again later"
						   : "could not start the session");
			return NULL;
		}
		pthread_mutex_lock(&m->mu);
		sess__addr_allow(m, client, true, NULL);
		if (!s->ended)
			sess__addr_hold(m, s, client);
		pthread_mutex_unlock(&m->mu);
	}
	pthread_mutex_lock(&s->mu);
	if (!s->trial) {
		pthread_mutex_unlock(&s->mu);
		sess__unref(s);
		snprintf(err, errlen, "the session of this participant has ended");
		return NULL;
	}
	/* The connection's reference: ours, unless a replaced connection hands
	 * its own over. */
	bool keep = s->conn == NULL;
	*replaced = s->conn;
	sess__clear_ctrl(s);
	s->closing = false;
	s->frame_ready = false;
	s->conn = conn;
	s->binary = binary;
	s->attached_once = true;
	s->attaches++;
	s->state = SESS_RUNNING;
	struct trial_sink sink = sess__sink(s);
	trial_on_attach(s->trial, hs, &sink);
	int wi = s->worker;
	pthread_mutex_unlock(&s->mu);
	sess__kick(m, wi);
	if (!keep)
		sess__unref(s);
	return s;
}

void sess__detach(struct sess *s, void *conn)
{
	pthread_mutex_lock(&s->mu);
	if (s->conn != conn) {
		pthread_mutex_unlock(&s->mu);
		return;
	}
	s->conn = NULL;
	sess__clear_ctrl(s);
	s->frame_ready = false;
	if (s->trial) {
		trial_on_detach(s->trial);
		s->state = SESS_PAUSED;
		int64_t g = clock_mono_ns() + (int64_t)s->grace_s * 1000000000;
		s->grace_deadline = g < s->max_deadline ? g : s->max_deadline;
	} else {
		free(s->fsend.p);
		s->fsend = (struct fbuf){0};
	}
	int wi = s->worker;
	pthread_mutex_unlock(&s->mu);
	sess__kick(s->m, wi);
	sess__unref(s); /* the connection's reference */
}

/* A handshake for a participant without a session here: asks the locator
 * (several nodes), which may allocate it here. True with the websocket URL
 * of the node that has it in URL. */
static bool locate(struct sess_mgr *m, const struct trial_msg *hs, char *url, size_t len)
{
	pthread_mutex_lock(&m->mu);
	sess_locate_fn fn = m->locate;
	void *user = m->locate_user;
	pthread_mutex_unlock(&m->mu);
	if (!fn || m->c.open_project || !id_valid_user(hs->user_id) ||
	    !id_valid_project(hs->project_id))
		return false;
	struct sess *s = sess__lookup(m, hs->project_id, hs->user_id);
	if (s) {
		sess__unref(s);
		return false;
	}
	return fn(user, hs->project_id, hs->user_id, url, len) == SESS_LOCATE_ELSEWHERE;
}

enum sess_open sess__open(struct sess_mgr *m, const char *text, size_t len, void *conn,
			  const char *client, struct sess **s, void **replaced, char *err,
			  size_t errlen)
{
	struct trial_msg msg;
	*s = NULL;
	*replaced = NULL;
	if (msg_parse(text, len, &msg, err, errlen) < 0)
		return SESS_OPEN_REFUSED;
	enum sess_open rc = SESS_OPEN_REFUSED;
	if (!(msg.has & MSG_HANDSHAKE)) {
		snprintf(err, errlen, "expected the handshake {\"userId\": ..., \"projectId\": ...}");
	} else if (__atomic_load_n(&m->shutting_down, __ATOMIC_ACQUIRE)) {
		snprintf(err, errlen, "server shutting down");
		rc = SESS_OPEN_SHUTTING_DOWN;
	} else if (locate(m, &msg, err, errlen)) {
		rc = SESS_OPEN_MOVED;
	} else {
		*s = sess__attach(m, &msg, conn, client, msg.accept_binary, replaced, err, errlen);
		rc = *s ? SESS_OPEN_ATTACHED : SESS_OPEN_REFUSED;
	}
	msg_free(&msg);
	return rc;
}

void sess__text(struct sess *s, const char *text, size_t len)
{
	struct trial_msg msg;
	char err[160];
	if (__atomic_load_n(&s->viewers, __ATOMIC_RELAXED) > 0) {
		pthread_mutex_lock(&s->mu);
		sess__watch_input(s, text, len);
		pthread_mutex_unlock(&s->mu);
	}
	if (msg_parse(text, len, &msg, err, sizeof err) < 0) {
		sess__error(s, err);
		return;
	}
	sess__message(s, &msg);
	msg_free(&msg);
}

void sess__message(struct sess *s, const struct trial_msg *msg)
{
	pthread_mutex_lock(&s->mu);
	if (s->trial) {
		struct trial_sink sink = sess__sink(s);
		trial_on_message(s->trial, msg, clock_mono_ns(), &sink);
	}
	int wi = s->worker;
	pthread_mutex_unlock(&s->mu);
	sess__kick(s->m, wi);
}

void sess__error(struct sess *s, const char *text)
{
	json_t *j = json_pack("{s:s}", "error", text);
	char *str = json_dumps(j, JSON_COMPACT);
	json_decref(j);
	if (!str)
		return;
	pthread_mutex_lock(&s->mu);
	if (!s->closing)
		sink_text(s, str, strlen(str));
	pthread_mutex_unlock(&s->mu);
	free(str);
}

void sess__rtt(struct sess *s, double rtt_ms)
{
	pthread_mutex_lock(&s->mu);
	if (s->trial)
		trial_on_rtt(s->trial, rtt_ms);
	pthread_mutex_unlock(&s->mu);
}

enum sess_out sess__next_output(struct sess *s, void *conn, unsigned char **buf, size_t *len,
				bool *more)
{
	enum sess_out out = SESS_OUT_NONE;
	*more = false;
	pthread_mutex_lock(&s->mu);
	free(s->ctrl_out);
	s->ctrl_out = NULL;
	if (s->conn != conn) {
		pthread_mutex_unlock(&s->mu);
		return SESS_OUT_NONE;
	}
	size_t h = s->m->c.headroom;
	if (s->closing) {
		out = SESS_OUT_CLOSE;
	} else if (s->qlen > 0) {
		struct ctrl c = s->q[s->qhead];
		s->qhead = (s->qhead + 1) % (SESS_CTRL_MAX + 1);
		s->qlen--;
		s->ctrl_out = c.buf;
		*buf = c.buf + h;
		*len = c.len;
		out = SESS_OUT_TEXT;
		if (c.done) {
			s->closing = true;
			s->frame_ready = false;
		}
	} else if (s->fail_close) {
		out = SESS_OUT_CLOSE_RETRY;
	} else if (s->frame_ready) {
		struct fbuf t = s->fsend;
		s->fsend = s->fpend;
		s->fpend = t;
		s->frame_ready = false;
		wire_stamp(s->fsend.p + h, s->fsend.time_off, s->fsend.binary, clock_wall_ms());
		__atomic_fetch_add(&s->m->frames_sent, 1, __ATOMIC_RELAXED);
		s->frames_sent++;
		int64_t now = clock_mono_ns();
		if (now - s->fps_at >= 1000000000) {
			if (s->fps_at)
				s->fps = (double)(s->frames_sent - s->fps_frames) * 1e9 /
					 (double)(now - s->fps_at);
			s->fps_at = now;
			s->fps_frames = s->frames_sent;
		}
		*buf = s->fsend.p + h;
		*len = s->fsend.len;
		out = s->fsend.binary ? SESS_OUT_BINARY : SESS_OUT_TEXT;
	}
	*more = s->qlen > 0 || s->frame_ready || s->closing || s->fail_close;
	pthread_mutex_unlock(&s->mu);
	return out;
}

void sess__drain_wakes(struct sess_mgr *m, void (*fn)(void *conn, void *user), void *user)
{
	struct sess *batch[256];
	for (;;) {
		size_t n = 0;
		pthread_mutex_lock(&m->mu);
		while (m->wake_head && n < sizeof batch / sizeof batch[0]) {
			struct sess *s = m->wake_head;
			m->wake_head = s->wake_next;
			s->wake_queued = false;
			batch[n++] = s;
		}
		pthread_mutex_unlock(&m->mu);
		for (size_t i = 0; i < n; i++) {
			if (batch[i]->conn)
				fn(batch[i]->conn, user);
			sess__unref(batch[i]); /* the wake list's reference */
		}
		if (n < sizeof batch / sizeof batch[0])
			return;
	}
}

