/* hippo/env.h: the environment ABI shared by hippo's built-in environments and
 * third-party plug-ins (shared libraries loaded with dlopen).
 *
 * An environment is a `const struct hippo_env_ops` table of function pointers
 * plus an opaque instance pointer. There is no global state: every instance is
 * independent, so many run side by side (one per participant) in one process.
 * No function is called concurrently on the same instance; different instances
 * may be used from different threads.
 *
 * Versioning: HIPPO_ENV_ABI_VERSION changes whenever a struct below changes
 * layout or a slot changes meaning. A plug-in exports one symbol,
 *
 *     const struct hippo_env_ops *hippo_env_plugin(uint32_t host_abi_version, size_t *count);
 *
 * returning an array of *count tables whose abi_version fields hippo checks
 * against its own before calling anything else.
 *
 * Semantics follow Gymnasium: reset(seed) draws the initial state from the
 * environment's generator (seeded like numpy's default_rng(seed) when a seed is
 * given, continued otherwise); step(action) returns observation, reward,
 * terminated, truncated. Time limits (Gymnasium's TimeLimit wrapper) are applied
 * by the host from meta.max_episode_steps; an environment only reports its own
 * truncation if it has one internally (MiniGrid's max_steps). */
#ifndef HIPPO_ENV_H
#define HIPPO_ENV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define HIPPO_ENV_ABI_VERSION 1u
#define HIPPO_ENV_PLUGIN_SYMBOL "hippo_env_plugin"
#define HIPPO_SPACE_MAX_DIMS 4

enum hippo_space_kind {
	HIPPO_SPACE_DISCRETE = 1, /* integers start .. start+n-1 */
	HIPPO_SPACE_BOX = 2,      /* array of shape[], elements in [low, high] */
};

enum hippo_dtype {
	HIPPO_DTYPE_FLOAT32 = 1,
	HIPPO_DTYPE_FLOAT64 = 2,
	HIPPO_DTYPE_UINT8 = 3,
	HIPPO_DTYPE_INT64 = 4,
};

struct hippo_space {
	enum hippo_space_kind kind;
	/* DISCRETE */
	int64_t n;
	int64_t start;                   /* usually 0 */
	const char *const *action_names; /* n names (e.g. "left"), or NULL */
	/* BOX */
	enum hippo_dtype dtype;
	int ndim;
	int shape[HIPPO_SPACE_MAX_DIMS];
	const double *low, *high;        /* size() entries each; +-INFINITY allowed */
};

/* Number of scalars in a space: 1 for DISCRETE, the product of shape for BOX. */
static inline size_t hippo_space_size(const struct hippo_space *s)
{
	if (s->kind == HIPPO_SPACE_DISCRETE)
		return 1;
	size_t n = 1;
	for (int i = 0; i < s->ndim; i++)
		n *= (size_t)s->shape[i];
	return n;
}

struct hippo_env_meta {
	int max_episode_steps;   /* TimeLimit applied by the host; 0 = none */
	double reward_threshold; /* NAN when Gymnasium has none */
	int render_fps;          /* metadata["render_fps"] */
	int render_width, render_height; /* natural size of render() */
};

/* Everything the host needs to know about an instance; valid for its lifetime. */
struct hippo_env_info {
	const char *id;
	struct hippo_space action_space;
	struct hippo_space observation_space; /* the flat part of the observation */
	struct hippo_env_meta meta;
};

struct hippo_step_result {
	double reward;
	bool terminated;
	bool truncated;
};

/* Arguments to create(). OPTIONS is a JSON object as text (from the config's
 * trial.env.options), or NULL. */
struct hippo_env_args {
	const char *id;
	const char *options_json;
};

/* Every function returning int returns 0 on success and a negative value on
 * failure, after writing a NUL-terminated message of at most ERRLEN bytes to ERR. */
struct hippo_env_ops {
	uint32_t abi_version;  /* HIPPO_ENV_ABI_VERSION the table was compiled against */
	const char *id;        /* the Gymnasium-style id, e.g. "CartPole-v1" */
	const char *summary;   /* one line for `hippo envs` */

	/* Creates an instance. On success *ENV is owned by the caller, who frees it
	 * with destroy(). */
	int (*create)(const struct hippo_env_args *args, void **env, char *err, size_t errlen);

	/* Frees an instance and everything it owns. ENV may be NULL. */
	void (*destroy)(void *env);

	/* Spaces and metadata of this instance (owned by the instance). */
	const struct hippo_env_info *(*info)(void *env);

	/* Starts an episode. SEED is NULL to continue the instance's generator.
	 * Writes observation_space size scalars to OBS (float32/uint8 values are
	 * exactly representable as double). INFO receives a JSON object as text
	 * ("{}" when there is nothing to say) of at most INFOLEN bytes. */
	int (*reset)(void *env, const uint64_t *seed, double *obs, char *info, size_t infolen,
		     char *err, size_t errlen);

	/* Applies ACTION (action_space size scalars; a discrete action is one
	 * integral value) and advances one step. Writes OBS, RESULT and INFO as
	 * reset() does. Calling step after terminated/truncated without a reset is
	 * an error. */
	int (*step)(void *env, const double *action, double *obs, struct hippo_step_result *result,
		    char *info, size_t infolen, char *err, size_t errlen);

	/* Draws the current state into RGB (packed 8-bit R,G,B; STRIDE bytes per
	 * row) of meta.render_width x meta.render_height pixels. May be NULL for an
	 * environment without pictures. */
	int (*render)(void *env, uint8_t *rgb, size_t stride, char *err, size_t errlen);
};

/* The plug-in entry point's type (see HIPPO_ENV_PLUGIN_SYMBOL). */
typedef const struct hippo_env_ops *(*hippo_env_plugin_fn)(uint32_t host_abi_version,
							    size_t *count);

#ifdef __cplusplus
}
#endif

#endif
