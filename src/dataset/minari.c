/* minari: see minari.h. */
#include "dataset/minari.h"

#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <hdf5.h>
#include <jansson.h>

#include "core/buf.h"
#include "core/datapath.h"
#include "dataset/walk.h"
#include "env/env.h"
#include "export/records.h"
#include "store/store.h"

#define CHUNK_ROWS 1024              /* rows buffered per column before a write */
#define STR_BYTES_MAX (4u << 20)     /* string bytes buffered before a write */
#define MINARI_FORMAT_VERSION "0.5.0" /* the Minari release that defined this layout */

/* ------------------------------------------------------------ small helpers */

static double mono_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int mkdirs(const char *path)
{
	char b[4096];
	int n = snprintf(b, sizeof b, "%s", path);
	if (n < 0 || (size_t)n >= sizeof b)
		return -1;
	for (char *p = b + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(b, 0755) != 0 && errno != EEXIST)
			return -1;
		*p = '/';
	}
	return mkdir(b, 0755) != 0 && errno != EEXIST ? -1 : 0;
}

struct i64v {
	long long *v;
	size_t n, cap;
};

static int i64v_push(struct i64v *a, long long x)
{
	if (a->n == a->cap) {
		size_t cap = a->cap ? a->cap * 2 : 1024;
		long long *v = realloc(a->v, cap * sizeof *v);
		if (!v)
			return -1;
		a->v = v;
		a->cap = cap;
	}
	a->v[a->n++] = x;
	return 0;
}

/* ------------------------------------------------------------ HDF5 columns */

/* One dataset written in chunks of rows: rows of SHAPE (ndim values) of
 * TYPE, or variable-length UTF-8 strings. */
struct col {
	const char *name;
	hid_t ftype, mtype;        /* file and memory types (borrowed) */
	bool str;
	int ndim;
	hsize_t shape[HIPPO_SPACE_MAX_DIMS];
	size_t width, esize;       /* values per row, bytes per value */
	unsigned char *buf;        /* CHUNK_ROWS rows */
	char **sbuf;
	size_t nbuf, sbytes;
	hid_t ds;
	hsize_t rows;              /* rows written */
};

static int col_init(struct col *c, const char *name, hid_t ftype, hid_t mtype, size_t esize,
		    int ndim, const int *shape)
{
	memset(c, 0, sizeof *c);
	c->name = name;
	c->ftype = ftype;
	c->mtype = mtype;
	c->esize = esize;
	c->ndim = ndim;
	c->width = 1;
	c->ds = H5I_INVALID_HID;
	for (int i = 0; i < ndim; i++) {
		c->shape[i] = (hsize_t)shape[i];
		c->width *= (size_t)shape[i];
	}
	c->buf = malloc(CHUNK_ROWS * c->width * esize);
	return c->buf ? 0 : -1;
}

static int col_init_str(struct col *c, const char *name, hid_t stype)
{
	memset(c, 0, sizeof *c);
	c->name = name;
	c->ftype = c->mtype = stype;
	c->str = true;
	c->width = 1;
	c->ds = H5I_INVALID_HID;
	c->sbuf = calloc(CHUNK_ROWS, sizeof *c->sbuf);
	return c->sbuf ? 0 : -1;
}

static bool col_full(const struct col *c)
{
	return c->nbuf == CHUNK_ROWS || c->sbytes > STR_BYTES_MAX;
}

/* Writes the buffered rows into dataset NAME of PARENT (created on the first
 * write). A dataset written at once (FINAL on the first write: an episode of
 * at most CHUNK_ROWS rows) is contiguous; others are chunked and extended. */
static int col_flush(struct col *c, hid_t parent, bool final)
{
	if (c->nbuf == 0)
		return 0;
	int rank = 1 + c->ndim;
	hsize_t count[1 + HIPPO_SPACE_MAX_DIMS], start[1 + HIPPO_SPACE_MAX_DIMS] = {0};
	hsize_t total[1 + HIPPO_SPACE_MAX_DIMS], maxd[1 + HIPPO_SPACE_MAX_DIMS];
	count[0] = c->nbuf;
	total[0] = c->rows + c->nbuf;
	maxd[0] = H5S_UNLIMITED;
	start[0] = c->rows;
	for (int i = 0; i < c->ndim; i++)
		count[i + 1] = total[i + 1] = maxd[i + 1] = c->shape[i];
	int rc = -1;
	hid_t fspace = H5I_INVALID_HID, mspace = H5I_INVALID_HID;
	if (c->ds <= 0) {
		hid_t space = H5Screate_simple(rank, count, final ? NULL : maxd);
		hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE);
		if (!final)
			H5Pset_chunk(dcpl, rank, count); /* the first write sets the chunk */
		c->ds = H5Dcreate2(parent, c->name, c->ftype, space, H5P_DEFAULT, dcpl, H5P_DEFAULT);
		H5Pclose(dcpl);
		H5Sclose(space);
		if (c->ds < 0)
			goto out;
	} else if (H5Dset_extent(c->ds, total) < 0) {
		goto out;
	}
	fspace = H5Dget_space(c->ds);
	mspace = H5Screate_simple(rank, count, NULL);
	if (fspace < 0 || mspace < 0 ||
	    H5Sselect_hyperslab(fspace, H5S_SELECT_SET, start, NULL, count, NULL) < 0)
		goto out;
	if (H5Dwrite(c->ds, c->mtype, mspace, fspace, H5P_DEFAULT,
		     c->str ? (const void *)c->sbuf : (const void *)c->buf) < 0)
		goto out;
	c->rows += c->nbuf;
	rc = 0;
out:
	if (fspace >= 0)
		H5Sclose(fspace);
	if (mspace >= 0)
		H5Sclose(mspace);
	if (c->str)
		for (size_t i = 0; i < c->nbuf; i++) {
			free(c->sbuf[i]);
			c->sbuf[i] = NULL;
		}
	c->nbuf = 0;
	c->sbytes = 0;
	return rc;
}

static void *col_row(struct col *c)
{
	return c->buf + c->nbuf++ * c->width * c->esize;
}

