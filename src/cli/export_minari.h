/* export_minari: `hippo export --format minari` (see export_minari.c). */
#ifndef HIPPO_CLI_EXPORT_MINARI_H
#define HIPPO_CLI_EXPORT_MINARI_H

#include <stdbool.h>

struct export_minari_args {
	const char *data_dir, *project_id, *out_dir;
	const char *store;        /* the participant store's spec; NULL: DATA/hippo.db */
	const char *dataset_id;   /* may be NULL */
	bool completed;
	bool preview;             /* the preview participants' episodes too */
	const char *group, *since, *until; /* may be NULL */
	bool progress;
};

/* Runs the export and prints its summary on stderr. Returns the exit code. */
int export_minari(const struct export_minari_args *a);

#endif
