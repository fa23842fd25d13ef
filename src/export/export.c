/* export: see export.h. The participant store is read through store.h's
 * iterators; the record files through records.h. */
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "core/datapath.h"
#include "core/id.h"
#include "core/path.h"
#include "export/export_int.h"
#include "export/progress.h"
#include "export/records.h"
#include "store/store.h"

/* ------------------------------------------------------------ participant store */

/* What a participant row is made of (participants.csv). */
struct participant_facts {
	const char *project, *user, *group, *created, *updated, *status;
	long long step, sessions;
	bool completed;
	const char *started, *stopped, *reason;
	json_t *crowd_ids; /* the crowd object, for the crowd_* columns */
	const char *crowd;
};

#define P(field) offsetof(struct participant_facts, field)
#define CROWD(id) {"crowd_" id, EXP__MEMBER, P(crowd_ids), id, 0}

static const struct exp__col participant_cols[] = {
	{"project_id", EXP__TEXT, P(project), NULL, 0},
	{"user_id", EXP__TEXT, P(user), NULL, 0},
	{"group", EXP__TEXT, P(group), NULL, 0},
	{"created", EXP__TEXT, P(created), NULL, 0},
	{"updated", EXP__TEXT, P(updated), NULL, 0},
	{"step", EXP__INT, P(step), NULL, 0},
	{"status", EXP__TEXT, P(status), NULL, 0},
	{"completed", EXP__BOOL, P(completed), NULL, 0},
	{"sessions", EXP__INT, P(sessions), NULL, 0},
	{"session_started", EXP__TEXT, P(started), NULL, 0},
	{"session_stopped", EXP__TEXT, P(stopped), NULL, 0},
	{"session_end_reason", EXP__TEXT, P(reason), NULL, 0},
	CROWD("PROLIFIC_PID"),
	CROWD("STUDY_ID"),
	CROWD("SESSION_ID"),
	CROWD("workerId"),
	CROWD("assignmentId"),
	CROWD("hitId"),
	{"crowd", EXP__TEXT, P(crowd), NULL, 0},
};

/* What an answer row is made of (answers.csv). */
struct answer_facts {
	const char *project, *user, *field, *value, *time;
	size_t value_len;
	long long step;
	const char *page_hash, *project_version;
};

#define A(field) offsetof(struct answer_facts, field)

static const struct exp__col answer_cols[] = {
	{"project_id", EXP__TEXT, A(project), NULL, 0},
	{"user_id", EXP__TEXT, A(user), NULL, 0},
	{"step", EXP__INT, A(step), NULL, 0},
	{"field", EXP__TEXT, A(field), NULL, 0},
	{"value", EXP__BYTES, A(value), NULL, A(value_len)},
	{"time", EXP__TEXT, A(time), NULL, 0},
	{"page_hash", EXP__TEXT, A(page_hash), NULL, 0},
	{"project_version", EXP__NUMBER, A(project_version), NULL, 0},
};

/* What a pass row is made of (passes.csv): a step the participant passed. */
struct pass_facts {
	const char *project, *user, *time;
	long long step;
	const char *page_hash, *project_version;
};

#define S(field) offsetof(struct pass_facts, field)

static const struct exp__col pass_cols[] = {
	{"project_id", EXP__TEXT, S(project), NULL, 0},
	{"user_id", EXP__TEXT, S(user), NULL, 0},
	{"step", EXP__INT, S(step), NULL, 0},
	{"page_hash", EXP__TEXT, S(page_hash), NULL, 0},
	{"project_version", EXP__NUMBER, S(project_version), NULL, 0},
	{"time", EXP__TEXT, S(time), NULL, 0},
};

/* A project version as a cell: NULL (empty) when unknown (0). */
static const char *version_text(int v, char *buf, size_t len)
{
	if (v <= 0)
		return NULL;
	snprintf(buf, len, "%d", v);
	return buf;
}

struct store_out {
	const char *project;
	struct exp__table *t;
	struct exp_stats *st;
	const char *status; /* exp_opts.status */
	json_t *keep;       /* with STATUS: the userIds kept */
};

static int participant_row(void *user, const struct store_participant_row *r)
{
	struct store_out *o = user;
	if (o->status && (!r->status || strcmp(r->status, o->status) != 0))
		return 0;
	if (o->keep)
		json_object_set_new(o->keep, r->user_id, json_true());
	struct participant_facts f = {
		.project = o->project,
		.user = r->user_id,
		.group = r->groups,
		.created = r->created,
		.updated = r->updated,
		.status = r->status,
		.step = r->step,
		.sessions = r->sessions,
		.completed = r->status && strcmp(r->status, "completed") == 0,
		.started = r->session_started,
		.stopped = r->session_stopped,
		.reason = r->session_reason,
		.crowd_ids = r->crowd ? json_loads(r->crowd, 0, NULL) : NULL,
		.crowd = r->crowd,
	};
	exp__row_begin(o->t);
	exp__row_cells(o->t, participant_cols, EXP__COLS(participant_cols), &f);
	exp__row_end(o->t);
	json_decref(f.crowd_ids);
	o->st->participants++;
	return 0;
}

