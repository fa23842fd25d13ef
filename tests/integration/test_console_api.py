"""The researcher console's API (docs/console.md, docs/api.md): every admin
route documented in docs/api.md refuses a request without the token or with a
wrong one (401); wrong tokens are limited per client address (429 with a
JSON error and Retry-After, other addresses unaffected, the allowance comes
back); the studies and funnel answers count exactly what the store holds."""
import http.client
import json
import os
import re
import time

from serveutil import PROJECTS, SRC, TOKEN, Serve, check, main

GROUPS = os.path.join(PROJECTS, "serve_groups")
P = "serve-groups"


def documented_routes():
    """(method, path) of every /api/ route in docs/api.md, placeholders filled."""
    with open(os.path.join(SRC, "docs", "api.md")) as f:
        text = f.read()
    seen = []
    for m, path in re.findall(r"`(GET|POST|PUT|PATCH|DELETE) (/api/[^`\s]*)`", text):
        path = path.split("?")[0]
        path = (path.replace("<id>", P).replace("<userId>", "u-1")
                .replace("<name>", "episode_1.jsonl").replace("<trialId>", "t1")
                .replace("<episode>", "1"))
        if (m, path) not in seen:
            seen.append((m, path))
    return seen


def call(srv, method, path, token=None, source="127.0.0.1", body=None):
    """(status, JSON body, headers) of METHOD PATH from address SOURCE."""
    c = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=30, source_address=(source, 0))
    h = {}
    if token is not None:
        h["Authorization"] = "Bearer " + token
    data = None
    if method in ("POST", "PUT", "PATCH"):
        data = json.dumps(body if body is not None else {}).encode()
        h["Content-Type"] = "application/json"
    c.request(method, path, body=data, headers=h)
    r = c.getresponse()
    if r.headers.get("Content-Type") == "text/event-stream":
        c.close()  # an event stream goes on: its status is the answer
        return r.status, None, r.headers
    raw = r.read()
    c.close()
    try:
        j = json.loads(raw) if raw else None
    except ValueError:
        j = raw
    return r.status, j, r.headers


def wait_json(srv, path, pred, what, timeout=10):
    end = time.monotonic() + timeout
    while True:
        st, j, _ = call(srv, "GET", path, TOKEN)
        if st == 200 and pred(j):
            return j
        if time.monotonic() > end:
            check(False, what, "last answer: %s %s" % (st, j))
        time.sleep(0.1)


TYPES = {".html": "text/html", ".js": "text/javascript", ".css": "text/css"}


def admin_files(srv):
    """Every file of web/admin/ is served at /admin/... as it is, with the
    console's policy (not the participant UI's); every module it imports is
    one of them; /admin and /admin/ are the page."""
    root = os.path.join(SRC, "web", "admin")
    names = sorted(os.path.relpath(os.path.join(d, f), root)
                   for d, _, fs in os.walk(root) for f in fs)
    check(len(names) >= 10, "web/admin/ holds the console (%d files)" % len(names))
    for name in names:
        want = open(os.path.join(root, name), "rb").read()
        st, body, h = srv.request("GET", "/admin/" + name, raw=True)
        csp = h.get("Content-Security-Policy") or ""
        check(st == 200 and body == want and
              (h.get("Content-Type") or "").startswith(TYPES[os.path.splitext(name)[1]]) and
              "frame-ancestors 'none'" in csp and "style-src 'self';" in csp,
              "/admin/%s is served as it is, with its type and the console's policy" % name)
        if name.endswith(".js"):
            for dep in re.findall(r"^import [^;]* from '(\.{1,2}/[^']+)';", want.decode(), re.M):
                target = os.path.normpath(os.path.join(os.path.dirname(name), dep))
                check(target in names, "web/admin/%s imports %s, a file of web/admin/" % (name, dep))
    for path in ("/admin", "/admin/"):
        st, body, h = srv.request("GET", path, raw=True)
        check(st == 200 and b"/admin/app.js" in body, "%s is the console's page" % path)
    st, body, h = srv.request("GET", "/admin/nope.js", raw=True)
    check(st == 404, "/admin/nope.js: 404")


