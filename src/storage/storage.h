/* storage: where study data goes besides the data folder. Data files are
 * always written locally first (DATA/...); when a project stores to S3, each
 * closed file is handed to a persistent upload spool:
 *
 *   storage_submit() ──► bounded in-memory queue ──► worker thread:
 *        records the job in DATA/spool/uploads.db (SQLite) ──► s3_put_verified
 *        ──► done (remote ETag and size match the local MD5 and size)
 *         └► failure: retried with exponential backoff, also after a restart
 *
 * Local files are never deleted or modified by this module. A job is "done"
 * only after verification; "pending" jobs wait for their next try; "failed"
 * jobs gave up (max attempts, or the local file vanished) and wait for
 * `hippo storage retry`. Every function here is thread-safe; storage_submit
 * never waits for the network or the disk (see its comment). */
#ifndef HIPPO_STORAGE_STORAGE_H
#define HIPPO_STORAGE_STORAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "trial/end_reason.h"

struct cfg;
struct sess_mgr;
struct storage;
struct store;

/* An S3 destination as stored with every job (so a restart needs no config). */
struct storage_dest {
	char endpoint[512]; /* "" for AWS */
	char region[64];    /* "" means us-east-1 */
	char bucket[64];
	char prefix[256];   /* prepended to keys with a '/' when not "" */
};

/* Fills D from a loaded config. Returns 1 when the project stores to S3
 * (project.storage: s3, or the original trial.s3upload: true with
 * awsSetup.bucket, as resolved by the config loader), 0 when data stays
 * local, -1 (message in ERR) when S3 is asked for without a usable bucket or
 * prefix. */
int storage_dest_from_cfg(const struct cfg *c, struct storage_dest *d, char *err, size_t errlen);

struct storage_opts {
	const char *data_dir;  /* required: the data folder; the spool lives in DATA/spool/ */
	int retry_base_ms;     /* first retry delay (default 2000) */
	int retry_max_ms;      /* backoff ceiling (default 600000 = 10 min) */
	int max_attempts;      /* give up ("failed") after this many; 0 = never (default 0) */
	long timeout_s;        /* per request; 0: none, a 60 s low-speed limit applies (default 0) */
	bool no_worker;        /* open the spool only (status, add): no uploads from this process */
	/* a cluster node's name (docs/cluster.md): its trial files go to
	 * PROJECT/Trials/USER/NODE/FILE, so the files of a participant's games
	 * on several nodes never take each other's keys; NULL: PROJECT/Trials/USER/FILE */
	const char *node;
};

/* Opens (creating if needed) the spool of O->data_dir and starts the worker,
 * which also resumes jobs left pending by an earlier run. Returns 0 and *OUT,
 * or -1 with a message in ERR. */
int storage_open(struct storage **out, const struct storage_opts *o, char *err, size_t errlen);

/* Records every queued submission, stops the worker (an upload under way is
 * finished or abandoned at its next timeout; it stays pending) and frees ST. */
void storage_close(struct storage *st);

/* Registers PROJECT_ID's destination (copied); DEST NULL means local only.
 * Submissions for an unregistered project are local only too. */
int storage_set_project(struct storage *st, const char *project_id,
			const struct storage_dest *dest);

/* Queues the upload of LOCAL_PATH (relative to the data folder, or absolute)
 * to KEY (relative: the project's prefix is prepended) for PROJECT_ID. Returns
 * 0 when queued or when the project is local only, -1 on invalid arguments
 * (an unsafe key or path). Never blocks on I/O: it appends to a bounded
 * queue; only if that queue is full (4096 entries) does it write the job to
 * the spool itself rather than lose it. */
int storage_submit(struct storage *st, const char *project_id, const char *local_path,
		   const char *key);

/* Same with an explicit destination (used by `hippo storage add`). */
int storage_submit_to(struct storage *st, const struct storage_dest *dest,
		      const char *local_path, const char *key);

/* The original key layout: PROJECT/Trials/USER/FILE (FILE: the base name of
 * LOCAL_PATH; a cluster node's: PROJECT/Trials/USER/NODE/FILE) and
 * PROJECT/Users/USER.json. */
int storage_submit_trial_file(struct storage *st, const char *project_id, const char *user_id,
			      const char *local_path);
int storage_submit_participant(struct storage *st, const char *project_id, const char *user_id,
			       const char *local_path);

/* Writes JSON_TEXT (LEN bytes: the participant record) to
 * DATA/PROJECT/users/USER.json and queues its upload to PROJECT/Users/USER.json,
 * when PROJECT_ID stores to S3 (otherwise nothing happens: the participant
 * store DATA/hippo.db is the local copy). The text is copied; the file is
 * written by the worker (temporary file, fsync, rename), so the caller never
 * waits for the disk. A later call for the same participant replaces the
 * file and re-arms the upload. */
int storage_submit_participant_record(struct storage *st, const char *project_id,
				      const char *user_id, const char *json_text, size_t len);

/* Wires ST to the session manager SESS (before any session is allocated):
 * each per-episode data file is queued as soon as the recorder closes it
 * (sess_on_file_closed), and the other files of a session (the last
 * episode's, trial.jsonl, trials.jsonl) when it ends (a sess_on_end
 * listener: listeners added after this one, such as the flow's, run once the
 * files are queued). A project that stores locally makes both no-ops.
 * Returns 0, or -1 when the session manager takes no more listeners. */
int storage_attach(struct storage *st, struct sess_mgr *sess);

/* The session-end listener storage_attach adds (a sess_end_fn, USER = ST):
 * submits each of FILES as a trial file. */
void storage_on_session_end(void *user, const char *project_id, const char *user_id,
			    enum sess_end_reason reason, const char *const *files);

