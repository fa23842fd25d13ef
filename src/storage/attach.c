/* storage: the spool wired to the session manager (files as they close, the
 * files of an ended session) and to the participant store (records to
 * upload); see storage.h. hippo serve and hippo trial both attach the spool
 * here. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <jansson.h>

#include "core/buf.h"
#include "core/datapath.h"
#include "core/id.h"
#include "core/log.h"
#include "session/session.h"
#include "storage/storage_int.h"
#include "store/store.h"

/* The recorder closed a per-episode data file: queue it now rather than at
 * the end of the session. On a session worker: storage_submit never blocks. */
static void on_file_closed(void *user, const char *project_id, const char *user_id,
			   const char *rel_path)
{
	if (storage_submit_trial_file(user, project_id, user_id, rel_path) != 0)
		log_error("storage", "episode file not queued for upload", "project=%s file=%s",
			  project_id, rel_path);
}

void storage_on_session_end(void *user, const char *project_id, const char *user_id,
			    enum sess_end_reason reason, const char *const *files)
{
	struct storage *st = user;
	(void)reason;
	for (size_t i = 0; files && files[i]; i++)
		if (storage_submit_trial_file(st, project_id, user_id, files[i]) != 0)
			log_error("storage", "cannot queue upload", "project=%s user=%s file=%s",
				  project_id, user_id, files[i]);
}

int storage_attach(struct storage *st, struct sess_mgr *sess)
{
	sess_on_file_closed(sess, on_file_closed, st);
	return sess_on_end(sess, storage_on_session_end, st);
}

int storage_participant_changed(struct storage *st, struct store *store, const char *project_id,
				const char *user_id)
{
	struct storage_dest d;
	if (!storage__project_dest(st, project_id, &d))
		return 0;
	json_t *rec = store_participant_json(store, project_id, user_id);
	char *text = rec ? json_dumps(rec, JSON_INDENT(1) | JSON_PRESERVE_ORDER) : NULL;
	json_decref(rec);
	int rc = text && storage_submit_participant_record(st, project_id, user_id, text,
							   strlen(text)) == 0
			 ? 0
			 : -1;
	free(text);
	return rc;
}

/* The user ids of a project's participants without a local record file
 * (collected first: an iterator's function must not call the store). */
struct missing {
	struct storage *st;
	const char *project_id;
	char (*ids)[ID_MAX + 1];
	size_t n, cap;
};

static int note_missing(void *user, const struct store_participant_row *r)
{
	struct missing *m = user;
	char path[PATH_MAX];
	struct stat sb;
	if (!r->user_id || !id_valid_user(r->user_id) ||
	    datapath_user_record(path, sizeof path, m->st->data_dir, m->project_id, r->user_id) < 0 ||
	    stat(path, &sb) == 0)
		return 0;
	if (buf_grow_array((void **)&m->ids, &m->cap, m->n + 1, sizeof *m->ids, 64, 0) < 0)
		return 1;
	snprintf(m->ids[m->n++], sizeof m->ids[0], "%s", r->user_id);
	return 0;
}

/* Submits the record of every participant of PROJECT_ID in STORE that has no
 * local record file yet, one participant's JSON at a time (a study of 100 000
 * participants is not held in memory at once). Returns how many. */
static long records_missing(struct storage *st, struct store *store, const char *project_id)
{
	struct missing m = {.st = st, .project_id = project_id};
	struct store_query q = {.project_id = project_id, .order = STORE_ORDER_ID};
	if (store_participants_each(store, &q, note_missing, &m) < 0)
		log_error("storage", "cannot list the participants", "project=%s err=\"%s\"",
			  project_id, store_errmsg(store));
	long n = 0;
	for (size_t i = 0; i < m.n; i++)
		if (storage_participant_changed(st, store, project_id, m.ids[i]) == 0)
			n++;
	free(m.ids);
	return n;
}

long storage_catch_up(struct storage *st, const char *project_id, const struct storage_dest *d,
		      struct store *store)
{
	long n = storage_sync_project(st, project_id, d);
	long records = store ? records_missing(st, store, project_id) : 0;
	return n < 0 ? -1 : n + records;
}
