"""Out of file descriptors.

Sends: the server's open-file limit is lowered to leave ten descriptors free
(prlimit, as a small `ulimit -n` would be); then anonymous participants of the
chaos-fd study (one record file per episode) walk to the game through /next and
connect, one after another, each holding a socket and a record file, until
descriptors run out, and go on arriving (five a second) for CHAOS_SECONDS.
Must hold: the honest participant already playing keeps its frame rate; a
participant whose record file cannot be opened gets an error that says to try
again and a close that is not "done", the log has the real error (Too many open
files); no participant is moved past the game (to the completion code); once
descriptors are back (the limit raised again) a participant whose game failed
plays, and only then moves on; the server logs its open-file limit at start; the
server exits 0."""
import asyncio
import http.client
import json
import os
import resource
import time

import websockets

from chaosutil import (HERE, PROJECT_DIR, SECONDS, Honest, check, finish, hold_fps, main,
                       nothing_outside, serve)

FD = "chaos-fd"
FD_DIR = os.path.join(HERE, "projects", FD)
MAX_RUNTIME = 30  # project.maxRuntime of chaos-fd


async def connect(url, user):
    """One participant connects. Returns "playing" (a frame came), "retry"
    (an error asking to try again, then a close that is not "done"), or what
    else happened."""
    try:
        async with websockets.connect(url, max_size=16 << 20, open_timeout=3,
                                      close_timeout=1) as ws:
            await ws.send(json.dumps({"userId": user, "projectId": FD}))
            error = None
            while True:
                m = await asyncio.wait_for(ws.recv(), 5)
                if isinstance(m, bytes) or '"frame"' in m:
                    return "playing", ws
                if m == "done":
                    return "done", None
                if '"error"' in m:
                    error = json.loads(m)["error"]
    except websockets.ConnectionClosed as e:
        code = e.rcvd.code if e.rcvd else None
        if error and "try again" in error and code == 1008:
            return "retry", error
        return "closed %s %s" % (code, error), None
    except (OSError, asyncio.TimeoutError) as e:
        return "no connection (%r)" % e, None


def walk(port, user):
    """To the game step with a short timeout (a server out of descriptors may
    not accept the connection). Returns the last answer's JSON, or None."""
    try:
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=3)
        path = "/next?projectId=%s&userId=%s" % (FD, user)
        c.request("GET", path)
        c.getresponse().read()
        c.request("POST", path, '{"consent": "yes"}', {"Content-Type": "application/json"})
        r = c.getresponse()
        j = json.loads(r.read() or b"null")
        c.close()
        return j if isinstance(j, dict) else {"status": r.status}
    except (OSError, http.client.HTTPException, ValueError):
        return None


def test():
    srv = serve("--alloc-rate", "0", "--max-per-address", "0", projects=[PROJECT_DIR, FD_DIR])
    try:
        attack(srv)
    finally:
        if srv.proc.poll() is None:
            srv.proc.kill()
            srv.proc.wait()
        srv.cleanup()


def attack(srv):
    pid = srv.proc.pid
    honest = Honest(srv).begin()
    users = ["fd-%02d" % i for i in range(70)]
    soft, hard = resource.prlimit(pid, resource.RLIMIT_NOFILE)
    # the limit is on descriptor numbers: leave ten numbers free below it
    used = {int(x) for x in os.listdir("/proc/%d/fd" % pid)}
    limit, free = 0, 0
    while free < 10:
        free += limit not in used
        limit += 1
    t0 = time.monotonic()
    resource.prlimit(pid, resource.RLIMIT_NOFILE, (limit, hard))

    async def storm():
        outcome, open_ws = {}, []
        until = time.monotonic() + max(SECONDS, 3)
        for i, u in enumerate(users):
            if i >= 30 and time.monotonic() >= until:
                break
            j = await asyncio.get_running_loop().run_in_executor(None, walk, srv.port, u)
            if j is None:
                outcome[u] = ("no connection", None)
            elif "try again" in j.get("error", ""):  # 503: the session could not start
                outcome[u] = ("retry", j["error"])
            elif j.get("page") != "show_game_page":
                outcome[u] = ("no game page (%s)" % j, None)
            else:
                what, x = await connect(j["server"], u)
                outcome[u] = (what, x)
                if what == "playing":
                    open_ws.append(x)
            if i >= 30:
                await asyncio.sleep(0.2)
        await asyncio.sleep(max(0, until - time.monotonic()))
        return outcome, open_ws

    outcome, open_ws = asyncio.run(storm())
    kinds = sorted({w for w, _ in outcome.values()})
    failed = [u for u, (w, _) in outcome.items() if w == "retry"]
    check(failed, "participants whose records could not be opened are asked to try again "
          "(outcomes: %s)" % kinds)
    check(all(w in ("playing", "retry", "no connection") for w in kinds),
          "no other outcome (%s)" % kinds)
    print("example: %s" % outcome[failed[0]][1])
    # descriptors back (the operator raised the limit)
    resource.prlimit(pid, resource.RLIMIT_NOFILE, (soft, hard))
    t1 = time.monotonic()
    steps = {}
    for u in outcome:
        st, j = srv.next(FD, u)
        steps[u] = (st, j.get("step"), j.get("page", "")[:20])
    # a participant who played longer than the study's maxRuntime (30 s; the
    # attack runs CHAOS_SECONDS) was moved on by it, as a study wants
    ran_out = time.monotonic() - t0 > MAX_RUNTIME
    moved = {u: v for u, v in steps.items()
             if v[1] != 2 and not (ran_out and outcome[u][0] == "playing" and v[1] == 3)}
    check(not moved, "nobody was moved past the game: %d participants on the game step, "
          "others: %s" % (len(steps) - len(moved), moved))
    for u in failed:
        check(steps[u][2] == "show_game_page",
              "%s whose game failed gets a new session (%s)" % (u, steps[u]))
    u = failed[0]
    again = Honest(srv, FD, user=u, url=srv.next(FD, u)[1]["server"]).begin()
    time.sleep(1)
    again.stop()
    check(len(again.times) >= 10, "%s plays once descriptors are back (%d frames)"
          % (u, len(again.times)))
    st, j = srv.next(FD, u)
    check(j["step"] == 3, "after playing, %s moves on (step %s)" % (u, j.get("step")))

    honest.stop()
    hold_fps(honest, t0, t1, "the descriptor exhaustion")
    nothing_outside(srv)
    err = finish(srv)
    check("Too many open files" in err and ("records could not be written" in err or
                                            "session allocation failed" in err),
          "the log has the real error")
    check('msg="open-file limit" nofile=' in err, "the open-file limit is logged at start")


main(test)
