"""Withdrawing a participant (docs/console.md, "Withdrawal") from a study that
stores to a real S3-compatible server (s3rver): through the console's API,
their store rows, record files, participant record and uploaded objects are
all gone, other participants are untouched, and the audit log has an entry
with who, when, and the SHA-256 of each deleted file; `hippo withdraw` run
while the server plays the participant's game is applied by the server (the
game ends, what it wrote and uploaded as it ended goes too, an audit entry
says what); `hippo withdraw` does the same on a stopped server's data
folder, and with the study's S3 settings (--project) deletes what another
node uploaded for the participant too."""
import asyncio
import glob
import hashlib
import json
import os
import shutil
import subprocess
import tempfile
import time

import websockets

from s3helpers import S3Server, hippo_env
from serveutil import BIN, EXAMPLE, Serve, check, main, play_until_done, store_args, wait_for

BUCKET = "bucket"
P = "withdraw-s3"
L = "withdraw-live"  # a game that lasts


def make_study(root, endpoint, pid=P, episodes=3):
    d = os.path.join(root, pid)
    shutil.copytree(EXAMPLE, d)
    path = os.path.join(d, "config.yml")
    text = open(path).read().replace("id: cartpole-demo", "id: " + pid)
    text = text.replace("maxEpisodes: 3", "maxEpisodes: %d" % episodes)
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
        srv = Serve(study, make_study(tmp, s3.endpoint, L, 100000), data=data)
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

        # the command line while the server runs: the server applies it (it reads the
        # store's withdrawals every 2 s): the game it runs stops, and what it writes and
        # uploads as the game ends goes too
        srv.next(L, "r1")
        srv.next(L, "r1", body={"consent": "yes"}, extra="&step=1")
        st, j = srv.next(L, "r1", body={}, extra="&step=2")
        check(j.get("page") == "show_game_page", "r1 reaches the game", j)
        loop = asyncio.get_running_loop()
        async with websockets.connect(srv.url.replace("http", "ws") + "/ws",
                                      max_size=16 << 20) as ws:
            await ws.send(json.dumps({"userId": "r1", "projectId": L}))
            await ws.send(json.dumps({"command": "start", "browser": "test"}))
            frames = 0
            while frames < 45:  # into the second episode: one file closed and uploaded
                m = await asyncio.wait_for(ws.recv(), 30)
                frames += isinstance(m, bytes) or '"frame"' in m
            await loop.run_in_executor(None, lambda: wait_for(
                lambda: s3.keys("bucket", "%s/Trials/r1/" % L), "r1's first upload",
                timeout=60, every=0.2))
            p = await loop.run_in_executor(None, lambda: subprocess.run(
                [BIN, "withdraw", L, "r1", "--data", data, "--yes", *store_args(data)],
                capture_output=True, text=True, env=dict(os.environ), timeout=60))
            check(p.returncode == 0, "hippo withdraw while the server runs", p.stdout + p.stderr)
            t0 = time.monotonic()
            try:
                while True:
                    if await asyncio.wait_for(ws.recv(), 10) == "done":
                        break
            except websockets.ConnectionClosed:
                pass
        check(time.monotonic() - t0 < 5, "the server ends r1's game (%.1f s after the command)" %
              (time.monotonic() - t0))

        def left():
            return s3.keys("bucket", "%s/Trials/r1/" % L) + \
                (["users"] if in_bucket(s3, "%s/Users/r1.json" % L) else []) + \
                glob.glob(os.path.join(data, L, "trials", "r1", "*")) + \
                glob.glob(os.path.join(data, L, "users", "r1.json"))
        try:
            wait_for(lambda: not left(), "nothing of r1 left", timeout=20, every=0.2)
        except AssertionError:
            check(False, "nothing of r1 left", left())
        check(True, "nothing of r1 is left in the data folder or the bucket")
        def applied_r1():
            audit = [json.loads(x) for x in open(os.path.join(data, "audit.jsonl"))]
            return [e for e in audit if e["action"] == "withdraw_applied" and e["userId"] == "r1"]
        applied = wait_for(applied_r1, "the server's audit entry", timeout=10, every=0.1)
        # (the command deleted the files; the server, the uploads of the game's last files)
        check(applied[0]["complete"] and any("/Trials/r1/" in u["key"]
                                             for u in applied[0]["deleted"]["uploads"]),
              "the server's audit entry lists what it deleted", applied)

        # the command line, on the stopped server's folder
        srv.stop()
        env = dict(os.environ)
        p = subprocess.run([BIN, "withdraw", P, "c2", "--data", data, *store_args(data)],
                           capture_output=True, text=True, env=env, timeout=60)
        check(p.returncode == 0 and "--yes" in p.stdout and in_bucket(s3, keys["c2"][0]),
              "hippo withdraw without --yes only says what would go", p.stdout + p.stderr)
        # an object another node uploaded (its own data folder and spool)
        other = os.path.join(tmp, "data-node-b")
        os.makedirs(other)
        rec = os.path.join(other, "episode_1.jsonl")
        with open(rec, "w") as f:
            f.write('{"episode": 1}\n')
        okey = "%s/Trials/c2/node-b/episode_1.jsonl" % P
        for args in (["add", rec, okey, "--bucket", BUCKET, "--endpoint", s3.endpoint],
                     ["push", "--wait", "60"]):
            q = subprocess.run([BIN, "storage", *args, "--data", other], capture_output=True,
                               text=True, env=env, timeout=90)
            check(q.returncode == 0, "hippo storage %s (node b)" % args[0], q.stdout + q.stderr)
        check(in_bucket(s3, okey), "node b's object is in the bucket")
        p = subprocess.run([BIN, "withdraw", P, "c2", "--data", data, "--yes", "--by", "cli-admin",
                            "--project", study, *store_args(data)],
                           capture_output=True, text=True, env=env, timeout=60)
        check(p.returncode == 0, "hippo withdraw --yes exits 0", p.stdout + p.stderr)
        r = json.loads(p.stdout)
        check(r["complete"] and r["by"]["via"] == "cli" and r["by"]["name"] == "cli-admin" and
              r["deleted"]["tables"]["participants"] == 1, "its report", r)
        for k in keys["c2"] + [okey]:
            check(not in_bucket(s3, k), "%s is gone from the bucket (command line)" % k)
        check(okey in {u["key"] for u in r["deleted"]["uploads"]},
              "the report lists the object another node uploaded", r["deleted"]["uploads"])
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
