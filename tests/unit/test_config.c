/* Config loader: the example study, every validation rule with its exact
 * message and position, malformed and hostile YAML, and a walk over the
 * whole key table. Runs in tests/unit (fixtures in configs/). */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "test.h"
#include "core/config.h"
#include "core/config_table.h"

/* A scratch folder for generated inputs (made in main, removed at the end). */
static char scratch[64];

/* Everything the loader reported, as `hippo check` prints it with the label
 * "config.yml". Caller frees. */
static char *diag_text(const struct cfg_diags *d)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	if (!f)
		return NULL;
	cfg_diags_print(d, "config.yml", f);
	fclose(f);
	return buf;
}

/* Loads YAML (step files from configs/base/StepFiles) and checks the return
 * code and the complete diagnostic output. */
static void check_yaml_at(int line, const char *yaml, int want_rc, const char *want)
{
	struct cfg c;
	struct cfg_diags d = {0};
	int before = test_checks_failed_;
	int rc = cfg_load_buffer("configs/base", yaml, strlen(yaml), &c, &d);
	char *got = diag_text(&d);
	CHECK_INT(rc == 0 ? 0 : 1, want_rc);
	CHECK_STR(got, want);
	if (test_checks_failed_ != before)
		fprintf(stderr, "  (case at test_config.c:%d)\n", line);
	free(got);
	if (rc == 0)
		cfg_free(&c);
	cfg_diags_free(&d);
}
#define CHECK_YAML(yaml, rc, want) check_yaml_at(__LINE__, yaml, rc, want)

/* A valid project section: lines 1-5. Cases append a trial section at line 6. */
#define BASE "project:\n  id: t\n  steps:\n    1: consent.html\n    finalStep: thanks.html\n"

/* ---- valid configs ------------------------------------------------------ */

static void cartpole_example_loads_with_values_and_defaults(void)
{
	struct cfg c;
	struct cfg_diags d = {0};
	printf("examples/cartpole loads without problems\n");
	CHECK_INT(cfg_load("../../examples/cartpole", &c, &d), 0);
	CHECK_INT(d.n, 0);
	CHECK_STR(c.dir, "../../examples/cartpole");
	CHECK_STR(c.project.id, "cartpole-demo");
	CHECK(c.project.live);
	CHECK_INT(c.project.max_runtime_min, 30);
	CHECK_INT(c.project.start_server_step, 2);
	CHECK_INT(c.project.stop_server_step, 4);
	CHECK_INT(c.project.nsteps, 4);
	CHECK_STR(c.project.steps[0].file, "consent.html");
	CHECK_INT(c.project.steps[0].number, 1);
	CHECK_INT(c.project.steps[0].nvariants, 0);
	CHECK(c.project.steps[2].is_game);
	CHECK_STR(c.project.steps[2].file, "game");
	CHECK_STR(c.project.final_step.file, "thanks.html");
	CHECK_INT(c.project.final_step.number, 5);
	CHECK_INT(c.project.groups, CFG_GROUPS_BALANCED);
	CHECK_INT(c.project.storage, CFG_STORAGE_LOCAL);
	CHECK(!c.project.log_ip);
	CHECK_STR(c.trial.game, "CartPole-v1");
	CHECK_INT(c.trial.max_episodes, 3);
	CHECK_INT(c.trial.naction_space, 2);
	CHECK_STR(c.trial.action_space[0], "left");
	CHECK_STR(c.trial.action_space[1], "right");
	CHECK_INT(c.trial.starting_frame_rate, 30);
	CHECK_INT(c.trial.nui, 4);
	CHECK_STR(c.trial.ui[0], "left");
	CHECK_STR(c.trial.ui[3], "pause");
	CHECK(c.trial.ui[4] == NULL);
	CHECK(json_is_array(c.trial.instructions));
	CHECK_INT(json_array_size(c.trial.instructions), 3);
	CHECK(c.trial.variables == NULL);
	/* hippo additions left at their defaults */
	CHECK_INT(c.trial.input_mode, CFG_INPUT_HOLD);
	CHECK_INT(c.trial.mode, CFG_MODE_PLAY);
	CHECK(c.trial.pause_when_hidden);
	CHECK_INT(c.trial.reconnect_grace_s, 60);
	CHECK_INT(c.trial.jpeg_quality, 80);
	CHECK_INT(c.trial.max_message_bytes, 65536);
	CHECK_INT(c.trial.max_messages_per_s, 200);
	CHECK_INT(c.trial.seed, -1);
	CHECK_INT(c.trial.input_budget, 0);
	CHECK(cfg_step_get(&c, 0) == NULL);
	CHECK(cfg_step_get(&c, 3) == &c.project.steps[2]);
	CHECK(cfg_step_get(&c, 5) == &c.project.final_step);
	CHECK(cfg_step_get(&c, 99) == &c.project.final_step);
	cfg_free(&c);
	cfg_diags_free(&d);
}

static void defaults_match_the_documented_values(void)
{
	struct cfg c;
	printf("cfg_defaults gives the documented defaults and no allocations\n");
	cfg_defaults(&c);
	CHECK(c.project.live);
	CHECK_INT(c.project.max_runtime_min, 60);
	CHECK_INT(c.project.start_server_step, 0);
	CHECK_INT(c.trial.max_episodes, 20);
	CHECK_INT(c.trial.data_file, CFG_DATA_EPISODE);
	CHECK_INT(c.trial.action_buffer_lifespan, 1);
	CHECK_INT(c.trial.starting_frame_rate, 30);
	CHECK_INT(c.trial.frame_rate_step_size, 5);
	CHECK_INT(c.trial.min_frame_rate, 1);
	CHECK_INT(c.trial.max_frame_rate, 90);
	CHECK(!c.trial.allow_frame_rate_change);
	CHECK(!c.trial.s3upload);
	CHECK(c.trial.pause_when_hidden);
	CHECK_INT(c.trial.seed, -1);
	CHECK(c.project.id == NULL && c.trial.ui == NULL && c.project.steps == NULL);
	cfg_free(&c); /* safe on defaults */
}

static void missing_ui_gives_the_default_controls(void)
{
	struct cfg c;
	struct cfg_diags d = {0};
	const char *y = BASE;
	printf("no trial.ui: left,right,up,down,start,pause\n");
	CHECK_INT(cfg_load_buffer("configs/base", y, strlen(y), &c, &d), 0);
	CHECK_INT(c.trial.nui, 6);
	if (c.trial.nui == 6) {
		CHECK_STR(c.trial.ui[0], "left");
		CHECK_STR(c.trial.ui[2], "up");
		CHECK_STR(c.trial.ui[5], "pause");
	}
	cfg_free(&c);
	cfg_diags_free(&d);
}

