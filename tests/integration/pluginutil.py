"""Helpers for the plug-in tests: study folders written at test time (built
plug-ins are copied into them), and a full trial played over websocket."""
import atexit
import json
import os
import shutil
import tempfile

from trialutil import check, frames_until, handshake, recv_json

SRC = os.environ.get("HIPPO_SRC", os.path.join(os.path.dirname(__file__), "..", ".."))
BUILD = os.environ.get("HIPPO_BUILD", os.path.join(SRC, "build", "test"))
PYTHON = "/usr/bin/python3"
PURE_ENV = os.path.join(SRC, "clients", "python", "examples", "pure_env.py")


def plugin_path(name):
    return os.path.join(BUILD, "tests", "lib%s.so" % name)


def plugin_into(study_dir, name):
    """Copies the built plug-in NAME into STUDY_DIR (a study's plug-in lies
    inside its folder) and returns its file name there."""
    base = "lib%s.so" % name
    shutil.copy(plugin_path(name), os.path.join(study_dir, base))
    return base


def study(project_id, trial_yaml):
    """Writes a study folder (config.yml + StepFiles/) and returns its path."""
    d = tempfile.mkdtemp(prefix="hippo-plugin-study-")
    atexit.register(shutil.rmtree, d, True)
    os.mkdir(os.path.join(d, "StepFiles"))
    with open(os.path.join(d, "StepFiles", "thanks.html"), "w") as f:
        f.write("<p>Thanks. You may exit now.</p>\n")
    with open(os.path.join(d, "config.yml"), "w") as f:
        f.write("project:\n  id: %s\n  name: plug-in test\n  researcher: hippo tests\n"
                "  maxRuntime: 5\n  events:\n    startServerStep: 1\n    stopServerStep: 2\n"
                "  steps:\n    1: game\n    finalStep: thanks.html\n" % project_id)
        f.write("trial:\n" + "".join("  " + ln + "\n" for ln in trial_yaml.strip().splitlines()))
    return d


async def play_until_done(ws, action, limit=5000):
    """Starts the game, keeps sending ACTION, returns every message up to done."""
    await ws.send(json.dumps({"command": "start"}))
    if action:
        await ws.send(json.dumps({"action": action}))
    return await frames_until(ws, lambda m: m == "done", limit)


def steps_of(srv, project, user):
    lines = []
    for path in srv.files(project, user):
        if not path.endswith("trials.jsonl"):
            lines += srv.lines(path)
    return lines


def frames(msgs):
    return [m for m in msgs if isinstance(m, dict) and "frame" in m]


async def expect_error_then_done(ws, needle, what):
    """Reads until done; checks an {"error": ...} containing NEEDLE came first."""
    msgs = await frames_until(ws, lambda m: m == "done")
    errs = [m["error"] for m in msgs if isinstance(m, dict) and "error" in m]
    check(any(needle in e for e in errs), "%s: %s" % (what, errs))
    return msgs


__all__ = ["study", "plugin_path", "plugin_into", "play_until_done", "steps_of", "frames",
           "PYTHON", "PURE_ENV", "expect_error_then_done", "handshake", "recv_json"]
