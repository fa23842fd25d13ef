/* minari: see minari.h. This file drives a run: the participants (from the
 * store), one dataset per environment id, the record files read line by
 * line into episodes, the progress line; the HDF5 writing, the episodes and
 * the metadata are in minari_h5.c, minari_episode.c and minari_meta.c. */
#include "dataset/minari.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <hdf5.h>
#include <jansson.h>

#include "core/buf.h"
#include "core/datapath.h"
#include "core/id.h"
#include "core/path.h"
#include "dataset/minari_int.h"
#include "dataset/walk.h"
#include "env/env.h"
#include "export/progress.h"
#include "export/records.h"
#include "store/store.h"

/* ------------------------------------------------------------ participants */

static int part_cmp(const void *a, const void *b)
{
	return strcmp(((const struct mn__part *)a)->user, ((const struct mn__part *)b)->user);
}

const struct mn__part *mn__part_find(const struct mn__parts *p, const char *user)
{
	struct mn__part key = {.user = (char *)user};
	return p->n ? bsearch(&key, p->v, p->n, sizeof *p->v, part_cmp) : NULL;
}

static int add_project(void *user, const struct store_project_row *r)
{
	struct mn__parts *p = user;
	p->project_name = strdup(r->name ? r->name : "");
	p->researcher = strdup(r->researcher ? r->researcher : "");
	return p->project_name && p->researcher ? 0 : 1;
}

static int add_part(void *user, const struct store_participant_row *r)
{
	struct mn__parts *p = user;
	if (buf_grow_array((void **)&p->v, &p->cap, p->n + 1, sizeof *p->v, 64, 0) != 0)
		return 1;
	struct mn__part *q = &p->v[p->n++];
	q->user = strdup(r->user_id ? r->user_id : "");
	q->status = strdup(r->status ? r->status : "");
	q->group = strdup(r->groups ? r->groups : "");
	q->preview = r->preview;
	return q->user && q->status && q->group ? 0 : 1;
}

static int load_parts(const char *data_dir, const char *spec, const char *project,
		      struct mn__parts *p, char *err, size_t errlen)
{
	char path[4096];
	if (spec)
		store_spec_masked(spec, path, sizeof path);
	else
		datapath_store(path, sizeof path, data_dir);
	struct store *s = NULL;
	int rc = store_open_flags(spec ? spec : path, STORE_READ_ONLY, &s, err, errlen);
	if (rc != 0)
		return rc > 0 ? 0 : -1; /* 1: no store */
	p->have_store = true;
	/* the previews too: their records are told apart by it (user_selected) */
	struct store_query q = {.project_id = project, .order = STORE_ORDER_ID, .preview = true};
	rc = store_projects_each(s, project, add_project, p);
	if (rc == 0)
		rc = store_participants_each(s, &q, add_part, p);
	if (rc > 0)
		snprintf(err, errlen, "out of memory");
	else if (rc < 0)
		snprintf(err, errlen, "%s: %s", path, store_errmsg(s));
	else
		qsort(p->v, p->n, sizeof *p->v, part_cmp);
	store_close(s);
	return rc == 0 ? 0 : -1;
}

static void free_parts(struct mn__parts *p)
{
	for (size_t i = 0; i < p->n; i++) {
		free(p->v[i].user);
		free(p->v[i].status);
		free(p->v[i].group);
	}
	free(p->v);
	free(p->project_name);
	free(p->researcher);
}

/* ------------------------------------------------------------ datasets */

static bool user_selected(const struct mn__run *r, const char *user)
{
	const struct mn_opts *o = r->o;
	const struct mn__part *p = mn__part_find(&r->parts, user);
	if (p && p->preview && !o->preview)
		return false; /* a researcher's preview (docs/console.md, "Preview links") */
	if (!o->completed_only && !o->group)
		return true;
	if (!p)
		return false;
	if (o->completed_only && strcmp(p->status, "completed") != 0)
		return false;
	if (o->group && strcmp(p->group, o->group) != 0)
		return false;
	return true;
}