static void step_variants_are_counted_and_quoted_step_keys_accepted(void)
{
	struct cfg c;
	struct cfg_diags d = {0};
	printf("instructions-0..2.html make a step with 3 variants; \"2\": is step 2\n");
	CHECK_INT(cfg_load("configs/valid-variants", &c, &d), 0);
	CHECK_INT(d.n, 0);
	CHECK_INT(c.project.nsteps, 2);
	CHECK_INT(c.project.steps[0].nvariants, 3);
	CHECK(c.project.steps[1].is_game);
	CHECK_INT(c.project.groups, CFG_GROUPS_HASH);
	cfg_free(&c);
	cfg_diags_free(&d);
}

static void original_format_config_loads(void)
{
	struct cfg c;
	struct cfg_diags d = {0};
	printf("a config in the original's style (AWS keys, nulls, False, extra keys) loads\n");
	CHECK_INT(cfg_load("configs/original-format", &c, &d), 0);
	char *got = diag_text(&d);
	CHECK_STR(got,
		  "warning: config.yml:42:3: trial.fingerprint: unknown key, ignored\n"
		  "warning: config.yml:49:5: trial.ui.brightness: unknown control, passed on to "
		  "the page (the participant UI shows only the controls listed in "
		  "docs/config.md)\n");
	free(got);
	CHECK(c.project.use_aws);
	CHECK_STR(c.project.aws_cpu, "2");
	CHECK_STR(c.project.aws_memory, "10");
	CHECK(c.project.team_members == NULL);
	CHECK(c.trial.action_space == NULL);
	CHECK_INT(c.trial.naction_space, 0);
	CHECK_INT(c.trial.data_file, CFG_DATA_TRIAL);
	CHECK(!c.trial.allow_frame_rate_change);
	CHECK_INT(c.trial.nui, 2);
	CHECK_STR(c.trial.ui[0], "stop");
	CHECK_STR(c.trial.ui[1], "brightness");
	/* s3upload with awsSetup.bucket: data goes to S3 */
	CHECK_INT(c.project.storage, CFG_STORAGE_S3);
	CHECK_STR(c.project.s3.bucket, "projects.example");
	CHECK_STR(c.project.s3.region, "ca-central-1");
	CHECK_INT(json_integer_value(json_object_get(c.trial.variables, "gameWindowWidth")), 1056);
	CHECK_STR(json_string_value(json_object_get(c.trial.variables, "gameWindowSize")),
		  "responsive");
	CHECK_STR(json_string_value(json_array_get(c.trial.instructions, 1)),
		  "Click on \"Add Marker\" to add a marker");
	cfg_free(&c);
	cfg_diags_free(&d);
}

static void hippo_additions_load(void)
{
	struct cfg c;
	struct cfg_diags d = {0};
	const char *y = BASE "  logIp: true\n"
			     "  storage:\n"
			     "    s3: {bucket: data, prefix: runs/, endpoint: 'http://127.0.0.1:4569'}\n"
			     "trial:\n"
			     "  inputMode: press\n"
			     "  mode: feedback\n"
			     "  agent: tamer\n"
			     "  env:\n"
			     "    command: [python3, env.py, --fast]\n"
			     "    id: Grid-v0\n"
			     "    options: {size: 8, walls: [1, 2.5], name: x, on: yes, none: ~}\n"
			     "  inputBudget: 50\n"
			     "  pauseWhenHidden: false\n"
			     "  reconnectGrace: 10\n"
			     "  jpegQuality: 95\n"
			     "  maxMessageBytes: 4096\n"
			     "  maxMessagesPerSecond: 20\n"
			     "  seed: 12345678901\n"
			     "  instructions: One line only\n";
	printf("every hippo addition is read into its field\n");
	CHECK_INT(cfg_load_buffer("configs/base", y, strlen(y), &c, &d), 0);
	CHECK_INT(d.n, 0);
	CHECK(c.project.log_ip);
	CHECK_INT(c.project.storage, CFG_STORAGE_S3);
	CHECK_STR(c.project.s3.bucket, "data");
	CHECK_STR(c.project.s3.prefix, "runs/");
	CHECK_STR(c.project.s3.region, "us-east-1");
	CHECK_STR(c.project.s3.endpoint, "http://127.0.0.1:4569");
	CHECK_INT(c.trial.input_mode, CFG_INPUT_PRESS);
	CHECK_INT(c.trial.mode, CFG_MODE_FEEDBACK);
	CHECK_STR(c.trial.agent, "tamer");
	CHECK(c.trial.env.plugin == NULL);
	CHECK(c.trial.env.command != NULL);
	if (c.trial.env.command) {
		CHECK_STR(c.trial.env.command[0], "python3");
		CHECK_STR(c.trial.env.command[2], "--fast");
		CHECK(c.trial.env.command[3] == NULL);
	}
	CHECK_STR(c.trial.env.id, "Grid-v0");
	json_t *o = c.trial.env.options;
	CHECK_INT(json_integer_value(json_object_get(o, "size")), 8);
	CHECK_EXACT(json_real_value(json_array_get(json_object_get(o, "walls"), 1)), 2.5);
	CHECK(json_is_true(json_object_get(o, "on")));
	CHECK(json_is_null(json_object_get(o, "none")));
	CHECK_INT(c.trial.input_budget, 50);
	CHECK(!c.trial.pause_when_hidden);
	CHECK_INT(c.trial.reconnect_grace_s, 10);
	CHECK_INT(c.trial.jpeg_quality, 95);
	CHECK_INT(c.trial.max_message_bytes, 4096);
	CHECK_INT(c.trial.max_messages_per_s, 20);
	CHECK_INT(c.trial.seed, 12345678901LL);
	CHECK_STR(json_string_value(json_array_get(c.trial.instructions, 0)), "One line only");
	cfg_free(&c);
	cfg_diags_free(&d);
}

