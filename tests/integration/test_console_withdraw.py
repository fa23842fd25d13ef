"""Withdrawing a participant (docs/console.md, "Withdrawal") from a study that
stores to a real S3-compatible server (s3rver): through the console's API,
their store rows, record files, participant record and uploaded objects are
all gone, other participants are untouched, and the audit log has an entry
with who, when, and the SHA-256 of each deleted file; `hippo withdraw` does
the same on a stopped server's data folder."""
import asyncio
import glob
import hashlib
import json
import os
import shutil
import subprocess
import tempfile

from s3helpers import S3Server, hippo_env
from serveutil import BIN, EXAMPLE, Serve, check, main, play_until_done, store_args, wait_for

BUCKET = "bucket"
P = "withdraw-s3"


def make_study(root, endpoint):
    d = os.path.join(root, P)
    shutil.copytree(EXAMPLE, d)
    path = os.path.join(d, "config.yml")
    text = open(path).read().replace("id: cartpole-demo", "id: " + P)
    text = text.replace("  useAWS: false\n", "  useAWS: false\n  storage:\n    s3:\n      bucket: %s\n"
                        "      endpoint: %s\n      region: us-east-1\n" % (BUCKET, endpoint))
    open(path, "w").write(text)
    return d


def in_bucket(s3, key):
    st, _ = s3.get(BUCKET, key)
    return st == 200


