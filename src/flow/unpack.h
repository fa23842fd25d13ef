/* unpack: a study folder sent as a zip or tar(.gz) archive (the admin API's
 * deploy with an archive body, docs/api.md) unpacked in memory into what the
 * JSON deploy takes: the text of config.yml and StepFiles/ as {name: text}.
 * admin_deploy then validates and swaps it in exactly as it does a JSON
 * upload.
 *
 * The archive is hostile until read: libarchive reads it from memory (zip,
 * tar, either gzip-compressed; no other format or filter, no external
 * program), and
 *   - an entry is a regular file or a folder: symlinks, hard links,
 *     devices, FIFOs, sockets and encrypted entries are refused;
 *   - a name is relative, without '..', '.' or empty components, control
 *     characters or backslashes; one top-level folder holding everything
 *     (what zipping a folder makes) is stripped, and then the names must be
 *     config.yml, StepFiles/ and StepFiles/<name> with the deploy's file
 *     name rule (admin_file_name_valid); each name at most once;
 *   - at most UNPACK_MAX_ENTRIES entries, UNPACK_MAX_FILE bytes per file and
 *     UNPACK_MAX_TOTAL bytes of files; a gzip stream is unpacked to at most
 *     UNPACK_MAX_STREAM bytes (the tar inside with its headers);
 *   - files are UTF-8 text (what the JSON route carries), config.yml
 *     without NUL bytes.
 * macOS's metadata (a top-level __MACOSX/ folder, .DS_Store files) is
 * skipped: counted against the limits, never kept. Every refusal names the
 * entry it concerns. */
#ifndef HIPPO_FLOW_UNPACK_H
#define HIPPO_FLOW_UNPACK_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#define UNPACK_MAX_ENTRIES 1024          /* files, folders and skipped ones */
#define UNPACK_MAX_FILE (4u << 20)       /* one file unpacked */
#define UNPACK_MAX_TOTAL (8u << 20)      /* every file unpacked */
#define UNPACK_MAX_STREAM (16u << 20)    /* a gzip stream unpacked */

struct unpack_result {
	char *config;     /* config.yml's text, NUL-terminated (unpack_result_free) */
	json_t *files;    /* StepFiles/: {"consent.html": "<text>", ...} */
	char entry[256];  /* a refusal's entry as it may be shown ("\xNN" escapes; "" none) */
	char error[512];  /* a refusal's message, naming the entry */
};

/* Unpacks the archive DATA (LEN bytes) into *R (zeroed first). Returns 0,
 * or the HTTP status of a refusal with R->error and R->entry: 400 (not an
 * archive of a study folder, a refused entry), 413 (past a limit). Nothing
 * is written anywhere. */
int unpack_study(const void *data, size_t len, struct unpack_result *r);
void unpack_result_free(struct unpack_result *r);

/* Whether CONTENT_TYPE (a header value, may be NULL) names an archive this
 * module reads: application/zip, application/x-zip-compressed,
 * application/x-tar, application/gzip, application/x-gzip,
 * application/x-gtar, application/x-compressed-tar (parameters ignored). */
bool unpack_content_type(const char *content_type);

#endif
