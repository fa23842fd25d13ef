/* test_toytext: FrozenLake-v1, Taxi-v3 and CliffWalking-v0 against reference
 * trajectories computed from Gymnasium's published sources
 * (tests/reference/toytext_reference.py): start states from the seed, every
 * transition drawn by categorical_sample, rewards, termination, the transition
 * probability and Taxi's action mask in the info. Also spaces, metadata,
 * options, refused actions and that every frame is drawn at Gymnasium's size. */
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>

#include "env/env.h"
#include "env/toytext.h"
#include "test.h"

enum { TT_RESET_SEED, TT_RESET, TT_STEP };

struct tt_ref_row {
	int kind;
	int arg; /* seed for TT_RESET_SEED, action for TT_STEP */
	int state;
	double reward;
	int terminated;
	double prob;
	const char *mask; /* Taxi only: "110000" */
};

struct tt_ref_case {
	const char *name, *env_id;
	const struct tt_ref_row *rows;
	size_t nrows;
};

#include "toytext_reference.h"

static const struct hippo_env_ops *find_ops(const char *id)
{
	const struct hippo_env_ops *all[] = {&tt_frozen_lake_v1_ops, &tt_taxi_v3_ops,
					     &tt_cliff_walking_v0_ops};
	for (int i = 0; i < 3; i++)
		if (strcmp(all[i]->id, id) == 0)
			return all[i];
	return NULL;
}

static void check_info(const char *info, const struct tt_ref_row *row)
{
	json_error_t jerr;
	json_t *j = json_loads(info, 0, &jerr);
	CHECK(j != NULL);
	if (!j)
		return;
	CHECK_EXACT(json_number_value(json_object_get(j, "prob")), row->prob);
	if (row->mask[0]) {
		json_t *m = json_object_get(j, "action_mask");
		CHECK(json_is_array(m) && json_array_size(m) == 6);
		for (int i = 0; i < 6; i++)
			CHECK_INT(json_integer_value(json_array_get(m, (size_t)i)), row->mask[i] - '0');
	}
	json_decref(j);
}

static int replay(const struct tt_ref_case *rc)
{
	const struct hippo_env_ops *ops = find_ops(rc->env_id);
	void *inst = NULL;
	char err[256] = "", info[256];
	int bad = 0;
	CHECK(ops != NULL);
	if (!ops || ops->create(NULL, &inst, err, sizeof err)) {
		fprintf(stderr, "create %s: %s\n", rc->env_id, err);
		test_checks_failed_++;
		return 1;
	}
	const struct hippo_env_info *in = ops->info(inst);
	size_t stride = (size_t)in->meta.render_width * 3;
	uint8_t *frame = malloc(stride * (size_t)in->meta.render_height);
	for (size_t r = 0; r < rc->nrows; r++) {
		const struct tt_ref_row *row = &rc->rows[r];
		struct hippo_step_result res = {0, false, false};
		double obs = -1;
		int before = test_checks_failed_, code;
		if (row->kind == TT_STEP) {
			double a = row->arg;
			code = ops->step(inst, &a, &obs, &res, info, sizeof info, err, sizeof err);
		} else {
			uint64_t seed = (uint64_t)row->arg;
			code = ops->reset(inst, row->kind == TT_RESET_SEED ? &seed : NULL, &obs, info,
					  sizeof info, err, sizeof err);
		}
		CHECK_INT(code, 0);
		CHECK_EXACT(obs, row->state);
		CHECK_EXACT(res.reward, row->reward);
		CHECK_INT(res.terminated, row->terminated);
		CHECK(!res.truncated);
		check_info(info, row);
		if (r % 16 == 0)
			CHECK_INT(ops->render(inst, frame, stride, err, sizeof err), 0);
		if (test_checks_failed_ != before) {
			fprintf(stderr, "  in case %s, row %zu\n", rc->name, r);
			if (++bad > 3)
				break;
		}
	}
	free(frame);
	ops->destroy(inst);
	return bad;
}

static void reference_trajectories_match_gymnasium(void)
{
	size_t rows = 0;
	for (size_t i = 0; i < sizeof ref_cases / sizeof ref_cases[0]; i++) {
		int bad = replay(&ref_cases[i]);
		printf("  %-18s %-16s %3zu rows %s\n", ref_cases[i].name, ref_cases[i].env_id,
		       ref_cases[i].nrows, bad ? "DIFFER" : "match");
		rows += ref_cases[i].nrows;
	}
	printf("checked %zu reference rows\n", rows);
}

