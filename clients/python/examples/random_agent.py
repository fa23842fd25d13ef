#!/usr/bin/env python3
"""A minimal agent served with hippo_env.serve_agent(): picks actions at
random, nudged by the human's feedback in `feedback` mode (actions that got
"good" are repeated more often). Standard library only.

config.yml:
    trial:
      mode: feedback
      agent: {command: ["python3", "random_agent.py"]}
"""

import os
import random
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import hippo_env  # noqa: E402


class FeedbackBiasedAgent:
    def __init__(self, env, options):
        space = env.get("action_space") or {}
        self.n = int(space.get("n", 2))
        self.prefs = [1.0] * self.n
        self.last = 0
        self.rng = random.Random(options.get("seed", 0))

    def act(self, observation):
        self.last = self.rng.choices(range(self.n), weights=self.prefs)[0]
        return self.last

    def feedback(self, value, step):
        self.prefs[self.last] = max(0.1, self.prefs[self.last] + 0.5 * value)

    def episode_end(self, episode, return_, steps):
        print("episode %s: return %.1f in %d steps" % (episode, return_, steps), file=sys.stderr)


if __name__ == "__main__":
    sys.exit(hippo_env.serve_agent(FeedbackBiasedAgent))