static void config_that_is_a_fifo_or_folder_is_rejected(void)
{
	char path[128];
	struct cfg c;
	struct cfg_diags d = {0};
	printf("config.yml that is a FIFO (nobody writing) or a folder: error, no hang\n");
	snprintf(path, sizeof path, "%s/config.yml", scratch);
	unlink(path);
	CHECK_INT(mkfifo(path, 0600), 0);
	CHECK_INT(cfg_load(scratch, &c, &d), -1);
	char *got = diag_text(&d);
	CHECK_STR(got, "error: config.yml: not a regular file\n");
	free(got);
	cfg_diags_free(&d);
	unlink(path);
	CHECK_INT(mkdir(path, 0700), 0);
	CHECK_INT(cfg_load(scratch, &c, &d), -1);
	got = diag_text(&d);
	CHECK_STR(got, "error: config.yml: not a regular file\n");
	free(got);
	cfg_diags_free(&d);
	rmdir(path);
}

static char *repeat(const char *head, const char *unit, size_t n, const char *tail)
{
	size_t hl = strlen(head), ul = strlen(unit), tl = strlen(tail);
	char *s = malloc(hl + ul * n + tl + 1);
	if (!s)
		return NULL;
	memcpy(s, head, hl);
	for (size_t i = 0; i < n; i++)
		memcpy(s + hl + i * ul, unit, ul);
	memcpy(s + hl + ul * n, tail, tl + 1);
	return s;
}

/* ---- one test per rule ---------------------------------------------------- */

static void unknown_keys_warn_with_their_position(void)
{
	printf("unknown keys: warnings at the key, the config stays valid\n");
	CHECK_YAML(BASE "  colour: blue\n"
			"trial:\n"
			"  MaxEpisodes: 3\n"
			"other: 1\n",
		   0,
		   "warning: config.yml:6:3: project.colour: unknown key, ignored\n"
		   "warning: config.yml:8:3: trial.MaxEpisodes: unknown key, ignored (did you mean "
		   "trial.maxEpisodes?)\n"
		   "warning: config.yml:9:1: other: unknown key, ignored\n");
	printf("unknown keys: a key of another section, a near spelling\n");
	CHECK_YAML(BASE "trial:\n  maxRuntime: 3\n  maxEpisode: 3\n  actionspace: [a]\n  ui2: {}\n", 0,
		   "warning: config.yml:7:3: trial.maxRuntime: unknown key, ignored (did you mean "
		   "project.maxRuntime?)\n"
		   "warning: config.yml:8:3: trial.maxEpisode: unknown key, ignored (did you mean "
		   "trial.maxEpisodes?)\n"
		   "warning: config.yml:9:3: trial.actionspace: unknown key, ignored (did you mean "
		   "trial.actionSpace?)\n"
		   "warning: config.yml:10:3: trial.ui2: unknown key, ignored\n");
}

static void wrong_types_are_errors(void)
{
	printf("wrong types: number, bool, text, list, mapping\n");
	CHECK_YAML(BASE "  maxRuntime: soon\n"
			"  live: maybe\n"
			"  name: [a, b]\n"
			"trial:\n"
			"  maxEpisodes: '3'\n"
			"  startingFrameRate: 2.5\n"
			"  actionSpace: left\n"
			"  variables: [1]\n"
			"  ui: left\n"
			"  recordFrames: sometimes\n",
		   1,
		   "error: config.yml:6:15: project.maxRuntime: expected a whole number, got 'soon'\n"
		   "error: config.yml:7:9: project.live: expected true or false, got 'maybe'\n"
		   "error: config.yml:8:9: project.name: expected text, got a list\n"
		   "error: config.yml:10:16: trial.maxEpisodes: expected a whole number, got '3'\n"
		   "error: config.yml:11:22: trial.startingFrameRate: expected a whole number, got "
		   "'2.5'\n"
		   "error: config.yml:12:16: trial.actionSpace: expected a list, got text\n"
		   "error: config.yml:13:14: trial.variables: expected a mapping, got a list\n"
		   "error: config.yml:14:7: trial.ui: expected a mapping of control: true/false, got "
		   "text\n"
		   "error: config.yml:15:17: trial.recordFrames: expected true or false, got "
		   "'sometimes'\n");
}

static void out_of_range_values_are_errors(void)
{
	printf("out-of-range numbers\n");
	CHECK_YAML(BASE "  maxRuntime: 1441\n"
			"trial:\n"
			"  maxEpisodes: 0\n"
			"  jpegQuality: 101\n"
			"  inputBudget: -1\n",
		   1,
		   "error: config.yml:6:15: project.maxRuntime: must be between 1 and 1440, got 1441\n"
		   "error: config.yml:8:16: trial.maxEpisodes: must be between 1 and 1000000, got 0\n"
		   "error: config.yml:9:16: trial.jpegQuality: must be between 1 and 100, got 101\n"
		   "error: config.yml:10:16: trial.inputBudget: must be at least 0, got -1\n");
	CHECK_YAML(BASE "  maxRuntime: 0\n", 1,
		   "error: config.yml:6:15: project.maxRuntime: must be between 1 and 1440, got 0\n");
}

static void missing_required_keys_are_errors(void)
{
	printf("missing project, project.id, project.steps, finalStep\n");
	CHECK_YAML("trial:\n  maxEpisodes: 2\n", 1,
		   "error: config.yml:1:1: project: required key is missing\n");
	CHECK_YAML("project:\n  name: x\n", 1,
		   "error: config.yml:1:1: project.id: required key is missing\n"
		   "error: config.yml:1:1: project.steps: required key is missing\n");
	CHECK_YAML("project:\n", 1,
		   "error: config.yml:1:1: project.id: required key is missing\n"
		   "error: config.yml:1:1: project.steps: required key is missing\n");
	CHECK_YAML("project:\n  id:\n  steps:\n    1: consent.html\n    finalStep: thanks.html\n", 1,
		   "error: config.yml:2:3: project.id: required key has no value\n");
}

static void final_step_missing_is_an_error(void)
{
	printf("finalStep missing: error at steps:\n");
	CHECK_YAML("project:\n  id: t\n  steps:\n    1: consent.html\n", 1,
		   "error: config.yml:3:3: project.steps.finalStep: required key is missing\n");
	CHECK_YAML("project:\n  id: t\n  steps:\n    1: consent.html\n    finalStep: game\n"
		   "trial:\n  game: CartPole-v1\n",
		   1,
		   "error: config.yml:5:16: project.steps.finalStep: the final step cannot be the game "
		   "(it is shown after the last step)\n");
}