static int col_str(struct col *c, const char *s, size_t n)
{
	char *p = malloc(n + 1);
	if (!p)
		return -1;
	memcpy(p, s, n);
	p[n] = '\0';
	c->sbuf[c->nbuf++] = p;
	c->sbytes += n;
	return 0;
}

/* Discards buffered rows and closes the dataset. */
static void col_close(struct col *c)
{
	if (c->str)
		for (size_t i = 0; i < c->nbuf; i++)
			free(c->sbuf[i]);
	free(c->sbuf);
	free(c->buf);
	if (c->ds > 0)
		H5Dclose(c->ds);
	memset(c, 0, sizeof *c);
	c->ds = H5I_INVALID_HID;
}

/* ------------------------------------------------------------ attributes */

static int attr_write(hid_t obj, const char *name, hid_t type, const void *v)
{
	hid_t sp = H5Screate(H5S_SCALAR);
	hid_t a = H5Acreate2(obj, name, type, sp, H5P_DEFAULT, H5P_DEFAULT);
	int rc = a >= 0 && H5Awrite(a, type, v) >= 0 ? 0 : -1;
	if (a >= 0)
		H5Aclose(a);
	H5Sclose(sp);
	return rc;
}

static int attr_i64(hid_t obj, const char *name, long long v)
{
	int64_t x = (int64_t)v;
	return attr_write(obj, name, H5T_NATIVE_INT64, &x);
}

static int attr_f64(hid_t obj, const char *name, double v)
{
	return attr_write(obj, name, H5T_NATIVE_DOUBLE, &v);
}

static int attr_str(hid_t obj, const char *name, hid_t stype, const char *s)
{
	const char *p = s ? s : "";
	return attr_write(obj, name, stype, &p);
}

/* ------------------------------------------------------------ participants */

struct part {
	char *user, *status, *group;
};

struct parts {
	struct part *v;
	size_t n, cap;
	bool have_store;
	char *project_name, *researcher;
};

static int part_cmp(const void *a, const void *b)
{
	return strcmp(((const struct part *)a)->user, ((const struct part *)b)->user);
}

static const struct part *part_find(const struct parts *p, const char *user)
{
	struct part key = {.user = (char *)user};
	return p->n ? bsearch(&key, p->v, p->n, sizeof *p->v, part_cmp) : NULL;
}

static int add_project(void *user, const struct store_project_row *r)
{
	struct parts *p = user;
	p->project_name = strdup(r->name ? r->name : "");
	p->researcher = strdup(r->researcher ? r->researcher : "");
	return p->project_name && p->researcher ? 0 : 1;
}

static int add_part(void *user, const struct store_participant_row *r)
{
	struct parts *p = user;
	if (buf_grow_array((void **)&p->v, &p->cap, p->n + 1, sizeof *p->v, 64, 0) != 0)
		return 1;
	struct part *q = &p->v[p->n++];
	q->user = strdup(r->user_id ? r->user_id : "");
	q->status = strdup(r->status ? r->status : "");
	q->group = strdup(r->groups ? r->groups : "");
	return q->user && q->status && q->group ? 0 : 1;
}

static int load_parts(const char *data_dir, const char *spec, const char *project,
		      struct parts *p, char *err, size_t errlen)
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
	struct store_query q = {.project_id = project, .order = STORE_ORDER_ID};
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

static void free_parts(struct parts *p)
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

/* A space described by values we own (spaces of the registry, or inferred). */
struct space {
	struct hippo_space s;
	double *low, *high;
};

static int space_copy(struct space *d, const struct hippo_space *s)
{
	d->s = *s;
	d->s.action_names = NULL;
	d->low = d->high = NULL;
	if (s->kind != HIPPO_SPACE_BOX)
		return 0;
	size_t n = hippo_space_size(s);
	d->low = malloc((n ? n : 1) * sizeof *d->low);
	d->high = malloc((n ? n : 1) * sizeof *d->high);
	if (!d->low || !d->high)
		return -1;
	for (size_t i = 0; i < n; i++) {
		d->low[i] = s->low ? s->low[i] : -INFINITY;
		d->high[i] = s->high ? s->high[i] : INFINITY;
	}
	d->s.low = d->low;
	d->s.high = d->high;
	return 0;
}

static hid_t h5_type(enum hippo_dtype t, size_t *esize, bool file)
{
	switch (t) {
	case HIPPO_DTYPE_FLOAT64:
		*esize = 8;
		return file ? H5T_IEEE_F64LE : H5T_NATIVE_DOUBLE;
	case HIPPO_DTYPE_UINT8:
		*esize = 1;
		return file ? H5T_STD_U8LE : H5T_NATIVE_UINT8;
	case HIPPO_DTYPE_INT64:
		*esize = 8;
		return file ? H5T_STD_I64LE : H5T_NATIVE_INT64;
	default:
		*esize = 4;
		return file ? H5T_IEEE_F32LE : H5T_NATIVE_FLOAT;
	}
}

static const char *dtype_name(enum hippo_dtype t)
{
	switch (t) {
	case HIPPO_DTYPE_FLOAT64:
		return "float64";
	case HIPPO_DTYPE_UINT8:
		return "uint8";
	case HIPPO_DTYPE_INT64:
		return "int64";
	default:
		return "float32";
	}
}

struct mds {
	char env_id[128];
	char id[300];
	char dir[4096];           /* OUT/<id> */
	char tmp[4200], final_[4200];
	hid_t file;
	struct space obs, act;
	bool builtin;
	double reward_threshold;
	int max_episode_steps;
	char *options;            /* options of the first trial (env_spec kwargs) */
	long long episodes, steps, participants;
	const char *last_user;    /* for counting participants */
	char **action_names;      /* borrowed from the first trial */
};

/* Gymnasium's entry points of the environments it ships that hippo rebuilds
 * (for env_spec: gym.make needs them to recover the environment). */
