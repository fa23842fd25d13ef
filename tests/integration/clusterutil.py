"""A hippo cluster on 127.0.0.1 for the tests (docs/cluster.md): nodes
(`hippo serve --advertise`) sharing one participant store, HAProxy in front
(one origin: /g/<node>/ goes to that node, everything else round-robin to the
nodes whose /healthz says ready), studies that store to S3, and a participant
that behaves like the UI (web/app.js, web/game-connection.js): it follows the
`server` /next names, and after a close it asks /next where its game is
before connecting again, with the UI's back-off.

The participant store is one the nodes share: under HIPPO_TEST_STORE=postgresql
(CTest's `_pg` variants) a database of the test's own PostgreSQL server
(serveutil.pg_server), with HIPPO_TEST_STORE a postgresql:// URL that
database, else an SQLite file."""
import asyncio
import json
import os
import re
import shutil
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request

import websockets

import serveutil
from serveutil import EXAMPLE, Serve, free_port, wait_for

RECONNECT_MIN_S = 0.25  # web/game-connection.js: RECONNECT_MIN_MS
RECONNECT_MAX_S = 2.0
CLOSE_MOVED = 4002


def store_spec(tmp):
    """The participant store every node opens."""
    env = os.environ.get("HIPPO_TEST_STORE", "")
    if "://" in env:
        return env
    if serveutil.PG:
        return serveutil.pg_server().create_db("cluster")
    return "sqlite:" + os.path.join(tmp, "hippo.db")


def study(root, pid, s3, trial=None, project=""):
    """A copy of examples/cartpole with project.id PID storing to the S3
    server S3 (bucket "bucket": keys PID/Trials/USER/FILE), PROJECT (YAML
    lines under project:) and TRIAL ({key: value} replacing trial keys)."""
    d = os.path.join(root, pid)
    shutil.copytree(EXAMPLE, d)
    path = os.path.join(d, "config.yml")
    with open(path) as f:
        text = f.read()
    text = text.replace("id: cartpole-demo", "id: " + pid)
    extra = ("  storage:\n    s3:\n      bucket: bucket\n      endpoint: %s\n"
             "      region: us-east-1\n" % s3.endpoint) + project
    text = text.replace("  useAWS: false\n", "  useAWS: false\n" + extra)
    for k, v in (trial or {}).items():
        text, n = re.subn(r"(?m)^  %s: .*$" % k, "  %s: %s" % (k, v), text)
        if n == 0:
            text = text.replace("\ntrial:\n", "\ntrial:\n  %s: %s\n" % (k, v))
    with open(path, "w") as f:
        f.write(text)
    return d


def haproxy_config(port, nodes):
    """One public origin on 127.0.0.1:PORT for NODES ({name: port}): /g/NAME/...
    goes to node NAME as /... (its websocket: /g/NAME/ws); anything else to
    any node whose /healthz answers 200 (a draining node answers 503)."""
    lines = [
        "global", "  maxconn 4000",
        "defaults", "  mode http", "  timeout connect 2s", "  timeout client 60s",
        "  timeout server 60s", "  timeout tunnel 1h", "  option forwardfor",
        "frontend www", "  bind 127.0.0.1:%d" % port,
    ]
    for name in nodes:
        lines.append("  use_backend node_%s if { path_beg /g/%s/ }" % (name, name))
    lines.append("  default_backend nodes")
    for name, p in nodes.items():
        # no retries: a node that does not answer is lost, and the UI asks
        # /next where its game went rather than waiting here
        lines += ["backend node_%s" % name, "  retries 0",
                  "  http-request replace-path ^/g/[^/]+(/.*)$ \\1",
                  "  server %s 127.0.0.1:%d" % (name, p)]
    lines += ["backend nodes", "  balance roundrobin", "  option httpchk GET /healthz",
              "  retry-on conn-failure empty-response 503", "  retries 3",
              "  option redispatch"]
    for name, p in nodes.items():
        lines.append("  server %s 127.0.0.1:%d check inter 300ms fall 1 rise 1" % (name, p))
    return "\n".join(lines) + "\n"


class Haproxy:
    """HAProxy (Debian's) on 127.0.0.1:PORT in front of NODES ({name: port})."""

    def __init__(self, port, nodes):
        self.port = port
        self.origin = "http://127.0.0.1:%d" % port
        self.dir = tempfile.mkdtemp(prefix="hippo-haproxy-")
        self.cfg = os.path.join(self.dir, "haproxy.cfg")
        with open(self.cfg, "w") as f:
            f.write(haproxy_config(port, nodes))
        self.errf = tempfile.TemporaryFile(mode="w+")
        self.proc = subprocess.Popen(["haproxy", "-f", self.cfg, "-db"],
                                     stdout=subprocess.DEVNULL, stderr=self.errf)

        def up():
            try:
                socket.create_connection(("127.0.0.1", port), 0.2).close()
                return True
            except OSError:
                return self.proc.poll() is not None
        wait_for(up, "haproxy to listen", timeout=20)
        if self.proc.poll() is not None:
            self.errf.seek(0)
            raise RuntimeError("haproxy did not start: " + self.errf.read())

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        shutil.rmtree(self.dir, ignore_errors=True)


