/* records: reads a JSON Lines record file (docs/data.md, "Trial records") one
 * line at a time in bounded memory. Lines longer than the limit, lines that
 * are not a JSON object (a torn last line after a crash, a corrupted byte)
 * are skipped and counted, never fatal: an export reports them and goes on. */
#ifndef HIPPO_EXPORT_RECORDS_H
#define HIPPO_EXPORT_RECORDS_H

#include <stddef.h>
#include <stdio.h>

#include <jansson.h>

#define RR_MAX_LINE_DEFAULT (16u << 20) /* 16 MiB */

struct rr {
	FILE *f;                  /* borrowed */
	char *buf;
	size_t cap, max_line;
	unsigned long long line;  /* number of the line last read (1-based) */
	unsigned long long bad;   /* lines skipped */
	unsigned long long bytes; /* bytes consumed */
};

/* Reads from F (the caller keeps it open and closes it). MAX_LINE 0: the default. */
void rr_init(struct rr *r, FILE *f, size_t max_line);

/* The next record. Returns 1 with *OUT (a JSON object the caller decrefs),
 * 0 at the end, -1 for a skipped line (ERR: "line N: why"), -2 on a read
 * error (ERR set). Blank lines are skipped silently. */
int rr_next(struct rr *r, json_t **out, char *err, size_t errlen);

void rr_free(struct rr *r);

/* The participant's feedback in one element IN of a record's "inputs":
 * {"feedback": "good"|"bad"} (hippo) or the original's {"command":
 * "good"|"bad"}, bare or wrapped as {"msg": {...}}. Returns 1 (good), -1
 * (bad) or 0 (not feedback); *MSG (may be NULL) gets the message object,
 * where its "frameId" is. */
int rr_feedback(json_t *in, json_t **msg);

#endif
