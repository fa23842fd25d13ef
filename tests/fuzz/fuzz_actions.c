/* fuzz_actions: the action-file parser (src/env/actions.c) on arbitrary
 * bytes, for a Discrete and a Box space. Parsed actions must satisfy the
 * space: integral and in range, or finite. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>

#include "env/actions.h"

static const double box_low[3] = {-2, -2, -2}, box_high[3] = {2, 2, 2};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const struct hippo_space spaces[2] = {
		{.kind = HIPPO_SPACE_DISCRETE, .n = 7, .start = -3},
		{.kind = HIPPO_SPACE_BOX,
		 .dtype = HIPPO_DTYPE_FLOAT32,
		 .ndim = 1,
		 .shape = {3},
		 .low = box_low,
		 .high = box_high},
	};
	for (int s = 0; s < 2; s++) {
		struct env_actions a;
		char err[256];
		if (env_actions_parse((const char *)data, size, &spaces[s], &a, err, sizeof err) != 0) {
			if (err[0] != 'l') /* every error names its line */
				abort();
			continue;
		}
		for (size_t i = 0; i < a.n * a.dim; i++) {
			double v = a.v[i];
			if (!isfinite(v))
				abort();
			if (s == 0 && (v != floor(v) || v < -3 || v > 3))
				abort();
		}
		for (size_t i = 1; i < a.n; i++)
			if (a.line[i] <= a.line[i - 1])
				abort();
		env_actions_free(&a);
	}
	return 0;
}
