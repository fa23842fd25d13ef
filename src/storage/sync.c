/* storage: storage_sync_project, the files of a project not spooled yet (see
 * storage.h). */
#include <dirent.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "core/datapath.h"
#include "core/id.h"
#include "storage/s3.h"
#include "storage/storage_int.h"

/* true when (D, KEY) has a pending job, or a done job of SIZE bytes. */
static bool already_spooled(struct storage *st, const struct storage_dest *d, const char *key,
			    long long size)
{
	char state[16];
	long long done_size = 0;
	pthread_mutex_lock(&st->db_mu);
	int k = spool_lookup(st->spool, d->endpoint, d->bucket, key, state, sizeof state,
			     &done_size);
	pthread_mutex_unlock(&st->db_mu);
	bool yes = k == 1 && (strcmp(state, "pending") == 0 ||
			      (strcmp(state, "done") == 0 && done_size == size));
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
	datapath_trials(dir, sizeof dir, st->data_dir, project_id);
	DIR *users = opendir(dir);
	struct dirent *u, *f;
	while (users && (u = readdir(users))) {
		if (!id_valid_user(u->d_name))
			continue;
		char udir[4500], reldir[512];
		datapath_participant(udir, sizeof udir, st->data_dir, project_id, u->d_name);
		datapath_participant(reldir, sizeof reldir, NULL, project_id, u->d_name);
		DIR *files = opendir(udir);
		while (files && (f = readdir(files))) {
			/* the data files and the trials' metadata */
			if (f->d_name[0] == '.' ||
			    !(datapath_is_data_file(f->d_name) || strcmp(f->d_name, DATAPATH_META) == 0) ||
			    !s3_key_valid(f->d_name))
				continue;
			snprintf(rel, sizeof rel, "%s/%s", reldir, f->d_name);
			if (storage__trial_key(st, project_id, u->d_name, f->d_name, key,
					       sizeof key) < 0)
				continue;
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
	datapath_users(dir, sizeof dir, st->data_dir, project_id);
	DIR *recs = queued < 0 ? NULL : opendir(dir);
	while (recs && (f = readdir(recs))) {
		size_t n = strlen(f->d_name);
		if (n < 6 || strcmp(f->d_name + n - 5, ".json") != 0)
			continue;
		char user[128];
		snprintf(user, sizeof user, "%.*s", (int)(n - 5), f->d_name);
		if (!id_valid_user(user))
			continue;
		datapath_user_record(rel, sizeof rel, NULL, project_id, user);
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
