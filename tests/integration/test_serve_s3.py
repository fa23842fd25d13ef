"""`hippo serve` and `hippo trial` upload study data through the spool to a
real S3-compatible server (s3rver on 127.0.0.1): each episode file as soon as
its episode ends (before the session is over), the session's other files when
it ends, and the participant record PROJECT/Users/USER.json whenever it
changes; keys follow the original layout, objects equal the local files, and
nothing stays pending. Both config styles: project.storage: {s3: ...} and the
original trial.s3upload: true + awsSetup.bucket (endpoint from
AWS_ENDPOINT_URL_S3)."""
import asyncio
import glob
import json
import os
import re
import shutil
import tempfile
import time
import urllib.request
import uuid

import websockets

from s3helpers import S3Server, hippo_env, status
from serveutil import EXAMPLE, Serve, Trial, check, main, play_until_done, wait_for

BUCKET = "bucket"


def make_study(root, pid, project_extra, trial_edits):
    """A copy of examples/cartpole with project.id PID, PROJECT_EXTRA (YAML
    lines under project:) and TRIAL_EDITS ({key: value} replacing trial keys)."""
    d = os.path.join(root, pid)
    shutil.copytree(EXAMPLE, d)
    path = os.path.join(d, "config.yml")
    with open(path) as f:
        text = f.read()
    text = text.replace("id: cartpole-demo", "id: " + pid)
    text = text.replace("  useAWS: false\n", "  useAWS: false\n" + project_extra)
    for k, v in trial_edits.items():
        text, n = re.subn(r"(?m)^  %s: .*$" % k, "  %s: %s" % (k, v), text)
        assert n == 1, k
    with open(path, "w") as f:
        f.write(text)
    return d


def bucket_get(s3, key):
    st, body = s3.get(BUCKET, key)
    return body if st == 200 else None


def local_files(data, pid, user):
    return sorted(glob.glob(os.path.join(data, pid, "trials", user, "*.jsonl")))


async def play_until_uploaded(url, pid, user, s3, timeout=240):
    """Plays (holding the default action, so episodes end quickly) until
    episode 1 is in the bucket while the session still runs, then sends stop.
    Returns (frames, whether episode 1 was seen before done)."""
    key = "%s/Trials/%s/episode_1.jsonl" % (pid, user)
    loop = asyncio.get_running_loop()
    frames, seen = 0, False
    probe = None
    async with websockets.connect(url, max_size=16 << 20, open_timeout=30) as ws:
        await ws.send(json.dumps({"userId": user, "projectId": pid}))
        await ws.send(json.dumps({"command": "start", "browser": "test"}))
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if probe is None and not seen:
                probe = loop.run_in_executor(None, bucket_get, s3, key)
            if probe is not None and probe.done():
                seen = probe.result() is not None
                probe = None
                if seen:
                    await ws.send(json.dumps({"command": "stop"}))
            m = await asyncio.wait_for(ws.recv(), 30)
            if m == "done":
                return frames, seen
            if isinstance(m, bytes) or '"frame"' in m:
                frames += 1
    raise AssertionError("no done within %d s" % timeout)


def assert_uploaded(s3, data, pid, user, what):
    files = local_files(data, pid, user)
    check(len(files) >= 1, "%s: local data files kept: %s" % (
        what, [os.path.basename(f) for f in files]))
    for f in files:
        key = "%s/Trials/%s/%s" % (pid, user, os.path.basename(f))
        with open(f, "rb") as fh:
            local = fh.read()
        body = wait_for(lambda: (lambda b: b if b == local else None)(bucket_get(s3, key)),
                        "%s equal to the local file" % key, timeout=120, every=0.2)
        check(body == local, "%s: %s in the bucket, identical (%d bytes)" % (what, key, len(body)))


def participant_record(s3, data, pid, user, what, pred):
    key = "%s/Users/%s.json" % (pid, user)
    rec = wait_for(lambda: (lambda b: json.loads(b) if b and pred(json.loads(b)) else None)(
        bucket_get(s3, key)), "the participant record " + key, timeout=120, every=0.2)
    local = os.path.join(data, pid, "users", user + ".json")
    with open(local, "rb") as fh:
        check(json.loads(fh.read()) == rec, "%s: %s equals the local copy %s" % (
            what, key, os.path.relpath(local, data)))
    return rec


