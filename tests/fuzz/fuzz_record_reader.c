/* Fuzzes the record (JSON Lines) reader and the step/episode row conversion
 * that `hippo export` runs on every line of a data folder: any bytes, any line
 * lengths, in CSV and JSONL. The output goes to a memory stream and must be
 * produced without a crash, a leak or undefined behaviour. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "export/export.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size == 0)
		return 0;
	for (int fmt = 0; fmt < 2; fmt++) {
		FILE *in = fmemopen((void *)data, size, "r");
		if (!in)
			return 0;
		char *buf = NULL;
		size_t len = 0;
		FILE *out = open_memstream(&buf, &len);
		if (!out) {
			fclose(in);
			return 0;
		}
		struct exp_stats st = {0};
		exp_convert_records(in, out, fmt ? EXP_JSONL : EXP_CSV, (int)(data[0] % 8), &st);
		fclose(out);
		fclose(in);
		free(buf);
	}
	return 0;
}
