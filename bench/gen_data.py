#!/usr/bin/env python3
"""gen_data.py: writes a synthetic hippo data folder for export tests and
benchmarks, in the formats documented in docs/data.md:

  DATA/hippo.db                                 participant store (participants,
                                                answers, sessions, groups)
  DATA/PROJECT/trials/USER/episode_N.jsonl      one step record per line
  DATA/PROJECT/trials/USER/trials.jsonl         trial start/end metadata

Deterministic for a given --seed (fixed clock), so small folders can back
golden-file tests. Usage:

  gen_data.py DATA --project P --users 200 --episodes 10 --steps 500 --obs 4

1 M steps: --users 200 --episodes 10 --steps 500.
"""
import argparse
import json
import os
import random
import sqlite3

# The participant store tables export reads (docs/data.md, "Participant store").
SCHEMA = """
CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS projects (
 id TEXT PRIMARY KEY, name TEXT, researcher TEXT, dir TEXT,
 version INTEGER NOT NULL DEFAULT 1, deployed INTEGER NOT NULL DEFAULT 0,
 live_override INTEGER, updated TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS participants (
 id INTEGER PRIMARY KEY, project_id TEXT NOT NULL, user_id TEXT NOT NULL,
 created TEXT NOT NULL, updated TEXT NOT NULL, step INTEGER NOT NULL DEFAULT 1,
 status TEXT NOT NULL DEFAULT 'active', crowd TEXT,
 UNIQUE (project_id, user_id));
CREATE TABLE IF NOT EXISTS answers (
 id INTEGER PRIMARY KEY, participant INTEGER NOT NULL REFERENCES participants (id),
 step INTEGER NOT NULL, field TEXT NOT NULL, value TEXT, time TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS requests (
 id INTEGER PRIMARY KEY, participant INTEGER NOT NULL REFERENCES participants (id),
 time TEXT NOT NULL, method TEXT NOT NULL, step INTEGER, headers TEXT, ip TEXT);
CREATE TABLE IF NOT EXISTS sessions (
 id INTEGER PRIMARY KEY, participant INTEGER NOT NULL REFERENCES participants (id),
 step INTEGER, started TEXT NOT NULL, stopped TEXT, reason TEXT, files TEXT);
CREATE TABLE IF NOT EXISTS groups (
 participant INTEGER NOT NULL REFERENCES participants (id), project_id TEXT NOT NULL,
 n INTEGER NOT NULL, grp INTEGER NOT NULL, assigned TEXT NOT NULL,
 PRIMARY KEY (participant, n));
"""

BASE_MS = 1795000000000  # a fixed clock: 2026-11-18T...


def iso(ms):
    import datetime
    d = datetime.datetime.fromtimestamp(ms / 1000, datetime.timezone.utc)
    return d.strftime("%Y-%m-%dT%H:%M:%S.") + "%03dZ" % (ms % 1000)


def fnum(x):
    """Like the recorder: float32 observations with %.9g."""
    return "%.9g" % x