static const char *entry_point(const char *id)
{
	static const char *const map[][2] = {
		{"CartPole-", "gymnasium.envs.classic_control.cartpole:CartPoleEnv"},
		{"MountainCar-", "gymnasium.envs.classic_control.mountain_car:MountainCarEnv"},
		{"MountainCarContinuous-",
		 "gymnasium.envs.classic_control.continuous_mountain_car:Continuous_MountainCarEnv"},
		{"Acrobot-", "gymnasium.envs.classic_control.acrobot:AcrobotEnv"},
		{"Pendulum-", "gymnasium.envs.classic_control.pendulum:PendulumEnv"},
		{"FrozenLake-", "gymnasium.envs.toy_text.frozen_lake:FrozenLakeEnv"},
		{"FrozenLake8x8-", "gymnasium.envs.toy_text.frozen_lake:FrozenLakeEnv"},
		{"Taxi-", "gymnasium.envs.toy_text.taxi:TaxiEnv"},
		{"CliffWalking-", "gymnasium.envs.toy_text.cliffwalking:CliffWalkingEnv"},
	};
	for (size_t i = 0; i < sizeof map / sizeof map[0]; i++) {
		size_t n = strlen(map[i][0]);
		/* the prefix, then only a version: "CartPole-v1" */
		if (strncmp(id, map[i][0], n) == 0 && id[n] == 'v' && strchr(id + n, '-') == NULL)
			return map[i][1];
	}
	return NULL;
}

/* ------------------------------------------------------------ JSON text */

struct sb {
	char *p;
	size_t n, cap;
	bool fail;
};

static void sb_put(struct sb *b, const char *s, size_t n)
{
	if (b->fail)
		return;
	if (b->n + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 256;
		while (b->n + n + 1 > cap)
			cap *= 2;
		char *p = realloc(b->p, cap);
		if (!p) {
			b->fail = true;
			return;
		}
		b->p = p;
		b->cap = cap;
	}
	memcpy(b->p + b->n, s, n);
	b->n += n;
	b->p[b->n] = '\0';
}

static void sb_s(struct sb *b, const char *s)
{
	sb_put(b, s, strlen(s));
}

/* A bound as Python's json.dumps writes it (Infinity for inf). */
static void sb_bound(struct sb *b, double v, enum hippo_dtype t)
{
	char buf[40];
	if (isnan(v))
		snprintf(buf, sizeof buf, "NaN");
	else if (isinf(v))
		snprintf(buf, sizeof buf, "%sInfinity", v < 0 ? "-" : "");
	else if (t == HIPPO_DTYPE_UINT8 || t == HIPPO_DTYPE_INT64)
		snprintf(buf, sizeof buf, "%.0f", v);
	else if (t == HIPPO_DTYPE_FLOAT32)
		snprintf(buf, sizeof buf, "%.17g", (double)(float)v);
	else
		snprintf(buf, sizeof buf, "%.17g", v);
	if (!isinf(v) && !isnan(v) && t != HIPPO_DTYPE_UINT8 && t != HIPPO_DTYPE_INT64 &&
	    !strpbrk(buf, ".eE"))
		strncat(buf, ".0", sizeof buf - strlen(buf) - 1);
	sb_s(b, buf);
}

/* Nested lists of SHAPE (numpy's tolist()). */
static void sb_nested(struct sb *b, const double *v, const int *shape, int ndim,
		      enum hippo_dtype t, size_t *at)
{
	sb_s(b, "[");
	for (int i = 0; i < shape[0]; i++) {
		if (i)
			sb_s(b, ", ");
		if (ndim > 1)
			sb_nested(b, v, shape + 1, ndim - 1, t, at);
		else
			sb_bound(b, v[(*at)++], t);
	}
	sb_s(b, "]");
}

/* Minari's serialize_space(): {"type": "Box", "dtype", "shape", "low", "high"}
 * or {"type": "Discrete", "dtype": "int64", "start", "n"}. */
static char *space_json(const struct hippo_space *s)
{
	struct sb b = {0};
	char buf[96];
	if (s->kind == HIPPO_SPACE_DISCRETE) {
		snprintf(buf, sizeof buf,
			 "{\"type\": \"Discrete\", \"dtype\": \"int64\", \"start\": %lld, \"n\": %lld}",
			 (long long)s->start, (long long)s->n);
		sb_s(&b, buf);
		return b.fail ? (free(b.p), NULL) : b.p;
	}
	snprintf(buf, sizeof buf, "{\"type\": \"Box\", \"dtype\": \"%s\", \"shape\": [",
		 dtype_name(s->dtype));
	sb_s(&b, buf);
	for (int i = 0; i < s->ndim; i++) {
		snprintf(buf, sizeof buf, "%s%d", i ? ", " : "", s->shape[i]);
		sb_s(&b, buf);
	}
	sb_s(&b, "], \"low\": ");
	size_t at = 0;
	int one = 1;
	const int *shape = s->ndim ? s->shape : &one;
	int ndim = s->ndim ? s->ndim : 1;
	if (s->ndim == 0) { /* a scalar Box: tolist() gives a number */
		sb_bound(&b, s->low[0], s->dtype);
		sb_s(&b, ", \"high\": ");
		sb_bound(&b, s->high[0], s->dtype);
	} else {
		sb_nested(&b, s->low, shape, ndim, s->dtype, &at);
		sb_s(&b, ", \"high\": ");
		at = 0;
		sb_nested(&b, s->high, shape, ndim, s->dtype, &at);
	}
	sb_s(&b, "}");
	return b.fail ? (free(b.p), NULL) : b.p;
}

/* Gymnasium's EnvSpec.to_json() fields accepted by every Gymnasium 0.28..1.x
 * (order_enforce and the API-compatibility flags left to their defaults). */
