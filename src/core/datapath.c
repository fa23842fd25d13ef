#include "core/datapath.h"

#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/buf.h"
#include "core/id.h"

/* Formats into OUT; "" and -1 when it does not fit. */
__attribute__((format(printf, 3, 4))) static int fmt(char *out, size_t len, const char *f, ...)
{
	va_list ap;
	va_start(ap, f);
	int n = vsnprintf(out, len, f, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= len) {
		if (len)
			out[0] = '\0';
		return -1;
	}
	return 0;
}

/* DATA/REST, or REST alone when DATA is NULL. */
#define UNDER(out, len, data, f, ...)                                                          \
	((data) ? fmt(out, len, "%s/" f, data, __VA_ARGS__) : fmt(out, len, f, __VA_ARGS__))

int datapath_store(char *out, size_t len, const char *data)
{
	return UNDER(out, len, data, "%s", "hippo.db");
}

int datapath_spool_dir(char *out, size_t len, const char *data)
{
	return UNDER(out, len, data, "%s", "spool");
}

int datapath_spool_db(char *out, size_t len, const char *data)
{
	return UNDER(out, len, data, "%s", "spool/uploads.db");
}

int datapath_projects(char *out, size_t len, const char *data)
{
	return UNDER(out, len, data, "%s", "projects");
}

int datapath_trials(char *out, size_t len, const char *data, const char *project)
{
	return UNDER(out, len, data, "%s/trials", project);
}

int datapath_participant(char *out, size_t len, const char *data, const char *project,
			 const char *user)
{
	return UNDER(out, len, data, "%s/trials/%s", project, user);
}

int datapath_users(char *out, size_t len, const char *data, const char *project)
{
	return UNDER(out, len, data, "%s/users", project);
}

int datapath_user_record(char *out, size_t len, const char *data, const char *project,
			 const char *user)
{
	return UNDER(out, len, data, "%s/users/%s.json", project, user);
}

int datapath_data_name(char *out, size_t len, bool per_episode, int episode,
		       const char *trial_id)
{
	bool own = trial_id && trial_id[0];
	if (per_episode)
		return own ? fmt(out, len, "episode_%d-%s.jsonl", episode, trial_id)
			   : fmt(out, len, "episode_%d.jsonl", episode);
	return own ? fmt(out, len, "trial-%s.jsonl", trial_id) : fmt(out, len, "trial.jsonl");
}

bool datapath_is_data_file(const char *name)
{
	size_t n = strlen(name);
	return n > 6 && strcmp(name + n - 6, ".jsonl") == 0 && strcmp(name, DATAPATH_META) != 0;
}

int datapath_frames_name(char *out, size_t len, const char *data_name)
{
	if (len)
		out[0] = '\0';
	if (!datapath_is_data_file(data_name))
		return -1;
	int n = snprintf(out, len, "%.*s.frames", (int)(strlen(data_name) - 6), data_name);
	if (n < 0 || (size_t)n >= len) {
		if (len)
			out[0] = '\0';
		return -1;
	}
	return 0;
}

int datapath_natcmp(const char *a, const char *b)
{
	while (*a && *b) {
		if (*a >= '0' && *a <= '9' && *b >= '0' && *b <= '9') {
			while (*a == '0' && a[1] >= '0' && a[1] <= '9')
				a++;
			while (*b == '0' && b[1] >= '0' && b[1] <= '9')
				b++;
			size_t la = strspn(a, "0123456789"), lb = strspn(b, "0123456789");
			if (la != lb)
				return la < lb ? -1 : 1;
			int c = strncmp(a, b, la);
			if (c)
				return c;
			a += la;
			b += lb;
			continue;
		}
		if (*a != *b)
			return (unsigned char)*a < (unsigned char)*b ? -1 : 1;
		a++;
		b++;
	}
	return *a ? 1 : *b ? -1 : 0;
}

static int natcmp_ptr(const void *a, const void *b)
{
	return datapath_natcmp(*(char *const *)a, *(char *const *)b);
}

void datapath_list_free(char **list)
{
	if (!list)
		return;
	for (char **p = list; *p; p++)
		free(*p);
	free(list);
}

static bool is_kind(const char *dir, const char *name, bool want_dir)
{
	char p[4096];
	struct stat sb;
	int n = snprintf(p, sizeof p, "%s/%s", dir, name);
	if (n < 0 || (size_t)n >= sizeof p || stat(p, &sb) != 0)
		return false;
	return want_dir ? S_ISDIR(sb.st_mode) : S_ISREG(sb.st_mode);
}

static bool keep_participant(const char *dir, const char *name)
{
	return id_valid_user(name) && is_kind(dir, name, true);
}

static bool keep_node(const char *dir, const char *name)
{
	return id_valid_node(name) && is_kind(dir, name, true);
}

static bool keep_data_file(const char *dir, const char *name)
{
	return datapath_is_data_file(name) && is_kind(dir, name, false);
}

/* The names of DIR that KEEP accepts, sorted; see datapath_list_participants. */
static long list(const char *dir, bool (*keep)(const char *, const char *), char ***out)
{
	*out = NULL;
	DIR *d = opendir(dir);
	if (!d)
		return -1;
	char **v = calloc(1, sizeof *v);
	size_t n = 0, cap = 1;
	struct dirent *e;
	if (!v)
		goto fail;
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.' || !keep(dir, e->d_name))
			continue;
		if (buf_grow_array((void **)&v, &cap, n + 2, sizeof *v, 16, 0) < 0)
			goto fail;
		if (!(v[n] = strdup(e->d_name)))
			goto fail;
		v[++n] = NULL;
	}
	closedir(d);
	qsort(v, n, sizeof *v, natcmp_ptr);
	*out = v;
	return (long)n;
fail:
	datapath_list_free(v);
	closedir(d);
	errno = ENOMEM;
	return -1;
}

long datapath_list_participants(const char *trials, char ***out)
{
	return list(trials, keep_participant, out);
}

long datapath_list_data_files(const char *dir, char ***out)
{
	return list(dir, keep_data_file, out);
}

long datapath_list_nodes(const char *dir, char ***out)
{
	return list(dir, keep_node, out);
}
