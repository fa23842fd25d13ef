/* trial: episodes, commands, actions, pacing and records of one participant. */
#include "trial/trial.h"

#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>

#include "core/clock.h"
#include "core/config.h"
#include "core/log.h"
#include "env/env.h"
#include "render/encode.h"
#include "trial/mode.h"
#include "trial/recorder.h"
#include "trial/trial_env.h"

#define TRIAL_QUEUE 16              /* pending actions (bounded) */
#define TRIAL_MAX_INPUT_BYTES 65536 /* recorded input text per step; more is counted, not kept */
#define TRIAL_INFO_MAX 1024
#define TRIAL_DISPLAY_MAX 160
#define TRIAL_DISPLAY_NS 250000000 /* binary frames: at most 4 display messages a second */

struct trial {
	const struct cfg *cfg;
	char project_id[MSG_ID_MAX + 1];
	char user_id[MSG_ID_MAX + 1];
	char trial_id[48];
	struct env env;
	bool env_open;
	struct tenv src;   /* where the env comes from (built-in, plug-in, process) */
	struct mode *mode; /* feedback/advise/watch: the agent; NULL in play mode */
	bool started;      /* the env and agent are ready, the start line written */
	bool mode_opened;
	int64_t poll_at;   /* while not started or stepping: when to poll the process */
	bool step_pending; /* an external process computes the step of pend_action */
	bool act_pending;  /* an agent process computes the action */
	bool reset_pending;/* an external process computes the reset of begin_episode */
	int pend_code, pend_human;
	double pend_action[MODE_MAX_ACTION];
	struct rec *rec;
	char **files;      /* copied from the recorder at the end */
	bool flush_warned; /* a failed periodic write was logged */

	int episode;       /* 1-based, current */
	long long step;    /* steps in the episode */
	long long total_steps;
	unsigned long long frame_id;
	double score;
	uint64_t seed;

	bool attached, playing, hidden, want_frame, pending_reset;
	enum sess_end_reason pending_end;
	enum sess_end_reason ended;
	int fps;
	int64_t next_tick, next_flush;

	struct { int code; int left; } q[TRIAL_QUEUE];
	int qhead, qlen;
	int held;

	char *inputs;      /* the messages since the last step, comma-separated JSON */
	size_t ilen, icap;
	unsigned ninputs, inputs_dropped;
	long long seen_frame;
	double reaction_ms;
	double rtt_ms;
	int used_budget;
	bool binary;       /* the client takes binary frames: display and budget go as text */
	bool disp_dirty;   /* a step or an episode changed the display since it was sent */
	bool disp_force;   /* send the display at once (episode start, attach) */
	int64_t disp_at;   /* binary frames: the display may be sent again from then */
	char disp_sent[TRIAL_DISPLAY_MAX]; /* the display object last sent ("" after attach) */
	char info[TRIAL_INFO_MAX];
};

/* The frame period at the current rate (the config bounds it to 1..1000 fps). */
static int64_t period_ns(const struct trial *t)
{
	return 1000000000 / (t->fps > 0 ? t->fps : 1);
}

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
	return !t->started && !t->ended;
}

enum sess_end_reason trial_ended(const struct trial *t)
{
	return t->ended;
}

const char *const *trial_files(const struct trial *t)
{
	static const char *const none[] = {NULL};
	if (t->files)
		return (const char *const *)t->files;
	return t->rec ? rec_files(t->rec) : none;
}

/* A small growable string for messages and record lines. */
struct sbuf {
	char *p;
	size_t len, cap;
	bool fail;
};

static void sb_add(struct sbuf *b, const char *s, size_t n)
{
	if (b->fail)
		return;
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap * 2 : 1024;
		while (cap < b->len + n + 1)
			cap *= 2;
		char *p = realloc(b->p, cap);
		if (!p) {
			b->fail = true;
			return;
		}
		b->p = p;
		b->cap = cap;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

__attribute__((format(printf, 2, 3))) static void sb_fmt(struct sbuf *b, const char *fmt, ...)
{
	char tmp[512];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof tmp) {
		b->fail = true;
		return;
	}
	sb_add(b, tmp, (size_t)n);
}