static void step_file_not_found_is_an_error(void)
{
	struct cfg c;
	struct cfg_diags d = {0};
	printf("a step file missing from StepFiles/: error at its value\n");
	CHECK_INT(cfg_load("configs/missing-step-file", &c, &d), -1);
	char *got = diag_text(&d);
	CHECK_STR(got, "error: config.yml:5:8: project.steps.2: step file 'survey.html' not found "
		       "in StepFiles/\n");
	free(got);
	cfg_diags_free(&d);
}

static void step_file_names_with_paths_are_errors(void)
{
	printf("step file names with '/', '\\\\' or '..'\n");
	CHECK_YAML("project:\n  id: t\n  steps:\n    1: ../consent.html\n    2: sub/a.html\n"
		   "    3: 'a\\b.html'\n    finalStep: thanks.html\n",
		   1,
		   "error: config.yml:4:8: project.steps.1: step file name '../consent.html' must not "
		   "contain '/', '\\' or '..'\n"
		   "error: config.yml:5:8: project.steps.2: step file name 'sub/a.html' must not "
		   "contain '/', '\\' or '..'\n"
		   "error: config.yml:6:8: project.steps.3: step file name 'a\\b.html' must not "
		   "contain '/', '\\' or '..'\n");
}

static void bad_step_keys_gaps_and_duplicates_are_errors(void)
{
	printf("step keys: words, zero, gaps, duplicates\n");
	CHECK_YAML("project:\n  id: t\n  steps:\n    one: consent.html\n    0: consent.html\n"
		   "    2: consent.html\n    '2': survey.html\n    finalStep: thanks.html\n",
		   1,
		   "error: config.yml:3:3: project.steps.1: step 1 is missing (steps are numbered "
		   "1..2)\n"
		   "error: config.yml:4:5: project.steps: step keys must be numbers 1..1000 or "
		   "finalStep, got 'one'\n"
		   "error: config.yml:5:5: project.steps: step keys must be numbers 1..1000 or "
		   "finalStep, got '0'\n"
		   "error: config.yml:7:5: project.steps.2: step 2 listed twice (first at line 6)\n");
}

static void project_id_must_match_the_pattern(void)
{
	printf("projectId: [A-Za-z0-9-]{1,64}\n");
	CHECK_YAML("project:\n  id: my_study\n  steps:\n    finalStep: thanks.html\n", 1,
		   "error: config.yml:2:7: project.id: 'my_study' must match [A-Za-z0-9-]{1,64}\n");
	CHECK_YAML("project:\n  id: ''\n  steps:\n    finalStep: thanks.html\n", 1,
		   "error: config.yml:2:7: project.id: '' must match [A-Za-z0-9-]{1,64}\n");
	CHECK_YAML("project:\n  id: "
		   "a23456789012345678901234567890123456789012345678901234567890123456\n"
		   "  steps:\n    finalStep: thanks.html\n",
		   1,
		   "error: config.yml:2:7: project.id: "
		   "'a23456789012345678901234567890123456789012345678901234567890...' must match "
		   "[A-Za-z0-9-]{1,64}\n");
	CHECK_YAML("project:\n  id: Study-2024\n  steps:\n    finalStep: thanks.html\n", 0, "");
}

static void events_outside_the_steps_are_errors(void)
{
	printf("start/stopServerStep: existing steps, start <= stop\n");
	CHECK_YAML(BASE "  events:\n    startServerStep: 0\n    stopServerStep: 3\n", 1,
		   "error: config.yml:7:22: project.events.startServerStep: must be between 1 and "
		   "1001, got 0\n"
		   "error: config.yml:8:21: project.events.stopServerStep: step 3 does not exist (the "
		   "steps are 1..1, and 2 is finalStep)\n");
	CHECK_YAML(BASE "  events:\n    startServerStep: 2\n    stopServerStep: 1\n", 1,
		   "error: config.yml:8:21: project.events.stopServerStep: step 1 comes before "
		   "startServerStep (2)\n");
	/* null (the original's way of saying "none") and the final step are fine */
	CHECK_YAML(BASE "  events:\n    startServerStep: null\n    stopServerStep: 2\n", 0, "");
}

static void frame_rates_must_be_ordered(void)
{
	printf("1 <= minFrameRate <= startingFrameRate <= maxFrameRate <= 1000\n");
	CHECK_YAML(BASE "trial:\n  minFrameRate: 40\n  maxFrameRate: 20\n", 1,
		   "error: config.yml:8:17: trial.maxFrameRate: 20 is below minFrameRate (40)\n");
	CHECK_YAML(BASE "trial:\n  startingFrameRate: 120\n", 1,
		   "error: config.yml:7:22: trial.startingFrameRate: 120 is above maxFrameRate (90, "
		   "the default)\n");
	CHECK_YAML(BASE "trial:\n  maxFrameRate: 20\n", 1,
		   "error: config.yml:7:17: trial.maxFrameRate: 20 is below startingFrameRate (30, "
		   "the default)\n");
	CHECK_YAML(BASE "trial:\n  startingFrameRate: 5\n  minFrameRate: 10\n", 1,
		   "error: config.yml:8:17: trial.minFrameRate: 10 is above startingFrameRate (5)\n");
	CHECK_YAML(BASE "trial:\n  maxFrameRate: 1001\n  frameRateStepSize: 0\n", 1,
		   "error: config.yml:7:17: trial.maxFrameRate: must be between 1 and 1000, got "
		   "1001\n"
		   "error: config.yml:8:22: trial.frameRateStepSize: must be between 1 and 1000, got "
		   "0\n");
	CHECK_YAML(BASE "trial:\n  minFrameRate: 30\n  startingFrameRate: 30\n  maxFrameRate: 30\n",
		   0, "");
}

static void empty_action_space_is_an_error(void)
{
	printf("actionSpace: non-empty list of non-empty names\n");
	CHECK_YAML(BASE "trial:\n  actionSpace: []\n", 1,
		   "error: config.yml:7:16: trial.actionSpace: must not be empty\n");
	CHECK_YAML(BASE "trial:\n  actionSpace: [left, '', [x]]\n", 1,
		   "error: config.yml:7:23: trial.actionSpace: item 2: expected non-empty text, got "
		   "nothing\n"
		   "error: config.yml:7:27: trial.actionSpace: item 3: expected non-empty text, got a "
		   "list\n");
}

