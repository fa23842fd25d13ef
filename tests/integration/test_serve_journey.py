"""Whole participant journeys over HTTP + websocket against `hippo serve
examples/cartpole`: consent -> instructions (session allocated) -> game
(played over the real websocket until done) -> survey (stop step) -> thanks,
reloading at every step; two groups; unknown project; the UI, /healthz and
/metrics."""
import asyncio
import json
import os
import re
import uuid

import websockets

from serveutil import EXAMPLE, PROJECTS, SRC, Serve, check, main, play_until_done, wait_for

P = "cartpole-demo"


def reload_same(srv, user, page):
    for _ in range(2):
        st, j = srv.next(P, user)
        check(st == 200 and j == page, "a reload shows the same page (step %s)" % page.get("step"))


def journey(srv):
    user = uuid.uuid4().hex
    st, j = srv.next(P, user, extra="&PROLIFIC_PID=prolific-1&STUDY_ID=s9")
    check(st == 200 and j["step"] == 1 and "Consent" in j["page"], "GET shows step 1 (consent)")
    check(j["css"] is None and j["totalSteps"] == 4, "css null and totalSteps 4")
    reload_same(srv, user, j)

    st, j = srv.next(P, user, {"consent": "yes"})
    check(st == 200 and j["step"] == 2 and "Instructions" in j["page"],
          "POST submits consent and shows the instructions (startServerStep)")
    reload_same(srv, user, j)

    st, j = srv.next(P, user, {})
    check(j["page"] == "show_game_page", "the game step answers show_game_page at once")
    check(j["server"] == "ws://127.0.0.1:%d/ws" % srv.port, "with the websocket URL: %s" % j["server"])
    reload_same(srv, user, j)

    frames = asyncio.run(play_until_done(j["server"], P, user))
    check(frames > 0, "the game was played over the websocket until done (%d frames)" % frames)

    j = wait_for(lambda: (lambda r: r[1] if r[1].get("step") == 4 else None)(srv.next(P, user)),
                 "the step after the game")
    check(j["page"] not in ("wait", "show_game_page") and j["step"] == 4,
          "after done, GET shows the survey (step 4, the stop step)")
    reload_same(srv, user, j)

    st, j = srv.next(P, user, {"enjoy": "4", "comment": "<script>alert(1)</script>"})
    check(st == 200 and j["step"] == 5, "POST survey shows the final step")
    check("<script>alert(1)</script>" not in j["page"], "answers are never reflected")
    reload_same(srv, user, j)
    st, j2 = srv.next(P, user, {"late": "x"})
    check(j2["step"] == 5 and j2["page"] == j["page"], "past the last step: finalStep stays")

    st, parts, _ = srv.admin("GET", "/projects/%s/participants" % P)
    me = [p for p in parts if p["userId"] == user][0]
    check(me["step"] == 5 and me["status"] == "completed", "the record is completed at step 5")
    check(me["crowd"] == {"PROLIFIC_PID": "prolific-1", "STUDY_ID": "s9"},
          "crowd ids stored with the participant")
    ans = {(a["step"], a["field"]): a["value"] for a in me["answers"]}
    check(ans[(1, "consent")] == "yes" and ans[(4, "comment")] == "<script>alert(1)</script>",
          "answers stored per step, HTML verbatim")
    check(all(a["time"].endswith("Z") for a in me["answers"]), "answers have timestamps")
    s = me["sessions"]
    check(len(s) == 1 and s[0]["reason"] == "done" and s[0]["stopped"],
          "one session, ended with reason done: %s" % s)
    check(isinstance(s[0]["files"], list) and len(s[0]["files"]) >= 1,
          "the session lists its data files: %s" % s[0]["files"])
    for f in s[0]["files"]:
        check(os.path.exists(os.path.join(srv.data, f)), "data file exists: %s" % f)
    return user


def groups(srv):
    seen = {}
    for i in range(4):
        user = "g%d_%s" % (i, uuid.uuid4().hex[:8])
        st, j = srv.next("serve-groups", user)
        check(st == 200 and "Group" in j["page"], "a variant page is shown")
        g = "A" if "Group A" in j["page"] else "B"
        seen[user] = g
        for _ in range(2):
            st, k = srv.next("serve-groups", user)
            check(k["page"] == j["page"], "%s sees the same variant on reload" % user)
    counts = sorted(list(seen.values()).count(x) for x in "AB")
    check(counts == [2, 2], "balanced: 4 participants split 2/2 (%s)" % seen)
    user = list(seen)[0]
    st, j = srv.next("serve-groups", user, {"q1": "a"})
    check(j["step"] == 2 and "How was it" in j["page"], "a grouped participant advances")
    st, parts, _ = srv.admin("GET", "/projects/serve-groups/participants")
    me = [p for p in parts if p["userId"] == user][0]
    check(me["groups"] == {"2": 0 if seen[user] == "A" else 1}, "the group is stored: %s" % me["groups"])


async def stop_step_game(srv, user):
    """Connects to the session allocated at step 1, submits step 1 (reaching the
    stop step) while playing, and returns what the websocket got."""
    async with websockets.connect("ws://127.0.0.1:%d/ws" % srv.port, max_size=16 << 20,
                                  open_timeout=30) as ws:
        await ws.send(json.dumps({"userId": user, "projectId": "serve-stopstep"}))
        await ws.send(json.dumps({"command": "start"}))
        frames = 0
        while frames < 5:
            m = await asyncio.wait_for(ws.recv(), 30)
            frames += isinstance(m, bytes) or '"frame"' in m
        loop = asyncio.get_running_loop()
        st, j = await loop.run_in_executor(None, lambda: srv.next("serve-stopstep", user, {}))
        while True:
            m = await asyncio.wait_for(ws.recv(), 30)
            if m == "done":
                return frames, j


