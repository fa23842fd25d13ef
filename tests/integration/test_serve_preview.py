"""Preview links (docs/console.md "Preview"): the console hands out each
study's link; a participant who opens it goes through every step like anyone
but is marked preview in the store, is in no group and is counted nowhere:
the studies' counts and group sizes, the funnel, the participant list, the
admin API's participants, the Data download and `hippo export` leave it out
unless asked (?preview=1, --include-preview). A preview value that is not the
study's is refused with 403 and stores nothing; a stored Referer has the
token masked. Runs on both backends."""
import csv
import io
import os
import subprocess
import tarfile
import tempfile
import shutil
import urllib.parse

from serveutil import BIN, PROJECTS, Serve, check, main, store_args, store_rows, wait_for

GROUPS = os.path.join(PROJECTS, "serve_groups")
P = "serve-groups"


def study(srv):
    st, j, _ = srv.admin("GET", "/studies")
    check(st == 200, "GET /api/studies", j)
    return next(s for s in j["studies"] if s["id"] == P)


def walk(srv, user, extra=""):
    """USER through every step to the final page; the pages' texts."""
    texts = []
    st, j = srv.next(P, user, extra=extra)
    check(st == 200, "%s starts (%d)" % (user, st), j)
    for _ in range(3):
        texts.append(j.get("page", ""))
        step = j.get("step") or j.get("stepNumber")
        if j.get("final") or j.get("isFinal") or step == 3:
            break
        st, j = srv.next(P, user, body={"answer": user}, extra=extra)
        check(st == 200, "%s answers a step (%d)" % (user, st), j)
    return texts


def export_users(data, *flags):
    out = tempfile.mkdtemp(prefix="hippo-preview-export-")
    try:
        p = subprocess.run([BIN, "export", P, "--data", data, "--out", out, "--no-progress"] +
                           store_args(data) + list(flags), capture_output=True, text=True,
                           timeout=120)
        check(p.returncode == 0, "hippo export %s" % " ".join(flags), p.stdout + p.stderr)
        with open(os.path.join(out, "participants.csv"), newline="") as f:
            users = {r["user_id"] for r in csv.DictReader(f)}
        with open(os.path.join(out, "answers.csv"), newline="") as f:
            answered = {r["user_id"] for r in csv.DictReader(f)}
        return users, answered
    finally:
        shutil.rmtree(out, ignore_errors=True)


def download_users(srv, query=""):
    st, body, _ = srv.request("GET", "/api/projects/%s/data.tar.gz%s" % (P, query),
                              headers={"Authorization": "Bearer " + srv.token}, raw=True)
    check(st == 200, "the Data download%s" % query, body[:200])
    import json
    with tarfile.open(fileobj=io.BytesIO(body), mode="r:gz") as t:
        parts = json.load(t.extractfile("%s/participants.json" % P))
        rows = t.extractfile("%s/export/participants.csv" % P).read().decode()
    return {p["userId"] for p in parts}, {r["user_id"] for r in csv.DictReader(io.StringIO(rows))}