static void game_step_needs_a_game(void)
{
	printf("a game step without trial.game or trial.env\n");
	CHECK_YAML("project:\n  id: t\n  steps:\n    1: game\n    finalStep: thanks.html\n", 1,
		   "error: config.yml:4:8: project.steps.1: a game step needs trial.game (or "
		   "trial.env)\n");
	CHECK_YAML("project:\n  id: t\n  steps:\n    1: game\n    finalStep: thanks.html\n"
		   "trial:\n  env:\n    plugin: envs/grid.so\n",
		   0, "");
}

static void enums_and_ui_names_are_checked(void)
{
	printf("dataFile, mode, inputMode, groupStrategy values; ui names\n");
	CHECK_YAML(BASE "  groupStrategy: random\n"
			"trial:\n"
			"  dataFile: session\n"
			"  mode: teach\n"
			"  inputMode: [hold]\n"
			"  ui: {left: true, jump: true, right: 1, fire: false, left: false}\n",
		   1,
		   "error: config.yml:6:18: project.groupStrategy: expected one of balanced, hash, got "
		   "'random'\n"
		   "error: config.yml:8:13: trial.dataFile: expected one of episode, trial, got "
		   "'session'\n"
		   "error: config.yml:9:9: trial.mode: expected one of play, feedback, advise, watch, "
		   "got 'teach'\n"
		   "error: config.yml:10:14: trial.inputMode: expected one of hold, press, turn, got a "
		   "list\n"
		   "warning: config.yml:11:20: trial.ui.jump: unknown control, passed on to the page "
		   "(the participant UI shows only the controls listed in docs/config.md)\n"
		   "error: config.yml:11:39: trial.ui.right: expected true or false\n"
		   "error: config.yml:11:55: trial.ui.left: control listed twice\n");
	CHECK_YAML(BASE "trial:\n  ui: [left, right]\n", 0, "");
	char *many = repeat(BASE "trial:\n  ui: [", "fire,", 64, "up]\n");
	CHECK_YAML(many, 1, "error: config.yml:7:7: trial.ui: too many controls (more than 64)\n");
	free(many);
}

static void duplicate_keys_are_errors(void)
{
	printf("a key written twice\n");
	CHECK_YAML(BASE "  id: u\n", 1,
		   "error: config.yml:6:3: project.id: key listed twice (first at line 2)\n");
	CHECK_YAML(BASE "trial:\n  variables: {a: 1, a: 2}\n", 1,
		   "error: config.yml:7:21: trial.variables: duplicate key 'a'\n");
}

static void storage_and_env_rules(void)
{
	printf("storage needs a bucket; env needs plugin xor command\n");
	CHECK_YAML(BASE "trial:\n  s3upload: true\n", 1,
		   "error: config.yml:7:13: trial.s3upload: S3 storage needs a bucket "
		   "(project.storage.s3.bucket or project.awsSetup.bucket)\n");
	CHECK_YAML(BASE "  storage: s3\n", 1,
		   "error: config.yml:6:12: project.storage: S3 storage needs a bucket "
		   "(project.storage.s3.bucket or project.awsSetup.bucket)\n");
	CHECK_YAML(BASE "  storage: cloud\n", 1,
		   "error: config.yml:6:12: project.storage: expected local, s3 or a mapping with s3:, "
		   "got 'cloud'\n");
	CHECK_YAML(BASE "trial:\n  env:\n    plugin: a.so\n    command: [b]\n", 1,
		   "error: config.yml:9:14: trial.env: give either plugin or command, not both\n");
	CHECK_YAML(BASE "trial:\n  env:\n    id: x\n", 1,
		   "error: config.yml:7:3: trial.env: needs plugin or command\n");
	CHECK_YAML(BASE "trial:\n  env:\n    command: []\n", 1,
		   "error: config.yml:7:3: trial.env: needs plugin or command\n"
		   "error: config.yml:8:14: trial.env.command: must not be empty\n");
	/* a plug-in lies inside the study folder */
	CHECK_YAML(BASE "trial:\n  env:\n    plugin: /usr/lib/libm.so.6\n", 1,
		   "error: config.yml:8:13: trial.env.plugin: '/usr/lib/libm.so.6' must be a path "
		   "inside the study folder (relative, without '..')\n");
	CHECK_YAML(BASE "trial:\n  env:\n    plugin: envs/../../x.so\n", 1,
		   "error: config.yml:8:13: trial.env.plugin: 'envs/../../x.so' must be a path "
		   "inside the study folder (relative, without '..')\n");
	CHECK_YAML(BASE "trial:\n  env:\n    plugin: envs/..x.so\n", 0, "");
}

static bool only_cartpole(const char *id, char *near, size_t nearlen)
{
	snprintf(near, nearlen, "CartPole-v1");
	return strcmp(id, "CartPole-v1") == 0;
}

/* cfg_load_with: keys naming code refused for deployed studies; trial.game
 * checked against the caller's registry when there is no trial.env. */
static void load_options_refuse_code_and_unknown_games(void)
{
	struct cfg c;
	struct cfg_diags d = {0};
	struct cfg_load_opts o = {.flags = CFG_LOAD_NO_CODE, .game_known = only_cartpole};
	char dir[] = "/tmp/hippo-cfg-unit-XXXXXX", path[200];
	printf("CFG_LOAD_NO_CODE and game_known\n");
	CHECK(mkdtemp(dir) != NULL);
	snprintf(path, sizeof path, "%s/StepFiles", dir);
	CHECK_INT(mkdir(path, 0755), 0);
	snprintf(path, sizeof path, "%s/StepFiles/thanks.html", dir);
	FILE *f = fopen(path, "w");
	fputs("<p>t</p>", f);
	fclose(f);
	snprintf(path, sizeof path, "%s/config.yml", dir);
	f = fopen(path, "w");
	fputs("project:\n  id: t\n  steps:\n    finalStep: thanks.html\n"
	      "trial:\n  game: CartPol-v1\n  agentCommand: [sh]\n  env: {command: [sh, -c, id]}\n",
	      f);
	fclose(f);
	CHECK_INT(cfg_load_with(dir, &o, &c, &d), -1);
	CHECK_INT(d.nrefused, 2);
	CHECK_INT(d.nerrors, 2); /* trial.env is given: trial.game is the env's id */
	CHECK_STR(d.n > 0 ? d.items[0].path : NULL, "trial.agentCommand");
	CHECK_INT(d.n > 0 ? d.items[0].line : 0, 7);
	CHECK_STR(d.n > 1 ? d.items[1].path : NULL, "trial.env.command");
	CHECK_INT(d.n > 1 ? d.items[1].line : 0, 8);
	cfg_diags_free(&d);
	o.flags = 0;
	CHECK_INT(cfg_load_with(dir, &o, &c, &d), 0);
	cfg_free(&c);
	cfg_diags_free(&d);
	f = fopen(path, "w");
	fputs("project:\n  id: t\n  steps:\n    finalStep: thanks.html\n"
	      "trial:\n  game: CartPol-v1\n",
	      f);
	fclose(f);
	CHECK_INT(cfg_load_with(dir, &o, &c, &d), -1);
	CHECK_INT(d.nerrors, 1);
	CHECK_STR(d.n ? d.items[0].message : NULL,
		  "unknown environment 'CartPol-v1'; did you mean CartPole-v1? (without trial.env it "
		  "names a built-in environment: hippo envs lists them)");
	cfg_diags_free(&d);
	CHECK_INT(cfg_load(dir, &c, &d), 0); /* without the hook the config layer cannot tell */
	cfg_free(&c);
	cfg_diags_free(&d);
	unlink(path);
	snprintf(path, sizeof path, "%s/StepFiles/thanks.html", dir);
	unlink(path);
	snprintf(path, sizeof path, "%s/StepFiles", dir);
	rmdir(path);
	rmdir(dir);
}

