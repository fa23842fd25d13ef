/* minari episodes: the rows of one episode from its record lines (a reset
 * line, then one line a step), the feedback attributed to the rows of the
 * frames it names, and the episode group's attributes (see minari_int.h). */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/clock.h"
#include "dataset/minari_int.h"
#include "export/records.h"

/* The datasets of an episode (the first five) and of its infos/ group. */
enum {
	C_OBS, C_ACT, C_REW, C_TERM, C_TRUNC, /* episode datasets */
	C_T, C_FRAME, C_SEEN, C_REACT, C_RTT, C_FPS, C_INPUTS, C_FBG, C_FBB, C_INFO, C_AGENT,
	C_HUMAN, /* infos/ */
	NCOLS
};
#define FIRST_INFO C_T
_Static_assert(NCOLS == MN__NCOLS, "an episode has a column for each dataset");

static int i64v_push(struct mn__i64v *a, long long x)
{
	if (buf_grow_array((void **)&a->v, &a->cap, a->n + 1, sizeof *a->v, 1024, 0) != 0)
		return -1;
	a->v[a->n++] = x;
	return 0;
}

void mn__fail(struct mn__run *r, const char *what)
{
	if (!r->failed)
		snprintf(r->err, sizeof r->err, "%s", what);
	r->failed = true;
}

