/* ext_env: an environment served by a child process (external.h), with an
 * asynchronous interface for the trial loop and a blocking hippo_env_ops
 * adapter on top of it. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <spng.h>
#include <turbojpeg.h>

#include "env/env.h"
#include "env/external.h"
#include "env/external_proto.h"

#define EXT_INFO_MAX 4096

enum ext_op { OP_NONE = 0, OP_HELLO, OP_RESET, OP_STEP };

struct ext_env {
	struct ext_proc *proc;
	enum ext_op op;
	bool ready;                 /* hello completed */
	char *want_id;
	json_t *default_action;     /* Discrete(n) from the study's action names, or NULL */
	struct xp_env_info info;
	double *obs;
	size_t obs_n;
	struct hippo_step_result res;
	char info_json[EXT_INFO_MAX];
	uint8_t *rgb;               /* last frame, w*h*3 */
	size_t rgb_cap;
	int fw, fh;
	bool have_frame;
	tjhandle tj;
	bool async;                 /* ops_step returns at once while the reply is pending */
	bool step_pending;          /* a step was asked through ops_step and not yet returned */
	bool result_ready;          /* its reply came (ext_env_step_poll) */
	char err[256];
};

static void set_err(struct ext_env *e, const char *msg)
{
	snprintf(e->err, sizeof e->err, "%s", msg);
	ext_proc_fail(e->proc, msg);
}

/* {"kind":"discrete","n":N,"names":[...]} for the NULL-terminated NAMES. */
static json_t *discrete_of(char *const *names)
{
	json_t *list = json_array();
	for (size_t i = 0; list && names[i]; i++)
		if (json_array_append_new(list, json_string(names[i])) < 0) {
			json_decref(list);
			return NULL;
		}
	return list ? json_pack("{s:s, s:I, s:o}", "kind", "discrete", "n",
				(json_int_t)json_array_size(list), "names", list)
		    : NULL;
}

/* Whether the process left its action space undeclared: absent, null, or a
 * box of no values (what a helper sends for an environment without one). */
static bool space_undeclared(json_t *s)
{
	if (!s || json_is_null(s))
		return true;
	json_t *shape = json_object_get(s, "shape");
	const char *kind = json_string_value(json_object_get(s, "kind"));
	if (!kind || strcmp(kind, "box") != 0 || !json_is_array(shape))
		return false;
	size_t i;
	json_t *v;
	json_array_foreach(shape, i, v)
		if (json_is_integer(v) && json_integer_value(v) == 0)
			return true;
	return false;
}

