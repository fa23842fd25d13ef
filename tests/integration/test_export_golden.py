"""hippo export on a small generated data folder (bench/gen_data.py --tricky:
quoting cases, unicode, a null observation value, nested info, feedback
inputs, a torn last line): the five CSV and JSONL tables must equal the
golden files in golden/export/, and are also checked independently against
the raw records (row counts, observation text, returns, feedback counts).
HIPPO_UPDATE_GOLDEN=1 rewrites the golden files."""
import csv
import json
import os
import subprocess
import sys
import tempfile

from serveutil import BIN, HERE, PG, SRC, check, main, store_args, store_from_sqlite

GOLDEN = os.path.join(HERE, "golden", "export")
TABLES = ["participants", "answers", "passes", "steps", "episodes"]
USERS, EPISODES, STEPS, OBS = 3, 2, 12, 4


def run(args, expect=0):
    p = subprocess.run([BIN] + args, capture_output=True, text=True, timeout=120)
    check(p.returncode == expect, "hippo %s: exit %d" % (" ".join(args), expect),
          p.stdout + p.stderr)
    return p


def raw_records(data):
    """Every parseable step record, with the raw text of each observation value."""
    out = []
    root = os.path.join(data, "P", "trials")
    for user in sorted(os.listdir(root)):
        for name in sorted(os.listdir(os.path.join(root, user))):
            if name == "trials.jsonl":
                continue
            for line in open(os.path.join(root, user, name), encoding="utf-8"):
                try:
                    rec = json.loads(line)
                except ValueError:
                    continue
                obs_text = line.split('"observation":[', 1)[1].split("]", 1)[0].split(",")
                out.append((rec, obs_text))
    return out


def test():
    update = os.environ.get("HIPPO_UPDATE_GOLDEN") == "1"
    with tempfile.TemporaryDirectory(prefix="hippo-export-") as tmp:
        data = os.path.join(tmp, "data")
        subprocess.run([sys.executable, os.path.join(SRC, "bench", "gen_data.py"), data,
                        "--tricky", "--users", str(USERS), "--episodes", str(EPISODES),
                        "--steps", str(STEPS), "--obs", str(OBS), "--seed", "7"], check=True,
                       capture_output=True)
        store_from_sqlite(data)  # the same rows in PostgreSQL, read from there
        if PG:
            os.rename(os.path.join(data, "hippo.db"), os.path.join(tmp, "hippo.db"))
        for fmt in ("csv", "jsonl"):
            out = os.path.join(tmp, "out-" + fmt)
            p = run(["export", "P", "--data", data, "--format", fmt, "--out", out,
                     "--progress", *store_args(data)])
            summary = [l for l in p.stderr.splitlines() if l.startswith("hippo export: P:")]
            check(summary and "3 participants, 12 answers, 0 passes, 78 steps, 6 episodes" in summary[0],
                  "%s summary: %s" % (fmt, summary[0] if summary else p.stderr))
            check("1 unreadable record line(s) skipped" in p.stderr
                  and "episode_2.jsonl: line 14" in p.stderr,
                  "the torn line is reported, with its file and line")
            check("100.0%" in p.stderr, "a progress bar was drawn with --progress")
            check(sorted(os.listdir(out)) == sorted(t + "." + fmt for t in TABLES),
                  "the five %s tables" % fmt, os.listdir(out))
            for t in TABLES:
                name = t + "." + fmt
                got = open(os.path.join(out, name), "rb").read()
                gpath = os.path.join(GOLDEN, name)
                if update:
                    os.makedirs(GOLDEN, exist_ok=True)
                    open(gpath, "wb").write(got)
                want = open(gpath, "rb").read()
                check(got == want, "%s equals the golden file (%d bytes)" % (name, len(got)),
                      "%s differs from %s" % (name, gpath))

        # independent checks on the CSV against the raw records
        out = os.path.join(tmp, "out-csv")
        rows = {t: list(csv.DictReader(open(os.path.join(out, t + ".csv"), newline="",
                                            encoding="utf-8"))) for t in TABLES}
        raw = raw_records(data)
        steps = rows["steps"]
        check(len(steps) == len(raw) == USERS * EPISODES * (STEPS + 1),
              "one steps row per record: %d == %d" % (len(steps), len(raw)))
        header = open(os.path.join(out, "steps.csv"), newline="").readline()
        check(header.endswith("obs_0,obs_1,obs_2,obs_3\r\n"), "steps.csv: one column per "
              "observation value", header)
        bad = [(row, obs_text) for row, (rec, obs_text) in zip(steps, raw)
               if row["user_id"] != rec["userId"] or int(row["step"]) != rec["step"]
               or any(row["obs_%d" % i] != ("" if text == "null" else text)
                      for i, text in enumerate(obs_text))]
        check(not bad, "observation cells keep the recorded text; null is an empty cell",
              bad[:1])
        by_ep = {}
        for rec, _ in raw:
            k = (rec["userId"], rec["episode"])
            e = by_ep.setdefault(k, {"ret": 0, "good": 0, "bad": 0, "steps": 0})
            e["ret"] += rec.get("reward", 0)
            e["steps"] += 0 if rec.get("reset") else 1
            for i in rec.get("inputs", []):
                fb = i["msg"].get("feedback") or i["msg"].get("command")
                e["good"] += fb == "good"
                e["bad"] += fb == "bad"
        bad = []
        for row in rows["episodes"]:
            e = by_ep[(row["user_id"], int(row["episode"]))]
            if not (float(row["return"]) == e["ret"] and int(row["steps"]) == e["steps"]
                    and int(row["feedback_good"]) == e["good"]
                    and int(row["feedback_bad"]) == e["bad"]):
                bad.append((row, e))
        check(not bad, "episode returns, lengths and feedback counts match the records "
              "(good %d, bad %d)" % (sum(e["good"] for e in by_ep.values()),
                                     sum(e["bad"] for e in by_ep.values())), bad[:1])
        check(sum(e["good"] for e in by_ep.values()) > 0, "some good feedback was recorded")
        comment = [r for r in rows["answers"] if r["field"] == "comment"][0]["value"]
        check(comment == 'likes "fast", games,\r\nand ünïcode ✓',
              "an answer with quotes, commas, CRLF and unicode round-trips: %r" % comment)
        w = [r for r in rows["participants"] if r["crowd_workerId"]][0]
        check(w["crowd_workerId"] == "W,1" and w["crowd_hitId"] == 'H"1',
              "crowd ids with a comma and a quote round-trip")
        check([r["completed"] for r in rows["participants"]] == ["true", "true", "false"],
              "participants: completed or not")

        jl = [json.loads(l) for l in open(os.path.join(tmp, "out-jsonl", "steps.jsonl"))]
        check([r["step"] for r in jl] == [int(r["step"]) for r in steps]
              and all(len(r["observation"]) == OBS for r in jl),
              "JSONL rows mirror the CSV rows, observation kept as an array")

        p = run(["export", "no/such", "--data", data, "--out", os.path.join(tmp, "x"),
                 *store_args(data)], 1)
        check("invalid project id" in p.stderr,
              "an invalid project id is refused: %s" % p.stderr.strip())
        p = run(["export", "Nope", "--data", data, "--out", os.path.join(tmp, "x"),
                 *store_args(data)], 1)
        check("no data" in p.stderr, "a project without data is an error: %s" % p.stderr.strip())
        p = run(["export", "P", "--data", data, "--format", "xlsx"], 2)
        check("csv or jsonl" in p.stderr, "an unknown format is a usage error")


if __name__ == "__main__":
    main(test)
