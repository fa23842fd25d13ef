/* recorder: buffered, append-only JSON Lines trial records. */
#include "trial/recorder.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define REC_MAX_PENDING (64u << 20)
#define REC_MAX_FILES 4096

struct rec {
	char dir[4096];   /* absolute-or-relative folder of the participant */
	char rel[512];    /* the same relative to the data folder */
	bool per_episode;
	int fd;           /* the current data file, -1 when none */
	char *buf;
	size_t len, cap;
	size_t dropped;
	unsigned long long lines;
	char **files;     /* relative paths, NULL-terminated */
	size_t nfiles;
	char project_id[72], user_id[72]; /* for the file-closed hook */
	char cur[600];    /* relative path of the open per-episode file */
};

static rec_closed_fn closed_fn;
static void *closed_user;

void rec_on_file_closed(rec_closed_fn fn, void *user)
{
	closed_fn = fn;
	closed_user = user;
}

/* ---- fsync off the callers' threads ----
 * fsync can take tens of milliseconds on a busy disk; a session worker that
 * waited for it would stall every session it runs. Data is written (to the
 * page cache) by the caller, then a duplicate of the descriptor goes to one
 * process-wide sync thread that fsyncs and closes it. rec_sync_wait blocks
 * until every queued fsync is done (shutdown). A full queue falls back to an
 * inline fsync: never lose the guarantee, only the latency. */

#define SYNC_QUEUE 4096

static pthread_mutex_t sync_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t sync_cv = PTHREAD_COND_INITIALIZER;
static pthread_cond_t sync_idle_cv = PTHREAD_COND_INITIALIZER;
static int sync_q[SYNC_QUEUE];
static size_t sync_head, sync_len, sync_busy;
static bool sync_started;

static void *sync_main(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&sync_mu);
	for (;;) {
		while (sync_len == 0)
			pthread_cond_wait(&sync_cv, &sync_mu);
		int fd = sync_q[sync_head];
		sync_head = (sync_head + 1) % SYNC_QUEUE;
		sync_len--;
		sync_busy++;
		pthread_mutex_unlock(&sync_mu);
		fsync(fd);
		close(fd);
		pthread_mutex_lock(&sync_mu);
		sync_busy--;
		if (sync_len == 0 && sync_busy == 0)
			pthread_cond_broadcast(&sync_idle_cv);
	}
	return NULL;
}

/* Queues an fsync of FD (the caller keeps FD). */
static void sync_later(int fd)
{
	int d = dup(fd);
	if (d < 0) {
		fsync(fd);
		return;
	}
	pthread_mutex_lock(&sync_mu);
	if (!sync_started) {
		pthread_t th;
		if (pthread_create(&th, NULL, sync_main, NULL) == 0) {
			pthread_detach(th);
			sync_started = true;
		}
	}
	if (!sync_started || sync_len == SYNC_QUEUE) {
		pthread_mutex_unlock(&sync_mu);
		fsync(d);
		close(d);
		return;
	}
	sync_q[(sync_head + sync_len) % SYNC_QUEUE] = d;
	sync_len++;
	pthread_cond_signal(&sync_cv);
	pthread_mutex_unlock(&sync_mu);
}

void rec_sync_wait(void)
{
	pthread_mutex_lock(&sync_mu);
	while (sync_len > 0 || sync_busy > 0)
		pthread_cond_wait(&sync_idle_cv, &sync_mu);
	pthread_mutex_unlock(&sync_mu);
}

/* mkdir -p for PATH (modified in place temporarily). */
static int mkdirs(char *path)
{
	for (char *p = path + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		int rc = mkdir(path, 0755);
		*p = '/';
		if (rc < 0 && errno != EEXIST)
			return -1;
	}
	if (mkdir(path, 0755) < 0 && errno != EEXIST)
		return -1;
	return 0;
}

static void add_file(struct rec *r, const char *name)
{
	char path[600];
	snprintf(path, sizeof path, "%s/%s", r->rel, name);
	for (size_t i = 0; i < r->nfiles; i++)
		if (strcmp(r->files[i], path) == 0)
			return;
	if (r->nfiles >= REC_MAX_FILES)
		return;
	char **f = realloc(r->files, (r->nfiles + 2) * sizeof *f);
	if (!f)
		return;
	r->files = f;
	f[r->nfiles] = strdup(path);
	if (f[r->nfiles])
		r->nfiles++;
	f[r->nfiles] = NULL;
}

