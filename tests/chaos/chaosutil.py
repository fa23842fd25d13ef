"""The adversarial suite's shared pieces.

Every case in tests/chaos/ starts `hippo serve` (or `hippo trial`) on 127.0.0.1
with its own data folder, puts an honest participant in a game, runs one attack
for CHAOS_SECONDS (3 s in `make test`, longer in `make chaos`) and then checks
what must hold: the honest participant's frame rate during the attack, nothing
written outside the data folder, nothing already stored lost, the server alive
and exiting 0 (so sanitizer reports at exit are seen).

Each case's docstring says what it sends and what must hold."""
import asyncio
import atexit
import json
import os
import statistics
import sys
import subprocess
import time
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))

import websockets  # noqa: E402

# check() and main() (which also checks every server's exit status) are the
# integration tests' own, for the cases to import from here.
from serveutil import Serve, check, main  # noqa: E402,F401

PROJECT_DIR = os.path.join(HERE, "projects", "chaos-honest")
PROJECT = "chaos-honest"

SECONDS = float(os.environ.get("CHAOS_SECONDS", "3"))
# The honest participant's median frame rate over one-second windows must stay at
# or above this while an attack runs (the study asks for 30 fps).
MIN_FPS = float(os.environ.get("CHAOS_MIN_FPS", "27"))


def walk_to_game(srv, user, project=PROJECT):
    """Walks USER through /next to the game step; returns the websocket URL."""
    st, j = srv.next(project, user)
    check(st == 200 and j["step"] == 1, "%s: step 1 shown" % user)
    st, j = srv.next(project, user, {"consent": "yes"})
    check(st == 200 and j["page"] == "show_game_page", "%s: the game step (%s)" % (user, j))
    return j["server"]


class Honest:
    """An honest participant playing in a process of its own (so the attacker's
    Python never takes its CPU): reaches the game through /next, plays until
    stop(), reports when each frame arrived."""

    def __init__(self, srv, project=PROJECT, user=None, url=None):
        """URL: the game's websocket when the participant is there already
        (hippo trial, or a participant back on the game step)."""
        self.srv, self.project = srv, project
        self.user = user or "honest-" + uuid.uuid4().hex[:12]
        self.url = url or walk_to_game(srv, self.user, project)
        self.times = []
        self.proc = None

    def begin(self):
        """Starts playing; returns once the first frame arrived."""
        self.proc = subprocess.Popen([sys.executable, os.path.abspath(__file__), "honest",
                                      self.url, self.user, self.project],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        line = self.proc.stdout.readline().strip()
        check(line == "playing", "the honest participant plays (%r)" % line)
        return self

    def fps(self, t0, t1):
        """Frames per second in each whole one-second window of [t0, t1)."""
        out = []
        t = t0
        while t + 1.0 <= t1:
            out.append(sum(1 for x in self.times if t <= x < t + 1.0))
            t += 1.0
        return out

    def stop(self):
        """Ends the game; collects the frame times. Call before hold_fps()."""
        try:
            out, _ = self.proc.communicate("stop\n", timeout=60)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            out, _ = self.proc.communicate()
        res = json.loads(out.strip().splitlines()[-1]) if out.strip() else {"error": "no output"}
        self.times = res.get("times", [])
        check(res.get("error") is None and res.get("done"),
              "the honest participant ended its game cleanly (%s)" % res.get("error", "done"))


async def _honest(url, user, project):
    """The honest participant's process: prints "playing" at the first frame,
    then, once stdin says stop, one JSON line {times, done, error}."""
    times, res = [], {"done": False}
    loop = asyncio.get_running_loop()
    stop = loop.run_in_executor(None, sys.stdin.readline)
    try:
        async with websockets.connect(url, max_size=16 << 20, open_timeout=30) as ws:
            await ws.send(json.dumps({"userId": user, "projectId": project}))
            await ws.send(json.dumps({"command": "start"}))
            i = 0
            while not stop.done():
                m = await asyncio.wait_for(ws.recv(), 30)
                if isinstance(m, bytes) or '"frame"' in m:
                    times.append(time.monotonic())
                    if i == 0:
                        print("playing", flush=True)
                    i += 1
                    if i % 15 == 0:  # a human presses keys now and then
                        await ws.send(json.dumps({"action": "left" if i % 30 else "right"}))
            await ws.send(json.dumps({"command": "stop"}))
            while await asyncio.wait_for(ws.recv(), 30) != "done":
                pass
            res["done"] = True
    except Exception as e:
        res["error"] = repr(e)
        if not times:
            print("failed", flush=True)
    res["times"] = times
    print(json.dumps(res), flush=True)
    os._exit(0)  # the stdin reader thread may still wait


def attacker_nice():
    """Lowers this process's CPU priority for the attack. The attacker runs on the
    same two cores as the server and the honest participant (both started before
    this call, so they keep theirs); a real attacker's own CPU is its own."""
    os.nice(10)


def hold_fps(honest, t0, t1, what):
    """Checks the honest participant's median fps over [t0, t1) against MIN_FPS."""
    w = honest.fps(t0, t1)
    if not w:
        w = [len([x for x in honest.times if t0 <= x < t1]) / max(t1 - t0, 1e-3)]
    med = statistics.median(w)
    check(med >= MIN_FPS, "honest participant during %s: median %.1f fps, min %.1f over %d s "
          "(>= %.0f)" % (what, med, min(w), len(w), MIN_FPS))
    return med


def listing(root):
    """Every path under ROOT (relative), for 'nothing written outside' checks."""
    out = set()
    for d, dirs, files in os.walk(root):
        for n in dirs + files:
            out.add(os.path.relpath(os.path.join(d, n), root))
    return out


def nothing_outside(srv, before=None):
    """Checks that the server's temporary folder holds only its data folder."""
    top = set(os.listdir(srv.tmp)) - {"data"} - (before or set())
    check(not top, "nothing written outside the data folder (%s)" % sorted(top))


def serve(*args, projects=None, **kw):
    """`hippo serve` with the chaos study (and PROJECTS) on a free port. A
    check that fails before finish() still stops it and removes its folder."""
    srv = Serve(*(projects or [PROJECT_DIR]), args=args, **kw)

    def leftover():
        if srv.proc.poll() is None:
            srv.stop()
        srv.cleanup()
    atexit.register(leftover)
    return srv


def finish(srv, cleanup=True):
    """Stops the server; checks it was alive and exits 0 (sanitizer reports).
    With CLEANUP false the data folder stays for the caller (srv.cleanup())."""
    alive = srv.proc.poll() is None
    rc, err = srv.stop()
    if cleanup:
        srv.cleanup()
    if rc != 0 or not alive:
        print(err[-8000:])
    check(alive, "the server survived the attack")
    check(rc == 0, "the server exits 0 after the attack (exit %s)" % rc)
    return err


if __name__ == "__main__" and len(sys.argv) == 5 and sys.argv[1] == "honest":
    asyncio.run(_honest(*sys.argv[2:]))
