#!/usr/bin/env python3
"""Reference trajectories for hippo's classic-control environments.

This is an independent re-derivation of Gymnasium's classic-control
environments (gymnasium/envs/classic_control/*.py) from their published
equations, written in plain Python, using numpy only for

  * the seeding: np.random.default_rng(seed) is exactly Gymnasium's
    np_random(seed) (SeedSequence -> PCG64 -> Generator);
  * float32: observations are np.float32 casts, and the few places where
    Gymnasium computes with float32 numpy scalars (MountainCarContinuous,
    Pendulum's torque terms) use numpy float32 scalars with NumPy 2's
    promotion rules (NEP 50, switched on with _set_promotion_state("weak") on
    numpy 1.24, where it is available as an experimental option).

Transcendentals: float64 np.sin/np.cos are the C library's in NumPy 2 (numpy
1.24 used SVML on CPUs with AVX512_SKX); this reference and hippo use the C
library's (Python's math module). float32 np.sin/np.cos (Acrobot's first
observation) are numpy's own FMA polynomial, taken from numpy here. Numpy scalars' `x**2` calls the C library's
pow, which Python's float `x**2` also does; np.square is a plain multiply.

Running it writes tests/unit/classic_ref.h (the trajectories test_classic.c
compares against bit for bit). With --show it prints the first steps of one
CartPole episode so they can be checked by hand against the equations.
"""
import math
import os
import sys

import numpy as np

if hasattr(np, "_set_promotion_state"):
    np._set_promotion_state("weak")  # NumPy 2 semantics (NEP 50)
F32 = np.float32


def f32(x):
    return float(np.float32(x))


class TimeLimit:
    def __init__(self, env, max_steps):
        self.env, self.max_steps, self.elapsed = env, max_steps, 0

    def reset(self, seed=None):
        self.elapsed = 0
        return self.env.reset(seed)

    def step(self, a):
        obs, r, term, trunc = self.env.step(a)
        self.elapsed += 1
        if self.elapsed >= self.max_steps:
            trunc = True
        return obs, r, term, trunc


class Seeded:
    rng = None

    def seed(self, seed):
        if seed is not None:
            self.rng = np.random.default_rng(seed)


class CartPole(Seeded):
    gravity, masscart, masspole, length, force_mag, tau = 9.8, 1.0, 0.1, 0.5, 10.0, 0.02
    x_threshold = 2.4

    def __init__(self, low=-0.05, high=0.05):
        self.total_mass = self.masspole + self.masscart
        self.polemass_length = self.masspole * self.length
        self.theta_threshold = 12 * 2 * math.pi / 360
        self.low, self.high = low, high

    def reset(self, seed=None):
        self.seed(seed)
        self.state = [float(v) for v in self.rng.uniform(self.low, self.high, size=(4,))]
        self.beyond = None
        return [f32(v) for v in self.state]

    def step(self, action):
        x, x_dot, theta, theta_dot = self.state
        force = self.force_mag if action == 1 else -self.force_mag
        c, s = math.cos(theta), math.sin(theta)
        temp = (force + self.polemass_length * (theta_dot * theta_dot) * s) / self.total_mass
        thetaacc = (self.gravity * s - c * temp) / (
            self.length * (4.0 / 3.0 - self.masspole * (c * c) / self.total_mass))
        xacc = temp - self.polemass_length * thetaacc * c / self.total_mass
        x = x + self.tau * x_dot
        x_dot = x_dot + self.tau * xacc
        theta = theta + self.tau * theta_dot
        theta_dot = theta_dot + self.tau * thetaacc
        self.state = [x, x_dot, theta, theta_dot]
        term = (x < -self.x_threshold or x > self.x_threshold
                or theta < -self.theta_threshold or theta > self.theta_threshold)
        if not term:
            r = 1.0
        elif self.beyond is None:
            self.beyond, r = 0, 1.0
        else:
            self.beyond += 1
            r = 0.0
        return [f32(v) for v in self.state], r, term, False