def wait_spool_idle(data, env, what):
    doc = wait_for(lambda: (lambda d: d if d["pending"] == 0 else None)(status(data, env)),
                   "the spool to drain", timeout=120, every=0.3)
    check(doc["pending"] == 0 and doc["failed"] == 0 and doc["done"] > 0,
          "%s: hippo storage status: nothing pending or failed, %d verified" % (what, doc["done"]))
    return doc


def deploy_body(study):
    with open(os.path.join(study, "config.yml")) as f:
        config = f.read()
    files = {}
    for n in os.listdir(os.path.join(study, "StepFiles")):
        with open(os.path.join(study, "StepFiles", n)) as f:
            files[n] = f.read()
    return {"config": config, "files": files}


def upload_gauge(text, state):
    m = re.search(r'hippo_uploads\{state="%s"\} (\d+)' % state, text)
    return int(m.group(1)) if m else None


def metrics(srv):
    st, body, _ = srv.request("GET", "/metrics", raw=True)
    return body.decode()


def serve_new_style(tmp, s3, env):
    print("== hippo serve, project.storage: {s3: ...}, one file per episode")
    pid = "s3-new"
    extra = ("  storage:\n    s3:\n      bucket: %s\n      endpoint: %s\n"
             "      region: us-east-1\n" % (BUCKET, s3.endpoint))
    study = make_study(tmp, pid, extra, {"maxEpisodes": "1000"})
    srv = Serve(study)
    try:
        user = "u-" + uuid.uuid4().hex[:12]
        st, j = srv.next(pid, user)
        check(st == 200 and j["step"] == 1, "step 1 shown")
        rec = participant_record(s3, srv.data, pid, user, "new participant",
                                 lambda r: r["step"] == 1)
        check(rec["userId"] == user and rec["projectId"] == pid and rec["status"] == "active",
              "the record of a new participant is uploaded (step 1, active)")
        srv.next(pid, user, {"consent": "yes"})
        st, j = srv.next(pid, user, {})
        check(j["page"] == "show_game_page", "the game step")
        frames, seen = asyncio.run(play_until_uploaded(j["server"], pid, user, s3))
        check(seen, "episode_1.jsonl reached the bucket while the session was running "
              "(%d frames played)" % frames)
        j = wait_for(lambda: (lambda r: r[1] if r[1].get("step") == 4 else None)(
            srv.next(pid, user)), "the survey after the game")
        st, j = srv.next(pid, user, {"enjoy": "5", "comment": "fine"})
        check(j["step"] == 5, "survey answered: the final step")
        rec = participant_record(s3, srv.data, pid, user, "completed",
                                 lambda r: r["status"] == "completed")
        ans = {(a["step"], a["field"]): a["value"] for a in rec["answers"]}
        check(rec["step"] == 5 and ans.get((1, "consent")) == "yes" and
              ans.get((4, "enjoy")) == "5", "the uploaded record has the answers and step 5")
        check(len(rec["sessions"]) == 1 and rec["sessions"][0]["reason"] == "stop",
              "and the session (ended by stop): %s" % rec["sessions"])
        assert_uploaded(s3, srv.data, pid, user, "per-episode files")
        meta = os.path.join(srv.data, pid, "trials", user, "trials.jsonl")
        check(os.path.exists(meta), "the trial metadata file trials.jsonl is uploaded too")
        doc = wait_spool_idle(srv.data, env, "serve")
        m = wait_for(lambda: (lambda t: t if upload_gauge(t, "pending") == 0 and
                              upload_gauge(t, "done") == doc["done"] else None)(metrics(srv)),
                     "/metrics to show the verified uploads (refreshed once a second)")
        check(upload_gauge(m, "failed") == 0 and "hippo_upload_attempts_total" in m,
              "/metrics: hippo_uploads pending 0, failed 0, done %d" % doc["done"])
        code, err = srv.stop()
        check(code == 0, "serve stopped cleanly")
        doc = status(srv.data, env)
        check(doc["pending"] == 0 and doc["failed"] == 0,
              "after the stop nothing is pending: %s" % {k: doc[k] for k in ("pending", "failed",
                                                                              "done")})
        keys = sorted(j["key"] for j in doc["jobs"])
        check(all(k.startswith(pid + "/Trials/" + user + "/") or
                  k == "%s/Users/%s.json" % (pid, user) for k in keys),
              "every key in the original layout (%d keys)" % len(keys))
    finally:
        srv.stop()
        srv.cleanup()


