"""The human-in-the-loop modes over websocket: feedback (tamer learns from
good/bad), advise (a participant's action overrides the agent's for that
step), watch (the agent plays, actions are ignored) and an agent served by a
Python process; every step record says who chose what."""
import json
import os

from pluginutil import PYTHON, steps_of, study
from serveutil import SRC, Trial, check, connect, frames_until, handshake, main

CARTPOLE = """
game: CartPole-v1
maxEpisodes: %d
actionSpace: [left, right]
startingFrameRate: 60
seed: 11
ui: {left: true, right: true, start: true, good: true, bad: true}
"""


async def session(project, extra, user, episodes, script):
    srv = Trial(None, project_dir=study(project, CARTPOLE % episodes + extra))
    try:
        ws = await connect(srv)
        first = await handshake(ws, user, project)
        check(first[0]["UI"][-2:] == ["good", "bad"], "%s: good/bad buttons shown" % project)
        await ws.send(json.dumps({"command": "start"}))
        await script(ws)
        await frames_until(ws, lambda m: m == "done")
        await ws.close()
        lines = steps_of(srv, project, user)
        rc, err = srv.stop()
        check(rc == 0 and "runtime error" not in err and "Sanitizer" not in err,
              "%s: the server exits cleanly (status %s)%s"
              % (project, rc, "" if rc == 0 else "\n" + err[-3000:]))
        return lines
    finally:
        srv.stop()
        srv.cleanup()


def steps(lines):
    return [ln for ln in lines if "action" in ln and "end" not in ln]


async def feedback_mode():
    async def script(ws):
        fid = 1
        for i in range(12):  # a participant clicking good/bad on what they see
            msgs = await frames_until(ws, lambda m: isinstance(m, dict) and "frame" in m)
            fid = msgs[-1]["frameId"]
            await ws.send(json.dumps({"feedback": "good" if i % 3 else "bad",
                                      "frameId": fid}))
    lines = await session("mode-feedback", "mode: feedback\nagent: tamer\n", "fay", 3, script)
    st = steps(lines)
    check(len(st) > 10 and all(ln["mode"] == "feedback" for ln in st),
          "%d steps, all recorded with mode feedback" % len(st))
    check(all(ln["action"] == ln["agentAction"] for ln in st), "the agent's action is taken")
    fb = [i["msg"] for ln in lines for i in ln["inputs"] if "feedback" in i["msg"]]
    check(len(fb) == 12 and all("frameId" in m for m in fb),
          "all 12 feedback inputs recorded with the frame they refer to")


async def advise_mode():
    async def script(ws):
        await frames_until(ws, lambda m: isinstance(m, dict) and m.get("frameId", 0) >= 5)
        await ws.send(json.dumps({"action": "right"}))
        await ws.send(json.dumps({"action": "left"}))
    lines = await session("mode-advise", "mode: advise\nagent: random\n", "ada", 2, script)
    st = steps(lines)
    human = [ln for ln in st if ln["humanAction"] is not None]
    check([ln["humanAction"] for ln in human] == [1, 0],
          "the two actions given override exactly two steps: %s"
          % [(ln["step"], ln["humanAction"]) for ln in human])
    check(all(ln["action"] == ln["humanAction"] for ln in human),
          "on those steps the participant's action is taken")
    rest = [ln for ln in st if ln["humanAction"] is None]
    check(rest and all(ln["action"] == ln["agentAction"] for ln in rest),
          "on the other %d steps the agent's" % len(rest))
    check(len({ln["agentAction"] for ln in st}) == 2, "the random agent uses both actions")


async def watch_mode():
    async def script(ws):
        for _ in range(5):
            await ws.send(json.dumps({"action": "right"}))
    lines = await session("mode-watch", "mode: watch\nagent: random\n", "wes", 2, script)
    st = steps(lines)
    check(st and all(ln["mode"] == "watch" and ln["action"] == ln["agentAction"] for ln in st),
          "watch: every one of %d steps is the agent's, actions are only recorded" % len(st))


async def external_agent():
    agent = os.path.join(SRC, "clients", "python", "examples", "random_agent.py")

    async def script(ws):
        for i in range(6):
            msgs = await frames_until(ws, lambda m: isinstance(m, dict) and "frame" in m)
            await ws.send(json.dumps({"feedback": "good", "frameId": msgs[-1]["frameId"]}))
    extra = "mode: feedback\nagentCommand: [%s, %s]\nagentOptions: {seed: 4}\n" % (PYTHON, agent)
    lines = await session("mode-extagent", extra, "xan", 2, script)
    st = steps(lines)
    check(len(st) > 5 and all(ln["mode"] == "feedback" and ln["action"] == ln["agentAction"]
                              for ln in st),
          "an agent process (hippo_env.serve_agent) chose all %d actions" % len(st))


async def test():
    await feedback_mode()
    await advise_mode()
    await watch_mode()
    await external_agent()


main(test)
