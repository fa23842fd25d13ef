#!/usr/bin/env python3
"""Serves any Gymnasium environment to hippo (needs `pip install gymnasium`,
plus the extras of the env, e.g. gymnasium[box2d] for LunarLander).

config.yml:
    trial:
      game: LunarLander-v3
      actionSpace: [noop, left, main, right]
      env: {command: ["python3", "gymnasium_env.py"], options: {}}

`id` (default: trial.game) is passed to gymnasium.make with the options as
keyword arguments; render_mode is always "rgb_array". Slow imports and model
loading happen when hippo allocates the session, before the participant
reaches the game page.
"""

import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import hippo_env  # noqa: E402


def make(env_id, options):
    import gymnasium

    return gymnasium.make(env_id, render_mode="rgb_array", **options)


if __name__ == "__main__":
    sys.exit(hippo_env.serve(make))
