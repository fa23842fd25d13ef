/* acrobot: Gymnasium's Acrobot-v1 (acrobot.py): the "book" dynamics,
 * one classic Runge-Kutta 4 step of dt = 0.2 per action, angles wrapped to
 * [-pi, pi] and velocities bounded, every expression in Gymnasium's order
 * (numpy scalars' `**2` is the C library's pow, as numpy calls it).
 *
 * Reset draws np_random.uniform(-0.1, 0.1, size=(4,)).astype(np.float32).
 * Options: "low"/"high" (reset bounds). */
#include <math.h>
#include <stdlib.h>

#include "env/builtin.h"
#include "env/rng.h"
#include "render/raster.h"

#define AC_DT          0.2
#define AC_LINK_LENGTH_1 1.0
#define AC_LINK_LENGTH_2 1.0
#define AC_LINK_MASS_1 1.0
#define AC_LINK_MASS_2 1.0
#define AC_LINK_COM_POS_1 0.5
#define AC_LINK_COM_POS_2 0.5
#define AC_LINK_MOI    1.0
#define AC_MAX_VEL_1   (4 * M_PI)
#define AC_MAX_VEL_2   (9 * M_PI)
#define AC_DIM         500

static const char *const ac_action_names[] = {"torque -1", "no torque", "torque +1"};
static const double ac_torque[3] = {-1.0, 0.0, +1};

struct acrobot {
	struct hippo_env_info info;
	double obs_low[6], obs_high[6];
	struct rng rng;
	double s[4]; /* theta1, theta2, dtheta1, dtheta2 */
	bool s_f32;  /* s holds the float32 reset state (until the first step) */
	double reset_low, reset_high;
};

static int ac_create(const struct hippo_env_args *args, void **env, char *err, size_t errlen)
{
	static const char *const allowed[] = {"low", "high", NULL};
	json_t *opts;
	if (env__options(args->options_json, allowed, &opts, err, errlen) != 0)
		return -1;
	struct acrobot *a = calloc(1, sizeof *a);
	if (!a) {
		json_decref(opts);
		return env__fail(err, errlen, "out of memory");
	}
	a->reset_low = -0.1;
	a->reset_high = 0.1;
	if (env__reset_bounds(opts, &a->reset_low, &a->reset_high, err, errlen)) {
		json_decref(opts);
		free(a);
		return -1;
	}
	json_decref(opts);
	const double high[6] = {1.0, 1.0, 1.0, 1.0, AC_MAX_VEL_1, AC_MAX_VEL_2};
	for (int i = 0; i < 6; i++) {
		a->obs_high[i] = env__f32(high[i]);
		a->obs_low[i] = -a->obs_high[i];
	}
	a->info = (struct hippo_env_info){
		.id = "Acrobot-v1",
		.action_space = {.kind = HIPPO_SPACE_DISCRETE, .n = 3, .action_names = ac_action_names},
		.observation_space = {.kind = HIPPO_SPACE_BOX,
				      .dtype = HIPPO_DTYPE_FLOAT32,
				      .ndim = 1,
				      .shape = {6},
				      .low = a->obs_low,
				      .high = a->obs_high},
		.meta = {.max_episode_steps = 500,
			 .reward_threshold = -100.0,
			 .render_fps = 15,
			 .render_width = AC_DIM,
			 .render_height = AC_DIM},
	};
	rng_seed_random(&a->rng);
	*env = a;
	return 0;
}

static void ac_destroy(void *env)
{
	free(env);
}

static const struct hippo_env_info *ac_get_info(void *env)
{
	return &((struct acrobot *)env)->info;
}

/* numpy's float32 sin/cos (np.sin/np.cos on float32 with FMA3 or wider,
 * numpy/_core/src/umath/loops_trigonometric.dispatch): Cody-Waite reduction
 * by pi/2 in three fused steps, then minimax polynomials evaluated with fused
 * multiply-adds; the C library for large arguments. Gymnasium's first Acrobot
 * observation is computed this way because the reset state is float32. */