static void sb_json(struct sbuf *b, const json_t *j)
{
	char *s = json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY);
	if (!s) {
		b->fail = true;
		return;
	}
	sb_add(b, s, strlen(s));
	free(s);
}

static void send_json(const struct trial_sink *sink, json_t *j)
{
	char *s = json_dumps(j, JSON_COMPACT);
	if (s) {
		sink->text(sink->user, s, strlen(s));
		free(s);
	}
	json_decref(j);
}

static void send_error(const struct trial_sink *sink, const char *msg)
{
	send_json(sink, json_pack("{s:s}", "error", msg));
}

/* The display panel's values as a JSON object: the episode ("k / max"), its
 * return so far (rounded to 2 decimals) and the step in the episode. */
static void display_obj(const struct trial *t, char *buf, size_t len)
{
	double s = isfinite(t->score) ? round(t->score * 100) / 100 : 0;
	if (s == 0)
		s = 0; /* no "-0" */
	snprintf(buf, len, "{\"episode\":\"%d / %d\",\"score\":%.15g,\"step\":%lld}",
		 t->episode, t->cfg->trial.max_episodes, s, t->step);
}

/* Binary frames: sends {"display": {...}} as a text message when it changed,
 * at most every TRIAL_DISPLAY_NS unless forced (episode start and end, attach). */
static void send_display_text(struct trial *t, const struct trial_sink *sink, bool force)
{
	if (!t->attached || !(t->disp_dirty || t->disp_force || force))
		return;
	int64_t now = clock_mono_ns();
	force = force || t->disp_force;
	if (!force && now < t->disp_at)
		return;
	char obj[TRIAL_DISPLAY_MAX], msg[TRIAL_DISPLAY_MAX + 16];
	display_obj(t, obj, sizeof obj);
	t->disp_dirty = t->disp_force = false;
	if (strcmp(obj, t->disp_sent) == 0)
		return;
	int n = snprintf(msg, sizeof msg, "{\"display\":%s}", obj);
	if (n <= 0 || (size_t)n >= sizeof msg)
		return;
	sink->text(sink->user, msg, (size_t)n);
	snprintf(t->disp_sent, sizeof t->disp_sent, "%s", obj);
	t->disp_at = now + TRIAL_DISPLAY_NS;
}

/* Binary frames: the feedback budget as a text message (JSON frames carry it). */
static void send_budget_text(const struct trial *t, const struct trial_sink *sink)
{
	if (!t->binary || t->cfg->trial.input_budget <= 0)
		return;
	char msg[80];
	int n = snprintf(msg, sizeof msg, "{\"inputBudget\":%d,\"usedInputBudget\":%d}",
			 t->cfg->trial.input_budget, t->used_budget);
	if (n > 0 && (size_t)n < sizeof msg)
		sink->text(sink->user, msg, (size_t)n);
}

static void send_ui(struct trial *t, const struct trial_sink *sink)
{
	json_t *ui = json_array();
	for (size_t i = 0; i < t->cfg->trial.nui; i++)
		json_array_append_new(ui, json_string(t->cfg->trial.ui[i]));
	send_json(sink, json_pack("{s:o}", "UI", ui));
}

/* Writes the trial's start or end line to trials.jsonl. Returns 0, or -1
 * with the recorder's message in ERR. */
