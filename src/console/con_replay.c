/* con_replay: one recorded episode for the console's replay. The timeline
 * (every record line of the episode: actions, rewards, the participant's
 * inputs and feedback) and, for a built-in environment, its re-simulation
 * from the trial's recorded seed and actions (src/replay/): each step is
 * compared with the record bit for bit, and any step can be drawn. Opened
 * episodes are kept in a small cache, so playing one back does not replay
 * it from the start for every frame; a withdrawal empties it of the
 * participant's episodes (con__replays_forget), so nothing deleted is
 * served from memory afterwards. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "console/con_int.h"
#include "core/clock.h"
#include "core/datapath.h"
#include "core/id.h"
#include "dataset/walk.h"
#include "export/records.h"
#include "render/encode.h"
#include "replay/replay.h"
#include "export/frames.h"

#define REPLAYS 4                 /* episodes kept open */
#define REPLAY_MAX_LINES 200000   /* record lines of one episode the timeline takes */
#define REPLAY_JPEG_QUALITY 85

struct slot {
	char key[256];
	struct rp_episode *e;
	int64_t used;
	bool busy;
	bool doomed; /* its participant was withdrawn while it was busy: closed when given back */
};

struct con_replays {
	pthread_mutex_t mu;
	struct slot s[REPLAYS];
	unsigned long gen; /* withdrawals so far: an episode opened before one is not kept */
};

struct con_replays *con__replays_new(void)
{
	struct con_replays *r = calloc(1, sizeof *r);
	if (r)
		pthread_mutex_init(&r->mu, NULL);
	return r;
}

void con__replays_free(struct con_replays *r)
{
	if (!r)
		return;
	for (int i = 0; i < REPLAYS; i++)
		rp_episode_close(r->s[i].e);
	pthread_mutex_destroy(&r->mu);
	free(r);
}

/* The episode for KEY from the cache (marked busy), or NULL. */
static struct rp_episode *take(struct con_replays *r, const char *key)
{
	struct rp_episode *e = NULL;
	pthread_mutex_lock(&r->mu);
	for (int i = 0; i < REPLAYS && !e; i++)
		if (r->s[i].e && !r->s[i].busy && strcmp(r->s[i].key, key) == 0) {
			r->s[i].busy = true;
			r->s[i].used = clock_mono_ms();
			e = r->s[i].e;
		}
	pthread_mutex_unlock(&r->mu);
	return e;
}

/* The generation to pass to give() for an episode about to be opened. */
static unsigned long generation(struct con_replays *r)
{
	pthread_mutex_lock(&r->mu);
	unsigned long g = r->gen;
	pthread_mutex_unlock(&r->mu);
	return g;
}

/* Gives E back (taken, or newly opened for KEY when the generation was GEN):
 * kept, or closed (a participant was withdrawn since it was opened). */
static void give(struct con_replays *r, const char *key, struct rp_episode *e, unsigned long gen)
{
	pthread_mutex_lock(&r->mu);
	for (int i = 0; i < REPLAYS; i++)
		if (r->s[i].e == e) {
			r->s[i].busy = false;
			bool doomed = r->s[i].doomed;
			if (doomed) {
				r->s[i].e = NULL;
				r->s[i].doomed = false;
			}
			pthread_mutex_unlock(&r->mu);
			if (doomed)
				rp_episode_close(e);
			return;
		}
	if (gen != r->gen) {
		pthread_mutex_unlock(&r->mu);
		rp_episode_close(e);
		return;
	}
	struct slot *v = NULL;
	for (int i = 0; i < REPLAYS && !v; i++)
		if (r->s[i].e && !r->s[i].busy && strcmp(r->s[i].key, key) == 0)
			v = &r->s[i]; /* an older copy of the same episode */
	for (int i = 0; i < REPLAYS && !v; i++)
		if (!r->s[i].e)
			v = &r->s[i]; /* a free slot */
	for (int i = 0; i < REPLAYS && !v; i++) /* else the least recently used */
		for (int k = 0; k < REPLAYS; k++)
			if (!r->s[k].busy && (!v || r->s[k].used < v->used))
				v = &r->s[k];
	if (!v) {
		pthread_mutex_unlock(&r->mu);
		rp_episode_close(e);
		return;
	}
	struct rp_episode *old = v->e;
	snprintf(v->key, sizeof v->key, "%s", key);
	v->e = e;
	v->used = clock_mono_ms();
	v->busy = false;
	pthread_mutex_unlock(&r->mu);
	rp_episode_close(old);
}

