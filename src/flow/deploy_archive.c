/* deploy_archive: a study folder as one archive, read into the deploy's
 * config and files (deploy_archive.h). */
#include "flow/deploy_archive.h"

#include <archive.h>
#include <archive_entry.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "flow/admin.h"

#define DA_MAX_NAME 400

struct entry {
	char name[DA_MAX_NAME + 1]; /* checked, without "./" in front */
	bool dir;
	bool metadata;              /* macOS's: read within the bounds, then left out */
	char *data;                 /* regular files */
	size_t len;
};

struct entries {
	struct entry *v;
	size_t n, cap;
	size_t total;
};

static void entries_free(struct entries *es)
{
	for (size_t i = 0; i < es->n; i++)
		free(es->v[i].data);
	free(es->v);
}

/* NAME as the archive has it, checked: into OUT without leading "./" and a
 * folder's trailing '/'. false when it may not be taken. */
static bool clean_name(const char *name, char *out, size_t len)
{
	while (name[0] == '.' && name[1] == '/')
		name += 2;
	size_t n = strlen(name);
	while (n > 0 && name[n - 1] == '/')
		n--;
	if (n == 0 || n >= len || name[0] == '/' || memchr(name, '\\', n))
		return false;
	memcpy(out, name, n);
	out[n] = '\0';
	for (const char *p = out;;) { /* every part: not empty, not "." or ".." */
		const char *slash = strchr(p, '/');
		size_t k = slash ? (size_t)(slash - p) : strlen(p);
		if (k == 0 || (k == 1 && p[0] == '.') || (k == 2 && p[0] == '.' && p[1] == '.'))
			return false;
		for (size_t i = 0; i < k; i++)
			if ((unsigned char)p[i] < 0x20 || p[i] == 0x7f)
				return false;
		if (!slash)
			return true;
		p = slash + 1;
	}
}

/* Whether NAME (checked) is macOS's metadata, which Finder's "Compress"
 * puts beside the folder: anything under a top-level __MACOSX/, and
 * .DS_Store files. */
static bool mac_metadata(const char *name)
{
	const char *base = strrchr(name, '/');
	base = base ? base + 1 : name;
	return strcmp(name, "__MACOSX") == 0 || strncmp(name, "__MACOSX/", 9) == 0 ||
	       strcmp(base, ".DS_Store") == 0;
}

/* Reads the entries of AR into ES, within the bounds. 0, or -1 with ERR. */
static int read_entries(struct archive *ar, struct entries *es, char *err, size_t errlen)
{
	struct archive_entry *e;
	int r;
	while ((r = archive_read_next_header(ar, &e)) == ARCHIVE_OK) {
		const char *raw = archive_entry_pathname(e);
		if (!raw)
			raw = "";
		if (es->n >= DA_MAX_ENTRIES) {
			snprintf(err, errlen, "more than %d entries in the archive", DA_MAX_ENTRIES);
			return -1;
		}
		if (archive_entry_hardlink(e) || archive_entry_symlink(e) ||
		    (archive_entry_filetype(e) != AE_IFREG && archive_entry_filetype(e) != AE_IFDIR)) {
			snprintf(err, errlen, "'%.200s': only files and folders are taken (a link, "
					      "a device or a pipe refuses the archive)", raw);
			return -1;
		}
		if (buf_grow_array((void **)&es->v, &es->cap, es->n + 1, sizeof *es->v, 16,
				   DA_MAX_ENTRIES) < 0) {
			snprintf(err, errlen, "out of memory");
			return -1;
		}
		struct entry *en = &es->v[es->n];
		memset(en, 0, sizeof *en);
		if (!clean_name(raw, en->name, sizeof en->name)) {
			snprintf(err, errlen, "'%.200s': names may not be absolute or hold '..', an "
					      "empty part, a backslash or a control character", raw);
			return -1;
		}
		es->n++;
		en->dir = archive_entry_filetype(e) == AE_IFDIR;
		if (en->dir && archive_entry_size_is_set(e) && archive_entry_size(e) > 0) {
			/* skipping its data would unpack it all: a bomb in a folder's clothes */
			snprintf(err, errlen, "'%.200s': a folder that carries data", raw);
			return -1;
		}
		en->metadata = mac_metadata(en->name);
		if (en->dir)
			continue;
		size_t cap = 0;
		char chunk[65536];
		la_ssize_t k;
		while ((k = archive_read_data(ar, chunk, sizeof chunk)) > 0) {
			if (en->len + (size_t)k > DA_MAX_FILE || es->total + (size_t)k > DA_MAX_TOTAL) {
				snprintf(err, errlen, "'%.200s': the archive unpacks to more than "
						      "%u MiB a file or %u MiB in all", raw,
					 DA_MAX_FILE >> 20, DA_MAX_TOTAL >> 20);
				return -1;
			}
			if (buf_grow_array((void **)&en->data, &cap, en->len + (size_t)k + 1, 1, 4096,
					   DA_MAX_FILE + 1) < 0) {
				snprintf(err, errlen, "out of memory");
				return -1;
			}
			memcpy(en->data + en->len, chunk, (size_t)k);
			en->len += (size_t)k;
			es->total += (size_t)k;
		}
		if (k < 0) {
			snprintf(err, errlen, "'%.200s': %.200s", raw, archive_error_string(ar));
			return -1;
		}
	}
	if (r != ARCHIVE_EOF) {
		const char *why = archive_error_string(ar);
		snprintf(err, errlen, "not a zip, tar or tar.gz archive, or a damaged one (%.200s)",
			 why ? why : "unreadable");
		return -1;
	}
	return 0;
}

