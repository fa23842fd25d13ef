/* xp: the external-process protocol codec; see external_proto.h and docs/plugins.md. */
#include "env/external_proto.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "env/env.h"

#define XP_MAX_DEPTH 8

static uint32_t rd32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint16_t rd16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static void wr32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
}

void xp_decoder_init(struct xp_decoder *d, size_t max_header, size_t max_payload)
{
	memset(d, 0, sizeof *d);
	d->max_header = max_header ? max_header : XP_DEFAULT_MAX_HEADER;
	d->max_payload = max_payload ? max_payload : XP_DEFAULT_MAX_PAYLOAD;
	d->state = XP_D_FRAME;
}

void xp_decoder_free(struct xp_decoder *d)
{
	free(d->header);
	free(d->payload);
	d->header = NULL;
	d->payload = NULL;
	d->header_cap = d->payload_cap = 0;
}

static int fail(struct xp_decoder *d, const char *msg)
{
	d->state = XP_D_ERROR;
	snprintf(d->err, sizeof d->err, "%s", msg);
	return -1;
}

/* Grows *BUF to hold at least NEED bytes. */
static int reserve(void **buf, size_t *cap, size_t need)
{
	return buf_grow_array(buf, cap, need, 1, 256, 0);
}

/* Validates the 16-byte frame header and sizes the buffers. */
static int start_message(struct xp_decoder *d)
{
	if (memcmp(d->frame, XP_MAGIC, 4) != 0)
		return fail(d, "bad magic: the process wrote something that is not a protocol message "
			       "(did it print to stdout?)");
	uint16_t version = rd16(d->frame + 4);
	if (version != XP_VERSION) {
		snprintf(d->err, sizeof d->err, "protocol version %u not supported (hippo speaks %u)",
			 version, XP_VERSION);
		d->state = XP_D_ERROR;
		return -1;
	}
	if (rd16(d->frame + 6) != 0)
		return fail(d, "nonzero flags in a version 1 message");
	uint32_t h = rd32(d->frame + 8), p = rd32(d->frame + 12);
	if (h == 0)
		return fail(d, "empty JSON header");
	if (h > d->max_header) {
		snprintf(d->err, sizeof d->err, "header of %u bytes exceeds the limit of %zu", h,
			 d->max_header);
		d->state = XP_D_ERROR;
		return -1;
	}
	if (p > d->max_payload) {
		snprintf(d->err, sizeof d->err, "payload of %u bytes exceeds the limit of %zu", p,
			 d->max_payload);
		d->state = XP_D_ERROR;
		return -1;
	}
	if (reserve((void **)&d->header, &d->header_cap, (size_t)h + 1) ||
	    reserve((void **)&d->payload, &d->payload_cap, p ? p : 1))
		return fail(d, "out of memory");
	d->header_len = h;
	d->payload_len = p;
	d->state = XP_D_HEADER;
	d->got = 0;
	return 0;
}

int xp_decode(struct xp_decoder *d, const uint8_t *data, size_t len, size_t *used)
{
	size_t i = 0;
	*used = 0;
	if (d->state == XP_D_ERROR)
		return -1;
	if (d->state == XP_D_DONE) {
		d->state = XP_D_FRAME;
		d->got = 0;
	}
	while (i < len || (d->state == XP_D_PAYLOAD && d->got == d->payload_len)) {
		size_t take;
		switch (d->state) {
		case XP_D_FRAME:
			take = XP_FRAME_HEADER - d->got;
			if (take > len - i)
				take = len - i;
			memcpy(d->frame + d->got, data + i, take);
			d->got += take;
			i += take;
			if (d->got == XP_FRAME_HEADER && start_message(d) < 0) {
				*used = i;
				return -1;
			}
			break;
		case XP_D_HEADER:
			take = d->header_len - d->got;
			if (take > len - i)
				take = len - i;
			memcpy(d->header + d->got, data + i, take);
			d->got += take;
			i += take;
			if (d->got == d->header_len) {
				d->header[d->header_len] = '\0';
				d->state = XP_D_PAYLOAD;
				d->got = 0;
			}
			break;
		case XP_D_PAYLOAD:
			take = d->payload_len - d->got;
			if (take > len - i)
				take = len - i;
			if (take)
				memcpy(d->payload + d->got, data + i, take);
			d->got += take;
			i += take;
			if (d->got == d->payload_len) {
				d->state = XP_D_DONE;
				*used = i;
				return 1;
			}
			break;
		default:
			*used = i;
			return -1;
		}
	}
	*used = i;
	return 0;
}