void con__replays_forget(struct con_replays *r, const char *project, const char *user)
{
	char prefix[200];
	int n = snprintf(prefix, sizeof prefix, "%s/%s/", project, user);
	struct rp_episode *gone[REPLAYS] = {0};
	pthread_mutex_lock(&r->mu);
	r->gen++;
	for (int i = 0; i < REPLAYS; i++) {
		struct slot *v = &r->s[i];
		if (!v->e || strncmp(v->key, prefix, (size_t)n) != 0)
			continue;
		if (v->busy) {
			v->doomed = true;
		} else {
			gone[i] = v->e;
			v->e = NULL;
		}
	}
	pthread_mutex_unlock(&r->mu);
	for (int i = 0; i < REPLAYS; i++)
		rp_episode_close(gone[i]);
}

/* The trial and episode of J's query; -1 (j->err) when malformed. */
static int which(struct con_job *j, char *trial, size_t tlen, long long *episode)
{
	if (con__query_text(j, "trial", trial, tlen) <= 0 || !id_valid_user(trial))
		return con__fail(j, 400, "trial: expected the trialId of a recorded trial"), -1;
	return con__query_int(j, "episode", 1, 1, RP_MAX_EPISODE, episode);
}

static void key_of(const struct con_job *j, const char *trial, long long ep, char *key,
		   size_t len)
{
	snprintf(key, len, "%s/%s/%s/%lld", j->project, j->user, trial, ep);
}

/* The record lines of TRIAL's episode EP in DIR, in file order; SRC (LEN
 * bytes, may be NULL) gets the name of the data file of its first line. */
static json_t *episode_lines(const char *dir, const char *trial, long long ep, bool *cut,
			     char *src, size_t srclen)
{
	if (src)
		src[0] = '\0';
	json_t *lines = json_array();
	char **files = NULL;
	long nf = datapath_list_data_files(dir, &files);
	for (long i = 0; i < nf; i++) {
		char path[4400];
		snprintf(path, sizeof path, "%s/%s", dir, files[i]);
		FILE *f = fopen(path, "r");
		if (!f)
			continue;
		struct rr rd;
		rr_init(&rd, f, 0);
		json_t *jl;
		char e[256];
		int k;
		while ((k = rr_next(&rd, &jl, e, sizeof e)) != 0 && k != -2) {
			if (k < 0)
				continue;
			const char *tid = json_string_value(json_object_get(jl, "trialId"));
			json_t *epj = json_object_get(jl, "episode");
			if (tid && strcmp(tid, trial) == 0 && json_is_integer(epj) &&
			    json_integer_value(epj) == ep && !json_object_get(jl, "end")) {
				if (src && !src[0])
					snprintf(src, srclen, "%s", files[i]);
				if (json_array_size(lines) >= REPLAY_MAX_LINES)
					*cut = true;
				else
					json_array_append(lines, jl);
			}
			json_decref(jl);
		}
		rr_free(&rd);
		fclose(f);
	}
	datapath_list_free(files);
	return lines;
}

/* ---- frames recorded with the records (trial.recordFrames) ---- */

/* The frames recorded next to data file NAME of DIR (0 when none). */
static long count_frames(const char *dir, const char *name)
{
	struct frames_rd rd;
	struct frames_ent e;
	char err[160];
	long n = 0;
	FILE *f = name[0] ? frames_open(dir, name, &rd) : NULL;
	while (f && frames_next(&rd, &e, err, sizeof err) == 1)
		n++;
	if (f)
		fclose(f);
	return n;
}

static json_t *entry_of(json_t *line)
{
	json_t *out = json_object();
	static const char *const keep[] = {"step",       "t",         "frameId",  "action",
					   "actionName", "reward",    "terminated", "truncated",
					   "reset",      "inputs",    "observation", "fps",
					   "reactionMs", "rttMs",     "envAction", "info"};
	for (size_t i = 0; i < sizeof keep / sizeof keep[0]; i++) {
		json_t *v = json_object_get(line, keep[i]);
		if (v)
			json_object_set(out, keep[i], v);
	}
	return out;
}

