/* test_env: the registry and the host wrapper (struct env): lookup and
 * suggestions, ABI version check, action validation, the TimeLimit, reset
 * continuing the generator, rendering and encoding a frame. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "env/env.h"
#include "render/encode.h"
#include "test.h"

static void test_registry_lists_and_finds_ids(void)
{
	CHECK(env_builtin_count() >= 2);
	for (size_t i = 0; i < env_builtin_count(); i++) {
		const struct hippo_env_ops *o = env_builtin(i);
		CHECK(o && o->abi_version == HIPPO_ENV_ABI_VERSION);
		CHECK(env_find(o->id) == o);
	}
	CHECK(env_find("CartPole-v1") != NULL);
	CHECK(env_find("cartpole-v1") == NULL);
	CHECK(env_builtin(env_builtin_count()) == NULL);
}

static void test_unknown_id_suggests_closest(void)
{
	struct env e;
	char err[256];
	CHECK(env_open(&e, "CartPole-v2", NULL, err, sizeof err) != 0);
	CHECK(strstr(err, "unknown environment 'CartPole-v2'") != NULL);
	CHECK(strstr(err, "CartPole-v1") != NULL);
	char near[128];
	env_suggest("cartpol", near, sizeof near);
	CHECK(strncmp(near, "CartPole-v", 10) == 0);
}

static void test_abi_version_mismatch_refused(void)
{
	struct hippo_env_ops bad = *env_find("CartPole-v1");
	bad.abi_version = HIPPO_ENV_ABI_VERSION + 1;
	struct env e;
	char err[256];
	CHECK(env_open_ops(&e, &bad, NULL, NULL, err, sizeof err) != 0);
	CHECK(strstr(err, "ABI version") != NULL);
}

static void test_bad_options_refused(void)
{
	struct env e;
	char err[256];
	CHECK(env_open(&e, "CartPole-v1", "{\"gravity\": 3}", err, sizeof err) != 0);
	CHECK(strstr(err, "unknown key 'gravity'") != NULL);
	CHECK(env_open(&e, "CartPole-v1", "[1,2", err, sizeof err) != 0);
	CHECK(env_open(&e, "CartPole-v1", "{\"low\": 1, \"high\": 0}", err, sizeof err) != 0);
	CHECK(env_open(&e, "CartPole-v1", "{\"sutton_barto_reward\": true}", err, sizeof err) == 0);
	env_close(&e);
}

static void test_step_validates_discrete_actions(void)
{
	struct env e;
	char err[256];
	CHECK(env_open(&e, "CartPole-v1", NULL, err, sizeof err) == 0);
	struct hippo_step_result res;
	double a = 0;
	CHECK(env_step(&e, &a, &res, NULL, 0) != 0); /* before reset */
	uint64_t seed = 3;
	CHECK(env_reset(&e, &seed, NULL, 0) == 0);
	a = 2;
	CHECK(env_step(&e, &a, &res, NULL, 0) != 0);
	CHECK(strstr(e.err, "out of range") != NULL);
	a = 0.5;
	CHECK(env_step(&e, &a, &res, NULL, 0) != 0);
	CHECK(strstr(e.err, "not an integer") != NULL);
	a = NAN;
	CHECK(env_step(&e, &a, &res, NULL, 0) != 0);
	a = -1;
	CHECK(env_step(&e, &a, &res, NULL, 0) != 0);
	a = 1;
	CHECK(env_step(&e, &a, &res, NULL, 0) == 0);
	env_close(&e);
}

static void test_step_validates_box_actions(void)
{
	struct env e;
	char err[256];
	CHECK(env_open(&e, "Pendulum-v1", NULL, err, sizeof err) == 0);
	uint64_t seed = 3;
	CHECK(env_reset(&e, &seed, NULL, 0) == 0);
	struct hippo_step_result res;
	double a = NAN;
	CHECK(env_step(&e, &a, &res, NULL, 0) != 0);
	CHECK(strstr(e.err, "NaN") != NULL);
	a = -INFINITY;
	CHECK(env_step(&e, &a, &res, NULL, 0) != 0);
	a = 1e300;
	CHECK(env_step(&e, &a, &res, NULL, 0) != 0);
	CHECK(strstr(e.err, "float32") != NULL);
	a = 7.5; /* out of [-2, 2]: clipped by the environment, as in Gymnasium */
	CHECK(env_step(&e, &a, &res, NULL, 0) == 0);
	env_close(&e);
}

