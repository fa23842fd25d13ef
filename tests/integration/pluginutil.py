"""Helpers of the plug-in tests: study folders written at test time (built
plug-ins are copied into them), what a trial recorded, and errors expected
during a game. The shared pieces are in serveutil."""
import atexit
import os
import shutil
import tempfile

from serveutil import BUILD, SRC, check, frames_until

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

