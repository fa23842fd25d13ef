/* trial: the life of one participant's trial: start (environment and agent,
 * possibly processes that answer later), episodes, steps at the frame rate,
 * the end. What the participant sends is in trial_input.c, what they get in
 * trial_out.c, the record lines in trial_record.c. */
#include "trial/trial.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "core/clock.h"
#include "core/config.h"
#include "core/log.h"
#include "render/encode.h"
#include "trial/trial_int.h"

static uint64_t random64(void)
{
	uint64_t x = 0;
	if (getrandom(&x, sizeof x, 0) != (ssize_t)sizeof x)
		x = (uint64_t)clock_mono_ns() ^ ((uint64_t)clock_wall_ms() << 20);
	return x;
}

const char *trial_id(const struct trial *t)
{
	return t->trial_id;
}

bool trial_starting(const struct trial *t)
{
	return t->state == TRIAL_STARTING_ENV || t->state == TRIAL_STARTING_AGENT;
}

enum sess_end_reason trial_ended(const struct trial *t)
{
	return t->end_reason;
}

const char *const *trial_files(const struct trial *t)
{
	static const char *const none[] = {NULL};
	if (t->files)
		return (const char *const *)t->files;
	return t->rec ? rec_files(t->rec) : none;
}

/* Once the environment is ready (at once, or after an external process's
 * hello): opens the agent of the trial's mode; once that is ready too (an agent
 * process answers hello), writes the start line. Returns 1 when started, 0
 * while the agent starts, -1 with ERR, -2 with ERR when the start line could
 * not be written. */
static int start_env(struct trial *t, char *err, size_t errlen)
{
	char ctx[96];
	snprintf(ctx, sizeof ctx, "user=%s", t->user_id);
	if (t->state == TRIAL_STARTING_ENV && !t->pend_action) {
		/* the whole action the environment reads (a Box may be wide) */
		size_t n = hippo_space_size(&t->env.info->action_space);
		if (n > TRIAL_MAX_ACTION) {
			snprintf(err, errlen, "the action space has %zu values, more than %d", n,
				 TRIAL_MAX_ACTION);
			return -1;
		}
		t->npend = n ? n : 1;
		t->pend_action = calloc(t->npend, sizeof *t->pend_action);
		if (!t->pend_action) {
			snprintf(err, errlen, "out of memory");
			return -1;
		}
	}
	if (t->state == TRIAL_STARTING_ENV) {
		if (mode_open(t->cfg, t->env.info, t->fps, t->seed, ctx, &t->mode, err, errlen) < 0)
			return -1;
		t->state = TRIAL_STARTING_AGENT;
	}
	int r = mode_ready(t->mode, err, errlen);
	if (r <= 0)
		return r;
	if (trial__meta_line(t, "start", SESS_END_NONE, err, errlen) < 0)
		return -2;
	t->state = TRIAL_READY;
	return 1;
}

struct trial *trial_new(const struct trial_params *p, char *err, size_t errlen)
{
	struct trial *t = calloc(1, sizeof *t);
	if (!t) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	t->cfg = p->cfg;
	snprintf(t->project_id, sizeof t->project_id, "%s", p->project_id);
	snprintf(t->user_id, sizeof t->user_id, "%s", p->user_id);
	uint64_t r = random64();
	char stamp[CLOCK_STAMP_LEN];
	clock_stamp(clock_wall_ms(), stamp, sizeof stamp);
	snprintf(t->trial_id, sizeof t->trial_id, "%s-%08" PRIx32, stamp, (uint32_t)r);

