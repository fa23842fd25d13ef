"""Live sessions and spectating through the console's API (docs/console.md):
/api/sessions and the /api/live event stream list the running session with
its step, episode, frame rate and round trip; a spectator receives the very
JPEG bytes encoded for the participant (same frame id, same bytes: nothing
is encoded twice), sees the frames change as the participant acts and the
participant's messages as they are sent; a spectator that reads nothing
does not slow the participant; spectating is written to the audit log."""
import asyncio
import base64
import http.client
import json
import os
import socket
import time

import websockets

from serveutil import PROJECTS, TOKEN, Serve, check, main

P = "console-live"


def sse(srv, path):
    """An open event stream: a generator of (event, data) pairs."""
    c = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=30)
    c.request("GET", path, headers={"Authorization": "Bearer " + TOKEN})
    r = c.getresponse()
    check(r.status == 200 and r.headers.get("Content-Type") == "text/event-stream",
          "GET %s: an event stream" % path.split("?")[0], r.status)

    def gen():
        event, data = "message", []
        while True:
            line = r.readline()
            if not line:
                return
            line = line.decode().rstrip("\n")
            if line == "":
                if data:
                    yield event, "\n".join(data)
                event, data = "message", []
            elif line.startswith("event: "):
                event = line[7:]
            elif line.startswith("data: "):
                data.append(line[6:])
    return c, gen()


async def test():
    srv = Serve(os.path.join(PROJECTS, "console_live"))
    st, j = srv.next(P, "p1")
    check(j.get("page") == "show_game_page", "participant p1 reaches the game", j)
    st, j, _ = srv.admin("GET", "/projects/%s/participants/nobody/spectate" % P)
    check(st == 404, "spectating a participant without a game session: 404", j)

    frames = {}  # the participant's frames by id
    async with websockets.connect(srv.url.replace("http", "ws") + "/ws", max_size=1 << 24) as ws:
        await ws.send(json.dumps({"userId": "p1", "projectId": P}))
        await ws.send(json.dumps({"command": "start"}))

        async def read_until(t_end):
            while time.monotonic() < t_end:
                m = await asyncio.wait_for(ws.recv(), 10)
                if isinstance(m, str) and m.startswith("{") and '"frame"' in m:
                    f = json.loads(m)
                    frames[f["frameId"]] = base64.b64decode(f["frame"])
        await read_until(time.monotonic() + 1)
        n0, t0 = len(frames), time.monotonic()
        await read_until(time.monotonic() + 3)
        fps_alone = (len(frames) - n0) / (time.monotonic() - t0)
        before = len(frames)
        st, j, _ = srv.admin("GET", "/sessions")
        await read_until(time.monotonic() + 0.5)
        s = [x for x in j["sessions"] if x["userId"] == "p1"]
        check(st == 200 and len(s) == 1, "/api/sessions lists the running session", j)
        s = s[0]
        check(s["state"] == "running" and s["playing"] and s["fpsTarget"] == 30 and
              s["episode"] >= 1 and s["frames"] > 60, "it is running, playing, episode and frames", s)
        # frames sent against frames received before and after the question
        check(before <= s["frames"] <= len(frames),
              "the frames it reports sent are those the participant got (%d <= %d <= %d)"
              % (before, s["frames"], len(frames)))
        check(0 < s["fps"] <= 31 and s["slow"] == (s["fps"] < 27),
              "its frame rate (%.1f; the participant measured %.1f over 3 s) is flagged only "
              "below 90 %% of 30" % (s["fps"], fps_alone))
        check(s["reconnects"] == 0 and s["dropped"] >= 0 and "rttMs" in s and "lagMs" in s,
              "reconnects, dropped frames, round trip and input lag are reported", s)

        loop = asyncio.get_running_loop()
        conn, events = await loop.run_in_executor(
            None, sse, srv, "/api/projects/%s/participants/p1/spectate?viewer=Tester" % P)
        got, inputs = {}, []
        # a spectator that never reads: its stream fills and stays full
        stalled = socket.socket()
        stalled.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        stalled.connect(("127.0.0.1", srv.port))
        stalled.sendall(("GET /api/projects/%s/participants/p1/spectate?viewer=stalled HTTP/1.1\r\nHost: x\r\n"
                         "Authorization: Bearer %s\r\n\r\n" % (P, TOKEN)).encode())

        def spectate(n):
            for ev, data in events:
                if ev == "frame":
                    d = json.loads(data)
                    got[d["id"]] = base64.b64decode(d["jpeg"])
                elif ev == "input":
                    inputs.append(json.loads(data))
                if len(got) >= n and any(isinstance(i["msg"], dict) and "feedback" in i["msg"]
                                         for i in inputs):
                    return
        task = loop.run_in_executor(None, spectate, 90)
        t0 = time.monotonic()
        n0 = len(frames)
        for k in range(16):
            await ws.send(json.dumps({"action": "left" if k % 2 else "right"}))
            await read_until(time.monotonic() + 0.4)
        await ws.send(json.dumps({"feedback": "good"}))
        await read_until(time.monotonic() + 0.6)
        await asyncio.wait_for(task, 20)
        fps = (len(frames) - n0) / (time.monotonic() - t0)
        check(fps >= 0.9 * fps_alone, "the participant keeps its frame rate with two spectators, "
              "one stalled (%.1f fps, %.1f alone)" % (fps, fps_alone))
        same = [i for i in got if i in frames]
        check(len(same) >= 30 and all(got[i] == frames[i] for i in same),
              "the spectator gets the very bytes encoded for the participant (%d frames compared)"
              % len(same))
        check(got[min(got)][:3] == b"\xff\xd8\xff" and len(set(got.values())) > 10,
              "the spectated frames are JPEGs and change as the participant acts")
        ids = sorted(got)
        check(ids == sorted(set(ids)), "frames come newest first, none twice")
        acts = [i["msg"].get("action") for i in inputs if isinstance(i["msg"], dict)]
        check("left" in acts and "right" in acts and
              any(isinstance(i["msg"], dict) and i["msg"].get("feedback") == "good" for i in inputs),
              "the participant's actions and feedback reach the spectator", inputs[:5])
        conn.close()
        stalled.close()

        lconn, levents = await loop.run_in_executor(None, sse, srv, "/api/live")
        ev, data = await loop.run_in_executor(None, next, levents)
        d = json.loads(data)
        check(ev == "sessions" and any(x["userId"] == "p1" for x in d["sessions"]),
              "the live stream lists the session", data[:300])
        lconn.close()

    def audited():
        path = os.path.join(srv.data, "audit.jsonl")
        if not os.path.exists(path):
            return None
        es = [json.loads(x) for x in open(path).read().splitlines()]
        return [e for e in es if e["action"] == "spectate" and e["by"]["name"] == "Tester"]
    end = time.monotonic() + 10
    while time.monotonic() < end and not audited():
        await asyncio.sleep(0.2)
    a = audited()
    check(a and a[0]["userId"] == "p1" and a[0]["project"] == P and a[0]["frames"] >= 90,
          "spectating is written to the audit log (who, whom, how long)", a)
    path = os.path.join(srv.data, "audit.jsonl")
    st_ = [json.loads(x) for x in open(path).read().splitlines()]
    st_ = [e for e in st_ if e["by"]["name"] == "stalled"]
    check(st_ and st_[0]["framesSkipped"] > 0,
          "the stalled spectator skipped frames (newest wins) instead of holding any up", st_)
    st, j, _ = srv.admin("GET", "/audit")
    check(st == 200 and j[0]["action"] == "spectate", "GET /api/audit lists it", j)


if __name__ == "__main__":
    main(test)
