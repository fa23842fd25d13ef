"""hippo export --format minari streams: its peak memory does not grow with
the data. Exports a 20,000-step and a 200,000-step generated data folder as
Minari datasets and compares the peak RSS of the two processes (the larger
folder holds ~60 MB more records; an export that kept steps in memory would
grow by at least that much), and checks the totals with h5py. The 1 M-step
benchmark is bench/export_1m.sh."""
import json
import os
import subprocess
import sys
import tempfile

import h5py

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.environ.get("HIPPO_SRC", os.path.join(HERE, "..", ".."))
HIPPO = os.environ.get("HIPPO_BIN", os.path.join(SRC, "build", "test", "hippo"))


def peak_rss_mib(args, env):
    p = subprocess.Popen(args, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(p.pid, 0)
    out, err = p.stdout.read(), p.stderr.read()
    p.stdout.close()
    p.stderr.close()
    if os.waitstatus_to_exitcode(status) != 0:
        raise AssertionError("export failed: %s" % err.decode())
    return usage.ru_maxrss / 1024.0, err.decode()


def main():
    env = dict(os.environ)
    env["ASAN_OPTIONS"] = env.get("ASAN_OPTIONS", "") + ":quarantine_size_mb=4"
    peaks = {}
    with tempfile.TemporaryDirectory(prefix="hippo-minari-mem-") as tmp:
        for users in (4, 40):
            data = os.path.join(tmp, "data%d" % users)
            subprocess.run([sys.executable, os.path.join(SRC, "bench", "gen_data.py"), data,
                            "--users", str(users), "--episodes", "10", "--steps", "499"],
                           check=True, capture_output=True)
            size = sum(os.path.getsize(os.path.join(r, f))
                       for r, _, fs in os.walk(data) for f in fs)
            out = os.path.join(tmp, "out%d" % users)
            rss, err = peak_rss_mib([HIPPO, "export", "P", "--data", data, "--format", "minari",
                                     "--out", out, "--no-progress"], env)
            steps = users * 10 * 499
            print("check: %d steps (%.1f MB of data): peak RSS %.1f MiB" % (steps, size / 1e6,
                                                                           rss))
            assert "%d steps" % steps in err, err
            d = os.path.join(out, "P", "CartPole-v1", "human-v0", "data")
            meta = json.load(open(os.path.join(d, "metadata.json")))
            with h5py.File(os.path.join(d, "main_data.hdf5"), "r") as f:
                n = sum(f[k]["actions"].shape[0] for k in f.keys())
                assert len(f.keys()) == users * 10 == meta["total_episodes"], meta
                assert n == steps == meta["total_steps"], (n, meta)
            peaks[users] = (rss, size)
    growth = peaks[40][0] - peaks[4][0]
    data_growth = (peaks[40][1] - peaks[4][1]) / 1048576.0
    print("check: peak RSS grew by %.1f MiB for %.1f MiB more data (bound: 24 MiB)" % (
        growth, data_growth))
    assert growth < 24, "minari export memory grows with the data"
    print("minari export memory test passed")


if __name__ == "__main__":
    main()