static char *env_spec_json(const struct mds *d)
{
	json_t *kw = d->options ? json_loads(d->options, 0, NULL) : NULL;
	if (!json_is_object(kw)) {
		json_decref(kw);
		kw = json_object();
	}
	const char *ep = d->builtin ? entry_point(d->env_id) : NULL;
	json_t *j = json_pack("{s:s,s:o,s:o,s:b,s:o,s:b,s:o,s:[],s:n}", "id", d->env_id,
			      "entry_point", ep ? json_string(ep) : json_null(), "reward_threshold",
			      isfinite(d->reward_threshold) ? json_real(d->reward_threshold)
							    : json_null(),
			      "nondeterministic", 0, "max_episode_steps",
			      d->max_episode_steps > 0 ? json_integer(d->max_episode_steps)
						       : json_null(),
			      "disable_env_checker", 0, "kwargs", kw, "additional_wrappers",
			      "vector_entry_point");
	char *s = j ? json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
	json_decref(j);
	return s;
}

/* ------------------------------------------------------------ one episode */

enum {
	C_OBS, C_ACT, C_REW, C_TERM, C_TRUNC, /* episode datasets */
	C_T, C_FRAME, C_SEEN, C_REACT, C_RTT, C_FPS, C_INPUTS, C_FBG, C_FBB, C_INFO, C_AGENT,
	C_HUMAN, /* infos/ */
	NCOLS
};
#define FIRST_INFO C_T

struct mep {
	struct mds *ds;
	const struct dw_trial *tr;
	const struct part *pp;
	const char *user;
	char trial_id[96];
	long long episode;       /* hippo's episode number */
	long long steps, next_step;
	bool active, cut, started;
	long long t0;
	hid_t grp, infos;
	struct col c[NCOLS];
	double rsum, rmean, rm2, rmin, rmax; /* reward statistics (Welford) */
	struct i64v frames;      /* frame id of each row (N + 1) */
	struct i64v fb;          /* pending feedback: (frame id, value) pairs */
};

struct run {
	const struct mn_opts *o;
	struct mn_stats *st;
	struct parts parts;
	struct dw_trials trials;
	struct mds ds[MN_MAX_DATASETS];
	int nds, nenvs;
	hid_t str_t, bool_t;
	struct mep ep;
	const char *last_user;    /* the participant whose episode was written last */
	char err[512];
	bool failed;
};

static void fail(struct run *r, const char *what)
{
	if (!r->failed)
		snprintf(r->err, sizeof r->err, "%s", what);
	r->failed = true;
}

