"""Preview links (docs/console.md, "Preview links"): the console shows each
study's link; a participant who opens it goes through every step and plays
the game like anyone, but is marked preview in the store, gets no group
row (their variant comes from their id), and changes no count: the Studies
page's started / completed / group sizes, the funnel, the participants
page, the master list, /metrics, participants.json, the data download and
hippo export all stay as they were, and show the preview only when asked
(?preview=include|only, --include-preview). A forged or stale preview value
is refused (403) and creates nobody. Runs on both stores (_pg)."""
import asyncio
import csv
import io
import json
import os
import subprocess
import tarfile
import tempfile

import time

from serveutil import (BIN, EXAMPLE, PROJECTS, Serve, check, main, play_until_done, store_args,
                       store_rows)

G = "serve-groups"
C = "cartpole-demo"


def studies(srv):
    return {s["id"]: s for s in srv.admin("GET", "/studies")[1]["studies"]}


def counts(srv):
    """Everything that counts participants, as one comparable value."""
    s = studies(srv)
    listing = {p["id"]: (p["participants"], p["completed"], p["steps"])
               for p in srv.admin("GET", "/projects")[1]}
    out = {}
    for pid in (G, C):
        f = srv.admin("GET", "/projects/%s/funnel" % pid)[1]
        people = srv.admin("GET", "/projects/%s/participant-list" % pid)[1]
        out[pid] = {
            "studies": (s[pid]["started"], s[pid]["completed"], s[pid]["inProgress"],
                        s[pid]["dropped"], s[pid]["atStep"], s[pid]["groups"]),
            "funnel": (f["started"], f["completed"], f["dropped"], f["steps"]),
            "list": (people["total"], sorted(r["userId"] for r in people["rows"])),
            "master": listing[pid],
            "participants": sorted(p["userId"] for p in
                                   srv.admin("GET", "/projects/%s/participants" % pid)[1]),
        }
    st, body, _ = srv.request("GET", "/metrics", raw=True)
    out["metrics"] = sorted(line for line in body.decode().splitlines()
                            if line.startswith("hippo_participants{"))
    return out


def walk(srv, pid, user, extra=""):
    """Answers every page of study PID until the final one (the game step
    of cartpole is played over the websocket)."""
    for _ in range(12):
        st, j = srv.next(pid, user, extra=extra)
        check(st == 200, "%s: GET /next answers 200 (%s)" % (user, j.get("page", "")[:30]
                                                             if isinstance(j, dict) else j))
        if j["page"] == "show_game_page":
            asyncio.run(play_until_done(j["server"], pid, user, stop_after=30))
            continue
        if j["page"] == "wait":
            asyncio.run(asyncio.sleep(0.2))
            continue
        if j["step"] > j["totalSteps"]:
            srv.next(pid, user, {"final": "done"}, extra=extra + "&step=%d" % j["step"])
            return j
        srv.next(pid, user, {"consent": "yes", "q": "x", "answer": user},
                 extra=extra + "&step=%d&pageHash=%s" % (j["step"], j["pageHash"]))
    raise AssertionError("%s did not reach the final page" % user)


def export(srv, pid, *flags):
    out = tempfile.mkdtemp(prefix="hippo-preview-export-")
    r = subprocess.run([BIN, "export", pid, "--data", srv.data, "--out", out, "--no-progress",
                        *store_args(srv.data), *flags], capture_output=True, text=True, timeout=120)
    check(r.returncode == 0, "hippo export %s %s" % (pid, " ".join(flags)), r.stderr)
    with open(os.path.join(out, "participants.csv"), newline="") as f:
        return list(csv.DictReader(f))


def download(srv, pid, query=""):
    st, body, _ = srv.request("GET", "/api/projects/%s/data.tar.gz%s" % (pid, query),
                              headers={"Authorization": "Bearer " + srv.token}, raw=True)
    check(st == 200, "data.tar.gz%s: 200" % query)
    t = tarfile.open(fileobj=io.BytesIO(body), mode="r:gz")
    names = t.getnames()
    users = {p["userId"] for p in json.load(t.extractfile(pid + "/participants.json"))}
    trials = {n.split("/")[2] for n in names if n.startswith(pid + "/trials/") and n.count("/") >= 3}
    return users, trials