class MountainCar(Seeded):
    def reset(self, seed=None):
        self.seed(seed)
        self.state = (float(self.rng.uniform(-0.6, -0.4)), 0.0)
        return [f32(v) for v in self.state]

    def step(self, action):
        position, velocity = self.state
        velocity += (action - 1) * 0.001 + math.cos(3 * position) * (-0.0025)
        velocity = min(max(velocity, -0.07), 0.07)
        position += velocity
        position = min(max(position, -1.2), 0.6)
        if position == -1.2 and velocity < 0:
            velocity = 0.0
        term = position >= 0.5 and velocity >= 0
        self.state = (position, velocity)
        return [f32(v) for v in self.state], -1.0, term, False


class MountainCarContinuous(Seeded):
    """Gymnasium's step() written with numpy scalars: under NEP 50 a float32
    scalar meeting a Python float stays float32."""

    def reset(self, seed=None):
        self.seed(seed)
        self.state = np.array([self.rng.uniform(-0.6, -0.4), 0])  # float64
        return [f32(v) for v in self.state]

    def step(self, action):
        a = np.array([action], dtype=np.float32)
        position = self.state[0]
        velocity = self.state[1]
        force = min(max(a[0], -1.0), 1.0)
        velocity += force * 0.0015 - 0.0025 * math.cos(3 * position)
        if velocity > 0.07:
            velocity = 0.07
        if velocity < -0.07:
            velocity = -0.07
        position += velocity
        if position > 0.6:
            position = 0.6
        if position < -1.2:
            position = -1.2
        if position == -1.2 and velocity < 0:
            velocity = 0
        term = bool(position >= 0.45 and velocity >= 0)
        reward = 0
        if term:
            reward = 100.0
        reward -= math.pow(a[0], 2) * 0.1
        self.state = np.array([position, velocity], dtype=np.float32)
        return [float(v) for v in self.state], float(reward), term, False


class Acrobot(Seeded):
    def reset(self, seed=None):
        self.seed(seed)
        s = self.rng.uniform(-0.1, 0.1, size=(4,)).astype(np.float32)
        self.s = [float(v) for v in s]
        # The reset state is float32, so Gymnasium's first observation uses
        # numpy's float32 cos/sin (its own FMA polynomial on x86 with FMA3).
        return [float(np.cos(s[0])), float(np.sin(s[0])), float(np.cos(s[1])),
                float(np.sin(s[1])), float(s[2]), float(s[3])]

    def obs(self):
        s = self.s
        return [f32(math.cos(s[0])), f32(math.sin(s[0])), f32(math.cos(s[1])),
                f32(math.sin(s[1])), f32(s[2]), f32(s[3])]

    @staticmethod
    def dsdt(y):
        m1 = m2 = l1 = 1.0
        lc1 = lc2 = 0.5
        I1 = I2 = 1.0
        g = 9.8
        theta1, theta2, dtheta1, dtheta2, a = y
        d1 = m1 * lc1**2 + m2 * (l1**2 + lc2**2 + 2 * l1 * lc2 * math.cos(theta2)) + I1 + I2
        d2 = m2 * (lc2**2 + l1 * lc2 * math.cos(theta2)) + I2
        phi2 = m2 * lc2 * g * math.cos(theta1 + theta2 - math.pi / 2.0)
        phi1 = (-m2 * l1 * lc2 * dtheta2**2 * math.sin(theta2)
                - 2 * m2 * l1 * lc2 * dtheta2 * dtheta1 * math.sin(theta2)
                + (m1 * lc1 + m2 * l1) * g * math.cos(theta1 - math.pi / 2) + phi2)
        ddtheta2 = (a + d2 / d1 * phi1 - m2 * l1 * lc2 * dtheta1**2 * math.sin(theta2) - phi2) / (
            m2 * lc2**2 + I2 - d2**2 / d1)
        ddtheta1 = -(d2 * ddtheta2 + phi1) / d1
        return [dtheta1, dtheta2, ddtheta1, ddtheta2, 0.0]

    def step(self, action):
        y0 = list(self.s) + [[-1.0, 0.0, 1.0][action]]
        dt = 0.2 - 0
        dt2 = dt / 2.0
        k1 = self.dsdt(y0)
        k2 = self.dsdt([y + dt2 * k for y, k in zip(y0, k1)])
        k3 = self.dsdt([y + dt2 * k for y, k in zip(y0, k2)])
        k4 = self.dsdt([y + dt * k for y, k in zip(y0, k3)])
        ns = [y + dt / 6.0 * (a + 2 * b + 2 * c + d)
              for y, a, b, c, d in zip(y0, k1, k2, k3, k4)][:4]

        def wrap(x, m, M):
            while x > M:
                x = x - (M - m)
            while x < m:
                x = x + (M - m)
            return x

        def bound(x, m, M):
            return min(max(x, m), M)
        ns[0] = wrap(ns[0], -math.pi, math.pi)
        ns[1] = wrap(ns[1], -math.pi, math.pi)
        ns[2] = bound(ns[2], -4 * math.pi, 4 * math.pi)
        ns[3] = bound(ns[3], -9 * math.pi, 9 * math.pi)
        self.s = ns
        term = -math.cos(ns[0]) - math.cos(ns[1] + ns[0]) > 1.0
        return self.obs(), (0.0 if term else -1.0), term, False