	const struct cfg_trial *ct = &p->cfg->trial;
	char ctx[96];
	snprintf(ctx, sizeof ctx, "user=%s", t->user_id);
	if (tenv_open(&t->src, &t->env, p->cfg, ctx, err, errlen) < 0) {
		log_warn("trial", "environment could not be opened", "user=%s err=\"%s\"",
			 t->user_id, err);
		free(t);
		return NULL;
	}
	struct rec_config rc_ = {.data_dir = p->data_dir,
				 .project_id = p->project_id,
				 .user_id = p->user_id,
				 .trial_id = t->trial_id,
				 .per_episode = ct->data_file == CFG_DATA_EPISODE,
				 .on_closed = p->on_file_closed,
				 .on_closed_user = p->on_file_closed_user,
				 .upload_every_ms = p->upload_every_ms,
				 .frames = ct->record_frames};
	t->rec = rec_open(&rc_, err, errlen);
	if (!t->rec) {
		tenv_close(&t->src);
		free(t);
		return NULL;
	}
	t->state = TRIAL_STARTING_ENV;
	t->client = TRIAL_DETACHED;
	t->seed = ct->seed >= 0 ? (uint64_t)ct->seed : (random64() >> 1);
	t->fps = ct->starting_frame_rate;
	t->episode = 0;
	int before = p->episodes_before > 0 ? p->episodes_before : 0;
	t->episodes_before = before < ct->max_episodes ? before : ct->max_episodes - 1;
	t->max_episodes = ct->max_episodes - t->episodes_before;
	t->on_episode_end = p->on_episode_end;
	t->on_episode_end_user = p->on_episode_end_user;
	t->seen_frame = -1;
	t->reaction_ms = -1;
	t->rtt_ms = -1;
	t->next_tick = INT64_MAX;
	t->next_flush = clock_mono_ns() + 1000000000;
	buf_init(&t->inputs, TRIAL_MAX_INPUT_BYTES);
	buf_init(&t->line, 0);
	if (t->src.ready && start_env(t, err, errlen) < 0) {
		log_error("trial", "trial could not start", "user=%s err=\"%s\"", t->user_id, err);
		char e2[256];
		rec_close(t->rec, e2, sizeof e2);
		mode_close(t->mode);
		tenv_close(&t->src);
		buf_free(&t->inputs);
		buf_free(&t->line);
		free(t->pend_action);
		free(t);
		return NULL;
	}
	return t;
}

/* Starts the next episode: opens its file, resets the env (seeded once, on
 * episode 1) and records the initial observation as step 0. Returns 0, 1
 * while an external process resets (TRIAL_WAIT_RESET: called again when it
 * answered), -1 when the environment failed, -2 with ERR when the episode's
 * file could not be opened. */
static int begin_episode(struct trial *t, char *err, size_t errlen)
{
	if (t->state != TRIAL_WAIT_RESET) {
		t->episode++;
		t->step = 0;
		t->score = 0;
		if (rec_begin_episode(t->rec, t->episode, err, errlen) < 0)
			return -2;
	}
	uint64_t seed = t->seed;
	if (env_reset(&t->env, t->episode == 1 ? &seed : NULL, t->info, sizeof t->info) < 0) {
		bool pending = tenv_step_pending(&t->src);
		t->state = pending ? TRIAL_WAIT_RESET : TRIAL_READY;
		return pending ? 1 : -1;
	}
	t->state = TRIAL_READY;
	t->want_frame = true;
	t->disp_dirty = t->disp_force = true;
	return 0;
}

/* The records could not be written: the log gets the real error, the
 * participant a request to try again. The trial then ends with
 * SESS_END_RECORD, which never moves a participant past the game (the flow
 * starts a new session). */
static void fail_record(struct trial *t, const struct trial_sink *sink, const char *why)
{
	log_error("trial", "records could not be written", "user=%s trial=%s err=\"%s\"",
		  t->user_id, t->trial_id, why);
	if (sink) {
		/* the reason without the server's paths: "...: Too many open files" */
		const char *r = strrchr(why, ':');
		char msg[400];
		snprintf(msg, sizeof msg,
			 "Your game could not be saved on the server (%s). Please try again.",
			 r && r[1] ? r + 2 : why);
		trial__send_error(sink, msg);
	}
}

static void finish(struct trial *t, enum sess_end_reason reason, const struct trial_sink *sink)
{
	if (t->state == TRIAL_ENDED)
		return;
	t->state = TRIAL_ENDED;
	t->end_reason = reason;
	if (t->client == TRIAL_PLAYING)
		t->client = TRIAL_PAUSED;
	t->next_tick = INT64_MAX;
	char err[256], merr[256];
	if (t->ninputs && t->episode > 0)
		trial__record(t, t->held, NULL, sess_end_reason_name(reason)); /* late inputs */
	if (rec_end_episode(t->rec, err, sizeof err) < 0 && reason != SESS_END_RECORD) {
		/* the last records are not on disk: the game does not count as
		 * played (the flow's stop step and a shutdown keep their reason) */
		fail_record(t, sink, err);
		if (reason != SESS_END_STOP_STEP && reason != SESS_END_SHUTDOWN &&
		    reason != SESS_END_ERROR)
			t->end_reason = reason = SESS_END_RECORD;
	}
	if (trial__meta_line(t, "end", reason, merr, sizeof merr) < 0)
		log_error("trial", "end line not written", "user=%s trial=%s err=\"%s\"",
			  t->user_id, t->trial_id, merr);
	size_t n = 0;
	const char *const *f = rec_files(t->rec);
	while (f[n])
		n++;
	t->files = calloc(n + 1, sizeof *t->files);
	for (size_t i = 0; t->files && i < n; i++)
		t->files[i] = strdup(f[i]);
	if (sink && !sess_end_retry(reason))
		sink->text(sink->user, "done", 4); /* else the session closes: the game goes on */
}

