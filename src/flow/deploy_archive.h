/* deploy_archive: a study folder uploaded as one archive (zip, tar, tar.gz;
 * read with libarchive, in memory) turned into what the admin API's deploy
 * takes: the text of config.yml and {name: text} of StepFiles/ (admin.h).
 *
 * The archive is hostile input. Only regular files and folders are taken; a
 * symbolic or hard link, a device or a FIFO refuses the archive, as does a
 * name that is absolute, has a ".." or an empty part, or a backslash. One
 * folder around everything (what zipping a folder gives) is stripped; macOS's
 * metadata (a top-level __MACOSX/, .DS_Store files, which Finder's "Compress"
 * adds) is read within the bounds and left out. Files
 * other than config.yml and StepFiles/NAME (NAME the deploy's rule: [A-Za-z0-9._-],
 * no leading dot, no "..") are left out and listed as skipped; a file in a
 * folder under StepFiles/ refuses the archive. Bounds: DA_MAX_ENTRIES entries,
 * DA_MAX_FILE bytes a file, DA_MAX_TOTAL bytes in all (an archive that
 * unpacks to more is refused as it is read, never unpacked in full). Files
 * must be UTF-8 text (the deploy writes text). */
#ifndef HIPPO_FLOW_DEPLOY_ARCHIVE_H
#define HIPPO_FLOW_DEPLOY_ARCHIVE_H

#include <stddef.h>

#include <jansson.h>

#define DA_MAX_ENTRIES 2000
#define DA_MAX_FILE (4u << 20)
#define DA_MAX_TOTAL (16u << 20)

struct deploy_archive {
	char *config;    /* the text of config.yml (NUL-terminated), NULL when absent */
	json_t *files;   /* {name: text} of StepFiles/ */
	json_t *skipped; /* [name] of the files left out */
};

/* Reads the archive DATA (LEN bytes) into *OUT. Returns 0, or -1 with a
 * message naming the entry in ERR (*OUT then holds nothing to free). */
int deploy_archive_read(const void *data, size_t len, struct deploy_archive *out, char *err,
			size_t errlen);
void deploy_archive_free(struct deploy_archive *a);

#endif
