"""`--store`: where `hippo serve` and `hippo export` keep and read the
participant store. A store named explicitly is used (an SQLite file outside
the data folder); a bad or unreachable store stops the server at start with
one line and exit status 2, never a crash; a password in the URL appears in no
message, log line or banner. Under PostgreSQL (HIPPO_TEST_STORE=postgresql)
also: a wrong password is refused, the right one works and is never shown, two
servers share one store (a participant moves between them and advances once
under concurrent submits to both), and a connection the database drops is
re-established without a failed request."""
import os
import subprocess
import tempfile
import threading

from serveutil import BIN, EXAMPLE, PG, Serve, check, main, pg_server, servers, store_rows

P = "cartpole-demo"


def serve_fails(data, spec, says, secret=None):
    """`hippo serve --store SPEC` must exit 2 at start with one line naming SAYS."""
    p = subprocess.run([BIN, "serve", EXAMPLE, "--port", "0", "--data", data, "--store", spec],
                       capture_output=True, text=True, timeout=60)
    lines = p.stderr.strip().splitlines()
    check(p.returncode == 2 and len(lines) == 1 and says in lines[0],
          "--store %s: exit 2, one line: %s" % (spec.split("@")[-1], lines[-1] if lines else ""),
          p.stdout + p.stderr)
    if secret:
        check(secret not in p.stdout + p.stderr and "***" in p.stderr,
              "the password is masked in the message")


def explicit_sqlite_store(tmp):
    path = os.path.join(tmp, "elsewhere.db")
    data = os.path.join(tmp, "data-sqlite")
    srv = Serve(EXAMPLE, data=data, args=("--store", "sqlite:" + path))
    st, j = srv.next(P, "explicit", {"consent": "yes"})
    check(st == 200 and j["step"] == 2, "a participant advances on a store named by --store")
    rc, err = srv.stop()
    check(rc == 0, "the server exits 0")
    check(os.path.exists(path) and not os.path.exists(os.path.join(data, "hippo.db")),
          "the store is the file named, not DATA/hippo.db")
    out = os.path.join(tmp, "export-sqlite")
    p = subprocess.run([BIN, "export", P, "--data", data, "--store", "sqlite:" + path,
                        "--out", out, "--no-progress"], capture_output=True, text=True,
                       timeout=120)
    check(p.returncode == 0 and ",explicit," in open(os.path.join(out, "participants.csv")).read(),
          "hippo export --store reads the same store", p.stderr)


def default_store(tmp):
    """Without --store: DATA/hippo.db, named in the log."""
    data = os.path.join(tmp, "data-default")
    srv = Serve(EXAMPLE, data=data)
    st, j = srv.next(P, "by-default")
    rc, err = srv.stop()
    check(st == 200 and rc == 0 and os.path.exists(os.path.join(data, "hippo.db")),
          "the default store is DATA/hippo.db")
    check('msg="participant store open" store="%s/hippo.db"' % data in err,
          "the log names it", err[:400])


def bad_stores(tmp):
    data = os.path.join(tmp, "data-bad")
    serve_fails(data, "mysql://u@127.0.0.1/db", "no participant store backend for 'mysql:'")
    serve_fails(data, "postgresql://u:hunter2@127.0.0.1:1/db", "cannot connect", "hunter2")
    serve_fails(data, "postgres://u:hunter2@127.0.0.1", "no database named", "hunter2")
    serve_fails(data, "postgresql://u:hunter%zz2@127.0.0.1/db", "bad PostgreSQL URL",
                "hunter%zz2")
    serve_fails(data, "postgresql:hippo", "not a PostgreSQL URL")
    p = subprocess.run([BIN, "export", P, "--data", data, "--store",
                        "postgresql://u:hunter2@127.0.0.1:1/db", "--out",
                        os.path.join(tmp, "x")], capture_output=True, text=True, timeout=60)
    check(p.returncode == 1 and "cannot connect" in p.stderr and "hunter2" not in p.stderr,
          "hippo export: an unreachable store is an error, its password masked: %s"
          % p.stderr.strip())


