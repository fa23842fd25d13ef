/* hippo verify: re-simulates every recorded episode of a project from its seed
 * and actions and checks the records bit for bit (docs/data.md, "Verifying
 * records"). Exit 0 when every episode matches, 1 on any difference. */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "cli/commands.h"
#include "cli/project_arg.h"
#include "core/clock.h"
#include "verify/verify.h"

static const char *data_dir = "data";
static const char *user;
static bool quiet;

static const struct opt opts[] = {
	{"data", OPT_STRING, &data_dir, "DIR", "data folder (DIR/PROJECT/trials/)", 0, 0},
	{"user", OPT_STRING, &user, "USER", "only this participant's records", 0, 0},
	{"quiet", OPT_FLAG, &quiet, NULL, "print only the episodes that fail", 0, 0},
	{0},
};

static const struct opt_cmd spec = {
	.name = "verify",
	.args = "PROJECT",
	.summary = "re-simulate recorded episodes and check the records bit for bit",
	.min_pos = 1,
	.max_pos = 1,
	.opts = opts,
	.details = "PROJECT is a project id, or a study folder with config.yml. One line per\n"
		   "episode: ok, FAIL (with the first differing step and field) or skip (not a\n"
		   "built-in environment). Exit 1 when any episode or record line fails.",
};

static int run(int argc, char **argv)
{
	int npos;
	int rc = opt_parse(&spec, argc, argv, &npos);
	if (rc != OPT_OK)
		return rc;
	char id[256];
	if (project_arg_id(argv[1], id, sizeof id) != 0)
		return 1;
	struct vf_opts o = {.data_dir = data_dir, .project_id = id, .user = user, .quiet = quiet};
	struct vf_stats st;
	char err[1024];
	double t0 = clock_mono_s();
	if (vf_run(&o, &st, err, sizeof err) != 0) {
		fprintf(stderr, "hippo verify: %s\n", err);
		return 1;
	}
	fflush(stdout);
	double secs = clock_mono_s() - t0;
	fprintf(stderr,
		"hippo verify: %s: %lld participants, %lld episodes: %lld ok, %lld failed, %lld "
		"not verifiable; %lld steps re-simulated in %.2f s (%.0f steps/s)%s\n",
		id, st.users, st.episodes, st.ok, st.failed, st.skipped, st.steps, secs,
		secs > 0 ? (double)st.steps / secs : 0.0,
		st.bad_lines ? "; unreadable record lines" : "");
	if (st.frames_files)
		fprintf(stderr, "hippo verify: %s: %lld frames files (%lld frames): %lld ok, %lld "
				"failed\n",
			id, st.frames_files, st.frames, st.frames_files - st.frames_failed,
			st.frames_failed);
	if (st.episodes == 0 && st.bad_lines == 0)
		fprintf(stderr, "hippo verify: warning: no episodes found\n");
	return st.failed || st.bad_lines || st.frames_failed ? 1 : 0;
}

const struct command cmd_verify = {.spec = &spec, .run = run};
