#!/usr/bin/python3
"""Reference trajectories for hippo's MiniGrid environments.

An independent re-implementation, in plain Python + numpy, of the parts of
Minigrid (Farama-Foundation/Minigrid: minigrid_env.py, core/grid.py,
core/world_object.py, core/constants.py, envs/empty.py, envs/doorkey.py,
envs/fourrooms.py, utils/rendering.py) that hippo reproduces:

- seeding exactly as Gymnasium does: np.random.Generator(PCG64(SeedSequence(seed)))
  (numpy's default_rng(seed)); reset() without a seed continues the generator;
- grid generation with the same order of draws (_rand_int = integers(low, high),
  place_obj's rejection loop drawing x then y, place_agent's random direction);
- step(): the 7 actions, reward 1 - 0.9 * step_count / max_steps, truncation at
  step_count >= max_steps;
- gen_obs(): slice + rotate_left (agent_dir + 1 times) + process_vis (unless
  see_through_walls) + the carried object at (3, 6), encoded (type, color, state);
- render(): Minigrid's rgb_array frame (32 px tiles supersampled 3x, the agent's
  view highlighted), hashed with 64-bit FNV-1a over the packed RGB rows.

Action sequences are chosen by a small planner (breadth-first search over the
agent's position and direction) so that the DoorKey trajectories pick up the key,
unlock the door and reach the goal, and FourRooms trajectories reach the goal;
other trajectories use fixed random actions (drawn here from default_rng(1234)).

Hand-checks done while writing this file (Minigrid semantics, not this code):
- Empty-5x5 seed 0: agent at (1,1) facing right, goal at (3,3); the 7x7 view has
  the agent at column 3, row 6; its right-hand side is view column 4..6 -> row y=1..3
  of the world seen from above; forward,forward,right,forward,forward reaches the
  goal on step 5 with reward 1 - 0.9*5/100 = 0.955.
- DoorKey-5x5: splitIdx = integers(2, 3) draws nothing (a range of one value), so
  the wall is always at x=2, the agent always at (1, y), the key at (1, y').
- max_steps: Empty 4*size^2 (100 for 5x5, 256 for 8x8), DoorKey 10*size^2 (250),
  FourRooms 100.

Run: /usr/bin/python3 tests/reference/minigrid_reference.py > tests/unit/minigrid_reference.h
(takes about 20 s; the output is committed and only changes with this script)
"""
import math
import sys
from collections import deque

import numpy as np

OBJECT_TO_IDX = {"unseen": 0, "empty": 1, "wall": 2, "floor": 3, "door": 4, "key": 5,
                 "ball": 6, "box": 7, "goal": 8, "lava": 9, "agent": 10}
COLOR_TO_IDX = {"red": 0, "green": 1, "blue": 2, "purple": 3, "yellow": 4, "grey": 5}
COLORS = {"red": (255, 0, 0), "green": (0, 255, 0), "blue": (0, 0, 255),
          "purple": (112, 39, 195), "yellow": (255, 255, 0), "grey": (100, 100, 100)}
DIR_TO_VEC = [(1, 0), (0, 1), (-1, 0), (0, -1)]
VIEW = 7


class Obj:
    def __init__(self, kind, color, is_open=False, is_locked=False):
        self.kind, self.color = kind, color
        self.is_open, self.is_locked = is_open, is_locked

    def can_overlap(self):
        return self.kind == "goal" or (self.kind == "door" and self.is_open)

    def can_pickup(self):
        return self.kind in ("key", "ball", "box")

    def see_behind(self):
        if self.kind == "wall":
            return False
        if self.kind == "door":
            return self.is_open
        return True

    def encode(self):
        state = 0
        if self.kind == "door":
            state = 0 if self.is_open else (2 if self.is_locked else 1)
        return (OBJECT_TO_IDX[self.kind], COLOR_TO_IDX[self.color], state)


def wall():
    return Obj("wall", "grey")


