"""Consent and study versions: a study deployed through the admin API, a
participant answers its consent page; the study is redeployed with another
consent text and a second participant answers. hippo export then tells the
two apart: each answer and each step passed carries the SHA-256 of the step
file shown (the group's variant for a grouped step), computed here from the
files deployed, and the project's version (1, then 2). A participant whose
tab showed the old consent text when the redeploy happened is shown the new
one and recorded with it; after a restart the deployed version (2) stays."""
import csv
import hashlib
import json
import os
import shutil
import subprocess
import tempfile

from serveutil import BIN, Serve, check, main, store_args

P = "consent-study"
CONFIG = """project:
  id: consent-study
  name: Consent versions
  researcher: Test
  live: true
  events:
    startServerStep: null
    stopServerStep: null
  steps:
    1: consent.html
    2: question.html
    finalStep: thanks.html
trial:
  game: CartPole-v1
"""
CONSENT_1 = "<h1>Consent</h1><p>Version one — données ✓</p><input name=consent>"
CONSENT_2 = "<h1>Consent</h1><p>Version two: we also keep your answers — ✓</p>" \
            "<input name=consent>"
QUESTIONS = ["<p>Question, variant zero</p><input name=q>",
             "<p>Question, variant one</p><input name=q>"]
THANKS = "<p>Thank you. You may exit now.</p>"


def sha(text):
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def deploy(srv, consent):
    files = {"consent.html": consent, "thanks.html": THANKS,
             "question-0.html": QUESTIONS[0], "question-1.html": QUESTIONS[1]}
    st, j, _ = srv.admin("POST", "/projects/%s/deploy" % P, {"config": CONFIG, "files": files})
    check(st == 200, "deploy: %s" % st, j)
    return j["project"]["version"]


def answer(srv, user, body, page_hash=None):
    extra = "&pageHash=" + page_hash if page_hash else ""
    st, j = srv.next(P, user, body, extra=extra)
    check(st == 200, "POST /next for %s: 200" % user, j)
    return j


def rows(path):
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def export(data, out, fmt="csv"):
    p = subprocess.run([BIN, "export", P, "--data", data, "--out", out, "--format", fmt,
                        *store_args(data)],
                       capture_output=True, text=True, timeout=120)
    check(p.returncode == 0, "hippo export --format %s" % fmt, p.stderr)
    return p.stderr


def test():
    tmp = tempfile.mkdtemp(prefix="hippo-pages-")
    try:
        journey(tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def journey(tmp):
    data = os.path.join(tmp, "data")
    srv = Serve(data=data)
    h1, h2 = sha(CONSENT_1), sha(CONSENT_2)
    hq = [sha(q) for q in QUESTIONS]

    check(deploy(srv, CONSENT_1) == 1, "the first deploy is version 1")
    st, j = srv.next(P, "p1")
    check(j["page"] == CONSENT_1 and j["pageHash"] == h1,
          "the consent page is served with the SHA-256 of consent.html")
    j = answer(srv, "p1", {"consent": "yes"}, h1)
    g1 = 1 if "variant one" in j["page"] else 0
    check(j["step"] == 2 and j["pageHash"] == hq[g1],
          "the question page of p1's group (%d) with the hash of its variant" % g1)
    j = answer(srv, "p1", {"q": "7"})
    check(j["step"] == 3, "p1 answered the question (no pageHash: the page served now)")
    st, j = srv.next(P, "p3")
    check(j["pageHash"] == h1, "p3 is shown consent version one")

    check(deploy(srv, CONSENT_2) == 2, "the redeploy with another consent text is version 2")
    j = answer(srv, "p3", {"consent": "yes"}, h1)
    check(j["step"] == 1 and j["page"] == CONSENT_2 and j["pageHash"] == h2,
          "p3 answering the old consent text: nothing stored, the new text shown")
    j = answer(srv, "p3", {"consent": "yes"}, h2)
    check(j["step"] == 2, "p3 agrees to version two")
    j = answer(srv, "p2", {"consent": "yes"})
    g2 = 1 if "variant one" in j["page"] else 0
    check(j["step"] == 2, "p2 answered consent version two")
    j = answer(srv, "p2", {"q": "8"}, hq[g2])
    check(j["step"] == 3, "p2 answered the question")

    st, parts, _ = srv.admin("GET", "/projects/%s/participants" % P)
    by_user = {p["userId"]: p for p in parts}
    check([(a["pageHash"], a["projectVersion"]) for a in by_user["p2"]["answers"]]
          == [(h2, 2), (hq[g2], 2)], "the admin API lists each answer with its page version")
    check([(x["step"], x["pageHash"], x["projectVersion"]) for x in by_user["p1"]["passes"]]
          == [(1, h1, 1), (2, hq[g1], 1)], "and each step passed")

    # A restart reloads the deployed study: still version 2 (the store says).
    srv.stop()
    srv = Serve(data=data)
    j = answer(srv, "p4", {"consent": "yes"}, h2)
    check(j["step"] == 2, "after a restart consent version two is served (same hash)")
    srv.stop()

    out = os.path.join(tmp, "out")
    summary = export(data, out)
    check("4 participants, 6 answers, 6 passes" in summary, "export summary: %s" % summary)
    # participants oldest first (p3 was shown consent before p2 came), rows as stored
    answers = [(a["user_id"], a["step"], a["field"], a["page_hash"], a["project_version"])
               for a in rows(os.path.join(out, "answers.csv"))]
    want = [("p1", "1", "consent", h1, "1"), ("p1", "2", "q", hq[g1], "1"),
            ("p3", "1", "consent", h2, "2"), ("p2", "1", "consent", h2, "2"),
            ("p2", "2", "q", hq[g2], "2"), ("p4", "1", "consent", h2, "2")]
    check(answers == want, "answers.csv: page_hash and project_version",
          "%s\n!=\n%s" % (answers, want))
    consent = {u: (h, v) for u, s, f, h, v in answers if f == "consent"}
    check(consent["p1"] == (h1, "1") and consent["p2"] == (h2, "2"),
          "the two consent texts are told apart: %s" % consent)
    passes = [(x["user_id"], x["step"], x["page_hash"], x["project_version"])
              for x in rows(os.path.join(out, "passes.csv"))]
    check(passes == [(u, s, h, v) for u, s, f, h, v in want],
          "passes.csv: every step passed with its page version", passes)

    out = os.path.join(tmp, "out-jsonl")
    export(data, out, "jsonl")
    with open(os.path.join(out, "answers.jsonl"), encoding="utf-8") as f:
        first = json.loads(f.readline())
    check(first["page_hash"] == h1 and first["project_version"] == 1,
          "answers.jsonl: the same columns, the version a number: %s" % first)


if __name__ == "__main__":
    main(test)