static int answer_row(void *user, const struct store_answer_row *r)
{
	struct store_out *o = user;
	if (o->keep && !json_object_get(o->keep, r->user_id))
		return 0;
	char v[16];
	struct answer_facts f = {
		.project = o->project,
		.user = r->user_id,
		.step = r->step,
		.field = r->field,
		.value = r->value,
		.value_len = r->value_len,
		.time = r->time,
		.page_hash = r->page_hash,
		.project_version = version_text(r->project_version, v, sizeof v),
	};
	exp__row_begin(o->t);
	exp__row_cells(o->t, answer_cols, EXP__COLS(answer_cols), &f);
	exp__row_end(o->t);
	o->st->answers++;
	return 0;
}

static int pass_row(void *user, const struct store_pass_row *r)
{
	struct store_out *o = user;
	if (o->keep && !json_object_get(o->keep, r->user_id))
		return 0;
	char v[16];
	struct pass_facts f = {
		.project = o->project,
		.user = r->user_id,
		.step = r->step,
		.page_hash = r->page_hash,
		.project_version = version_text(r->project_version, v, sizeof v),
		.time = r->time,
	};
	exp__row_begin(o->t);
	exp__row_cells(o->t, pass_cols, EXP__COLS(pass_cols), &f);
	exp__row_end(o->t);
	o->st->passes++;
	return 0;
}

/* Notes the preview participants' userIds in the object USER. */
static int preview_row(void *user, const struct store_participant_row *r)
{
	if (r->preview)
		json_object_set_new(user, r->user_id, json_true());
	return 0;
}

/* participants, answers and passes of the project, from the store (read
 * only); the userIds of the preview participants left out go to DROP. */
static int export_store(const struct exp_opts *o, struct exp__table *pt, struct exp__table *at,
			struct exp__table *xt, struct exp_stats *st, json_t *keep, json_t *drop,
			char *err, size_t errlen)
{
	char path[4096];
	const char *spec = o->store;
	if (!spec) {
		datapath_store(path, sizeof path, o->data_dir);
		spec = path;
	}
	struct store *s = NULL;
	int k = store_open_flags(spec, STORE_READ_ONLY, &s, err, errlen);
	if (k == 1) {
		st->no_store = true;
		return 0;
	}
	if (k < 0)
		return -1;
	struct store_query q = {.project_id = o->project_id, .preview = o->preview},
			   all = {.project_id = o->project_id, .preview = true};
	struct store_out po = {o->project_id, pt, st, o->status, keep},
			 ao = {o->project_id, at, st, o->status, keep},
			 xo = {o->project_id, xt, st, o->status, keep};
	int rc = 0;
	if ((!o->preview && store_participants_each(s, &all, preview_row, drop) != 0) ||
	    store_participants_each(s, &q, participant_row, &po) != 0 ||
	    store_answers_each(s, &q, answer_row, &ao) != 0 ||
	    store_passes_each(s, &q, pass_row, &xo) != 0) {
		store_spec_masked(spec, path, sizeof path);
		snprintf(err, errlen, "%s: %s", path, store_errmsg(s));
		rc = -1;
	}
	store_close(s);
	return rc;
}

/* ------------------------------------------------------------ run */

