"""hippo on several nodes (docs/cluster.md): three `hippo serve` nodes sharing
one participant store (an SQLite file; under the `_pg` variant one database of
a PostgreSQL server the test starts: clusterutil.store_spec), HAProxy in front
as the one public origin, s3rver for the records. Participants behave like
the UI (clusterutil.Player).

- journeys: 30 participants through HAProxy; their sessions land on every
  node; all complete; a websocket reaching the wrong node is closed (4002)
  naming the right one;
- 100 simultaneous arrivals: the balanced groups differ by at most one; no
  node takes more sessions than its slots; no participant is placed twice;
- kill -9 of a node mid-game, with the default leases (10 s): its
  participants play again on another node (the game goes on from the
  episodes played: project.onNodeLoss restart_episode), or move past the
  game (skip_game) or to the end (end_study), their session records say
  node_lost; the node answering their /next probes the dead one at its
  --internal URL, so the median time from the kill to the next frame is
  under 3 s; their records of the dead node reach S3 (the node restarted
  under its name uploads the rest); `hippo export --from-s3` holds their
  records from before the kill (the dead node's) and after (the node their
  game went on on), in order;
- withdrawal through one node: a game running on another node stops; every
  node's files and uploads of the participant and every S3 object under
  their keys (two nodes' records) go, the records the game's node uploads
  as it ends included, and stay gone; the node applying it writes an audit
  entry; the participant coming back at once waits for their game until the
  withdrawal is 10 s old, then plays, and their new records are kept;
- drain: SIGTERM makes a node take no new sessions (its /healthz says 503)
  while its running sessions finish; one still running at the end of the
  grace period goes on elsewhere; the node exits 0."""
import asyncio
import csv
import json
import os
import shutil
import signal
import statistics
import tempfile
import time
import uuid

import websockets

from clusterutil import Haproxy, Node, Player, http, node_of, store_spec, study
from s3helpers import S3Server, hippo, hippo_env
from serveutil import PROJECTS, TOKEN, check, free_port, main, wait_for

NODES = ("a", "b", "c")
SLOTS = 12


class Cluster:
    def __init__(self, tmp):
        self.tmp = tmp
        self.s3 = S3Server(os.path.join(tmp, "s3"))
        self.env = hippo_env(tmp)
        self.env["HIPPO_ADMIN_TOKEN"] = TOKEN
        self.store = store_spec(tmp)
        print("   the nodes' store:", self.store.split(":", 1)[0])
        self.hp_port = free_port()
        self.origin = "http://127.0.0.1:%d" % self.hp_port
        root = os.path.join(tmp, "studies")
        os.makedirs(root)
        s3 = self.s3
        self.projects = [
            study(root, "journey", s3, {"maxEpisodes": "2"}),
            study(root, "loss-r", s3, {"maxEpisodes": "100000"}),
            study(root, "loss-s", s3, {"maxEpisodes": "100000"}, "  onNodeLoss: skip_game\n"),
            study(root, "loss-e", s3, {"maxEpisodes": "100000"}, "  onNodeLoss: end_study\n"),
            rush_study(root, s3),
        ]
        self.nodes = {}
        self.ports = {}
        for n in NODES:  # c drains for 6 s (the drain test)
            self.start(n, args=("--drain-grace", "6") if n == "c" else ())
        self.hp = Haproxy(self.hp_port, self.ports)

    def start(self, name, **kw):
        node = Node(name, self.origin, self.store, self.projects, self.env, slots=SLOTS,
                    port=self.ports.get(name, 0), data=os.path.join(self.tmp, "data-" + name),
                    **kw)
        self.nodes[name] = node
        self.ports[name] = node.port
        return node

    def admin(self, path):
        st, j = http(self.origin, "GET", "/api" + path, token=TOKEN)
        check(st == 200, "admin API GET %s" % path, j)
        return j

    def metrics(self, node):
        st, text = http(self.nodes[node].url, "GET", "/metrics")
        return text

    def used(self):
        """{node: (used, slots, live)} from /metrics of a live node."""
        out = {}
        for n, srv in self.nodes.items():
            if not srv.alive():
                continue
            for line in self.metrics(n).splitlines():
                for what in ("used", "slots", "live"):
                    p = "hippo_cluster_node_%s{node=\"" % what
                    if line.startswith(p):
                        name = line[len(p):].split('"')[0]
                        out.setdefault(name, {})[what] = int(line.rsplit(" ", 1)[1])
            return out
        return out

    def stop(self):
        self.hp.stop()
        self.s3.stop()


