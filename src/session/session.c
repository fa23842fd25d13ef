/* session: the registry of game sessions and their lifecycle (allocate,
 * attach, grace period, max-runtime, end); the worker threads that run them
 * are in sess_worker.c, the connections' side in sess_conn.c (sess_int.h).
 *
 * Threads and locks (docs/ARCHITECTURE.md, "Threading model"):
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
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "core/clock.h"
#include "core/config.h"
#include "core/id.h"
#include "render/tilejpeg.h"
#include "session/sess_int.h"
#include "trial/recorder.h"

/* ---- references ---- */

size_t sess__hash(const char *user)
{
	size_t h = 14695981039346656037u;
	for (const unsigned char *p = (const unsigned char *)user; *p; p++)
		h = (h ^ *p) * 1099511628211u;
	return h;
}

void sess__ref(struct sess *s)
{
	__atomic_add_fetch(&s->refs, 1, __ATOMIC_RELAXED);
}

/* Frees S (no references left, not reachable any more). */
static void sess_free(struct sess *s)
{
	trial_free(s->trial);
	sess__clear_ctrl(s);
	free(s->ctrl_out);
	free(s->fpend.p);
	free(s->fsend.p);
	sess__watch_free(s);
	pthread_mutex_destroy(&s->mu);
	free(s);
}

void sess__unref(struct sess *s)
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

/* ---- the end ---- */

void sess__end_locked(struct sess *s, struct sess__ended *e)
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
	sess__addr_release(m, s);
	if (e->reason == SESS_END_CONNECT_TIMEOUT)
		m->connect_timeouts++;
	pthread_mutex_unlock(&m->mu);
	if (sess_end_retry(e->reason) && s->conn && !s->closing) {
		/* no "done" (the game is not over): the connection is closed (after
		 * the error, if any), and the client comes back for a new session */
		s->fail_close = true;
		sess__wake(s);
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
		struct sess **pp = &m->reg[sess__hash(s->user_id) & (m->regcap - 1)];
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
		sess__unref(s);
}

/* From now on lookups find no session and the store (written by a listener)
 * says why it ended. */
void sess__notify_end(struct sess *s, struct sess__ended *e)
{
	if (!e->yes)
		return;
	struct sess_mgr *m = s->m;
	pthread_mutex_lock(&m->mu);
	int n = m->nends;
	struct sess_end_listener ends[SESS_END_LISTENERS];
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

/* ---- registry ---- */

/* With m->mu held: the live session of (PROJECT, USER) (any project when
 * PROJECT is ""), else the newest ended one whose end is being reported,
 * else NULL. */
static struct sess *find_locked(struct sess_mgr *m, const char *project, const char *user)
{
	if (!m->regcap)
		return NULL;
	struct sess *ended = NULL;
	for (struct sess *s = m->reg[sess__hash(user) & (m->regcap - 1)]; s; s = s->hnext) {
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
				size_t b = sess__hash(x->user_id) & (cap - 1);
				x->hnext = t[b];
				t[b] = x;
				x = nx;
			}
		}
		free(m->reg);
		m->reg = t;
		m->regcap = cap;
	}
	size_t b = sess__hash(s->user_id) & (m->regcap - 1);
	s->hnext = m->reg[b];
	m->reg[b] = s;
	s->registered = true;
	m->nreg++;
	sess__ref(s);
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
struct sess *sess__create(struct sess_mgr *m, const struct cfg *cfg, const char *user_id,
			  int episodes_before, int64_t runtime_used_ms, char *err, size_t errlen)
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
				  .on_file_closed_user = m->file_user,
				  .upload_every_ms = m->upload_every_ms,
				  .on_episode_end = m->episode_fn,
				  .on_episode_end_user = m->episode_user,
				  .episodes_before = episodes_before};
	pthread_mutex_unlock(&m->mu);
	s->trial = trial_new(&tp, err, errlen);
	if (!s->trial) {
		pthread_mutex_destroy(&s->mu);
		free(s);
		return NULL;
	}
	int64_t now = clock_mono_ns();
	/* project.maxRuntime, less what the game's earlier sessions used */
	int64_t left_ms = (int64_t)cfg->project.max_runtime_min * 60 * 1000 -
			  (runtime_used_ms > 0 ? runtime_used_ms : 0);
	s->max_deadline = now + (left_ms > 0 ? left_ms * 1000000 : 0);
	s->grace_s = m->c.grace_s >= 0 ? m->c.grace_s : cfg->trial.reconnect_grace_s;
	s->connect_s = cfg->trial.connect_timeout_s;
	s->connect_deadline = now + (int64_t)s->connect_s * 1000000000;
	s->created_ms = clock_wall_ms();
	s->state = SESS_READY;
	return s;
}

