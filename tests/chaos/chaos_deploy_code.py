"""A deploy used as a shell.

Sends: during CHAOS_SECONDS, a holder of the admin token deploys studies that name
code: trial.env.command running `sh -c 'id > MARKER'`, trial.env.plugin naming a
library elsewhere on the host, trial.agentCommand, each under a fresh project id,
and after each deploy an anonymous participant walks to the game step of that id
(which is where the command would run).
Must hold: every such deploy is refused with 403 and the key's config.yml line;
none of the ids is registered; the marker file never appears (nothing ran); the
honest participant keeps its frame rate; nothing is written outside the data
folder; the server exits 0."""
import os
import time

from chaosutil import SECONDS, Honest, check, finish, hold_fps, main, nothing_outside, serve

STEPS = {"thanks.html": "<p>Thanks.</p>\n"}


def config(pid, marker, kind):
    trial = {
        "command": "  env:\n    command: [sh, -c, 'id > %s']\n" % marker,
        "plugin": "  env:\n    plugin: /lib/x86_64-linux-gnu/libc.so.6\n",
        "agent": "  mode: watch\n  agentCommand: [sh, -c, 'id > %s']\n" % marker,
    }[kind]
    return ("project:\n  id: %s\n  maxRuntime: 5\n"
            "  events:\n    startServerStep: 1\n    stopServerStep: 2\n"
            "  steps:\n    1: game\n    finalStep: thanks.html\n"
            "trial:\n  game: CartPole-v1\n  actionSpace: [left, right]\n%s" % (pid, trial))


def test():
    srv = serve()
    marker = os.path.join(srv.tmp, "data", "PWNED")
    honest = Honest(srv).begin()
    t0 = time.monotonic()
    until = t0 + SECONDS
    statuses, lines, ids, i = [], [], [], 0
    while time.monotonic() < until or i < 3:
        kind = ("command", "plugin", "agent")[i % 3]
        pid = "attack-%d" % i
        st, j, _ = srv.admin("POST", "/projects/%s/deploy" % pid,
                             {"config": config(pid, marker, kind), "files": STEPS})
        statuses.append(st)
        diags = j.get("diagnostics", []) if isinstance(j, dict) else []
        lines.append(any("config.yml:1" in d for d in diags))
        srv.next(pid, "anon-%d" % i)  # a participant reaches the game step
        ids.append(pid)
        i += 1
        time.sleep(0.05)
    t1 = time.monotonic()
    check(set(statuses) == {403}, "%d code-naming deploys, all refused with 403: %s"
          % (len(statuses), sorted(set(statuses))))
    check(all(lines), "every refusal names the key's config.yml line")
    st, j, _ = srv.admin("GET", "/projects")
    check(st == 200 and not set(ids) & {p["id"] for p in j}, "none of them is registered")
    check(not os.path.exists(marker), "nothing the deploys named ran")
    honest.stop()
    hold_fps(honest, t0, t1, "the code-naming deploys")
    nothing_outside(srv)
    finish(srv)


main(test)
