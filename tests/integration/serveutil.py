"""Helpers for the `hippo serve` tests: start the server on a free port with a
temporary data folder, call /next and the admin API over real HTTP, and play
a game over the real websocket until the trial server says done."""
import asyncio
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

import websockets

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.environ.get("HIPPO_SRC", os.path.join(HERE, "..", ".."))
BIN = os.environ.get("HIPPO_BIN", os.path.join(SRC, "build", "test", "hippo"))
EXAMPLE = os.path.join(SRC, "examples", "cartpole")
PROJECTS = os.path.join(HERE, "projects")
TOKEN = "test-token-0123456789"

checks = 0


def check(cond, what):
    """Prints what is checked; raises on failure."""
    global checks
    checks += 1
    print(("ok   " if cond else "FAIL ") + what, flush=True)
    if not cond:
        raise AssertionError(what)


class Serve:
    """`hippo serve PROJECTS...` on 127.0.0.1:0. DATA may be reused across
    restarts; TOKEN None starts it without an admin token."""

    def __init__(self, *projects, data=None, token=TOKEN, port=0, args=()):
        self.tmp = None
        if data is None:
            self.tmp = tempfile.mkdtemp(prefix="hippo-serve-")
            data = os.path.join(self.tmp, "data")
        self.data = data
        env = dict(os.environ)
        env.pop("HIPPO_ADMIN_TOKEN", None)
        if token:
            env["HIPPO_ADMIN_TOKEN"] = token
        self.token = token
        self.errf = tempfile.TemporaryFile(mode="w+")
        self.proc = subprocess.Popen(
            [BIN, "serve", *projects, "--port", str(port), "--data", data, *args],
            stdout=subprocess.PIPE, stderr=self.errf, text=True, env=env)
        line = self.proc.stdout.readline()
        if "listening on" not in line:
            self.proc.wait(10)
            self.errf.seek(0)
            raise RuntimeError("server did not start: %r %s" % (line, self.errf.read()))
        self.url = line.split("listening on ")[1].split(" ")[0]
        self.port = int(self.url.rsplit(":", 1)[1])
        self.banner = [line]
        # The rest of the banner: one "open URL" line per project.
        for _ in projects:
            self.banner.append(self.proc.stdout.readline())

    def request(self, method, path, body=None, headers=None, raw=False):
        """Returns (status, parsed JSON or raw bytes, headers)."""
        data = body
        hdrs = dict(headers or {})
        if body is not None and not isinstance(body, (bytes, str)):
            data = json.dumps(body)
            hdrs.setdefault("Content-Type", "application/json")
        if isinstance(data, str):
            data = data.encode()
        req = urllib.request.Request(self.url + path, data=data, method=method, headers=hdrs)
        try:
            with urllib.request.urlopen(req, timeout=30) as r:
                status, payload, rh = r.status, r.read(), r.headers
        except urllib.error.HTTPError as e:
            status, payload, rh = e.code, e.read(), e.headers
        if raw:
            return status, payload, rh
        try:
            return status, json.loads(payload) if payload else None, rh
        except ValueError:
            return status, payload, rh

    def next(self, project, user, body=None, method=None, extra=""):
        q = "/next?projectId=%s&userId=%s%s" % (project, user, extra)
        m = method or ("POST" if body is not None else "GET")
        st, j, _ = self.request(m, q, body)
        return st, j

    def admin(self, method, path, body=None, token="default"):
        tok = self.token if token == "default" else token
        h = {"Authorization": "Bearer " + tok} if tok else {}
        return self.request(method, "/api" + path, body, h)

    def stop(self, sig=signal.SIGTERM, timeout=30):
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc.stdout.close()
        self.errf.seek(0)
        err = self.errf.read()
        self.errf.close()
        return self.proc.returncode, err

    def cleanup(self):
        if self.tmp:
            shutil.rmtree(self.tmp, ignore_errors=True)


async def play_until_done(server_url, project, user, stop_after=None, timeout=180):
    """Connects to SERVER_URL, handshakes, starts, and reads until "done".
    With STOP_AFTER frames, sends the stop command then. Returns the number of
    frames seen."""
    frames = 0
    async with websockets.connect(server_url, max_size=16 << 20, open_timeout=30) as ws:
        await ws.send(json.dumps({"userId": user, "projectId": project}))
        await ws.send(json.dumps({"command": "start", "browser": "test"}))
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            m = await asyncio.wait_for(ws.recv(), 30)
            if m == "done":
                return frames
            if isinstance(m, bytes) or '"frame"' in m:
                frames += 1
                if stop_after is not None and frames == stop_after:
                    await ws.send(json.dumps({"command": "stop"}))
    raise AssertionError("no done within %d s" % timeout)


def wait_for(pred, what, timeout=30, every=0.05):
    """Polls PRED until it returns a true value (returned), or fails."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        v = pred()
        if v:
            return v
        time.sleep(every)
    raise AssertionError("timed out waiting for " + what)


def main(fn):
    """Runs FN (sync), prints the summary, exits non-zero on failure."""
    try:
        fn()
    except Exception:
        import traceback
        traceback.print_exc()
        print("%d checks, failed" % checks)
        sys.exit(1)
    print("%d checks passed" % checks)
