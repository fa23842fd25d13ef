/* storage: the persistent upload spool; see storage.h. */
#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <sqlite3.h>

#include "core/config.h"
#include "core/id.h"
#include "core/log.h"
#include "storage/s3.h"
#include "storage/storage.h"

#define QUEUE_MAX 4096
#define LEASE_S 300.0 /* a job being uploaded is hidden from other processes this long */

struct qjob {
	struct qjob *next;
	struct storage_dest dest;
	char path[1024];
	char key[1100];
	char *content; /* when set, written to PATH (atomically) before the job is recorded */
	size_t content_len;
	long long size; /* of the local file when recorded, -1 unknown */
	double mtime;
};

struct project {
	char id[CFG_ID_MAX + 1];
	bool s3;
	struct storage_dest dest;
};

struct storage {
	char *data_dir;
	struct storage_opts o;

	pthread_mutex_t db_mu; /* guards db */
	sqlite3 *db;

	pthread_mutex_t mu; /* guards everything below */
	pthread_cond_t cv;
	struct qjob *qhead, *qtail;
	long qlen;
	struct project *projects;
	size_t nprojects;
	bool have_worker;
	pthread_t worker;
	long attempts_total;

	atomic_bool stop;
};

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

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

/* ------------------------------------------------------------ spool db */

static const char schema[] =
	"PRAGMA journal_mode=WAL;"
	"PRAGMA synchronous=FULL;"
	"CREATE TABLE IF NOT EXISTS uploads("
	" id INTEGER PRIMARY KEY,"
	" path TEXT NOT NULL,"
	" endpoint TEXT NOT NULL,"
	" region TEXT NOT NULL,"
	" bucket TEXT NOT NULL,"
	" key TEXT NOT NULL,"
	" state TEXT NOT NULL DEFAULT 'pending' CHECK(state IN ('pending','failed','done')),"
	" attempts INTEGER NOT NULL DEFAULT 0,"
	" next_try REAL NOT NULL,"
	" created REAL NOT NULL,"
	" updated REAL NOT NULL,"
	" owner INTEGER,"
	" gen INTEGER NOT NULL DEFAULT 0," /* bumped on every re-submission */
	" size INTEGER, md5 TEXT, etag TEXT, last_error TEXT,"
	" UNIQUE(endpoint, bucket, key));"
	"CREATE INDEX IF NOT EXISTS uploads_due ON uploads(state, next_try);";

