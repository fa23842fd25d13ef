/* childenv: the environment variables of the processes hippo starts
 * (environment and agent processes; every child should get it). A child gets
 * only the variables of an allow-list, never everything hippo was given, so
 * the secrets of the server (HIPPO_ADMIN_TOKEN, AWS_SECRET_ACCESS_KEY, TLS
 * passwords...) do not reach code that a study names.
 *
 * The list (docs/plugins.md, "Environment of the processes"): PATH, HOME,
 * USER, LOGNAME, SHELL, TMPDIR, TZ, LANG, LANGUAGE, LC_*, PYTHONPATH,
 * PYTHONHOME, PYTHONUNBUFFERED, PYTHONIOENCODING, PYTHONDONTWRITEBYTECODE,
 * VIRTUAL_ENV, CONDA_PREFIX, CONDA_DEFAULT_ENV, LD_LIBRARY_PATH,
 * OMP_NUM_THREADS, MKL_NUM_THREADS, OPENBLAS_NUM_THREADS,
 * CUDA_VISIBLE_DEVICES, DISPLAY, SDL_VIDEODRIVER, MUJOCO_GL,
 * PYOPENGL_PLATFORM. The operator adds names with HIPPO_CHILD_ENV, read from
 * hippo's own environment: names separated by commas, colons or blanks, a
 * trailing '*' for a prefix ("HIPPO_CHILD_ENV=WANDB_MODE,MY_*"). */
#ifndef HIPPO_CORE_CHILDENV_H
#define HIPPO_CORE_CHILDENV_H

#include <stdbool.h>
#include <stddef.h>

/* The variable that extends the allow-list. */
#define CHILDENV_EXTRA_VAR "HIPPO_CHILD_ENV"

/* The built-in allow-list, NULL-terminated; entries ending in '*' are prefixes. */
extern const char *const childenv_default_names[];

/* Whether the variable NAME (LEN bytes, no '=') is passed to children: it is
 * on the built-in list or on EXTRA (the text of HIPPO_CHILD_ENV, may be NULL). */
bool childenv_allowed(const char *name, size_t len, const char *extra);

/* A new environment from FROM ("NAME=VALUE" strings, NULL-terminated) keeping
 * the allowed variables, in FROM's order. Returns a NULL-terminated array of
 * copies (free with childenv_free), or NULL when out of memory. */
char **childenv_build(char *const *from, const char *extra);
void childenv_free(char **env);

/* The environment of every child of this process: childenv_build(environ,
 * getenv(HIPPO_CHILD_ENV)), built on the first call (thread-safe) and kept
 * until exit. Never NULL (empty when out of memory). */
char *const *childenv(void);

#endif
