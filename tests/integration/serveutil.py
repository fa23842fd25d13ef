"""The shared pieces of the integration and chaos tests (tests/integration/,
tests/chaos/):

- check(): one printed line per check, raises on failure; `checks` counts them;
- main(): runs a test (a function or a coroutine function), then stops every
  server the test started and checks each exited 0 (or as the test declared
  with expect_exit()), and removes their temporary folders; prints the
  summary; on failure the traceback, each server's exit status and the end of
  its stderr, and exits 1 (the folders stay, to look at);
- Serve and Trial: `hippo serve` / `hippo trial` on a free 127.0.0.1 port with a
  temporary data folder (HTTP, the admin API, the records they write);
- the participant store under test: HIPPO_TEST_STORE=postgresql (CTest's `_pg`
  variants) gives every `hippo serve` a database of a PostgreSQL server of this
  process's own (pgutil.py), one per data folder (`--store`); store_args() and
  store_rows() reach the same store from a test (`hippo export`, SQL);
- play helpers over the real websocket: connect, recv, recv_json, handshake,
  frames_until, play_to_done, play_until_done;
- free_port(), wait_for(), is_jpeg_b64()."""
import asyncio
import base64
import glob
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import traceback
import urllib.error
import urllib.request

import websockets

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.environ.get("HIPPO_SRC", os.path.join(HERE, "..", ".."))
BIN = os.environ.get("HIPPO_BIN", os.path.join(SRC, "build", "test", "hippo"))
BUILD = os.environ.get("HIPPO_BUILD", os.path.join(SRC, "build", "test"))
EXAMPLE = os.path.join(SRC, "examples", "cartpole")
PROJECTS = os.path.join(HERE, "projects")
TOKEN = "test-token-0123456789"

checks = 0
servers = []  # every server started, for main() to stop and check

# The participant store under test: "sqlite" (DATA/hippo.db) or "postgresql".
STORE = os.environ.get("HIPPO_TEST_STORE", "sqlite")
PG = STORE.startswith("postgres")
_pg = None
_stores = {}  # data folder -> the URL of its store


def pg_server():
    """The PostgreSQL server of this test process (started at first use)."""
    global _pg
    if _pg is None:
        import pgutil
        _pg = pgutil.Postgres()
    return _pg


def store_url(data):
    """The --store URL of data folder DATA under PostgreSQL (a database of its
    own, made at first use), None under SQLite."""
    if not PG:
        return None
    key = os.path.realpath(data)
    if key not in _stores:
        _stores[key] = pg_server().create_db("d%d" % len(_stores))
    return _stores[key]


def store_args(data):
    """`--store URL` for a command reading the store of data folder DATA ([] under SQLite)."""
    url = store_url(data)
    return ["--store", url] if url else []


# The tables a store copy moves, parents first; the BYTEA columns of the
# PostgreSQL schema (docs/data.md).
_TABLES = ["projects", "participants", "answers", "header_sets", "requests", "sessions", "groups",
           "passes"]
_BYTEA = {("answers", "value"), ("header_sets", "digest")}


def _csv_cell(table, col, v):
    """V as a cell of COPY's CSV: NULL unquoted and empty, text quoted, BYTEA as hex."""
    if v is None:
        return ""
    if (table, col) in _BYTEA:
        v = "\\x" + (v.encode() if isinstance(v, str) else v).hex()
    if isinstance(v, str):
        return '"' + v.replace('"', '""') + '"'
    return str(v)


