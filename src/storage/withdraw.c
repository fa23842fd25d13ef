/* withdraw: a participant's uploads forgotten (storage.h, "withdrawal"): the
 * spool's jobs for their files and the objects already in S3, and the
 * objects other writers (the other nodes of a cluster) left under their keys. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/id.h"
#include "core/log.h"
#include "storage/s3.h"
#include "storage/storage_int.h"

void storage_pause(struct storage *st)
{
	storage__drain_queue(st);
	pthread_mutex_lock(&st->up_mu);
}

void storage_resume(struct storage *st)
{
	pthread_mutex_unlock(&st->up_mu);
}

struct job {
	long long id;
	char *path, *endpoint, *region, *bucket, *key, *state;
};

struct found {
	const char *data_dir;
	char trials[256], record[256]; /* "P/trials/U/", "P/users/U.json" */
	struct job *v;
	size_t n, cap;
	bool oom;
};

static char *dup(const char *s)
{
	return strdup(s ? s : "");
}

static void collect(void *user, const struct spool_row *r)
{
	struct found *f = user;
	const char *p = r->path ? r->path : "";
	size_t dl = strlen(f->data_dir);
	if (strncmp(p, f->data_dir, dl) == 0 && p[dl] == '/')
		p += dl + 1;
	while (p[0] == '.' && p[1] == '/')
		p += 2;
	if (strncmp(p, f->trials, strlen(f->trials)) != 0 && strcmp(p, f->record) != 0)
		return;
	if (f->n == f->cap) {
		size_t cap = f->cap ? f->cap * 2 : 16;
		struct job *v = realloc(f->v, cap * sizeof *v);
		if (!v) {
			f->oom = true;
			return;
		}
		f->v = v;
		f->cap = cap;
	}
	f->v[f->n++] = (struct job){.id = r->id,
				    .path = dup(r->path),
				    .endpoint = dup(r->endpoint),
				    .region = dup(r->region),
				    .bucket = dup(r->bucket),
				    .key = dup(r->key),
				    .state = dup(r->state)};
}

/* Sends S3 a DELETE of KEY: NULL when the object is gone (204, or 404: it
 * was not there), else why it may still exist. */
static const char *delete_object(const struct s3_dest *d, const struct s3_creds *creds,
				 const char *key, struct s3_resp *resp)
{
	char url[2400];
	if (!s3_key_valid(key) || s3_url(d, key, url, sizeof url) != 0)
		return "not a valid object key";
	struct s3_req rq = {.method = "DELETE",
			    .url = url,
			    .region = d->region,
			    .creds = creds,
			    .timeout_s = 60};
	if (s3_request(&rq, resp) != 0)
		return resp->error;
	if (resp->status != 204 && resp->status != 200 && resp->status != 404)
		return resp->error[0] ? resp->error : "the store refused the DELETE";
	return NULL;
}

long storage_forget(struct storage *st, const char *project_id, const char *user_id,
		    void (*fn)(void *user, const struct storage_forgotten *f), void *user,
		    char *err, size_t errlen)
{
	struct found f = {.data_dir = st->data_dir};
	snprintf(f.trials, sizeof f.trials, "%s/trials/%s/", project_id, user_id);
	snprintf(f.record, sizeof f.record, "%s/users/%s.json", project_id, user_id);
	pthread_mutex_lock(&st->db_mu);
	long n = spool_list(st->spool, collect, &f);
	if (n < 0)
		snprintf(err, errlen, "upload spool: %s", spool_errmsg(st->spool));
	pthread_mutex_unlock(&st->db_mu);
	if (n < 0 || f.oom) {
		if (f.oom)
			snprintf(err, errlen, "out of memory");
		n = -1;
		goto out;
	}
	struct s3_creds creds;
	char cerr[256] = "";
	bool have_creds = f.n && s3_creds_load(&creds, cerr, sizeof cerr) == 0;
	for (size_t i = 0; i < f.n; i++) {
		struct job *j = &f.v[i];
		struct s3_resp resp;
		memset(&resp, 0, sizeof resp);
		struct s3_dest d = {.endpoint = j->endpoint, .region = j->region[0] ? j->region : NULL,
				    .bucket = j->bucket};
		const char *why = have_creds ? delete_object(&d, &creds, j->key, &resp) : cerr;
		if (!why) {
			pthread_mutex_lock(&st->db_mu);
			if (spool_delete(st->spool, j->id) != 0)
				why = "the upload's job could not be deleted from the spool";
			pthread_mutex_unlock(&st->db_mu);
		}
		if (fn) {
			struct storage_forgotten fg = {.path = j->path,
						       .endpoint = j->endpoint,
						       .bucket = j->bucket,
						       .key = j->key,
						       .state = j->state,
						       .status = resp.status,
						       .error = why};
			fn(user, &fg);
		}
	}
	if (have_creds)
		memset(&creds, 0, sizeof creds);
	n = (long)f.n;
out:
	for (size_t i = 0; i < f.n; i++) {
		struct job *j = &f.v[i];
		free(j->path);
		free(j->endpoint);
		free(j->region);
		free(j->bucket);
		free(j->key);
		free(j->state);
	}
	free(f.v);
	return n;
}