/* Registers S (created, the caller's reference) and starts it on a worker.
 * Returns S, or the live session of the same participant that appeared
 * meanwhile (S is discarded), with a reference for the caller; or NULL (S
 * discarded) with *FULL set when max_sessions sessions are live. */
struct sess *sess__insert(struct sess_mgr *m, struct sess *s, bool *full)
{
	*full = false;
	pthread_mutex_lock(&m->mu);
	struct sess *other = find_locked(m, s->project_id, s->user_id);
	bool at_cap = m->c.max_sessions && m->live >= m->c.max_sessions;
	if ((other && !other->ended) || at_cap || register_locked(m, s) < 0) {
		if (other && !other->ended)
			sess__ref(other);
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
	if (sess__assign(m, s) < 0) {
		pthread_mutex_lock(&s->mu);
		struct trial_sink sink = sess__sink(s);
		trial_end(s->trial, SESS_END_ERROR, &sink);
		struct sess__ended e;
		sess__end_locked(s, &e);
		pthread_mutex_unlock(&s->mu);
		sess__notify_end(s, &e);
		sess__unref(s);
		return NULL;
	}
	return s;
}

/* sess_allocate and sess_allocate_from. */
static enum sess_alloc allocate(struct sess_mgr *m, const struct cfg *cfg, const char *user_id,
				const char *client, int *retry_s, int episodes_before,
				int64_t runtime_used_ms, char *err, size_t errlen)
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
	if (!sess__addr_allow(m, client, false, retry_s)) {
		m->refused_rate++;
		pthread_mutex_unlock(&m->mu);
		snprintf(err, errlen, "too many new game sessions from %s", client);
		return SESS_ALLOC_LIMITED;
	}
	if (!sess__addr_room(m, client)) {
		int most = m->max_per_addr;
		pthread_mutex_unlock(&m->mu);
		if (retry_s)
			*retry_s = SESS_ROOM_RETRY_S;
		snprintf(err, errlen, "too many live game sessions from %s (at most %d)", client,
			 most);
		return SESS_ALLOC_LIMITED;
	}
	if (m->draining) {
		m->refused_full++;
		pthread_mutex_unlock(&m->mu);
		snprintf(err, errlen, "the server is draining: it takes no new sessions");
		return SESS_ALLOC_FULL;
	}
	if (m->c.max_sessions && m->live >= m->c.max_sessions) {
		m->refused_full++;
		pthread_mutex_unlock(&m->mu);
		snprintf(err, errlen, "too many live sessions (%zu)", m->c.max_sessions);
		return SESS_ALLOC_FULL;
	}
	pthread_mutex_unlock(&m->mu);
	s = sess__create(m, cfg, user_id, episodes_before, runtime_used_ms, err, errlen);
	if (!s)
		return SESS_ALLOC_ERROR;
	bool full;
	s = sess__insert(m, s, &full);
	if (!s) {
		if (full)
			snprintf(err, errlen, "too many live sessions (%zu)", m->c.max_sessions);
		else
			snprintf(err, errlen, "could not start the session");
		return full ? SESS_ALLOC_FULL : SESS_ALLOC_ERROR;
	}
	pthread_mutex_lock(&m->mu);
	sess__addr_allow(m, client, true, NULL);
	if (!s->ended)
		sess__addr_hold(m, s, client);
	pthread_mutex_unlock(&m->mu);
	sess__unref(s);
	return SESS_ALLOC_OK;
}

enum sess_alloc sess_allocate(struct sess_mgr *m, const struct cfg *cfg, const char *user_id,
			      const char *client, int *retry_s, char *err, size_t errlen)
{
	return allocate(m, cfg, user_id, client, retry_s, 0, 0, err, errlen);
}