static float np_sincosf(float x, bool want_cos)
{
	if (isnan(x))
		return NAN;
	if (fabsf(x) > (want_cos ? 71476.0625f : 117435.992f))
		return want_cos ? cosf(x) : sinf(x);
	float q = x * 0x1.45f306p-1f; /* x * 2/pi, rounded to an integer below */
	q = q + 0x1.8p23f;
	q = q - 0x1.8p23f;
	float r = fmaf(q, -0x1.921fb0p+00f, x);
	r = fmaf(q, -0x1.5110b4p-22f, r);
	r = fmaf(q, -0x1.846988p-48f, r);
	float r2 = r * r;
	float c = fmaf(0x1.98e616p-16f, r2, -0x1.6c06dcp-10f);
	c = fmaf(c, r2, 0x1.55553cp-05f);
	c = fmaf(c, r2, -0x1.000000p-01f);
	c = fmaf(c, r2, 1.0f);
	float sn = fmaf(0x1.7d3bbcp-19f, r2, -0x1.a06bbap-13f);
	sn = fmaf(sn, r2, 0x1.11119ap-07f);
	sn = fmaf(sn, r2, -0x1.555556p-03f);
	sn = fmaf(sn, r2, 0.0f);
	sn = fmaf(sn, r, r);
	int quadrant = (int)q + (want_cos ? 1 : 0);
	float v = (quadrant & 1) == 0 ? sn : c;
	return (quadrant & 2) ? 0.0f - v : v;
}

static void ac_obs(const struct acrobot *a, double *obs)
{
	if (a->s_f32) {
		obs[0] = np_sincosf((float)a->s[0], true);
		obs[1] = np_sincosf((float)a->s[0], false);
		obs[2] = np_sincosf((float)a->s[1], true);
		obs[3] = np_sincosf((float)a->s[1], false);
	} else {
		obs[0] = env__f32(cos(a->s[0]));
		obs[1] = env__f32(sin(a->s[0]));
		obs[2] = env__f32(cos(a->s[1]));
		obs[3] = env__f32(sin(a->s[1]));
	}
	obs[4] = env__f32(a->s[2]);
	obs[5] = env__f32(a->s[3]);
}

static int ac_reset(void *env, const uint64_t *seed, double *obs, char *info, size_t infolen,
		    char *err, size_t errlen)
{
	struct acrobot *a = env;
	if (seed)
		rng_seed(&a->rng, *seed);
	for (int i = 0; i < 4; i++)
		a->s[i] = env__f32(rng_uniform(&a->rng, a->reset_low, a->reset_high));
	a->s_f32 = true; /* .astype(np.float32): the first observation uses float32 cos/sin */
	ac_obs(a, obs);
	env__empty_info(info, infolen);
	return 0;
}

/* AcrobotEnv._dsdt for the "book" dynamics: Y = (theta1, theta2, dtheta1,
 * dtheta2, torque) -> D. */
static void ac_dsdt(const double y[5], double d[5])
{
	const double m1 = AC_LINK_MASS_1, m2 = AC_LINK_MASS_2, l1 = AC_LINK_LENGTH_1;
	const double lc1 = AC_LINK_COM_POS_1, lc2 = AC_LINK_COM_POS_2;
	const double I1 = AC_LINK_MOI, I2 = AC_LINK_MOI, g = 9.8;
	const double a = y[4], theta1 = y[0], theta2 = y[1], dtheta1 = y[2], dtheta2 = y[3];
	const double lc1_2 = pow(lc1, 2), l1_2 = pow(l1, 2), lc2_2 = pow(lc2, 2);

	double d1 = m1 * lc1_2 + m2 * (l1_2 + lc2_2 + 2 * l1 * lc2 * cos(theta2)) + I1 + I2;
	double d2 = m2 * (lc2_2 + l1 * lc2 * cos(theta2)) + I2;
	double phi2 = m2 * lc2 * g * cos(theta1 + theta2 - M_PI / 2.0);
	double phi1 = -m2 * l1 * lc2 * pow(dtheta2, 2) * sin(theta2) -
		      2 * m2 * l1 * lc2 * dtheta2 * dtheta1 * sin(theta2) +
		      (m1 * lc1 + m2 * l1) * g * cos(theta1 - M_PI / 2) + phi2;
	double ddtheta2 = (a + d2 / d1 * phi1 - m2 * l1 * lc2 * pow(dtheta1, 2) * sin(theta2) - phi2) /
			  (m2 * lc2_2 + I2 - pow(d2, 2) / d1);
	double ddtheta1 = -(d2 * ddtheta2 + phi1) / d1;
	d[0] = dtheta1;
	d[1] = dtheta2;
	d[2] = ddtheta1;
	d[3] = ddtheta2;
	d[4] = 0.0;
}

/* Gymnasium's rk4(derivs, y0, [0, dt]): one classic Runge-Kutta step. */
static void ac_rk4(double y[5])
{
	const double dt = AC_DT - 0, dt2 = dt / 2.0;
	double k1[5], k2[5], k3[5], k4[5], t[5];
	ac_dsdt(y, k1);
	for (int i = 0; i < 5; i++)
		t[i] = y[i] + dt2 * k1[i];
	ac_dsdt(t, k2);
	for (int i = 0; i < 5; i++)
		t[i] = y[i] + dt2 * k2[i];
	ac_dsdt(t, k3);
	for (int i = 0; i < 5; i++)
		t[i] = y[i] + dt * k3[i];
	ac_dsdt(t, k4);
	const double h = dt / 6.0;
	for (int i = 0; i < 5; i++)
		y[i] = y[i] + h * (k1[i] + 2 * k2[i] + 2 * k3[i] + k4[i]);
}

