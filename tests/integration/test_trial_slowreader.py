"""A client that reads slowly gets the newest frame, never a growing queue:
with a tiny receive window and no reading for a while, the frames it gets
next skip ahead, while the trial keeps stepping and recording every step.
Also: the websocket ping measures the round trip, recorded as rttMs."""
import asyncio
import json
import os
import socket

import websockets

from serveutil import Trial, check, handshake, main, recv, recv_json


async def test():
    srv = Trial("trial_long")
    try:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        sock.connect(("127.0.0.1", srv.port))
        ws = await websockets.connect(srv.ws_url("/"), sock=sock, max_queue=1,
                                      read_limit=4096, max_size=1 << 20)
        await handshake(ws, "sloth", "trial-long")
        await ws.send(json.dumps({"changeFrameRate": 60}))
        await ws.send(json.dumps({"command": "start"}))
        first = None
        while first is None:
            m = await recv_json(ws)
            if isinstance(m, dict) and "frame" in m:
                first = m["frameId"]
        await asyncio.sleep(3)  # not reading: the server must not queue frames
        ids = []
        while len(ids) < 40:
            m = await recv_json(ws)
            if isinstance(m, dict) and "frame" in m:
                ids.append(m["frameId"])
        jumps = [b - a for a, b in zip(ids, ids[1:])]
        check(all(j > 0 for j in jumps), "frame ids still increase")
        check(max(jumps) >= 30,
              "after a pause in reading, frames skip ahead (largest jump %d)" % max(jumps))
        await ws.send(json.dumps({"command": "stop"}))
        while (await recv(ws)) != "done":
            pass
        await ws.close()
        lines = srv.lines(os.path.join(srv.data, "trial-long", "trials", "sloth", "trial.jsonl"))
        steps = [ln for ln in lines if "action" in ln]
        check(len(steps) >= ids[-1] - first,
              "every step was recorded, shown or not (%d steps, last frame %d)"
              % (len(steps), ids[-1]))
        rtt = [ln["rttMs"] for ln in lines if "rttMs" in ln]
        check(len(rtt) > 0 and all(0 <= r < 10000 for r in rtt),
              "steps carry the ping round trip (rttMs, %d lines)" % len(rtt))
        rc, err = srv.stop()
        check(rc == 0 and "runtime error" not in err and "Sanitizer" not in err,
              "the server exits cleanly (status %s)%s" % (rc, "" if rc == 0 else "\n" + err[-3000:]))
    finally:
        srv.stop()
        srv.cleanup()


main(test)