/* The participant USER_ID of PROJECT_ID changed: when the project stores to
 * S3, its record (store_participant_json, read from STORE) is submitted with
 * storage_submit_participant_record. Returns 0 (also for a local project),
 * or -1 when the record could not be read or queued. */
int storage_participant_changed(struct storage *st, struct store *store, const char *project_id,
				const char *user_id);

/* Catching up on a project that stores to S3 (D): queues its data files not
 * uploaded yet (storage_sync_project) and, with STORE (may be NULL), the
 * record of every participant that has no local record file yet (data
 * collected before the project stored to S3). Returns how many were queued,
 * or -1. */
long storage_catch_up(struct storage *st, const char *project_id, const struct storage_dest *d,
		      struct store *store);

/* Queues every data file of PROJECT_ID (DATA/P/trials/U/NAME.jsonl and
 * DATA/P/users/U.json) to D that is not already pending, or done with the same
 * size: a catch-up after a crash, or for a study that switched to S3. Returns
 * the number queued, or -1. */
long storage_sync_project(struct storage *st, const char *project_id,
			  const struct storage_dest *d);

/* Counts of jobs by state. */
struct storage_counts {
	long pending, failed, done, queued; /* queued: submitted, not yet in the spool */
	long attempts_total;               /* upload attempts made by this process */
};
int storage_counts(struct storage *st, struct storage_counts *c);

/* Waits until no job is queued or pending-and-due within TIMEOUT_MS (jobs
 * waiting for a later retry count as pending). Returns 0 when nothing is
 * pending, 1 on timeout. */
int storage_wait_idle(struct storage *st, long timeout_ms);

/* One spool row, for listings. */
struct storage_job {
	long long id;
	const char *state;  /* "pending" | "failed" | "done" */
	const char *path, *endpoint, *bucket, *key, *md5, *etag, *last_error;
	long long size;
	int attempts;
	double created, updated, next_try; /* unix seconds */
};

/* Calls FN for each job whose state is in STATES ("pending,failed", NULL =
 * all), oldest first. Returns the number of rows or -1. */
long storage_list(struct storage *st, const char *states,
		  void (*fn)(void *user, const struct storage_job *j), void *user);

/* Sets failed jobs back to pending, due now. Returns how many, or -1. */
long storage_retry_failed(struct storage *st);

/* ---- withdrawal (withdraw.c, docs/console.md) ---- */

/* Moves the queued submissions into the spool and holds the uploads of this
 * process (waits for one under way to end): between storage_pause and
 * storage_resume none starts, so a participant's files can be deleted and
 * their jobs forgotten without an upload racing them. */
void storage_pause(struct storage *st);
void storage_resume(struct storage *st);

/* An upload of a withdrawn participant, deleted. */
struct storage_forgotten {
	const char *path, *endpoint, *bucket, *key;
	const char *state;   /* the job's state: pending, failed or done */
	long status;         /* the DELETE's HTTP status (204; 404: no such object), 0: none */
	const char *error;   /* why the object may still exist, or NULL */
};
/* Between storage_pause and storage_resume: for every spooled upload of
 * PROJECT_ID/USER_ID (DATA/P/trials/U/... and DATA/P/users/U.json), sends
 * S3 a DELETE of its object (whatever the job's state: one under way may
 * have left it) and deletes the job; FN (may be NULL) gets each. Returns
 * how many, or -1 with ERR (the spool could not be read). A DELETE that
 * fails is reported to FN and its job kept, to be deleted again. */
long storage_forget(struct storage *st, const char *project_id, const char *user_id,
		    void (*fn)(void *user, const struct storage_forgotten *f), void *user,
		    char *err, size_t errlen);

/* ------------------------------------------------------------ pull (pull.c)
 *
 * The trial record files of a project in S3, every node's, copied into a
 * local folder for `hippo export --from-s3` (docs/data.md, "Export"):
 *
 *   [PREFIX/]P/Trials/U/FILE        ->  OUT/U/FILE
 *   [PREFIX/]P/Trials/U/NODE/FILE   ->  OUT/U/NODE/FILE
 *
 * Keys come from the network: a key becomes a path only when U is a valid
 * userId, NODE a valid node name (core/id.h) and FILE a record file name
 * ([A-Za-z0-9_-][A-Za-z0-9._-]*.jsonl); any other key is skipped and counted.
 * A local copy of the same size is kept (record files only grow). Once every
 * object is there, the copies in OUT of objects no longer in S3 (a withdrawn
 * participant's) are removed, with partial downloads and the folders left
 * empty; files of other names, symbolic links and other folders are left. */
struct storage_pull_opts {
	const struct storage_dest *dest;
	const char *project_id;
	const char *out;          /* the trials folder to fill (created if needed) */
	int max_keys;             /* per listing page; 0: the service's default (1000) */
	long timeout_s;           /* per request; 0: none */
	FILE *progress;           /* NULL: quiet; else a line per second and a last one */
	bool progress_tty;        /* PROGRESS is a terminal: redraw one line with \r */
};

struct storage_pull_stats {
	long long listed, fetched, kept, skipped, bytes;
	long long removed;        /* copies of objects no longer in S3, removed */
	char first_skipped[300];  /* the first key skipped, "" when none */
};

/* Lists and downloads. Returns 0, or -1 with a message in ERR (credentials,
 * bucket, network, disk). */
int storage_pull_records(const struct storage_pull_opts *o, struct storage_pull_stats *st,
			 char *err, size_t errlen);

/* Whether NAME may be a record file pulled from S3 (see above). */
bool storage_pull_name_ok(const char *name);

#endif
