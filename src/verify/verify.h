/* verify: re-simulates every recorded episode of a project (docs/data.md,
 * "Verifying records") with the replay engine (src/replay/replay.h) and
 * reports, per episode, whether the recorded observations, rewards, flags and
 * infos are bit for bit what the environment produces from the trial's seed
 * and the recorded actions. Records are streamed one line at a time; one
 * environment is open per trial of the participant being read. The frames
 * kept with the records (trial.recordFrames, export/frames.h) are checked
 * too: every frame whole and a JPEG, and every step's frame there. */
#ifndef HIPPO_VERIFY_VERIFY_H
#define HIPPO_VERIFY_VERIFY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

struct vf_opts {
	const char *data_dir;
	const char *project_id;  /* [A-Za-z0-9_-]{1,64} */
	const char *user;        /* only this participant; NULL: all */
	FILE *out;               /* one line per episode (NULL: stdout) */
	bool quiet;              /* print failed episodes only */
};

struct vf_stats {
	long long users, episodes, ok, failed, skipped; /* skipped: not a built-in environment */
	long long steps;         /* step lines re-simulated */
	long long bad_lines;     /* unreadable record lines (each counts as a failure) */
	long long frames_files;  /* frames files checked (trial.recordFrames) */
	long long frames;        /* the frames in them */
	long long frames_failed; /* frames files that failed (each counts as a failure) */
};

/* Verifies the project's records. Returns 0 (the verdicts are in ST: any
 * failed episode or unreadable line means the records do not match), or -1
 * with ERR when nothing could be read (no such project or participant). */
int vf_run(const struct vf_opts *o, struct vf_stats *st, char *err, size_t errlen);

/* Verifies the record lines read from IN as one participant's records, the
 * trials' start lines taken from TRIALS (may be NULL: none). For the fuzz
 * target; verdicts go to OUT. */
void vf_stream(FILE *in, FILE *trials, FILE *out, struct vf_stats *st);

/* Checks the frames file read from FRAMES against the record lines read from
 * RECORDS, as for a data file and the frames file next to it. For the fuzz
 * target; verdicts go to OUT. */
void vf_frames_stream(FILE *records, FILE *frames, FILE *out, struct vf_stats *st);

#endif
