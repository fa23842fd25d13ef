/* storage: the upload worker (see storage_int.h and storage.h). */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "core/clock.h"
#include "core/log.h"
#include "storage/s3.h"
#include "storage/storage_int.h"

#define LEASE_S 300.0 /* a job being uploaded is hidden from other processes this long */

/* Writes LEN bytes to DATA/REL through a temporary file, fsync and rename,
 * creating the parent folder. */
static int write_file_atomic(const struct storage *st, const char *rel, const char *data,
			     size_t len)
{
	char path[4200], tmp[4300];
	snprintf(path, sizeof path, "%s/%s", st->data_dir, rel);
	snprintf(tmp, sizeof tmp, "%s.tmp", path);
	for (char *p = path + strlen(st->data_dir) + 1; (p = strchr(p, '/')); p++) {
		*p = '\0';
		int rc = mkdir(path, 0755);
		*p = '/';
		if (rc != 0 && errno != EEXIST)
			return -1;
	}
	FILE *f = fopen(tmp, "wb");
	if (!f)
		return -1;
	bool ok = fwrite(data, 1, len, f) == len && fflush(f) == 0 && fsync(fileno(f)) == 0;
	ok = fclose(f) == 0 && ok;
	if (!ok || rename(tmp, path) != 0) {
		unlink(tmp);
		return -1;
	}
	return 0;
}

/* Notes the size and modification time of J's file (-1 when J carries
 * content to write or the file is absent). */
static void file_stat(const struct storage *st, struct storage__qjob *j)
{
	char path[4200];
	struct stat sb;
	j->size = -1;
	j->mtime = 0;
	if (j->content)
		return;
	if (j->path[0] == '/')
		snprintf(path, sizeof path, "%s", j->path);
	else
		snprintf(path, sizeof path, "%s/%s", st->data_dir, j->path);
	if (stat(path, &sb) != 0)
		return;
	j->size = (long long)sb.st_size;
	j->mtime = (double)sb.st_mtim.tv_sec + (double)sb.st_mtim.tv_nsec / 1e9;
}

/* Inserts or re-arms the job (spool_put: a file verified remotely after its
 * last change is not uploaded again; trial files may be submitted both at
 * episode end and at session end). Caller holds db_mu. */
static int spool_insert(struct storage *st, const struct storage__qjob *j)
{
	struct spool_put p = {.path = j->path,
			      .endpoint = j->dest.endpoint,
			      .region = j->dest.region,
			      .bucket = j->dest.bucket,
			      .key = j->key,
			      .size = j->size,
			      .mtime = j->mtime};
	if (spool_put(st->spool, &p, clock_wall_s()) == 0)
		return 0;
	log_error("storage", "cannot record upload", "key=%s err=\"%s\"", j->key,
		  spool_errmsg(st->spool));
	return -1;
}

int storage__record(struct storage *st, struct storage__qjob *j)
{
	file_stat(st, j);
	if (j->content && write_file_atomic(st, j->path, j->content, j->content_len) != 0)
		return -1;
	return spool_insert(st, j);
}

void storage__drain_queue(struct storage *st)
{
	pthread_mutex_lock(&st->mu);
	struct storage__qjob *list = st->qhead;
	st->qhead = st->qtail = NULL;
	st->qlen = 0;
	pthread_mutex_unlock(&st->mu);
	if (!list)
		return;
	pthread_mutex_lock(&st->db_mu);
	spool_begin(st->spool);
	for (struct storage__qjob *j = list; j; j = j->next) {
		file_stat(st, j);
		if (j->content && write_file_atomic(st, j->path, j->content, j->content_len) != 0) {
			log_error("storage", "cannot write file for upload", "path=%s err=\"%s\"",
				  j->path, strerror(errno));
			continue;
		}
		spool_insert(st, j);
	}
	spool_commit(st->spool);
	pthread_mutex_unlock(&st->db_mu);
	while (list) {
		struct storage__qjob *n = list->next;
		free(list->content);
		free(list);
		list = n;
	}
}

static void release_if_dead(void *user, long long pid)
{
	struct storage *st = user;
	if (pid > 0 && pid != (long long)getpid() && kill((pid_t)pid, 0) == 0)
		return; /* alive (or another user's): its lease runs out by itself */
	spool_release_owner(st->spool, pid, clock_wall_s());
}

void storage__release_dead_leases(struct storage *st)
{
	spool_owners(st->spool, release_if_dead, st);
}

/* Leases the next due job (see spool_take). */
static int take_job(struct storage *st, struct spool_lease *j, double *next_due)
{
	pthread_mutex_lock(&st->db_mu);
	int rc = spool_take(st->spool, clock_wall_s(), LEASE_S, (long long)getpid(), j, next_due);
	pthread_mutex_unlock(&st->db_mu);
	return rc;
}

static double backoff_s(const struct storage_opts *o, int attempts)
{
	double d = (double)o->retry_base_ms;
	for (int i = 1; i < attempts && d < o->retry_max_ms; i++)
		d *= 2;
	if (d > o->retry_max_ms)
		d = o->retry_max_ms;
	return d / 1000.0;
}

