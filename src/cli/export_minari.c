/* `hippo export --format minari`: the options of the Minari export and its
 * summary (docs/data.md, "Minari datasets"); cmd_export.c dispatches here. */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "cli/export_minari.h"
#include "core/clock.h"
#include "core/datapath.h"
#include "dataset/minari.h"

int export_minari(const struct export_minari_args *a)
{
	struct mn_opts o = {.data_dir = a->data_dir, .store = a->store,
			    .project_id = a->project_id,
			    .out_dir = a->out_dir, .dataset_id = a->dataset_id,
			    .completed_only = a->completed,
			    .preview = a->preview, .group = a->group,
			    .progress = a->progress};
	if (a->since && mn_parse_time(a->since, &o.since_ms) != 0) {
		fprintf(stderr, "hippo export: --since: '%s' is not a date (YYYY-MM-DD or "
				"YYYY-MM-DDTHH:MM:SSZ, UTC)\n", a->since);
		return 2;
	}
	if (a->until && mn_parse_time(a->until, &o.until_ms) != 0) {
		fprintf(stderr, "hippo export: --until: '%s' is not a date (YYYY-MM-DD or "
				"YYYY-MM-DDTHH:MM:SSZ, UTC)\n", a->until);
		return 2;
	}
	struct mn_stats st;
	char err[1024];
	double t0 = clock_mono_s();
	if (mn_run(&o, &st, err, sizeof err) != 0) {
		fprintf(stderr, "hippo export: %s\n", err);
		return 1;
	}
	double secs = clock_mono_s() - t0;
	fprintf(stderr,
		"hippo export: %s: %lld episodes, %lld steps of %lld participants from %lld files, "
		"%.1f MB in %.2f s -> %s (minari)\n",
		a->project_id, st.episodes, st.steps, st.participants, st.files,
		(double)st.bytes / 1e6, secs, a->out_dir);
	for (int i = 0; i < st.ndatasets; i++)
		fprintf(stderr, "hippo export: dataset %s: %lld episodes (%s/%s/data)\n",
			st.datasets[i], st.dataset_episodes[i], a->out_dir, st.datasets[i]);
	if (st.filtered)
		fprintf(stderr, "hippo export: %lld episodes outside --since/--until left out\n",
			st.filtered);
	if (st.empty)
		fprintf(stderr, "hippo export: %lld episodes without a step left out\n", st.empty);
	if (st.incomplete)
		fprintf(stderr, "hippo export: warning: %lld episodes without a reset line or cut "
				"at a missing step\n", st.incomplete);
	if (st.unknown_env)
		fprintf(stderr, "hippo export: warning: %lld episodes of trials without a start "
				"line in " DATAPATH_META " left out (environment unknown)\n",
			st.unknown_env);
	if (st.mismatched)
		fprintf(stderr, "hippo export: warning: %lld episodes whose observation does not "
				"fit the environment's space left out\n", st.mismatched);
	if (st.bad_lines)
		fprintf(stderr, "hippo export: warning: %lld unreadable record line(s) skipped, "
				"first: %s\n", st.bad_lines, st.first_bad);
	return 0;
}
