/* pull: a project's record files from S3 into a local folder (storage.h,
 * "pull"). The listing is taken whole first (a line per object in memory),
 * so the progress knows the total; then each object is fetched in turn, and
 * the copies of objects no longer listed are removed. */
#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <curl/curl.h>

#include "core/buf.h"
#include "core/clock.h"
#include "core/id.h"
#include "core/path.h"
#include "storage/s3.h"
#include "storage/storage.h"

struct pull_obj {
	char *rel; /* U/FILE or U/NODE/FILE */
	long long size;
};

struct pull_list {
	const char *prefix; /* [PREFIX/]P/Trials/ */
	size_t plen;
	struct pull_obj *v;
	size_t n, cap;
	struct storage_pull_stats *st;
	bool oom;
};

bool storage_pull_name_ok(const char *name)
{
	size_t n = strlen(name);
	if (n < 7 || n > 200 || strcmp(name + n - 6, ".jsonl") != 0 || name[0] == '.')
		return false;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)name[i];
		bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			  (c >= '0' && c <= '9') || c == '_' || c == '-' || c == '.';
		if (!ok)
			return false;
	}
	return true;
}

/* Whether REL (the key after P/Trials/) is U/FILE or U/NODE/FILE with valid
 * parts. */
static bool rel_ok(const char *rel)
{
	char parts[3][256];
	int np = 0;
	const char *p = rel;
	for (;;) {
		const char *slash = strchr(p, '/');
		size_t len = slash ? (size_t)(slash - p) : strlen(p);
		if (np == 3 || len == 0 || len >= sizeof parts[0])
			return false;
		memcpy(parts[np], p, len);
		parts[np][len] = '\0';
		np++;
		if (!slash)
			break;
		p = slash + 1;
	}
	if (np < 2 || !id_valid_user(parts[0]) || !storage_pull_name_ok(parts[np - 1]))
		return false;
	return np == 2 || id_valid_node(parts[1]);
}

static int on_object(void *user, const struct s3_object *o)
{
	struct pull_list *l = user;
	l->st->listed++;
	const char *rel = strncmp(o->key, l->prefix, l->plen) == 0 ? o->key + l->plen : NULL;
	if (!s3_key_valid(o->key) || !rel || !rel_ok(rel) || o->size < 0) {
		l->st->skipped++;
		if (!l->st->first_skipped[0])
			snprintf(l->st->first_skipped, sizeof l->st->first_skipped, "%s",
				 o->key[0] ? o->key : "(a key that is no text)");
		return 0;
	}
	if (buf_grow_array((void **)&l->v, &l->cap, l->n + 1, sizeof *l->v, 256, 0) < 0 ||
	    !(l->v[l->n].rel = strdup(rel))) {
		l->oom = true;
		return -1;
	}
	l->v[l->n++].size = o->size;
	return 0;
}

static void progress(const struct storage_pull_opts *o, const struct storage_pull_stats *st,
		     size_t done, size_t n, long long bytes, long long total, bool last)
{
	if (!o->progress)
		return;
	fprintf(o->progress, "%sS3: %zu/%zu files, %.1f/%.1f MB (%lld fetched, %lld kept)%s",
		o->progress_tty ? "\r" : "", done, n, (double)bytes / 1e6, (double)total / 1e6,
		st->fetched, st->kept, o->progress_tty && !last ? "" : "\n");
	fflush(o->progress);
}

static int by_rel(const void *a, const void *b)
{
	return strcmp(((const struct pull_obj *)a)->rel, ((const struct pull_obj *)b)->rel);
}

/* Whether NAME, a file of a pulled folder, is one the pull writes: a record
 * file, or what an interrupted download of one left (NAME.part). */
static bool pulled_name(const char *name)
{
	char base[256];
	size_t n = strlen(name);
	if (n > 5 && n < sizeof base && strcmp(name + n - 5, ".part") == 0) {
		memcpy(base, name, n - 5);
		base[n - 5] = '\0';
		return storage_pull_name_ok(base);
	}
	return storage_pull_name_ok(name);
}

/* The copies under DIR (REL: its path below the pulled folder, "U" or
 * "U/NODE") of objects not in the sorted listing L, and any partial
 * download, are removed; with DEPTH 0 the node folders below are swept too.
 * Files of other names, symbolic links and other folders are left alone. */
static void sweep_dir(const char *dir, const char *rel, int depth, const struct pull_list *l,
		      struct storage_pull_stats *st)
{
	DIR *d = opendir(dir);
	if (!d)
		return;
	struct dirent *e;
	while ((e = readdir(d))) {
		char path[4096], r[600];
		struct stat sb;
		int pn = snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
		int rn = snprintf(r, sizeof r, "%s/%s", rel, e->d_name);
		if (e->d_name[0] == '.' || pn < 0 || (size_t)pn >= sizeof path || rn < 0 ||
		    (size_t)rn >= sizeof r || lstat(path, &sb) != 0)
			continue;
		if (S_ISDIR(sb.st_mode) && depth == 0 && id_valid_node(e->d_name)) {
			sweep_dir(path, r, 1, l, st);
			rmdir(path); /* only when it is empty now */
			continue;
		}
		if (!S_ISREG(sb.st_mode) || !pulled_name(e->d_name))
			continue;
		struct pull_obj key = {.rel = r};
		bool part = strcmp(e->d_name + strlen(e->d_name) - 5, ".part") == 0;
		if ((part || !l->n || !bsearch(&key, l->v, l->n, sizeof *l->v, by_rel)) &&
		    unlink(path) == 0)
			st->removed++;
	}
	closedir(d);
}

