/* The tamer agent on CartPole-v1 with a scripted human: "good" when, after the
 * agent's action, the pole moves toward upright (angle and angular velocity of
 * opposite signs), "bad" otherwise, pressed 0.2-0.8 s (at 30 fps) after the
 * step it judges, as a person would. Seeded and deterministic: the mean
 * episode length of the last episodes must exceed the first ones by a margin.
 * Also: the external agent (a Python process) and the registry's messages. */
#include <stdlib.h>

#include "test.h"
#include "agent/agent.h"
#include "env/env.h"
#include "env/external.h"

#define FPS 30
#define EPISODES 12
#define K 3
#define MAX_STEPS 500

struct pending {
	long at;      /* trial step when the key is pressed */
	double value;
};

static uint64_t lcg(uint64_t *s)
{
	*s = *s * 6364136223846793005ULL + 1442695040888963407ULL;
	return *s >> 33;
}

/* Runs EPISODES episodes with the scripted human; fills LEN[] with episode
 * lengths. FEEDBACK false runs the same agent without any feedback. */
static void run_cartpole(struct agent *ag, struct env *e, bool feedback, int *len)
{
	struct pending q[64];
	int nq = 0;
	uint64_t human = 42;
	long t = 0;
	for (int ep = 0; ep < EPISODES; ep++) {
		uint64_t seed = 1000 + (uint64_t)ep;
		CHECK_INT(env_reset(e, &seed, NULL, 0), 0);
		struct hippo_step_result r = {0};
		int steps = 0;
		while (!r.terminated && !r.truncated && steps < MAX_STEPS) {
			double a;
			CHECK_INT(agent_act(ag, e->obs, t, &a), 0);
			CHECK_INT(env_step(e, &a, &r, NULL, 0), 0);
			double theta = e->obs[2], theta_dot = e->obs[3];
			if (feedback && nq < 64) {
				long delay = (long)(FPS * 0.2) + (long)(lcg(&human) % (FPS * 6 / 10 + 1));
				q[nq++] = (struct pending){t + delay,
							   theta * theta_dot < 0 ? 1.0 : -1.0};
			}
			/* keys pressed now refer to the frame on screen: step t */
			for (int i = 0; i < nq;) {
				if (q[i].at <= t) {
					agent_feedback(ag, t, q[i].value);
					q[i] = q[--nq];
				} else {
					i++;
				}
			}
			steps++;
			t++;
		}
		len[ep] = steps;
	}
}

static double mean(const int *v, int n)
{
	double s = 0;
	for (int i = 0; i < n; i++)
		s += v[i];
	return s / n;
}

static void tamer_learns_to_balance_from_feedback(void)
{
	struct env e;
	char err[256];
	CHECK_INT(env_open(&e, "CartPole-v1", NULL, err, sizeof err), 0);
	struct agent_args args = {.env = e.info, .seed = 7, .fps = FPS};
	struct agent ag;
	CHECK_INT(agent_open(&ag, "tamer", &args, err, sizeof err), 0);
	int len[EPISODES];
	run_cartpole(&ag, &e, true, len);
	printf("  episode lengths with feedback:");
	for (int i = 0; i < EPISODES; i++)
		printf(" %d", len[i]);
	double first = mean(len, K), last = mean(len + EPISODES - K, K);
	printf("\n  mean of first %d = %.1f, last %d = %.1f\n", K, first, K, last);
	CHECK(last >= 2 * first + 20);
	agent_close(&ag);

	/* the same agent without feedback stays where it started */
	CHECK_INT(agent_open(&ag, "tamer", &args, err, sizeof err), 0);
	int base[EPISODES];
	run_cartpole(&ag, &e, false, base);
	printf("  without feedback: mean of last %d = %.1f\n", K, mean(base + EPISODES - K, K));
	CHECK(mean(base + EPISODES - K, K) < last);
	agent_close(&ag);

	/* deterministic: a second run gives the same lengths */
	CHECK_INT(agent_open(&ag, "tamer", &args, err, sizeof err), 0);
	int again[EPISODES];
	run_cartpole(&ag, &e, true, again);
	CHECK(memcmp(len, again, sizeof len) == 0);
	agent_close(&ag);
	env_close(&e);
}