/* The keys of a listing under one participant's prefix. */
struct swept {
	const char *prefix;
	size_t plen;
	char **keys;
	size_t n, cap;
	long long skipped; /* keys outside the prefix, or not valid */
	bool oom;
};

static int on_key(void *user, const struct s3_object *o)
{
	struct swept *w = user;
	if (!s3_key_valid(o->key) || strncmp(o->key, w->prefix, w->plen) != 0) {
		w->skipped++;
		return 0;
	}
	if (buf_grow_array((void **)&w->keys, &w->cap, w->n + 1, sizeof *w->keys, 16, 0) < 0 ||
	    !(w->keys[w->n] = strdup(o->key))) {
		w->oom = true;
		return -1;
	}
	w->n++;
	return 0;
}

long storage_sweep(struct storage *st, const char *project_id, const char *user_id,
		   void (*fn)(void *user, const struct storage_forgotten *f), void *user,
		   char *err, size_t errlen)
{
	struct storage_dest dd;
	if (!id_valid_project(project_id) || !id_valid_user(user_id)) {
		snprintf(err, errlen, "invalid project or user id");
		return -1;
	}
	if (!storage__project_dest(st, project_id, &dd))
		return 0;
	const char *sep = dd.prefix[0] ? "/" : "";
	char trials[700], record[700];
	int a = snprintf(trials, sizeof trials, "%s%s%s/Trials/%s/", dd.prefix, sep, project_id,
			 user_id);
	int b = snprintf(record, sizeof record, "%s%s%s/Users/%s.json", dd.prefix, sep,
			 project_id, user_id);
	if (a < 0 || (size_t)a >= sizeof trials || b < 0 || (size_t)b >= sizeof record) {
		snprintf(err, errlen, "S3 prefix too long");
		return -1;
	}
	struct s3_creds creds;
	if (s3_creds_load(&creds, err, errlen) != 0)
		return -1;
	struct s3_dest d = {.endpoint = dd.endpoint, .region = dd.region[0] ? dd.region : NULL,
			    .bucket = dd.bucket};
	struct swept w = {.prefix = trials, .plen = strlen(trials)};
	long n = -1;
	if (s3_list(&d, &creds, trials, 0, 60, on_key, &w, err, errlen) < 0) {
		if (w.oom)
			snprintf(err, errlen, "out of memory");
		goto out;
	}
	if (w.skipped)
		log_warn("storage", "withdrawal: keys of the listing left alone",
			 "prefix=%s skipped=%lld", trials, w.skipped);
	/* the record is one key: asked for (a DELETE of no object succeeds too) */
	bool have_record = true;
	char url[2400];
	if (s3_url(&d, record, url, sizeof url) == 0) {
		struct s3_resp resp;
		memset(&resp, 0, sizeof resp);
		struct s3_req rq = {.method = "HEAD", .url = url, .region = d.region,
				    .creds = &creds, .timeout_s = 60};
		have_record = s3_request(&rq, &resp) != 0 || resp.status != 404;
	}
	for (size_t i = 0; i < w.n + have_record; i++) {
		const char *key = i < w.n ? w.keys[i] : record;
		struct s3_resp resp;
		memset(&resp, 0, sizeof resp);
		const char *why = delete_object(&d, &creds, key, &resp);
		if (fn) {
			struct storage_forgotten fg = {.path = "",
						       .endpoint = dd.endpoint,
						       .bucket = dd.bucket,
						       .key = key,
						       .state = "listed",
						       .status = resp.status,
						       .error = why};
			fn(user, &fg);
		}
	}
	n = (long)w.n + have_record;
out:
	memset(&creds, 0, sizeof creds);
	for (size_t i = 0; i < w.n; i++)
		free(w.keys[i]);
	free(w.keys);
	return n;
}
