/* sess_worker: the worker threads. Each owns a list of sessions and sleeps
 * until the earliest deadline among them (frame tick, record flush, grace,
 * max-runtime, connect timeout), then runs what is due: the trial's step,
 * render, encode and file work happen here, never on the I/O thread. */
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/buf.h"
#include "core/clock.h"
#include "session/sess_int.h"

void sess__kick(struct sess_mgr *m, int wi)
{
	struct worker *w = &m->w[wi];
	pthread_mutex_lock(&w->mu);
	w->kicked = true;
	pthread_cond_signal(&w->cv);
	pthread_mutex_unlock(&w->mu);
}

/* Runs what is due for S at NOW. Returns the next deadline, or -1 when the
 * session has ended (the worker drops it). */
static int64_t service(struct sess *s, int64_t now, struct trial_scratch *sc)
{
	struct sess__ended e = {0};
	struct trial_sink sink = sess__sink(s);
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
	sess__end_locked(s, &e);
	int64_t next = e.yes ? -1 : d;
	if (next >= 0 && s->max_deadline < next)
		next = s->max_deadline;
	if (next >= 0 && s->state == SESS_PAUSED && s->grace_deadline < next)
		next = s->grace_deadline;
	if (next >= 0 && !s->attached_once && s->connect_deadline < next)
		next = s->connect_deadline;
	pthread_mutex_unlock(&s->mu);
	sess__notify_end(s, &e);
	return next;
}

void *sess__worker_main(void *arg)
{
	struct worker *w = arg;
	pthread_mutex_lock(&w->mu);
	while (!w->stop) {
		size_t n = w->n;
		/* grown here, by this thread: sess__assign() may grow the list
		 * meanwhile, never the copy being serviced */
		if (buf_grow_array((void **)&w->local, &w->local_cap, n, sizeof *w->local, 64, 0) < 0)
			n = w->local_cap; /* short of memory: the first ones this round */
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
				sess__unref(w->local[i]);
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

int sess__assign(struct sess_mgr *m, struct sess *s)
{
	int best = 0;
	for (int i = 1; i < m->nw; i++)
		if (m->w[i].n < m->w[best].n)
			best = i;
	struct worker *w = &m->w[best];
	pthread_mutex_lock(&w->mu);
	if (buf_grow_array((void **)&w->list, &w->cap, w->n + 1, sizeof *w->list, 64, 0) < 0) {
		pthread_mutex_unlock(&w->mu);
		return -1;
	}
	sess__ref(s);
	w->list[w->n++] = s;
	s->worker = best;
	w->kicked = true;
	pthread_cond_signal(&w->cv);
	pthread_mutex_unlock(&w->mu);
	return 0;
}

