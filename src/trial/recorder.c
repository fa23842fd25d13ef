/* recorder: buffered, append-only JSON Lines trial records. */
#include "trial/recorder.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/buf.h"
#include "core/clock.h"
#include "core/datapath.h"

#define REC_MAX_PENDING (64u << 20)
#define REC_MAX_FILES 4096

struct rec {
	char dir[4096];   /* absolute-or-relative folder of the participant */
	char rel[512];    /* the same relative to the data folder */
	bool per_episode;
	int fd;           /* the current data file, -1 when none */
	struct buf pending; /* lines not written yet, at most REC_MAX_PENDING bytes */
	size_t dropped;
	unsigned long long lines;
	char **files;     /* relative paths, NULL-terminated */
	size_t nfiles;
	char project_id[72], user_id[72]; /* for the file-closed hook */
	rec_closed_fn on_closed;
	void *on_closed_user;
	char trial_id[48];
	bool named;       /* whether the data files carry the trial id is decided */
	bool own_names;   /* a later trial: episode_<n>-<trialId>.jsonl, trial-<trialId>.jsonl */
	char cur[640];    /* relative path of the open per-episode file */
	char curname[128];/* name of the open data file */
	bool dirty;       /* written since its last fsync */
	int upload_every_ms;
	int64_t upload_at;  /* monotonic ms: when the open files go up next */
	bool data_grown, meta_grown; /* written since they last went up */
	bool frames;      /* keep the frames (rec_frame) */
	int ffd;          /* the open frames file, -1 when none */
	struct buf fpending; /* frames not written yet */
	char fname[128];  /* the frames file frames go to ("" before the first episode) */
	char fcur[640];   /* the same relative to the data folder */
	bool fdirty;
	/* An episode's frames file stays the target until the next episode's
	 * first line: the frame showing an episode's last step is sent after
	 * the next data file was opened (an external process's reset is still
	 * being computed then), and belongs with the ended episode. */
	char fnext[128], fnextcur[640]; /* the next data file's frames file */
	bool fswitch;                   /* fnext takes over at the next line */
};

/* ---- fsync off the callers' threads ----
 * fsync can take tens of milliseconds on a busy disk; a session worker that
 * waited for it would stall every session it runs. Data is written (to the
 * page cache) by the caller, then the file's path goes to one process-wide
 * sync thread that opens, fsyncs and closes it. Pending files hold no
 * descriptor, and a file already waiting is not queued twice (its fsync,
 * still to come, covers what was just written): a flood of short trials
 * costs one fsync per file and batch, not one per write. rec_sync_wait
 * blocks until every queued fsync is done (shutdown). A full queue falls
 * back to an inline fsync: never lose the guarantee, only the latency. */

#define SYNC_QUEUE 65536  /* files waiting at most */
#define SYNC_BUCKETS 4096 /* hash buckets of the waiting files */

struct sync_item {
	struct sync_item *next, *hnext;
	char path[];
};

static pthread_mutex_t sync_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t sync_cv = PTHREAD_COND_INITIALIZER;
static pthread_cond_t sync_idle_cv = PTHREAD_COND_INITIALIZER;
static struct sync_item *sync_head, *sync_tail, *sync_set[SYNC_BUCKETS];
static size_t sync_len, sync_busy;
static bool sync_started;

static size_t sync_hash(const char *p)
{
	size_t h = 14695981039346656037u;
	for (; *p; p++)
		h = (h ^ (unsigned char)*p) * 1099511628211u;
	return h % SYNC_BUCKETS;
}

static void *sync_main(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&sync_mu);
	for (;;) {
		while (!sync_head)
			pthread_cond_wait(&sync_cv, &sync_mu);
		struct sync_item *it = sync_head;
		sync_head = it->next;
		if (!sync_head)
			sync_tail = NULL;
		struct sync_item **pp = &sync_set[sync_hash(it->path)];
		while (*pp != it)
			pp = &(*pp)->hnext;
		*pp = it->hnext; /* a write from now on queues it again */
		sync_len--;
		sync_busy++;
		pthread_mutex_unlock(&sync_mu);
		int fd = -1;
		for (int i = 0; i < 200; i++) { /* out of descriptors: wait for one */
			fd = open(it->path, O_RDONLY | O_CLOEXEC);
			if (fd >= 0 || (errno != EMFILE && errno != ENFILE && errno != EINTR))
				break;
			usleep(10000);
		}
		if (fd >= 0) {
			fsync(fd);
			close(fd);
		}
		free(it);
		pthread_mutex_lock(&sync_mu);
		sync_busy--;
		if (!sync_head && sync_busy == 0)
			pthread_cond_broadcast(&sync_idle_cv);
	}
	return NULL;
}