/* Jobs leased by a process that no longer exists become due again. */
static void release_dead_leases(sqlite3 *db)
{
	sqlite3_stmt *s = NULL, *u = NULL;
	if (sqlite3_prepare_v2(db, "SELECT DISTINCT owner FROM uploads WHERE owner IS NOT NULL", -1,
			       &s, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(db,
			       "UPDATE uploads SET owner=NULL, next_try=?2 WHERE owner=?1 AND "
			       "state='pending'",
			       -1, &u, NULL) != SQLITE_OK)
		goto out;
	while (sqlite3_step(s) == SQLITE_ROW) {
		long long pid = sqlite3_column_int64(s, 0);
		if (pid > 0 && pid != (long long)getpid() && kill((pid_t)pid, 0) == 0)
			continue; /* alive (or another user's): its lease runs out by itself */
		sqlite3_bind_int64(u, 1, pid);
		sqlite3_bind_double(u, 2, now_s());
		sqlite3_step(u);
		sqlite3_reset(u);
	}
out:
	sqlite3_finalize(s);
	sqlite3_finalize(u);
}

static int db_open(struct storage *st, char *err, size_t errlen)
{
	char dir[4096], path[4200];
	snprintf(dir, sizeof dir, "%s/spool", st->data_dir);
	if (mkdir(st->data_dir, 0755) != 0 && errno != EEXIST) {
		snprintf(err, errlen, "cannot create %s: %s", st->data_dir, strerror(errno));
		return -1;
	}
	if (mkdir(dir, 0755) != 0 && errno != EEXIST) {
		snprintf(err, errlen, "cannot create %s: %s", dir, strerror(errno));
		return -1;
	}
	snprintf(path, sizeof path, "%s/uploads.db", dir);
	if (sqlite3_open_v2(path, &st->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
						   SQLITE_OPEN_FULLMUTEX, NULL) != SQLITE_OK) {
		snprintf(err, errlen, "cannot open %s: %s", path,
			 st->db ? sqlite3_errmsg(st->db) : "out of memory");
		return -1;
	}
	sqlite3_busy_timeout(st->db, 10000);
	char *msg = NULL;
	if (sqlite3_exec(st->db, schema, NULL, NULL, &msg) != SQLITE_OK) {
		snprintf(err, errlen, "%s: %s", path, msg ? msg : "schema error");
		sqlite3_free(msg);
		return -1;
	}
	return 0;
}

/* Inserts or re-arms the job for (endpoint, bucket, key). A file that was
 * verified remotely after its last change (same size, modified before the
 * verification) is not uploaded again: trial files may be submitted both at
 * episode end and at session end. Caller holds db_mu. */
static int db_insert(struct storage *st, const struct qjob *j)
{
	static const char sql[] =
		"INSERT INTO uploads(path, endpoint, region, bucket, key, next_try, created, updated)"
		" VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?6, ?6)"
		" ON CONFLICT(endpoint, bucket, key) DO UPDATE SET path=excluded.path,"
		" region=excluded.region, state='pending', attempts=0, next_try=excluded.next_try,"
		" updated=excluded.updated, last_error=NULL, owner=NULL, gen=gen+1"
		" WHERE NOT (uploads.state='done' AND uploads.path=excluded.path AND"
		" uploads.size=?7 AND ?8 < uploads.updated)";
	sqlite3_stmt *s = NULL;
	int rc = -1;
	if (sqlite3_prepare_v2(st->db, sql, -1, &s, NULL) != SQLITE_OK)
		goto out;
	sqlite3_bind_text(s, 1, j->path, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 2, j->dest.endpoint, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 3, j->dest.region, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 4, j->dest.bucket, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 5, j->key, -1, SQLITE_STATIC);
	sqlite3_bind_double(s, 6, now_s());
	sqlite3_bind_int64(s, 7, j->size);
	sqlite3_bind_double(s, 8, j->mtime);
	rc = sqlite3_step(s) == SQLITE_DONE ? 0 : -1;
out:
	if (rc != 0)
		log_error("storage", "cannot record upload", "key=%s err=\"%s\"", j->key,
			  sqlite3_errmsg(st->db));
	sqlite3_finalize(s);
	return rc;
}

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
static void file_stat(const struct storage *st, struct qjob *j)
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

/* Moves every queued job into the spool. */
static void drain_queue(struct storage *st)
{
	pthread_mutex_lock(&st->mu);
	struct qjob *list = st->qhead;
	st->qhead = st->qtail = NULL;
	st->qlen = 0;
	pthread_mutex_unlock(&st->mu);
	if (!list)
		return;
	pthread_mutex_lock(&st->db_mu);
	sqlite3_exec(st->db, "BEGIN IMMEDIATE", NULL, NULL, NULL);
	for (struct qjob *j = list; j; j = j->next) {
		file_stat(st, j);
		if (j->content && write_file_atomic(st, j->path, j->content, j->content_len) != 0) {
			log_error("storage", "cannot write file for upload", "path=%s err=\"%s\"",
				  j->path, strerror(errno));
			continue;
		}
		db_insert(st, j);
	}
	sqlite3_exec(st->db, "COMMIT", NULL, NULL, NULL);
	pthread_mutex_unlock(&st->db_mu);
	while (list) {
		struct qjob *n = list->next;
		free(list->content);
		free(list);
		list = n;
	}
}

struct job {
	long long id, gen;
	int attempts;
	char path[1024], endpoint[512], region[64], bucket[64], key[1100];
};

static void col_copy(sqlite3_stmt *s, int i, char *dst, size_t cap)
{
	const unsigned char *v = sqlite3_column_text(s, i);
	snprintf(dst, cap, "%s", v ? (const char *)v : "");
}

/* Leases the next due job. Returns 1 and fills J, 0 when none is due (with
 * *NEXT_DUE the earliest future try, or 0 when nothing is pending), -1 on error. */
static int take_job(struct storage *st, struct job *j, double *next_due)
{
	sqlite3_stmt *s = NULL, *u = NULL;
	int rc = -1;
	double now = now_s();
	*next_due = 0;
	pthread_mutex_lock(&st->db_mu);
	if (sqlite3_prepare_v2(st->db,
			       "SELECT id, attempts, path, endpoint, region, bucket, key, next_try, gen"
			       " FROM uploads WHERE state='pending' ORDER BY next_try, id LIMIT 1",
			       -1, &s, NULL) != SQLITE_OK)
		goto out;
	int step = sqlite3_step(s);
	if (step == SQLITE_DONE) {
		rc = 0;
		goto out;
	}
	if (step != SQLITE_ROW)
		goto out;
	double due = sqlite3_column_double(s, 7);
	if (due > now) {
		*next_due = due;
		rc = 0;
		goto out;
	}
	j->id = sqlite3_column_int64(s, 0);
	j->attempts = sqlite3_column_int(s, 1);
	j->gen = sqlite3_column_int64(s, 8);
	col_copy(s, 2, j->path, sizeof j->path);
	col_copy(s, 3, j->endpoint, sizeof j->endpoint);
	col_copy(s, 4, j->region, sizeof j->region);
	col_copy(s, 5, j->bucket, sizeof j->bucket);
	col_copy(s, 6, j->key, sizeof j->key);
	if (sqlite3_prepare_v2(st->db,
			       "UPDATE uploads SET owner=?2, next_try=?3 WHERE id=?1 AND "
			       "state='pending' AND next_try<=?4",
			       -1, &u, NULL) != SQLITE_OK)
		goto out;
	sqlite3_bind_int64(u, 1, j->id);
	sqlite3_bind_int64(u, 2, (long long)getpid());
	sqlite3_bind_double(u, 3, now + LEASE_S);
	sqlite3_bind_double(u, 4, now);
	if (sqlite3_step(u) != SQLITE_DONE)
		goto out;
	rc = sqlite3_changes(st->db) == 1 ? 1 : 0; /* another process took it */
out:
	sqlite3_finalize(s);
	sqlite3_finalize(u);
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

static void finish_job(struct storage *st, const struct job *j, int ok, const struct s3_result *r)
{
	int attempts = j->attempts + 1;
	bool give_up = !ok && (!r->retryable ||
			       (st->o.max_attempts > 0 && attempts >= st->o.max_attempts));
	const char *state = ok ? "done" : give_up ? "failed" : "pending";
	double now = now_s();
	sqlite3_stmt *s = NULL;
	pthread_mutex_lock(&st->db_mu);
	if (sqlite3_prepare_v2(st->db,
			       "UPDATE uploads SET state=?2, attempts=?3, next_try=?4, updated=?5,"
			       " owner=NULL, size=?6, md5=?7, etag=?8, last_error=?9"
			       " WHERE id=?1 AND gen=?10", /* unless re-submitted meanwhile */
			       -1, &s, NULL) == SQLITE_OK) {
		sqlite3_bind_int64(s, 1, j->id);
		sqlite3_bind_text(s, 2, state, -1, SQLITE_STATIC);
		sqlite3_bind_int(s, 3, attempts);
		sqlite3_bind_double(s, 4, ok || give_up ? now : now + backoff_s(&st->o, attempts));
		sqlite3_bind_double(s, 5, now);
		if (r->dg.md5_hex[0]) {
			sqlite3_bind_int64(s, 6, r->dg.size);
			sqlite3_bind_text(s, 7, r->dg.md5_hex, -1, SQLITE_STATIC);
		}
		if (r->etag[0])
			sqlite3_bind_text(s, 8, r->etag, -1, SQLITE_STATIC);
		if (!ok)
			sqlite3_bind_text(s, 9, r->error, -1, SQLITE_STATIC);
		sqlite3_bind_int64(s, 10, j->gen);
		if (sqlite3_step(s) != SQLITE_DONE)
			log_error("storage", "cannot update spool", "key=%s err=\"%s\"", j->key,
				  sqlite3_errmsg(st->db));
	}
	sqlite3_finalize(s);
	pthread_mutex_unlock(&st->db_mu);
	if (ok)
		log_info("storage", "uploaded and verified", "key=%s bytes=%lld md5=%s", j->key,
			 r->dg.size, r->dg.md5_hex);
	else
		log_warn("storage", give_up ? "upload failed, giving up" : "upload failed, will retry",
			 "key=%s attempt=%d err=\"%s\"", j->key, attempts, r->error);
}

static void upload_job(struct storage *st, const struct job *j)
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
		ok = s3_put_verified(&d, &creds, path, j->key, st->o.timeout_s, &st->stop, &r) == 0;
		memset(&creds, 0, sizeof creds);
	}
	if (!ok && atomic_load(&st->stop)) {
		/* interrupted by shutdown: not an attempt; due again at the next start */
		pthread_mutex_lock(&st->db_mu);
		sqlite3_stmt *s = NULL;
		if (sqlite3_prepare_v2(st->db,
				       "UPDATE uploads SET owner=NULL, next_try=?2 WHERE id=?1 AND gen=?3",
				       -1, &s, NULL) == SQLITE_OK) {
			sqlite3_bind_int64(s, 1, j->id);
			sqlite3_bind_double(s, 2, now_s());
			sqlite3_bind_int64(s, 3, j->gen);
			sqlite3_step(s);
		}
		sqlite3_finalize(s);
		pthread_mutex_unlock(&st->db_mu);
		return;
	}
	pthread_mutex_lock(&st->mu);
	st->attempts_total++;
	pthread_mutex_unlock(&st->mu);
	finish_job(st, j, ok, &r);
}

