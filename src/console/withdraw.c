/* withdraw: see withdraw.h. The order: the live session is stopped (its
 * files are closed and queued), uploads are held (storage_pause), each file
 * is hashed and deleted, the uploads' objects and jobs are deleted, uploads
 * go on, then the store's rows go, the withdrawal is recorded for the other
 * nodes, the objects they uploaded are listed and deleted, and the audit
 * entry is written. */
#include "console/withdraw.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "console/audit.h"
#include "core/buf.h"
#include "core/datapath.h"
#include "core/id.h"
#include "core/log.h"
#include "core/ticker.h"
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

/* ------------------------------------------------------------ the watch */

struct withdraw_watch {
	struct withdraw_opts o;
	char node[ID_NODE_MAX + 1];
	char *data_dir;
	char mark[4400];
	long long last;         /* the last withdrawal applied */
	struct ticker *ticker;
	/* held by a poll from its read to its mark, and by withdraw_participant
	 * from its insert to its own poll (its withdrawal is not applied again,
	 * even by this node started anew) */
	pthread_mutex_t poll_mu;
};

static void poll_locked(struct withdraw_watch *w, long long own);

/* What is deleted on this node: the live session stopped (its files closed
 * and queued), uploads held, the files hashed and deleted, the uploads'
 * objects and jobs deleted, uploads going on. */
static void withdraw_here(const struct withdraw_opts *o, json_t *files, json_t *uploads,
			  json_t *left)
{
	const char *p = o->project_id, *u = o->user_id;
	char rel[512];
	if (o->sess)
		sess_stop(o->sess, p, u, SESS_END_STOP);
	if (o->storage)
		storage_pause(o->storage);
	snprintf(rel, sizeof rel, "%s/trials/%s", p, u);
	delete_folder(o->data_dir, rel, files, left);
	snprintf(rel, sizeof rel, "%s/users/%s.json", p, u);
	delete_file(o->data_dir, rel, files, left);
	if (o->storage) {
		char ferr[256] = "";
		struct forget_ctx k = {uploads, left};
		long nup = storage_forget(o->storage, p, u, forgotten, &k, ferr, sizeof ferr);
		storage_resume(o->storage);
		if (nup < 0)
			json_array_append_new(left, json_pack("{s:s,s:s}", "what", "uploads",
							      "error", ferr));
	}
}

/* The objects other nodes uploaded for the participant, listed and deleted
 * (storage_sweep), each added to UPLOADS or LEFT unless already there. */
