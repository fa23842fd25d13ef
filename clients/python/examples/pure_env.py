#!/usr/bin/env python3
"""A pole-balancing environment in pure Python (no third-party packages),
served to hippo with hippo_env.serve().

The dynamics are those of Gymnasium's CartPole-v1 (Euler integration,
12 degree / 2.4 unit limits); the random generator is Python's, so episodes do
not match Gymnasium's draw for draw. It renders 600x400 RGB pictures straight
into a bytearray, row by row, which is fast enough in pure Python for 30+ fps.

config.yml:
    trial:
      game: PureCartPole-v0
      env: {command: ["python3", "pure_env.py"], options: {force: 10.0}}

Options: force (push strength, default 10.0), fail_after (raise an error at
that step: for tests), width/height of the picture (default 600x400).
"""

import math
import os
import random
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import hippo_env  # noqa: E402

WHITE = b"\xff\xff\xff"
BLACK = b"\x00\x00\x00"
POLE = bytes((202, 152, 101))
AXLE = bytes((129, 132, 203))


class PureCartPole:
    metadata = {"render_fps": 50}

    def __init__(self, force=10.0, width=600, height=400, fail_after=0):
        self.gravity, self.masscart, self.masspole = 9.8, 1.0, 0.1
        self.total_mass = self.masscart + self.masspole
        self.length = 0.5
        self.polemass_length = self.masspole * self.length
        self.force_mag, self.tau = float(force), 0.02
        self.theta_threshold = 12 * 2 * math.pi / 360
        self.x_threshold = 2.4
        self.fail_after = int(fail_after)
        self.action_space = hippo_env.Discrete(2, names=["left", "right"])
        inf = math.inf
        high = [self.x_threshold * 2, inf, self.theta_threshold * 2, inf]
        self.observation_space = hippo_env.Box([-v for v in high], high, (4,))
        self.render_width, self.render_height = int(width), int(height)
        self.rng = random.Random()
        self.state = None
        self.steps = 0
        self.background = WHITE * (self.render_width * self.render_height)
        self.buf = bytearray(self.background)

    def reset(self, seed=None):
        if seed is not None:
            self.rng.seed(seed)
        self.state = [self.rng.uniform(-0.05, 0.05) for _ in range(4)]
        self.steps = 0
        return list(self.state), {}

    def step(self, action):
        if action not in (0, 1):
            raise ValueError("action must be 0 or 1, got %r" % (action,))
        self.steps += 1
        if self.fail_after and self.steps >= self.fail_after:
            raise RuntimeError("deliberate failure at step %d" % self.steps)
        x, x_dot, theta, theta_dot = self.state
        force = self.force_mag if action == 1 else -self.force_mag
        cos, sin = math.cos(theta), math.sin(theta)
        temp = (force + self.polemass_length * theta_dot ** 2 * sin) / self.total_mass
        thetaacc = (self.gravity * sin - cos * temp) / (
            self.length * (4.0 / 3.0 - self.masspole * cos ** 2 / self.total_mass))
        xacc = temp - self.polemass_length * thetaacc * cos / self.total_mass
        x += self.tau * x_dot
        x_dot += self.tau * xacc
        theta += self.tau * theta_dot
        theta_dot += self.tau * thetaacc
        self.state = [x, x_dot, theta, theta_dot]
        terminated = (x < -self.x_threshold or x > self.x_threshold
                      or theta < -self.theta_threshold or theta > self.theta_threshold)
        return list(self.state), 1.0, terminated, False, {"steps": self.steps}

    # ---- drawing: horizontal spans written with slice assignment ----

    def _span(self, y, x0, x1, color):
        w, h = self.render_width, self.render_height
        if y < 0 or y >= h:
            return
        x0, x1 = max(0, int(round(x0))), min(w, int(round(x1)))
        if x1 > x0:
            o = (y * w + x0) * 3
            self.buf[o:o + (x1 - x0) * 3] = color * (x1 - x0)

    def _polygon(self, pts, color):
        """Fills a convex polygon given in picture coordinates (y down)."""
        ys = [p[1] for p in pts]
        for y in range(int(math.floor(min(ys))), int(math.ceil(max(ys))) + 1):
            yc = y + 0.5
            xs = []
            for i in range(len(pts)):
                (xa, ya), (xb, yb) = pts[i], pts[(i + 1) % len(pts)]
                if (ya <= yc < yb) or (yb <= yc < ya):
                    xs.append(xa + (yc - ya) * (xb - xa) / (yb - ya))
            if len(xs) >= 2:
                self._span(y, min(xs), max(xs), color)

    def render(self):
        w, h = self.render_width, self.render_height
        self.buf[:] = self.background
        scale = w / (self.x_threshold * 2)
        polewidth, polelen = 10.0 * scale / 125, scale * 2 * self.length
        cartwidth, cartheight = 50.0 * scale / 125, 30.0 * scale / 125
        x, theta = (self.state or [0, 0, 0, 0])[0], (self.state or [0, 0, 0, 0])[2]
        cartx, carty = x * scale + w / 2.0, 100 * h / 400
        axle = cartheight / 4.0

        def flip(px, py):  # world (y up) to picture (y down)
            return (px, h - py)

        l, r, t, b = -cartwidth / 2, cartwidth / 2, cartheight / 2, -cartheight / 2
        self._polygon([flip(cartx + px, carty + py) for px, py in ((l, b), (l, t), (r, t), (r, b))],
                      BLACK)
        l, r, t, b = -polewidth / 2, polewidth / 2, polelen - polewidth / 2, -polewidth / 2
        c, s = math.cos(-theta), math.sin(-theta)
        pole = [flip(px * c - py * s + cartx, px * s + py * c + carty + axle)
                for px, py in ((l, b), (l, t), (r, t), (r, b))]
        self._polygon(pole, POLE)
        rad = polewidth / 2
        cy = h - (carty + axle)
        for y in range(int(cy - rad), int(cy + rad) + 1):
            d = rad * rad - (y + 0.5 - cy) ** 2
            if d > 0:
                self._span(y, cartx - math.sqrt(d), cartx + math.sqrt(d), AXLE)
        self._span(int(h - carty), 0, w, BLACK)
        return hippo_env.RGBFrame(w, h, self.buf)


def make(env_id, options):
    return PureCartPole(**options)


if __name__ == "__main__":
    sys.exit(hippo_env.serve(make))