def store_from_sqlite(data):
    """Under PostgreSQL: the store of data folder DATA (its schema made by a
    `hippo serve` started and stopped here) gets the rows of DATA/hippo.db, an
    SQLite store written by another program (bench/gen_data.py), ids kept.
    Does nothing under SQLite."""
    if not PG:
        return
    import sqlite3
    srv = Serve(data=data, token=None)
    srv.request("GET", "/healthz")  # running: a SIGTERM now is a clean stop
    rc, err = srv.stop()
    servers.remove(srv)
    if rc != 0:
        raise RuntimeError("hippo serve --store exited %s: %s" % (rc, err))
    pg = pg_server()
    db = store_url(data).rsplit("/", 1)[1]
    con = sqlite3.connect("file:%s?mode=ro" % os.path.join(data, "hippo.db"), uri=True)
    try:
        for table in _TABLES:
            have = [r[1] for r in con.execute("PRAGMA table_info(%s)" % table)]
            if not have:
                continue
            want = pg.psql_db(db, "SELECT column_name FROM information_schema.columns"
                                  " WHERE table_name = '%s'" % table).split()
            cols = [c for c in have if c in want]
            path = os.path.join(pg.tmp, "%s.csv" % table)
            with open(path, "w", newline="", encoding="utf-8") as f:
                for row in con.execute("SELECT %s FROM %s" % (", ".join(cols), table)):
                    f.write(",".join(_csv_cell(table, c, v) for c, v in zip(cols, row)) + "\n")
            os.chmod(path, 0o644)
            pg.psql_db(db, "\\copy %s (%s) FROM '%s' WITH (FORMAT csv)"
                       % (table, ", ".join(cols), path))
            if "id" in cols and table != "projects":  # a serial id
                pg.psql_db(db, "SELECT setval(pg_get_serial_sequence('%s', 'id'),"
                               " (SELECT coalesce(max(id), 0) + 1 FROM %s), false)"
                           % (table, table))
    finally:
        con.close()


def store_rows(data, sql):
    """The rows of SQL (both backends' dialect) in the store of data folder
    DATA, every value as text ("" for NULL)."""
    if PG:
        db = store_url(data).rsplit("/", 1)[1]
        out = pg_server().psql_db(db, sql)
        return [tuple(line.split("|")) for line in out.splitlines() if line]
    import sqlite3
    con = sqlite3.connect("file:%s?mode=ro" % os.path.join(data, "hippo.db"), uri=True)
    try:
        return [tuple("" if v is None else str(v) for v in row) for row in con.execute(sql)]
    finally:
        con.close()


def check(cond, what, detail=None):
    """Prints what is checked (and DETAIL when it fails); raises on failure."""
    global checks
    checks += 1
    print(("ok   " if cond else "FAIL ") + what, flush=True)
    if not cond:
        if detail:
            print("     " + str(detail).replace("\n", "\n     "), flush=True)
        raise AssertionError(what)


def main(fn, timeout=240):
    """Runs FN (a coroutine function runs under asyncio, for at most TIMEOUT
    seconds), then stops every server still running and checks that each
    exited as expected (0 unless the test said otherwise), so sanitizer
    reports at exit fail the test. Prints the summary; on failure also each
    server's exit status and stderr, and exits 1."""
    try:
        if asyncio.iscoroutinefunction(fn):
            asyncio.run(asyncio.wait_for(fn(), timeout))
        else:
            fn()
        for srv in servers:
            rc, _ = srv.stop()
            check(rc == srv.expected_exit, "%s exited %s" % (srv.name, rc))
        for srv in servers:  # their temporary folders (kept when a test fails)
            srv.cleanup()
    except Exception:
        traceback.print_exc()
        for srv in servers:  # what the servers said (sanitizer reports, logs)
            rc, err = srv.stop()
            print("%s: exit %s; stderr:\n%s" % (srv.name, rc, err[-6000:]))
        print("%d checks, failed" % checks)
        sys.exit(1)
    print("%d checks passed" % checks)


def free_port():
    """A TCP port free on 127.0.0.1 (bound, read, released)."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def wait_for(pred, what, timeout=30, every=0.05):
    """Polls PRED until it returns a true value (returned), or fails."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        v = pred()
        if v:
            return v
        time.sleep(every)
    raise AssertionError("timed out waiting for " + what)


