"""`hippo trial`'s per-address limits (docs/protocol.md): with
--max-per-address 1 a second new participant from the same address is
refused (1008, naming the limit) while the first plays; behind a proxy
(--trust-proxy) the address is X-Forwarded-For's last entry, so two
participants behind one proxy are two addresses, and without the flag the
header is ignored (a client cannot name itself another address)."""
import asyncio
import json

import websockets

from serveutil import EXAMPLE, Trial, check, main


async def first_message(url, user, xff=None):
    """The first message for USER's handshake, or ("closed", code, reason)."""
    headers = {"X-Forwarded-For": xff} if xff else None
    ws = await websockets.connect(url, open_timeout=10, extra_headers=headers)
    await ws.send(json.dumps({"userId": user, "projectId": "cartpole-demo"}))
    try:
        return ws, await asyncio.wait_for(ws.recv(), 10)
    except websockets.ConnectionClosed as e:
        return None, ("closed", e.rcvd.code if e.rcvd else None, e.rcvd.reason if e.rcvd else "")


async def run():
    srv = Trial(EXAMPLE, "--max-per-address", "1", "--log-level", "warn")
    url = srv.url + "/"
    a, m = await first_message(url, "first", "203.0.113.1")
    check(a is not None, "a first participant plays: %.60s" % (m,))
    b, m = await first_message(url, "second", "203.0.113.2")
    check(b is None and m[1] == 1008 and "your address" in m[2],
          "without --trust-proxy the header is ignored: one address, the second is refused: %s"
          % (m,))
    await a.close()
    srv.stop()

    srv = Trial(EXAMPLE, "--max-per-address", "1", "--trust-proxy", "--log-level", "warn")
    url = srv.url + "/"
    a, m = await first_message(url, "first", "10.0.0.9, 203.0.113.1")
    b, m2 = await first_message(url, "second", "203.0.113.2")
    check(a is not None and b is not None,
          "behind a trusted proxy two forwarded addresses both play: %.40s / %.40s" % (m, m2))
    c, m = await first_message(url, "third", "198.51.100.1, 203.0.113.1")
    check(c is None and m[1] == 1008 and "at most 1" in m[2],
          "the last X-Forwarded-For entry is the address: a third from 203.0.113.1 is "
          "refused: %s" % (m,))
    await a.close()
    await b.close()


if __name__ == "__main__":
    main(run)
