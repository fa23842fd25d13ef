/* ext: environments and agents that run as child processes and speak the
 * protocol of external_proto.h over their stdin/stdout (docs/plugins.md).
 *
 * Three layers:
 *  - ext_proc: one child process (posix_spawn, own process group, the
 *    allow-listed environment of core/childenv.h, non-blocking pipes, stderr
 *    forwarded to the log line by line), one outstanding request
 *    at a time with a deadline. Any failure (exit, crash, timeout, protocol
 *    error, oversize message, an "error" reply) kills the process group, reaps
 *    the child and leaves a one-sentence message. Nothing here blocks unless a
 *    function says so.
 *  - ext_env: an environment process. Asynchronous use (the trial loop):
 *    ext_env_start at session allocation, then begin_reset/begin_step and
 *    ext_env_poll from the loop's timer or fd callbacks. Blocking use:
 *    ext_env_ops, a `struct hippo_env_ops` whose calls wait for the reply up to
 *    the step timeout (for `hippo check`, tests and synchronous callers).
 *  - the agent side lives in src/agent/agent_external.c on top of ext_proc.
 *
 * All functions of one ext_proc/ext_env must be called from one thread. */
#ifndef HIPPO_ENV_EXTERNAL_H
#define HIPPO_ENV_EXTERNAL_H

#include <poll.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "hippo/env.h"

#define EXT_DEFAULT_START_TIMEOUT_MS 60000
#define EXT_DEFAULT_STEP_TIMEOUT_MS  5000

enum ext_state {
	EXT_STARTING = 0, /* spawned, waiting for the hello reply */
	EXT_IDLE,         /* ready for a request */
	EXT_BUSY,         /* a request is outstanding */
	EXT_FAILED,       /* the process is gone; see ext_proc_error */
};

struct ext_proc;

struct ext_proc_conf {
	char *const *argv;      /* command; argv[0] is looked up in PATH */
	const char *cwd;        /* working directory of the child, or NULL */
	int start_timeout_ms;   /* 0: EXT_DEFAULT_START_TIMEOUT_MS */
	int step_timeout_ms;    /* 0: EXT_DEFAULT_STEP_TIMEOUT_MS */
	size_t max_header, max_payload; /* 0: the protocol defaults */
	const char *log_ctx;    /* "user=u1" added to log lines, or NULL */
};

/* Starts the child and queues HELLO (stolen) as its first request, answered
 * within start_timeout_ms. Returns 0 with *OUT (freed by ext_proc_close), or
 * -1 with a message in ERR (e.g. the command does not exist). */
int ext_proc_spawn(const struct ext_proc_conf *c, json_t *hello, struct ext_proc **out, char *err,
		   size_t errlen);

/* Queues MSG (stolen). With EXPECT_REPLY (a request; only in IDLE) the process
 * becomes BUSY until its reply arrives or step_timeout_ms pass; without (a
 * notification) it may be queued in any state but FAILED, behind an
 * outstanding request. Returns 0, or -1 (failed process, a request already
 * outstanding, or more than 1 MiB the process has not read: then it fails). */
int ext_proc_send(struct ext_proc *p, json_t *msg, bool expect_reply);

/* Makes progress without blocking: writes queued bytes, reads replies and
 * stderr, enforces the deadline. Returns the state afterwards. */
enum ext_state ext_proc_progress(struct ext_proc *p);

/* Blocks until the outstanding request is answered, fails, or its deadline
 * passes. Returns the state afterwards (IDLE or FAILED). */
enum ext_state ext_proc_wait(struct ext_proc *p);

enum ext_state ext_proc_state(const struct ext_proc *p);
/* The last reply's header (borrowed; valid until the next request) and payload. */
json_t *ext_proc_reply(const struct ext_proc *p);
const uint8_t *ext_proc_payload(const struct ext_proc *p, size_t *len);
/* Why the process failed: "the environment process exited with status 3", ... */
const char *ext_proc_error(const struct ext_proc *p);
/* Marks the process failed with MSG (kills and reaps it). */
void ext_proc_fail(struct ext_proc *p, const char *msg);
/* The file descriptors to watch (stdout, stderr, and stdin while bytes are
 * queued) in FDS[0..3); returns their number (0 once failed). */
