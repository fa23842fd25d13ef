/* hippo withdraw PROJECT USER: a participant's data deleted everywhere, with
 * an audit entry (docs/console.md, "Withdrawal"): the store's rows, the data
 * folder's files, the spool's uploads, and, when the study's S3 settings are
 * found (study_s3.h), every object under the participant's keys whoever
 * uploaded it. A server sharing the store applies it too (withdraw_watch). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/commands.h"
#include "cli/study_s3.h"
#include "console/withdraw.h"
#include "core/datapath.h"
#include "core/id.h"
#include "core/log.h"
#include "storage/storage.h"
#include "store/store.h"

static const char *o_data = "data";
static const char *o_store;
static const char *o_by;
static const char *o_project;
static bool o_yes;

static const struct opt opts[] = {
	{"data", OPT_STRING, &o_data, "DIR", "the data folder (default data)", 0, 0},
	{"store", OPT_STRING, &o_store, "SPEC",
	 "the participant store, when not DIR/hippo.db: sqlite:FILE or postgresql://...", 0, 0},
	{"by", OPT_STRING, &o_by, "NAME", "who asks, for the audit log (default: $USER)", 0, 0},
	{"project", OPT_STRING, &o_project, "DIR",
	 "the study folder, for its S3 settings (default: DIR/projects/PROJECT, or the "
	 "store's latest deployed version)", 0, 0},
	{"yes", OPT_FLAG, &o_yes, NULL, "do it (without --yes only what would go is said)", 0, 0},
	{NULL, 0, NULL, NULL, NULL, 0, 0},
};

static const struct opt_cmd spec = {
	.name = "withdraw",
	.args = "PROJECT USER",
	.summary = "delete a participant's data everywhere (store, records, uploads) with an "
		   "audit entry",
	.min_pos = 2,
	.max_pos = 2,
	.opts = opts,
};

static int run(int argc, char **argv)
{
	int npos, rc = 1;
	char path[4200], err[1024];
	struct store *store = NULL;
	struct storage *storage = NULL;
	o_data = "data";
	o_store = NULL;
	o_by = NULL;
	o_project = NULL;
	o_yes = false;
	int prc = opt_parse(&spec, argc, argv, &npos);
	if (prc != OPT_OK)
		return prc;
	const char *project = argv[1], *user = argv[2];
	if (!id_valid_project(project) || !id_valid_user(user)) {
		fprintf(stderr, "hippo withdraw: expected PROJECT %s and USER %s\n", ID_PROJECT_RULE,
			ID_USER_RULE);
		return 2;
	}
	log_set_level(LOG_WARN);
	datapath_store(path, sizeof path, o_data);
	if (!o_store && access(path, F_OK) != 0) {
		fprintf(stderr, "hippo withdraw: %s: no participant store\n", path);
		return 1;
	}
	store = store_open(o_store ? o_store : path, err, sizeof err);
	if (!store) {
		fprintf(stderr, "hippo withdraw: %s\n", err);
		return 1;
	}
	struct store_participant p;
	int found = store_participant_get(store, project, user, &p);
	if (!o_yes) {
		printf("%s/%s: %s; run again with --yes to delete their store rows, %s/%s/trials/%s/, "
		       "%s/%s/users/%s.json and their uploads\n",
		       project, user, found == 1 ? "in the participant store" : "not in the store",
		       o_data, project, user, o_data, project, user);
		rc = 0;
		goto out;
	}
	if (storage_open(&storage, &(struct storage_opts){.data_dir = o_data, .no_worker = true},
			 err, sizeof err) < 0) {
		fprintf(stderr, "hippo withdraw: %s\n", err);
		goto out;
	}
	/* the study's bucket: every node's objects of the participant are listed there */
	struct storage_dest dest;
	char where[4400];
	int s3 = study_s3_dest("hippo withdraw", o_project, project, o_data, o_store, &dest, where,
			       sizeof where);
	if (s3 == 1)
		storage_set_project(storage, project, &dest);
	else if (s3 == 2 || s3 < 0)
		fprintf(stderr, "hippo withdraw: the study's S3 settings were not found (--project "
				"DIR): only the uploads in %s's spool are deleted from S3\n", o_data);
	const char *who = o_by ? o_by : getenv("USER");
	struct withdraw_opts wo = {.store = store,
				   .storage = storage,
				   .data_dir = o_data,
				   .project_id = project,
				   .user_id = user,
				   .by_name = who ? who : "",
				   .by_address = "",
				   .via = "cli"};
	json_t *report = NULL;
	int st = withdraw_participant(&wo, &report, err, sizeof err);
	if (st != 200) {
		fprintf(stderr, "hippo withdraw: %s\n", err);
		goto out;
	}
	char *text = json_dumps(report, JSON_INDENT(2) | JSON_SORT_KEYS);
	printf("%s\n", text ? text : "");
	free(text);
	rc = json_is_true(json_object_get(report, "complete")) ? 0 : 1;
	json_decref(report);
out:
	if (storage)
		storage_close(storage);
	store_close(store);
	return rc;
}

const struct command cmd_withdraw = {.spec = &spec, .run = run};
