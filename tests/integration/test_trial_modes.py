"""Input policies (trial.inputMode): press applies an action to one step then
action 0; turn steps only when the participant acts (one frame per action,
no timer); a page reported hidden pauses the session until visible."""
import asyncio
import json
import os

from serveutil import Trial, check, connect, handshake, main, recv, recv_json


async def next_frame(ws):
    while True:
        m = await recv_json(ws)
        if isinstance(m, dict) and "frame" in m:
            return m


async def silent(ws, seconds):
    """True when nothing but non-frame messages arrives for SECONDS."""
    try:
        while True:
            m = await asyncio.wait_for(ws.recv(), seconds)
            if isinstance(m, str) and "frame" in m:
                return False
    except asyncio.TimeoutError:
        return True


async def finish(ws):
    await ws.send(json.dumps({"command": "stop"}))
    while (await recv(ws)) != "done":
        pass
    await ws.close()


def exited_cleanly(srv, what):
    """Stops SRV and checks its exit: status 0 and no sanitizer report."""
    rc, err = srv.stop()
    check(rc == 0 and "runtime error" not in err and "Sanitizer" not in err,
          "%s: the server exits cleanly (status %s)%s" % (what, rc, "" if rc == 0 else "\n" + err[-3000:]))


async def turn():
    srv = Trial("trial_turn")
    try:
        ws = await connect(srv)
        await handshake(ws, "tina", "trial-turn")
        await ws.send(json.dumps({"command": "start"}))
        check(await silent(ws, 0.6), "turn: no frame timer while waiting for an action")
        ids = []
        for a in ("right", "left", "right"):
            await ws.send(json.dumps({"action": a}))
            ids.append((await next_frame(ws))["frameId"])
        check(ids == [2, 3, 4], "turn: one step and one frame per action: %s" % ids)
        check(await silent(ws, 0.6), "turn: then it waits again")
        await finish(ws)
        lines = srv.lines(os.path.join(srv.data, "trial-turn", "trials", "tina", "trial.jsonl"))
        steps = [ln for ln in lines if "action" in ln]
        check([ln["action"] for ln in steps] == [1, 0, 1], "turn: the steps are the actions")
        exited_cleanly(srv, "turn")
    finally:
        srv.stop()
        srv.cleanup()


async def press():
    srv = Trial("trial_press")
    try:
        ws = await connect(srv)
        await handshake(ws, "pia", "trial-press")
        await ws.send(json.dumps({"command": "start"}))
        await next_frame(ws)
        await ws.send(json.dumps({"action": "right"}))
        for _ in range(4):
            last = (await next_frame(ws))["frameId"]

        await ws.send(json.dumps({"visibility": "hidden"}))
        await ws.send(json.dumps({"command": "requestUI"}))
        while True:
            m = await recv_json(ws)
            if isinstance(m, dict) and "UI" in m:
                break
        try:  # a frame made just before may still arrive: let it
            while True:
                await asyncio.wait_for(ws.recv(), 0.3)
        except asyncio.TimeoutError:
            pass
        check(await silent(ws, 0.6), "hidden page: the session pauses")
        await ws.send(json.dumps({"visibility": "visible"}))
        resumed = (await next_frame(ws))["frameId"]
        check(resumed > last, "visible again: frames resume (frame %d after %d)" % (resumed, last))
        await finish(ws)
        lines = srv.lines(os.path.join(srv.data, "trial-press", "trials", "pia", "trial.jsonl"))
        steps = [ln for ln in lines if "action" in ln]
        rights = [i for i, ln in enumerate(steps) if ln["action"] == 1]
        check(len(rights) == 1, "press: 'right' applies to exactly one step")
        check(all(ln["action"] == 0 for ln in steps[rights[0] + 1:]), "press: then action 0")
        vis = [i["msg"]["visibility"] for ln in lines for i in ln["inputs"] if "visibility" in i["msg"]]
        check(vis == ["hidden", "visible"], "visibility changes are recorded")
        exited_cleanly(srv, "press")
    finally:
        srv.stop()
        srv.cleanup()


async def test():
    await turn()
    await press()


main(test)