class Grid:
    def __init__(self, w, h):
        self.w, self.h = w, h
        self.cells = [None] * (w * h)

    def get(self, i, j):
        assert 0 <= i < self.w and 0 <= j < self.h
        return self.cells[j * self.w + i]

    def set(self, i, j, v):
        assert 0 <= i < self.w and 0 <= j < self.h
        self.cells[j * self.w + i] = v

    def horz_wall(self, x, y, length=None):
        if length is None:
            length = self.w - x
        for i in range(length):
            self.set(x + i, y, wall())

    def vert_wall(self, x, y, length=None):
        if length is None:
            length = self.h - y
        for j in range(length):
            self.set(x, y + j, wall())

    def wall_rect(self, x, y, w, h):
        self.horz_wall(x, y, w)
        self.horz_wall(x, y + h - 1, w)
        self.vert_wall(x, y, h)
        self.vert_wall(x + w - 1, y, h)

    def rotate_left(self):
        g = Grid(self.h, self.w)
        for i in range(self.w):
            for j in range(self.h):
                g.set(j, g.h - 1 - i, self.get(i, j))
        return g

    def slice(self, tx, ty, w, h):
        g = Grid(w, h)
        for j in range(h):
            for i in range(w):
                x, y = tx + i, ty + j
                g.set(i, j, self.get(x, y) if 0 <= x < self.w and 0 <= y < self.h else wall())
        return g

    def process_vis(self, ax, ay):
        mask = np.zeros((self.w, self.h), dtype=bool)
        mask[ax, ay] = True
        for j in reversed(range(self.h)):
            for i in range(self.w - 1):
                if not mask[i, j]:
                    continue
                c = self.get(i, j)
                if c and not c.see_behind():
                    continue
                mask[i + 1, j] = True
                if j > 0:
                    mask[i + 1, j - 1] = True
                    mask[i, j - 1] = True
            for i in reversed(range(1, self.w)):
                if not mask[i, j]:
                    continue
                c = self.get(i, j)
                if c and not c.see_behind():
                    continue
                mask[i - 1, j] = True
                if j > 0:
                    mask[i - 1, j - 1] = True
                    mask[i, j - 1] = True
        for j in range(self.h):
            for i in range(self.w):
                if not mask[i, j]:
                    self.set(i, j, None)
        return mask

    def encode(self, vis):
        a = np.zeros((self.w, self.h, 3), dtype=np.uint8)
        for i in range(self.w):
            for j in range(self.h):
                if vis[i, j]:
                    v = self.get(i, j)
                    a[i, j, :] = (1, 0, 0) if v is None else v.encode()
        return a


