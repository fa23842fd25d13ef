/* test_minigrid: the MiniGrid environments against reference trajectories
 * computed from Minigrid's published sources (tests/reference/minigrid_reference.py):
 * layouts from the seed, agent position and direction, rewards, termination,
 * truncation, every byte of the 7x7x3 observation and a hash of every frame. */
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>

#include "env/minigrid/minigrid.h"
#include "test.h"

enum { MG_RESET_SEED, MG_RESET, MG_STEP };

struct mg_ref_row {
	int kind;
	int arg; /* seed for MG_RESET_SEED, action for MG_STEP */
	int x, y, dir;
	double reward;
	int terminated, truncated;
	const char *obs_hex;
	uint64_t frame_hash;
};

struct mg_ref_case {
	const char *name, *env_id, *mission;
	const struct mg_ref_row *rows;
	size_t nrows;
};

#include "minigrid_reference.h"

static const struct hippo_env_ops *const all_ops[] = {
	&mg_empty_5x5_ops, &mg_empty_8x8_ops, &mg_doorkey_5x5_ops, &mg_fourrooms_ops};

static const struct hippo_env_ops *find_ops(const char *id)
{
	for (size_t i = 0; i < sizeof all_ops / sizeof all_ops[0]; i++)
		if (strcmp(all_ops[i]->id, id) == 0)
			return all_ops[i];
	return NULL;
}

static uint64_t fnv1a64(const uint8_t *p, size_t n)
{
	uint64_t h = 0xcbf29ce484222325ull;
	for (size_t i = 0; i < n; i++) {
		h ^= p[i];
		h *= 0x100000001b3ull;
	}
	return h;
}

static int hexval(char c)
{
	return c <= '9' ? c - '0' : c - 'a' + 10;
}

/* Checks the info JSON of a reset/step against the reference row. */
static void check_info(const char *info, const struct mg_ref_row *row, const char *mission)
{
	json_error_t jerr;
	json_t *j = json_loads(info, 0, &jerr);
	CHECK(j != NULL);
	if (!j)
		return;
	json_t *pos = json_object_get(j, "agent_pos");
	CHECK(json_is_array(pos) && json_array_size(pos) == 2);
	CHECK_INT(json_integer_value(json_array_get(pos, 0)), row->x);
	CHECK_INT(json_integer_value(json_array_get(pos, 1)), row->y);
	CHECK_INT(json_integer_value(json_object_get(j, "agent_dir")), row->dir);
	CHECK_INT(json_integer_value(json_object_get(j, "direction")), row->dir);
	CHECK_STR(json_string_value(json_object_get(j, "mission")), mission);
	json_decref(j);
}

