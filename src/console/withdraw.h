/* withdraw: a participant's data deleted everywhere (docs/console.md,
 * "Withdrawal"): their live game session stopped, their record files and
 * participant record (DATA/P/trials/U/, DATA/P/users/U.json), their uploads
 * (jobs in the spool and objects already in S3, storage_forget), their rows
 * in every table of the participant store, and the objects other nodes of a
 * cluster uploaded for them (storage_sweep); an audit entry says who did
 * it, when, and what went, with the SHA-256 of each file and of the store's
 * record. Used by the console's API and by `hippo withdraw`.
 *
 * The withdrawal is recorded in the store (store_withdrawal_add), and every
 * other `hippo serve` sharing the store applies it (withdraw_watch): it stops
 * the participant's game if it runs there, deletes its files of theirs and
 * its uploads of them (a file of a game that ended there after the
 * withdrawal included), and writes an audit entry of its own. */
#ifndef HIPPO_CONSOLE_WITHDRAW_H
#define HIPPO_CONSOLE_WITHDRAW_H

#include <stddef.h>

#include <jansson.h>

struct sess_mgr;
struct storage;
struct store;
struct withdraw_watch;

struct withdraw_opts {
	struct store *store;       /* read-write */
	struct storage *storage;   /* the upload spool (NULL: uploads are not looked at) */
	struct sess_mgr *sess;     /* live sessions (NULL: none) */
	const char *data_dir;
	const char *project_id, *user_id; /* validated */
	const char *by_name;       /* who asked (may be ""), for the audit log */
	const char *by_address;    /* from where ("" for the command line) */
	const char *via;           /* "console", "api" or "cli" */
	const char *node;          /* this node's name (cluster), "" or NULL for none */
	struct withdraw_watch *watch; /* this process's watch (may be NULL): what it
				       * withdraws, it does not apply again */
};

/* Withdraws the participant. Returns 200 with *REPORT (the audit entry, with
 * its "audit" id), 404 when the store has no such participant (files of
 * theirs are deleted all the same), or 500 with ERR; a partial failure (an
 * object S3 would not delete) is 200 with "complete": false and what is left
 * in the report. */
int withdraw_participant(const struct withdraw_opts *o, json_t **report, char *err,
			 size_t errlen);

/* Applies the withdrawals other processes record in the store (O: store,
 * storage, sess, data_dir and node; the rest is ignored): at once, then from
 * a thread every POLL_MS (0: 2000), each withdrawal not made by this node
 * (O->node) in order, as withdraw_participant does on its own node minus the
 * store rows (already gone). The last one applied is kept in
 * DATA/spool/withdrawals-NODE.applied, so a node that was down applies the
 * ones it missed when it starts, before it takes a game; on a node's first
 * start the earlier ones are taken as applied (it holds nothing of them).
 * Returns 0 with *OUT, or -1 with ERR. */
int withdraw_watch_start(struct withdraw_watch **out, const struct withdraw_opts *o, int poll_ms,
			 char *err, size_t errlen);
void withdraw_watch_stop(struct withdraw_watch *w);

#endif
