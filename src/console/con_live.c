/* con_live: live game sessions for the console, fed by one thread of their
 * own (never the I/O thread, never a session worker):
 *
 *   GET /api/live         server-sent events: every live session once a second
 *   GET .../spectate      server-sent events: one session's frames (the JPEG
 *                         already encoded for its participant, base64), its
 *                         participant's messages as they come, its state
 *
 * The thread only ever appends a whole event to a client's stream when it
 * fits (http_stream_try_write): a client that lags skips events (a newer
 * frame replaces one it had no room for), so no viewer slows another, the
 * participant, or the thread. Spectating is read-only (the viewer's stream
 * carries nothing back) and is logged and written to the audit log. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "console/audit.h"
#include "console/con_int.h"
#include "core/buf.h"
#include "core/clock.h"
#include "core/log.h"
#include "net/stream.h"
#include "session/session.h"

#define LIVE_TICK_MS 1000      /* the sessions list */
#define SPECTATE_TICK_MS 10    /* how often viewers look for a new frame */
#define SPECTATE_STATE_MS 1000 /* a viewer's state event */
#define BEAT_MS 15000          /* a comment when nothing else was sent */
#define LIVE_MAX_SUBS 64       /* live streams and viewers at once */
#define LIVE_BUF (256u << 10)
#define SPECTATE_BUF (512u << 10) /* a few frames: a lagging viewer skips, it never queues */

static const char *const state_names[] = {"none", "starting", "ready", "running", "paused",
					  "ended"};

struct con_sub {
	struct con_sub *next;
	enum con_kind kind;
	struct http_stream *st; /* the producer's reference */
	char project[ID_MAX + 1], user[ID_MAX + 1];
	char viewer[96], ip[64];
	struct sess_view view;  /* a viewer's */
	bool watching, ended;
	int64_t started, next_state, last_write;
	unsigned long long frames, skipped;
};

struct con_live {
	struct console *c;
	pthread_t th;
	bool started, stop;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct con_sub *incoming; /* added by the I/O thread, taken by the live thread */
	size_t nsubs;             /* all, incoming or not */
};

json_t *con__live_state(struct console *c, const char *project, const char *user)
{
	enum sess_state st = c->o.sess ? sess_get_state(c->o.sess, project, user, NULL) : SESS_NONE;
	return json_pack("{s:s}", "state", state_names[st]);
}

static json_t *info_json(const struct sess_info *i)
{
	char started[CLOCK_ISO_LEN];
	clock_iso8601(i->started_ms, started, sizeof started);
	/* below 90 % of its frame rate while frames are due (after its first two seconds) */
	bool slow = i->playing && i->frames > (unsigned long long)(2 * i->fps_target) &&
		    i->fps < 0.9 * i->fps_target;
	return json_pack("{s:s,s:s,s:s,s:i,s:i,s:I,s:f,s:f,s:i,s:b,s:b,s:f,s:f,s:I,s:I,s:i,s:s,s:i}",
			 "project", i->project_id, "userId", i->user_id, "state",
			 state_names[i->state], "episode", i->episode, "maxEpisodes",
			 i->max_episodes, "step", (json_int_t)i->step, "score", i->score, "fps",
			 i->fps, "fpsTarget", i->fps_target, "playing", i->playing, "slow", slow,
			 "rttMs", i->rtt_ms, "lagMs", i->lag_ms, "frames", (json_int_t)i->frames,
			 "dropped", (json_int_t)i->dropped, "reconnects", i->reconnects,
			 "startedAt", started, "viewers", i->viewers);
}

static void add_info(void *user, const struct sess_info *i)
{
	json_array_append_new(user, info_json(i));
}

/* Every live session, sorted by project and userId. */
static json_t *sessions_json(struct console *c)
{
	json_t *list = json_array();
	if (c->o.sess)
		sess_each(c->o.sess, add_info, list);
	size_t n = json_array_size(list);
	for (size_t a = 1; a < n; a++)
		for (size_t b = a; b > 0; b--) {
			json_t *x = json_array_get(list, b - 1), *y = json_array_get(list, b);
			int k = strcmp(json_string_value(json_object_get(x, "project")),
				       json_string_value(json_object_get(y, "project")));
			if (!k)
				k = strcmp(json_string_value(json_object_get(x, "userId")),
					   json_string_value(json_object_get(y, "userId")));
			if (k <= 0)
				break;
			json_incref(x);
			json_array_set(list, b - 1, y);
			json_array_set_new(list, b, x);
		}
	char now[CLOCK_ISO_LEN];
	clock_iso8601_now(now, sizeof now);
	return json_pack("{s:s,s:o}", "at", now, "sessions", list);
}

