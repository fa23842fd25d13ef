"""trial.recordFrames (docs/config.md, docs/data.md): an external environment
cannot be re-simulated by the console's Replay, so a study may keep every
frame sent to the participant next to the records. With it on, each episode
of an external-environment game leaves episode_<n>.frames (a magic line, then
per frame its id, its length and the JPEG sent), with one valid JPEG per frame
id the records name: each episode's file holds one frame per step of that
episode (the frame of its last step too, sent while the external process
computes the next reset), but for the very last step of the trial, whose
frame is never sent; the replay API says how many frames it has and serves,
for a step, exactly the JPEG the participant was sent for it (the frame its
frameId names). `hippo verify` checks the frames files (and fails on a
damaged one); a withdrawal deletes them with the rest and lists them, hashed,
in its audit entry. With it off, no frames file, and the replay says so."""
import hashlib
import json
import asyncio
import os
import shutil
import struct
import subprocess
import tempfile
import uuid

from pluginutil import PURE_ENV, PYTHON
from serveutil import BIN, Serve, check, main, play_until_done, wait_for

MAGIC = b"HIPPOFRAMES1\n"


def write_study(root, pid, record):
    d = os.path.join(root, pid)
    os.makedirs(os.path.join(d, "StepFiles"))
    with open(os.path.join(d, "StepFiles", "thanks.html"), "w") as f:
        f.write("<p>Thanks.</p>\n")
    with open(os.path.join(d, "config.yml"), "w") as f:
        f.write("""project:
  id: %s
  name: recorded frames
  researcher: hippo tests
  events: {startServerStep: 1, stopServerStep: 2}
  steps:
    1: game
    finalStep: thanks.html
trial:
  game: PureCartPole-v0
  maxEpisodes: 2
  actionSpace: [left, right]
  startingFrameRate: 60
  recordFrames: %s
  env:
    command: [%s, %s]
    startTimeout: 60
""" % (pid, "true" if record else "false", PYTHON, PURE_ENV))
    return d


def frames_of(path):
    """{frame id: JPEG bytes} of a frames file, in order."""
    with open(path, "rb") as f:
        data = f.read()
    check(data.startswith(MAGIC), "%s starts with its magic line" % os.path.basename(path))
    out, at = {}, len(MAGIC)
    while at < len(data):
        fid, n = struct.unpack_from("<QI", data, at)
        at += 12
        out[fid] = data[at:at + n]
        at += n
    check(at == len(data), "the frames file ends with a whole frame")
    return out


def play(srv, pid, user):
    j = wait_for(lambda: (lambda r: r[1] if r[1]["page"] == "show_game_page" else None)(
        srv.next(pid, user)), "show_game_page once the process said hello")
    asyncio.run(play_until_done(j["server"], pid, user))


def replay(srv, pid, user):
    st, who, _ = srv.admin("GET", "/projects/%s/participants/%s" % (pid, user))
    check(st == 200 and who["episodes"], "the participant's episodes are listed", who)
    trial = who["episodes"][0]["trialId"]
    st, rp, _ = srv.admin("GET", "/projects/%s/participants/%s/replay?trial=%s&episode=1"
                          % (pid, user, trial))
    check(st == 200 and rp["simulated"] is False, "the replay of an external environment", rp)
    return trial, rp


