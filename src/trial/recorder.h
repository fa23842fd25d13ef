/* recorder: a trial's step records as JSON Lines files (docs/data.md, "Trial
 * records"), under DATA/<projectId>/trials/<userId>/:
 *
 *   episode_<n>.jsonl   one per episode (trial.dataFile: episode), or
 *   trial.jsonl         one per trial   (trial.dataFile: trial)
 *   trials.jsonl        one metadata line per trial start and end
 *   episode_<n>.frames  with frames (trial.recordFrames): every frame sent to
 *   trial.frames        the participant while the data file next to it was
 *                       open (rec_frame; the format is docs/data.md's)
 *
 * A trial never writes into another trial's data file: the participant's
 * first trial with records uses the names above, a later one (a new session
 * after an end, a restart or a crash) episode_<n>-<trialId>.jsonl or
 * trial-<trialId>.jsonl. The data file is opened with the first episode (a
 * trial nobody played has none). Files are opened O_APPEND and never
 * truncated: a reconnect continues the trial's file. Lines are
 * buffered in memory and written by rec_flush (the session worker calls it at
 * least once a second) and at episode end, which also fsyncs: on a separate
 * sync thread, so that a slow disk never stalls the caller (rec_sync_wait
 * waits for every pending fsync; a file waiting for its fsync holds no
 * descriptor and is queued once however often it is written). Not thread-safe: one recorder belongs to one
 * session, used by one thread at a time. */
#ifndef HIPPO_TRIAL_RECORDER_H
#define HIPPO_TRIAL_RECORDER_H

#include <stdbool.h>
#include <stddef.h>

#include "core/datapath.h"

struct rec;

/* Called (on the recorder's thread, after the data is written and its fsync
 * queued) each time a per-episode data file is closed, with the ids and the
 * file's path relative to the data folder: an episode is uploaded as soon as
 * it ends. With upload_every_ms, also for the open data file (and
 * trials.jsonl) at most that often while they grow: the records so far are
 * uploaded. Must not block (e.g. storage_submit_trial_file). */
typedef void (*rec_closed_fn)(void *user, const char *project_id, const char *user_id,
			      const char *rel_path);

struct rec_config {
	const char *data_dir;
	const char *project_id; /* validated ids: they become path components */
	const char *user_id;
	bool per_episode;       /* episode_<n>.jsonl instead of trial.jsonl */
	const char *trial_id;   /* [0-9A-Za-z-]: names a later trial's files (NULL: never) */
	rec_closed_fn on_closed; /* optional */
	void *on_closed_user;
	int upload_every_ms;    /* > 0: on_closed for the open files too (above) */
	bool frames;            /* keep the frames (rec_frame) */
};

/* The first bytes of a frames file, then per frame: its id (8 bytes) and
 * the JPEG's length (4 bytes), both little-endian, then the JPEG (read by
 * export/frames.h). */
#define REC_FRAMES_MAGIC DATAPATH_FRAMES_MAGIC
#define REC_FRAMES_MAGIC_LEN DATAPATH_FRAMES_MAGIC_LEN

/* Creates the participant's folder (and parents). Returns NULL with ERR set. */
struct rec *rec_open(const struct rec_config *c, char *err, size_t errlen);

/* Starts EPISODE (1-based): opens its file (per-episode mode), or the trial's
 * file at the first episode. */
int rec_begin_episode(struct rec *r, int episode, char *err, size_t errlen);

/* Buffers one line (LEN bytes, no newline: one is added). Returns 0, -1 when
 * the buffer limit (64 MiB of unwritten data) is reached: the line is dropped
 * and counted in rec_dropped. */
int rec_append(struct rec *r, const char *line, size_t len);

/* With frames: buffers frame FRAME_ID (the JPEG sent to the participant,
 * LEN bytes) for the frames file of the open data file, written with the
 * lines. Nothing while no data file is open. Returns 0, -1 when dropped (the
 * buffer limit; counted in rec_dropped). */
int rec_frame(struct rec *r, unsigned long long frame_id, const void *jpeg, size_t len);

/* Appends one line to trials.jsonl immediately (written in one write, after a
 * newline if the file ends in a torn line; fsync queued). */
int rec_meta(struct rec *r, const char *line, size_t len, char *err, size_t errlen);

/* Writes the buffered lines. Returns 0, or -1 with ERR set (lines kept for a retry). */
int rec_flush(struct rec *r, char *err, size_t errlen);

/* Flushes, queues the fsync and (per-episode mode) closes the episode's file. */
int rec_end_episode(struct rec *r, char *err, size_t errlen);

/* Paths written so far, relative to the data folder, NULL-terminated (owned by R). */
const char *const *rec_files(const struct rec *r);

size_t rec_dropped(const struct rec *r);
unsigned long long rec_lines(const struct rec *r);

/* Flushes, queues the fsync and frees. Returns the result of the last flush. */
int rec_close(struct rec *r, char *err, size_t errlen);

/* Blocks until every fsync queued by any recorder is done (process-wide). */
void rec_sync_wait(void);

/* After a crash: every DATA_DIR/<projectId>/trials/<userId>/trials.jsonl
 * whose last trial started but never ended (the process was killed) gets
 * that trial's end line, {"event": "end", ..., "reason": "crash"} (a torn
 * last line is ended with a newline first). Call at start-up, before any
 * session. Returns the number of trials ended so, or -1 with ERR (the data
 * folder cannot be read). */
long rec_recover(const char *data_dir, char *err, size_t errlen);

#endif
