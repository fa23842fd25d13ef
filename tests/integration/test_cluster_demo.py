"""scripts/cluster-demo.sh: PostgreSQL, three nodes and HAProxy on 127.0.0.1
from one command; it prints the study URL, whose /next places the game on a
node behind the one origin (/g/<node>/ws), the placement is in the demo's
PostgreSQL database, and Ctrl-C (SIGINT) stops every process it started, the
PostgreSQL server too. Then once more with STORE naming an SQLite file."""
import glob
import os
import random
import shutil
import signal
import socket
import subprocess
import tempfile
import time

from clusterutil import http, node_of
from serveutil import BIN, SRC, check, main, wait_for

HAVE_PG = bool(glob.glob("/usr/lib/postgresql/*/bin/initdb"))


def alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with open("/proc/%d/stat" % pid) as f:
        return f.read().split()[2] != "Z"


def free_ports(n):
    """A port P with P..P+N-1 free on 127.0.0.1, below the kernel's ephemeral
    range: every other test's servers take ports the kernel hands out
    (free_port(), bind to port 0) and outgoing connections take ephemeral
    ones, so neither can take P+1.. between this choice and the demo's binds."""
    with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
        low = int(f.read().split()[0])
    rng = random.Random(os.getpid())
    for _ in range(200):
        port, socks = rng.randrange(max(1024, low - 12000), low - n), []
        try:
            for i in range(n):
                s = socket.socket()
                s.bind(("127.0.0.1", port + i))
                socks.append(s)
            return port
        except OSError:
            continue
        finally:
            for s in socks:
                s.close()
    raise AssertionError("no %d free ports in a row" % n)


def pg_rows(tmp, port, sql):
    """psql's unaligned rows of SQL in the demo's database (by TCP, with its password)."""
    with open(os.path.join(tmp, "pg-password")) as f:
        env = dict(os.environ, PGPASSWORD=f.read().strip())
    return subprocess.run(["psql", "-X", "-A", "-t", "-h", "127.0.0.1", "-p", str(port), "-U",
                           "hippo", "-d", "hippo", "-c", sql], env=env, capture_output=True,
                          text=True, timeout=30).stdout.strip()


def demo(store=None):
    """One run of the demo; STORE: the STORE it is given (None: its default)."""
    port = free_ports(5)  # the public port, the nodes' three after it, PostgreSQL's
    tmp = tempfile.mkdtemp(prefix="hippo-demo-test-")
    env = dict(os.environ, HIPPO_BIN=BIN, PORT=str(port), DEMO_DIR=tmp)
    env.pop("STORE", None)
    if store:
        env["STORE"] = store % tmp
    own_pg = HAVE_PG and not store
    proc = subprocess.Popen(["bash", os.path.join(SRC, "scripts", "cluster-demo.sh")],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
                            start_new_session=True)
    pids, url, said = [], None, []
    postmaster = None
    try:
        end = time.monotonic() + 90
        while time.monotonic() < end and url is None:
            line = proc.stdout.readline()
            if not line:
                break
            said.append(line.rstrip())
            if " pid " in line:
                pids.append(int(line.split(" pid ")[1].split()[0]))
            if line.startswith("open "):
                url = line.split()[1]
        check(url == "http://127.0.0.1:%d/?projectId=cartpole-demo" % port,
              "the demo prints the study URL: %s" % url, proc.stderr.read() if not url else None)
        check(len(pids) == 4, "it started three nodes and HAProxy")
        if own_pg:
            check(any(x.startswith("cluster-demo: PostgreSQL ") and
                      "on 127.0.0.1:%d " % (port + 4) in x for x in said),
                  "it started PostgreSQL of its own on 127.0.0.1:%d" % (port + 4), said)
            with open(os.path.join(tmp, "pg", "data", "postmaster.pid")) as f:
                postmaster = int(f.readline())
        elif not store:
            check(any("the SQLite file" in x for x in said),
                  "no PostgreSQL server binaries: it says the nodes share an SQLite file")
        origin = "http://127.0.0.1:%d" % port
        q = "/next?projectId=cartpole-demo&userId=demo-1"
        http(origin, "GET", q)
        http(origin, "POST", q, {"consent": "yes"})
        st, j = http(origin, "POST", q, {})
        check(st == 200 and j["page"] == "show_game_page" and
              node_of(j["server"]) in ("node-1", "node-2", "node-3") and
              j["server"].startswith("ws://127.0.0.1:%d/g/" % port),
              "the game is placed on a node behind the one origin: %s" % j)
        st, text = http("http://127.0.0.1:%d" % (port + 1), "GET", "/metrics")
        check('hippo_cluster_node_live{node="node-3"} 1' in text, "the nodes are live")
        if own_pg:
            rows = pg_rows(tmp, port + 4,
                           "SELECT s.node FROM sessions s JOIN participants p"
                           " ON p.id = s.participant WHERE p.user_id = 'demo-1'"
                           " AND s.stopped IS NULL")
            check(rows == node_of(j["server"]),
                  "the placement is in the demo's PostgreSQL database: %s" % rows)
        if store:
            check(os.path.exists(os.path.join(tmp, "nodes.db")) and
                  not os.path.exists(os.path.join(tmp, "pg")),
                  "the nodes share the SQLite file STORE names, no PostgreSQL started")
    except Exception:
        for name in ("node-1", "node-2", "node-3", "haproxy", "initdb", "pg/server"):
            path = os.path.join(tmp, name + ".log")  # what they said
            if os.path.exists(path):
                with open(path, errors="replace") as f:
                    print("%s:\n%s" % (path, f.read()[-3000:]))
        raise
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(60)
    wait_for(lambda: not any(alive(p) for p in pids), "every process to stop", timeout=30)
    check(True, "Ctrl-C stopped the nodes and HAProxy")
    if postmaster:
        wait_for(lambda: not alive(postmaster), "PostgreSQL to stop", timeout=30)
        check(True, "and its PostgreSQL server")
    shutil.rmtree(tmp, ignore_errors=True)


def run():
    demo()
    demo(store="sqlite:%s/nodes.db")


if __name__ == "__main__":
    main(run)