int con__sessions(struct console *c, struct con_job *j)
{
	j->out = sessions_json(c);
	return 200;
}

/* Appends the event NAME with DATA (one line) to SUB's stream if it fits.
 * Returns 0, 1 (no room: skipped), -1 (the client is gone). */
static int send_event(struct con_sub *sub, const char *name, const char *data, size_t len)
{
	struct buf b;
	buf_init(&b, 0);
	int rc = -1;
	if (buf_printf(&b, "event: %s\ndata: ", name) == 0 && buf_append(&b, data, len) == 0 &&
	    buf_append(&b, "\n\n", 2) == 0)
		rc = http_stream_try_write(sub->st, b.data, b.len);
	buf_free(&b);
	if (rc == 0)
		sub->last_write = clock_mono_ms();
	return rc;
}

static int send_json(struct con_sub *sub, const char *name, json_t *j)
{
	char *text = json_dumps(j, JSON_COMPACT);
	json_decref(j);
	if (!text)
		return 1;
	int rc = send_event(sub, name, text, strlen(text));
	free(text);
	return rc;
}

static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* The frame event: {"id": n, "jpeg": "<base64>"}. */
static int send_frame(struct con_sub *sub)
{
	struct sess_view *v = &sub->view;
	struct buf b;
	buf_init(&b, 0);
	int rc = -1;
	if (buf_printf(&b, "event: frame\ndata: {\"id\":%llu,\"jpeg\":\"", v->frame_id) < 0)
		goto out;
	size_t n = v->len;
	if (buf_reserve(&b, (n + 2) / 3 * 4 + 8) < 0)
		goto out;
	char *o = b.data + b.len;
	size_t i = 0;
	for (; i + 2 < n; i += 3) {
		unsigned x = (unsigned)v->jpeg[i] << 16 | (unsigned)v->jpeg[i + 1] << 8 | v->jpeg[i + 2];
		*o++ = b64[x >> 18];
		*o++ = b64[(x >> 12) & 63];
		*o++ = b64[(x >> 6) & 63];
		*o++ = b64[x & 63];
	}
	if (i < n) {
		unsigned x = (unsigned)v->jpeg[i] << 16 | (i + 1 < n ? (unsigned)v->jpeg[i + 1] << 8 : 0);
		*o++ = b64[x >> 18];
		*o++ = b64[(x >> 12) & 63];
		*o++ = i + 1 < n ? b64[(x >> 6) & 63] : '=';
		*o++ = '=';
	}
	b.len = (size_t)(o - b.data);
	if (buf_append(&b, "\"}\n\n", 4) < 0)
		goto out;
	rc = http_stream_try_write(sub->st, b.data, b.len);
	if (rc == 0)
		sub->last_write = clock_mono_ms();
out:
	buf_free(&b);
	return rc;
}

static void audit_spectate(struct console *c, struct con_sub *sub, int64_t ms)
{
	json_t *e = json_pack("{s:s,s:{s:s,s:s},s:s,s:s,s:I,s:I,s:I}", "action", "spectate", "by",
			      "name", sub->viewer, "address", sub->ip, "project", sub->project,
			      "userId", sub->user, "seconds", (json_int_t)(ms / 1000), "frames",
			      (json_int_t)sub->frames, "framesSkipped", (json_int_t)sub->skipped);
	char id[48], err[256];
	if (audit_append(c->data_dir, e, id, sizeof id, err, sizeof err) < 0)
		log_error("console", "audit entry not written", "error=\"%s\"", err);
	json_decref(e);
}

