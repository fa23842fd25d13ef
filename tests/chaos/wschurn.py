"""Hello/stop churn over raw sockets: many short trials, as fast as the server
takes them, with little client CPU (no websocket library: the few frames a
cycle needs are built once).

One cycle: TCP connect, websocket upgrade, the handshake {"userId", "projectId",
"hello": true}, wait for the first message (its latency is measured), send
{"command": "stop"}, read until "done", close.

Also a command: `python3 wschurn.py PORT CYCLES [THREADS] [USERS]` prints the
figures as JSON (used to measure the server, docs/performance.md)."""
import json
import os
import socket
import statistics
import sys
import threading
import time

UPGRADE = ("GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
           "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")


def frame(text, opcode=1):
    """A client text frame (masked with a zero key: valid, and no work)."""
    b = text.encode() if isinstance(text, str) else text
    n = len(b)
    if n < 126:
        head = bytes([0x80 | opcode, 0x80 | n])
    else:
        head = bytes([0x80 | opcode, 0x80 | 126, n >> 8, n & 255])
    return head + b"\0\0\0\0" + b


CLOSE = frame(b"\x03\xe8", opcode=8)
STOP = frame('{"command":"stop"}')


class Conn:
    def __init__(self, port, timeout=30):
        self.s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf = b""
        self.s.sendall(UPGRADE.encode())
        while b"\r\n\r\n" not in self.buf:
            self._more()
        head, self.buf = self.buf.split(b"\r\n\r\n", 1)
        if b" 101 " not in head.split(b"\r\n", 1)[0]:
            raise ConnectionError("upgrade refused: %r" % head[:80])

    def _more(self):
        d = self.s.recv(65536)
        if not d:
            raise ConnectionError("closed by the server")
        self.buf += d

    def recv(self):
        """The next message: (opcode, payload bytes)."""
        while len(self.buf) < 2:
            self._more()
        op, n = self.buf[0] & 15, self.buf[1] & 127
        off = 2
        if n == 126:
            while len(self.buf) < 4:
                self._more()
            n, off = int.from_bytes(self.buf[2:4], "big"), 4
        elif n == 127:
            while len(self.buf) < 10:
                self._more()
            n, off = int.from_bytes(self.buf[2:10], "big"), 10
        while len(self.buf) < off + n:
            self._more()
        payload, self.buf = self.buf[off:off + n], self.buf[off + n:]
        return op, payload

    def close(self):
        try:
            self.s.sendall(CLOSE)
        except OSError:
            pass
        self.s.close()


def cycle(port, user, project="p"):
    """One hello/stop cycle; returns the first-message latency in ms."""
    c = Conn(port)
    try:
        c.s.sendall(frame(json.dumps({"userId": user, "projectId": project, "hello": True})))
        t0 = time.perf_counter()
        op, first = c.recv()
        lat = (time.perf_counter() - t0) * 1e3
        if op != 1 or not first.startswith(b'{"hello"'):
            raise ConnectionError("first message: %r" % first[:80])
        c.s.sendall(STOP)
        while True:
            op, m = c.recv()
            if op == 8:
                raise ConnectionError("closed before done: %r" % m[:80])
            if op == 1 and m == b"done":
                break
        return lat
    finally:
        c.close()


def churn(port, cycles, threads=8, users=100, prefix="churn"):
    """CYCLES cycles over THREADS connections at a time, cycling through USERS
    user ids. Returns {"cycles", "errors", "seconds", "latency_ms": [...]}"""
    lock = threading.Lock()
    lat, errors = [], []
    left = [cycles]

    def run(k):
        i = 0
        while True:
            with lock:
                if left[0] <= 0:
                    return
                left[0] -= 1
            try:
                # each thread its own ids: two connections of one participant
                # would replace each other
                v = cycle(port, "%s-%d-%d" % (prefix, k, i % max(1, users // threads)))
                with lock:
                    lat.append(v)
            except (OSError, ConnectionError) as e:
                with lock:
                    errors.append(repr(e))
            i += 1

    t0 = time.monotonic()
    ts = [threading.Thread(target=run, args=(k,)) for k in range(threads)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    return {"cycles": len(lat), "errors": errors, "seconds": time.monotonic() - t0,
            "latency_ms": lat}


def rss_kb(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


if __name__ == "__main__":
    port, n = int(sys.argv[1]), int(sys.argv[2])
    th = int(sys.argv[3]) if len(sys.argv) > 3 else 8
    users = int(sys.argv[4]) if len(sys.argv) > 4 else 100
    pid = int(os.environ.get("PID", "0"))
    r = churn(port, n, th, users)
    lat = sorted(r.pop("latency_ms"))
    r["errors"] = len(r["errors"])
    if lat:
        r["latency_median_ms"] = round(statistics.median(lat), 3)
        r["latency_p99_ms"] = round(lat[int(len(lat) * 0.99) - 1], 3)
    if pid:
        r["rss_mb"] = round(rss_kb(pid) / 1024, 1)
    print(json.dumps(r))