void xp_frame_header(uint8_t out[XP_FRAME_HEADER], uint32_t header_len, uint32_t payload_len)
{
	memcpy(out, XP_MAGIC, 4);
	out[4] = (uint8_t)XP_VERSION;
	out[5] = (uint8_t)(XP_VERSION >> 8);
	out[6] = out[7] = 0;
	wr32(out + 8, header_len);
	wr32(out + 12, payload_len);
}

json_t *xp_parse_header(const char *text, size_t len, const char **type, char *err,
			size_t errlen)
{
	json_error_t je;
	json_t *j = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);
	if (!j) {
		snprintf(err, errlen, "message header is not valid JSON: %s (at byte %d)", je.text,
			 je.position);
		return NULL;
	}
	const char *t = json_is_object(j) ? json_string_value(json_object_get(j, "type")) : NULL;
	if (!t) {
		snprintf(err, errlen, "message header must be a JSON object with a string \"type\"");
		json_decref(j);
		return NULL;
	}
	*type = t;
	return j;
}

/* ---- numbers ---- */

static int flatten(json_t *j, double *out, size_t n, size_t *k, int depth, char *err,
		   size_t errlen)
{
	if (depth > XP_MAX_DEPTH) {
		snprintf(err, errlen, "array nested deeper than %d", XP_MAX_DEPTH);
		return -1;
	}
	if (json_is_array(j)) {
		size_t i;
		json_t *v;
		json_array_foreach(j, i, v)
		{
			if (flatten(v, out, n, k, depth + 1, err, errlen) < 0)
				return -1;
		}
		return 0;
	}
	double x;
	if (json_is_number(j))
		x = json_number_value(j);
	else if (json_is_boolean(j))
		x = json_is_true(j) ? 1 : 0;
	else if (json_is_null(j))
		x = NAN; /* Python's json writes NaN as NaN, which jansson refuses; null stands in */
	else {
		snprintf(err, errlen, "expected numbers, found a %s",
			 json_is_string(j) ? "string" : "object");
		return -1;
	}
	if (*k >= n) {
		snprintf(err, errlen, "more than the %zu values expected", n);
		return -1;
	}
	out[(*k)++] = x;
	return 0;
}

int xp_numbers(json_t *j, double *out, size_t n, char *err, size_t errlen)
{
	size_t k = 0;
	if (!j) {
		snprintf(err, errlen, "missing values (expected %zu)", n);
		return -1;
	}
	if (flatten(j, out, n, &k, 0, err, errlen) < 0)
		return -1;
	if (k != n) {
		snprintf(err, errlen, "%zu values where %zu were expected", k, n);
		return -1;
	}
	return 0;
}

/* ---- spaces ---- */

static int get_int(json_t *o, const char *key, long long lo, long long hi, long long def,
		   long long *out, char *err, size_t errlen)
{
	json_t *v = json_object_get(o, key);
	if (!v || json_is_null(v)) {
		*out = def;
		return 0;
	}
	if (json_is_real(v) && json_real_value(v) == floor(json_real_value(v)) &&
	    fabs(json_real_value(v)) < 9e15) {
		*out = (long long)json_real_value(v);
	} else if (json_is_integer(v)) {
		*out = json_integer_value(v);
	} else {
		snprintf(err, errlen, "\"%s\" must be an integer", key);
		return -1;
	}
	if (*out < lo || *out > hi) {
		snprintf(err, errlen, "\"%s\" = %lld is outside [%lld, %lld]", key, *out, lo, hi);
		return -1;
	}
	return 0;
}

static int dtype_parse(const char *s, enum hippo_dtype *dt)
{
	static const struct {
		const char *name;
		enum hippo_dtype dt;
	} tab[] = {{"float32", HIPPO_DTYPE_FLOAT32},
		   {"float64", HIPPO_DTYPE_FLOAT64},
		   {"uint8", HIPPO_DTYPE_UINT8},
		   {"int64", HIPPO_DTYPE_INT64}};
	if (!s) {
		*dt = HIPPO_DTYPE_FLOAT32;
		return 0;
	}
	for (size_t i = 0; i < sizeof tab / sizeof tab[0]; i++)
		if (strcmp(s, tab[i].name) == 0) {
			*dt = tab[i].dt;
			return 0;
		}
	return -1;
}

