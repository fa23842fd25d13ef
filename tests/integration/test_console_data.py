"""The data download filtered by state (docs/api.md, data.tar.gz?state=):
only the completed participants' rows in participants.json and the CSV
tables, and only their record files; without the filter, everyone's; a bad
state is refused."""
import csv
import io
import json
import os
import tarfile

from serveutil import PROJECTS, Serve, check, main

P = "serve-groups"


def download(srv, query=""):
    st, body, h = srv.request("GET", "/api/projects/%s/data.tar.gz%s" % (P, query),
                              headers={"Authorization": "Bearer " + srv.token}, raw=True)
    return st, body


def members(body):
    t = tarfile.open(fileobj=io.BytesIO(body), mode="r:gz")
    return t, t.getnames()


def rows(t, name):
    f = t.extractfile(name)
    return list(csv.DictReader(io.TextIOWrapper(f, encoding="utf-8", newline="")))


def test():
    srv = Serve(os.path.join(PROJECTS, "serve_groups"))
    for user, posts in (("a1", 0), ("b1", 1), ("c1", 2), ("c2", 2)):
        srv.next(P, user)
        for k in range(posts):
            srv.next(P, user, body={"q%d" % k: "answer of " + user}, extra="&step=%d" % (k + 1))
        d = os.path.join(srv.data, P, "trials", user)
        os.makedirs(d, exist_ok=True)
        with open(os.path.join(d, "episode_1.jsonl"), "w") as f:
            f.write(json.dumps({"userId": user, "projectId": P, "trialId": "T" + user,
                                "episode": 1, "step": 0, "frameId": 1, "t": 1, "reset": True,
                                "observation": [0]}) + "\n")
    st, body = download(srv, "?state=completed")
    check(st == 200, "GET data.tar.gz?state=completed: 200")
    t, names = members(body)
    check(all(n == P or n.startswith(P + "/") for n in names), "every member under %s/" % P, names)
    parts = json.load(t.extractfile(P + "/participants.json"))
    check(sorted(p["userId"] for p in parts) == ["c1", "c2"],
          "participants.json holds the completed participants only", parts)
    pr = rows(t, P + "/export/participants.csv")
    check(sorted(r["user_id"] if "user_id" in r else r.get("userId") for r in pr) == ["c1", "c2"],
          "export/participants.csv has their rows only", pr[:1])
    ar = rows(t, P + "/export/answers.csv")
    users = {r.get("user_id") or r.get("userId") for r in ar}
    check(users == {"c1", "c2"} and len(ar) == 4, "export/answers.csv has their answers only", ar)
    trials = sorted({n.split("/")[2] for n in names if n.startswith(P + "/trials/") and n.count("/") >= 3})
    check(trials == ["c1", "c2"], "only their record files are in the archive", trials)
    st, body = download(srv)
    t, names = members(body)
    parts = json.load(t.extractfile(P + "/participants.json"))
    trials = sorted({n.split("/")[2] for n in names if n.startswith(P + "/trials/") and n.count("/") >= 3})
    check(len(parts) == 4 and trials == ["a1", "b1", "c1", "c2"],
          "without state: everyone's rows and files")
    st, body = download(srv, "?state=active")
    t, names = members(body)
    check(sorted(p["userId"] for p in json.load(t.extractfile(P + "/participants.json"))) ==
          ["a1", "b1"], "state=active: the others")
    st, body = download(srv, "?state=done")
    check(st == 400 and b"state" in body, "an unknown state: 400", body)


if __name__ == "__main__":
    main(test)
