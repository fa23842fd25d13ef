#!/usr/bin/env python3
"""gen_replayable.py: writes a data folder of records that re-simulate
exactly (for `hippo verify` benchmarks): each trial is one episode of ENV
played with random actions, its trajectory taken from `hippo rollout` (the
same environment code) and written in the recorder's format (docs/data.md,
"Trial records").

  gen_replayable.py HIPPO DATA --project P --users 50 --trials 20 --env MountainCar-v0
"""
import argparse
import json
import os
import random
import subprocess
import tempfile


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("hippo")
    p.add_argument("data")
    p.add_argument("--project", default="P")
    p.add_argument("--users", type=int, default=10)
    p.add_argument("--trials", type=int, default=10)
    p.add_argument("--env", default="MountainCar-v0")
    p.add_argument("--actions", type=int, default=3, help="discrete actions to draw from")
    p.add_argument("--seed", type=int, default=1)
    a = p.parse_args()
    rnd = random.Random(a.seed)
    steps = 0
    with tempfile.NamedTemporaryFile("w", suffix=".txt") as af:
        for u in range(a.users):
            user = "u%04d" % u
            d = os.path.join(a.data, a.project, "trials", user)
            os.makedirs(d, exist_ok=True)
            meta = open(os.path.join(d, "trials.jsonl"), "w")
            rec = open(os.path.join(d, "episode_1.jsonl"), "w")
            for t in range(a.trials):
                trial = "20261201T000000Z-%08x" % rnd.getrandbits(32)
                seed = rnd.getrandbits(31)
                af.seek(0)
                af.truncate()
                af.write("".join("%d\n" % rnd.randrange(a.actions) for _ in range(1000)))
                af.flush()
                out = subprocess.run([a.hippo, "rollout", a.env, "--seed", str(seed),
                                      "--actions", af.name], capture_output=True, text=True,
                                     check=True).stdout.splitlines()
                meta.write(json.dumps({"event": "start", "trialId": trial, "projectId": a.project,
                                       "userId": user, "game": a.env, "seed": seed,
                                       "env": {"id": a.env, "source": "builtin"}}) + "\n")
                for i, line in enumerate(out):
                    j = json.loads(line)
                    r = {"userId": user, "projectId": a.project, "trialId": trial, "episode": 1,
                         "step": i, "frameId": i + 1, "t": 1796000000000 + i}
                    if i == 0:
                        r["reset"] = True
                    else:
                        r.update(action=j["action"], reward=j["reward"],
                                 terminated=j["terminated"], truncated=j["truncated"])
                        steps += 1
                    r.update(inputs=[], observation=j["obs"], fps=30)
                    rec.write(json.dumps(r, separators=(",", ":")) + "\n")
                    if j.get("terminated") or j.get("truncated"):
                        break
            meta.close()
            rec.close()
    print("gen_replayable: %d steps in %d trials" % (steps, a.users * a.trials))


if __name__ == "__main__":
    main()
