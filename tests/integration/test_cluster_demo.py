"""scripts/cluster-demo.sh: three nodes and HAProxy on 127.0.0.1 from one
command; it prints the study URL, whose /next places the game on a node
behind the one origin (/g/<node>/ws), and Ctrl-C (SIGINT) stops every
process it started."""
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


def run():
    port = free_ports(4)  # the public port and the nodes' three after it
    tmp = tempfile.mkdtemp(prefix="hippo-demo-test-")
    env = dict(os.environ, HIPPO_BIN=BIN, PORT=str(port), DEMO_DIR=tmp)
    proc = subprocess.Popen(["bash", os.path.join(SRC, "scripts", "cluster-demo.sh")],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
                            start_new_session=True)
    pids, url = [], None
    try:
        end = time.monotonic() + 60
        while time.monotonic() < end and url is None:
            line = proc.stdout.readline()
            if not line:
                break
            if " pid " in line:
                pids.append(int(line.split(" pid ")[1].split()[0]))
            if line.startswith("open "):
                url = line.split()[1]
        check(url == "http://127.0.0.1:%d/?projectId=cartpole-demo" % port,
              "the demo prints the study URL: %s" % url, proc.stderr.read() if not url else None)
        check(len(pids) == 4, "it started three nodes and HAProxy")
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
    except Exception:
        for name in ("node-1", "node-2", "node-3", "haproxy"):  # what they said
            path = os.path.join(tmp, name + ".log")
            if os.path.exists(path):
                with open(path, errors="replace") as f:
                    print("%s:\n%s" % (path, f.read()[-3000:]))
        raise
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(60)
    wait_for(lambda: not any(alive(p) for p in pids), "every process to stop", timeout=30)
    check(True, "Ctrl-C stopped the nodes and HAProxy")
    shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main(run)
