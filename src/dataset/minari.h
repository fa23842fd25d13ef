/* minari: a project's recorded episodes as Minari datasets (Farama's standard
 * for offline RL data; docs/data.md, "Minari datasets"), one dataset per
 * environment id, written with libhdf5:
 *
 *   OUT/<dataset id>/data/main_data.hdf5   one group episode_<k> per episode:
 *       observations (steps + 1, *obs shape)  actions (steps[, *shape])
 *       rewards, terminations, truncations (steps)
 *       infos/ (steps + 1 rows each: the participant's inputs, feedback,
 *               reaction time, the frame seen, ... see docs/data.md)
 *       attributes: id, total_steps, seed (episode 1 of a trial), reward
 *       statistics, the participant, trial, group
 *   OUT/<dataset id>/data/metadata.json    dataset_id, total_episodes,
 *       total_steps, data_format, observation/action spaces (Minari's JSON
 *       serialisation), env_spec (Gymnasium's EnvSpec JSON), author,
 *       minari_version, creation info
 *
 * Records are streamed one line at a time and each episode is written in
 * chunks of rows, so memory is bounded by a few arrays of 16 bytes per step of
 * the longest episode, whatever the size of the project. A dataset is written
 * under a temporary name and renamed into place when complete. */
#ifndef HIPPO_DATASET_MINARI_H
#define HIPPO_DATASET_MINARI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

struct mn_opts {
	const char *data_dir;
	const char *store;        /* the participant store's spec (store.h); NULL: DATA/hippo.db */
	const char *project_id;   /* [A-Za-z0-9_-]{1,64} */
	const char *out_dir;      /* created if needed */
	const char *dataset_id;   /* NULL: PROJECT/ENV/human-v0; see mn_dataset_id */
	bool completed_only;      /* participants who reached the final step */
	const char *group;        /* only participants of this group ("1", "0;1"), or NULL */
	bool preview;             /* the preview participants' episodes too (else left out) */
	long long since_ms, until_ms; /* episodes started in [since, until) (0: open) */
	bool progress;            /* draw a progress line on PROGRESS_STREAM */
	FILE *progress_stream;    /* NULL: stderr */
};

#define MN_MAX_DATASETS 64

struct mn_stats {
	long long participants;   /* participants whose episodes were written */
	long long episodes, steps, files, bytes;
	long long filtered;       /* episodes left out by the filters */
	long long empty;          /* episodes without a step (left out) */
	long long incomplete;     /* episodes cut at a missing line or without a reset line */
	long long unknown_env;    /* episodes of trials without a start line (left out) */
	long long mismatched;     /* episodes whose observation does not fit the space (left out) */
	long long late_feedback;  /* feedback naming a frame outside its episode */
	long long bad_lines;
	char first_bad[512];
	int ndatasets;
	char datasets[MN_MAX_DATASETS][300]; /* ids written, with their episode counts below */
	long long dataset_episodes[MN_MAX_DATASETS];
};

/* Writes the datasets. Returns 0, or -1 with ERR. */
int mn_run(const struct mn_opts *o, struct mn_stats *st, char *err, size_t errlen);

/* The dataset id for environment ENV_ID: TEMPLATE NULL gives
 * "PROJECT/ENV/human-v0"; "{env}" in TEMPLATE is replaced by ENV; otherwise
 * TEMPLATE is used as is for a project with one environment (NENVS 1) and
 * with ENV inserted before its last component when there are several. ENV is
 * ENV_ID with characters outside [A-Za-z0-9_-] made '_'. Returns 0, or -1
 * when the result is not a valid id (components of [A-Za-z0-9_-], separated
 * by '/'). */
int mn_dataset_id(const char *template_, const char *project, const char *env_id, int nenvs,
		  char *out, size_t cap);

/* Parses a UTC date "YYYY-MM-DD" or time "YYYY-MM-DDTHH:MM[:SS][Z]" into ms
 * since 1970. Returns 0, or -1 when S is not one. */
int mn_parse_time(const char *s, long long *ms);

#endif
