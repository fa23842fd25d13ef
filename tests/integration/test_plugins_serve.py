"""An external environment in a whole study under `hippo serve`: the process
starts when the session is allocated (startServerStep), so a slow start
(model loading, here a 2 s sleep) happens while the participant reads the
instructions; /next answers "wait" until the process said hello, then
show_game_page, and the game is played to done."""
import asyncio
import os
import shutil
import tempfile
import time
import uuid

from pluginutil import PURE_ENV, PYTHON
from serveutil import Serve, check, main, play_until_done, wait_for

P = "plugin-serve"
SLOW = "import time, runpy, sys; time.sleep(2); sys.argv = [sys.argv[1]]; " \
       "runpy.run_path(sys.argv[0], run_name='__main__')"


def write_study():
    d = tempfile.mkdtemp(prefix="hippo-plugin-serve-")
    os.mkdir(os.path.join(d, "StepFiles"))
    for name, text in (("instructions.html", "<h1>Instructions</h1><p>Balance the pole.</p>"),
                       ("thanks.html", "<p>Thanks. You may exit now.</p>")):
        with open(os.path.join(d, "StepFiles", name), "w") as f:
            f.write(text + "\n")
    with open(os.path.join(d, "config.yml"), "w") as f:
        f.write("""project:
  id: %s
  name: external env study
  researcher: hippo tests
  maxRuntime: 5
  events: {startServerStep: 1, stopServerStep: 3}
  steps:
    1: instructions.html
    2: game
    finalStep: thanks.html
trial:
  game: PureCartPole-v0
  maxEpisodes: 1
  actionSpace: [left, right]
  startingFrameRate: 60
  env:
    command: [%s, -c, "%s", %s]
    startTimeout: 60
""" % (P, PYTHON, SLOW, PURE_ENV))
    return d


def journey(srv):
    user = uuid.uuid4().hex
    t0 = time.monotonic()
    st, j = srv.next(P, user)
    check(st == 200 and "Instructions" in j["page"], "step 1: instructions (session allocated)")
    st, j = srv.next(P, user, {})
    waited = j["page"] == "wait"
    check(waited or time.monotonic() - t0 > 2,
          "the game step says wait while the process loads: %s" % j["page"])
    j = wait_for(lambda: (lambda r: r[1] if r[1]["page"] == "show_game_page" else None)(
        srv.next(P, user)), "show_game_page once the process said hello")
    check(j["page"] == "show_game_page", "then show_game_page")
    frames = asyncio.run(play_until_done(j["server"], P, user))
    check(frames > 5, "the external env's episode was played to done (%d frames)" % frames)


def run():
    d = write_study()
    srv = Serve(d)
    try:
        journey(srv)
    finally:
        rc, err = srv.stop()
        srv.cleanup()
        shutil.rmtree(d, ignore_errors=True)
    check("external process started" in err, "the log shows the process start")
    check(rc == 0, "serve exits cleanly")


main(run)
