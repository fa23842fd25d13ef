#!/usr/bin/env python3
"""An agent for test_plugins_failures: the first process started takes a lock
file and plays normally (pushes toward the side the pole leans); every later
one hangs in act(), as a stuck model would."""
import os
import sys
import time

SRC = os.environ.get("HIPPO_SRC", os.path.join(os.path.dirname(__file__), "..", ".."))
sys.path.insert(0, os.path.join(SRC, "clients", "python"))
import hippo_env  # noqa: E402


class Agent:
    def __init__(self, env, options):
        try:
            os.close(os.open(options["lock"], os.O_CREAT | os.O_EXCL | os.O_WRONLY))
            self.hang = False
        except FileExistsError:
            self.hang = True

    def act(self, observation):
        if self.hang:
            print("hang_agent: stuck on purpose", file=sys.stderr, flush=True)
            time.sleep(3600)
        return 1 if observation[2] > 0 else 0


sys.exit(hippo_env.serve_agent(Agent))