def test():
    srv = Serve(os.path.join(PROJECTS, "serve_groups"), EXAMPLE)
    s = studies(srv)
    link = s[G]["preview"]
    check(link.startswith("/?projectId=%s&preview=" % G), "the Studies page's link: %s" % link)
    token = link.split("preview=")[1]
    ctoken = s[C]["preview"].split("preview=")[1]
    check(len(token) == 32 and token != ctoken, "a 32-hex-digit token per study")
    st, j, _ = srv.request("GET", "/api/studies")
    check(st == 401, "the link comes from a token-protected route")

    # real participants: two through the grouped study, one through cartpole
    for u in ("n1", "n2"):
        walk(srv, G, u)
    walk(srv, C, "n3")
    time.sleep(0.6)  # the request records (the funnel's times) are committed in batches
    before = counts(srv)
    t_before = time.monotonic()
    check(before[G]["studies"][0] == 2 and sum(before[G]["studies"][5][0]["sizes"]) == 2,
          "two participants in the grouped study, both in a group")

    # a preview participant: every step, the game played, nothing counted
    walk(srv, G, "pv1", "&preview=" + token)
    walk(srv, G, "pv2", "&preview=" + token)
    final = walk(srv, C, "pv3", "&preview=" + ctoken)
    check(final["step"] > final["totalSteps"], "the preview participant reached the final page")
    rows = store_rows(srv.data, "SELECT user_id, preview, status FROM participants"
                                " WHERE user_id LIKE 'pv%' ORDER BY user_id")
    check([(r[0], r[1] in ("1", "t"), r[2]) for r in rows] ==
          [("pv1", True, "completed"), ("pv2", True, "completed"), ("pv3", True, "completed")],
          "the previews are in the store, marked preview, completed", rows)
    check(store_rows(srv.data, "SELECT count(*) FROM groups g JOIN participants p"
                               " ON p.id = g.participant WHERE p.preview") == [("0",)],
          "no group row for a preview")
    sessions = store_rows(srv.data, "SELECT count(*) FROM sessions s JOIN participants p"
                                    " ON p.id = s.participant WHERE p.user_id = 'pv3'")
    check(int(sessions[0][0]) >= 1 and srv.files(C, "pv3"),
          "the preview played the game (a session, record files)")
    time.sleep(max(0, 5.5 - (time.monotonic() - t_before)))  # past the funnel's 5 s cache
    after = counts(srv)
    for key in ("studies", "funnel", "list", "master", "participants"):
        check(after[G][key] == before[G][key] and after[C][key] == before[C][key],
              "previewing changed nothing in %s" % key, (before, after))
    check(after["metrics"] == before["metrics"], "nor in /metrics hippo_participants")

    # shown only when asked
    st, j, _ = srv.admin("GET", "/projects/%s/participant-list?preview=only" % G)
    check(st == 200 and sorted(r["userId"] for r in j["rows"]) == ["pv1", "pv2"] and
          all(r["preview"] for r in j["rows"]), "participant-list?preview=only: the previews")
    st, j, _ = srv.admin("GET", "/projects/%s/participant-list?preview=include" % G)
    check(j["total"] == 4, "participant-list?preview=include: all four")
    st, j, _ = srv.admin("GET", "/projects/%s/participant-list?preview=maybe" % G)
    check(st == 400, "a bad preview filter: 400")
    st, j, _ = srv.admin("GET", "/projects/%s/participants?preview=include" % C)
    check(sorted((p["userId"], p["preview"]) for p in j) == [("n3", False), ("pv3", True)],
          "participants?preview=include marks the preview")
    st, j, _ = srv.admin("GET", "/projects/%s/participants/pv3" % C)
    check(st == 200 and j["preview"] is True, "a preview's own page says so")

    # the data download and hippo export
    users, trials = download(srv, C)
    check(users == {"n3"} and "pv3" not in trials and "n3" in trials,
          "data.tar.gz: neither the preview's record nor their files", (users, trials))
    users, trials = download(srv, C, "?preview=include")
    check(users == {"n3", "pv3"} and {"n3", "pv3"} <= trials,
          "data.tar.gz?preview=include: theirs too", (users, trials))
    users, trials = download(srv, C, "?preview=only&state=completed")
    check(users == {"pv3"} and trials == {"pv3"}, "?preview=only: only theirs", (users, trials))
    rows = export(srv, G)
    check(sorted(r["user_id"] for r in rows) == ["n1", "n2"] and
          all(r["preview"] == "false" for r in rows), "hippo export: no preview")
    rows = export(srv, G, "--include-preview")
    check(sorted((r["user_id"], r["preview"]) for r in rows) ==
          [("n1", "false"), ("n2", "false"), ("pv1", "true"), ("pv2", "true")],
          "hippo export --include-preview: the previews, marked", rows)

    # a forged, a stale or an empty value: refused, nobody created
    for what, value in (("a forged token", "0" * 32), ("another study's token", ctoken),
                        ("a short value", token[:10]), ("an empty value", ""),
                        ("a token with a character changed", token[:-1] +
                         ("0" if token[-1] != "0" else "1"))):
        st, j = srv.next(G, "forger", extra="&preview=" + value)
        check(st == 403 and "preview" in j["error"], "%s: 403" % what, j)
    check(store_rows(srv.data, "SELECT count(*) FROM participants WHERE user_id = 'forger'")
          == [("0",)], "a refused preview creates nobody")
    # a real participant opening the preview link stays a real participant
    st, j = srv.next(G, "n1", extra="&preview=" + token)
    check(st == 200 and studies(srv)[G]["started"] == 2, "an existing participant keeps what it is")
    check(store_rows(srv.data, "SELECT preview FROM participants WHERE user_id = 'n1'")[0][0]
          in ("0", "f"), "n1 is not a preview")
    # the token is not kept in the requests' headers (the page's URL is the Referer)
    page = "%s/?projectId=%s&userId=pv1&preview=%s" % (srv.url, G, token)
    st, _, _ = srv.request("GET", "/next?projectId=%s&userId=pv1&preview=%s" % (G, token),
                           headers={"Referer": page})
    check(st == 200, "a request with the preview page as its Referer")
    time.sleep(0.6)  # the request records are committed in batches
    masked = store_rows(srv.data, "SELECT count(*) FROM header_sets h JOIN participants p"
                                  " ON p.id = h.participant WHERE p.user_id = 'pv1'"
                                  " AND h.headers LIKE '%preview=*%'")
    check(masked == [("1",)], "the Referer is kept with its preview value masked", masked)
    hdr = store_rows(srv.data, "SELECT count(*) FROM header_sets h JOIN participants p"
                               " ON p.id = h.participant WHERE h.headers LIKE '%%%s%%'" % token)
    check(hdr == [("0",)], "the token is not stored with the requests")

    # a server without the admin token has no preview links
    bare = Serve(os.path.join(PROJECTS, "serve_groups"), token=None)
    st, j = bare.next(G, "x1", extra="&preview=" + token)
    check(st == 403, "no admin token: a preview value is refused")


if __name__ == "__main__":
    main(test)
