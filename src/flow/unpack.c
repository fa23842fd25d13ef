/* unpack: a study folder's archive unpacked in memory (see unpack.h). */
#include "flow/unpack.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <archive.h>
#include <archive_entry.h>

#include "flow/admin.h"

#define MIB(n) ((n) >> 20)

/* One entry kept: a folder (DATA NULL) or a file, by its name in the archive
 * with any leading "./" removed. */
struct item {
	char *name;
	bool dir;
	char *data;
	size_t len;
	char shown[256]; /* the name as it may be shown */
};

struct items {
	struct item *v;
	size_t n, cap;
};

static void items_free(struct items *it)
{
	for (size_t i = 0; i < it->n; i++) {
		free(it->v[i].name);
		free(it->v[i].data);
	}
	free(it->v);
	memset(it, 0, sizeof *it);
}

/* NAME with every byte outside printable ASCII as \xNN, cut at about 200
 * bytes: safe in a JSON message and a log line. */
static void shown_name(const char *name, char *out, size_t outlen)
{
	size_t o = 0;
	for (const unsigned char *c = (const unsigned char *)name; *c && o + 8 < outlen; c++) {
		if (o > 200) {
			memcpy(out + o, "...", 3);
			o += 3;
			break;
		}
		if (*c >= 0x20 && *c < 0x7f && *c != '\\')
			out[o++] = (char)*c;
		else
			o += (size_t)snprintf(out + o, outlen - o, "\\x%02x", *c);
	}
	out[o] = '\0';
}