class Node(Serve):
    """`hippo serve PROJECTS` as cluster node NAME behind ORIGIN (advertised as
    ORIGIN/g/NAME), probed by the other nodes at its own port (--internal;
    INTERNAL false: found dead by its lease only), with the default leases
    (renewed every 2 s, lost after 10 s)."""

    def __init__(self, name, origin, store, projects, env, slots=12, port=0, data=None,
                 args=(), internal=True):
        port = port or free_port()
        a = ["--store", store, "--node", name, "--advertise", "%s/g/%s" % (origin, name),
             *(("--internal", "http://127.0.0.1:%d" % port) if internal else ()),
             "--slots", str(slots), "--trust-proxy", "--node-poll", "100",
             "--records-every", "1", "--drain-grace", "2", "--log-level", "warn", *args]
        super().__init__(*projects, data=data, port=port, args=a, env=env)
        self.node = name
        self.name = "node %s (port %d)" % (name, self.port)


def http(origin, method, path, body=None, token=None, timeout=30):
    """(status, parsed JSON or text) of a request to ORIGIN."""
    hdrs = {}
    data = None
    if body is not None:
        data = json.dumps(body).encode()
        hdrs["Content-Type"] = "application/json"
    if token:
        hdrs["Authorization"] = "Bearer " + token
    req = urllib.request.Request(origin + path, data=data, method=method, headers=hdrs)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            status, payload = r.status, r.read()
    except urllib.error.HTTPError as e:
        status, payload = e.code, e.read()
    try:
        return status, json.loads(payload) if payload else None
    except ValueError:
        return status, payload.decode(errors="replace")


def node_of(url):
    """The node name in a websocket URL .../g/NAME/ws."""
    m = re.search(r"/g/([a-z0-9-]+)/ws$", url or "")
    return m.group(1) if m else None


class Player:
    """One participant of PROJECT through ORIGIN, moving through the study and
    playing like the UI. NODES: the node of each connection it made; GAPS:
    (closed at, first frame after) monotonic times of each reconnect."""

    def __init__(self, origin, project, user):
        self.origin, self.project, self.user = origin, project, user
        self.server = None
        self.nodes = []
        self.frames = 0
        self.closes = []
        self.gaps = []
        self.stopped = False
        self.last_page = None

    def next(self, body=None):
        q = "/next?projectId=%s&userId=%s" % (self.project, self.user)
        st, j = http(self.origin, "POST" if body is not None else "GET", q, body)
        if st == 200:
            self.last_page = j
        return st, j

    def to_game(self, timeout=60):
        """Answers the pages up to the game step: its websocket URL, or None
        while no node has room (the page says wait) at TIMEOUT."""
        end = time.monotonic() + timeout
        st, j = self.next()
        while time.monotonic() < end:
            if st == 200 and j["page"] == "show_game_page":
                self.server = j["server"]
                return self.server
            if st == 200 and j["page"] == "wait":
                return None
            if st != 200:
                raise AssertionError("%s: /next %s %s" % (self.user, st, j))
            st, j = self.next({"consent": "yes"})
        raise AssertionError("%s: no game step" % self.user)

    async def where(self):
        """What the UI's locate() answers: ("moved", None), ("game", URL) or
        ("wait", None); None when /next cannot be reached."""
        loop = asyncio.get_running_loop()
        try:
            st, j = await loop.run_in_executor(None, self.next)
        except OSError:
            return None
        if st != 200:
            return None
        if j["page"] == "show_game_page":
            return "game", j.get("server")
        return ("wait", None) if j["page"] == "wait" else ("moved", None)

    async def play(self, stop=None, timeout=120):
        """Plays until "done" (returns "done") or the study moved past the game
        ("moved"). STOP(player) is asked at each frame: once true, the stop
        command is sent. Every close is followed as the UI does."""
        attempts = 0
        closed_at = None
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            try:
                async with websockets.connect(self.server, max_size=16 << 20,
                                              open_timeout=10, close_timeout=2) as ws:
                    self.nodes.append(node_of(self.server))
                    attempts = 0
                    await ws.send(json.dumps({"userId": self.user, "projectId": self.project}))
                    await ws.send(json.dumps({"command": "start", "browser": "test"}))
                    while True:
                        m = await asyncio.wait_for(ws.recv(), 30)
                        if m == "done":
                            return "done"
                        if isinstance(m, bytes) or '"frame"' in m:
                            self.frames += 1
                            if closed_at is not None:
                                self.gaps.append((closed_at, time.monotonic()))
                                closed_at = None
                            if stop and not self.stopped and stop(self):
                                self.stopped = True
                                await ws.send(json.dumps({"command": "stop"}))
            except websockets.ConnectionClosed as e:
                code = e.rcvd.code if e.rcvd else None
                self.closes.append((code, e.rcvd.reason if e.rcvd else ""))
                if code == CLOSE_MOVED:
                    attempts = 0
            except (OSError, asyncio.TimeoutError, websockets.InvalidHandshake,
                    websockets.InvalidURI):
                pass
            if closed_at is None:
                closed_at = time.monotonic()
            # the UI's back-off, then where the game is now
            await asyncio.sleep(min(RECONNECT_MAX_S, RECONNECT_MIN_S * 2 ** attempts))
            attempts += 1
            w = await self.where()
            if w and w[0] == "moved":
                return "moved"
            if w and w[0] == "game" and w[1]:
                self.server = w[1]
        raise AssertionError("%s: no done within %d s" % (self.user, timeout))
