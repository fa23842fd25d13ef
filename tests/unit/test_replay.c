/* The replay engine's episode API (src/replay/replay.h), as the researcher
 * console uses it: records of two episodes of a trial are written the way
 * the recorder writes them (episode 2 continuing episode 1's generator), then
 * episode 2 is opened, sought forwards and backwards, and its observations and
 * frames compared with a direct run of the environment. */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "env/env.h"
#include "replay/replay.h"
#include "test.h"

#define MAXS 64

struct run {
	const char *game;
	int nact;                     /* discrete actions */
	int len[2];                   /* steps of episodes 1 and 2 */
	int actions[2][MAXS];
	double obs[2][MAXS + 1][160]; /* observations after reset and each step */
	size_t obs_n;
};

static char tmpdir[256];

static void write_obs(FILE *f, const double *o, size_t n, bool f64)
{
	fputs("\"observation\":[", f);
	for (size_t i = 0; i < n; i++)
		fprintf(f, f64 ? "%s%.17g" : "%s%.9g", i ? "," : "", o[i]);
	fputs("]", f);
}

/* Plays two episodes of R->game (seed 7, episode 2 unseeded) and writes their
 * records under DATA/p/trials/u/. */
static void make_records(struct run *r, const char *user, const char *trial)
{
	char dir[512], path[600], err[256];
	snprintf(dir, sizeof dir, "%s/data/p/trials/%s", tmpdir, user);
	char cmd[700];
	snprintf(cmd, sizeof cmd, "mkdir -p '%s'", dir);
	CHECK(system(cmd) == 0);
	struct env e;
	CHECK(env_open(&e, r->game, NULL, err, sizeof err) == 0);
	r->obs_n = e.obs_n;
	bool f64 = e.info->observation_space.dtype == HIPPO_DTYPE_FLOAT64;
	snprintf(path, sizeof path, "%s/trials.jsonl", dir);
	FILE *m = fopen(path, "w");
	fprintf(m, "{\"event\":\"start\",\"trialId\":\"%s\",\"game\":\"%s\",\"seed\":7,"
		   "\"env\":{\"id\":\"%s\",\"source\":\"builtin\"}}\n",
		trial, r->game, r->game);
	fclose(m);
	uint64_t seed = 7;
	unsigned rs = 1;
	for (int ep = 0; ep < 2; ep++) {
		snprintf(path, sizeof path, "%s/episode_%d.jsonl", dir, ep + 1);
		FILE *f = fopen(path, "w");
		CHECK(env_reset(&e, ep == 0 ? &seed : NULL, NULL, 0) == 0);
		memcpy(r->obs[ep][0], e.obs, e.obs_n * sizeof(double));
		fprintf(f, "{\"trialId\":\"%s\",\"episode\":%d,\"step\":0,\"reset\":true,", trial,
			ep + 1);
		write_obs(f, e.obs, e.obs_n, f64);
		fputs("}\n", f);
		int s = 0;
		for (; s < r->len[ep]; s++) {
			int a = (int)(rand_r(&rs) % (unsigned)r->nact);
			double act = a;
			struct hippo_step_result res;
			CHECK(env_step(&e, &act, &res, NULL, 0) == 0);
			r->actions[ep][s] = a;
			memcpy(r->obs[ep][s + 1], e.obs, e.obs_n * sizeof(double));
			fprintf(f, "{\"trialId\":\"%s\",\"episode\":%d,\"step\":%d,\"action\":%d,"
				   "\"reward\":%.17g,\"terminated\":%s,\"truncated\":%s,",
				trial, ep + 1, s + 1, a, res.reward, res.terminated ? "true" : "false",
				res.truncated ? "true" : "false");
			write_obs(f, e.obs, e.obs_n, f64);
			fputs("}\n", f);
			if (res.terminated || res.truncated) {
				s++;
				break;
			}
		}
		r->len[ep] = s;
		fclose(f);
	}
	env_close(&e);
}

static bool obs_equal(const double *a, const double *b, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if ((float)a[i] != (float)b[i])
			return false;
	return true;
}

/* Draws the state after STEPS of episode 2 with a fresh environment. */
static uint8_t *direct_frame(const struct run *r, int steps, int *w, int *h)
{
	struct env e;
	char err[256];
	uint64_t seed = 7;
	if (env_open(&e, r->game, NULL, err, sizeof err) != 0)
		return NULL;
	env_reset(&e, &seed, NULL, 0);
	for (int s = 0; s < r->len[0]; s++) {
		double a = r->actions[0][s];
		struct hippo_step_result res;
		env_step(&e, &a, &res, NULL, 0);
	}
	env_reset(&e, NULL, NULL, 0);
	for (int s = 0; s < steps; s++) {
		double a = r->actions[1][s];
		struct hippo_step_result res;
		env_step(&e, &a, &res, NULL, 0);
	}
	*w = e.info->meta.render_width;
	*h = e.info->meta.render_height;
	uint8_t *rgb = malloc((size_t)*w * (size_t)*h * 3);
	env_render(&e, rgb, (size_t)*w * 3);
	env_close(&e);
	return rgb;
}

