"""A participant's record (P/Users/U.json) in S3 is written by every node that
changes the participant (docs/cluster.md): an older copy must never replace a
newer one, whatever order the uploads run in. Two data folders ("nodes") push
copies of one record to a real S3-compatible server (s3rver): each copy goes
up with its version (x-amz-meta-hippo-version: how much the record holds); a
copy older than or as new as the one in S3 is kept out (the upload is done,
"a newer copy is in S3 already"); a newer one replaces it. Other objects are
replaced as before."""
import json
import os
import shutil
import tempfile
import urllib.request

from s3helpers import S3Server, hippo, hippo_env, status
from serveutil import check, main

FAST = ["--retry-base-ms", "100", "--retry-max-ms", "400"]
KEY = "P/Users/u1.json"


def record(answers, stopped_sessions, note):
    return {"projectId": "P", "userId": "u1", "note": note,
            "answers": [{"step": i, "field": "f%d" % i, "value": "v"} for i in range(answers)],
            "passes": [], "groups": {},
            "sessions": [{"step": 2, "started": "t", "stopped": "t", "reason": "done"}
                         for _ in range(stopped_sessions)]}


def push(data, env, endpoint, rec, key=KEY):
    os.makedirs(data, exist_ok=True)
    path = os.path.join(data, "rec-%s.json" % rec["note"])
    with open(path, "w") as f:
        json.dump(rec, f)
    hippo(["storage", "add", "--data", data, "--bucket", "bucket", "--endpoint", endpoint,
           "--region", "us-east-1", path, key], env, check=0)
    p = hippo(["storage", "push", "--data", data, "--wait", "60"] + FAST, env)
    check(p.returncode == 0 and status(data, env)["pending"] == 0,
          "%s: pushed (exit %d)" % (rec["note"], p.returncode), p.stderr)
    return p


def in_s3(s3, key=KEY):
    st, body = s3.get("bucket", key)
    return json.loads(body)["note"] if st == 200 else None


def version_header(s3, key=KEY):
    req = urllib.request.Request("%s/bucket/%s" % (s3.endpoint, key), method="HEAD")
    with urllib.request.urlopen(req, timeout=10) as r:
        return r.headers.get("x-amz-meta-hippo-version")


def test():
    tmp = tempfile.mkdtemp(prefix="hippo-s3-versions-")
    s3 = S3Server(os.path.join(tmp, "s3"))
    try:
        env = hippo_env(tmp)
        a, b = os.path.join(tmp, "node-a"), os.path.join(tmp, "node-b")
        push(a, env, s3.endpoint, record(3, 1, "a-v5"))  # 3 answers + 1 session + its end
        check(in_s3(s3) == "a-v5" and version_header(s3) == "5",
              "the first copy is in S3 with its version (%s)" % version_header(s3))
        p = push(b, env, s3.endpoint, record(2, 0, "b-v2"))
        check(in_s3(s3) == "a-v5", "an older copy from another node does not replace it (%s)"
              % in_s3(s3))
        check("newer copy is in S3 already" in p.stderr,
              "the older copy's upload is done, saying why", p.stderr)
        push(b, env, s3.endpoint, record(5, 1, "b-v7"))
        check(in_s3(s3) == "b-v7" and version_header(s3) == "7",
              "a newer copy replaces it (%s, version %s)" % (in_s3(s3), version_header(s3)))
        push(a, env, s3.endpoint, record(4, 1, "a-v7"))
        check(in_s3(s3) == "b-v7", "a copy as new as the one in S3 keeps the one there (%s)"
              % in_s3(s3))
        push(a, env, s3.endpoint, record(1, 0, "plain-1"), key="P/Trials/u1/x.json")
        push(b, env, s3.endpoint, record(0, 0, "plain-2"), key="P/Trials/u1/x.json")
        check(in_s3(s3, "P/Trials/u1/x.json") == "plain-2",
              "other objects are replaced by the latest upload, as before")
    finally:
        s3.stop()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main(test)
