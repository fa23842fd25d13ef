/* withdraw: see withdraw.h. The order: the live session is stopped (its
 * files are closed and queued), uploads are held (storage_pause), each file
 * is hashed and deleted, the uploads' objects and jobs are deleted, uploads
 * go on, then the store's rows go, and the audit entry is written. */
#include "console/withdraw.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "console/audit.h"
#include "core/datapath.h"
#include "core/log.h"
#include "session/session.h"
#include "storage/storage.h"
#include "store/store.h"

static void hex(const unsigned char *b, size_t n, char *out)
{
	static const char d[] = "0123456789abcdef";
	for (size_t i = 0; i < n; i++) {
		out[2 * i] = d[b[i] >> 4];
		out[2 * i + 1] = d[b[i] & 15];
	}
	out[2 * n] = '\0';
}

static void sha256_text(const char *s, size_t len, char out[65])
{
	unsigned char md[32];
	unsigned int n = 0;
	EVP_Digest(s, len, md, &n, EVP_sha256(), NULL);
	hex(md, 32, out);
}

/* SHA-256 and size of the file at PATH; -1 when it cannot be read. */
static int sha256_file(const char *path, char out[65], long long *size)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return -1;
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	int rc = ctx && EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) == 1 ? 0 : -1;
	char buf[65536];
	*size = 0;
	while (rc == 0) {
		ssize_t r = read(fd, buf, sizeof buf);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			rc = -1;
		if (r <= 0)
			break;
		*size += r;
		EVP_DigestUpdate(ctx, buf, (size_t)r);
	}
	unsigned char md[32];
	unsigned int n = 0;
	if (rc == 0 && EVP_DigestFinal_ex(ctx, md, &n) == 1)
		hex(md, 32, out);
	else
		rc = -1;
	EVP_MD_CTX_free(ctx);
	close(fd);
	return rc;
}

/* Hashes and deletes the regular files of DIR (then DIR itself), each
 * listed in FILES as {path (relative to the data folder), size, sha256}. */
static int delete_folder(const char *data_dir, const char *rel, json_t *files, json_t *left)
{
	char dir[4400];
	snprintf(dir, sizeof dir, "%s/%s", data_dir, rel);
	DIR *d = opendir(dir);
	if (!d)
		return errno == ENOENT ? 0 : -1;
	struct dirent *de;
	while ((de = readdir(d))) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		char path[4700], sum[65];
		long long size = 0;
		snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
		struct stat sb;
		if (lstat(path, &sb) < 0)
			continue;
		bool hashed = S_ISREG(sb.st_mode) && sha256_file(path, sum, &size) == 0;
		char relf[800];
		snprintf(relf, sizeof relf, "%s/%s", rel, de->d_name);
		if (unlink(path) == 0)
			json_array_append_new(files, json_pack("{s:s,s:I,s:s?}", "path", relf, "size",
							       (json_int_t)(hashed ? size : sb.st_size),
							       "sha256", hashed ? sum : NULL));
		else
			json_array_append_new(left, json_pack("{s:s,s:s}", "path", relf, "error",
							      strerror(errno)));
	}
	closedir(d);
	rmdir(dir);
	return 0;
}

static int delete_file(const char *data_dir, const char *rel, json_t *files, json_t *left)
{
	char path[4400], sum[65];
	long long size = 0;
	snprintf(path, sizeof path, "%s/%s", data_dir, rel);
	struct stat sb;
	if (lstat(path, &sb) < 0)
		return 0;
	bool hashed = S_ISREG(sb.st_mode) && sha256_file(path, sum, &size) == 0;
	if (unlink(path) == 0)
		json_array_append_new(files, json_pack("{s:s,s:I,s:s?}", "path", rel, "size",
						       (json_int_t)size, "sha256",
						       hashed ? sum : NULL));
	else
		json_array_append_new(left, json_pack("{s:s,s:s}", "path", rel, "error",
						      strerror(errno)));
	return 0;
}

struct forget_ctx {
	json_t *uploads, *left;
};

static void forgotten(void *user, const struct storage_forgotten *f)
{
	struct forget_ctx *k = user;
	json_t *e = json_pack("{s:s,s:s,s:s,s:s,s:I}", "key", f->key, "bucket", f->bucket,
			      "endpoint", f->endpoint, "state", f->state, "status",
			      (json_int_t)f->status);
	if (f->error) {
		json_object_set_new(e, "error", json_string(f->error));
		json_array_append_new(k->left, e);
	} else {
		json_array_append_new(k->uploads, e);
	}
}