def rush_study(root, s3):
    """Two variants of step 1 (balanced groups), then the game; a session
    nobody connects to is released after 2 s."""
    d = os.path.join(root, "rush")
    os.makedirs(os.path.join(d, "StepFiles"))
    src = os.path.join(PROJECTS, "serve_groups", "StepFiles")
    for f in ("intro-0.html", "intro-1.html", "thanks.html"):
        with open(os.path.join(src, f)) as i, open(os.path.join(d, "StepFiles", f), "w") as o:
            o.write(i.read())
    with open(os.path.join(d, "config.yml"), "w") as f:
        f.write("project:\n  id: rush\n  groupStrategy: balanced\n"
                "  storage:\n    s3:\n      bucket: bucket\n"
                "      endpoint: %s\n      region: us-east-1\n"
                "  steps:\n    1: intro.html\n    2: game\n    finalStep: thanks.html\n"
                "trial:\n  game: CartPole-v1\n  connectTimeout: 2\n" % s3.endpoint)
    return d


def uid(prefix):
    return "%s-%s" % (prefix, uuid.uuid4().hex[:10])


async def journeys(c):
    print("== 30 participants through HAProxy")
    players = [Player(c.origin, "journey", uid("j")) for _ in range(30)]
    loop = asyncio.get_running_loop()
    servers = await asyncio.gather(*[loop.run_in_executor(None, p.to_game) for p in players])
    check(all(servers), "every participant reached the game with a server")
    nodes = {node_of(s) for s in servers}
    check(nodes == set(NODES), "their sessions are placed on every node: %s" % sorted(nodes))
    # A websocket to the wrong node is closed naming the right one.
    p = players[0]
    right = node_of(p.server)
    wrong = p.server.replace("/g/%s/" % right, "/g/%s/" % next(n for n in NODES if n != right))
    try:
        async with websockets.connect(wrong) as ws:
            await ws.send(json.dumps({"userId": p.user, "projectId": "journey"}))
            await asyncio.wait_for(ws.recv(), 10)
        code, reason = None, None
    except websockets.ConnectionClosed as e:
        code, reason = e.rcvd.code, e.rcvd.reason
    check(code == 4002 and reason == p.server,
          "the wrong node closes with 4002 naming the right websocket: %s %s" % (code, reason))
    results = await asyncio.gather(*[p.play() for p in players])
    check(all(r == "done" for r in results), "every game ended with done")
    check(all(p.nodes and set(p.nodes) == {node_of(p.server)} for p in players),
          "each played on the node it was placed on")
    pages = await asyncio.gather(*[loop.run_in_executor(None, p.next) for p in players])
    check(all(st == 200 and j["step"] == 4 for st, j in pages),
          "after the game every participant is at the survey")
    await asyncio.gather(*[loop.run_in_executor(None, lambda p=p: p.next({"difficulty": "easy"}))
                           for p in players])
    parts = c.admin("/projects/journey/participants")
    done = [x for x in parts if x["step"] == 5]
    check(len(done) == 30, "all 30 reached the final step (%d)" % len(done))
    reasons = {s["reason"] for x in parts for s in x["sessions"]}
    check(reasons == {"done"}, "every session record says done: %s" % reasons)


async def rush(c):
    print("== 100 simultaneous arrivals")
    players = [Player(c.origin, "rush", uid("r")) for _ in range(100)]
    loop = asyncio.get_running_loop()
    await asyncio.gather(*[loop.run_in_executor(None, p.next) for p in players])
    counts = {}
    parts = c.admin("/projects/rush/participants")
    for x in parts:
        g = x["groups"].get("2")
        counts[g] = counts.get(g, 0) + 1
    check(sum(counts.values()) == 100 and set(counts) == {0, 1} and
          abs(counts[0] - counts[1]) <= 1, "balanced groups across 3 nodes: %s" % counts)
    pages = await asyncio.gather(*[loop.run_in_executor(None, lambda p=p: p.next({}))
                                   for p in players])
    games = [j for st, j in pages if st == 200 and j["page"] == "show_game_page"]
    waits = [j for st, j in pages if st == 200 and j["page"] == "wait"]
    check(len(games) == SLOTS * len(NODES) and len(games) + len(waits) == 100,
          "every slot taken, the others wait: %d games, %d waits" % (len(games), len(waits)))
    used = c.used()
    check(all(v["used"] <= v["slots"] for v in used.values()),
          "no node holds more sessions than its slots: %s" % used)
    parts = c.admin("/projects/rush/participants")
    open_per = [sum(1 for s in x["sessions"] if not s.get("stopped")) for x in parts]
    check(max(open_per) <= 1 and sum(open_per) == SLOTS * len(NODES),
          "no participant placed twice (%d open sessions)" % sum(open_per))
    # Nobody connects: the sessions are released after connectTimeout.
    wait_for(lambda: all(v["used"] == 0 for v in c.used().values()),
             "the unused sessions to be released", timeout=60, every=0.5)


