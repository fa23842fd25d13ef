/* sess_watch: the sessions as the researcher console sees them (session.h,
 * "the researcher console"): a snapshot of every live session, and viewers
 * (spectators) of one. A watched session keeps the newest frame it handed to
 * its participant's connection (a copy of bytes already encoded: the worker
 * encodes nothing more) and the participant's latest messages; a viewer
 * takes them when it can, so it never holds the session up and skips what
 * it was too slow for (newest frame wins). */
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/clock.h"
#include "session/sess_int.h"

/* With s->mu held: S's state as the console shows it. */
static void info_locked(struct sess *s, int64_t now, struct sess_info *i)
{
	memset(i, 0, sizeof *i);
	memcpy(i->project_id, s->project_id, sizeof i->project_id);
	memcpy(i->user_id, s->user_id, sizeof i->user_id);
	i->state = s->state;
	if (s->state == SESS_READY && s->trial && trial_starting(s->trial))
		i->state = SESS_STARTING;
	if (s->trial) {
		struct trial_stats ts;
		trial_get_stats(s->trial, &ts);
		i->episode = ts.episode;
		i->max_episodes = ts.max_episodes;
		i->step = ts.step;
		i->score = ts.score;
		i->fps_target = ts.fps;
		i->playing = ts.playing && s->conn;
		i->rtt_ms = ts.rtt_ms;
		i->lag_ms = ts.lag_ms;
	}
	/* the rate of the last full window, or of the window so far once it
	 * runs long (no frames lately: it falls towards 0) */
	i->fps = s->fps;
	if (s->fps_at && now - s->fps_at > 2000000000)
		i->fps = (double)(s->frames_sent - s->fps_frames) * 1e9 / (double)(now - s->fps_at);
	i->frames = s->frames_sent;
	i->dropped = s->frames_dropped;
	i->reconnects = s->attaches > 1 ? s->attaches - 1 : 0;
	i->started_ms = s->created_ms;
	i->viewers = __atomic_load_n(&s->viewers, __ATOMIC_RELAXED);
}

size_t sess_each(struct sess_mgr *m, void (*fn)(void *user, const struct sess_info *i),
		 void *user)
{
	pthread_mutex_lock(&m->mu);
	size_t n = m->nreg, k = 0;
	struct sess **copy = n ? malloc(n * sizeof *copy) : NULL;
	for (size_t i = 0; copy && i < m->regcap; i++)
		for (struct sess *s = m->reg[i]; s && k < n; s = s->hnext) {
			if (s->ended)
				continue;
			sess__ref(s);
			copy[k++] = s;
		}
	pthread_mutex_unlock(&m->mu);
	int64_t now = clock_mono_ns();
	size_t shown = 0;
	for (size_t i = 0; i < k; i++) {
		struct sess_info info;
		pthread_mutex_lock(&copy[i]->mu);
		bool live = copy[i]->trial != NULL;
		if (live)
			info_locked(copy[i], now, &info);
		pthread_mutex_unlock(&copy[i]->mu);
		if (live) {
			fn(user, &info);
			shown++;
		}
		sess__unref(copy[i]);
	}
	free(copy);
	return shown;
}

int sess_watch(struct sess_mgr *m, const char *project, const char *user, int delta)
{
	struct sess *s = sess__lookup(m, project, user);
	if (!s)
		return -1;
	int rc = 0;
	pthread_mutex_lock(&s->mu);
	if (delta > 0 && !s->trial) {
		rc = -1;
	} else if (delta > 0 && !s->watch && !(s->watch = calloc(1, sizeof *s->watch))) {
		rc = -1;
	} else {
		int v = __atomic_load_n(&s->viewers, __ATOMIC_RELAXED) + delta;
		__atomic_store_n(&s->viewers, v < 0 ? 0 : v, __ATOMIC_RELAXED);
	}
	pthread_mutex_unlock(&s->mu);
	sess__unref(s);
	return rc;
}

void sess__watch_frame(struct sess *s, const uint8_t *jpeg, size_t len, unsigned long long id)
{
	struct sess__watch *w = s->watch;
	if (!w || buf_grow_array((void **)&w->jpeg, &w->cap, len, 1, 32768, 0) < 0)
		return;
	memcpy(w->jpeg, jpeg, len);
	w->len = len;
	w->frame_id = id;
}

void sess__watch_input(struct sess *s, const char *text, size_t len)
{
	struct sess__watch *w = s->watch;
	if (!w)
		return;
	w->in_seq++;
	struct sess_view_input *in = &w->in[w->in_seq % SESS_VIEW_INPUTS];
	size_t n = len < SESS_VIEW_INPUT_MAX ? len : SESS_VIEW_INPUT_MAX;
	memcpy(in->text, text, n);
	in->text[n] = '\0';
	in->seq = w->in_seq;
	in->t_ms = clock_wall_ms();
}

void sess__watch_free(struct sess *s)
{
	if (s->watch)
		free(s->watch->jpeg);
	free(s->watch);
	s->watch = NULL;
}

int sess_view_take(struct sess_mgr *m, const char *project, const char *user,
		   struct sess_view *v)
{
	struct sess *s = sess__lookup(m, project, user);
	if (!s)
		return -1;
	int rc = 0;
	v->nin = 0;
	pthread_mutex_lock(&s->mu);
	struct sess__watch *w = s->watch;
	if (!s->trial) {
		rc = -1;
	} else {
		info_locked(s, clock_mono_ns(), &v->info);
		if (w && w->len && w->frame_id != v->frame_id &&
		    buf_grow_array((void **)&v->jpeg, &v->cap, w->len, 1, 32768, 0) == 0) {
			memcpy(v->jpeg, w->jpeg, w->len);
			v->len = w->len;
			v->frame_id = w->frame_id;
			rc = 1;
		}
		if (w && w->in_seq > v->input_seq) {
			unsigned long long from = v->input_seq + 1;
			if (w->in_seq - v->input_seq > SESS_VIEW_INPUTS) {
				from = w->in_seq - SESS_VIEW_INPUTS + 1;
				v->inputs_missed += from - v->input_seq - 1;
			}
			for (unsigned long long q = from; q <= w->in_seq; q++)
				v->in[v->nin++] = w->in[q % SESS_VIEW_INPUTS];
			v->input_seq = w->in_seq;
		}
	}
	pthread_mutex_unlock(&s->mu);
	sess__unref(s);
	return rc;
}
