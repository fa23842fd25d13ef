#!/usr/bin/env python3
"""A pole-balancing env (clients/python/examples/pure_env.py) with three extra
actions that misbehave, for test_plugins_failures: "crash" exits at once,
"hang" never answers, "garbage" writes text into the protocol stream,
"hangreset" ends the episode and then never answers the reset."""
import os
import sys
import time

SRC = os.environ.get("HIPPO_SRC", os.path.join(os.path.dirname(__file__), "..", ".."))
sys.path.insert(0, os.path.join(SRC, "clients", "python", "examples"))
sys.path.insert(0, os.path.join(SRC, "clients", "python"))
import hippo_env  # noqa: E402
import pure_env  # noqa: E402

channel = hippo_env._stdio_channel()


class Faulty(pure_env.PureCartPole):
    def __init__(self, **options):
        super().__init__(**options)
        self.action_space = hippo_env.Discrete(6, names=["left", "right", "crash", "hang",
                                                         "garbage", "hangreset"])
        self.hang_reset = False

    def reset(self, seed=None):
        if self.hang_reset:
            print("faulty_env: hanging in reset on purpose", file=sys.stderr, flush=True)
            time.sleep(3600)
        return super().reset(seed=seed)

    def step(self, action):
        if action == 2:
            print("faulty_env: crashing on purpose", file=sys.stderr, flush=True)
            os._exit(3)
        if action == 3:
            print("faulty_env: hanging on purpose", file=sys.stderr, flush=True)
            time.sleep(3600)
        if action == 4:
            channel.wfile.write(b"Traceback? no: plain text where a message belongs\n")
            channel.wfile.flush()
            time.sleep(3600)
        if action == 5:
            self.hang_reset = True
            obs, reward, _, truncated, info = super().step(0)
            return obs, reward, True, truncated, info
        return super().step(action)


sys.exit(hippo_env.serve(lambda env_id, options: Faulty(**options), channel=channel))
