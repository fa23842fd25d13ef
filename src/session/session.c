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
 * - a session's state is guarded by its mutex; the registry, the wake list,
 *   the counters and the per-address allowances by the manager's mutex.
 *   Order: session, then manager (or a worker's); never the reverse.
 *
 * Lifetime: a session object is reference counted. References are held by
 * the registry (from insertion until its end callback has returned), the
 * worker list it runs on, the connection attached to it (from attach to
 * detach; a replaced connection hands its reference to the new one), the
 * wake list while it is queued there, and callers for the length of a call.
 * The last unref frees it, always outside its own callbacks and without
 * locks held. An ended session thus disappears once its end is reported;
 * the store's session record says why it ended. */
#include "session/session.h"

#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <time.h>

#include "core/clock.h"
#include "core/config.h"
#include "core/id.h"
#include "session/sess_conn.h"
#include "trial/recorder.h"
#include "render/tilejpeg.h"
#include "trial/trial.h"
#include "trial/wire.h"

#define SESS_CTRL_MAX 64 /* queued control messages per session; errors beyond are dropped */
#define SESS_ALLOC_RATE 120     /* default allocations per client address and minute */
#define SESS_ADDR_MAX 65536     /* client addresses tracked at most */
#define SESS_ADDR_BUCKETS 4096  /* hash buckets of the allowance table */
#define SESS_END_LISTENERS 8    /* sess_on_end listeners at most */

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
	int refs;                     /* atomic */
	struct sess *hnext;           /* registry chain; guarded by m->mu */
	struct sess *oprev, *onext;   /* every object of the manager; guarded by m->mu */
	bool registered;              /* in the registry; guarded by m->mu */
	bool ended;                   /* state is SESS_ENDED; guarded by m->mu (for lookups) */
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
	bool fail_close;              /* the trial failed: close so the client asks again */
	bool attached_once;           /* a client has connected */
	struct fbuf fpend, fsend;
	bool frame_ready;
	bool wake_queued;             /* guarded by m->mu */
	struct sess *wake_next;       /* guarded by m->mu */
	int64_t grace_deadline, max_deadline, connect_deadline;
	int grace_s, connect_s;
};

/* One client address's allowance of allocations (a token bucket). */
struct addr_bucket {
	struct addr_bucket *next;
	double tokens;
	int64_t at;                   /* when tokens was computed (monotonic ns) */
	char addr[64];
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
	struct sess **reg;            /* registry: chains by user id hash */
	size_t nreg, regcap;          /* entries, buckets (a power of two) */
	struct sess *objs;            /* every session object (for shutdown and free) */
	size_t nobjs, live;
	unsigned long long refused_full, refused_rate, connect_timeouts;
	int alloc_rate;               /* allocations per client and minute; 0: no limit */
	struct addr_bucket **addrs;   /* SESS_ADDR_BUCKETS chains */
	size_t naddrs;
	struct sess *wake_head;
	struct worker *w;
	int nw;
	struct tile_cache *tiles; /* encoded MCUs shared by the workers */
	struct { sess_end_fn fn; void *user; } ends[SESS_END_LISTENERS];
	int nends;
	sess_file_fn file_fn;         /* set before sessions exist */
	void *file_user;
	unsigned long long frames_sent; /* atomic: frames handed to connections */
	bool shutting_down;             /* atomic: sess__shutdown was called */
};

/* ---- references ---- */

/* FNV-1a: the registry's and the allowance table's hash. */
static size_t hash_user(const char *user)
{
	size_t h = 14695981039346656037u;
	for (const unsigned char *p = (const unsigned char *)user; *p; p++)
		h = (h ^ *p) * 1099511628211u;
	return h;
}

static void ref(struct sess *s)
{
	__atomic_add_fetch(&s->refs, 1, __ATOMIC_RELAXED);
}

static void clear_ctrl(struct sess *s);

