"""Draining a node through the admin API (docs/cluster.md, "Draining"; the
console's Nodes page): two nodes a and b sharing one SQLite store.

- GET /api/nodes lists both (name, url, slots, used, live, draining,
  renewed) and names the node answering; a server that is no cluster node
  answers {"node": null, "nodes": []} and 404 to a drain;
- POST /api/nodes/b/drain on a: b learns it as it renews its lease and
  drains as on SIGTERM: its /healthz answers 503 "draining", new games are
  placed on a only, the game running on b goes on; b does not exit, and
  stays drained (idle) until it is restarted, which ends the drain;
- the drain is in a's audit log; an unknown node is a JSON 404, a malformed
  name a 400, no token a 401;
- a node asked to drain itself drains at once."""
import asyncio
import json
import os
import re
import shutil
import tempfile
import time
import uuid

import websockets

from serveutil import EXAMPLE, Serve, check, main, wait_for


def study(root):
    """examples/cartpole with a game that does not end while the test runs."""
    d = os.path.join(root, "drain")
    shutil.copytree(EXAMPLE, d)
    path = os.path.join(d, "config.yml")
    with open(path) as f:
        text = f.read()
    text = text.replace("id: cartpole-demo", "id: drain")
    text = re.sub(r"(?m)^  maxEpisodes: .*$", "  maxEpisodes: 100000", text)
    with open(path, "w") as f:
        f.write(text)
    return d


def node(name, store, project, data=None):
    return Serve(project, data=data, args=[
        "--store", store, "--node", name, "--records-local", "--slots", "6",
        "--drain-grace", "0", "--log-level", "warn"])


def uid():
    return "d-" + uuid.uuid4().hex[:8]


def to_game(srv, user):
    st, j = srv.next("drain", user)
    for _ in range(10):
        if st == 200 and j["page"] == "show_game_page":
            return j["server"]
        check(st == 200 and j["page"] != "wait", "%s: /next answers a page" % user, (st, j))
        st, j = srv.next("drain", user, {"consent": "yes"})
    raise AssertionError("%s: no game step" % user)


def ws_of(srv):
    return srv.url.replace("http://", "ws://") + "/ws"


def healthz(srv):
    st, j, _ = srv.request("GET", "/healthz")
    return st, j


async def run():
    tmp = tempfile.mkdtemp(prefix="hippo-drain-")
    try:
        store = "sqlite:" + os.path.join(tmp, "hippo.db")
        project = study(tmp)
        a = node("a", store, project)
        b = node("b", store, project, data=os.path.join(tmp, "data-b"))

        st, j, _ = a.admin("GET", "/nodes")
        check(st == 200 and j["node"] == "a" and [n["name"] for n in j["nodes"]] == ["a", "b"],
              "GET /api/nodes lists both nodes and names the one answering", j)
        nb = j["nodes"][1]
        check(nb["url"] == b.url and nb["slots"] == 6 and nb["used"] == 0 and nb["live"] and
              not nb["draining"] and isinstance(nb["renewed"], str),
              "each node: url, slots, used, live, draining, renewed", nb)

        # a game running on b before the drain
        check(to_game(a, uid()) == ws_of(a), "the first game is placed on a")
        user = uid()
        check(to_game(a, user) == ws_of(b), "the second on b")
        ws = await websockets.connect(ws_of(b), max_size=16 << 20, open_timeout=10)
        await ws.send(json.dumps({"userId": user, "projectId": "drain"}))
        await ws.send(json.dumps({"command": "start", "browser": "test"}))

        async def frames(n):
            got = 0
            while got < n:
                m = await asyncio.wait_for(ws.recv(), 20)
                if isinstance(m, bytes) or '"frame"' in m:
                    got += 1
            return got
        check(await frames(5) == 5, "the game on b runs")

        # refusals
        st, j, _ = a.admin("POST", "/nodes/zz/drain", {"by": "tester"})
        check(st == 404 and j == {"error": "no such node"}, "an unknown node: JSON 404", j)
        st, j, _ = a.admin("POST", "/nodes/Not_A_Node/drain", {})
        check(st == 400 and "node name" in j["error"], "a malformed node name: 400", j)
        st, j, _ = a.admin("POST", "/nodes/b/drain", {}, token=None)
        check(st == 401, "no token: 401", j)
        st, j, _ = a.admin("POST", "/nodes/b/drain", "[1]")
        check(st == 400, "a body that is not an object: 400", j)
        check(healthz(b)[0] == 200, "none of these drained b")

        st, j, _ = a.admin("POST", "/nodes/b/drain", {"by": "tester"})
        check(st == 200 and j["node"] == "b" and j["draining"] is True and j["audit"],
              "POST /api/nodes/b/drain on a", j)
        entry = j["audit"]
        t0 = time.monotonic()
        st, h = wait_for(lambda: (lambda r: r if r[0] == 503 else None)(healthz(b)),
                         "b's /healthz to say draining", timeout=10, every=0.1)
        check(h["status"] == "draining",
              "b drains %.1f s after the request (its next renewal): %s" % (
                  time.monotonic() - t0, h))
        fresh = [uid() for _ in range(4)]
        servers = [to_game(a if i % 2 else b, u) for i, u in enumerate(fresh)]
        check(servers == [ws_of(a)] * 4,
              "new games are placed on a only, whichever node answers: %s" % servers)
        check(await frames(30) == 30, "the game running on b goes on")
        await ws.close()
        st, j, _ = b.admin("GET", "/nodes")
        nb = next(n for n in j["nodes"] if n["name"] == "b")
        check(nb["draining"] and nb["live"], "b is listed live and draining", nb)
        st, audit, _ = a.admin("GET", "/audit")
        e = next((x for x in audit if x.get("action") == "drain"), None)
        check(e and e["node"] == "b" and e["by"]["name"] == "tester" and e["id"] == entry,
              "the drain is in a's audit log", audit[:2])

        # no exit: b stays up, drained, past its (zero) grace period
        time.sleep(3)
        check(b.alive() and healthz(b)[0] == 503, "b keeps running, drained")

        # a restart ends the drain
        rc, _ = b.stop()
        check(rc == 0, "b stops cleanly on SIGTERM", rc)
        b = node("b", store, project, data=os.path.join(tmp, "data-b"))
        check(healthz(b)[0] == 200, "b started again is not draining")
        st, j, _ = a.admin("GET", "/nodes")
        check(not next(n for n in j["nodes"] if n["name"] == "b")["draining"],
              "nor is it listed draining", j)

        # a node asked to drain itself drains at once
        st, j, _ = a.admin("POST", "/nodes/a/drain", {"by": "tester"})
        check(st == 200 and healthz(a)[0] == 503, "a drained through its own API: 503 at once")
        check(to_game(b, uid()) == ws_of(b), "and new games go to b")

        # a server that is no cluster node
        one = Serve(project, args=["--log-level", "warn"])
        st, j, _ = one.admin("GET", "/nodes")
        check(st == 200 and j == {"node": None, "nodes": []}, "one process: no nodes", j)
        st, j, _ = one.admin("POST", "/nodes/a/drain", {})
        check(st == 404 and "error" in j, "and nothing to drain: 404", j)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main(run, timeout=200)
