"""A deploy through the admin API must not be a shell. By default a deployed
study that names a program or a plug-in (trial.env.command, trial.env.plugin,
trial.agentCommand) is refused with 403 and the key's config.yml:LINE:COL,
nothing of it runs, and a study of that kind left in DATA/projects/ is not
loaded at the next start. `hippo serve --trust-deployed-code` allows it (the
command then runs when a participant reaches the game); even then a plug-in
path must lie inside the study folder. A trial.game typo without trial.env is
refused at deploy with a suggestion."""
import os
import shutil
import tempfile

from serveutil import Serve, check, main, wait_for

STEPS = {"thanks.html": "<p>Thanks.</p>\n"}


def config(pid, trial):
    return ("project:\n  id: %s\n  maxRuntime: 5\n"
            "  events:\n    startServerStep: 1\n    stopServerStep: 2\n"
            "  steps:\n    1: game\n    finalStep: thanks.html\n"
            "trial:\n  game: CartPole-v1\n  actionSpace: [left, right]\n%s" % (pid, trial))


def deploy(srv, pid, trial):
    return srv.admin("POST", "/projects/%s/deploy" % pid,
                     {"config": config(pid, trial), "files": STEPS})


def listed(srv, pid):
    st, j, _ = srv.admin("GET", "/projects")
    return st == 200 and pid in [p["id"] for p in j]


def test():
    tmp = tempfile.mkdtemp(prefix="hippo-deploy-code-")
    marker = os.path.join(tmp, "PWNED")
    shell = "  env:\n    command: [sh, -c, 'id > %s; exit 1']\n" % marker
    srv = Serve()
    try:
        st, j, _ = deploy(srv, "shell", shell)
        diags = "\n".join(j.get("diagnostics", [])) if isinstance(j, dict) else ""
        check(st == 403, "a deploy naming trial.env.command is refused: %s %s" % (st, j))
        check("config.yml:14:5: trial.env.command" in diags and
              "--trust-deployed-code" in diags + j.get("error", ""),
              "the answer names the key with its line and column, and the option: %s" % diags)
        check(not listed(srv, "shell"), "the refused study is not registered")

        st, j, _ = deploy(srv, "plugin", "  env:\n    plugin: /lib/x86_64-linux-gnu/libm.so.6\n")
        check(st == 403 and "trial.env.plugin" in "\n".join(j.get("diagnostics", [])),
              "a deploy naming trial.env.plugin is refused: %s %s" % (st, j))
        st, j, _ = deploy(srv, "agent", "  mode: watch\n  agentCommand: [sh, -c, 'id > %s']\n"
                          % marker)
        check(st == 403 and "trial.agentCommand" in "\n".join(j.get("diagnostics", [])),
              "a deploy naming trial.agentCommand (an agent process) is refused: %s %s" % (st, j))
        st, j, _ = deploy(srv, "typo", "")
        check(st == 200, "the same study without code deploys: %s %s" % (st, j))
        cfg = config("typo", "").replace("CartPole-v1", "CartPol-v1")
        st, j, _ = srv.admin("POST", "/projects/typo/deploy", {"config": cfg, "files": STEPS})
        diags = "\n".join(j.get("diagnostics", [])) if isinstance(j, dict) else ""
        check(st == 400 and "config.yml:11:9: trial.game: unknown environment 'CartPol-v1'; "
              "did you mean CartPole-v1" in diags,
              "a trial.game typo is refused at deploy with a suggestion: %s %s" % (st, diags))
        rc, err = srv.stop()
        check(rc == 0, "the server exits 0")
        check(not os.path.exists(marker), "nothing the deploys named ran")

        # A study naming a command found in DATA/projects/ (deployed by a server
        # that trusted it) is not loaded by one that does not.
        pdir = os.path.join(srv.data, "projects", "shell")
        os.makedirs(os.path.join(pdir, "StepFiles"))
        with open(os.path.join(pdir, "config.yml"), "w") as f:
            f.write(config("shell", shell))
        with open(os.path.join(pdir, "StepFiles", "thanks.html"), "w") as f:
            f.write(STEPS["thanks.html"])
        srv2 = Serve(data=srv.data)
        loaded = listed(srv2, "shell")
        srv2.next("shell", "anon2")
        rc, err = srv2.stop()
        check(not loaded, "a code-naming study left in DATA/projects/ is not loaded")
        check("deployed project not loaded" in err and "trial.env.command" in err,
              "the log says why")
        check(not os.path.exists(marker), "and its command did not run")

        # --trust-deployed-code: the operator allows it; the command runs.
        srv3 = Serve(data=srv.data, args=("--trust-deployed-code",))
        st, j = srv3.next("shell", "anon3")
        check(listed(srv3, "shell") and st == 200,
              "with --trust-deployed-code the study is loaded and served (%s)" % st)
        wait_for(lambda: os.path.exists(marker), "the trusted study's command to run")
        check(True, "its command ran when the participant reached the game")
        st, j, _ = deploy(srv3, "plugin", "  env:\n    plugin: /lib/x86_64-linux-gnu/libm.so.6\n")
        check(st == 400 and "must be a path inside the study folder" in
              "\n".join(j.get("diagnostics", [])),
              "even trusted, a plug-in path outside the study folder is refused: %s %s"
              % (st, j))
        rc, err = srv3.stop()
        check(rc == 0, "the trusting server exits 0")
    finally:
        srv.cleanup()
        shutil.rmtree(tmp, ignore_errors=True)


main(test)
