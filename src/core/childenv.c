/* childenv: the allow-listed environment of child processes; see childenv.h. */
#include "core/childenv.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

extern char **environ;

const char *const childenv_default_names[] = {
	"PATH", "HOME", "USER", "LOGNAME", "SHELL", "TMPDIR", "TZ", "LANG", "LANGUAGE", "LC_*",
	/* Python and its environments */
	"PYTHONPATH", "PYTHONHOME", "PYTHONUNBUFFERED", "PYTHONIOENCODING",
	"PYTHONDONTWRITEBYTECODE", "VIRTUAL_ENV", "CONDA_PREFIX", "CONDA_DEFAULT_ENV",
	/* libraries, threads, devices, rendering */
	"LD_LIBRARY_PATH", "OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS",
	"CUDA_VISIBLE_DEVICES", "DISPLAY", "SDL_VIDEODRIVER", "MUJOCO_GL", "PYOPENGL_PLATFORM",
	NULL,
};

/* Whether NAME (LEN bytes) matches PAT (PLEN bytes; a trailing '*' is a prefix). */
static bool matches(const char *name, size_t len, const char *pat, size_t plen)
{
	if (plen > 0 && pat[plen - 1] == '*')
		return plen > 1 && len >= plen - 1 && memcmp(name, pat, plen - 1) == 0;
	return plen == len && memcmp(name, pat, len) == 0;
}

static bool is_sep(char c)
{
	return c == ',' || c == ':' || c == ' ' || c == '\t' || c == '\n';
}

bool childenv_allowed(const char *name, size_t len, const char *extra)
{
	if (len == 0)
		return false;
	for (const char *const *p = childenv_default_names; *p; p++)
		if (matches(name, len, *p, strlen(*p)))
			return true;
	for (const char *s = extra; s && *s;) {
		while (*s && is_sep(*s))
			s++;
		const char *start = s;
		while (*s && !is_sep(*s))
			s++;
		if (s > start && matches(name, len, start, (size_t)(s - start)))
			return true;
	}
	return false;
}

void childenv_free(char **env)
{
	for (size_t i = 0; env && env[i]; i++)
		free(env[i]);
	free(env);
}

char **childenv_build(char *const *from, const char *extra)
{
	size_t n = 0;
	while (from && from[n])
		n++;
	char **out = calloc(n + 1, sizeof *out);
	if (!out)
		return NULL;
	size_t k = 0;
	for (size_t i = 0; i < n; i++) {
		const char *eq = strchr(from[i], '=');
		if (!eq || !childenv_allowed(from[i], (size_t)(eq - from[i]), extra))
			continue;
		if (!(out[k] = strdup(from[i]))) {
			childenv_free(out);
			return NULL;
		}
		k++;
	}
	return out;
}

static char **cached;
static char *empty[1];

static void build_once(void)
{
	cached = childenv_build(environ, getenv(CHILDENV_EXTRA_VAR));
}

char *const *childenv(void)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;
	pthread_once(&once, build_once);
	return cached ? cached : empty;
}