static void finish_job(struct storage *st, const struct spool_lease *j, int ok,
		       const struct s3_result *r)
{
	int attempts = j->attempts + 1;
	bool give_up = !ok && (!r->retryable ||
			       (st->o.max_attempts > 0 && attempts >= st->o.max_attempts));
	double now = clock_wall_s();
	struct spool_outcome o = {
		.state = ok ? "done" : give_up ? "failed" : "pending",
		.attempts = attempts,
		.next_try = ok || give_up ? now : now + backoff_s(&st->o, attempts),
		.now = now,
		.size = r->dg.md5_hex[0] ? r->dg.size : -1,
		.md5 = r->dg.md5_hex[0] ? r->dg.md5_hex : NULL,
		.etag = r->etag[0] ? r->etag : NULL,
		.error = ok ? NULL : r->error,
	};
	pthread_mutex_lock(&st->db_mu);
	if (spool_finish(st->spool, j, &o) != 0)
		log_error("storage", "cannot update spool", "key=%s err=\"%s\"", j->key,
			  spool_errmsg(st->spool));
	pthread_mutex_unlock(&st->db_mu);
	if (ok)
		log_info("storage", "uploaded and verified", "key=%s bytes=%lld md5=%s", j->key,
			 r->dg.size, r->dg.md5_hex);
	else
		log_warn("storage", give_up ? "upload failed, giving up" : "upload failed, will retry",
			 "key=%s attempt=%d err=\"%s\"", j->key, attempts, r->error);
}

/* A participant's record (KEY "P/Users/U.json") is written by every node
 * that changes the participant (one store, several nodes): its version is
 * how much it holds, which only grows as the participant goes on (answers,
 * steps passed, groups, sessions and their ends), so that a node never
 * replaces a newer copy in S3 with its older one (s3_put_verified). -1 for
 * any other object, or a record that does not parse. */
static long record_version(const char *key, const char *path)
{
	const char *users = strstr(key, "/Users/");
	size_t n = strlen(key);
	if (!users || strchr(users + 7, '/') || n < 5 || strcmp(key + n - 5, ".json") != 0)
		return -1;
	json_t *rec = json_load_file(path, 0, NULL);
	if (!json_is_object(rec)) {
		json_decref(rec);
		return -1;
	}
	long v = 0;
	json_t *sessions = json_object_get(rec, "sessions"), *s;
	size_t i;
	v += (long)json_array_size(json_object_get(rec, "answers"));
	v += (long)json_array_size(json_object_get(rec, "passes"));
	v += (long)json_object_size(json_object_get(rec, "groups"));
	v += (long)json_array_size(sessions);
	json_array_foreach(sessions, i, s)
	{
		if (json_is_string(json_object_get(s, "stopped")))
			v++;
	}
	json_decref(rec);
	return v;
}

static void upload_job(struct storage *st, const struct spool_lease *j)
{
	struct s3_result r;
	memset(&r, 0, sizeof r);
	r.retryable = true;
	char path[4200];
	if (j->path[0] == '/')
		snprintf(path, sizeof path, "%s", j->path);
	else
		snprintf(path, sizeof path, "%s/%s", st->data_dir, j->path);
	struct s3_creds creds;
	int ok = 0;
	if (s3_creds_load(&creds, r.error, sizeof r.error) == 0) {
		struct s3_dest d = {.endpoint = j->endpoint, .region = j->region,
				    .bucket = j->bucket};
		ok = s3_put_verified(&d, &creds, path, j->key, record_version(j->key, path),
				     st->o.timeout_s, &st->stop, &r) == 0;
		if (ok && r.superseded)
			log_info("storage", "a newer copy is in S3 already: kept", "key=%s", j->key);
		memset(&creds, 0, sizeof creds);
	}
	if (!ok && atomic_load(&st->stop)) {
		/* interrupted by shutdown: not an attempt; due again at the next start */
		pthread_mutex_lock(&st->db_mu);
		spool_release(st->spool, j, clock_wall_s());
		pthread_mutex_unlock(&st->db_mu);
		return;
	}
	pthread_mutex_lock(&st->mu);
	st->attempts_total++;
	pthread_mutex_unlock(&st->mu);
	finish_job(st, j, ok, &r);
}

void *storage__worker_main(void *arg)
{
	struct storage *st = arg;
	while (!atomic_load(&st->stop)) {
		storage__drain_queue(st);
		struct spool_lease j;
		double next_due;
		pthread_mutex_lock(&st->up_mu); /* a withdrawal waits for the lease and its upload */
		int got = take_job(st, &j, &next_due);
		if (got == 1)
			upload_job(st, &j);
		pthread_mutex_unlock(&st->up_mu);
		if (got == 1)
			continue;
		/* sleep until the next due job, a submission, or stop (at most 5 s:
		 * other processes may add jobs to the spool too) */
		double wait = 5.0;
		if (got == 0 && next_due > 0) {
			double d = next_due - clock_wall_s();
			if (d < wait)
				wait = d < 0.001 ? 0.001 : d;
		}
		struct timespec ts = clock_deadline(CLOCK_REALTIME, (int64_t)(wait * 1000.0 + 0.5));
		pthread_mutex_lock(&st->mu);
		if (!st->qhead && !atomic_load(&st->stop))
			pthread_cond_timedwait(&st->cv, &st->mu, &ts);
		pthread_mutex_unlock(&st->mu);
	}
	storage__drain_queue(st);
	return NULL;
}
