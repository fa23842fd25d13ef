/* pendulum: Gymnasium's Pendulum-v1 (pendulum.py). State in float64; the
 * torque is a float32 numpy scalar, so `0.001 * u**2` and `3.0 * u` are
 * float32 operations under NumPy >= 2 promotion (NEP 50) and are rounded to
 * float32 here too (see docs/environments.md).
 *
 * Options: "g" (gravity, default 10.0), "x_init"/"y_init" (reset bounds for
 * the angle and angular velocity, default pi and 1.0). */
#include <math.h>
#include <stdlib.h>

#include "env/builtin.h"
#include "env/rng.h"
#include "render/raster.h"

#define PD_MAX_SPEED  8
#define PD_MAX_TORQUE 2.0
#define PD_DT         0.05
#define PD_M          1.0
#define PD_L          1.0
#define PD_DIM        500

static const double pd_action_low[1] = {-PD_MAX_TORQUE}, pd_action_high[1] = {PD_MAX_TORQUE};

struct pendulum {
	struct hippo_env_info info;
	double obs_low[3], obs_high[3];
	struct rng rng;
	double th, thdot;
	double g, x_init, y_init;
	bool has_last_u;
	double last_u;
};

static int pd_create(const struct hippo_env_args *args, void **env, char *err, size_t errlen)
{
	static const char *const allowed[] = {"g", "x_init", "y_init", NULL};
	json_t *opts;
	if (env__options(args->options_json, allowed, &opts, err, errlen) != 0)
		return -1;
	struct pendulum *p = calloc(1, sizeof *p);
	if (!p) {
		json_decref(opts);
		return env__fail(err, errlen, "out of memory");
	}
	p->g = 10.0;
	p->x_init = M_PI;
	p->y_init = 1.0;
	if (env__opt_number(opts, "g", &p->g, err, errlen) ||
	    env__opt_number(opts, "x_init", &p->x_init, err, errlen) ||
	    env__opt_number(opts, "y_init", &p->y_init, err, errlen)) {
		json_decref(opts);
		free(p);
		return -1;
	}
	json_decref(opts);
	const double high[3] = {1.0, 1.0, PD_MAX_SPEED};
	for (int i = 0; i < 3; i++) {
		p->obs_high[i] = env__f32(high[i]);
		p->obs_low[i] = -p->obs_high[i];
	}
	p->info = (struct hippo_env_info){
		.id = "Pendulum-v1",
		.action_space = {.kind = HIPPO_SPACE_BOX,
				 .dtype = HIPPO_DTYPE_FLOAT32,
				 .ndim = 1,
				 .shape = {1},
				 .low = pd_action_low,
				 .high = pd_action_high},
		.observation_space = {.kind = HIPPO_SPACE_BOX,
				      .dtype = HIPPO_DTYPE_FLOAT32,
				      .ndim = 1,
				      .shape = {3},
				      .low = p->obs_low,
				      .high = p->obs_high},
		.meta = {.max_episode_steps = 200,
			 .reward_threshold = NAN,
			 .render_fps = 30,
			 .render_width = PD_DIM,
			 .render_height = PD_DIM},
	};
	rng_seed_random(&p->rng);
	*env = p;
	return 0;
}

static void pd_destroy(void *env)
{
	free(env);
}

static const struct hippo_env_info *pd_get_info(void *env)
{
	return &((struct pendulum *)env)->info;
}

static void pd_obs(const struct pendulum *p, double *obs)
{
	obs[0] = env__f32(cos(p->th));
	obs[1] = env__f32(sin(p->th));
	obs[2] = env__f32(p->thdot);
}

static int pd_reset(void *env, const uint64_t *seed, double *obs, char *info, size_t infolen,
		    char *err, size_t errlen)
{
	struct pendulum *p = env;
	if (seed)
		rng_seed(&p->rng, *seed);
	/* high = [x, y]; low = -high; np_random.uniform(low, high) */
	p->th = rng_uniform(&p->rng, -p->x_init, p->x_init);
	p->thdot = rng_uniform(&p->rng, -p->y_init, p->y_init);
	p->has_last_u = false;
	pd_obs(p, obs);
	env__empty_info(info, infolen);
	return 0;
}

/* numpy's float64 remainder (Python's %): the result takes the divisor's sign. */
static double py_mod(double a, double b)
{
	double m = fmod(a, b);
	if (m != 0) {
		if ((b < 0) != (m < 0))
			m += b;
	} else {
		m = copysign(0.0, b);
	}
	return m;
}

static double angle_normalize(double x)
{
	return py_mod(x + M_PI, 2 * M_PI) - M_PI;
}