int ext_env_start(const struct ext_env_conf *c, struct ext_env **out, char *err, size_t errlen)
{
	json_t *options = NULL;
	if (c->options_json) {
		json_error_t je;
		options = json_loads(c->options_json, 0, &je);
		if (!json_is_object(options)) {
			snprintf(err, errlen, "env options must be a JSON object");
			json_decref(options);
			return -1;
		}
	}
	struct ext_env *e = calloc(1, sizeof *e);
	if (!e || (c->id && !(e->want_id = strdup(c->id))) ||
	    (c->action_names && c->action_names[0] &&
	     !(e->default_action = discrete_of(c->action_names)))) {
		if (e)
			free(e->want_id);
		free(e);
		json_decref(options);
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	json_t *hello = json_pack("{s:s, s:i, s:s, s:s?, s:o}", "type", "hello", "protocol",
				  (int)XP_VERSION, "role", "env", "id", c->id, "options",
				  options ? options : json_object());
	if (ext_proc_spawn(&c->proc, hello, &e->proc, err, errlen) < 0) {
		json_decref(e->default_action);
		free(e->want_id);
		free(e);
		return -1;
	}
	e->op = OP_HELLO;
	snprintf(e->info_json, sizeof e->info_json, "{}");
	*out = e;
	return 0;
}

/* Decodes the reply's frame into e->rgb. */
static int take_frame(struct ext_env *e, json_t *msg)
{
	char perr[200], m[256];
	size_t plen;
	const uint8_t *payload = ext_proc_payload(e->proc, &plen);
	struct xp_frame f;
	int rc = xp_frame_parse(msg, plen, &f, perr, sizeof perr);
	if (rc <= 0) { /* no frame: the previous one stays */
		if (rc < 0) {
			snprintf(m, sizeof m, "protocol error: %s", perr);
			set_err(e, m);
		}
		return rc;
	}
	const struct hippo_env_meta *meta = &e->info.info.meta;
	if (meta->render_width && (f.width != meta->render_width || f.height != meta->render_height)) {
		snprintf(m, sizeof m, "frame of %dx%d where hello announced %dx%d", f.width, f.height,
			 meta->render_width, meta->render_height);
		set_err(e, m);
		return -1;
	}
	size_t need = (size_t)f.width * (size_t)f.height * 3;
	if (need > e->rgb_cap) {
		uint8_t *p = realloc(e->rgb, need);
		if (!p) {
			set_err(e, "out of memory");
			return -1;
		}
		e->rgb = p;
		e->rgb_cap = need;
	}
	if (f.format == XP_FRAME_RGB) {
		memcpy(e->rgb, payload, need);
	} else if (f.format == XP_FRAME_JPEG) {
		if (!e->tj && !(e->tj = tjInitDecompress())) {
			set_err(e, "cannot start the JPEG decoder");
			return -1;
		}
		int w, h, sub, cs;
		if (tjDecompressHeader3(e->tj, payload, (unsigned long)plen, &w, &h, &sub, &cs) ||
		    w != f.width || h != f.height ||
		    tjDecompress2(e->tj, payload, (unsigned long)plen, e->rgb, w, w * 3, h, TJPF_RGB,
				  0)) {
			set_err(e, "protocol error: the JPEG frame does not decode to its announced size");
			return -1;
		}
	} else {
		spng_ctx *ctx = spng_ctx_new(0);
		struct spng_ihdr ih;
		size_t outsz;
		int bad = !ctx || spng_set_png_buffer(ctx, payload, plen) ||
			  spng_set_image_limits(ctx, 8192, 8192) || spng_get_ihdr(ctx, &ih) ||
			  (int)ih.width != f.width || (int)ih.height != f.height ||
			  spng_decoded_image_size(ctx, SPNG_FMT_RGB8, &outsz) || outsz != need ||
			  spng_decode_image(ctx, e->rgb, need, SPNG_FMT_RGB8, 0);
		spng_ctx_free(ctx);
		if (bad) {
			set_err(e, "protocol error: the PNG frame does not decode to its announced size");
			return -1;
		}
	}
	e->fw = f.width;
	e->fh = f.height;
	e->have_frame = true;
	return 1;
}

static int finish_hello(struct ext_env *e, json_t *msg)
{
	char perr[220], m[256];
	json_t *env = json_object_get(msg, "env");
	if (json_is_object(env) && space_undeclared(json_object_get(env, "action_space"))) {
		if (!e->default_action) {
			set_err(e, "the environment declares no action space and the study has no "
				   "trial.actionSpace to take it from");
			return -1;
		}
		json_object_set(env, "action_space", e->default_action);
	}
	if (json_is_object(env) && json_is_null(json_object_get(env, "observation_space")))
		json_object_del(env, "observation_space");
	if (json_is_object(env) && !json_object_get(env, "observation_space"))
		json_object_set_new(env, "observation_space",
				    json_pack("{s:s, s:[i]}", "kind", "box", "shape", 0));
	if (xp_env_info_parse(env, e->want_id, &e->info, perr, sizeof perr) < 0) {
		snprintf(m, sizeof m, "protocol error: %s", perr);
		set_err(e, m);
		return -1;
	}
	e->obs_n = hippo_space_size(&e->info.info.observation_space);
	e->obs = calloc(e->obs_n ? e->obs_n : 1, sizeof *e->obs);
	if (!e->obs) {
		set_err(e, "out of memory");
		return -1;
	}
	e->ready = true;
	return 0;
}

static int finish_result(struct ext_env *e, json_t *msg, bool step)
{
	char perr[200], m[256];
	if (xp_numbers(json_object_get(msg, "observation"), e->obs, e->obs_n, perr, sizeof perr) <
	    0) {
		snprintf(m, sizeof m, "protocol error: observation: %s", perr);
		set_err(e, m);
		return -1;
	}
	memset(&e->res, 0, sizeof e->res);
	if (step) {
		json_t *r = json_object_get(msg, "reward");
		if (r && !json_is_number(r) && !json_is_null(r)) {
			set_err(e, "protocol error: \"reward\" must be a number");
			return -1;
		}
		e->res.reward = json_is_number(r) ? json_number_value(r) : 0;
		e->res.terminated = json_is_true(json_object_get(msg, "terminated"));
		e->res.truncated = json_is_true(json_object_get(msg, "truncated"));
	}
	if (xp_info_text(msg, e->info_json, sizeof e->info_json, perr, sizeof perr) < 0) {
		snprintf(m, sizeof m, "protocol error: %s", perr);
		set_err(e, m);
		return -1;
	}
	return take_frame(e, msg) < 0 ? -1 : 0;
}

int ext_env_poll(struct ext_env *e)
{
	enum ext_state st = ext_proc_progress(e->proc);
	if (st == EXT_FAILED) {
		if (!e->err[0])
			snprintf(e->err, sizeof e->err, "%s", ext_proc_error(e->proc));
		return -1;
	}
	if (st != EXT_IDLE || e->op == OP_NONE)
		return 0;
	json_t *msg = ext_proc_reply(e->proc);
	const char *type = json_string_value(json_object_get(msg, "type"));
	static const char *const expect[] = {"", "hello", "reset", "step"};
	enum ext_op op = e->op;
	e->op = OP_NONE;
	if (!type || strcmp(type, expect[op]) != 0) {
		char m[160];
		snprintf(m, sizeof m, "protocol error: expected a \"%s\" reply, got \"%.40s\"",
			 expect[op], type ? type : "");
		set_err(e, m);
		return -1;
	}
	int rc = op == OP_HELLO ? finish_hello(e, msg) : finish_result(e, msg, op == OP_STEP);
	return rc < 0 ? -1 : 1;
}

int ext_env_wait(struct ext_env *e)
{
	int rc;
	while ((rc = ext_env_poll(e)) == 0) {
		if (e->op == OP_NONE)
			return 1;
		ext_proc_wait(e->proc);
	}
	return rc;
}

bool ext_env_busy(const struct ext_env *e)
{
	return e->op != OP_NONE;
}

const struct hippo_env_info *ext_env_info(const struct ext_env *e)
{
	return e->ready ? &e->info.info : NULL;
}

int ext_env_begin_reset(struct ext_env *e, const uint64_t *seed)
{
	if (!e->ready || e->op != OP_NONE)
		return -1;
	json_t *m = json_pack("{s:s, s:b}", "type", "reset", "render", 1);
	if (m && seed) /* JSON integers are signed 64-bit: larger seeds would wrap */
		json_object_set_new(m, "seed", json_integer((json_int_t)(*seed & INT64_MAX)));
	if (ext_proc_send(e->proc, m, true) < 0)
		return -1;
	e->op = OP_RESET;
	return 0;
}

int ext_env_begin_step(struct ext_env *e, const double *action)
{
	const struct hippo_space *as = &e->info.info.action_space;
	if (!e->ready || e->op != OP_NONE)
		return -1;
	json_t *a;
	if (as->kind == HIPPO_SPACE_DISCRETE) {
		a = json_integer((json_int_t)action[0]);
	} else {
		size_t n = hippo_space_size(as);
		a = json_array();
		for (size_t i = 0; i < n; i++)
			json_array_append_new(a, json_real(isfinite(action[i]) ? action[i] : 0));
	}
	json_t *m = json_pack("{s:s, s:o, s:b}", "type", "step", "action", a, "render", 1);
	if (ext_proc_send(e->proc, m, true) < 0)
		return -1;
	e->op = OP_STEP;
	return 0;
}

const double *ext_env_obs(const struct ext_env *e)
{
	return e->obs;
}

const struct hippo_step_result *ext_env_result(const struct ext_env *e)
{
	return &e->res;
}

const char *ext_env_info_json(const struct ext_env *e)
{
	return e->info_json;
}

const uint8_t *ext_env_frame(const struct ext_env *e, int *w, int *h)
{
	if (!e->have_frame)
		return NULL;
	*w = e->fw;
	*h = e->fh;
	return e->rgb;
}

const char *ext_env_error(const struct ext_env *e)
{
	return e->err[0] ? e->err : ext_proc_error(e->proc);
}

struct ext_proc *ext_env_proc(struct ext_env *e)
{
	return e->proc;
}

void ext_env_close(struct ext_env *e)
{
	if (!e)
		return;
	ext_proc_close(e->proc);
	xp_env_info_free(&e->info);
	if (e->tj)
		tjDestroy(e->tj);
	free(e->obs);
	free(e->rgb);
	free(e->want_id);
	json_decref(e->default_action);
	free(e);
}

/* ---- the blocking adapter ---- */

char *ext_env_spec(char *const *command, const char *cwd, json_t *options, int start_timeout_ms,
		   int step_timeout_ms)
{
	json_t *cmd = json_array();
	for (size_t i = 0; command && command[i]; i++)
		json_array_append_new(cmd, json_string(command[i]));
	json_t *j = json_pack("{s:o, s:O?, s:s?, s:i, s:i}", "command", cmd, "options", options,
			      "cwd", cwd, "startTimeoutMs", start_timeout_ms, "stepTimeoutMs",
			      step_timeout_ms);
	char *s = j ? json_dumps(j, JSON_COMPACT) : NULL;
	json_decref(j);
	return s;
}

/* An instance started with ext_env_start, handed to the next ops_create on
 * this thread by ext_env_open_started. */
static _Thread_local struct ext_env *adopt;

static int ops_create(const struct hippo_env_args *args, void **out, char *err, size_t errlen)
{
	json_error_t je;
	if (adopt) {
		*out = adopt;
		adopt = NULL;
		return 0;
	}
	json_t *spec = args->options_json ? json_loads(args->options_json, 0, &je) : NULL;
	json_t *cmd = json_object_get(spec, "command");
	char **argv = NULL, *opts = NULL;
	int rc = -1;
	if (!json_is_array(cmd) || json_array_size(cmd) == 0 || json_array_size(cmd) > 256) {
		snprintf(err, errlen, "an external environment needs \"command\": a list of strings");
		goto out;
	}
	argv = calloc(json_array_size(cmd) + 1, sizeof *argv);
	if (!argv)
		goto oom;
	for (size_t i = 0; i < json_array_size(cmd); i++) {
		argv[i] = (char *)json_string_value(json_array_get(cmd, i));
		if (!argv[i]) {
			snprintf(err, errlen, "\"command\" must be a list of strings");
			goto out;
		}
	}
	json_t *o = json_object_get(spec, "options");
	if (o && !json_is_null(o) && !(opts = json_dumps(o, JSON_COMPACT)))
		goto oom;
	struct ext_env_conf c = {
		.proc = {.argv = argv,
			 .cwd = json_string_value(json_object_get(spec, "cwd")),
			 .start_timeout_ms = (int)json_integer_value(json_object_get(spec, "startTimeoutMs")),
			 .step_timeout_ms = (int)json_integer_value(json_object_get(spec, "stepTimeoutMs"))},
		.id = args->id,
		.options_json = opts,
	};
	struct ext_env *e;
	if (ext_env_start(&c, &e, err, errlen) < 0)
		goto out;
	if (ext_env_wait(e) < 0) {
		snprintf(err, errlen, "%s", ext_env_error(e));
		ext_env_close(e);
		goto out;
	}
	*out = e;
	rc = 0;
	goto out;
oom:
	snprintf(err, errlen, "out of memory");
out:
	free(opts);
	free(argv);
	json_decref(spec);
	return rc;
}

int ext_env_open_started(struct env *e, struct ext_env *x, char *err, size_t errlen)
{
	if (!ext_env_info(x)) {
		snprintf(err, errlen, "the environment process is not ready");
		ext_env_close(x);
		return -1;
	}
	adopt = x;
	int rc = env_open_ops(e, &ext_env_ops, ext_env_info(x)->id, NULL, err, errlen);
	if (adopt) { /* create() was not reached */
		adopt = NULL;
		ext_env_close(x);
	}
	return rc;
}

static void ops_destroy(void *env)
{
	ext_env_close(env);
}

static const struct hippo_env_info *ops_info(void *env)
{
	return ext_env_info(env);
}

static int finish_call(struct ext_env *e, double *obs, char *info, size_t infolen, char *err,
		       size_t errlen)
{
	if (ext_env_wait(e) < 0) {
		snprintf(err, errlen, "%s", ext_env_error(e));
		return -1;
	}
	memcpy(obs, e->obs, e->obs_n * sizeof *obs);
	if (info && infolen)
		snprintf(info, infolen, "%s", e->info_json);
	return 0;
}

static int async_call(struct ext_env *e, const uint64_t *seed, const double *action, double *obs,
		      struct hippo_step_result *res, char *info, size_t infolen, char *err,
		      size_t errlen);

static int ops_reset(void *env, const uint64_t *seed, double *obs, char *info, size_t infolen,
		     char *err, size_t errlen)
{
	struct ext_env *e = env;
	if (e->async)
		return async_call(e, seed, NULL, obs, NULL, info, infolen, err, errlen);
	if (ext_env_begin_reset(e, seed) < 0) {
		snprintf(err, errlen, "%s", ext_env_error(e));
		return -1;
	}
	return finish_call(e, obs, info, infolen, err, errlen);
}

void ext_env_set_async(struct ext_env *e, bool on)
{
	e->async = on;
}

bool ext_env_step_pending(const struct ext_env *e)
{
	return e->step_pending;
}

int ext_env_step_poll(struct ext_env *e)
{
	if (!e->step_pending || e->result_ready)
		return 1;
	int r = ext_env_poll(e);
	if (r == 0)
		return 0;
	if (r > 0)
		e->result_ready = true;
	else
		e->step_pending = false; /* the retried step reports the failure */
	return 1;
}

static void take_result(struct ext_env *e, double *obs, struct hippo_step_result *res,
			char *info, size_t infolen)
{
	memcpy(obs, e->obs, e->obs_n * sizeof *obs);
	if (info && infolen)
		snprintf(info, infolen, "%s", e->info_json);
	if (res)
		*res = e->res;
	e->step_pending = e->result_ready = false;
}

/* Asynchronous steps and resets: the first call sends the request and fails
 * with step_pending set; the caller repeats the call (same arguments) once
 * ext_env_step_poll says the reply is there, and gets the result. RES is NULL
 * for a reset. */
static int async_call(struct ext_env *e, const uint64_t *seed, const double *action, double *obs,
		      struct hippo_step_result *res, char *info, size_t infolen, char *err,
		      size_t errlen)
{
	if (e->step_pending && !e->result_ready) {
		int r = ext_env_poll(e);
		if (r > 0)
			e->result_ready = true;
		else if (r < 0)
			e->step_pending = false;
	}
	if (e->result_ready) {
		take_result(e, obs, res, info, infolen);
		return 0;
	}
	if (!e->step_pending) {
		int rc = res ? ext_env_begin_step(e, action) : ext_env_begin_reset(e, seed);
		if (rc < 0) {
			snprintf(err, errlen, "%s", ext_env_error(e));
			return -1;
		}
		e->step_pending = true;
	}
	snprintf(err, errlen, "the environment process is still computing");
	return -1;
}

static int ops_step(void *env, const double *action, double *obs, struct hippo_step_result *res,
		    char *info, size_t infolen, char *err, size_t errlen)
{
	struct ext_env *e = env;
	if (e->async)
		return async_call(e, NULL, action, obs, res, info, infolen, err, errlen);
	if (ext_env_begin_step(e, action) < 0) {
		snprintf(err, errlen, "%s", ext_env_error(e));
		return -1;
	}
	if (finish_call(e, obs, info, infolen, err, errlen) < 0)
		return -1;
	*res = e->res;
	return 0;
}

/* Copies the frame that came with the last reset/step reply: one round trip
 * per step. */
static int ops_render(void *env, uint8_t *rgb, size_t stride, char *err, size_t errlen)
{
	struct ext_env *e = env;
	if (!e->have_frame) {
		snprintf(err, errlen, "the process sent no frame");
		return -1;
	}
	for (int y = 0; y < e->fh; y++)
		memcpy(rgb + (size_t)y * stride, e->rgb + (size_t)y * e->fw * 3, (size_t)e->fw * 3);
	return 0;
}

const struct hippo_env_ops ext_env_ops = {
	.abi_version = HIPPO_ENV_ABI_VERSION,
	.id = "external",
	.summary = "an environment served by a child process (trial.env.command)",
	.create = ops_create,
	.destroy = ops_destroy,
	.info = ops_info,
	.reset = ops_reset,
	.step = ops_step,
	.render = ops_render,
};