int withdraw_participant(const struct withdraw_opts *o, json_t **report, char *err,
			 size_t errlen)
{
	*report = NULL;
	const char *p = o->project_id, *u = o->user_id;
	if (o->sess)
		sess_stop(o->sess, p, u, SESS_END_STOP);
	/* the store's record as it was: what its hash stands for */
	struct store_participant part;
	int found = store_participant_get(o->store, p, u, &part);
	if (found < 0) {
		snprintf(err, errlen, "participant store: %s", store_errmsg(o->store));
		return 500;
	}
	json_t *rec = found ? store_participant_json(o->store, p, u) : NULL;
	char *rec_text = rec ? json_dumps(rec, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
	char rec_sum[65] = "";
	if (rec_text)
		sha256_text(rec_text, strlen(rec_text), rec_sum);
	json_decref(rec);
	free(rec_text);

	json_t *files = json_array(), *uploads = json_array(), *left = json_array();
	char rel[512];
	if (o->storage)
		storage_pause(o->storage);
	snprintf(rel, sizeof rel, "%s/trials/%s", p, u);
	delete_folder(o->data_dir, rel, files, left);
	snprintf(rel, sizeof rel, "%s/users/%s.json", p, u);
	delete_file(o->data_dir, rel, files, left);
	char ferr[256] = "";
	long nup = 0;
	if (o->storage) {
		struct forget_ctx k = {uploads, left};
		nup = storage_forget(o->storage, p, u, forgotten, &k, ferr, sizeof ferr);
		storage_resume(o->storage);
		if (nup < 0)
			json_array_append_new(left, json_pack("{s:s,s:s}", "what", "uploads",
							      "error", ferr));
	}
	struct store_delete_counts dc = {0};
	int del = found ? store_participant_delete(o->store, part.id, &dc) : 0;
	if (del < 0)
		json_array_append_new(left, json_pack("{s:s,s:s}", "what", "participant store rows",
						      "error", store_errmsg(o->store)));
	long long rows = dc.participants + dc.answers + dc.passes + dc.requests +
			 dc.header_sets + dc.sessions + dc.groups;
	json_t *entry = json_pack(
		"{s:s,s:{s:s,s:s,s:s},s:s,s:s,s:{s:I,s:{s:I,s:I,s:I,s:I,s:I,s:I,s:I},s:s?,s:o,s:o},"
		"s:o,s:b}",
		"action", "withdraw", "by", "name", o->by_name ? o->by_name : "", "address",
		o->by_address ? o->by_address : "", "via", o->via ? o->via : "", "project", p,
		"userId", u, "deleted", "rows", (json_int_t)rows, "tables", "participants",
		(json_int_t)dc.participants, "answers", (json_int_t)dc.answers, "passes",
		(json_int_t)dc.passes, "requests",
		(json_int_t)dc.requests, "header_sets", (json_int_t)dc.header_sets, "sessions",
		(json_int_t)dc.sessions, "groups", (json_int_t)dc.groups, "storeRecordSha256",
		rec_sum[0] ? rec_sum : NULL, "files", files, "uploads", uploads, "left", left,
		"complete", json_array_size(left) == 0);
	if (!found && json_array_size(files) == 0 && json_array_size(uploads) == 0) {
		json_decref(entry);
		snprintf(err, errlen, "no such participant, and no data of theirs");
		return 404;
	}
	char id[48];
	if (audit_append(o->data_dir, entry, id, sizeof id, err, errlen) < 0) {
		log_error("console", "withdrawal done but its audit entry not written",
			  "project=%s user=%s error=\"%s\"", p, u, err);
		json_decref(entry);
		return 500;
	}
	log_info("console", "participant withdrawn",
		 "project=%s user=%s rows=%lld files=%zu uploads=%zu complete=%d audit=%s by=\"%s\"",
		 p, u, rows, json_array_size(files), json_array_size(uploads),
		 json_array_size(left) == 0, id, o->by_name ? o->by_name : "");
	json_object_set_new(entry, "audit", json_string(id));
	*report = entry;
	return 200;
}
