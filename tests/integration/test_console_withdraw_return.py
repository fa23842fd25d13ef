"""A withdrawn participant who opens the study link again (docs/console.md,
"Withdrawal"): one withdrawn in the middle of the game (their session live)
and one withdrawn after completing the study each come back with the same
userId. Each starts as a new participant: a new store row on step 1 with no
answers, passes or sessions of before, a group chosen afresh from the groups
as they are now, new record files with a new trial; nothing of the deleted
data comes back (store rows, files, the replay of an old episode, even one
the console had open), and the audit entries are unchanged. Runs on SQLite
and (`_pg`) PostgreSQL."""
import asyncio
import glob
import json
import os
import shutil
import tempfile

import websockets

from serveutil import EXAMPLE, Serve, check, main, play_until_done, store_rows, wait_for

P = "withdraw-return"


def make_study(root):
    """The cartpole example with two variants of the consent page."""
    d = os.path.join(root, P)
    shutil.copytree(EXAMPLE, d)
    path = os.path.join(d, "config.yml")
    text = open(path).read().replace("id: cartpole-demo", "id: " + P)
    text = text.replace("  useAWS: false\n", "  useAWS: false\n  groupStrategy: balanced\n")
    open(path, "w").write(text)
    sf = os.path.join(d, "StepFiles")
    page = open(os.path.join(sf, "consent.html")).read()
    for g in (0, 1):
        open(os.path.join(sf, "consent-%d.html" % g), "w").write("<!-- variant %d -->\n%s" % (g, page))
    os.remove(os.path.join(sf, "consent.html"))
    return d


def variant(j):
    """The consent variant a /next answer shows (0 or 1), else None."""
    page = j.get("page") or ""
    for g in (0, 1):
        if "<!-- variant %d -->" % g in page:
            return g
    return None


def participant(srv, user):
    st, j, _ = srv.admin("GET", "/projects/%s/participants/%s" % (P, user))
    return j if st == 200 else None


def group_sizes(srv):
    st, j, _ = srv.admin("GET", "/studies")
    s = [x for x in j["studies"] if x["id"] == P][0]
    g = [x["sizes"] for x in s["groups"] if x["variants"] == 2]
    return (g[0] + [0, 0])[:2] if g else [0, 0]


def trial_ids(data, user):
    """The trialIds in USER's trials.jsonl (empty when there is none)."""
    path = os.path.join(data, P, "trials", user, "trials.jsonl")
    if not os.path.exists(path):
        return set()
    return {json.loads(x)["trialId"] for x in open(path).read().splitlines() if x.strip()}


def store_count(data, user):
    """Rows of USER in the participants table."""
    return int(store_rows(data, "SELECT COUNT(*) FROM participants WHERE project_id = '%s' "
                                "AND user_id = '%s'" % (P, user))[0][0])


def to_game(srv, user):
    st, j = srv.next(P, user)
    check(st == 200 and j["step"] == 1, "%s sees the consent page" % user, j)
    srv.next(P, user, body={"consent": "yes"}, extra="&step=1")
    st, j = srv.next(P, user, body={}, extra="&step=2")
    check(j.get("page") == "show_game_page", "%s reaches the game" % user, j)


def finish(srv, user):
    st, j = srv.next(P, user)
    wait_for(lambda: srv.next(P, user)[1].get("step") == 4, user + " is moved past the game")
    srv.next(P, user, body={"q1": "fine"}, extra="&step=4")
    st, j = srv.next(P, user)
    check(j["step"] == 5, "%s completes the study" % user, j)


def frame_status(srv, user, trial):
    st, _, _ = srv.request("GET", "/api/projects/%s/participants/%s/replay/frame.jpg?trial=%s"
                           "&episode=1&step=1" % (P, user, trial), raw=True,
                           headers={"Authorization": "Bearer " + srv.token})
    return st


def withdraw(srv, user):
    st, j, _ = srv.admin("POST", "/projects/%s/participants/%s/withdraw" % (P, user),
                         {"confirm": user, "by": "Dr Ethics"})
    check(st == 200 and j["complete"] is True and j["deleted"]["tables"]["participants"] == 1,
          "%s is withdrawn" % user, j)
    return j


