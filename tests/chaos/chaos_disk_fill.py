"""Filling the disk through the participant store.

Sends: during CHAOS_SECONDS, three attackers GET /next for their own
participants as fast as they can with about 6 KB of request headers (the six
headers the server keeps, each near its 1 KB limit, one of them different in
every request), and a fourth walks a participant of a second study to its
final page and POSTs that page again and again with a 64 KB answer, between
GETs.
Must hold: the honest participant keeps its frame rate; what the store keeps
of the attack is bounded by its per-participant caps, whatever the attack's
length: hippo.db after the server stops grows by less than STORE_BOUND (some
6 KB per GET and 64 KB per final POST before the fix: tens of MB in 3 s); the
WAL stays under its own bound meanwhile; the final page's answer is stored
once; the honest participant's record is there; the server exits 0."""
import http.client
import json
import os
import random
import sqlite3
import threading
import time

from chaosutil import (HERE, PROJECT_DIR, SECONDS, Honest, check, finish, hold_fps, main,
                       nothing_outside, serve)

FORM_DIR = os.path.join(HERE, "projects", "chaos-form")
STORE_BOUND = 2 << 20   # per-participant caps: a few header sets and request rows each
WAL_BOUND = 12 << 20    # checkpoints start at 2 MiB, writers wait at 8 MiB (docs/data.md)


def store_size(srv):
    total = 0
    for name in ("hippo.db", "hippo.db-wal"):
        try:
            total += os.path.getsize(os.path.join(srv.data, name))
        except OSError:
            pass
    return total


def header_flood(port, user, until, counts, i):
    # The headers the server hands to /next (src/net/server.c), each near its
    # 1 KB limit, about 7 KB in all (the server takes 8 KB of headers).
    pad = "".join(random.choice("abcdefghijklmnopqrstuvwxyz0123456789") for _ in range(990))
    headers = {name: pad for name in ("User-Agent", "Accept", "Accept-Language", "Referer",
                                      "Origin", "If-None-Match")}
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    n = bad = 0
    while time.monotonic() < until:
        headers["If-None-Match"] = "%d-%d-" % (n, random.getrandbits(48)) + pad[:960]
        try:
            conn.request("GET", "/next?projectId=chaos-honest&userId=%s" % user, headers=headers)
            r = conn.getresponse()
            r.read()
            bad += r.status != 200
        except (OSError, http.client.HTTPException):
            conn.close()
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            bad += 1
        n += 1
    conn.close()
    counts[i] = (n, bad)


def final_spam(port, user, until, counts, i):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    q = "/next?projectId=chaos-form&userId=%s" % user
    n = bad = 0
    while time.monotonic() < until:
        body = json.dumps({"comment": "%d:" % n + "x" * (64 << 10)})
        for method, data in (("POST", body), ("GET", None)):
            conn.request(method, q, body=data, headers={"Content-Type": "application/json"})
            r = conn.getresponse()
            page = json.loads(r.read())
            bad += r.status != 200 or page.get("step") != 2
            n += 1
    conn.close()
    counts[i] = (n, bad)


def test():
    srv = serve(projects=[PROJECT_DIR, FORM_DIR])
    honest = Honest(srv).begin()
    st, j = srv.next("chaos-form", "finisher", {"consent": "yes"})
    check(st == 200 and j["step"] == 2, "the final-page attacker reached the final step")
    time.sleep(1.5)  # the setup's writes checkpointed
    before = store_size(srv)
    t0 = time.monotonic()
    until = t0 + SECONDS
    counts = [None] * 4
    threads = [threading.Thread(target=header_flood, args=(srv.port, "fill-%d" % i, until,
                                                            counts, i)) for i in range(3)]
    threads.append(threading.Thread(target=final_spam, args=(srv.port, "finisher", until,
                                                             counts, 3)))
    for t in threads:
        t.start()
    peak = 0
    while any(t.is_alive() for t in threads):
        peak = max(peak, store_size(srv))
        time.sleep(0.05)
    for t in threads:
        t.join()
    t1 = time.monotonic()
    requests = sum(c[0] for c in counts)
    check(all(c[1] == 0 for c in counts), "every attack request got its page (%s)" % counts)
    honest.stop()
    hold_fps(honest, t0, t1, "the store-filling attack")
    nothing_outside(srv)
    data = srv.data
    finish(srv, cleanup=False)
    after = os.path.getsize(os.path.join(data, "hippo.db"))
    growth = after - before
    print("store: %d KiB before (hippo.db + WAL), %d KiB after %d requests (%.1f KiB per 1000 requests), "
          "peak %d KiB while serving" % (before >> 10, after >> 10, requests,
                                          growth / 1024 / max(requests / 1000, 1e-3), peak >> 10))
    check(requests > 500, "the attack sent %d requests" % requests)
    check(growth < STORE_BOUND, "hippo.db grew by %d KiB (< %d KiB) over %d requests"
          % (growth >> 10, STORE_BOUND >> 10, requests))
    check(peak < before + STORE_BOUND + WAL_BOUND, "the store stayed under %d KiB while serving "
          "(peak %d KiB)" % ((before + STORE_BOUND + WAL_BOUND) >> 10, peak >> 10))
    db = sqlite3.connect("file:%s?mode=ro" % os.path.join(data, "hippo.db"), uri=True)
    final, = db.execute("SELECT count(*) FROM answers a JOIN participants p ON p.id ="
                        " a.participant WHERE p.user_id = 'finisher' AND a.step = 2").fetchone()
    honest_rows, = db.execute("SELECT count(*) FROM participants WHERE user_id = ?",
                              (honest.user,)).fetchone()
    db.close()
    check(final == 1, "the final page's answer is stored once (%d rows)" % final)
    check(honest_rows == 1, "the honest participant's record is there")
    srv.cleanup()


main(test)