static void check_game(const char *game, int nact, const char *user)
{
	static struct run r;
	memset(&r, 0, sizeof r);
	r.game = game;
	r.nact = nact;
	r.len[0] = 12;
	r.len[1] = 20;
	make_records(&r, user, "T1");
	char data[300], err[300];
	snprintf(data, sizeof data, "%s/data", tmpdir);
	struct rp_episode *e = rp_episode_open(data, "p", user, "T1", 2, err, sizeof err);
	CHECK(e != NULL);
	if (!e) {
		fprintf(stderr, "%s: %s\n", game, err);
		return;
	}
	CHECK_INT(rp_episode_steps(e), r.len[1]);
	size_t n;
	const double *o = rp_obs(rp_episode_replay(e), &n);
	CHECK_INT(n, r.obs_n);
	CHECK(obs_equal(o, r.obs[1][0], n)); /* episode 2's reset continues the generator */
	int order[] = {5, r.len[1], 2, 0, 7};
	for (size_t k = 0; k < sizeof order / sizeof order[0]; k++) {
		CHECK(rp_episode_seek(e, order[k], err, sizeof err) == 0);
		o = rp_obs(rp_episode_replay(e), &n);
		CHECK(obs_equal(o, r.obs[1][order[k]], n));
		CHECK_INT(rp_episode_replay(e)->step, order[k]);
	}
	int w = 0, h = 0, w2, h2;
	CHECK(rp_episode_frame(e, NULL, 0, &w, &h, err, sizeof err) == 0 && w > 0 && h > 0);
	uint8_t *rgb = malloc((size_t)w * (size_t)h * 3);
	CHECK(rp_episode_frame(e, rgb, (size_t)w * 3, &w, &h, err, sizeof err) == 0);
	uint8_t *want = direct_frame(&r, 7, &w2, &h2);
	CHECK(want && w2 == w && h2 == h && memcmp(rgb, want, (size_t)w * (size_t)h * 3) == 0);
	free(rgb);
	free(want);
	CHECK(rp_episode_seek(e, r.len[1] + 1, err, sizeof err) == -1);
	CHECK(strstr(err, "out of range") != NULL);
	rp_episode_close(e);
}

static void test_cartpole_episode_seek_and_frames(void)
{
	check_game("CartPole-v1", 2, "u1");
}

static void test_minigrid_episode_seek_and_frames(void)
{
	check_game("MiniGrid-DoorKey-5x5-v0", 7, "u2");
}

static void test_open_errors(void)
{
	char data[300], err[300];
	snprintf(data, sizeof data, "%s/data", tmpdir);
	CHECK(rp_episode_open(data, "p", "u1", "T1", 3, err, sizeof err) == NULL);
	CHECK(strstr(err, "episode 3 has no records") != NULL);
	CHECK(rp_episode_open(data, "p", "u1", "T9", 1, err, sizeof err) == NULL);
	CHECK(strstr(err, "no start line for trial T9") != NULL);
	CHECK(rp_episode_open(data, "p", "../u1", "T1", 1, err, sizeof err) == NULL);
	CHECK(rp_episode_open(data, "p", "u1", "T1", 0, err, sizeof err) == NULL);
}

static void test_compare_names_the_first_difference(void)
{
	struct replay r;
	char err[256], why[512];
	CHECK(rp_open(&r, "CartPole-v1", NULL, 3, err, sizeof err) == 0);
	CHECK(rp_reset(&r, err, sizeof err) == 0);
	char line[512];
	snprintf(line, sizeof line, "{\"step\":0,\"observation\":[%.9g,%.9g,%.9g,%.9g]}", r.env.obs[0],
		 r.env.obs[1], r.env.obs[2], r.env.obs[3]);
	json_t *j = json_loads(line, 0, NULL);
	CHECK(rp_compare(&r, j, false, why, sizeof why) == 0);
	json_array_set_new(json_object_get(j, "observation"), 2,
			   json_real((double)(float)r.env.obs[2] + 1e-7));
	CHECK(rp_compare(&r, j, false, why, sizeof why) == 1);
	CHECK(strstr(why, "observation[2]: recorded") != NULL);
	json_decref(j);
	double a = 1;
	CHECK(rp_step(&r, &a, err, sizeof err) == 0);
	j = json_pack("{s:i,s:i,s:f,s:b,s:b}", "step", 1, "action", 1, "reward", 1.0, "terminated",
		      0, "truncated", 1);
	CHECK(rp_compare(&r, j, true, why, sizeof why) == 1);
	CHECK(strstr(why, "truncated: recorded true, re-simulated false") != NULL);
	json_decref(j);
	rp_close(&r);
}

int main(void)
{
	snprintf(tmpdir, sizeof tmpdir, "/tmp/hippo-test-replay-XXXXXX");
	if (!mkdtemp(tmpdir))
		return 1;
	RUN(test_cartpole_episode_seek_and_frames);
	RUN(test_minigrid_episode_seek_and_frames);
	RUN(test_open_errors);
	RUN(test_compare_names_the_first_difference);
	char cmd[400];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
	if (system(cmd) != 0)
		fprintf(stderr, "cannot remove %s\n", tmpdir);
	return test_summary();
}