/* Frees S (no references left, not reachable any more). */
static void sess_free(struct sess *s)
{
	trial_free(s->trial);
	clear_ctrl(s);
	free(s->ctrl_out);
	free(s->fpend.p);
	free(s->fsend.p);
	pthread_mutex_destroy(&s->mu);
	free(s);
}

/* Drops a reference; the last one frees S. Never called with a lock held. */
static void unref(struct sess *s)
{
	if (__atomic_sub_fetch(&s->refs, 1, __ATOMIC_ACQ_REL) != 0)
		return;
	struct sess_mgr *m = s->m;
	pthread_mutex_lock(&m->mu);
	if (s->oprev)
		s->oprev->onext = s->onext;
	else
		m->objs = s->onext;
	if (s->onext)
		s->onext->oprev = s->oprev;
	m->nobjs--;
	pthread_mutex_unlock(&m->mu);
	sess_free(s);
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
		ref(s); /* dropped by sess__drain_wakes */
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
	size_t max = wire_frame_max(len, strlen(extra), s->binary);
	if (!max || !fbuf_reserve(f, h + max))
		return;
	f->binary = s->binary;
	f->len = wire_frame(f->p + h, s->binary, jpeg, len, id, extra, &f->time_off);
	s->frame_ready = true;
	wake(s);
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

/* With s->mu held: if the trial has ended, frees it, marks the session ended
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
	struct sess_mgr *m = s->m;
	pthread_mutex_lock(&m->mu);
	s->ended = true;
	m->live--;
	if (e->reason == SESS_END_CONNECT_TIMEOUT)
		m->connect_timeouts++;
	pthread_mutex_unlock(&m->mu);
	if (e->reason == SESS_END_RECORD && s->conn && !s->closing) {
		/* no "done" (the game is not over): the connection is closed after
		 * the error, and the client comes back for a new session */
		s->fail_close = true;
		wake(s);
	}
}

/* Takes S out of the registry (its registry reference is dropped; the
 * caller still holds one). */
static void unregister(struct sess *s)
{
	struct sess_mgr *m = s->m;
	bool drop = false;
	pthread_mutex_lock(&m->mu);
	if (s->registered) {
		struct sess **pp = &m->reg[hash_user(s->user_id) & (m->regcap - 1)];
		while (*pp && *pp != s)
			pp = &(*pp)->hnext;
		if (*pp)
			*pp = s->hnext;
		s->hnext = NULL;
		s->registered = false;
		m->nreg--;
		drop = true;
	}
	pthread_mutex_unlock(&m->mu);
	if (drop)
		unref(s);
}

/* Reports the end (E from end_locked) to the end callback, then forgets the
 * session: from now on lookups find no session and the store (written by
 * the callback) says why it ended. The caller holds a reference. */
