/* export: one project's data as tables that pandas or R open directly
 * (docs/data.md, "Export"):
 *
 *   participants.csv  one row per participant (participant store DATA/hippo.db)
 *   answers.csv       one row per answered form field, with the version of its page
 *   passes.csv        one row per study step a participant passed, with its page's version
 *   steps.csv         one row per recorded environment step (DATA/P/trials/U/NAME.jsonl),
 *                     the observation flattened to columns obs_0 .. obs_<n-1>
 *   episodes.csv      one row per episode: return, length, duration, feedback counts
 *
 * or the same rows as JSON Lines (*.jsonl, observation kept as an array).
 * CSV follows RFC 4180 (CRLF line ends, fields with , " CR LF quoted, quotes
 * doubled), UTF-8, a header row, a fixed column order. Records are streamed
 * line by line and the store read row by row (opened read only, beside a
 * running server), so memory stays bounded whatever the size of the data
 * folder. Output files are written
 * under temporary names and renamed when complete. */
#ifndef HIPPO_EXPORT_EXPORT_H
#define HIPPO_EXPORT_EXPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include <jansson.h>

enum exp_format { EXP_CSV = 0, EXP_JSONL };

#define EXP_MAX_OBS_COLUMNS 65536

struct exp_opts {
	const char *data_dir;
	const char *store;        /* the participant store's spec (store.h); NULL: DATA/hippo.db */
	const char *project_id;   /* [A-Za-z0-9_-]{1,64} */
	const char *trials;       /* the record files' folder; NULL: DATA/P/trials */
	const char *out_dir;      /* created if needed */
	enum exp_format format;
	const char *status;       /* only the participants in this state ("completed",
				     "active"), their answers and records; NULL: all */
	bool preview;             /* the preview participants too (store.h); left out
				     otherwise, with their answers and records */
	bool progress;            /* draw a progress bar on PROGRESS_STREAM */
	FILE *progress_stream;    /* NULL: stderr */
};

struct exp_stats {
	long long participants, answers, passes, steps, episodes;
	long long files, bad_lines, obs_clipped;
	long long bytes;          /* record bytes read */
	int obs_columns;
	bool no_store;            /* no participant store: participants/answers/passes empty */
	char first_bad[512];      /* "file:line: why" of the first skipped line */
};

/* Runs the export. Returns 0 (problems with single lines are counted in ST,
 * not errors), or -1 with a message in ERR. */
int exp_run(const struct exp_opts *o, struct exp_stats *st, char *err, size_t errlen);

/* Converts the records read from IN into step rows (no header) on OUT, with
 * OBS_COLUMNS observation columns in CSV. Used by the fuzz target; returns the
 * number of step rows. */
long long exp_convert_records(FILE *in, FILE *out, enum exp_format fmt, int obs_columns,
			      struct exp_stats *st);

#endif
