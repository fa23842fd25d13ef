/* cartpole: Gymnasium's CartPole-v1 and CartPole-v0
 * (gymnasium/envs/classic_control/cartpole.py): same constants, explicit Euler
 * integration in float64 with every operation in Gymnasium's order, float32
 * observations, reset state drawn as np_random.uniform(-0.05, 0.05, size=(4,)).
 *
 * Options (JSON object): "sutton_barto_reward" (bool), "low"/"high" (reset
 * bounds, Gymnasium's reset options, applied to every reset). */
#include <math.h>
#include <stdlib.h>

#include "env/builtin.h"
#include "env/rng.h"
#include "render/raster.h"

#define CP_GRAVITY   9.8
#define CP_MASSCART  1.0
#define CP_MASSPOLE  0.1
#define CP_LENGTH    0.5 /* half the pole's length */
#define CP_FORCE_MAG 10.0
#define CP_TAU       0.02
#define CP_X_THRESHOLD 2.4
#define CP_W 600
#define CP_H 400

static const char *const cp_action_names[] = {"left", "right"};

struct cartpole {
	struct hippo_env_info info;
	double obs_low[4], obs_high[4];
	struct rng rng;
	double state[4]; /* x, x_dot, theta, theta_dot (float64, as Gymnasium) */
	int steps_beyond_terminated; /* -1: None */
	bool sutton_barto;
	double reset_low, reset_high;
	double total_mass, polemass_length, theta_threshold;
};

static void cp_info(struct cartpole *c, const char *id, int max_steps, double threshold)
{
	c->total_mass = CP_MASSPOLE + CP_MASSCART;
	c->polemass_length = CP_MASSPOLE * CP_LENGTH;
	c->theta_threshold = 12 * 2 * M_PI / 360;
	/* high = [x_threshold * 2, inf, theta_threshold * 2, inf] as float32 */
	c->obs_high[0] = env__f32(CP_X_THRESHOLD * 2);
	c->obs_high[1] = INFINITY;
	c->obs_high[2] = env__f32(c->theta_threshold * 2);
	c->obs_high[3] = INFINITY;
	for (int i = 0; i < 4; i++)
		c->obs_low[i] = -c->obs_high[i];
	c->info = (struct hippo_env_info){
		.id = id,
		.action_space = {.kind = HIPPO_SPACE_DISCRETE, .n = 2, .action_names = cp_action_names},
		.observation_space = {.kind = HIPPO_SPACE_BOX,
				      .dtype = HIPPO_DTYPE_FLOAT32,
				      .ndim = 1,
				      .shape = {4},
				      .low = c->obs_low,
				      .high = c->obs_high},
		.meta = {.max_episode_steps = max_steps,
			 .reward_threshold = threshold,
			 .render_fps = 50,
			 .render_width = CP_W,
			 .render_height = CP_H},
	};
}

static int cp_create(const struct hippo_env_args *args, void **env, char *err, size_t errlen,
		     const char *id, int max_steps, double threshold)
{
	static const char *const allowed[] = {"sutton_barto_reward", "low", "high", NULL};
	json_t *opts;
	if (env__options(args->options_json, allowed, &opts, err, errlen) != 0)
		return -1;
	struct cartpole *c = calloc(1, sizeof *c);
	if (!c) {
		json_decref(opts);
		return env__fail(err, errlen, "out of memory");
	}
	c->reset_low = -0.05;
	c->reset_high = 0.05;
	if (env__opt_bool(opts, "sutton_barto_reward", &c->sutton_barto, err, errlen) ||
	    env__reset_bounds(opts, &c->reset_low, &c->reset_high, err, errlen)) {
		json_decref(opts);
		free(c);
		return -1;
	}
	json_decref(opts);
	cp_info(c, id, max_steps, threshold);
	/* Gymnasium seeds from OS entropy on the first reset without a seed */
	rng_seed_random(&c->rng);
	c->steps_beyond_terminated = -1;
	*env = c;
	return 0;
}

static int cp_create_v1(const struct hippo_env_args *args, void **env, char *err, size_t errlen)
{
	return cp_create(args, env, err, errlen, "CartPole-v1", 500, 475.0);
}

static int cp_create_v0(const struct hippo_env_args *args, void **env, char *err, size_t errlen)
{
	return cp_create(args, env, err, errlen, "CartPole-v0", 200, 195.0);
}

static void cp_destroy(void *env)
{
	free(env);
}

static const struct hippo_env_info *cp_get_info(void *env)
{
	return &((struct cartpole *)env)->info;
}

static void cp_obs(const struct cartpole *c, double *obs)
{
	for (int i = 0; i < 4; i++)
		obs[i] = env__f32(c->state[i]);
}

static int cp_reset(void *env, const uint64_t *seed, double *obs, char *info, size_t infolen,
		    char *err, size_t errlen)
{
	struct cartpole *c = env;
	if (seed)
		rng_seed(&c->rng, *seed);
	for (int i = 0; i < 4; i++)
		c->state[i] = rng_uniform(&c->rng, c->reset_low, c->reset_high);
	c->steps_beyond_terminated = -1;
	cp_obs(c, obs);
	env__empty_info(info, infolen);
	return 0;
}

