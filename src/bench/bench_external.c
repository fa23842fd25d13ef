/* bench external: the cost of an environment served by a child process.
 * Starts P processes (default: the pure-Python example, 600x400 frames),
 * keeps one step request outstanding on each (every reply carries the
 * observation and a raw RGB frame), and reports frames/s per process and in
 * total, and hippo's own CPU time per frame (pipe I/O, decoding, copying). */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench/bench.h"
#include "core/clock.h"
#include "core/opt.h"
#include "env/external.h"

#define BENCH_MAX_PROCS 64

static double o_seconds = 3.0;
static int o_procs = 1;
static int o_width = 600, o_height = 400;

static const struct opt opts[] = {
	{"seconds", OPT_DOUBLE, &o_seconds, "S", "measurement time", 0.1, 600},
	{"processes", OPT_INT, &o_procs, "P", "processes stepped side by side", 1, BENCH_MAX_PROCS},
	{"width", OPT_INT, &o_width, "W", "frame width asked of the example env", 16, 4096},
	{"height", OPT_INT, &o_height, "H", "frame height asked of the example env", 16, 4096},
	{NULL, 0, NULL, NULL, NULL, 0, 0},
};

static const struct opt_cmd spec = {
	.name = "bench external",
	.args = "[-- COMMAND...]",
	.summary = "frames/s of external environment processes (default: the pure-Python example)",
	.min_pos = 0,
	.max_pos = -1,
	.opts = opts,
};

static int run(int argc, char **argv)
{
	int npos, rc = 1;
	int o = opt_parse(&spec, argc, argv, &npos);
	if (o != OPT_OK)
		return o;
	char *dflt[] = {"/usr/bin/python3", "clients/python/examples/pure_env.py", NULL};
	char **cmd = npos > 0 ? argv + 1 : dflt;
	if (npos > 0)
		argv[1 + npos] = NULL;
	char options[96], err[256];
	snprintf(options, sizeof options, "{\"width\":%d,\"height\":%d}", o_width, o_height);
	struct ext_env *envs[BENCH_MAX_PROCS] = {0};
	long frames[BENCH_MAX_PROCS] = {0};
	int n = o_procs;
	for (int i = 0; i < n; i++) {
		struct ext_env_conf c = {.proc = {.argv = cmd, .step_timeout_ms = 10000},
					 .id = "PureCartPole-v0",
					 .options_json = npos > 0 ? NULL : options};
		if (ext_env_start(&c, &envs[i], err, sizeof err) < 0 || ext_env_wait(envs[i]) < 0) {
			fprintf(stderr, "hippo bench external: %s\n",
				envs[i] ? ext_env_error(envs[i]) : err);
			goto out;
		}
		if (ext_env_begin_reset(envs[i], NULL) < 0 || ext_env_wait(envs[i]) < 0) {
			fprintf(stderr, "hippo bench external: reset: %s\n", ext_env_error(envs[i]));
			goto out;
		}
	}
	const struct hippo_env_info *info = ext_env_info(envs[0]);
	printf("command: %s ... (%d process%s), frames %dx%d RGB (%zu bytes)\n", cmd[0], n,
	       n == 1 ? "" : "es", info->meta.render_width, info->meta.render_height,
	       (size_t)info->meta.render_width * info->meta.render_height * 3);
	double t0 = clock_mono_s(), c0 = clock_thread_cpu_s();
	unsigned long k = 0;
	double action = 0;
	for (int i = 0; i < n; i++) {
		action = (double)(k++ & 1);
		ext_env_begin_step(envs[i], &action);
	}
	while (clock_mono_s() - t0 < o_seconds) {
		struct pollfd fds[BENCH_MAX_PROCS * 3];
		int nf = 0;
		for (int i = 0; i < n; i++)
			nf += ext_proc_pollfds(ext_env_proc(envs[i]), fds + nf);
		if (poll(fds, (nfds_t)nf, 100) < 0 && errno != EINTR)
			break;
		for (int i = 0; i < n; i++) {
			int r = ext_env_poll(envs[i]);
			if (r < 0) {
				fprintf(stderr, "hippo bench external: %s\n", ext_env_error(envs[i]));
				goto out;
			}
			if (r == 0)
				continue;
			frames[i]++;
			const struct hippo_step_result *res = ext_env_result(envs[i]);
			action = (double)(k++ % 3 == 0);
			if (res->terminated || res->truncated)
				ext_env_begin_reset(envs[i], NULL);
			else
				ext_env_begin_step(envs[i], &action);
		}
	}
	double wall = clock_mono_s() - t0, cpu = clock_thread_cpu_s() - c0;
	long total = 0;
	for (int i = 0; i < n; i++) {
		printf("process %d: %.0f frames/s\n", i + 1, frames[i] / wall);
		total += frames[i];
	}
	printf("total: %.0f frames/s over %.1f s; hippo's side: %.1f us CPU per frame\n",
	       total / wall, wall, total ? cpu * 1e6 / total : 0.0);
	rc = 0;
out:
	for (int i = 0; i < n; i++)
		if (envs[i])
			ext_env_close(envs[i]);
	return rc;
}

const struct bench_kind bench_external = {
	.name = "external",
	.summary = "frames/s of external environment processes and hippo's CPU per frame",
	.run = run,
};