static int refuse(struct unpack_result *r, int status, const char *entry, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* Sets R's message (prefixed with the entry when there is one) and returns STATUS. */
static int refuse(struct unpack_result *r, int status, const char *entry, const char *fmt, ...)
{
	char msg[400];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	snprintf(r->entry, sizeof r->entry, "%s", entry ? entry : "");
	if (entry && entry[0])
		snprintf(r->error, sizeof r->error, "archive entry '%s': %s", entry, msg);
	else
		snprintf(r->error, sizeof r->error, "%s", msg);
	return status;
}

/* ------------------------------------------------------------ gzip */

/* Unpacks the gzip stream DATA into *OUT (at most UNPACK_MAX_STREAM bytes;
 * *CUT when there was more). Returns 0, or a refusal. */
static int gunzip(const void *data, size_t len, char **out, size_t *outlen, bool *cut,
		  struct unpack_result *r)
{
	struct archive *a = archive_read_new();
	struct archive_entry *e;
	size_t cap = 1u << 20, n = 0;
	char *buf = malloc(cap);
	int status = 0;
	*cut = false;
	if (!a || !buf) {
		status = refuse(r, 413, NULL, "out of memory");
		goto out;
	}
	/* zlib inside libarchive; ARCHIVE_WARN would mean an external program */
	if (archive_read_support_filter_gzip(a) != ARCHIVE_OK ||
	    archive_read_support_format_raw(a) != ARCHIVE_OK ||
	    archive_read_open_memory(a, data, len) != ARCHIVE_OK ||
	    archive_read_next_header(a, &e) != ARCHIVE_OK) {
		status = refuse(r, 400, NULL, "the gzip stream cannot be read: %s",
				archive_error_string(a) ? archive_error_string(a) : "?");
		goto out;
	}
	for (;;) {
		if (n == cap) {
			if (cap > UNPACK_MAX_STREAM) {
				*cut = true;
				break;
			}
			size_t ncap = cap * 2 > UNPACK_MAX_STREAM + 1 ? UNPACK_MAX_STREAM + 1 : cap * 2;
			char *nb = realloc(buf, ncap);
			if (!nb) {
				status = refuse(r, 413, NULL, "out of memory");
				goto out;
			}
			buf = nb;
			cap = ncap;
		}
		la_ssize_t k = archive_read_data(a, buf + n, cap - n);
		if (k < 0) {
			status = refuse(r, 400, NULL, "the gzip stream is damaged: %s",
					archive_error_string(a) ? archive_error_string(a) : "?");
			goto out;
		}
		if (k == 0)
			break;
		n += (size_t)k;
	}
	if (n > UNPACK_MAX_STREAM) {
		*cut = true;
		n = UNPACK_MAX_STREAM;
	}
	*out = buf;
	*outlen = n;
	buf = NULL;
out:
	free(buf);
	if (a)
		archive_read_free(a);
	return status;
}

/* ------------------------------------------------------------ entries */

/* Checks the name of an entry (its leading "./" removed into *REST):
 * relative, no empty, "." or ".." component, no control character or
 * backslash. Returns 0 or a refusal. */
static int check_name(const char *name, const char *shown, const char **rest,
		      struct unpack_result *r)
{
	while (name[0] == '.' && name[1] == '/')
		name += 2;
	*rest = name;
	if (name[0] == '/')
		return refuse(r, 400, shown, "an absolute path");
	for (const unsigned char *c = (const unsigned char *)name; *c; c++)
		if (*c < 0x20 || *c == 0x7f || *c == '\\')
			return refuse(r, 400, shown,
				      "a name with a control character or a backslash");
	if (strcmp(name, ".") == 0)
		return 0; /* the archive's root */
	for (const char *p = name; *p;) {
		size_t k = strcspn(p, "/");
		if (k == 0)
			return refuse(r, 400, shown, "a name with an empty component ('//')");
		if (k == 2 && p[0] == '.' && p[1] == '.')
			return refuse(r, 400, shown, "a name with '..'");
		if (k == 1 && p[0] == '.')
			return refuse(r, 400, shown, "a name with a '.' component");
		p += k;
		if (*p == '/')
			p++;
	}
	return 0;
}

/* macOS's metadata, skipped: a top-level __MACOSX/ and .DS_Store files. */
static bool metadata(const char *name)
{
	size_t n = strlen(name);
	while (n > 0 && name[n - 1] == '/')
		n--;
	size_t b = n;
	while (b > 0 && name[b - 1] != '/')
		b--;
	return strncmp(name, "__MACOSX", 8) == 0 && (name[8] == '/' || name[8] == '\0') ? true
	       : n - b == 9 && strncmp(name + b, ".DS_Store", 9) == 0;
}

static int add_item(struct items *it, const char *name, bool dir, char *data, size_t len,
		    const char *shown)
{
	if (it->n == it->cap) {
		size_t cap = it->cap ? it->cap * 2 : 32;
		struct item *v = realloc(it->v, cap * sizeof *v);
		if (!v)
			return -1;
		it->v = v;
		it->cap = cap;
	}
	struct item *x = &it->v[it->n];
	memset(x, 0, sizeof *x);
	x->name = strdup(name);
	if (!x->name)
		return -1;
	x->dir = dir;
	x->data = data;
	x->len = len;
	snprintf(x->shown, sizeof x->shown, "%s", shown);
	it->n++;
	return 0;
}

/* Reads the data of the current entry (a regular file) into *OUT, counting
 * it in *TOTAL. Returns 0 or a refusal. */
static int read_file(struct archive *a, struct archive_entry *e, const char *shown,
		     size_t *total, char **out, size_t *outlen, struct unpack_result *r)
{
	if (archive_entry_size_is_set(e) && archive_entry_size(e) > (la_int64_t)UNPACK_MAX_FILE)
		return refuse(r, 413, shown, "%lld bytes unpacked, more than the %u MiB a file may have",
			      (long long)archive_entry_size(e), MIB(UNPACK_MAX_FILE));
	size_t cap = 4096, n = 0;
	char *buf = malloc(cap);
	if (!buf)
		return refuse(r, 413, shown, "out of memory");
	for (;;) {
		if (n == cap) {
			size_t ncap = cap * 2 > UNPACK_MAX_FILE + 1 ? UNPACK_MAX_FILE + 1 : cap * 2;
			char *nb = realloc(buf, ncap);
			if (!nb) {
				free(buf);
				return refuse(r, 413, shown, "out of memory");
			}
			buf = nb;
			cap = ncap;
		}
		la_ssize_t k = archive_read_data(a, buf + n, cap - n);
		if (k < 0) {
			free(buf);
			return refuse(r, 400, shown, "its data cannot be read: %s",
				      archive_error_string(a) ? archive_error_string(a) : "?");
		}
		if (k == 0)
			break;
		n += (size_t)k;
		if (n > UNPACK_MAX_FILE) {
			free(buf);
			return refuse(r, 413, shown, "more than the %u MiB a file may have unpacked",
				      MIB(UNPACK_MAX_FILE));
		}
		if (*total + n > UNPACK_MAX_TOTAL) {
			free(buf);
			return refuse(r, 413, shown,
				      "the files unpack to more than the %u MiB a study may have",
				      MIB(UNPACK_MAX_TOTAL));
		}
	}
	*total += n;
	*out = buf;
	*outlen = n;
	return 0;
}

/* Reads every entry of the (uncompressed) zip or tar DATA into IT, checking
 * each as it comes. *LAST gets the last entry's shown name. Returns 0 or a
 * refusal. */
static int read_entries(const void *data, size_t len, struct items *it, char *last,
			size_t lastlen, struct unpack_result *r)
{
	struct archive *a = archive_read_new();
	struct archive_entry *e;
	size_t count = 0, total = 0;
	int status = 0;
	last[0] = '\0';
	if (!a)
		return refuse(r, 413, NULL, "out of memory");
	if (archive_read_support_filter_none(a) != ARCHIVE_OK ||
	    archive_read_support_format_zip_seekable(a) != ARCHIVE_OK ||
	    archive_read_support_format_tar(a) != ARCHIVE_OK ||
	    archive_read_open_memory(a, data, len) != ARCHIVE_OK) {
		status = refuse(r, 400, NULL,
				"not a zip or tar archive (gzip-compressed or not): %s",
				archive_error_string(a) ? archive_error_string(a) : "?");
		goto out;
	}
	for (;;) {
		int k = archive_read_next_header(a, &e);
		if (k == ARCHIVE_EOF)
			break;
		if (k < ARCHIVE_WARN) {
			const char *why = archive_error_string(a) ? archive_error_string(a) : "?";
			status = count == 0 ? refuse(r, 400, NULL,
						     "not a zip or tar archive (gzip-compressed "
						     "or not): %s",
						     why)
					    : refuse(r, 400, NULL,
						     "the archive is damaged after entry '%s': %s",
						     last, why);
			goto out;
		}
		const char *name = archive_entry_pathname(e);
		if (!name)
			name = archive_entry_pathname_utf8(e);
		char shown[256];
		shown_name(name ? name : "", shown, sizeof shown);
		snprintf(last, lastlen, "%s", shown);
		if (++count > UNPACK_MAX_ENTRIES) {
			status = refuse(r, 413, shown, "more than %d entries in the archive",
					UNPACK_MAX_ENTRIES);
			goto out;
		}
		if (!name || !name[0]) {
			status = refuse(r, 400, shown, "an entry without a readable name");
			goto out;
		}
		mode_t type = archive_entry_filetype(e);
		if (archive_entry_hardlink(e)) {
			status = refuse(r, 400, shown, "a hard link (only files and folders)");
			goto out;
		}
		if (type == AE_IFLNK || archive_entry_symlink(e)) {
			status = refuse(r, 400, shown, "a symbolic link (only files and folders)");
			goto out;
		}
		if (type != AE_IFREG && type != AE_IFDIR) {
			status = refuse(r, 400, shown,
					"a device, FIFO or socket (only files and folders)");
			goto out;
		}
		if (archive_entry_is_encrypted(e)) {
			status = refuse(r, 400, shown, "encrypted");
			goto out;
		}
		const char *rest;
		if ((status = check_name(name, shown, &rest, r)) != 0)
			goto out;
		if (metadata(rest) || rest[0] == '\0' || strcmp(rest, ".") == 0)
			continue; /* macOS's metadata, the archive's own root */
		char *buf = NULL;
		size_t n = 0;
		if (type == AE_IFREG &&
		    (status = read_file(a, e, shown, &total, &buf, &n, r)) != 0)
			goto out;
		if (add_item(it, rest, type == AE_IFDIR, buf, n, shown) < 0) {
			free(buf);
			status = refuse(r, 413, shown, "out of memory");
			goto out;
		}
	}
out:
	archive_read_free(a);
	return status;
}

/* ------------------------------------------------------------ the layout */

/* The length of NAME's first component. */
static size_t first_len(const char *name)
{
	return strcspn(name, "/");
}

/* Whether every item lies in one top-level folder (which is stripped): all
 * share their first component, and no file has it as its whole name. */
static size_t common_folder(const struct items *it)
{
	if (it->n == 0)
		return 0;
	size_t k = first_len(it->v[0].name);
	for (size_t i = 0; i < it->n; i++) {
		const struct item *x = &it->v[i];
		if (first_len(x->name) != k || strncmp(x->name, it->v[0].name, k) != 0)
			return 0;
		if (x->name[k] == '\0' && !x->dir)
			return 0;
	}
	return k;
}

/* Maps the items to config.yml and StepFiles/. Returns 0 or a refusal. */
static int layout(const struct items *it, struct unpack_result *r)
{
	size_t strip = common_folder(it);
	bool config = false;
	for (size_t i = 0; i < it->n && !config; i++) {
		const char *p = it->v[i].name + strip;
		p += strip && *p == '/';
		config = !it->v[i].dir && strcmp(p, "config.yml") == 0;
	}
	if (!config)
		return refuse(r, 400, NULL,
			      "the archive has no config.yml at its top or in its one top-level "
			      "folder");
	r->files = json_object();
	if (!r->files)
		return refuse(r, 413, NULL, "out of memory");
	for (size_t i = 0; i < it->n; i++) {
		const struct item *x = &it->v[i];
		const char *p = x->name + strip;
		if (strip)
			p += *p == '/';
		char rel[300];
		size_t n = strlen(p);
		if (n >= sizeof rel)
			return refuse(r, 400, x->shown, "a name too long");
		memcpy(rel, p, n + 1);
		if (n > 0 && rel[n - 1] == '/')
			rel[--n] = '\0';
		if (n == 0 && x->dir)
			continue; /* the stripped folder itself */
		if (x->dir && strcmp(rel, "StepFiles") == 0)
			continue;
		if (!x->dir && strcmp(rel, "config.yml") == 0) {
			if (r->config)
				return refuse(r, 400, x->shown, "config.yml appears twice");
			if (memchr(x->data, '\0', x->len))
				return refuse(r, 400, x->shown, "config.yml holds a NUL byte");
			json_t *t = json_stringn(x->data, x->len);
			if (!t)
				return refuse(r, 400, x->shown, "config.yml is not UTF-8 text");
			json_decref(t);
			r->config = malloc(x->len + 1);
			if (!r->config)
				return refuse(r, 413, x->shown, "out of memory");
			memcpy(r->config, x->data, x->len);
			r->config[x->len] = '\0';
			continue;
		}
		const char *base = strncmp(rel, "StepFiles/", 10) == 0 ? rel + 10 : NULL;
		if (!x->dir && base && admin_file_name_valid(base)) {
			if (json_object_get(r->files, base))
				return refuse(r, 400, x->shown, "StepFiles/%s appears twice", base);
			json_t *t = json_stringn(x->data, x->len);
			if (!t)
				return refuse(r, 400, x->shown,
					      "not UTF-8 text (step files are text: HTML, CSS)");
			json_object_set_new(r->files, base, t);
			continue;
		}
		return refuse(r, 400, x->shown,
			      "not part of a study folder: an archive holds config.yml and "
			      "StepFiles/<name> (names [A-Za-z0-9._-], not starting with '.', "
			      "without '..'), at its top or in its one top-level folder");
	}
	return 0;
}

/* ------------------------------------------------------------ entry points */

int unpack_study(const void *data, size_t len, struct unpack_result *r)
{
	memset(r, 0, sizeof *r);
	const unsigned char *d = data;
	char *plain = NULL, last[256];
	size_t plen = 0;
	bool cut = false;
	struct items it = {0};
	int status;
	if (!data || len == 0)
		return refuse(r, 400, NULL, "an empty body: send the archive of the study folder");
	if (len >= 2 && d[0] == 0x1f && d[1] == 0x8b) {
		if ((status = gunzip(data, len, &plain, &plen, &cut, r)) != 0)
			goto out;
		data = plain;
		len = plen;
	}
	status = read_entries(data, len, &it, last, sizeof last, r);
	/* A gzip stream unpacking past the limit is refused whatever it held;
	 * a refusal of one of its entries read before says more. */
	if (cut && (status == 0 || (status == 400 && !r->entry[0]))) {
		status = refuse(r, 413, NULL, "the archive unpacks to more than %u MiB",
				MIB(UNPACK_MAX_STREAM));
		if (last[0]) {
			size_t n = strlen(r->error);
			snprintf(r->error + n, sizeof r->error - n, " (the last entry read: '%s')",
				 last);
			snprintf(r->entry, sizeof r->entry, "%s", last);
		}
	}
	if (status == 0)
		status = layout(&it, r);
out:
	items_free(&it);
	free(plain);
	if (status) {
		free(r->config);
		r->config = NULL;
		json_decref(r->files);
		r->files = NULL;
	}
	return status;
}

void unpack_result_free(struct unpack_result *r)
{
	if (!r)
		return;
	free(r->config);
	json_decref(r->files);
	r->config = NULL;
	r->files = NULL;
}

bool unpack_content_type(const char *ct)
{
	static const char *const types[] = {
		"application/zip",  "application/x-zip-compressed", "application/x-tar",
		"application/gzip", "application/x-gzip",           "application/x-gtar",
		"application/x-compressed-tar",
	};
	if (!ct)
		return false;
	while (*ct == ' ' || *ct == '\t')
		ct++;
	size_t n = strcspn(ct, "; \t");
	for (size_t i = 0; i < sizeof types / sizeof types[0]; i++)
		if (strlen(types[i]) == n && strncasecmp(ct, types[i], n) == 0)
			return true;
	return false;
}