/* Bounds: a single number (broadcast), or N numbers; absent means +-infinity. */
static int bounds(json_t *v, double *out, size_t n, double def, char *err, size_t errlen)
{
	if (!v || json_is_null(v)) {
		for (size_t i = 0; i < n; i++)
			out[i] = def;
		return 0;
	}
	if (json_is_number(v)) {
		for (size_t i = 0; i < n; i++)
			out[i] = json_number_value(v);
		return 0;
	}
	if (xp_numbers(v, out, n, err, errlen) < 0)
		return -1;
	for (size_t i = 0; i < n; i++) /* null stands for an infinite bound */
		if (isnan(out[i]))
			out[i] = def;
	return 0;
}

static int discrete_parse(json_t *j, struct xp_space *s, char *err, size_t errlen)
{
	long long n, start;
	if (get_int(j, "n", 1, 1LL << 40, -1, &n, err, errlen) < 0)
		return -1;
	if (n < 1) {
		snprintf(err, errlen, "a discrete space needs \"n\" >= 1");
		return -1;
	}
	if (get_int(j, "start", -(1LL << 40), 1LL << 40, 0, &start, err, errlen) < 0)
		return -1;
	s->space.kind = HIPPO_SPACE_DISCRETE;
	s->space.n = n;
	s->space.start = start;
	s->space.dtype = HIPPO_DTYPE_INT64;
	json_t *names = json_object_get(j, "names");
	if (names && !json_is_null(names)) {
		if (!json_is_array(names) || json_array_size(names) != (size_t)n ||
		    n > XP_MAX_NAMES) {
			snprintf(err, errlen, "\"names\" must list n (<= %d) strings", XP_MAX_NAMES);
			return -1;
		}
		s->names = calloc((size_t)n + 1, sizeof *s->names);
		if (!s->names)
			goto oom;
		for (size_t i = 0; i < (size_t)n; i++) {
			const char *name = json_string_value(json_array_get(names, i));
			if (!name) {
				snprintf(err, errlen, "\"names\" must list strings");
				return -1;
			}
			if (!(s->names[i] = strdup(name)))
				goto oom;
		}
		s->space.action_names = (const char *const *)s->names;
	}
	return 0;
oom:
	snprintf(err, errlen, "out of memory");
	return -1;
}

static int box_parse(json_t *j, struct xp_space *s, char *err, size_t errlen)
{
	json_t *shape = json_object_get(j, "shape");
	s->space.kind = HIPPO_SPACE_BOX;
	if (!json_is_array(shape) || json_array_size(shape) > HIPPO_SPACE_MAX_DIMS) {
		snprintf(err, errlen, "a box space needs \"shape\": a list of at most %d sizes",
			 HIPPO_SPACE_MAX_DIMS);
		return -1;
	}
	size_t total = 1;
	s->space.ndim = (int)json_array_size(shape);
	for (int i = 0; i < s->space.ndim; i++) {
		json_t *v = json_array_get(shape, (size_t)i);
		if (!json_is_integer(v) || json_integer_value(v) < 0 ||
		    json_integer_value(v) > (json_int_t)XP_MAX_OBS) {
			snprintf(err, errlen, "\"shape\" entries must be integers in [0, %u]",
				 XP_MAX_OBS);
			return -1;
		}
		s->space.shape[i] = (int)json_integer_value(v);
		total *= (size_t)s->space.shape[i];
		if (total > XP_MAX_OBS) {
			snprintf(err, errlen, "a box of more than %u values", XP_MAX_OBS);
			return -1;
		}
	}
	if (dtype_parse(json_string_value(json_object_get(j, "dtype")), &s->space.dtype) < 0) {
		snprintf(err, errlen, "\"dtype\" must be float32, float64, uint8 or int64");
		return -1;
	}
	s->low = malloc((total ? total : 1) * sizeof *s->low);
	s->high = malloc((total ? total : 1) * sizeof *s->high);
	if (!s->low || !s->high) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	if (bounds(json_object_get(j, "low"), s->low, total, -INFINITY, err, errlen) < 0 ||
	    bounds(json_object_get(j, "high"), s->high, total, INFINITY, err, errlen) < 0)
		return -1;
	s->space.low = s->low;
	s->space.high = s->high;
	return 0;
}

