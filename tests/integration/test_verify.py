"""hippo verify on records written by the real trial server: scripted
participants play CartPole, MountainCar, Acrobot, Pendulum and a MiniGrid
level over the websocket (`hippo trial`, turn input so that each action is one
step); every recorded episode must re-simulate bit for bit. Then single
values of the records are altered (an observation, a reward, a flag, the seed,
a missing line, a continuous action) and verify must fail, naming the episode
and the first differing step."""
import json
import os
import random
import re
import shutil
import subprocess
import tempfile

from trialutil import Server, check, connect, handshake, recv, run

BIN = os.environ.get("HIPPO_BIN", "hippo")

CONFIG = """project:
  id: {pid}
  name: verify {game}
  researcher: hippo tests
  maxRuntime: 5
  events:
    startServerStep: 1
    stopServerStep: 2
  steps:
    1: game
    finalStep: thanks.html
trial:
  game: {game}
  maxEpisodes: {episodes}
  dataFile: {datafile}
  inputMode: turn
{seed}  actionSpace: [{actions}]
  startingFrameRate: 30
  maxMessagesPerSecond: 100000
  ui:
    left: true
    right: true
    start: true
"""

# (project id, game, action names, episodes, data file, seed line, steps before stop)
GAMES = [
    ("v-cartpole", "CartPole-v1", "left, right", 3, "episode", "  seed: 11\n", None),
    ("v-mountaincar", "MountainCar-v0", "left, noop, right", 2, "trial", "", None),
    ("v-acrobot", "Acrobot-v1", "left, noop, right", 2, "episode", "  seed: 5\n", 650),
    ("v-pendulum", "Pendulum-v1", "left, right", 2, "episode", "  seed: 9\n", None),
    ("v-minigrid", "MiniGrid-DoorKey-5x5-v0", "left, right, up, pickup, drop, toggle", 3,
     "episode", "  seed: 2\n", None),
]


async def frame_or_done(ws):
    while True:
        m = await recv(ws)
        if os.environ.get("DBG"):
            print(str(m)[:150])
        if m == "done":
            return None
        if isinstance(m, bytes) or '"frame"' in m:
            return m


async def play(srv, pid, user, names, stop_after):
    """Sends random actions, one per frame, until the trial is done (or
    STOP_AFTER steps, then stops). Returns the number of actions sent."""
    rnd = random.Random(user)
    ws = await connect(srv)
    await handshake(ws, user, pid)
    await ws.send(json.dumps({"command": "start"}))
    sent = 0
    while True:
        if stop_after is not None and sent == stop_after:
            await ws.send(json.dumps({"command": "stop"}))
            while (await recv(ws)) != "done":
                pass
            break
        msg = {"action": rnd.choice(names)}
        if sent % 7 == 3:
            await ws.send(json.dumps({"feedback": "good", "frameId": sent}))
        await ws.send(json.dumps(msg))
        sent += 1
        if await frame_or_done(ws) is None:
            break
    await ws.close()
    return sent


def verify(data, pid, *args):
    p = subprocess.run([BIN, "verify", pid, "--data", data, *args], capture_output=True,
                       text=True, timeout=300)
    return p.returncode, p.stdout, p.stderr


def rewrite(path, fn):
    """Applies FN to the list of parsed lines of PATH and writes them back."""
    with open(path) as f:
        lines = [json.loads(x) for x in f.read().splitlines()]
    lines = fn(lines)
    with open(path, "w") as f:
        for ln in lines:
            f.write(json.dumps(ln, separators=(",", ":")) + "\n")


def fresh_copy(src, tmp, name):
    dst = os.path.join(tmp, name)
    shutil.copytree(src, dst)
    return dst


