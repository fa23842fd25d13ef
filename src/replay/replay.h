/* replay: re-simulating recorded trials of a built-in environment from what
 * the records hold (docs/data.md, "Trial records"): the trial's environment
 * id, options and seed (the start line in trials.jsonl) and the action of
 * every step line. Episode 1 of a trial is reset with the seed, later episodes
 * continue the environment's generator, exactly as the trial server does; so
 * episode k is reached by replaying episodes 1..k-1 first.
 *
 * Two levels:
 *   struct replay      one trial's environment, driven step by step, with the
 *                      comparison of its state against a record line
 *                      (`hippo verify` uses this while streaming records);
 *   struct rp_episode  one recorded episode opened from the data folder: seek
 *                      to any step and read the re-simulated observation or
 *                      draw the frame (the researcher console's replay).
 * Not thread-safe; independent objects may be used from different threads. */
#ifndef HIPPO_REPLAY_REPLAY_H
#define HIPPO_REPLAY_REPLAY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "env/env.h"

/* The trial server's info buffer: an info truncated there is truncated alike. */
#define RP_INFO_MAX 1024
#define RP_MAX_ACTION 64 /* values of one action */
#define RP_MAX_EPISODE 1000000 /* the highest episode rp_episode_open opens */

struct replay {
	struct env env;
	bool open;
	uint64_t seed;
	int episodes;              /* episodes begun (the next reset is seeded when 0) */
	long long step;            /* steps taken in the current episode */
	bool done;                 /* the current episode terminated or was truncated */
	struct hippo_step_result last;
	char info[RP_INFO_MAX];    /* the environment's info of the last reset/step */
};

/* Opens built-in environment ENV_ID with OPTIONS_JSON (may be NULL) for a
 * trial seeded with SEED. Returns 0, or -1 with ERR (unknown environment,
 * bad options). */
int rp_open(struct replay *r, const char *env_id, const char *options_json, uint64_t seed,
	    char *err, size_t errlen);

/* Starts the next episode: the first is reset with the seed, the others
 * continue the generator. Returns 0 or -1 with ERR. */
int rp_reset(struct replay *r, char *err, size_t errlen);

/* Applies ACTION (action-space size values). Returns 0 or -1 with ERR. */
int rp_step(struct replay *r, const double *action, char *err, size_t errlen);

/* The current observation (N values). */
const double *rp_obs(const struct replay *r, size_t *n);

/* The action applied at the step line REC into ACTION (action-space size
 * values): Discrete spaces from "action" (the index into the space), Box
 * spaces from "envAction" (or zeros for a play-mode record without it, which
 * is what the trial server applies). Returns 0, or -1 with WHY. */
int rp_action_of(const struct replay *r, json_t *rec, double *action, char *why, size_t whylen);

/* Compares the current state with the record line REC (a reset line after
 * rp_reset, a step line after rp_step): the observation as the recorder wrote
 * it (float32 values to 9 significant digits and float64 to 17, so the
 * comparison is exact), and for a step the reward, terminated, truncated and
 * info. Returns 0 when equal, 1 with the first difference in WHY. */
int rp_compare(const struct replay *r, json_t *rec, bool is_step, char *why, size_t whylen);

void rp_close(struct replay *r);

/* ---- one recorded episode */

struct rp_episode;

/* Opens episode EPISODE (1-based) of trial TRIAL_ID of USER in
 * DATA_DIR/PROJECT/trials/USER/: reads the trial's start line and the actions
 * of episodes 1..EPISODE from the record files, and re-simulates to step 0.
 * Returns NULL with ERR (no such trial or episode, not a built-in
 * environment, an earlier episode missing). */
struct rp_episode *rp_episode_open(const char *data_dir, const char *project, const char *user,
				   const char *trial_id, int episode, char *err, size_t errlen);

/* Number of recorded steps of the episode (the reset line excluded). */
long long rp_episode_steps(const struct rp_episode *e);

/* Re-simulates to STEP (0: just after the reset; 1..steps: after that step).
 * Forward seeks step on; backward seeks start again from the trial's
 * beginning. Returns 0, or -1 with ERR. */
int rp_episode_seek(struct rp_episode *e, long long step, char *err, size_t errlen);

/* The environment at the current step (observation, info, space, rendering). */
struct replay *rp_episode_replay(struct rp_episode *e);

/* Draws the current state into RGB (3 bytes a pixel, STRIDE bytes a row) of
 * *W x *H pixels (the environment's render size, set before drawing; RGB may
 * be NULL to only ask the size). Returns 0 or -1 with ERR. */
int rp_episode_frame(struct rp_episode *e, uint8_t *rgb, size_t stride, int *w, int *h,
		     char *err, size_t errlen);

void rp_episode_close(struct rp_episode *e);

#endif