def lost_records(c, node, project, user):
    """The record files of USER on NODE's data folder."""
    d = os.path.join(c.nodes[node].data, project, "trials", user)
    return sorted(os.listdir(d)) if os.path.isdir(d) else []


def uploads_pending(c):
    """Uploads waiting in the nodes' spools (their /metrics)."""
    n = 0
    for name, srv in c.nodes.items():
        if srv.alive():
            for line in c.metrics(name).splitlines():
                if line.startswith('hippo_uploads{state="pending"}'):
                    n += int(line.rsplit(" ", 1)[1])
    return n


async def failover(c):
    print("== kill -9 of a node mid-game")
    loop = asyncio.get_running_loop()
    # the earlier phases' uploads first (one upload worker per node)
    await loop.run_in_executor(None, lambda: wait_for(
        lambda: uploads_pending(c) == 0, "the spools to drain", timeout=90, every=0.5))
    players = []
    for project in ("loss-r", "loss-s", "loss-e"):
        for _ in range(6):
            players.append(Player(c.origin, project, uid("f")))
    await asyncio.gather(*[loop.run_in_executor(None, p.to_game) for p in players])
    victim = "a"
    on_victim = [p for p in players if node_of(p.server) == victim]
    check(len({p.project for p in on_victim}) == 3,
          "node a runs games of the three policies: %s" % sorted(p.user for p in on_victim))
    kill = {}

    def stop(p):  # stop after playing a while on a node that is not the victim
        return p.frames > 40 and "t" in kill and node_of(p.server) != victim and \
            time.monotonic() > kill["t"] + 1

    tasks = [asyncio.ensure_future(p.play(stop=stop, timeout=150)) for p in players]
    await asyncio.sleep(0.1)
    await loop.run_in_executor(None, lambda: wait_for(
        lambda: all(p.frames > 60 for p in players), "every game to be under way", timeout=60))
    await asyncio.sleep(1.5)  # the open episode files go up every second
    c.nodes[victim].expect_exit(-signal.SIGKILL)
    kill["t"] = time.monotonic()
    c.nodes[victim].proc.send_signal(signal.SIGKILL)
    c.nodes[victim].proc.wait()  # no zombie: its pid is free again, as in a new container
    results = await asyncio.gather(*tasks)
    # what the dead node uploaded before it died (asked once the games are over: the event
    # loop must not wait on S3 while the participants reconnect, or it delays their frames)
    uploaded = {p.user: {k: c.s3.get("bucket", "%s/Trials/%s/%s/%s" % (
        p.project, p.user, victim, k))[0] == 200 for k in ("trials.jsonl", "episode_1.jsonl")}
        for p in on_victim}
    for p, r in zip(players, results):
        lost = p in on_victim
        want = "moved" if lost and p.project != "loss-r" else "done"
        check(r == want, "%s (%s, on %s): %s" % (p.user, p.project, p.nodes[0], r))
    moved_on = [p for p in on_victim if p.project == "loss-r"]
    check(all(len(p.nodes) >= 2 and p.nodes[-1] != victim for p in moved_on),
          "restart_episode: the lost games go on on another node: %s" %
          [p.nodes for p in moved_on])
    # the first close after the kill, and the frame that ended it
    after = [[g for g in p.gaps if g[0] >= kill["t"] - 0.5][:1] for p in moved_on]
    check(all(after), "each lost participant got a frame again: %s" % [p.gaps for p in moved_on])
    losses = [g[0][1] - kill["t"] for g in after]
    print("     seconds from the kill to the next frame: median %.2f, max %.2f (lease 10 s, "
          "probed at --internal)" % (statistics.median(losses), max(losses)))
    check(statistics.median(losses) < 3,
          "the lost games resumed within 3 s of the kill (median %.2f s), not after the "
          "10 s lease" % statistics.median(losses))
    check(max(losses) < 15, "every lost game resumed within 15 s")
    # What the data says.
    for project, first_page in (("loss-r", 4), ("loss-s", 4), ("loss-e", 5)):
        parts = {x["userId"]: x for x in c.admin("/projects/%s/participants" % project)}
        for p in (q for q in on_victim if q.project == project):
            x = parts[p.user]
            check(x["sessions"][0]["reason"] == "node_lost",
                  "%s: its first session ended with node_lost" % p.user)
            if project != "loss-r":
                st, j = await loop.run_in_executor(None, p.next)
                check(j["step"] == first_page, "%s (%s) is now at step %d: %s" % (
                    p.user, project, first_page, j["step"]))
    # The resumed game went on from the episodes played before the loss.
    for p in moved_on:
        node = p.nodes[-1]
        path = os.path.join(c.nodes[node].data, "loss-r", "trials", p.user, "trials.jsonl")
        with open(path) as f:
            start = [x for x in map(json.loads, f) if x["event"] == "start"]
        check(start and start[-1].get("episodesBefore", 0) >= 1,
              "%s: the game on %s goes on after %s episodes" % (
                  p.user, node, start[-1].get("episodesBefore") if start else None))
    # Records of the dead node (keys P/Trials/USER/NODE/FILE): the start line
    # and episodes reached S3 before the kill; the node restarted under its
    # name uploads the rest.
    for p in on_victim:
        prefix = "%s/Trials/%s/%s/" % (p.project, p.user, victim)
        up = [k for k in ("trials.jsonl", "episode_1.jsonl") if uploaded[p.user][k]]
        check(up, "%s: its records went up to S3 while it played: %s" % (p.user, up))
    c.start(victim)
    n = 0
    for p in on_victim:
        for name in lost_records(c, victim, p.project, p.user):
            local = os.path.join(c.nodes[victim].data, p.project, "trials", p.user, name)
            with open(local, "rb") as f:
                want = f.read()
            key = "%s/Trials/%s/%s/%s" % (p.project, p.user, victim, name)
            wait_for(lambda: c.s3.get("bucket", key) == (200, want),
                     "%s in S3" % key, timeout=60, every=0.3)
            n += 1
    check(n > len(on_victim), "the %d record files of the dead node are in S3 once it is back"
          % n)
    await loop.run_in_executor(None, lambda: wait_for(
        lambda: uploads_pending(c) == 0, "the spools to drain", timeout=90, every=0.5))
    export_from_s3(c, on_victim, victim)
    return [p for p in on_victim if p.project == "loss-r"]