enum sess_alloc sess_allocate_from(struct sess_mgr *m, const struct cfg *cfg, const char *user_id,
				   int episodes_before, int64_t runtime_used_ms, char *err,
				   size_t errlen)
{
	return allocate(m, cfg, user_id, NULL, NULL, episodes_before > 0 ? episodes_before : 0,
			runtime_used_ms, err, errlen);
}

/* The session of (PROJECT, USER) as find_locked, with a reference for the caller. */
struct sess *sess__lookup(struct sess_mgr *m, const char *project, const char *user)
{
	pthread_mutex_lock(&m->mu);
	struct sess *s = find_locked(m, project ? project : "", user);
	if (s)
		sess__ref(s);
	pthread_mutex_unlock(&m->mu);
	return s;
}

/* Ends S with REASON (the caller holds a reference). */
static void stop_sess(struct sess *s, enum sess_end_reason reason)
{
	struct sess__ended e = {0};
	pthread_mutex_lock(&s->mu);
	if (s->trial) {
		struct trial_sink sink = sess__sink(s);
		trial_end(s->trial, reason, &sink);
		sess__end_locked(s, &e);
	}
	int wi = s->worker;
	pthread_mutex_unlock(&s->mu);
	sess__notify_end(s, &e);
	sess__kick(s->m, wi);
}

void sess_stop(struct sess_mgr *m, const char *project_id, const char *user_id,
	       enum sess_end_reason reason)
{
	struct sess *s = sess__lookup(m, project_id, user_id);
	if (s) {
		stop_sess(s, reason);
		sess__unref(s);
	}
}

enum sess_state sess_get_state(struct sess_mgr *m, const char *project_id, const char *user_id,
			       enum sess_end_reason *reason)
{
	struct sess *s = sess__lookup(m, project_id, user_id);
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
	sess__unref(s);
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

bool sess_client_allowed(struct sess_mgr *m, const char *client, bool charge, int *retry_s)
{
	pthread_mutex_lock(&m->mu);
	bool ok = sess__addr_allow(m, client, charge, retry_s);
	if (!ok)
		m->refused_rate++;
	pthread_mutex_unlock(&m->mu);
	return ok;
}

void sess_on_episode_end(struct sess_mgr *m, sess_episode_fn fn, void *user)
{
	pthread_mutex_lock(&m->mu);
	m->episode_fn = fn;
	m->episode_user = user;
	pthread_mutex_unlock(&m->mu);
}

void sess_set_upload_every(struct sess_mgr *m, int every_ms)
{
	pthread_mutex_lock(&m->mu);
	m->upload_every_ms = every_ms > 0 ? every_ms : 0;
	pthread_mutex_unlock(&m->mu);
}

void sess_set_draining(struct sess_mgr *m, bool draining)
{
	pthread_mutex_lock(&m->mu);
	m->draining = draining;
	pthread_mutex_unlock(&m->mu);
}

void sess_set_locator(struct sess_mgr *m, sess_locate_fn fn, void *user)
{
	pthread_mutex_lock(&m->mu);
	m->locate = fn;
	m->locate_user = user;
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
	m->max_per_addr = SESS_MAX_PER_ADDR;
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
		if (pthread_create(&w->th, NULL, sess__worker_main, w) != 0) {
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
	sess__end_all(m, SESS_END_SHUTDOWN);
}

void sess__end_all(struct sess_mgr *m, enum sess_end_reason reason)
{
	pthread_mutex_lock(&m->mu);
	size_t n = m->nreg, k = 0;
	struct sess **copy = n ? malloc(n * sizeof *copy) : NULL;
	for (size_t i = 0; copy && i < m->regcap; i++)
		for (struct sess *s = m->reg[i]; s && k < n; s = s->hnext) {
			sess__ref(s);
			copy[k++] = s;
		}
	pthread_mutex_unlock(&m->mu);
	for (size_t i = 0; i < k; i++) {
		stop_sess(copy[i], reason);
		sess__unref(copy[i]);
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
	sess__addrs_clear(m);
	free(m->addrs);
	free(m->w);
	tile_cache_free(m->tiles);
	rec_sync_wait(); /* every record on disk before the server is gone */
	pthread_mutex_destroy(&m->mu);
	free(m);
}

