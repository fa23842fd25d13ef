"""Bad input never crashes the server nor disturbs other sessions: malformed
JSON, binary garbage, a 100 MB message, unknown keys, wrong types, a flood of
10 000 messages, path-like and oversized userIds, fragmented messages. Each is
answered with {"error": ...} or a close code and reason; a calm participant
keeps playing meanwhile and its records stay complete."""
import asyncio
import json
import os

from serveutil import Trial, check, connect, handshake, main, recv, recv_json

import websockets


async def expect_error(ws, payload):
    await ws.send(payload)
    while True:
        m = await recv_json(ws)
        if isinstance(m, dict) and "error" in m:
            return m["error"]


async def expect_close(ws, payload):
    try:
        await ws.send(payload)
        while True:
            await recv(ws)
    except websockets.ConnectionClosed as e:
        return e.rcvd.code if e.rcvd else e.code, e.rcvd.reason if e.rcvd else ""


async def test():
    srv = Trial("trial_long")
    calm_frames = 0
    stop_calm = asyncio.Event()

    async def calm():
        nonlocal calm_frames
        ws = await connect(srv)
        await handshake(ws, "calm", "trial-long")
        await ws.send(json.dumps({"command": "start"}))
        while not stop_calm.is_set():
            m = await recv_json(ws)
            if isinstance(m, dict) and "frame" in m:
                calm_frames += 1
        await ws.send(json.dumps({"command": "stop"}))
        while (await recv(ws)) != "done":
            pass
        await ws.close()

    try:
        calm_task = asyncio.create_task(calm())
        ws = await connect(srv)

        code, reason = await expect_close(ws, "{not json")
        check(code == 1008 and "JSON" in reason, "malformed JSON before the handshake: close 1008 (%s)" % reason)

        ws = await connect(srv)
        code, reason = await expect_close(ws, json.dumps({"userId": "../../etc", "projectId": "x"}))
        check(code == 1008 and "userId" in reason, "userId with ../ is refused: %d %s" % (code, reason))
        ws = await connect(srv)
        code, reason = await expect_close(ws, json.dumps({"userId": "a" * 5000}))
        check(code == 1008 and "userId" in reason, "a 5 KB userId is refused")
        ws = await connect(srv)
        code, reason = await expect_close(ws, bytes(range(256)) * 4)
        check(code == 1003, "binary garbage before the handshake: close 1003")
        ws = await connect(srv)
        code, reason = await expect_close(ws, json.dumps({"command": "start"}))
        check(code == 1008 and "handshake" in reason, "a message before the handshake: 1008")

        ws = await connect(srv)
        await handshake(ws, "mallory", "trial-long")
        e = await expect_error(ws, "{\"command\": ")
        check(e == "malformed JSON", "malformed JSON after the handshake: {\"error\"}")
        e = await expect_error(ws, "[1, 2, 3]")
        check("object" in e, "a non-object message: error")
        e = await expect_error(ws, bytes([0xff, 0x00, 0x13]) * 100)
        check("binary" in e, "binary garbage after the handshake: error")
        for bad, word in ((({"command": 5}), "command"), ({"action": {"x": 1}}, "action"),
                          ({"changeFrameRate": []}, "changeFrameRate"),
                          ({"changeFrameRate": "warp"}, "changeFrameRate"),
                          ({"frameId": "seven"}, "frameId"), ({"feedback": "meh"}, "feedback"),
                          ({"visibility": 3}, "visibility"), ({"action": "x" * 100}, "action")):
            e = await expect_error(ws, json.dumps(bad))
            check(word in e, "wrong type/value %s: %s" % (json.dumps(bad)[:40], e))
        await ws.send(json.dumps({"unknownKey": [1, {"deep": True}], "frameCount": 3}))
        await ws.send(json.dumps({"command": "requestUI"}))
        while True:
            m = await recv_json(ws)
            if isinstance(m, dict) and "UI" in m:
                break
            check(not (isinstance(m, dict) and "error" in m), "unknown keys are no error")
        await ws.send([json.dumps({"command": "requestUI"})[:5],
                       json.dumps({"command": "requestUI"})[5:]])
        while True:
            m = await recv_json(ws)
            if isinstance(m, dict) and "UI" in m:
                break
        check(True, "a fragmented message is reassembled")
        code, reason = await expect_close(ws, "x" * (100 << 20))
        check(code == 1009, "a 100 MB message: close 1009 (%s)" % reason)

        # A flood of 10 000 messages: past the rate limit they are dropped, with
        # an error; the connection stays usable.
        ws = await connect(srv)
        await handshake(ws, "flood", "trial-long")
        before = calm_frames
        msg = json.dumps({"action": "left"})
        for i in range(10000):
            await ws.send(msg)
        errors = 0
        while errors == 0:
            m = await recv_json(ws, timeout=30)
            if isinstance(m, dict) and "error" in m:
                errors += 1
                check("rate" in m["error"], "rate-limit error: %s" % m["error"])
        await asyncio.sleep(1.5)  # let the token bucket refill
        await ws.send(json.dumps({"command": "stop"}))
        while True:
            m = await recv_json(ws, timeout=30)
            if m == "done":
                break
        check(errors >= 1, "the flood got %d rate-limit error(s)" % errors)
        await ws.close()
        for _ in range(300):
            if calm_frames > before + 5:
                break
            await asyncio.sleep(0.05)
        check(calm_frames > before + 5, "the calm participant kept getting frames")
        check(srv.alive(), "the server is alive")
        stop_calm.set()
        await asyncio.wait_for(calm_task, 60)

        path = os.path.join(srv.data, "trial-long", "trials", "calm", "trial.jsonl")
        lines = srv.lines(path)
        steps = [(ln["episode"], ln["step"]) for ln in lines[:-1]]
        ok = all((e2 == e1 and s2 == s1 + 1) or (e2 == e1 + 1 and s2 == 0)
                 for (e1, s1), (e2, s2) in zip(steps, steps[1:]))
        check(ok and len(lines) > 5, "the calm participant's records are complete (%d lines)" % len(lines))
        fpath = os.path.join(srv.data, "trial-long", "trials", "flood", "trial.jsonl")
        flines = srv.lines(fpath)
        n_in = sum(len(ln["inputs"]) for ln in flines)
        check(0 < n_in < 10000, "the flood's accepted messages are recorded (%d)" % n_in)
        check(not os.path.exists(os.path.join(srv.data, "trial-long", "trials", "..")) or
              not any("etc" in d for d in os.listdir(os.path.join(srv.data))),
              "no folder was made from a bad userId")
    finally:
        rc, err = srv.stop()
        srv.cleanup()
    check(rc == 0, "server exits 0 after all that")


main(test)
