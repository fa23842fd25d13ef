"""A withdrawn participant who opens the study link again (docs/console.md,
"Withdrawal"): withdrawn mid-game (their session live) and after completing
the study, the same userId starts again as a new participant: a new store row
on step 1 with no answers, passes or sessions of before, new record files
only, the old files and uploads still gone, the participant record in S3 the
new one's, and the audit entry of the withdrawal unchanged. Run on both store
backends (`_pg`)."""
import asyncio
import glob
import json
import os
import shutil
import tempfile

import websockets

from s3helpers import S3Server, hippo_env
from serveutil import Serve, check, main, play_until_done, wait_for
from test_console_withdraw import BUCKET, P, in_bucket, make_study, play


def audit_lines(data):
    with open(os.path.join(data, "audit.jsonl"), "rb") as f:
        return f.read().splitlines()


def trial_files(data, user):
    return sorted(os.path.basename(f) for f in glob.glob(os.path.join(data, P, "trials", user, "*")))


def withdraw(srv, user):
    st, j, _ = srv.admin("POST", "/projects/%s/participants/%s/withdraw" % (P, user),
                         {"confirm": user, "by": "Dr Ethics"})
    check(st == 200 and j["complete"] is True, "%s withdrawn, complete" % user, j)
    return j


def reopen(srv, data, user, old, audit):
    """USER opens the link again after the withdrawal: a new participant."""
    st, j = srv.next(P, user)
    check(st == 200 and j.get("step") == 1, "%s re-opening the link is shown step 1" % user, j)
    st, rec, _ = srv.admin("GET", "/projects/%s/participants/%s" % (P, user))
    check(st == 200, "%s is in the store again" % user, rec)
    check(rec.get("step") == 1 and rec.get("status") != "completed" and
          not rec.get("answers") and not rec.get("sessions"),
          "%s is a new participant: step 1, no answers, no sessions of before" % user, rec)
    check(rec.get("created") != old.get("created") and not rec.get("episodes") and not rec.get("groups"),
          "%s has a new row (not the deleted one brought back)" % user, (rec.get("created"), rec.get("requests"), old.get("created")))
    check(trial_files(data, user) == [], "%s's old record files are still gone" % user,
          trial_files(data, user))
    check(audit_lines(data) == audit, "the audit log is unchanged by the return")
    return rec