class Pendulum(Seeded):
    def __init__(self, g=10.0):
        self.g = g

    def reset(self, seed=None):
        self.seed(seed)
        high = np.array([math.pi, 1.0])
        self.state = self.rng.uniform(low=-high, high=high)  # float64 array
        return self.obs()

    def obs(self):
        th, thdot = self.state
        return [f32(math.cos(th)), f32(math.sin(th)), f32(thdot)]

    def step(self, action):
        # th, thdot are numpy float64 scalars (strongly typed), u a float32
        # scalar: a float64 meeting a float32 gives float64, a Python float
        # meeting a float32 gives float32 (NEP 50).
        th, thdot = self.state
        u = np.clip(np.array([action], dtype=np.float32), -2.0, 2.0)[0]
        an = ((th + math.pi) % (2 * math.pi)) - math.pi
        costs = an**2 + 0.1 * thdot**2 + 0.001 * (u**2)
        sin_th = np.float64(math.sin(th))  # np.sin's type, the C library's value
        newthdot = thdot + (3 * self.g / (2 * 1.0) * sin_th + 3.0 / (1.0 * 1.0**2) * u) * 0.05
        newthdot = np.clip(newthdot, -8, 8)
        newth = th + newthdot * 0.05
        self.state = np.array([newth, newthdot])
        return self.obs(), -float(costs), False, False


# ---- episodes -------------------------------------------------------------

def run(env, seed, policy, max_steps, cont_obs=None):
    """Resets (SEED None continues the generator) and steps POLICY(obs, k)
    until terminated or truncated. Returns actions, observations (reset first),
    rewards and flags."""
    obs = env.reset(seed)
    acts, obss, rews, flags = [], [obs], [], []
    k = 0
    while True:
        a = policy(obs, k)
        obs, r, term, trunc = env.step(a)
        acts.append(a)
        obss.append(obs)
        rews.append(r)
        flags.append((1 if term else 0) | (2 if trunc else 0))
        k += 1
        if term or trunc or k >= max_steps:
            return acts, obss, rews, flags


def lcg_actions(n, seed):
    state = [seed]

    def pick(obs, k):
        state[0] = (state[0] * 1103515245 + 12345) % 2**31
        return state[0] % n
    return pick