/* Step and episode rows of every record file; a read error stops it. */
static int export_records(const struct exp_opts *o, const struct exp__file *files, size_t nfiles,
			  long long total, struct exp__table *sw, struct exp__episodes *eps,
			  struct exp_stats *st, char *err, size_t errlen)
{
	struct exp_progress pg;
	exp_progress_init(&pg, o->progress, o->progress_stream, NULL);
	pg.total = total;
	for (size_t i = 0; i < nfiles; i++) {
		FILE *f = fopen(files[i].path, "r");
		if (!f) {
			snprintf(err, errlen, "cannot open %s: %s", files[i].path, strerror(errno));
			return -1;
		}
		char fbuf[1 << 16];
		setvbuf(f, fbuf, _IOFBF, sizeof fbuf);
		struct rr r;
		rr_init(&r, f, 0);
		st->files++;
		for (;;) {
			json_t *rec;
			char lerr[256];
			int k = rr_next(&r, &rec, lerr, sizeof lerr);
			if (k == 0)
				break;
			if (k == -2) {
				snprintf(err, errlen, "%s: %s", files[i].path, lerr);
				rr_free(&r);
				fclose(f);
				return -1;
			}
			if (k < 0) {
				if (!st->first_bad[0])
					snprintf(st->first_bad, sizeof st->first_bad, "%s: %s",
						 files[i].path, lerr);
				st->bad_lines++;
				continue;
			}
			exp__step_row(sw, o->project_id, files[i].user, rec, st->obs_columns, eps, st);
			json_decref(rec);
			if ((st->steps & 4095) == 0)
				exp_progress_draw(&pg, pg.done + (long long)r.bytes, st->steps, false);
		}
		pg.done += (long long)r.bytes;
		st->bytes += (long long)r.bytes;
		rr_free(&r);
		fclose(f);
		if (i + 1 == nfiles || strcmp(files[i + 1].user, files[i].user) != 0)
			exp__episodes_write(eps, o->project_id, files[i].user, st);
	}
	exp_progress_draw(&pg, pg.done, st->steps, true);
	return 0;
}

int exp_run(const struct exp_opts *o, struct exp_stats *st, char *err, size_t errlen)
{
	memset(st, 0, sizeof *st);
	if (!id_valid_project(o->project_id)) {
		snprintf(err, errlen, "invalid project id '%s' (expected " ID_PROJECT_RULE ")",
			 o->project_id ? o->project_id : "");
		return -1;
	}
	struct exp__table pw = {0}, aw = {0}, xw = {0}, sw = {0}, ew = {0};
	struct exp__file *files = NULL;
	size_t nfiles = 0;
	struct exp__episodes eps = {.out = &ew};
	json_t *keep = NULL, *drop = json_object();
	int rc = -1;
	char trials[4096];
	if (o->trials)
		snprintf(trials, sizeof trials, "%s", o->trials);
	else
		datapath_trials(trials, sizeof trials, o->data_dir, o->project_id);
	long long total = 0;
	if (exp__files_collect(trials, &files, &nfiles, &total) != 0) {
		snprintf(err, errlen, "cannot list %s: %s", trials, strerror(errno));
		goto out;
	}
	if (path_mkdirs(o->out_dir) != 0) {
		snprintf(err, errlen, "cannot create %s: %s", o->out_dir, strerror(errno));
		goto out;
	}
	if (exp__table_open(&pw, o->out_dir, "participants", o->format, err, errlen) ||
	    exp__table_open(&aw, o->out_dir, "answers", o->format, err, errlen) ||
	    exp__table_open(&xw, o->out_dir, "passes", o->format, err, errlen) ||
	    exp__table_open(&sw, o->out_dir, "steps", o->format, err, errlen) ||
	    exp__table_open(&ew, o->out_dir, "episodes", o->format, err, errlen))
		goto out;
	st->obs_columns = exp__obs_width(files, nfiles);
	exp__table_header(&pw, participant_cols, EXP__COLS(participant_cols), 0);
	exp__table_header(&aw, answer_cols, EXP__COLS(answer_cols), 0);
	exp__table_header(&xw, pass_cols, EXP__COLS(pass_cols), 0);
	exp__table_header(&sw, exp__step_cols, exp__nstep_cols, st->obs_columns);
	exp__table_header(&ew, exp__episode_cols, exp__nepisode_cols, 0);
	/* with a state to keep: the participants in it, and only their records */
	keep = o->status ? json_object() : NULL;
	if (!drop || export_store(o, &pw, &aw, &xw, st, keep, drop, err, errlen) != 0)
		goto out;
	if (keep || json_object_size(drop)) {
		size_t k = 0;
		for (size_t i = 0; i < nfiles; i++) {
			if ((!keep || json_object_get(keep, files[i].user)) &&
			    !json_object_get(drop, files[i].user)) {
				files[k++] = files[i];
			} else {
				total -= files[i].size;
				free(files[i].path);
				free(files[i].user);
			}
		}
		nfiles = k;
	}
	if (nfiles == 0 && st->participants == 0) {
		snprintf(err, errlen, "no data for project '%s' in %s (no participants, no %s)",
			 o->project_id, o->data_dir, trials);
		goto out;
	}
	if (export_records(o, files, nfiles, total, &sw, &eps, st, err, errlen) != 0)
		goto out;
	rc = 0;
out:;
	struct exp__table *all[] = {&pw, &aw, &xw, &sw, &ew};
	for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
		if (exp__table_close(all[i], rc == 0, err, errlen) != 0)
			rc = -1;
	exp__episodes_free(&eps);
	exp__files_free(files, nfiles);
	json_decref(keep);
	json_decref(drop);
	return rc;
}
