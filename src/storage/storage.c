/* storage: destinations, submissions, counts and listings of the upload
 * spool (see storage.h; the worker is worker.c, the rows src/store/spool_db.c). */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <curl/curl.h>

#include "core/buf.h"
#include "core/clock.h"
#include "core/config.h"
#include "core/datapath.h"
#include "core/id.h"
#include "core/log.h"
#include "storage/s3.h"
#include "storage/storage_int.h"

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static void curl_init_once(void)
{
	curl_global_init(CURL_GLOBAL_DEFAULT);
}

/* ------------------------------------------------------------ config */

static void set_field(char *dst, size_t cap, const char *a, const char *b, const char *dflt)
{
	const char *v = a && *a ? a : b && *b ? b : dflt;
	snprintf(dst, cap, "%s", v ? v : "");
}

int storage_dest_from_cfg(const struct cfg *c, struct storage_dest *d, char *err, size_t errlen)
{
	memset(d, 0, sizeof *d);
	const struct cfg_project *p = &c->project;
	if (p->storage != CFG_STORAGE_S3) /* the loader resolves trial.s3upload too */
		return 0;
	set_field(d->bucket, sizeof d->bucket, p->s3.bucket, p->aws_bucket, NULL);
	set_field(d->region, sizeof d->region, p->s3.region, p->aws_region, "us-east-1");
	/* The AWS tools' variables name an S3-compatible store for studies whose
	 * config has none (the original awsSetup keys only know AWS). */
	const char *env_ep = getenv("AWS_ENDPOINT_URL_S3");
	set_field(d->endpoint, sizeof d->endpoint, p->s3.endpoint,
		  env_ep && *env_ep ? env_ep : getenv("AWS_ENDPOINT_URL"), NULL);
	set_field(d->prefix, sizeof d->prefix, p->s3.prefix, NULL, NULL);
	size_t n = strlen(d->prefix);
	while (n > 0 && d->prefix[n - 1] == '/')
		d->prefix[--n] = '\0';
	if (!d->bucket[0]) {
		snprintf(err, errlen, "S3 storage needs a bucket (project.storage.s3.bucket or "
				      "project.awsSetup.bucket)");
		return -1;
	}
	if (d->prefix[0] && !s3_key_valid(d->prefix)) {
		snprintf(err, errlen, "S3 prefix '%s' may only hold [A-Za-z0-9._/-]", d->prefix);
		return -1;
	}
	return 1;
}

/* ------------------------------------------------------------ public */

/* Opens DATA/spool/uploads.db, creating the folders. */
static int spool_open_in(struct storage *st, char *err, size_t errlen)
{
	char dir[4096], path[4200];
	datapath_spool_dir(dir, sizeof dir, st->data_dir);
	if (mkdir(st->data_dir, 0755) != 0 && errno != EEXIST) {
		snprintf(err, errlen, "cannot create %s: %s", st->data_dir, strerror(errno));
		return -1;
	}
	if (mkdir(dir, 0755) != 0 && errno != EEXIST) {
		snprintf(err, errlen, "cannot create %s: %s", dir, strerror(errno));
		return -1;
	}
	datapath_spool_db(path, sizeof path, st->data_dir);
	return spool_open(&st->spool, path, err, errlen);
}