def gen(a):
    rnd = random.Random(a.seed)
    os.makedirs(a.data, exist_ok=True)
    db = sqlite3.connect(os.path.join(a.data, "hippo.db"))
    db.executescript(SCHEMA)
    db.execute("INSERT INTO schema_version VALUES (1)")
    db.execute("INSERT OR REPLACE INTO projects (id, name, researcher, dir, deployed, updated)"
               " VALUES (?, 'Synthetic', 'gen_data', '', 1, ?)", (a.project, iso(BASE_MS)))
    actions = ["left", "right"]
    total = 0
    clock = BASE_MS
    for u in range(a.users):
        user = "u%04d-%08x" % (u, rnd.getrandbits(32))
        created = clock
        crowd = {"PROLIFIC_PID": "pp%d" % u} if u % 2 == 0 else {}
        if a.tricky and u == 1:
            crowd = {"workerId": "W,1", "hitId": 'H"1'}
        completed = u % 3 != 2
        cur = db.execute(
            "INSERT INTO participants (project_id, user_id, created, updated, step, status, crowd)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)",
            (a.project, user, iso(created), iso(created + 60000), 5 if completed else 3,
             "completed" if completed else "active",
             json.dumps(crowd, sort_keys=True, separators=(",", ":")) if crowd else None))
        pid = cur.lastrowid
        db.execute("INSERT INTO groups VALUES (?, ?, 2, ?, ?)", (pid, a.project, u % 2,
                                                                 iso(created)))
        answers = [(1, "consent", "yes"), (3, "age", str(20 + u % 40))]
        if a.tricky:
            answers += [(3, "comment", 'likes "fast", games,\r\nand ünïcode ✓'),
                        (3, "empty", "")]
        for step, field, value in answers:
            db.execute("INSERT INTO answers (participant, step, field, value, time)"
                       " VALUES (?, ?, ?, ?, ?)", (pid, step, field, value, iso(created + step)))
        trial_id = "20261118T000000Z-%08x" % rnd.getrandbits(32)
        d = os.path.join(a.data, a.project, "trials", user)
        os.makedirs(d, exist_ok=True)
        t = created + 1000
        files = []
        with open(os.path.join(d, "trials.jsonl"), "w") as meta:
            meta.write(json.dumps({"event": "start", "trialId": trial_id, "projectId": a.project,
                                   "userId": user, "t": t, "game": "CartPole-v1"}) + "\n")
            for ep in range(1, a.episodes + 1):
                name = "episode_%d.jsonl" % ep
                files.append("%s/trials/%s/%s" % (a.project, user, name))
                with open(os.path.join(d, name), "w") as f:
                    for step in range(0, a.steps + 1):
                        obs = ",".join(fnum(rnd.uniform(-1, 1)) for _ in range(a.obs))
                        if a.tricky and step == 2:
                            obs = "null" + obs[obs.index(","):] if a.obs > 1 else "null"
                        head = ('{"userId":"%s","projectId":"%s","trialId":"%s","episode":%d,'
                                '"step":%d,"frameId":%d,"t":%d,' % (
                                    user, a.project, trial_id, ep, step, step + 1, t))
                        if step == 0:
                            body = '"reset":true,"inputs":[],'
                        else:
                            act = rnd.randrange(2)
                            inputs = ""
                            if step % 7 == 0:
                                inputs = '{"t":%d,"msg":{"feedback":"good"}}' % (t - 3)
                            elif step % 11 == 0:
                                inputs = ('{"t":%d,"msg":{"command":"bad"}},'
                                          '{"t":%d,"msg":{"actionType":"KeyA","action":"left"}}'
                                          % (t - 5, t - 2))
                            last = step == a.steps
                            body = ('"action":%d,"actionName":"%s","reward":1,"terminated":%s,'
                                    '"truncated":false,"inputs":[%s],' % (
                                        act, actions[act], "true" if last else "false", inputs))
                        tail = '"observation":[%s],"fps":30' % obs
                        if a.tricky and step == 3:
                            tail += ',"info":{"note":"x,y","lives":[1,2]}'
                        f.write(head + body + tail + "}\n")
                        t += 33
                        total += 1
                    if a.tricky and ep == a.episodes and u == 0:
                        f.write('{"userId":"%s","episode":%d,"step":99,"obs' % (user, ep))
                t += 500
            meta.write(json.dumps({"event": "end", "trialId": trial_id, "projectId": a.project,
                                   "userId": user, "t": t, "reason": "done",
                                   "episodes": a.episodes}) + "\n")
        db.execute("INSERT INTO sessions (participant, step, started, stopped, reason, files)"
                   " VALUES (?, 2, ?, ?, 'done', ?)",
                   (pid, iso(created + 1000), iso(t), json.dumps(files)))
        clock = t + 10000
    db.commit()
    db.close()
    return total


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("data")
    p.add_argument("--project", default="P")
    p.add_argument("--users", type=int, default=3)
    p.add_argument("--episodes", type=int, default=2)
    p.add_argument("--steps", type=int, default=5, help="steps per episode (plus the reset record)")
    p.add_argument("--obs", type=int, default=4)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--tricky", action="store_true",
                   help="add quoting cases, a null observation value, info, a torn last line")
    a = p.parse_args()
    n = gen(a)
    print("gen_data: %d step records for %d users in %s" % (n, a.users, a.data))


if __name__ == "__main__":
    main()