static void notify_end(struct sess *s, struct ended *e)
{
	if (!e->yes)
		return;
	struct sess_mgr *m = s->m;
	pthread_mutex_lock(&m->mu);
	int n = m->nends;
	struct { sess_end_fn fn; void *user; } ends[SESS_END_LISTENERS];
	memcpy(ends, m->ends, (size_t)n * sizeof ends[0]);
	pthread_mutex_unlock(&m->mu);
	const char *const *files = (const char *const *)(e->files ? e->files : (char *[]){NULL});
	for (int i = 0; i < n; i++)
		ends[i].fn(ends[i].user, s->project_id, s->user_id, e->reason, files);
	for (size_t i = 0; e->files && e->files[i]; i++)
		free(e->files[i]);
	free(e->files);
	e->yes = false;
	unregister(s);
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
	if (now >= s->max_deadline) {
		trial_end(s->trial, SESS_END_MAX_RUNTIME, &sink);
	} else if (s->state == SESS_PAUSED && now >= s->grace_deadline) {
		trial_end(s->trial, SESS_END_GRACE, &sink);
	} else if (!s->attached_once) {
		/* the connect timeout runs from when the session is ready */
		if (trial_starting(s->trial))
			s->connect_deadline = now + (int64_t)s->connect_s * 1000000000;
		else if (now >= s->connect_deadline)
			trial_end(s->trial, SESS_END_CONNECT_TIMEOUT, &sink);
	}
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
	if (next >= 0 && !s->attached_once && s->connect_deadline < next)
		next = s->connect_deadline;
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
		int64_t now = clock_mono_ns();
		int64_t next = now + 1000000000;
		size_t removed = 0;
		for (size_t i = 0; i < n; i++) {
			int64_t d = service(w->local[i], now, &w->sc);
			if (d < 0) {
				/* the list's reference; only this worker reads the
				 * list's entries, and the freed one is dropped below */
				unref(w->local[i]);
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
		int64_t now2 = clock_mono_ns();
		if (next > now2) {
			struct timespec ts = {.tv_sec = next / 1000000000, .tv_nsec = next % 1000000000};
			pthread_cond_timedwait(&w->cv, &w->mu, &ts);
		}
	}
	pthread_mutex_unlock(&w->mu);
	return NULL;
}

/* Adds S to the least loaded worker (the list takes a reference). */
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
	ref(s);
	w->list[w->n++] = s;
	s->worker = best;
	w->kicked = true;
	pthread_cond_signal(&w->cv);
	pthread_mutex_unlock(&w->mu);
	return 0;
}

/* ---- registry ---- */

/* With m->mu held: the live session of (PROJECT, USER) (any project when
 * PROJECT is ""), else the newest ended one whose end is being reported,
 * else NULL. */
static struct sess *find_locked(struct sess_mgr *m, const char *project, const char *user)
{
	if (!m->regcap)
		return NULL;
	struct sess *ended = NULL;
	for (struct sess *s = m->reg[hash_user(user) & (m->regcap - 1)]; s; s = s->hnext) {
		if (strcmp(s->user_id, user) != 0 || (project[0] && strcmp(s->project_id, project)))
			continue;
		if (!s->ended)
			return s;
		if (!ended)
			ended = s; /* chains are newest first */
	}
	return ended;
}

/* With m->mu held: adds S to the registry (which takes a reference) and to
 * the objects. Returns -1 when out of memory. */
static int register_locked(struct sess_mgr *m, struct sess *s)
{
	if (m->nreg + 1 > m->regcap) {
		size_t cap = m->regcap ? m->regcap * 2 : 256;
		struct sess **t = calloc(cap, sizeof *t);
		if (!t)
			return -1;
		for (size_t i = 0; i < m->regcap; i++) {
			struct sess *x = m->reg[i];
			while (x) {
				struct sess *nx = x->hnext;
				size_t b = hash_user(x->user_id) & (cap - 1);
				x->hnext = t[b];
				t[b] = x;
				x = nx;
			}
		}
		free(m->reg);
		m->reg = t;
		m->regcap = cap;
	}
	size_t b = hash_user(s->user_id) & (m->regcap - 1);
	s->hnext = m->reg[b];
	m->reg[b] = s;
	s->registered = true;
	m->nreg++;
	ref(s);
	s->oprev = NULL;
	s->onext = m->objs;
	if (m->objs)
		m->objs->oprev = s;
	m->objs = s;
	m->nobjs++;
	m->live++;
	return 0;
}

/* A session for USER_ID with CFG, not registered yet (one reference, the
 * caller's). */