/* ---- malformed and hostile YAML ------------------------------------------ */

static void malformed_yaml_fixtures_give_positions(void)
{
	static const struct {
		const char *dir, *want;
	} cases[] = {
		{"configs/tab-indent",
		 "error: config.yml:4:1: invalid YAML: while scanning for the next token: found "
		 "character that cannot start any token (a tab: indent with spaces)\n"},
		{"configs/unclosed-quote",
		 "error: config.yml:6:1: invalid YAML: while scanning a quoted scalar at line 3, "
		 "column 9: found unexpected end of stream\n"},
		{"configs/binary-garbage",
		 "error: config.yml:3:9: invalid YAML: invalid leading UTF-8 octet (byte 0xff)\n"},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct cfg c;
		struct cfg_diags d = {0};
		printf("%s: one error with its position\n", cases[i].dir);
		CHECK_INT(cfg_load(cases[i].dir, &c, &d), -1);
		char *got = diag_text(&d);
		CHECK_STR(got, cases[i].want);
		free(got);
		cfg_diags_free(&d);
	}
}

static void odd_documents_are_errors(void)
{
	printf("empty file, a list, two documents, NUL bytes, complex keys\n");
	CHECK_YAML("", 1, "error: config.yml: the file is empty (expected project: and trial:)\n");
	CHECK_YAML("# only a comment\n", 1,
		   "error: config.yml: the file is empty (expected project: and trial:)\n");
	CHECK_YAML("- project\n", 1,
		   "error: config.yml:1:1: expected a mapping with project: and trial:, got a list\n");
	CHECK_YAML(BASE "---\nproject: {}\n", 1,
		   "error: config.yml:6:1: only one YAML document is allowed (found a second '---')\n");
	CHECK_YAML(BASE "  name: \"a\\0b\"\n", 1,
		   "error: config.yml:6:9: project.name: contains a NUL character\n");
	CHECK_YAML(BASE "  ? [a]\n  : 1\n", 1,
		   "error: config.yml:6:5: project: keys must be plain text, got a list\n");
	CHECK_YAML("project: 3\n", 1, "error: config.yml:1:10: project: expected a mapping, got text\n");
}


static const char *write_scratch(const char *data, size_t len)
{
	static char path[128];
	snprintf(path, sizeof path, "%s/config.yml", scratch);
	FILE *f = fopen(path, "wb");
	if (!f)
		return NULL;
	fwrite(data, 1, len, f);
	fclose(f);
	return scratch;
}

static void ten_megabyte_file_is_rejected_before_reading(void)
{
	size_t len = 10 * 1024 * 1024;
	char *big = malloc(len);
	printf("a 10 MB config.yml: 'file too large'\n");
	CHECK(big != NULL);
	if (!big)
		return;
	for (size_t i = 0; i < len; i++)
		big[i] = (i % 64 == 63) ? '\n' : 'a';
	struct cfg c;
	struct cfg_diags d = {0};
	CHECK_INT(cfg_load(write_scratch(big, len), &c, &d), -1);
	char *got = diag_text(&d);
	CHECK_STR(got, "error: config.yml: file too large (10485760 bytes, the limit is 1048576)\n");
	free(got);
	cfg_diags_free(&d);
	/* the same through the buffer entry point */
	CHECK_INT(cfg_load_buffer(NULL, big, len, &c, &d), -1);
	got = diag_text(&d);
	CHECK_STR(got, "error: config.yml: file too large (10485760 bytes, the limit is 1048576)\n");
	free(got);
	cfg_diags_free(&d);
	free(big);
}

static void deep_nesting_stops_at_the_limit(void)
{
	printf("10 000 nested flow lists / mappings / block mappings: 'nesting too deep'\n");
	char *flow = repeat("", "[", 10000, "\n");
	CHECK_YAML(flow, 1, "error: config.yml:1:65: nesting too deep (more than 64 levels)\n");
	free(flow);
	char *maps = repeat("", "{a: ", 10000, "\n");
	CHECK_YAML(maps, 1, "error: config.yml:1:257: nesting too deep (more than 64 levels)\n");
	free(maps);
	/* block style: each level on its own line, indented by one more space */
	size_t n = 10000, cap = n * (n + 4) / 2 + 16, len = 0;
	(void)cap;
	char *block = malloc(200 * 1024);
	CHECK(block != NULL);
	if (!block)
		return;
	for (size_t i = 0; i < 300 && len + 400 < 200 * 1024; i++) {
		memset(block + len, ' ', i);
		len += i;
		memcpy(block + len, "a:\n", 3);
		len += 3;
	}
	block[len] = '\0';
	CHECK_YAML(block, 1, "error: config.yml:65:65: nesting too deep (more than 64 levels)\n");
	free(block);
}

static void aliases_and_anchors_are_rejected(void)
{
	printf("billion laughs: anchors/aliases rejected at the first anchor\n");
	const char *bomb = "a: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n"
			   "b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\n"
			   "c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\n"
			   "d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]\n"
			   "e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]\n"
			   "f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]\n"
			   "g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]\n";
	CHECK_YAML(bomb, 1, "error: config.yml:1:4: YAML anchors (&a) are not supported\n");
	CHECK_YAML(BASE "  name: *x\n", 1,
		   "error: config.yml:6:9: YAML aliases (*x) are not supported\n");
}