int con__replay(struct console *c, struct con_job *j)
{
	char trial[80], dir[4096], key[256], err[512];
	long long ep;
	if (which(j, trial, sizeof trial, &ep) < 0)
		return 400;
	datapath_participant(dir, sizeof dir, c->data_dir, j->project, j->user);
	struct dw_trials ts = {0};
	if (dw_load_trials(dir, j->user, &ts) != 0) {
		dw_trials_free(&ts);
		return con__fail(j, 500, "out of memory");
	}
	const struct dw_trial *tr = dw_trial_find(&ts, j->user, trial);
	if (!tr) {
		dw_trials_free(&ts);
		return con__fail(j, 404, "no trial %s for this participant", trial);
	}
	bool cut = false;
	char src[256];
	json_t *lines = episode_lines(dir, trial, ep, &cut, src, sizeof src);
	if (json_array_size(lines) == 0) {
		json_decref(lines);
		dw_trials_free(&ts);
		return con__fail(j, 404, "trial %s has no episode %lld", trial, ep);
	}
	json_t *timeline = json_array();
	size_t i;
	json_t *line;
	json_array_foreach(lines, i, line)
		json_array_append_new(timeline, entry_of(line));
	json_t *out = json_pack("{s:s,s:I,s:s,s:s?,s:b,s:o}", "trialId", trial, "episode",
				(json_int_t)ep, "env", tr->game, "source", tr->source, "truncated",
				cut, "timeline", timeline);
	bool builtin = !tr->source || strcmp(tr->source, "builtin") == 0;
	dw_trials_free(&ts);
	if (!builtin) {
		long n = count_frames(dir, src);
		json_object_set_new(out, "simulated", json_false());
		json_object_set_new(out, "recordedFrames", json_integer(n));
		json_object_set_new(
			out, "why",
			json_string(n > 0 ? "an external environment: it cannot be re-simulated here; "
					    "the frames shown are the ones the participant was sent "
					    "(trial.recordFrames)"
					  : "an external environment: the recorded timeline is shown, "
					    "it cannot be re-simulated here, and its frames were not "
					    "recorded (trial.recordFrames: false)"));
		json_decref(lines);
		j->out = out;
		return 200;
	}
	/* opened anew: the records may have grown since (an episode being played) */
	key_of(j, trial, ep, key, sizeof key);
	unsigned long gen = generation(c->replays);
	struct rp_episode *e =
		rp_episode_open(c->data_dir, j->project, j->user, trial, (int)ep, err, sizeof err);
	if (!e) {
		json_object_set_new(out, "simulated", json_false());
		json_object_set_new(out, "why", json_string(err));
		json_decref(lines);
		j->out = out;
		return 200;
	}
	/* the comparison, step by step, up to the first difference */
	long long compared = 0;
	json_t *mismatch = json_null();
	json_array_foreach(lines, i, line)
	{
		json_t *stj = json_object_get(line, "step");
		long long st = json_is_integer(stj) ? json_integer_value(stj) : -1;
		char why[512];
		if (st < 0 || st > rp_episode_steps(e)) {
			mismatch = json_pack("{s:I,s:s}", "step", (json_int_t)st, "why",
					     "a step the records do not lead to");
			break;
		}
		if (rp_episode_seek(e, st, why, sizeof why) != 0 ||
		    rp_compare(rp_episode_replay(e), line, st > 0, why, sizeof why) != 0) {
			mismatch = json_pack("{s:I,s:s}", "step", (json_int_t)st, "why", why);
			break;
		}
		compared++;
	}
	int w = 0, h = 0;
	rp_episode_frame(e, NULL, 0, &w, &h, err, sizeof err);
	json_object_set_new(out, "simulated", json_true());
	json_object_set_new(out, "steps", json_integer(rp_episode_steps(e)));
	json_object_set_new(out, "compared", json_integer(compared));
	json_object_set_new(out, "matches", json_boolean(json_is_null(mismatch)));
	json_object_set_new(out, "mismatch", mismatch);
	json_object_set_new(out, "width", json_integer(w));
	json_object_set_new(out, "height", json_integer(h));
	give(c->replays, key, e, gen);
	json_decref(lines);
	j->out = out;
	return 200;
}

/* An external environment's frame at STEP, from the frames recorded with
 * the records: 0 when sent, 404 when there is none, or another status. */
