#!/usr/bin/python3
"""Reference trajectories for hippo's toy-text environments (FrozenLake-v1,
Taxi-v3, CliffWalking-v0).

An independent re-implementation, in plain Python + numpy, of Gymnasium's
gymnasium/envs/toy_text/{frozen_lake,taxi,cliffwalking}.py and utils.py:
each environment is a table P[s][a] = [(prob, next_state, reward, terminated)],
reset() draws the start state and step() the transition with
categorical_sample(probs) = argmax(cumsum(probs) > np_random.random()), so every
reset and every step consumes exactly one random() draw; the generator is
np.random.default_rng(seed) (Gymnasium's seeding.np_random) and reset() without a
seed continues it.

Hand-checks (Gymnasium semantics, not this code):
- FrozenLake 4x4 "SFFF/FHFH/FFFH/HFFG", slippery: from state 0 action RIGHT(2)
  moves DOWN, RIGHT or UP with 1/3 each: states 4, 1, 0; probabilities
  (1 - 1/3) / 2 = 0.33333333333333337 for the sideways moves, 1/3 for the intended one.
- Taxi: state = ((row * 5 + col) * 5 + passenger) * 4 + destination; the start
  distribution is uniform over the 300 states with passenger != destination and
  passenger not in the taxi; illegal pickup/dropoff -10, delivery +20 and terminated.
- CliffWalking: start state 36 = (3, 0); stepping onto (3, 1..10) gives -100 and
  returns to 36 without terminating; reaching 47 terminates with -1.

The random action sequences are drawn here from default_rng(1000 + seed); the
Taxi and CliffWalking "plan" cases follow a shortest path (breadth-first search
over the deterministic table) to the delivery / the goal.

Run: /usr/bin/python3 tests/reference/toytext_reference.py > tests/unit/toytext_reference.h
"""
import sys

import numpy as np


def categorical_sample(probs, rng):
    cs = np.cumsum(np.asarray(probs))
    return int(np.argmax(cs > rng.random()))


