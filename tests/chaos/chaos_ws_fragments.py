"""Websocket messages that never end, once a session is attached.

Sends: participants walk to the game, connect, send their handshake, then hold a message
open: a first text fragment whose continuation never comes, a frame announcing 1000 bytes
of payload of which 10 arrive, or continuation fragments of one byte a second without end.
Five of each, for max(CHAOS_SECONDS, 15) seconds.
Must hold: the server closes every one of them with 1008 within 15 s of the message's
first byte (a message must be complete 10 s after it began); the honest participant keeps
its frame rate; the server exits 0."""
import base64
import json
import os
import socket
import struct
import time

from chaosutil import (PROJECT, SECONDS, Honest, check, finish, hold_fps, main, nothing_outside,
                       serve, walk_to_game)

PER_KIND = 5
LIMIT_S = 15


def frame(opcode, payload, fin=True, announce=None):
    """A masked client frame; ANNOUNCE claims another payload length."""
    n = len(payload) if announce is None else announce
    head = bytes([(0x80 if fin else 0) | opcode])
    if n < 126:
        head += bytes([0x80 | n])
    elif n < 65536:
        head += bytes([0x80 | 126]) + struct.pack("!H", n)
    else:
        head += bytes([0x80 | 127]) + struct.pack("!Q", n)
    mask = os.urandom(4)
    return head + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload))


class RawWs:
    """A websocket spoken by hand, so messages can be left unfinished."""

    def __init__(self, url, user):
        hostport, path = url.split("://", 1)[1].split("/", 1)
        host, port = hostport.rsplit(":", 1)
        self.s = socket.create_connection((host, int(port)), timeout=10)
        key = base64.b64encode(os.urandom(16)).decode()
        self.s.sendall(("GET /%s HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\n"
                        "Connection: Upgrade\r\nSec-WebSocket-Key: %s\r\n"
                        "Sec-WebSocket-Version: 13\r\n\r\n" % (path, hostport, key)).encode())
        buf = b""
        while b"\r\n\r\n" not in buf:
            c = self.s.recv(4096)
            if not c:
                raise AssertionError("upgrade refused")
            buf += c
        head, _, self.buf = buf.partition(b"\r\n\r\n")
        check(head.startswith(b"HTTP/1.1 101"), "%s: websocket open" % user)
        self.s.sendall(frame(1, json.dumps({"userId": user, "projectId": PROJECT}).encode()))
        self.s.setblocking(False)
        self.close_code = None
        self.closed_at = None

    def pump(self):
        """Reads what arrived; notes a close frame or the end of the connection."""
        ended = False
        try:
            while True:
                c = self.s.recv(65536)
                if not c:
                    ended = True
                    break
                self.buf += c
        except (BlockingIOError, InterruptedError):
            pass
        except OSError:
            ended = True
        self.parse()
        if ended:
            self.closed_at = self.closed_at or time.monotonic()

    def parse(self):
        while len(self.buf) >= 2:
            op, n = self.buf[0] & 0x0f, self.buf[1] & 0x7f
            off = 2
            if n == 126:
                if len(self.buf) < 4:
                    return
                n, off = struct.unpack("!H", self.buf[2:4])[0], 4
            elif n == 127:
                if len(self.buf) < 10:
                    return
                n, off = struct.unpack("!Q", self.buf[2:10])[0], 10
            if len(self.buf) < off + n:
                return
            payload, self.buf = self.buf[off:off + n], self.buf[off + n:]
            if op == 8 and self.close_code is None:
                self.close_code = struct.unpack("!H", payload[:2])[0] if n >= 2 else 1005
                self.closed_at = time.monotonic()

    def send(self, data):
        try:
            self.s.setblocking(True)
            self.s.sendall(data)
        except OSError:
            pass
        finally:
            self.s.setblocking(False)


def attack(srv):
    honest = Honest(srv).begin()
    attackers = []
    for kind in ("fragment", "short frame", "endless continuation"):
        for i in range(PER_KIND):
            user = "frag-%s-%d" % (kind.split()[0], i)
            ws = RawWs(walk_to_game(srv, user), user)
            ws.kind = kind
            attackers.append(ws)
    t0 = time.monotonic()
    for ws in attackers:
        if ws.kind == "fragment":
            ws.send(frame(1, b'{"action":', fin=False))
        elif ws.kind == "short frame":
            ws.send(frame(1, b'{"action":"', announce=1000)[:2 + 2 + 4 + 10])
        else:
            ws.send(frame(1, b'{"act', fin=False))
        ws.started = time.monotonic()
    until = t0 + max(SECONDS, LIMIT_S + 1)
    next_byte = t0 + 1
    while time.monotonic() < until:
        for ws in attackers:
            ws.pump()
        if time.monotonic() >= next_byte:
            for ws in attackers:
                if ws.kind == "endless continuation" and ws.closed_at is None:
                    ws.send(frame(0, b" ", fin=False))
            next_byte += 1
        time.sleep(0.05)
    t1 = time.monotonic()
    for kind in ("fragment", "short frame", "endless continuation"):
        mine = [w for w in attackers if w.kind == kind]
        ok = [w for w in mine if w.close_code == 1008 and w.closed_at - w.started <= LIMIT_S]
        check(len(ok) == len(mine), "%s: %d of %d closed with 1008 within %d s (%s)"
              % (kind, len(ok), len(mine), LIMIT_S,
                 sorted({(w.close_code, round(w.closed_at - w.started) if w.closed_at else None)
                         for w in mine})))
    for ws in attackers:
        ws.s.close()
    honest.stop()
    hold_fps(honest, t0, t1, "%d unfinished messages" % len(attackers))
    nothing_outside(srv)
    finish(srv)


main(lambda: attack(serve()))