static struct sess *create(struct sess_mgr *m, const struct cfg *cfg, const char *user_id,
			   char *err, size_t errlen)
{
	const char *pid = cfg->project.id; /* validated by sess_allocate, sess__mgr_new */
	struct sess *s = calloc(1, sizeof *s);
	if (!s) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	pthread_mutex_init(&s->mu, NULL);
	s->m = m;
	s->refs = 1;
	s->cfg = cfg;
	snprintf(s->project_id, sizeof s->project_id, "%s", pid);
	snprintf(s->user_id, sizeof s->user_id, "%s", user_id);
	pthread_mutex_lock(&m->mu);
	struct trial_params tp = {.cfg = cfg,
				  .data_dir = m->c.data_dir,
				  .project_id = pid,
				  .user_id = user_id,
				  .on_file_closed = m->file_fn,
				  .on_file_closed_user = m->file_user};
	pthread_mutex_unlock(&m->mu);
	s->trial = trial_new(&tp, err, errlen);
	if (!s->trial) {
		pthread_mutex_destroy(&s->mu);
		free(s);
		return NULL;
	}
	int64_t now = clock_mono_ns();
	s->max_deadline = now + (int64_t)cfg->project.max_runtime_min * 60 * 1000000000;
	s->grace_s = m->c.grace_s >= 0 ? m->c.grace_s : cfg->trial.reconnect_grace_s;
	s->connect_s = cfg->trial.connect_timeout_s;
	s->connect_deadline = now + (int64_t)s->connect_s * 1000000000;
	s->state = SESS_READY;
	return s;
}

/* Registers S (created, the caller's reference) and starts it on a worker.
 * Returns S, or the live session of the same participant that appeared
 * meanwhile (S is discarded), with a reference for the caller; or NULL (S
 * discarded) with *FULL set when max_sessions sessions are live. */
static struct sess *insert(struct sess_mgr *m, struct sess *s, bool *full)
{
	*full = false;
	pthread_mutex_lock(&m->mu);
	struct sess *other = find_locked(m, s->project_id, s->user_id);
	bool at_cap = m->c.max_sessions && m->live >= m->c.max_sessions;
	if ((other && !other->ended) || at_cap || register_locked(m, s) < 0) {
		if (other && !other->ended)
			ref(other);
		else
			other = NULL;
		*full = !other && at_cap;
		if (*full)
			m->refused_full++;
		pthread_mutex_unlock(&m->mu);
		sess_free(s);
		return other;
	}
	pthread_mutex_unlock(&m->mu);
	if (assign(m, s) < 0) {
		pthread_mutex_lock(&s->mu);
		struct trial_sink sink = sink_of(s);
		trial_end(s->trial, SESS_END_ERROR, &sink);
		struct ended e;
		end_locked(s, &e);
		pthread_mutex_unlock(&s->mu);
		notify_end(s, &e);
		unref(s);
		return NULL;
	}
	return s;
}

/* With m->mu held: the allowance of ADDR refilled to NOW, created when new
 * (NULL when the table is full of addresses that used theirs lately). */
static struct addr_bucket *addr_get(struct sess_mgr *m, const char *addr, int64_t now)
{
	double rate = m->alloc_rate / 60e9; /* tokens per ns */
	double cap = m->alloc_rate;
	if (!m->addrs) {
		m->addrs = calloc(SESS_ADDR_BUCKETS, sizeof *m->addrs);
		if (!m->addrs)
			return NULL;
	}
	size_t h = hash_user(addr) & (SESS_ADDR_BUCKETS - 1);
	for (struct addr_bucket *b = m->addrs[h]; b; b = b->next) {
		if (strcmp(b->addr, addr) != 0)
			continue;
		b->tokens = fmin(cap, b->tokens + (double)(now - b->at) * rate);
		b->at = now;
		return b;
	}
	if (m->naddrs >= SESS_ADDR_MAX) {
		/* forget the addresses whose allowance is full again (idle for a minute) */
		for (size_t i = 0; i < SESS_ADDR_BUCKETS; i++) {
			struct addr_bucket **pp = &m->addrs[i];
			while (*pp) {
				struct addr_bucket *b = *pp;
				if (b->tokens + (double)(now - b->at) * rate >= cap) {
					*pp = b->next;
					free(b);
					m->naddrs--;
				} else {
					pp = &b->next;
				}
			}
		}
		if (m->naddrs >= SESS_ADDR_MAX)
			return NULL;
	}
	struct addr_bucket *b = calloc(1, sizeof *b);
	if (!b)
		return NULL;
	snprintf(b->addr, sizeof b->addr, "%s", addr);
	b->tokens = cap;
	b->at = now;
	b->next = m->addrs[h];
	m->addrs[h] = b;
	m->naddrs++;
	return b;
}