def sha(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


async def play(srv, user):
    srv.next(P, user)
    srv.next(P, user, body={"consent": "yes"}, extra="&step=1")
    st, j = srv.next(P, user, body={}, extra="&step=2")
    check(j.get("page") == "show_game_page", "%s reaches the game" % user, j)
    await play_until_done(srv.url.replace("http", "ws") + "/ws", P, user)


async def test():
    tmp = tempfile.mkdtemp(prefix="hippo-withdraw-")
    s3 = S3Server(os.path.join(tmp, "s3"))
    try:
        os.environ.update(hippo_env(tmp))
        study = make_study(tmp, s3.endpoint)
        data = os.path.join(tmp, "data")
        srv = Serve(study, data=data)
        for u in ("w1", "k1", "c2"):
            await play(srv, u)
        keys = {}
        for u in ("w1", "k1", "c2"):
            files = sorted(glob.glob(os.path.join(data, P, "trials", u, "*")))
            keys[u] = ["%s/Trials/%s/%s" % (P, u, os.path.basename(f)) for f in files
                       if not f.endswith("trials.jsonl")] + ["%s/Users/%s.json" % (P, u)]
            for k in keys[u]:
                wait_for(lambda: in_bucket(s3, k), k + " uploaded", timeout=120, every=0.2)
        check(True, "every participant's files and record are in the bucket")
        before = {os.path.relpath(f, data): sha(f)
                  for f in glob.glob(os.path.join(data, P, "trials", "w1", "*")) +
                  [os.path.join(data, P, "users", "w1.json")]}

        st, j, _ = srv.admin("POST", "/projects/%s/participants/w1/withdraw" % P, {"confirm": "k1"})
        check(st == 400 and "confirm" in j["error"], "a withdrawal not confirmed with the userId: 400", j)
        st, j, _ = srv.admin("POST", "/projects/%s/participants/w1/withdraw" % P,
                             {"confirm": "w1", "by": "Dr Ethics"})
        check(st == 200 and j["complete"] is True, "the withdrawal is done and complete", j)
        d = j["deleted"]
        check(d["tables"]["participants"] == 1 and d["tables"]["answers"] >= 1 and
              d["tables"]["passes"] >= 1 and
              d["tables"]["requests"] >= 1 and d["tables"]["sessions"] >= 1 and
              len(d["storeRecordSha256"]) == 64,
              "its rows in every table are deleted, the store record's hash kept", d["tables"])
        got = {f["path"]: f["sha256"] for f in d["files"]}
        check(got == before, "every file is listed with its SHA-256 (%d files)" % len(got),
              (got, before))
        up = {u["key"]: u["status"] for u in d["uploads"]}
        check(set(keys["w1"]) <= set(up) and all(s in (200, 204) for s in up.values()),
              "every uploaded object was deleted from the bucket", up)
        for k in keys["w1"]:
            check(not in_bucket(s3, k), "%s is gone from the bucket" % k)
        check(not os.path.exists(os.path.join(data, P, "trials", "w1")) and
              not os.path.exists(os.path.join(data, P, "users", "w1.json")),
              "the record files and the participant record are gone from the data folder")
        st, _, _ = srv.admin("GET", "/projects/%s/participants/w1" % P)
        check(st == 404, "the participant is gone from the store")
        st, lst, _ = srv.admin("GET", "/projects/%s/participants" % P)
        check(sorted(p["userId"] for p in lst) == ["c2", "k1"], "the others are still there", lst)
        for k in keys["k1"]:
            check(in_bucket(s3, k), "%s (another participant) is still in the bucket" % k)
        audit = [json.loads(x) for x in open(os.path.join(data, "audit.jsonl")).read().splitlines()]
        a = [e for e in audit if e["action"] == "withdraw" and e["userId"] == "w1"]
        check(len(a) == 1 and a[0]["by"]["name"] == "Dr Ethics" and a[0]["by"]["address"] and
              a[0]["time"] and a[0]["id"] == j["audit"] and
              {f["path"]: f["sha256"] for f in a[0]["deleted"]["files"]} == before,
              "the audit log has who, when, what and the hashes", a)
        st, aj, _ = srv.admin("GET", "/audit")
        check(st == 200 and aj[0]["id"] == j["audit"], "GET /api/audit lists it first")
        st, j2, _ = srv.admin("POST", "/projects/%s/participants/w1/withdraw" % P, {"confirm": "w1"})
        check(st == 404, "withdrawing again: 404, nothing left", j2)

        # the withdrawn participant opens the study link again: a new participant
        st, page = srv.next(P, "w1")
        check(st == 200 and page["step"] == 1, "w1 opening the link again starts at step 1", page)
        st, row, _ = srv.admin("GET", "/projects/%s/participants/w1" % P)
        check(st == 200 and row["step"] == 1 and not row["answers"] and not row["sessions"] and
              row["created"] > a[0]["time"],
              "a new row, created after the withdrawal, with no answers and no sessions", row)
        check(not os.path.exists(os.path.join(data, P, "trials", "w1")),
              "none of the old record files came back")
        await play(srv, "w1")
        wait_for(lambda: (srv.admin("GET", "/projects/%s/participants/w1" % P)[1].get("sessions")
                          or [{}])[0].get("reason") == "done", "w1's new game to end")
        st, row, _ = srv.admin("GET", "/projects/%s/participants/w1" % P)
        check(st == 200 and len(row["sessions"]) == 1 and row["sessions"][0]["reason"] == "done",
              "the new participant plays: one session of its own", row["sessions"])
        audit2 = [json.loads(x) for x in open(os.path.join(data, "audit.jsonl")).read().splitlines()]
        check([e for e in audit2 if e["userId"] == "w1"] == a,
              "the audit entry of the withdrawal is unchanged")
        # withdrawn in the middle of the study (before the game), then back
        srv.next(P, "m1")
        srv.next(P, "m1", body={"consent": "yes"}, extra="&step=1")
        st, j, _ = srv.admin("POST", "/projects/%s/participants/m1/withdraw" % P, {"confirm": "m1"})
        check(st == 200 and j["complete"], "m1 withdrawn at step 2", j)
        st, page = srv.next(P, "m1")
        st2, row, _ = srv.admin("GET", "/projects/%s/participants/m1" % P)
        check(st == 200 and page["step"] == 1 and st2 == 200 and not row["answers"],
              "m1 back: step 1 again, no answers", (page, row.get("answers")))
        srv.admin("POST", "/projects/%s/participants/w1/withdraw" % P, {"confirm": "w1"})
        srv.admin("POST", "/projects/%s/participants/m1/withdraw" % P, {"confirm": "m1"})

        # the command line, on the stopped server's folder
        srv.stop()
        env = dict(os.environ)
        p = subprocess.run([BIN, "withdraw", P, "c2", "--data", data, *store_args(data)],
                           capture_output=True, text=True, env=env, timeout=60)
        check(p.returncode == 0 and "--yes" in p.stdout and in_bucket(s3, keys["c2"][0]),
              "hippo withdraw without --yes only says what would go", p.stdout + p.stderr)
        p = subprocess.run([BIN, "withdraw", P, "c2", "--data", data, "--yes", "--by", "cli-admin",
                            *store_args(data)],
                           capture_output=True, text=True, env=env, timeout=60)
        check(p.returncode == 0, "hippo withdraw --yes exits 0", p.stdout + p.stderr)
        r = json.loads(p.stdout)
        check(r["complete"] and r["by"]["via"] == "cli" and r["by"]["name"] == "cli-admin" and
              r["deleted"]["tables"]["participants"] == 1, "its report", r)
        for k in keys["c2"]:
            check(not in_bucket(s3, k), "%s is gone from the bucket (command line)" % k)
        check(not os.path.exists(os.path.join(data, P, "trials", "c2")),
              "c2's record files are gone")
        srv2 = Serve(study, data=data)
        st, lst, _ = srv2.admin("GET", "/projects/%s/participants" % P)
        check([p["userId"] for p in lst] == ["k1"], "after a restart only k1 is left", lst)
    finally:
        s3.stop()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main(test)
