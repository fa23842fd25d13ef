/* fuzz_gridworld: MiniGrid and toy-text environments driven by arbitrary
 * options and action sequences. Input layout:
 *   byte 0        environment (index into the table below)
 *   bytes 1..N    options JSON up to the first NUL (may be empty)
 *   then 8 bytes  the reset seed
 *   then          one byte per call: action, reset without seed, or render.
 * Checks that nothing crashes or leaks, that bad options and actions are
 * refused with a message, and that observations stay inside the space. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "env/minigrid/minigrid.h"
#include "env/toytext.h"

static const struct hippo_env_ops *const envs[] = {
	&mg_empty_5x5_ops,      &mg_empty_8x8_ops, &mg_doorkey_5x5_ops,    &mg_fourrooms_ops,
	&tt_frozen_lake_v1_ops, &tt_taxi_v3_ops,   &tt_cliff_walking_v0_ops,
};
#define NENVS (sizeof envs / sizeof envs[0])

static void check_obs(const struct hippo_env_info *in, const double *obs)
{
	size_t n = hippo_space_size(&in->observation_space);
	for (size_t i = 0; i < n; i++)
		if (!(obs[i] >= in->observation_space.low[i] && obs[i] <= in->observation_space.high[i]))
			abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	const struct hippo_env_ops *ops = envs[data[0] % NENVS];
	size_t pos = 1;
	char opts[256];
	size_t olen = 0;
	while (pos < size && data[pos] && olen < sizeof opts - 1)
		opts[olen++] = (char)data[pos++];
	opts[olen] = '\0';
	pos++;
	char err[256] = "", info[512];
	void *inst = NULL;
	struct hippo_env_args args = {ops->id, olen ? opts : NULL};
	if (ops->create(&args, &inst, err, sizeof err) != 0) {
		if (inst || !err[0])
			abort();
		return 0;
	}
	const struct hippo_env_info *in = ops->info(inst);
	double obs[MG_OBS_N];
	uint64_t seed = 0;
	for (int k = 0; k < 8 && pos < size; k++)
		seed = seed << 8 | data[pos++];
	if (ops->reset(inst, &seed, obs, info, sizeof info, err, sizeof err) != 0)
		abort();
	check_obs(in, obs);
	int w = in->meta.render_width, h = in->meta.render_height;
	uint8_t *frame = malloc((size_t)w * (size_t)h * 3);
	bool done = false;
	int renders = 0; /* a first MiniGrid frame draws its tiles: keep runs fast */
	for (; pos < size && frame; pos++) {
		int n = (int)in->action_space.n;
		int b = data[pos] % (n + 4);
		if (b < n || b == n + 3) {
			double a = b < n ? b : (data[pos] & 1 ? -1.5 : n);
			struct hippo_step_result res;
			int rc = ops->step(inst, &a, obs, &res, info, sizeof info, err, sizeof err);
			if ((b == n + 3 || done) != (rc != 0))
				abort();
			if (rc == 0) {
				check_obs(in, obs);
				done = res.terminated || res.truncated;
			}
		} else if (b == n) {
			if (ops->reset(inst, NULL, obs, info, sizeof info, err, sizeof err) != 0)
				abort();
			check_obs(in, obs);
			done = false;
		} else if (renders++ < 2) {
			if (ops->render(inst, frame, (size_t)w * 3, err, sizeof err) != 0)
				abort();
		}
	}
	free(frame);
	ops->destroy(inst);
	return 0;
}
