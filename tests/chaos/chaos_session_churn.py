"""Hello/stop churn: sessions created and ended as fast as anonymous clients can.

Sends: against `hippo trial` (any userId gets a trial), eight connections at a
time each open a websocket, send the handshake (asking for hello), wait for the
first message, send {"command": "stop"}, read "done" and close, over and over
(wschurn.py, raw sockets), cycling through 100 user ids. CHURN_CYCLES cycles
(default 4,000 in `make test`, 50,000 under `make chaos`) after a warm-up of a
fifth as many (at least 1,500), in which the allocators settle.
Must hold: the honest participant (connected before the churn) keeps its frame
rate; the server's memory (VmRSS) after the churn is within 8 MB of what it was
after the warm-up (ended sessions are freed, not kept); the first-message
latency of a new trial stays within 3x (+2 ms) of the warm-up's (no lookup
grows with the trials that ended); no cycle fails; the server exits 0.

Under the sanitizer build the server runs with a small allocator quarantine
(ASAN_OPTIONS quarantine_size_mb=8), so that freed memory is measured as free."""
import os
import statistics
import time

from chaosutil import PROJECT, PROJECT_DIR, SECONDS, Honest, check, finish, hold_fps, main
from serveutil import Trial
from wschurn import churn, rss_kb

CYCLES = int(os.environ.get("CHURN_CYCLES", "50000" if SECONDS >= 30 else "4000"))
WARM = max(1500, CYCLES // 5)


def latency(port, n=300):
    """Median first-message latency (ms) of N cycles, one at a time, once the
    server has had two seconds to finish what the churn left (fsyncs)."""
    time.sleep(2)
    r = churn(port, n, threads=1, users=100, prefix="probe")
    check(not r["errors"], "probe cycles succeed (%s)" % r["errors"][:3])
    return statistics.median(r["latency_ms"])


def test():
    asan = os.environ.get("ASAN_OPTIONS", "")
    os.environ["ASAN_OPTIONS"] = (asan + ":" if asan else "") + "quarantine_size_mb=8"
    # one address churning on purpose: the per-address limits would refuse it
    srv = Trial(PROJECT, "--log-level", "warn", "--alloc-rate", "0", "--max-per-address", "0",
                project_dir=PROJECT_DIR)
    try:
        attack(srv)
    finally:
        if srv.proc.poll() is None:  # a failed check: do not leave it running
            srv.proc.kill()
            srv.proc.wait()
        srv.cleanup()


def attack(srv):
    pid = srv.proc.pid
    honest = Honest(srv, PROJECT, url=srv.url + "/").begin()

    r = churn(srv.port, WARM, threads=8)
    check(not r["errors"], "warm-up: %d cycles (%s)" % (WARM, r["errors"][:3]))
    lat0, rss0 = latency(srv.port), rss_kb(pid)

    t0 = time.monotonic()
    r = churn(srv.port, CYCLES, threads=8)
    t1 = time.monotonic()
    check(not r["errors"], "%d hello/stop cycles in %.1f s, none failed (%s)"
          % (r["cycles"], r["seconds"], r["errors"][:3]))
    lat1, rss1 = latency(srv.port), rss_kb(pid)
    print("churn: RSS %.1f -> %.1f MB, first message %.3f -> %.3f ms (median)"
          % (rss0 / 1024, rss1 / 1024, lat0, lat1))
    check(rss1 - rss0 < 8 * 1024, "memory stays flat over %d cycles: %.1f MB -> %.1f MB"
          % (CYCLES, rss0 / 1024, rss1 / 1024))
    check(lat1 <= 3 * lat0 + 2.0, "the first message of a new trial is as quick as before: "
          "%.3f -> %.3f ms" % (lat0, lat1))

    honest.stop()
    hold_fps(honest, t0, t1, "the hello/stop churn")
    finish(srv)


main(test)