/* Replays one reference case; returns the number of rows that differ. */
static int replay(const struct mg_ref_case *rc)
{
	const struct hippo_env_ops *ops = find_ops(rc->env_id);
	char err[256] = "", info[512];
	void *inst = NULL;
	int bad = 0;
	CHECK(ops != NULL);
	if (!ops || ops->create(&(struct hippo_env_args){rc->env_id, NULL}, &inst, err, sizeof err)) {
		fprintf(stderr, "create %s: %s\n", rc->env_id, err);
		test_checks_failed_++;
		return 1;
	}
	const struct hippo_env_info *in = ops->info(inst);
	int w = in->meta.render_width, h = in->meta.render_height;
	size_t stride = (size_t)w * 3;
	uint8_t *frame = malloc(stride * (size_t)h);
	double obs[MG_OBS_N];
	for (size_t r = 0; r < rc->nrows; r++) {
		const struct mg_ref_row *row = &rc->rows[r];
		struct hippo_step_result res = {0, false, false};
		int rcode;
		if (row->kind == MG_STEP) {
			double a = row->arg;
			rcode = ops->step(inst, &a, obs, &res, info, sizeof info, err, sizeof err);
		} else {
			uint64_t seed = (uint64_t)row->arg;
			rcode = ops->reset(inst, row->kind == MG_RESET_SEED ? &seed : NULL, obs, info,
					   sizeof info, err, sizeof err);
		}
		int before = test_checks_failed_;
		CHECK_INT(rcode, 0);
		check_info(info, row, rc->mission);
		CHECK_EXACT(res.reward, row->reward);
		CHECK_INT(res.terminated, row->terminated);
		CHECK_INT(res.truncated, row->truncated);
		for (int i = 0; i < MG_OBS_N; i++) {
			int want = hexval(row->obs_hex[2 * i]) * 16 + hexval(row->obs_hex[2 * i + 1]);
			if (obs[i] != want) {
				fprintf(stderr, "obs[%d] = %g, expected %d\n", i, obs[i], want);
				test_checks_failed_++;
				break;
			}
		}
		CHECK_INT(ops->render(inst, frame, stride, err, sizeof err), 0);
		uint64_t fh = fnv1a64(frame, stride * (size_t)h);
		if (fh != row->frame_hash) {
			fprintf(stderr, "frame hash %016llx, expected %016llx\n",
				(unsigned long long)fh, (unsigned long long)row->frame_hash);
			test_checks_failed_++;
		}
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

static void reference_trajectories_match_minigrid(void)
{
	size_t rows = 0;
	for (size_t i = 0; i < sizeof ref_cases / sizeof ref_cases[0]; i++) {
		int bad = replay(&ref_cases[i]);
		printf("  %-22s %-26s %3zu rows %s\n", ref_cases[i].name, ref_cases[i].env_id,
		       ref_cases[i].nrows, bad ? "DIFFER" : "match");
		rows += ref_cases[i].nrows;
	}
	printf("checked %zu reference rows\n", rows);
}

static void spaces_and_metadata_are_minigrids(void)
{
	static const struct {
		const char *id;
		int size;
	} want[] = {{"MiniGrid-Empty-5x5-v0", 5},
		    {"MiniGrid-Empty-8x8-v0", 8},
		    {"MiniGrid-DoorKey-5x5-v0", 5},
		    {"MiniGrid-FourRooms-v0", 19}};
	for (size_t k = 0; k < 4; k++) {
		const struct hippo_env_ops *ops = find_ops(want[k].id);
		void *inst = NULL;
		char err[128];
		CHECK(ops && ops->abi_version == HIPPO_ENV_ABI_VERSION);
		CHECK_INT(ops->create(NULL, &inst, err, sizeof err), 0);
		const struct hippo_env_info *in = ops->info(inst);
		CHECK_STR(in->id, want[k].id);
		CHECK_INT(in->action_space.kind, HIPPO_SPACE_DISCRETE);
		CHECK_INT(in->action_space.n, 7);
		CHECK_STR(in->action_space.action_names[0], "left");
		CHECK_STR(in->action_space.action_names[6], "done");
		CHECK_INT(in->observation_space.kind, HIPPO_SPACE_BOX);
		CHECK_INT(in->observation_space.dtype, HIPPO_DTYPE_UINT8);
		CHECK_INT(in->observation_space.ndim, 3);
		CHECK_INT(in->observation_space.shape[0], 7);
		CHECK_INT(in->observation_space.shape[1], 7);
		CHECK_INT(in->observation_space.shape[2], 3);
		CHECK_INT(hippo_space_size(&in->observation_space), 147);
		CHECK_EXACT(in->observation_space.high[146], 255);
		CHECK_INT(in->meta.max_episode_steps, 0);
		CHECK_INT(in->meta.render_fps, 10);
		CHECK_INT(in->meta.render_width, 32 * want[k].size);
		CHECK_INT(in->meta.render_height, 32 * want[k].size);
		ops->destroy(inst);
	}
}

static void step_and_render_before_reset_and_step_after_the_end_are_refused(void)
{
	void *inst = NULL;
	char err[128], info[256];
	double obs[MG_OBS_N], a = MG_FORWARD;
	struct hippo_step_result res;
	uint64_t seed = 0;
	uint8_t frame[160 * 160 * 3];
	CHECK_INT(mg_empty_5x5_ops.create(NULL, &inst, err, sizeof err), 0);
	CHECK(mg_empty_5x5_ops.step(inst, &a, obs, &res, info, sizeof info, err, sizeof err) < 0);
	CHECK(mg_empty_5x5_ops.render(inst, frame, 160 * 3, err, sizeof err) < 0);
	printf("render before reset: %s\n", err);
	CHECK_INT(mg_empty_5x5_ops.reset(inst, &seed, obs, info, sizeof info, err, sizeof err), 0);
	static const int path[] = {MG_FORWARD, MG_FORWARD, MG_RIGHT, MG_FORWARD, MG_FORWARD};
	for (int i = 0; i < 5; i++) {
		a = path[i];
		CHECK_INT(mg_empty_5x5_ops.step(inst, &a, obs, &res, info, sizeof info, err,
						sizeof err),
			  0);
	}
	CHECK(res.terminated);
	CHECK_EXACT(res.reward, 1 - 0.9 * 5 / 100.0);
	CHECK(mg_empty_5x5_ops.step(inst, &a, obs, &res, info, sizeof info, err, sizeof err) < 0);
	printf("after the goal: %s\n", err);
	mg_empty_5x5_ops.destroy(inst);
}

static void invalid_actions_are_refused(void)
{
	void *inst = NULL;
	char err[128], info[256];
	double obs[MG_OBS_N];
	struct hippo_step_result res;
	CHECK_INT(mg_doorkey_5x5_ops.create(NULL, &inst, err, sizeof err), 0);
	CHECK_INT(mg_doorkey_5x5_ops.reset(inst, NULL, obs, info, sizeof info, err, sizeof err), 0);
	const double bad[] = {-1, 7, 2.5, NAN, INFINITY};
	for (int i = 0; i < 5; i++) {
		CHECK(mg_doorkey_5x5_ops.step(inst, &bad[i], obs, &res, info, sizeof info, err,
					      sizeof err) < 0);
	}
	printf("bad action: %s\n", err);
	mg_doorkey_5x5_ops.destroy(inst);
}

static void options_set_max_steps_and_reject_the_rest(void)
{
	void *inst = NULL;
	char err[256], info[256];
	double obs[MG_OBS_N], a = MG_LEFT;
	struct hippo_step_result res = {0, false, false};
	uint64_t seed = 3;
	struct hippo_env_args args = {"MiniGrid-FourRooms-v0", "{\"max_steps\": 3}"};
	CHECK_INT(mg_fourrooms_ops.create(&args, &inst, err, sizeof err), 0);
	CHECK_INT(mg_fourrooms_ops.reset(inst, &seed, obs, info, sizeof info, err, sizeof err), 0);
	for (int i = 0; i < 3; i++)
		CHECK_INT(mg_fourrooms_ops.step(inst, &a, obs, &res, info, sizeof info, err,
						sizeof err),
			  0);
	CHECK(res.truncated && !res.terminated);
	mg_fourrooms_ops.destroy(inst);

	const char *bad[] = {"{\"size\": 9}", "{\"max_steps\": 0}", "{\"max_steps\": \"x\"}",
			     "[1]", "{not json"};
	for (int i = 0; i < 5; i++) {
		args.options_json = bad[i];
		inst = NULL;
		CHECK(mg_fourrooms_ops.create(&args, &inst, err, sizeof err) < 0);
		CHECK(inst == NULL);
		CHECK(err[0] != '\0');
		printf("options %s: %s\n", bad[i], err);
	}
}

static void unseeded_resets_draw_valid_layouts(void)
{
	void *inst = NULL;
	char err[128], info[256];
	double obs[MG_OBS_N];
	CHECK_INT(mg_fourrooms_ops.create(NULL, &inst, err, sizeof err), 0);
	struct mg_env *env = inst;
	for (int k = 0; k < 50; k++) {
		CHECK_INT(mg_fourrooms_ops.reset(inst, NULL, obs, info, sizeof info, err, sizeof err),
			  0);
		CHECK(env->agent_x > 0 && env->agent_x < 18 && env->agent_y > 0 && env->agent_y < 18);
		CHECK(env->agent_dir >= 0 && env->agent_dir < 4);
		CHECK_INT(mg__get(env, env->agent_x, env->agent_y).type, MG_EMPTY);
		int goals = 0;
		for (int i = 0; i < 19 * 19; i++)
			goals += env->grid[i].type == MG_GOAL;
		CHECK_INT(goals, 1);
		/* the agent's own cell is always visible and empty-handed */
		CHECK_EXACT(obs[(3 * 7 + 6) * 3], MG_EMPTY);
	}
	mg_fourrooms_ops.destroy(inst);
}

int main(void)
{
	RUN(reference_trajectories_match_minigrid);
	RUN(spaces_and_metadata_are_minigrids);
	RUN(step_and_render_before_reset_and_step_after_the_end_are_refused);
	RUN(invalid_actions_are_refused);
	RUN(options_set_max_steps_and_reject_the_rest);
	RUN(unseeded_resets_draw_valid_layouts);
	return test_summary();
}
