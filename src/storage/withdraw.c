/* withdraw: a participant's uploads forgotten (storage.h, "withdrawal"): the
 * spool's jobs for their files and the objects already in S3. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
		char url[2400];
		struct s3_dest d = {.endpoint = j->endpoint, .region = j->region[0] ? j->region : NULL,
				    .bucket = j->bucket};
		const char *why = NULL;
		if (!have_creds) {
			why = cerr;
		} else if (!s3_key_valid(j->key) || s3_url(&d, j->key, url, sizeof url) != 0) {
			why = "not a valid object key";
		} else {
			struct s3_req rq = {.method = "DELETE",
					    .url = url,
					    .region = d.region,
					    .creds = &creds,
					    .timeout_s = 60};
			if (s3_request(&rq, &resp) != 0)
				why = resp.error;
			else if (resp.status != 204 && resp.status != 200 && resp.status != 404)
				why = resp.error[0] ? resp.error : "the store refused the DELETE";
		}
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
