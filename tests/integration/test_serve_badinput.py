"""Bad input on /next over real HTTP: path traversal in ids, oversized
bodies, invalid JSON, 10 000 fields, SQL metacharacters, HTML in answers,
missing parameters, other methods (HEAD: headers only). Each gets a clear 4xx
JSON answer and changes nothing stored; the server keeps serving."""
import json
import socket
import urllib.parse

from serveutil import EXAMPLE, Serve, check, main

P = "cartpole-demo"


def snapshot(srv):
    st, j, _ = srv.admin("GET", "/projects/%s/participants" % P)
    return json.dumps(j, sort_keys=True)


def head_then_get(srv, head_path, get_path="/healthz"):
    """HEAD HEAD_PATH then GET GET_PATH on one keep-alive connection: returns the
    HEAD answer's status and headers and the GET answer's raw bytes (a body
    after the HEAD headers would show up as the start of the second answer)."""
    s = socket.create_connection(("127.0.0.1", srv.port), timeout=20)
    try:
        s.sendall(("HEAD %s HTTP/1.1\r\nHost: x\r\n\r\n" % head_path).encode())
        buf = b""
        while b"\r\n\r\n" not in buf:
            chunk = s.recv(65536)
            if not chunk:
                break
            buf += chunk
        head, _, rest = buf.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split()[1])
        hdrs = {k.strip().lower(): v.strip() for k, v in
                (ln.split(":", 1) for ln in lines[1:] if ":" in ln)}
        s.sendall(("GET %s HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
                   % get_path).encode())
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            rest += chunk
        return status, hdrs, rest
    finally:
        s.close()


def test():
    srv = Serve(EXAMPLE)
    try:
        st, j = srv.next(P, "victim", {"consent": "yes"})
        check(st == 200 and j["step"] == 2, "a normal participant at step 2")
        before = snapshot(srv)

        for q, what in [
            ("projectId=..%2F..%2Fetc&userId=u", "projectId with ../"),
            ("projectId=cartpole-demo&userId=..%2F..%2Fpasswd", "userId with ../"),
            ("projectId=cartpole-demo&userId=%2Fetc%2Fpasswd", "userId absolute path"),
            ("projectId=cartpole-demo&userId=" + urllib.parse.quote("x' OR '1'='1"), "SQL in userId"),
            ("projectId=cartpole-demo&userId=" + urllib.parse.quote("victim; DROP TABLE answers"),
             "SQL in userId 2"),
            ("projectId=cartpole-demo&userId=" + "a" * 65, "userId of 65 characters"),
            ("projectId=" + "p" * 65 + "&userId=u", "projectId of 65 characters"),
            ("projectId=cartpole-demo&userId=%3Cscript%3E", "HTML in userId"),
            ("projectId=cartpole-demo&userId=victim&step=-1", "a bad step number"),
        ]:
            st, j, _ = srv.request("GET", "/next?" + q)
            check(st == 400 and isinstance(j, dict) and j.get("error"), "%s: 400 %s" % (what, j))
        for q, what in [("projectId=cartpole-demo", "missing userId"),
                        ("userId=victim", "missing projectId"), ("", "no parameters"),
                        ("projectId=nope&userId=victim", "unknown project")]:
            st, j, _ = srv.request("GET", "/next?" + q)
            check(st == 400 and j == "Project ID Not Found", "%s: 400 \"Project ID Not Found\"" % what)

        url = "/next?projectId=%s&userId=victim" % P
        big = '{"a":"' + "x" * (1024 * 1024 + 10) + '"}'
        st, j, _ = srv.request("POST", url, big, {"Content-Type": "application/json"})
        check(st == 413 and "error" in j, "a body over 1 MB: 413 (%s)" % j)
        for body, what in [('{"a":', "truncated JSON"), ("[1,2]", "a JSON array"),
                           ('"x"', "a JSON string"), ("\xff\xfe", "not UTF-8"),
                           ('{"a":1,"a":2}', "duplicate keys")]:
            st, j, _ = srv.request("POST", url, body, {"Content-Type": "application/json"})
            check(st == 400 and j.get("error"), "%s: 400 (%s)" % (what, j.get("error")))
        many = json.dumps({"f%d" % i: "v" for i in range(10000)})
        st, j, _ = srv.request("POST", url, many, {"Content-Type": "application/json"})
        check(st == 400 and "too many" in j["error"], "10 000 fields: 400 (%s)" % j["error"])
        form = "&".join("f%d=v" % i for i in range(10000))
        st, j, _ = srv.request("POST", url, form,
                               {"Content-Type": "application/x-www-form-urlencoded"})
        check(st == 400, "10 000 form fields: 400")
        st, j, _ = srv.request("POST", url, "a=%zz",
                               {"Content-Type": "application/x-www-form-urlencoded"})
        check(st == 400, "a malformed form escape: 400")
        for m in ("PUT", "DELETE", "PATCH"):
            st, j, h = srv.request(m, url, "{}")
            check(st == 405 and j.get("error"), "%s: 405 with a JSON error" % m)
        for path, want in (("/next?projectId=%s&userId=victim" % P, 405), ("/", 200),
                           ("/healthz", 405)):
            st, h, after = head_then_get(srv, path)
            check(st == want and int(h.get("content-length", "-1")) > 0,
                  "HEAD %s: %d with the answer's Content-Length (%s)"
                  % (path, want, h.get("content-length")))
            check(after.startswith(b"HTTP/1.1 200"),
                  "HEAD %s: no body follows (the next answer on the connection is intact)"
                  % path)
        st, page, _ = srv.request("GET", "/", raw=True)
        st2, h, _ = head_then_get(srv, "/")
        check(st == 200 and int(h["content-length"]) == len(page),
              "HEAD / announces the length GET / sends (%d)" % len(page))
        check(snapshot(srv) == before, "none of that changed anything stored")

        # Stored verbatim, never reflected.
        evil = {"name": "<img src=x onerror=alert(1)>", "q": "'; DROP TABLE participants; --",
                "unicode": "\u00e9\u4e2d\U0001F600", "nested": {"a": [1, None]}}
        st, j = srv.next(P, "victim", evil)
        check(st == 200 and j["step"] == 3, "answers with HTML and SQL are accepted")
        check("onerror" not in json.dumps(j), "and not reflected")
        st, parts, _ = srv.admin("GET", "/projects/%s/participants" % P)
        ans = {a["field"]: a["value"] for a in parts[0]["answers"] if a["step"] == 2}
        check(ans["name"] == evil["name"] and ans["q"] == evil["q"] and
              ans["unicode"] == evil["unicode"], "stored verbatim")
        check(json.loads(ans["nested"]) == evil["nested"], "nested values stored as JSON text")
        st, j, _ = srv.request("GET", "/healthz")
        check(st == 200, "the server is still healthy")
        rc, err = srv.stop()
        check(rc == 0 and "runtime error" not in err and "AddressSanitizer" not in err,
              "clean shutdown, no sanitizer reports")
    finally:
        if srv.proc.poll() is None:
            srv.stop()
        srv.cleanup()


main(test)
