"""No data is lost between `hippo serve` and S3 when things go wrong:
1. a study collects data with local storage only;
2. it is switched to S3 while the S3 server is down: the restart queues the
   files collected before (and the records of those participants), a new
   participant plays, the server stops cleanly with uploads pending;
3. the S3 server is back, serve restarts: every file and participant record
   of both participants reaches the bucket, identical to the local copies,
   and nothing stays pending."""
import asyncio
import os
import shutil
import tempfile
import uuid

from s3helpers import S3Server, hippo_env, status
from serveutil import EXAMPLE, Serve, check, free_port, main, play_until_done, wait_for
from test_serve_s3 import BUCKET, assert_uploaded, local_files, participant_record

PID = "s3-restart"


def journey(srv, user):
    srv.next(PID, user)
    srv.next(PID, user, {"consent": "yes"})
    st, j = srv.next(PID, user, {})
    frames = asyncio.run(play_until_done(j["server"], PID, user))
    wait_for(lambda: srv.next(PID, user)[1].get("step") == 4, "the survey")
    st, j = srv.next(PID, user, {"enjoy": "3"})
    check(j["step"] == 5, "%s completed the study (%d frames)" % (user, frames))


def write_config(study, endpoint):
    path = os.path.join(study, "config.yml")
    with open(os.path.join(EXAMPLE, "config.yml")) as f:
        text = f.read().replace("id: cartpole-demo", "id: " + PID)
    if endpoint:
        text = text.replace("  useAWS: false\n", "  useAWS: false\n  storage:\n    s3:\n"
                            "      bucket: %s\n      endpoint: %s\n" % (BUCKET, endpoint))
    with open(path, "w") as f:
        f.write(text)


def stopped_cleanly(srv, what):
    code, err = srv.stop()
    check(code == 0 and "runtime error" not in err and "Sanitizer" not in err,
          "%s: serve exits cleanly (status %s)%s" % (what, code, "" if code == 0 else "\n" + err[-3000:]))


def test():
    tmp = tempfile.mkdtemp(prefix="hippo-s3-restart-")
    env = hippo_env(tmp)
    saved = dict(os.environ)
    os.environ.clear()
    os.environ.update(env)
    study = os.path.join(tmp, PID)
    shutil.copytree(EXAMPLE, study)
    data = os.path.join(tmp, "data")
    port = free_port()
    endpoint = "http://127.0.0.1:%d" % port
    s3 = None
    srv = None
    try:
        print("== 1: local storage only")
        write_config(study, None)
        srv = Serve(study, data=data)
        a = "a-" + uuid.uuid4().hex[:10]
        journey(srv, a)
        stopped_cleanly(srv, "local storage")
        check(not os.path.exists(os.path.join(data, PID, "users")),
              "local only: no participant record files, the store is the record")

        print("== 2: switched to S3, the S3 server is down")
        write_config(study, endpoint)
        srv = Serve(study, data=data)
        b = "b-" + uuid.uuid4().hex[:10]
        journey(srv, b)
        stopped_cleanly(srv, "uploads pending")
        doc = status(data, env)
        keys = {j["key"] for j in doc["jobs"] if j["state"] == "pending"}
        want = {"%s/Users/%s.json" % (PID, u) for u in (a, b)}
        for u in (a, b):
            want |= {"%s/Trials/%s/%s" % (PID, u, os.path.basename(f))
                     for f in local_files(data, PID, u)}
        check(keys == want and doc["failed"] == 0 and doc["done"] == 0,
              "the spool holds every file of both participants as pending (%d jobs)" % len(keys))
        tried = [j for j in doc["jobs"] if j["attempts"] > 0]
        check(tried and all(j["last_error"] for j in tried),
              "uploads were tried and failed, each keeps its error: %s" % (
                  tried[0]["last_error"] if tried else None))

        print("== 3: the S3 server is back, serve restarts")
        s3 = S3Server(os.path.join(tmp, "s3"), port=port, bucket=BUCKET)
        srv = Serve(study, data=data)
        for u in (a, b):
            assert_uploaded(s3, data, PID, u, u)
            rec = participant_record(s3, data, PID, u, u, lambda r: r["status"] == "completed")
            check(rec["userId"] == u and rec["step"] == 5, "%s: the record is complete" % u)
        stopped_cleanly(srv, "after the uploads")
        doc = status(data, env)
        check(doc["pending"] == 0 and doc["failed"] == 0 and doc["done"] == len(want),
              "nothing pending after the restart, %d uploads verified" % doc["done"])
        srv.cleanup()
    finally:
        if srv:
            srv.stop()
        os.environ.clear()
        os.environ.update(saved)
        if s3:
            s3.stop()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main(test)