/* With m->mu held: whether CLIENT may allocate now (CHARGE: and takes one
 * allocation from its allowance); *RETRY_S gets the wait otherwise. */
static bool addr_allow(struct sess_mgr *m, const char *client, bool charge, int *retry_s)
{
	if (!client || !client[0] || m->alloc_rate <= 0)
		return true;
	int64_t now = clock_mono_ns();
	struct addr_bucket *b = addr_get(m, client, now);
	if (b && b->tokens >= 1) {
		if (charge)
			b->tokens -= 1;
		return true;
	}
	if (retry_s) {
		double need = b ? 1 - b->tokens : 1;
		*retry_s = (int)ceil(need * 60.0 / m->alloc_rate);
		if (*retry_s < 1)
			*retry_s = 1;
	}
	return false;
}

static void addrs_clear(struct sess_mgr *m)
{
	for (size_t i = 0; m->addrs && i < SESS_ADDR_BUCKETS; i++)
		while (m->addrs[i]) {
			struct addr_bucket *b = m->addrs[i];
			m->addrs[i] = b->next;
			free(b);
		}
	m->naddrs = 0;
}

void sess_set_alloc_rate(struct sess_mgr *m, int per_minute)
{
	pthread_mutex_lock(&m->mu);
	m->alloc_rate = per_minute > 0 ? per_minute : 0;
	addrs_clear(m); /* every address starts with a full allowance at the new rate */
	pthread_mutex_unlock(&m->mu);
}

enum sess_alloc sess_allocate(struct sess_mgr *m, const struct cfg *cfg, const char *user_id,
			      const char *client, int *retry_s, char *err, size_t errlen)
{
	if (!id_valid_user(user_id)) {
		snprintf(err, errlen, "userId must match " ID_USER_RULE);
		return SESS_ALLOC_ERROR;
	}
	const char *pid = cfg->project.id;
	if (!id_valid_project(pid)) {
		snprintf(err, errlen, "projectId must match " ID_PROJECT_RULE);
		return SESS_ALLOC_ERROR;
	}
	pthread_mutex_lock(&m->mu);
	struct sess *s = find_locked(m, pid, user_id);
	if (s && !s->ended) {
		pthread_mutex_unlock(&m->mu);
		return SESS_ALLOC_OK;
	}
	if (!addr_allow(m, client, false, retry_s)) {
		m->refused_rate++;
		pthread_mutex_unlock(&m->mu);
		snprintf(err, errlen, "too many new game sessions from %s", client);
		return SESS_ALLOC_LIMITED;
	}
	if (m->c.max_sessions && m->live >= m->c.max_sessions) {
		m->refused_full++;
		pthread_mutex_unlock(&m->mu);
		snprintf(err, errlen, "too many live sessions (%zu)", m->c.max_sessions);
		return SESS_ALLOC_FULL;
	}
	pthread_mutex_unlock(&m->mu);
	s = create(m, cfg, user_id, err, errlen);
	if (!s)
		return SESS_ALLOC_ERROR;
	bool full;
	s = insert(m, s, &full);
	if (!s) {
		if (full)
			snprintf(err, errlen, "too many live sessions (%zu)", m->c.max_sessions);
		else
			snprintf(err, errlen, "could not start the session");
		return full ? SESS_ALLOC_FULL : SESS_ALLOC_ERROR;
	}
	pthread_mutex_lock(&m->mu);
	addr_allow(m, client, true, NULL);
	pthread_mutex_unlock(&m->mu);
	unref(s);
	return SESS_ALLOC_OK;
}