struct mn__ds *dataset_for(struct mn__run *r, const struct dw_trial *tr, json_t *reset_line)
{
	for (int i = 0; i < r->nds; i++)
		if (strcmp(r->ds[i].env_id, tr->game) == 0)
			return &r->ds[i];
	if (r->nds == MN_MAX_DATASETS) {
		mn__fail(r, "more than 64 environment ids");
		return NULL;
	}
	struct mn__ds *d = &r->ds[r->nds];
	memset(d, 0, sizeof *d);
	d->file = H5I_INVALID_HID;
	snprintf(d->env_id, sizeof d->env_id, "%s", tr->game);
	d->reward_threshold = NAN;
	d->action_names = tr->action_names;
	char err[256];
	struct env env;
	d->builtin = (!tr->source || strcmp(tr->source, "builtin") == 0) && env_find(tr->game);
	if (d->builtin && env_open(&env, tr->game, tr->options, err, sizeof err) == 0) {
		int rc = mn__space_copy(&d->obs, &env.info->observation_space) |
			 mn__space_copy(&d->act, &env.info->action_space);
		d->reward_threshold = env.info->meta.reward_threshold;
		d->max_episode_steps = env.info->meta.max_episode_steps;
		env_close(&env);
		if (rc) {
			mn__fail(r, "out of memory");
			return NULL;
		}
	} else {
		/* not built in: a float64 Box as wide as the first observation, and
		 * the trial's action names as a Discrete space */
		d->builtin = false;
		json_t *o = json_object_get(reset_line, "observation");
		size_t n = json_is_array(o) ? json_array_size(o) : 0;
		size_t na = 0;
		while (tr->action_names && tr->action_names[na])
			na++;
		struct hippo_space os = {.kind = HIPPO_SPACE_BOX, .dtype = HIPPO_DTYPE_FLOAT64,
					 .ndim = 1, .shape = {(int)n}};
		struct hippo_space as = {.kind = HIPPO_SPACE_DISCRETE,
					 .n = na ? (int64_t)na : 1};
		if (n == 0 || n > (1u << 24) ||
		    mn__space_copy(&d->obs, &os) | mn__space_copy(&d->act, &as)) {
			mn__fail(r, "cannot infer the observation space of a non-built-in "
				    "environment");
			return NULL;
		}
	}
	d->options = tr->options ? strdup(tr->options) : NULL;
	if (mn_dataset_id(r->o->dataset_id, r->o->project_id, tr->game, r->nenvs, d->id,
			  sizeof d->id) != 0) {
		snprintf(err, sizeof err, "invalid dataset id '%s' (components of letters, digits, "
					  "'-' and '_', separated by '/')", r->o->dataset_id);
		mn__fail(r, err);
		return NULL;
	}
	char dirb[sizeof d->dir];
	snprintf(dirb, sizeof dirb, "%s/%s", r->o->out_dir, d->id);
	memcpy(d->dir, dirb, sizeof d->dir);
	snprintf(d->tmp, sizeof d->tmp, "%s/.data.tmp-%ld", dirb, (long)getpid());
	snprintf(d->final_, sizeof d->final_, "%s/data", dirb);
	r->nds++;
	char path[4300];
	if (path_mkdirs(d->tmp) != 0) {
		snprintf(err, sizeof err, "cannot create %.200s: %s", d->tmp, strerror(errno));
		mn__fail(r, err);
		return NULL;
	}
	snprintf(path, sizeof path, "%s/main_data.hdf5", d->tmp);
	d->file = mn__h5_create(path);
	if (d->file < 0) {
		snprintf(err, sizeof err, "cannot create %.200s", path);
		mn__fail(r, err);
		return NULL;
	}
	return d;
}

static void rm_data_dir(const char *dir)
{
	char p[4400];
	static const char *const names[] = {"main_data.hdf5", "metadata.json"};
	for (size_t i = 0; i < 2; i++) {
		snprintf(p, sizeof p, "%s/%s", dir, names[i]);
		unlink(p);
	}
	rmdir(dir);
}