static double wrap(double x, double m, double M)
{
	double diff = M - m;
	while (x > M)
		x = x - diff;
	while (x < m)
		x = x + diff;
	return x;
}

static double bound(double x, double m, double M)
{
	double v = m > x ? m : x; /* Python's max(x, m) */
	return M < v ? M : v;     /* min(v, M) */
}

static int ac_step(void *env, const double *action, double *obs, struct hippo_step_result *res,
		   char *info, size_t infolen, char *err, size_t errlen)
{
	struct acrobot *a = env;
	if (!(action[0] == 0 || action[0] == 1 || action[0] == 2))
		return env__fail(err, errlen, "action must be 0, 1 or 2");
	double y[5] = {a->s[0], a->s[1], a->s[2], a->s[3], ac_torque[(int)action[0]]};
	ac_rk4(y);
	a->s[0] = wrap(y[0], -M_PI, M_PI);
	a->s[1] = wrap(y[1], -M_PI, M_PI);
	a->s[2] = bound(y[2], -AC_MAX_VEL_1, AC_MAX_VEL_1);
	a->s[3] = bound(y[3], -AC_MAX_VEL_2, AC_MAX_VEL_2);
	a->s_f32 = false;
	bool terminated = -cos(a->s[0]) - cos(a->s[1] + a->s[0]) > 1.0;
	res->terminated = terminated;
	res->truncated = false;
	res->reward = terminated ? 0.0 : -1.0;
	ac_obs(a, obs);
	env__empty_info(info, infolen);
	return 0;
}

#define Y(v) (AC_DIM - (v))

static int ac_render(void *env, uint8_t *rgb, size_t stride, char *err, size_t errlen)
{
	struct acrobot *a = env;
	struct raster r;
	raster_init(&r, rgb, AC_DIM, AC_DIM, stride);
	raster_clear(&r, (struct rgb){255, 255, 255});
	const double bnd = AC_LINK_LENGTH_1 + AC_LINK_LENGTH_2 + 0.2;
	const double scale = AC_DIM / (bnd * 2), offset = AC_DIM / 2.0;
	const double *s = a->s;

	/* the goal line, one link length above the pivot */
	raster_fill_rect(&r, (int)(-2.2 * scale + offset), AC_DIM - 1 - (int)(1 * scale + offset),
			 (int)(4.4 * scale) + 1, 1, (struct rgb){0, 0, 0});
	/* xys = [[0, 0], p1][:, ::-1] with p1 = [-l1 cos(s0) scale, l1 sin(s0) scale] */
	const double xs[2] = {0, AC_LINK_LENGTH_1 * sin(s[0]) * scale};
	const double ys[2] = {0, -AC_LINK_LENGTH_1 * cos(s[0]) * scale};
	const double thetas[2] = {s[0] - M_PI / 2, s[0] + s[1] - M_PI / 2};
	const double lens[2] = {AC_LINK_LENGTH_1 * scale, AC_LINK_LENGTH_2 * scale};
	for (int k = 0; k < 2; k++) {
		double x = xs[k] + offset, y = ys[k] + offset;
		double l = 0, rr = lens[k], t = 0.1 * scale, b = -0.1 * scale;
		const double c[4][2] = {{l, b}, {l, t}, {rr, t}, {rr, b}};
		double ca = cos(thetas[k]), sa = sin(thetas[k]);
		struct pt q[4];
		for (int i = 0; i < 4; i++)
			q[i] = (struct pt){c[i][0] * ca - c[i][1] * sa + x,
					   Y(c[i][0] * sa + c[i][1] * ca + y)};
		raster_fill_polygon(&r, q, 4, (struct rgb){0, 204, 204});
		raster_fill_circle(&r, (int)x + 0.5, Y((int)y) - 0.5, (int)(0.1 * scale),
				   (struct rgb){204, 204, 0});
	}
	return 0;
}

const struct hippo_env_ops env_acrobot_v1_ops = {
	.abi_version = HIPPO_ENV_ABI_VERSION,
	.id = "Acrobot-v1",
	.summary = "swing a two-link arm's tip above the line (torque -1, 0, +1 on the joint)",
	.create = ac_create,
	.destroy = ac_destroy,
	.info = ac_get_info,
	.reset = ac_reset,
	.step = ac_step,
	.render = ac_render,
};
