/* export: the record files of a project (see export_int.h), listed by
 * core/datapath: a participant's own files, and those of the cluster node
 * folders under theirs (DATA/P/trials/U/NODE/, pulled from S3), in the
 * order they were written. */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/datapath.h"
#include "export/export_int.h"
#include "export/records.h"

void exp__files_free(struct exp__file *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(v[i].path);
		free(v[i].user);
	}
	free(v);
}

/* The "t" of the first record of the file at PATH (ms), or LLONG_MAX when
 * it has none. */
static long long first_time(const char *path)
{
	FILE *f = fopen(path, "r");
	if (!f)
		return LLONG_MAX;
	struct rr r;
	rr_init(&r, f, 0);
	long long t = LLONG_MAX;
	for (int tries = 0; tries < 4; tries++) {
		json_t *rec;
		char lerr[128];
		int k = rr_next(&r, &rec, lerr, sizeof lerr);
		if (k == -1)
			continue;
		if (k == 1) {
			json_t *v = json_object_get(rec, "t");
			if (json_is_integer(v))
				t = json_integer_value(v);
			json_decref(rec);
		}
		break;
	}
	rr_free(&r);
	fclose(f);
	return t;
}

static int by_time(const void *a, const void *b)
{
	const struct exp__file *x = a, *y = b;
	if (x->t != y->t)
		return x->t < y->t ? -1 : 1;
	return datapath_natcmp(x->path, y->path);
}

/* Appends the data files of DIR (a participant's folder, or one of its node
 * folders) for USER. 0, or -1 (out of memory). */
static int add_dir(const char *dir, const char *user, struct exp__file **v, size_t *n,
		   size_t *cap, long long *total)
{
	char **files = NULL;
	long nf = datapath_list_data_files(dir, &files);
	for (long i = 0; i < nf; i++) {
		if (buf_grow_array((void **)v, cap, *n + 1, sizeof **v, 64, 0) < 0) {
			datapath_list_free(files);
			return -1;
		}
		struct exp__file *e = &(*v)[*n];
		struct stat sb;
		memset(e, 0, sizeof *e);
		if (asprintf(&e->path, "%s/%s", dir, files[i]) < 0) {
			e->path = NULL;
			datapath_list_free(files);
			return -1;
		}
		if (!(e->user = strdup(user))) {
			free(e->path);
			datapath_list_free(files);
			return -1;
		}
		e->size = stat(e->path, &sb) == 0 ? (long long)sb.st_size : 0;
		*total += e->size;
		(*n)++;
	}
	datapath_list_free(files);
	return 0;
}

int exp__files_collect(const char *trials, struct exp__file **out, size_t *nout, long long *total)
{
	char **users = NULL;
	long nu = datapath_list_participants(trials, &users);
	struct exp__file *v = NULL;
	size_t n = 0, cap = 0;
	*total = 0;
	if (nu < 0 && errno != ENOENT && errno != ENOTDIR)
		return -1;
	for (long u = 0; u < nu; u++) {
		char dir[4096];
		int dn = snprintf(dir, sizeof dir, "%s/%s", trials, users[u]);
		if (dn < 0 || (size_t)dn >= sizeof dir)
			continue;
		size_t first = n;
		if (add_dir(dir, users[u], &v, &n, &cap, total) != 0)
			goto fail;
		/* the records of a cluster's nodes (DIR/NODE/, pulled from S3): a
		 * participant whose game moved has files on several nodes, merged
		 * in the order they were written (the time of their first record) */
		char **nodes = NULL;
		long nn = datapath_list_nodes(dir, &nodes);
		for (long i = 0; i < nn; i++) {
			char nd[4200];
			int k = snprintf(nd, sizeof nd, "%s/%s", dir, nodes[i]);
			if (k < 0 || (size_t)k >= sizeof nd)
				continue;
			if (add_dir(nd, users[u], &v, &n, &cap, total) != 0) {
				datapath_list_free(nodes);
				goto fail;
			}
		}
		datapath_list_free(nodes);
		/* a participant's later trial in the same folder (a restart, a game
		 * that moved between nodes sharing a data folder) has names of its
		 * own (episode_1-<trialId>.jsonl), which natural order would
		 * interleave with the earlier trial's: every file goes by time */
		if (n - first > 1) {
			for (size_t i = first; i < n; i++)
				v[i].t = first_time(v[i].path);
			qsort(v + first, n - first, sizeof *v, by_time);
		}
	}
	datapath_list_free(users);
	*out = v;
	*nout = n;
	return 0;
fail:
	datapath_list_free(users);
	exp__files_free(v, n);
	return -1;
}
