"""Failure detection by probes (docs/cluster.md, "Failure detection"): two
nodes a and b sharing one SQLite store; b registers as its --internal URL a
stand-in answering on b's behalf (so that the test sees every probe and
decides the answer), a its own address. A participant's game is placed on
b; they drop their websocket and ask a's /next again and again, as the page
does before each reconnect, with a URL of the test's own (a canary) in
every place a client can put one.

- b answering its probe (200, or 503 "draining") is never expired: the
  participant's /next keeps naming b, b stays live, they play on b again;
- a probes b at most once a second however often the participant asks, and
  only at the URL b registered: the canary never gets a request;
- b not answering (connection refused) has its lease ended at once: the
  participant's session ends with node_lost and their next /next places the
  game again;
- --internal must be an http(s) URL without user, query or fragment, and
  needs a cluster node."""
import asyncio
import http.server
import json
import os
import re
import shutil
import subprocess
import tempfile
import threading
import time
import uuid

import websockets

from serveutil import BIN, EXAMPLE, TOKEN, Serve, check, free_port, main, wait_for


class Stub:
    """An HTTP server on 127.0.0.1 counting the requests it gets; MODE "ok"
    answers /healthz 200, "draining" 503 {"status": "draining"}; stop()
    closes it (connections are refused)."""

    def __init__(self, port=0):
        stub = self
        self.hits = []
        self.mode = "ok"

        class H(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                stub.hits.append(self.path)
                draining = stub.mode == "draining"
                body = json.dumps({"status": "draining" if draining else "ok",
                                   "sessions": 1}).encode()
                self.send_response(503 if draining else 200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_POST = do_GET

            def log_message(self, *a):
                pass

        self.srv = http.server.ThreadingHTTPServer(("127.0.0.1", port), H)
        self.port = self.srv.server_address[1]
        self.url = "http://127.0.0.1:%d" % self.port
        self.th = threading.Thread(target=self.srv.serve_forever, daemon=True)
        self.th.start()

    def stop(self):
        if self.th:
            self.srv.shutdown()
            self.srv.server_close()
            self.th = None


def study(root):
    """examples/cartpole with a game that does not end while the test runs."""
    d = os.path.join(root, "probe")
    shutil.copytree(EXAMPLE, d)
    path = os.path.join(d, "config.yml")
    with open(path) as f:
        text = f.read()
    text = text.replace("id: cartpole-demo", "id: probe")
    text = re.sub(r"(?m)^  maxEpisodes: .*$", "  maxEpisodes: 100000", text)
    with open(path, "w") as f:
        f.write(text)
    return d


def node(name, store, project, internal, port=0):
    return Serve(project, port=port, args=[
        "--store", store, "--node", name, "--internal", internal, "--records-local",
        "--slots", "4", "--drain-grace", "0", "--log-level", "warn"])


def to_game(srv, user):
    """The participant's pages up to the game step: its websocket URL."""
    st, j = srv.next("probe", user)
    for _ in range(10):
        if st == 200 and j["page"] == "show_game_page":
            return j["server"]
        check(st == 200 and j["page"] != "wait", "%s: /next answers a page" % user, (st, j))
        st, j = srv.next("probe", user, {"consent": "yes"})
    raise AssertionError("%s: no game step" % user)


def ws_of(srv):
    return srv.url.replace("http://", "ws://") + "/ws"


async def frames(url, user, n=3):
    """Connects to the game at URL as USER and reads N frames."""
    got = 0
    async with websockets.connect(url, max_size=16 << 20, open_timeout=10) as ws:
        await ws.send(json.dumps({"userId": user, "projectId": "probe"}))
        await ws.send(json.dumps({"command": "start", "browser": "test"}))
        while got < n:
            m = await asyncio.wait_for(ws.recv(), 20)
            if isinstance(m, bytes) or '"frame"' in m:
                got += 1
    return got


def reconnect_ask(srv, user, canary):
    """The /next a page asks before reconnecting, with the canary's URL in
    every header, parameter and body field a client controls."""
    c = canary.url
    q = "/next?projectId=probe&userId=%s&server=%s&internal=%s&probe=%s" % (user, c, c, c)
    hdrs = {"X-Forwarded-Host": c[7:], "X-Forwarded-For": "127.0.0.1", "Forwarded":
            "host=%s" % c[7:], "Referer": c + "/healthz", "Origin": c, "X-Internal": c}
    st, j, _ = srv.request("POST", q, {"server": c, "internal": c, "probe": c, "url": c,
                                       "node": "b"}, hdrs)
    return st, j


async def run():
    tmp = tempfile.mkdtemp(prefix="hippo-probe-")
    stub, canary = Stub(), Stub()
    try:
        # --internal is checked at start
        for bad in ("ftp://127.0.0.1:1", "http://user@127.0.0.1:1", "http://127.0.0.1:1/?x=1",
                    "127.0.0.1:1", "http://"):
            p = subprocess.run([BIN, "serve", "--node", "x", "--data", os.path.join(tmp, "d0"),
                                "--internal", bad], capture_output=True, text=True, timeout=30)
            check(p.returncode == 2 and "internal URL must be" in p.stderr,
                  "--internal %s is refused at start" % bad, p.stderr)
        p = subprocess.run([BIN, "serve", "--data", os.path.join(tmp, "d0"), "--internal",
                            "http://127.0.0.1:1"], capture_output=True, text=True, timeout=30)
        check(p.returncode == 2 and "cluster node" in p.stderr,
              "--internal without --node/--advertise is refused", p.stderr)

        store = "sqlite:" + os.path.join(tmp, "hippo.db")
        project = study(tmp)
        port_a = free_port()
        a = node("a", store, project, "http://127.0.0.1:%d" % port_a, port=port_a)
        b = node("b", store, project, stub.url)
        loop = asyncio.get_running_loop()

        # one participant on a (the nodes tie: by name), then ours on b
        first = "p-" + uuid.uuid4().hex[:8]
        check(to_game(a, first) == ws_of(a), "the first game is placed on a")
        user = "p-" + uuid.uuid4().hex[:8]
        check(to_game(a, user) == ws_of(b), "the next one on b (the least loaded)")
        check(await frames(ws_of(b), user) == 3, "the participant plays on b")

        # the websocket dropped: the page asks a's /next before each reconnect
        t0 = time.monotonic()
        answers = []
        while time.monotonic() - t0 < 3.0:
            answers.append(await loop.run_in_executor(None, reconnect_ask, a, user, canary))
            await asyncio.sleep(0.05)
        window = time.monotonic() - t0
        await asyncio.sleep(PROBE_SETTLE)
        hits = len(stub.hits)
        check(all(st == 200 and j.get("server") == ws_of(b) for st, j in answers),
              "b answers its probe: all %d answers name b's websocket" % len(answers),
              answers[-3:])
        check(1 <= hits <= int(window) + 1,
              "a probed b %d times in %.1f s of %d asks: at most one a second" % (
                  hits, window, len(answers)), stub.hits)
        check(all(h == "/healthz" for h in stub.hits), "each probe is GET /healthz", stub.hits)
        check(not canary.hits, "no request reached a URL the participant sent", canary.hits)
        st, j, _ = a.admin("GET", "/nodes")
        live = {n["name"]: n["live"] for n in j["nodes"]}
        check(st == 200 and live == {"a": True, "b": True},
              "both nodes are live after the probes: %s" % live, j)
        check(await frames(ws_of(b), user) == 3, "the participant plays on b again")

        # draining is alive
        stub.mode = "draining"
        before = len(stub.hits)
        wait_for(lambda: reconnect_ask(a, user, canary) and len(stub.hits) > before,
                 "a to probe b again", timeout=15, every=0.2)
        time.sleep(PROBE_SETTLE)
        st, j = reconnect_ask(a, user, canary)
        check(st == 200 and j.get("server") == ws_of(b),
              "b answering 503 draining is alive: its game stays on b", j)

        # b no longer answers: its lease ends at once
        stub.stop()
        t_dead = time.monotonic()
        reconnect_ask(a, user, canary)

        def lost():
            st, parts, _ = a.admin("GET", "/projects/probe/participants")
            x = next((p for p in parts if p["userId"] == user), None) if st == 200 else None
            reasons = [s["reason"] for s in x["sessions"]] if x else []
            return reasons if "node_lost" in reasons else (reconnect_ask(a, user, canary)
                                                          and None)
        # b itself renews its lease all along: only the probe can end it
        reasons = wait_for(lost, "b's session to end with node_lost", timeout=8, every=0.2)
        check(reasons[0] == "node_lost", "b, refusing its probe, was taken for dead after "
              "%.1f s: the session ended with node_lost" % (time.monotonic() - t_dead), reasons)
        st, j = reconnect_ask(a, user, canary)
        check(st == 200 and j["page"] == "show_game_page" and j.get("server"),
              "the participant's next /next places the game again: %s" % j.get("server"), j)
        check(not canary.hits, "still no request reached the canary", canary.hits)
    finally:
        stub.stop()
        canary.stop()
        shutil.rmtree(tmp, ignore_errors=True)


PROBE_SETTLE = 1.5  # a probe in flight when the asking stops has finished


if __name__ == "__main__":
    main(run, timeout=200)