def episodes():
    """(id, options_json, seed or None, continue_env, actions, obs, rewards, flags)"""
    out = []

    def add(eid, opts, env, seed, policy, limit, cont=False):
        acts, obss, rews, flags = run(env, seed, policy, limit)
        out.append((eid, opts, seed, cont, acts, obss, rews, flags))

    balance = lambda o, k: 1 if o[2] + 0.5 * o[3] > 0 else 0  # noqa: E731
    for seed in (0, 1, 42, 2024):
        env = TimeLimit(CartPole(), 500)
        add("CartPole-v1", None, env, seed, lambda o, k: 1, 500)
        add("CartPole-v1", None, env, None, lcg_actions(2, seed), 100, cont=True)
    add("CartPole-v1", None, TimeLimit(CartPole(), 500), 7, balance, 120)
    add("CartPole-v0", None, TimeLimit(CartPole(), 200), 3, balance, 200)
    add("CartPole-v1", '{"low": -0.1, "high": 0.1}', TimeLimit(CartPole(-0.1, 0.1), 500), 123,
        lcg_actions(2, 5), 500)

    pump = lambda o, k: 2 if o[1] >= 0 else 0  # noqa: E731
    for seed in (0, 7, 123):
        env = TimeLimit(MountainCar(), 200)
        add("MountainCar-v0", None, env, seed, pump, 200)
        add("MountainCar-v0", None, env, None, lcg_actions(3, seed), 60, cont=True)

    def cpump(o, k):
        mag = [1.0, 0.8, 1.7, 0.3333, 2.5][k % 5]
        return mag if o[1] >= 0 else -mag
    for seed in (0, 5, 31):
        env = TimeLimit(MountainCarContinuous(), 999)
        add("MountainCarContinuous-v0", None, env, seed, cpump, 999)
    add("MountainCarContinuous-v0", None, TimeLimit(MountainCarContinuous(), 999), 9,
        lambda o, k: 0.1 * ((k % 7) - 3), 150)

    apump = lambda o, k: 2 if o[5] > 0 else 0  # noqa: E731
    add("Acrobot-v1", None, TimeLimit(Acrobot(), 500), 11, lambda o, k: 0 if o[5] > 0 else 2, 500)
    # seeds 835 and 1506: numpy's float32 cos/sin differ from the rounded
    # float64 ones in the first observation
    for seed in (0, 3, 99, 835, 1506):
        env = TimeLimit(Acrobot(), 500)
        add("Acrobot-v1", None, env, seed, apump, 500)
        add("Acrobot-v1", None, env, None, lcg_actions(3, seed), 80, cont=True)

    swing = lambda o, k: 2.6 * math.sin(k * 0.3)  # noqa: E731
    for seed, limit in ((0, 200), (1, 60), (77, 60)):
        add("Pendulum-v1", None, TimeLimit(Pendulum(), 200), seed, swing, limit)
    add("Pendulum-v1", '{"g": 9.81}', TimeLimit(Pendulum(9.81), 200), 5,
        lambda o, k: -1.5 if o[2] > 0 else 1.25, 60)
    return out


def c_float(x):
    t = "%.9g" % x
    if not any(ch in t for ch in ".e"):
        t += ".0"
    return t + "f"


def c_double(x):
    return float.hex(float(x))


def write_header(path):
    eps = episodes()
    lines = ["/* Generated by tests/reference/classic_reference.py: do not edit. */",
             "#include <stddef.h>", ""]
    rows = []
    for i, (eid, opts, seed, cont, acts, obss, rews, flags) in enumerate(eps):
        adim = 1
        lines.append("static const double ref%d_act[] = {%s};" % (i, ", ".join(
            c_double(a) for a in acts)))
        lines.append("static const float ref%d_obs[] = {%s};" % (i, ", ".join(
            c_float(v) for o in obss for v in o)))
        lines.append("static const double ref%d_rew[] = {%s};" % (i, ", ".join(
            c_double(r) for r in rews)))
        lines.append("static const unsigned char ref%d_flags[] = {%s};" % (i, ", ".join(
            str(f) for f in flags)))
        rows.append('\t{"%s", %s, %d, %d, %d, %d, %d, ref%d_act, ref%d_obs, ref%d_rew, ref%d_flags},'
                    % (eid, "NULL" if opts is None else '"' + opts.replace('"', '\\"') + '"',
                       -1 if seed is None else seed, int(cont), adim, len(obss[0]), len(acts),
                       i, i, i, i))
    lines.append("")
    lines.append("static const struct ref_episode ref_episodes[] = {")
    lines.extend(rows)
    lines.append("};")
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")
    print("wrote %d episodes, %d steps to %s" % (len(eps), sum(len(e[4]) for e in eps), path))


def show():
    env = CartPole()
    obs = env.reset(0)
    print("CartPole-v1 reset(seed=0): state", env.state, "obs", obs)
    for k in range(3):
        obs, r, term, trunc = env.step(1)
        print("step", k + 1, "action 1: state", env.state, "obs", obs, r, term)


if __name__ == "__main__":
    if "--show" in sys.argv:
        show()
        sys.exit(0)
    here = os.path.dirname(os.path.abspath(__file__))
    write_header(os.path.join(here, "..", "unit", "classic_ref.h"))