/* The session of (PROJECT, USER) as find_locked, with a reference for the caller. */
static struct sess *lookup(struct sess_mgr *m, const char *project, const char *user)
{
	pthread_mutex_lock(&m->mu);
	struct sess *s = find_locked(m, project ? project : "", user);
	if (s)
		ref(s);
	pthread_mutex_unlock(&m->mu);
	return s;
}

/* Ends S with REASON (the caller holds a reference). */
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
	if (s) {
		stop_sess(s, reason);
		unref(s);
	}
}

enum sess_state sess_get_state(struct sess_mgr *m, const char *project_id, const char *user_id,
			       enum sess_end_reason *reason)
{
	struct sess *s = lookup(m, project_id, user_id);
	if (!s) {
		if (reason)
			*reason = SESS_END_NONE;
		return SESS_NONE;
	}
	pthread_mutex_lock(&s->mu);
	enum sess_state st = s->state;
	if (st == SESS_READY && s->trial && trial_starting(s->trial))
		st = SESS_STARTING; /* its environment process has not said hello yet */
	if (reason)
		*reason = st == SESS_ENDED ? s->reason : SESS_END_NONE;
	pthread_mutex_unlock(&s->mu);
	unref(s);
	return st;
}

int sess_on_end(struct sess_mgr *m, sess_end_fn fn, void *user)
{
	int rc = -1;
	pthread_mutex_lock(&m->mu);
	if (fn && m->nends < SESS_END_LISTENERS) {
		m->ends[m->nends].fn = fn;
		m->ends[m->nends].user = user;
		m->nends++;
		rc = 0;
	}
	pthread_mutex_unlock(&m->mu);
	return rc;
}

void sess_on_file_closed(struct sess_mgr *m, sess_file_fn fn, void *user)
{
	pthread_mutex_lock(&m->mu);
	m->file_fn = fn;
	m->file_user = user;
	pthread_mutex_unlock(&m->mu);
}

long sess_raise_fd_limit(void)
{
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
		return -1;
	if (rl.rlim_cur != rl.rlim_max) {
		struct rlimit want = {rl.rlim_max, rl.rlim_max};
		if (setrlimit(RLIMIT_NOFILE, &want) < 0 && rl.rlim_max == RLIM_INFINITY) {
			want.rlim_cur = 1 << 20; /* the kernel's usual nr_open */
			setrlimit(RLIMIT_NOFILE, &want);
		}
		if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
			return -1;
	}
	return rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur > LONG_MAX ? LONG_MAX
								     : (long)rl.rlim_cur;
}

/* ---- manager ---- */

struct sess_mgr *sess__mgr_new(const struct sess_mgr_config *c, char *err, size_t errlen)
{
	struct sess_mgr *m = calloc(1, sizeof *m);
	if (!m) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	if (c->open_project && !id_valid_project(c->open_project->project.id)) {
		snprintf(err, errlen, "projectId must match " ID_PROJECT_RULE);
		free(m);
		return NULL;
	}
	m->c = *c;
	m->nw = c->workers > 0 ? c->workers : 1;
	m->alloc_rate = SESS_ALLOC_RATE;
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
	__atomic_store_n(&m->shutting_down, true, __ATOMIC_RELEASE);
	pthread_mutex_lock(&m->mu);
	size_t n = m->nreg, k = 0;
	struct sess **copy = n ? malloc(n * sizeof *copy) : NULL;
	for (size_t i = 0; copy && i < m->regcap; i++)
		for (struct sess *s = m->reg[i]; s && k < n; s = s->hnext) {
			ref(s);
			copy[k++] = s;
		}
	pthread_mutex_unlock(&m->mu);
	for (size_t i = 0; i < k; i++) {
		stop_sess(copy[i], SESS_END_SHUTDOWN);
		unref(copy[i]);
	}
	free(copy);
}

