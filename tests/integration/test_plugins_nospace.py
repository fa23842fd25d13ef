"""A Python environment that declares no spaces (no action_space, no
observation_space) plays with the study's trial.actionSpace as Discrete(n): it
receives plain integers (1, not [1] or []), and its observation travels in
info. `hippo check` starts each external environment once for its hello
(bounded by trial.env.startTimeout) and reports a process that exits, hangs,
or declares no action space in a study without trial.actionSpace, naming the
command."""
import json
import os
import shutil
import subprocess
import tempfile
import time

from pluginutil import PYTHON, steps_of, study
from serveutil import BIN, SRC, Trial, check, connect, main, play_to_done

NO_SPACES = r'''
import sys
sys.path.insert(0, %r)
import hippo_env

class Env:  # no action_space, no observation_space
    render_width, render_height = 8, 8
    def reset(self, seed=None):
        self.t = 0
        return {"t": 0}, {}
    def step(self, action):
        if type(action) is not int:
            raise TypeError("expected an int action, got %%r" %% (action,))
        self.t += 1
        return {"t": self.t, "last": action}, 1.0, self.t >= 3, False, {}
    def render(self):
        return hippo_env.RGBFrame(8, 8, bytes(8 * 8 * 3))

hippo_env.serve(Env())
''' % os.path.join(SRC, "clients", "python")


def write(d, name, text):
    with open(os.path.join(d, name), "w") as f:
        f.write(text)


async def plays_with_the_study_action_space():
    d = study("nospace", """
game: NoSpaces-v0
maxEpisodes: 2
actionSpace: [left, right]
startingFrameRate: 60
env:
  command: [%s, nospace_env.py]
""" % PYTHON)
    write(d, "nospace_env.py", NO_SPACES)
    srv = Trial(None, project_dir=d)
    try:
        ws = await connect(srv)
        await ws.send(json.dumps({"userId": "nina", "projectId": "nospace"}))
        msgs = await play_to_done(ws, "right")
        errors = [m["error"] for m in msgs if isinstance(m, dict) and "error" in m]
        check(not errors and msgs[-1] == "done", "two episodes end with done: %s" % errors)
        steps = [ln for ln in steps_of(srv, "nospace", "nina") if "action" in ln]
        check(len(steps) >= 2 and all(ln["action"] in (0, 1) for ln in steps),
              "%d steps recorded with integer actions" % len(steps))
        check(any(ln["info"].get("observation", {}).get("last") == ln["action"] for ln in steps),
              "the environment received the action as a plain integer (echoed in info)")
        await ws.close()
    finally:
        rc, err = srv.stop()
        srv.cleanup()
    check(rc == 0, "server exits cleanly")
    shutil.rmtree(d, ignore_errors=True)


def hippo_check(d):
    t0 = time.monotonic()
    r = subprocess.run([BIN, "check", d], capture_output=True, text=True, timeout=120)
    print(r.stdout.strip())
    return r.returncode, r.stdout, time.monotonic() - t0


def check_starts_the_environment():
    d = study("checked", """
game: NoSpaces-v0
actionSpace: [left, right]
env:
  command: [%s, nospace_env.py]
  startTimeout: 3
""" % PYTHON)
    write(d, "nospace_env.py", NO_SPACES)
    write(d, "crash_env.py", "import sys\nprint('cannot load the model', file=sys.stderr)\n"
          "sys.exit(3)\n")
    write(d, "hang_env.py", "import time\ntime.sleep(600)\n")
    cfg = os.path.join(d, "config.yml")
    base = open(cfg).read()
    rc, out, _ = hippo_check(d)
    check(rc == 0 and out.strip().endswith("ok"), "hippo check: an environment that says hello")

    open(cfg, "w").write(base.replace("nospace_env.py", "crash_env.py"))
    rc, out, _ = hippo_check(d)
    check(rc == 1 and "trial.env.command: the environment failed at hello: the process exited "
          "with status 3" in out and "(command: %s crash_env.py)" % PYTHON in out,
          "hippo check reports an environment that exits, with the command")

    open(cfg, "w").write(base.replace("nospace_env.py", "hang_env.py"))
    rc, out, secs = hippo_check(d)
    check(rc == 1 and "did not answer hello in time" in out and "hang_env.py" in out,
          "hippo check reports an environment that never answers")
    check(secs < 30, "within the study's startTimeout (3 s), not forever: %.1f s" % secs)

    open(cfg, "w").write(base.replace("  actionSpace: [left, right]\n", ""))
    rc, out, _ = hippo_check(d)
    check(rc == 1 and "declares no action space and the study has no trial.actionSpace" in out,
          "hippo check: no action space anywhere is an error")
    shutil.rmtree(d, ignore_errors=True)


async def test():
    await plays_with_the_study_action_space()
    check_starts_the_environment()


main(test)
