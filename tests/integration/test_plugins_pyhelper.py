"""clients/python/hippo_env.py on its own, driven like hippo drives it (a
child process, the protocol over its pipes): numpy frames, nested-list frames,
the old gym API, Dict observations, print() not corrupting the stream, an
exception reported as an error message, and serve_agent's replies and silent
notifications."""
import os
import subprocess
import sys
import textwrap

from serveutil import SRC, check, main

sys.path.insert(0, os.path.join(SRC, "clients", "python"))
import hippo_env  # noqa: E402


def spawn(code):
    script = textwrap.dedent(code)
    p = subprocess.Popen([sys.executable, "-c", script], stdin=subprocess.PIPE,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         env=dict(os.environ, PYTHONPATH=os.path.join(SRC, "clients", "python")))
    return p, hippo_env.Channel(p.stdout, p.stdin)


def finish(p, ch):
    ch.write({"type": "close"})
    p.stdin.close()
    rc = p.wait(20)
    err = p.stderr.read().decode()
    p.stdout.close()
    p.stderr.close()
    return rc, err


def numpy_env():
    p, ch = spawn("""
        import numpy as np, hippo_env
        class Space:  # Gymnasium-like spaces without Gymnasium
            def __init__(self, **kw): self.__dict__.update(kw)
        class Env:
            action_space = Space(n=np.int64(3), start=np.int64(0))
            observation_space = Space(shape=(2, 2), low=np.zeros((2, 2), np.float32),
                                      high=np.full((2, 2), np.inf, np.float32), dtype=np.float32)
            metadata = {"render_fps": 15}
            def reset(self, seed=None):
                print("resetting with seed", seed)  # goes to stderr, not the protocol
                self.t = 0
                return np.arange(4, dtype=np.float32).reshape(2, 2), {"seed": seed}
            def step(self, a):
                self.t += 1
                return np.full((2, 2), a, np.float32), np.float64(0.5), self.t >= 2, False, {"a": np.int64(a)}
            def render(self):
                img = np.zeros((3, 4, 4), np.uint8); img[..., 0] = 255; img[..., 3] = 7
                return img
        hippo_env.serve(Env())
    """)
    ch.write({"type": "hello", "protocol": 1, "role": "env", "id": "Np-v0", "options": {}})
    h, _ = ch.read()
    env = h["env"]
    check(env["action_space"] == {"kind": "discrete", "n": 3, "start": 0},
          "numpy Discrete-like space described")
    check(env["observation_space"]["shape"] == [2, 2] and env["observation_space"]["high"] == [None] * 4,
          "Box with infinite bounds as nulls")
    check((env["render_width"], env["render_height"], env["render_fps"]) == (4, 3, 15),
          "frame size probed from render(): 4x3")
    ch.write({"type": "reset", "seed": 9, "render": True})
    h, payload = ch.read()
    check(h["observation"] == [0, 1, 2, 3] and h["info"] == {"seed": 9}, "reset: flat observation")
    check(h["frame"] == {"width": 4, "height": 3, "format": "rgb"} and payload == b"\xff\0\0" * 12,
          "RGBA numpy frame sent as RGB bytes")
    ch.write({"type": "step", "action": 2, "render": False})
    h, payload = ch.read()
    check(h["reward"] == 0.5 and h["info"] == {"a": 2} and "frame" not in h and payload == b"",
          "step: numpy scalars become JSON numbers, no frame unless asked")
    rc, err = finish(p, ch)
    check(rc == 0 and "resetting with seed 9" in err, "print() went to stderr; exit 0 on close")


def plain_env():
    p, ch = spawn("""
        import hippo_env
        class OldGym:  # the old API: reset -> obs, step -> 4-tuple; dict observations
            action_space = hippo_env.Discrete(2)
            observation_space = None
            render_width, render_height = 2, 1
            def reset(self, seed=None):
                return {"pos": [1, 2]}
            def step(self, a):
                if a == 1:
                    raise KeyError("boom")
                return {"pos": [3, 4]}, 1, True, {}
            def render(self):
                return [[[1, 2, 3], [4, 5, 6]]]
        hippo_env.serve(OldGym())
    """)
    ch.write({"type": "hello", "protocol": 1, "role": "env", "options": {}})
    h, _ = ch.read()
    check(h["env"]["observation_space"] == {"kind": "box", "shape": [0]},
          "an unsupported observation space is an empty box")
    ch.write({"type": "reset", "render": True})
    h, payload = ch.read()
    check(h["observation"] == [] and h["info"] == {"observation": {"pos": [1, 2]}},
          "the dict observation travels in info")
    check(payload == bytes([1, 2, 3, 4, 5, 6]), "nested-list frame packed row by row")
    ch.write({"type": "step", "action": 0})
    h, _ = ch.read()
    check(h["terminated"] is True and h["truncated"] is False, "old 4-tuple step: done -> terminated")
    ch.write({"type": "step", "action": 1})
    h, _ = ch.read()
    check(h == {"type": "error", "message": "KeyError: 'boom'"}, "an exception becomes an error message")
    rc, err = finish(p, ch)
    check("Traceback" in err, "its traceback goes to stderr")


def agent():
    p, ch = spawn("""
        import hippo_env
        class Agent:
            def __init__(self, env, options):
                self.n = env["action_space"]["n"]; self.bias = options.get("bias", 0); self.fb = []
            def act(self, obs):
                return (len(self.fb) + self.bias) % self.n
            def feedback(self, value, step):
                self.fb.append((value, step))
        hippo_env.serve_agent(Agent)
    """)
    env = {"id": "X", "action_space": {"kind": "discrete", "n": 3},
           "observation_space": {"kind": "box", "shape": [2]}}
    ch.write({"type": "hello", "protocol": 1, "role": "agent", "env": env, "options": {"bias": 1}})
    h, _ = ch.read()
    check(h == {"type": "hello", "protocol": 1, "role": "agent"}, "agent hello")
    ch.write({"type": "act", "step": 0, "observation": [0.5, 0.25]})
    check(ch.read()[0] == {"type": "act", "action": 1}, "act: the agent's action")
    ch.write({"type": "feedback", "step": 0, "value": 1})
    ch.write({"type": "feedback", "step": 1, "value": -1})
    ch.write({"type": "act", "step": 2, "observation": [0, 0]})
    check(ch.read()[0] == {"type": "act", "action": 0},
          "feedback notifications get no reply and reach the agent (3 mod 3 = 0)")
    rc, err = finish(p, ch)
    check(rc == 0, "agent exits 0 on close")


def test():
    numpy_env()
    plain_env()
    agent()


main(test)