/* Removes the copies in OUT (the pulled folder) of objects that are gone
 * from S3 (a withdrawn participant's): L is the complete listing. */
static void sweep(const char *out, struct pull_list *l, struct storage_pull_stats *st)
{
	if (l->n)
		qsort(l->v, l->n, sizeof *l->v, by_rel);
	DIR *d = opendir(out);
	if (!d)
		return;
	struct dirent *e;
	while ((e = readdir(d))) {
		char path[4096];
		struct stat sb;
		int pn = snprintf(path, sizeof path, "%s/%s", out, e->d_name);
		if (e->d_name[0] == '.' || !id_valid_user(e->d_name) || pn < 0 ||
		    (size_t)pn >= sizeof path || lstat(path, &sb) != 0 || !S_ISDIR(sb.st_mode))
			continue;
		sweep_dir(path, e->d_name, 0, l, st);
		rmdir(path); /* only when it is empty now */
	}
	closedir(d);
}

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static void curl_init_once(void)
{
	curl_global_init(CURL_GLOBAL_DEFAULT);
}

int storage_pull_records(const struct storage_pull_opts *o, struct storage_pull_stats *st,
			 char *err, size_t errlen)
{
	memset(st, 0, sizeof *st);
	if (!id_valid_project(o->project_id)) {
		snprintf(err, errlen, "invalid project id '%s'", o->project_id);
		return -1;
	}
	pthread_once(&curl_once, curl_init_once);
	struct s3_creds creds;
	if (s3_creds_load(&creds, err, errlen) != 0)
		return -1;
	char prefix[512];
	int pn = o->dest->prefix[0] ? snprintf(prefix, sizeof prefix, "%s/%s/Trials/",
					       o->dest->prefix, o->project_id)
				    : snprintf(prefix, sizeof prefix, "%s/Trials/", o->project_id);
	if (pn < 0 || (size_t)pn >= sizeof prefix) {
		snprintf(err, errlen, "S3 prefix too long");
		return -1;
	}
	struct s3_dest d = {.endpoint = o->dest->endpoint, .region = o->dest->region,
			    .bucket = o->dest->bucket};
	struct pull_list l = {.prefix = prefix, .plen = strlen(prefix), .st = st};
	int rc = -1;
	if (o->progress)
		fprintf(o->progress, "S3: listing s3://%s/%s ...\n", d.bucket, prefix);
	if (s3_list(&d, &creds, prefix, o->max_keys, o->timeout_s, on_object, &l, err, errlen) <
	    0) {
		if (l.oom)
			snprintf(err, errlen, "out of memory");
		goto out;
	}
	long long total = 0, bytes = 0;
	for (size_t i = 0; i < l.n; i++)
		total += l.v[i].size;
	if (path_mkdirs(o->out) != 0) {
		snprintf(err, errlen, "cannot create %s: %s", o->out, strerror(errno));
		goto out;
	}
	double last = clock_mono_s();
	for (size_t i = 0; i < l.n; i++) {
		char path[4096], dir[4096], key[1200];
		int k = snprintf(path, sizeof path, "%s/%s", o->out, l.v[i].rel);
		int kk = snprintf(key, sizeof key, "%s%s", prefix, l.v[i].rel);
		if (k < 0 || (size_t)k >= sizeof path || kk < 0 || (size_t)kk >= sizeof key) {
			snprintf(err, errlen, "path too long: %s/%s", o->out, l.v[i].rel);
			goto out;
		}
		snprintf(dir, sizeof dir, "%s", path);
		*strrchr(dir, '/') = '\0';
		struct stat sb;
		if (stat(path, &sb) == 0 && S_ISREG(sb.st_mode) && sb.st_size == l.v[i].size) {
			st->kept++;
		} else {
			long long got = 0;
			if (path_mkdirs(dir) != 0) {
				snprintf(err, errlen, "cannot create %s: %s", dir, strerror(errno));
				goto out;
			}
			if (s3_get_file(&d, &creds, key, path, o->timeout_s, &got, err, errlen) != 0)
				goto out;
			st->fetched++;
			st->bytes += got;
		}
		bytes += l.v[i].size;
		double now = clock_mono_s();
		if (now - last >= 1.0) {
			progress(o, st, i + 1, l.n, bytes, total, false);
			last = now;
		}
	}
	progress(o, st, l.n, l.n, bytes, total, true);
	/* the listing was complete: what it does not name is no longer in S3 */
	sweep(o->out, &l, st);
	rc = 0;
out:
	for (size_t i = 0; i < l.n; i++)
		free(l.v[i].rel);
	free(l.v);
	return rc;
}
