#!/usr/bin/env python3
"""hippo rollout / hippo envs as a user runs them: JSON Lines format, --steps,
--actions, --options, trajectories equal to the Python reference derivation
(tests/reference/classic_reference.py) and to Gymnasium's documented reset
values, and the bad-input errors (unknown id with suggestions, out-of-range
action naming the line, wrong arity, NaN rejected)."""
import atexit
import json
import os
import subprocess
import sys
import tempfile

from serveutil import BIN, SRC, check, main

sys.path.insert(0, os.path.join(SRC, "tests", "reference"))
import classic_reference as ref  # noqa: E402


def hippo(*args, timeout=60):
    p = subprocess.run([BIN, *args], capture_output=True, text=True, timeout=timeout)
    return p.returncode, p.stdout, p.stderr


def rollout(*args):
    rc, out, err = hippo("rollout", *args)
    if rc != 0:
        print(err, file=sys.stderr)
    return rc, [json.loads(line) for line in out.splitlines()], err


def actions_file(text):
    f = tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False)
    f.write(text)
    f.close()
    atexit.register(lambda: os.path.exists(f.name) and os.unlink(f.name))
    return f.name


def test_format_and_steps():
    rc, lines, _ = rollout("CartPole-v1", "--seed", "0", "--steps", "5")
    check(rc == 0 and len(lines) == 6, "--steps 5 prints the reset line and 5 step lines")
    check(set(lines[0]) == {"obs", "info"} and lines[0]["info"] == {}, "reset line has obs and info")
    check(all(set(l) == {"action", "obs", "reward", "terminated", "truncated"} for l in lines[1:]),
          "step lines have action, obs, reward, terminated, truncated")
    check(all(l["action"] == 0 for l in lines[1:]), "without --actions every action is 0")
    check(all(len(l["obs"]) == 4 for l in lines), "CartPole observations have 4 values")


def test_stops_at_termination_and_truncation():
    rc, lines, _ = rollout("CartPole-v1", "--seed", "1")
    check(rc == 0 and lines[-1]["terminated"] and not any(l.get("terminated") for l in lines[1:-1]),
          "action 0 until the episode ends stops right after terminated")
    rc, lines, _ = rollout("Pendulum-v1", "--seed", "2")
    check(rc == 0 and len(lines) == 201 and lines[-1]["truncated"],
          "Pendulum-v1 is truncated by its TimeLimit after 200 steps")


def f32s(values):
    """float32 values compared as float32: %.9g text round-trips a float32."""
    import numpy as np
    return [np.float32(v) for v in values]


def compare(env_id, env, seed, actions, opts=None):
    path = actions_file("".join(
        (" ".join(repr(float(v)) for v in a) if isinstance(a, list) else str(a)) + "\n"
        for a in actions))
    args = [env_id, "--seed", str(seed), "--actions", path]
    if opts:
        args += ["--options", opts]
    rc, lines, _ = rollout(*args)
    os.unlink(path)
    obs = env.reset(seed)
    same = rc == 0 and len(lines) > 0 and f32s(lines[0]["obs"]) == f32s(obs)
    steps = 0
    for a in actions:
        o, r, term, trunc = env.step(a[0] if isinstance(a, list) else a)
        steps += 1
        line = lines[steps] if steps < len(lines) else None
        same = same and line is not None and f32s(line["obs"]) == f32s(o) and \
            line["reward"] == r and line["terminated"] == term and line["truncated"] == trunc
        if term or trunc:
            break
    # one line for the reset, one per step until the reference episode ends
    if len(lines) != 1 + steps:
        print("  %s: %d lines, the reference has %d" % (env_id, len(lines), 1 + steps))
        same = False
    return same, lines


def test_matches_reference():
    same, lines = compare("CartPole-v1", ref.TimeLimit(ref.CartPole(), 500), 42, [1, 0, 1, 1, 0, 0, 1] * 5)
    check(same, "CartPole-v1 seed 42 equals the reference derivation bit for bit")
    same, _ = compare("MountainCar-v0", ref.TimeLimit(ref.MountainCar(), 200), 9, [2] * 30 + [0] * 30)
    check(same, "MountainCar-v0 seed 9 equals the reference")
    same, _ = compare("MountainCarContinuous-v0", ref.TimeLimit(ref.MountainCarContinuous(), 999), 4,
                      [[0.7], [-0.25], [1.9], [-3.0], [0.1]] * 8)
    check(same, "MountainCarContinuous-v0 seed 4 (actions in and out of range) equals the reference")
    same, _ = compare("Acrobot-v1", ref.TimeLimit(ref.Acrobot(), 500), 8, [0, 2, 2, 1, 0] * 8)
    check(same, "Acrobot-v1 seed 8 equals the reference")
    same, _ = compare("Pendulum-v1", ref.TimeLimit(ref.Pendulum(), 200), 6, [[1.5], [-2.5], [0.3]] * 10)
    check(same, "Pendulum-v1 seed 6 equals the reference")
    same, _ = compare("Pendulum-v1", ref.TimeLimit(ref.Pendulum(9.81), 200), 6, [[1.0]] * 20, '{"g": 9.81}')
    check(same, "Pendulum-v1 with --options {\"g\": 9.81} equals the reference")