static int meta_line(struct trial *t, const char *event, enum sess_end_reason reason, char *err,
		     size_t errlen)
{
	json_t *j = json_pack("{s:s,s:s,s:s,s:s,s:I,s:s}", "event", event, "trialId", t->trial_id,
			      "projectId", t->project_id, "userId", t->user_id, "t",
			      (json_int_t)clock_wall_ms(), "game",
			      t->cfg->trial.game ? t->cfg->trial.game : "");
	if (strcmp(event, "start") == 0) {
		json_object_set_new(j, "seed", json_integer((json_int_t)(t->seed & INT64_MAX)));
		json_object_set_new(j, "maxEpisodes", json_integer(t->cfg->trial.max_episodes));
		json_object_set_new(j, "dataFile", json_string(t->cfg->trial.data_file ==
									CFG_DATA_TRIAL
								? "trial"
								: "episode"));
		static const char *const modes[] = {"hold", "press", "turn"};
		json_object_set_new(j, "inputMode", json_string(modes[t->cfg->trial.input_mode % 3]));
		json_t *as = json_array();
		for (size_t i = 0; i < t->cfg->trial.naction_space; i++)
			json_array_append_new(as, json_string(t->cfg->trial.action_space[i]));
		json_object_set_new(j, "actionSpace", as);
		json_object_set_new(j, "renderWidth", json_integer(t->env.info->meta.render_width));
		json_object_set_new(j, "renderHeight",
				    json_integer(t->env.info->meta.render_height));
		/* what a replay needs (hippo verify): the environment actually opened */
		const struct cfg_env_source *es = &t->cfg->trial.env;
		const char *eid = es->id ? es->id : t->cfg->trial.game;
		const char *src = es->command ? "command" : es->plugin ? "plugin" : "builtin";
		json_object_set_new(j, "env", json_pack("{s:s,s:s,s:O*}", "id",
							eid ? eid : t->env.info->id, "source", src,
							"options", es->options));
		json_object_set_new(j, "hippoVersion", json_string(HIPPO_VERSION));
	} else {
		json_object_set_new(j, "reason", json_string(sess_end_reason_name(reason)));
		json_object_set_new(j, "episodes", json_integer(t->episode));
		json_object_set_new(j, "steps", json_integer(t->total_steps));
		json_object_set_new(j, "frames", json_integer((json_int_t)t->frame_id));
		json_object_set_new(j, "droppedLines", json_integer((json_int_t)rec_dropped(t->rec)));
	}
	char *s = json_dumps(j, JSON_COMPACT);
	json_decref(j);
	int rc = s ? rec_meta(t->rec, s, strlen(s), err, errlen) : -1;
	if (!s)
		snprintf(err, errlen, "out of memory");
	free(s);
	return rc;
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
	if (!t->mode_opened) {
		if (mode_open(t->cfg, t->env.info, t->fps, t->seed, ctx, &t->mode, err, errlen) < 0)
			return -1;
		t->mode_opened = true;
	}
	int r = mode_ready(t->mode, err, errlen);
	if (r <= 0)
		return r;
	if (meta_line(t, "start", SESS_END_NONE, err, errlen) < 0)
		return -2;
	t->started = true;
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
	t->env_open = true;
	struct rec_config rc_ = {.data_dir = p->data_dir,
				 .project_id = p->project_id,
				 .user_id = p->user_id,
				 .trial_id = t->trial_id,
				 .per_episode = ct->data_file == CFG_DATA_EPISODE,
				 .on_closed = p->on_file_closed,
				 .on_closed_user = p->on_file_closed_user};
	t->rec = rec_open(&rc_, err, errlen);
	if (!t->rec) {
		tenv_close(&t->src);
		free(t);
		return NULL;
	}
	t->seed = ct->seed >= 0 ? (uint64_t)ct->seed : (random64() >> 1);
	t->fps = ct->starting_frame_rate;
	t->episode = 0;
	t->seen_frame = -1;
	t->reaction_ms = -1;
	t->rtt_ms = -1;
	t->next_tick = INT64_MAX;
	t->next_flush = clock_mono_ns() + 1000000000;
	if (t->src.ready && start_env(t, err, errlen) < 0) {
		log_error("trial", "trial could not start", "user=%s err=\"%s\"", t->user_id, err);
		char e2[256];
		rec_close(t->rec, e2, sizeof e2);
		tenv_close(&t->src);
		free(t);
		return NULL;
	}
	return t;
}

/* Starts the next episode: opens its file, resets the env (seeded once, on
 * episode 1) and records the initial observation as step 0. Returns 0, 1
 * while an external process resets, -1 when the environment failed, -2 with
 * ERR when the episode's file could not be opened. */
