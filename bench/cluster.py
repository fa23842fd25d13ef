#!/usr/bin/env python3
"""Figures for several nodes (docs/cluster.md, docs/performance.md "Several
nodes"), with examples/cartpole and records kept locally (--records-local):

  placement: N participants one after the other, each straight through the
  steps (no reading time): the /next POST that places the session at
  startServerStep, and the time from the POST that shows the game page to the
  first frame on the websocket; one node alone vs three nodes sharing an
  SQLite store behind HAProxy.

  failover: K participants playing on three nodes; one node is killed (-9);
  for each of its participants, the seconds from the kill to their next frame
  on another node, the page behaving as web/ does (it asks /next before each
  reconnect). For each lease setting given: RENEW_MS/LEASE_MS with the nodes
  probing each other (--internal), RENEW_MS/LEASE_MS/lease without (the
  lease alone finds the dead node).

    python3 bench/cluster.py HIPPO_BIN [N] [K] [RENEW_MS/LEASE_MS[/lease] ...]
    e.g. python3 bench/cluster.py build/release/hippo 20 12 2000/10000 2000/10000/lease

HIPPO_STORE=postgresql://... runs the nodes (and the one node) on that
participant store instead of an SQLite file; HIPPO_STORE=postgresql on a
PostgreSQL server of its own (tests/integration/pgutil.py: loopback, fsync
off), a new database per run.
"""
import asyncio
import os
import shutil
import signal
import statistics
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "integration"))
os.environ.setdefault("HIPPO_SRC", os.path.join(HERE, ".."))
if len(sys.argv) > 1:
    os.environ["HIPPO_BIN"] = os.path.abspath(sys.argv[1])

import websockets  # noqa: E402

from clusterutil import Haproxy, Node, Player, http, node_of  # noqa: E402
from serveutil import EXAMPLE, Serve, free_port, servers, wait_for  # noqa: E402

PID = "cartpole-demo"


def ms(xs):
    xs = sorted(xs)
    return "median %.1f ms, p90 %.1f ms, p99 %.1f ms, max %.1f ms" % (
        statistics.median(xs) * 1e3, xs[int(0.9 * (len(xs) - 1))] * 1e3,
        xs[int(0.99 * (len(xs) - 1))] * 1e3, xs[-1] * 1e3)


_pg = []
_runs = [0]


def store_of(tmp):
    """The participant store of one run (HIPPO_STORE, see above)."""
    want = os.environ.get("HIPPO_STORE", "")
    if "://" in want:
        return want
    if want.startswith("postgres"):
        if not _pg:
            import pgutil
            _pg.append(pgutil.Postgres())
        _runs[0] += 1
        return _pg[0].create_db("bench%d" % _runs[0])
    return "sqlite:" + os.path.join(tmp, "hippo.db")


async def first_frame(url, project, user):
    async with websockets.connect(url, max_size=16 << 20) as ws:
        await ws.send('{"userId": "%s", "projectId": "%s"}' % (user, project))
        await ws.send('{"command": "start"}')
        while True:
            m = await ws.recv()
            if isinstance(m, bytes) or '"frame"' in m:
                return


async def placement(origin, n, tag):
    place, game = [], []
    for i in range(n):
        user = "%s-%d" % (tag, i)
        q = "/next?projectId=%s&userId=%s" % (PID, user)
        http(origin, "GET", q)
        t0 = time.monotonic()
        http(origin, "POST", q, {"consent": "yes"})  # startServerStep: allocated / placed
        t1 = time.monotonic()
        st, j = http(origin, "POST", q, {})           # the game step: show_game_page
        await first_frame(j.get("server") or origin.replace("http", "ws") + "/ws", PID, user)
        t2 = time.monotonic()
        place.append(t1 - t0)
        game.append(t2 - t1)
    return place, game


def stop_all():
    for s in servers:
        s.stop()
    servers.clear()