static void end_record_error(struct trial *t, const struct trial_sink *sink, const char *why)
{
	if (t->state == TRIAL_ENDED)
		return;
	fail_record(t, sink, why);
	finish(t, SESS_END_RECORD, sink);
}

/* The environment (or the agent) failed: the participant and the log get WHY,
 * then the trial ends. */
static void fail_env(struct trial *t, const struct trial_sink *sink, const char *why)
{
	char msg[400];
	log_warn("trial", "environment failed", "user=%s err=\"%s\"", t->user_id, why);
	snprintf(msg, sizeof msg, "The game stopped because of an error: %s", why);
	if (sink)
		trial__send_error(sink, msg);
	finish(t, SESS_END_ERROR, sink);
}

/* Polls a starting environment; true once it is ready and the trial started. */
static bool env_started(struct trial *t, const struct trial_sink *sink)
{
	char err[256];
	int rc = tenv_poll(&t->src);
	if (rc == 0)
		return false;
	int started = rc < 0 ? -1 : start_env(t, err, sizeof err);
	if (started == -2) {
		end_record_error(t, sink, err);
		return false;
	}
	if (started < 0) {
		fail_env(t, sink, rc < 0 ? t->src.err : err);
		return false;
	}
	return started > 0;
}

void trial_end(struct trial *t, enum sess_end_reason reason, const struct trial_sink *sink)
{
	finish(t, reason, sink);
}

/* Ends the current episode (terminated, truncated or reset): fsync, then the
 * next episode or the end of the trial. */
static void end_episode(struct trial *t, const struct trial_sink *sink)
{
	char err[256];
	if (t->binary)
		trial__send_display_text(t, sink, true); /* the episode's final score */
	if (t->mode)
		mode_episode_end(t->mode, t->episode, t->score, t->step);
	if (rec_end_episode(t->rec, err, sizeof err) < 0) {
		end_record_error(t, sink, err);
		return;
	}
	if (t->on_episode_end)
		t->on_episode_end(t->on_episode_end_user, t->project_id, t->user_id,
				  t->episodes_before + t->episode);
	if (t->episode >= t->max_episodes) {
		finish(t, SESS_END_DONE, sink);
		return;
	}
	int r = begin_episode(t, err, sizeof err);
	if (r == -2)
		end_record_error(t, sink, err);
	else if (r < 0)
		fail_env(t, sink, t->env.err);
	else if (r == 0)
		trial__record(t, 0, NULL, NULL); /* else when the process answered (trial_run) */
}

/* The action for this step from the queue (each queued action lasts at
 * least actionBufferLifespan steps) or the held one. */
static int next_action(struct trial *t)
{
	if (t->qlen > 0) {
		int i = t->qhead;
		int code = t->q[i].code;
		if (--t->q[i].left <= 0) {
			t->qhead = (t->qhead + 1) % TRIAL_QUEUE;
			t->qlen--;
			t->held = t->cfg->trial.input_mode == CFG_INPUT_PRESS ? 0 : code;
		}
		return code;
	}
	return t->cfg->trial.input_mode == CFG_INPUT_PRESS ? 0 : t->held;
}

/* Chooses the step's action (the participant's, or the agent's in the
 * agent modes) into t->pend_code / t->pend_action. Returns 0; 1 while an
 * agent process computes it (TRIAL_WAIT_ACTION: called again once it
 * answered, with the participant's input taken the first time); -1 on
 * failure. */
