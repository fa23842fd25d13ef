/* export: the record files of a project (see export_int.h). */
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/id.h"
#include "export/export_int.h"

int exp__mkdirs(const char *path)
{
	char b[4096];
	snprintf(b, sizeof b, "%s", path);
	for (char *p = b + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(b, 0755) != 0 && errno != EEXIST)
			return -1;
		*p = '/';
	}
	return mkdir(b, 0755) != 0 && errno != EEXIST ? -1 : 0;
}

/* Natural order: "episode_2" before "episode_10". */
static int natcmp(const char *a, const char *b)
{
	while (*a && *b) {
		if (*a >= '0' && *a <= '9' && *b >= '0' && *b <= '9') {
			const char *a0 = a, *b0 = b;
			while (*a0 == '0')
				a0++;
			while (*b0 == '0')
				b0++;
			const char *a1 = a0, *b1 = b0;
			while (*a1 >= '0' && *a1 <= '9')
				a1++;
			while (*b1 >= '0' && *b1 <= '9')
				b1++;
			if (a1 - a0 != b1 - b0)
				return a1 - a0 < b1 - b0 ? -1 : 1;
			int c = strncmp(a0, b0, (size_t)(a1 - a0));
			if (c)
				return c;
			a = a1;
			b = b1;
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
	return natcmp(*(char *const *)a, *(char *const *)b);
}

static void free_list(char **v, long n)
{
	for (long i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

/* Sorted names in DIR accepted by KEEP. Returns the count (0 when DIR is absent) or -1. */
static long list_dir(const char *dir, bool (*keep)(const char *, const char *), char ***out)
{
	*out = NULL;
	DIR *d = opendir(dir);
	if (!d)
		return errno == ENOENT || errno == ENOTDIR ? 0 : -1;
	char **v = NULL;
	size_t n = 0, cap = 0;
	struct dirent *e;
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.' || !keep(dir, e->d_name))
			continue;
		if (buf_grow_array((void **)&v, &cap, n + 1, sizeof *v, 16, 0) < 0 ||
		    !(v[n] = strdup(e->d_name)))
			goto fail;
		n++;
	}
	closedir(d);
	if (n > 1) /* qsort wants a non-null array even for none */
		qsort(v, n, sizeof *v, natcmp_ptr);
	*out = v;
	return (long)n;
fail:
	free_list(v, (long)n);
	closedir(d);
	return -1;
}

static bool keep_user_dir(const char *dir, const char *name)
{
	char p[4096];
	struct stat sb;
	int n = snprintf(p, sizeof p, "%s/%s", dir, name);
	return n > 0 && (size_t)n < sizeof p && id_valid_user(name) && stat(p, &sb) == 0 &&
	       S_ISDIR(sb.st_mode);
}

/* Step record files: *.jsonl except the per-trial metadata file trials.jsonl. */
static bool keep_record_file(const char *dir, const char *name)
{
	size_t n = strlen(name);
	return n > 6 && strcmp(name + n - 6, ".jsonl") == 0 && strcmp(name, "trials.jsonl") != 0;
}

void exp__files_free(struct exp__file *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(v[i].path);
		free(v[i].user);
	}
	free(v);
}

int exp__files_collect(const char *trials, struct exp__file **out, size_t *nout, long long *total)
{
	char **users = NULL;
	long nu = list_dir(trials, keep_user_dir, &users);
	struct exp__file *v = NULL;
	size_t n = 0, cap = 0;
	*total = 0;
	if (nu < 0)
		return -1;
	for (long u = 0; u < nu; u++) {
		char dir[4096];
		int dn = snprintf(dir, sizeof dir, "%s/%s", trials, users[u]);
		if (dn < 0 || (size_t)dn >= sizeof dir)
			continue;
		char **files = NULL;
		long nf = list_dir(dir, keep_record_file, &files);
		for (long i = 0; i < nf; i++) {
			if (buf_grow_array((void **)&v, &cap, n + 1, sizeof *v, 64, 0) < 0) {
				free_list(files, nf);
				goto fail;
			}
			struct stat sb;
			memset(&v[n], 0, sizeof v[n]);
			if (asprintf(&v[n].path, "%s/%s", dir, files[i]) < 0) {
				v[n].path = NULL;
				free_list(files, nf);
				goto fail;
			}
			v[n].user = strdup(users[u]);
			v[n].size = stat(v[n].path, &sb) == 0 ? (long long)sb.st_size : 0;
			*total += v[n].size;
			n++;
		}
		free_list(files, nf > 0 ? nf : 0);
	}
	free_list(users, nu);
	*out = v;
	*nout = n;
	return 0;
fail:
	free_list(users, nu);
	exp__files_free(v, n);
	return -1;
}
