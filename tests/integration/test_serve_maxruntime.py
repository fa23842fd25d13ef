"""Max-runtime expiry: a project with maxRuntime: 1 allocates the session at
step 1 (the game); the participant connects, plays a little, pauses and never
finishes. One minute after the start the session is stopped anyway: the
client gets done, the data is flushed, the record says max_runtime, and the
participant moves on to the survey."""
import asyncio
import json
import os
import time

import websockets

from serveutil import PROJECTS, Serve, check, main, wait_for

P = "serve-maxruntime"


async def play_then_idle(url, user):
    async with websockets.connect(url, max_size=16 << 20, open_timeout=30) as ws:
        await ws.send(json.dumps({"userId": user, "projectId": P}))
        await ws.send(json.dumps({"command": "start"}))
        frames = 0
        while frames < 10:
            m = await asyncio.wait_for(ws.recv(), 30)
            if isinstance(m, bytes) or '"frame"' in m:
                frames += 1
        await ws.send(json.dumps({"command": "pause"}))
        t0 = time.monotonic()
        while True:
            m = await asyncio.wait_for(ws.recv(), 120)
            if m == "done":
                return time.monotonic() - t0


def test():
    srv = Serve(os.path.join(PROJECTS, "serve_maxruntime"))
    try:
        t_start = time.monotonic()
        st, j = srv.next(P, "idler")
        check(j["page"] == "show_game_page", "step 1 is the game, allocated at once")
        waited = asyncio.run(play_then_idle(j["server"], "idler"))
        elapsed = time.monotonic() - t_start
        check(55 <= elapsed <= 90, "done arrives at max-runtime (%.0f s after the start)" % elapsed)
        # Ten frames take a second or two: the rest of the minute the game sat
        # paused, and the pause itself ended nothing.
        check(45 <= waited <= elapsed,
              "done came %.0f s after the pause, the session idle until max-runtime" % waited)
        j = wait_for(lambda: (lambda r: r[1] if r[1].get("step") == 2 else None)(srv.next(P, "idler")),
                     "the survey")
        check("Survey" in j["page"], "the participant moves on to the survey")
        st, parts, _ = srv.admin("GET", "/projects/%s/participants" % P)
        s = parts[0]["sessions"]
        check(len(s) == 1 and s[0]["reason"] == "max_runtime", "the record says max_runtime: %s" % s)
        check(s[0]["files"] and all(os.path.getsize(os.path.join(srv.data, f)) > 0
                                    for f in s[0]["files"]), "its data files were flushed")
        rc, err = srv.stop()
        check(rc == 0 and "runtime error" not in err, "clean shutdown")
    finally:
        if srv.proc.poll() is None:
            srv.stop()
        srv.cleanup()


main(test)
