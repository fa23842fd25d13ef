/* walk: the trials of a project's records (docs/data.md, "Trial records")
 * for the dataset export, the replay and verify: the trials described by the
 * start lines of each participant's trials.jsonl (environment, seed,
 * options). The participants' folders and their record files are listed by
 * core/datapath (datapath_list_participants, datapath_list_data_files). */
#ifndef HIPPO_DATASET_WALK_H
#define HIPPO_DATASET_WALK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* One trial from its start line in trials.jsonl. */
struct dw_trial {
	char *trial_id, *user;
	char *game;         /* the environment id ("env".id, else "game"); "" when none */
	char *source;       /* "builtin", "plugin", "command"; NULL: not recorded (older records) */
	char *options;      /* the environment's options as compact JSON, or NULL */
	uint64_t seed;      /* the seed of episode 1 */
	bool has_seed;
	long long t;        /* start time, ms since 1970 */
	char **action_names;/* trial.actionSpace, NULL-terminated (may be NULL) */
};

struct dw_trials {
	struct dw_trial *v;
	size_t n, cap;
	long long bad_lines; /* unreadable lines of trials.jsonl files */
};

/* Appends the trials of USER_DIR/trials.jsonl (absent: none) to T. A trial
 * whose start line is repeated keeps the first. Returns 0, or -1 when out of
 * memory. */
int dw_load_trials(const char *user_dir, const char *user, struct dw_trials *t);

/* The same from an open trials.jsonl stream F. */
int dw_load_trials_file(FILE *f, const char *user, struct dw_trials *t);

/* The trial with id ID of USER, or NULL. */
const struct dw_trial *dw_trial_find(const struct dw_trials *t, const char *user, const char *id);

void dw_trials_free(struct dw_trials *t);

#endif