static int ensure_group(struct mn__run *r, struct mn__ep *e)
{
	if (e->grp > 0)
		return 0;
	char name[40];
	snprintf(name, sizeof name, "episode_%lld", e->ds->episodes);
	e->grp = H5Gcreate2(e->ds->file, name, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
	e->infos = e->grp > 0 ? H5Gcreate2(e->grp, "infos", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT)
			      : H5I_INVALID_HID;
	if (e->grp <= 0 || e->infos <= 0) {
		mn__fail(r, "cannot create an episode group in the HDF5 file");
		return -1;
	}
	return 0;
}

static int flush_all(struct mn__run *r, struct mn__ep *e, bool final)
{
	if (ensure_group(r, e) != 0)
		return -1;
	for (int i = 0; i < NCOLS; i++)
		if (mn__col_flush(&e->c[i], i >= FIRST_INFO ? e->infos : e->grp, final) != 0) {
			mn__fail(r, "writing the HDF5 file failed");
			return -1;
		}
	return 0;
}

void mn__ep_free(struct mn__ep *e)
{
	for (int i = 0; i < NCOLS; i++)
		mn__col_close(&e->c[i]);
	if (e->infos > 0)
		H5Gclose(e->infos);
	if (e->grp > 0)
		H5Gclose(e->grp);
	free(e->frames.v);
	free(e->fb.v);
	memset(e, 0, sizeof *e);
	e->grp = e->infos = H5I_INVALID_HID;
}

int mn__ep_begin(struct mn__run *r, struct mn__ds *d, const struct dw_trial *tr, const char *user,
		 long long episode, long long t0)
{
	struct mn__ep *e = &r->ep;
	mn__ep_free(e);
	e->ds = d;
	e->tr = tr;
	e->user = user;
	e->pp = mn__part_find(&r->parts, user);
	snprintf(e->trial_id, sizeof e->trial_id, "%s", tr->trial_id);
	e->episode = episode;
	e->t0 = t0;
	e->active = true;
	e->rmin = INFINITY;
	e->rmax = -INFINITY;
	size_t es;
	int one = 1;
	const struct hippo_space *os = &d->obs.s, *as = &d->act.s;
	hid_t of = mn__h5_type(os->dtype, &es, true), om = mn__h5_type(os->dtype, &es, false);
	int rc = mn__col_init(&e->c[C_OBS], "observations", of, om, es, os->ndim, os->shape);
	if (as->kind == HIPPO_SPACE_DISCRETE) {
		rc |= mn__col_init(&e->c[C_ACT], "actions", H5T_STD_I64LE, H5T_NATIVE_INT64, 8, 0,
				   &one);
	} else {
		hid_t af = mn__h5_type(as->dtype, &es, true),
		      am = mn__h5_type(as->dtype, &es, false);
		rc |= mn__col_init(&e->c[C_ACT], "actions", af, am, es, as->ndim, as->shape);
	}
	rc |= mn__col_init(&e->c[C_REW], "rewards", H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, 8, 0, &one);
	rc |= mn__col_init(&e->c[C_TERM], "terminations", r->bool_t, r->bool_t, 1, 0, &one);
	rc |= mn__col_init(&e->c[C_TRUNC], "truncations", r->bool_t, r->bool_t, 1, 0, &one);
	rc |= mn__col_init(&e->c[C_T], "t_ms", H5T_STD_I64LE, H5T_NATIVE_INT64, 8, 0, &one);
	rc |= mn__col_init(&e->c[C_FRAME], "frame_id", H5T_STD_I64LE, H5T_NATIVE_INT64, 8, 0, &one);
	rc |= mn__col_init(&e->c[C_SEEN], "seen_frame_id", H5T_STD_I64LE, H5T_NATIVE_INT64, 8, 0,
			   &one);
	rc |= mn__col_init(&e->c[C_REACT], "reaction_ms", H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, 8, 0,
			   &one);
	rc |= mn__col_init(&e->c[C_RTT], "rtt_ms", H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, 8, 0, &one);
	rc |= mn__col_init(&e->c[C_FPS], "fps", H5T_STD_I32LE, H5T_NATIVE_INT32, 4, 0, &one);
	rc |= mn__col_init_str(&e->c[C_INPUTS], "inputs", r->str_t);
	rc |= mn__col_init(&e->c[C_FBG], "feedback_good", H5T_STD_I32LE, H5T_NATIVE_INT32, 4, 0,
			   &one);
	rc |= mn__col_init(&e->c[C_FBB], "feedback_bad", H5T_STD_I32LE, H5T_NATIVE_INT32, 4, 0,
			   &one);
	rc |= mn__col_init_str(&e->c[C_INFO], "env_info", r->str_t);
	rc |= mn__col_init(&e->c[C_AGENT], "agent_action", H5T_STD_I64LE, H5T_NATIVE_INT64, 8, 0,
			   &one);
	rc |= mn__col_init(&e->c[C_HUMAN], "human_action", H5T_STD_I64LE, H5T_NATIVE_INT64, 8, 0,
			   &one);
	if (rc) {
		mn__fail(r, "out of memory");
		return -1;
	}
	return 0;
}

/* Fills one observation row from the record's array; -1 when its size does not fit. */
static int put_obs(struct mn__col *c, enum hippo_dtype t, json_t *o)
{
	if (!json_is_array(o) || json_array_size(o) != c->width)
		return -1;
	void *row = mn__col_row(c);
	for (size_t i = 0; i < c->width; i++) {
		json_t *x = json_array_get(o, i);
		double v = json_is_number(x) ? json_number_value(x) : NAN;
		switch (t) {
		case HIPPO_DTYPE_FLOAT64:
			((double *)row)[i] = v;
			break;
		case HIPPO_DTYPE_UINT8:
			((uint8_t *)row)[i] = isfinite(v) && v >= 0 && v <= 255 ? (uint8_t)v : 0;
			break;
		case HIPPO_DTYPE_INT64:
			((int64_t *)row)[i] = isfinite(v) && fabs(v) < 9.2e18 ? (int64_t)v : 0;
			break;
		default:
			((float *)row)[i] = (float)v;
		}
	}
	return 0;
}

int mn__ep_obs(struct mn__ep *e, json_t *o)
{
	return put_obs(&e->c[C_OBS], e->ds->obs.s.dtype, o);
}

/* The participant's feedback in one line's inputs: counts, and (frame, value)
 * pairs for the step the feedback names (its frameId, else the frame on
 * screen when it arrived: the previous row's). */
static void scan_feedback(struct mn__ep *e, json_t *inputs, int *good, int *bad)
{
	size_t i;
	json_t *in;
	*good = *bad = 0;
	long long shown = e->frames.n ? e->frames.v[e->frames.n - 1] : -1;
	json_array_foreach(inputs, i, in) {
		json_t *m;
		int v = rr_feedback(in, &m);
		if (!v)
			continue;
		*(v > 0 ? good : bad) += 1;
		long long frame = mn__int_or(json_object_get(m, "frameId"), shown);
		i64v_push(&e->fb, frame);
		i64v_push(&e->fb, v);
	}
}

int mn__ep_row(struct mn__run *r, struct mn__ep *e, json_t *rec, bool reset)
{
	const struct mn__ds *d = e->ds;
	if (!reset) {
		const struct hippo_space *as = &d->act.s;
		if (as->kind == HIPPO_SPACE_DISCRETE) {
			*(int64_t *)mn__col_row(&e->c[C_ACT]) =
				mn__int_or(json_object_get(rec, "action"), 0);
		} else {
			json_t *ea = json_object_get(rec, "envAction");
			struct mn__col *c = &e->c[C_ACT];
			unsigned char *row = mn__col_row(c);
			memset(row, 0, c->width * c->esize);
			for (size_t i = 0; json_is_array(ea) && i < c->width; i++) {
				double v = mn__num_or(json_array_get(ea, i), 0);
				if (as->dtype == HIPPO_DTYPE_FLOAT64)
					((double *)row)[i] = v;
				else if (as->dtype == HIPPO_DTYPE_FLOAT32)
					((float *)row)[i] = (float)v;
				else if (as->dtype == HIPPO_DTYPE_UINT8)
					((uint8_t *)row)[i] = (uint8_t)(v >= 0 && v <= 255 ? v : 0);
				else
					((int64_t *)row)[i] = (int64_t)(fabs(v) < 9.2e18 ? v : 0);
			}
		}
		double rw = mn__num_or(json_object_get(rec, "reward"), 0);
		*(double *)mn__col_row(&e->c[C_REW]) = rw;
		*(signed char *)mn__col_row(&e->c[C_TERM]) =
			json_is_true(json_object_get(rec, "terminated"));
		*(signed char *)mn__col_row(&e->c[C_TRUNC]) =
			json_is_true(json_object_get(rec, "truncated"));
		e->steps++;
		e->rsum += rw;
		double delta = rw - e->rmean;
		e->rmean += delta / (double)e->steps;
		e->rm2 += delta * (rw - e->rmean);
		if (rw < e->rmin)
			e->rmin = rw;
		if (rw > e->rmax)
			e->rmax = rw;
	}
	json_t *inputs = json_object_get(rec, "inputs");
	int good, bad;
	scan_feedback(e, inputs, &good, &bad);
	long long frame = mn__int_or(json_object_get(rec, "frameId"), -1);
	if (i64v_push(&e->frames, frame) != 0) {
		mn__fail(r, "out of memory");
		return -1;
	}
	*(int64_t *)mn__col_row(&e->c[C_T]) = mn__int_or(json_object_get(rec, "t"), 0);
	*(int64_t *)mn__col_row(&e->c[C_FRAME]) = frame;
	*(int64_t *)mn__col_row(&e->c[C_SEEN]) =
		mn__int_or(json_object_get(rec, "seenFrameId"), -1);
	*(double *)mn__col_row(&e->c[C_REACT]) =
		mn__num_or(json_object_get(rec, "reactionMs"), NAN);
	*(double *)mn__col_row(&e->c[C_RTT]) = mn__num_or(json_object_get(rec, "rttMs"), NAN);
	*(int32_t *)mn__col_row(&e->c[C_FPS]) = (int32_t)mn__int_or(json_object_get(rec, "fps"), 0);
	*(int32_t *)mn__col_row(&e->c[C_FBG]) = good;
	*(int32_t *)mn__col_row(&e->c[C_FBB]) = bad;
	*(int64_t *)mn__col_row(&e->c[C_AGENT]) =
		mn__int_or(json_object_get(rec, "agentAction"), -1);
	*(int64_t *)mn__col_row(&e->c[C_HUMAN]) =
		mn__int_or(json_object_get(rec, "humanAction"), -1);
	char *text = json_array_size(inputs) ? json_dumps(inputs, JSON_COMPACT) : NULL;
	int rc = mn__col_str(&e->c[C_INPUTS], text ? text : "[]", text ? strlen(text) : 2);
	free(text);
	json_t *info = json_object_get(rec, "info");
	text = info ? json_dumps(info, JSON_COMPACT) : NULL;
	rc |= mn__col_str(&e->c[C_INFO], text ? text : "", text ? strlen(text) : 0);
	free(text);
	if (rc) {
		mn__fail(r, "out of memory");
		return -1;
	}
	bool full = false;
	for (int i = 0; i < NCOLS; i++)
		full = full || mn__col_full(&e->c[i]);
	return full ? flush_all(r, e, false) : 0;
}

static int cmp_i64(const void *a, const void *b)
{
	long long x = *(const long long *)a, y = *(const long long *)b;
	return x < y ? -1 : x > y;
}

/* Writes the feedback attributed to each row: +1 good, -1 bad, summed, on
 * the row whose frame the feedback names. */
static int write_feedback(struct mn__run *r, struct mn__ep *e)
{
	size_t n = e->frames.n;
	double *fb = calloc(n ? n : 1, sizeof *fb);
	if (!fb) {
		mn__fail(r, "out of memory");
		return -1;
	}
	/* frame ids are non-decreasing along an episode */
	for (size_t k = 0; k + 1 < e->fb.n; k += 2) {
		long long frame = e->fb.v[k];
		long long *hit = bsearch(&frame, e->frames.v, n, sizeof *e->frames.v, cmp_i64);
		if (hit)
			fb[hit - e->frames.v] += (double)e->fb.v[k + 1];
		else
			r->st->late_feedback++;
	}
	hsize_t dims[1] = {n};
	hid_t sp = H5Screate_simple(1, dims, NULL);
	hid_t ds = H5Dcreate2(e->infos, "feedback", H5T_IEEE_F64LE, sp, H5P_DEFAULT, H5P_DEFAULT,
			      H5P_DEFAULT);
	int rc = ds >= 0 && H5Dwrite(ds, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, fb) >= 0
			 ? 0
			 : -1;
	if (ds >= 0)
		H5Dclose(ds);
	H5Sclose(sp);
	free(fb);
	if (rc)
		mn__fail(r, "writing the HDF5 file failed");
	return rc;
}

int mn__ep_end(struct mn__run *r)
{
	struct mn__ep *e = &r->ep;
	if (!e->active)
		return 0;
	e->active = false;
	if (e->steps == 0) {
		r->st->empty++;
		mn__ep_free(e);
		return 0;
	}
	int rc = flush_all(r, e, true);
	if (rc == 0)
		rc = write_feedback(r, e);
	if (rc == 0) {
		struct mn__ds *d = e->ds;
		char t0[CLOCK_ISO_LEN];
		clock_iso8601(e->t0, t0, sizeof t0);
		double var = e->steps > 0 ? e->rm2 / (double)e->steps : 0;
		rc |= mn__attr_i64(e->grp, "id", d->episodes);
		rc |= mn__attr_i64(e->grp, "total_steps", e->steps);
		if (e->episode == 1 && e->tr->has_seed)
			rc |= mn__attr_i64(e->grp, "seed", (long long)e->tr->seed);
		rc |= mn__attr_f64(e->grp, "rewards_sum", e->rsum);
		rc |= mn__attr_f64(e->grp, "rewards_mean", e->rmean);
		rc |= mn__attr_f64(e->grp, "rewards_std", sqrt(var));
		rc |= mn__attr_f64(e->grp, "rewards_max", e->rmax);
		rc |= mn__attr_f64(e->grp, "rewards_min", e->rmin);
		rc |= mn__attr_str(e->grp, "user_id", r->str_t, e->user);
		rc |= mn__attr_str(e->grp, "trial_id", r->str_t, e->trial_id);
		rc |= mn__attr_i64(e->grp, "trial_episode", e->episode);
		rc |= mn__attr_str(e->grp, "group", r->str_t, e->pp ? e->pp->group : "");
		rc |= mn__attr_str(e->grp, "participant_status", r->str_t,
				   e->pp ? e->pp->status : "");
		rc |= mn__attr_str(e->grp, "start_time", r->str_t, t0);
		if (rc)
			mn__fail(r, "writing HDF5 attributes failed");
		d->episodes++;
		d->steps += e->steps;
		if (d->last_user != e->user) {
			d->participants++;
			d->last_user = e->user;
		}
		if (r->last_user != e->user) {
			r->st->participants++;
			r->last_user = e->user;
		}
		r->st->episodes++;
		r->st->steps += e->steps;
	}
	mn__ep_free(e);
	return rc;
}
