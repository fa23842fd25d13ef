/* export: the record files of a project (see export_int.h), listed by
 * core/datapath. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/datapath.h"
#include "export/export_int.h"

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
		char **files = NULL;
		long nf = datapath_list_data_files(dir, &files);
		for (long i = 0; i < nf; i++) {
			if (buf_grow_array((void **)&v, &cap, n + 1, sizeof *v, 64, 0) < 0) {
				datapath_list_free(files);
				goto fail;
			}
			struct stat sb;
			memset(&v[n], 0, sizeof v[n]);
			if (asprintf(&v[n].path, "%s/%s", dir, files[i]) < 0) {
				v[n].path = NULL;
				datapath_list_free(files);
				goto fail;
			}
			v[n].user = strdup(users[u]);
			v[n].size = stat(v[n].path, &sb) == 0 ? (long long)sb.st_size : 0;
			*total += v[n].size;
			n++;
		}
		datapath_list_free(files);
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
