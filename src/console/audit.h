/* audit: the console's audit log, DATA/audit.jsonl (docs/console.md): one
 * JSON object per line for each act a researcher should be accountable for
 * (a withdrawal, a spectated session), appended and fsynced before the act
 * is reported done. Thread-safe. */
#ifndef HIPPO_CONSOLE_AUDIT_H
#define HIPPO_CONSOLE_AUDIT_H

#include <stddef.h>

#include <jansson.h>

#define AUDIT_FILE "audit.jsonl"

/* Appends ENTRY (an object; "time" and "id" are added) to DATA_DIR/audit.jsonl
 * and syncs it. Returns 0 with the entry's id in ID (>= 40 bytes), or -1
 * with a message in ERR. */
int audit_append(const char *data_dir, json_t *entry, char *id, size_t idlen, char *err,
		 size_t errlen);

/* The last MAX entries, newest first (a JSON array), or NULL with ERR. */
json_t *audit_tail(const char *data_dir, size_t max, char *err, size_t errlen);

#endif