def serve_original_style(tmp, s3, env):
    print("== hippo serve, deployed: trial.s3upload: true + awsSetup.bucket, one file per trial")
    pid = "s3-orig"
    extra = "  awsSetup:\n    bucket: %s\n    region: us-east-1\n" % BUCKET
    study = make_study(tmp, pid, extra, {"maxEpisodes": "2", "dataFile": "trial",
                                         "s3upload": "true"})
    srv = Serve()
    try:
        # Deployed through the admin API: the destination is registered too.
        st, j, _ = srv.admin("POST", "/projects/%s/deploy" % pid, deploy_body(study))
        check(st == 200, "the study is deployed to a running server")
        bad = make_study(tmp, "s3-bad", "  storage:\n    s3:\n      bucket: %s\n"
                         "      prefix: \"no spaces allowed\"\n" % BUCKET, {})
        st, j, _ = srv.admin("POST", "/projects/s3-bad/deploy", deploy_body(bad))
        check(st == 400 and "prefix" in j.get("error", ""),
              "a study with an unusable S3 prefix is refused: %s" % j.get("error"))
        user = "o-" + uuid.uuid4().hex[:12]
        srv.next(pid, user)
        srv.next(pid, user, {"consent": "no"})
        st, j = srv.next(pid, user, {})
        frames = asyncio.run(play_until_done(j["server"], pid, user))
        check(frames > 0, "played two episodes until done (%d frames)" % frames)
        wait_for(lambda: srv.next(pid, user)[1].get("step") == 4, "the survey")
        srv.next(pid, user, {"enjoy": "1"})
        names = [os.path.basename(f) for f in local_files(srv.data, pid, user)]
        check(names == ["trial.jsonl", "trials.jsonl"], "one trial file: %s" % names)
        assert_uploaded(s3, srv.data, pid, user, "per-trial file")
        rec = participant_record(s3, srv.data, pid, user, "original style",
                                 lambda r: r["status"] == "completed")
        check(rec["sessions"][0]["reason"] == "done", "the record shows the session done")
        wait_spool_idle(srv.data, env, "serve (original config)")
    finally:
        srv.stop()
        srv.cleanup()


def trial_original_style(tmp, s3, env):
    print("== hippo trial, trial.s3upload: true + awsSetup.bucket")
    pid = "s3-trial"
    extra = "  awsSetup:\n    bucket: %s\n    region: us-east-1\n" % BUCKET
    study = make_study(tmp, pid, extra, {"maxEpisodes": "3", "s3upload": "true"})
    data = os.path.join(tmp, "trial-data")
    srv = Trial(None, project_dir=study, data=data)
    try:
        url = srv.url
        user = "t-" + uuid.uuid4().hex[:12]
        frames = asyncio.run(play_until_done(url + "/", pid, user))
        check(frames > 0, "played three episodes until done (%d frames)" % frames)
        names = [os.path.basename(f) for f in local_files(data, pid, user)]
        check(names == ["episode_1.jsonl", "episode_2.jsonl", "episode_3.jsonl",
                        "trials.jsonl"], "episode files written: %s" % names)
        assert_uploaded(s3, data, pid, user, "hippo trial")
        wait_spool_idle(data, env, "hippo trial")
    finally:
        rc, err = srv.stop()
    check(rc == 0, "hippo trial stopped cleanly")
    check("data files upload to S3" in err, "hippo trial logs the upload destination")


def test():
    tmp = tempfile.mkdtemp(prefix="hippo-serve-s3-")
    s3 = S3Server(os.path.join(tmp, "s3"), bucket=BUCKET)
    env = hippo_env(tmp)
    env["AWS_ENDPOINT_URL_S3"] = s3.endpoint
    saved = dict(os.environ)
    os.environ.clear()
    os.environ.update(env)
    try:
        serve_new_style(tmp, s3, env)
        serve_original_style(tmp, s3, env)
        trial_original_style(tmp, s3, env)
    finally:
        os.environ.clear()
        os.environ.update(saved)
        s3.stop()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main(test)
