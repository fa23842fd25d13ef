"""Game-slot exhaustion through /next alone.

Sends: two anonymous clients (source addresses 127.0.0.2 and 127.0.0.3) walk
fresh userIds of the chaos-slots study (sessions allocated on its consent page,
trial.connectTimeout 3 s) to the game step as fast as the server answers, and
never open a websocket; they keep doing so for the whole attack. The server
runs scaled down: --max-sessions 40, --alloc-rate 30 (per address and minute).
Must hold: the honest participant already playing keeps its frame rate; the
server fills up (the attackers' late participants get "wait" with a message)
and each attacker is refused with 429, a JSON error and Retry-After; a second
honest participant who arrives while the server is full is let in within the
connect timeout (plus a poll) and plays; an attacker's participant whose session
was released is still on the game step (a new session, never a skipped game);
/metrics counts the refusals and the released sessions; the server exits 0."""
import http.client
import json
import threading
import time
import uuid

from chaosutil import (HERE, PROJECT, PROJECT_DIR, SECONDS, Honest, check, finish, hold_fps, main,
                       nothing_outside, serve)

SLOTS = "chaos-slots"
SLOTS_DIR = HERE + "/projects/chaos-slots"
CAP, RATE, CONNECT_TIMEOUT = 40, 30, 3


class Client:
    """HTTP/1.1 keep-alive from one source address."""

    def __init__(self, port, src):
        self.port, self.src = port, src
        self.c = None

    def next(self, project, user, body=None):
        """Returns (status, JSON, headers)."""
        for _ in range(2):
            try:
                if self.c is None:
                    self.c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30,
                                                        source_address=(self.src, 0))
                path = "/next?projectId=%s&userId=%s" % (project, user)
                if body is None:
                    self.c.request("GET", path)
                else:
                    self.c.request("POST", path, json.dumps(body),
                                   {"Content-Type": "application/json"})
                r = self.c.getresponse()
                data = r.read()
                return r.status, json.loads(data) if data else None, dict(r.getheaders())
            except (OSError, http.client.HTTPException):
                self.c = None
        raise ConnectionError("no answer from the server")


class Attacker(threading.Thread):
    def __init__(self, port, src):
        super().__init__(daemon=True)
        self.cl = Client(port, src)
        self.stop = threading.Event()
        self.users, self.allocated, self.waits, self.limited = [], 0, [], []
        self.errors = []

    def run(self):
        while not self.stop.is_set():
            u = "atk-" + uuid.uuid4().hex[:10]
            try:
                st, j, h = self.cl.next(SLOTS, u)
                if st == 200:
                    st, j, h = self.cl.next(SLOTS, u, {"consent": "yes"})
            except ConnectionError as e:
                self.errors.append(repr(e))
                continue
            self.users.append(u)
            if st == 200 and j.get("page") == "show_game_page":
                self.allocated += 1
            elif st == 200 and j.get("page") == "wait":
                self.waits.append(j)
            elif st == 429:
                self.limited.append((j, h))
            else:
                self.errors.append("%d %s" % (st, str(j)[:100]))


def metric(srv, name):
    st, body, _ = srv.request("GET", "/metrics", raw=True)
    for line in body.decode().splitlines():
        if line.startswith(name + " "):
            return float(line.split()[-1])
    return None


def test():
    srv = serve("--max-sessions", str(CAP), "--alloc-rate", str(RATE),
                projects=[PROJECT_DIR, SLOTS_DIR])
    try:
        attack(srv)
    finally:
        if srv.proc.poll() is None:  # a failed check: do not leave it running
            srv.proc.kill()
            srv.proc.wait()
        srv.cleanup()


def attack(srv):
    honest = Honest(srv).begin()
    t0 = time.monotonic()
    attackers = [Attacker(srv.port, "127.0.0.2"), Attacker(srv.port, "127.0.0.3")]
    for a in attackers:
        a.start()
    full_until = time.monotonic() + 30
    while time.monotonic() < full_until and not all(a.waits for a in attackers):
        time.sleep(0.05)
    check(all(a.waits for a in attackers),
          "the attackers fill the server: their late participants wait (%s)"
          % [(a.allocated, len(a.waits), len(a.limited)) for a in attackers])
    w = attackers[0].waits[0]
    check(w.get("step") == 2 and "busy" in w.get("message", ""),
          "a full server answers wait with a message: %s" % w)
    check(metric(srv, "hippo_sessions_active") == CAP, "the cap (--max-sessions %d) holds" % CAP)

    # A second honest participant arrives while the server is full.
    me = Client(srv.port, "127.0.0.1")
    user2 = "honest2-" + uuid.uuid4().hex[:8]
    st, j, _ = me.next(PROJECT, user2)
    st, j, _ = me.next(PROJECT, user2, {"consent": "yes"})
    check(st == 200 and j["page"] == "wait" and j["step"] == 2,
          "the second honest participant waits at first (%d %s)" % (st, j.get("page")))
    arrived = time.monotonic()
    while j.get("page") != "show_game_page" and time.monotonic() < arrived + 60:
        time.sleep(0.5)  # the participant page polls /next
        st, j, _ = me.next(PROJECT, user2)
    waited = time.monotonic() - arrived
    check(j.get("page") == "show_game_page" and waited <= CONNECT_TIMEOUT + 2,
          "the second honest participant gets a game within the connect timeout "
          "(%.1f s <= %d s + a poll)" % (waited, CONNECT_TIMEOUT + 2))
    second = Honest(srv, PROJECT, user=user2, url=j["server"]).begin()
    time.sleep(max(2.0, SECONDS - (time.monotonic() - t0)))
    for a in attackers:
        a.stop.set()
    for a in attackers:
        a.join(60)
    t1 = time.monotonic()
    second.stop()
    check(len(second.times) >= 30, "the second honest participant plays (%d frames)"
          % len(second.times))

    for a in attackers:
        check(a.limited, "attacker %s is refused with 429 (%d allocated, %d waits)"
              % (a.cl.src, a.allocated, len(a.waits)))
        check(not a.errors, "attacker %s got only 200/429 answers (%s)"
              % (a.cl.src, a.errors[:3]))
    body, hdr = attackers[0].limited[0]
    check("try again" in body.get("error", "") and int(hdr.get("Retry-After", "0")) >= 1,
          "429 carries a JSON error and Retry-After: %s %s" % (body, hdr.get("Retry-After")))
    # the attackers' first participants: their sessions were released, never a skipped game
    probe = Client(srv.port, "127.0.0.4")
    for u in attackers[0].users[:5]:
        st, j, _ = probe.next(SLOTS, u)
        check(j.get("step") == 2 and (st == 429 or j.get("page") in ("show_game_page", "wait")),
              "a released participant is still on the game step (%d %s step %s)"
              % (st, j.get("page") or j.get("error"), j.get("step")))
    check(metric(srv, "hippo_sessions_connect_timeouts_total") >= 1,
          "released sessions are counted")
    check(metric(srv, 'hippo_sessions_refused_total{reason="full"}') >= 1 and
          metric(srv, 'hippo_sessions_refused_total{reason="rate"}') >= 1,
          "refusals are counted by reason")

    honest.stop()
    hold_fps(honest, t0, t1, "the slot exhaustion")
    nothing_outside(srv)
    finish(srv)


main(test)