def export_from_s3(c, on_victim, victim):
    """hippo export --from-s3 of each study: every node's records of the
    participants the kill moved, from before the kill (the dead node's) and
    after (the node their game went on on), in the order played."""
    for project in ("loss-r", "loss-s", "loss-e"):
        out = os.path.join(c.tmp, "export-" + project)
        d = [x for x in c.projects if os.path.basename(x) == project][0]
        r = hippo(["export", d, "--from-s3", "--store", c.store, "--out", out,
                   "--no-progress"], c.env)
        check(r.returncode == 0, "hippo export --from-s3 %s" % project, r.stderr)
        with open(os.path.join(out, "steps.csv"), newline="") as f:
            rows = list(csv.DictReader(f))
        with open(os.path.join(out, "participants.csv"), newline="") as f:
            users = {x["user_id"] for x in csv.DictReader(f)}
        for p in (q for q in on_victim if q.project == project):
            check(p.user in users, "%s is in participants.csv" % p.user)
            mine = [x for x in rows if x["user_id"] == p.user]
            path = os.path.join(c.nodes[victim].data, project, "trials", p.user,
                                "episode_1.jsonl")
            with open(path) as f:
                before = json.loads(f.readline())["trialId"]
            trials = []
            for x in mine:
                if not trials or trials[-1] != x["trial_id"]:
                    trials.append(x["trial_id"])
            check(trials and trials[0] == before and
                  any(x["trial_id"] == before and x["episode"] == "1" for x in mine),
                  "%s: the export starts with the dead node's records (trial %s): %s" % (
                      p.user, before, trials))
            if project == "loss-r":
                check(len(trials) == 2 and len(set(trials)) == 2,
                      "%s: then the records of the game's node after the kill: %s" % (
                          p.user, trials))
                t = [int(x["t_ms"]) for x in mine]
                check(t == sorted(t), "%s: its steps are in the order played" % p.user)


