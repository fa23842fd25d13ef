"""Episodes and the end of a trial: maxEpisodes -> done, one file per episode
(fsynced, complete), the hello reply and binary frames (opt-in), a generated
userId for an empty one, several participants at once, and the display panel's
values (inside JSON frames; as throttled text messages with binary frames)."""
import asyncio
import json
import struct
import time

from serveutil import Trial, check, connect, handshake, main, recv

import websockets


async def play_to_done(ws):
    """Plays (holding 'right') until done; returns the frame messages."""
    await ws.send(json.dumps({"command": "start"}))
    await ws.send(json.dumps({"action": "right"}))
    frames = []
    while True:
        m = await recv(ws)
        if m == "done":
            return frames
        frames.append(m)


async def test():
    srv = Trial("trial_basic")
    try:
        # 1. maxEpisodes: 2 -> done after the second episode, then a clean close.
        ws = await connect(srv)
        first = await handshake(ws, "bob", "trial-basic")
        frames = [json.dumps(first[-1])] + await play_to_done(ws)
        check(len(frames) > 5, "frames streamed until done (%d)" % len(frames))
        try:
            await recv(ws)
            code = None
        except websockets.ConnectionClosed as e:
            code = e.code
        check(code == 1000, "closed with 1000 after done")
        files = [f.rsplit("/", 1)[1] for f in srv.files("trial-basic", "bob")]
        check(files == ["episode_1.jsonl", "episode_2.jsonl", "trials.jsonl"],
              "dataFile episode: one file per episode: %s" % files)
        for n in (1, 2):
            lines = srv.lines("%s/trial-basic/trials/bob/episode_%d.jsonl" % (srv.data, n))
            check(all(ln["episode"] == n for ln in lines), "episode %d file holds episode %d" % (n, n))
            check(lines[0].get("reset") and lines[0]["step"] == 0, "episode %d starts at reset" % n)
            last = lines[-1]
            check(last["terminated"] or last["truncated"], "episode %d ends terminated/truncated" % n)
            check([ln["step"] for ln in lines] == list(range(len(lines))),
                  "episode %d steps 0..%d" % (n, len(lines) - 1))
            check(all(ln["action"] == 1 for ln in lines[1:]), "held action 'right' = 1")
        lens = [len(srv.lines("%s/trial-basic/trials/bob/episode_%d.jsonl" % (srv.data, n))) - 1
                for n in (1, 2)]
        disp = [json.loads(m)["display"] for m in frames
                if isinstance(m, str) and "display" in json.loads(m)]
        check(len(disp) > 5 and disp[0] == {"episode": "1 / 2", "score": 0, "step": 0},
              "JSON frames carry the display, first {episode: 1 / 2, score: 0, step: 0}")
        check(all(d["score"] == d["step"] for d in disp),
              "display score is the episode's return (CartPole: 1 per step)")
        eps = [d["episode"] for d in disp]
        check(eps == sorted(eps) and set(eps) == {"1 / 2", "2 / 2"},
              "display episode goes 1 / 2 then 2 / 2")
        steps2 = [d["step"] for d in disp if d["episode"] == "2 / 2"]
        check(steps2[0] == 0 and max(steps2) <= lens[1],
              "episode 2's display starts at step 0 (%d steps recorded)" % lens[1])
        meta = srv.lines("%s/trial-basic/trials/bob/trials.jsonl" % srv.data)
        check(meta[-1]["event"] == "end" and meta[-1]["reason"] == "done"
              and meta[-1]["episodes"] == 2, "trials.jsonl ends with reason done, 2 episodes")

        # 2. hello + binary frames, opt-in.
        ws = await connect(srv)
        got = await handshake(ws, "carol", "trial-basic", accept=["binary"])
        hello = got[0]["hello"]
        check(hello["server"] == "hippo" and hello["frames"] == "binary"
              and "binary" in hello["supports"] and hello["userId"] == "carol",
              "hello tells the server, version and what it supports")
        check(got[1] == {"UI": ["left", "right", "start", "pause"]}, "then the UI list")
        b = got[-1]
        check(isinstance(b, bytes), "frames are binary messages")
        typ, fid, sent = b[0], struct.unpack(">I", b[4:8])[0], struct.unpack(">Q", b[8:16])[0]
        check(typ == 1 and fid == 1 and sent > 1.6e12, "binary header: type 1, frameId 1, time")
        check(b[16:19] == b"\xff\xd8\xff", "binary payload is the JPEG")
        await ws.send(json.dumps({"command": "start"}))
        await ws.send(json.dumps({"action": "right"}))
        t0 = time.monotonic()
        # control messages go out before a waiting frame: the first display may
        # have come with the handshake
        texts, nframes = [m for m in got if isinstance(m, dict) and "display" in m], 1
        while True:
            m = await recv(ws)
            if m == "done":
                break
            if isinstance(m, bytes):
                nframes += 1
            else:
                texts.append(json.loads(m))
        elapsed = time.monotonic() - t0
        disp = [m["display"] for m in texts if "display" in m]
        check(all(set(m) == {"display"} for m in texts),
              "binary frames: the display comes as its own text message")
        lens = [len(srv.lines("%s/trial-basic/trials/carol/episode_%d.jsonl" % (srv.data, n))) - 1
                for n in (1, 2)]
        check(disp[0] == {"episode": "1 / 2", "score": 0, "step": 0},
              "the display is sent at the episode start: %s" % disp[0])
        check(all(d["score"] == d["step"] for d in disp), "display score = return (CartPole)")
        check({"episode": "1 / 2", "score": lens[0], "step": lens[0]} in disp,
              "episode 1's end is always shown: score %d" % lens[0])
        check({"episode": "2 / 2", "score": 0, "step": 0} in disp, "episode 2's start is shown")
        check(disp[-1] == {"episode": "2 / 2", "score": lens[1], "step": lens[1]},
              "the last display before done is episode 2's end: %s" % disp[-1])
        check(len(disp) <= 4 * elapsed + 6,
              "throttled: %d display messages for %d frames in %.1f s" % (len(disp), nframes,
                                                                          elapsed))
        await ws.close()

        # 3. An empty userId gets a generated one (told in hello).
        ws = await connect(srv)
        got = await handshake(ws, "", "trial-basic", hello=True)
        uid = got[0]["hello"]["userId"]
        check(len(uid) == 36 and uid.count("-") == 4, "generated userId %s" % uid)
        await ws.close()

        # 4. Several participants at once each get their own trial.
        async def one(u):
            w = await connect(srv)
            await handshake(w, u, "trial-basic")
            fr = await play_to_done(w)
            await w.close()
            return len(fr)

        counts = await asyncio.gather(*[one("p%d" % i) for i in range(6)])
        check(all(c > 5 for c in counts), "6 concurrent participants all reached done")
        for i in range(6):
            f = srv.files("trial-basic", "p%d" % i)
            check(len(f) == 3, "participant p%d has its own files" % i)
    finally:
        rc, err = srv.stop()
        srv.cleanup()
    check(rc == 0, "server exits 0")


main(test)
