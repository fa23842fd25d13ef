"""hippo export on a small generated data folder (bench/gen_data.py --tricky:
quoting cases, unicode, a null observation value, nested info, feedback
inputs, a torn last line): the four CSV and JSONL tables must equal the
golden files in golden/export/, and are also checked independently against
the raw records (row counts, observation text, returns, feedback counts).
HIPPO_UPDATE_GOLDEN=1 rewrites the golden files."""
import csv
import json
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.environ.get("HIPPO_SRC", os.path.join(HERE, "..", ".."))
HIPPO = os.environ.get("HIPPO_BIN", os.path.join(SRC, "build", "test", "hippo"))
GOLDEN = os.path.join(HERE, "golden", "export")
TABLES = ["participants", "answers", "steps", "episodes"]
USERS, EPISODES, STEPS, OBS = 3, 2, 12, 4


def run(args, check=0):
    p = subprocess.run([HIPPO] + args, capture_output=True, text=True, timeout=120)
    if check is not None and p.returncode != check:
        raise AssertionError("hippo %s: exit %d\n%s%s" % (" ".join(args), p.returncode,
                                                         p.stdout, p.stderr))
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


def main():
    update = os.environ.get("HIPPO_UPDATE_GOLDEN") == "1"
    with tempfile.TemporaryDirectory(prefix="hippo-export-") as tmp:
        data = os.path.join(tmp, "data")
        subprocess.run([sys.executable, os.path.join(SRC, "bench", "gen_data.py"), data,
                        "--tricky", "--users", str(USERS), "--episodes", str(EPISODES),
                        "--steps", str(STEPS), "--obs", str(OBS), "--seed", "7"], check=True,
                       capture_output=True)
        for fmt in ("csv", "jsonl"):
            out = os.path.join(tmp, "out-" + fmt)
            p = run(["export", "P", "--data", data, "--format", fmt, "--out", out,
                     "--progress"])
            summary = [l for l in p.stderr.splitlines() if l.startswith("hippo export: P:")]
            print("check: %s summary: %s" % (fmt, summary[0] if summary else p.stderr))
            assert summary and "3 participants, 12 answers, 78 steps, 6 episodes" in summary[0]
            print("check: the torn line is reported, with its file and line")
            assert "1 unreadable record line(s) skipped" in p.stderr
            assert "episode_2.jsonl: line 14" in p.stderr
            print("check: a progress bar was drawn with --progress")
            assert "100.0%" in p.stderr
            assert sorted(os.listdir(out)) == sorted(t + "." + fmt for t in TABLES), \
                os.listdir(out)
            for t in TABLES:
                name = t + "." + fmt
                got = open(os.path.join(out, name), "rb").read()
                gpath = os.path.join(GOLDEN, name)
                if update:
                    os.makedirs(GOLDEN, exist_ok=True)
                    open(gpath, "wb").write(got)
                want = open(gpath, "rb").read()
                print("check: %s equals the golden file (%d bytes)" % (name, len(got)))
                assert got == want, "%s differs from %s" % (name, gpath)

        # independent checks on the CSV against the raw records
        out = os.path.join(tmp, "out-csv")
        rows = {t: list(csv.DictReader(open(os.path.join(out, t + ".csv"), newline="",
                                            encoding="utf-8"))) for t in TABLES}
        raw = raw_records(data)
        steps = rows["steps"]
        print("check: one steps row per record: %d == %d" % (len(steps), len(raw)))
        assert len(steps) == len(raw) == USERS * EPISODES * (STEPS + 1)
        header = open(os.path.join(out, "steps.csv"), newline="").readline()
        assert header.endswith("obs_0,obs_1,obs_2,obs_3\r\n")
        for row, (rec, obs_text) in zip(steps, raw):
            assert row["user_id"] == rec["userId"] and int(row["step"]) == rec["step"]
            for i, text in enumerate(obs_text):
                assert row["obs_%d" % i] == ("" if text == "null" else text), (row, obs_text)
        print("check: observation cells keep the recorded text; null is an empty cell")
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
        for row in rows["episodes"]:
            e = by_ep[(row["user_id"], int(row["episode"]))]
            assert float(row["return"]) == e["ret"] and int(row["steps"]) == e["steps"]
            assert int(row["feedback_good"]) == e["good"] and int(row["feedback_bad"]) == e["bad"]
        print("check: episode returns, lengths and feedback counts match the records "
              "(good %d, bad %d)" % (sum(e["good"] for e in by_ep.values()),
                                     sum(e["bad"] for e in by_ep.values())))
        assert sum(e["good"] for e in by_ep.values()) > 0
        comment = [r for r in rows["answers"] if r["field"] == "comment"][0]["value"]
        print("check: an answer with quotes, commas, CRLF and unicode round-trips: %r" % comment)
        assert comment == 'likes "fast", games,\r\nand ünïcode ✓'
        w = [r for r in rows["participants"] if r["crowd_workerId"]][0]
        assert w["crowd_workerId"] == "W,1" and w["crowd_hitId"] == 'H"1'
        assert [r["completed"] for r in rows["participants"]] == ["true", "true", "false"]

        jl = [json.loads(l) for l in open(os.path.join(tmp, "out-jsonl", "steps.jsonl"))]
        assert [r["step"] for r in jl] == [int(r["step"]) for r in steps]
        assert all(len(r["observation"]) == OBS for r in jl)
        print("check: JSONL rows mirror the CSV rows, observation kept as an array")

        p = run(["export", "no/such", "--data", data, "--out", os.path.join(tmp, "x")], check=1)
        print("check: an invalid project id is refused:", p.stderr.strip())
        assert "invalid project id" in p.stderr
        p = run(["export", "Nope", "--data", data, "--out", os.path.join(tmp, "x")], check=1)
        print("check: a project without data is an error:", p.stderr.strip())
        assert "no data" in p.stderr
        p = run(["export", "P", "--data", data, "--format", "xlsx"], check=2)
        assert "csv or jsonl" in p.stderr
    print("export golden test passed")


if __name__ == "__main__":
    main()
