"""hippo export reads the participant store row by row: its peak memory does
not grow with the number of participants. A store of 2,000 participants and
one of 100,000 (two answers each), in the backend under test (SQLite, or
PostgreSQL with HIPPO_TEST_STORE=postgresql, read through --store), are
exported and the peak RSS of the two processes compared: an export that
loaded the rows at once would grow by tens of MiB."""
import os
import subprocess
import tempfile

from serveutil import BIN, PG, Serve, check, main, servers, store_args, store_rows, pg_server

ROWS = """WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < %d)
INSERT INTO participants (project_id, user_id, created, updated, step, status, crowd)
SELECT 'P', 'user-' || i, '2026-12-01T00:00:00.000Z', '2026-12-01T00:00:00.000Z', 2, 'active',
       '{"PROLIFIC_PID":"pp-' || i || '"}' FROM n"""
ANSWERS = """INSERT INTO answers (participant, step, field, value, time)
SELECT id, 1, f.field, 'an answer of some length, as a participant would write it',
       '2026-12-01T00:00:01.000Z' FROM participants, (SELECT 'consent' AS field UNION ALL
       SELECT 'comment') f"""


def fill(data, users):
    """A store of USERS participants for project P in DATA (made by a server)."""
    srv = Serve(data=data, token=None)
    srv.request("GET", "/healthz")
    rc, err = srv.stop()
    servers.remove(srv)
    check(rc == 0, "the store of %s is made" % os.path.basename(data), err)
    if PG:
        db = store_rows(data, "SELECT current_database()")[0][0]
        pg_server().psql_db(db, ROWS % users)
        pg_server().psql_db(db, ANSWERS)
    else:
        import sqlite3
        con = sqlite3.connect(os.path.join(data, "hippo.db"))
        con.execute(ROWS % users)
        con.execute(ANSWERS)
        con.commit()
        con.close()
    os.makedirs(os.path.join(data, "P", "trials"), exist_ok=True)


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
    # a small allocator quarantine under AddressSanitizer, so freed memory is
    # reused as it would be without it
    env["ASAN_OPTIONS"] = env.get("ASAN_OPTIONS", "") + ":quarantine_size_mb=4"
    peaks = {}
    with tempfile.TemporaryDirectory(prefix="hippo-export-store-mem-") as tmp:
        for users in (2000, int(os.environ.get("N", "100000"))):
            data = os.path.join(tmp, "data%d" % users)
            fill(data, users)
            out = os.path.join(tmp, "out%d" % users)
            rss, err = peak_rss_mib([BIN, "export", "P", "--data", data, "--out", out,
                                     "--no-progress", *store_args(data)], env)
            check("%d participants, %d answers" % (users, 2 * users) in err,
                  "%d participants: peak RSS %.1f MiB" % (users, rss), err)
            with open(os.path.join(out, "participants.csv")) as f:
                rows = sum(1 for _ in f) - 1
            check(rows == users, "participants.csv has every participant (%d)" % rows)
            peaks[users] = rss
    growth = peaks[max(peaks)] - peaks[2000]
    check(growth < 24, "peak RSS grew by %.1f MiB for 49 times the participants (bound: 24 MiB)"
          % growth)


if __name__ == "__main__":
    main(test, timeout=600)
