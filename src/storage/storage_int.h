/* storage internals shared by the files of src/storage/ (storage__ prefix):
 *
 *   storage.c  the public calls: destinations, submissions, counts, listings
 *   worker.c   the upload worker: queue into the spool, lease, upload, verify,
 *              retry with backoff
 *   sync.c     storage_sync_project: files not spooled yet
 *   attach.c   the spool wired to the sessions (files as they close, the
 *              files of an ended session) and to the participant store
 *   s3.c       one PUT and its verification (s3.h)
 *
 * The spool's rows are kept by src/store/spool_db.h. */
#ifndef HIPPO_STORAGE_STORAGE_INT_H
#define HIPPO_STORAGE_STORAGE_INT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>

#include "core/config.h"
#include "storage/storage.h"
#include "store/spool_db.h"

#define STORAGE__QUEUE_MAX 4096

/* A submission waiting for the worker to record it in the spool. */
struct storage__qjob {
	struct storage__qjob *next;
	struct storage_dest dest;
	char path[1024];
	char key[1100];
	char *content; /* when set, written to PATH (atomically) before the job is recorded */
	size_t content_len;
	long long size; /* of the local file when recorded, -1 unknown */
	double mtime;
};

struct storage__project {
	char id[CFG_ID_MAX + 1];
	bool s3;
	struct storage_dest dest;
};

struct storage {
	char *data_dir;
	struct storage_opts o;

	pthread_mutex_t db_mu; /* guards spool */
	struct spool *spool;
	/* held by the worker while it uploads a job, and by a withdrawal while it
	 * deletes a participant's jobs and objects: no upload of theirs is under
	 * way or can start meanwhile */
	pthread_mutex_t up_mu;

	pthread_mutex_t mu; /* guards everything below */
	pthread_cond_t cv;
	struct storage__qjob *qhead, *qtail;
	long qlen;
	struct storage__project *projects;
	size_t nprojects, projects_cap;
	bool have_worker;
	pthread_t worker;
	long attempts_total;

	atomic_bool stop;
	char node[64];      /* storage_opts.node, "" when none */
};

/* The key of a trial file FILE of USER in PROJECT (storage_submit_trial_file):
 * 0, or -1 when it does not fit in LEN bytes. */
int storage__trial_key(const struct storage *st, const char *project_id, const char *user_id,
		       const char *file, char *key, size_t len);

/* The upload thread (started by storage_open unless no_worker). */
void *storage__worker_main(void *arg);
/* Moves every queued job into the spool. */
void storage__drain_queue(struct storage *st);
/* Records J in the spool now (the queue is full), writing its content first.
 * Caller holds db_mu. */
int storage__record(struct storage *st, struct storage__qjob *j);
/* Leases held by processes that no longer exist become due again. */
void storage__release_dead_leases(struct storage *st);
/* PROJECT_ID's registered destination: true with *D when it stores to S3. */
bool storage__project_dest(struct storage *st, const char *project_id, struct storage_dest *d);

#endif
