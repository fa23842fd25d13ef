/* progress: the progress line of `hippo export` (tables and Minari
 * datasets) on a terminal: the share of the record bytes read, the steps,
 * the throughput and the time, redrawn at most five times a second. */
#ifndef HIPPO_EXPORT_PROGRESS_H
#define HIPPO_EXPORT_PROGRESS_H

#include <stdbool.h>
#include <stdio.h>

struct exp_progress {
	bool on;           /* false: draws nothing */
	FILE *f;
	const char *label; /* "minari": "minari: 12.5% ..."; NULL: a bar "[####----] 12.5% ..." */
	long long total;   /* bytes of all the files to read */
	long long done;    /* bytes of the files read so far (the caller adds them) */
	double start, last;
};

/* A progress line on F (NULL: stderr) when ON, started now. */
void exp_progress_init(struct exp_progress *p, bool on, FILE *f, const char *label);
/* Draws BYTES read of the total and STEPS written; FINAL ends the line. */
void exp_progress_draw(struct exp_progress *p, long long bytes, long long steps, bool final);

#endif
