/* trial internals shared by the files of the trial (trial__ prefix):
 *
 *   trial.c         life cycle, episodes, steps, pacing (trial_run, trial_due)
 *   trial_input.c   what the participant sends: commands, actions, feedback
 *   trial_out.c     what the participant receives: hello, UI, display, frames
 *   trial_record.c  the record lines: steps, inputs, the start and end lines */
#ifndef HIPPO_TRIAL_TRIAL_INT_H
#define HIPPO_TRIAL_TRIAL_INT_H

#include <stdbool.h>
#include <stdint.h>

#include "core/buf.h"
#include "env/env.h"
#include "trial/mode.h"
#include "trial/trial.h"
#include "trial/trial_env.h"

#define TRIAL_QUEUE 16              /* pending actions (bounded) */
#define TRIAL_MAX_INPUT_BYTES 65536 /* recorded input text per step; more is counted, not kept */
#define TRIAL_INFO_MAX 1024
#define TRIAL_DISPLAY_MAX 160
#define TRIAL_DISPLAY_NS 250000000 /* binary frames: at most 4 display messages a second */
#define TRIAL_MAX_ACTION 65536      /* values of an action space at most */

/* Where the trial is in its life. An environment or agent process answers
 * asynchronously: the trial waits in a WAIT_ state and trial_run polls it. */
enum trial_state {
	TRIAL_STARTING_ENV = 0, /* the environment (a process) starts: no hello yet */
	TRIAL_STARTING_AGENT,   /* the environment is ready, the mode's agent starts */
	TRIAL_READY,            /* started (start line written): steps happen at ticks */
	TRIAL_WAIT_RESET,       /* an environment process computes the reset of an episode */
	TRIAL_WAIT_ACTION,      /* an agent process computes the step's action */
	TRIAL_WAIT_STEP,        /* an environment process computes the step */
	TRIAL_ENDED,            /* over: end_reason says why */
};

/* The participant's side: connected or not, playing or paused. */
enum trial_client {
	TRIAL_DETACHED = 0, /* no connection: no frames (the session's grace period) */
	TRIAL_PAUSED,       /* connected, not playing (before "start", after "pause") */
	TRIAL_PLAYING,      /* connected and playing: a tick every frame period */
};

struct trial {
	const struct cfg *cfg;
	char project_id[MSG_ID_MAX + 1];
	char user_id[MSG_ID_MAX + 1];
	char trial_id[48];
	enum trial_state state;
	enum sess_end_reason end_reason; /* SESS_END_NONE until TRIAL_ENDED */
	struct env env;
	struct tenv src;   /* where the env comes from (built-in, plug-in, process) */
	struct mode *mode; /* feedback/advise/watch: the agent; NULL in play mode */
	int64_t poll_at;   /* while starting or waiting: when to poll the process */
	int pend_code, pend_human; /* the step's action (TRIAL_WAIT_ACTION, TRIAL_WAIT_STEP) */
	double *pend_action; /* the action applied: npend values, the action space's size */
	size_t npend;
	struct rec *rec;
	char **files;      /* copied from the recorder at the end */
	bool flush_warned; /* a failed periodic write was logged */

	int episode;       /* 1-based, current */
	int episodes_before; /* of the game, played in earlier sessions (trial_params) */
	int max_episodes;  /* this trial's: trial.maxEpisodes - episodes_before, >= 1 */
	void (*on_episode_end)(void *user, const char *project_id, const char *user_id,
			       int episodes);
	void *on_episode_end_user;
	long long step;    /* steps in the episode */
	long long total_steps;
	unsigned long long frame_id;
	double score;
	uint64_t seed;

	enum trial_client client;
	bool hidden;       /* the page is hidden (trial.pauseWhenHidden): no ticks */
	bool want_frame;   /* a frame of the current state is owed to the client */
	bool pending_reset;            /* "reset" received: done on the worker */
	enum sess_end_reason pending_end; /* "stop" received: done on the worker */
	int fps;
	int64_t next_tick, next_flush;

	struct { int code; int left; } q[TRIAL_QUEUE];
	int qhead, qlen;
	int held;

	struct buf inputs; /* the messages since the last step, comma-separated JSON */
	unsigned ninputs, inputs_dropped;
	long long seen_frame;
	double reaction_ms;
	double rtt_ms;
	int64_t lag_from;  /* when the oldest action not shown yet arrived (0: none) */
	double lag_ms;     /* input to frame: that action's arrival to the frame after its step */
	int used_budget;
	struct buf line;   /* the record line being built (reused) */
	bool binary;       /* the client takes binary frames: display and budget go as text */
	bool disp_dirty;   /* a step or an episode changed the display since it was sent */
	bool disp_force;   /* send the display at once (episode start, attach) */
	int64_t disp_at;   /* binary frames: the display may be sent again from then */
	char disp_sent[TRIAL_DISPLAY_MAX]; /* the display object last sent ("" after attach) */
	char info[TRIAL_INFO_MAX];
};

static inline bool trial__attached(const struct trial *t)
{
	return t->client != TRIAL_DETACHED;
}

/* The frame period at the current rate (the config bounds it to 1..1000 fps). */
static inline int64_t trial__period_ns(const struct trial *t)
{
	return 1000000000 / (t->fps > 0 ? t->fps : 1);
}

/* trial_out.c */
void trial__send_json(const struct trial_sink *sink, json_t *j); /* takes J */
void trial__send_error(const struct trial_sink *sink, const char *msg);
void trial__send_ui(struct trial *t, const struct trial_sink *sink);
/* After a handshake HS (may be NULL): the hello (if asked), the UI list, the
 * variables, the instructions and (binary frames) the feedback budget. */
void trial__send_welcome(struct trial *t, const struct trial_msg *hs, const struct trial_sink *sink);
/* Binary frames: {"display": {...}} as a text message when it changed, at
 * most every TRIAL_DISPLAY_NS unless FORCE (episode start and end, attach). */
void trial__send_display_text(struct trial *t, const struct trial_sink *sink, bool force);
/* Binary frames: the feedback budget as a text message (JSON frames carry it). */
void trial__send_budget_text(const struct trial *t, const struct trial_sink *sink);
/* Renders, encodes and hands the frame of the current state to SINK. */
void trial__send_frame(struct trial *t, struct trial_scratch *sc, const struct trial_sink *sink);

/* trial_record.c */
/* One record line: the step just taken with ACTION (RES), or without RES the
 * reset line of an episode (step 0) or, with END set, the trial's last line
 * holding the inputs received after the last step. */
void trial__record(struct trial *t, int action, const struct hippo_step_result *res,
		   const char *end);
/* Writes the trial's start or end line to trials.jsonl. Returns 0, or -1
 * with the recorder's message in ERR. */
int trial__meta_line(struct trial *t, const char *event, enum sess_end_reason reason, char *err,
		     size_t errlen);
/* Keeps the message verbatim (with its receive time) for the next record. */
void trial__keep_input(struct trial *t, const struct trial_msg *m);

#endif
