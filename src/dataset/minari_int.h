/* minari internals shared by the files of src/dataset/minari*.c (mn__ prefix):
 *
 *   minari_h5.c       HDF5 writing: columns written in chunks of rows,
 *                     attributes, types, the file's creation settings
 *   minari_episode.c  one episode: its rows from the record lines, the
 *                     feedback attributed to them, its attributes
 *   minari_meta.c     the spaces, metadata.json (Minari's serialised spaces,
 *                     Gymnasium's EnvSpec), dataset ids
 *   minari.c          mn_run: participants, one dataset per environment,
 *                     reading the record files, the progress line */
#ifndef HIPPO_DATASET_MINARI_INT_H
#define HIPPO_DATASET_MINARI_INT_H

#include <stdbool.h>
#include <stddef.h>

#include <hdf5.h>
#include <jansson.h>

#include "dataset/minari.h"
#include "dataset/walk.h"
#include "env/env.h"

#define MN__CHUNK_ROWS 1024           /* rows buffered per column before a write */
#define MN__STR_BYTES_MAX (4u << 20)  /* string bytes buffered before a write */
#define MN__FORMAT_VERSION "0.5.0"    /* the Minari release that defined this layout */

/* ------------------------------------------------------------ HDF5 (minari_h5.c) */

/* One dataset written in chunks of rows: rows of SHAPE (ndim values) of
 * TYPE, or variable-length UTF-8 strings. */
struct mn__col {
	const char *name;
	hid_t ftype, mtype;        /* file and memory types (borrowed) */
	bool str;
	int ndim;
	hsize_t shape[HIPPO_SPACE_MAX_DIMS];
	size_t width, esize;       /* values per row, bytes per value */
	unsigned char *buf;        /* MN__CHUNK_ROWS rows */
	char **sbuf;
	size_t nbuf, sbytes;
	hid_t ds;
	hsize_t rows;              /* rows written */
};

/* A column of rows of NDIM values of SHAPE, of file type FTYPE and memory
 * type MTYPE (ESIZE bytes a value); or of strings of type STYPE. 0 or -1. */
int mn__col_init(struct mn__col *c, const char *name, hid_t ftype, hid_t mtype, size_t esize,
		 int ndim, const int *shape);
int mn__col_init_str(struct mn__col *c, const char *name, hid_t stype);
/* Whether the buffered rows should be written now. */
bool mn__col_full(const struct mn__col *c);
/* Writes the buffered rows into dataset NAME of PARENT (created on the first
 * write). A dataset written at once (FINAL on the first write: an episode of
 * at most MN__CHUNK_ROWS rows) is contiguous; others are chunked and
 * extended. 0 or -1. */
int mn__col_flush(struct mn__col *c, hid_t parent, bool final);
/* The next row to fill (the caller checks mn__col_full after each row). */
void *mn__col_row(struct mn__col *c);
/* Appends a string row (N bytes of S, copied). 0 or -1. */
int mn__col_str(struct mn__col *c, const char *s, size_t n);
/* Discards buffered rows and closes the dataset. */
void mn__col_close(struct mn__col *c);

/* Scalar attributes of OBJ. 0 or -1. */
int mn__attr_i64(hid_t obj, const char *name, long long v);
int mn__attr_f64(hid_t obj, const char *name, double v);
int mn__attr_str(hid_t obj, const char *name, hid_t stype, const char *s);

/* The HDF5 type of T in the file (FILE) or in memory, with its size. */
hid_t mn__h5_type(enum hippo_dtype t, size_t *esize, bool file);
/* Sets up the library for a run (no error printing, small free lists) and
 * makes the string type (variable-length UTF-8) and numpy's bool. */
void mn__h5_init(hid_t *str_t, hid_t *bool_t);
/* Creates the HDF5 file PATH with the settings of a dataset (1.8 format,
 * link creation order, small caches). */
hid_t mn__h5_create(const char *path);

/* ------------------------------------------------------------ participants (minari.c) */

