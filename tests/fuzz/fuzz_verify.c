/* Fuzzes what `hippo verify` and `hippo export --format minari` read from a
 * data folder besides the record reader itself: trial start lines (the
 * environment, seed and options a replay opens) and record lines driving the
 * replay (episodes, steps, actions, observations in any order or shape), plus
 * the --since/--until dates and --dataset-id names. Input: a first line of
 * options text, then trials.jsonl lines, a blank line, then record lines. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dataset/minari.h"
#include "verify/verify.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *s = (const char *)data;
	const char *nl = memchr(s, '\n', size);
	size_t first = nl ? (size_t)(nl - s) : size;
	char opt[256];
	size_t n = first < sizeof opt - 1 ? first : sizeof opt - 1;
	memcpy(opt, s, n);
	opt[n] = '\0';
	long long ms;
	char id[300];
	mn_parse_time(opt, &ms);
	mn_dataset_id(opt, "p", opt, (int)(size % 3), id, sizeof id);
	if (!nl)
		return 0;
	const char *rest = nl + 1;
	size_t rlen = size - (size_t)(rest - s);
	const char *sep = NULL;
	for (size_t i = 0; i + 1 < rlen; i++)
		if (rest[i] == '\n' && rest[i + 1] == '\n') {
			sep = rest + i;
			break;
		}
	size_t tlen = sep ? (size_t)(sep - rest) : 0;
	const char *recs = sep ? sep + 2 : rest;
	size_t reclen = rlen - (size_t)(recs - rest);
	FILE *trials = tlen ? fmemopen((void *)rest, tlen, "r") : NULL;
	FILE *in = reclen ? fmemopen((void *)recs, reclen, "r") : NULL;
	FILE *out = fopen("/dev/null", "w");
	if (in && out) {
		struct vf_stats st = {0};
		vf_stream(in, trials, out, &st);
	}
	if (trials)
		fclose(trials);
	if (in)
		fclose(in);
	if (out)
		fclose(out);
	return 0;
}