def passwords(tmp):
    pg = pg_server()
    pg.require_password("secure_user", "right-pw-42")
    pg.psql("CREATE DATABASE secured OWNER secure_user")
    data = os.path.join(tmp, "data-secured")
    serve_fails(data, pg.url_of("secured", "secure_user", "wrong-pw-17"),
                "password authentication failed", "wrong-pw-17")
    serve_fails(data, pg.url_of("no_such_db"), 'database "no_such_db" does not exist')
    url = pg.url_of("secured", "secure_user", "right-pw-42")
    srv = Serve(EXAMPLE, data=data, args=("--store", url, "--log-level", "debug"))
    st, j = srv.next(P, "secret-keeper", {"consent": "yes"})
    check(st == 200 and j["step"] == 2, "the right password opens the store")
    out = os.path.join(tmp, "export-secured")
    p = subprocess.run([BIN, "export", P, "--data", data, "--store", url, "--out", out,
                        "--no-progress"], capture_output=True, text=True, timeout=120)
    check(p.returncode == 0
          and ",secret-keeper," in open(os.path.join(out, "participants.csv")).read(),
          "hippo export reads it with the same URL", p.stderr)
    rc, err = srv.stop()
    shown = "".join(srv.banner) + err + p.stdout + p.stderr
    check(rc == 0 and "right-pw-42" not in shown, "the password is in no banner or log line")
    check("secure_user:***@" in err, "the log names the store with its password masked")


def cluster_node(tmp):
    """A cluster node on a PostgreSQL store registers in it with its lease,
    and a clean exit takes it out again."""
    url = pg_server().create_db("nodes")
    srv = Serve(EXAMPLE, data=os.path.join(tmp, "data-node"),
                args=("--store", url, "--node", "n1", "--advertise", "http://127.0.0.1:9/g/n1",
                      "--slots", "3", "--records-local"))
    rows = pg_server().psql_db("nodes", "SELECT name, url, slots FROM nodes")
    check(rows.strip() == "n1|http://127.0.0.1:9/g/n1|3",
          "--node on a PostgreSQL store: the node is registered (%s)" % rows.strip())
    rc, _ = srv.stop()
    rows = pg_server().psql_db("nodes", "SELECT count(*) FROM nodes")
    check(rc == 0 and rows.strip() == "0", "a clean exit takes it out (%s)" % rows.strip())


def two_servers_one_store(tmp):
    data = os.path.join(tmp, "data-shared")
    a = Serve(EXAMPLE, data=data)
    b = Serve(EXAMPLE, data=data)
    check("--store" in a.proc.args and a.proc.args[-2:] == b.proc.args[-2:],
          "two servers on one store: %s" % a.proc.args[-1].rsplit("/", 1)[1])
    st, j = a.next(P, "walker", {"consent": "yes"})
    check(st == 200 and j["step"] == 2, "server A: the participant reaches step 2")
    st, j = b.next(P, "walker")
    check(st == 200 and j["step"] == 2 and "Instructions" in j["page"],
          "server B: the same participant is at step 2")
    results = []

    def submit(srv):
        results.append(srv.next(P, "racer", {"consent": "yes"}, extra="&step=1"))

    a.next(P, "racer")
    for _ in range(3):
        threads = [threading.Thread(target=submit, args=(s,)) for s in (a, b, a, b)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    check(all(st == 200 and j["step"] == 2 for st, j in results),
          "concurrent submits of step 1 to both servers: each answered step 2 (%s)"
          % sorted(set(j.get("step") for _, j in results)))
    rows = store_rows(data, "SELECT count(*) FROM answers x JOIN participants p"
                            " ON p.id = x.participant WHERE p.user_id = 'racer'")
    check(rows == [("1",)], "the answer of step 1 is stored once: %s" % rows)

    # the database drops every connection (a restart, a failover)
    pg = pg_server()
    db = store_rows(data, "SELECT current_database()")[0][0]
    pg.psql("SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE datname = '%s' AND pid <> pg_backend_pid()" % db)
    st, j = a.next(P, "walker")
    check(st == 200 and j["step"] == 2, "after the connections were dropped: answered (%s)" % st)
    st, j = b.next(P, "after-drop", {})
    check(st == 200 and j["step"] == 2, "and a new participant advances on the other server")
    for s in (a, b):
        rc, err = s.stop()
        check(rc == 0 and "reconnected to PostgreSQL" in err,
              "%s exits 0 and logged its reconnection" % s.name)


def test():
    with tempfile.TemporaryDirectory(prefix="hippo-store-") as tmp:
        explicit_sqlite_store(tmp)
        if not PG:  # (the PostgreSQL variant gives every server a database)
            default_store(tmp)
        bad_stores(tmp)
        if PG:
            passwords(tmp)
            cluster_node(tmp)
            two_servers_one_store(tmp)
    for s in servers:
        s.cleanup()


main(test)
