"""hippo export on records written by the real trial server: a participant
plays a CartPole trial over the websocket (`hippo trial`), sending good/bad
feedback while playing; the export's steps and episodes must match the
recorder's files line for line (count, observations, returns, feedback)."""
import csv
import json
import os
import subprocess

from serveutil import BIN, Trial, check, connect, handshake, main, recv


async def play(srv):
    ws = await connect(srv)
    await handshake(ws, "bob", "trial-basic")
    await ws.send(json.dumps({"command": "start"}))
    await ws.send(json.dumps({"action": "right"}))
    sent = {"good": 0, "bad": 0}
    n = 0
    while True:
        m = await recv(ws)
        if m == "done":
            break
        n += 1
        if n % 5 == 0:
            kind = "good" if n % 10 == 0 else "bad"
            # the hippo form and the original's command form
            msg = {"feedback": kind} if n % 3 else {"command": kind}
            await ws.send(json.dumps(msg))
            sent[kind] += 1
    await ws.close()
    return sent


def read_csv(path):
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


async def test():
    srv = Trial("trial_basic")
    try:
        sent = await play(srv)
        out = os.path.join(srv.tmp, "export")
        p = subprocess.run([BIN, "export", "trial-basic",
                            "--data", srv.data, "--out", out], capture_output=True, text=True,
                           timeout=120)
        print(p.stderr.strip())
        check(p.returncode == 0, "export of a trial server's data folder succeeds")
        check("no participant store" in p.stderr, "a missing hippo.db is reported, not fatal")
        recs = []
        for n in (1, 2):
            recs += srv.lines("%s/trial-basic/trials/bob/episode_%d.jsonl" % (srv.data, n))
        steps = read_csv(os.path.join(out, "steps.csv"))
        check(len(steps) == len(recs), "one steps row per record (%d)" % len(recs))
        ok = True
        for row, rec in zip(steps, recs):
            obs = [float(row["obs_%d" % i]) for i in range(len(rec["observation"]))]
            ok = ok and obs == rec["observation"] and int(row["step"]) == rec["step"] \
                and row["trial_id"] == rec["trialId"] and int(row["t_ms"]) == rec["t"]
        check(ok, "steps rows carry the recorded observation, step, trial id and time exactly")
        check("obs_3" in steps[0] and "obs_4" not in steps[0], "CartPole: 4 observation columns")
        eps = read_csv(os.path.join(out, "episodes.csv"))
        check(len(eps) == 2, "two episodes")
        for e in eps:
            lines = [r for r in recs if r["episode"] == int(e["episode"])]
            ret = sum(r.get("reward", 0) for r in lines)
            check(float(e["return"]) == ret and int(e["steps"]) == len(lines) - 1,
                  "episode %s: return %s, %s steps" % (e["episode"], e["return"], e["steps"]))
        good = sum(int(e["feedback_good"]) for e in eps)
        bad = sum(int(e["feedback_bad"]) for e in eps)
        recorded = {"good": 0, "bad": 0}
        for r in recs:
            for i in r.get("inputs", []):
                fb = i["msg"].get("feedback") or i["msg"].get("command")
                if fb in recorded:
                    recorded[fb] += 1
        check((good, bad) == (recorded["good"], recorded["bad"]),
              "feedback counts match the recorded inputs (good %d, bad %d; sent %d/%d)"
              % (good, bad, sent["good"], sent["bad"]))
        check(good + bad > 0, "some feedback was recorded")
    finally:
        srv.stop()
        srv.cleanup()


if __name__ == "__main__":
    main(test)
