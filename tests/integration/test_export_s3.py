"""hippo export --from-s3 (docs/data.md, "Export"): the record files of every
node of a cluster, read from the study's S3 storage (s3rver).

- the listing is paged (--s3-max-keys 3: several ListObjectsV2 pages, the
  continuation tokens followed): every object is pulled;
- a participant's files from several nodes are merged in the order they were
  written (the first record's time), whatever the nodes' names;
- keys that are no record file of a valid participant and node (a bad user
  id, a bad node name, a deeper path, another extension) are skipped and
  counted, never written outside OUTDIR/records;
- a second run keeps the copies it has (same size), and removes those whose
  object is gone from S3 (a withdrawn participant's): they are not exported;
- PROJECT given as an id with no study folder at hand: the S3 settings of
  the latest version deployed through the admin API, from the store;
- missing credentials and a missing bucket fail with a clear message."""
import csv
import http.client
import json
import os
import shutil
import tempfile

from clusterutil import study
from s3helpers import S3Server, hippo, hippo_env
from serveutil import Serve, TOKEN, check, main

PID = "exps3"


def request(s3, method, key, body=None):
    c = http.client.HTTPConnection("127.0.0.1", s3.port, timeout=30)
    c.request(method, "/bucket/" + key, body=body)
    r = c.getresponse()
    r.read()
    c.close()
    return r.status


def put(s3, key, body):
    st = request(s3, "PUT", key, body)
    check(st == 200, "PUT %s: %d" % (key, st))


def lines(user, trial, episode, t0, n):
    out = []
    for s in range(n):
        rec = {"userId": user, "projectId": PID, "trialId": trial, "episode": episode,
               "step": s, "frameId": s, "t": t0 + s, "observation": [s, s + 0.5]}
        if s == 0:
            rec["reset"] = True
        else:
            rec.update({"action": 1, "actionName": "right", "reward": 1,
                        "terminated": s == n - 1, "truncated": False})
        out.append(json.dumps(rec))
    return ("\n".join(out) + "\n").encode()


def steps(out):
    with open(os.path.join(out, "steps.csv"), newline="") as f:
        return list(csv.DictReader(f))


