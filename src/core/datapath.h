/* datapath: the layout of the data folder (--data DIR), in one place
 * (docs/data.md, top). Every module that writes or reads a file of
 * the data folder builds its path here:
 *
 *   DATA/hippo.db                           the participant store
 *   DATA/spool/uploads.db                   the upload spool
 *   DATA/projects/<P>/                      projects deployed through the admin API
 *   DATA/<P>/trials/<U>/                    a participant's trial records:
 *       episode_<n>.jsonl  trial.jsonl      the data files (a later trial of the
 *       episode_<n>-<trialId>.jsonl         participant: named with its id)
 *       trial-<trialId>.jsonl
 *       trials.jsonl                        one metadata line per trial start and end
 *       episode_<n>.frames  trial.frames    the frames sent, next to their data file
 *       ...                                 (trial.recordFrames; export/frames.h)
 *       <NODE>/episode_<n>.jsonl ...        the records of cluster node NODE, as pulled
 *                                           from S3 (hippo export --from-s3)
 *   DATA/<P>/users/<U>.json                 a participant's record (projects storing to S3)
 *
 * The path functions write into OUT (LEN bytes) and return 0, or -1 when the
 * path does not fit (OUT is then ""). DATA NULL gives the path relative to the
 * data folder: how the records, the store and the upload spool name files.
 * Ids are not checked here: callers pass ids validated with core/id.h (they
 * become path components). The listings read a folder of the layout and keep
 * only the names it allows (a participant's folder is named by a valid
 * userId), in natural order. */
#ifndef HIPPO_CORE_DATAPATH_H
#define HIPPO_CORE_DATAPATH_H

#include <stdbool.h>
#include <stddef.h>

#define DATAPATH_META "trials.jsonl" /* a participant's trial start and end lines */
/* The first bytes of a frames file (docs/data.md, "Frames") */
#define DATAPATH_FRAMES_MAGIC "HIPPOFRAMES1\n"
#define DATAPATH_FRAMES_MAGIC_LEN 13

/* DATA/hippo.db */
int datapath_store(char *out, size_t len, const char *data);
/* DATA/spool, and the spool's database DATA/spool/uploads.db */
int datapath_spool_dir(char *out, size_t len, const char *data);
int datapath_spool_db(char *out, size_t len, const char *data);
/* DATA/projects */
int datapath_projects(char *out, size_t len, const char *data);
/* DATA/P/trials: one folder per participant */
int datapath_trials(char *out, size_t len, const char *data, const char *project);
/* DATA/P/trials/U */
int datapath_participant(char *out, size_t len, const char *data, const char *project,
			 const char *user);
/* DATA/P/users, and DATA/P/users/U.json */
int datapath_users(char *out, size_t len, const char *data, const char *project);
int datapath_user_record(char *out, size_t len, const char *data, const char *project,
			 const char *user);

/* The name of a trial's data file: episode_<EPISODE>.jsonl (PER_EPISODE) or
 * trial.jsonl; with TRIAL_ID (not NULL nor ""), episode_<n>-<id>.jsonl or
 * trial-<id>.jsonl. Returns 0 or -1 as above. */
int datapath_data_name(char *out, size_t len, bool per_episode, int episode,
		       const char *trial_id);

/* Whether NAME, a file of a participant's folder, is a data file (*.jsonl
 * except the metadata file). */
bool datapath_is_data_file(const char *name);

/* The frames file that goes with data file DATA_NAME: "x.jsonl" -> "x.frames".
 * Returns 0, or -1 when DATA_NAME is not a data file name or OUT is short. */
int datapath_frames_name(char *out, size_t len, const char *data_name);

/* The participants of TRIALS (DATA/P/trials): its folders named by a valid
 * userId, in natural order. Returns the count, with *OUT a NULL-terminated
 * list to free with datapath_list_free, or -1 with errno set (ENOENT: no
 * such folder) and *OUT NULL. */
long datapath_list_participants(const char *trials, char ***out);
/* The data files of a participant's folder DIR (regular files named as
 * datapath_is_data_file says), in natural order; returns as above. */
long datapath_list_data_files(const char *dir, char ***out);
/* The cluster node folders of a participant's folder DIR (DIR/NODE/: the
 * records of node NODE, as `hippo export --from-s3` pulls them), folders
 * named by a valid node name, in natural order; returns as above. */
long datapath_list_nodes(const char *dir, char ***out);
void datapath_list_free(char **list);

/* Natural order: runs of digits compare by value ("episode_2" before
 * "episode_10"), other bytes as unsigned chars. <0, 0 or >0 like strcmp. */
int datapath_natcmp(const char *a, const char *b);

#endif