static void *worker_main(void *arg)
{
	struct storage *st = arg;
	while (!atomic_load(&st->stop)) {
		drain_queue(st);
		struct job j;
		double next_due;
		int got = take_job(st, &j, &next_due);
		if (got == 1) {
			upload_job(st, &j);
			continue;
		}
		/* sleep until the next due job, a submission, or stop (at most 5 s:
		 * other processes may add jobs to the spool too) */
		double wait = 5.0;
		if (got == 0 && next_due > 0) {
			double d = next_due - now_s();
			if (d < wait)
				wait = d < 0.001 ? 0.001 : d;
		}
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		double t = (double)ts.tv_sec + (double)ts.tv_nsec / 1e9 + wait;
		ts.tv_sec = (time_t)t;
		ts.tv_nsec = (long)((t - (double)ts.tv_sec) * 1e9);
		pthread_mutex_lock(&st->mu);
		if (!st->qhead && !atomic_load(&st->stop))
			pthread_cond_timedwait(&st->cv, &st->mu, &ts);
		pthread_mutex_unlock(&st->mu);
	}
	drain_queue(st);
	return NULL;
}

/* ------------------------------------------------------------ public */

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
	if (st->o.retry_base_ms <= 0)
		st->o.retry_base_ms = 2000;
	if (st->o.retry_max_ms <= 0)
		st->o.retry_max_ms = 600000;
	if (st->o.retry_max_ms < st->o.retry_base_ms)
		st->o.retry_max_ms = st->o.retry_base_ms;
	pthread_mutex_init(&st->db_mu, NULL);
	pthread_mutex_init(&st->mu, NULL);
	pthread_cond_init(&st->cv, NULL);
	atomic_init(&st->stop, false);
	if (db_open(st, err, errlen) != 0)
		goto fail;
	if (!o->no_worker) {
		release_dead_leases(st->db);
		if (pthread_create(&st->worker, NULL, worker_main, st) != 0) {
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
	if (st->db)
		drain_queue(st);
	sqlite3_close(st->db);
	pthread_mutex_destroy(&st->db_mu);
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
	struct project *p = NULL;
	for (size_t i = 0; i < st->nprojects; i++)
		if (strcmp(st->projects[i].id, project_id) == 0)
			p = &st->projects[i];
	if (!p) {
		struct project *np = realloc(st->projects, (st->nprojects + 1) * sizeof *np);
		if (!np) {
			pthread_mutex_unlock(&st->mu);
			return -1;
		}
		st->projects = np;
		p = &np[st->nprojects++];
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
	if (n == 0 || n >= sizeof((struct qjob *)0)->path)
		return false;
	return strstr(p, "/../") == NULL && strncmp(p, "../", 3) != 0;
}

static int submit(struct storage *st, const struct storage_dest *dest, const char *local_path,
		  const char *key, const char *content, size_t content_len)
{
	if (!path_valid(local_path) || !dest->bucket[0])
		return -1;
	struct qjob *j = calloc(1, sizeof *j);
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
	if (st->qlen < QUEUE_MAX) {
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
	int rc = -1;
	file_stat(st, j);
	if (!j->content || write_file_atomic(st, j->path, j->content, j->content_len) == 0)
		rc = db_insert(st, j);
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

/* The project's destination: returns true and fills D when it stores to S3. */
static bool project_dest(struct storage *st, const char *project_id, struct storage_dest *d)
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
	if (!project_dest(st, project_id, &d))
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
	int n = snprintf(key, sizeof key, "%s/Trials/%s/%s", project_id, user_id, base);
	if (n < 0 || (size_t)n >= sizeof key)
		return -1;
	return storage_submit(st, project_id, local_path, key);
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
	if (!project_dest(st, project_id, &d))
		return 0;
	char path[256], key[256];
	snprintf(path, sizeof path, "%s/users/%s.json", project_id, user_id);
	snprintf(key, sizeof key, "%s/Users/%s.json", project_id, user_id);
	return submit(st, &d, path, key, json_text, len);
}

void storage_on_session_end(void *user, const char *project_id, const char *user_id,
			    enum sess_end_reason reason, const char *const *files)
{
	struct storage *st = user;
	for (size_t i = 0; files && files[i]; i++)
		if (storage_submit_trial_file(st, project_id, user_id, files[i]) != 0)
			log_error("storage", "cannot queue upload", "project=%s user=%s file=%s",
				  project_id, user_id, files[i]);
}

void storage_session_end_chain(void *user, const char *project_id, const char *user_id,
			       enum sess_end_reason reason, const char *const *files)
{
	struct storage_end_chain *c = user;
	if (c->st)
		storage_on_session_end(c->st, project_id, user_id, reason, files);
	if (c->next)
		c->next(c->next_user, project_id, user_id, reason, files);
}

int storage_counts(struct storage *st, struct storage_counts *c)
{
	memset(c, 0, sizeof *c);
	pthread_mutex_lock(&st->mu);
	c->queued = st->qlen;
	c->attempts_total = st->attempts_total;
	pthread_mutex_unlock(&st->mu);
	sqlite3_stmt *s = NULL;
	int rc = -1;
	pthread_mutex_lock(&st->db_mu);
	if (sqlite3_prepare_v2(st->db, "SELECT state, count(*) FROM uploads GROUP BY state", -1, &s,
			       NULL) != SQLITE_OK)
		goto out;
	int step;
	while ((step = sqlite3_step(s)) == SQLITE_ROW) {
		const char *state = (const char *)sqlite3_column_text(s, 0);
		long n = (long)sqlite3_column_int64(s, 1);
		if (!state)
			continue;
		if (strcmp(state, "pending") == 0)
			c->pending = n;
		else if (strcmp(state, "failed") == 0)
			c->failed = n;
		else if (strcmp(state, "done") == 0)
			c->done = n;
	}
	rc = step == SQLITE_DONE ? 0 : -1;
out:
	sqlite3_finalize(s);
	pthread_mutex_unlock(&st->db_mu);
	return rc;
}

int storage_wait_idle(struct storage *st, long timeout_ms)
{
	double end = now_s() + (double)timeout_ms / 1000.0;
	for (;;) {
		struct storage_counts c;
		if (storage_counts(st, &c) == 0 && c.queued == 0 && c.pending == 0)
			return 0;
		if (now_s() >= end)
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

long storage_list(struct storage *st, const char *states,
		  void (*fn)(void *user, const struct storage_job *j), void *user)
{
	sqlite3_stmt *s = NULL;
	long count = -1;
	pthread_mutex_lock(&st->db_mu);
	if (sqlite3_prepare_v2(st->db,
			       "SELECT id, state, path, endpoint, bucket, key, md5, etag, last_error,"
			       " size, attempts, created, updated, next_try FROM uploads ORDER BY id",
			       -1, &s, NULL) != SQLITE_OK)
		goto out;
	count = 0;
	int step;
	while ((step = sqlite3_step(s)) == SQLITE_ROW) {
		struct storage_job j;
#define TXT(i) ((const char *)sqlite3_column_text(s, i))
		j.id = sqlite3_column_int64(s, 0);
		j.state = TXT(1) ? TXT(1) : "";
		if (!state_in(states, j.state))
			continue;
		j.path = TXT(2);
		j.endpoint = TXT(3);
		j.bucket = TXT(4);
		j.key = TXT(5);
		j.md5 = TXT(6);
		j.etag = TXT(7);
		j.last_error = TXT(8);
#undef TXT
		j.size = sqlite3_column_type(s, 9) == SQLITE_NULL ? -1 : sqlite3_column_int64(s, 9);
		j.attempts = sqlite3_column_int(s, 10);
		j.created = sqlite3_column_double(s, 11);
		j.updated = sqlite3_column_double(s, 12);
		j.next_try = sqlite3_column_double(s, 13);
		fn(user, &j);
		count++;
	}
	if (step != SQLITE_DONE)
		count = -1;
out:
	sqlite3_finalize(s);
	pthread_mutex_unlock(&st->db_mu);
	return count;
}

long storage_retry_failed(struct storage *st)
{
	long n = -1;
	sqlite3_stmt *s = NULL;
	pthread_mutex_lock(&st->db_mu);
	if (sqlite3_prepare_v2(st->db,
			       "UPDATE uploads SET state='pending', attempts=0, next_try=?1,"
			       " owner=NULL WHERE state='failed'",
			       -1, &s, NULL) == SQLITE_OK) {
		sqlite3_bind_double(s, 1, now_s());
		if (sqlite3_step(s) == SQLITE_DONE)
			n = sqlite3_changes(st->db);
	}
	sqlite3_finalize(s);
	pthread_mutex_unlock(&st->db_mu);
	pthread_mutex_lock(&st->mu);
	pthread_cond_signal(&st->cv);
	pthread_mutex_unlock(&st->mu);
	return n;
}

/* ------------------------------------------------------------ sync */

/* true when (D, KEY) has a pending job, or a done job of SIZE bytes. */
static bool already_spooled(struct storage *st, const struct storage_dest *d, const char *key,
			    long long size)
{
	sqlite3_stmt *s = NULL;
	bool yes = false;
	pthread_mutex_lock(&st->db_mu);
	if (sqlite3_prepare_v2(st->db,
			       "SELECT state, size FROM uploads WHERE endpoint=?1 AND bucket=?2 AND"
			       " key=?3",
			       -1, &s, NULL) == SQLITE_OK) {
		sqlite3_bind_text(s, 1, d->endpoint, -1, SQLITE_STATIC);
		sqlite3_bind_text(s, 2, d->bucket, -1, SQLITE_STATIC);
		sqlite3_bind_text(s, 3, key, -1, SQLITE_STATIC);
		if (sqlite3_step(s) == SQLITE_ROW) {
			const char *state = (const char *)sqlite3_column_text(s, 0);
			yes = state && (strcmp(state, "pending") == 0 ||
					(strcmp(state, "done") == 0 &&
					 sqlite3_column_int64(s, 1) == size));
		}
	}
	sqlite3_finalize(s);
	pthread_mutex_unlock(&st->db_mu);
	return yes;
}

/* Queues REL (a file under the data folder) to KEY unless already spooled. */
static int sync_one(struct storage *st, const struct storage_dest *d, const char *rel,
		    const char *key, long *queued)
{
	char path[4200], full[1400];
	struct stat sb;
	snprintf(path, sizeof path, "%s/%s", st->data_dir, rel);
	if (stat(path, &sb) != 0 || !S_ISREG(sb.st_mode))
		return 0;
	int n = d->prefix[0] ? snprintf(full, sizeof full, "%s/%s", d->prefix, key)
			     : snprintf(full, sizeof full, "%s", key);
	if (n < 0 || (size_t)n >= sizeof full || already_spooled(st, d, full, (long long)sb.st_size))
		return 0;
	if (storage_submit_to(st, d, rel, key) != 0)
		return -1;
	(*queued)++;
	return 0;
}

long storage_sync_project(struct storage *st, const char *project_id,
			  const struct storage_dest *d)
{
	if (!id_valid_project(project_id))
		return -1;
	long queued = 0;
	char dir[4200], rel[1024], key[1024];
	snprintf(dir, sizeof dir, "%s/%s/trials", st->data_dir, project_id);
	DIR *users = opendir(dir);
	struct dirent *u, *f;
	while (users && (u = readdir(users))) {
		if (!id_valid_user(u->d_name))
			continue;
		char udir[4500];
		snprintf(udir, sizeof udir, "%s/%s", dir, u->d_name);
		DIR *files = opendir(udir);
		while (files && (f = readdir(files))) {
			size_t n = strlen(f->d_name);
			if (f->d_name[0] == '.' || n < 7 || strcmp(f->d_name + n - 6, ".jsonl") != 0 ||
			    !s3_key_valid(f->d_name))
				continue;
			snprintf(rel, sizeof rel, "%s/trials/%s/%s", project_id, u->d_name, f->d_name);
			snprintf(key, sizeof key, "%s/Trials/%s/%s", project_id, u->d_name, f->d_name);
			if (sync_one(st, d, rel, key, &queued) != 0)
				queued = -1;
		}
		if (files)
			closedir(files);
		if (queued < 0)
			break;
	}
	if (users)
		closedir(users);
	snprintf(dir, sizeof dir, "%s/%s/users", st->data_dir, project_id);
	DIR *recs = queued < 0 ? NULL : opendir(dir);
	while (recs && (f = readdir(recs))) {
		size_t n = strlen(f->d_name);
		if (n < 6 || strcmp(f->d_name + n - 5, ".json") != 0)
			continue;
		char user[128];
		snprintf(user, sizeof user, "%.*s", (int)(n - 5), f->d_name);
		if (!id_valid_user(user))
			continue;
		snprintf(rel, sizeof rel, "%s/users/%s", project_id, f->d_name);
		snprintf(key, sizeof key, "%s/Users/%s", project_id, f->d_name);
		if (sync_one(st, d, rel, key, &queued) != 0) {
			queued = -1;
			break;
		}
	}
	if (recs)
		closedir(recs);
	return queued;
}