static int choose_action(struct trial *t, const struct trial_sink *sink)
{
	if (t->state != TRIAL_WAIT_ACTION) {
		bool given = t->qlen > 0; /* the participant acted for this step (advise) */
		int action = next_action(t);
		memset(t->pend_action, 0, t->npend * sizeof *t->pend_action);
		/* continuous spaces get the zero action from discrete names */
		if (t->env.info->action_space.kind == HIPPO_SPACE_DISCRETE)
			t->pend_action[0] = (double)action + (double)t->env.info->action_space.start;
		t->pend_code = action;
		t->pend_human = given ? action : -1;
	}
	if (t->mode) {
		char err[256];
		int r = mode_act(t->mode, t->env.obs, t->total_steps, t->pend_human, &t->pend_code,
				 t->pend_action, err, sizeof err);
		t->state = r > 0 ? TRIAL_WAIT_ACTION : TRIAL_READY;
		if (r < 0)
			fail_env(t, sink, err);
		if (r != 0)
			return r < 0 ? -1 : 1;
	}
	return 0;
}

/* One step: the action, the environment's step, its record line, the end of
 * the episode it may bring, its frame. */
static void tick(struct trial *t, struct trial_scratch *sc, const struct trial_sink *sink)
{
	/* an external process's step is asynchronous: the first call sends it, the
	 * call after tenv_step_ready() takes the result (same action) */
	if (t->state != TRIAL_WAIT_STEP && choose_action(t, sink) != 0)
		return;
	int action = t->pend_code;
	const double *ap = t->pend_action;
	struct hippo_step_result res = {0};
	if (env_step(&t->env, ap, &res, t->info, sizeof t->info) < 0) {
		bool pending = tenv_step_pending(&t->src);
		t->state = pending ? TRIAL_WAIT_STEP : TRIAL_READY;
		if (!pending)
			fail_env(t, sink, t->env.err);
		return;
	}
	t->state = TRIAL_READY;
	if (t->mode)
		mode_observe(t->mode, t->total_steps, ap, &res, t->env.obs);
	t->step++;
	t->total_steps++;
	t->score += res.reward;
	t->disp_dirty = true;
	trial__record(t, action, &res, NULL);
	if (res.terminated || res.truncated) {
		end_episode(t, sink);
		if (t->state == TRIAL_ENDED)
			return;
	}
	trial__send_frame(t, sc, sink);
	if (t->lag_from && t->qlen == 0) { /* the frame shows the step of the queued actions */
		double ms = (double)(clock_mono_ns() - t->lag_from) / 1e6;
		t->lag_ms = t->lag_ms > 0 ? 0.8 * t->lag_ms + 0.2 * ms : ms;
		t->lag_from = 0;
	}
}

void trial_get_stats(const struct trial *t, struct trial_stats *st)
{
	*st = (struct trial_stats){
		.episode = t->episode,
		.max_episodes = t->cfg->trial.max_episodes,
		.step = t->step,
		.score = t->score,
		.fps = t->fps,
		.playing = t->client == TRIAL_PLAYING && !t->hidden && t->state != TRIAL_ENDED &&
			   t->cfg->trial.input_mode != CFG_INPUT_TURN,
		.rtt_ms = t->rtt_ms,
		.lag_ms = t->lag_ms,
	};
}

int64_t trial_due(const struct trial *t)
{
	switch (t->state) {
	case TRIAL_ENDED:
		return INT64_MAX;
	case TRIAL_READY:
		break;
	default: /* starting or waiting for a process: poll it */
		return t->poll_at;
	}
	bool attached = trial__attached(t);
	if (t->pending_end || t->pending_reset || (t->episode == 0 && attached) ||
	    (t->want_frame && attached))
		return 0;
	int64_t d = t->next_flush;
	if (t->binary && attached && t->disp_dirty && t->disp_at < d)
		d = t->disp_at;
	if (t->client == TRIAL_PLAYING && !t->hidden) {
		if (t->cfg->trial.input_mode == CFG_INPUT_TURN)
			return t->qlen > 0 ? 0 : d;
		if (t->next_tick < d)
			d = t->next_tick;
	}
	return d;
}

/* Whether the trial waits for a process (a step, a reset or an action) that
 * has not answered yet. */
static bool waiting(struct trial *t)
{
	char err[256];
	switch (t->state) {
	case TRIAL_WAIT_STEP:
	case TRIAL_WAIT_RESET:
		return !tenv_step_ready(&t->src);
	case TRIAL_WAIT_ACTION:
		return mode_ready(t->mode, err, sizeof err) == 0;
	default:
		return false;
	}
}