/* Closes the HDF5 file, writes metadata.json and moves the data into place. */
static int dataset_finish(struct mn__run *r, struct mn__ds *d, bool ok)
{
	if (d->file > 0 && H5Fclose(d->file) < 0)
		ok = false;
	d->file = H5I_INVALID_HID;
	if (!ok) {
		rm_data_dir(d->tmp);
		return -1;
	}
	struct stat sb;
	int rc = mn__write_metadata(r, d);
	if (rc != 0) {
		rm_data_dir(d->tmp);
		return -1;
	}
	/* an earlier export of the same dataset is replaced */
	char old[4300];
	snprintf(old, sizeof old, "%s/.data.old-%ld", d->dir, (long)getpid());
	bool had = stat(d->final_, &sb) == 0;
	if (had && rename(d->final_, old) != 0)
		return -1;
	if (rename(d->tmp, d->final_) != 0)
		return -1;
	if (had)
		rm_data_dir(old);
	return 0;
}

/* ------------------------------------------------------------ reading */

static void on_line(struct mn__run *r, const char *user, json_t *rec)
{
	struct mn__ep *e = &r->ep;
	const char *tid = json_string_value(json_object_get(rec, "trialId"));
	long long ep = mn__int_or(json_object_get(rec, "episode"), 0);
	bool reset = json_is_true(json_object_get(rec, "reset"));
	if (json_object_get(rec, "end"))
		return; /* late input after the last step: kept in the records only */
	if (!tid || ep < 1) {
		r->st->bad_lines++;
		return;
	}
	bool same = e->active && e->episode == ep && strcmp(e->trial_id, tid) == 0;
	bool skipping = !e->active && e->episode == ep && strcmp(e->trial_id, tid) == 0;
	if (!same) {
		if (mn__ep_end(r) != 0)
			return;
		if (skipping)
			return; /* the rest of a left-out episode */
		/* remember the key so that the rest of a left-out episode is skipped */
		snprintf(e->trial_id, sizeof e->trial_id, "%s", tid);
		e->episode = ep;
		const struct dw_trial *tr = dw_trial_find(&r->trials, user, tid);
		if (!tr) {
			r->st->unknown_env++;
			return;
		}
		long long t = mn__int_or(json_object_get(rec, "t"), 0);
		if ((r->o->since_ms && t < r->o->since_ms) ||
		    (r->o->until_ms && t >= r->o->until_ms)) {
			r->st->filtered++;
			return;
		}
		if (!reset || mn__int_or(json_object_get(rec, "step"), -1) != 0) {
			r->st->incomplete++;
			return;
		}
		struct mn__ds *d = dataset_for(r, tr, rec);
		if (!d || mn__ep_begin(r, d, tr, user, ep, t) != 0)
			return;
		if (mn__ep_obs(e, json_object_get(rec, "observation")) != 0) {
			r->st->mismatched++;
			mn__ep_free(e);
			snprintf(e->trial_id, sizeof e->trial_id, "%s", tid);
			e->episode = ep;
			return;
		}
		e->next_step = 1;
		mn__ep_row(r, e, rec, true);
		return;
	}
	if (e->cut)
		return;
	long long step = mn__int_or(json_object_get(rec, "step"), -1);
	if (reset || step != e->next_step) {
		/* a missing line: the episode ends at the last step before it */
		e->cut = true;
		r->st->incomplete++;
		return;
	}
	if (mn__ep_obs(e, json_object_get(rec, "observation")) != 0) {
		e->cut = true;
		r->st->incomplete++;
		return;
	}
	e->next_step++;
	mn__ep_row(r, e, rec, false);
}

static long long folder_bytes(const char *dir, char **files)
{
	long long t = 0;
	for (size_t i = 0; files && files[i]; i++) {
		char p[4400];
		struct stat sb;
		snprintf(p, sizeof p, "%s/%s", dir, files[i]);
		if (stat(p, &sb) == 0)
			t += (long long)sb.st_size;
	}
	return t;
}

