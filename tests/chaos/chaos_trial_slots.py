"""Session exhaustion of `hippo trial` over websockets alone.

Sends: against `hippo trial` (any handshake with a new userId opens a session
there), an anonymous client from 127.0.0.2 opens websockets with fresh userIds
as fast as the server answers and keeps every one it gets open, for the whole
attack. The server runs scaled down: --max-sessions 40, --max-per-address 10,
--alloc-rate 30 (per address and minute).
Must hold: the honest participant already playing keeps its frame rate; the
attacker never holds more than 10 sessions, and each refusal is a close (1008)
whose reason names the address limit; a second honest participant who arrives
during the attack is let in and plays; once the attacker's connections are
gone, its address gets sessions again (their ends released what it held); the
server exits 0. Before the limits, the attacker took every session and the
second participant was refused with "the server is full"."""
import asyncio
import json
import time
import uuid

import websockets

from chaosutil import PROJECT, PROJECT_DIR, SECONDS, Honest, check, finish, hold_fps, main
from serveutil import Trial

CAP, PER_ADDRESS, RATE = 40, 10, 30
ATTACKER = "127.0.0.2"


async def open_one(url, user):
    """A websocket from the attacker's address with USER's handshake: the open
    connection once its first message came, or the close (code, reason)."""
    ws = await websockets.connect(url, max_size=16 << 20, open_timeout=10,
                                  local_addr=(ATTACKER, 0))
    await ws.send(json.dumps({"userId": user, "projectId": PROJECT}))
    try:
        await asyncio.wait_for(ws.recv(), 10)
        return ws, None
    except websockets.ConnectionClosed as e:
        return None, (e.rcvd.code if e.rcvd else None, e.rcvd.reason if e.rcvd else "")


async def attack(url, until):
    held, refusals = [], []
    while time.monotonic() < until:
        ws, refused = await open_one(url, "attacker-" + uuid.uuid4().hex[:12])
        if ws:
            held.append(ws)
        else:
            refusals.append(refused)
            await asyncio.sleep(0.01)
    return held, refusals


async def release(url, held):
    """Ends each of the attacker's games ("stop", then "done"), then asks for
    one more session from its address: None when it gets one, else the close."""
    for ws in held:
        await ws.send(json.dumps({"command": "stop"}))
        while await asyncio.wait_for(ws.recv(), 30) != "done":
            pass
        await ws.close()
    ws, refused = await open_one(url, "attacker-again")
    if ws:
        await ws.close()
    return refused


def test():
    srv = Trial(PROJECT, "--log-level", "warn", "--max-sessions", str(CAP),
                "--max-per-address", str(PER_ADDRESS), "--alloc-rate", str(RATE),
                project_dir=PROJECT_DIR)
    url = srv.url + "/"
    honest = Honest(srv, PROJECT, url=url).begin()
    t0 = time.monotonic()
    until = t0 + max(SECONDS, 3)

    async def run():
        loop = asyncio.get_running_loop()
        task = asyncio.ensure_future(attack(url, until))
        await asyncio.sleep(min(1.0, SECONDS / 2))
        # a participant arriving while the attacker holds what it can
        late = await loop.run_in_executor(None, lambda: Honest(srv, PROJECT, url=url).begin())
        held, refusals = await task
        t1 = time.monotonic()
        check(len(held) <= PER_ADDRESS,
              "the attacker holds %d sessions, at most %d" % (len(held), PER_ADDRESS))
        check(refusals and all(c == 1008 and "your address" in r for c, r in refusals),
              "its %d further attempts are refused with 1008 naming the address limit: %s"
              % (len(refusals), sorted(set(refusals))[:2]))
        await loop.run_in_executor(None, late.stop)  # let in, it played; ends cleanly
        refused = await release(url, held)
        check(refused is None, "once its games ended, the address gets a session again (%s)"
              % (refused,))
        return t1

    t1 = asyncio.run(run())
    honest.stop()
    hold_fps(honest, t0, t1, "the session exhaustion")
    finish(srv)


main(test)
