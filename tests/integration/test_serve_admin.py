"""The admin API with and without the token: the master list, hippo deploy
(a new project, then a new version replacing it atomically and keeping its
participants), live on/off, participants as JSON, the data as a tar.gz; and
a server started without a token has the API disabled."""
import io
import json
import os
import shutil
import subprocess
import tarfile
import tempfile

from serveutil import BIN, EXAMPLE, PROJECTS, TOKEN, Serve, check, main


def deploy(srv, pdir, token=TOKEN):
    env = dict(os.environ)
    env.pop("HIPPO_ADMIN_TOKEN", None)
    if token:
        env["HIPPO_ADMIN_TOKEN"] = token
    return subprocess.run([BIN, "deploy", pdir, "--server", srv.url], env=env,
                          capture_output=True, text=True, timeout=60)


def test():
    tmp = tempfile.mkdtemp(prefix="hippo-admin-")
    srv = Serve(EXAMPLE)
    try:
        st, j, _ = srv.admin("GET", "/projects", token=None)
        check(st == 401 and "error" in j, "no token: 401")
        st, j, _ = srv.admin("GET", "/projects", token="wrong")
        check(st == 401, "wrong token: 401")
        st, j, _ = srv.admin("GET", "/projects")
        check(st == 200 and [p["id"] for p in j] == ["cartpole-demo"], "the master list")
        e = j[0]
        check(e["name"] == "CartPole demo" and e["researcher"] == "HIPPO Gym team" and e["live"],
              "id, name, researcher, live")
        srv.next("cartpole-demo", "a1", {"consent": "yes"})
        srv.next("cartpole-demo", "a2")
        st, j, _ = srv.admin("GET", "/projects")
        check(j[0]["steps"] == {"1": 1, "2": 1} and j[0]["participants"] == 2,
              "counts by step: %s" % j[0]["steps"])

        # Deploy a new project with the CLI.
        pdir = os.path.join(tmp, "groups")
        shutil.copytree(os.path.join(PROJECTS, "serve_groups"), pdir)
        r = deploy(srv, pdir, token=None)
        check(r.returncode != 0 and "token" in r.stderr, "hippo deploy without a token refuses")
        r = deploy(srv, pdir, token="wrong")
        check(r.returncode != 0 and "401" in r.stderr, "hippo deploy with a wrong token: 401")
        r = deploy(srv, pdir)
        check(r.returncode == 0 and "version 1" in r.stdout, "hippo deploy: %s" % r.stdout.strip())
        st, j = srv.next("serve-groups", "d1")
        check(st == 200 and "Group" in j["page"], "the deployed project is served")
        srv.next("serve-groups", "d1", {"q1": "x"})
        old_page = srv.next("serve-groups", "d1")[1]["page"]
        check(os.path.exists(os.path.join(srv.data, "projects", "serve-groups", "config.yml")),
              "stored under DATA/projects/<id>/")

        # A new version: the question page changes, the participant stays.
        with open(os.path.join(pdir, "StepFiles", "question.html"), "w") as f:
            f.write("<p>Version two question</p><input name=\"q2\">")
        r = deploy(srv, pdir)
        check(r.returncode == 0 and "version 2" in r.stdout and "participants kept: 1" in r.stdout,
              "redeploy: %s" % r.stdout.strip())
        st, j = srv.next("serve-groups", "d1")
        check(j["step"] == 2 and "Version two" in j["page"] and j["page"] != old_page,
              "the participant keeps their step and sees the new version")
        leftovers = [n for n in os.listdir(os.path.join(srv.data, "projects")) if n.startswith(".")]
        check(leftovers == [], "no temporary folders left: %s" % leftovers)

        # An invalid upload changes nothing.
        st, j, _ = srv.admin("POST", "/projects/serve-groups/deploy",
                             {"config": "project: [broken", "files": {}})
        check(st == 400 and "diagnostics" in j, "an invalid config is refused with diagnostics")
        st, j, _ = srv.admin("POST", "/projects/serve-groups/deploy",
                             {"config": "x", "files": {"../evil.html": "x"}})
        check(st == 400, "a file name with .. is refused")
        with open(os.path.join(pdir, "config.yml")) as f:
            cfg_text = f.read()
        st, j, _ = srv.admin("POST", "/projects/other-id/deploy", {"config": cfg_text, "files": {}})
        check(st == 400, "a config whose id differs from the URL is refused")
        st, j = srv.next("serve-groups", "d1")
        check("Version two" in j["page"], "the served version is unchanged")

        # live off / on
        st, j, _ = srv.admin("POST", "/projects/serve-groups/live", {"live": False})
        check(st == 200 and j["live"] is False, "live off")
        st, j = srv.next("serve-groups", "d1")
        check(st == 400 and j == "Project ID Not Found", "a project that is not live is not found")
        st, j, _ = srv.admin("GET", "/projects")
        check([p["live"] for p in j if p["id"] == "serve-groups"] == [False], "the list says so")
        st, j, _ = srv.admin("POST", "/projects/serve-groups/live", {"live": "yes"})
        check(st == 400, "live needs a boolean")
        st, j, _ = srv.admin("POST", "/projects/serve-groups/live", {"live": True})
        st, j = srv.next("serve-groups", "d1")
        check(st == 200, "live on again")

        # participants and data
        st, j, _ = srv.admin("GET", "/projects/serve-groups/participants")
        check(st == 200 and len(j) == 1 and j[0]["userId"] == "d1" and j[0]["step"] == 2,
              "participants with their step")
        check(j[0]["answers"][0]["field"] == "q1", "and their answers")
        st, body, h = srv.request("GET", "/api/projects/cartpole-demo/data.tar.gz",
                                  headers={"Authorization": "Bearer " + TOKEN}, raw=True)
        check(st == 200 and h["Content-Type"] == "application/gzip", "data.tar.gz download")
        with tarfile.open(fileobj=io.BytesIO(body), mode="r:gz") as t:
            names = t.getnames()
            parts = json.load(t.extractfile("cartpole-demo/participants.json"))
        check("cartpole-demo/participants.json" in names, "the archive has participants.json")
        check(sorted(p["userId"] for p in parts) == ["a1", "a2"], "with every participant")
        st, j, _ = srv.admin("GET", "/projects/nope/participants")
        check(st == 404, "unknown project: 404")
        st, j, _ = srv.admin("GET", "/projects/..%2Fx/participants")
        check(st in (400, 404), "a bad id: %d" % st)
        st, j, _ = srv.admin("DELETE", "/projects")
        check(st == 405, "DELETE /api/projects: 405")
        srv.stop()

        # A restart reloads the deployed project from DATA/projects.
        srv2 = Serve(data=srv.data)
        st, j, _ = srv2.admin("GET", "/projects")
        check([p["id"] for p in j] == ["serve-groups"] and j[0]["version"] == 2,
              "deployed projects come back after a restart (version 2)")
        st, j = srv2.next("serve-groups", "d1")
        check(j["step"] == 2 and "Version two" in j["page"], "with their participants")
        srv2.stop()

        srv3 = Serve(EXAMPLE, data=srv.data, token=None)
        st, j, _ = srv3.admin("GET", "/projects", token="anything")
        check(st == 403 and "disabled" in j["error"], "no token configured: the API is disabled")
        srv3.stop()
        tokf = os.path.join(tmp, "token")
        with open(tokf, "w") as f:
            f.write("  file-token-42\n")
        srv4 = Serve(EXAMPLE, data=srv.data, token=None, args=("--admin-token-file", tokf))
        st, j, _ = srv4.admin("GET", "/projects", token="file-token-42")
        check(st == 200, "--admin-token-file enables the API")
        srv4.stop()
    finally:
        if srv.proc.poll() is None:
            srv.stop()
        srv.cleanup()
        shutil.rmtree(tmp, ignore_errors=True)


main(test)