static int begin_episode(struct trial *t, char *err, size_t errlen)
{
	if (!t->reset_pending) {
		t->episode++;
		t->step = 0;
		t->score = 0;
		if (rec_begin_episode(t->rec, t->episode, err, errlen) < 0)
			return -2;
	}
	uint64_t seed = t->seed;
	if (env_reset(&t->env, t->episode == 1 ? &seed : NULL, t->info, sizeof t->info) < 0) {
		/* an external process computes the reset: called again when it answered */
		t->reset_pending = tenv_step_pending(&t->src);
		return t->reset_pending ? 1 : -1;
	}
	t->reset_pending = false;
	t->want_frame = true;
	t->disp_dirty = t->disp_force = true;
	return 0;
}

/* One record line: the step just taken (RES), or without RES the reset line
 * of an episode (step 0) or, with END set, the trial's last line holding the
 * inputs received after the last step. */
static void record(struct trial *t, int action, const struct hippo_step_result *res,
		   const char *end)
{
	struct sbuf b = {0};
	sb_fmt(&b,
	       "{\"userId\":\"%s\",\"projectId\":\"%s\",\"trialId\":\"%s\",\"episode\":%d,"
	       "\"step\":%lld,\"frameId\":%llu,\"t\":%lld,",
	       t->user_id, t->project_id, t->trial_id, t->episode, t->step, t->frame_id + 1,
	       (long long)clock_wall_ms());
	if (res) {
		const char *name = (size_t)action < t->cfg->trial.naction_space
					   ? t->cfg->trial.action_space[action]
					   : "";
		json_t *jn = json_string(name);
		sb_add(&b, "\"action\":", 9);
		sb_fmt(&b, "%d,\"actionName\":", action);
		sb_json(&b, jn);
		json_decref(jn);
		sb_fmt(&b, ",\"reward\":%.17g,\"terminated\":%s,\"truncated\":%s,",
		       isfinite(res->reward) ? res->reward : 0.0, res->terminated ? "true" : "false",
		       res->truncated ? "true" : "false");
		sb_add(&b, mode_record(t->mode), strlen(mode_record(t->mode)));
		if (t->env.info->action_space.kind != HIPPO_SPACE_DISCRETE) { /* the vector applied */
			size_t n = hippo_space_size(&t->env.info->action_space);
			n = n < MODE_MAX_ACTION ? n : MODE_MAX_ACTION;
			for (size_t i = 0; i < n; i++)
				sb_fmt(&b, "%s%.17g", i ? "," : "\"envAction\":[", t->pend_action[i]);
			sb_add(&b, "],", n ? 2 : 0);
		}
	} else if (end) {
		sb_fmt(&b, "\"end\":\"%s\",", end);
	} else {
		sb_add(&b, "\"reset\":true,", 13);
	}
	sb_add(&b, "\"inputs\":[", 10);
	if (t->ilen)
		sb_add(&b, t->inputs, t->ilen);
	sb_add(&b, "],", 2);
	if (t->inputs_dropped)
		sb_fmt(&b, "\"inputsDropped\":%u,", t->inputs_dropped);
	sb_add(&b, "\"observation\":[", 15);
	bool f32 = t->env.info->observation_space.dtype != HIPPO_DTYPE_FLOAT64;
	for (size_t i = 0; i < t->env.obs_n; i++) {
		double v = t->env.obs[i];
		if (!isfinite(v))
			sb_fmt(&b, "%snull", i ? "," : "");
		else
			sb_fmt(&b, f32 ? "%s%.9g" : "%s%.17g", i ? "," : "", v);
	}
	sb_fmt(&b, "],\"fps\":%d", t->fps);
	if (t->seen_frame >= 0)
		sb_fmt(&b, ",\"seenFrameId\":%lld", t->seen_frame);
	if (t->reaction_ms >= 0)
		sb_fmt(&b, ",\"reactionMs\":%.1f", t->reaction_ms);
	if (t->rtt_ms >= 0)
		sb_fmt(&b, ",\"rttMs\":%.2f", t->rtt_ms);
	if (t->info[0] && strcmp(t->info, "{}") != 0) {
		sb_add(&b, ",\"info\":", 8);
		sb_add(&b, t->info, strlen(t->info));
	}
	sb_add(&b, "}", 1);
	if (!b.fail)
		rec_append(t->rec, b.p, b.len);
	free(b.p);
	t->ilen = 0;
	t->ninputs = 0;
	t->inputs_dropped = 0;
	t->seen_frame = -1;
	t->reaction_ms = -1;
}

