"""External environment processes that crash, hang or write garbage: each ends
only its own session, with a clear {"error": ...} to its participant and a
line in the log, and its process is reaped; a parallel session keeps
receiving frames throughout (counted, not timed)."""
import asyncio
import atexit
import json
import os
import shutil
import subprocess
import tempfile

from pluginutil import PURE_ENV, PYTHON, study
from serveutil import Trial, check, connect, frames_until, handshake, main

HERE = os.path.dirname(os.path.abspath(__file__))


def children(pid):
    out = subprocess.run(["ps", "-o", "pid=,stat=", "--ppid", str(pid)], capture_output=True,
                         text=True)
    return [ln.split() for ln in out.stdout.splitlines() if ln.strip()]


class Watcher:
    """Reads the steady participant's messages in the background, counting frames."""

    def __init__(self, ws):
        self.ws, self.frames, self.errors = ws, 0, []
        self.task = asyncio.ensure_future(self.read())

    async def read(self):
        async for m in self.ws:
            if isinstance(m, str) and m.startswith("{"):
                j = json.loads(m)
                if "frame" in j:
                    self.frames += 1
                if "error" in j:
                    self.errors.append(j["error"])
            elif m == "done":
                return

    async def more_frames(self, n, timeout=60):
        """Waits until N more frames arrived; returns how many did."""
        start = self.frames
        for _ in range(timeout * 20):
            if self.frames - start >= n:
                break
            await asyncio.sleep(0.05)
        return self.frames - start


async def failing_session(srv, user, action, needle, project="plugin-faults"):
    ws = await connect(srv)
    await handshake(ws, user, project)
    await ws.send(json.dumps({"command": "start"}))
    await ws.send(json.dumps({"action": action}))
    msgs = await frames_until(ws, lambda m: m == "done")
    errs = [m["error"] for m in msgs if isinstance(m, dict) and "error" in m]
    check(any(needle in e for e in errs), "%s: the participant is told: %s" % (action, errs))
    await ws.close()
    return errs


async def hanging_agent():
    lockdir = tempfile.mkdtemp(prefix="hippo-agent-lock-")
    atexit.register(shutil.rmtree, lockdir, True)
    lock = os.path.join(lockdir, "steady")
    d = study("agent-faults", """
game: PureCartPole-v0
maxEpisodes: 100000
actionSpace: [left, right]
startingFrameRate: 30
mode: watch
agentCommand: [%s, %s]
agentOptions: {lock: %s}
env:
  command: [%s, %s]
  stepTimeout: 1000
""" % (PYTHON, os.path.join(HERE, "hang_agent.py"), lock, PYTHON, PURE_ENV))
    srv = Trial(None, "--workers", "1", project_dir=d)
    try:
        steady_ws = await connect(srv)
        await handshake(steady_ws, "steady", "agent-faults")
        await steady_ws.send(json.dumps({"command": "start"}))
        steady = Watcher(steady_ws)
        check(await steady.more_frames(10) >= 10, "the session with a working agent plays")
        before = steady.frames
        await failing_session(srv, "u-agent", "right", "step timeout", "agent-faults")
        got = await steady.more_frames(15)
        check(got >= 15, "a hung agent process ends only its session; the other kept "
              "receiving frames (%d during, %d after)" % (steady.frames - before - got, got))
        await steady_ws.send(json.dumps({"command": "stop"}))
        await asyncio.wait_for(steady.task, 30)
    finally:
        rc, err = srv.stop()
        srv.cleanup()
    check("hang_agent: stuck on purpose" in err, "the agent's stderr is in the log")


async def test():
    await hanging_agent()
    d = study("plugin-faults", """
game: Faulty-v0
maxEpisodes: 100000
actionSpace: [left, right, crash, hang, garbage, hangreset]
startingFrameRate: 30
env:
  command: [%s, %s]
  stepTimeout: 1000
""" % (PYTHON, os.path.join(HERE, "faulty_env.py")))
    srv = Trial(None, "--workers", "1", project_dir=d)  # all sessions share one worker
    try:
        steady_ws = await connect(srv)
        await handshake(steady_ws, "steady", "plugin-faults")
        await steady_ws.send(json.dumps({"command": "start"}))
        steady = Watcher(steady_ws)
        check(await steady.more_frames(10) >= 10, "the steady session plays")

        cases = [("u-crash", "crash", "exited with status 3"),
                 ("u-hang", "hang", "step timeout"),
                 ("u-garbage", "garbage", "protocol error: bad magic"),
                 ("u-hangreset", "hangreset", "step timeout")]
        for user, action, needle in cases:
            before = steady.frames
            await failing_session(srv, user, action, needle)
            got = await steady.more_frames(15)
            check(got >= 15, "the steady session kept receiving frames after '%s' (%d during, "
                  "%d after)" % (action, steady.frames - before - got, got))

        kids = children(srv.proc.pid)
        check(len(kids) == 1, "only the steady session's process is left: %s" % kids)
        check(all("Z" not in k[1] for k in kids), "no zombie processes")
        check(steady.errors == [], "the steady session saw no error")
        await steady_ws.send(json.dumps({"command": "stop"}))
        await asyncio.wait_for(steady.task, 30)
    finally:
        rc, err = srv.stop()
        srv.cleanup()
    for needle in ("exited with status 3", "step timeout", "bad magic",
                   "faulty_env: crashing on purpose"):
        check(needle in err, "the log has '%s'" % needle)
    # a frame is drawn only once the process answered the first reset
    check("render failed" not in err, "no frame asked of a process before its first reset")
    check(rc == 0, "the server exits cleanly")


main(test)
