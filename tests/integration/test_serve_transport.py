"""The transport around the handlers of `hippo serve`, over real sockets:

- every answer carries X-Content-Type-Options: nosniff (/next included);
- /metrics (it names every project) is served to the addresses of --metrics-from (default
  loopback) and to the admin token, not to a request relayed by a proxy, not to others;
  a bad --metrics-from stops the start with exit 2;
- the game websocket is accepted at / as well as /ws (the original front end connects to /);
  an upgrade anywhere else gets an HTTP 404 with a JSON reason, logged with its path;
- over HTTP/2 (TLS, no Host header) show_game_page still names the game server, from
  :authority;
- the debug log of websocket writes reports len=0 when there is nothing to write."""
import asyncio
import json
import os
import re
import shutil
import socket
import subprocess
import tempfile


from serveutil import BIN, EXAMPLE, TOKEN, Serve, check, main, play_until_done

P = "cartpole-demo"


def to_game(srv, user):
    srv.next(P, user, {"consent": "yes"})
    st, j = srv.next(P, user, {})
    check(st == 200 and j["page"] == "show_game_page", "%s reaches the game" % user)
    return j


def nosniff(srv):
    for method, path, body in [("GET", "/next?projectId=%s&userId=ns1" % P, None),
                               ("POST", "/next?projectId=%s&userId=ns1" % P, {"consent": "yes"}),
                               ("OPTIONS", "/next?projectId=%s&userId=ns1" % P, None),
                               ("GET", "/next?projectId=nope&userId=ns1", None),
                               ("GET", "/healthz", None), ("GET", "/api/projects", None),
                               ("GET", "/no-such-thing", None), ("GET", "/", None)]:
        st, _, h = srv.request(method, path, body)
        check(h.get("X-Content-Type-Options") == "nosniff" and
              len(h.get_all("X-Content-Type-Options")) == 1,
              "%s %s (%d): X-Content-Type-Options: nosniff, once" % (method, path, st))


def metrics(srv_args, want, headers=None, what=""):
    srv = Serve(EXAMPLE, args=srv_args)
    try:
        st, body, _ = srv.request("GET", "/metrics", headers=headers, raw=True)
        ids = P.encode() in body
        check(st == want and ids == (want == 200),
              "/metrics %s: %d (%s)" % (what, st, "project ids listed" if ids else body[:80]))
    finally:
        srv.stop()
        srv.cleanup()


def metrics_access():
    auth = {"Authorization": "Bearer " + TOKEN}
    metrics((), 200, what="from loopback by default")
    metrics((), 403, {"X-Forwarded-For": "203.0.113.9"}, "relayed by a proxy, no token")
    metrics((), 200, dict(auth, **{"X-Forwarded-For": "203.0.113.9"}),
            "relayed by a proxy, with the admin token")
    metrics(("--metrics-from", "none"), 403, what="with --metrics-from none, no token")
    metrics(("--metrics-from", "none"), 403, {"Authorization": "Bearer wrong"},
            "with --metrics-from none and a wrong token")
    metrics(("--metrics-from", "none"), 200, auth, "with --metrics-from none and the token")
    metrics(("--metrics-from", "10.0.0.0/8, 192.0.2.1"), 403,
            what="from loopback with --metrics-from 10.0.0.0/8,192.0.2.1")
    metrics(("--metrics-from", "10.0.0.0/8,127.0.0.1/32"), 200,
            what="with --metrics-from 10.0.0.0/8,127.0.0.1/32")
    metrics(("--metrics-from", "any"), 200, {"X-Forwarded-For": "203.0.113.9"},
            "with --metrics-from any, relayed")
    tmp = tempfile.mkdtemp(prefix="hippo-metrics-")
    try:
        r = subprocess.run([BIN, "serve", "--port", "0", "--data", os.path.join(tmp, "d"),
                            "--metrics-from", "loopback,10.0.0.0/33"],
                           capture_output=True, text=True, timeout=30)
        check(r.returncode == 2 and "--metrics-from" in r.stderr and "10.0.0.0/33" in r.stderr,
              "a bad --metrics-from entry stops the start with exit 2: %s" % r.stderr.strip())
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def upgrade(port, path):
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    s.sendall(("GET %s HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
               "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
               % path).encode())
    buf = b""
    try:
        while b"\r\n\r\n" not in buf or (b"content-length" in buf and not buf.endswith(b"}")):
            c = s.recv(4096)
            if not c:
                break
            buf += c
    except socket.timeout:
        pass
    s.close()
    return buf


