"""Guessing the admin token (the researcher console's sign-in).

Sends: during CHAOS_SECONDS, four threads from one address ask the admin API
(GET /api/studies, the console's event streams, a withdrawal) with random
tokens as fast as the server answers, and a fifth address sends a burst of
wrong tokens too.
Must hold: no request with a wrong token is ever let in; after its first 10
wrong tokens an address gets 429 with a JSON message and Retry-After, and
the server compares at most 10 + 1 per 6 s of its tokens (the rest are
refused before the token is looked at); the researcher with the right token
from another address is let in throughout; the honest participant keeps its
frame rate; nothing is written outside the data folder; the server exits 0."""
import http.client
import json
import os
import threading
import time

from chaosutil import (PROJECT, SECONDS, Honest, attacker_nice, check, finish, hold_fps, main,
                       nothing_outside, serve)
from serveutil import TOKEN

PATHS = [("GET", "/api/studies"), ("GET", "/api/live"),
         ("GET", "/api/projects/%s/participants/x/spectate" % PROJECT),
         ("POST", "/api/projects/%s/participants/x/withdraw" % PROJECT)]


def ask(port, method, path, token, source, conn=None):
    """One request from SOURCE; with CONN (a one-element list) over a kept-alive
    connection, so that a long attack does not use up the source address's
    ports with connections in TIME_WAIT."""
    c = conn[0] if conn and conn[0] else http.client.HTTPConnection(
        "127.0.0.1", port, timeout=10, source_address=(source, 0))
    body = json.dumps({"confirm": "x"}).encode() if method == "POST" else None
    try:
        c.request(method, path, body=body, headers={"Authorization": "Bearer " + token,
                                                     "Content-Type": "application/json"})
        r = c.getresponse()
        stream = r.headers.get("Content-Type") == "text/event-stream"
        text = r.read() if not stream else b""
    except (http.client.HTTPException, ConnectionError):
        c.close()
        if conn and conn[0]:  # the server closed the kept connection: a new one
            conn[0] = None
            return ask(port, method, path, token, source, conn)
        raise
    if conn is not None and not stream and not r.will_close:
        conn[0] = c
    else:
        c.close()
        if conn:
            conn[0] = None
    return r.status, text, r.headers


def test():
    srv = serve()
    honest = Honest(srv).begin()
    attacker_nice()
    t0 = time.monotonic()
    until = t0 + max(SECONDS, 3)
    statuses, bodies, lock = [], [], threading.Lock()

    def attacker(k):
        i, conn = 0, [None]
        while time.monotonic() < until:
            m, p = PATHS[(i + k) % len(PATHS)]
            st, body, h = ask(srv.port, m, p, "guess-%d-%d" % (k, i), "127.0.0.9", conn)
            with lock:
                statuses.append(st)
                if st == 429:
                    bodies.append((body, h.get("Retry-After")))
            i += 1

    threads = [threading.Thread(target=attacker, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    admin_ok = []
    other = []
    while time.monotonic() < until:
        st, _, _ = ask(srv.port, "GET", "/api/studies", TOKEN, "127.0.0.20")
        admin_ok.append(st)
        if len(other) < 12:
            other.append(ask(srv.port, "GET", "/api/studies", "nope", "127.0.0.21")[0])
        time.sleep(0.2)
    for t in threads:
        t.join()
    t1 = time.monotonic()
    n401 = statuses.count(401)
    check(200 not in statuses and set(statuses) <= {401, 429},
          "%d requests with guessed tokens: none let in (%s)" % (len(statuses), sorted(set(statuses))))
    allowed = 10 + (t1 - t0) / 6 + 1
    check(n401 <= allowed, "tokens compared: %d, at most %.0f (10, then one per 6 s)" % (n401, allowed))
    check(bodies and all(b"too many failed logins" in b and r and int(r) >= 1 for b, r in bodies),
          "the refusals past the allowance are 429 with a JSON message and Retry-After")
    check(set(admin_ok) == {200}, "the researcher from another address is let in throughout "
          "(%d requests)" % len(admin_ok))
    check(other[:10] == [401] * 10 and other[10:] and set(other[10:]) == {429},
          "another address has its own allowance: 10 wrong tokens, then 429")
    honest.stop()
    hold_fps(honest, t0, t1, "the token guessing")
    nothing_outside(srv)
    finish(srv)


main(test)