async def test():
    tmp = tempfile.mkdtemp(prefix="hippo-rejoin-")
    s3 = S3Server(os.path.join(tmp, "s3"))
    try:
        os.environ.update(hippo_env(tmp))
        study = make_study(tmp, s3.endpoint)
        data = os.path.join(tmp, "data")
        srv = Serve(study, data=data)
        ws_url = srv.url.replace("http", "ws") + "/ws"

        # --- withdrawn after completing the study
        await play(srv, "done1")
        # the game's end reaches the flow just after the last frame
        j = wait_for(lambda: (lambda r: r[1] if r[1].get("step") == 4 else None)(
            srv.next(P, "done1")), "done1 to be past the game")
        check(j.get("step") == 4, "done1 is on the survey after the game", j)
        srv.next(P, "done1", body={"q": "old answer"}, extra="&step=4")
        st, old, _ = srv.admin("GET", "/projects/%s/participants/done1" % P)
        check(st == 200 and old.get("status") == "completed", "done1 completed the study", old)
        old_files = trial_files(data, "done1")
        check(len(old_files) >= 2, "done1 has record files", old_files)
        old_key = "%s/Users/done1.json" % P
        wait_for(lambda: in_bucket(s3, old_key), "done1's record uploaded", timeout=120, every=0.2)
        withdraw(srv, "done1")
        audit = audit_lines(data)
        reopen(srv, data, "done1", old, audit)
        srv.next(P, "done1", body={"consent": "yes"}, extra="&step=1")
        st, j = srv.next(P, "done1", body={}, extra="&step=2")
        check(j.get("page") == "show_game_page", "done1 plays the game again from the start", j)
        await play_until_done(ws_url, P, "done1")
        srv.next(P, "done1")
        st, j = srv.next(P, "done1", body={"q": "new answer"}, extra="&step=4")
        st, rec, _ = srv.admin("GET", "/projects/%s/participants/done1" % P)
        answers = json.dumps(rec.get("answers"))
        check(rec.get("status") == "completed" and "new answer" in answers and "old answer" not in answers and
              len(rec.get("sessions") or []) == 1,
              "done1's new record holds only what they did since (one session, new answers)", rec)
        new_files = trial_files(data, "done1")
        check(len(new_files) >= 2, "done1's new record files are written", new_files)
        with open(os.path.join(data, P, "trials", "done1", "trials.jsonl")) as f:
            ends = [json.loads(x) for x in f if x.strip()]
        old_trial = old["episodes"][0]["trialId"]
        check(ends and old_trial not in json.dumps(ends) and
              {e["trialId"] for e in rec["episodes"]} == {rec["episodes"][0]["trialId"]} != {old_trial},
              "done1's records hold only the new session's trial", ends)

        def s3_record():
            st, body = s3.get(BUCKET, old_key)
            return st == 200 and "new answer" in body.decode()
        wait_for(s3_record, "done1's new participant record in S3", timeout=120, every=0.2)
        check(True, "the participant record in S3 is the new one's")

        # --- withdrawn mid-game, their session live
        srv.next(P, "mid1")
        srv.next(P, "mid1", body={"consent": "yes"}, extra="&step=1")
        st, j = srv.next(P, "mid1", body={}, extra="&step=2")
        check(j.get("page") == "show_game_page", "mid1 reaches the game", j)
        st, old, _ = srv.admin("GET", "/projects/%s/participants/mid1" % P)
        async with websockets.connect(ws_url, max_size=16 << 20, open_timeout=30) as ws:
            await ws.send(json.dumps({"userId": "mid1", "projectId": P}))
            await ws.send(json.dumps({"command": "start", "browser": "test"}))
            frames = 0
            while frames < 4:
                m = await asyncio.wait_for(ws.recv(), 30)
                if isinstance(m, bytes) or '"frame"' in m:
                    frames += 1
            withdraw(srv, "mid1")
            audit = audit_lines(data)
            closed = False
            try:
                for _ in range(10000):
                    await asyncio.wait_for(ws.recv(), 30)
            except websockets.ConnectionClosed:
                closed = True
            check(closed, "mid1's live game connection is closed by the withdrawal")
        await asyncio.sleep(1.0)  # anything the stopped session still had to write
        check(trial_files(data, "mid1") == [] and
              not os.path.exists(os.path.join(data, P, "users", "mid1.json")),
              "nothing of mid1's stopped session reappears on disk",
              (trial_files(data, "mid1"), os.listdir(os.path.join(data, P, "users"))))
        reopen(srv, data, "mid1", old, audit)
        srv.next(P, "mid1", body={"consent": "yes"}, extra="&step=1")
        st, j = srv.next(P, "mid1", body={}, extra="&step=2")
        check(j.get("page") == "show_game_page", "mid1 starts the game again", j)
        await play_until_done(ws_url, P, "mid1")
        wait_for(lambda: srv.next(P, "mid1")[1].get("step") == 4, "mid1 to be past the game")
        st, rec, _ = srv.admin("GET", "/projects/%s/participants/mid1" % P)
        check(len(rec.get("sessions") or []) == 1 and rec.get("step") == 4,
              "mid1's new record has one session (the new one) and moved on", rec)
        check(audit_lines(data)[-1] == audit[-1], "the audit entry is still the same")

        # after a restart (nothing held in memory) the new rows are what is there
        srv.stop()
        srv2 = Serve(study, data=data)
        st, lst, _ = srv2.admin("GET", "/projects/%s/participants" % P)
        check(sorted(p["userId"] for p in lst) == ["done1", "mid1"], "after a restart", lst)
    finally:
        s3.stop()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main(test)