def test():
    srv = Serve(GROUPS)
    admin_files(srv)
    routes = documented_routes()
    check(len(routes) >= 7 and ("GET", "/api/studies") in routes,
          "docs/api.md lists the admin routes (%d)" % len(routes))
    for i, (m, path) in enumerate(routes):
        st, j, h = call(srv, m, path)
        check(st == 401 and isinstance(j, dict) and "error" in j
              and h.get("WWW-Authenticate") == "Bearer",
              "%s %s without a token: 401 JSON" % (m, path), (st, j))
        # each from an address of its own: the wrong tokens of this walk are
        # not what the limit below is about
        st, j, _ = call(srv, m, path, "wrong-" + TOKEN, source="127.0.1.%d" % (i + 1))
        check(st == 401, "%s %s with a wrong token: 401" % (m, path), (st, j))
    for m, path in routes:
        if m != "GET" or path.endswith(".tar.gz"):
            continue
        st, j, _ = call(srv, m, path, TOKEN)
        check(st not in (401, 403, 429), "GET %s with the token is let in (%d)" % (path, st), j)

    # failed logins per address
    bad = "127.0.2.9"
    for k in range(10):
        st, _, _ = call(srv, "GET", "/api/studies", "guess-%d" % k, source=bad)
        check(st == 401, "wrong token %d of 10 from one address: 401" % (k + 1))
    st, j, h = call(srv, "GET", "/api/studies", "guess-11", source=bad)
    check(st == 429 and isinstance(j, dict) and "too many failed logins" in j.get("error", ""),
          "the 11th wrong token: 429 with a JSON message", (st, j))
    wait = int(h.get("Retry-After", "0"))
    check(1 <= wait <= 6, "Retry-After says when to try again (%d s)" % wait)
    st, _, _ = call(srv, "GET", "/api/studies", TOKEN, source=bad)
    check(st == 429, "while limited, even the right token from that address is not looked at")
    st, _, _ = call(srv, "GET", "/api/studies", TOKEN, source="127.0.2.10")
    check(st == 200, "another address is not limited")
    time.sleep(wait + 0.2)
    st, _, _ = call(srv, "GET", "/api/studies", TOKEN, source=bad)
    check(st == 200, "after Retry-After the right token works again")

    # what the store holds: a at step 1, b at step 2, c completed
    for user, posts in (("a", 0), ("b", 1), ("c", 2)):
        st, j = srv.next(P, user)
        check(st == 200, "participant %s starts" % user)
        for k in range(posts):
            time.sleep(0.05)
            st, j = srv.next(P, user, body={"q%d" % k: "x"}, extra="&step=%d" % (k + 1))
            check(st == 200, "participant %s answers step %d" % (user, k + 1))
    s = wait_json(srv, "/api/studies", lambda j: j["studies"] and j["studies"][0]["started"] == 3,
                  "studies counts three participants")["studies"][0]
    check(s["id"] == P and s["completed"] == 1 and s["dropped"] == 0 and s["inProgress"] == 2,
          "studies: 3 started, 1 completed, none dropped, 2 in progress", s)
    check(s["atStep"] == {"1": 1, "2": 1, "3": 1}, "studies: one participant per step", s["atStep"])
    check(s["groups"] == [{"variants": 2, "sizes": [2, 1]}] or
          s["groups"] == [{"variants": 2, "sizes": [1, 2]}], "studies: group sizes", s["groups"])
    check(s["live"] is True and s["version"] == 1 and s["totalSteps"] == 2, "studies: live, version")
    _, j, _ = call(srv, "GET", "/api/studies?idleMinutes=0", TOKEN)
    s0 = j["studies"][0]
    check(s0["dropped"] == 2 and s0["inProgress"] == 0,
          "idleMinutes=0: every participant not completed counts as dropped", s0)
    st, j, _ = call(srv, "GET", "/api/studies?idleMinutes=x", TOKEN)
    check(st == 400 and "idleMinutes" in j["error"], "a bad idleMinutes: 400", j)

    f = wait_json(srv, "/api/projects/%s/funnel" % P,
                  lambda j: j["steps"][0]["timed"] == 2 and j["steps"][1]["timed"] == 1,
                  "the funnel has the times of every step")
    st1, st2, fin = f["steps"]
    check(f["started"] == 3 and f["completed"] == 1 and abs(f["completionRate"] - 1 / 3) < 1e-9,
          "funnel: started, completed, completion rate", f)
    check((st1["reached"], st1["here"], st1["continued"]) == (3, 1, 2),
          "funnel step 1: 3 reached, 1 on it, 2 went on", st1)
    check((st2["reached"], st2["here"], st2["continued"]) == (2, 1, 1),
          "funnel step 2: 2 reached, 1 on it, 1 went on", st2)
    check(fin["final"] and fin["reached"] == 1, "funnel final step: 1 reached", fin)
    check(0 <= st1["medianMs"] <= st1["p90Ms"] < 60000 and st2["medianMs"] >= 0,
          "funnel: median and 90th percentile of the time per step", (st1, st2))
    _, f0, _ = call(srv, "GET", "/api/projects/%s/funnel?idleMinutes=0" % P, TOKEN)
    check(f0["steps"][0]["dropped"] == 1 and f0["steps"][1]["dropped"] == 1 and f0["dropped"] == 2,
          "funnel idleMinutes=0: the participant on each step dropped there", f0["steps"])
    st, j, _ = call(srv, "GET", "/api/projects/nope/funnel", TOKEN)
    check(st == 404, "funnel of an unknown project: 404", j)
    st, j, _ = call(srv, "GET", "/api/projects/bad_id/funnel", TOKEN)
    check(st == 400, "funnel of a malformed project id: 400", j)
    st, j, _ = call(srv, "POST", "/api/studies", TOKEN)
    check(st == 405, "POST /api/studies: 405", j)


if __name__ == "__main__":
    main(test)
