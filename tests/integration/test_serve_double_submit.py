"""Concurrent double submits over HTTP at a later step: a participant of a
two-step study (with step-file groups) submits step 1, then eight threads POST
step 2 (`?step=2`, as the participant UI sends it) at the same moment, each
with its own answer, over their own connections, three rounds for three
participants. Exactly one submit advances (the participant ends on the final
step), step 2's answer is stored once (one of the eight), and every request
gets a 200 with the final page, not an error or a skipped step. A later POST
on the final page with a stale `step=2` changes nothing either."""
import http.client
import json
import os
import threading

from serveutil import PROJECTS, Serve, check, main, store_rows

PROJECT = os.path.join(PROJECTS, "serve_groups")
THREADS = 8


def post(port, query, body):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request("POST", "/next?" + query, body=json.dumps(body),
                     headers={"Content-Type": "application/json"})
        r = conn.getresponse()
        return r.status, json.loads(r.read())
    finally:
        conn.close()


def test():
    srv = Serve(PROJECT)
    for round_ in range(3):
        user = "double-%d" % round_
        q = "projectId=serve-groups&userId=%s" % user
        st, j = srv.next("serve-groups", user, {"intro": "read"}, extra="&step=1")
        check(st == 200 and j["step"] == 2, "%s: step 1 submitted, step 2 shown" % user)
        barrier = threading.Barrier(THREADS)
        results = [None] * THREADS

        def submit(i):
            barrier.wait()
            results[i] = post(srv.port, q + "&step=2", {"answer": "thread-%d" % i})

        threads = [threading.Thread(target=submit, args=(i,)) for i in range(THREADS)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        check(all(r and r[0] == 200 for r in results),
              "%s: all %d concurrent POSTs of step 2 answered 200" % (user, THREADS))
        check(all(r[1].get("step") == 3 for r in results),
              "%s: each one shows the final step (3), none skips past it: %s"
              % (user, sorted(set(r[1].get("step") for r in results))))
        st, j = srv.next("serve-groups", user, {"answer": "late"}, extra="&step=2")
        check(st == 200 and j["step"] == 3, "%s: a stale POST of step 2 changes nothing" % user)
    st, adm, _ = srv.admin("GET", "/projects/serve-groups/participants")
    check(st == 200, "participants listed")
    mine = [p for p in adm if p["userId"].startswith("double-")]
    check(len(mine) == 3, "the three participants are listed")
    for p in mine:
        step2 = [a for a in p["answers"] if a["step"] == 2]
        check(p["step"] == 3 and p["status"] == "completed",
              "%s advanced exactly once: at step %d, %s" % (p["userId"], p["step"], p["status"]))
        check(len(step2) == 1 and step2[0]["value"].startswith("thread-"),
              "%s: step 2's answer is stored once (%s)"
              % (p["userId"], [a["value"] for a in step2]))
        check(not [a for a in p["answers"] if a["step"] == 3],
              "%s: nothing stored for the final step (every POST said step=2)" % p["userId"])
    rc, err = srv.stop()
    check(rc == 0, "the server exits 0")
    rows = store_rows(srv.data, "SELECT p.user_id, count(*) FROM answers a JOIN participants p"
                      " ON p.id = a.participant WHERE a.step = 2 GROUP BY p.user_id")
    check(sorted(rows) == [("double-%d" % i, "1") for i in range(3)],
          "one stored answer of step 2 per participant in the store: %s" % rows)
    srv.cleanup()


main(test)