def run():
    root = tempfile.mkdtemp(prefix="hippo-replay-frames-")
    on, off = write_study(root, "frames-on", True), write_study(root, "frames-off", False)
    srv = Serve(on, off)
    try:
        user = "u" + uuid.uuid4().hex[:8]
        play(srv, "frames-on", user)
        folder = os.path.join(srv.data, "frames-on", "trials", user)
        names = sorted(os.listdir(folder))
        check("episode_1.frames" in names and "episode_2.frames" in names,
              "a frames file next to each episode's records: %s" % names)
        frames = frames_of(os.path.join(folder, "episode_1.frames"))
        check(frames and all(b.startswith(b"\xff\xd8") and b.endswith(b"\xff\xd9")
                             for b in frames.values()),
              "%d frames, each a whole JPEG" % len(frames))
        ids = list(frames)
        check(ids == sorted(ids) and len(set(ids)) == len(ids), "frame ids increase")
        for ep in (1, 2):
            lines = srv.lines(os.path.join(folder, "episode_%d.jsonl" % ep))
            named = [x["frameId"] for x in lines if "end" not in x]
            got = list(frames_of(os.path.join(folder, "episode_%d.frames" % ep)))
            # the trial's last step ends it: its frame is never sent
            want = named if ep == 1 else named[:-1]
            check(got == want, "episode %d: one frame for each step, its own (%d frames)"
                  % (ep, len(got)), (got, named))
        last = srv.lines(os.path.join(folder, "episode_1.jsonl"))[-1]
        trial, rp = replay(srv, "frames-on", user)
        check(rp["recordedFrames"] == len(frames) and "recordFrames" in rp["why"],
              "the replay counts the recorded frames (%s) and says where they come from"
              % rp["recordedFrames"])
        steps = [e for e in rp["timeline"] if e.get("frameId") in frames]
        check(len(steps) == len(rp["timeline"]),
              "every step's frame is recorded (%d of %d)" % (len(steps), len(rp["timeline"])))
        check(steps[-1]["step"] == last["step"] and steps[-1]["frameId"] == last["frameId"],
              "the last step of episode 1 has its frame")
        for e in (steps[0], steps[len(steps) // 2], steps[-1]):
            st, body, h = srv.request(
                "GET", "/api/projects/frames-on/participants/%s/replay/frame.jpg?trial=%s"
                "&episode=1&step=%d" % (user, trial, e["step"]),
                headers={"Authorization": "Bearer " + srv.token}, raw=True)
            check(st == 200 and body == frames[e["frameId"]],
                  "step %d: the JPEG the participant was sent (frame %d, %d bytes)"
                  % (e["step"], e["frameId"], len(body)))

        # hippo verify checks the frames files
        v = subprocess.run([BIN, "verify", "frames-on", "--data", srv.data], capture_output=True,
                           text=True, timeout=120)
        check(v.returncode == 0 and "episode_1.frames: %d frames" % len(frames) in v.stdout and
              "episode_2.frames" in v.stdout and "2 frames files" in v.stderr,
              "hippo verify checks the frames files", v.stdout + v.stderr)
        ep2 = os.path.join(folder, "episode_2.frames")
        good = open(ep2, "rb").read()
        open(ep2, "wb").write(good[:-1] + b"\x00")  # the last JPEG loses its end
        v = subprocess.run([BIN, "verify", "frames-on", "--data", srv.data], capture_output=True,
                           text=True, timeout=120)
        check(v.returncode == 1 and "FAIL" in v.stdout and "episode_2.frames" in v.stdout and
              "not a whole JPEG" in v.stdout, "a damaged frames file fails hippo verify",
              v.stdout + v.stderr)
        open(ep2, "wb").write(good[:len(good) // 2])  # torn
        v = subprocess.run([BIN, "verify", "frames-on", "--data", srv.data], capture_output=True,
                           text=True, timeout=120)
        check(v.returncode == 1 and "torn" in v.stdout, "a torn frames file fails hippo verify",
              v.stdout + v.stderr)
        open(ep2, "wb").write(good)

        # a withdrawal deletes them, hashed in the audit entry
        sums = {"frames-on/trials/%s/%s" % (user, n):
                hashlib.sha256(open(os.path.join(folder, n), "rb").read()).hexdigest()
                for n in os.listdir(folder) if n.endswith(".frames")}
        st, w, _ = srv.admin("POST", "/projects/frames-on/participants/%s/withdraw" % user,
                             {"confirm": user})
        check(st == 200 and w["complete"], "the participant is withdrawn", w)
        listed = {f["path"]: f["sha256"] for f in w["deleted"]["files"] if f["path"] in sums}
        check(listed == sums and not os.path.exists(folder),
              "their frames files are deleted and listed with their SHA-256", (listed, sums))
        audit = [json.loads(x) for x in open(os.path.join(srv.data, "audit.jsonl"))]
        check(all(p in {f["path"] for f in audit[-1]["deleted"]["files"]} for p in sums),
              "the audit entry lists the frames files")

        user2 = "v" + uuid.uuid4().hex[:8]
        play(srv, "frames-off", user2)
        folder = os.path.join(srv.data, "frames-off", "trials", user2)
        check(not [n for n in os.listdir(folder) if n.endswith(".frames")],
              "recordFrames off: no frames file")
        trial, rp = replay(srv, "frames-off", user2)
        check(rp["recordedFrames"] == 0 and "not recorded" in rp["why"],
              "the replay says the frames were not recorded: %s" % rp["why"])
        st, body, _ = srv.request(
            "GET", "/api/projects/frames-off/participants/%s/replay/frame.jpg?trial=%s"
            "&episode=1&step=1" % (user2, trial),
            headers={"Authorization": "Bearer " + srv.token})
        check(st == 404, "and has no frame to show (404)", body)
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main(run)
