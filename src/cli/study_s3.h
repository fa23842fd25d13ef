/* study_s3: a study's S3 settings (project.storage) for the commands that
 * reach its data in S3 without a server: `hippo export --from-s3` and
 * `hippo withdraw`. */
#ifndef HIPPO_CLI_STUDY_S3_H
#define HIPPO_CLI_STUDY_S3_H

#include <stddef.h>

struct storage_dest;

/* The settings of study ID from the first config found: DIR/config.yml (DIR
 * a study folder, may be NULL), DATA/projects/ID/config.yml (a study
 * deployed through the admin API), or the latest version of ID deployed in
 * the store STORE_SPEC (NULL: DATA/hippo.db). WHERE (WLEN bytes) names the
 * config read. Returns 1 with *D when the study stores to S3, 0 when it keeps
 * its data locally, 2 when no config was found, -1 after printing the
 * config's problems on stderr prefixed with CMD. */
int study_s3_dest(const char *cmd, const char *dir, const char *id, const char *data,
		  const char *store_spec, struct storage_dest *d, char *where, size_t wlen);

#endif
