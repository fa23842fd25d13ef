#!/usr/bin/python3
"""bench/serve_s3.py [HIPPO_BIN] [N]: what S3 storage costs the /next path.

Serves two copies of examples/cartpole from one `hippo serve`, one local and
one storing to a real s3rver on 127.0.0.1, and times N participants x
(GET step 1 + POST consent) on each over HTTP (one connection per request,
serial). With S3 every created participant and every answer submits the
participant record (read from the store, queued); the upload itself runs on
the spool's thread. Prints latency percentiles for both, then how long the
spool took to upload and verify the records."""
import json
import os
import shutil
import statistics
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "integration"))
if len(sys.argv) > 1:
    os.environ["HIPPO_BIN"] = os.path.abspath(sys.argv[1])
N = int(sys.argv[2]) if len(sys.argv) > 2 else 500

from s3helpers import S3Server, hippo_env, status  # noqa: E402
from serveutil import EXAMPLE, Serve  # noqa: E402


def study(root, pid, extra):
    d = os.path.join(root, pid)
    shutil.copytree(EXAMPLE, d)
    p = os.path.join(d, "config.yml")
    with open(p) as f:
        t = f.read().replace("id: cartpole-demo", "id: " + pid)
    with open(p, "w") as f:
        f.write(t.replace("  useAWS: false\n", "  useAWS: false\n" + extra))
    return d


def run(srv, pid):
    lat = []
    for i in range(N):
        u = "b%06d" % i
        t0 = time.perf_counter()
        srv.next(pid, u)
        srv.next(pid, u, {"consent": "yes"})
        lat.append((time.perf_counter() - t0) * 1e3 / 2)
    lat.sort()
    return statistics.median(lat), lat[int(len(lat) * 0.99) - 1]


def pending_zero(srv):
    """/metrics counts submissions not yet recorded in the spool as pending too."""
    st, body, _ = srv.request("GET", "/metrics", raw=True)
    return 'hippo_uploads{state="pending"} 0\n' in body.decode()


def main():
    tmp = tempfile.mkdtemp(prefix="hippo-bench-s3-")
    s3 = S3Server(os.path.join(tmp, "s3"))
    os.environ.update(hippo_env(tmp))
    extra = ("  storage:\n    s3:\n      bucket: bucket\n      endpoint: %s\n" % s3.endpoint)
    local = study(tmp, "bench-local", "")
    remote = study(tmp, "bench-s3", extra)
    srv = Serve(local, remote)
    try:
        for pid in ("bench-local", "bench-s3", "bench-local", "bench-s3"):
            med, p99 = run(srv, pid)
            print("%-12s %d participants: GET+POST /next per request median %.2f ms, p99 %.2f ms"
                  % (pid, N, med, p99), flush=True)
            if pid == "bench-s3":
                t0 = time.perf_counter()
                # /metrics' upload counts are refreshed once a second: two
                # readings of zero pending, a refresh apart
                zeros = 0
                while zeros < 2:
                    time.sleep(1.05 if zeros else 0.05)
                    zeros = zeros + 1 if pending_zero(srv) else 0
                print("  spool drained within %.1f s after the last request (1 s resolution)" %
                      (time.perf_counter() - t0), flush=True)
        doc = status(srv.data, os.environ)
        print("uploads verified: %d, pending: %d, failed: %d" % (doc["done"], doc["pending"],
                                                                doc["failed"]))
    finally:
        srv.stop()
        srv.cleanup()
        s3.stop()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
