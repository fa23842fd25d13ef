"""The admin's data download while participants play.

Sends: over CHAOS_SECONDS (at least one of each), GET /api/projects/chaos-honest/data.tar.gz
of a data folder of CHAOS_DOWNLOAD_MB (default 40) MB of records written by bench/gen_data.py
plus CHAOS_DOWNLOAD_BLOB_MB (default 40) MB of incompressible files, read at full speed; and downloads abandoned after 1 MB.
/healthz is asked every 0.1 s meanwhile.
Must hold: the honest participant keeps its frame rate during every download; /healthz answers
within 0.5 s throughout; the archive is streamed (chunked, no length) and complete: tar lists
every file the data folder held when the download began, participants.json and the export
tables; the server's peak RSS grows by less than 24 MB while it sends an archive larger
than its incompressible files; an abandoned download leaves no tar process and no scratch folder behind."""
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

from chaosutil import (HERE, PROJECT, PROJECT_DIR, SECONDS, Honest, check, finish, hold_fps,
                       main, nothing_outside)
from serveutil import TOKEN, Serve, wait_for

MB = int(os.environ.get("CHAOS_DOWNLOAD_MB", "40"))
GEN = os.path.join(HERE, "..", "..", "bench", "gen_data.py")
# Files of 10 MB of random bytes: the archive cannot shrink them.
BLOBS = max(1, int(os.environ.get("CHAOS_DOWNLOAD_BLOB_MB", "40")) // 10)
URL_PATH = "/api/projects/%s/data.tar.gz" % PROJECT


def make_data(data):
    """Records of about MB megabytes (250 bytes a step) and the incompressible files."""
    steps = 500
    users = max(4, MB * 1000000 // (250 * 8 * (steps + 1)))
    subprocess.run([sys.executable, GEN, data, "--project", PROJECT, "--users", str(users),
                    "--episodes", "8", "--steps", str(steps)], check=True,
                   stdout=subprocess.DEVNULL)
    trials = os.path.join(data, PROJECT, "trials")
    first = sorted(os.listdir(trials))[0]
    for i in range(BLOBS):
        with open(os.path.join(trials, first, "attachment_%d.bin" % i), "wb") as f:
            f.write(os.urandom(10 << 20))


def data_files(data):
    out = set()
    root = os.path.join(data, PROJECT)
    for d, _, files in os.walk(root):
        for n in files:
            out.add(os.path.relpath(os.path.join(d, n), data))
    return out


def rss(pid):
    """(VmRSS, VmHWM) of PID in bytes."""
    vals = {}
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            k, _, v = line.partition(":")
            if k in ("VmRSS", "VmHWM"):
                vals[k] = int(v.split()[0]) * 1024
    return vals["VmRSS"], vals["VmHWM"]


def reset_peak(pid):
    """Resets the peak RSS counter (Linux >= 4.0); False if not allowed."""
    try:
        with open("/proc/%d/clear_refs" % pid, "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


class Healthz(threading.Thread):
    """Asks /healthz every 0.1 s; keeps (time, latency, ok)."""

    def __init__(self, srv):
        super().__init__(daemon=True)
        self.srv, self.samples, self.stop = srv, [], False

    def run(self):
        while not self.stop:
            t = time.monotonic()
            try:
                st, j, _ = self.srv.request("GET", "/healthz")
                ok = st == 200
            except Exception:
                ok = False
            self.samples.append((t, time.monotonic() - t, ok))
            time.sleep(0.1)

    def during(self, t0, t1):
        return [s for s in self.samples if t0 <= s[0] < t1]


def download(srv, out):
    """Downloads the archive to OUT; returns (bytes, response headers)."""
    req = urllib.request.Request(srv.url + URL_PATH,
                                 headers={"Authorization": "Bearer " + TOKEN})
    n = 0
    with urllib.request.urlopen(req, timeout=300) as r, open(out, "wb") as f:
        check(r.status == 200 and r.headers["Content-Type"] == "application/gzip",
              "the download answers 200 application/gzip")
        while True:
            b = r.read(1 << 16)
            if not b:
                break
            f.write(b)
            n += len(b)
        return n, r.headers


def abandon(srv):
    """Starts a download, reads 1 MB, hangs up."""
    s = socket.create_connection(("127.0.0.1", srv.port), timeout=60)
    s.sendall(("GET %s HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n\r\n"
               % (URL_PATH, TOKEN)).encode())
    got = 0
    while got < (1 << 20):
        b = s.recv(1 << 16)
        if not b:
            break
        got += len(b)
    s.close()
    return got


def tar_children(pid):
    out = subprocess.run(["ps", "-o", "comm=", "--ppid", str(pid)], capture_output=True,
                         text=True).stdout.split()
    return [c for c in out if c in ("tar", "gzip")]


def test():
    # ASan keeps freed memory in a quarantine, which would be counted as the
    # server's: the check is about the program's own memory.
    os.environ["ASAN_OPTIONS"] = (os.environ.get("ASAN_OPTIONS", "") +
                                  ":quarantine_size_mb=0:thread_local_quarantine_size_kb=0")
    tmp = tempfile.mkdtemp(prefix="hippo-chaos-dl-")
    out = os.path.join(tmp, "data.tar.gz")
    data = os.path.join(tmp, "data")
    try:
        make_data(data)
        srv = Serve(PROJECT_DIR, data=data)
        srv.tmp = tmp  # for nothing_outside(); removed below
        try:
            attack(srv, data, out)
        finally:
            if srv.proc.poll() is None:  # a check failed: do not leave the server running
                srv.proc.kill()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def attack(srv, data, out):
    honest = Honest(srv).begin()
    hz = Healthz(srv)
    hz.start()
    end = time.monotonic() + SECONDS
    windows, downloads = [], 0
    peak_growth, archive = 0, 0
    while True:
        before = data_files(data)
        cleared = reset_peak(srv.proc.pid)
        rss0, hwm0 = rss(srv.proc.pid)
        t0 = time.monotonic()
        size, headers = download(srv, out)
        t1 = time.monotonic()
        rss1, hwm1 = rss(srv.proc.pid)
        downloads += 1
        windows.append((t0, t1))
        archive = size
        peak_growth = max(peak_growth, hwm1 - (rss0 if cleared else hwm0))
        names = set(subprocess.run(["tar", "-tzf", out], capture_output=True, text=True,
                                   check=True).stdout.split())
        missing = sorted(before - names)
        check(not missing, "download %d (%.1f MB in %.1f s): every data file is in the archive "
              "(missing %s)" % (downloads, size / 1e6, t1 - t0, missing[:3]))
        check({PROJECT + "/participants.json", PROJECT + "/export/steps.csv"} <= names,
              "and participants.json and the export tables")
        if time.monotonic() >= end:
            break
    got = abandon(srv)
    check(got > 0, "a download abandoned after %d bytes" % got)
    check(wait_for(lambda: not tar_children(srv.proc.pid) and
                   not [n for n in os.listdir(data) if n.startswith(".export")],
                   "the abandoned download's tar to end", 20, 0.2),
          "the abandoned download's tar ended and its scratch folder is gone")
    hz.stop = True
    hz.join()
    honest.stop()
    for t0, t1 in windows:  # the figures first, then the checks
        w = honest.fps(t0, t1) or [0]
        lat = [x for _, x, _ in hz.during(t0, t1)]
        print("figures: download %.1f s, honest fps median %.1f min %d, /healthz slowest "
              "%.3f s, server peak RSS +%.1f MB, archive %.1f MB"
              % (t1 - t0, sorted(w)[len(w) // 2], min(w), max(lat, default=-1),
                 peak_growth / 1e6, archive / 1e6))
    check(headers.get("Content-Length") is None and
          headers.get("Transfer-Encoding") == "chunked",
          "the archive is streamed in chunks, without a length")
    for t0, t1 in windows:
        hold_fps(honest, t0, t1, "a %.1f s download" % (t1 - t0))
        lat = hz.during(t0, t1)
        check(lat and all(ok for _, _, ok in lat) and max(x for _, x, _ in lat) < 0.5,
              "/healthz during the download: %d answers, slowest %.3f s (< 0.5 s)"
              % (len(lat), max((x for _, x, _ in lat), default=-1)))
    check(archive > (BLOBS * 10 << 20) and peak_growth < (24 << 20),
          "server peak RSS grew by %.1f MB while sending a %.1f MB archive (< 24 MB)"
          % (peak_growth / 1e6, archive / 1e6))
    os.unlink(out)
    nothing_outside(srv)
    finish(srv)


main(test)
