"""Idle sockets: connections opened to hold descriptors and never used.

Sends: 2000 TCP connections that send nothing, and 200 websockets opened (upgrade done) that
never send their handshake; held for max(CHAOS_SECONDS, 35) seconds.
Must hold: while they are held, /healthz answers within 0.5 s and a new participant walks
through /next to the game; the server hangs up on the silent connections within 15 s and on
the silent websockets within 35 s (the handshake is due within 30 s), so its descriptors
come back; the honest participant keeps its frame rate; the server exits 0."""
import base64
import os
import selectors
import socket
import time

from chaosutil import (SECONDS, Honest, check, finish, hold_fps, main, nothing_outside, serve,
                       walk_to_game)

SILENT = 2000
WEBSOCKETS = 200
TCP_LIMIT_S = 15
WS_LIMIT_S = 35


def fds(pid):
    return len(os.listdir("/proc/%d/fd" % pid))


def attack(srv):
    honest = Honest(srv).begin()
    base = fds(srv.proc.pid)
    sel = selectors.DefaultSelector()
    conns = []
    upgraded = 0
    for i in range(SILENT + WEBSOCKETS):
        s = socket.create_connection(("127.0.0.1", srv.port), timeout=10)
        kind = "tcp" if i < SILENT else "ws"
        if kind == "ws":
            key = base64.b64encode(os.urandom(16)).decode()
            s.sendall(("GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade"
                       "\r\nSec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n\r\n"
                       % key).encode())
            head = b""
            while b"\r\n\r\n" not in head:
                head += s.recv(4096)
            upgraded += head.startswith(b"HTTP/1.1 101")
        s.setblocking(False)
        c = {"s": s, "kind": kind, "opened": time.monotonic(), "closed": None}
        conns.append(c)
        sel.register(s, selectors.EVENT_READ, c)
    check(upgraded == WEBSOCKETS, "%d silent websockets opened" % upgraded)
    t0 = time.monotonic()
    held = fds(srv.proc.pid)
    check(held >= base + SILENT, "the server holds the silent connections (%d descriptors, %d "
          "before)" % (held, base))
    lat = []
    for _ in range(10):
        t = time.monotonic()
        st, _, _ = srv.request("GET", "/healthz")
        lat.append((time.monotonic() - t, st))
    check(all(st == 200 for _, st in lat) and max(x for x, _ in lat) < 0.5,
          "/healthz while they are held: slowest %.3f s" % max(x for x, _ in lat))
    url = walk_to_game(srv, "idle-newcomer")
    check(url.endswith("/ws"), "a new participant reaches the game while they are held")
    until = t0 + max(SECONDS, WS_LIMIT_S + 1)
    while time.monotonic() < until and any(c["closed"] is None for c in conns):
        for key, _ in sel.select(timeout=0.2):
            c = key.data
            try:
                data = c["s"].recv(65536)
            except (BlockingIOError, InterruptedError):
                continue
            except OSError:
                data = b""
            if not data:
                c["closed"] = time.monotonic()
                sel.unregister(c["s"])
    t1 = time.monotonic()
    for kind, limit in (("tcp", TCP_LIMIT_S), ("ws", WS_LIMIT_S)):
        mine = [c for c in conns if c["kind"] == kind]
        late = [c for c in mine if c["closed"] is None or c["closed"] - c["opened"] > limit]
        check(not late, "silent %s connections: %d of %d closed by the server within %d s"
              % (kind, len(mine) - len(late), len(mine), limit))
    for c in conns:
        c["s"].close()
    after = fds(srv.proc.pid)
    check(after <= base + 20, "the server's descriptors came back (%d, %d before)"
          % (after, base))
    honest.stop()
    hold_fps(honest, t0, t1, "%d idle sockets" % (SILENT + WEBSOCKETS))
    nothing_outside(srv)
    finish(srv)


main(lambda: attack(serve()))
