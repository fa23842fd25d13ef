/* hippo export: a project's participants, answers, passes, steps and episodes as CSV
 * or JSON Lines tables (docs/data.md, "Export"). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli/commands.h"
#include "cli/project_arg.h"
#include "cli/study_s3.h"
#include "cli/export_minari.h"
#include "core/clock.h"
#include "core/config.h"
#include "core/datapath.h"
#include "export/export.h"
#include "storage/storage.h"
#include "store/store.h"

static const char *data_dir = "data";
static const char *opt_store;
static const char *format = "csv";
static const char *out_dir = "export";
static bool progress, no_progress;
static const char *dataset_id, *group, *since, *until;
static bool completed;
static bool from_s3, include_preview;
static int s3_max_keys;

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
	{"from-s3", OPT_FLAG, &from_s3, NULL, "first copy every node's record files from the "
					      "study's S3 storage into OUTDIR/records/ (a cluster)",
	 0, 0},
	{"s3-max-keys", OPT_INT, &s3_max_keys, "N", "from-s3: objects per listing page "
						    "(default: the service's, 1000)", 1, 1000},
	{"include-preview", OPT_FLAG, &include_preview, NULL, "the researchers' preview "
								"participants too (left out otherwise)",
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
	.details = "PROJECT is a project id, or a study folder with config.yml.\n"
		   "--from-s3 reads the S3 settings (project.storage) of the study folder, or\n"
		   "of DIR/projects/PROJECT/ or the store's latest version (a study deployed\n"
		   "through the admin API), and the credentials hippo serve uses\n"
		   "(AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, ...).",
};

/* --from-s3: the study's S3 settings (study_s3_dest). 0, or -1 after a message. */
static int s3_dest_of(const char *arg, const char *id, struct storage_dest *d)
{
	char where[4400];
	int k = study_s3_dest("hippo export", arg, id, data_dir, opt_store, d, where, sizeof where);
	if (k == 2)
		fprintf(stderr, "hippo export: --from-s3 needs the study's S3 settings: give PROJECT "
				"as its study folder (no %s/config.yml, no %s, no version of %s "
				"deployed in the store)\n",
			arg, where, id);
	else if (k == 0)
		fprintf(stderr, "hippo export: --from-s3: %s keeps its records locally "
				"(project.storage is not s3)\n", where);
	return k == 1 ? 0 : -1;
}

/* --from-s3: every node's record files into OUT_DIR/records/P/trials (TRIALS). */
static int pull(const char *arg, const char *id, bool show, char *trials, size_t cap)
{
	struct storage_dest d;
	if (s3_dest_of(arg, id, &d) != 0)
		return -1;
	char records[4096];
	snprintf(records, sizeof records, "%s/records", out_dir);
	if (datapath_trials(trials, cap, records, id) != 0) {
		fprintf(stderr, "hippo export: %s: path too long\n", records);
		return -1;
	}
	struct storage_pull_opts po = {.dest = &d, .project_id = id, .out = trials,
				       .max_keys = s3_max_keys, .timeout_s = 600,
				       .progress = stderr, .progress_tty = show};
	struct storage_pull_stats ps;
	char err[1024];
	double t0 = clock_mono_s();
	if (storage_pull_records(&po, &ps, err, sizeof err) != 0) {
		fprintf(stderr, "hippo export: --from-s3: %s\n", err);
		return -1;
	}
	fprintf(stderr, "hippo export: S3: %lld objects listed, %lld fetched (%.1f MB), %lld "
			"kept, %lld skipped, %lld removed in %.2f s -> %s\n",
		ps.listed, ps.fetched, (double)ps.bytes / 1e6, ps.kept, ps.skipped, ps.removed,
		clock_mono_s() - t0, trials);
	if (ps.skipped)
		fprintf(stderr, "hippo export: warning: %lld S3 object(s) under %s/Trials/ are no "
				"record file (skipped), first: %s\n",
			ps.skipped, id, ps.first_skipped);
	return 0;
}

static int run(int argc, char **argv)
{
	int npos;
	int rc = opt_parse(&spec, argc, argv, &npos);
	if (rc != OPT_OK)
		return rc;
	enum exp_format fmt;
	char id[256];
	if (strcmp(format, "minari") == 0) {
		if (from_s3) {
			fprintf(stderr, "hippo export: --from-s3 is for the tables (--format csv "
					"or jsonl)\n");
			return 2;
		}
		if (project_arg_id(argv[1], id, sizeof id) != 0)
			return 1;
		struct export_minari_args a = {
			.data_dir = data_dir, .store = opt_store, .project_id = id,
			.out_dir = out_dir, .dataset_id = dataset_id, .completed = completed,
			.preview = include_preview,
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
	bool show = !no_progress && (progress || isatty(STDERR_FILENO));
	char pulled[4096];
	if (from_s3 && pull(argv[1], id, show, pulled, sizeof pulled) != 0)
		return 1;
	struct exp_opts o = {.data_dir = data_dir, .store = opt_store, .project_id = id,
			     .out_dir = out_dir, .trials = from_s3 ? pulled : NULL,
			     .format = fmt, .preview = include_preview,
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