size_t sess__live(struct sess_mgr *m)
{
	pthread_mutex_lock(&m->mu);
	size_t live = m->live;
	pthread_mutex_unlock(&m->mu);
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
	/* The workers are gone and the server dropped its connections: every
	 * object left goes, whatever references it still counts. */
	while (m->objs) {
		struct sess *s = m->objs;
		m->objs = s->onext;
		sess_free(s);
	}
	free(m->reg);
	addrs_clear(m);
	free(m->addrs);
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
		project = open->project.id; /* checked by sess__mgr_new */
	struct sess *s = lookup(m, project, user);
	pthread_mutex_lock(&m->mu);
	bool ended = s && s->ended;
	pthread_mutex_unlock(&m->mu);
	if (!s || ended) {
		if (s)
			unref(s);
		if (!open) {
			snprintf(err, errlen, ended ? "the session of this participant has ended"
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
		bool full;
		s = insert(m, s, &full);
		if (!s) {
			snprintf(err, errlen, full ? "the server is full, try again later"
						   : "could not start the session");
			return NULL;
		}
	}
	pthread_mutex_lock(&s->mu);
	if (!s->trial) {
		pthread_mutex_unlock(&s->mu);
		unref(s);
		snprintf(err, errlen, "the session of this participant has ended");
		return NULL;
	}
	/* The connection's reference: ours, unless a replaced connection hands
	 * its own over. */
	bool keep = s->conn == NULL;
	*replaced = s->conn;
	clear_ctrl(s);
	s->closing = false;
	s->frame_ready = false;
	s->conn = conn;
	s->binary = binary;
	s->attached_once = true;
	s->state = SESS_RUNNING;
	struct trial_sink sink = sink_of(s);
	trial_on_attach(s->trial, hs, &sink);
	int wi = s->worker;
	pthread_mutex_unlock(&s->mu);
	kick(m, wi);
	if (!keep)
		unref(s);
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
		int64_t g = clock_mono_ns() + (int64_t)s->grace_s * 1000000000;
		s->grace_deadline = g < s->max_deadline ? g : s->max_deadline;
	} else {
		free(s->fsend.p);
		s->fsend = (struct fbuf){0};
	}
	int wi = s->worker;
	pthread_mutex_unlock(&s->mu);
	kick(s->m, wi);
	unref(s); /* the connection's reference */
}

enum sess_open sess__open(struct sess_mgr *m, const char *text, size_t len, void *conn,
			  struct sess **s, void **replaced, char *err, size_t errlen)
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
	} else {
		*s = sess__attach(m, &msg, conn, msg.accept_binary, replaced, err, errlen);
		rc = *s ? SESS_OPEN_ATTACHED : SESS_OPEN_REFUSED;
	}
	msg_free(&msg);
	return rc;
}

void sess__text(struct sess *s, const char *text, size_t len)
{
	struct trial_msg msg;
	char err[160];
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
		struct trial_sink sink = sink_of(s);
		trial_on_message(s->trial, msg, clock_mono_ns(), &sink);
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
	} else if (s->fail_close) {
		out = SESS_OUT_CLOSE_RETRY;
	} else if (s->frame_ready) {
		struct fbuf t = s->fsend;
		s->fsend = s->fpend;
		s->fpend = t;
		s->frame_ready = false;
		wire_stamp(s->fsend.p + h, s->fsend.time_off, s->fsend.binary, clock_wall_ms());
		__atomic_fetch_add(&s->m->frames_sent, 1, __ATOMIC_RELAXED);
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
			unref(batch[i]); /* the wake list's reference */
		}
		if (n < sizeof batch / sizeof batch[0])
			return;
	}
}

void sess_stats(struct sess_mgr *m, struct sess_stats *st)
{
	st->frames_sent = __atomic_load_n(&m->frames_sent, __ATOMIC_RELAXED);
	pthread_mutex_lock(&m->mu);
	st->live = m->live;
	st->held = m->nobjs;
	st->refused_full = m->refused_full;
	st->refused_rate = m->refused_rate;
	st->connect_timeouts = m->connect_timeouts;
	pthread_mutex_unlock(&m->mu);
}
