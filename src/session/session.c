/* session: the registry of game sessions, their lifecycle (allocate, attach,
 * grace period, max-runtime, end) and the worker threads that run them.
 *
 * Threads and locks (docs/ARCHITECTURE.md, "Threads"):
 * - the I/O thread (src/net/server.c) attaches connections, feeds messages
 *   and takes output; it never steps, renders, encodes or writes files,
 *   except for sess_stop, which ends a trial synchronously;
 * - each worker owns a list of sessions and runs them on its own timer loop
 *   (condition variable with an absolute deadline: the next frame tick, flush,
 *   grace or max-runtime deadline of its sessions);
 * - a session's state is guarded by its mutex; the registry and the wake list
 *   by the manager's mutex. Order: session, then manager; never the reverse.
 * Session objects live until the manager is freed (ended ones stay as small
 * tombstones so sess_get_state can report why they ended). */
#include "session/session.h"

#include <libwebsockets.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "core/config.h"
#include "core/id.h"
#include "session/sess_conn.h"
#include "trial/recorder.h"
#include "trial/tilejpeg.h"
#include "trial/trial.h"

#define SESS_CTRL_MAX 64 /* queued control messages per session; errors beyond are dropped */

struct ctrl {
	unsigned char *buf; /* headroom + message */
	size_t len;
	bool done;
};

struct fbuf {
	unsigned char *p;   /* headroom + message */
	size_t cap, len;
	size_t time_off;    /* where the send time goes */
	bool binary;
};

struct sess {
	pthread_mutex_t mu;
	struct sess_mgr *m;
	char project_id[MSG_ID_MAX + 1];
	char user_id[MSG_ID_MAX + 1];
	const struct cfg *cfg;
	struct trial *trial;          /* NULL once ended */
	enum sess_state state;
	enum sess_end_reason reason;
	int worker;
	void *conn;                   /* written on the I/O thread only */
	bool binary;
	struct ctrl q[SESS_CTRL_MAX + 1];
	int qhead, qlen;
	unsigned char *ctrl_out;      /* the control message handed out last */
	bool closing;                 /* "done" was handed out */
	struct fbuf fpend, fsend;
	bool frame_ready;
	bool wake_queued;             /* guarded by m->mu */
	struct sess *wake_next;       /* guarded by m->mu */
	int64_t grace_deadline, max_deadline;
	int grace_s;
};

struct worker {
	pthread_t th;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct sess **list, **local;
	size_t n, cap;
	bool stop, kicked, started;
	struct trial_scratch sc;
};

struct sess_mgr {
	struct sess_mgr_config c;
	pthread_mutex_t mu;
	struct sess **all;
	size_t n, cap;
	struct sess *wake_head;
	struct worker *w;
	int nw;
	struct tile_cache *tiles; /* encoded MCUs shared by the workers */
	sess_end_fn end_fn;
	void *end_user;
	unsigned long long frames_sent; /* atomic: frames handed to connections */
};

const char *sess_end_reason_name(enum sess_end_reason r)
{
	static const char *const names[] = {"none",	   "done",	  "stop",     "stop_step",
					    "max_runtime", "grace",	  "error",    "shutdown"};
	return (unsigned)r < sizeof names / sizeof names[0] ? names[r] : "unknown";
}

/* ---- output (called with s->mu held) ---- */

