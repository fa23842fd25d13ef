/* mountain_car: Gymnasium's MountainCar-v0 (mountain_car.py) and
 * MountainCarContinuous-v0 (continuous_mountain_car.py).
 *
 * MountainCar-v0 keeps its state in float64 throughout. The continuous
 * variant stores its state as float32 after every step and mixes float32
 * numpy scalars with Python floats; its arithmetic is reproduced with
 * NumPy >= 2 promotion rules (NEP 50: a Python float meeting a float32 scalar
 * is rounded to float32 and the operation is done in float32). See
 * docs/environments.md.
 *
 * Options: "low"/"high" (reset bounds for the position, default -0.6/-0.4),
 * "goal_velocity" (default 0). */
#include <math.h>
#include <stdlib.h>

#include "env/builtin.h"
#include "env/rng.h"
#include "render/raster.h"

#define MC_MIN_POSITION -1.2
#define MC_MAX_POSITION 0.6
#define MC_MAX_SPEED    0.07
#define MC_FORCE        0.001
#define MC_GRAVITY      0.0025
#define MC_POWER        0.0015
#define MC_W 600
#define MC_H 400

static const char *const mc_action_names[] = {"left", "noop", "right"};
static const double mc_action_low[1] = {-1.0}, mc_action_high[1] = {1.0};

struct mountain_car {
	struct hippo_env_info info;
	double obs_low[2], obs_high[2];
	struct rng rng;
	bool continuous;
	bool state_f32;  /* continuous: state holds float32 values (after a step) */
	double position, velocity;
	double goal_position, goal_velocity;
	double reset_low, reset_high;
};

static int mc_create(const struct hippo_env_args *args, void **env, char *err, size_t errlen,
		     bool continuous)
{
	static const char *const allowed[] = {"low", "high", "goal_velocity", NULL};
	json_t *opts;
	if (env__options(args->options_json, allowed, &opts, err, errlen) != 0)
		return -1;
	struct mountain_car *m = calloc(1, sizeof *m);
	if (!m) {
		json_decref(opts);
		return env__fail(err, errlen, "out of memory");
	}
	m->continuous = continuous;
	m->reset_low = -0.6;
	m->reset_high = -0.4;
	m->goal_position = continuous ? 0.45 : 0.5;
	m->goal_velocity = 0;
	if (env__reset_bounds(opts, &m->reset_low, &m->reset_high, err, errlen) ||
	    env__opt_number(opts, "goal_velocity", &m->goal_velocity, err, errlen)) {
		json_decref(opts);
		free(m);
		return -1;
	}
	json_decref(opts);
	m->obs_low[0] = env__f32(MC_MIN_POSITION);
	m->obs_low[1] = env__f32(-MC_MAX_SPEED);
	m->obs_high[0] = env__f32(MC_MAX_POSITION);
	m->obs_high[1] = env__f32(MC_MAX_SPEED);
	m->info = (struct hippo_env_info){
		.id = continuous ? "MountainCarContinuous-v0" : "MountainCar-v0",
		.observation_space = {.kind = HIPPO_SPACE_BOX,
				      .dtype = HIPPO_DTYPE_FLOAT32,
				      .ndim = 1,
				      .shape = {2},
				      .low = m->obs_low,
				      .high = m->obs_high},
		.meta = {.max_episode_steps = continuous ? 999 : 200,
			 .reward_threshold = continuous ? 90.0 : -110.0,
			 .render_fps = 30,
			 .render_width = MC_W,
			 .render_height = MC_H},
	};
	if (continuous)
		m->info.action_space = (struct hippo_space){.kind = HIPPO_SPACE_BOX,
							     .dtype = HIPPO_DTYPE_FLOAT32,
							     .ndim = 1,
							     .shape = {1},
							     .low = mc_action_low,
							     .high = mc_action_high};
	else
		m->info.action_space = (struct hippo_space){
			.kind = HIPPO_SPACE_DISCRETE, .n = 3, .action_names = mc_action_names};
	rng_seed_random(&m->rng);
	*env = m;
	return 0;
}

static int mc_create_discrete(const struct hippo_env_args *args, void **env, char *err,
			      size_t errlen)
{
	return mc_create(args, env, err, errlen, false);
}

static int mc_create_continuous(const struct hippo_env_args *args, void **env, char *err,
				size_t errlen)
{
	return mc_create(args, env, err, errlen, true);
}

static void mc_destroy(void *env)
{
	free(env);
}

static const struct hippo_env_info *mc_get_info(void *env)
{
	return &((struct mountain_car *)env)->info;
}

static void mc_obs(const struct mountain_car *m, double *obs)
{
	obs[0] = env__f32(m->position);
	obs[1] = env__f32(m->velocity);
}