struct mn__part {
	char *user, *status, *group;
	bool preview;             /* a researcher's preview (left out unless asked) */
};

struct mn__parts {
	struct mn__part *v;
	size_t n, cap;
	bool have_store;
	char *project_name, *researcher;
};

/* The participant USER, or NULL. */
const struct mn__part *mn__part_find(const struct mn__parts *p, const char *user);

/* ------------------------------------------------------------ datasets (minari_meta.c) */

/* A space described by values we own (spaces of the registry, or inferred). */
struct mn__space {
	struct hippo_space s;
	double *low, *high;
};

/* D takes a copy of S's bounds. 0 or -1 (memory). */
int mn__space_copy(struct mn__space *d, const struct hippo_space *s);

/* One dataset being written: one per environment id. */
struct mn__ds {
	char env_id[128];
	char id[300];
	char dir[4096];           /* OUT/<id> */
	char tmp[4200], final_[4200];
	hid_t file;
	struct mn__space obs, act;
	bool builtin;
	double reward_threshold;
	int max_episode_steps;
	char *options;            /* options of the first trial (env_spec kwargs) */
	long long episodes, steps, participants;
	const char *last_user;    /* for counting participants */
	char **action_names;      /* borrowed from the first trial */
};

/* ------------------------------------------------------------ episodes (minari_episode.c) */

struct mn__i64v {
	long long *v;
	size_t n, cap;
};

#define MN__NCOLS 17 /* the datasets of an episode group and of its infos/ */

struct mn__ep {
	struct mn__ds *ds;
	const struct dw_trial *tr;
	const struct mn__part *pp;
	const char *user;
	char trial_id[96];
	long long episode;       /* hippo's episode number */
	long long steps, next_step;
	bool active, cut, started;
	long long t0;
	hid_t grp, infos;
	struct mn__col c[MN__NCOLS];
	double rsum, rmean, rm2, rmin, rmax; /* reward statistics (Welford) */
	struct mn__i64v frames;      /* frame id of each row (N + 1) */
	struct mn__i64v fb;          /* pending feedback: (frame id, value) pairs */
};

struct mn__run {
	const struct mn_opts *o;
	struct mn_stats *st;
	struct mn__parts parts;
	struct dw_trials trials;
	struct mn__ds ds[MN_MAX_DATASETS];
	int nds, nenvs;
	hid_t str_t, bool_t;
	struct mn__ep ep;
	const char *last_user;    /* the participant whose episode was written last */
	char err[512];
	bool failed;
};

/* Records the first failure of the run (what mn_run reports). */
void mn__fail(struct mn__run *r, const char *what);
/* Starts episode EPISODE of trial TR of USER in dataset D, at T0 (ms). 0 or -1. */
int mn__ep_begin(struct mn__run *r, struct mn__ds *d, const struct dw_trial *tr, const char *user,
		 long long episode, long long t0);
/* Appends an observation row from the record's array O; -1 when its size
 * does not fit the dataset's observation space. */
int mn__ep_obs(struct mn__ep *e, json_t *o);
/* Appends one record line (reset or step) to the episode after its
 * observation. 0 or -1. */
int mn__ep_row(struct mn__run *r, struct mn__ep *e, json_t *rec, bool reset);
/* Ends the episode: writes what is buffered and its attributes, or drops it
 * when it has no step. 0 or -1. */
int mn__ep_end(struct mn__run *r);
void mn__ep_free(struct mn__ep *e);

/* ------------------------------------------------------------ metadata (minari_meta.c) */

/* Writes D's metadata.json into D->tmp. 0 or -1. */
int mn__write_metadata(const struct mn__run *r, const struct mn__ds *d);

/* A record's integer or number V, or DFLT when it is absent or not one. */
static inline long long mn__int_or(json_t *v, long long dflt)
{
	return json_is_integer(v) ? json_integer_value(v) : dflt;
}

static inline double mn__num_or(json_t *v, double dflt)
{
	return json_is_number(v) ? json_number_value(v) : dflt;
}

#endif