/* One look at a viewer's session. Returns false when the viewer is done. */
static bool spectate_tick(struct console *c, struct con_sub *sub, int64_t now)
{
	struct sess_mgr *m = c->o.sess;
	if (!sub->watching) {
		if (!m || sess_watch(m, sub->project, sub->user, 1) < 0) {
			send_json(sub, "end", json_pack("{s:s}", "reason", "no live game session"));
			return false;
		}
		sub->watching = true;
		log_info("console", "spectating", "project=%s user=%s viewer=\"%s\" peer=%s",
			 sub->project, sub->user, sub->viewer, sub->ip);
	}
	unsigned long long before = sub->view.frame_id;
	int k = sess_view_take(m, sub->project, sub->user, &sub->view);
	if (k < 0) {
		send_json(sub, "end", json_pack("{s:s}", "reason", "the game session ended"));
		return false;
	}
	for (int i = 0; i < sub->view.nin; i++) {
		const struct sess_view_input *in = &sub->view.in[i];
		json_t *msg = json_loads(in->text, 0, NULL);
		json_t *ev = json_pack("{s:I,s:I,s:o}", "seq", (json_int_t)in->seq, "t",
				       (json_int_t)in->t_ms, "msg",
				       msg ? msg : json_string(in->text));
		if (send_json(sub, "input", ev) < 0)
			return false;
	}
	if (k == 1) {
		int r = send_frame(sub);
		if (r < 0)
			return false;
		if (r == 1) {
			sub->skipped++;
			sub->view.frame_id = before; /* take the newest again next time */
		} else {
			sub->frames++;
		}
	}
	if (now >= sub->next_state) {
		sub->next_state = now + SPECTATE_STATE_MS;
		json_t *st = info_json(&sub->view.info);
		json_object_set_new(st, "framesShown", json_integer((json_int_t)sub->frames));
		json_object_set_new(st, "framesSkipped", json_integer((json_int_t)sub->skipped));
		json_object_set_new(st, "inputsMissed",
				    json_integer((json_int_t)sub->view.inputs_missed));
		if (send_json(sub, "state", st) < 0)
			return false;
	}
	return true;
}

static void sub_end(struct console *c, struct con_sub *sub)
{
	if (sub->kind == CON_SPECTATE && sub->watching) {
		sess_watch(c->o.sess, sub->project, sub->user, -1);
		int64_t ms = clock_mono_ms() - sub->started;
		log_info("console", "spectating ended",
			 "project=%s user=%s viewer=\"%s\" peer=%s seconds=%lld frames=%llu "
			 "skipped=%llu",
			 sub->project, sub->user, sub->viewer, sub->ip, (long long)(ms / 1000),
			 sub->frames, sub->skipped);
		audit_spectate(c, sub, ms);
	}
	http_stream_close(sub->st, 0, NULL);
	free(sub->view.jpeg);
	free(sub);
}

static void *live_main(void *arg)
{
	struct con_live *L = arg;
	struct console *c = L->c;
	struct con_sub *subs = NULL;
	int64_t next_list = clock_mono_ms();
	pthread_mutex_lock(&L->mu);
	while (!L->stop) {
		while (L->incoming) {
			struct con_sub *s = L->incoming;
			L->incoming = s->next;
			s->next = subs;
			subs = s;
		}
		pthread_mutex_unlock(&L->mu);
		int64_t now = clock_mono_ms();
		bool viewers = false, lists = false;
		char *list_text = NULL;
		if (now >= next_list) {
			for (struct con_sub *s = subs; s; s = s->next)
				lists = lists || s->kind == CON_LIVE;
			if (lists) {
				json_t *j = sessions_json(c);
				list_text = json_dumps(j, JSON_COMPACT);
				json_decref(j);
			}
			next_list += LIVE_TICK_MS;
			if (next_list <= now)
				next_list = now + LIVE_TICK_MS;
		}
		size_t gone = 0;
		for (struct con_sub **pp = &subs; *pp;) {
			struct con_sub *s = *pp;
			bool keep = true;
			if (s->kind == CON_LIVE) {
				if (list_text)
					keep = send_event(s, "sessions", list_text, strlen(list_text)) >= 0;
			} else {
				viewers = true;
				keep = spectate_tick(c, s, now);
			}
			if (keep && now - s->last_write > BEAT_MS)
				keep = http_stream_try_write(s->st, ": beat\n\n", 8) >= 0;
			if (!keep) {
				*pp = s->next;
				sub_end(c, s);
				gone++;
			} else {
				pp = &s->next;
			}
		}
		free(list_text);
		pthread_mutex_lock(&L->mu);
		L->nsubs -= gone;
		if (L->stop || L->incoming)
			continue;
		int64_t wake = viewers ? now + SPECTATE_TICK_MS : next_list;
		if (!subs && !L->incoming)
			wake = now + 3600 * 1000;
		struct timespec ts = clock_deadline(CLOCK_MONOTONIC, wake - clock_mono_ms());
		pthread_cond_timedwait(&L->cv, &L->mu, &ts);
	}
	pthread_mutex_unlock(&L->mu);
	while (subs) {
		struct con_sub *s = subs;
		subs = s->next;
		sub_end(c, s);
	}
	return NULL;
}