static int ensure_group(struct run *r, struct mep *e)
{
	if (e->grp > 0)
		return 0;
	char name[40];
	snprintf(name, sizeof name, "episode_%lld", e->ds->episodes);
	e->grp = H5Gcreate2(e->ds->file, name, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
	e->infos = e->grp > 0 ? H5Gcreate2(e->grp, "infos", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT)
			      : H5I_INVALID_HID;
	if (e->grp <= 0 || e->infos <= 0) {
		fail(r, "cannot create an episode group in the HDF5 file");
		return -1;
	}
	return 0;
}

static int flush_all(struct run *r, struct mep *e, bool final)
{
	if (ensure_group(r, e) != 0)
		return -1;
	for (int i = 0; i < NCOLS; i++)
		if (col_flush(&e->c[i], i >= FIRST_INFO ? e->infos : e->grp, final) != 0) {
			fail(r, "writing the HDF5 file failed");
			return -1;
		}
	return 0;
}

static void ep_free(struct mep *e)
{
	for (int i = 0; i < NCOLS; i++)
		col_close(&e->c[i]);
	if (e->infos > 0)
		H5Gclose(e->infos);
	if (e->grp > 0)
		H5Gclose(e->grp);
	free(e->frames.v);
	free(e->fb.v);
	memset(e, 0, sizeof *e);
	e->grp = e->infos = H5I_INVALID_HID;
}

static int ep_begin(struct run *r, struct mds *d, const struct dw_trial *tr, const char *user,
		    long long episode, long long t0)
{
	struct mep *e = &r->ep;
	ep_free(e);
	e->ds = d;
	e->tr = tr;
	e->user = user;
	e->pp = part_find(&r->parts, user);
	snprintf(e->trial_id, sizeof e->trial_id, "%s", tr->trial_id);
	e->episode = episode;
	e->t0 = t0;
	e->active = true;
	e->rmin = INFINITY;
	e->rmax = -INFINITY;
	size_t es;
	int one = 1;
	const struct hippo_space *os = &d->obs.s, *as = &d->act.s;
	hid_t of = h5_type(os->dtype, &es, true), om = h5_type(os->dtype, &es, false);
	int rc = col_init(&e->c[C_OBS], "observations", of, om, es, os->ndim, os->shape);
	if (as->kind == HIPPO_SPACE_DISCRETE) {
		rc |= col_init(&e->c[C_ACT], "actions", H5T_STD_I64LE, H5T_NATIVE_INT64, 8, 0, &one);
	} else {
		hid_t af = h5_type(as->dtype, &es, true), am = h5_type(as->dtype, &es, false);
		rc |= col_init(&e->c[C_ACT], "actions", af, am, es, as->ndim, as->shape);
	}
	rc |= col_init(&e->c[C_REW], "rewards", H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, 8, 0, &one);
	rc |= col_init(&e->c[C_TERM], "terminations", r->bool_t, r->bool_t, 1, 0, &one);
	rc |= col_init(&e->c[C_TRUNC], "truncations", r->bool_t, r->bool_t, 1, 0, &one);
	rc |= col_init(&e->c[C_T], "t_ms", H5T_STD_I64LE, H5T_NATIVE_INT64, 8, 0, &one);
	rc |= col_init(&e->c[C_FRAME], "frame_id", H5T_STD_I64LE, H5T_NATIVE_INT64, 8, 0, &one);
	rc |= col_init(&e->c[C_SEEN], "seen_frame_id", H5T_STD_I64LE, H5T_NATIVE_INT64, 8, 0,
		       &one);
	rc |= col_init(&e->c[C_REACT], "reaction_ms", H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, 8, 0,
		       &one);
	rc |= col_init(&e->c[C_RTT], "rtt_ms", H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, 8, 0, &one);
	rc |= col_init(&e->c[C_FPS], "fps", H5T_STD_I32LE, H5T_NATIVE_INT32, 4, 0, &one);
	rc |= col_init_str(&e->c[C_INPUTS], "inputs", r->str_t);
	rc |= col_init(&e->c[C_FBG], "feedback_good", H5T_STD_I32LE, H5T_NATIVE_INT32, 4, 0, &one);
	rc |= col_init(&e->c[C_FBB], "feedback_bad", H5T_STD_I32LE, H5T_NATIVE_INT32, 4, 0, &one);
	rc |= col_init_str(&e->c[C_INFO], "env_info", r->str_t);
	rc |= col_init(&e->c[C_AGENT], "agent_action", H5T_STD_I64LE, H5T_NATIVE_INT64, 8, 0, &one);
	rc |= col_init(&e->c[C_HUMAN], "human_action", H5T_STD_I64LE, H5T_NATIVE_INT64, 8, 0, &one);
	if (rc) {
		fail(r, "out of memory");
		return -1;
	}
	return 0;
}

static long long int_or(json_t *v, long long dflt)
{
	return json_is_integer(v) ? json_integer_value(v) : dflt;
}

static double num_or(json_t *v, double dflt)
{
	return json_is_number(v) ? json_number_value(v) : dflt;
}

/* Fills one observation row from the record's array; -1 when its size does not fit. */
static int put_obs(struct col *c, enum hippo_dtype t, json_t *o)
{
	if (!json_is_array(o) || json_array_size(o) != c->width)
		return -1;
	void *row = col_row(c);
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

/* The participant's feedback in one line's inputs: counts, and (frame, value)
 * pairs for the step the feedback names (its frameId, else the frame on
 * screen when it arrived: the previous row's). */
static void scan_feedback(struct mep *e, json_t *inputs, int *good, int *bad)
{
	size_t i;
	json_t *in;
	*good = *bad = 0;
	long long shown = e->frames.n ? e->frames.v[e->frames.n - 1] : -1;
	json_array_foreach(inputs, i, in) {
		json_t *m = json_object_get(in, "msg");
		if (!json_is_object(m))
			m = in;
		const char *fb = json_string_value(json_object_get(m, "feedback"));
		if (!fb)
			fb = json_string_value(json_object_get(m, "command"));
		int v = fb && strcmp(fb, "good") == 0 ? 1 : fb && strcmp(fb, "bad") == 0 ? -1 : 0;
		if (!v)
			continue;
		*(v > 0 ? good : bad) += 1;
		long long frame = int_or(json_object_get(m, "frameId"), shown);
		i64v_push(&e->fb, frame);
		i64v_push(&e->fb, v);
	}
}

/* Appends one record line (reset or step) to the episode. */
static int ep_row(struct run *r, struct mep *e, json_t *rec, bool reset)
{
	const struct mds *d = e->ds;
	if (!reset) {
		const struct hippo_space *as = &d->act.s;
		if (as->kind == HIPPO_SPACE_DISCRETE) {
			*(int64_t *)col_row(&e->c[C_ACT]) = int_or(json_object_get(rec, "action"), 0);
		} else {
			json_t *ea = json_object_get(rec, "envAction");
			struct col *c = &e->c[C_ACT];
			unsigned char *row = col_row(c);
			memset(row, 0, c->width * c->esize);
			for (size_t i = 0; json_is_array(ea) && i < c->width; i++) {
				double v = num_or(json_array_get(ea, i), 0);
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
		double rw = num_or(json_object_get(rec, "reward"), 0);
		*(double *)col_row(&e->c[C_REW]) = rw;
		*(signed char *)col_row(&e->c[C_TERM]) = json_is_true(json_object_get(rec, "terminated"));
		*(signed char *)col_row(&e->c[C_TRUNC]) = json_is_true(json_object_get(rec, "truncated"));
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
	long long frame = int_or(json_object_get(rec, "frameId"), -1);
	if (i64v_push(&e->frames, frame) != 0) {
		fail(r, "out of memory");
		return -1;
	}
	*(int64_t *)col_row(&e->c[C_T]) = int_or(json_object_get(rec, "t"), 0);
	*(int64_t *)col_row(&e->c[C_FRAME]) = frame;
	*(int64_t *)col_row(&e->c[C_SEEN]) = int_or(json_object_get(rec, "seenFrameId"), -1);
	*(double *)col_row(&e->c[C_REACT]) = num_or(json_object_get(rec, "reactionMs"), NAN);
	*(double *)col_row(&e->c[C_RTT]) = num_or(json_object_get(rec, "rttMs"), NAN);
	*(int32_t *)col_row(&e->c[C_FPS]) = (int32_t)int_or(json_object_get(rec, "fps"), 0);
	*(int32_t *)col_row(&e->c[C_FBG]) = good;
	*(int32_t *)col_row(&e->c[C_FBB]) = bad;
	*(int64_t *)col_row(&e->c[C_AGENT]) = int_or(json_object_get(rec, "agentAction"), -1);
	*(int64_t *)col_row(&e->c[C_HUMAN]) = int_or(json_object_get(rec, "humanAction"), -1);
	char *text = json_array_size(inputs) ? json_dumps(inputs, JSON_COMPACT) : NULL;
	int rc = col_str(&e->c[C_INPUTS], text ? text : "[]", text ? strlen(text) : 2);
	free(text);
	json_t *info = json_object_get(rec, "info");
	text = info ? json_dumps(info, JSON_COMPACT) : NULL;
	rc |= col_str(&e->c[C_INFO], text ? text : "", text ? strlen(text) : 0);
	free(text);
	if (rc) {
		fail(r, "out of memory");
		return -1;
	}
	bool full = false;
	for (int i = 0; i < NCOLS; i++)
		full = full || col_full(&e->c[i]);
	return full ? flush_all(r, e, false) : 0;
}

static int cmp_i64(const void *a, const void *b)
{
	long long x = *(const long long *)a, y = *(const long long *)b;
	return x < y ? -1 : x > y;
}

/* Writes the feedback attributed to each row: +1 good, -1 bad, summed, on
 * the row whose frame the feedback names. */
static int write_feedback(struct run *r, struct mep *e)
{
	size_t n = e->frames.n;
	double *fb = calloc(n ? n : 1, sizeof *fb);
	if (!fb) {
		fail(r, "out of memory");
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
		fail(r, "writing the HDF5 file failed");
	return rc;
}

static void iso_time(long long ms, char *out, size_t cap)
{
	time_t s = (time_t)(ms / 1000);
	struct tm tm;
	gmtime_r(&s, &tm);
	char b[32];
	strftime(b, sizeof b, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(out, cap, "%s.%03lldZ", b, ms % 1000);
}

/* Ends the episode: writes what is buffered and its attributes, or drops it
 * when it has no step. */
static int ep_end(struct run *r)
{
	struct mep *e = &r->ep;
	if (!e->active)
		return 0;
	e->active = false;
	if (e->steps == 0) {
		r->st->empty++;
		ep_free(e);
		return 0;
	}
	int rc = flush_all(r, e, true);
	if (rc == 0)
		rc = write_feedback(r, e);
	if (rc == 0) {
		struct mds *d = e->ds;
		char t0[40];
		iso_time(e->t0, t0, sizeof t0);
		double var = e->steps > 0 ? e->rm2 / (double)e->steps : 0;
		rc |= attr_i64(e->grp, "id", d->episodes);
		rc |= attr_i64(e->grp, "total_steps", e->steps);
		if (e->episode == 1 && e->tr->has_seed)
			rc |= attr_i64(e->grp, "seed", (long long)e->tr->seed);
		rc |= attr_f64(e->grp, "rewards_sum", e->rsum);
		rc |= attr_f64(e->grp, "rewards_mean", e->rmean);
		rc |= attr_f64(e->grp, "rewards_std", sqrt(var));
		rc |= attr_f64(e->grp, "rewards_max", e->rmax);
		rc |= attr_f64(e->grp, "rewards_min", e->rmin);
		rc |= attr_str(e->grp, "user_id", r->str_t, e->user);
		rc |= attr_str(e->grp, "trial_id", r->str_t, e->trial_id);
		rc |= attr_i64(e->grp, "trial_episode", e->episode);
		rc |= attr_str(e->grp, "group", r->str_t, e->pp ? e->pp->group : "");
		rc |= attr_str(e->grp, "participant_status", r->str_t, e->pp ? e->pp->status : "");
		rc |= attr_str(e->grp, "start_time", r->str_t, t0);
		if (rc)
			fail(r, "writing HDF5 attributes failed");
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
	ep_free(e);
	return rc;
}

/* ------------------------------------------------------------ datasets */

static bool user_selected(const struct run *r, const char *user)
{
	const struct mn_opts *o = r->o;
	if (!o->completed_only && !o->group)
		return true;
	const struct part *p = part_find(&r->parts, user);
	if (!p)
		return false;
	if (o->completed_only && strcmp(p->status, "completed") != 0)
		return false;
	if (o->group && strcmp(p->group, o->group) != 0)
		return false;
	return true;
}

static struct mds *dataset_for(struct run *r, const struct dw_trial *tr, json_t *reset_line)
{
	for (int i = 0; i < r->nds; i++)
		if (strcmp(r->ds[i].env_id, tr->game) == 0)
			return &r->ds[i];
	if (r->nds == MN_MAX_DATASETS) {
		fail(r, "more than 64 environment ids");
		return NULL;
	}
	struct mds *d = &r->ds[r->nds];
	memset(d, 0, sizeof *d);
	d->file = H5I_INVALID_HID;
	snprintf(d->env_id, sizeof d->env_id, "%s", tr->game);
	d->reward_threshold = NAN;
	d->action_names = tr->action_names;
	char err[256];
	struct env env;
	d->builtin = (!tr->source || strcmp(tr->source, "builtin") == 0) && env_find(tr->game);
	if (d->builtin && env_open(&env, tr->game, tr->options, err, sizeof err) == 0) {
		int rc = space_copy(&d->obs, &env.info->observation_space) |
			 space_copy(&d->act, &env.info->action_space);
		d->reward_threshold = env.info->meta.reward_threshold;
		d->max_episode_steps = env.info->meta.max_episode_steps;
		env_close(&env);
		if (rc) {
			fail(r, "out of memory");
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
		if (n == 0 || n > (1u << 24) || space_copy(&d->obs, &os) | space_copy(&d->act, &as)) {
			fail(r, "cannot infer the observation space of a non-built-in environment");
			return NULL;
		}
	}
	d->options = tr->options ? strdup(tr->options) : NULL;
	if (mn_dataset_id(r->o->dataset_id, r->o->project_id, tr->game, r->nenvs, d->id,
			  sizeof d->id) != 0) {
		snprintf(err, sizeof err, "invalid dataset id '%s' (components of letters, digits, "
					  "'-' and '_', separated by '/')", r->o->dataset_id);
		fail(r, err);
		return NULL;
	}
	char dirb[sizeof d->dir];
	snprintf(dirb, sizeof dirb, "%s/%s", r->o->out_dir, d->id);
	memcpy(d->dir, dirb, sizeof d->dir);
	snprintf(d->tmp, sizeof d->tmp, "%s/.data.tmp-%ld", dirb, (long)getpid());
	snprintf(d->final_, sizeof d->final_, "%s/data", dirb);
	r->nds++;
	char path[4300];
	if (mkdirs(d->tmp) != 0) {
		snprintf(err, sizeof err, "cannot create %.200s: %s", d->tmp, strerror(errno));
		fail(r, err);
		return NULL;
	}
	snprintf(path, sizeof path, "%s/main_data.hdf5", d->tmp);
	hid_t fcpl = H5Pcreate(H5P_FILE_CREATE);
	H5Pset_link_creation_order(fcpl, H5P_CRT_ORDER_TRACKED | H5P_CRT_ORDER_INDEXED);
	/* the 1.8 file format: compact groups and object headers (HDF5 1.8 and
	 * later read it, as every h5py does) */
	hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
	H5Pset_libver_bounds(fapl, H5F_LIBVER_V18, H5F_LIBVER_LATEST);
	/* every chunk is written once, whole: no raw-data chunk cache (1 MiB per
	 * open dataset by default) */
	H5Pset_cache(fapl, 0, 0, 0, 0.75);
	/* a small metadata cache: episodes are written once and closed */
	H5AC_cache_config_t mdc = {.version = H5AC__CURR_CACHE_CONFIG_VERSION};
	if (H5Pget_mdc_config(fapl, &mdc) >= 0) {
		mdc.set_initial_size = 1;
		mdc.initial_size = 1 << 20;
		mdc.min_size = 1 << 20;
		mdc.max_size = 4 << 20;
		H5Pset_mdc_config(fapl, &mdc);
	}
	d->file = H5Fcreate(path, H5F_ACC_TRUNC, fcpl, fapl);
	H5Pclose(fapl);
	H5Pclose(fcpl);
	if (d->file < 0) {
		snprintf(err, sizeof err, "cannot create %.200s", path);
		fail(r, err);
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
static int dataset_finish(struct run *r, struct mds *d, bool ok)
{
	if (d->file > 0 && H5Fclose(d->file) < 0)
		ok = false;
	d->file = H5I_INVALID_HID;
	if (!ok) {
		rm_data_dir(d->tmp);
		return -1;
	}
	char path[4400];
	struct stat sb;
	snprintf(path, sizeof path, "%s/main_data.hdf5", d->tmp);
	double mb = stat(path, &sb) == 0 ? (double)sb.st_size / 1e6 : 0;
	char *obs = space_json(&d->obs.s), *act = space_json(&d->act.s), *spec = env_spec_json(d);
	char now[40];
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	iso_time((long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000, now, sizeof now);
	const struct parts *p = &r->parts;
	char desc[600];
	snprintf(desc, sizeof desc,
		 "Human play of %s recorded with hippo in project %s%s%s%s: %lld episodes of %lld "
		 "participants.",
		 d->env_id, r->o->project_id, p->project_name ? " (" : "",
		 p->project_name ? p->project_name : "", p->project_name ? ")" : "", d->episodes,
		 d->participants);
	json_t *filters = json_pack("{s:b,s:s?,s:I,s:I}", "completed_only", r->o->completed_only,
				    "group", r->o->group, "since_ms", (json_int_t)r->o->since_ms,
				    "until_ms", (json_int_t)r->o->until_ms);
	json_t *names = json_array();
	for (size_t i = 0; d->action_names && d->action_names[i]; i++)
		json_array_append_new(names, json_string(d->action_names[i]));
	json_t *m = json_pack(
		"{s:s,s:I,s:I,s:s,s:b,s:s?,s:s?,s:s?,s:s,s:s,s:s,s:f}", "dataset_id", d->id,
		"total_episodes", (json_int_t)d->episodes, "total_steps", (json_int_t)d->steps,
		"data_format", "hdf5", "jpeg_encoding", 0, "observation_space", obs, "action_space",
		act, "env_spec", spec, "algorithm_name", "human", "description", desc,
		"minari_version", MINARI_FORMAT_VERSION, "dataset_size", round(mb * 10) / 10);
	if (m && p->researcher && p->researcher[0])
		json_object_set_new(m, "author", json_pack("[s]", p->researcher));
	if (m)
		json_object_set_new(
			m, "hippo",
			json_pack("{s:s,s:s,s:s,s:s,s:I,s:o,s:o}", "version", HIPPO_VERSION,
				  "project_id", r->o->project_id, "env_id", d->env_id, "created",
				  now, "participants", (json_int_t)d->participants, "action_names",
				  names, "filters", filters));
	else {
		json_decref(names);
		json_decref(filters);
	}
	free(obs);
	free(act);
	free(spec);
	snprintf(path, sizeof path, "%s/metadata.json", d->tmp);
	int rc = m && json_dump_file(m, path, JSON_INDENT(1) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(12)) == 0 ? 0 : -1;
	json_decref(m);
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

static void on_line(struct run *r, const char *user, json_t *rec)
{
	struct mep *e = &r->ep;
	const char *tid = json_string_value(json_object_get(rec, "trialId"));
	long long ep = int_or(json_object_get(rec, "episode"), 0);
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
		if (ep_end(r) != 0)
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
		long long t = int_or(json_object_get(rec, "t"), 0);
		if ((r->o->since_ms && t < r->o->since_ms) || (r->o->until_ms && t >= r->o->until_ms)) {
			r->st->filtered++;
			return;
		}
		if (!reset || int_or(json_object_get(rec, "step"), -1) != 0) {
			r->st->incomplete++;
			return;
		}
		struct mds *d = dataset_for(r, tr, rec);
		if (!d || ep_begin(r, d, tr, user, ep, t) != 0)
			return;
		if (put_obs(&e->c[C_OBS], d->obs.s.dtype, json_object_get(rec, "observation")) != 0) {
			r->st->mismatched++;
			ep_free(e);
			snprintf(e->trial_id, sizeof e->trial_id, "%s", tid);
			e->episode = ep;
			return;
		}
		e->next_step = 1;
		ep_row(r, e, rec, true);
		return;
	}
	if (e->cut)
		return;
	long long step = int_or(json_object_get(rec, "step"), -1);
	if (reset || step != e->next_step) {
		/* a missing line: the episode ends at the last step before it */
		e->cut = true;
		r->st->incomplete++;
		return;
	}
	if (put_obs(&e->c[C_OBS], e->ds->obs.s.dtype, json_object_get(rec, "observation")) != 0) {
		e->cut = true;
		r->st->incomplete++;
		return;
	}
	e->next_step++;
	ep_row(r, e, rec, false);
}

struct progress {
	bool on;
	FILE *f;
	long long total, done;
	double start, last;
};

static void progress_draw(struct progress *p, long long bytes, long long steps, bool final)
{
	if (!p->on)
		return;
	double now = mono_s();
	if (!final && now - p->last < 0.2)
		return;
	p->last = now;
	double frac = p->total > 0 ? (double)bytes / (double)p->total : 1.0;
	double el = now - p->start;
	fprintf(p->f, "\rminari: %5.1f%%  %lld steps  %.1f MB/s  %.0fs ", frac > 1 ? 100 : frac * 100,
		steps, el > 0 ? (double)bytes / 1e6 / el : 0, el);
	if (final)
		fputc('\n', p->f);
	fflush(p->f);
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
	if (!dw_id_valid(o->project_id)) {
		snprintf(err, errlen, "invalid project id '%s'", o->project_id ? o->project_id : "");
		return -1;
	}
	char probe[300];
	if (o->dataset_id && mn_dataset_id(o->dataset_id, o->project_id, "E", 2, probe,
					   sizeof probe) != 0) {
		snprintf(err, errlen, "invalid dataset id '%s' (components of letters, digits, '-' "
				      "and '_', separated by '/', like study/human-v0)", o->dataset_id);
		return -1;
	}
	struct run *r = calloc(1, sizeof *r);
	if (!r) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	r->o = o;
	r->st = st;
	r->ep.grp = r->ep.infos = H5I_INVALID_HID;
	H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
	/* HDF5 keeps freed blocks on free lists of up to 64 MiB: keep them small */
	H5set_free_list_limits(1 << 20, 1 << 18, 1 << 20, 1 << 18, 1 << 20, 1 << 18);
	r->str_t = H5Tcopy(H5T_C_S1);
	H5Tset_size(r->str_t, H5T_VARIABLE);
	H5Tset_cset(r->str_t, H5T_CSET_UTF8);
	/* numpy's bool as h5py stores it: an int8 enum FALSE = 0, TRUE = 1 */
	r->bool_t = H5Tenum_create(H5T_NATIVE_SCHAR);
	signed char v0 = 0, v1 = 1;
	H5Tenum_insert(r->bool_t, "FALSE", &v0);
	H5Tenum_insert(r->bool_t, "TRUE", &v1);
	int rc = -1;
	char **users = NULL;
	char trials[4096];
	datapath_trials(trials, sizeof trials, o->data_dir, o->project_id);
	if (load_parts(o->data_dir, o->store, o->project_id, &r->parts, err, errlen) != 0)
		goto out;
	if ((o->completed_only || o->group) && !r->parts.have_store) {
		snprintf(err, errlen, "the participant filters need the participant store %s/hippo.db",
			 o->data_dir);
		goto out;
	}
	long nu = dw_users(trials, &users);
	if (nu < 0) {
		snprintf(err, errlen, "no records for project '%s': cannot read %s: %s",
			 o->project_id, trials, strerror(errno));
		goto out;
	}
	/* the trials of the selected participants: their environments name the datasets */
	struct progress pg = {.on = o->progress, .f = o->progress_stream ? o->progress_stream : stderr,
			      .start = mono_s()};
	char envs[MN_MAX_DATASETS][128];
	for (long i = 0; i < nu; i++) {
		if (!user_selected(r, users[i]))
			continue;
		char dir[4200];
		snprintf(dir, sizeof dir, "%s/%s", trials, users[i]);
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
				snprintf(envs[r->nenvs++], sizeof envs[0], "%s", r->trials.v[k].game);
		}
		char **files = NULL;
		if (dw_record_files(dir, &files) >= 0)
			pg.total += folder_bytes(dir, files);
		dw_list_free(files);
	}
	for (long i = 0; i < nu && !r->failed; i++) {
		if (!user_selected(r, users[i]))
			continue;
		char dir[4200];
		snprintf(dir, sizeof dir, "%s/%s", trials, users[i]);
		char **files = NULL;
		long nf = dw_record_files(dir, &files);
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
					snprintf(r->err, sizeof r->err, "%.300s: %.180s", path, lerr);
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
					progress_draw(&pg, pg.done + (long long)rd.bytes, st->steps, false);
				if (r->failed)
					break;
			}
			/* an episode never continues in another file */
			ep_end(r);
			r->ep.trial_id[0] = '\0';
			pg.done += (long long)rd.bytes;
			st->bytes += (long long)rd.bytes;
			rr_free(&rd);
			fclose(f);
		}
		dw_list_free(files);
	}
	progress_draw(&pg, pg.done, st->steps, true);
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
	ep_free(&r->ep);
	for (int i = 0; i < r->nds; i++) {
		struct mds *d = &r->ds[i];
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
	dw_list_free(users);
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

/* ------------------------------------------------------------ dataset ids */

static bool id_valid(const char *s)
{
	if (!*s || *s == '/')
		return false;
	for (const char *p = s; *p; p++) {
		char c = *p;
		bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
			  c == '_' || c == '-' || c == '/';
		if (!ok || (c == '/' && (p[1] == '/' || p[1] == '\0')))
			return false;
	}
	return true;
}

int mn_dataset_id(const char *template_, const char *project, const char *env_id, int nenvs,
		  char *out, size_t cap)
{
	char env[128];
	size_t n = 0;
	for (const char *p = env_id; *p && n + 1 < sizeof env; p++) {
		char c = *p;
		bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
			  c == '_' || c == '-';
		env[n++] = ok ? c : '_';
	}
	env[n] = '\0';
	if (!n)
		snprintf(env, sizeof env, "unknown");
	int w;
	const char *mark = template_ ? strstr(template_, "{env}") : NULL;
	if (!template_) {
		w = snprintf(out, cap, "%s/%s/human-v0", project, env);
	} else if (mark) {
		w = snprintf(out, cap, "%.*s%s%s", (int)(mark - template_), template_, env, mark + 5);
	} else if (nenvs <= 1) {
		w = snprintf(out, cap, "%s", template_);
	} else {
		const char *slash = strrchr(template_, '/');
		if (slash)
			w = snprintf(out, cap, "%.*s/%s%s", (int)(slash - template_), template_, env,
				     slash);
		else
			w = snprintf(out, cap, "%s/%s", env, template_);
	}
	if (w < 0 || (size_t)w >= cap)
		return -1;
	return id_valid(out) ? 0 : -1;
}
