"""Reconnect grace and session end work across nodes exactly as on one node
(docs/cluster.md): two `hippo serve` nodes sharing one participant store,
HAProxy in front, s3rver for the records.

- a participant whose websocket drops mid-game asks /next of the OTHER node:
  it names the node that holds the game, and connecting there again within
  trial.reconnectGrace resumes the same session (one session row, the
  episode goes on, the game ends with done);
- a participant who stays away longer than the grace: the node holding the
  game ends it with reason "grace", and /next on the other node moves them
  past the game, as one node does."""
import asyncio
import json
import os
import shutil
import tempfile
import time

import websockets

from clusterutil import Haproxy, Node, http, node_of, store_spec, study
from s3helpers import S3Server, hippo_env
from serveutil import TOKEN, check, free_port, main, wait_for

GRACE_S = 3


def participant(origin, project, user, body=None):
    q = "/next?projectId=%s&userId=%s" % (project, user)
    return http(origin, "POST" if body is not None else "GET", q, body)


def to_game(origin, project, user):
    st, j = participant(origin, project, user)
    for _ in range(10):
        if st == 200 and j["page"] == "show_game_page":
            return j["server"]
        check(st == 200, "%s: /next" % user, j)
        st, j = participant(origin, project, user, {"consent": "yes"})
    raise AssertionError("%s: no game step" % user)


async def frames(ws, n, timeout=20):
    """Reads until N frames arrived; the last JSON frame message (or None)."""
    got, last = 0, None
    end = time.monotonic() + timeout
    while got < n:
        m = await asyncio.wait_for(ws.recv(), max(0.1, end - time.monotonic()))
        if isinstance(m, bytes):
            got += 1
        elif '"frame"' in m:
            got += 1
            last = json.loads(m)
        elif m == "done":
            return "done"
    return last


async def connect(url, project, user):
    ws = await websockets.connect(url, max_size=16 << 20, open_timeout=10, close_timeout=2)
    await ws.send(json.dumps({"userId": user, "projectId": project}))
    await ws.send(json.dumps({"command": "start", "browser": "test"}))
    return ws


async def drop(ws):
    """The connection is gone, without a close frame (asyncio closes the
    socket on the loop's next turn: let it run)."""
    ws.transport.abort()
    await asyncio.sleep(0.2)


def sessions_of(origin, project, user):
    st, j = http(origin, "GET", "/api/projects/%s/participants/%s" % (project, user),
                 token=TOKEN)
    if st != 200:
        raise AssertionError("admin API: participant %s: %s %s" % (user, st, j))
    return j["sessions"], j


async def run_test():
    tmp = tempfile.mkdtemp(prefix="hippo-cluster-grace-")
    try:
        s3 = S3Server(os.path.join(tmp, "s3"))
        env = hippo_env(tmp)
        env["HIPPO_ADMIN_TOKEN"] = TOKEN
        store = store_spec(tmp)
        hp_port = free_port()
        origin = "http://127.0.0.1:%d" % hp_port
        root = os.path.join(tmp, "studies")
        os.makedirs(root)
        projects = [study(root, "grace", s3, {"maxEpisodes": "8", "reconnectGrace": str(GRACE_S)}),
                    study(root, "long", s3, {"maxEpisodes": "100000",
                                             "reconnectGrace": str(GRACE_S)})]
        nodes = {}
        for n in ("a", "b"):
            nodes[n] = Node(n, origin, store, projects, env, slots=4,
                            data=os.path.join(tmp, "data-" + n))
        hp = Haproxy(hp_port, {n: x.port for n, x in nodes.items()})
        try:
            await within_grace(origin, nodes)
            await past_grace(origin, nodes)
        finally:
            hp.stop()
            s3.stop()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def other(nodes, url):
    """The node that does not hold the game at URL."""
    holder = node_of(url)
    return holder, next(x for n, x in nodes.items() if n != holder)


async def within_grace(origin, nodes):
    user = "back-in-time"
    url = to_game(origin, "grace", user)
    holder, away = other(nodes, url)
    ws = await connect(url, "grace", user)
    first = await frames(ws, 20)
    await drop(ws)
    st, j = participant(away.url, "grace", user)
    check(st == 200 and j["page"] == "show_game_page" and j["server"] == url,
          "the other node (%s) names the node holding the game (%s): %s" % (away.node, holder, j))
    ws = await connect(j["server"], "grace", user)
    after = await frames(ws, 5)
    check(after != "done", "the game goes on after the reconnect")
    if isinstance(first, dict) and isinstance(after, dict):
        check(after.get("episode", 0) >= first.get("episode", 0),
              "the same episode goes on (%s then %s)" % (first.get("episode"), after.get("episode")))
    sess, _ = sessions_of(origin, "grace", user)
    check(len(sess) == 1 and not sess[0].get("stopped"),
          "one session, still open, after the reconnect: %s" % sess)
    ended = None
    while ended is None:
        m = await asyncio.wait_for(ws.recv(), 60)
        if m == "done":
            ended = m
    await ws.close()
    check(ended == "done", "the game ends with done")
    wait_for(lambda: sessions_of(origin, "grace", user)[0][0].get("stopped"),
             "the session to be closed", timeout=15)
    sess, _ = sessions_of(origin, "grace", user)
    check(len(sess) == 1 and sess[0]["reason"] == "done",
          "still one session, ended with done: %s" % sess)


async def past_grace(origin, nodes):
    user = "too-late"
    url = to_game(origin, "long", user)
    holder, away = other(nodes, url)
    ws = await connect(url, "long", user)
    await frames(ws, 10)
    t0 = time.monotonic()
    await drop(ws)
    wait_for(lambda: sessions_of(origin, "long", user)[0][0].get("stopped"),
             "the holding node to end the session after the grace", timeout=GRACE_S + 15)
    waited = time.monotonic() - t0
    sess, _ = sessions_of(origin, "long", user)
    check(sess[0]["reason"] == "grace" and waited >= GRACE_S - 0.5,
          "node %s ended the session with grace after %.1f s: %s" % (holder, waited, sess))
    st, j = participant(away.url, "long", user)
    check(st == 200 and j["page"] != "show_game_page",
          "the other node (%s) moves the participant past the game: %s" % (away.node, j.get("page")))
    sess, _ = sessions_of(origin, "long", user)
    check(len(sess) == 1, "no new session is placed for a game ended by the grace: %s" % sess)


if __name__ == "__main__":
    main(run_test, timeout=180)
