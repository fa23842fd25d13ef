"""Requests whose body cannot be framed: request smuggling, hangs, a crash.

Sends: over CHAOS_SECONDS, each on a fresh connection, POSTs to a waiting participant's
/next with an encoded CR or LF cutting the userId short, two Content-Length headers (equal
or not), a non-numeric Content-Length, Transfer-Encoding: chunked (with and without
Content-Length), no Content-Length, a body far over the limit; PUT and PATCH without
Content-Length; a GET whose chunked body hides a second request; and empty POST bodies.
Must hold: each unframeable request gets its 4xx JSON answer (400, 411 or 413) within 5 s,
alone (nothing hidden behind it is answered) and its connection is closed; the participant
they aim at stays at step 1; an empty POST body is an empty form (200); the honest
participant keeps its frame rate; the server exits 0 (the sanitizer build exits on
undefined behaviour)."""
import json
import socket
import time

from chaosutil import (PROJECT, SECONDS, Honest, check, finish, hold_fps, main, nothing_outside,
                       serve)

VICTIM = "framing-victim"
Q = "/next?projectId=%s&userId=%s" % (PROJECT, VICTIM)
SMUGGLED = ("POST %s HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            "Content-Length: 2\r\n\r\n{}" % Q)


def post(head, body=b"{}", path=Q, method="POST"):
    return ("%s %s HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n%s\r\n"
            % (method, path, head)).encode() + body


# name -> (request bytes, expected status)
CASES = {
    "encoded CR LF in userId": (post("Content-Length: 2\r\n",
                                     path=Q.replace(VICTIM, VICTIM + "%0d%0aX")), 400),
    "encoded LF in userId": (post("Content-Length: 2\r\n", path=Q.replace(VICTIM,
                                                                          VICTIM + "%0aX")), 400),
    "two equal Content-Length": (post("Content-Length: 2\r\nContent-Length: 2\r\n"), 400),
    "two different Content-Length": (post("Content-Length: 2\r\nContent-Length: 40\r\n"), 400),
    "non-numeric Content-Length": (post("Content-Length: abc\r\n", b""), 400),
    "hex Content-Length": (post("Content-Length: 0x2\r\n"), 400),
    "negative Content-Length": (post("Content-Length: -2\r\n"), 400),
    "chunked body": (post("Transfer-Encoding: chunked\r\n", b"2\r\n{}\r\n0\r\n\r\n"), 411),
    "chunked and Content-Length": (post("Transfer-Encoding: chunked\r\nContent-Length: 2\r\n",
                                        b"2\r\n{}\r\n0\r\n\r\n"), 400),
    "POST without Content-Length": (post(""), 411),
    "Content-Length far over the limit": (post("Content-Length: 99999999999\r\n"), 413),
    "PUT without Content-Length": (post("", b"", method="PUT"), 411),
    "PATCH without Content-Length": (post("", b"", method="PATCH"), 411),
    "GET with a chunked body hiding a request": (
        ("GET /healthz HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n%x\r\n%s\r\n"
         "0\r\n\r\n" % (len(SMUGGLED), SMUGGLED)).encode(), 400),
}


def exchange(req, timeout=5.0):
    """Sends REQ; returns (raw answer bytes, closed by the server?, seconds)."""
    s = socket.create_connection(("127.0.0.1", PORT[0]), timeout=timeout)
    t0 = time.monotonic()
    buf, closed = b"", False
    try:
        s.sendall(req)
        s.settimeout(timeout)
        while True:
            c = s.recv(65536)
            if not c:
                closed = True
                break
            buf += c
    except (socket.timeout, ConnectionResetError):
        pass
    finally:
        s.close()
    return buf, closed, time.monotonic() - t0


def parse(buf):
    """(status of the first answer, its JSON body or None, number of answers)."""
    n = buf.count(b"HTTP/1.")
    if not buf.startswith(b"HTTP/1."):
        return None, None, n
    head, _, rest = buf.partition(b"\r\n\r\n")
    status = int(head.split()[1])
    length = 0
    for line in head.split(b"\r\n")[1:]:
        k, _, v = line.partition(b":")
        if k.strip().lower() == b"content-length":
            length = int(v)
    try:
        body = json.loads(rest[:length])
    except ValueError:
        body = None
    return status, body, n


PORT = [0]


def attack(srv):
    PORT[0] = srv.port
    st, j = srv.next(PROJECT, VICTIM)
    check(st == 200 and j["step"] == 1, "the targeted participant waits at step 1")
    honest = Honest(srv).begin()
    results = {k: [] for k in CASES}
    empties = []
    t0 = time.monotonic()
    end = t0 + SECONDS
    rounds = 0
    while time.monotonic() < end or rounds == 0:
        for name, (req, _) in CASES.items():
            results[name].append(exchange(req))
        empty = ("POST /next?projectId=%s&userId=empty-%d HTTP/1.1\r\nHost: x\r\n"
                 "Content-Length: 0\r\nConnection: close\r\n\r\n" % (PROJECT, rounds % 4)).encode()
        empties.append(exchange(empty))
        rounds += 1
    t1 = time.monotonic()
    for name, (req, want) in CASES.items():
        bad = []
        for buf, closed, secs in results[name]:
            status, body, n = parse(buf)
            if not (status == want and isinstance(body, dict) and body.get("error") and n == 1
                    and closed and secs < 5):
                bad.append("status %s, %d answers, closed %s, %.1f s: %r"
                           % (status, n, closed, secs, buf[:120]))
        check(not bad, "%s: %d x %d {\"error\"} alone, connection closed (%s)"
              % (name, len(results[name]), want, bad[0] if bad else "all"))
    statuses = sorted({parse(b)[0] for b, _, _ in empties})
    check(statuses == [200], "an empty POST body is an empty form: %d x %s"
          % (len(empties), statuses))
    st, j = srv.next(PROJECT, VICTIM)
    check(st == 200 and j["step"] == 1,
          "the targeted participant is still at step 1 (step %s)" % j.get("step"))
    honest.stop()
    hold_fps(honest, t0, t1, "%d rounds of unframeable requests" % rounds)
    nothing_outside(srv)
    finish(srv)


main(lambda: attack(serve()))
