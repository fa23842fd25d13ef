"""A PostgreSQL server of the test's own: Debian's `postgresql` binaries, initdb
into a temporary folder as an unprivileged user (as root: the `postgres` system
user, else `nobody`), listening on 127.0.0.1 on a free port, fsync off, stopped
and removed at exit.

    with Postgres() as pg:
        url = pg.url          # postgresql://hippo@127.0.0.1:PORT/hippo
        pg.psql("SELECT 1")
        other = pg.create_db("t1")   # a new empty database: its URL

`python3 pgutil.py run CMD ARGS...` runs CMD with HIPPO_TEST_STORE set to the
URL of a server of its own (CTest's `_pg` variants of the unit tests that open
a store), and exits with CMD's status.
"""
import atexit
import glob
import os
import pwd
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile


def _bindir():
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"),
                   key=lambda p: int(p.split("/")[4]) if p.split("/")[4].isdigit() else 0)
    if not found:
        raise RuntimeError("PostgreSQL server binaries not found (/usr/lib/postgresql/*/bin): "
                           "install Debian's postgresql (scripts/install-deps.sh)")
    return os.path.dirname(found[-1])


def _free_port():
    """A free port below the kernel's ephemeral range: the tests' other servers
    bind port 0 and outgoing connections take ephemeral ports, so neither can
    take it between this choice and the server's bind (a clash with another
    test choosing here is retried by the caller)."""
    with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
        low = int(f.read().split()[0])
    rng = random.Random()
    for _ in range(200):
        port = rng.randrange(max(1024, low - 12000), low)
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
                return port
            except OSError:
                continue
    raise RuntimeError("no free port below %d" % low)


class Postgres:
    """One server; DB is created for the user `hippo` (trust authentication on
    loopback only)."""

    def __init__(self, db="hippo", user="hippo"):
        self.bin = _bindir()
        self.tmp = tempfile.mkdtemp(prefix="hippo-pg-")
        os.chmod(self.tmp, 0o755)
        self.data = os.path.join(self.tmp, "db")
        self.sock = os.path.join(self.tmp, "sock")
        os.mkdir(self.sock)
        self.port = _free_port()
        self.user, self.db = user, db
        self.uid = self.gid = None
        if os.geteuid() == 0:
            for name in ("postgres", "nobody"):
                try:
                    pw = pwd.getpwnam(name)
                    self.uid, self.gid = pw.pw_uid, pw.pw_gid
                    break
                except KeyError:
                    continue
            if self.uid is None:
                raise RuntimeError("running as root and no unprivileged user for PostgreSQL")
            for p in (self.tmp, self.sock):
                os.chown(p, self.uid, self.gid)
        self.log = os.path.join(self.tmp, "server.log")
        self._run([os.path.join(self.bin, "initdb"), "-D", self.data, "-U", user,
                   "--auth=trust", "-E", "UTF8", "--locale=C", "--no-sync"])
        for attempt in range(5):  # another server may take the port first: a new one
            try:
                self._run([os.path.join(self.bin, "pg_ctl"), "-D", self.data, "-l", self.log,
                           "-w", "-t", "60", "-o",
                           "-c listen_addresses=127.0.0.1 -p %d -k %s -c fsync=off "
                           "-c synchronous_commit=off -c full_page_writes=off "
                           "-c max_connections=200" % (self.port, self.sock), "start"])
                break
            except RuntimeError as e:
                if "Address already in use" not in str(e) or attempt == 4:
                    raise
                self.port = _free_port()
        self.running = True
        atexit.register(self.stop)
        self._run([os.path.join(self.bin, "createdb"), "-h", "127.0.0.1", "-p", str(self.port),
                   "-U", user, db])
        self.url = "postgresql://%s@127.0.0.1:%d/%s" % (user, self.port, db)

    def _demote(self):
        if self.uid is not None:
            os.setgid(self.gid)
            os.setgroups([])
            os.setuid(self.uid)

    def _run(self, argv, **kw):
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LANG": "C", "TZ": "UTC"}
        r = subprocess.run(argv, preexec_fn=self._demote, env=env, capture_output=True,
                           text=True, timeout=120, cwd=self.tmp, **kw)
        if r.returncode != 0:
            log = ""
            if os.path.exists(self.log):
                with open(self.log) as f:
                    log = f.read()[-4000:]
            raise RuntimeError("%s failed (%d): %s%s\n%s" % (os.path.basename(argv[0]),
                                                            r.returncode, r.stdout, r.stderr, log))
        return r.stdout

    def psql(self, sql):
        """Runs SQL; returns psql's unaligned, tuples-only output."""
        return self._run([os.path.join(self.bin, "psql"), "-X", "-q", "-A", "-t", "-v",
                          "ON_ERROR_STOP=1", "-h", "127.0.0.1", "-p", str(self.port), "-U",
                          self.user, "-d", self.db, "-c", sql])

    def url_of(self, db, user=None, password=None):
        """The URL of database DB on this server (as USER, with PASSWORD)."""
        auth = user or self.user
        if password is not None:
            auth += ":" + password
        return "postgresql://%s@127.0.0.1:%d/%s" % (auth, self.port, db)

    def create_db(self, name):
        """A new empty database NAME ([a-z0-9_], dropped first if it exists); its URL."""
        if not re.fullmatch(r"[a-z][a-z0-9_]{0,62}", name):
            raise ValueError("database name %r" % name)
        self.psql('DROP DATABASE IF EXISTS "%s"' % name)
        self.psql('CREATE DATABASE "%s"' % name)
        return self.url_of(name)

    def psql_db(self, db, sql):
        """Runs SQL in database DB; returns psql's unaligned, tuples-only output."""
        return self._run([os.path.join(self.bin, "psql"), "-X", "-q", "-A", "-t", "-v",
                          "ON_ERROR_STOP=1", "-h", "127.0.0.1", "-p", str(self.port), "-U",
                          self.user, "-d", db, "-c", sql])

    def require_password(self, user, password):
        """A role USER that logs in over TCP with PASSWORD only (SCRAM), not
        trusted like the others."""
        if not re.fullmatch(r"[a-z][a-z0-9_]*", user) or "'" in password:
            raise ValueError("user or password")
        self.psql("CREATE ROLE %s LOGIN PASSWORD '%s'" % (user, password))
        hba = os.path.join(self.data, "pg_hba.conf")
        with open(hba) as f:
            text = f.read()
        with open(hba, "w") as f:
            f.write("host all %s 127.0.0.1/32 scram-sha-256\n%s" % (user, text))
        self.psql("SELECT pg_reload_conf()")

    def stop(self):
        if getattr(self, "running", False):
            self.running = False
            try:
                self._run([os.path.join(self.bin, "pg_ctl"), "-D", self.data, "-m", "immediate",
                           "-w", "stop"])
            except Exception:
                pass
        shutil.rmtree(self.tmp, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()


def _run_with_server(argv):
    """Runs ARGV with HIPPO_TEST_STORE naming a server of its own; its exit status."""
    with Postgres() as pg:
        env = dict(os.environ, HIPPO_TEST_STORE=pg.url)
        proc = subprocess.Popen(argv, env=env)
        # CTest stops a test that runs too long: the server goes with it
        signal.signal(signal.SIGTERM, lambda *_: proc.terminate())
        rc = proc.wait()
    return rc if rc >= 0 else 128 - rc


if __name__ == "__main__":
    if len(sys.argv) < 3 or sys.argv[1] != "run":
        sys.stderr.write("usage: pgutil.py run CMD [ARGS...]\n")
        sys.exit(2)
    sys.exit(_run_with_server(sys.argv[2:]))