static void sweep(const struct withdraw_opts *o, json_t *uploads, json_t *left)
{
	if (!o->storage)
		return;
	json_t *swept = json_array();
	struct forget_ctx k = {swept, left};
	char err[256] = "";
	if (storage_sweep(o->storage, o->project_id, o->user_id, forgotten, &k, err, sizeof err) <
	    0)
		json_array_append_new(left, json_pack("{s:s,s:s}", "what", "uploads of other nodes",
						      "error", err));
	size_t i;
	json_t *e;
	json_array_foreach(swept, i, e)
	{
		const char *key = json_string_value(json_object_get(e, "key"));
		bool known = false;
		size_t j;
		json_t *x;
		json_array_foreach(uploads, j, x)
			known = known || strcmp(key, json_string_value(json_object_get(x, "key"))) == 0;
		if (!known && json_integer_value(json_object_get(e, "status")) != 404)
			json_array_append(uploads, e);
	}
	json_decref(swept);
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
	withdraw_here(o, files, uploads, left);
	struct store_delete_counts dc = {0};
	int del = found ? store_participant_delete(o->store, part.id, &dc) : 0;
	if (del < 0)
		json_array_append_new(left, json_pack("{s:s,s:s}", "what", "participant store rows",
						      "error", store_errmsg(o->store)));
	/* the other nodes delete what they hold when they see it (withdraw_watch) */
	long long wid = 0;
	if (o->watch)
		pthread_mutex_lock(&o->watch->poll_mu);
	if (store_withdrawal_add(o->store, p, u, o->node, &wid) < 0)
		json_array_append_new(left, json_pack("{s:s,s:s}", "what", "the other nodes' data",
						      "error", store_errmsg(o->store)));
	else if (o->watch)
		poll_locked(o->watch, wid); /* the mark moves past it now */
	if (o->watch)
		pthread_mutex_unlock(&o->watch->poll_mu);
	sweep(o, uploads, left);
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
	if (wid > 0)
		json_object_set_new(entry, "withdrawal", json_integer(wid));
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

static long long mark_read(const char *path)
{
	FILE *f = fopen(path, "re");
	if (!f)
		return -1;
	long long v = -1;
	if (fscanf(f, "%lld", &v) != 1 || v < 0)
		v = -1;
	fclose(f);
	return v;
}

static int mark_write(const char *path, long long v)
{
	char tmp[4500];
	snprintf(tmp, sizeof tmp, "%s.tmp", path);
	FILE *f = fopen(tmp, "we");
	if (!f)
		return -1;
	int ok = fprintf(f, "%lld\n", v) > 0;
	ok = fflush(f) == 0 && ok && fsync(fileno(f)) == 0;
	ok = fclose(f) == 0 && ok;
	return ok && rename(tmp, path) == 0 ? 0 : -1;
}

/* The withdrawals of one poll (copied: the iterator must not call the store). */
struct pending {
	struct pend {
		long long id;
		char project_id[ID_MAX + 1], user_id[ID_MAX + 1];
		bool ours;
	} *v;
	size_t n, cap;
	const char *node;
	bool oom;
};

static int on_withdrawal(void *user, const struct store_withdrawal_row *r)
{
	struct pending *k = user;
	if (buf_grow_array((void **)&k->v, &k->cap, k->n + 1, sizeof *k->v, 16, 0) < 0) {
		k->oom = true;
		return 1;
	}
	struct pend *e = &k->v[k->n++];
	e->id = r->id;
	/* ids from the store are checked again: they become paths here */
	bool ok = id_valid_project(r->project_id) && id_valid_user(r->user_id);
	snprintf(e->project_id, sizeof e->project_id, "%s", ok ? r->project_id : "");
	snprintf(e->user_id, sizeof e->user_id, "%s", ok ? r->user_id : "");
	e->ours = k->node[0] && strcmp(r->node, k->node) == 0;
	return 0;
}

/* Applies one withdrawal made elsewhere: what this node holds of the
 * participant goes, and an audit entry says what, when there was any. */
static void apply(struct withdraw_watch *w, const struct pend *e)
{
	struct withdraw_opts o = w->o;
	o.project_id = e->project_id;
	o.user_id = e->user_id;
	json_t *files = json_array(), *uploads = json_array(), *left = json_array();
	withdraw_here(&o, files, uploads, left);
	size_t nf = json_array_size(files), nu = json_array_size(uploads),
	       nl = json_array_size(left);
	if (nf + nu + nl == 0) {
		log_debug("console", "withdrawal: nothing of theirs here", "project=%s user=%s id=%lld",
			  e->project_id, e->user_id, e->id);
		json_decref(files);
		json_decref(uploads);
		json_decref(left);
		return;
	}
	json_t *entry = json_pack("{s:s,s:I,s:s,s:s,s:s,s:{s:o,s:o},s:o,s:b}", "action",
				  "withdraw_applied", "withdrawal", (json_int_t)e->id, "node",
				  w->node, "project", e->project_id, "userId", e->user_id,
				  "deleted", "files", files, "uploads", uploads, "left", left,
				  "complete", nl == 0);
	char id[48], err[256];
	if (audit_append(w->data_dir, entry, id, sizeof id, err, sizeof err) < 0)
		log_error("console", "withdrawal applied but its audit entry not written",
			  "project=%s user=%s error=\"%s\"", e->project_id, e->user_id, err);
	log_info("console", "withdrawal applied on this node",
		 "project=%s user=%s id=%lld files=%zu uploads=%zu complete=%d", e->project_id,
		 e->user_id, e->id, nf, nu, nl == 0);
	json_decref(entry);
}

/* One poll (POLL_MU held): applies the withdrawals after the last applied,
 * in order, but this node's and OWN (0: none), and moves the mark past
 * each. */
static void poll_locked(struct withdraw_watch *w, long long own)
{
	struct pending k = {.node = w->node};
	int rc = store_withdrawals_each(w->o.store, w->last, on_withdrawal, &k);
	for (size_t i = 0; rc >= 0 && i < k.n; i++)
		k.v[i].ours = k.v[i].ours || k.v[i].id == own;
	if (rc < 0 || k.oom) {
		log_warn("console", "withdrawals not read", "error=\"%s\"",
			 k.oom ? "out of memory" : store_errmsg(w->o.store));
		free(k.v);
		return;
	}
	for (size_t i = 0; i < k.n; i++) {
		const struct pend *e = &k.v[i];
		if (!e->ours && e->project_id[0])
			apply(w, e);
		w->last = e->id;
		if (mark_write(w->mark, w->last) < 0)
			log_warn("console", "withdrawal mark not written", "path=%s error=\"%s\"",
				 w->mark, strerror(errno));
	}
	free(k.v);
}

static void poll_once(struct withdraw_watch *w)
{
	pthread_mutex_lock(&w->poll_mu);
	poll_locked(w, 0);
	pthread_mutex_unlock(&w->poll_mu);
}

static void watch_tick(void *user)
{
	poll_once(user);
}

static int on_max(void *user, const struct store_withdrawal_row *r)
{
	*(long long *)user = r->id;
	return 0;
}

int withdraw_watch_start(struct withdraw_watch **out, const struct withdraw_opts *o, int poll_ms,
			 char *err, size_t errlen)
{
	*out = NULL;
	struct withdraw_watch *w = calloc(1, sizeof *w);
	if (!w || !(w->data_dir = strdup(o->data_dir))) {
		free(w);
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	w->o = *o;
	w->o.data_dir = w->data_dir;
	w->o.via = "node";
	snprintf(w->node, sizeof w->node, "%s", o->node ? o->node : "");
	w->o.node = w->node;
	if (datapath_withdrawals_mark(w->mark, sizeof w->mark, w->data_dir, w->node) < 0) {
		snprintf(err, errlen, "data folder path too long");
		goto fail;
	}
	w->last = mark_read(w->mark);
	if (w->last < 0) {
		/* a node's first start: it holds nothing of earlier withdrawals */
		w->last = 0;
		if (store_withdrawals_each(o->store, 0, on_max, &w->last) < 0) {
			snprintf(err, errlen, "withdrawals: %s", store_errmsg(o->store));
			goto fail;
		}
		char dir[4400];
		datapath_spool_dir(dir, sizeof dir, w->data_dir);
		mkdir(dir, 0700);
		if (mark_write(w->mark, w->last) < 0) {
			snprintf(err, errlen, "%s: %s", w->mark, strerror(errno));
			goto fail;
		}
	}
	/* withdrawals made while the node was down: applied before it takes a game */
	pthread_mutex_init(&w->poll_mu, NULL);
	poll_once(w);
	if (!(w->ticker = ticker_start(poll_ms > 0 ? poll_ms : 2000, watch_tick, w))) {
		snprintf(err, errlen, "cannot start the withdrawal thread");
		pthread_mutex_destroy(&w->poll_mu);
		goto fail;
	}
	*out = w;
	return 0;
fail:
	free(w->data_dir);
	free(w);
	return -1;
}

void withdraw_watch_stop(struct withdraw_watch *w)
{
	if (!w)
		return;
	ticker_stop(w->ticker);
	pthread_mutex_destroy(&w->poll_mu);
	free(w->data_dir);
	free(w);
}
