/* bench env: environment throughput. Measures, for one environment,
 *   - steps/s through the host wrapper (env_step: action checks + TimeLimit),
 *   - steps/s calling the environment's step() directly,
 *   - frames/s of render() alone and of render() + JPEG encoding at the
 *     environment's natural size (one reused encoder, as the trial server does).
 * Episodes are reset (continuing the generator) whenever they end. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "bench/bench.h"
#include "core/clock.h"
#include "core/opt.h"
#include "env/env.h"
#include "render/encode.h"

static double o_seconds = 2.0;
static int o_quality = 80;

static const struct opt opts[] = {
	{"seconds", OPT_DOUBLE, &o_seconds, "S", "time spent on each measurement", 0.05, 600},
	{"quality", OPT_INT, &o_quality, "Q", "JPEG quality", 1, 100},
	{NULL, 0, NULL, NULL, NULL, 0, 0},
};

static const struct opt_cmd spec = {
	.name = "bench env",
	.args = "ENV_ID",
	.summary = "environment steps/s and render+JPEG frames/s on one core",
	.min_pos = 1,
	.max_pos = 1,
	.opts = opts,
};

/* Rates are per second of this thread's CPU time (what one core delivers,
 * even on a shared machine); the loops run for o_seconds of wall time. */
static double now(void)
{
	return clock_mono_s();
}

static double cpu(void)
{
	return clock_thread_cpu_s();
}

/* A varied but cheap action for step K. */
static void pick_action(const struct hippo_space *s, unsigned long k, double *a)
{
	if (s->kind == HIPPO_SPACE_DISCRETE) {
		a[0] = (double)(s->start + (int64_t)((k * 2654435761u >> 7) % (uint64_t)s->n));
		return;
	}
	size_t n = hippo_space_size(s);
	for (size_t i = 0; i < n; i++)
		a[i] = (s->low && s->high && isfinite(s->low[i]) && isfinite(s->high[i]))
			       ? s->low[i] + (s->high[i] - s->low[i]) * ((k * 7 + i) % 16) / 15.0
			       : 0.0;
}

struct actions {
	double *v; /* 1024 precomputed actions */
	size_t dim;
};

/* Steps/s through env_step (HOST) or ops->step. */
static double steps_per_s(struct env *e, const struct actions *acts, int host, double seconds)
{
	struct hippo_step_result res;
	char info[64];
	int limit = e->info->meta.max_episode_steps > 0 ? e->info->meta.max_episode_steps : 1000;
	unsigned long steps = 0;
	double t0 = now(), c0 = cpu(), t;
	do {
		for (int i = 0; i < 65536; i++, steps++) {
			const double *a = acts->v + (steps & 1023) * acts->dim;
			int done;
			if (host) {
				if (env_step(e, a, &res, info, sizeof info) != 0)
					return -1;
				done = res.terminated || res.truncated;
			} else {
				if (e->ops->step(e->inst, a, e->obs, &res, info, sizeof info, e->err,
						 sizeof e->err) != 0)
					return -1;
				done = res.terminated || res.truncated || ++e->elapsed_steps >= limit;
			}
			if (done && env_reset(e, NULL, NULL, 0) != 0)
				return -1;
		}
		t = now();
	} while (t - t0 < seconds);
	return steps / (cpu() - c0);
}

static int run(int argc, char **argv)
{
	int npos;
	o_seconds = 2.0;
	o_quality = 80;
	int rc = opt_parse(&spec, argc, argv, &npos);
	if (rc != OPT_OK)
		return rc;
	struct env e;
	char err[512];
	if (env_open(&e, argv[1], NULL, err, sizeof err) != 0) {
		fprintf(stderr, "hippo bench env: %s\n", err);
		return 1;
	}
	int status = 1;
	uint64_t seed = 0;
	const struct hippo_env_info *in = e.info;
	struct actions acts = {NULL, hippo_space_size(&in->action_space)};
	int w = in->meta.render_width, h = in->meta.render_height;
	uint8_t *px = NULL;
	struct enc_jpeg *jpg = NULL;
	acts.v = malloc(1024 * acts.dim * sizeof *acts.v);
	if (!acts.v)
		goto out;
	for (unsigned long k = 0; k < 1024; k++)
		pick_action(&in->action_space, k, acts.v + k * acts.dim);
	env_reset(&e, &seed, NULL, 0);

	printf("hippo bench env %s (%.2f s per measurement; rates per CPU-second of one core)\n",
	       in->id, o_seconds);
	double host = steps_per_s(&e, &acts, 1, o_seconds);
	env_reset(&e, &seed, NULL, 0);
	e.elapsed_steps = 0;
	double raw = steps_per_s(&e, &acts, 0, o_seconds);
	if (host < 0 || raw < 0)
		goto out;
	printf("  %-34s %12.2f M steps/s\n", "step via env_step (checks+TimeLimit)", host / 1e6);
	printf("  %-34s %12.2f M steps/s\n", "step via ops->step (raw)", raw / 1e6);

	if (!e.ops->render || w <= 0 || h <= 0) {
		printf("  (no render)\n");
		status = 0;
		goto out;
	}
	px = malloc((size_t)w * h * 3);
	jpg = enc_jpeg_new(o_quality);
	if (!px || !jpg)
		goto out;
	env_reset(&e, &seed, NULL, 0);
	struct hippo_step_result res;
	unsigned long frames = 0;
	double t0 = now(), c0 = cpu(), t;
	do {
		for (int i = 0; i < 64; i++, frames++) {
			if (env_step(&e, acts.v + (frames & 1023) * acts.dim, &res, NULL, 0) != 0 ||
			    ((res.terminated || res.truncated) && env_reset(&e, NULL, NULL, 0) != 0) ||
			    env_render(&e, px, (size_t)w * 3) != 0)
				goto out;
		}
		t = now();
	} while (t - t0 < o_seconds);
	double render_fps = frames / (cpu() - c0);

	frames = 0;
	size_t bytes = 0, len = 0;
	t0 = now();
	c0 = cpu();
	do {
		for (int i = 0; i < 16; i++, frames++) {
			if (env_step(&e, acts.v + (frames & 1023) * acts.dim, &res, NULL, 0) != 0 ||
			    ((res.terminated || res.truncated) && env_reset(&e, NULL, NULL, 0) != 0) ||
			    env_render(&e, px, (size_t)w * 3) != 0 ||
			    !enc_jpeg_encode(jpg, px, w, h, (size_t)w * 3, &len))
				goto out;
			bytes += len;
		}
		t = now();
	} while (t - t0 < o_seconds);
	double jpeg_fps = frames / (cpu() - c0);
	printf("  %-34s %12.0f frames/s  (%dx%d)\n", "step + render", render_fps, w, h);
	printf("  %-34s %12.0f frames/s  (quality %d, %.1f KB/frame, %.3f ms/frame)\n",
	       "step + render + JPEG", jpeg_fps, o_quality, bytes / (double)frames / 1024.0,
	       1000.0 / jpeg_fps);
	status = 0;
out:
	if (status)
		fprintf(stderr, "hippo bench env: failed: %s\n", e.err[0] ? e.err : "out of memory or encoder error");
	enc_jpeg_free(jpg);
	free(px);
	free(acts.v);
	env_close(&e);
	return status;
}

const struct bench_kind bench_env = {"env", "environment steps/s and render+JPEG frames/s", run};