int storage_open(struct storage **out, const struct storage_opts *o, char *err, size_t errlen)
{
	*out = NULL;
	if (!o->data_dir || !*o->data_dir) {
		snprintf(err, errlen, "no data folder");
		return -1;
	}
	pthread_once(&curl_once, curl_init_once);
	struct storage *st = calloc(1, sizeof *st);
	if (!st || !(st->data_dir = strdup(o->data_dir))) {
		free(st);
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	st->o = *o;
	st->o.data_dir = st->data_dir;
	snprintf(st->node, sizeof st->node, "%s", o->node && id_valid_node(o->node) ? o->node : "");
	st->o.node = NULL;
	if (st->o.retry_base_ms <= 0)
		st->o.retry_base_ms = 2000;
	if (st->o.retry_max_ms <= 0)
		st->o.retry_max_ms = 600000;
	if (st->o.retry_max_ms < st->o.retry_base_ms)
		st->o.retry_max_ms = st->o.retry_base_ms;
	pthread_mutex_init(&st->db_mu, NULL);
	pthread_mutex_init(&st->up_mu, NULL);
	pthread_mutex_init(&st->mu, NULL);
	pthread_cond_init(&st->cv, NULL);
	atomic_init(&st->stop, false);
	if (spool_open_in(st, err, errlen) != 0)
		goto fail;
	if (!o->no_worker) {
		storage__release_dead_leases(st);
		if (pthread_create(&st->worker, NULL, storage__worker_main, st) != 0) {
			snprintf(err, errlen, "cannot start the upload thread");
			goto fail;
		}
		st->have_worker = true;
	}
	*out = st;
	return 0;
fail:
	storage_close(st);
	return -1;
}

void storage_close(struct storage *st)
{
	if (!st)
		return;
	pthread_mutex_lock(&st->mu);
	atomic_store(&st->stop, true);
	pthread_cond_broadcast(&st->cv);
	pthread_mutex_unlock(&st->mu);
	if (st->have_worker)
		pthread_join(st->worker, NULL);
	if (st->spool)
		storage__drain_queue(st);
	spool_close(st->spool);
	pthread_mutex_destroy(&st->db_mu);
	pthread_mutex_destroy(&st->up_mu);
	pthread_mutex_destroy(&st->mu);
	pthread_cond_destroy(&st->cv);
	free(st->projects);
	free(st->data_dir);
	free(st);
}

int storage_set_project(struct storage *st, const char *project_id,
			const struct storage_dest *dest)
{
	if (!project_id || strlen(project_id) > CFG_ID_MAX)
		return -1;
	pthread_mutex_lock(&st->mu);
	struct storage__project *p = NULL;
	for (size_t i = 0; i < st->nprojects; i++)
		if (strcmp(st->projects[i].id, project_id) == 0)
			p = &st->projects[i];
	if (!p) {
		if (buf_grow_array((void **)&st->projects, &st->projects_cap, st->nprojects + 1,
				   sizeof *st->projects, 8, 0) != 0) {
			pthread_mutex_unlock(&st->mu);
			return -1;
		}
		p = &st->projects[st->nprojects++];
		memset(p, 0, sizeof *p);
		snprintf(p->id, sizeof p->id, "%s", project_id);
	}
	p->s3 = dest != NULL;
	if (dest)
		p->dest = *dest;
	pthread_mutex_unlock(&st->mu);
	return 0;
}

static bool path_valid(const char *p)
{
	size_t n = p ? strlen(p) : 0;
	if (n == 0 || n >= sizeof((struct storage__qjob *)0)->path)
		return false;
	return strstr(p, "/../") == NULL && strncmp(p, "../", 3) != 0;
}

static int submit(struct storage *st, const struct storage_dest *dest, const char *local_path,
		  const char *key, const char *content, size_t content_len)
{
	if (!path_valid(local_path) || !dest->bucket[0])
		return -1;
	struct storage__qjob *j = calloc(1, sizeof *j);
	if (!j)
		return -1;
	if (content) {
		if (local_path[0] == '/' || !(j->content = malloc(content_len ? content_len : 1))) {
			free(j);
			return -1;
		}
		memcpy(j->content, content, content_len);
		j->content_len = content_len;
	}
	j->dest = *dest;
	snprintf(j->path, sizeof j->path, "%s", local_path);
	int n = dest->prefix[0] ? snprintf(j->key, sizeof j->key, "%s/%s", dest->prefix, key)
				: snprintf(j->key, sizeof j->key, "%s", key);
	if (n < 0 || (size_t)n >= sizeof j->key || !s3_key_valid(j->key)) {
		free(j->content);
		free(j);
		return -1;
	}
	pthread_mutex_lock(&st->mu);
	if (st->qlen < STORAGE__QUEUE_MAX) {
		if (st->qtail)
			st->qtail->next = j;
		else
			st->qhead = j;
		st->qtail = j;
		st->qlen++;
		pthread_cond_signal(&st->cv);
		pthread_mutex_unlock(&st->mu);
		return 0;
	}
	pthread_mutex_unlock(&st->mu);
	/* queue full: record it directly rather than lose it */
	pthread_mutex_lock(&st->db_mu);
	int rc = storage__record(st, j);
	pthread_mutex_unlock(&st->db_mu);
	free(j->content);
	free(j);
	return rc;
}

int storage_submit_to(struct storage *st, const struct storage_dest *dest,
		      const char *local_path, const char *key)
{
	return submit(st, dest, local_path, key, NULL, 0);
}

bool storage__project_dest(struct storage *st, const char *project_id, struct storage_dest *d)
{
	bool s3 = false;
	pthread_mutex_lock(&st->mu);
	for (size_t i = 0; i < st->nprojects; i++)
		if (strcmp(st->projects[i].id, project_id) == 0 && st->projects[i].s3) {
			*d = st->projects[i].dest;
			s3 = true;
		}
	pthread_mutex_unlock(&st->mu);
	return s3;
}

int storage_submit(struct storage *st, const char *project_id, const char *local_path,
		   const char *key)
{
	struct storage_dest d;
	if (!storage__project_dest(st, project_id, &d))
		return path_valid(local_path) && s3_key_valid(key) ? 0 : -1;
	return storage_submit_to(st, &d, local_path, key);
}

int storage_submit_trial_file(struct storage *st, const char *project_id, const char *user_id,
			      const char *local_path)
{
	if (!id_valid_project(project_id) || !id_valid_user(user_id) || !local_path)
		return -1;
	const char *base = strrchr(local_path, '/');
	base = base ? base + 1 : local_path;
	char key[512];
	if (storage__trial_key(st, project_id, user_id, base, key, sizeof key) < 0)
		return -1;
	return storage_submit(st, project_id, local_path, key);
}

int storage__trial_key(const struct storage *st, const char *project_id, const char *user_id,
		       const char *file, char *key, size_t len)
{
	int n = st->node[0] ? snprintf(key, len, "%s/Trials/%s/%s/%s", project_id, user_id,
				       st->node, file)
			    : snprintf(key, len, "%s/Trials/%s/%s", project_id, user_id, file);
	return n < 0 || (size_t)n >= len ? -1 : 0;
}

int storage_submit_participant(struct storage *st, const char *project_id, const char *user_id,
			       const char *local_path)
{
	if (!id_valid_project(project_id) || !id_valid_user(user_id))
		return -1;
	char key[256];
	snprintf(key, sizeof key, "%s/Users/%s.json", project_id, user_id);
	return storage_submit(st, project_id, local_path, key);
}

int storage_submit_participant_record(struct storage *st, const char *project_id,
				      const char *user_id, const char *json_text, size_t len)
{
	if (!id_valid_project(project_id) || !id_valid_user(user_id) || !json_text)
		return -1;
	struct storage_dest d;
	if (!storage__project_dest(st, project_id, &d))
		return 0;
	char path[256], key[256];
	datapath_user_record(path, sizeof path, NULL, project_id, user_id);
	snprintf(key, sizeof key, "%s/Users/%s.json", project_id, user_id);
	return submit(st, &d, path, key, json_text, len);
}

int storage_counts(struct storage *st, struct storage_counts *c)
{
	memset(c, 0, sizeof *c);
	pthread_mutex_lock(&st->mu);
	c->queued = st->qlen;
	c->attempts_total = st->attempts_total;
	pthread_mutex_unlock(&st->mu);
	struct spool_counts sc;
	pthread_mutex_lock(&st->db_mu);
	int rc = spool_counts(st->spool, &sc);
	pthread_mutex_unlock(&st->db_mu);
	c->pending = sc.pending;
	c->failed = sc.failed;
	c->done = sc.done;
	return rc;
}

int storage_wait_idle(struct storage *st, long timeout_ms)
{
	double end = clock_mono_s() + (double)timeout_ms / 1000.0;
	for (;;) {
		struct storage_counts c;
		if (storage_counts(st, &c) == 0 && c.queued == 0 && c.pending == 0)
			return 0;
		if (clock_mono_s() >= end)
			return 1;
		struct timespec ts = {0, 50 * 1000 * 1000};
		nanosleep(&ts, NULL);
	}
}

static bool state_in(const char *states, const char *state)
{
	if (!states)
		return true;
	size_t n = strlen(state);
	for (const char *p = states; *p;) {
		const char *comma = strchr(p, ',');
		size_t len = comma ? (size_t)(comma - p) : strlen(p);
		if (len == n && strncmp(p, state, n) == 0)
			return true;
		p += len + (comma ? 1 : 0);
	}
	return false;
}

struct listing {
	const char *states;
	void (*fn)(void *user, const struct storage_job *j);
	void *user;
	long count;
};

static void list_row(void *user, const struct spool_row *r)
{
	struct listing *l = user;
	if (!state_in(l->states, r->state))
		return;
	struct storage_job j = {
		.id = r->id,
		.state = r->state,
		.path = r->path,
		.endpoint = r->endpoint,
		.bucket = r->bucket,
		.key = r->key,
		.md5 = r->md5,
		.etag = r->etag,
		.last_error = r->last_error,
		.size = r->size,
		.attempts = r->attempts,
		.created = r->created,
		.updated = r->updated,
		.next_try = r->next_try,
	};
	l->fn(l->user, &j);
	l->count++;
}

long storage_list(struct storage *st, const char *states,
		  void (*fn)(void *user, const struct storage_job *j), void *user)
{
	struct listing l = {states, fn, user, 0};
	pthread_mutex_lock(&st->db_mu);
	long n = spool_list(st->spool, list_row, &l);
	pthread_mutex_unlock(&st->db_mu);
	return n < 0 ? -1 : l.count;
}

long storage_retry_failed(struct storage *st)
{
	pthread_mutex_lock(&st->db_mu);
	long n = spool_retry_failed(st->spool, clock_wall_s());
	pthread_mutex_unlock(&st->db_mu);
	pthread_mutex_lock(&st->mu);
	pthread_cond_signal(&st->cv);
	pthread_mutex_unlock(&st->mu);
	return n;
}