async def main():
    tmp = tempfile.mkdtemp(prefix="hippo-verify-")
    data = os.path.join(tmp, "data")
    try:
        for pid, game, actions, episodes, datafile, seed, stop_after in GAMES:
            pdir = os.path.join(tmp, pid)
            os.makedirs(pdir)
            with open(os.path.join(pdir, "config.yml"), "w") as f:
                f.write(CONFIG.format(pid=pid, game=game, episodes=episodes, datafile=datafile,
                                      seed=seed, actions=actions))
            os.makedirs(os.path.join(pdir, "StepFiles"))
            with open(os.path.join(pdir, "StepFiles", "thanks.html"), "w") as f:
                f.write("<p>thanks</p>")
            srv = Server(pid, "--data", data, project_dir=pdir)
            try:
                names = [a.strip() for a in actions.split(",")]
                n1 = await play(srv, pid, "p1", names, stop_after)
                n2 = await play(srv, pid, "p2", names, stop_after)
            finally:
                srv.stop()
            check(n1 > 0 and n2 > 0, "%s: two participants played (%d and %d actions)"
                  % (game, n1, n2))
            rc, out, err = verify(data, pid)
            oks = [ln for ln in out.splitlines() if ln.startswith("ok ")]
            good = rc == 0 and len(oks) >= 2 and "FAIL" not in out
            check(good, "%s: hippo verify passes on every recorded episode (%d ok)%s"
                  % (game, len(oks), "" if good else "\n" + out[-2000:] + err[-1000:]))
            rc, out, _ = verify(data, pid, "--user", "p2")
            check(rc == 0 and all(" p2 " in ln for ln in out.splitlines()),
                  "%s: --user verifies one participant" % game)

        # ---- altered records fail with the first differing step
        cp = os.path.join(data, "v-cartpole", "trials", "p1")
        start = json.loads(open(os.path.join(cp, "trials.jsonl")).readline())
        check(start["env"] == {"id": "CartPole-v1", "source": "builtin"} and start["seed"] == 11,
              "the start line records the environment opened and the seed")

        def alter(name, fname, fn, user="p1", pid="v-cartpole"):
            d = fresh_copy(data, tmp, name)
            rewrite(os.path.join(d, pid, "trials", user, fname), fn)
            return verify(d, pid)

        def obs_at(step, k=2):
            def fn(lines):
                for ln in lines:
                    if ln["step"] == step and "action" in ln:
                        ln["observation"][k] = ln["observation"][k] + 1e-6
                    if ln["step"] == step + 2 and "action" in ln:
                        ln["observation"][0] = 5.0  # a later difference is not the first
                return lines
            return fn

        rc, out, _ = alter("obs", "episode_2.jsonl", obs_at(3))
        m = re.search(r"^FAIL\s+p1 \S+ episode 2: step 3: observation\[2\]: recorded \S+, "
                      r"re-simulated \S+ \(episode_2.jsonl:4\)$", out, re.M)
        check(rc == 1 and m is not None,
              "an observation changed by 1e-6 at step 3 fails episode 2 at step 3\n" + out)
        check(len([ln for ln in out.splitlines() if ln.startswith("FAIL")]) == 1 and
              "ok    p1" in out, "only that episode fails; the others still pass")

        def reward(lines):
            lines[5]["reward"] = 2
            return lines
        rc, out, _ = alter("reward", "episode_1.jsonl", reward)
        check(rc == 1 and re.search(r"episode 1: step 5: reward: recorded 2, re-simulated 1\b",
                                    out) is not None, "an altered reward fails at its step\n" + out)

        def flag(lines):
            lines[-1]["terminated"] = not lines[-1]["terminated"]
            return lines
        rc, out, _ = alter("flag", "episode_1.jsonl", flag)
        check(rc == 1 and "terminated: recorded" in out, "an altered terminated flag fails\n" + out)

        def drop(lines):
            del lines[4]
            return lines
        rc, out, _ = alter("drop", "episode_1.jsonl", drop)
        check(rc == 1 and re.search(r"episode 1: step 4: no record \(the next record is step 5\)", out) is not None,
              "a missing step line fails at that step\n" + out)

        def action(lines):
            for ln in lines:
                if ln["step"] == 2 and "action" in ln:
                    ln["action"] = 1 - ln["action"]
            return lines
        rc, out, _ = alter("action", "episode_3.jsonl", action)
        check(rc == 1 and re.search(r"episode 3: step 2: observation\[\d\]", out) is not None,
              "a changed action makes the next observation differ\n" + out)

        def seed(lines):
            lines[0]["seed"] = 12
            return lines
        rc, out, _ = alter("seed", "trials.jsonl", seed)
        check(rc == 1 and re.search(r"episode 1: reset: observation\[0\]", out) is not None,
              "another seed fails at the reset of episode 1\n" + out)

        d = fresh_copy(data, tmp, "missing")
        os.remove(os.path.join(d, "v-cartpole", "trials", "p1", "episode_2.jsonl"))
        rc, out, _ = verify(d, "v-cartpole")
        check(rc == 1 and "episode 2: no records" in out and
              re.search(r"FAIL\s+p1 \S+ episode 3: episode 2 has no records", out) is not None,
              "a missing episode file fails it and the episodes after it\n" + out)

        # a torn last line (a crash while writing) is reported and fails
        d = fresh_copy(data, tmp, "torn")
        with open(os.path.join(d, "v-cartpole", "trials", "p1", "episode_1.jsonl"), "a") as f:
            f.write('{"userId":"p1","episode":1,"st')
        rc, out, _ = verify(d, "v-cartpole")
        check(rc == 1 and "unreadable record" in out, "an unreadable record line fails\n" + out)

        # Pendulum: the continuous action applied is recorded and checked
        pend = os.path.join(data, "v-pendulum", "trials", "p1")
        steps = [json.loads(x) for x in open(os.path.join(pend, "episode_1.jsonl"))
                 if '"action"' in x]
        check(all(s["envAction"] == [0] for s in steps),
              "Pendulum records carry the continuous action applied (envAction)")

        def torque(lines):
            lines[9]["envAction"] = [0.5]
            return lines
        rc, out, _ = alter("torque", "episode_1.jsonl", torque, pid="v-pendulum")
        check(rc == 1 and "episode 1: step 9: reward: recorded" in out,
              "another torque than the one applied fails at its step\n" + out)

        # MiniGrid (uint8 observations, info, episodes continuing the generator)
        def cell(lines):
            lines[0]["observation"][10] = (lines[0]["observation"][10] + 1) % 256
            return lines
        rc, out, _ = alter("grid", "episode_2.jsonl", cell, pid="v-minigrid")
        check(rc == 1 and "episode 2: reset: observation[10]" in out,
              "MiniGrid: an altered cell of episode 2's first view fails at its reset\n" + out)

        # records of an environment that is not built in are reported, not failed
        d = fresh_copy(data, tmp, "plugin")
        rewrite(os.path.join(d, "v-cartpole", "trials", "p1", "trials.jsonl"),
                lambda ls: [dict(ln, env={"id": "Corridor-v0", "source": "plugin"})
                            if ln.get("event") == "start" else ln for ln in ls])
        rc, out, _ = verify(d, "v-cartpole")
        check(rc == 0 and re.search(r"^skip\s+p1 .*is a plugin, not built in", out, re.M),
              "episodes of a plug-in environment are listed as not verifiable\n" + out)
        rc, _, err = verify(data, "v-cartpole", "--user", "nobody")
        check(rc == 1 and "no records for participant 'nobody'" in err, "an unknown participant")
        rc, _, err = verify(data, "no-such-project")
        check(rc == 1 and "no records for project" in err, "an unknown project")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    run(main())