class _Server:
    """A hippo server process on 127.0.0.1: `hippo KIND FIRST... --port PORT
    --data DATA ARGS...` (DATA None: a temporary folder, removed by cleanup()),
    started once it printed "listening on URL". Registered for main()'s exit
    check."""

    def _start(self, kind, first, args, port, data, env=None):
        self.tmp = None
        if data is None:
            self.tmp = tempfile.mkdtemp(prefix="hippo-%s-" % kind)
            data = os.path.join(self.tmp, "data")
        self.data = data
        self.expected_exit = 0
        self.err_text = None
        self.errf = tempfile.TemporaryFile(mode="w+")
        if kind == "serve" and "--store" not in args:
            args = [*args, *store_args(data)]
        self.proc = subprocess.Popen(
            [BIN, kind, *first, "--port", str(port), "--data", data, *args],
            stdout=subprocess.PIPE, stderr=self.errf, text=True, env=env)
        line = self.proc.stdout.readline()
        if "listening on" not in line:
            self.proc.wait(10)
            self.errf.seek(0)
            raise RuntimeError("server did not start: %r %s" % (line, self.errf.read()))
        self.url = line.split("listening on ")[1].split(" ")[0]
        self.port = int(self.url.rsplit(":", 1)[1])
        self.name = "hippo %s (port %d)" % (kind, self.port)
        servers.append(self)
        return line

    def expect_exit(self, code):
        """The exit status main() expects (e.g. -signal.SIGKILL after a kill)."""
        self.expected_exit = code

    def alive(self):
        return self.proc.poll() is None

    def stop(self, sig=signal.SIGTERM, timeout=30):
        """Sends SIG unless the server has exited; waits (kills it after
        TIMEOUT s). Returns (exit status, its whole stderr); again the same."""
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.err_text is None:
            self.proc.stdout.close()
            self.errf.seek(0)
            self.err_text = self.errf.read()
            self.errf.close()
        return self.proc.returncode, self.err_text

    def cleanup(self):
        if self.tmp:
            shutil.rmtree(self.tmp, ignore_errors=True)

    def files(self, project, user):
        """The record files of USER in PROJECT."""
        return sorted(glob.glob(os.path.join(self.data, project, "trials", user, "*")))

    def lines(self, path):
        """The JSON lines of a record file."""
        with open(path) as f:
            return [json.loads(x) for x in f.read().splitlines()]


class Serve(_Server):
    """`hippo serve PROJECTS...` on 127.0.0.1:PORT (0: any). DATA may be reused
    across restarts; TOKEN None starts it without an admin token; ENV (a
    dict) replaces the environment it inherits."""

    def __init__(self, *projects, data=None, token=TOKEN, port=0, args=(), env=None):
        env = dict(os.environ if env is None else env)
        env.pop("HIPPO_ADMIN_TOKEN", None)
        if token:
            env["HIPPO_ADMIN_TOKEN"] = token
        self.token = token
        self.banner = [self._start("serve", projects, args, port, data, env)]
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


class Trial(_Server):
    """`hippo trial PROJECT_DIR ARGS` on 127.0.0.1, any free port. PROJECT names
    a study under tests/integration/projects/ unless PROJECT_DIR is given."""

    def __init__(self, project, *args, project_dir=None, data=None, env=None):
        pdir = project_dir or os.path.join(PROJECTS, project)
        self._start("trial", [pdir], args, 0, data, env)

    def ws_url(self, path="/"):
        return self.url + path


# ---- playing over the real websocket ----

async def connect(srv, path="/", **kw):
    """A websocket to a Trial server (PATH on it)."""
    kw.setdefault("max_size", 16 << 20)
    kw.setdefault("open_timeout", 20)
    return await websockets.connect(srv.ws_url(path), **kw)


async def recv(ws, timeout=20):
    return await asyncio.wait_for(ws.recv(), timeout)


async def recv_json(ws, timeout=20):
    """The next message, parsed ("done" as it is)."""
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


async def play_to_done(ws, action, limit=5000):
    """Starts the game on WS (handshake done), sends ACTION once, returns
    every message up to done."""
    await ws.send(json.dumps({"command": "start"}))
    if action:
        await ws.send(json.dumps({"action": action}))
    return await frames_until(ws, lambda m: m == "done", limit)


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


def is_jpeg_b64(s):
    """Whether S is a base64 JPEG file (SOI ... EOI)."""
    b = base64.b64decode(s)
    return b[:3] == b"\xff\xd8\xff" and b[-2:] == b"\xff\xd9"