void trial_run(struct trial *t, int64_t now, struct trial_scratch *sc, const struct trial_sink *sink)
{
	char err[256];
	if (t->state == TRIAL_ENDED)
		return;
	if (t->pending_end) {
		finish(t, t->pending_end, sink);
		return;
	}
	if (trial_starting(t) && !env_started(t, sink)) {
		t->poll_at = now + 5000000;
		return;
	}
	/* the first episode (once a client is there: a session nobody connects
	 * to records nothing); or a reset an external process has answered */
	if ((t->episode == 0 && trial__attached(t)) ||
	    (t->state == TRIAL_WAIT_RESET && tenv_step_ready(&t->src))) {
		int r = begin_episode(t, err, sizeof err);
		if (r == -2) {
			end_record_error(t, sink, err);
			return;
		}
		if (r < 0) {
			fail_env(t, sink, t->env.err);
			return;
		}
		if (r == 0)
			trial__record(t, 0, NULL, NULL);
	}
	if ((t->state == TRIAL_WAIT_STEP || t->state == TRIAL_WAIT_ACTION) && !waiting(t)) {
		tick(t, sc, sink); /* a process answered */
		if (t->state == TRIAL_ENDED)
			return;
	}
	/* From here on a step or a reset needs the trial READY, read afresh: the
	 * answered step above may have ended the episode and sent the next
	 * reset, or sent its next request to a process. A step taken while a
	 * reset is pending would leave the trial waiting for a step that was
	 * never asked for, and the participant without frames for good. */
	if (t->pending_reset && t->state == TRIAL_READY) {
		t->pending_reset = false;
		end_episode(t, sink);
		if (t->state == TRIAL_ENDED)
			return;
	}
	bool ticking = t->client == TRIAL_PLAYING && !t->hidden && t->state == TRIAL_READY;
	if (ticking && t->cfg->trial.input_mode == CFG_INPUT_TURN) {
		if (t->qlen > 0)
			tick(t, sc, sink);
	} else if (ticking && now >= t->next_tick) {
		tick(t, sc, sink);
		if (t->state == TRIAL_ENDED)
			return;
		/* the next tick from the ideal time, not from now: no drift */
		int64_t period = trial__period_ns(t);
		if (t->next_tick != INT64_MAX) { /* INT64_MAX: the tick ended the episode */
			t->next_tick += period;
			if (t->next_tick <= now) /* fell behind by more than a period: skip, don't burst */
				t->next_tick = now + period;
		}
	}
	if (t->state == TRIAL_ENDED)
		return;
	if (t->state != TRIAL_READY)
		t->poll_at = now + 1000000; /* a process computes: poll it */
	/* the owed frame of the current state; while a reset is computed there
	 * is none yet (the reset's answer owes it again) */
	if (t->want_frame && trial__attached(t) && t->state != TRIAL_WAIT_RESET)
		trial__send_frame(t, sc, sink);
	if (t->binary && t->disp_dirty && now >= t->disp_at)
		trial__send_display_text(t, sink, false); /* a change held back by the throttle */
	if (now >= t->next_flush) {
		/* a failure keeps the lines for the next try; the episode's end
		 * fails the trial if they still cannot be written */
		if (rec_flush(t->rec, err, sizeof err) < 0 && !t->flush_warned) {
			t->flush_warned = true;
			log_warn("trial", "records not written yet", "user=%s trial=%s err=\"%s\"",
				 t->user_id, t->trial_id, err);
		}
		t->next_flush = now + 1000000000;
	}
}

void trial_free(struct trial *t)
{
	if (!t)
		return;
	if (t->state != TRIAL_ENDED)
		finish(t, SESS_END_SHUTDOWN, NULL);
	char err[256];
	rec_close(t->rec, err, sizeof err);
	mode_close(t->mode);
	tenv_close(&t->src);
	if (t->files) {
		for (size_t i = 0; t->files[i]; i++)
			free(t->files[i]);
		free(t->files);
	}
	buf_free(&t->inputs);
	buf_free(&t->line);
	free(t->pend_action);
	free(t);
}

void trial_scratch_free(struct trial_scratch *sc)
{
	enc_frame_free(sc->enc);
	free(sc->rgb);
	memset(sc, 0, sizeof *sc);
}