def frozen_lake():
    desc = ["SFFF", "FHFH", "FFFH", "HFFG"]
    nrow, ncol = 4, 4
    success = 1.0 / 3.0
    fail = (1.0 - success) / 2.0

    def inc(r, c, a):
        if a == 0:
            c = max(c - 1, 0)
        elif a == 1:
            r = min(r + 1, nrow - 1)
        elif a == 2:
            c = min(c + 1, ncol - 1)
        elif a == 3:
            r = max(r - 1, 0)
        return r, c

    P = {}
    for r in range(nrow):
        for c in range(ncol):
            s = r * ncol + c
            P[s] = {}
            for a in range(4):
                li = []
                if desc[r][c] in "GH":
                    li.append((1.0, s, 0, True))
                else:
                    for b in [(a - 1) % 4, a, (a + 1) % 4]:
                        nr, nc = inc(r, c, b)
                        letter = desc[nr][nc]
                        rew = {"G": 1, "H": 0}.get(letter, 0)
                        li.append((success if b == a else fail, nr * ncol + nc, rew,
                                   letter in "GH"))
                P[s][a] = li
    init = np.array([1.0 if desc[s // 4][s % 4] == "S" else 0.0 for s in range(16)])
    init /= init.sum()
    return P, init, 4


TAXI_MAP = ["+---------+", "|R: | : :G|", "| : | : : |", "| : : : : |", "| | : | : |",
            "|Y| : |B: |", "+---------+"]
LOCS = [(0, 0), (0, 4), (4, 0), (4, 3)]


def taxi_encode(row, col, p, d):
    return ((row * 5 + col) * 5 + p) * 4 + d


def taxi():
    P = {}
    init = np.zeros(500)
    for row in range(5):
        for col in range(5):
            for p in range(5):
                for d in range(4):
                    s = taxi_encode(row, col, p, d)
                    if p < 4 and p != d:
                        init[s] += 1
                    P[s] = {}
                    for a in range(6):
                        nr, nc, np_ = row, col, p
                        rew, term = -1, False
                        loc = (row, col)
                        if a == 0:
                            nr = min(row + 1, 4)
                        elif a == 1:
                            nr = max(row - 1, 0)
                        if a == 2 and TAXI_MAP[1 + row][2 * col + 2] == ":":
                            nc = min(col + 1, 4)
                        elif a == 3 and TAXI_MAP[1 + row][2 * col] == ":":
                            nc = max(col - 1, 0)
                        elif a == 4:
                            if p < 4 and loc == LOCS[p]:
                                np_ = 4
                            else:
                                rew = -10
                        elif a == 5:
                            if loc == LOCS[d] and p == 4:
                                np_, term, rew = d, True, 20
                            elif loc in LOCS and p == 4:
                                np_ = LOCS.index(loc)
                            else:
                                rew = -10
                        P[s][a] = [(1.0, taxi_encode(nr, nc, np_, d), rew, term)]
    init /= init.sum()
    return P, init, 6


def taxi_mask(s):
    d = s % 4
    p = (s // 4) % 5
    col = (s // 20) % 5
    row = s // 100
    m = [0] * 6
    if row < 4:
        m[0] = 1
    if row > 0:
        m[1] = 1
    if col < 4 and TAXI_MAP[row + 1][2 * col + 2] == ":":
        m[2] = 1
    if col > 0 and TAXI_MAP[row + 1][2 * col] == ":":
        m[3] = 1
    if p < 4 and (row, col) == LOCS[p]:
        m[4] = 1
    if p == 4 and ((row, col) == LOCS[d] or (row, col) in LOCS):
        m[5] = 1
    return m


def cliff():
    shape = (4, 12)
    moves = {0: (-1, 0), 1: (0, 1), 2: (1, 0), 3: (0, -1)}
    P = {}
    for s in range(48):
        r, c = divmod(s, 12)
        P[s] = {}
        for a in range(4):
            nr = min(max(r + moves[a][0], 0), shape[0] - 1)
            nc = min(max(c + moves[a][1], 0), shape[1] - 1)
            if nr == 3 and 1 <= nc <= 10:
                P[s][a] = [(1.0, 36, -100, False)]
            else:
                P[s][a] = [(1.0, nr * 12 + nc, -1, (nr, nc) == (3, 11))]
    init = np.zeros(48)
    init[36] = 1.0
    return P, init, 4


def run(name, P, init, na, seed, nsteps, out, mask=None):
    rng = np.random.default_rng(seed)
    arng = np.random.default_rng(1000 + seed)
    rows = []
    s = categorical_sample(init, rng)
    rows.append(("TT_RESET_SEED", seed, s, 0.0, 0, 1.0))
    for _ in range(nsteps):
        a = int(arng.integers(0, na))
        tr = P[s][a]
        i = categorical_sample([t[0] for t in tr], rng)
        p, s, r, t = tr[i]
        rows.append(("TT_STEP", a, s, float(r), int(t), p))
        if t:
            s = categorical_sample(init, rng)
            rows.append(("TT_RESET", 0, s, 0.0, 0, 1.0))
    lines = []
    for kind, arg, st, r, t, p in rows:
        m = "".join(str(v) for v in taxi_mask(st)) if mask else ""
        lines.append('\t{%s, %d, %d, %s, %d, %s, "%s"},' % (kind, arg, st, repr(r), t, repr(p), m))
    out.append((name, lines))


def plan(P, na, s):
    """Shortest action sequence from S to a terminating transition (deterministic P)."""
    from collections import deque
    prev = {s: None}
    q = deque([s])
    while q:
        u = q.popleft()
        for a in range(na):
            _, v, _, t = P[u][a][0]
            if t:
                acts = [a]
                while prev[u] is not None:
                    u, b = prev[u]
                    acts.append(b)
                return acts[::-1]
            if v not in prev:
                prev[v] = (u, a)
                q.append(v)
    raise RuntimeError("no plan")


def run_plan(name, P, init, na, seed, out, mask=None):
    """Reset with SEED, then follow the plan to the end of the episode."""
    rng = np.random.default_rng(seed)
    s = categorical_sample(init, rng)
    rows = [("TT_RESET_SEED", seed, s, 0.0, 0, 1.0)]
    for a in plan(P, na, s):
        tr = P[s][a]
        i = categorical_sample([t[0] for t in tr], rng)
        p, s, r, t = tr[i]
        rows.append(("TT_STEP", a, s, float(r), int(t), p))
    lines = []
    for kind, arg, st, r, t, p in rows:
        m = "".join(str(v) for v in taxi_mask(st)) if mask else ""
        lines.append('\t{%s, %d, %d, %s, %d, %s, "%s"},' % (kind, arg, st, repr(r), t, repr(p), m))
    out.append((name, lines))


def main():
    out = []
    envs = [("frozenlake", "FrozenLake-v1", frozen_lake, False),
            ("taxi", "Taxi-v3", taxi, True),
            ("cliff", "CliffWalking-v0", cliff, False)]
    cases = []
    for short, env_id, build, mask in envs:
        P, init, na = build()
        for seed in (0, 1, 2, 7, 123):
            name = "%s_s%d" % (short, seed)
            run(name, P, init, na, seed, 400 if short == "frozenlake" else 150, out, mask)
            cases.append((name, env_id))
        if short != "frozenlake":
            for seed in (3, 4, 5):
                name = "%s_plan_s%d" % (short, seed)
                run_plan(name, P, init, na, seed, out, mask)
                cases.append((name, env_id))
    w = sys.stdout.write
    w("/* Generated by tests/reference/toytext_reference.py: do not edit.\n"
      " * One row per reset/step: kind, seed or action, state, reward, terminated,\n"
      " * transition probability, Taxi's action mask. */\n")
    w("#ifndef TOYTEXT_REFERENCE_H\n#define TOYTEXT_REFERENCE_H\n\n")
    for name, lines in out:
        w("static const struct tt_ref_row ref_%s[] = {\n%s\n};\n\n" % (name, "\n".join(lines)))
    w("static const struct tt_ref_case ref_cases[] = {\n")
    for name, env_id in cases:
        w('\t{"%s", "%s", ref_%s, sizeof ref_%s / sizeof ref_%s[0]},\n' %
          (name, env_id, name, name, name))
    w("};\n\n#endif\n")


if __name__ == "__main__":
    main()