static void many_nodes_and_many_problems_are_bounded(void)
{
	printf("150 000 list items: 'too many YAML nodes'; 2 000 unknown keys: 500 shown\n");
	char *items = repeat("x: [", "1,", 150000, "1]\n");
	CHECK_YAML(items, 1, "error: config.yml:1:199999: too many YAML nodes (more than 100000)\n");
	free(items);

	size_t cap = 2000 * 16 + sizeof BASE, len = 0;
	char *keys = malloc(cap);
	CHECK(keys != NULL);
	if (!keys)
		return;
	len = (size_t)snprintf(keys, cap, "%s", BASE);
	for (int i = 0; i < 2000; i++)
		len += (size_t)snprintf(keys + len, cap - len, "  k%d: 1\n", i);
	struct cfg c;
	struct cfg_diags d = {0};
	CHECK_INT(cfg_load_buffer("configs/base", keys, len, &c, &d), 0);
	CHECK_INT(d.n, CFG_DIAGS_MAX);
	CHECK_INT(d.nwarnings, 2000);
	CHECK_INT(d.ndropped, 1500);
	char *got = diag_text(&d);
	CHECK(got && strstr(got, "config.yml: 1500 more problems not shown\n"));
	free(got);
	cfg_free(&c);
	cfg_diags_free(&d);
	free(keys);
}

/* ---- the table ------------------------------------------------------------ */

/* BASE + trial.game, with KEY (a dotted path) set to VALUE inserted under its
 * top-level section. */
static void yaml_with(char *out, size_t cap, const char *path, const char *value)
{
	char sec[32];
	const char *dot = strchr(path, '.');
	size_t n = (size_t)(dot - path);
	snprintf(sec, sizeof sec, "%.*s", (int)n, path);
	bool project = strcmp(sec, "project") == 0;
	size_t len = (size_t)snprintf(out, cap, "%s\n", project ? "project:" : "trial:");
	const char *p = dot + 1;
	int depth = 1;
	for (;;) {
		const char *next = strchr(p, '.');
		int klen = next ? (int)(next - p) : (int)strlen(p);
		len += (size_t)snprintf(out + len, cap - len, "%*s%.*s:%s%s\n", depth * 2, "", klen, p,
					next ? "" : " ", next ? "" : value);
		if (!next)
			break;
		p = next + 1;
		depth++;
	}
	len += (size_t)snprintf(out + len, cap - len, "%s",
				project ? "  id: t\n  steps:\n    1: consent.html\n    "
					  "finalStep: thanks.html\ntrial:\n  game: g\n"
					: "project:\n  id: t\n  steps:\n    1: consent.html\n    "
					  "finalStep: thanks.html\n");
	(void)len;
}

/* Loads YAML and tells whether an error was reported at PATH. */
static bool error_at(const char *yaml, const char *path, struct cfg *c, bool keep)
{
	struct cfg_diags d = {0};
	bool hit = false;
	int rc = cfg_load_buffer("configs/base", yaml, strlen(yaml), c, &d);
	for (size_t i = 0; i < d.n; i++)
		if (d.items[i].severity == CFG_ERROR && strcmp(d.items[i].path, path) == 0)
			hit = true;
	if (rc == 0 && !keep)
		cfg_free(c);
	cfg_diags_free(&d);
	return hit;
}

/* The default docs/config.md gives KEY: the first `code` of the third
 * column of the row "| `KEY` | type | default | meaning |" (escaped \\|
 * inside a cell do not split it), copied into OUT; false when the row or a
 * code there is missing. An independent source for the table's defaults. */
static bool documented_default(const char *doc, const char *key, char *out, size_t outlen)
{
	char row[160];
	snprintf(row, sizeof row, "\n| `%s` |", key);
	const char *p = doc ? strstr(doc, row) : NULL;
	if (!p)
		return false;
	p += 1;
	int bars = 0;
	for (; *p && *p != '\n' && bars < 3; p++) {
		if (*p == '\\' && p[1] == '|')
			p++;
		else if (*p == '|')
			bars++;
	}
	if (bars < 3)
		return false;
	const char *end = p;
	while (*end && *end != '\n' && !(*end == '|' && end[-1] != '\\'))
		end++;
	const char *a = memchr(p, '`', (size_t)(end - p));
	const char *b = a ? memchr(a + 1, '`', (size_t)(end - a - 1)) : NULL;
	if (!b || (size_t)(b - a - 1) >= outlen)
		return false;
	memcpy(out, a + 1, (size_t)(b - a - 1));
	out[b - a - 1] = '\0';
	return true;
}

/* The table's default of E agrees with the one documented for it. */
static void check_documented_default(const char *doc, const struct cfg__entry *e)
{
	char d[64];
	bool have = documented_default(doc, e->path, d, sizeof d);
	switch (e->type) {
	case CFG_T_INT:
	case CFG_T_INT_NULL:
	case CFG_T_SIZE:
	case CFG_T_LLONG: {
		CHECK(have);
		if (!have)
			break;
		if (strcmp(d, "null") == 0) {
			/* null is the stored default of these types */
			CHECK(e->type == CFG_T_INT_NULL || e->type == CFG_T_LLONG);
			break;
		}
		char *endp;
		errno = 0;
		long long v = strtoll(d, &endp, 10);
		CHECK(errno == 0 && endp != d && *endp == '\0');
		CHECK_INT(e->def, v);
		break;
	}
	case CFG_T_BOOL:
		CHECK(have && (strcmp(d, "true") == 0 || strcmp(d, "false") == 0));
		if (have)
			CHECK_INT(e->def, strcmp(d, "true") == 0);
		break;
	case CFG_T_ENUM:
		CHECK(have);
		if (have)
			CHECK_STR(e->names[e->def], d);
		break;
	default:
		break;
	}
}

