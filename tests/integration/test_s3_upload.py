"""Uploads through the persistent spool to a real S3-compatible server
(s3rver on 127.0.0.1): verified uploads, a server that is down for the first
tries, a restart (and a killed uploader) with pending uploads, and corrupted
responses that must never be marked done."""
import json
import os
import signal
import subprocess
import tempfile

from s3helpers import FaultProxy, S3Server, hippo, hippo_env, md5_file, status
from serveutil import BIN, check, free_port, main, wait_for

FAST = ["--retry-base-ms", "100", "--retry-max-ms", "400"]


def make_data(root):
    data = os.path.join(root, "data")
    os.makedirs(os.path.join(data, "P", "trials", "u1"))
    os.makedirs(os.path.join(data, "P", "users"))
    ep = os.path.join(data, "P", "trials", "u1", "episode_1_user_u1.jsonl")
    with open(ep, "w") as f:
        for i in range(3000):
            f.write(json.dumps({"step": i, "observation": [i * 0.5, -i, 3.25, 1e-3],
                                "reward": 1.0, "done": False}) + "\n")
    user = os.path.join(data, "P", "users", "u1.json")
    with open(user, "w") as f:
        json.dump({"userId": "u1", "answers": {"age": "30"}}, f)
    return data, ep, user


def add(data, env, endpoint, rel, key, prefix=None):
    args = ["storage", "add", "--data", data, "--bucket", "bucket", "--endpoint", endpoint,
            "--region", "us-east-1", rel, key]
    if prefix:
        args[2:2] = ["--prefix", prefix]
    hippo(args, env, check=0)


def job(doc, key):
    return next(j for j in doc["jobs"] if j["key"] == key)


def test_upload_and_verify(tmp):
    print("== uploads are verified, local files kept, keys follow the original layout")
    s3 = S3Server(os.path.join(tmp, "s3"))
    try:
        env = hippo_env(tmp)
        data, ep, user = make_data(tmp)
        md5_before = md5_file(ep)
        add(data, env, s3.endpoint, "P/trials/u1/episode_1_user_u1.jsonl",
            "P/Trials/u1/episode_1_user_u1.jsonl")
        add(data, env, s3.endpoint, user, "P/Users/u1.json", prefix="study-a")
        doc = status(data, env)
        check(doc["pending"] == 2 and doc["done"] == 0,
              "two jobs pending before push: %s" % doc["pending"])
        p = hippo(["storage", "push", "--data", data, "--wait", "120"] + FAST, env)
        print(p.stderr.strip().splitlines()[-1])
        check(p.returncode == 0, "push exits 0", p.stderr)
        doc = status(data, env)
        check(doc["done"] == 2 and doc["pending"] == 0 and doc["failed"] == 0,
              "both uploads done", doc)
        j = job(doc, "P/Trials/u1/episode_1_user_u1.jsonl")
        check(j["md5"] == md5_before and j["etag"] == md5_before,
              "spool records md5 and matching ETag: %s %s" % (j["md5"], j["etag"]))
        code, body = s3.get("bucket", "P/Trials/u1/episode_1_user_u1.jsonl")
        check(code == 200 and body == open(ep, "rb").read(),
              "object on the server equals the local file: %s %d" % (code, len(body)))
        code, body = s3.get("bucket", "study-a/P/Users/u1.json")
        check(code == 200 and body == open(user, "rb").read(),
              "prefix applied to the participant record: %s" % code)
        check(os.path.exists(ep) and md5_file(ep) == md5_before,
              "local files are kept and unchanged")
        add(data, env, s3.endpoint, "P/trials/u1/episode_1_user_u1.jsonl",
            "P/Trials/u1/episode_1_user_u1.jsonl")
        j2 = job(status(data, env), "P/Trials/u1/episode_1_user_u1.jsonl")
        check(j2["state"] == "done" and j2["attempts"] == j["attempts"],
              "submitting an unchanged verified file again uploads nothing: %s" % j2["state"])
        with open(ep, "a") as f:
            f.write('{"step": -1}\n')
        add(data, env, s3.endpoint, "P/trials/u1/episode_1_user_u1.jsonl",
            "P/Trials/u1/episode_1_user_u1.jsonl")
        j3 = job(status(data, env), "P/Trials/u1/episode_1_user_u1.jsonl")
        check(j3["state"] == "pending", "a changed file is queued again: %s" % j3["state"])
        hippo(["storage", "push", "--data", data, "--wait", "60"] + FAST, env, check=0)
        check(s3.get("bucket", "P/Trials/u1/episode_1_user_u1.jsonl")[1] == open(ep, "rb").read(),
              "the changed file is uploaded")
        md5_before = md5_file(ep)
        # text status lists nothing pending
        p = hippo(["storage", "status", "--data", data], env, check=0)
        check("0 pending, 0 failed, 2 verified" in p.stdout, "status: %s" % p.stdout.strip())
    finally:
        s3.stop()