def long_study(tmp):
    """examples/cartpole whose game goes on (maxEpisodes 100000) until stopped."""
    d = os.path.join(tmp, "study")
    shutil.copytree(EXAMPLE, d)
    path = os.path.join(d, "config.yml")
    with open(path) as f:
        text = f.read().replace("maxEpisodes: 3", "maxEpisodes: 100000")
    with open(path, "w") as f:
        f.write(text)
    return d


def cluster(tmp, renew, lease, args=(), study=EXAMPLE, internal=True):
    hp_port = free_port()
    origin = "http://127.0.0.1:%d" % hp_port
    store = store_of(tmp)
    nodes = {}
    for name in ("a", "b", "c"):
        nodes[name] = Node(name, origin, store, [study], dict(os.environ), slots=50,
                           data=os.path.join(tmp, "data-" + name), internal=internal,
                           args=("--records-local", "--node-renew", str(renew), "--node-lease",
                                 str(lease), "--alloc-rate", "0", "--max-per-address", "0", *args))
    hp = Haproxy(hp_port, {n: s.port for n, s in nodes.items()})
    return origin, nodes, hp


async def failover(k, renew, lease, internal):
    tmp = tempfile.mkdtemp(prefix="hippo-bench-cluster-")
    origin, nodes, hp = cluster(tmp, renew, lease, study=long_study(tmp), internal=internal)
    try:
        players = [Player(origin, PID, "f-%d" % i) for i in range(k)]
        for p in players:
            p.to_game()
        kill = {}
        tasks = [asyncio.ensure_future(p.play(
            stop=lambda p: "t" in kill and len(p.gaps) > 0 or
            ("t" in kill and node_of(p.server) != "a" and time.monotonic() > kill["t"] + 2),
            timeout=120)) for p in players]
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(None, lambda: wait_for(
            lambda: all(p.frames > 30 for p in players), "the games to run", timeout=60))
        await asyncio.sleep(lease / 1000 * 0.37)  # not in phase with the renewals
        victims = [p for p in players if node_of(p.server) == "a"]
        kill["t"] = time.monotonic()
        nodes["a"].proc.send_signal(signal.SIGKILL)
        nodes["a"].proc.wait()
        nodes["a"].expect_exit(-9)
        await asyncio.gather(*tasks)
        lost = [g[1] - kill["t"] for p in victims for g in p.gaps if g[0] >= kill["t"] - 1]
        return lost
    finally:
        hp.stop()
        stop_all()


async def main():
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 20
    k = int(sys.argv[3]) if len(sys.argv) > 3 else 12
    leases = sys.argv[4:] or ["2000/10000", "2000/10000/lease"]
    tmp = tempfile.mkdtemp(prefix="hippo-bench-single-")
    one = Serve(EXAMPLE, data=os.path.join(tmp, "data"),
                args=("--alloc-rate", "0", "--max-per-address", "0", "--store", store_of(tmp)))
    print("participant store: %s" % (os.environ.get("HIPPO_STORE") or "an SQLite file per run"))
    p1, g1 = await placement(one.url, n, "s")
    stop_all()
    print("one node:    allocation at startServerStep (POST)  %s" % ms(p1))
    print("one node:    game page POST -> first frame         %s" % ms(g1))
    tmp = tempfile.mkdtemp(prefix="hippo-bench-cluster-")
    origin, nodes, hp = cluster(tmp, 2000, 10000)
    try:
        p3, g3 = await placement(origin, n, "c")
    finally:
        hp.stop()
        stop_all()
    print("three nodes: placement at startServerStep (POST)   %s" % ms(p3))
    print("three nodes: game page POST -> first frame         %s" % ms(g3))
    for spec in leases:
        f = spec.split("/")
        renew, lease, internal = int(f[0]), int(f[1]), f[2:] != ["lease"]
        lost = await failover(k, renew, lease, internal)
        print("kill -9, renew %d ms / lease %d ms, %s: %d participants, seconds to their next "
              "frame: median %.2f, max %.2f" % (
                  renew, lease, "probed (--internal)" if internal else "lease only", len(lost),
                  statistics.median(lost), max(lost)))


if __name__ == "__main__":
    asyncio.run(main())
