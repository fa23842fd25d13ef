"""Environments from outside hippo, each playing a full trial over websocket:
the reference C plug-in (examples/plugin-env, loaded with dlopen) and the
pure-Python example served by clients/python/hippo_env.py in a child process;
then a plug-in built for another ABI version, refused by `hippo check` and at
session start with a message naming both versions."""
import os
import subprocess

from pluginutil import PURE_ENV, PYTHON, frames, plugin_into, steps_of, study
from serveutil import BIN, Trial, check, connect, handshake, is_jpeg_b64, main, play_to_done


async def c_plugin_trial():
    d = study("plugin-c", """
game: Corridor-v0
maxEpisodes: 2
actionSpace: [left, right]
startingFrameRate: 60
seed: 5
env:
  plugin: libhippo_plugin_corridor.so
  id: Corridor-v0
  options: {length: 6}
""")
    plugin_into(d, "hippo_plugin_corridor")
    srv = Trial(None, project_dir=d)
    try:
        ws = await connect(srv)
        first = await handshake(ws, "carol", "plugin-c")
        check(is_jpeg_b64(first[-1]["frame"]), "the plug-in's first frame arrives as JPEG")
        msgs = await play_to_done(ws, "right")
        check(msgs[-1] == "done", "walking right reaches the goal twice: done")
        lines = steps_of(srv, "plugin-c", "carol")
        steps = [ln for ln in lines if "action" in ln]
        check(len(steps) >= 2 and all(ln["action"] == 1 for ln in steps),
              "%d recorded steps, all 'right'" % len(steps))
        goals = [ln for ln in steps if ln["terminated"]]
        check(len(goals) == 2 and all(ln["reward"] == 1.0 and ln["observation"] == [5.0]
                                      for ln in goals),
              "each episode ends at the goal cell 5 with reward 1")
        resets = [ln for ln in lines if ln.get("reset")]
        check(resets and resets[0].get("info") == {"goal": 5},
              "the plug-in's info JSON is recorded")
        await ws.close()
    finally:
        rc, err = srv.stop()
        srv.cleanup()
    check(rc == 0, "server exits cleanly")


async def python_env_trial():
    d = study("plugin-py", """
game: PureCartPole-v0
maxEpisodes: 2
actionSpace: [left, right]
startingFrameRate: 60
seed: 3
env:
  command: [%s, %s]
  options: {force: 10.0}
""" % (PYTHON, PURE_ENV))
    srv = Trial(None, project_dir=d)
    try:
        ws = await connect(srv)
        first = await handshake(ws, "dave", "plugin-py")
        f = first[-1]
        check(is_jpeg_b64(f["frame"]), "the Python process's frame arrives as JPEG")
        msgs = await play_to_done(ws, None)
        check(msgs[-1] == "done", "two episodes of the Python env end with done")
        lines = steps_of(srv, "plugin-py", "dave")
        steps = [ln for ln in lines if "action" in ln]
        check(len(steps) > 10, "%d recorded steps" % len(steps))
        check(all(len(ln["observation"]) == 4 for ln in lines), "4 observation values per step")
        ends = [ln for ln in steps if ln["terminated"]]
        check(len(ends) == 2, "both episodes terminated (pole fell)")
        check(all(ln["info"]["steps"] == ln["step"] for ln in steps),
              "the process's info (its own step count) matches hippo's steps")
        check(len(frames(msgs)) >= len(steps) - 2, "a frame per step")
        await ws.close()
        # the process is gone once the trial is over
        out = subprocess.run(["pgrep", "-P", str(srv.proc.pid)], capture_output=True, text=True)
        check(out.stdout.strip() == "", "no child process left after the trial")
    finally:
        rc, err = srv.stop()
        srv.cleanup()
    check(rc == 0, "server exits cleanly")


async def abi_mismatch():
    d = study("plugin-abi", """
game: FromTheFuture-v0
maxEpisodes: 1
actionSpace: [left, right]
env:
  plugin: libhippo_plugin_badabi.so
""")
    plugin_into(d, "hippo_plugin_badabi")
    out = subprocess.run([BIN, "check", d], capture_output=True, text=True, timeout=60)
    print(out.stdout.strip())
    check(out.returncode == 1 and "ABI version 42" in out.stdout and "speaks 1" in out.stdout,
          "hippo check reports the ABI mismatch with both versions")
    srv = Trial(None, project_dir=d)
    try:
        ws = await connect(srv)
        import json
        import websockets
        await ws.send(json.dumps({"userId": "erin", "projectId": "plugin-abi"}))
        try:
            m = await ws.recv()
            closed = None
        except websockets.ConnectionClosed as e:
            closed = e
        check(closed is not None and "ABI" in closed.reason,
              "the session is refused at start: %s" % (closed and closed.reason))
    finally:
        rc, err = srv.stop()
        srv.cleanup()
    check("ABI version 42" in err and "this hippo speaks 1" in err,
          "the log names both ABI versions")


def check_finds_missing_programs():
    d = study("plugin-missing", """
game: Missing-v0
actionSpace: [left, right]
env:
  command: [./no-such-env.sh, --fast]
agentCommand: [no-such-agent-program]
mode: feedback
""")
    out = subprocess.run([BIN, "check", d], capture_output=True, text=True, timeout=60)
    print(out.stdout.strip())
    check(out.returncode == 1 and "trial.env.command: program './no-such-env.sh' not found"
          in out.stdout and "trial.agentCommand: program 'no-such-agent-program' not found"
          in out.stdout, "hippo check reports env and agent programs that do not exist")


async def test():
    check_finds_missing_programs()
    await c_plugin_trial()
    await python_env_trial()
    await abi_mismatch()


main(test)
