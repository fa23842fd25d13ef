/* test_classic: full rollouts of the classic-control environments through
 * the host wrapper (reset with a seed, or continuing the generator; fixed
 * action sequences; through termination and the TimeLimit truncation),
 * compared bit for bit with the trajectories in classic_ref.h, which
 * tests/reference/classic_reference.py derives independently from
 * Gymnasium's equations and numpy's generator. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "env/env.h"
#include "test.h"

struct ref_episode {
	const char *id;
	const char *options;
	long long seed; /* -1: reset without a seed, continuing the previous episode's env */
	int cont;
	int adim, odim, nsteps;
	const double *act;
	const float *obs;
	const double *rew;
	const unsigned char *flags; /* 1 terminated, 2 truncated */
};

#include "classic_ref.h"

#define NREF (sizeof ref_episodes / sizeof ref_episodes[0])

/* Compares the float32 observation in E with REF; returns the number of mismatches. */
static int obs_mismatch(const struct env *e, const float *ref, int odim, const char *what,
			size_t ep, int step)
{
	int bad = 0;
	for (int i = 0; i < odim; i++) {
		if ((float)e->obs[i] != ref[i] || e->obs[i] != (double)ref[i]) {
			fprintf(stderr, "episode %zu (%s) %s %d obs[%d]: %.9g, expected %.9g\n", ep,
				ref_episodes[ep].id, what, step, i, e->obs[i], (double)ref[i]);
			bad++;
		}
	}
	return bad;
}

static void check_episode(struct env *e, size_t k)
{
	const struct ref_episode *r = &ref_episodes[k];
	CHECK_INT((long long)e->obs_n, r->odim);
	uint64_t seed = (uint64_t)r->seed;
	CHECK(env_reset(e, r->seed >= 0 ? &seed : NULL, NULL, 0) == 0);
	int bad = obs_mismatch(e, r->obs, r->odim, "reset", k, 0);
	for (int s = 0; s < r->nsteps && !bad; s++) {
		struct hippo_step_result res;
		if (env_step(e, &r->act[s * r->adim], &res, NULL, 0) != 0) {
			fprintf(stderr, "episode %zu step %d: %s\n", k, s + 1, e->err);
			bad++;
			break;
		}
		bad += obs_mismatch(e, &r->obs[(s + 1) * r->odim], r->odim, "step", k, s + 1);
		if (res.reward != r->rew[s]) {
			fprintf(stderr, "episode %zu (%s) step %d reward %.17g, expected %.17g\n", k,
				r->id, s + 1, res.reward, r->rew[s]);
			bad++;
		}
		int flags = (res.terminated ? 1 : 0) | (res.truncated ? 2 : 0);
		if (flags != r->flags[s]) {
			fprintf(stderr, "episode %zu (%s) step %d flags %d, expected %d\n", k, r->id,
				s + 1, flags, r->flags[s]);
			bad++;
		}
	}
	CHECK_INT(bad, 0);
}

/* Runs every reference episode of environment ID (NULL: all). */
static void run_env(const char *id)
{
	struct env e;
	int open = 0, episodes = 0;
	for (size_t k = 0; k < NREF; k++) {
		const struct ref_episode *r = &ref_episodes[k];
		if (!r->cont && open) {
			env_close(&e);
			open = 0;
		}
		if (id && strcmp(r->id, id) != 0)
			continue;
		if (!open) {
			char err[256];
			if (env_open(&e, r->id, r->options, err, sizeof err) != 0) {
				fprintf(stderr, "%s\n", err);
				CHECK(0);
				continue;
			}
			open = 1;
		}
		check_episode(&e, k);
		episodes++;
	}
	if (open)
		env_close(&e);
	printf("%s: %d reference episodes\n", id, episodes);
	CHECK(episodes >= 3);
}

static void test_cartpole_v1_matches_reference(void) { run_env("CartPole-v1"); }
static void test_cartpole_v0_matches_reference(void)
{
	/* v0 has one episode: balanced to its 200-step TimeLimit */
	struct env e;
	char err[256];
	CHECK(env_open(&e, "CartPole-v0", NULL, err, sizeof err) == 0);
	for (size_t k = 0; k < NREF; k++)
		if (strcmp(ref_episodes[k].id, "CartPole-v0") == 0) {
			check_episode(&e, k);
			CHECK_INT(ref_episodes[k].flags[ref_episodes[k].nsteps - 1], 2);
		}
	env_close(&e);
}
static void test_mountain_car_matches_reference(void) { run_env("MountainCar-v0"); }
static void test_mountain_car_continuous_matches_reference(void)
{
	run_env("MountainCarContinuous-v0");
}
static void test_acrobot_matches_reference(void) { run_env("Acrobot-v1"); }
static void test_pendulum_matches_reference(void) { run_env("Pendulum-v1"); }

static void test_reference_covers_termination_and_truncation(void)
{
	int term = 0, trunc = 0;
	for (size_t k = 0; k < NREF; k++) {
		unsigned char f = ref_episodes[k].flags[ref_episodes[k].nsteps - 1];
		term += (f & 1) != 0;
		trunc += (f & 2) != 0;
	}
	CHECK(term >= 5);
	CHECK(trunc >= 3);
}

int main(void)
{
	RUN(test_cartpole_v1_matches_reference);
	RUN(test_cartpole_v0_matches_reference);
	RUN(test_mountain_car_matches_reference);
	RUN(test_mountain_car_continuous_matches_reference);
	RUN(test_acrobot_matches_reference);
	RUN(test_pendulum_matches_reference);
	RUN(test_reference_covers_termination_and_truncation);
	return test_summary();
}