static int pd_step(void *env, const double *action, double *obs, struct hippo_step_result *res,
		   char *info, size_t infolen, char *err, size_t errlen)
{
	struct pendulum *p = env;
	if (!isfinite(action[0]))
		return env__fail(err, errlen, "action must be a finite number");
	const double th = p->th, thdot = p->thdot;
	/* u = np.clip(u, -max_torque, max_torque)[0]: a float32 scalar */
	double u = fmin(fmax(env__f32(action[0]), -PD_MAX_TORQUE), PD_MAX_TORQUE);
	p->last_u = u;
	p->has_last_u = true;
	double an = angle_normalize(th);
	/* numpy scalars' ** calls the C library's pow (not a multiply) */
	double u2 = powf((float)u, 2.0f);              /* u**2, float32 */
	double ucost = env__f32(env__f32(0.001) * u2); /* 0.001 * u**2, float32 */
	double costs = pow(an, 2) + 0.1 * pow(thdot, 2) + ucost;
	double uterm = env__f32(env__f32(3.0 / (PD_M * (PD_L * PD_L))) * u); /* float32 */
	double newthdot =
		thdot + (3 * p->g / (2 * PD_L) * sin(th) + uterm) * PD_DT;
	newthdot = fmin(fmax(newthdot, -PD_MAX_SPEED), PD_MAX_SPEED);
	double newth = th + newthdot * PD_DT;
	p->th = newth;
	p->thdot = newthdot;
	res->reward = -costs;
	res->terminated = false;
	res->truncated = false;
	pd_obs(p, obs);
	env__empty_info(info, infolen);
	return 0;
}

#define Y(v) (PD_DIM - (v))

static void rotate(double x, double y, double a, double *ox, double *oy)
{
	*ox = x * cos(a) - y * sin(a);
	*oy = x * sin(a) + y * cos(a);
}

/* Gymnasium blits assets/clockwise.png (a curved arrow, mirrored for
 * positive torque) scaled by |u|; this draws a comparable arrow: a 3/4 arc
 * with a head, radius proportional to |u|, turning with the torque. */
static void pd_torque_arrow(struct raster *r, double u, double scale, double offset)
{
	double rad = scale * fabs(u) / 2 * 0.4;
	if (rad < 2)
		return;
	const struct rgb ink = {0, 0, 0};
	double w = fmax(1.5, rad * 0.18), dir = u > 0 ? 1 : -1; /* y-up: +u anticlockwise */
	double a0 = -M_PI / 4 * dir, span = 1.5 * M_PI * dir;
	enum { NSEG = 40 };
	struct pt band[2 * (NSEG + 1)]; /* outer edge forward, inner edge back: one polygon */
	for (int i = 0; i <= NSEG; i++) {
		double a = a0 + span * i / NSEG;
		band[i] = (struct pt){offset + (rad + w / 2) * cos(a), Y(offset + (rad + w / 2) * sin(a))};
		band[2 * NSEG + 1 - i] =
			(struct pt){offset + (rad - w / 2) * cos(a), Y(offset + (rad - w / 2) * sin(a))};
	}
	raster_fill_polygon(r, band, 2 * (NSEG + 1), ink);
	double ae = a0 + span, tx = -sin(ae) * dir, ty = cos(ae) * dir; /* tangent */
	double ex = offset + rad * cos(ae), ey = offset + rad * sin(ae), hl = w * 2.5;
	struct pt head[3] = {
		{ex + tx * hl, Y(ey + ty * hl)},
		{ex + cos(ae) * hl * 0.8, Y(ey + sin(ae) * hl * 0.8)},
		{ex - cos(ae) * hl * 0.8, Y(ey - sin(ae) * hl * 0.8)},
	};
	raster_fill_polygon(r, head, 3, ink);
}

static int pd_render(void *env, uint8_t *rgb, size_t stride, char *err, size_t errlen)
{
	struct pendulum *p = env;
	struct raster r;
	raster_init(&r, rgb, PD_DIM, PD_DIM, stride);
	raster_clear(&r, (struct rgb){255, 255, 255});
	const double bound = 2.2, scale = PD_DIM / (bound * 2);
	const int offset = PD_DIM / 2;
	const double rod_length = 1 * scale, rod_width = 0.2 * scale;
	const struct rgb red = {204, 77, 77};
	const double l = 0, rr = rod_length, t = rod_width / 2, b = -rod_width / 2;
	const double corners[4][2] = {{l, b}, {l, t}, {rr, t}, {rr, b}};
	const double ang = p->th + M_PI / 2;
	struct pt rod[4];
	for (int i = 0; i < 4; i++) {
		double cx, cy;
		rotate(corners[i][0], corners[i][1], ang, &cx, &cy);
		rod[i] = (struct pt){cx + offset, Y(cy + offset)};
	}
	raster_fill_polygon(&r, rod, 4, red);
	raster_fill_circle(&r, offset + 0.5, Y(offset) - 0.5, (int)(rod_width / 2), red);
	double ex, ey;
	rotate(rod_length, 0, ang, &ex, &ey);
	raster_fill_circle(&r, (int)(ex + offset) + 0.5, Y((int)(ey + offset)) - 0.5,
			   (int)(rod_width / 2), red);
	if (p->has_last_u)
		pd_torque_arrow(&r, p->last_u, scale, offset);
	raster_fill_circle(&r, offset + 0.5, Y(offset) - 0.5, (int)(0.05 * scale), (struct rgb){0, 0, 0});
	return 0;
}

const struct hippo_env_ops env_pendulum_v1_ops = {
	.abi_version = HIPPO_ENV_ABI_VERSION,
	.id = "Pendulum-v1",
	.summary = "swing a pendulum up and keep it upright with a torque in [-2, 2]",
	.create = pd_create,
	.destroy = pd_destroy,
	.info = pd_get_info,
	.reset = pd_reset,
	.step = pd_step,
	.render = pd_render,
};
