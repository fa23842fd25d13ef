/* withdraw: a participant's data deleted everywhere (docs/console.md,
 * "Withdrawal"): their live game session stopped, their record files and
 * participant record (DATA/P/trials/U/, DATA/P/users/U.json), their uploads
 * (jobs in the spool and objects already in S3, storage_forget), and their
 * rows in every table of the participant store; an audit entry says who did
 * it, when, and what went, with the SHA-256 of each file and of the store's
 * record. Used by the console's API and by `hippo withdraw`. */
#ifndef HIPPO_CONSOLE_WITHDRAW_H
#define HIPPO_CONSOLE_WITHDRAW_H

#include <stddef.h>

#include <jansson.h>

struct sess_mgr;
struct storage;
struct store;

struct withdraw_opts {
	struct store *store;       /* read-write */
	struct storage *storage;   /* the upload spool (NULL: uploads are not looked at) */
	struct sess_mgr *sess;     /* live sessions (NULL: none) */
	const char *data_dir;
	const char *project_id, *user_id; /* validated */
	const char *by_name;       /* who asked (may be ""), for the audit log */
	const char *by_address;    /* from where ("" for the command line) */
	const char *via;           /* "console", "api" or "cli" */
};

/* Withdraws the participant. Returns 200 with *REPORT (the audit entry, with
 * its "audit" id), 404 when the store has no such participant (files of
 * theirs are deleted all the same), or 500 with ERR; a partial failure (an
 * object S3 would not delete) is 200 with "complete": false and what is left
 * in the report. */
int withdraw_participant(const struct withdraw_opts *o, json_t **report, char *err,
			 size_t errlen);

#endif