static void send_frame(struct trial *t, struct trial_scratch *sc, const struct trial_sink *sink)
{
	const struct hippo_env_meta *meta = &t->env.info->meta;
	int w = meta->render_width, h = meta->render_height;
	if (w <= 0 || h <= 0)
		return;
	size_t need = (size_t)w * (size_t)h * 3;
	if (sc->rgb_cap < need) {
		uint8_t *p = realloc(sc->rgb, need);
		if (!p)
			return;
		sc->rgb = p;
		sc->rgb_cap = need;
	}
	if (env_render(&t->env, sc->rgb, (size_t)w * 3) < 0) {
		log_warn("trial", "render failed", "user=%s err=\"%s\"", t->user_id, t->env.err);
		return;
	}
	if (!sc->enc && !(sc->enc = enc_frame_new(sc->cache)))
		return;
	size_t len = 0;
	const uint8_t *jpeg = enc_frame(sc->enc, sc->rgb, w, h, (size_t)w * 3,
					t->cfg->trial.jpeg_quality, &len);
	if (!jpeg) {
		log_warn("trial", "JPEG encoding failed", "user=%s", t->user_id);
		return;
	}
	char extra[96 + TRIAL_DISPLAY_MAX] = "";
	size_t xn = 0;
	if (t->cfg->trial.input_budget > 0 && !t->binary)
		xn = (size_t)snprintf(extra, sizeof extra,
				      ",\"inputBudget\":%d,\"usedInputBudget\":%d",
				      t->cfg->trial.input_budget, t->used_budget);
	if (!t->binary && (t->disp_dirty || t->disp_force)) { /* the display rides along */
		char obj[TRIAL_DISPLAY_MAX];
		display_obj(t, obj, sizeof obj);
		if (strcmp(obj, t->disp_sent) != 0 && xn < sizeof extra) {
			snprintf(extra + xn, sizeof extra - xn, ",\"display\":%s", obj);
			snprintf(t->disp_sent, sizeof t->disp_sent, "%s", obj);
		}
		t->disp_dirty = t->disp_force = false;
	}
	sink->frame(sink->user, jpeg, len, ++t->frame_id, extra);
	t->want_frame = false;
	if (t->binary)
		send_display_text(t, sink, false);
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
		char msg[300];
		snprintf(msg, sizeof msg,
			 "Your game could not be saved on the server (%s). Please try again.",
			 r && r[1] ? r + 2 : why);
		send_error(sink, msg);
	}
}

static void finish(struct trial *t, enum sess_end_reason reason, const struct trial_sink *sink)
{
	if (t->ended)
		return;
	t->ended = reason;
	t->playing = false;
	t->next_tick = INT64_MAX;
	char err[256], merr[256];
	if (t->ninputs && t->episode > 0)
		record(t, t->held, NULL, sess_end_reason_name(reason)); /* late inputs */
	if (rec_end_episode(t->rec, err, sizeof err) < 0 && reason != SESS_END_RECORD) {
		/* the last records are not on disk: the game does not count as
		 * played (the flow's stop step and a shutdown keep their reason) */
		fail_record(t, sink, err);
		if (reason != SESS_END_STOP_STEP && reason != SESS_END_SHUTDOWN &&
		    reason != SESS_END_ERROR)
			t->ended = reason = SESS_END_RECORD;
	}
	if (meta_line(t, "end", reason, merr, sizeof merr) < 0)
		log_error("trial", "end line not written", "user=%s trial=%s err=\"%s\"",
			  t->user_id, t->trial_id, merr);
	size_t n = 0;
	const char *const *f = rec_files(t->rec);
	while (f[n])
		n++;
	t->files = calloc(n + 1, sizeof *t->files);
	for (size_t i = 0; t->files && i < n; i++)
		t->files[i] = strdup(f[i]);
	if (sink && reason != SESS_END_RECORD)
		sink->text(sink->user, "done", 4); /* after a record error the session closes */
}

