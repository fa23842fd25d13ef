/* trial: one participant's trial: episodes of an environment at a frame
 * rate, driven by the participant's messages (docs/protocol.md), recorded step
 * by step (src/trial/recorder.h).
 *
 * Not thread-safe and transport-free: the session layer (src/session/) holds
 * a lock around every call and delivers what the trial emits through a
 * struct trial_sink. Calls split by cost: trial_on_* only change state and
 * queue replies (cheap, made on the I/O thread); trial_run does the
 * environment, rendering, encoding and file work (made on a session worker). */
#ifndef HIPPO_TRIAL_TRIAL_H
#define HIPPO_TRIAL_TRIAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "trial/end_reason.h"
#include "trial/msg.h"
#include "trial/recorder.h"

struct cfg;
struct enc_frame;
struct tile_cache;
struct trial;

/* Where a trial's output goes (implemented by the session). */
struct trial_sink {
	void *user;
	/* A control message (a JSON object as text, or the bare "done"). Queued in order. */
	void (*text)(void *user, const char *msg, size_t len);
	/* A frame: JPEG bytes, its id, and EXTRA, extra JSON members to add to the
	 * frame object (",\"display\":{...}" or ""). Replaces an unsent older frame. */
	void (*frame)(void *user, const uint8_t *jpeg, size_t len, unsigned long long frame_id,
		      const char *extra);
};

/* Per worker-thread scratch: the frame encoder and the RGB buffer, reused
 * across frames and sessions (no allocation per frame). CACHE (shared by the
 * workers, may be NULL) enables the MCU-caching encoder (src/render/encode.h,
 * enc_frame). A zeroed struct is ready to use. */
struct trial_scratch {
	struct tile_cache *cache;
	struct enc_frame *enc; /* made at the first frame */
	uint8_t *rgb;
	size_t rgb_cap;
};

struct trial_params {
	const struct cfg *cfg;  /* borrowed; outlives the trial */
	const char *data_dir;
	const char *project_id; /* validated */
	const char *user_id;    /* validated */
	rec_closed_fn on_file_closed; /* optional: each closed episode file (recorder.h) */
	void *on_file_closed_user;
	int upload_every_ms;    /* also the open data file this often (rec_config) */
	/* optional: each episode's end, with the episodes of the game played so
	 * far (EPISODES_BEFORE included); called on the thread running the trial */
	void (*on_episode_end)(void *user, const char *project_id, const char *user_id,
			       int episodes);
	void *on_episode_end_user;
	/* episodes of the game played in earlier sessions: this trial plays the
	 * remaining trial.maxEpisodes - EPISODES_BEFORE (at least one) */
	int episodes_before;
};

/* Opens the environment and the recorder and writes the trial's start line.
 * Returns NULL with ERR set. */
struct trial *trial_new(const struct trial_params *p, char *err, size_t errlen);

/* Closes the trial if still open (reason SHUTDOWN unless ended) and frees it. */
void trial_free(struct trial *t);

const char *trial_id(const struct trial *t);

/* A client attached (first or re-connection): queues the hello (if asked),
 * the UI list, the variables and the instructions, and asks for a frame of
 * the current state. */
void trial_on_attach(struct trial *t, const struct trial_msg *hs, const struct trial_sink *sink);

/* The client went away: the trial pauses (no frames) until the next attach. */
void trial_on_detach(struct trial *t);

/* A parsed client message (not the handshake) received at NOW_NS (monotonic). */
void trial_on_message(struct trial *t, const struct trial_msg *m, int64_t now_ns,
		      const struct trial_sink *sink);

/* A websocket pong: the round-trip time in milliseconds. */
void trial_on_rtt(struct trial *t, double rtt_ms);

/* When trial_run next has work (monotonic ns; INT64_MAX: nothing until a message). */
int64_t trial_due(const struct trial *t);

/* Does the due work at NOW_NS: pending commands, the first frame, a frame
 * tick (apply action -> step -> render -> encode -> send), flushing the
 * records at least once a second. */
void trial_run(struct trial *t, int64_t now_ns, struct trial_scratch *sc,
	       const struct trial_sink *sink);

/* Ends the trial now with REASON: records flushed and fsynced, "done" queued
 * (no-op if already ended). */
void trial_end(struct trial *t, enum sess_end_reason reason, const struct trial_sink *sink);

/* True while the trial's environment process starts (before its hello):
 * the session is SESS_STARTING, the page shows "wait". */
bool trial_starting(const struct trial *t);

/* SESS_END_NONE while running, otherwise why it ended. */
enum sess_end_reason trial_ended(const struct trial *t);

/* The data files written, relative to the data folder, NULL-terminated (owned by T). */
const char *const *trial_files(const struct trial *t);

/* What the researcher console shows of a running trial (docs/console.md). */
struct trial_stats {
	int episode, max_episodes; /* the current episode (1-based; 0 before the first) */
	long long step;            /* steps in the episode */
	double score;              /* its return so far */
	int fps;                   /* the frame rate in force (the target) */
	bool playing;              /* frames are due at that rate: attached, started, visible,
				      not in turn mode */
	double rtt_ms;             /* the latest websocket round trip */
	double lag_ms;             /* input to frame: from an action's arrival to the frame of
				      the step that applied it (smoothed) */
};
void trial_get_stats(const struct trial *t, struct trial_stats *st);

void trial_scratch_free(struct trial_scratch *sc);

#endif