static int recorded_frame(struct console *c, struct con_job *j, const char *trial, long long ep,
			  long long step)
{
	char dir[4096], src[256];
	bool cut = false;
	datapath_participant(dir, sizeof dir, c->data_dir, j->project, j->user);
	json_t *lines = episode_lines(dir, trial, ep, &cut, src, sizeof src);
	unsigned long long want = 0;
	size_t i;
	json_t *line;
	json_array_foreach(lines, i, line)
	{
		json_t *st = json_object_get(line, "step"), *fid = json_object_get(line, "frameId");
		if (json_is_integer(st) && json_integer_value(st) == step && json_is_integer(fid) &&
		    json_integer_value(fid) > 0)
			want = (unsigned long long)json_integer_value(fid);
	}
	json_decref(lines);
	if (!want)
		return con__fail(j, 404, "no step %lld in this episode's records", step);
	struct frames_rd rd;
	FILE *f = frames_open(dir, src, &rd);
	if (!f)
		return con__fail(j, 404, "this episode's frames were not recorded "
					 "(trial.recordFrames)");
	/* the frame that showed the step, else the last one before it (a step
	 * the participant saw no frame of) */
	struct frames_ent e, pick = {0};
	bool found = false;
	char err[160];
	while (frames_next(&rd, &e, err, sizeof err) == 1 && e.id <= want) {
		pick = e;
		found = true;
	}
	unsigned char *jpeg = found ? malloc(pick.len ? pick.len : 1) : NULL;
	int rc = 0;
	if (!found)
		rc = con__fail(j, 404, "no frame recorded up to step %lld", step);
	else if (!jpeg || frames_read(&rd, &pick, jpeg) != 0)
		rc = con__fail(j, 500, "the frames file could not be read");
	else if (con__write(c, j, jpeg, pick.len) < 0)
		rc = con__fail(j, 499, "client gone");
	free(jpeg);
	fclose(f);
	return rc;
}

/* Whether TRIAL of J's participant ran an external environment. */
static bool external_trial(struct console *c, struct con_job *j, const char *trial)
{
	char dir[4096];
	datapath_participant(dir, sizeof dir, c->data_dir, j->project, j->user);
	struct dw_trials ts = {0};
	bool ext = false;
	if (dw_load_trials(dir, j->user, &ts) == 0) {
		const struct dw_trial *tr = dw_trial_find(&ts, j->user, trial);
		ext = tr && tr->source && strcmp(tr->source, "builtin") != 0;
	}
	dw_trials_free(&ts);
	return ext;
}

/* The frame at ?step= as JPEG or (PNG) PNG: re-simulated, or for an external
 * environment the JPEG the participant was sent (trial.recordFrames). */
static int frame(struct console *c, struct con_job *j, bool png)
{
	char trial[80], key[256], err[512];
	long long ep, step;
	if (which(j, trial, sizeof trial, &ep) < 0 ||
	    con__query_int(j, "step", 0, 0, 1LL << 40, &step) < 0)
		return 400;
	if (external_trial(c, j, trial)) {
		if (png)
			return con__fail(j, 404, "an external environment's recorded frames are "
						 "JPEG: ask frame.jpg");
		return recorded_frame(c, j, trial, ep, step);
	}
	key_of(j, trial, ep, key, sizeof key);
	unsigned long gen = generation(c->replays);
	struct rp_episode *e = take(c->replays, key);
	if (!e)
		e = rp_episode_open(c->data_dir, j->project, j->user, trial, (int)ep, err,
				    sizeof err);
	if (!e)
		return con__fail(j, 404, "%s", err);
	int w = 0, h = 0, rc = 0;
	uint8_t *rgb = NULL, *pngbuf = NULL;
	struct enc_jpeg *enc = NULL;
	if (rp_episode_seek(e, step, err, sizeof err) != 0) {
		rc = con__fail(j, 400, "%s", err);
		goto out;
	}
	rp_episode_frame(e, NULL, 0, &w, &h, err, sizeof err);
	if (w <= 0 || h <= 0 || w > 16384 || h > 16384 ||
	    !(rgb = malloc((size_t)w * (size_t)h * 3))) {
		rc = con__fail(j, 404, "this environment draws no frames");
		goto out;
	}
	if (rp_episode_frame(e, rgb, (size_t)w * 3, &w, &h, err, sizeof err) != 0) {
		rc = con__fail(j, 500, "drawing failed: %s", err);
		goto out;
	}
	size_t len = 0;
	const uint8_t *bytes = NULL;
	if (png) {
		if (enc_png_encode(rgb, w, h, (size_t)w * 3, &pngbuf, &len, err, sizeof err) == 0)
			bytes = pngbuf;
	} else if ((enc = enc_jpeg_new(REPLAY_JPEG_QUALITY))) {
		bytes = enc_jpeg_encode(enc, rgb, w, h, (size_t)w * 3, &len);
	}
	if (!bytes) {
		rc = con__fail(j, 500, "encoding failed");
		goto out;
	}
	if (con__write(c, j, bytes, len) < 0)
		rc = con__fail(j, 499, "client gone");
out:
	give(c->replays, key, e, gen);
	enc_jpeg_free(enc);
	free(pngbuf);
	free(rgb);
	return rc;
}

int con__replay_jpeg(struct console *c, struct con_job *j)
{
	return frame(c, j, false);
}

int con__replay_png(struct console *c, struct con_job *j)
{
	return frame(c, j, true);
}