async def comes_back(srv, data, user, old, old_trials, old_group, audit_before):
    """USER, withdrawn (their old record OLD), opens the link again."""
    check(participant(srv, user) is None and store_count(data, user) == 0,
          "%s: no row left in the store" % user)
    for t in old_trials:
        check(frame_status(srv, user, t) == 404,
              "%s: the replay of their old trial is gone, even from the console's cache" % user)
    # others fill the groups until the old group is the fuller one: a group
    # chosen afresh must then be the other one
    sizes = group_sizes(srv)
    k = 0
    while sizes[old_group] <= min(sizes) and k < 40:
        k += 1
        srv.next(P, "%s-filler%d" % (user, k))
        sizes = group_sizes(srv)
    check(sizes[old_group] > min(sizes), "the old group %d is now the fuller (%s)" % (old_group, sizes))
    st, j = srv.next(P, user)
    check(st == 200 and j["step"] == 1, "%s opens the link again: the first step" % user, j)
    check(variant(j) == 1 - old_group,
          "%s is put in the group the strategy picks now (%d), not their old one" %
          (user, 1 - old_group), j.get("page", "")[:40])
    p = participant(srv, user)
    check(p is not None and store_count(data, user) == 1, "%s: one new row" % user)
    check(p["step"] == 1 and p["status"] != "completed" and not p["answers"] and
          not p["sessions"] and not p.get("passes"),
          "%s: the new row starts afresh (step 1, no answers, passes or sessions)" % user, p)
    check(p["created"] != old["created"], "%s: the row is a new one (created %s, was %s)" %
          (user, p["created"], old["created"]))
    check([g["group"] for g in p["groups"]] == [1 - old_group], "%s: the store has the new group" % user,
          p["groups"])
    check(not os.path.exists(os.path.join(data, P, "trials", user)),
          "%s: no record files until they play" % user)
    # they take part again
    srv.next(P, user, body={"consent": "yes"}, extra="&step=1")
    st, j = srv.next(P, user, body={}, extra="&step=2")
    check(j.get("page") == "show_game_page", "%s reaches the game again" % user, j)
    await play_until_done(srv.url.replace("http", "ws") + "/ws", P, user)
    finish(srv, user)
    new_trials = trial_ids(data, user)
    check(len(new_trials) == 1 and not (new_trials & old_trials),
          "%s: their records hold one new trial and none of before" % user, (new_trials, old_trials))
    files = sorted(os.path.basename(f) for f in glob.glob(os.path.join(data, P, "trials", user, "*")))
    check(files == ["episode_1.jsonl", "episode_2.jsonl", "episode_3.jsonl", "trials.jsonl"],
          "%s: the new record files start at episode 1" % user, files)
    p = participant(srv, user)
    check(len(p["sessions"]) == 1 and len(p["episodes"]) == 3 and
          all(e["trialId"] in new_trials for e in p["episodes"]),
          "%s: the console shows only the new session and episodes" % user, p["sessions"])
    for t in old_trials:
        check(frame_status(srv, user, t) == 404, "%s: the old trial is still gone" % user)
    check(open(os.path.join(data, "audit.jsonl")).read() == audit_before,
          "%s: the audit log is unchanged by their return" % user)


async def test():
    tmp = tempfile.mkdtemp(prefix="hippo-withdraw-return-")
    try:
        study = make_study(tmp)
        data = os.path.join(tmp, "data")
        srv = Serve(study, data=data)
        ws_url = srv.url.replace("http", "ws") + "/ws"

        # c1 completes the study; its replay is opened in the console
        to_game(srv, "c1")
        await play_until_done(ws_url, P, "c1")
        finish(srv, "c1")
        c1_old = participant(srv, "c1")
        c1_trials = trial_ids(data, "c1")
        c1_group = c1_old["groups"][0]["group"]
        check(len(c1_trials) == 1 and frame_status(srv, "c1", next(iter(c1_trials))) == 200,
              "c1: the console replays an episode (kept open in its cache)")

        # m1 is withdrawn in the middle of the game, while playing
        to_game(srv, "m1")
        async with websockets.connect(ws_url, max_size=16 << 20, open_timeout=30) as ws:
            await ws.send(json.dumps({"userId": "m1", "projectId": P}))
            await ws.send(json.dumps({"command": "start", "browser": "test"}))
            frames = 0
            while frames < 5:  # a few steps of the first episode, then a pause
                m = await asyncio.wait_for(ws.recv(), 30)
                frames += isinstance(m, bytes) or '"frame"' in m
            await ws.send(json.dumps({"command": "pause"}))
            wait_for(lambda: trial_ids(data, "m1"), "m1's trial is recorded")
            m1_trials = trial_ids(data, "m1")
            wait_for(lambda: frame_status(srv, "m1", next(iter(m1_trials))) == 200,
                     "m1's first episode replays")
            m1_old = participant(srv, "m1")
            m1_group = m1_old["groups"][0]["group"]
            withdraw(srv, "m1")
            # the withdrawn session ends: its connection closes without a new game
            try:
                while True:
                    await asyncio.wait_for(ws.recv(), 30)
            except websockets.ConnectionClosed:
                pass
        check(True, "m1's game connection is closed by the withdrawal")
        withdraw(srv, "c1")
        audit = open(os.path.join(data, "audit.jsonl")).read()
        check(len(audit.splitlines()) == 2, "two audit entries", audit)

        await comes_back(srv, data, "m1", m1_old, m1_trials, m1_group, audit)
        await comes_back(srv, data, "c1", c1_old, c1_trials, c1_group, audit)

        # after a restart the store and files say the same
        srv.stop()
        srv2 = Serve(study, data=data)
        for u in ("m1", "c1"):
            p = participant(srv2, u)
            check(p["status"] == "completed" and len(p["sessions"]) == 1 and store_count(data, u) == 1,
                  "%s: after a restart, one row, the new one" % u)
        check(open(os.path.join(data, "audit.jsonl")).read() == audit, "the audit log is as written")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main(test)
