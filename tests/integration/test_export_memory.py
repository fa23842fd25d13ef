"""hippo export streams: its peak memory does not grow with the data. Exports
a 20,000-step and a 200,000-step generated data folder and compares the peak
RSS of the two processes (the larger folder holds ~60 MB more records; an
export that kept records in memory would grow by at least that much). The
1 M-step benchmark with figures is bench/export_1m.sh."""
import os
import subprocess
import sys
import tempfile

from serveutil import BIN, SRC, check, main


def peak_rss_mib(args, env):
    p = subprocess.Popen(args, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(p.pid, 0)
    out, err = p.stdout.read(), p.stderr.read()
    p.stdout.close()
    p.stderr.close()
    check(os.waitstatus_to_exitcode(status) == 0, "export exits 0", err.decode())
    return usage.ru_maxrss / 1024.0, err.decode()


def test():
    env = dict(os.environ)
    # a small allocator quarantine when the binary runs under AddressSanitizer,
    # so freed memory is reused as it would be without it
    env["ASAN_OPTIONS"] = env.get("ASAN_OPTIONS", "") + ":quarantine_size_mb=4"
    peaks = {}
    with tempfile.TemporaryDirectory(prefix="hippo-export-mem-") as tmp:
        for users in (4, 40):
            data = os.path.join(tmp, "data%d" % users)
            subprocess.run([sys.executable, os.path.join(SRC, "bench", "gen_data.py"), data,
                            "--users", str(users), "--episodes", "10", "--steps", "499"],
                           check=True, capture_output=True)
            size = sum(os.path.getsize(os.path.join(r, f))
                       for r, _, fs in os.walk(data) for f in fs)
            rss, err = peak_rss_mib([BIN, "export", "P", "--data", data, "--out",
                                     os.path.join(tmp, "out%d" % users), "--no-progress"], env)
            steps = users * 10 * 500
            check("%d steps" % steps in err,
                  "%d steps (%.1f MB of data): peak RSS %.1f MiB" % (steps, size / 1e6, rss), err)
            peaks[users] = (rss, size)
    growth = peaks[40][0] - peaks[4][0]
    data_growth = (peaks[40][1] - peaks[4][1]) / 1048576.0
    check(growth < 24, "peak RSS grew by %.1f MiB for %.1f MiB more data (bound: 24 MiB)" % (
        growth, data_growth))


if __name__ == "__main__":
    main(test)