def s3_keys(c, prefix):
    return c.s3.keys("bucket", prefix)


def holdings(c, user, project="loss-r"):
    """What the cluster holds of USER: S3 keys, and each node's local files."""
    out = s3_keys(c, "%s/Trials/%s/" % (project, user))
    if c.s3.get("bucket", "%s/Users/%s.json" % (project, user))[0] == 200:
        out.append("%s/Users/%s.json" % (project, user))
    for name, srv in c.nodes.items():
        d = os.path.join(srv.data, project, "trials", user)
        if os.path.isdir(d):
            out += ["%s:%s" % (name, f) for f in os.listdir(d)]
        if os.path.exists(os.path.join(srv.data, project, "users", user + ".json")):
            out.append("%s:users/%s.json" % (name, user))
    return out


async def withdraw_everywhere(c, moved):
    """A withdrawal through one node reaches what every node holds: the game
    a participant is playing on another node stops, and every node's files,
    uploads and S3 objects of theirs go (also the records a node uploads as
    that game ends); one who comes back at once waits for their game until
    every node has applied it, then plays, and keeps their new data."""
    print("== a withdrawal reaches every node")
    loop = asyncio.get_running_loop()
    old = moved[0]  # records in S3 from two nodes: the dead one's and the next one's
    nodes_of_old = {k.split("/")[3] for k in s3_keys(c, "loss-r/Trials/%s/" % old.user)}
    check(len(nodes_of_old) >= 2, "%s has records of two nodes in S3: %s" % (
        old.user, nodes_of_old))
    live = Player(c.origin, "loss-r", uid("w"))
    await loop.run_in_executor(None, live.to_game)
    x = node_of(live.server)
    task = asyncio.ensure_future(live.play(timeout=90))
    await loop.run_in_executor(None, lambda: wait_for(
        lambda: live.frames > 60 and s3_keys(c, "loss-r/Trials/%s/%s/" % (live.user, x)),
        "the live game's records to reach S3", timeout=60, every=0.3))
    y = [n for n in NODES if n != x and c.nodes[n].alive()][0]

    async def hold_back():  # the UI would ask /next again: a new participant, not this test's
        while not live.closes and not task.done():
            await asyncio.sleep(0.01)
        task.cancel()
    guard = asyncio.ensure_future(hold_back())
    reports = {}
    for p in (live, old):
        st, j = await loop.run_in_executor(None, lambda: http(
            c.nodes[y].url, "POST", "/api/projects/loss-r/participants/%s/withdraw" % p.user,
            {"confirm": p.user}, token=TOKEN))
        check(st == 200 and j.get("complete") is True, "withdrawal of %s through %s" % (p.user, y),
              j)
        reports[p.user] = j
    t0 = time.monotonic()
    others = [u["key"] for u in reports[old.user]["deleted"]["uploads"] if "/%s/" % y not in u["key"]]
    check(any("/Trials/%s/" % old.user in k for k in others),
          "the report lists the objects other nodes uploaded: %s" % others)
    await asyncio.wait_for(guard, 15)
    try:
        r = await task  # "done": the session ended by the withdrawal said so
    except asyncio.CancelledError:
        r = None
    check(live.closes or r == "done", "the live game on %s ends: %s %s" % (x, live.closes, r))
    for p in (live, old):
        try:
            await loop.run_in_executor(None, lambda: wait_for(
                lambda: not holdings(c, p.user), "nothing of %s left anywhere" % p.user,
                timeout=20, every=0.3))
        except AssertionError:
            check(False, "nothing of %s left anywhere" % p.user, holdings(c, p.user))
    print("     everything of both gone on every node and in S3 %.1f s after the withdrawal"
          % (time.monotonic() - t0))
    audit = open(os.path.join(c.nodes[x].data, "audit.jsonl")).read().splitlines()
    applied = [json.loads(a) for a in audit if '"withdraw_applied"' in a]
    mine = [a for a in applied if a["userId"] == live.user]
    check(mine and mine[0]["deleted"]["files"] and mine[0]["complete"],
          "%s's audit log says what it deleted of %s" % (x, live.user), applied)
    # a participant back at once: the wait page until every node applied it
    back = Player(c.origin, "loss-r", live.user)
    server = await loop.run_in_executor(None, back.to_game)
    check(server is None and back.last_page["page"] == "wait",
          "%s back at once waits for a game" % live.user, back.last_page)
    server = await loop.run_in_executor(None, lambda: wait_for(
        lambda: back.to_game(), "a game for the returning participant", timeout=30, every=0.5))
    check(time.monotonic() - t0 >= 9, "given once the withdrawal is %.1f s old" % (
        time.monotonic() - t0))
    r = await back.play(stop=lambda p: p.frames > 40, timeout=60)
    check(r == "done", "the returning participant plays: %s" % r)
    await asyncio.sleep(3)  # longer than a node's poll of the withdrawals
    kept = holdings(c, live.user)
    check(any(k.startswith(node_of(server) + ":") for k in kept) and
          any("/Trials/" in k for k in kept),
          "the returning participant's new records are kept: %s" % kept)
    check(not holdings(c, old.user), "%s stays withdrawn" % old.user)