/* Queues an fsync of the file at PATH, which the caller has open as FD. */
static void sync_later(int fd, const char *path)
{
	pthread_mutex_lock(&sync_mu);
	if (!sync_started) {
		pthread_t th;
		if (pthread_create(&th, NULL, sync_main, NULL) == 0) {
			pthread_detach(th);
			sync_started = true;
		}
	}
	size_t h = sync_hash(path);
	for (struct sync_item *it = sync_set[h]; it; it = it->hnext)
		if (strcmp(it->path, path) == 0) {
			pthread_mutex_unlock(&sync_mu);
			return;
		}
	size_t n = strlen(path) + 1;
	struct sync_item *it = sync_started && sync_len < SYNC_QUEUE ? malloc(sizeof *it + n) : NULL;
	if (!it) {
		pthread_mutex_unlock(&sync_mu);
		fsync(fd);
		return;
	}
	memcpy(it->path, path, n);
	it->next = NULL;
	it->hnext = sync_set[h];
	sync_set[h] = it;
	if (sync_tail)
		sync_tail->next = it;
	else
		sync_head = it;
	sync_tail = it;
	sync_len++;
	pthread_cond_signal(&sync_cv);
	pthread_mutex_unlock(&sync_mu);
}

void rec_sync_wait(void)
{
	pthread_mutex_lock(&sync_mu);
	while (sync_head || sync_busy > 0)
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

/* Opens NAME in the participant's folder for appending (READ: reading too). */
static int open_file(struct rec *r, const char *name, bool read, char *err, size_t errlen)
{
	char path[4200];
	snprintf(path, sizeof path, "%s/%s", r->dir, name);
	int fd = open(path, (read ? O_RDWR : O_WRONLY) | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
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
	r->ffd = -1;
	r->frames = c->frames;
	buf_init(&r->pending, REC_MAX_PENDING);
	buf_init(&r->fpending, REC_MAX_PENDING);
	r->per_episode = c->per_episode;
	r->on_closed = c->on_closed;
	r->on_closed_user = c->on_closed_user;
	r->upload_every_ms = c->upload_every_ms;
	r->upload_at = clock_mono_ms() + c->upload_every_ms;
	snprintf(r->project_id, sizeof r->project_id, "%s", c->project_id);
	snprintf(r->user_id, sizeof r->user_id, "%s", c->user_id);
	snprintf(r->trial_id, sizeof r->trial_id, "%s", c->trial_id ? c->trial_id : "");
	for (const char *p = r->trial_id; *p; p++)
		if (!((*p >= '0' && *p <= '9') || (*p >= 'A' && *p <= 'Z') ||
		      (*p >= 'a' && *p <= 'z') || *p == '-'))
			r->trial_id[0] = '\0'; /* never a path component */
	if (datapath_participant(r->rel, sizeof r->rel, NULL, c->project_id, c->user_id) < 0 ||
	    datapath_participant(r->dir, sizeof r->dir, c->data_dir, c->project_id, c->user_id) < 0) {
		snprintf(err, errlen, "%s: path too long", c->data_dir);
		free(r);
		return NULL;
	}
	r->files = calloc(1, sizeof *r->files);
	if (!r->files || mkdirs(r->dir) < 0) {
		snprintf(err, errlen, "%s: %s", r->dir, r->files ? strerror(errno) : "out of memory");
		free(r->files);
		free(r);
		return NULL;
	}
	return r;
}

/* The name of this trial's data file (EPISODE in per-episode mode). The
 * first time: a file of that plain name with data in it belongs to an
 * earlier trial, so this trial's names carry its id. */
static void data_name(struct rec *r, int episode, char *name, size_t len)
{
	datapath_data_name(name, len, r->per_episode, episode, NULL);
	if (!r->named) {
		char path[4200];
		struct stat st;
		snprintf(path, sizeof path, "%s/%s", r->dir, name);
		r->own_names = r->trial_id[0] && stat(path, &st) == 0 && st.st_size > 0;
		r->named = true;
	}
	if (r->own_names)
		datapath_data_name(name, len, r->per_episode, episode, r->trial_id);
}

static int write_all(int fd, const char *p, size_t n);

/* The frames file that goes with data file NAME ("x.jsonl" -> "x.frames"):
 * the target now, or (an earlier episode's file still taking its last
 * frame) from the next line on. */
static void frames_name(struct rec *r, const char *name)
{
	size_t n = strlen(name);
	if (n > 6 && strcmp(name + n - 6, ".jsonl") == 0)
		n -= 6;
	bool later = r->per_episode && (r->ffd >= 0 || r->fpending.len > 0);
	char *fn = later ? r->fnext : r->fname, *fc = later ? r->fnextcur : r->fcur;
	snprintf(fn, sizeof r->fname, "%.*s.frames", (int)n, name);
	snprintf(fc, sizeof r->fcur, "%s/%s", r->rel, fn);
	r->fswitch = later;
}

int rec_begin_episode(struct rec *r, int episode, char *err, size_t errlen)
{
	char name[128];
	if (!r->per_episode) {
		if (r->fd >= 0)
			return 0;
		data_name(r, episode, name, sizeof name);
		r->fd = open_file(r, name, false, err, errlen);
		snprintf(r->curname, sizeof r->curname, "%s", name);
		frames_name(r, name);
		return r->fd < 0 ? -1 : 0;
	}
	if (r->fd >= 0 && rec_end_episode(r, err, errlen) < 0)
		return -1;
	data_name(r, episode, name, sizeof name);
	r->fd = open_file(r, name, false, err, errlen);
	snprintf(r->curname, sizeof r->curname, "%s", name);
	snprintf(r->cur, sizeof r->cur, "%s/%s", r->rel, name);
	frames_name(r, name);
	return r->fd < 0 ? -1 : 0;
}

int rec_frame(struct rec *r, unsigned long long frame_id, const void *jpeg, size_t len)
{
	if (!r->frames || !r->fname[0] || len > UINT32_MAX)
		return 0;
	if (buf_reserve(&r->fpending, len + 12) < 0) {
		r->dropped++;
		return -1;
	}
	unsigned char head[12];
	for (int i = 0; i < 8; i++)
		head[i] = (unsigned char)(frame_id >> (8 * i));
	for (int i = 0; i < 4; i++)
		head[8 + i] = (unsigned char)((uint32_t)len >> (8 * i));
	buf_append(&r->fpending, head, sizeof head);
	buf_append(&r->fpending, jpeg, len);
	return 0;
}

/* Writes the buffered frames to the frames file (opened, with its magic
 * when new, at the first). */
static int flush_frames(struct rec *r, char *err, size_t errlen)
{
	if (r->fpending.len == 0)
		return 0;
	if (r->ffd < 0) {
		r->ffd = open_file(r, r->fname, false, err, errlen);
		if (r->ffd < 0)
			return -1;
		struct stat st;
		if (fstat(r->ffd, &st) == 0 && st.st_size == 0 &&
		    write_all(r->ffd, REC_FRAMES_MAGIC, REC_FRAMES_MAGIC_LEN) < 0) {
			snprintf(err, errlen, "%s/%s: %s", r->dir, r->fname, strerror(errno));
			return -1;
		}
	}
	if (write_all(r->ffd, r->fpending.data, r->fpending.len) < 0) {
		snprintf(err, errlen, "%s/%s: %s", r->dir, r->fname, strerror(errno));
		return -1;
	}
	buf_reset(&r->fpending);
	r->fdirty = true;
	return 0;
}

/* Queues the fsync of the frames file and closes it (the end of its data
 * file); the file-closed hook hears of it as of the data file. */
static void close_frames(struct rec *r)
{
	if (r->ffd < 0)
		return;
	char path[4300];
	snprintf(path, sizeof path, "%s/%s", r->dir, r->fname);
	if (r->fdirty)
		sync_later(r->ffd, path);
	r->fdirty = false;
	close(r->ffd);
	r->ffd = -1;
	if (r->on_closed)
		r->on_closed(r->on_closed_user, r->project_id, r->user_id, r->fcur);
}

/* The first line of a new data file: the frames of the ended episode are
 * written, their file closed, and the new episode's frames file takes over
 * (frames that cannot be written are dropped and counted). */
static void switch_frames(struct rec *r)
{
	char err[256];
	if (flush_frames(r, err, sizeof err) < 0) {
		r->dropped++;
		buf_reset(&r->fpending);
	}
	close_frames(r);
	memcpy(r->fname, r->fnext, sizeof r->fname);
	memcpy(r->fcur, r->fnextcur, sizeof r->fcur);
	r->fswitch = false;
}

int rec_append(struct rec *r, const char *line, size_t len)
{
	if (r->fswitch)
		switch_frames(r);
	if (len > SIZE_MAX - 1 || buf_reserve(&r->pending, len + 1) < 0) {
		r->dropped++;
		return -1;
	}
	buf_append(&r->pending, line, len);
	buf_putc(&r->pending, '\n');
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

/* Whether the file FD ends in a line without its newline (a write cut short). */
static bool torn_end(int fd)
{
	struct stat st;
	char last;
	return fstat(fd, &st) == 0 && st.st_size > 0 && pread(fd, &last, 1, st.st_size - 1) == 1 &&
	       last != '\n';
}

int rec_meta(struct rec *r, const char *line, size_t len, char *err, size_t errlen)
{
	int fd = open_file(r, DATAPATH_META, true, err, errlen);
	if (fd < 0)
		return -1;
	/* one write: a process killed half-way leaves no line glued to the next */
	char *b = malloc(len + 2);
	if (!b) {
		close(fd);
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	size_t n = 0;
	if (torn_end(fd))
		b[n++] = '\n';
	memcpy(b + n, line, len);
	n += len;
	b[n++] = '\n';
	int rc = write_all(fd, b, n);
	free(b);
	r->meta_grown = true;
	if (rc == 0) {
		char path[4200];
		snprintf(path, sizeof path, "%s/" DATAPATH_META, r->dir);
		sync_later(fd, path);
	}
	if (rc < 0)
		snprintf(err, errlen, DATAPATH_META ": %s", strerror(errno));
	close(fd);
	return rc;
}

/* Every upload_every_ms: the open data file and trials.jsonl, if they grew,
 * go to the on_closed hook (their records so far are uploaded). */
static void upload_open(struct rec *r)
{
	if (r->upload_every_ms <= 0 || !r->on_closed || r->fd < 0)
		return;
	int64_t now = clock_mono_ms();
	if (now < r->upload_at)
		return;
	r->upload_at = now + r->upload_every_ms;
	char path[700];
	if (r->meta_grown) {
		snprintf(path, sizeof path, "%s/" DATAPATH_META, r->rel);
		r->on_closed(r->on_closed_user, r->project_id, r->user_id, path);
		r->meta_grown = false;
	}
	if (r->data_grown) {
		snprintf(path, sizeof path, "%s/%s", r->rel, r->curname);
		r->on_closed(r->on_closed_user, r->project_id, r->user_id, path);
		r->data_grown = false;
	}
}

int rec_flush(struct rec *r, char *err, size_t errlen)
{
	if (flush_frames(r, err, errlen) < 0)
		return -1;
	if (r->pending.len == 0)
		return 0;
	if (r->fd < 0) {
		snprintf(err, errlen, "no open data file");
		return -1;
	}
	if (write_all(r->fd, r->pending.data, r->pending.len) < 0) {
		snprintf(err, errlen, "%s: %s", r->dir, strerror(errno));
		return -1;
	}
	buf_reset(&r->pending);
	r->dirty = true;
	r->data_grown = true;
	upload_open(r);
	return 0;
}

/* Queues the fsync of the open data file if it was written since the last. */
static void sync_data(struct rec *r)
{
	if (r->fd < 0 || !r->dirty)
		return;
	char path[4300];
	snprintf(path, sizeof path, "%s/%s", r->dir, r->curname);
	sync_later(r->fd, path);
	r->dirty = false;
}

int rec_end_episode(struct rec *r, char *err, size_t errlen)
{
	int rc = rec_flush(r, err, errlen);
	if (rc == 0)
		sync_data(r);
	if (r->per_episode && r->fd >= 0 && rc == 0) {
		/* its frames file stays open for the frame of its last step (above) */
		close(r->fd);
		r->fd = -1;
		r->data_grown = false;
		if (r->on_closed)
			r->on_closed(r->on_closed_user, r->project_id, r->user_id, r->cur);
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
		sync_data(r);
		close(r->fd);
	}
	char ferr[256];
	if (flush_frames(r, ferr, sizeof ferr) < 0 && rc == 0) {
		snprintf(err, errlen, "%s", ferr);
		rc = -1;
	}
	close_frames(r);
	for (size_t i = 0; i < r->nfiles; i++)
		free(r->files[i]);
	free(r->files);
	buf_free(&r->pending);
	buf_free(&r->fpending);
	free(r);
	return rc;
}

/* ---- recovery after a crash ---- */

#define REC_TAIL 65536 /* bytes of trials.jsonl read: its last lines */

static bool valid_component(const char *s)
{
	size_t n = 0;
	for (; s[n]; n++)
		if (!((s[n] >= '0' && s[n] <= '9') || (s[n] >= 'A' && s[n] <= 'Z') ||
		      (s[n] >= 'a' && s[n] <= 'z') || s[n] == '-' || s[n] == '_'))
			return false;
	return n > 0 && n <= 64;
}

/* The newest modification time (ms since 1970) of the files in DIR. */
static long long newest_mtime_ms(const char *dir)
{
	long long best = 0;
	DIR *d = opendir(dir);
	struct dirent *e;
	while (d && (e = readdir(d))) {
		struct stat st;
		if (e->d_name[0] == '.' || fstatat(dirfd(d), e->d_name, &st, 0) < 0)
			continue;
		long long ms = (long long)st.st_mtim.tv_sec * 1000 + st.st_mtim.tv_nsec / 1000000;
		if (ms > best)
			best = ms;
	}
	if (d)
		closedir(d);
	return best;
}

/* Ends the last trial of DIR/trials.jsonl if it has a start line but no end
 * line. Returns 1 when an end line was written, 0 when none was needed, -1. */
static int recover_participant(const char *dir)
{
	char path[4400];
	if (snprintf(path, sizeof path, "%s/" DATAPATH_META, dir) >= (int)sizeof path)
		return -1;
	int fd = open(path, O_RDWR | O_APPEND | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return errno == ENOENT ? 0 : -1;
	struct stat st;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size == 0) {
		close(fd);
		return 0;
	}
	size_t n = st.st_size < REC_TAIL ? (size_t)st.st_size : REC_TAIL;
	char *b = malloc(n + 1);
	if (!b || pread(fd, b, n, st.st_size - (off_t)n) != (ssize_t)n) {
		free(b);
		close(fd);
		return -1;
	}
	b[n] = '\0';
	bool torn = b[n - 1] != '\n';
	/* the last complete line */
	size_t end = n;
	while (end > 0 && b[end - 1] != '\n')
		end--;
	size_t start = end ? end - 1 : 0;
	while (start > 0 && b[start - 1] != '\n')
		start--;
	json_t *last = end > start ? json_loadb(b + start, end - 1 - start, 0, NULL) : NULL;
	free(b);
	const char *event = json_string_value(json_object_get(last, "event"));
	int rc = 0;
	if (torn && write_all(fd, "\n", 1) < 0)
		rc = -1;
	if (rc == 0 && event && strcmp(event, "start") == 0) {
		json_t *j = json_pack("{s:s,s:O*,s:O*,s:O*,s:I,s:O*,s:s}", "event", "end", "trialId",
				      json_object_get(last, "trialId"), "projectId",
				      json_object_get(last, "projectId"), "userId",
				      json_object_get(last, "userId"), "t",
				      (json_int_t)newest_mtime_ms(dir), "game",
				      json_object_get(last, "game"), "reason", "crash");
		char *line = j ? json_dumps(j, JSON_COMPACT) : NULL;
		json_decref(j);
		size_t len = line ? strlen(line) : 0;
		if (line)
			line[len] = '\n'; /* the terminator is overwritten: write len + 1 */
		rc = line && write_all(fd, line, len + 1) == 0 ? 1 : -1;
		if (rc == 1)
			fsync(fd);
		free(line);
	}
	json_decref(last);
	close(fd);
	return rc;
}

long rec_recover(const char *data_dir, char *err, size_t errlen)
{
	DIR *d = opendir(data_dir);
	if (!d) {
		snprintf(err, errlen, "%s: %s", data_dir, strerror(errno));
		return -1;
	}
	long ended = 0;
	struct dirent *p;
	while ((p = readdir(d))) {
		char trials[4200];
		if (!valid_component(p->d_name) ||
		    datapath_trials(trials, sizeof trials, data_dir, p->d_name) < 0)
			continue;
		DIR *t = opendir(trials);
		struct dirent *u;
		while (t && (u = readdir(t))) {
			char dir[4300];
			if (!valid_component(u->d_name) ||
			    snprintf(dir, sizeof dir, "%s/%s", trials, u->d_name) >= (int)sizeof dir)
				continue;
			if (recover_participant(dir) == 1)
				ended++;
		}
		if (t)
			closedir(t);
	}
	closedir(d);
	return ended;
}
