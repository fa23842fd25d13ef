/* hippo render: resets an environment with a seed, applies actions, and
 * writes the final frame as PNG or JPEG (by the --out extension). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cli/commands.h"
#include "cli/envrun.h"
#include "render/encode.h"

static const char *o_seed, *o_actions, *o_options, *o_out;
static int o_steps = -1, o_quality = 90;

static const struct opt opts[] = {
	{"seed", OPT_STRING, &o_seed, "N", "reset(seed=N) (default: a random seed)", 0, 0},
	{"actions", OPT_STRING, &o_actions, "FILE", "actions to apply first, one per line", 0, 0},
	{"steps", OPT_INT, &o_steps, "K", "at most K steps (default: all actions in FILE, else 0)", 0,
	 100000000},
	{"out", OPT_STRING, &o_out, "FILE", "output image: .png, .jpg or .jpeg (required)", 0, 0},
	{"quality", OPT_INT, &o_quality, "Q", "JPEG quality 1..100", 1, 100},
	{"options", OPT_STRING, &o_options, "JSON", "environment options as a JSON object", 0, 0},
	{NULL, 0, NULL, NULL, NULL, 0, 0},
};

static const struct opt_cmd spec = {
	.name = "render",
	.args = "ENV_ID",
	.summary = "render an environment's frame after a seed and actions to a PNG or JPEG file",
	.min_pos = 1,
	.max_pos = 1,
	.opts = opts,
};

static int run(int argc, char **argv)
{
	int npos;
	o_seed = o_actions = o_options = o_out = NULL;
	o_steps = -1;
	o_quality = 90;
	int rc = opt_parse(&spec, argc, argv, &npos);
	if (rc != OPT_OK)
		return rc;
	if (!o_out) {
		fprintf(stderr, "hippo render: --out FILE is required (.png, .jpg or .jpeg)\n");
		return 2;
	}
	const char *dot = strrchr(o_out, '.');
	if (!dot || (strcasecmp(dot, ".png") != 0 && strcasecmp(dot, ".jpg") != 0 &&
		     strcasecmp(dot, ".jpeg") != 0)) {
		fprintf(stderr, "hippo render: %s: unknown image type (use .png, .jpg or .jpeg)\n",
			o_out);
		return 2;
	}
	struct envrun r;
	if (envrun_open(&r, "render", argv[1], o_options, o_seed, o_actions) != 0)
		return 1;
	const struct hippo_env_info *in = r.env.info;
	int w = in->meta.render_width, h = in->meta.render_height, status = 1;
	size_t adim = hippo_space_size(&in->action_space);
	double *action = calloc(adim, sizeof *action);
	uint8_t *px = NULL;
	if (!r.env.ops->render || w <= 0 || h <= 0 || w > 16384 || h > 16384) {
		fprintf(stderr, "hippo render: %s has no pictures\n", in->id);
		goto out;
	}
	px = malloc((size_t)w * (size_t)h * 3);
	if (!px || !action) {
		fprintf(stderr, "hippo render: out of memory\n");
		goto out;
	}
	if (env_reset(&r.env, r.has_seed ? &r.seed : NULL, NULL, 0) != 0) {
		fprintf(stderr, "hippo render: reset: %s\n", r.env.err);
		goto out;
	}
	size_t limit = r.has_actions ? r.actions.n : 0;
	if (o_steps >= 0)
		limit = (size_t)o_steps;
	for (size_t k = 0; k < limit; k++) {
		envrun_action(&r, k, action);
		struct hippo_step_result res;
		if (env_step(&r.env, action, &res, NULL, 0) != 0) {
			char where[300];
			envrun_where(&r, k, where, sizeof where);
			fprintf(stderr, "hippo render: %s: %s\n", where, r.env.err);
			goto out;
		}
		if (res.terminated || res.truncated)
			break;
	}
	if (env_render(&r.env, px, (size_t)w * 3) != 0) {
		fprintf(stderr, "hippo render: %s\n", r.env.err);
		goto out;
	}
	char err[512];
	if (enc_write_file(o_out, px, w, h, (size_t)w * 3, o_quality, err, sizeof err) != 0) {
		fprintf(stderr, "hippo render: %s\n", err);
		goto out;
	}
	status = 0;
out:
	free(px);
	free(action);
	envrun_close(&r);
	return status;
}

const struct command cmd_render = {.spec = &spec, .run = run};
