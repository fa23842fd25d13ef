"""Slowloris: requests sent a byte at a time, to hold connections forever.

Sends: 300 connections whose request line and headers never end (one byte a second), and
100 POSTs to /next announcing 100 000 bytes of body and sending one byte a second; for
max(CHAOS_SECONDS, 20) seconds, /healthz is asked every 0.2 s meanwhile.
Must hold: the server hangs up on every header trickle within 20 s of its first byte and
answers every body trickle 408 {"error"} and closes it within 20 s (a body must arrive within
10 s plus one second per 64 KiB); /healthz answers within 0.5 s throughout; the honest
participant keeps its frame rate; the server exits 0."""
import json
import selectors
import socket
import threading
import time

from chaosutil import (PROJECT, SECONDS, Honest, check, finish, hold_fps, main, nothing_outside,
                       serve)

HEADERS = 300
BODIES = 100
LIMIT_S = 20


class Trickle:
    def __init__(self, port, data, kind):
        self.s = socket.create_connection(("127.0.0.1", port), timeout=5)
        self.s.setblocking(False)
        self.data, self.kind, self.pos = data, kind, 0
        self.opened = time.monotonic()
        self.closed_at = None
        self.answer = b""

    def step(self):
        if self.closed_at is None and self.pos < len(self.data):
            try:
                self.s.send(self.data[self.pos:self.pos + 1])
                self.pos += 1
            except (BlockingIOError, BrokenPipeError, ConnectionResetError):
                pass

    def readable(self):
        try:
            c = self.s.recv(65536)
        except (BlockingIOError, InterruptedError):
            return
        except (ConnectionResetError, OSError):
            c = b""
        if c:
            self.answer += c
        else:
            self.closed_at = time.monotonic()


def healthz_probe(srv, until, out):
    while time.monotonic() < until:
        t = time.monotonic()
        try:
            st, _, _ = srv.request("GET", "/healthz")
        except Exception:
            st = None
        out.append((time.monotonic() - t, st))
        time.sleep(0.2)


def attack(srv):
    honest = Honest(srv).begin()
    sel = selectors.DefaultSelector()
    trickles = []
    head = ("GET /next?projectId=%s&userId=slowloris HTTP/1.1\r\nHost: x\r\nX-Pad: "
            % PROJECT).encode() + b"a" * 1000
    body = ("POST /next?projectId=%s&userId=slowbody HTTP/1.1\r\nHost: x\r\n"
            "Content-Type: application/json\r\nContent-Length: 100000\r\n\r\n"
            % PROJECT).encode()
    for i in range(HEADERS + BODIES):
        if i < HEADERS:
            t = Trickle(srv.port, head, "headers")
        else:
            t = Trickle(srv.port, body + b"{" + b" " * 99998 + b"}", "body")
            # The request's head at once, then the body a byte at a time.
            t.s.setblocking(True)
            t.s.sendall(body)
            t.s.setblocking(False)
            t.pos = len(body)
        trickles.append(t)
        sel.register(t.s, selectors.EVENT_READ, t)
    t0 = time.monotonic()
    until = t0 + max(SECONDS, LIMIT_S)
    lat = []
    probe = threading.Thread(target=healthz_probe, args=(srv, until, lat), daemon=True)
    probe.start()
    next_byte = t0
    while time.monotonic() < until:
        now = time.monotonic()
        if now >= next_byte:
            for t in trickles:
                t.step()
            next_byte = now + 1.0
        for key, _ in sel.select(timeout=0.1):
            t = key.data
            t.readable()
            if t.closed_at is not None:
                sel.unregister(t.s)
    t1 = time.monotonic()
    probe.join()
    for kind in ("headers", "body"):
        mine = [t for t in trickles if t.kind == kind]
        late = [t for t in mine if t.closed_at is None or t.closed_at - t.opened > LIMIT_S]
        check(not late, "%s trickles: %d of %d closed within %d s (slowest %s)"
              % (kind, len(mine) - len(late), len(mine), LIMIT_S,
                 "%.1f s" % max(t.closed_at - t.opened for t in mine) if not late else "open"))
    bad = []
    for t in trickles:
        if t.kind != "body":
            continue
        status = int(t.answer.split()[1]) if t.answer.startswith(b"HTTP/1.") else None
        err = json.loads(t.answer.partition(b"\r\n\r\n")[2] or b"{}").get("error") \
            if status else None
        if status != 408 or not err:
            bad.append((status, t.answer[:80]))
    check(not bad, "every body trickle was answered 408 {\"error\"} (%s)" % (bad[:1] or "all"))
    for t in trickles:
        t.s.close()
    slow = max(x for x, _ in lat)
    check(lat and all(st == 200 for _, st in lat) and slow < 0.5,
          "/healthz during the attack: %d answers, slowest %.3f s (< 0.5 s)" % (len(lat), slow))
    honest.stop()
    hold_fps(honest, t0, t1, "%d slow connections" % (HEADERS + BODIES))
    st, j = srv.next(PROJECT, "slowbody")
    check(st == 200 and j["step"] == 1, "the body trickles changed nothing stored")
    nothing_outside(srv)
    finish(srv)


main(lambda: attack(serve()))
