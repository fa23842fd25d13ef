/* verify: see verify.h. */
#include "verify/verify.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "core/buf.h"
#include "core/datapath.h"
#include "core/id.h"
#include "dataset/walk.h"
#include "env/env.h"
#include "export/frames.h"
#include "export/records.h"
#include "replay/replay.h"

/* The verification of one trial of the participant being read. */
struct tstate {
	char trial_id[96];
	char game[96];
	struct replay r;
	char skip[200];    /* not verifiable: why (reported per episode, not a failure) */
	char broken[400];  /* every later episode fails with this */
	long long cur_ep;  /* the episode being read (0: none yet) */
	bool started;      /* its reset line was seen */
	bool failed;       /* a difference was found */
	long long steps;   /* its step lines */
	char why[700];     /* the first difference */
};

struct vctx {
	const char *user;
	FILE *out;
	bool quiet;
	struct vf_stats *st;
	struct dw_trials trials;
	struct tstate *v;
	size_t n, cap;
	const char *fname; /* the file being read (for messages) */
	unsigned long long line;
	unsigned long long *fids; /* the frameIds the lines of that file name */
	size_t nfids, capfids;
};

static void ts_fail(struct vctx *c, struct tstate *ts, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void ts_fail(struct vctx *c, struct tstate *ts, const char *fmt, ...)
{
	if (ts->failed)
		return;
	ts->failed = true;
	char msg[600];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	if (c->fname)
		snprintf(ts->why, sizeof ts->why, "%s (%s:%llu)", msg, c->fname, c->line);
	else
		snprintf(ts->why, sizeof ts->why, "%s", msg);
}

static void report(struct vctx *c, struct tstate *ts, long long ep, const char *verdict,
		   const char *text)
{
	if (c->quiet && strcmp(verdict, "FAIL") != 0)
		return;
	fprintf(c->out, "%-5s %s %s episode %lld: %s\n", verdict, c->user, ts->trial_id, ep, text);
}

static void finish_episode(struct vctx *c, struct tstate *ts)
{
	if (ts->cur_ep <= 0)
		return;
	char text[800];
	c->st->episodes++;
	if (ts->skip[0]) {
		c->st->skipped++;
		report(c, ts, ts->cur_ep, "skip", ts->skip);
	} else if (ts->failed) {
		c->st->failed++;
		report(c, ts, ts->cur_ep, "FAIL", ts->why);
	} else if (!ts->started) {
		c->st->failed++;
		report(c, ts, ts->cur_ep, "FAIL", "no reset line");
	} else {
		c->st->ok++;
		snprintf(text, sizeof text, "%lld steps match (%s%s)", ts->steps, ts->game,
			 ts->r.done ? "" : ", ended before terminated/truncated");
		report(c, ts, ts->cur_ep, "ok", text);
	}
}

static struct tstate *state_for(struct vctx *c, const char *trial_id)
{
	for (size_t i = 0; i < c->n; i++)
		if (strcmp(c->v[i].trial_id, trial_id) == 0)
			return &c->v[i];
	if (strlen(trial_id) >= sizeof c->v[0].trial_id)
		return NULL;
	if (buf_grow_array((void **)&c->v, &c->cap, c->n + 1, sizeof *c->v, 8, 0) < 0)
		return NULL;
	struct tstate *ts = &c->v[c->n++];
	memset(ts, 0, sizeof *ts);
	snprintf(ts->trial_id, sizeof ts->trial_id, "%s", trial_id);
	const struct dw_trial *tr = dw_trial_find(&c->trials, c->user, trial_id);
	char err[300];
	if (!tr) {
		snprintf(ts->broken, sizeof ts->broken,
			 "no start line in " DATAPATH_META ": environment and seed unknown");
		return ts;
	}
	snprintf(ts->game, sizeof ts->game, "%s", tr->game);
	if (tr->source && strcmp(tr->source, "builtin") != 0)
		snprintf(ts->skip, sizeof ts->skip, "environment '%s' is a %s, not built in",
			 tr->game, tr->source);
	else if (!env_find(tr->game))
		snprintf(ts->skip, sizeof ts->skip, "'%s' is not a built-in environment", tr->game);
	else if (!tr->has_seed)
		snprintf(ts->broken, sizeof ts->broken, "no seed in the trial's start line");
	else if (rp_open(&ts->r, tr->game, tr->options, tr->seed, err, sizeof err) != 0)
		snprintf(ts->broken, sizeof ts->broken, "cannot open the environment: %s", err);
	return ts;
}

/* A new episode EP of TS begins with the current line. */
static void begin_episode(struct vctx *c, struct tstate *ts, long long ep)
{
	long long prev = ts->cur_ep;
	finish_episode(c, ts);
	ts->started = ts->failed = false;
	ts->steps = 0;
	ts->why[0] = '\0';
	if (ep <= prev) {
		ts->cur_ep = ep;
		ts_fail(c, ts, "episode %lld recorded again after episode %lld", ep, prev);
		snprintf(ts->broken, sizeof ts->broken, "episodes out of order");
		return;
	}
	if (!ts->skip[0] && !ts->broken[0] && ep != prev + 1) {
		/* the generator state of EP depends on every episode before it */
		long long missing = ep - prev - 1;
		c->st->episodes += missing;
		c->st->failed += missing;
		char text[120];
		if (missing == 1)
			snprintf(text, sizeof text, "no records (missing file or lines)");
		else
			snprintf(text, sizeof text, "no records, nor for episodes %lld to %lld",
				 prev + 2, ep - 1);
		report(c, ts, prev + 1, "FAIL", text);
		snprintf(ts->broken, sizeof ts->broken,
			 "episode %lld has no records, so the generator state is unknown", ep - 1);
	}
	ts->cur_ep = ep;
	if (ts->broken[0] && !ts->skip[0])
		ts_fail(c, ts, "%s", ts->broken);
}

static void on_record(struct vctx *c, json_t *rec)
{
	const char *tid = json_string_value(json_object_get(rec, "trialId"));
	json_t *epj = json_object_get(rec, "episode");
	if (!tid || !json_is_integer(epj) || json_integer_value(epj) < 1) {
		c->st->bad_lines++;
		fprintf(c->out, "FAIL  %s %s:%llu: a record without trialId or episode\n", c->user,
			c->fname ? c->fname : "-", c->line);
		return;
	}
	json_t *fid = json_object_get(rec, "frameId");
	if (json_is_integer(fid) && json_integer_value(fid) > 0 && !json_object_get(rec, "end") &&
	    buf_grow_array((void **)&c->fids, &c->capfids, c->nfids + 1, sizeof *c->fids, 64,
			   0) == 0)
		c->fids[c->nfids++] = (unsigned long long)json_integer_value(fid);
	struct tstate *ts = state_for(c, tid);
	if (!ts) {
		c->st->bad_lines++;
		fprintf(c->out, "FAIL  %s %s:%llu: trialId too long or out of memory\n", c->user,
			c->fname ? c->fname : "-", c->line);
		return;
	}
	long long ep = json_integer_value(epj);
	if (ep != ts->cur_ep)
		begin_episode(c, ts, ep);
	if (ts->skip[0] || (ts->broken[0] && !ts->r.open))
		return;
	bool is_reset = json_object_get(rec, "reset") != NULL;
	bool is_end = json_object_get(rec, "end") != NULL;
	char why[600], err[300];
	if (!ts->r.open)
		return;
	if (is_reset) {
		if (ts->started) {
			ts_fail(c, ts, "a second reset line in the episode");
			return;
		}
		if (rp_reset(&ts->r, err, sizeof err) != 0) {
			ts_fail(c, ts, "%s", err);
			snprintf(ts->broken, sizeof ts->broken, "the environment failed: %s", err);
			rp_close(&ts->r);
			return;
		}
		ts->started = true;
		if (!ts->failed && rp_compare(&ts->r, rec, false, why, sizeof why) != 0)
			ts_fail(c, ts, "reset: %s", why);
		return;
	}
	if (!ts->started) {
		ts_fail(c, ts, "a record before the episode's reset line");
		return;
	}
	if (is_end) {
		if (!ts->failed && rp_compare(&ts->r, rec, false, why, sizeof why) != 0)
			ts_fail(c, ts, "end line: %s", why);
		return;
	}
	long long step = json_integer_value(json_object_get(rec, "step"));
	if (!ts->r.done && step != ts->r.step + 1) {
		/* the action of the missing step is unknown: nothing after it can be
		 * re-simulated */
		ts_fail(c, ts, "step %lld: no record (the next record is step %lld)",
			ts->r.step + 1, step);
		snprintf(ts->broken, sizeof ts->broken,
			 "episode %lld could not be re-simulated to its end", ts->cur_ep);
		rp_close(&ts->r);
		return;
	}
	if (ts->r.done) {
		ts_fail(c, ts, "step %lld recorded after the episode ended at step %lld", step,
			ts->r.step);
		return;
	}
	double action[RP_MAX_ACTION];
	if (hippo_space_size(&ts->r.env.info->action_space) > RP_MAX_ACTION) {
		snprintf(ts->skip, sizeof ts->skip, "actions too wide to replay");
		return;
	}
	if (rp_action_of(&ts->r, rec, action, why, sizeof why) != 0 ||
	    rp_step(&ts->r, action, why, sizeof why) != 0) {
		ts_fail(c, ts, "step %lld: %s", step, why);
		snprintf(ts->broken, sizeof ts->broken,
			 "episode %lld could not be re-simulated to its end", ts->cur_ep);
		rp_close(&ts->r);
		return;
	}
	c->st->steps++;
	ts->steps++;
	/* after a difference the episode is still stepped, so that the generator
	 * state of the next episodes stays right */
	if (!ts->failed && rp_compare(&ts->r, rec, true, why, sizeof why) != 0)
		ts_fail(c, ts, "step %lld: %s", step, why);
}

static void read_stream(struct vctx *c, FILE *f)
{
	struct rr r;
	rr_init(&r, f, 0);
	for (;;) {
		json_t *rec;
		char err[256];
		int k = rr_next(&r, &rec, err, sizeof err);
		c->line = r.line;
		if (k == 0)
			break;
		if (k < 0) {
			c->st->bad_lines++;
			fprintf(c->out, "FAIL  %s %s: unreadable record: %s\n", c->user,
				c->fname ? c->fname : "-", err);
			if (k == -2)
				break;
			continue;
		}
		on_record(c, rec);
		json_decref(rec);
	}
	rr_free(&r);
}

static int cmp_id(const void *a, const void *b)
{
	unsigned long long x = *(const unsigned long long *)a, y = *(const unsigned long long *)b;
	return x < y ? -1 : x > y;
}

/* Checks the frames file read by RD (NAME, for messages) against the
 * frameIds of its data file's lines (c->fids): every frame whole and a JPEG,
 * the ids increasing, and every line's frame there up to the last frame
 * recorded (the frame of a trial's last step is never sent). */
static void check_frames(struct vctx *c, struct frames_rd *rd, const char *name)
{
	unsigned long long *ids = NULL, last = 0;
	size_t n = 0, cap = 0;
	unsigned char *jpeg = NULL;
	size_t jcap = 0;
	char why[300] = "", err[200];
	struct frames_ent e;
	int k;
	while (!why[0] && (k = frames_next(rd, &e, err, sizeof err)) == 1) {
		if (n > 0 && e.id <= last)
			snprintf(why, sizeof why, "frame %zu: id %llu after id %llu", n + 1, e.id, last);
		else if (buf_grow_array((void **)&jpeg, &jcap, (size_t)e.len + 1, 1, 1 << 16, 0) < 0 ||
			 frames_read(rd, &e, jpeg) != 0)
			snprintf(why, sizeof why, "frame %zu (id %llu): unreadable", n + 1, e.id);
		else if (!frames_is_jpeg(jpeg, e.len))
			snprintf(why, sizeof why, "frame %zu (id %llu): not a whole JPEG", n + 1, e.id);
		else if (buf_grow_array((void **)&ids, &cap, n + 1, sizeof *ids, 256, 0) < 0)
			snprintf(why, sizeof why, "out of memory");
		else
			ids[n++] = last = e.id;
	}
	if (!why[0] && k < 0)
		snprintf(why, sizeof why, "%s", err);
	unsigned long long missing = 0, first_missing = 0;
	for (size_t i = 0; !why[0] && i < c->nfids; i++) {
		unsigned long long want = c->fids[i];
		if (n == 0 || want > last || bsearch(&want, ids, n, sizeof *ids, cmp_id))
			continue;
		if (!missing++)
			first_missing = want;
	}
	if (!why[0] && missing)
		snprintf(why, sizeof why, "%llu step(s) without their frame, the first frame %llu",
			 missing, first_missing);
	c->st->frames_files++;
	c->st->frames += (long long)n;
	if (why[0]) {
		c->st->frames_failed++;
		fprintf(c->out, "FAIL  %s %s: %s\n", c->user, name, why);
	} else if (!c->quiet) {
		fprintf(c->out, "ok    %s %s: %zu frames, each a whole JPEG, one for every step\n",
			c->user, name, n);
	}
	free(jpeg);
	free(ids);
}

static void ctx_end(struct vctx *c)
{
	for (size_t i = 0; i < c->n; i++) {
		finish_episode(c, &c->v[i]);
		rp_close(&c->v[i].r);
	}
	free(c->v);
	free(c->fids);
	dw_trials_free(&c->trials);
}

static void verify_user(const struct vf_opts *o, const char *user, FILE *out, struct vf_stats *st)
{
	char dir[4200];
	datapath_participant(dir, sizeof dir, o->data_dir, o->project_id, user);
	struct vctx c = {.user = user, .out = out, .quiet = o->quiet, .st = st};
	st->users++;
	if (dw_load_trials(dir, user, &c.trials) != 0) {
		fprintf(out, "FAIL  %s: out of memory reading " DATAPATH_META "\n", user);
		st->bad_lines++;
	}
	char **files = NULL;
	long nf = datapath_list_data_files(dir, &files);
	if (nf < 0) {
		fprintf(out, "FAIL  %s: cannot list %s: %s\n", user, dir, strerror(errno));
		st->bad_lines++;
	}
	for (long i = 0; i < nf; i++) {
		char path[4400];
		snprintf(path, sizeof path, "%s/%s", dir, files[i]);
		FILE *f = fopen(path, "r");
		if (!f) {
			fprintf(out, "FAIL  %s %s: %s\n", user, files[i], strerror(errno));
			st->bad_lines++;
			continue;
		}
		c.fname = files[i];
		c.nfids = 0;
		read_stream(&c, f);
		fclose(f);
		struct frames_rd rd;
		char fname[300];
		FILE *ff = frames_open(dir, files[i], &rd);
		if (!ff && datapath_frames_name(fname, sizeof fname, files[i]) == 0) {
			/* a file of that name that is not a frames file */
			char fpath[4700];
			snprintf(fpath, sizeof fpath, "%s/%s", dir, fname);
			FILE *bad = fopen(fpath, "rb");
			if (bad) {
				fclose(bad);
				st->frames_files++;
				st->frames_failed++;
				fprintf(out, "FAIL  %s %s: not a frames file (no header)\n", user, fname);
			}
		}
		if (ff) {
			datapath_frames_name(fname, sizeof fname, files[i]);
			check_frames(&c, &rd, fname);
			fclose(ff);
		}
	}
	c.fname = NULL;
	ctx_end(&c);
	datapath_list_free(files);
}

int vf_run(const struct vf_opts *o, struct vf_stats *st, char *err, size_t errlen)
{
	memset(st, 0, sizeof *st);
	FILE *out = o->out ? o->out : stdout;
	if (!id_valid_project(o->project_id)) {
		snprintf(err, errlen, "invalid project id '%s' (expected " ID_PROJECT_RULE ")",
			 o->project_id ? o->project_id : "");
		return -1;
	}
	if (o->user && !id_valid_user(o->user)) {
		snprintf(err, errlen, "invalid user id '%s' (expected " ID_USER_RULE ")", o->user);
		return -1;
	}
	char trials[4096];
	datapath_trials(trials, sizeof trials, o->data_dir, o->project_id);
	char **users = NULL;
	long nu = datapath_list_participants(trials, &users);
	if (nu < 0) {
		snprintf(err, errlen, "no records for project '%s': cannot read %s: %s",
			 o->project_id, trials, strerror(errno));
		return -1;
	}
	bool found = false;
	for (long i = 0; i < nu; i++) {
		if (o->user && strcmp(users[i], o->user) != 0)
			continue;
		found = true;
		verify_user(o, users[i], out, st);
	}
	datapath_list_free(users);
	if (o->user && !found) {
		snprintf(err, errlen, "no records for participant '%s' in %s", o->user, trials);
		return -1;
	}
	return 0;
}

void vf_frames_stream(FILE *records, FILE *frames, FILE *out, struct vf_stats *st)
{
	struct vctx c = {.user = "u", .out = out, .st = st};
	read_stream(&c, records);
	struct frames_rd rd;
	char err[160];
	if (frames_begin(&rd, frames, err, sizeof err) == 0)
		check_frames(&c, &rd, "f.frames");
	ctx_end(&c);
}

void vf_stream(FILE *in, FILE *trials, FILE *out, struct vf_stats *st)
{
	struct vctx c = {.user = "u", .out = out, .st = st};
	if (trials)
		dw_load_trials_file(trials, "u", &c.trials);
	read_stream(&c, in);
	ctx_end(&c);
}
