/* walk: finding a project's trial records (docs/data.md, "Trial records") for
 * the dataset export and the replay: the participants' folders
 * DATA/P/trials/U/, their record files in natural order (episode_2.jsonl
 * before episode_10.jsonl; trials.jsonl left out) and the trials described by
 * the start lines of trials.jsonl (environment, seed, options).
 * Folder and file names are checked (ids [A-Za-z0-9_-]{1,64}, regular files
 * ending in .jsonl) before they become paths. */
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

/* Whether S is a valid id ([A-Za-z0-9_-]{1,64}). */
bool dw_id_valid(const char *s);

/* The participants with a folder under TRIALS_DIR (DATA/P/trials), sorted.
 * Returns the count (*OUT a NULL-terminated list to free with dw_list_free),
 * or -1 with errno set when the folder cannot be read (ENOENT: no folder). */
long dw_users(const char *trials_dir, char ***out);

/* The record files of one participant's folder (names only), natural order.
 * Returns the count, or -1 with errno. */
long dw_record_files(const char *user_dir, char ***out);

void dw_list_free(char **list);

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