class Env:
    """One MiniGrid environment; KIND is 'empty', 'doorkey' or 'fourrooms'."""

    def __init__(self, kind, size):
        self.kind, self.size = kind, size
        self.rng = None
        if kind == "empty":
            self.max_steps, self.see_through = 4 * size * size, True
            self.mission = "get to the green goal square"
        elif kind == "doorkey":
            self.max_steps, self.see_through = 10 * size * size, False
            self.mission = "use the key to open the door and then get to the goal"
        else:
            self.max_steps, self.see_through = 100, False
            self.mission = "reach the goal"

    def rand_int(self, lo, hi):
        return int(self.rng.integers(lo, hi))

    def place_obj(self, obj, top=(0, 0), size=None):
        top = (max(top[0], 0), max(top[1], 0))
        if size is None:
            size = (self.grid.w, self.grid.h)
        while True:
            pos = (self.rand_int(top[0], min(top[0] + size[0], self.grid.w)),
                   self.rand_int(top[1], min(top[1] + size[1], self.grid.h)))
            if self.grid.get(*pos) is not None:
                continue
            if pos == tuple(self.agent_pos):
                continue
            break
        self.grid.set(pos[0], pos[1], obj)
        return pos

    def place_agent(self, top=(0, 0), size=None):
        self.agent_pos = (-1, -1)
        self.agent_pos = self.place_obj(None, top, size)
        self.agent_dir = self.rand_int(0, 4)

    def gen_grid(self):
        w = h = self.size
        self.grid = Grid(w, h)
        if self.kind == "empty":
            self.grid.wall_rect(0, 0, w, h)
            self.grid.set(w - 2, h - 2, Obj("goal", "green"))
            self.agent_pos, self.agent_dir = (1, 1), 0
        elif self.kind == "doorkey":
            self.grid.wall_rect(0, 0, w, h)
            self.grid.set(w - 2, h - 2, Obj("goal", "green"))
            split = self.rand_int(2, w - 2)
            self.grid.vert_wall(split, 0)
            self.place_agent(size=(split, h))
            door = self.rand_int(1, h - 2)
            self.grid.set(split, door, Obj("door", "yellow", is_locked=True))
            self.place_obj(Obj("key", "yellow"), top=(0, 0), size=(split, h))
        else:
            g = self.grid
            g.horz_wall(0, 0)
            g.horz_wall(0, h - 1)
            g.vert_wall(0, 0)
            g.vert_wall(w - 1, 0)
            rw, rh = w // 2, h // 2
            for j in range(2):
                for i in range(2):
                    xl, yt = i * rw, j * rh
                    xr, yb = xl + rw, yt + rh
                    if i + 1 < 2:
                        g.vert_wall(xr, yt, rh)
                        g.set(xr, self.rand_int(yt + 1, yb), None)
                    if j + 1 < 2:
                        g.horz_wall(xl, yb, rw)
                        g.set(self.rand_int(xl + 1, xr), yb, None)
            self.place_agent()
            self.place_obj(Obj("goal", "green"))

    def reset(self, seed=None):
        if seed is not None or self.rng is None:
            self.rng = np.random.default_rng(seed)
        self.agent_pos, self.agent_dir = (-1, -1), -1
        self.gen_grid()
        self.carrying = None
        self.step_count = 0
        return self.gen_obs()

    def front(self):
        dx, dy = DIR_TO_VEC[self.agent_dir]
        return (self.agent_pos[0] + dx, self.agent_pos[1] + dy)

    def step(self, a):
        self.step_count += 1
        reward, term, trunc = 0.0, False, False
        fx, fy = self.front()
        cell = self.grid.get(fx, fy)
        if a == 0:
            self.agent_dir = (self.agent_dir - 1) % 4
        elif a == 1:
            self.agent_dir = (self.agent_dir + 1) % 4
        elif a == 2:
            if cell is None or cell.can_overlap():
                self.agent_pos = (fx, fy)
            if cell is not None and cell.kind == "goal":
                term = True
                reward = 1 - 0.9 * (self.step_count / self.max_steps)
        elif a == 3:
            if cell and cell.can_pickup() and self.carrying is None:
                self.carrying = cell
                self.grid.set(fx, fy, None)
        elif a == 4:
            if not cell and self.carrying:
                self.grid.set(fx, fy, self.carrying)
                self.carrying = None
        elif a == 5:
            if cell and cell.kind == "door":
                if cell.is_locked:
                    if self.carrying and self.carrying.kind == "key" and \
                            self.carrying.color == cell.color:
                        cell.is_locked, cell.is_open = False, True
                else:
                    cell.is_open = not cell.is_open
        if self.step_count >= self.max_steps:
            trunc = True
        return self.gen_obs(), reward, term, trunc

    def view_exts(self):
        x, y, d = self.agent_pos[0], self.agent_pos[1], self.agent_dir
        if d == 0:
            return x, y - VIEW // 2
        if d == 1:
            return x - VIEW // 2, y
        if d == 2:
            return x - VIEW + 1, y - VIEW // 2
        return x - VIEW // 2, y - VIEW + 1

    def gen_obs_grid(self):
        tx, ty = self.view_exts()
        g = self.grid.slice(tx, ty, VIEW, VIEW)
        for _ in range(self.agent_dir + 1):
            g = g.rotate_left()
        if not self.see_through:
            vis = g.process_vis(VIEW // 2, VIEW - 1)
        else:
            vis = np.ones((VIEW, VIEW), dtype=bool)
        g.set(VIEW // 2, VIEW - 1, self.carrying)
        return g, vis

    def gen_obs(self):
        g, vis = self.gen_obs_grid()
        return g.encode(vis)

    # ---- rendering (Minigrid's get_full_render with highlight=True, tile 32) ----
    def highlight_mask(self):
        _, vis = self.gen_obs_grid()
        f = np.array(DIR_TO_VEC[self.agent_dir])
        dx, dy = f
        r = np.array((-dy, dx))
        top_left = np.array(self.agent_pos) + f * (VIEW - 1) - r * (VIEW // 2)
        mask = np.zeros((self.size, self.size), dtype=bool)
        for vj in range(VIEW):
            for vi in range(VIEW):
                if not vis[vi, vj]:
                    continue
                ai, aj = top_left - f * vj + r * vi
                if 0 <= ai < self.size and 0 <= aj < self.size:
                    mask[ai, aj] = True
        return mask

    def render(self):
        mask = self.highlight_mask()
        ts = 32
        img = np.zeros((self.size * ts, self.size * ts, 3), dtype=np.uint8)
        for j in range(self.size):
            for i in range(self.size):
                here = (i, j) == tuple(self.agent_pos)
                tile = render_tile(self.grid.get(i, j), self.agent_dir if here else None,
                                   bool(mask[i, j]))
                img[j * ts:(j + 1) * ts, i * ts:(i + 1) * ts, :] = tile
        return img


# Supersampled tile rendering (96x96 then averaged 3x3), vectorised over pixels.
SUB = 96
_YS, _XS = np.mgrid[0:SUB, 0:SUB]
XF = (_XS + 0.5) / SUB
YF = (_YS + 0.5) / SUB


def rect(x0, x1, y0, y1, x=XF, y=YF):
    return (x >= x0) & (x <= x1) & (y >= y0) & (y <= y1)


def circle(cx, cy, r):
    return (XF - cx) * (XF - cx) + (YF - cy) * (YF - cy) <= r * r


def triangle(theta):
    a = np.array((0.12, 0.19), dtype=np.float32)
    b = np.array((0.87, 0.50), dtype=np.float32)
    c = np.array((0.12, 0.81), dtype=np.float32)
    out = np.zeros((SUB, SUB), dtype=bool)
    v0 = c - a
    v1 = b - a
    dot00 = np.dot(v0, v0)
    dot01 = np.dot(v0, v1)
    dot11 = np.dot(v1, v1)
    inv = 1 / (dot00 * dot11 - dot01 * dot01)
    for py in range(SUB):
        for px in range(SUB):
            x, y = XF[py, px] - 0.5, YF[py, px] - 0.5
            x2 = 0.5 + x * math.cos(-theta) - y * math.sin(-theta)
            y2 = 0.5 + y * math.cos(-theta) + x * math.sin(-theta)
            v2 = np.array((x2, y2)) - a
            dot02 = np.dot(v0, v2)
            dot12 = np.dot(v1, v2)
            u = (dot11 * dot02 - dot01 * dot12) * inv
            v = (dot00 * dot12 - dot01 * dot02) * inv
            out[py, px] = (u >= 0) and (v >= 0) and (u + v) < 1
    return out


_TRI = {}
_TILES = {}


def render_tile(obj, agent_dir, highlight):
    key = (obj.encode() if obj else None, agent_dir, highlight)
    if key in _TILES:
        return _TILES[key]
    img = np.zeros((SUB, SUB, 3), dtype=np.uint8)
    img[rect(0, 0.031, 0, 1)] = (100, 100, 100)
    img[rect(0, 1, 0, 0.031)] = (100, 100, 100)
    if obj is not None:
        c = np.array(COLORS[obj.color])
        if obj.kind in ("wall", "goal"):
            img[rect(0, 1, 0, 1)] = c
        elif obj.kind == "key":
            img[rect(0.50, 0.63, 0.31, 0.88)] = c
            img[rect(0.38, 0.50, 0.59, 0.66)] = c
            img[rect(0.38, 0.50, 0.81, 0.88)] = c
            img[circle(0.56, 0.28, 0.190)] = c
            img[circle(0.56, 0.28, 0.064)] = (0, 0, 0)
        elif obj.kind == "door":
            if obj.is_open:
                img[rect(0.88, 1.00, 0.00, 1.00)] = c
                img[rect(0.92, 0.96, 0.04, 0.96)] = (0, 0, 0)
            elif obj.is_locked:
                img[rect(0.00, 1.00, 0.00, 1.00)] = c
                img[rect(0.06, 0.94, 0.06, 0.94)] = 0.45 * c
                img[rect(0.52, 0.75, 0.50, 0.56)] = c
            else:
                img[rect(0.00, 1.00, 0.00, 1.00)] = c
                img[rect(0.04, 0.96, 0.04, 0.96)] = (0, 0, 0)
                img[rect(0.08, 0.92, 0.08, 0.92)] = c
                img[rect(0.12, 0.88, 0.12, 0.88)] = (0, 0, 0)
                img[circle(0.75, 0.50, 0.08)] = c
    if agent_dir is not None:
        if agent_dir not in _TRI:
            _TRI[agent_dir] = triangle(0.5 * math.pi * agent_dir)
        img[_TRI[agent_dir]] = (255, 0, 0)
    if highlight:
        blend = img + 0.30 * (np.array((255, 255, 255), dtype=np.uint8) - img)
        img[:, :, :] = blend.clip(0, 255).astype(np.uint8)
    small = img.reshape([32, 3, 32, 3, 3]).mean(axis=3).mean(axis=1)
    out = np.zeros((32, 32, 3), dtype=np.uint8)
    out[:, :, :] = small
    _TILES[key] = out
    return out


def fnv1a64(data):
    h = 0xcbf29ce484222325
    for b in data:
        h ^= b
        h = (h * 0x100000001b3) & 0xFFFFFFFFFFFFFFFF
    return h


def frame_hash(img):
    return fnv1a64(np.ascontiguousarray(img).tobytes())


# ---- planner: shortest action sequences over (x, y, dir) ----
def plan_to_face(env, target, passable):
    """Actions turning/moving the agent until it faces cell TARGET."""
    start = (env.agent_pos[0], env.agent_pos[1], env.agent_dir)
    prev = {start: None}
    q = deque([start])
    while q:
        s = q.popleft()
        x, y, d = s
        dx, dy = DIR_TO_VEC[d]
        if (x + dx, y + dy) == target:
            acts = []
            while prev[s] is not None:
                s, a = prev[s]
                acts.append(a)
            return acts[::-1]
        nxt = [((x, y, (d - 1) % 4), 0), ((x, y, (d + 1) % 4), 1)]
        if passable(x + dx, y + dy):
            nxt.append(((x + dx, y + dy, d), 2))
        for n, a in nxt:
            if n not in prev:
                prev[n] = (s, a)
                q.append(n)
    raise RuntimeError("no path")


def find(env, kind):
    for j in range(env.size):
        for i in range(env.size):
            c = env.grid.get(i, j)
            if c is not None and c.kind == kind:
                return (i, j)
    return None


def free(env):
    def ok(x, y):
        c = env.grid.get(x, y)
        return c is None or (c.can_overlap() and c.kind != "goal")
    return ok


class Recorder:
    def __init__(self, name, env_id, env):
        self.name, self.env_id, self.env = name, env_id, env
        self.rows = []

    def reset(self, seed):
        obs = self.env.reset(seed)
        self.rows.append((-1 if seed is None else -2, seed, obs, 0.0, False, False))

    def step(self, a):
        obs, r, t, tr = self.env.step(a)
        self.rows.append((a, None, obs, r, t, tr))
        return t or tr

    def row_text(self, row):
        a, seed, obs, r, t, tr = row
        e = self.env
        flat = obs.reshape(-1)
        assert flat.shape == (147,)
        hexobs = "".join("%02x" % b for b in flat)
        frame = frame_hash(e.render())
        if a == -2:
            kind, arg = "MG_RESET_SEED", seed
        elif a == -1:
            kind, arg = "MG_RESET", 0
        else:
            kind, arg = "MG_STEP", a
        return ('\t{%s, %d, %d, %d, %d, %s, %d, %d, "%s", 0x%016xULL},' %
                (kind, arg, e.agent_pos[0], e.agent_pos[1], e.agent_dir, repr(float(r)),
                 int(t), int(tr), hexobs, frame))


def run_case(out, name, env_id, env, script):
    rec = Recorder(name, env_id, env)
    lines = []

    def reset(seed):
        rec.reset(seed)
        lines.append(rec.row_text(rec.rows[-1]))

    def step(a):
        done = rec.step(a)
        lines.append(rec.row_text(rec.rows[-1]))
        return done

    script(env, reset, step)
    out.append((name, env_id, env.mission, lines))


def follow(env, step, acts):
    for a in acts:
        if step(a):
            return True
    return False


def solve_doorkey(seed):
    def script(env, reset, step):
        reset(seed)
        key = find(env, "key")
        follow(env, step, plan_to_face(env, key, free(env)))
        step(3)                                     # pickup
        door = find(env, "door")
        follow(env, step, plan_to_face(env, door, free(env)))
        step(5)                                     # toggle: unlock and open
        step(2)                                     # into the doorway
        goal = find(env, "goal")
        follow(env, step, plan_to_face(env, goal, free(env)))
        step(2)                                     # onto the goal
    return script


def solve_goal(seed):
    def script(env, reset, step):
        reset(seed)
        goal = find(env, "goal")
        follow(env, step, plan_to_face(env, goal, free(env)))
        step(2)
    return script


def random_actions(seed, n, actions_seed, reset_again=False):
    def script(env, reset, step):
        arng = np.random.default_rng(actions_seed)
        reset(seed)
        for _ in range(n):
            if step(int(arng.integers(0, 7))):
                if not reset_again:
                    return
                reset(None)
    return script


def doorkey_extras(seed):
    """Toggle without the key, pick up, drop it back, pick up again, unlock, close, reopen."""
    def script(env, reset, step):
        reset(seed)
        door = find(env, "door")
        follow(env, step, plan_to_face(env, door, free(env)))
        step(5)                                     # locked, no key: nothing
        key = find(env, "key")
        follow(env, step, plan_to_face(env, key, free(env)))
        step(3)
        step(3)                                     # pickup with hands full: nothing
        step(4)                                     # drop in front
        step(3)
        follow(env, step, plan_to_face(env, door, free(env)))
        step(5)                                     # unlock + open
        step(5)                                     # close
        step(5)                                     # open
        step(6)                                     # done: nothing
    return script


def main():
    cases = []
    for seed in (0, 1, 2):
        run_case(cases, "empty5_s%d" % seed, "MiniGrid-Empty-5x5-v0", Env("empty", 5),
                 solve_goal(seed))
    run_case(cases, "empty5_random", "MiniGrid-Empty-5x5-v0", Env("empty", 5),
             random_actions(7, 120, 1234))
    run_case(cases, "empty8_s3", "MiniGrid-Empty-8x8-v0", Env("empty", 8), solve_goal(3))
    run_case(cases, "empty8_random", "MiniGrid-Empty-8x8-v0", Env("empty", 8),
             random_actions(5, 60, 99))
    for seed in range(5):
        run_case(cases, "doorkey_s%d" % seed, "MiniGrid-DoorKey-5x5-v0", Env("doorkey", 5),
                 solve_doorkey(seed))
    for seed in (11, 42):
        run_case(cases, "doorkey_extras_s%d" % seed, "MiniGrid-DoorKey-5x5-v0",
                 Env("doorkey", 5), doorkey_extras(seed))
    run_case(cases, "doorkey_random", "MiniGrid-DoorKey-5x5-v0", Env("doorkey", 5),
             random_actions(3, 300, 77, reset_again=True))
    for seed in range(5):
        run_case(cases, "fourrooms_s%d" % seed, "MiniGrid-FourRooms-v0", Env("fourrooms", 19),
                 solve_goal(seed))
    run_case(cases, "fourrooms_random", "MiniGrid-FourRooms-v0", Env("fourrooms", 19),
             random_actions(123, 230, 5, reset_again=True))

    w = sys.stdout.write
    w("/* Generated by tests/reference/minigrid_reference.py: do not edit.\n"
      " * One row per reset/step: kind, seed or action, agent x, y, dir, reward,\n"
      " * terminated, truncated, the 7x7x3 observation in numpy C order (hex),\n"
      " * FNV-1a 64 of the rendered RGB frame. */\n")
    w("#ifndef MINIGRID_REFERENCE_H\n#define MINIGRID_REFERENCE_H\n\n")
    for name, env_id, mission, lines in cases:
        w("static const struct mg_ref_row ref_%s[] = {\n" % name)
        w("\n".join(lines))
        w("\n};\n\n")
    w("static const struct mg_ref_case ref_cases[] = {\n")
    for name, env_id, mission, lines in cases:
        w('\t{"%s", "%s", "%s", ref_%s, sizeof ref_%s / sizeof ref_%s[0]},\n' %
          (name, env_id, mission, name, name, name))
    w("};\n\n#endif\n")


if __name__ == "__main__":
    main()