def test_gymnasium_documented_reset():
    # CartPole's docstring: env.reset(seed=123, options={"low": -0.1, "high": 0.1})
    # -> array([ 0.03647037, -0.0892358 , -0.05592803, -0.06312564], dtype=float32)
    rc, lines, _ = rollout("CartPole-v1", "--seed", "123", "--steps", "0",
                           "--options", '{"low": -0.1, "high": 0.1}')
    want = [0.03647037, -0.0892358, -0.05592803, -0.06312564]
    check(rc == 0 and all(abs(a - b) < 5e-9 for a, b in zip(lines[0]["obs"], want)),
          "CartPole-v1 reset(seed=123, low=-0.1, high=0.1) gives Gymnasium's documented values")


def test_float_precision_round_trips():
    import numpy as np
    rc, out, _ = hippo("rollout", "Acrobot-v1", "--seed", "5", "--steps", "3")
    text = out.splitlines()[1]
    raw = text.split('"obs":[')[1].split("]")[0].split(",")
    check(all("%.9g" % np.float32(t) == t for t in raw),
          "float32 observations are printed with %.9g (round-trip precision)")
    rc, out, _ = hippo("rollout", "Pendulum-v1", "--seed", "5", "--steps", "1")
    reward = out.splitlines()[1].split('"reward":')[1].split(",")[0]
    check(float(reward) == json.loads(out.splitlines()[1])["reward"] and
          "%.17g" % float(reward) == reward, "float64 rewards are printed with %.17g")


def test_envs_lists_ids_and_spaces():
    rc, out, _ = hippo("envs")
    ids = ["CartPole-v1", "CartPole-v0", "MountainCar-v0", "MountainCarContinuous-v0",
           "Acrobot-v1", "Pendulum-v1"]
    check(rc == 0 and all(i in out for i in ids), "hippo envs lists every classic-control id")
    rc, out, _ = hippo("envs", "--json")
    rows = {r["id"]: r for r in map(json.loads, out.splitlines())}
    cp = rows.get("CartPole-v1", {})
    check(cp.get("action_space", {}).get("action_names") == ["left", "right"]
          and cp.get("observation_space", {}).get("shape") == [4]
          and cp.get("max_episode_steps") == 500, "hippo envs --json describes CartPole-v1's spaces")
    check(rows.get("Pendulum-v1", {}).get("action_space", {}).get("high") == [2],
          "Pendulum-v1's Box action space has high [2]")


def test_minigrid_keys_lifted():
    rc, out, _ = hippo("envs")
    check(rc == 0 and "MiniGrid-Empty-5x5-v0" in out, "MiniGrid-Empty-5x5-v0 is built in")
    rc, lines, _ = rollout("MiniGrid-Empty-5x5-v0", "--seed", "1", "--steps", "3")
    check(rc == 0 and isinstance(lines[0].get("mission"), str) and "agent_pos" in lines[0],
          "MiniGrid reset line carries mission and agent_pos at the top level")
    check(all(len(l.get("agent_pos", [])) == 2 and "agent_dir" in l for l in lines[1:]),
          "MiniGrid step lines carry agent_pos and agent_dir")


def test_bench_env_runs():
    # a smoke test of the benchmark command: it runs and reports, no timing is asserted
    rc, out, err = hippo("bench", "env", "CartPole-v1", "--seconds", "0.05")
    check(rc == 0 and "M steps/s" in out and "step + render + JPEG" in out,
          "hippo bench env CartPole-v1 reports steps/s and render+JPEG frames/s")
    rc, out, err = hippo("bench", "env", "NoSuchEnv-v0")
    check(rc != 0 and "unknown environment" in err, "hippo bench env refuses an unknown id")


def test_bad_input():
    rc, out, err = hippo("rollout", "CartPol-v1", "--seed", "1")
    check(rc != 0 and "unknown environment 'CartPol-v1'" in err and "CartPole-v1" in err,
          "unknown id is refused with the closest ids")
    path = actions_file("0\n1\n# comment\n\n2\n")
    rc, out, err = hippo("rollout", "CartPole-v1", "--seed", "1", "--actions", path)
    check(rc != 0 and path + ":5:" in err and "out of range" in err,
          "out-of-range action names its file and line")
    path = actions_file("1\n1.5\n")
    rc, out, err = hippo("rollout", "CartPole-v1", "--seed", "1", "--actions", path)
    check(rc != 0 and ":2:" in err and "not an integer" in err, "non-integer discrete action refused")
    path = actions_file("0.5\nnan\n")
    rc, out, err = hippo("rollout", "Pendulum-v1", "--seed", "1", "--actions", path)
    check(rc != 0 and ":2:" in err and "NaN" in err, "NaN action refused for a Box space")
    path = actions_file("inf\n")
    rc, out, err = hippo("rollout", "MountainCarContinuous-v0", "--seed", "1", "--actions", path)
    check(rc != 0 and ":1:" in err, "infinite action refused for a Box space")
    path = actions_file("0.5 0.5\n")
    rc, out, err = hippo("rollout", "Pendulum-v1", "--seed", "1", "--actions", path)
    check(rc != 0 and ":1:" in err and "expected 1 value" in err, "wrong arity refused")
    path = actions_file("\n")
    rc, out, err = hippo("rollout", "CartPole-v1", "--seed", "x")
    check(rc != 0 and "--seed" in err, "non-numeric seed refused")
    rc, out, err = hippo("rollout", "CartPole-v1", "--options", '{"nope": 1}')
    check(rc != 0 and "unknown key 'nope'" in err, "unknown environment option refused")
    rc, out, err = hippo("rollout", "CartPole-v1", "--actions", "/nonexistent/actions.txt")
    check(rc != 0 and "/nonexistent/actions.txt" in err, "missing actions file reported")


def test():
    for name, fn in list(globals().items()):
        if name.startswith("test_") and callable(fn):
            fn()


if __name__ == "__main__":
    main(test)