/* One Euler step, each expression evaluated in Gymnasium's order. */
static bool cp_advance(struct cartpole *c, int action)
{
	double x = c->state[0], x_dot = c->state[1], theta = c->state[2], theta_dot = c->state[3];
	double force = action == 1 ? CP_FORCE_MAG : -CP_FORCE_MAG;
	double costheta = cos(theta), sintheta = sin(theta);
	double temp = (force + c->polemass_length * (theta_dot * theta_dot) * sintheta) / c->total_mass;
	double thetaacc = (CP_GRAVITY * sintheta - costheta * temp) /
			  (CP_LENGTH * (4.0 / 3.0 - CP_MASSPOLE * (costheta * costheta) / c->total_mass));
	double xacc = temp - c->polemass_length * thetaacc * costheta / c->total_mass;
	x = x + CP_TAU * x_dot;
	x_dot = x_dot + CP_TAU * xacc;
	theta = theta + CP_TAU * theta_dot;
	theta_dot = theta_dot + CP_TAU * thetaacc;
	c->state[0] = x;
	c->state[1] = x_dot;
	c->state[2] = theta;
	c->state[3] = theta_dot;
	return x < -CP_X_THRESHOLD || x > CP_X_THRESHOLD || theta < -c->theta_threshold ||
	       theta > c->theta_threshold;
}

static int cp_step(void *env, const double *action, double *obs, struct hippo_step_result *res,
		   char *info, size_t infolen, char *err, size_t errlen)
{
	struct cartpole *c = env;
	if (!(action[0] == 0 || action[0] == 1))
		return env__fail(err, errlen, "action must be 0 or 1");
	bool terminated = cp_advance(c, (int)action[0]);
	double reward;
	if (!terminated) {
		reward = c->sutton_barto ? 0.0 : 1.0;
	} else if (c->steps_beyond_terminated < 0) {
		c->steps_beyond_terminated = 0;
		reward = c->sutton_barto ? -1.0 : 1.0;
	} else {
		c->steps_beyond_terminated++;
		reward = c->sutton_barto ? -1.0 : 0.0;
	}
	res->reward = reward;
	res->terminated = terminated;
	res->truncated = false;
	cp_obs(c, obs);
	env__empty_info(info, infolen);
	return 0;
}

/* Gymnasium draws with y up and flips the surface; Y maps y-up to rows. */
#define Y(v) (CP_H - (v))

static int cp_render(void *env, uint8_t *rgb, size_t stride, char *err, size_t errlen)
{
	struct cartpole *c = env;
	struct raster r;
	raster_init(&r, rgb, CP_W, CP_H, stride);
	raster_clear(&r, (struct rgb){255, 255, 255});

	const double world_width = CP_X_THRESHOLD * 2, scale = CP_W / world_width;
	const double polewidth = 10.0, polelen = scale * (2 * CP_LENGTH);
	const double cartwidth = 50.0, cartheight = 30.0, axleoffset = cartheight / 4.0;
	const double cartx = c->state[0] * scale + CP_W / 2.0, carty = 100;

	double l = -cartwidth / 2, rr = cartwidth / 2, t = cartheight / 2, b = -cartheight / 2;
	struct pt cart[4] = {{l + cartx, Y(b + carty)},
			     {l + cartx, Y(t + carty)},
			     {rr + cartx, Y(t + carty)},
			     {rr + cartx, Y(b + carty)}};
	raster_fill_polygon(&r, cart, 4, (struct rgb){0, 0, 0});

	l = -polewidth / 2, rr = polewidth / 2, t = polelen - polewidth / 2, b = -polewidth / 2;
	const double corners[4][2] = {{l, b}, {l, t}, {rr, t}, {rr, b}};
	const double a = -c->state[2], ca = cos(a), sa = sin(a);
	struct pt pole[4];
	for (int i = 0; i < 4; i++) {
		double px = corners[i][0] * ca - corners[i][1] * sa;
		double py = corners[i][0] * sa + corners[i][1] * ca;
		pole[i] = (struct pt){px + cartx, Y(py + carty + axleoffset)};
	}
	raster_fill_polygon(&r, pole, 4, (struct rgb){202, 152, 101});
	raster_fill_circle(&r, (int)cartx + 0.5, Y((int)(carty + axleoffset)) - 0.5, polewidth / 2,
			   (struct rgb){129, 132, 203});
	raster_fill_rect(&r, 0, CP_H - 1 - (int)carty, CP_W, 1, (struct rgb){0, 0, 0});
	return 0;
}

#define CP_OPS(sym, name, create_fn)                                                   \
	const struct hippo_env_ops sym = {                                             \
		.abi_version = HIPPO_ENV_ABI_VERSION,                                  \
		.id = name,                                                            \
		.summary = "balance a pole on a cart by pushing it left or right",    \
		.create = create_fn,                                                   \
		.destroy = cp_destroy,                                                 \
		.info = cp_get_info,                                                   \
		.reset = cp_reset,                                                     \
		.step = cp_step,                                                       \
		.render = cp_render,                                                   \
	}

CP_OPS(env_cartpole_v1_ops, "CartPole-v1", cp_create_v1);
CP_OPS(env_cartpole_v0_ops, "CartPole-v0", cp_create_v0);
