"""The participant store's write-ahead log stays bounded while `hippo serve`
answers thousands of /next requests: 1,500 new participants each GET step 1 and
POST it (a participant insert, a group assignment and an advance: several
commits each). hippo.db-wal is sampled every 100 requests and must never pass
WAL_BOUND; every participant and answer must be in hippo.db afterwards."""
import http.client
import json
import os
import sqlite3

from serveutil import PROJECTS, Serve, check, main

PROJECT = os.path.join(PROJECTS, "serve_groups")
USERS = 1500
WAL_BOUND = 12 << 20  # checkpoints start at 2 MiB, writers wait at 8 MiB (docs/data.md)


def size(path):
    try:
        return os.path.getsize(path)
    except OSError:
        return 0


def test():
    srv = Serve(PROJECT)
    wal = os.path.join(srv.data, "hippo.db-wal")
    conn = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=30)
    sizes, sent = [], 0

    def request(method, query, body=None):
        nonlocal sent
        hdrs = {"Content-Type": "application/json"} if body is not None else {}
        conn.request(method, "/next?" + query, body=body, headers=hdrs)
        r = conn.getresponse()
        data = r.read()
        sent += 1
        if sent % 100 == 0:
            sizes.append(size(wal))
        return r.status, data

    try:
        for i in range(USERS):
            q = "projectId=serve-groups&userId=wal-%d" % i
            st, _ = request("GET", q)
            if st != 200:
                check(False, "GET %s answered %d" % (q, st))
            st, body = request("POST", q + "&step=1", json.dumps({"n": str(i)}))
            if st != 200 or json.loads(body).get("step") != 2:
                check(False, "POST %s answered %d %s" % (q, st, body[:200]))
    finally:
        conn.close()
    peak = max(sizes)
    print("WAL after every 100 of %d requests (KiB): %s" % (sent, [s >> 10 for s in sizes[::5]]))
    check(peak <= WAL_BOUND, "hippo.db-wal stays under %d MiB over %d requests (peak %.1f MiB, "
          "last %.1f MiB)" % (WAL_BOUND >> 20, sent, peak / 2**20, sizes[-1] / 2**20))
    check(size(os.path.join(srv.data, "hippo.db")) > 256 << 10,
          "the checkpoints moved the data into hippo.db (%d KiB)"
          % (size(os.path.join(srv.data, "hippo.db")) >> 10))
    rc, err = srv.stop()
    check(rc == 0, "the server exits 0 (%s)" % err[-2000:])
    db = sqlite3.connect("file:%s?mode=ro" % os.path.join(srv.data, "hippo.db"), uri=True)
    n, = db.execute("SELECT count(*) FROM participants WHERE project_id = 'serve-groups'").fetchone()
    a, = db.execute("SELECT count(*) FROM answers WHERE field = 'n'").fetchone()
    db.close()
    check(n == USERS and a == USERS, "every participant and answer is stored (%d, %d)" % (n, a))
    srv.cleanup()


main(test)