/* The length of the one folder around every entry ("study/"), 0 when none;
 * macOS's metadata beside it does not count. */
static size_t common_folder(const struct entries *es)
{
	size_t f = 0;
	while (f < es->n && es->v[f].metadata)
		f++;
	if (f == es->n)
		return 0;
	const char *first = es->v[f].name;
	const char *slash = strchr(first, '/');
	size_t k = slash ? (size_t)(slash - first) : strlen(first);
	for (size_t i = 0; i < es->n; i++) {
		const struct entry *en = &es->v[i];
		if (en->metadata)
			continue;
		bool inside = strncmp(en->name, first, k) == 0 && en->name[k] == '/';
		bool itself = en->dir && strncmp(en->name, first, k) == 0 && en->name[k] == '\0';
		if (!inside && !itself)
			return 0;
	}
	return k + 1;
}

/* S with every byte that is not printable ASCII made '?': an entry's name
 * is the archive's to choose, and a message holding it goes into JSON and
 * the log, which take only text. */
static void printable(char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || (unsigned char)*s > 0x7e)
			*s = '?';
}

int deploy_archive_read(const void *data, size_t len, struct deploy_archive *out, char *err,
			size_t errlen)
{
	memset(out, 0, sizeof *out);
	struct entries es = {0};
	struct archive *ar = archive_read_new();
	if (!ar) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	archive_read_support_filter_gzip(ar);
	archive_read_support_format_zip(ar);
	archive_read_support_format_tar(ar);
	int rc = -1;
	if (archive_read_open_memory(ar, data, len) != ARCHIVE_OK) {
		const char *why = archive_error_string(ar);
		snprintf(err, errlen, "not a zip, tar or tar.gz archive (%.200s)",
			 why ? why : "unreadable");
		goto out;
	}
	if (read_entries(ar, &es, err, errlen) < 0)
		goto out;
	size_t strip = common_folder(&es);
	out->files = json_object();
	out->skipped = json_array();
	for (size_t i = 0; i < es.n; i++) {
		const struct entry *en = &es.v[i];
		if (en->dir || en->metadata || strlen(en->name) <= strip)
			continue;
		const char *name = en->name + strip;
		if (strcmp(name, "config.yml") == 0) {
			if (out->config) {
				snprintf(err, errlen, "'%.200s': config.yml twice in the archive",
					 en->name);
				goto out;
			}
			if (memchr(en->data ? en->data : "", '\0', en->len) ||
			    !(out->config = malloc(en->len + 1))) {
				snprintf(err, errlen, "'%.200s': not text", en->name);
				goto out;
			}
			memcpy(out->config, en->data ? en->data : "", en->len);
			out->config[en->len] = '\0';
			continue;
		}
		if (strncmp(name, "StepFiles/", 10) != 0) {
			char shown[DA_MAX_NAME + 1];
			snprintf(shown, sizeof shown, "%s", name);
			printable(shown);
			json_array_append_new(out->skipped, json_string(shown));
			continue;
		}
		const char *file = name + 10;
		if (strchr(file, '/') || !admin_file_name_ok(file)) {
			snprintf(err, errlen, "'%.200s': the files of StepFiles/ are named [A-Za-z0-9._-] "
					      "without '..' (no folders inside it)", en->name);
			goto out;
		}
		json_t *text = json_stringn(en->data ? en->data : "", en->len);
		if (!text) {
			snprintf(err, errlen, "'%.200s': not UTF-8 text (a deploy takes text files)",
				 en->name);
			goto out;
		}
		json_object_set_new(out->files, file, text);
	}
	if (!out->config) {
		snprintf(err, errlen, "no config.yml at the top of the archive (or of its one folder)");
		goto out;
	}
	rc = 0;
out:
	if (rc < 0)
		printable(err);
	archive_read_free(ar);
	entries_free(&es);
	if (rc < 0)
		deploy_archive_free(out);
	return rc;
}

void deploy_archive_free(struct deploy_archive *a)
{
	free(a->config);
	json_decref(a->files);
	json_decref(a->skipped);
	memset(a, 0, sizeof *a);
}