int mn_run(const struct mn_opts *o, struct mn_stats *st, char *err, size_t errlen)
{
	memset(st, 0, sizeof *st);
	if (!id_valid_project(o->project_id)) {
		snprintf(err, errlen, "invalid project id '%s' (expected " ID_PROJECT_RULE ")",
			 o->project_id ? o->project_id : "");
		return -1;
	}
	char probe[300];
	if (o->dataset_id && mn_dataset_id(o->dataset_id, o->project_id, "E", 2, probe,
					   sizeof probe) != 0) {
		snprintf(err, errlen,
			 "invalid dataset id '%s' (components of letters, digits, '-' "
			 "and '_', separated by '/', like study/human-v0)",
			 o->dataset_id);
		return -1;
	}
	struct mn__run *r = calloc(1, sizeof *r);
	if (!r) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	r->o = o;
	r->st = st;
	r->ep.grp = r->ep.infos = H5I_INVALID_HID;
	mn__h5_init(&r->str_t, &r->bool_t);
	int rc = -1;
	char **users = NULL;
	char trials[4096];
	datapath_trials(trials, sizeof trials, o->data_dir, o->project_id);
	if (load_parts(o->data_dir, o->store, o->project_id, &r->parts, err, errlen) != 0)
		goto out;
	if ((o->completed_only || o->group) && !r->parts.have_store) {
		char store[4096];
		if (o->store)
			store_spec_masked(o->store, store, sizeof store);
		else
			datapath_store(store, sizeof store, o->data_dir);
		snprintf(err, errlen, "the participant filters need the participant store %s", store);
		goto out;
	}
	long nu = datapath_list_participants(trials, &users);
	if (nu < 0) {
		snprintf(err, errlen, "no records for project '%s': cannot read %s: %s",
			 o->project_id, trials, strerror(errno));
		goto out;
	}
	/* the trials of the selected participants: their environments name the datasets */
	struct exp_progress pg;
	exp_progress_init(&pg, o->progress, o->progress_stream, "minari");
	char envs[MN_MAX_DATASETS][128];
	for (long i = 0; i < nu; i++) {
		if (!user_selected(r, users[i]))
			continue;
		char dir[4200];
		datapath_participant(dir, sizeof dir, o->data_dir, o->project_id, users[i]);
		size_t before = r->trials.n;
		if (dw_load_trials(dir, users[i], &r->trials) != 0) {
			snprintf(err, errlen, "out of memory");
			goto out;
		}
		for (size_t k = before; k < r->trials.n; k++) {
			int j = 0;
			while (j < r->nenvs && strcmp(envs[j], r->trials.v[k].game) != 0)
				j++;
			if (j == r->nenvs && r->nenvs < MN_MAX_DATASETS)
				snprintf(envs[r->nenvs++], sizeof envs[0], "%s",
					 r->trials.v[k].game);
		}
		char **files = NULL;
		if (datapath_list_data_files(dir, &files) >= 0)
			pg.total += folder_bytes(dir, files);
		datapath_list_free(files);
	}
	for (long i = 0; i < nu && !r->failed; i++) {
		if (!user_selected(r, users[i]))
			continue;
		char dir[4200];
		datapath_participant(dir, sizeof dir, o->data_dir, o->project_id, users[i]);
		char **files = NULL;
		long nf = datapath_list_data_files(dir, &files);
		for (long k = 0; k < nf && !r->failed; k++) {
			char path[4400];
			snprintf(path, sizeof path, "%s/%s", dir, files[k]);
			FILE *f = fopen(path, "r");
			if (!f) {
				snprintf(r->err, sizeof r->err, "cannot open %.300s: %s", path,
					 strerror(errno));
				r->failed = true;
				break;
			}
			char fbuf[1 << 16];
			setvbuf(f, fbuf, _IOFBF, sizeof fbuf);
			struct rr rd;
			rr_init(&rd, f, 0);
			st->files++;
			for (;;) {
				json_t *rec;
				char lerr[256];
				int kk = rr_next(&rd, &rec, lerr, sizeof lerr);
				if (kk == 0)
					break;
				if (kk == -2) {
					snprintf(r->err, sizeof r->err, "%.300s: %.180s", path,
						 lerr);
					r->failed = true;
					break;
				}
				if (kk < 0) {
					if (!st->first_bad[0])
						snprintf(st->first_bad, sizeof st->first_bad,
							 "%.300s: %.180s", path, lerr);
					st->bad_lines++;
					continue;
				}
				on_line(r, users[i], rec);
				json_decref(rec);
				if ((rd.line & 1023) == 0)
					exp_progress_draw(&pg, pg.done + (long long)rd.bytes,
							  st->steps, false);
				if (r->failed)
					break;
			}
			/* an episode never continues in another file */
			mn__ep_end(r);
			r->ep.trial_id[0] = '\0';
			pg.done += (long long)rd.bytes;
			st->bytes += (long long)rd.bytes;
			rr_free(&rd);
			fclose(f);
		}
		datapath_list_free(files);
	}
	exp_progress_draw(&pg, pg.done, st->steps, true);
	if (r->failed) {
		snprintf(err, errlen, "%s", r->err);
		goto out;
	}
	if (st->episodes == 0) {
		snprintf(err, errlen, "no episode to export for project '%s' in %s", o->project_id,
			 trials);
		goto out;
	}
	rc = 0;
out:
	mn__ep_free(&r->ep);
	for (int i = 0; i < r->nds; i++) {
		struct mn__ds *d = &r->ds[i];
		if (dataset_finish(r, d, rc == 0 && d->episodes > 0) != 0 && rc == 0 &&
		    d->episodes > 0) {
			snprintf(err, errlen, "cannot write %s: %s", d->final_, strerror(errno));
			rc = -1;
		}
		if (rc == 0 && d->episodes > 0 && st->ndatasets < MN_MAX_DATASETS) {
			snprintf(st->datasets[st->ndatasets], sizeof st->datasets[0], "%s", d->id);
			st->dataset_episodes[st->ndatasets++] = d->episodes;
		}
		free(d->obs.low);
		free(d->obs.high);
		free(d->act.low);
		free(d->act.high);
		free(d->options);
	}
	H5Tclose(r->str_t);
	H5Tclose(r->bool_t);
	datapath_list_free(users);
	dw_trials_free(&r->trials);
	free_parts(&r->parts);
	free(r);
	return rc;
}

