/* study_s3: see study_s3.h. */
#include "cli/study_s3.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/config.h"
#include "core/datapath.h"
#include "storage/storage.h"
#include "store/store.h"

/* The config of the latest version of study ID deployed through the admin
 * API, from the store, into C (its step files not checked); WHERE names it.
 * 1 when loaded, 0 when the store has none, -1 after a message. */
static int cfg_from_store(const char *cmd, const char *id, const char *data,
			  const char *store_spec, struct cfg *c, char *where, size_t wlen)
{
	char path[4096], err[512];
	const char *sspec = store_spec;
	if (!sspec) {
		datapath_store(path, sizeof path, data);
		sspec = path;
	}
	struct store *s = NULL;
	int k = store_open_flags(sspec, STORE_READ_ONLY, &s, err, sizeof err);
	if (k != 0) {
		if (k < 0)
			fprintf(stderr, "%s: %s\n", cmd, err);
		return 0;
	}
	char *config = NULL, *files = NULL;
	int got = 0;
	k = store_deploy_get(s, id, 0, &got, &config, &files);
	store_close(s);
	free(files);
	if (k != 1) {
		free(config);
		return 0;
	}
	store_spec_masked(sspec, path, sizeof path);
	snprintf(where, wlen, "version %d of %s deployed (store %s)", got, id, path);
	struct cfg_diags dg = {0};
	k = cfg_load_buffer(NULL, config, strlen(config), c, &dg);
	free(config);
	if (k != 0) {
		fprintf(stderr, "%s: %s:\n", cmd, where);
		cfg_diags_print(&dg, "config.yml", stderr);
	}
	cfg_diags_free(&dg);
	return k == 0 ? 1 : -1;
}

int study_s3_dest(const char *cmd, const char *dir, const char *id, const char *data,
		  const char *store_spec, struct storage_dest *d, char *where, size_t wlen)
{
	char folder[4096], path[4200];
	struct stat sb;
	struct cfg c;
	folder[0] = '\0';
	if (dir) {
		snprintf(path, sizeof path, "%s/config.yml", dir);
		if (stat(path, &sb) == 0)
			snprintf(folder, sizeof folder, "%s", dir);
	}
	if (!folder[0]) {
		char projects[3800];
		datapath_projects(projects, sizeof projects, data);
		int n = snprintf(folder, sizeof folder, "%s/%s", projects, id);
		if (n < 0 || (size_t)n >= sizeof folder) {
			fprintf(stderr, "%s: the data folder's path is too long\n", cmd);
			return -1;
		}
		snprintf(path, sizeof path, "%s/config.yml", folder);
		snprintf(where, wlen, "%s", path);
		if (stat(path, &sb) != 0)
			folder[0] = '\0';
	}
	if (folder[0]) {
		struct cfg_diags dg = {0};
		if (cfg_load(folder, &c, &dg) != 0) {
			fprintf(stderr, "%s: %s/config.yml:\n", cmd, folder);
			cfg_diags_print(&dg, "config.yml", stderr);
			cfg_diags_free(&dg);
			return -1;
		}
		cfg_diags_free(&dg);
		snprintf(where, wlen, "%s/config.yml", folder);
	} else {
		int k = cfg_from_store(cmd, id, data, store_spec, &c, where, wlen);
		if (k <= 0)
			return k < 0 ? -1 : 2;
	}
	char err[512];
	int k = storage_dest_from_cfg(&c, d, err, sizeof err);
	cfg_free(&c);
	if (k < 0) {
		fprintf(stderr, "%s: %s: %s\n", cmd, where, err);
		return -1;
	}
	return k;
}
