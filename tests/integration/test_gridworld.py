#!/usr/bin/env python3
"""MiniGrid and toy-text environments through the hippo binary, compared with
the Python re-implementations of Minigrid and Gymnasium in tests/reference/:

- `hippo rollout` for several seeds and action sequences: observations, rewards,
  terminated/truncated, and MiniGrid's agent_pos, agent_dir and mission lifted
  to the top level;
- `hippo render --out x.png`: the PNG has Gymnasium's size and, for MiniGrid,
  every pixel equals Minigrid's rgb_array frame (decoded here with zlib);
- bad options are refused with a message."""
import atexit
import json
import os
import shutil
import struct
import subprocess
import sys
import tempfile
import zlib

import numpy as np

from serveutil import BIN, SRC, check, main

sys.path.insert(0, os.path.join(SRC, "tests", "reference"))
import minigrid_reference as mg  # noqa: E402
import toytext_reference as tt  # noqa: E402

TMP = tempfile.mkdtemp(prefix="hippo-gridworld-")
atexit.register(shutil.rmtree, TMP, True)


def hippo(*args, timeout=120):
    p = subprocess.run([BIN, *args], capture_output=True, text=True, timeout=timeout)
    return p.returncode, p.stdout, p.stderr


def actions_file(actions):
    path = os.path.join(TMP, "actions-%d.txt" % len(os.listdir(TMP)))
    with open(path, "w") as f:
        f.write("".join("%d\n" % a for a in actions))
    return path


def rollout(env_id, seed, actions):
    rc, out, err = hippo("rollout", env_id, "--seed", str(seed), "--actions", actions_file(actions))
    if rc != 0:
        print(err, file=sys.stderr)
    return rc, [json.loads(line) for line in out.splitlines()]


MG_ENVS = {
    "MiniGrid-Empty-5x5-v0": ("empty", 5),
    "MiniGrid-Empty-8x8-v0": ("empty", 8),
    "MiniGrid-DoorKey-5x5-v0": ("doorkey", 5),
    "MiniGrid-FourRooms-v0": ("fourrooms", 19),
}


def mg_expected(env_id, seed, actions):
    """Reference rows for one episode: the reset, then each step until it ends."""
    env = mg.Env(*MG_ENVS[env_id])
    obs = env.reset(seed)
    rows = [(obs.reshape(-1).tolist(), 0.0, False, False, env.agent_pos, env.agent_dir)]
    for a in actions:
        obs, r, t, tr = env.step(a)
        rows.append((obs.reshape(-1).tolist(), r, t, tr, env.agent_pos, env.agent_dir))
        if t or tr:
            break
    return env, rows


def test_minigrid_rollouts():
    for env_id in MG_ENVS:
        for seed in (0, 1, 2, 3, 4):
            arng = np.random.default_rng(seed + 10)
            actions = [int(a) for a in arng.integers(0, 7, size=60)]
            env, want = mg_expected(env_id, seed, actions)
            rc, got = rollout(env_id, seed, actions[:len(want) - 1])
            ok = rc == 0 and len(got) == len(want)
            for g, (obs, r, t, tr, pos, d) in zip(got, want):
                ok = ok and g["obs"] == obs and g.get("reward", 0.0) == r
                ok = ok and g.get("terminated", False) == t and g.get("truncated", False) == tr
                ok = ok and g["agent_pos"] == list(pos) and g["agent_dir"] == d
            ok = ok and got[0].get("mission") == env.mission
            check(ok, "%s seed %d: %d lines equal to Minigrid's (obs, reward, agent_pos/dir)"
                  % (env_id, seed, len(want)))


def test_minigrid_goal_and_truncation():
    # Empty-5x5: forward, forward, right, forward, forward reaches the goal on step 5
    rc, got = rollout("MiniGrid-Empty-5x5-v0", 0, [2, 2, 1, 2, 2])
    check(rc == 0 and got[-1]["terminated"] and got[-1]["reward"] == 1 - 0.9 * 5 / 100,
          "Empty-5x5 goal on step 5 pays 1 - 0.9 * 5/100")
    # FourRooms: 100 left turns end truncated by Minigrid's own max_steps
    rc, got = rollout("MiniGrid-FourRooms-v0", 7, [0] * 120)
    check(rc == 0 and len(got) == 101 and got[-1]["truncated"] and not got[-1]["terminated"],
          "FourRooms truncates after max_steps = 100")


