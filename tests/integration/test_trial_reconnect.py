"""Disconnects: the session pauses and the same userId resumes it within the
grace period (same trial, same episode, records appended); after the grace
period the session ends (reason grace); a second connection of the same
participant replaces the first."""
import asyncio
import json
import os

from serveutil import Trial, check, connect, handshake, main, recv, recv_json

import websockets


async def n_frames(ws, n):
    ids = []
    while len(ids) < n:
        m = await recv_json(ws)
        if isinstance(m, dict) and "frame" in m:
            ids.append(m["frameId"])
    return ids


async def wait_for(pred, seconds=30):
    for _ in range(int(seconds * 10)):
        if pred():
            return True
        await asyncio.sleep(0.1)
    return False


async def test():
    srv = Trial("trial_protocol", "--grace", "4")
    try:
        ws = await connect(srv)
        got = await handshake(ws, "dave", "trial-protocol", hello=True)
        trial1 = got[0]["hello"]["trialId"]
        await ws.send(json.dumps({"command": "start"}))
        ids = await n_frames(ws, 4)
        await ws.close()

        ws = await connect(srv)
        got = await handshake(ws, "dave", "trial-protocol", hello=True)
        check(got[0]["hello"]["trialId"] == trial1, "reconnecting resumes the same trial")
        check(got[1]["UI"][0] == "left", "the UI list is sent again")
        check(got[-1]["frameId"] > ids[-1], "frame ids continue after the reconnect")
        await ws.send(json.dumps({"command": "start"}))
        await n_frames(ws, 3)
        await ws.send(json.dumps({"command": "stop"}))
        while (await recv(ws)) != "done":
            pass
        await ws.close()
        path = os.path.join(srv.data, "trial-protocol", "trials", "dave", "trial.jsonl")
        lines = srv.lines(path)
        check(len({ln["trialId"] for ln in lines}) == 1, "one trialId in the file")
        steps = [(ln["episode"], ln["step"]) for ln in lines[:-1]]
        ok = all((e2 == e1 and s2 == s1 + 1) or (e2 == e1 + 1 and s2 == 0)
                 for (e1, s1), (e2, s2) in zip(steps, steps[1:]))
        check(ok, "steps continue across the reconnect (no reset, nothing lost)")
        starts = [i["msg"] for ln in lines for i in ln["inputs"] if i["msg"].get("command")]
        check([m["command"] for m in starts] == ["start", "start", "stop"],
              "inputs of both connections are recorded")

        # Grace period over: the session ends; a new handshake starts a new trial.
        ws = await connect(srv)
        await handshake(ws, "erin", "trial-protocol")
        await ws.close()
        meta = os.path.join(srv.data, "trial-protocol", "trials", "erin", "trials.jsonl")
        ended = await wait_for(lambda: len(srv.lines(meta)) == 2)
        check(ended and srv.lines(meta)[1]["reason"] == "grace",
              "after the grace period the session ends (reason grace)")
        ws = await connect(srv)
        got = await handshake(ws, "erin", "trial-protocol", hello=True)
        check(got[0]["hello"]["trialId"] != srv.lines(meta)[0]["trialId"],
              "a handshake after the end starts a new trial")
        await ws.close()
        check(len(srv.lines(meta)) == 3, "the new trial appends to trials.jsonl")

        # A second connection replaces the first.
        a = await connect(srv)
        await handshake(a, "frank", "trial-protocol")
        b = await connect(srv)
        await handshake(b, "frank", "trial-protocol")
        code = None
        try:
            while True:
                await recv(a)
        except websockets.ConnectionClosed as e:
            code = e.code
        check(code == 4001, "the older connection is closed with 4001")
        await b.send(json.dumps({"command": "start"}))
        await n_frames(b, 2)
        check(True, "the newer connection plays")
        await b.close()
    finally:
        rc, err = srv.stop()
        srv.cleanup()
    check(rc == 0, "server exits 0")

    # A bounded number of live sessions: the one too many is refused.
    srv = Trial("trial_protocol", "--max-sessions", "2")
    try:
        a = await connect(srv)
        await handshake(a, "one", "trial-protocol")
        b = await connect(srv)
        await handshake(b, "two", "trial-protocol")
        c = await connect(srv)
        await c.send(json.dumps({"userId": "three", "projectId": "trial-protocol"}))
        code, reason = None, ""
        try:
            while True:
                await recv(c)
        except websockets.ConnectionClosed as e:
            code, reason = (e.rcvd.code, e.rcvd.reason) if e.rcvd else (e.code, "")
        check(code == 1008 and "full" in reason, "--max-sessions: one too many is refused (%s)" % reason)
        b2 = await connect(srv)
        got = await handshake(b2, "two", "trial-protocol")
        check("frame" in got[-1], "an existing participant can still reconnect")
        for w in (a, b2):
            await w.close()
    finally:
        srv.stop()
        srv.cleanup()


main(test)