static void test_time_limit_truncates(void)
{
	struct env e;
	char err[256];
	/* a simple controller (push towards the side the pole leans to) keeps it up */
	CHECK(env_open(&e, "CartPole-v0", "{\"low\": 0, \"high\": 0}", err, sizeof err) == 0);
	uint64_t seed = 0;
	CHECK(env_reset(&e, &seed, NULL, 0) == 0);
	struct hippo_step_result res = {0};
	int steps = 0;
	while (!res.terminated && !res.truncated && steps < 1000) {
		double a = e.obs[2] + 0.5 * e.obs[3] > 0 ? 1 : 0;
		CHECK(env_step(&e, &a, &res, NULL, 0) == 0);
		steps++;
	}
	CHECK_INT(steps, 200);
	CHECK(res.truncated);
	CHECK(!res.terminated);
	double a = 0;
	CHECK(env_step(&e, &a, &res, NULL, 0) != 0); /* needs a reset now */
	CHECK(env_reset(&e, NULL, NULL, 0) == 0);
	CHECK(env_step(&e, &a, &res, NULL, 0) == 0);
	env_close(&e);
}

static void test_reset_without_seed_continues_generator(void)
{
	struct env a, b;
	char err[256], info[16];
	CHECK(env_open(&a, "CartPole-v1", NULL, err, sizeof err) == 0);
	CHECK(env_open(&b, "CartPole-v1", NULL, err, sizeof err) == 0);
	uint64_t seed = 42;
	CHECK(env_reset(&a, &seed, info, sizeof info) == 0);
	CHECK_STR(info, "{}");
	CHECK(env_reset(&a, NULL, NULL, 0) == 0);
	CHECK(env_reset(&b, &seed, NULL, 0) == 0);
	double first[4];
	memcpy(first, b.obs, sizeof first);
	CHECK(env_reset(&b, NULL, NULL, 0) == 0);
	for (int i = 0; i < 4; i++)
		CHECK_EXACT(a.obs[i], b.obs[i]);
	CHECK(first[0] != b.obs[0]);
	env_close(&a);
	env_close(&b);
}

static void test_render_and_encode_cartpole(void)
{
	struct env e;
	char err[256];
	CHECK(env_open(&e, "CartPole-v1", NULL, err, sizeof err) == 0);
	uint64_t seed = 1;
	CHECK(env_reset(&e, &seed, NULL, 0) == 0);
	int w = e.info->meta.render_width, h = e.info->meta.render_height;
	CHECK_INT(w, 600);
	CHECK_INT(h, 400);
	uint8_t *px = malloc((size_t)w * h * 3);
	CHECK(env_render(&e, px, (size_t)w * 3) == 0);
	/* background white, track black, cart black, pole brown near the axle */
	CHECK_INT(px[(10 * w + 10) * 3], 255);
	CHECK_INT(px[(299 * w + 10) * 3 + 1], 0);
	int cx = w / 2 + (int)(e.obs[0] * w / 4.8);
	CHECK_INT(px[(300 * w + cx) * 3], 0);
	uint8_t *pole = px + ((size_t)(400 - 160) * w + cx) * 3;
	CHECK(pole[0] == 202 && pole[1] == 152 && pole[2] == 101);
	struct enc_jpeg *j = enc_jpeg_new(80);
	size_t len = 0;
	const uint8_t *jpg = enc_jpeg_encode(j, px, w, h, (size_t)w * 3, &len);
	CHECK(jpg && len > 100 && jpg[0] == 0xff && jpg[1] == 0xd8);
	const uint8_t *again = enc_jpeg_encode(j, px, w, h, (size_t)w * 3, &len);
	CHECK(again == jpg); /* buffer reused */
	enc_jpeg_free(j);
	uint8_t *png;
	CHECK(enc_png_encode(px, w, h, (size_t)w * 3, &png, &len, err, sizeof err) == 0);
	CHECK(len > 8 && memcmp(png, "\x89PNG\r\n\x1a\n", 8) == 0);
	free(png);
	free(px);
	env_close(&e);
}

int main(void)
{
	RUN(test_registry_lists_and_finds_ids);
	RUN(test_unknown_id_suggests_closest);
	RUN(test_abi_version_mismatch_refused);
	RUN(test_bad_options_refused);
	RUN(test_step_validates_discrete_actions);
	RUN(test_step_validates_box_actions);
	RUN(test_time_limit_truncates);
	RUN(test_reset_without_seed_continues_generator);
	RUN(test_render_and_encode_cartpole);
	return test_summary();
}
