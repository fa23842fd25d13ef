/* External environment processes: the pure-Python example served through the
 * blocking adapter, and processes that crash, hang, write garbage, report an
 * error or cannot start: each fails with a clear message and is reaped. */
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "test.h"
#include "env/external.h"

static char pure_env[1024], pure_env_dir[1024];

static int open_cmd(char *const *argv, int start_ms, int step_ms, const char *options,
		    void **inst, char *err, size_t errlen)
{
	json_t *o = options ? json_loads(options, 0, NULL) : NULL;
	char *spec = ext_env_spec(argv, NULL, o, start_ms, step_ms);
	json_decref(o);
	struct hippo_env_args args = {.id = "PureCartPole-v0", .options_json = spec};
	int rc = ext_env_ops.create(&args, inst, err, errlen);
	free(spec);
	return rc;
}

static void pure_python_env_resets_steps_and_renders(void)
{
	char *argv[] = {"/usr/bin/python3", pure_env, NULL};
	char err[256], info[256];
	void *inst = NULL;
	CHECK_INT(open_cmd(argv, 20000, 20000, NULL, &inst, err, sizeof err), 0);
	if (!inst) {
		fprintf(stderr, "create: %s\n", err);
		return;
	}
	const struct hippo_env_info *ei = ext_env_ops.info(inst);
	CHECK_STR(ei->id, "PureCartPole-v0");
	CHECK_INT(ei->action_space.n, 2);
	CHECK_STR(ei->action_space.action_names[1], "right");
	CHECK_INT(hippo_space_size(&ei->observation_space), 4);
	CHECK_INT(ei->meta.render_width, 600);
	CHECK_INT(ei->meta.render_height, 400);
	double obs[4], obs2[4];
	uint64_t seed = 7;
	CHECK_INT(ext_env_ops.reset(inst, &seed, obs, info, sizeof info, err, sizeof err), 0);
	CHECK(fabs(obs[0]) <= 0.05 && fabs(obs[3]) <= 0.05);
	CHECK_INT(ext_env_ops.reset(inst, &seed, obs2, info, sizeof info, err, sizeof err), 0);
	CHECK(memcmp(obs, obs2, sizeof obs) == 0); /* same seed, same start */
	struct hippo_step_result r;
	int steps = 0;
	double right = 1;
	do {
		CHECK_INT(ext_env_ops.step(inst, &right, obs, &r, info, sizeof info, err, sizeof err), 0);
		steps++;
	} while (!r.terminated && steps < 200);
	CHECK(r.terminated); /* always pushing right tips the pole over */
	CHECK_EXACT(r.reward, 1);
	CHECK(strstr(info, "\"steps\"") != NULL);
	static uint8_t rgb[600 * 400 * 3];
	CHECK_INT(ext_env_ops.render(inst, rgb, 600 * 3, err, sizeof err), 0);
	CHECK_INT(rgb[0], 255);                          /* white background */
	CHECK_INT(rgb[(300 * 600 + 5) * 3], 0);          /* the black track line at y=300 */
	int pid = ext_proc_pid(ext_env_proc(inst));
	ext_env_ops.destroy(inst);
	CHECK(kill(pid, 0) != 0); /* reaped: no such process */
}

static void expect_failure(char *const *argv, int start_ms, int step_ms, const char *options,
			   bool at_step, const char *needle)
{
	char err[256] = "";
	void *inst = NULL;
	int rc = open_cmd(argv, start_ms, step_ms, options, &inst, err, sizeof err);
	if (at_step) {
		CHECK_INT(rc, 0);
		if (rc)
			return;
		double obs[4], a = 0;
		struct hippo_step_result r;
		char info[64];
		rc = ext_env_ops.reset(inst, NULL, obs, info, sizeof info, err, sizeof err);
		while (rc == 0)
			rc = ext_env_ops.step(inst, &a, obs, &r, info, sizeof info, err, sizeof err);
		int pid = ext_proc_pid(ext_env_proc(inst));
		CHECK(pid <= 0);
		ext_env_ops.destroy(inst);
	}
	CHECK_INT(rc, -1);
	printf("  %s -> %s\n", argv[0], err);
	if (!strstr(err, needle))
		fprintf(stderr, "expected \"%s\" in \"%s\"\n", needle, err);
	CHECK(strstr(err, needle) != NULL);
}

static void crashing_process_reports_its_exit_status(void)
{
	char *argv[] = {"/bin/sh", "-c", "echo 'Traceback: boom' >&2; exit 3", NULL};
	expect_failure(argv, 5000, 5000, NULL, false, "exited with status 3");
}

static void hanging_process_hits_the_start_timeout(void)
{
	char *argv[] = {"/bin/sh", "-c", "exec sleep 30", NULL};
	time_t t0 = time(NULL);
	expect_failure(argv, 300, 300, NULL, false, "start timeout");
	CHECK(time(NULL) - t0 < 20); /* killed, not waited for */
}