/* ------------------------------------------------------------ options */

static int digits(const char *s, int n, int *out)
{
	int v = 0;
	for (int i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	*out = v;
	return 0;
}

int mn_parse_time(const char *s, long long *ms)
{
	int y, mo, d, h = 0, mi = 0, sec = 0;
	size_t n = s ? strlen(s) : 0;
	if (n < 10 || digits(s, 4, &y) || s[4] != '-' || digits(s + 5, 2, &mo) || s[7] != '-' ||
	    digits(s + 8, 2, &d))
		return -1;
	const char *p = s + 10;
	if (*p == 'T' || *p == ' ') {
		if (strlen(p) < 6 || digits(p + 1, 2, &h) || p[3] != ':' || digits(p + 4, 2, &mi))
			return -1;
		p += 6;
		if (*p == ':') {
			if (digits(p + 1, 2, &sec))
				return -1;
			p += 3;
		}
		if (*p == 'Z')
			p++;
	}
	static const int mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	if (*p || y < 1970 || mo < 1 || mo > 12 || d < 1 || d > mdays[mo - 1] || h > 23 ||
	    mi > 59 || sec > 60)
		return -1;
	/* days from 1970-01-01 (proleptic Gregorian) */
	int yy = mo <= 2 ? y - 1 : y;
	int era = yy / 400, yoe = yy - era * 400;
	int doy = (153 * (mo + (mo > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	int doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	long long days = (long long)era * 146097 + doe - 719468;
	*ms = ((days * 24 + h) * 60 + mi) * 60000LL + sec * 1000LL;
	return 0;
}