static int mc_reset(void *env, const uint64_t *seed, double *obs, char *info, size_t infolen,
		    char *err, size_t errlen)
{
	struct mountain_car *m = env;
	if (seed)
		rng_seed(&m->rng, *seed);
	/* np.array([np_random.uniform(low, high), 0]): float64 */
	m->position = rng_uniform(&m->rng, m->reset_low, m->reset_high);
	m->velocity = 0;
	m->state_f32 = false;
	mc_obs(m, obs);
	env__empty_info(info, infolen);
	return 0;
}

/* MountainCar-v0's step, all float64. */
static bool mc_step_discrete(struct mountain_car *m, int action)
{
	double position = m->position, velocity = m->velocity;
	velocity = velocity + ((action - 1) * MC_FORCE + cos(3 * position) * (-MC_GRAVITY));
	velocity = fmin(fmax(velocity, -MC_MAX_SPEED), MC_MAX_SPEED);
	position = position + velocity;
	position = fmin(fmax(position, MC_MIN_POSITION), MC_MAX_POSITION);
	if (position == MC_MIN_POSITION && velocity < 0)
		velocity = 0;
	m->position = position;
	m->velocity = velocity;
	return position >= m->goal_position && velocity >= m->goal_velocity;
}

/* A scalar as the continuous env's Python code sees it: a Python float, a
 * numpy float32 or a numpy float64, with NEP 50 promotion between them. */
enum num_kind { NUM_PY, NUM_F32, NUM_F64 };
struct num {
	double v;
	enum num_kind k;
};

static struct num num_make(double v, enum num_kind k)
{
	return (struct num){k == NUM_F32 ? env__f32(v) : v, k};
}

static enum num_kind num_promote(struct num a, struct num b)
{
	if (a.k == NUM_F64 || b.k == NUM_F64)
		return NUM_F64;
	if (a.k == NUM_F32 || b.k == NUM_F32)
		return NUM_F32;
	return NUM_PY;
}

/* In a float32 operation both operands are float32 values and the exact
 * result is rounded once to float32 (rounding through double first is
 * harmless for + - *: 53 >= 2 * 24 + 2 bits). */
static struct num num_add(struct num a, struct num b)
{
	enum num_kind k = num_promote(a, b);
	if (k == NUM_F32)
		return num_make(env__f32(a.v) + env__f32(b.v), k);
	return num_make(a.v + b.v, k);
}

static struct num num_sub(struct num a, struct num b)
{
	enum num_kind k = num_promote(a, b);
	if (k == NUM_F32)
		return num_make(env__f32(a.v) - env__f32(b.v), k);
	return num_make(a.v - b.v, k);
}

static struct num num_mul(struct num a, struct num b)
{
	enum num_kind k = num_promote(a, b);
	if (k == NUM_F32)
		return num_make(env__f32(a.v) * env__f32(b.v), k);
	return num_make(a.v * b.v, k);
}

/* a > b, a < b, a == b, a >= b with the same promotion. */
static int num_cmp(struct num a, double b_py)
{
	double av = a.v, bv = a.k == NUM_F32 ? env__f32(b_py) : b_py;
	return av < bv ? -1 : av > bv ? 1 : 0;
}

#define PY(x) ((struct num){(x), NUM_PY})

/* Continuous_MountainCarEnv.step() with NEP 50 semantics; ACTION is the
 * action's float32 value. Returns terminated. */
static bool mc_step_continuous(struct mountain_car *m, double action)
{
	enum num_kind sk = m->state_f32 ? NUM_F32 : NUM_F64;
	struct num position = {m->position, sk}, velocity = {m->velocity, sk};
	struct num a = {action, NUM_F32};

	/* force = min(max(action[0], min_action), max_action) */
	struct num force = a;
	if (-1.0 > force.v)
		force = PY(-1.0);
	if (1.0 < force.v)
		force = PY(1.0);
	/* velocity += force * power - 0.0025 * math.cos(3 * position) */
	struct num three_pos = num_mul(PY(3), position);
	struct num slope = PY(0.0025 * cos(three_pos.v));
	velocity = num_add(velocity, num_sub(num_mul(force, PY(MC_POWER)), slope));
	if (num_cmp(velocity, MC_MAX_SPEED) > 0)
		velocity = PY(MC_MAX_SPEED);
	if (num_cmp(velocity, -MC_MAX_SPEED) < 0)
		velocity = PY(-MC_MAX_SPEED);
	position = num_add(position, velocity);
	if (num_cmp(position, MC_MAX_POSITION) > 0)
		position = PY(MC_MAX_POSITION);
	if (num_cmp(position, MC_MIN_POSITION) < 0)
		position = PY(MC_MIN_POSITION);
	if (num_cmp(position, MC_MIN_POSITION) == 0 && num_cmp(velocity, 0) < 0)
		velocity = PY(0);
	bool terminated = num_cmp(position, m->goal_position) >= 0 &&
			  num_cmp(velocity, m->goal_velocity) >= 0;
	/* self.state = np.array([position, velocity], dtype=np.float32) */
	m->position = env__f32(position.v);
	m->velocity = env__f32(velocity.v);
	m->state_f32 = true;
	return terminated;
}

