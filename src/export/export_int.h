/* export internals shared by the files of src/export/ (exp__ prefix):
 *
 *   table.c     one output table (CSV or JSON Lines): cells, rows described
 *               by a column table, temporary file renamed when complete
 *   jsontext.c  values as compact JSON text (shortest exact numbers)
 *   files.c     the record files of a project, in natural order
 *   steps.c     step and episode rows from the record files
 *   export.c    exp_run: the participant store's tables, the driver
 *   progress.c  the progress line (progress.h: minari draws it too) */
#ifndef HIPPO_EXPORT_EXPORT_INT_H
#define HIPPO_EXPORT_EXPORT_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include <jansson.h>

#include "core/buf.h"
#include "export/export.h"

/* ------------------------------------------------------------ JSON text */

/* Shortest of %.15g..%.17g that reads back as the same double. */
void exp__fmt_real(double v, char *out, size_t cap);
/* Appends S (N bytes) as a JSON string, quotes included. 0 or -1 (memory). */
int exp__json_str(struct buf *b, const char *s, size_t n);
/* Appends V as compact JSON text, numbers in their shortest exact form
 * (jansson's own dump would print 0.1 as 0.10000000000000001); nesting past
 * 4096 levels is written as null. 0 or -1 (memory). */
int exp__json_value(struct buf *b, json_t *v);

/* ------------------------------------------------------------ tables */

/* One output table. In CSV, names are only used for the header; in JSONL each
 * row is an object with the same names in the same order. */
struct exp__table {
	FILE *f;
	bool csv;
	int col;
	char *tmp_path, *path;
	char *iobuf;         /* stdio buffer */
	struct buf scratch;  /* JSON text of one cell */
};

/* How a column's value is found in a row struct (at OFF) and written. */
enum exp__kind {
	EXP__TEXT,   /* const char *; NULL: missing */
	EXP__BYTES,  /* const char * of the length in the size_t at LEN_OFF (may hold NUL) */
	EXP__INT,    /* long long */
	EXP__BOOL,   /* bool: true/false */
	EXP__NUMBER, /* const char *: a number already formatted; NULL: missing */
	EXP__MEMBER, /* json_t * object: its member KEY as a cell (exp__cell_value) */
};

/* A column: its NAME (header and JSONL key), where its value comes from
 * (SOURCE: OFF, and KEY or LEN_OFF) and its KIND. A table's header and its
 * rows are written from the same array, so they cannot drift apart. */
struct exp__col {
	const char *name;
	enum exp__kind kind;
	size_t off;
	const char *key;
	size_t len_off;
};

#define EXP__COLS(a) (sizeof(a) / sizeof((a)[0]))

/* Creates DIR/.NAME.EXT.tmp (EXT csv or jsonl). 0, or -1 with ERR. */
int exp__table_open(struct exp__table *t, const char *dir, const char *name, enum exp_format fmt,
		    char *err, size_t errlen);
/* A table writing to F (borrowed; not renamed or closed). */
void exp__table_on(struct exp__table *t, FILE *f, enum exp_format fmt);
/* Closes T: flushes, fsyncs and renames it into place when COMMIT, else
 * removes it. 0, or -1 with ERR (when COMMIT). */
int exp__table_close(struct exp__table *t, bool commit, char *err, size_t errlen);

/* The CSV header: the names of COLS, then obs_0..obs_<OBS_COLUMNS-1>. */
void exp__table_header(struct exp__table *t, const struct exp__col *cols, size_t n,
		       int obs_columns);
void exp__row_begin(struct exp__table *t);
void exp__row_end(struct exp__table *t);
/* The cells of COLS, read from the struct at ROW. */
void exp__row_cells(struct exp__table *t, const struct exp__col *cols, size_t n, const void *row);

/* Single cells. A string (NULL: an empty CSV field / JSON null). */
void exp__cell_text(struct exp__table *t, const char *name, const char *s, size_t n);
/* A number, boolean or null already formatted (NULL: null). */
void exp__cell_raw(struct exp__table *t, const char *name, const char *text);
/* A JSON value: numbers and booleans bare, strings as text, null/absent
 * empty; arrays and objects as JSON text. */
void exp__cell_value(struct exp__table *t, const char *name, json_t *v);

/* ------------------------------------------------------------ record files */

struct exp__file {
	char *path; /* DATA/P/trials/U/F */
	char *user;
	long long size;
	long long t; /* the "t" of the first record (the order of a user's files) */
};

/* Every record file under TRIALS (DATA/P/trials): users in natural order,
 * each user's files, their own and those of their node folders (U/NODE/, a
 * cluster's records pulled from S3), by the time of each file's first record,
 * then path in natural order ("episode_2" before "episode_10"; files without
 * a time last), with the sum of their sizes in *TOTAL. 0, or -1 (errno). */
int exp__files_collect(const char *trials, struct exp__file **out, size_t *n, long long *total);
void exp__files_free(struct exp__file *v, size_t n);

/* ------------------------------------------------------------ steps */

extern const struct exp__col exp__step_cols[];
extern const size_t exp__nstep_cols;
extern const struct exp__col exp__episode_cols[];
extern const size_t exp__nepisode_cols;

/* The open episodes of one participant, written to OUT when the
 * participant's files are done (or when too many are open). */
struct exp__episodes {
	struct exp__episode *v;
	size_t n, cap;
	struct exp__table *out;
};

/* Writes one step row for record R (skipped when it is not a step record:
 * it needs integer "episode" and "step"), and adds it to its episode in EPS
 * (may be NULL). Returns 1 when a row was written. */
int exp__step_row(struct exp__table *t, const char *project, const char *user, json_t *r,
		  int obs_columns, struct exp__episodes *eps, struct exp_stats *st);
/* Writes and forgets the open episodes. */
void exp__episodes_write(struct exp__episodes *eps, const char *project, const char *user,
			 struct exp_stats *st);
void exp__episodes_free(struct exp__episodes *eps);
/* The widest observation among the first step record of each file. */
int exp__obs_width(const struct exp__file *files, size_t n);

#endif