int xp_space_parse(json_t *j, struct xp_space *s, char *err, size_t errlen)
{
	memset(s, 0, sizeof *s);
	const char *kind = json_is_object(j) ? json_string_value(json_object_get(j, "kind")) : NULL;
	int rc;
	if (!kind) {
		snprintf(err, errlen, "a space must be an object with \"kind\"");
		return -1;
	}
	if (strcmp(kind, "discrete") == 0) {
		rc = discrete_parse(j, s, err, errlen);
	} else if (strcmp(kind, "box") == 0) {
		rc = box_parse(j, s, err, errlen);
	} else {
		snprintf(err, errlen, "unknown space kind \"%.40s\" (discrete or box)", kind);
		rc = -1;
	}
	if (rc < 0)
		xp_space_free(s);
	return rc;
}

void xp_space_free(struct xp_space *s)
{
	if (s->names)
		for (char **p = s->names; *p; p++)
			free(*p);
	free(s->names);
	free(s->low);
	free(s->high);
	memset(s, 0, sizeof *s);
}

static json_t *bound_json(const double *v, size_t n)
{
	json_t *a = json_array();
	for (size_t i = 0; i < n; i++)
		json_array_append_new(a, isfinite(v[i]) ? json_real(v[i]) : json_null());
	return a;
}

json_t *xp_space_json(const struct hippo_space *s)
{
	if (s->kind == HIPPO_SPACE_DISCRETE) {
		json_t *j = json_pack("{s:s, s:I, s:I}", "kind", "discrete", "n", (json_int_t)s->n,
				      "start", (json_int_t)s->start);
		if (j && s->action_names) {
			json_t *names = json_array();
			for (int64_t i = 0; i < s->n; i++)
				json_array_append_new(names, json_string(s->action_names[i]
										 ? s->action_names[i]
										 : ""));
			json_object_set_new(j, "names", names);
		}
		return j;
	}
	json_t *shape = json_array();
	for (int i = 0; i < s->ndim; i++)
		json_array_append_new(shape, json_integer(s->shape[i]));
	size_t n = hippo_space_size(s);
	return json_pack("{s:s, s:o, s:s, s:o, s:o}", "kind", "box", "shape", shape, "dtype",
			 env_dtype_name(s->dtype), "low",
			 s->low ? bound_json(s->low, n) : json_null(), "high",
			 s->high ? bound_json(s->high, n) : json_null());
}

/* ---- environment description ---- */

int xp_env_info_parse(json_t *env, const char *fallback_id, struct xp_env_info *out, char *err,
		      size_t errlen)
{
	char sub[128];
	long long v;
	memset(out, 0, sizeof *out);
	if (!json_is_object(env)) {
		snprintf(err, errlen, "hello: \"env\" must be an object describing the environment");
		return -1;
	}
	const char *id = json_string_value(json_object_get(env, "id"));
	out->id = strdup(id ? id : fallback_id ? fallback_id : "external");
	if (!out->id) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	if (xp_space_parse(json_object_get(env, "action_space"), &out->action, sub, sizeof sub) <
	    0) {
		snprintf(err, errlen, "hello: action_space: %s", sub);
		goto out;
	}
	if (xp_space_parse(json_object_get(env, "observation_space"), &out->observation, sub,
			   sizeof sub) < 0) {
		snprintf(err, errlen, "hello: observation_space: %s", sub);
		goto out;
	}
	struct hippo_env_meta *m = &out->info.meta;
	if (get_int(env, "max_episode_steps", 0, 1 << 30, 0, &v, sub, sizeof sub) < 0)
		goto bad;
	m->max_episode_steps = (int)v;
	if (get_int(env, "render_fps", 0, 1000, 30, &v, sub, sizeof sub) < 0)
		goto bad;
	m->render_fps = (int)v;
	if (get_int(env, "render_width", 0, 8192, 0, &v, sub, sizeof sub) < 0)
		goto bad;
	m->render_width = (int)v;
	if (get_int(env, "render_height", 0, 8192, 0, &v, sub, sizeof sub) < 0)
		goto bad;
	m->render_height = (int)v;
	json_t *rt = json_object_get(env, "reward_threshold");
	m->reward_threshold = json_is_number(rt) ? json_number_value(rt) : NAN;
	out->info.id = out->id;
	out->info.action_space = out->action.space;
	out->info.observation_space = out->observation.space;
	return 0;
bad:
	snprintf(err, errlen, "hello: %s", sub);
out:
	xp_env_info_free(out);
	return -1;
}