def stop_step(srv):
    user = "stopper_" + uuid.uuid4().hex[:8]
    st, j = srv.next("serve-stopstep", user)
    check(st == 200 and j["step"] == 1, "step 1 allocates the session (startServerStep)")
    frames, j = asyncio.run(stop_step_game(srv, user))
    check(j["step"] == 2, "submitting step 1 reaches the stop step")
    check(frames >= 5, "the game was running (%d frames) and got done at the stop step" % frames)
    st, parts, _ = srv.admin("GET", "/projects/serve-stopstep/participants")
    s = [p for p in parts if p["userId"] == user][0]["sessions"]
    check(len(s) == 1 and s[0]["reason"] == "stop_step", "the record says stop_step: %s" % s)


# The content type each kind of file in web/ must be served with.
WEB_TYPES = {".html": "text/html", ".js": "text/javascript", ".css": "text/css",
             ".svg": "image/svg+xml"}


def web_files(srv):
    """Every file of web/ is embedded and served as it is, with its type and
    the UI's policy; every module a script imports is one of them."""
    web = os.path.join(SRC, "web")
    # (web/admin/ is the researcher console's: test_console_api.py)
    names = sorted(n for n in os.listdir(web) if os.path.isfile(os.path.join(web, n)))
    for name in names:
        with open(os.path.join(web, name), "rb") as f:
            want = f.read()
        st, body, h = srv.request("GET", "/" + name, raw=True)
        ext = os.path.splitext(name)[1]
        check(ext in WEB_TYPES, "web/%s has a known type" % name)
        check(st == 200 and body == want, "web/%s is served as it is (%s)" % (name, st))
        check((h.get("Content-Type") or "").startswith(WEB_TYPES.get(ext, "?")),
              "web/%s with its type: %s" % (name, h.get("Content-Type")))
        check("script-src 'self'" in (h.get("Content-Security-Policy") or ""),
              "web/%s with the UI's policy" % name)
        if ext == ".js":
            for dep in re.findall(r"^import [^;]* from '\./([^']+)';", want.decode(), re.M):
                check(dep in names, "web/%s imports ./%s, a file of web/" % (name, dep))
    check({"game.js", "game-connection.js", "game-controls.js", "game-view.js",
           "close-codes.js"} <= set(names), "the game page's modules are in web/")


def misc(srv):
    st, j = srv.next("no-such-project", "u1")
    check(st == 400 and j == "Project ID Not Found", "unknown project: 400 \"Project ID Not Found\"")
    st, j = srv.next(P, "bad/../id")
    check(st == 400 and "error" in j, "bad userId: 400 with a JSON error")
    st, body, h = srv.request("GET", "/?projectId=" + P, raw=True)
    check(st == 200 and h["Content-Type"].startswith("text/html") and b"<html" in body.lower(),
          "the participant UI is served at /")
    check(h.get("ETag") and h.get("Cache-Control") == "no-cache", "with an ETag and revalidation")
    st, body, h2 = srv.request("GET", "/", headers={"If-None-Match": h["ETag"]}, raw=True)
    check(st == 304, "a matching If-None-Match gets 304")
    st, body, h = srv.request("GET", "/ui.css", raw=True)
    check(st == 200 and h["Content-Type"].startswith("text/css"), "CSS with its content type")
    st, body, h = srv.request("GET", "/api.js", raw=True)
    check(st == 200 and "javascript" in h["Content-Type"], "JS with its content type")
    st, j, _ = srv.request("GET", "/healthz")
    check(st == 200 and j["status"] == "ok", "/healthz ok")
    st, body, h = srv.request("GET", "/metrics", raw=True)
    text = body.decode()
    check(st == 200 and 'hippo_participants{project="cartpole-demo",step="5"}' in text,
          "/metrics counts participants by step")
    check("hippo_sessions_active" in text, "/metrics has active sessions")
    frames = [l for l in text.splitlines() if l.startswith("hippo_frames_sent_total ")]
    check(frames and int(frames[0].split()[1]) > 0, "/metrics counts frames sent: %s" % frames)
    st, j, h = srv.request("OPTIONS", "/next?projectId=%s&userId=u" % P)
    check(st == 204 and h["Access-Control-Allow-Origin"] == "*", "CORS preflight")
    check("POST" in h["Access-Control-Allow-Methods"], "CORS methods include POST")


def test():
    srv = Serve(EXAMPLE, os.path.join(PROJECTS, "serve_groups"),
                os.path.join(PROJECTS, "serve_stopstep"))
    try:
        check(any("/?projectId=cartpole-demo" in l for l in srv.banner),
              "serve prints the URL to open: %s" % srv.banner[1].strip())
        journey(srv)
        groups(srv)
        stop_step(srv)
        misc(srv)
        web_files(srv)
        rc, err = srv.stop()
        check(rc == 0, "a clean shutdown on SIGTERM (rc %s)" % rc)
        check("level=error" not in err and "runtime error" not in err, "no errors logged: %s" % [l for l in err.splitlines() if "level=error" in l][:3])
    finally:
        if srv.proc.poll() is None:
            srv.stop()
        srv.cleanup()


main(test)