static int open_file(struct rec *r, const char *name, char *err, size_t errlen)
{
	char path[4200];
	snprintf(path, sizeof path, "%s/%s", r->dir, name);
	int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
	if (fd < 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	add_file(r, name);
	return fd;
}

struct rec *rec_open(const struct rec_config *c, char *err, size_t errlen)
{
	struct rec *r = calloc(1, sizeof *r);
	if (!r) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	r->fd = -1;
	r->per_episode = c->per_episode;
	snprintf(r->rel, sizeof r->rel, "%s/trials/%s", c->project_id, c->user_id);
	snprintf(r->project_id, sizeof r->project_id, "%s", c->project_id);
	snprintf(r->user_id, sizeof r->user_id, "%s", c->user_id);
	snprintf(r->dir, sizeof r->dir, "%s/%s", c->data_dir, r->rel);
	r->files = calloc(1, sizeof *r->files);
	if (!r->files || mkdirs(r->dir) < 0) {
		snprintf(err, errlen, "%s: %s", r->dir, r->files ? strerror(errno) : "out of memory");
		free(r->files);
		free(r);
		return NULL;
	}
	if (!r->per_episode && (r->fd = open_file(r, "trial.jsonl", err, errlen)) < 0) {
		free(r->files);
		free(r);
		return NULL;
	}
	return r;
}

int rec_begin_episode(struct rec *r, int episode, char *err, size_t errlen)
{
	if (!r->per_episode)
		return 0;
	if (r->fd >= 0 && rec_end_episode(r, err, errlen) < 0)
		return -1;
	char name[64];
	snprintf(name, sizeof name, "episode_%d.jsonl", episode);
	r->fd = open_file(r, name, err, errlen);
	snprintf(r->cur, sizeof r->cur, "%s/%s", r->rel, name);
	return r->fd < 0 ? -1 : 0;
}

int rec_append(struct rec *r, const char *line, size_t len)
{
	if (r->len + len + 1 > REC_MAX_PENDING) {
		r->dropped++;
		return -1;
	}
	if (r->len + len + 1 > r->cap) {
		size_t cap = r->cap ? r->cap : 16384;
		while (cap < r->len + len + 1)
			cap *= 2;
		char *b = realloc(r->buf, cap);
		if (!b) {
			r->dropped++;
			return -1;
		}
		r->buf = b;
		r->cap = cap;
	}
	memcpy(r->buf + r->len, line, len);
	r->buf[r->len + len] = '\n';
	r->len += len + 1;
	r->lines++;
	return 0;
}

static int write_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

int rec_meta(struct rec *r, const char *line, size_t len, char *err, size_t errlen)
{
	int fd = open_file(r, "trials.jsonl", err, errlen);
	if (fd < 0)
		return -1;
	int rc = write_all(fd, line, len);
	if (rc == 0)
		rc = write_all(fd, "\n", 1);
	if (rc == 0)
		sync_later(fd);
	if (rc < 0)
		snprintf(err, errlen, "trials.jsonl: %s", strerror(errno));
	close(fd);
	return rc;
}

int rec_flush(struct rec *r, char *err, size_t errlen)
{
	if (r->len == 0)
		return 0;
	if (r->fd < 0) {
		snprintf(err, errlen, "no open data file");
		return -1;
	}
	if (write_all(r->fd, r->buf, r->len) < 0) {
		snprintf(err, errlen, "%s: %s", r->dir, strerror(errno));
		return -1;
	}
	r->len = 0;
	return 0;
}

int rec_end_episode(struct rec *r, char *err, size_t errlen)
{
	int rc = rec_flush(r, err, errlen);
	if (r->fd >= 0 && rc == 0)
		sync_later(r->fd);
	if (r->per_episode && r->fd >= 0 && rc == 0) {
		close(r->fd);
		r->fd = -1;
		if (closed_fn)
			closed_fn(closed_user, r->project_id, r->user_id, r->cur);
	}
	return rc;
}

const char *const *rec_files(const struct rec *r)
{
	return (const char *const *)r->files;
}

size_t rec_dropped(const struct rec *r)
{
	return r->dropped;
}

unsigned long long rec_lines(const struct rec *r)
{
	return r->lines;
}

int rec_close(struct rec *r, char *err, size_t errlen)
{
	if (!r)
		return 0;
	int rc = 0;
	if (r->fd >= 0) {
		rc = rec_flush(r, err, errlen);
		sync_later(r->fd);
		close(r->fd);
	}
	for (size_t i = 0; i < r->nfiles; i++)
		free(r->files[i]);
	free(r->files);
	free(r->buf);
	free(r);
	return rc;
}