void xp_env_info_free(struct xp_env_info *e)
{
	free(e->id);
	xp_space_free(&e->action);
	xp_space_free(&e->observation);
	memset(e, 0, sizeof *e);
}

json_t *xp_env_info_json(const struct hippo_env_info *info)
{
	const struct hippo_env_meta *m = &info->meta;
	json_t *j = json_pack("{s:s, s:o, s:o, s:i, s:i, s:i, s:i}", "id", info->id ? info->id : "",
			      "action_space", xp_space_json(&info->action_space),
			      "observation_space", xp_space_json(&info->observation_space),
			      "max_episode_steps", m->max_episode_steps, "render_fps", m->render_fps,
			      "render_width", m->render_width, "render_height", m->render_height);
	if (j && isfinite(m->reward_threshold))
		json_object_set_new(j, "reward_threshold", json_real(m->reward_threshold));
	return j;
}

/* ---- frames, info, errors ---- */

int xp_frame_parse(json_t *msg, size_t payload_len, struct xp_frame *f, char *err,
		   size_t errlen)
{
	json_t *fr = json_object_get(msg, "frame");
	long long w, h;
	char sub[96];
	if (!fr || json_is_null(fr)) {
		if (payload_len) {
			snprintf(err, errlen, "a payload without a \"frame\" description");
			return -1;
		}
		return 0;
	}
	if (!json_is_object(fr)) {
		snprintf(err, errlen, "\"frame\" must be an object");
		return -1;
	}
	if (get_int(fr, "width", 1, 8192, 0, &w, sub, sizeof sub) < 0 ||
	    get_int(fr, "height", 1, 8192, 0, &h, sub, sizeof sub) < 0 || w < 1 || h < 1) {
		snprintf(err, errlen, "frame: \"width\" and \"height\" must be integers in [1, 8192]");
		return -1;
	}
	const char *fmt = json_string_value(json_object_get(fr, "format"));
	if (!fmt || strcmp(fmt, "rgb") == 0)
		f->format = XP_FRAME_RGB;
	else if (strcmp(fmt, "png") == 0)
		f->format = XP_FRAME_PNG;
	else if (strcmp(fmt, "jpeg") == 0 || strcmp(fmt, "jpg") == 0)
		f->format = XP_FRAME_JPEG;
	else {
		snprintf(err, errlen, "frame: unknown format \"%.20s\" (rgb, png or jpeg)", fmt);
		return -1;
	}
	f->width = (int)w;
	f->height = (int)h;
	if (f->format == XP_FRAME_RGB && payload_len != (size_t)w * (size_t)h * 3) {
		snprintf(err, errlen, "frame: %lldx%lld RGB needs %lld payload bytes, got %zu", w, h,
			 w * h * 3, payload_len);
		return -1;
	}
	if (f->format != XP_FRAME_RGB && payload_len == 0) {
		snprintf(err, errlen, "frame: empty %s payload", fmt);
		return -1;
	}
	return 1;
}

int xp_info_text(json_t *msg, char *info, size_t infolen, char *err, size_t errlen)
{
	json_t *v = json_object_get(msg, "info");
	if (!info || infolen == 0)
		return 0;
	if (!v || json_is_null(v)) {
		snprintf(info, infolen, "{}");
		return 0;
	}
	if (!json_is_object(v)) {
		snprintf(err, errlen, "\"info\" must be an object");
		return -1;
	}
	size_t n = json_dumpb(v, info, infolen - 1, JSON_COMPACT);
	if (n == 0 || n >= infolen) {
		snprintf(info, infolen, "{}"); /* too large to keep: dropped, not an error */
		return 0;
	}
	info[n] = '\0';
	return 0;
}

void xp_error_text(json_t *msg, char *err, size_t errlen)
{
	const char *m = json_string_value(json_object_get(msg, "message"));
	snprintf(err, errlen, "%s", m ? m : "unspecified error");
}
