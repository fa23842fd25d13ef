"""Helpers for the trial server tests: start `hippo trial` on a free port with a
temporary data folder, speak the websocket protocol, read the records."""
import asyncio
import base64
import glob
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

import websockets

HERE = os.path.dirname(os.path.abspath(__file__))
BIN = os.environ.get("HIPPO_BIN", os.path.join(HERE, "..", "..", "build", "test", "hippo"))
PROJECTS = os.path.join(HERE, "projects")

checks = 0
servers = []


def check(cond, what):
    """Prints what is checked; raises on failure."""
    global checks
    checks += 1
    print(("ok   " if cond else "FAIL ") + what, flush=True)
    if not cond:
        raise AssertionError(what)


class Server:
    """`hippo trial PROJECT` on 127.0.0.1, port 0, with its own data folder."""

    def __init__(self, project, *args, project_dir=None):
        self.tmp = tempfile.mkdtemp(prefix="hippo-trial-")
        self.data = os.path.join(self.tmp, "data")
        pdir = project_dir or os.path.join(PROJECTS, project)
        servers.append(self)
        self.err_text = None
        self.proc = subprocess.Popen(
            [BIN, "trial", pdir, "--port", "0", "--data", self.data, *args],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        line = self.proc.stdout.readline()
        if "listening on" not in line:
            err = self.proc.stderr.read()
            raise RuntimeError("server did not start: %r %s" % (line, err))
        url = line.split("listening on ")[1].split(" ")[0]
        self.url = url
        self.port = int(url.rsplit(":", 1)[1])

    def ws_url(self, path="/"):
        return self.url + path

    def files(self, project, user):
        return sorted(glob.glob(os.path.join(self.data, project, "trials", user, "*")))

    def lines(self, path):
        with open(path) as f:
            return [json.loads(x) for x in f.read().splitlines()]

    def alive(self):
        return self.proc.poll() is None

    def stop(self, sig=signal.SIGTERM, timeout=20):
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.err_text is None:
            self.err_text = self.proc.stderr.read()
            self.proc.stdout.close()
            self.proc.stderr.close()
        return self.proc.returncode, self.err_text

    def cleanup(self):
        shutil.rmtree(self.tmp, ignore_errors=True)


async def connect(srv, path="/", **kw):
    kw.setdefault("max_size", 16 << 20)
    kw.setdefault("open_timeout", 20)
    return await websockets.connect(srv.ws_url(path), **kw)


async def recv(ws, timeout=20):
    return await asyncio.wait_for(ws.recv(), timeout)


async def recv_json(ws, timeout=20):
    m = await recv(ws, timeout)
    return m if m == "done" else json.loads(m)


async def handshake(ws, user, project="p", **extra):
    """Sends the handshake; returns the messages up to and including the first frame."""
    msg = {"userId": user, "projectId": project}
    msg.update(extra)
    await ws.send(json.dumps(msg))
    got = []
    while True:
        m = await recv(ws)
        if isinstance(m, bytes):
            got.append(m)
            return got
        j = json.loads(m)
        got.append(j)
        if "frame" in j:
            return got


async def frames_until(ws, pred, limit=2000):
    """Receives messages until PRED(message) is true; returns them all."""
    out = []
    for _ in range(limit):
        m = await recv(ws)
        if isinstance(m, str) and m != "done":
            m = json.loads(m)
        out.append(m)
        if pred(m):
            return out
    raise AssertionError("condition not met within %d messages" % limit)


def is_jpeg_b64(s):
    b = base64.b64decode(s)
    return b[:3] == b"\xff\xd8\xff" and b[-2:] == b"\xff\xd9"


def run(coro):
    try:
        asyncio.run(asyncio.wait_for(coro, 240))
    except Exception:
        import traceback
        traceback.print_exc()
        for srv in servers:  # what the servers said (sanitizer reports, logs)
            rc, err = srv.stop()
            print("server exit %s; stderr:\n%s" % (rc, err[-6000:]))
        print("%d checks, failed" % checks)
        sys.exit(1)
    print("%d checks passed" % checks)


STEP_KEYS = {"userId", "projectId", "trialId", "episode", "step", "frameId", "t", "inputs",
             "observation", "fps"}