static void end_record_error(struct trial *t, const struct trial_sink *sink, const char *why)
{
	if (t->ended)
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
		send_error(sink, msg);
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
		send_display_text(t, sink, true); /* the episode's final score */
	if (t->mode)
		mode_episode_end(t->mode, t->episode, t->score, t->step);
	if (rec_end_episode(t->rec, err, sizeof err) < 0) {
		end_record_error(t, sink, err);
		return;
	}
	if (t->episode >= t->cfg->trial.max_episodes) {
		finish(t, SESS_END_DONE, sink);
		return;
	}
	int r = begin_episode(t, err, sizeof err);
	if (r == -2)
		end_record_error(t, sink, err);
	else if (r < 0)
		fail_env(t, sink, t->env.err);
	else if (r == 0)
		record(t, 0, NULL, NULL); /* else when the process answered (trial_run) */
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
 * agent process computes it (t->act_pending: called again once it answered,
 * with the participant's input taken the first time); -1 on failure. */
static int choose_action(struct trial *t, const struct trial_sink *sink)
{
	if (!t->act_pending) {
		bool given = t->qlen > 0; /* the participant acted for this step (advise) */
		int action = next_action(t);
		memset(t->pend_action, 0, sizeof t->pend_action);
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
		t->act_pending = r > 0;
		if (r < 0)
			fail_env(t, sink, err);
		if (r != 0)
			return r < 0 ? -1 : 1;
	}
	return 0;
}

static void tick(struct trial *t, struct trial_scratch *sc, const struct trial_sink *sink)
{
	/* an external process's step is asynchronous: the first call sends it, the
	 * call after tenv_step_ready() takes the result (same action) */
	if (!t->step_pending && choose_action(t, sink) != 0)
		return;
	int action = t->pend_code;
	const double *ap = t->pend_action;
	struct hippo_step_result res = {0};
	if (env_step(&t->env, ap, &res, t->info, sizeof t->info) < 0) {
		t->step_pending = tenv_step_pending(&t->src);
		if (!t->step_pending)
			fail_env(t, sink, t->env.err);
		return;
	}
	t->step_pending = false;
	if (t->mode)
		mode_observe(t->mode, t->total_steps, ap, &res, t->env.obs);
	t->step++;
	t->total_steps++;
	t->score += res.reward;
	t->disp_dirty = true;
	record(t, action, &res, NULL);
	if (res.terminated || res.truncated) {
		end_episode(t, sink);
		if (t->ended)
			return;
	}
	send_frame(t, sc, sink);
}

static void stop_ticking(struct trial *t)
{
	t->next_tick = INT64_MAX;
}

int64_t trial_due(const struct trial *t)
{
	if (t->ended)
		return INT64_MAX;
	if (!t->started || t->step_pending || t->act_pending || t->reset_pending)
		return t->poll_at;
	if (t->pending_end || t->pending_reset || (t->episode == 0 && t->attached) ||
	    (t->want_frame && t->attached))
		return 0;
	int64_t d = t->next_flush;
	if (t->binary && t->attached && t->disp_dirty && t->disp_at < d)
		d = t->disp_at;
	if (t->attached && t->playing && !t->hidden) {
		if (t->cfg->trial.input_mode == CFG_INPUT_TURN)
			return t->qlen > 0 ? 0 : d;
		if (t->next_tick < d)
			d = t->next_tick;
	}
	return d;
}

void trial_run(struct trial *t, int64_t now, struct trial_scratch *sc, const struct trial_sink *sink)
{
	char err[256];
	if (t->ended)
		return;
	if (t->pending_end) {
		finish(t, t->pending_end, sink);
		return;
	}
	if (!t->started && !env_started(t, sink)) {
		t->poll_at = now + 5000000;
		return;
	}
	/* the first episode (once a client is there: a session nobody connects
	 * to records nothing); or a reset an external process has answered */
	if ((t->episode == 0 && t->attached) || (t->reset_pending && tenv_step_ready(&t->src))) {
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
			record(t, 0, NULL, NULL);
	}
	char merr[256];
	bool waiting = ((t->step_pending || t->reset_pending) && !tenv_step_ready(&t->src)) ||
		       (t->act_pending && mode_ready(t->mode, merr, sizeof merr) == 0);
	if ((t->step_pending || t->act_pending) && !waiting) { /* a process answered */
		tick(t, sc, sink);
		if (t->ended)
			return;
	}
	if (waiting)
		t->poll_at = now + 1000000;
	if (t->pending_reset && !waiting) {
		t->pending_reset = false;
		end_episode(t, sink);
		if (t->ended)
			return;
	}
	bool ticking = t->attached && t->playing && !t->hidden && !waiting;
	if (ticking && t->cfg->trial.input_mode == CFG_INPUT_TURN) {
		if (t->qlen > 0)
			tick(t, sc, sink);
	} else if (ticking && now >= t->next_tick) {
		tick(t, sc, sink);
		if (t->ended)
			return;
		/* the next tick from the ideal time, not from now: no drift */
		int64_t period = period_ns(t);
		if (t->next_tick != INT64_MAX) { /* INT64_MAX: the tick ended the episode */
			t->next_tick += period;
			if (t->next_tick <= now) /* fell behind by more than a period: skip, don't burst */
				t->next_tick = now + period;
		}
	}
	if (t->ended)
		return;
	if (t->want_frame && t->attached)
		send_frame(t, sc, sink);
	if (t->binary && t->disp_dirty && now >= t->disp_at)
		send_display_text(t, sink, false); /* a change held back by the throttle */
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

void trial_on_attach(struct trial *t, const struct trial_msg *hs, const struct trial_sink *sink)
{
	t->attached = true;
	t->hidden = false;
	t->binary = hs && hs->accept_binary;
	t->disp_sent[0] = '\0'; /* a new connection: the display is sent again */
	t->disp_force = t->episode > 0;
	if (hs && hs->want_hello) {
		json_t *sup = json_pack("[s,s,s,s,s]", "binary", "feedback", "visibility", "ping",
					"sinceFrameMs");
		send_json(sink,
			  json_pack("{s:{s:s,s:s,s:i,s:s,s:s,s:s,s:o}}", "hello", "server", "hippo",
				    "version", HIPPO_VERSION, "protocol", 1, "userId", t->user_id,
				    "trialId", t->trial_id, "frames",
				    hs->accept_binary ? "binary" : "json", "supports", sup));
	}
	send_ui(t, sink);
	if (t->cfg->trial.variables)
		send_json(sink, json_incref(t->cfg->trial.variables));
	if (t->cfg->trial.instructions)
		send_json(sink, json_pack("{s:O}", "Instructions", t->cfg->trial.instructions));
	send_budget_text(t, sink);
	t->want_frame = true;
}

void trial_on_detach(struct trial *t)
{
	t->attached = false;
	t->playing = false;
	stop_ticking(t);
}

void trial_on_rtt(struct trial *t, double rtt_ms)
{
	t->rtt_ms = rtt_ms;
}

/* Keeps the message verbatim (with its receive time) for the next record. */
static void keep_input(struct trial *t, const struct trial_msg *m)
{
	char *s = json_dumps(m->root, JSON_COMPACT);
	if (!s)
		return;
	size_t n = strlen(s);
	char stamp[48];
	int sn = snprintf(stamp, sizeof stamp, "{\"t\":%lld,\"msg\":",
			  (long long)clock_wall_ms());
	size_t need = t->ilen + (size_t)sn + n + 3;
	if (need > TRIAL_MAX_INPUT_BYTES) {
		t->inputs_dropped++;
		free(s);
		return;
	}
	if (need > t->icap) {
		size_t cap = t->icap ? t->icap : 1024;
		while (cap < need)
			cap *= 2;
		char *p = realloc(t->inputs, cap);
		if (!p) {
			t->inputs_dropped++;
			free(s);
			return;
		}
		t->inputs = p;
		t->icap = cap;
	}
	if (t->ilen)
		t->inputs[t->ilen++] = ',';
	memcpy(t->inputs + t->ilen, stamp, (size_t)sn);
	t->ilen += (size_t)sn;
	memcpy(t->inputs + t->ilen, s, n);
	t->ilen += n;
	t->inputs[t->ilen++] = '}';
	t->ninputs++;
	free(s);
}

static int action_code(const struct trial *t, const struct trial_msg *m)
{
	const struct cfg_trial *ct = &t->cfg->trial;
	if (m->action_code >= 0)
		return (size_t)m->action_code < ct->naction_space ? (int)m->action_code : 0;
	for (size_t i = 0; i < ct->naction_space; i++)
		if (strcasecmp(ct->action_space[i], m->action) == 0)
			return (int)i;
	return 0;
}

static void push_action(struct trial *t, int code)
{
	int lifespan = t->cfg->trial.action_buffer_lifespan;
	if (t->qlen == TRIAL_QUEUE) { /* full: the newest replaces the last queued */
		int last = (t->qhead + t->qlen - 1) % TRIAL_QUEUE;
		t->q[last].code = code;
		t->q[last].left = lifespan;
		return;
	}
	int i = (t->qhead + t->qlen) % TRIAL_QUEUE;
	t->q[i].code = code;
	t->q[i].left = lifespan;
	t->qlen++;
}

static void change_fps(struct trial *t, const struct trial_msg *m, const struct trial_sink *sink)
{
	const struct cfg_trial *ct = &t->cfg->trial;
	if (!ct->allow_frame_rate_change) {
		send_error(sink, "frame rate changes are not allowed in this trial");
		return;
	}
	int fps = m->fps_delta ? t->fps + m->fps_delta * ct->frame_rate_step_size : m->fps_value;
	if (fps < ct->min_frame_rate)
		fps = ct->min_frame_rate;
	if (fps > ct->max_frame_rate)
		fps = ct->max_frame_rate;
	t->fps = fps;
}

void trial_on_message(struct trial *t, const struct trial_msg *m, int64_t now,
		      const struct trial_sink *sink)
{
	if (t->ended)
		return;
	keep_input(t, m);
	if (m->has & MSG_COMMAND) {
		switch (m->command) {
		case MSG_CMD_START:
			if (!t->playing) {
				t->playing = true;
				t->next_tick = now + period_ns(t);
			}
			break;
		case MSG_CMD_PAUSE:
			t->playing = false;
			stop_ticking(t);
			break;
		case MSG_CMD_STOP:
			t->pending_end = SESS_END_STOP;
			break;
		case MSG_CMD_RESET:
			t->pending_reset = true;
			break;
		case MSG_CMD_REQUEST_UI:
			send_ui(t, sink);
			break;
		default:
			break;
		}
	}
	if (m->has & MSG_FRAMERATE)
		change_fps(t, m, sink);
	if (m->has & MSG_ACTION) {
		push_action(t, action_code(t, m));
		t->seen_frame = m->frame_id;
		t->reaction_ms = m->since_frame_ms;
	}
	if (m->has & MSG_FEEDBACK) {
		t->used_budget++;
		send_budget_text(t, sink);
		int budget = t->cfg->trial.input_budget;
		if (t->mode && (budget == 0 || t->used_budget <= budget)) {
			/* the step whose outcome was on screen: frame ids and steps advance together */
			long long lag = m->frame_id >= 0 && (unsigned long long)m->frame_id <= t->frame_id
						? (long long)(t->frame_id - (unsigned long long)m->frame_id)
						: 0;
			mode_feedback(t->mode, m->feedback_good ? 1 : -1, t->total_steps - 1 - lag);
		}
	}
	if ((m->has & MSG_VISIBILITY) && t->cfg->trial.pause_when_hidden) {
		bool was = t->hidden;
		t->hidden = !m->visible;
		if (was && !t->hidden && t->playing)
			t->next_tick = now + period_ns(t);
	}
}

void trial_free(struct trial *t)
{
	if (!t)
		return;
	if (!t->ended)
		finish(t, SESS_END_SHUTDOWN, NULL);
	char err[256];
	rec_close(t->rec, err, sizeof err);
	mode_close(t->mode);
	if (t->env_open)
		tenv_close(&t->src);
	if (t->files) {
		for (size_t i = 0; t->files[i]; i++)
			free(t->files[i]);
		free(t->files);
	}
	free(t->inputs);
	free(t);
}

void trial_scratch_free(struct trial_scratch *sc)
{
	enc_frame_free(sc->enc);
	free(sc->rgb);
	memset(sc, 0, sizeof *sc);
}