int ext_proc_pollfds(const struct ext_proc *p, struct pollfd fds[3]);
int ext_proc_pid(const struct ext_proc *p);
/* Asks the process to exit (a "close" message, end of input), gives it up to
 * 100 ms, then kills its process group and reaps it. Frees P (may be NULL). */
void ext_proc_close(struct ext_proc *p);

/* ---- environments ---- */

struct ext_env;

struct ext_env_conf {
	struct ext_proc_conf proc;
	const char *id;           /* sent in hello (the process may choose another) */
	const char *options_json; /* object text sent as hello "options", or NULL */
	/* The study's action names (trial.actionSpace, NULL-terminated), or NULL:
	 * an environment that declares no action space (none, null, or an empty
	 * box) gets Discrete(n) with these names. */
	char *const *action_names;
};

/* Spawns the environment process and sends hello; the process is ready once
 * ext_env_poll returns 1. Returns 0 with *OUT, or -1 with ERR. */
int ext_env_start(const struct ext_env_conf *c, struct ext_env **out, char *err, size_t errlen);
/* Progress without blocking. Returns 1 when the outstanding request (hello,
 * reset or step) has completed and its results are available, 0 while pending
 * (or when idle), -1 when the process failed (ext_env_error). */
int ext_env_poll(struct ext_env *e);
/* Blocking form: waits up to the deadline. Returns 1 or -1. */
int ext_env_wait(struct ext_env *e);
bool ext_env_busy(const struct ext_env *e);
/* The environment description (valid once hello completed). */
const struct hippo_env_info *ext_env_info(const struct ext_env *e);
/* Requests; every reply carries the observation and a frame. Return 0 or -1. */
int ext_env_begin_reset(struct ext_env *e, const uint64_t *seed);
int ext_env_begin_step(struct ext_env *e, const double *action);
/* Results of the last completed reset/step: observation (info's size), step
 * result (zero after reset), info JSON text, and the decoded RGB frame
 * (NULL if the process sent none; W x H x 3 bytes, owned by E). */
const double *ext_env_obs(const struct ext_env *e);
const struct hippo_step_result *ext_env_result(const struct ext_env *e);
const char *ext_env_info_json(const struct ext_env *e);
const uint8_t *ext_env_frame(const struct ext_env *e, int *w, int *h);
const char *ext_env_error(const struct ext_env *e);
struct ext_proc *ext_env_proc(struct ext_env *e);
void ext_env_close(struct ext_env *e);

/* The blocking adapter. create() takes as options_json the whole trial.env
 * object: {"command": [...], "options": {...}, "cwd": "...",
 * "startTimeoutMs": N, "stepTimeoutMs": N}; args->id is sent in hello. The
 * instance is a `struct ext_env *`, so an asynchronous caller may take it over. */
extern const struct hippo_env_ops ext_env_ops;

struct env;
/* Opens E (the host wrapper of env/env.h) on X, an environment started with
 * ext_env_start whose hello has completed; E owns X from then on (also on
 * failure, when X is closed). Returns 0, or -1 with ERR. */
int ext_env_open_started(struct env *e, struct ext_env *x, char *err, size_t errlen);

/* Asynchronous steps and resets through ext_env_ops (the trial loop): with
 * ON, a step() or reset() call sends the request and returns -1 at once with
 * ext_env_step_pending() true; ext_env_step_poll() returns 1 once the reply
 * (or a failure) is there, and the caller then repeats the call with the same
 * arguments to get the result (or the error). */
void ext_env_set_async(struct ext_env *e, bool on);
bool ext_env_step_pending(const struct ext_env *e);
int ext_env_step_poll(struct ext_env *e);

/* Builds the options_json for ext_env_ops from the config's pieces (returns a
 * malloc'ed string, or NULL). OPTIONS may be NULL; timeouts 0 mean defaults. */
char *ext_env_spec(char *const *command, const char *cwd, json_t *options, int start_timeout_ms,
		   int step_timeout_ms);

#endif
