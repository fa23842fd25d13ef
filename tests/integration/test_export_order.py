"""hippo export puts each participant's steps in the order they were played
(docs/data.md, "Export") when their folder holds several trials: a later
trial's files carry its id (episode_1-<trialId>.jsonl, trial-<trialId>.jsonl:
a server restarted mid-game, or cluster nodes sharing one data folder with
--records-local, the game moved to another node), and natural order alone
would interleave them with the earlier trial's, the later trial first.

- two per-episode trials in one folder: every step of the first trial, then
  every step of the second;
- two whole-trial files: the same;
- files whose records carry no time keep their natural order (episode_2
  before episode_10)."""
import csv
import json
import os
import shutil
import subprocess
import tempfile

from serveutil import BIN, check, main

PID = "order"


def lines(user, trial, episode, t0, n):
    out = []
    for s in range(n):
        rec = {"userId": user, "projectId": PID, "trialId": trial, "episode": episode,
               "step": s, "frameId": s, "observation": [s]}
        if t0 is not None:
            rec["t"] = t0 + s
        if s == 0:
            rec["reset"] = True
        else:
            rec.update({"action": 1, "reward": 1, "terminated": s == n - 1,
                        "truncated": False})
        out.append(json.dumps(rec))
    return "\n".join(out) + "\n"


def write(data, user, name, text):
    d = os.path.join(data, PID, "trials", user)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "w") as f:
        f.write(text)


def run():
    tmp = tempfile.mkdtemp(prefix="hippo-export-order-")
    data = os.path.join(tmp, "data")
    # u1: episodes 1-2 of trial t1, then (after a restart) episodes 1-2 of t2
    write(data, "u1", "episode_1.jsonl", lines("u1", "t1", 1, 1000, 3))
    write(data, "u1", "episode_2.jsonl", lines("u1", "t1", 2, 2000, 3))
    write(data, "u1", "episode_1-t2.jsonl", lines("u1", "t2", 1, 3000, 3))
    write(data, "u1", "episode_2-t2.jsonl", lines("u1", "t2", 2, 4000, 3))
    # u2: one file per trial
    write(data, "u2", "trial.jsonl", lines("u2", "t3", 1, 5000, 2))
    write(data, "u2", "trial-t4.jsonl", lines("u2", "t4", 1, 6000, 2))
    # u3: no times in the records
    write(data, "u3", "episode_10.jsonl", lines("u3", "t5", 10, None, 2))
    write(data, "u3", "episode_2.jsonl", lines("u3", "t5", 2, None, 2))
    out = os.path.join(tmp, "out")
    p = subprocess.run([BIN, "export", PID, "--data", data, "--out", out, "--no-progress"],
                       capture_output=True, text=True, timeout=120)
    check(p.returncode == 0, "hippo export succeeds", p.stderr)
    with open(os.path.join(out, "steps.csv"), newline="") as f:
        got = [(x["user_id"], x["trial_id"], x["episode"], x["step"])
               for x in csv.DictReader(f)]

    def rows(user, trial, episode, n):
        return [(user, trial, str(episode), str(s)) for s in range(n)]

    check(got[:12] == rows("u1", "t1", 1, 3) + rows("u1", "t1", 2, 3) + rows("u1", "t2", 1, 3) +
          rows("u1", "t2", 2, 3), "u1: the first trial's episodes, then the second's", got[:12])
    check(got[12:16] == rows("u2", "t3", 1, 2) + rows("u2", "t4", 1, 2),
          "u2: trial.jsonl, then the later trial's file", got[12:16])
    check(got[16:] == rows("u3", "t5", 2, 2) + rows("u3", "t5", 10, 2),
          "u3 (no times): natural order, episode_2 before episode_10", got[16:])
    with open(os.path.join(out, "episodes.csv"), newline="") as f:
        eps = [(x["user_id"], x["trial_id"], x["episode"]) for x in csv.DictReader(f)]
    check(eps[:4] == [("u1", "t1", "1"), ("u1", "t1", "2"), ("u1", "t2", "1"),
                      ("u1", "t2", "2")], "episodes in the order played", eps)
    shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main(run, timeout=120)