static void every_table_entry_is_documented_defaulted_and_checked(void)
{
	size_t n;
	const struct cfg__entry *t = cfg__table(&n);
	struct cfg def;
	char yaml[1024], val[64];
	char *doc = NULL;
	size_t doclen = 0;
	FILE *f = fopen("../../docs/config.md", "r");

	printf("walking all %zu table entries\n", n);
	cfg_defaults(&def);
	CHECK(f != NULL);
	if (f) {
		doc = malloc(1 << 20);
		doclen = doc ? fread(doc, 1, (1 << 20) - 1, f) : 0;
		if (doc)
			doc[doclen] = '\0';
		fclose(f);
	}
	for (size_t i = 0; i < n; i++) {
		const struct cfg__entry *e = &t[i];
		char quoted[128];
		int before = test_checks_failed_;
		/* unique, with its section in the table, and documented */
		for (size_t j = 0; j < i; j++)
			CHECK(strcmp(t[j].path, e->path) != 0);
		const char *dot = strrchr(e->path, '.');
		if (dot) {
			bool parent = false;
			for (size_t j = 0; j < n; j++)
				if (strlen(t[j].path) == (size_t)(dot - e->path) &&
				    strncmp(t[j].path, e->path, (size_t)(dot - e->path)) == 0 &&
				    (t[j].type == CFG_T_SECTION || t[j].type == CFG_T_STORAGE))
					parent = true;
			CHECK(parent);
		}
		snprintf(quoted, sizeof quoted, "`%s`", e->path);
		CHECK(doc && strstr(doc, quoted));
		check_documented_default(doc, e);

		struct cfg c;
		const char *field = (const char *)&def + e->off;
		switch (e->type) {
		case CFG_T_INT:
		case CFG_T_INT_NULL:
		case CFG_T_SIZE:
		case CFG_T_LLONG: {
			long long dv = e->type == CFG_T_SIZE    ? (long long)*(const size_t *)(const void *)field
				       : e->type == CFG_T_LLONG ? *(const long long *)(const void *)field
								: *(const int *)(const void *)field;
			CHECK_INT(dv, e->def);
			long long ok = (e->def >= e->min && e->def <= e->max) ? e->def : e->min;
			snprintf(val, sizeof val, "%lld", ok);
			yaml_with(yaml, sizeof yaml, e->path, val);
			CHECK(!error_at(yaml, e->path, &c, false));
			if (e->min > LLONG_MIN) {
				snprintf(val, sizeof val, "%lld", e->min - 1);
				yaml_with(yaml, sizeof yaml, e->path, val);
				CHECK(error_at(yaml, e->path, &c, false));
			}
			if (e->max < LLONG_MAX) {
				snprintf(val, sizeof val, "%lld", e->max + 1);
				yaml_with(yaml, sizeof yaml, e->path, val);
				CHECK(error_at(yaml, e->path, &c, false));
			}
			yaml_with(yaml, sizeof yaml, e->path, "many");
			CHECK(error_at(yaml, e->path, &c, false));
			break;
		}
		case CFG_T_BOOL:
			CHECK_INT(*(const bool *)(const void *)field, e->def);
			yaml_with(yaml, sizeof yaml, e->path, e->def ? "off" : "yes");
			if (strcmp(e->path, "trial.s3upload") == 0) {
				/* S3 without awsSetup.bucket: the storage rule fires */
				CHECK(error_at(yaml, e->path, &c, false));
			} else if (!error_at(yaml, e->path, &c, true)) {
				CHECK_INT(*(const bool *)(const void *)((const char *)&c + e->off), !e->def);
				cfg_free(&c);
			} else {
				CHECK(0);
			}
			yaml_with(yaml, sizeof yaml, e->path, "maybe");
			CHECK(error_at(yaml, e->path, &c, false));
			break;
		case CFG_T_ENUM:
			CHECK_INT(*(const int *)(const void *)field, 0);
			for (int k = 0; e->names[k]; k++) {
				yaml_with(yaml, sizeof yaml, e->path, e->names[k]);
				if (!error_at(yaml, e->path, &c, true)) {
					CHECK_INT(*(const int *)(const void *)((const char *)&c + e->off), k);
					cfg_free(&c);
				} else {
					CHECK(0);
				}
			}
			yaml_with(yaml, sizeof yaml, e->path, "bogus");
			CHECK(error_at(yaml, e->path, &c, false));
			break;
		case CFG_T_STR:
			CHECK(*(char *const *)(const void *)field == NULL);
			yaml_with(yaml, sizeof yaml, e->path, "{a: 1}");
			CHECK(error_at(yaml, e->path, &c, false));
			break;
		case CFG_T_IGNORED:
			yaml_with(yaml, sizeof yaml, e->path, "{a: [1, 2]}");
			CHECK(!error_at(yaml, e->path, &c, false));
			break;
		default:
			break;
		}
		if (test_checks_failed_ != before)
			fprintf(stderr, "  (table entry %s)\n", e->path);
	}
	free(doc);
}

int main(void)
{
	snprintf(scratch, sizeof scratch, "/tmp/hippo-test-config-XXXXXX");
	if (!mkdtemp(scratch)) {
		perror("mkdtemp");
		return 1;
	}
	RUN(cartpole_example_loads_with_values_and_defaults);
	RUN(defaults_match_the_documented_values);
	RUN(missing_ui_gives_the_default_controls);
	RUN(step_variants_are_counted_and_quoted_step_keys_accepted);
	RUN(original_format_config_loads);
	RUN(hippo_additions_load);
	RUN(unknown_keys_warn_with_their_position);
	RUN(wrong_types_are_errors);
	RUN(out_of_range_values_are_errors);
	RUN(missing_required_keys_are_errors);
	RUN(final_step_missing_is_an_error);
	RUN(step_file_not_found_is_an_error);
	RUN(step_file_names_with_paths_are_errors);
	RUN(bad_step_keys_gaps_and_duplicates_are_errors);
	RUN(project_id_must_match_the_pattern);
	RUN(events_outside_the_steps_are_errors);
	RUN(frame_rates_must_be_ordered);
	RUN(empty_action_space_is_an_error);
	RUN(game_step_needs_a_game);
	RUN(enums_and_ui_names_are_checked);
	RUN(duplicate_keys_are_errors);
	RUN(storage_and_env_rules);
	RUN(load_options_refuse_code_and_unknown_games);
	RUN(malformed_yaml_fixtures_give_positions);
	RUN(odd_documents_are_errors);
	RUN(ten_megabyte_file_is_rejected_before_reading);
	RUN(config_that_is_a_fifo_or_folder_is_rejected);
	RUN(deep_nesting_stops_at_the_limit);
	RUN(aliases_and_anchors_are_rejected);
	RUN(many_nodes_and_many_problems_are_bounded);
	RUN(every_table_entry_is_documented_defaulted_and_checked);
	char path[128];
	snprintf(path, sizeof path, "%s/config.yml", scratch);
	unlink(path);
	rmdir(scratch);
	return test_summary();
}