static void garbage_output_is_a_protocol_error(void)
{
	char *argv[] = {"/bin/sh", "-c", "echo 'hello, I am not speaking the protocol'; sleep 30", NULL};
	expect_failure(argv, 5000, 5000, NULL, false, "bad magic");
}

static void missing_command_cannot_start(void)
{
	char *argv[] = {"/nonexistent/hippo-env", NULL};
	expect_failure(argv, 5000, 5000, NULL, false, "cannot start");
}

static void error_reply_ends_the_env_at_that_step(void)
{
	char *argv[] = {"/usr/bin/python3", pure_env, NULL};
	expect_failure(argv, 20000, 20000, "{\"fail_after\": 3}", true,
		       "reported an error: RuntimeError: deliberate failure at step 3");
}

static void hang_in_step_hits_the_step_timeout(void)
{
	/* a Python env whose step never returns */
	char *argv[] = {"/usr/bin/python3", "-c",
			"import sys, time; sys.path.insert(0, sys.argv[1]);"
			"import pure_env, hippo_env\n"
			"class Hang(pure_env.PureCartPole):\n"
			"    def step(self, a): time.sleep(60)\n"
			"hippo_env.serve(Hang())",
			pure_env_dir, NULL};
	expect_failure(argv, 20000, 400, NULL, true, "step timeout");
}

/* A process that leaves its action space undeclared (here as the empty box an
 * older helper sent) gets the study's trial.actionSpace as Discrete(n), so
 * its steps carry plain integers; without the study's names it fails. */
static const char legacy_env[] =
	"import sys; sys.path.insert(0, sys.argv[1] + '/..')\n"
	"import hippo_env\n"
	"ch = hippo_env.Channel(sys.stdin.buffer, sys.stdout.buffer)\n"
	"ch.read()\n"
	"ch.write({'type': 'hello', 'protocol': 1, 'role': 'env', 'env': {'id': 'Legacy-v0',"
	" 'action_space': {'kind': 'box', 'shape': [0]}}})\n"
	"while True:\n"
	"    m = ch.read()\n"
	"    if m is None or m[0]['type'] == 'close': break\n"
	"    t = m[0]['type']\n"
	"    ch.write({'type': t, 'observation': [], 'info': {'got': m[0].get('action')}})\n";

static void undeclared_action_space_is_the_study_action_space(void)
{
	char *argv[] = {"/usr/bin/python3", "-c", (char *)legacy_env, pure_env_dir, NULL};
	char *names[] = {"left", "right", "jump", NULL};
	struct ext_env_conf c = {.proc = {.argv = argv, .start_timeout_ms = 20000,
					  .step_timeout_ms = 20000},
				 .action_names = names};
	struct ext_env *x = NULL;
	char err[256];
	CHECK_INT(ext_env_start(&c, &x, err, sizeof err), 0);
	if (!x)
		return;
	CHECK_INT(ext_env_wait(x), 1);
	const struct hippo_env_info *ei = ext_env_info(x);
	CHECK(ei != NULL);
	if (ei) {
		CHECK_INT(ei->action_space.kind, HIPPO_SPACE_DISCRETE);
		CHECK_INT(ei->action_space.n, 3);
		CHECK_STR(ei->action_space.action_names[2], "jump");
		CHECK_INT(hippo_space_size(&ei->observation_space), 0);
		double a = 2;
		CHECK_INT(ext_env_begin_reset(x, NULL), 0);
		CHECK_INT(ext_env_wait(x), 1);
		CHECK_INT(ext_env_begin_step(x, &a), 0);
		CHECK_INT(ext_env_wait(x), 1);
		CHECK_STR(ext_env_info_json(x), "{\"got\":2}"); /* an integer, not [2] or [] */
	}
	ext_env_close(x);

	c.action_names = NULL;
	CHECK_INT(ext_env_start(&c, &x, err, sizeof err), 0);
	CHECK_INT(ext_env_wait(x), -1);
	printf("  no action space anywhere -> %s\n", ext_env_error(x));
	CHECK(strstr(ext_env_error(x), "declares no action space") != NULL);
	ext_env_close(x);
}

int main(void)
{
	const char *src = getenv("HIPPO_SRC");
	snprintf(pure_env, sizeof pure_env, "%s/clients/python/examples/pure_env.py",
		 src ? src : "../..");
	snprintf(pure_env_dir, sizeof pure_env_dir, "%s/clients/python/examples", src ? src : "../..");
	RUN(pure_python_env_resets_steps_and_renders);
	RUN(crashing_process_reports_its_exit_status);
	RUN(hanging_process_hits_the_start_timeout);
	RUN(garbage_output_is_a_protocol_error);
	RUN(missing_command_cannot_start);
	RUN(error_reply_ends_the_env_at_that_step);
	RUN(hang_in_step_hits_the_step_timeout);
	RUN(undeclared_action_space_is_the_study_action_space);
	return test_summary();
}
