/* libFuzzer target for the config loader: any bytes as config.yml (step files
 * not checked). Must never crash, leak, hang or read out of bounds; the
 * diagnostics are printed too, to exercise the formatting. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "core/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static FILE *sink;
	if (!sink)
		sink = fopen("/dev/null", "w");
	struct cfg c;
	struct cfg_diags d = {0};
	if (cfg_load_buffer(NULL, (const char *)data, size, &c, &d) == 0) {
		for (int i = 0; i <= (int)c.project.nsteps + 1; i++)
			(void)cfg_step_get(&c, i);
		cfg_free(&c);
	}
	if (sink)
		cfg_diags_print(&d, "config.yml", sink);
	cfg_diags_free(&d);
	return 0;
}
