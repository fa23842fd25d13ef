"""A preview participant who plays the game (docs/console.md, "Preview
links"): the preview of examples/cartpole goes through every step and plays,
and its session and record files are written like anyone's; but /metrics,
the master list and the Studies page count only the real participant, and
its records stay out of everything exported unless asked: the data
download's files, hippo export's tables (steps, episodes) and the Minari
datasets, which take --include-preview as the tables do. Runs on both
stores (_pg)."""
import asyncio
import csv
import io
import json
import os
import subprocess
import tarfile
import tempfile
import time

from serveutil import (BIN, EXAMPLE, Serve, check, main, play_until_done, store_args,
                       store_rows)

C = "cartpole-demo"


def walk(srv, user, extra=""):
    """USER through every page of cartpole to the final one, playing the game."""
    for _ in range(12):
        st, j = srv.next(C, user, extra=extra)
        check(st == 200, "%s: /next answers 200" % user, j)
        if j["page"] == "show_game_page":
            asyncio.run(play_until_done(j["server"], C, user, stop_after=40))
            continue
        if j["page"] == "wait":
            time.sleep(0.2)
            continue
        if j["step"] > j["totalSteps"]:
            return j
        srv.next(C, user, {"consent": "yes", "difficulty": "easy"},
                 extra=extra + "&step=%d&pageHash=%s" % (j["step"], j["pageHash"]))
    raise AssertionError("%s did not reach the final page" % user)


def counted(srv):
    st, body, _ = srv.request("GET", "/metrics", raw=True)
    metrics = sorted(line for line in body.decode().splitlines()
                     if line.startswith("hippo_participants{"))
    master = {p["id"]: (p["participants"], p["completed"], p["steps"])
              for p in srv.admin("GET", "/projects")[1]}[C]
    studies = {s["id"]: (s["started"], s["completed"], s["atStep"])
               for s in srv.admin("GET", "/studies")[1]["studies"]}[C]
    return metrics, master, studies


def export(srv, *flags):
    out = tempfile.mkdtemp(prefix="hippo-preview-records-")
    r = subprocess.run([BIN, "export", C, "--data", srv.data, "--out", out, "--no-progress",
                        *store_args(srv.data), *flags], capture_output=True, text=True,
                       timeout=180)
    check(r.returncode == 0, "hippo export %s" % " ".join(flags), r.stderr)
    return out, r.stderr


def users_of(path):
    with open(path, newline="") as f:
        return {r["user_id"] for r in csv.DictReader(f)}


def test():
    srv = Serve(EXAMPLE)
    link = {s["id"]: s for s in srv.admin("GET", "/studies")[1]["studies"]}[C]["preview"]
    token = link.split("preview=")[1]
    walk(srv, "real1")
    time.sleep(0.6)  # request records are committed in batches
    before = counted(srv)
    check(before[1][0] == 1, "one real participant counted")

    final = walk(srv, "prev1", "&preview=" + token)
    check(final["step"] > final["totalSteps"], "the preview reached the final page")
    rows = store_rows(srv.data, "SELECT count(*) FROM sessions s JOIN participants p"
                                " ON p.id = s.participant WHERE p.user_id = 'prev1'")
    check(int(rows[0][0]) >= 1 and srv.files(C, "prev1"),
          "the preview played: a session, record files %s" % srv.files(C, "prev1"))
    check(store_rows(srv.data, "SELECT count(*) FROM participants WHERE user_id = 'prev1'"
                               " AND preview") == [("1",)], "marked preview in the store")
    check(counted(srv) == before, "/metrics, the master list and the Studies page count the "
                                  "real participant only")

    # the data download: the preview's record files only when asked
    def download(query):
        st, body, _ = srv.request("GET", "/api/projects/%s/data.tar.gz%s" % (C, query),
                                  headers={"Authorization": "Bearer " + srv.token}, raw=True)
        check(st == 200, "data.tar.gz%s: 200" % query)
        names = tarfile.open(fileobj=io.BytesIO(body), mode="r:gz").getnames()
        return {n.split("/")[2] for n in names if n.startswith(C + "/trials/") and
                n.count("/") >= 3}
    check(download("") == {"real1"}, "data.tar.gz: the real participant's files only")
    check(download("?preview=1") == {"real1", "prev1"}, "data.tar.gz?preview=1: both")

    # hippo export's tables: the preview's episodes only when asked
    out, _ = export(srv)
    check(users_of(os.path.join(out, "episodes.csv")) == {"real1"} and
          users_of(os.path.join(out, "steps.csv")) == {"real1"},
          "hippo export: the episodes and steps of the real participant only")
    out, _ = export(srv, "--include-preview")
    check(users_of(os.path.join(out, "episodes.csv")) == {"real1", "prev1"},
          "hippo export --include-preview: the preview's episodes too")

    # the Minari datasets: the same
    def minari(*flags):
        out, err = export(srv, "--format", "minari", *flags)
        metas = []
        for root, _, names in os.walk(out):
            if "metadata.json" in names:
                with open(os.path.join(root, "metadata.json")) as f:
                    metas.append(json.load(f))
        check(len(metas) == 1, "one Minari dataset (%s)" % " ".join(flags), err)
        return metas[0]
    m = minari()
    check(m["hippo"]["participants"] == 1, "the Minari dataset holds the real participant's "
          "episodes only (%d episodes)" % m["total_episodes"], m["hippo"])
    alone = m["total_episodes"]
    m = minari("--include-preview")
    check(m["hippo"]["participants"] == 2 and m["total_episodes"] > alone,
          "with --include-preview, the preview's episodes too (%d)" % m["total_episodes"],
          m["hippo"])


if __name__ == "__main__":
    main(test)
