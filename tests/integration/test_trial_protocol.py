"""The trial websocket protocol end to end with a real client: handshake, UI,
variables, first frame, start, actions, frame-rate changes, feedback, pause,
requestUI, reset, stop -> done, then the recorded file line by line; the
display and the feedback budget with JSON and with binary frames."""
import asyncio
import json

from serveutil import (Trial, check, connect, frames_until, handshake, is_jpeg_b64, main, recv,
                       recv_json)

import websockets

# The keys of every recorded step (docs/data.md, "Trial records").
STEP_KEYS = {"userId", "projectId", "trialId", "episode", "step", "frameId", "t", "inputs",
             "observation", "fps"}


async def frames(ws, n):
    """The next N frames (other messages are returned too, in order)."""
    got = []
    count = 0
    while count < n:
        m = await recv_json(ws)
        got.append(m)
        if isinstance(m, dict) and "frame" in m:
            count += 1
    return got


def frame_ids(msgs):
    return [m["frameId"] for m in msgs if isinstance(m, dict) and "frame" in m]


async def test():
    srv = Trial("trial_protocol")
    try:
        ws = await connect(srv)
        first = await handshake(ws, "alice", "trial-protocol")
        check(first[0] == {"UI": ["left", "right", "start", "pause", "good", "bad"]},
              "the UI list comes first, from trial.ui in file order")
        check(first[1] == {"gameWindowWidth": 600, "gameWindowHeight": 400},
              "trial.variables are sent verbatim after the UI list")
        check(first[2] == {"Instructions": ["Keep the pole up."]}, "instructions follow")
        f1 = first[3]
        check(f1["frameId"] == 1, "the first frame has frameId 1")
        check(is_jpeg_b64(f1["frame"]), "the frame is a base64 JPEG")
        check(isinstance(f1["serverTime"], int) and f1["serverTime"] > 1.6e12,
              "frames carry the server's send time (epoch ms)")
        check(f1["inputBudget"] == 10 and f1["usedInputBudget"] == 0,
              "frames carry the feedback budget")
        check(f1["display"] == {"episode": "1 / 50", "score": 0, "step": 0},
              "the first frame carries the display: %s" % f1.get("display"))

        await ws.send(json.dumps({"command": "start", "browser": "test", "frameId": 1}))
        got = await frames(ws, 5)
        ids = frame_ids(got)
        check(all(b > a for a, b in zip([1] + ids, ids)), "frame ids increase: %s" % ids)
        disp = [m["display"] for m in got if "display" in m]
        check(len(disp) >= 4 and all(d["episode"] == "1 / 50" and d["score"] == d["step"]
                                     for d in disp)
              and [d["step"] for d in disp] == sorted({d["step"] for d in disp}),
              "frames carry the changed display: steps %s" % [d["step"] for d in disp])

        last = ids[-1]
        await ws.send(json.dumps({"actionType": "ArrowRight", "action": "RIGHT",
                                  "frameId": last, "sinceFrameMs": 33.5, "frameCount": 7}))
        await frames(ws, 3)
        await ws.send(json.dumps({"action": "no-such-action", "frameId": last + 3}))
        await frames(ws, 3)

        for change in ("faster", "10", 1000, "slower"):
            await ws.send(json.dumps({"changeFrameRate": change}))
            await frames(ws, 5)  # frames already on their way, then steps at the new rate

        await ws.send(json.dumps({"feedback": "good", "frameId": last + 5}))
        await ws.send(json.dumps({"command": "bad", "frameId": last + 6}))
        got = await frames_until(ws, lambda m: isinstance(m, dict)
                                 and m.get("usedInputBudget") == 2, limit=200)
        check(True, "feedback (hippo and original forms) uses the input budget")

        await ws.send(json.dumps({"command": "pause"}))
        await ws.send(json.dumps({"command": "requestUI"}))
        await frames_until(ws, lambda m: isinstance(m, dict) and "UI" in m)
        # a frame made just before the pause may still be on its way: let it
        # arrive, then nothing more may come
        try:
            while True:
                await asyncio.wait_for(ws.recv(), 0.3)
        except asyncio.TimeoutError:
            pass
        quiet = True
        try:
            m = await asyncio.wait_for(ws.recv(), 0.6)
            quiet = False
        except asyncio.TimeoutError:
            pass
        check(quiet, "no frames while paused (requestUI answered with the UI list)")

        await ws.send(json.dumps({"command": "reset"}))
        m = await recv_json(ws)
        check("frame" in m, "reset sends the first frame of the next episode")
        reset_disp = m.get("display", {})
        check(reset_disp.get("step") == 0 and reset_disp.get("score") == 0,
              "its display shows step 0: %s" % reset_disp)
        await ws.send(json.dumps({"command": "start"}))
        await frames(ws, 3)
        await ws.send(json.dumps({"command": "stop"}))
        m = await frames_until(ws, lambda m: m == "done")
        check(m[-1] == "done", "stop ends the trial with done")
        try:
            await recv(ws)
            closed = None
        except websockets.ConnectionClosed as e:
            closed = e.code
        check(closed == 1000, "the server closes the socket cleanly after done (1000)")

        # The records, line by line.
        files = srv.files("trial-protocol", "alice")
        names = [f.rsplit("/", 1)[1] for f in files]
        check(names == ["trial.jsonl", "trials.jsonl"], "dataFile trial: one file: %s" % names)
        lines = srv.lines(files[0])
        check(len(lines) > 20, "the trial has %d step lines" % len(lines))
        for i, ln in enumerate(lines):
            missing = STEP_KEYS - set(ln)
            if missing:
                check(False, "line %d lacks %s" % (i + 1, missing))
        check(True, "every line has the step keys")
        check(len({ln["trialId"] for ln in lines}) == 1, "one trialId")
        check(all(ln["userId"] == "alice" and ln["projectId"] == "trial-protocol"
                  for ln in lines), "userId and projectId on every line")
        prev = None
        check("end" in lines[-1] and lines[-1]["end"] == "stop"
              and lines[-1]["inputs"][-1]["msg"] == {"command": "stop"},
              "the last line keeps the inputs after the last step (end: stop)")
        for ln in lines[:-1]:
            if prev is None or ln["episode"] != prev["episode"]:
                ok = ln["step"] == 0 and ln.get("reset") is True
                ok = ok and (prev is None or ln["episode"] == prev["episode"] + 1)
            else:
                ok = ln["step"] == prev["step"] + 1 and "action" in ln and "reward" in ln
            if not ok:
                check(False, "steps are consecutive per episode: %s after %s" % (ln, prev))
            prev = ln
        check(True, "episodes start with a reset line (step 0) and steps are consecutive")
        check(all(len(ln["observation"]) == 4 for ln in lines), "CartPole observations")
        fids = [ln["frameId"] for ln in lines]
        check(all(b >= a for a, b in zip(fids, fids[1:])), "frameIds never decrease")

        act = [ln for ln in lines if any(i["msg"].get("action") == "RIGHT" for i in ln["inputs"])]
        check(len(act) == 1, "the action message is recorded once, in the step it applied to")
        a = act[0]
        check(a["action"] == 1 and a["actionName"] == "right",
              "action names are case-insensitive (RIGHT -> 1 right)")
        check(a["seenFrameId"] == last and a["reactionMs"] == 33.5,
              "the step records the frame seen and the reaction time")
        check(a["inputs"][0]["msg"]["frameCount"] == 7, "unknown keys are kept verbatim")
        after = lines[lines.index(a) + 1]
        check(after["action"] == 1, "the action is held until the next one (hold)")
        bogus = [ln for ln in lines
                 if any(i["msg"].get("action") == "no-such-action" for i in ln["inputs"])]
        check(len(bogus) == 1 and bogus[0]["action"] == 0, "an unknown action name -> 0")

        fps_seq = []
        for ln in lines:
            if not fps_seq or fps_seq[-1] != ln["fps"]:
                fps_seq.append(ln["fps"])
        check(fps_seq == [30, 35, 10, 60, 55],
              "frame rate: faster, set 10, 1000 clamped to max 60, slower: %s" % fps_seq)
        fb = [i["msg"] for ln in lines for i in ln["inputs"]
              if "feedback" in i["msg"] or i["msg"].get("command") == "bad"]
        check(fb == [{"feedback": "good", "frameId": last + 5},
                     {"command": "bad", "frameId": last + 6}],
              "feedback recorded with the frameId it refers to")
        cmds = [i["msg"]["command"] for ln in lines for i in ln["inputs"]
                if "command" in i["msg"]]
        check(cmds == ["start", "bad", "pause", "requestUI", "reset", "start", "stop"],
              "every command is recorded, in order: %s" % cmds)
        rl = [ln for ln in lines if any(i["msg"].get("command") == "reset" for i in ln["inputs"])]
        check(len(rl) == 1 and rl[0].get("reset") is True and rl[0]["step"] == 0,
              "the reset command is recorded on the new episode's reset line")
        check(reset_disp["episode"] == "%d / 50" % rl[0]["episode"],
              "the display after reset shows the new episode (%s)" % reset_disp["episode"])
        meta = srv.lines(files[1])
        check([m["event"] for m in meta] == ["start", "end"], "trials.jsonl: start and end")
        check(meta[1]["reason"] == "stop" and meta[0]["seed"] == 7,
              "the end reason is stop; the seed is recorded")
        check(srv.alive(), "the server is still running")
        await ws.close()

        # Binary frames: display and budget as text messages of their own.
        ws = await connect(srv)
        got = await handshake(ws, "dave", "trial-protocol", accept=["binary"])
        texts = [m for m in got if isinstance(m, dict)]
        check({"inputBudget": 10, "usedInputBudget": 0} in texts,
              "binary frames: the budget is sent at the start, as text")
        await ws.send(json.dumps({"command": "start"}))
        for k in (1, 2, 3):
            await ws.send(json.dumps({"feedback": "good" if k % 2 else "bad"}))
        budget, disp, nframes = [], [m["display"] for m in texts if "display" in m], 0
        while len(budget) < 3 or nframes < 20:
            m = await recv(ws)
            if isinstance(m, bytes):
                nframes += 1
                continue
            j = json.loads(m)
            if "usedInputBudget" in j:
                budget.append(j)
            if "display" in j:
                disp.append(j["display"])
        check([b["usedInputBudget"] for b in budget] == [1, 2, 3]
              and all(b["inputBudget"] == 10 for b in budget),
              "each feedback sends the used budget: %s" % budget)
        check(disp and disp[0] == {"episode": "1 / 50", "score": 0, "step": 0}
              and all(d["episode"].endswith(" / 50") and d["score"] == d["step"] for d in disp),
              "the display arrives as text (%d messages for %d frames): %s"
              % (len(disp), nframes, disp))
        await ws.send(json.dumps({"command": "stop"}))
        await frames_until(ws, lambda m: m == "done")
        await ws.close()
        fb = [ln for ln in srv.lines(srv.files("trial-protocol", "dave")[0])
              for i in ln["inputs"] if "feedback" in i["msg"]]
        check(len(fb) == 3, "the three feedback messages are recorded")
    finally:
        rc, err = srv.stop()
        srv.cleanup()
    check(rc == 0, "SIGTERM exits 0")


main(test)