def run():
    tmp = tempfile.mkdtemp(prefix="hippo-preview-")
    try:
        data = os.path.join(tmp, "data")
        srv = Serve(GROUPS, data=data)
        s = study(srv)
        link = s.get("preview", "")
        q = urllib.parse.parse_qs(urllib.parse.urlsplit(link).query)
        check(link.startswith("/?") and q.get("projectId") == [P] and
              len(q.get("preview", [""])[0]) == 32,
              "the Studies answer holds the study's preview link: %s" % link)
        value = q["preview"][0]
        st, lst, _ = srv.admin("GET", "/projects")
        check(any(p.get("preview") == link for p in lst), "and so does GET /api/projects")
        st, j, _ = srv.request("GET", "/api/studies")
        check(st == 401, "not without the token")

        for u in ("ann", "ben", "cat"):
            walk(srv, u)
        before = study(srv)
        check(before["started"] == 3 and before["completed"] == 3,
              "three participants counted (%d, %d)" % (before["started"], before["completed"]))

        texts = walk(srv, "pv1", "&preview=" + value)
        check(len(texts) == 3 and all(texts), "the preview goes through every step: %d pages"
              % len(texts))
        walk(srv, "pv2", "&preview=" + value)
        # the page's URL comes back as the Referer of its requests: the token is not kept
        ref = "http://127.0.0.1/?projectId=%s&userId=pv1&preview=%s&x=1" % (P, value)
        st, _, _ = srv.request("GET", "/next?projectId=%s&userId=pv1&preview=%s" % (P, value),
                               headers={"Referer": ref})
        kept = wait_for(lambda: store_rows(  # request records are committed in batches
            data, "SELECT h.headers FROM header_sets h JOIN participants p"
                  " ON p.id = h.participant WHERE p.user_id = 'pv1'"
                  " AND h.headers LIKE '%x=1%'"), "pv1's new headers", timeout=10)
        check(st == 200 and kept and value not in kept[0][0] and
              "pv1&preview=masked&x=1" in kept[0][0],
              "a stored Referer has the preview token masked", kept)
        after = study(srv)
        check((after["started"], after["completed"], after["groups"], after["atStep"]) ==
              (before["started"], before["completed"], before["groups"], before["atStep"]),
              "previews change no count and no group size: %s / %s" % (after["groups"],
                                                                      before["groups"]))
        rows = store_rows(data, "SELECT user_id, preview FROM participants ORDER BY user_id")
        marks = {u: v in ("1", "t", "true") for u, v in rows}
        check(marks == {"ann": False, "ben": False, "cat": False, "pv1": True, "pv2": True},
              "the store marks the previews (participants.preview): %s" % rows)
        grouped = store_rows(data, "SELECT DISTINCT p.user_id FROM groups g JOIN participants p"
                                   " ON p.id = g.participant ORDER BY p.user_id")
        check([r[0] for r in grouped] == ["ann", "ben", "cat"],
              "no group row for a preview: %s" % grouped)

        st, f, _ = srv.admin("GET", "/projects/%s/funnel" % P)
        check(st == 200 and f["started"] == 3, "the funnel leaves them out (%s)" % f.get("started"))
        st, pl, _ = srv.admin("GET", "/projects/%s/participant-list" % P)
        check(st == 200 and pl["total"] == 3 and
              not any(r["userId"].startswith("pv") for r in pl["rows"]),
              "the participant list leaves them out", pl)
        st, pl, _ = srv.admin("GET", "/projects/%s/participant-list?preview=1" % P)
        check(st == 200 and pl["total"] == 5 and
              {r["userId"] for r in pl["rows"] if r.get("preview")} == {"pv1", "pv2"},
              "with preview=1 they are there, marked", pl)
        st, ps, _ = srv.admin("GET", "/projects/%s/participants" % P)
        check({p["userId"] for p in ps} == {"ann", "ben", "cat"}, "admin participants: not them")
        st, ps, _ = srv.admin("GET", "/projects/%s/participants?preview=1" % P)
        check({p["userId"] for p in ps if p.get("preview")} == {"pv1", "pv2"} and len(ps) == 5,
              "admin participants?preview=1: them too, marked")
        st, _, _ = srv.admin("GET", "/projects/%s/participants?preview=maybe" % P)
        check(st == 400, "preview=maybe: 400")

        check(download_users(srv) == ({"ann", "ben", "cat"}, {"ann", "ben", "cat"}),
              "the Data download leaves them out")
        both = {"ann", "ben", "cat", "pv1", "pv2"}
        check(download_users(srv, "?preview=1") == (both, both),
              "the Data download with preview=1 has them")
        users, answered = export_users(data)
        check(users == {"ann", "ben", "cat"} and "pv1" not in answered,
              "hippo export leaves them out: %s" % sorted(users))
        users, answered = export_users(data, "--include-preview")
        check(users == both and "pv1" in answered,
              "hippo export --include-preview has them: %s" % sorted(users))

        forged = "0123456789abcdef" * 2
        st, j = srv.next(P, "forger", extra="&preview=" + forged)
        check(st == 403 and "preview" in j.get("error", ""), "a forged preview value: 403", j)
        st, j = srv.next(P, "forger2", extra="&preview=" + value[:-1])
        check(st == 403, "a truncated one: 403", j)
        st, j = srv.next(P, "forger3", extra="&preview=" + value + "0")
        check(st == 403, "a longer one: 403", j)
        rows = store_rows(data, "SELECT user_id FROM participants WHERE user_id LIKE 'forger%'")
        check(rows == [], "nothing stored for them: %s" % rows)
        after2 = study(srv)
        check(after2["started"] == 3, "and nothing counted")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main(run)