def png_pixels(path):
    """Decodes an 8-bit RGB, non-interlaced PNG into an (h, w, 3) array."""
    data = open(path, "rb").read()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, w = 8, b"", 0
    while pos < len(data):
        n, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + n]
        if kind == b"IHDR":
            w, h, depth, ctype, _, _, interlace = struct.unpack(">IIBBBBB", body)
            assert depth == 8 and ctype == 2 and interlace == 0
        elif kind == b"IDAT":
            idat += body
        pos += 12 + n
    raw = zlib.decompress(idat)
    stride = w * 3
    out = np.zeros((h, stride), dtype=np.int32)
    prev = np.zeros(stride, dtype=np.int32)
    for y in range(h):
        f = raw[y * (stride + 1)]
        line = np.frombuffer(raw, dtype=np.uint8, count=stride, offset=y * (stride + 1) + 1)
        cur = np.zeros(stride, dtype=np.int32)
        for x in range(stride):
            a = cur[x - 3] if x >= 3 else 0
            b = prev[x]
            c = prev[x - 3] if x >= 3 else 0
            if f == 0:
                p = 0
            elif f == 1:
                p = a
            elif f == 2:
                p = b
            elif f == 3:
                p = (a + b) // 2
            else:
                pa, pb, pc = abs(b - c), abs(a - c), abs(a + b - 2 * c)
                p = a if pa <= pb and pa <= pc else (b if pb <= pc else c)
            cur[x] = (int(line[x]) + p) & 255
        out[y] = cur
        prev = cur
    return out.reshape(h, w, 3)


def test_minigrid_render_is_minigrids_frame():
    cases = [("MiniGrid-Empty-5x5-v0", 0, [2, 1]), ("MiniGrid-DoorKey-5x5-v0", 1, [1, 0, 0]),
             ("MiniGrid-FourRooms-v0", 2, [2, 2, 1])]
    for env_id, seed, actions in cases:
        out = os.path.join(TMP, env_id + ".png")
        rc, _, err = hippo("render", env_id, "--seed", str(seed), "--actions",
                           actions_file(actions), "--out", out)
        env, _ = mg_expected(env_id, seed, actions)
        want = env.render()
        got = png_pixels(out) if rc == 0 else None
        check(got is not None and got.shape == want.shape and (got == want).all(),
              "%s: hippo render's %dx%d PNG equals Minigrid's rgb_array frame pixel for pixel"
              % (env_id, want.shape[1], want.shape[0]))


def test_toytext_rollouts_and_pictures():
    envs = {"FrozenLake-v1": (tt.frozen_lake, 100, (256, 256)),
            "Taxi-v3": (tt.taxi, 200, (550, 350)),
            "CliffWalking-v0": (tt.cliff, None, (720, 240))}
    for env_id, (build, limit, size) in envs.items():
        P, init, na = build()
        for seed in (0, 3, 9):
            rng = np.random.default_rng(seed)
            arng = np.random.default_rng(seed + 50)
            actions = [int(a) for a in arng.integers(0, na, size=250)]
            s = tt.categorical_sample(init, rng)
            want = [(s, 0.0, False, False)]
            for i, a in enumerate(actions):
                tr = P[s][a]
                _, s, r, t = tr[tt.categorical_sample([x[0] for x in tr], rng)]
                trunc = limit is not None and i + 1 >= limit and not t
                want.append((s, float(r), t, trunc))
                if t or trunc:
                    break
            rc, got = rollout(env_id, seed, actions[:len(want) - 1])
            ok = rc == 0 and len(got) == len(want)
            for g, (st, r, t, trunc) in zip(got, want):
                ok = ok and g["obs"] == [st] and g.get("reward", 0.0) == r
                ok = ok and g.get("terminated", False) == t and g.get("truncated", False) == trunc
            check(ok, "%s seed %d: %d lines equal to Gymnasium's tables" % (env_id, seed, len(want)))
        out = os.path.join(TMP, env_id + ".png")
        rc, _, _ = hippo("render", env_id, "--seed", "0", "--out", out)
        ok = rc == 0
        if ok:
            w, h = struct.unpack(">II", open(out, "rb").read()[16:24])
            ok = (w, h) == size
        check(ok, "%s renders a %dx%d PNG" % (env_id, size[0], size[1]))


def test_bad_options_are_refused():
    for env_id, opts in (("MiniGrid-DoorKey-5x5-v0", '{"size": 8}'),
                         ("FrozenLake-v1", '{"map_name": "6x6"}'),
                         ("Taxi-v3", '{"is_rainy": true}')):
        rc, out, err = hippo("rollout", env_id, "--seed", "0", "--steps", "1", "--options", opts)
        check(rc != 0 and out == "" and err.strip() != "",
              "%s --options %s is refused: %s" % (env_id, opts, err.strip()))


def test():
    test_minigrid_rollouts()
    test_minigrid_goal_and_truncation()
    test_minigrid_render_is_minigrids_frame()
    test_toytext_rollouts_and_pictures()
    test_bad_options_are_refused()


if __name__ == "__main__":
    main(test)
