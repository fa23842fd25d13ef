/* mode: the human-in-the-loop modes of trial.mode (docs/plugins.md).
 *   play      the participant's action drives the environment (no mode object)
 *   feedback  the agent acts; the participant's good/bad goes to the agent
 *   advise    the agent acts; a participant's action, when given, overrides
 *             the agent's for that step (both recorded)
 *   watch     the agent acts; the participant only watches
 * The agent is trial.agent (built-in, default tamer) or trial.agentCommand
 * (a process speaking the protocol), with trial.agentOptions. */
#ifndef HIPPO_TRIAL_MODE_H
#define HIPPO_TRIAL_MODE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hippo/env.h"

#define MODE_MAX_ACTION 16 /* action values an agent may write */

struct cfg;
struct mode;

/* Opens the agent for CFG's mode on the environment described by INFO. *OUT
 * is NULL in play mode. FPS converts the human's delay in seconds to steps.
 * Returns 0, or -1 with ERR. */
int mode_open(const struct cfg *cfg, const struct hippo_env_info *info, int fps, uint64_t seed,
	      const char *log_ctx, struct mode **out, char *err, size_t errlen);

/* Without blocking: 1 when the agent can act or its answer is there (always
 * in play mode), 0 while an agent process starts or computes, -1 with ERR
 * when it failed. */
int mode_ready(struct mode *m, char *err, size_t errlen);

/* Chooses step T's action for observation OBS. HUMAN is the participant's
 * action code for this step (index into trial.actionSpace), or -1 if none was
 * given. Writes the code taken to *CODE and the environment's action
 * (action-space size scalars) to ACTION. Returns 0; 1 when an agent process
 * is computing it (poll mode_ready until it is not 0, then call again with
 * the same arguments); or -1 with ERR. */
int mode_act(struct mode *m, const double *obs, long long t, int human, int *code,
	     double *action, char *err, size_t errlen);

/* The outcome of step T (its action, reward and the next observation). */
void mode_observe(struct mode *m, long long t, const double *action,
		  const struct hippo_step_result *r, const double *next_obs);

/* The participant's feedback VALUE (+1 good, -1 bad) while step T_REF's frame
 * was on screen. */
void mode_feedback(struct mode *m, double value, long long t_ref);

void mode_episode_end(struct mode *m, int episode, double ret, long long steps);

/* JSON members for the last step's record, each followed by a comma:
 * "mode":"advise","agentAction":1,"humanAction":0, ("" in play mode). */
const char *mode_record(const struct mode *m);

/* Whether human actions drive anything in this mode (play, advise). */
bool mode_takes_actions(const struct mode *m);

void mode_close(struct mode *m);

#endif
