/* storage: the spool wired to the session manager (files as they close, the
 * files of an ended session) and to the participant store (records to
 * upload); see storage.h. hippo serve and hippo trial both attach the spool
 * here. */
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <jansson.h>

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

/* Submits the record of every participant of PROJECT_ID in STORE that has no
 * local record file yet. Returns how many. */
static long records_missing(struct storage *st, struct store *store, const char *project_id)
{
	long n = 0;
	json_t *all = store_participants_json(store, project_id);
	size_t i;
	json_t *p;
	json_array_foreach(all, i, p)
	{
		const char *uid = json_string_value(json_object_get(p, "userId"));
		char path[PATH_MAX];
		struct stat sb;
		if (!uid || !id_valid_user(uid) ||
		    datapath_user_record(path, sizeof path, st->data_dir, project_id, uid) < 0 ||
		    stat(path, &sb) == 0)
			continue;
		json_t *rec = json_pack("{s:s}", "projectId", project_id);
		json_object_update(rec, p);
		char *text = json_dumps(rec, JSON_INDENT(1) | JSON_PRESERVE_ORDER);
		json_decref(rec);
		if (text && storage_submit_participant_record(st, project_id, uid, text,
							      strlen(text)) == 0)
			n++;
		free(text);
	}
	json_decref(all);
	return n;
}

long storage_catch_up(struct storage *st, const char *project_id, const struct storage_dest *d,
		      struct store *store)
{
	long n = storage_sync_project(st, project_id, d);
	long records = store ? records_missing(st, store, project_id) : 0;
	return n < 0 ? -1 : n + records;
}