async def drain(c):
    print("== SIGTERM drains a node")
    loop = asyncio.get_running_loop()
    victim = "c"
    node = c.nodes[victim]
    players = []
    while len([p for p in players if node_of(p.server) == victim]) < 3:
        p = Player(c.origin, "loss-r", uid("d"))
        await loop.run_in_executor(None, p.to_game)
        players.append(p)
    ours = [p for p in players if node_of(p.server) == victim]
    flag = {}

    def stop(p):  # two finish during the drain; the last one once it moved elsewhere
        if p is ours[2]:
            return len(p.nodes) >= 2 and p.nodes[-1] != victim
        return "t" in flag and p.frames > 10

    tasks = [asyncio.ensure_future(p.play(stop=stop, timeout=120)) for p in ours]
    await loop.run_in_executor(None, lambda: wait_for(
        lambda: all(p.frames > 20 for p in ours), "the games on c to run", timeout=60))
    node.proc.send_signal(signal.SIGTERM)
    flag["t"] = time.monotonic()
    st, j = await loop.run_in_executor(None, lambda: wait_for(
        lambda: (lambda r: r if r[0] == 503 else None)(http(node.url, "GET", "/healthz")),
        "c's /healthz to say draining", timeout=10))
    check(j["status"] == "draining", "the draining node is not ready: %s" % j)
    fresh = [Player(c.origin, "journey", uid("n")) for _ in range(6)]
    servers = await asyncio.gather(*[loop.run_in_executor(None, p.to_game) for p in fresh])
    check(all(s and node_of(s) != victim for s in servers),
          "no new session on the draining node: %s" % [node_of(s) for s in servers])
    results = await asyncio.gather(*tasks[:2])
    check(results == ["done", "done"], "its running games end cleanly: %s" % results)
    check(node.alive(), "the node waits for its last session")
    rc = await loop.run_in_executor(None, lambda: node.proc.wait(30))
    check(rc == 0 and time.monotonic() - flag["t"] >= 5,
          "it exits 0 once the grace period is over (%.1f s)" % (time.monotonic() - flag["t"]))
    last = ours[2]
    r = await tasks[2]
    check(r == "done" and last.nodes[-1] != victim and
          any(code == 1008 for code, _ in last.closes),
          "the game still running at the end goes on on %s: %s" % (last.nodes[-1], r))
    parts = {x["userId"]: x for x in c.admin("/projects/loss-r/participants")}
    reasons = [s["reason"] for s in parts[last.user]["sessions"]]
    check(reasons[0] == "drained", "its session record says drained: %s" % reasons)
    await asyncio.gather(*[p.play() for p in fresh])


async def run():
    tmp = tempfile.mkdtemp(prefix="hippo-cluster-")
    c = Cluster(tmp)
    try:
        await journeys(c)
        await rush(c)
        moved = await failover(c)
        await withdraw_everywhere(c, moved)
        await drain(c)
    finally:
        c.stop()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main(run, timeout=280)