static int mc_step(void *env, const double *action, double *obs, struct hippo_step_result *res,
		   char *info, size_t infolen, char *err, size_t errlen)
{
	struct mountain_car *m = env;
	if (m->continuous) {
		if (!isfinite(action[0]))
			return env__fail(err, errlen, "action must be a finite number");
		double a = env__f32(action[0]); /* the action space's dtype */
		res->terminated = mc_step_continuous(m, a);
		double reward = res->terminated ? 100.0 : 0;
		reward -= pow(a, 2) * 0.1;
		res->reward = reward;
	} else {
		if (!(action[0] == 0 || action[0] == 1 || action[0] == 2))
			return env__fail(err, errlen, "action must be 0, 1 or 2");
		res->terminated = mc_step_discrete(m, (int)action[0]);
		res->reward = -1.0;
	}
	res->truncated = false;
	mc_obs(m, obs);
	env__empty_info(info, infolen);
	return 0;
}

static double mc_height(double x)
{
	return sin(3 * x) * 0.45 + 0.55;
}

#define Y(v) (MC_H - (v))

/* Rotates (X, Y) by A radians counter-clockwise (pygame's Vector2.rotate_rad). */
static void rotate(double x, double y, double a, double *ox, double *oy)
{
	*ox = x * cos(a) - y * sin(a);
	*oy = x * sin(a) + y * cos(a);
}

static int mc_render(void *env, uint8_t *rgb, size_t stride, char *err, size_t errlen)
{
	struct mountain_car *m = env;
	struct raster r;
	const struct rgb black = {0, 0, 0};
	raster_init(&r, rgb, MC_W, MC_H, stride);
	raster_clear(&r, (struct rgb){255, 255, 255});
	const double scale = MC_W / (MC_MAX_POSITION - MC_MIN_POSITION);
	const double carwidth = 40, carheight = 20, clearance = 10;

	/* the hill: 100 points joined by 1-pixel anti-aliased lines */
	struct pt prev = {0, 0};
	for (int i = 0; i < 100; i++) {
		double x = MC_MIN_POSITION + (MC_MAX_POSITION - MC_MIN_POSITION) * i / 99.0;
		struct pt p = {(x - MC_MIN_POSITION) * scale, Y(mc_height(x) * scale)};
		if (i)
			raster_line(&r, prev, p, 1.0, black);
		prev = p;
	}

	const double pos = m->position, ang = cos(3 * pos);
	const double bx = (pos - MC_MIN_POSITION) * scale, by = clearance + mc_height(pos) * scale;
	const double l = -carwidth / 2, rr = carwidth / 2, t = carheight, b = 0;
	const double corners[4][2] = {{l, b}, {l, t}, {rr, t}, {rr, b}};
	struct pt car[4];
	for (int i = 0; i < 4; i++) {
		double cx, cy;
		rotate(corners[i][0], corners[i][1], ang, &cx, &cy);
		car[i] = (struct pt){cx + bx, Y(cy + by)};
	}
	raster_fill_polygon(&r, car, 4, black);
	const double wheels[2][2] = {{carwidth / 4, 0}, {-carwidth / 4, 0}};
	for (int i = 0; i < 2; i++) {
		double cx, cy;
		rotate(wheels[i][0], wheels[i][1], ang, &cx, &cy);
		raster_fill_circle(&r, (int)(cx + bx) + 0.5, Y((int)(cy + by)) - 0.5,
				   (int)(carheight / 2.5), (struct rgb){128, 128, 128});
	}

	const int flagx = (int)((m->goal_position - MC_MIN_POSITION) * scale);
	const int flagy1 = (int)(mc_height(m->goal_position) * scale), flagy2 = flagy1 + 50;
	raster_fill_rect(&r, flagx, MC_H - 1 - flagy2, 1, flagy2 - flagy1 + 1, black);
	struct pt flag[3] = {{flagx, Y(flagy2)}, {flagx, Y(flagy2 - 10)}, {flagx + 25, Y(flagy2 - 5)}};
	raster_fill_polygon(&r, flag, 3, (struct rgb){204, 204, 0});
	return 0;
}

const struct hippo_env_ops env_mountain_car_v0_ops = {
	.abi_version = HIPPO_ENV_ABI_VERSION,
	.id = "MountainCar-v0",
	.summary = "drive an underpowered car up a hill (push left, none, right)",
	.create = mc_create_discrete,
	.destroy = mc_destroy,
	.info = mc_get_info,
	.reset = mc_reset,
	.step = mc_step,
	.render = mc_render,
};

const struct hippo_env_ops env_mountain_car_continuous_v0_ops = {
	.abi_version = HIPPO_ENV_ABI_VERSION,
	.id = "MountainCarContinuous-v0",
	.summary = "drive an underpowered car up a hill with a continuous force in [-1, 1]",
	.create = mc_create_continuous,
	.destroy = mc_destroy,
	.info = mc_get_info,
	.reset = mc_reset,
	.step = mc_step,
	.render = mc_render,
};