static void spaces_metadata_and_registry(void)
{
	static const struct {
		const char *id;
		int states, actions, max_steps, w, h;
	} want[] = {{"FrozenLake-v1", 16, 4, 100, 256, 256},
		    {"Taxi-v3", 500, 6, 200, 550, 350},
		    {"CliffWalking-v0", 48, 4, 0, 720, 240}};
	for (int k = 0; k < 3; k++) {
		const struct hippo_env_ops *ops = env_find(want[k].id);
		void *inst = NULL;
		char err[128];
		CHECK(ops != NULL);
		if (!ops)
			continue;
		CHECK_INT(ops->create(NULL, &inst, err, sizeof err), 0);
		const struct hippo_env_info *in = ops->info(inst);
		CHECK_INT(in->action_space.kind, HIPPO_SPACE_DISCRETE);
		CHECK_INT(in->action_space.n, want[k].actions);
		CHECK_INT(in->observation_space.kind, HIPPO_SPACE_BOX);
		CHECK_INT(in->observation_space.dtype, HIPPO_DTYPE_INT64);
		CHECK_INT(in->observation_space.ndim, 1);
		CHECK_INT(in->observation_space.shape[0], 1);
		CHECK_EXACT(in->observation_space.low[0], 0);
		CHECK_EXACT(in->observation_space.high[0], want[k].states - 1);
		CHECK_INT(in->meta.max_episode_steps, want[k].max_steps);
		CHECK_INT(in->meta.render_fps, 4);
		CHECK_INT(in->meta.render_width, want[k].w);
		CHECK_INT(in->meta.render_height, want[k].h);
		ops->destroy(inst);
	}
	for (const char *id = "MiniGrid-Empty-5x5-v0"; id; id = NULL)
		CHECK(env_find(id) != NULL);
	CHECK(env_find("MiniGrid-DoorKey-5x5-v0") != NULL);
	CHECK(env_find("MiniGrid-FourRooms-v0") != NULL);
	CHECK(env_find("MiniGrid-Empty-8x8-v0") != NULL);
}

/* The host applies FrozenLake's 100-step limit through struct env. */
static void host_time_limit_truncates_frozen_lake(void)
{
	struct env e;
	char err[256], info[256];
	struct hippo_step_result res = {0, false, false};
	uint64_t seed = 0;
	CHECK_INT(env_open(&e, "FrozenLake-v1", "{\"is_slippery\": false}", err, sizeof err), 0);
	CHECK_INT(env_reset(&e, &seed, info, sizeof info), 0);
	int steps = 0;
	double up = 3; /* never moves off state 0 without slipping */
	while (!res.truncated && !res.terminated && steps < 200) {
		CHECK_INT(env_step(&e, &up, &res, info, sizeof info), 0);
		steps++;
	}
	CHECK_INT(steps, 100);
	CHECK(res.truncated && !res.terminated);
	CHECK_EXACT(e.obs[0], 0);
	env_close(&e);
}

static void options_are_checked(void)
{
	void *inst = NULL;
	char err[256], info[128];
	double obs, a;
	struct hippo_step_result res;
	uint64_t seed = 5;
	struct hippo_env_args args = {"FrozenLake-v1", "{\"map_name\": \"8x8\", \"is_slippery\": false}"};
	CHECK_INT(tt_frozen_lake_v1_ops.create(&args, &inst, err, sizeof err), 0);
	const struct hippo_env_info *in = tt_frozen_lake_v1_ops.info(inst);
	CHECK_EXACT(in->observation_space.high[0], 63);
	CHECK_INT(in->meta.render_width, 512);
	CHECK_INT(tt_frozen_lake_v1_ops.reset(inst, &seed, &obs, info, sizeof info, err, sizeof err), 0);
	a = 2; /* right, deterministic */
	CHECK_INT(tt_frozen_lake_v1_ops.step(inst, &a, &obs, &res, info, sizeof info, err, sizeof err), 0);
	CHECK_EXACT(obs, 1);
	CHECK_STR(info, "{\"prob\":1}");
	tt_frozen_lake_v1_ops.destroy(inst);

	const char *bad[] = {"{\"map_name\": \"5x5\"}", "{\"is_slippery\": 1}", "{\"size\": 3}", "[]"};
	for (int i = 0; i < 4; i++) {
		args.options_json = bad[i];
		inst = NULL;
		CHECK(tt_frozen_lake_v1_ops.create(&args, &inst, err, sizeof err) < 0);
		CHECK(inst == NULL);
		printf("options %s: %s\n", bad[i], err);
	}
	args.options_json = "{\"is_rainy\": true}";
	CHECK(tt_taxi_v3_ops.create(&args, &inst, err, sizeof err) < 0);
	printf("taxi options: %s\n", err);
}

static void bad_actions_and_early_steps_are_refused(void)
{
	void *inst = NULL;
	char err[256], info[128];
	double obs, a = 0;
	struct hippo_step_result res;
	CHECK_INT(tt_taxi_v3_ops.create(NULL, &inst, err, sizeof err), 0);
	CHECK(tt_taxi_v3_ops.step(inst, &a, &obs, &res, info, sizeof info, err, sizeof err) < 0);
	uint8_t px[3];
	CHECK(tt_taxi_v3_ops.render(inst, px, 3, err, sizeof err) < 0);
	CHECK_INT(tt_taxi_v3_ops.reset(inst, NULL, &obs, info, sizeof info, err, sizeof err), 0);
	CHECK(obs >= 0 && obs < 500);
	const double bad[] = {-1, 6, 0.5, NAN};
	for (int i = 0; i < 4; i++)
		CHECK(tt_taxi_v3_ops.step(inst, &bad[i], &obs, &res, info, sizeof info, err,
					  sizeof err) < 0);
	printf("bad action: %s\n", err);
	tt_taxi_v3_ops.destroy(inst);
}

int main(void)
{
	RUN(reference_trajectories_match_gymnasium);
	RUN(spaces_metadata_and_registry);
	RUN(host_time_limit_truncates_frozen_lake);
	RUN(options_are_checked);
	RUN(bad_actions_and_early_steps_are_refused);
	return test_summary();
}