def test_server_down_first_tries(tmp):
    print("== a server that is down for the first tries: retried with backoff, then done")
    env = hippo_env(tmp)
    data, ep, _ = make_data(tmp)
    port = free_port()
    endpoint = "http://127.0.0.1:%d" % port
    key = "P/Trials/u1/episode_1_user_u1.jsonl"
    add(data, env, endpoint, "P/trials/u1/episode_1_user_u1.jsonl", key)
    push = subprocess.Popen([BIN, "storage", "push", "--data", data, "--wait", "240"] + FAST,
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    s3 = None
    try:
        doc = wait_for(lambda: (lambda d: d if job(d, key)["attempts"] >= 3 else None)(
            status(data, env)), "3 failed attempts", 120, 0.1)
        j = job(doc, key)
        check(j["state"] == "pending" and j["last_error"],
              "still pending after %d attempts, last error: %s" % (j["attempts"], j["last_error"]))
        p = hippo(["storage", "status", "--data", data], env, check=0)
        check("pending" in p.stdout and key in p.stdout and "last error" in p.stdout,
              "status lists the pending upload with its error")
        s3 = S3Server(os.path.join(tmp, "s3"), port=port)
        out, err = push.communicate(timeout=240)
        print(err.strip().splitlines()[-1])
        check(push.returncode == 0, "push exits 0 once the server is up", err)
        j = job(status(data, env), key)
        check(j["state"] == "done" and j["attempts"] >= 4, "done after %d attempts" % j["attempts"])
        code, body = s3.get("bucket", key)
        check(code == 200 and body == open(ep, "rb").read(), "the object equals the local file")
    finally:
        if push.poll() is None:
            push.kill()
            push.wait()
        if s3:
            s3.stop()


def test_restart_with_pending(tmp):
    print("== pending uploads survive a restart and a killed uploader")
    env = hippo_env(tmp)
    data, ep, user = make_data(tmp)
    port = free_port()
    endpoint = "http://127.0.0.1:%d" % port
    add(data, env, endpoint, "P/trials/u1/episode_1_user_u1.jsonl",
        "P/Trials/u1/episode_1_user_u1.jsonl")
    p = hippo(["storage", "push", "--data", data, "--wait", "2"] + FAST, env)
    check(p.returncode == 1, "push with the server down exits 1: %s" % p.returncode)
    add(data, env, endpoint, user, "P/Users/u1.json")
    # an uploader killed with SIGKILL while it holds a job
    push = subprocess.Popen([BIN, "storage", "push", "--data", data, "--wait", "60"] + FAST,
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    wait_for(lambda: job(status(data, env), "P/Users/u1.json")["attempts"] >= 1,
             "an attempt by the second uploader", 60, 0.1)
    os.kill(push.pid, signal.SIGKILL)
    push.wait()
    doc = status(data, env)
    check(doc["pending"] == 2 and doc["done"] == 0,
          "after SIGKILL both uploads are pending: %s" % doc["pending"])
    s3 = S3Server(os.path.join(tmp, "s3"), port=port)
    try:
        p = hippo(["storage", "push", "--data", data, "--wait", "120"] + FAST, env)
        print(p.stderr.strip().splitlines()[-1])
        check(p.returncode == 0, "a new push exits 0", p.stderr)
        doc = status(data, env)
        check(doc["done"] == 2, "a new process finished both: %s" % doc["done"])
        check(s3.get("bucket", "P/Users/u1.json")[1] == open(user, "rb").read(),
              "the participant record is uploaded")
    finally:
        s3.stop()


def test_corrupted_responses(tmp):
    print("== corrupted responses are never marked done; retry after the fault is gone")
    s3 = S3Server(os.path.join(tmp, "s3"))
    proxy = FaultProxy(s3.port)
    try:
        env = hippo_env(tmp)
        data, ep, _ = make_data(tmp)
        key = "P/Trials/u1/episode_1_user_u1.jsonl"
        add(data, env, proxy.endpoint, "P/trials/u1/episode_1_user_u1.jsonl", key)
        for mode, expect in (("etag", "ETag"), ("headetag", "HEAD"), ("flip", "ETag"),
                             ("garbage", "PUT"),
                             ("down", "PUT")):
            proxy.mode = mode
            hippo(["storage", "retry", "--data", data], env, check=0)
            p = hippo(["storage", "push", "--data", data, "--wait", "60", "--max-attempts", "2",
                       "--timeout", "20"] + FAST, env)
            j = job(status(data, env), key)
            check(p.returncode == 1 and j["state"] == "failed" and expect in j["last_error"],
                  "mode %-8s -> exit %d, state %s, error: %s" % (
                      mode, p.returncode, j["state"], j["last_error"]))
        p = hippo(["storage", "status", "--data", data], env, check=0)
        check("failed" in p.stdout and "1 failed" in p.stdout, "status lists the failed upload")
        proxy.mode = "pass"
        p = hippo(["storage", "retry", "--data", data], env, check=0)
        print(p.stdout.strip())
        p = hippo(["storage", "push", "--data", data, "--wait", "60"] + FAST, env)
        j = job(status(data, env), key)
        check(p.returncode == 0 and j["state"] == "done",
              "with the fault gone: exit %d, state %s" % (p.returncode, j["state"]))
        check(s3.get("bucket", key)[1] == open(ep, "rb").read(), "the object equals the local file")
    finally:
        proxy.stop()
        s3.stop()


def write_project(tmp, endpoint, bucket="bucket", prefix=""):
    proj = os.path.join(tmp, "proj")
    os.makedirs(os.path.join(proj, "StepFiles"), exist_ok=True)
    with open(os.path.join(proj, "StepFiles", "thanks.html"), "w") as f:
        f.write("<p>thanks</p>")
    with open(os.path.join(proj, "config.yml"), "w") as f:
        f.write("project:\n  id: P\n  steps:\n    1: game\n    finalStep: thanks.html\n"
                "  storage:\n    s3:\n      bucket: %s\n%s      endpoint: %s\n"
                "trial:\n  game: CartPole-v1\n" % (
                    bucket, "      prefix: %s\n" % prefix if prefix else "", endpoint))
    return proj


def test_sync_project(tmp):
    print("== storage sync queues a project's files that are not uploaded yet")
    s3 = S3Server(os.path.join(tmp, "s3"))
    try:
        env = hippo_env(tmp)
        data, ep, user = make_data(tmp)
        proj = write_project(tmp, s3.endpoint)
        p = hippo(["storage", "sync", "--data", data, "--project", proj], env, check=0)
        check(p.stdout.startswith("2 file(s)"), "sync queues both files: %s" % p.stdout.strip())
        hippo(["storage", "push", "--data", data, "--wait", "60"] + FAST, env, check=0)
        check(status(data, env)["done"] == 2, "both uploaded")
        check(s3.get("bucket", "P/Users/u1.json")[1] == open(user, "rb").read(),
              "the participant record is uploaded")
        p = hippo(["storage", "sync", "--data", data, "--project", proj], env, check=0)
        check(p.stdout.startswith("0 file(s)"), "nothing new after the push: %s" % p.stdout.strip())
        with open(ep, "a") as f:
            f.write('{"step": 9999}\n')
        p = hippo(["storage", "sync", "--data", data, "--project", proj], env, check=0)
        check(p.stdout.startswith("1 file(s)"),
              "a file that grew is queued again: %s" % p.stdout.strip())
        hippo(["storage", "push", "--data", data, "--wait", "60"] + FAST, env, check=0)
        check(s3.get("bucket", "P/Trials/u1/episode_1_user_u1.jsonl")[1] == open(ep, "rb").read(),
              "the grown file is uploaded")
    finally:
        s3.stop()


def test_bad_arguments(tmp):
    print("== bad keys and missing options get clear errors")
    env = hippo_env(tmp)
    data, _, _ = make_data(tmp)
    p = hippo(["storage", "add", "--data", data, "--bucket", "bucket", "x", "../etc/passwd"], env)
    check(p.returncode == 2 and "invalid" in p.stderr,
          "unsafe key rejected: %s %s" % (p.returncode, p.stderr.strip()))
    p = hippo(["storage", "add", "--data", data, "x", "k"], env)
    check(p.returncode == 2 and "--bucket" in p.stderr, "a missing --bucket is a usage error")
    proj = write_project(tmp, "http://127.0.0.1:9", bucket="cfgbucket", prefix="pre/")
    p = hippo(["storage", "add", "--data", data, "--project", proj, "P/users/u1.json",
               "P/Users/u1.json"], env)
    check(p.returncode == 0, "add --project exits 0: %s %s" % (p.returncode, p.stderr.strip()))
    j = job(status(data, env), "pre/P/Users/u1.json")
    check(j["bucket"] == "cfgbucket" and j["endpoint"] == "http://127.0.0.1:9",
          "--project takes bucket, prefix and endpoint from config.yml")
    p = hippo(["storage", "frobnicate", "--data", data], env)
    check(p.returncode == 2 and "unknown action" in p.stderr, "an unknown action is a usage error")
    p = hippo(["storage", "status", "--data", os.path.join(tmp, "nothing-here")], env, check=0)
    check("no upload spool" in p.stdout and not os.path.exists(os.path.join(tmp, "nothing-here")),
          "status of a data folder without a spool: %s" % p.stdout.strip())


def test():
    for t in [test_upload_and_verify, test_server_down_first_tries, test_restart_with_pending,
              test_corrupted_responses, test_sync_project, test_bad_arguments]:
        with tempfile.TemporaryDirectory(prefix="hippo-s3-") as tmp:
            t(tmp)


if __name__ == "__main__":
    main(test)