static void wake(struct sess *s)
{
	if (!s->conn)
		return;
	struct sess_mgr *m = s->m;
	bool first = false;
	pthread_mutex_lock(&m->mu);
	if (!s->wake_queued) {
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
	wake(s);
}

static bool fbuf_reserve(struct fbuf *f, size_t need)
{
	if (f->cap >= need)
		return true;
	size_t cap = f->cap ? f->cap : 32768;
	while (cap < need)
		cap *= 2;
	unsigned char *p = realloc(f->p, cap);
	if (!p)
		return false;
	f->p = p;
	f->cap = cap;
	return true;
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
	f->binary = s->binary;
	if (s->binary) {
		/* 16-byte header: type 1, 3 zero bytes, frameId (u32 BE), send time ms (u64 BE) */
		if (!fbuf_reserve(f, h + 16 + len))
			return;
		unsigned char *p = f->p + h;
		memset(p, 0, 16);
		p[0] = 1;
		for (int i = 0; i < 4; i++)
			p[4 + i] = (unsigned char)(id >> (8 * (3 - i)));
		memcpy(p + 16, jpeg, len);
		f->len = 16 + len;
		f->time_off = 8;
	} else {
		size_t extra_len = strlen(extra);
		size_t b64 = 4 * ((len + 2) / 3);
		if (len > INT32_MAX / 2 || !fbuf_reserve(f, h + 96 + b64 + 8 + extra_len + 2))
			return;
		char *p = (char *)f->p + h;
		int n = snprintf(p, 96, "{\"frameId\":%llu,\"serverTime\":0000000000000,\"frame\":\"",
				 id);
		f->time_off = (size_t)n - 23; /* the 13 zeros before ,"frame":" */
		/* lws wants a little room past the encoded text */
		int w = lws_b64_encode_string((const char *)jpeg, (int)len, p + n, (int)(b64 + 8));
		if (w < 0)
			return;
		size_t pos = (size_t)n + (size_t)w;
		p[pos++] = '"';
		memcpy(p + pos, extra, extra_len);
		pos += extra_len;
		p[pos++] = '}';
		f->len = pos;
	}
	s->frame_ready = true;
	wake(s);
}

static void stamp_time(struct fbuf *f, size_t h)
{
	long long ms = trial_wall_ms();
	unsigned char *p = f->p + h + f->time_off;
	if (f->binary) {
		for (int i = 0; i < 8; i++)
			p[i] = (unsigned char)((unsigned long long)ms >> (8 * (7 - i)));
	} else {
		for (int i = 12; i >= 0; i--) {
			p[i] = (unsigned char)('0' + ms % 10);
			ms /= 10;
		}
	}
}

static struct trial_sink sink_of(struct sess *s)
{
	return (struct trial_sink){.user = s, .text = sink_text, .frame = sink_frame};
}

static void clear_ctrl(struct sess *s)
{
	while (s->qlen > 0) {
		free(s->q[s->qhead].buf);
		s->qhead = (s->qhead + 1) % (SESS_CTRL_MAX + 1);
		s->qlen--;
	}
}

/* ---- workers ---- */

static void kick(struct sess_mgr *m, int wi)
{
	struct worker *w = &m->w[wi];
	pthread_mutex_lock(&w->mu);
	w->kicked = true;
	pthread_cond_signal(&w->cv);
	pthread_mutex_unlock(&w->mu);
}

struct ended {
	bool yes;
	enum sess_end_reason reason;
	char **files;
};

/* With s->mu held: if the trial has ended, turns the session into a tombstone
 * and fills E for the end callback (made after unlocking). */
static void end_locked(struct sess *s, struct ended *e)
{
	e->yes = false;
	if (!s->trial || trial_ended(s->trial) == SESS_END_NONE)
		return;
	e->yes = true;
	e->reason = trial_ended(s->trial);
	const char *const *f = trial_files(s->trial);
	size_t n = 0;
	while (f[n])
		n++;
	e->files = calloc(n + 1, sizeof *e->files);
	for (size_t i = 0; e->files && i < n; i++)
		e->files[i] = strdup(f[i]);
	trial_free(s->trial);
	s->trial = NULL;
	s->state = SESS_ENDED;
	s->reason = e->reason;
	s->frame_ready = false;
	free(s->fpend.p);
	s->fpend = (struct fbuf){0};
	if (!s->conn) {
		free(s->fsend.p);
		s->fsend = (struct fbuf){0};
	}
}

static void notify_end(struct sess *s, struct ended *e)
{
	if (!e->yes)
		return;
	struct sess_mgr *m = s->m;
	if (m->end_fn)
		m->end_fn(m->end_user, s->project_id, s->user_id, e->reason,
			  (const char *const *)(e->files ? e->files : (char *[]){NULL}));
	for (size_t i = 0; e->files && e->files[i]; i++)
		free(e->files[i]);
	free(e->files);
	e->yes = false;
}

/* Runs what is due for S at NOW. Returns the next deadline, or -1 when the
 * session has ended (the worker drops it). */
static int64_t service(struct sess *s, int64_t now, struct trial_scratch *sc)
{
	struct ended e = {0};
	struct trial_sink sink = sink_of(s);
	pthread_mutex_lock(&s->mu);
	if (!s->trial) {
		pthread_mutex_unlock(&s->mu);
		return -1;
	}
	if (now >= s->max_deadline)
		trial_end(s->trial, SESS_END_MAX_RUNTIME, &sink);
	else if (s->state == SESS_PAUSED && now >= s->grace_deadline)
		trial_end(s->trial, SESS_END_GRACE, &sink);
	int64_t d = trial_due(s->trial);
	if (d <= now) {
		trial_run(s->trial, now, sc, &sink);
		d = trial_due(s->trial);
		if (d <= now)
			d = now + 1000000; /* nothing more could be done now: retry soon */
	}
	end_locked(s, &e);
	int64_t next = e.yes ? -1 : d;
	if (next >= 0 && s->max_deadline < next)
		next = s->max_deadline;
	if (next >= 0 && s->state == SESS_PAUSED && s->grace_deadline < next)
		next = s->grace_deadline;
	pthread_mutex_unlock(&s->mu);
	notify_end(s, &e);
	return next;
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	pthread_mutex_lock(&w->mu);
	while (!w->stop) {
		size_t n = w->n;
		if (n)
			memcpy(w->local, w->list, n * sizeof *w->list);
		w->kicked = false;
		pthread_mutex_unlock(&w->mu);
		int64_t now = trial_now_ns();
		int64_t next = now + 1000000000;
		size_t removed = 0;
		for (size_t i = 0; i < n; i++) {
			int64_t d = service(w->local[i], now, &w->sc);
			if (d < 0) {
				w->local[i] = NULL;
				removed++;
			} else if (d < next) {
				next = d;
			}
		}
		pthread_mutex_lock(&w->mu);
		if (removed) {
			/* the first N entries are the ones serviced (others were appended since) */
			size_t j = 0;
			for (size_t i = 0; i < w->n; i++)
				if (i >= n || w->local[i])
					w->list[j++] = w->list[i];
			w->n = j;
		}
		if (w->kicked || w->stop)
			continue;
		int64_t now2 = trial_now_ns();
		if (next > now2) {
			struct timespec ts = {.tv_sec = next / 1000000000, .tv_nsec = next % 1000000000};
			pthread_cond_timedwait(&w->cv, &w->mu, &ts);
		}
	}
	pthread_mutex_unlock(&w->mu);
	return NULL;
}

/* Adds S to the least loaded worker. */
static int assign(struct sess_mgr *m, struct sess *s)
{
	int best = 0;
	for (int i = 1; i < m->nw; i++)
		if (m->w[i].n < m->w[best].n)
			best = i;
	struct worker *w = &m->w[best];
	pthread_mutex_lock(&w->mu);
	if (w->n == w->cap) {
		size_t cap = w->cap ? w->cap * 2 : 64;
		struct sess **l = realloc(w->list, cap * sizeof *l);
		struct sess **c = l ? realloc(w->local, cap * sizeof *c) : NULL;
		if (l)
			w->list = l;
		if (!l || !c) {
			pthread_mutex_unlock(&w->mu);
			return -1;
		}
		w->local = c;
		w->cap = cap;
	}
	w->list[w->n++] = s;
	s->worker = best;
	w->kicked = true;
	pthread_cond_signal(&w->cv);
	pthread_mutex_unlock(&w->mu);
	return 0;
}

/* ---- registry ---- */

/* With m->mu held: the live session of (PROJECT, USER) (any project when
 * PROJECT is ""), else the newest ended one, else NULL. */
static struct sess *find_locked(struct sess_mgr *m, const char *project, const char *user)
{
	struct sess *ended = NULL;
	for (size_t i = m->n; i-- > 0;) {
		struct sess *s = m->all[i];
		if (strcmp(s->user_id, user) != 0 || (project[0] && strcmp(s->project_id, project)))
			continue;
		if (s->state != SESS_ENDED)
			return s;
		if (!ended)
			ended = s;
	}
	return ended;
}

static struct sess *create(struct sess_mgr *m, const struct cfg *cfg, const char *user_id,
			   char *err, size_t errlen)
{
	const char *pid = cfg->project.id && id_valid_project(cfg->project.id) ? cfg->project.id
									  : "default";
	struct sess *s = calloc(1, sizeof *s);
	if (!s) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	pthread_mutex_init(&s->mu, NULL);
	s->m = m;
	s->cfg = cfg;
	snprintf(s->project_id, sizeof s->project_id, "%s", pid);
	snprintf(s->user_id, sizeof s->user_id, "%s", user_id);
	struct trial_params tp = {
		.cfg = cfg, .data_dir = m->c.data_dir, .project_id = pid, .user_id = user_id};
	s->trial = trial_new(&tp, err, errlen);
	if (!s->trial) {
		pthread_mutex_destroy(&s->mu);
		free(s);
		return NULL;
	}
	int64_t now = trial_now_ns();
	int max_min = cfg->project.max_runtime_min > 0 ? cfg->project.max_runtime_min : 60;
	s->max_deadline = now + (int64_t)max_min * 60 * 1000000000;
	s->grace_s = m->c.grace_s >= 0 ? m->c.grace_s : cfg->trial.reconnect_grace_s;
	if (s->grace_s < 0)
		s->grace_s = 60;
	s->state = SESS_READY;
	return s;
}

/* Inserts S unless a live session for the same participant appeared meanwhile
 * (then S is discarded and that one returned). */
static struct sess *insert(struct sess_mgr *m, struct sess *s)
{
	pthread_mutex_lock(&m->mu);
	struct sess *other = find_locked(m, s->project_id, s->user_id);
	if (other && other->state != SESS_ENDED) {
		pthread_mutex_unlock(&m->mu);
		trial_free(s->trial);
		pthread_mutex_destroy(&s->mu);
		free(s);
		return other;
	}
	if (m->n == m->cap) {
		size_t cap = m->cap ? m->cap * 2 : 256;
		struct sess **a = realloc(m->all, cap * sizeof *a);
		if (!a) {
			pthread_mutex_unlock(&m->mu);
			trial_free(s->trial);
			pthread_mutex_destroy(&s->mu);
			free(s);
			return NULL;
		}
		m->all = a;
		m->cap = cap;
	}
	m->all[m->n++] = s;
	pthread_mutex_unlock(&m->mu);
	if (assign(m, s) < 0) {
		pthread_mutex_lock(&s->mu);
		struct trial_sink sink = sink_of(s);
		trial_end(s->trial, SESS_END_ERROR, &sink);
		struct ended e;
		end_locked(s, &e);
		pthread_mutex_unlock(&s->mu);
		notify_end(s, &e);
		return NULL;
	}
	return s;
}

int sess_allocate(struct sess_mgr *m, const struct cfg *cfg, const char *user_id, char *err,
		  size_t errlen)
{
	if (!id_valid_user(user_id)) {
		snprintf(err, errlen, "userId must match " ID_USER_RULE);
		return -1;
	}
	const char *pid = cfg->project.id ? cfg->project.id : "default";
	pthread_mutex_lock(&m->mu);
	struct sess *s = find_locked(m, pid, user_id);
	bool live = s && s->state != SESS_ENDED;
	pthread_mutex_unlock(&m->mu);
	if (live)
		return 0;
	if (m->c.max_sessions && sess__live(m) >= m->c.max_sessions) {
		snprintf(err, errlen, "too many live sessions (%zu)", m->c.max_sessions);
		return -1;
	}
	s = create(m, cfg, user_id, err, errlen);
	if (!s)
		return -1;
	if (!insert(m, s)) {
		snprintf(err, errlen, "could not start the session");
		return -1;
	}
	return 0;
}

static struct sess *lookup(struct sess_mgr *m, const char *project, const char *user)
{
	pthread_mutex_lock(&m->mu);
	struct sess *s = find_locked(m, project ? project : "", user);
	pthread_mutex_unlock(&m->mu);
	return s;
}

static void stop_sess(struct sess *s, enum sess_end_reason reason)
{
	struct ended e = {0};
	pthread_mutex_lock(&s->mu);
	if (s->trial) {
		struct trial_sink sink = sink_of(s);
		trial_end(s->trial, reason, &sink);
		end_locked(s, &e);
	}
	int wi = s->worker;
	pthread_mutex_unlock(&s->mu);
	notify_end(s, &e);
	kick(s->m, wi);
}

void sess_stop(struct sess_mgr *m, const char *project_id, const char *user_id,
	       enum sess_end_reason reason)
{
	struct sess *s = lookup(m, project_id, user_id);
	if (s)
		stop_sess(s, reason);
}

enum sess_state sess_get_state(struct sess_mgr *m, const char *project_id, const char *user_id,
			       enum sess_end_reason *reason)
{
	struct sess *s = lookup(m, project_id, user_id);
	if (!s)
		return SESS_NONE;
	pthread_mutex_lock(&s->mu);
	enum sess_state st = s->state;
	if (st == SESS_READY && s->trial && trial_starting(s->trial))
		st = SESS_STARTING; /* its environment process has not said hello yet */
	if (reason)
		*reason = st == SESS_ENDED ? s->reason : SESS_END_NONE;
	pthread_mutex_unlock(&s->mu);
	return st;
}

void sess_on_end(struct sess_mgr *m, sess_end_fn fn, void *user)
{
	pthread_mutex_lock(&m->mu);
	m->end_fn = fn;
	m->end_user = user;
	pthread_mutex_unlock(&m->mu);
}

/* ---- manager ---- */

struct sess_mgr *sess__mgr_new(const struct sess_mgr_config *c, char *err, size_t errlen)
{
	struct sess_mgr *m = calloc(1, sizeof *m);
	if (!m) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	m->c = *c;
	m->nw = c->workers > 0 ? c->workers : 1;
	pthread_mutex_init(&m->mu, NULL);
	m->w = calloc((size_t)m->nw, sizeof *m->w);
	if (!m->w) {
		snprintf(err, errlen, "out of memory");
		free(m);
		return NULL;
	}
	m->tiles = tile_cache_new(32u << 20);
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	for (int i = 0; i < m->nw; i++) {
		struct worker *w = &m->w[i];
		pthread_mutex_init(&w->mu, NULL);
		pthread_cond_init(&w->cv, &ca);
		w->sc.cache = m->tiles;
		if (pthread_create(&w->th, NULL, worker_main, w) != 0) {
			snprintf(err, errlen, "cannot start worker threads");
			pthread_condattr_destroy(&ca);
			sess__mgr_free(m);
			return NULL;
		}
		w->started = true;
	}
	pthread_condattr_destroy(&ca);
	return m;
}

void sess__shutdown(struct sess_mgr *m)
{
	pthread_mutex_lock(&m->mu);
	size_t n = m->n;
	struct sess **copy = n ? malloc(n * sizeof *copy) : NULL;
	if (copy)
		memcpy(copy, m->all, n * sizeof *copy);
	pthread_mutex_unlock(&m->mu);
	for (size_t i = 0; copy && i < n; i++)
		stop_sess(copy[i], SESS_END_SHUTDOWN);
	free(copy);
}

size_t sess__live(struct sess_mgr *m)
{
	size_t live = 0;
	pthread_mutex_lock(&m->mu);
	size_t n = m->n;
	pthread_mutex_unlock(&m->mu);
	for (size_t i = 0; i < n; i++) {
		pthread_mutex_lock(&m->mu);
		struct sess *s = m->all[i];
		pthread_mutex_unlock(&m->mu);
		pthread_mutex_lock(&s->mu);
		live += s->state != SESS_ENDED;
		pthread_mutex_unlock(&s->mu);
	}
	return live;
}

void sess__mgr_free(struct sess_mgr *m)
{
	if (!m)
		return;
	sess__shutdown(m);
	for (int i = 0; i < m->nw; i++) {
		struct worker *w = &m->w[i];
		if (!w->started)
			continue;
		pthread_mutex_lock(&w->mu);
		w->stop = true;
		pthread_cond_signal(&w->cv);
		pthread_mutex_unlock(&w->mu);
		pthread_join(w->th, NULL);
	}
	for (int i = 0; i < m->nw; i++) {
		struct worker *w = &m->w[i];
		trial_scratch_free(&w->sc);
		free(w->list);
		free(w->local);
		pthread_mutex_destroy(&w->mu);
		pthread_cond_destroy(&w->cv);
	}
	for (size_t i = 0; i < m->n; i++) {
		struct sess *s = m->all[i];
		trial_free(s->trial);
		clear_ctrl(s);
		free(s->ctrl_out);
		free(s->fpend.p);
		free(s->fsend.p);
		pthread_mutex_destroy(&s->mu);
		free(s);
	}
	free(m->all);
	free(m->w);
	tile_cache_free(m->tiles);
	rec_sync_wait(); /* every record on disk before the server is gone */
	pthread_mutex_destroy(&m->mu);
	free(m);
}

/* ---- connections (I/O thread) ---- */

static void uuid4(char out[37])
{
	unsigned char b[16];
	if (getrandom(b, sizeof b, 0) != (ssize_t)sizeof b) {
		uint64_t x = (uint64_t)trial_now_ns();
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

struct sess *sess__attach(struct sess_mgr *m, const struct trial_msg *hs, void *conn,
			  bool binary, void **replaced, char *err, size_t errlen)
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
		project = open->project.id && id_valid_project(open->project.id) ? open->project.id
									   : "default";
	struct sess *s = lookup(m, project, user);
	if (!s || s->state == SESS_ENDED) {
		if (!open) {
			snprintf(err, errlen, s ? "the session of this participant has ended"
						: "no session for this participant");
			return NULL;
		}
		if (m->c.max_sessions && sess__live(m) >= m->c.max_sessions) {
			snprintf(err, errlen, "the server is full, try again later");
			return NULL;
		}
		s = create(m, open, user, err, errlen);
		if (!s)
			return NULL;
		s = insert(m, s);
		if (!s) {
			snprintf(err, errlen, "could not start the session");
			return NULL;
		}
	}
	pthread_mutex_lock(&s->mu);
	if (!s->trial) {
		pthread_mutex_unlock(&s->mu);
		snprintf(err, errlen, "the session of this participant has ended");
		return NULL;
	}
	*replaced = s->conn;
	clear_ctrl(s);
	s->closing = false;
	s->frame_ready = false;
	s->conn = conn;
	s->binary = binary;
	s->state = SESS_RUNNING;
	struct trial_sink sink = sink_of(s);
	trial_on_attach(s->trial, hs, &sink);
	int wi = s->worker;
	pthread_mutex_unlock(&s->mu);
	kick(m, wi);
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
	clear_ctrl(s);
	s->frame_ready = false;
	if (s->trial) {
		trial_on_detach(s->trial);
		s->state = SESS_PAUSED;
		int64_t g = trial_now_ns() + (int64_t)s->grace_s * 1000000000;
		s->grace_deadline = g < s->max_deadline ? g : s->max_deadline;
	} else {
		free(s->fsend.p);
		s->fsend = (struct fbuf){0};
	}
	int wi = s->worker;
	pthread_mutex_unlock(&s->mu);
	kick(s->m, wi);
}

void sess__message(struct sess *s, const struct trial_msg *msg)
{
	pthread_mutex_lock(&s->mu);
	if (s->trial) {
		struct trial_sink sink = sink_of(s);
		trial_on_message(s->trial, msg, trial_now_ns(), &sink);
	}
	int wi = s->worker;
	pthread_mutex_unlock(&s->mu);
	kick(s->m, wi);
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
	} else if (s->frame_ready) {
		struct fbuf t = s->fsend;
		s->fsend = s->fpend;
		s->fpend = t;
		s->frame_ready = false;
		stamp_time(&s->fsend, h);
		__atomic_fetch_add(&s->m->frames_sent, 1, __ATOMIC_RELAXED);
		*buf = s->fsend.p + h;
		*len = s->fsend.len;
		out = s->fsend.binary ? SESS_OUT_BINARY : SESS_OUT_TEXT;
	}
	*more = s->qlen > 0 || s->frame_ready || s->closing;
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
		for (size_t i = 0; i < n; i++)
			if (batch[i]->conn)
				fn(batch[i]->conn, user);
		if (n < sizeof batch / sizeof batch[0])
			return;
	}
}

void sess_stats(struct sess_mgr *m, struct sess_stats *st)
{
	st->frames_sent = __atomic_load_n(&m->frames_sent, __ATOMIC_RELAXED);
	st->live = sess__live(m);
}