int con__live_start(struct console *c)
{
	struct con_live *L = calloc(1, sizeof *L);
	if (!L)
		return -1;
	L->c = c;
	pthread_mutex_init(&L->mu, NULL);
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&L->cv, &ca);
	pthread_condattr_destroy(&ca);
	L->started = pthread_create(&L->th, NULL, live_main, L) == 0;
	c->live = L;
	return L->started ? 0 : -1;
}

void con__live_stop(struct console *c)
{
	struct con_live *L = c->live;
	if (!L)
		return;
	pthread_mutex_lock(&L->mu);
	L->stop = true;
	pthread_cond_signal(&L->cv);
	pthread_mutex_unlock(&L->mu);
	if (L->started)
		pthread_join(L->th, NULL);
	while (L->incoming) {
		struct con_sub *s = L->incoming;
		L->incoming = s->next;
		sub_end(c, s);
	}
	pthread_mutex_destroy(&L->mu);
	pthread_cond_destroy(&L->cv);
	free(L);
	c->live = NULL;
}

int con__live_subscribe(struct console *c, enum con_kind kind, const struct con_job *j,
			struct http_response *resp)
{
	struct con_live *L = c->live;
	if (kind == CON_SPECTATE) {
		enum sess_state st =
			c->o.sess ? sess_get_state(c->o.sess, j->project, j->user, NULL) : SESS_NONE;
		if (st == SESS_NONE || st == SESS_ENDED) {
			http_respond_error(resp, 404, "this participant has no live game session");
			return 0;
		}
	}
	struct con_sub *sub = calloc(1, sizeof *sub);
	struct http_stream *st = http_stream_new(kind == CON_SPECTATE ? SPECTATE_BUF : LIVE_BUF);
	if (!sub || !st) {
		free(sub);
		if (st)
			http_stream_detach(st);
		http_respond_error(resp, 500, "out of memory");
		return 0;
	}
	sub->kind = kind;
	snprintf(sub->project, sizeof sub->project, "%s", j->project);
	snprintf(sub->user, sizeof sub->user, "%s", j->user);
	snprintf(sub->ip, sizeof sub->ip, "%s", j->ip);
	char viewer[96];
	struct con_job q = *j;
	if (con__query_text(&q, "viewer", viewer, sizeof viewer) <= 0)
		viewer[0] = '\0';
	for (char *p = viewer; *p; p++) /* a name for the log: printable ASCII, no quote */
		if (*p < 0x20 || *p > 0x7e || *p == '"' || *p == '\\')
			*p = '?';
	snprintf(sub->viewer, sizeof sub->viewer, "%s", viewer);
	sub->started = sub->last_write = clock_mono_ms();
	pthread_mutex_lock(&L->mu);
	bool full = L->nsubs >= LIVE_MAX_SUBS;
	if (!full) {
		sub->st = http_stream_ref(st);
		/* the headers go out at once */
		http_stream_try_write(sub->st, ": hello\n\n", 9);
		sub->next = L->incoming;
		L->incoming = sub;
		L->nsubs++;
		pthread_cond_signal(&L->cv);
	}
	pthread_mutex_unlock(&L->mu);
	if (full) {
		free(sub);
		http_stream_detach(st);
		http_add_header(resp, "Retry-After", "10");
		http_respond_error(resp, 503, "too many live streams at once");
		return 0;
	}
	http_response_set_body(resp, 200, "text/event-stream", NULL, 0);
	resp->stream = st;
	return 0;
}
