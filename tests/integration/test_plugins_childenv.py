"""Environment and agent processes get a clean environment: hippo is started
with HIPPO_ADMIN_TOKEN, AWS keys and other variables set, and an external
environment and an external agent (small Python scripts written here) report
the environment they were started with, under `hippo serve` (a full trial in
watch mode) and under `hippo check` (which starts the environment for its
hello). Only the allow-list reaches them (PATH, LANG...), plus what the
operator adds with HIPPO_CHILD_ENV (names and PREFIX_*). The `tar` of the data
download gets the same: a `tar` first on PATH records its environment, then
runs the real one."""
import asyncio
import json
import os
import shutil
import subprocess
import tempfile

from serveutil import BIN, SRC, Serve, check, main, play_until_done, wait_for

SECRETS = {
    "HIPPO_ADMIN_TOKEN": "admin-secret-123",
    "AWS_ACCESS_KEY_ID": "AKIAEXAMPLEEXAMPLE",
    "AWS_SECRET_ACCESS_KEY": "aws-secret-456",
    "AWS_SESSION_TOKEN": "aws-session-789",
    "DATABASE_PASSWORD": "db-secret",
}
EXTRA = {"HIPPO_TEST_EXTRA": "passed-on", "MYLAB_SEED": "7", "MYLAB_MODE": "fast"}

SCRIPT = r'''
import json, os, sys
out, role = sys.argv[1], sys.argv[2]
with open(out + "." + role + ".json", "w") as f:
    json.dump(dict(os.environ), f)
sys.path.insert(0, sys.argv[3])
import hippo_env

class Env:
    action_space = hippo_env.Discrete(2)
    observation_space = hippo_env.Box(low=0, high=10, shape=(1,))
    render_width, render_height = 8, 8
    def reset(self, seed=None):
        self.t = 0
        return [0.0], {}
    def step(self, a):
        self.t += 1
        return [float(self.t)], 1.0, self.t >= 3, False, {}
    def render(self):
        return hippo_env.RGBFrame(8, 8, bytes(8 * 8 * 3))

class Agent:
    def __init__(self, env, options):
        pass
    def act(self, observation):
        return 1

if role == "env":
    hippo_env.serve(Env())
else:
    hippo_env.serve_agent(Agent)
'''


def study(tmp, out):
    d = os.path.join(tmp, "study")
    os.makedirs(os.path.join(d, "StepFiles"))
    with open(os.path.join(d, "StepFiles", "thanks.html"), "w") as f:
        f.write("<p>Thanks.</p>\n")
    with open(os.path.join(d, "dump_env.py"), "w") as f:
        f.write(SCRIPT)
    py = os.path.join(SRC, "clients", "python")
    with open(os.path.join(d, "config.yml"), "w") as f:
        f.write("project:\n  id: childenv\n  maxRuntime: 5\n"
                "  events:\n    startServerStep: 1\n    stopServerStep: 2\n"
                "  steps:\n    1: game\n    finalStep: thanks.html\n"
                "trial:\n  game: Dump-v0\n  maxEpisodes: 1\n  actionSpace: [left, right]\n"
                "  mode: watch\n"
                "  env:\n    command: [python3, dump_env.py, %s, env, %s]\n"
                "  agentCommand: [python3, dump_env.py, %s, agent, %s]\n" % (out, py, out, py))
    return d


def clean(what, path):
    with open(path) as f:
        env = json.load(f)
    leaked = sorted(k for k in SECRETS if k in env) + \
        sorted(k for k, v in env.items() if v in SECRETS.values())
    check(not leaked, "%s: no secret reaches it (leaked: %s)" % (what, leaked))
    check("PATH" in env and env.get("LANG") == "C.UTF-8", "%s: PATH and LANG are passed" % what)
    check(all(env.get(k) == v for k, v in EXTRA.items()),
          "%s: HIPPO_CHILD_ENV adds names and prefixes (%s)"
          % (what, {k: env.get(k) for k in EXTRA}))
    check("HIPPO_CHILD_ENV" not in env and "UNLISTED_VAR" not in env,
          "%s: variables not on the list stay out" % what)


def test():
    tmp = tempfile.mkdtemp(prefix="hippo-childenv-")
    out = os.path.join(tmp, "dump")
    d = study(tmp, out)
    os.environ.update(SECRETS)
    os.environ.update(EXTRA)
    os.environ.update({"LANG": "C.UTF-8", "UNLISTED_VAR": "x",
                       "HIPPO_CHILD_ENV": "HIPPO_TEST_EXTRA, MYLAB_*"})
    try:
        bindir = os.path.join(tmp, "bin")
        os.makedirs(bindir)
        with open(os.path.join(bindir, "tar"), "w") as f:
            f.write("#!/bin/sh\n/usr/bin/python3 -c 'import json, os, sys; "
                    "json.dump(dict(os.environ), open(sys.argv[1], \"w\"))' %s.tar.json\n"
                    "exec %s \"$@\"\n" % (out, shutil.which("tar")))
        os.chmod(os.path.join(bindir, "tar"), 0o755)
        os.environ["PATH"] = bindir + os.pathsep + os.environ["PATH"]
        srv = Serve(d, token=SECRETS["HIPPO_ADMIN_TOKEN"])
        try:
            j = wait_for(lambda: (lambda r: r[0] == 200 and r[1]["page"] == "show_game_page"
                                  and r[1])(srv.next("childenv", "u1")),
                         "the game step once the environment process said hello")
            frames = asyncio.run(play_until_done(j["server"], "childenv", "u1", timeout=60))
            check(frames >= 1, "the watched trial ran to done (%d frames)" % frames)
            st, body, _ = srv.admin("GET", "/projects/childenv/data.tar.gz")
            check(st == 200, "the data download answers 200 (%s)" % st)
        finally:
            rc, err = srv.stop()
            srv.cleanup()
        check(rc == 0, "the server exits 0")
        clean("the environment process", out + ".env.json")
        clean("the agent process", out + ".agent.json")
        clean("the tar of the data download", out + ".tar.json")
        os.unlink(out + ".env.json")

        r = subprocess.run([BIN, "check", d], capture_output=True, text=True, timeout=120)
        check(r.returncode == 0, "hippo check starts the environment: %s" % r.stdout.strip())
        clean("the environment process of hippo check", out + ".env.json")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


main(test)
