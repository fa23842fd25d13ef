/* hippo envs: lists the built-in environments with their spaces. */
#include <math.h>
#include <stdio.h>

#include "cli/commands.h"
#include "env/env.h"

static bool json_out;

static const struct opt opts[] = {
	{"json", OPT_FLAG, &json_out, NULL, "print one JSON object per environment", 0, 0},
	{NULL, 0, NULL, NULL, NULL, 0, 0},
};

static const struct opt_cmd spec = {
	.name = "envs",
	.args = "",
	.summary = "list the built-in environments (Gymnasium ids) with their spaces",
	.min_pos = 0,
	.max_pos = 0,
	.opts = opts,
};

static const char *dtype_name(enum hippo_dtype t)
{
	switch (t) {
	case HIPPO_DTYPE_FLOAT32: return "float32";
	case HIPPO_DTYPE_FLOAT64: return "float64";
	case HIPPO_DTYPE_UINT8: return "uint8";
	case HIPPO_DTYPE_INT64: return "int64";
	}
	return "?";
}

/* Prints a bound as JSON (null for infinities) or text. */
static void bound(FILE *f, double v, bool json)
{
	if (isfinite(v))
		fprintf(f, "%.9g", v);
	else if (isnan(v))
		fputs(json ? "null" : "none", f);
	else
		fprintf(f, json ? "null" : "%sinf", v < 0 ? "-" : "");
}

static void space_text(FILE *f, const struct hippo_space *s)
{
	if (s->kind == HIPPO_SPACE_DISCRETE) {
		fprintf(f, "Discrete(%lld", (long long)s->n);
		if (s->start)
			fprintf(f, ", start=%lld", (long long)s->start);
		fprintf(f, ")");
		if (s->action_names) {
			fprintf(f, " [");
			for (int64_t i = 0; i < s->n; i++)
				fprintf(f, "%s%lld=%s", i ? ", " : "", (long long)(s->start + i),
					s->action_names[i]);
			fprintf(f, "]");
		}
		return;
	}
	fprintf(f, "Box(");
	for (int i = 0; i < s->ndim; i++)
		fprintf(f, "%s%d", i ? "x" : "", s->shape[i]);
	fprintf(f, " %s", dtype_name(s->dtype));
	size_t n = hippo_space_size(s);
	if (s->low && s->high && n <= 8) {
		fprintf(f, " low=[");
		for (size_t i = 0; i < n; i++) {
			fprintf(f, i ? ", " : "");
			bound(f, s->low[i], false);
		}
		fprintf(f, "] high=[");
		for (size_t i = 0; i < n; i++) {
			fprintf(f, i ? ", " : "");
			bound(f, s->high[i], false);
		}
		fprintf(f, "]");
	}
	fprintf(f, ")");
}

static void json_string(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (c == '"' || c == '\\')
			fprintf(f, "\\%c", c);
		else if (c < 0x20)
			fprintf(f, "\\u%04x", c);
		else
			fputc(c, f);
	}
	fputc('"', f);
}

static void space_json(FILE *f, const struct hippo_space *s)
{
	if (s->kind == HIPPO_SPACE_DISCRETE) {
		fprintf(f, "{\"type\":\"Discrete\",\"n\":%lld,\"start\":%lld", (long long)s->n,
			(long long)s->start);
		if (s->action_names) {
			fprintf(f, ",\"action_names\":[");
			for (int64_t i = 0; i < s->n; i++) {
				fprintf(f, i ? "," : "");
				json_string(f, s->action_names[i]);
			}
			fprintf(f, "]");
		}
		fprintf(f, "}");
		return;
	}
	fprintf(f, "{\"type\":\"Box\",\"dtype\":\"%s\",\"shape\":[", dtype_name(s->dtype));
	for (int i = 0; i < s->ndim; i++)
		fprintf(f, "%s%d", i ? "," : "", s->shape[i]);
	fprintf(f, "]");
	size_t n = hippo_space_size(s);
	if (s->low && s->high && n <= 4096) {
		fprintf(f, ",\"low\":[");
		for (size_t i = 0; i < n; i++) {
			fprintf(f, i ? "," : "");
			bound(f, s->low[i], true);
		}
		fprintf(f, "],\"high\":[");
		for (size_t i = 0; i < n; i++) {
			fprintf(f, i ? "," : "");
			bound(f, s->high[i], true);
		}
		fprintf(f, "]");
	}
	fprintf(f, "}");
}

static int run(int argc, char **argv)
{
	int npos;
	json_out = false;
	int rc = opt_parse(&spec, argc, argv, &npos);
	if (rc != OPT_OK)
		return rc;
	for (size_t i = 0; i < env_builtin_count(); i++) {
		const struct hippo_env_ops *ops = env_builtin(i);
		struct env e;
		char err[256];
		if (env_open(&e, ops->id, NULL, err, sizeof err) != 0) {
			fprintf(stderr, "hippo envs: %s\n", err);
			return 1;
		}
		const struct hippo_env_info *in = e.info;
		if (json_out) {
			printf("{\"id\":");
			json_string(stdout, ops->id);
			printf(",\"summary\":");
			json_string(stdout, ops->summary ? ops->summary : "");
			printf(",\"action_space\":");
			space_json(stdout, &in->action_space);
			printf(",\"observation_space\":");
			space_json(stdout, &in->observation_space);
			printf(",\"max_episode_steps\":%d,\"reward_threshold\":", in->meta.max_episode_steps);
			bound(stdout, in->meta.reward_threshold, true);
			printf(",\"render_fps\":%d,\"render_width\":%d,\"render_height\":%d}\n",
			       in->meta.render_fps, in->meta.render_width, in->meta.render_height);
		} else {
			printf("%s\n  %s\n  actions:      ", ops->id, ops->summary ? ops->summary : "");
			space_text(stdout, &in->action_space);
			printf("\n  observations: ");
			space_text(stdout, &in->observation_space);
			printf("\n  max_episode_steps %d, reward_threshold ", in->meta.max_episode_steps);
			bound(stdout, in->meta.reward_threshold, false);
			printf(", render %dx%d at %d fps\n", in->meta.render_width,
			       in->meta.render_height, in->meta.render_fps);
		}
		env_close(&e);
	}
	return 0;
}

const struct command cmd_envs = {.spec = &spec, .run = run};
