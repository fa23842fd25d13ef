"""Websocket floods from anonymous clients.

Sends: during CHAOS_SECONDS, four attackers each walk a fresh participant to the game
and send a stream of small action messages as fast as the socket takes them, plus
malformed JSON, binary garbage and a 100 MB message on other connections.
Must hold: the honest participant keeps its frame rate; every attacker gets a
rate-limit error (then, flooding on, a close) or a close code (1008/1003/1009), never a crash; the honest
participant's records are complete; the server exits 0."""
import asyncio
import json
import time

import websockets

from chaosutil import (SECONDS, Honest, attacker_nice, check, finish, hold_fps, main,
                       nothing_outside, serve, walk_to_game)


async def flooder(url, user, until):
    errors = sent = 0
    closed = False
    async with websockets.connect(url, max_size=16 << 20) as ws:
        await ws.send(json.dumps({"userId": user, "projectId": "chaos-honest"}))
        msg = json.dumps({"action": "left"})

        async def drain():
            nonlocal errors
            try:
                while True:
                    m = await ws.recv()
                    if isinstance(m, str) and '"error"' in m:
                        errors += 1
            except websockets.ConnectionClosed:
                pass
        reader = asyncio.create_task(drain())
        try:
            while time.monotonic() < until:
                for _ in range(200):
                    await ws.send(msg)
                    sent += 1
                await asyncio.sleep(0)
            await ws.close()
        except websockets.ConnectionClosed:
            # a flood far beyond any client is closed by the server (1008):
            # on a fast machine the socket may be gone before its close frame
            # is read, while this side is still sending
            closed = True
        await reader
    return sent, errors, closed


async def garbage(url, until):
    closes = []
    payloads = ["x" * (100 << 20)]  # one 100 MB message, then small garbage
    while time.monotonic() < until:
        for payload in payloads:
            try:
                async with websockets.connect(url, max_size=16 << 20) as ws:
                    await ws.send(payload)
                    await asyncio.wait_for(ws.recv(), 10)
            except websockets.ConnectionClosed as e:
                closes.append(e.rcvd.code if e.rcvd else e.code)
            except asyncio.TimeoutError:
                closes.append(None)
        payloads = ["{not json", bytes(range(256)) * 4]
        await asyncio.sleep(0.01)
    return closes


def test():
    srv = serve()
    honest = Honest(srv).begin()
    urls = [(walk_to_game(srv, "flood-%d" % i), "flood-%d" % i) for i in range(4)]

    async def attack():
        until = time.monotonic() + SECONDS
        return await asyncio.gather(*[flooder(u, n, until) for u, n in urls],
                                    garbage(urls[0][0], until))

    attacker_nice()
    t0 = time.monotonic()
    res = asyncio.run(attack())
    t1 = time.monotonic()
    for sent, errors, closed in res[:-1]:
        check(errors >= 1, "a flood of %d messages got rate-limit errors (%d)%s"
              % (sent, errors, ", then was closed" if closed else ""))
    closes = res[-1]
    check(closes and all(c in (1003, 1008, 1009) for c in closes),
          "garbage connections are closed with 1003/1008/1009: %s" % sorted(set(closes)))
    honest.stop()
    hold_fps(honest, t0, t1, "the websocket flood")
    nothing_outside(srv)
    finish(srv)


main(test)