def websocket_paths(srv):
    j = to_game(srv, "root-ws")
    root = j["server"].replace("/ws", "/")
    frames = asyncio.run(play_until_done(root, P, "root-ws", stop_after=10))
    check(frames >= 10, "a game played over the websocket at / (%s): %d frames" % (root, frames))
    for path in ("/foo", "/ws/x", "/next"):
        ans = upgrade(srv.port, path)
        head, _, body = ans.partition(b"\r\n\r\n")
        check(head.split()[1:2] == [b"404"] and json.loads(body).get("error"),
              "an upgrade at %s: HTTP 404 with a JSON reason (%r)" % (path, ans[:60]))
    check(upgrade(srv.port, "/").startswith(b"HTTP/1.1 101"),
          "an upgrade at /: 101 (a page request has no Upgrade header)")
    st, page, _ = srv.request("GET", "/", raw=True)
    check(st == 200 and b"<html" in page.lower(), "GET / is still the page")


def http2():
    tmp = tempfile.mkdtemp(prefix="hippo-h2-")
    try:
        cert, key = os.path.join(tmp, "cert.pem"), os.path.join(tmp, "key.pem")
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                        "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
                        "-keyout", key, "-out", cert], check=True, capture_output=True)
        srv = Serve(EXAMPLE, args=("--tls-cert", cert, "--tls-key", key))
        try:
            base = "https://127.0.0.1:%d/next?projectId=%s&userId=h2user" % (srv.port, P)
            out = None
            for body in ('{"consent":"yes"}', "{}"):
                r = subprocess.run(["curl", "-sk", "--http2", "-w", "\\n%{http_version}", "-X",
                                    "POST", "-H", "Content-Type: application/json", "-d", body,
                                    base], capture_output=True, text=True, timeout=30)
                out = r.stdout
            text, _, version = out.rpartition("\n")
            j = json.loads(text)
            check(version == "2", "curl spoke HTTP/%s" % version)
            check(j.get("page") == "show_game_page" and
                  j.get("server") == "wss://127.0.0.1:%d/ws" % srv.port,
                  "over HTTP/2 show_game_page names the server from :authority (%s)" % j)
        finally:
            srv.stop()
            srv.cleanup()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def debug_log():
    srv = Serve(EXAMPLE, args=("--log-level", "debug"))
    try:
        j = to_game(srv, "dbg")
        asyncio.run(play_until_done(j["server"], P, "dbg", stop_after=30))
    finally:
        rc, err = srv.stop()
        srv.cleanup()
    lines = re.findall(r'msg="writable" out=(\d) len=(\d+)', err)
    idle = [int(n) for o, n in lines if o in ("0", "3")]
    check(lines and idle and all(n == 0 for n in idle),
          "debug log: %d writes, %d with nothing to write all report len=0 (%s)"
          % (len(lines), len(idle), sorted(set(idle))[:5]))


def test():
    srv = Serve(EXAMPLE)
    try:
        nosniff(srv)
        websocket_paths(srv)
    finally:
        rc, err = srv.stop()
        srv.cleanup()
    check(re.search(r'msg="websocket upgrade refused" status=404 path="/foo"', err) is not None,
          "the refused upgrade is logged with its path")
    metrics_access()
    http2()
    debug_log()


if __name__ == "__main__":
    main(test)