def run():
    tmp = tempfile.mkdtemp(prefix="hippo-export-s3-")
    s3 = S3Server(os.path.join(tmp, "s3"))
    try:
        env = hippo_env(tmp)
        d = study(os.path.join(tmp, "studies"), PID, s3)
        T = "%s/Trials/" % PID
        # u1 played on node "zz" first, then moved to node "a" (episode 2 again, then 3)
        put(s3, T + "u1/zz/episode_1.jsonl", lines("u1", "t1", 1, 1000, 4))
        put(s3, T + "u1/zz/episode_2.jsonl", lines("u1", "t1", 2, 2000, 2))
        put(s3, T + "u1/zz/trials.jsonl", b'{"event":"start"}\n')
        put(s3, T + "u1/a/episode_2.jsonl", lines("u1", "t2", 2, 3000, 3))
        put(s3, T + "u1/a/episode_3.jsonl", lines("u1", "t2", 3, 4000, 3))
        put(s3, T + "u2/b/episode_1.jsonl", lines("u2", "t3", 1, 5000, 5))
        put(s3, T + "u3/episode_1.jsonl", lines("u3", "t4", 1, 6000, 2))  # one machine
        bad = [T + "u1/NODE_X/episode_9.jsonl", T + "u9/n1/n2/episode_9.jsonl",
               T + "u_!x/a/episode_9.jsonl", T + "u1/a/evil.sh", T + "u1/a/episode~9.jsonl"]
        for k in bad:
            put(s3, k, lines("u1", "bad", 9, 9000, 2))
        put(s3, "%s/Users/u1.json" % PID, b"{}")  # not under Trials/: not listed
        out = os.path.join(tmp, "out")
        args = ["export", d, "--from-s3", "--s3-max-keys", "3", "--data",
                os.path.join(tmp, "data"), "--out", out, "--progress"]
        r = hippo(args, env)
        check(r.returncode == 0, "export --from-s3 succeeds", r.stderr)
        check("12 objects listed, 7 fetched" in r.stderr and "5 skipped" in r.stderr,
              "12 objects over four pages of 3: 7 record files fetched, 5 keys skipped",
              r.stderr)
        check("S3: 7/7 files" in r.stderr, "the progress line counts the files", r.stderr)
        rows = steps(out)
        got = [(x["user_id"], x["trial_id"], x["episode"], x["step"]) for x in rows]
        want = ([("u1", "t1", "1", str(s)) for s in range(4)] +
                [("u1", "t1", "2", str(s)) for s in range(2)] +
                [("u1", "t2", "2", str(s)) for s in range(3)] +
                [("u1", "t2", "3", str(s)) for s in range(3)] +
                [("u2", "t3", "1", str(s)) for s in range(5)] +
                [("u3", "t4", "1", str(s)) for s in range(2)])
        check(got == want, "every node's steps, each participant's in the order played",
              got)
        check(not any(x["trial_id"] == "bad" for x in rows), "no skipped key was read")
        made = [os.path.join(root, f) for root, dirs, files in os.walk(out) for f in files
                if f in ("evil.sh", "episode~9.jsonl", "episode_9.jsonl")]
        check(not made and not os.path.exists(os.path.join(out, "records", PID, "trials",
                                                            "u9")),
              "a skipped key never becomes a file", made)
        with open(os.path.join(out, "episodes.csv"), newline="") as f:
            eps = [(x["user_id"], x["trial_id"], x["episode"]) for x in csv.DictReader(f)]
        check(("u1", "t1", "2") in eps and ("u1", "t2", "2") in eps,
              "the interrupted episode and its replay are two episodes", eps)

        r = hippo(args, env)
        check(r.returncode == 0 and "0 fetched" in r.stderr and "7 kept" in r.stderr,
              "a second run keeps its copies", r.stderr)
        check([(x["user_id"], x["trial_id"], x["episode"], x["step"]) for x in steps(out)] ==
              want, "and exports the same rows")

        # u2 withdrawn: their objects deleted from S3 (the node that had them
        # deletes them); the copies of the earlier run go too, and so do their rows
        check(request(s3, "DELETE", T + "u2/b/episode_1.jsonl") == 204, "u2's object deleted")
        notes = os.path.join(out, "records", PID, "trials", "u1", "notes.txt")
        with open(notes, "w") as f:
            f.write("the researcher's own file\n")
        r = hippo(args, env)
        check(r.returncode == 0 and "0 fetched" in r.stderr and "6 kept" in r.stderr and
              "1 removed" in r.stderr, "a third run removes the copy whose object is gone",
              r.stderr)
        check(not os.path.exists(os.path.join(out, "records", PID, "trials", "u2")),
              "u2's copies and their folders are gone")
        check(os.path.exists(notes), "a file the export did not write is left alone")
        check([(x["user_id"], x["trial_id"], x["episode"], x["step"]) for x in steps(out)] ==
              [w for w in want if w[0] != "u2"], "and u2's steps are no longer exported")

        # a study deployed through the admin API, exported by its id alone: the S3
        # settings of its latest version in the store (no folder, no DATA/projects)
        node = os.path.join(tmp, "node")
        srv = Serve(d, data=node, env=env, args=("--store", "sqlite:" + node + "/hippo.db"))
        with open(os.path.join(d, "config.yml")) as f:
            config = f.read()
        files = {}
        for name in os.listdir(os.path.join(d, "StepFiles")):
            with open(os.path.join(d, "StepFiles", name)) as f:
                files[name] = f.read()
        st, _, _ = srv.request("POST", "/api/projects/%s/deploy" % PID,
                            {"config": config, "files": files},
                            headers={"Authorization": "Bearer " + TOKEN})
        check(st == 200, "the study is deployed through the admin API")
        srv.stop()
        out2 = os.path.join(tmp, "out2")
        by_id = ["export", PID, "--from-s3", "--data", os.path.join(tmp, "elsewhere"),
                 "--store", "sqlite:" + node + "/hippo.db", "--out", out2, "--no-progress"]
        r = hippo(by_id, env)
        check(r.returncode == 0 and "6 fetched" in r.stderr,
              "export --from-s3 of the project id finds the S3 settings in the store", r.stderr)
        check([(x["user_id"], x["trial_id"], x["episode"], x["step"]) for x in steps(out2)] ==
              [w for w in want if w[0] != "u2"], "and exports every node's records")
        r = hippo(["export", PID, "--from-s3", "--data", os.path.join(tmp, "elsewhere"),
                   "--out", out2, "--no-progress"], env)
        check(r.returncode == 1 and "no version of %s deployed in the store" % PID in r.stderr,
              "without the store: a clear error naming where it looked", r.stderr)

        bare = dict(env)
        for k in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
            bare.pop(k)
        r = hippo(args, bare)
        check(r.returncode == 1 and "no S3 credentials" in r.stderr,
              "no credentials: a clear error", r.stderr)

        with open(os.path.join(d, "config.yml")) as f:
            text = f.read()
        with open(os.path.join(d, "config.yml"), "w") as f:
            f.write(text.replace("bucket: bucket", "bucket: nobucket"))
        r = hippo(args, env)
        check(r.returncode == 1 and "NoSuchBucket" in r.stderr and "nobucket" in r.stderr,
              "a missing bucket: a clear error", r.stderr)
    finally:
        s3.stop()
    shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main(run, timeout=120)