static void tamer_refuses_continuous_actions_and_bad_options(void)
{
	double lo = -1, hi = 1;
	struct hippo_env_info info = {
		.id = "Box-v0",
		.action_space = {.kind = HIPPO_SPACE_BOX, .ndim = 1, .shape = {1}, .low = &lo, .high = &hi},
		.observation_space = {.kind = HIPPO_SPACE_BOX, .ndim = 1, .shape = {1}, .low = &lo, .high = &hi},
	};
	struct agent_args args = {.env = &info, .fps = 30};
	struct agent ag;
	char err[256];
	CHECK_INT(agent_open(&ag, "tamer", &args, err, sizeof err), -1);
	CHECK(strstr(err, "discrete") != NULL);
	info.action_space = (struct hippo_space){.kind = HIPPO_SPACE_DISCRETE, .n = 3};
	args.options_json = "{\"tilings\": 0}";
	CHECK_INT(agent_open(&ag, "tamer", &args, err, sizeof err), -1);
	CHECK(strstr(err, "tilings") != NULL);
	args.options_json = "{\"speed\": 1}";
	CHECK_INT(agent_open(&ag, "tamer", &args, err, sizeof err), -1);
	CHECK(strstr(err, "unknown option \"speed\"") != NULL);
	CHECK_INT(agent_open(&ag, "sarsa", &args, err, sizeof err), -1);
	CHECK(strstr(err, "built-in: tamer, random") != NULL);
	printf("  %s\n", err);
}

static void tamer_works_on_mountain_car_spaces(void)
{
	struct env e;
	char err[256];
	if (env_open(&e, "MountainCar-v0", NULL, err, sizeof err) < 0) {
		fprintf(stderr, "  MountainCar-v0: %s\n", err);
		CHECK(0);
		return;
	}
	struct agent_args args = {.env = e.info, .seed = 1, .fps = 30};
	struct agent ag;
	CHECK_INT(agent_open(&ag, "tamer", &args, err, sizeof err), 0);
	uint64_t seed = 1;
	CHECK_INT(env_reset(&e, &seed, NULL, 0), 0);
	struct hippo_step_result r = {0};
	for (long t = 0; t < 50; t++) {
		double a;
		CHECK_INT(agent_act(&ag, e.obs, t, &a), 0);
		CHECK(a >= 0 && a <= 2);
		CHECK_INT(env_step(&e, &a, &r, NULL, 0), 0);
		agent_feedback(&ag, t, e.obs[1] * (a - 1) > 0 ? 1 : -1);
	}
	agent_close(&ag);
	env_close(&e);
}

static void external_python_agent_acts_and_learns(void)
{
	struct env e;
	char err[256];
	CHECK_INT(env_open(&e, "CartPole-v1", NULL, err, sizeof err), 0);
	const char *src = getenv("HIPPO_SRC");
	char script[1024];
	snprintf(script, sizeof script, "%s/clients/python/examples/random_agent.py",
		 src ? src : "../..");
	char *argv[] = {"/usr/bin/python3", script, NULL};
	char *spec = ext_env_spec(argv, NULL, NULL, 20000, 20000);
	struct agent_args args = {.env = e.info, .options_json = spec, .fps = 30};
	struct agent ag;
	CHECK_INT(agent_open(&ag, NULL, &args, err, sizeof err), 0);
	free(spec);
	if (!ag.ops) {
		fprintf(stderr, "  the external agent did not start: %s\n", err);
		CHECK(0);
		env_close(&e);
		return;
	}
	/* "Good" for every right push, "bad" for every left one, over several
	 * episodes: the example agent repeats rewarded actions, so late in the
	 * run it pushes right almost always (about half the time without the
	 * feedback reaching it). */
	uint64_t seed = 3;
	CHECK_INT(env_reset(&e, &seed, NULL, 0), 0);
	struct hippo_step_result r = {0};
	int counts[2] = {0, 0}, late_right = 0, episode = 1;
	long t, ep_start = 0;
	const long total = 150, late = 60;
	for (t = 0; t < total; t++) {
		double a;
		CHECK_INT(agent_act(&ag, e.obs, t, &a), 0);
		CHECK(a == 0 || a == 1);
		counts[(int)a & 1]++;
		if (t >= total - late && a == 1)
			late_right++;
		CHECK_INT(env_step(&e, &a, &r, NULL, 0), 0);
		agent_observe(&ag, t, &a, r.reward, e.obs, r.terminated, r.truncated);
		agent_feedback(&ag, t, a == 1 ? 1 : -1);
		if (r.terminated || r.truncated) {
			agent_episode_end(&ag, episode++, (double)(t + 1 - ep_start), t + 1 - ep_start);
			ep_start = t + 1;
			seed++;
			CHECK_INT(env_reset(&e, &seed, NULL, 0), 0);
			r = (struct hippo_step_result){0};
		}
	}
	printf("  external agent: %d left, %d right in %ld steps (%d episodes); "
	       "%d of the last %ld right\n", counts[0], counts[1], t, episode, late_right, late);
	CHECK(episode > 2);
	CHECK(late_right >= late - 5);
	agent_close(&ag);
	env_close(&e);
}

int main(void)
{
	RUN(tamer_learns_to_balance_from_feedback);
	RUN(tamer_refuses_continuous_actions_and_bad_options);
	RUN(tamer_works_on_mountain_car_spaces);
	RUN(external_python_agent_acts_and_learns);
	return test_summary();
}
