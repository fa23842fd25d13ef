"""The admin data download (GET /api/projects/P/data.tar.gz) carries the
analysis-ready tables of `hippo export` (P/export/*.csv) next to
participants.json and the record files: after a whole journey through
examples/cartpole they hold the participant, the answers, every recorded
step and every episode, byte for byte what `hippo export` writes; a project
without data still downloads, without tables; the archive is streamed (chunked,
no Content-Length); a project whose id begins with '-' downloads too (tar takes
it for a name, not an option)."""
import asyncio
import csv
import io
import os
import shutil
import subprocess
import tarfile
import tempfile
import uuid

from serveutil import (BIN, EXAMPLE, PROJECTS, TOKEN, Serve, check, main, play_until_done,
                       store_args, wait_for)

P = "cartpole-demo"
TABLES = ["participants.csv", "answers.csv", "passes.csv", "steps.csv", "episodes.csv"]


def download(srv, pid):
    st, body, h = srv.request("GET", "/api/projects/%s/data.tar.gz" % pid,
                              headers={"Authorization": "Bearer " + TOKEN}, raw=True)
    check(st == 200 and h["Content-Type"] == "application/gzip",
          "%s: data.tar.gz downloaded (%d bytes)" % (pid, len(body)))
    check(h.get("Transfer-Encoding") == "chunked" and h.get("Content-Length") is None,
          "%s: streamed in chunks, without a length" % pid)
    t = tarfile.open(fileobj=io.BytesIO(body), mode="r:gz")
    return t


def rows(text):
    return list(csv.DictReader(io.StringIO(text)))


def journey(srv, user):
    srv.next(P, user, extra="&PROLIFIC_PID=pp-7")
    srv.next(P, user, {"consent": "yes"})
    st, j = srv.next(P, user, {})
    frames = asyncio.run(play_until_done(j["server"], P, user))
    check(frames > 0, "the game was played until done (%d frames)" % frames)
    wait_for(lambda: srv.next(P, user)[1].get("step") == 4, "the survey")
    st, j = srv.next(P, user, {"enjoy": "4", "comment": "a, \"quoted\"\nline"})
    check(j["step"] == 5, "the journey is complete")


def test():
    tmp = tempfile.mkdtemp(prefix="hippo-download-")
    srv = Serve(EXAMPLE, os.path.join(PROJECTS, "serve_groups"))
    try:
        user = "dl-" + uuid.uuid4().hex[:10]
        journey(srv, user)
        with download(srv, P) as t:
            names = t.getnames()
            tables = {n: t.extractfile("%s/export/%s" % (P, n)).read().decode()
                      for n in TABLES if "%s/export/%s" % (P, n) in names}
        check(sorted(tables) == sorted(TABLES), "the archive has %s/export/ with the five tables"
              % P)
        check("%s/participants.json" % P in names, "and participants.json, as before")
        recs = sorted(n for n in names if n.startswith("%s/trials/%s/" % (P, user)))
        check(len(recs) >= 2, "and the record files: %s" % [os.path.basename(n) for n in recs])

        parts = rows(tables["participants.csv"])
        check(len(parts) == 1 and parts[0]["user_id"] == user and
              parts[0]["status"] == "completed" and parts[0]["crowd_PROLIFIC_PID"] == "pp-7",
              "participants.csv: the participant, completed, with the crowd id")
        ans = {(a["step"], a["field"]): a["value"] for a in rows(tables["answers.csv"])}
        check(ans.get(("1", "consent")) == "yes" and
              ans.get(("4", "comment")) == "a, \"quoted\"\nline",
              "answers.csv: every answer, quotes and newlines intact")
        eps = rows(tables["episodes.csv"])
        files = [n for n in recs if os.path.basename(n).startswith("episode_")]
        check(len(eps) == 3 and len(files) == 3,
              "episodes.csv: one row per episode played (3 of maxEpisodes 3)")
        steps = rows(tables["steps.csv"])
        check(sum(int(e["steps"]) for e in eps) + len(eps) == len(steps),
              "steps.csv: %d rows = the episodes' steps plus one reset record each" % len(steps))

        out = os.path.join(tmp, "cli-export")
        r = subprocess.run([BIN, "export", P, "--data", srv.data, "--out", out, "--no-progress",
                            *store_args(srv.data)],
                           capture_output=True, text=True, timeout=120)
        check(r.returncode == 0, "hippo export on the same data folder")
        for n in TABLES:
            with open(os.path.join(out, n), newline="") as f:
                same = f.read() == tables[n]
            check(same, "%s in the download equals hippo export's" % n)

        with download(srv, "serve-groups") as t:
            names = t.getnames()
        check("serve-groups/participants.json" in names and
              not any("/export/" in n for n in names),
              "a project without data: participants.json only, no tables")
        dash = "-lead-dash"
        cfg = open(os.path.join(PROJECTS, "serve_groups", "config.yml")).read()
        files = {n: open(os.path.join(PROJECTS, "serve_groups", "StepFiles", n)).read()
                 for n in os.listdir(os.path.join(PROJECTS, "serve_groups", "StepFiles"))}
        st, j, _ = srv.admin("POST", "/projects/%s/deploy" % dash,
                             {"config": cfg.replace("id: serve-groups", "id: " + dash),
                              "files": files})
        check(st == 200, "a project whose id begins with '-' is deployed (%s)" % st)
        srv.next(dash, "dash-user")
        with download(srv, dash) as t:
            names = t.getnames()
        check("%s/participants.json" % dash in names,
              "its data.tar.gz holds %s/participants.json (%s)" % (dash, names[:4]))

        leftovers = [n for n in os.listdir(srv.data) if n.startswith(".export")]
        check(leftovers == [], "no scratch folder left in the data folder")
    finally:
        srv.stop()
        srv.cleanup()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main(test)
