/* hippo export: a project's participants, answers, passes, steps and episodes as CSV
 * or JSON Lines tables (docs/data.md, "Export"). */
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli/commands.h"
#include "cli/project_arg.h"
#include "cli/export_minari.h"
#include "core/clock.h"
#include "core/datapath.h"
#include "export/export.h"
#include "store/store.h"

static const char *data_dir = "data";
static const char *opt_store;
static const char *format = "csv";
static const char *out_dir = "export";
static bool progress, no_progress;
static const char *dataset_id, *group, *since, *until;
static bool completed;

static const struct opt opts[] = {
	{"data", OPT_STRING, &data_dir, "DIR", "data folder (DIR/hippo.db and DIR/PROJECT/trials/)",
	 0, 0},
	{"store", OPT_STRING, &opt_store, "SPEC", "the participant store, when not DIR/hippo.db: "
						   "sqlite:FILE or postgresql://USER@HOST:PORT/DB",
	 0, 0},
	{"format", OPT_STRING, &format, "csv|jsonl|minari", "table format, or Minari datasets",
	 0, 0},
	{"out", OPT_STRING, &out_dir, "OUTDIR", "folder for the five tables or the datasets "
						"(created if needed)", 0, 0},
	{"dataset-id", OPT_STRING, &dataset_id, "NAME", "minari: the dataset id ({env} is "
							 "replaced by the environment id)", 0, 0},
	{"completed", OPT_FLAG, &completed, NULL, "minari: only participants who completed the "
						  "study", 0, 0},
	{"group", OPT_STRING, &group, "G", "minari: only participants of group G", 0, 0},
	{"since", OPT_STRING, &since, "DATE", "minari: only episodes started at or after DATE "
					      "(UTC)", 0, 0},
	{"until", OPT_STRING, &until, "DATE", "minari: only episodes started before DATE (UTC)",
	 0, 0},
	{"progress", OPT_FLAG, &progress, NULL, "draw a progress bar on stderr even when it is not "
						 "a terminal", 0, 0},
	{"no-progress", OPT_FLAG, &no_progress, NULL, "never draw the progress bar", 0, 0},
	{0},
};

static const struct opt_cmd spec = {
	.name = "export",
	.args = "PROJECT",
	.summary = "write a project's data as CSV or JSON Lines tables, or Minari datasets",
	.min_pos = 1,
	.max_pos = 1,
	.opts = opts,
	.details = "PROJECT is a project id, or a study folder with config.yml.",
};

static int run(int argc, char **argv)
{
	int npos;
	int rc = opt_parse(&spec, argc, argv, &npos);
	if (rc != OPT_OK)
		return rc;
	enum exp_format fmt;
	char id[256];
	if (strcmp(format, "minari") == 0) {
		if (project_arg_id(argv[1], id, sizeof id) != 0)
			return 1;
		struct export_minari_args a = {
			.data_dir = data_dir, .store = opt_store, .project_id = id,
			.out_dir = out_dir, .dataset_id = dataset_id, .completed = completed,
			.group = group, .since = since, .until = until,
			.progress = !no_progress && (progress || isatty(STDERR_FILENO))};
		return export_minari(&a);
	}
	if (strcmp(format, "csv") == 0) {
		fmt = EXP_CSV;
	} else if (strcmp(format, "jsonl") == 0) {
		fmt = EXP_JSONL;
	} else {
		fprintf(stderr, "hippo export: --format must be csv or jsonl (tables), or minari "
				"(datasets), not '%s'\n", format);
		return 2;
	}
	if (project_arg_id(argv[1], id, sizeof id) != 0)
		return 1;
	struct exp_opts o = {.data_dir = data_dir, .store = opt_store, .project_id = id,
			     .out_dir = out_dir,
			     .format = fmt,
			     .progress = !no_progress && (progress || isatty(STDERR_FILENO))};
	struct exp_stats st;
	char err[1024];
	double t0 = clock_mono_s();
	if (exp_run(&o, &st, err, sizeof err) != 0) {
		fprintf(stderr, "hippo export: %s\n", err);
		return 1;
	}
	double secs = clock_mono_s() - t0;
	fprintf(stderr,
		"hippo export: %s: %lld participants, %lld answers, %lld passes, %lld steps, "
		"%lld episodes (%d observation columns) from %lld files, %.1f MB in %.2f s -> %s "
		"(%s)\n",
		id, st.participants, st.answers, st.passes, st.steps, st.episodes, st.obs_columns,
		st.files,
		(double)st.bytes / 1e6, secs, out_dir, format);
	if (st.no_store) {
		char store[4096];
		if (opt_store)
			store_spec_masked(opt_store, store, sizeof store);
		else
			datapath_store(store, sizeof store, data_dir);
		fprintf(stderr, "hippo export: warning: no participant store %s: "
				"participants, answers and passes are empty\n",
			store);
	}
	if (st.bad_lines)
		fprintf(stderr, "hippo export: warning: %lld unreadable record line(s) skipped, "
				"first: %s\n",
			st.bad_lines, st.first_bad);
	if (st.obs_clipped)
		fprintf(stderr, "hippo export: warning: %lld observation values beyond %d columns "
				"left out (use --format jsonl for all)\n",
			st.obs_clipped, st.obs_columns);
	return 0;
}

const struct command cmd_export = {.spec = &spec, .run = run};
