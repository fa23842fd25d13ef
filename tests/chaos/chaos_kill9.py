"""kill -9 in the middle of a game.

Sends: the honest participant plays the chaos-pendulum study (Pendulum-v1: 200
steps an episode, 6.7 s at 30 fps; one record file per episode); 3.5 s into its
first episode the server is killed with SIGKILL, then started again on the same
data folder, and the participant comes back.
Must hold: while the episode runs its records reach the disk within about a
second (the periodic flush: never more than 1.6 s behind); the kill loses at most
that much; after the restart the killed trial has its end line in trials.jsonl
(reason crash); the participant is still on the game step, gets a new session
and plays it at the study's frame rate for CHAOS_SECONDS; the new trial's
records are in files of its own (no record file holds two trials); the
restarted server exits 0."""
import json
import os
import signal
import time
import uuid

from chaosutil import (HERE, SECONDS, Honest, check, finish, hold_fps, main, nothing_outside,
                       serve)

PENDULUM = "chaos-pendulum"
PENDULUM_DIR = os.path.join(HERE, "projects", PENDULUM)
MAX_LAG_MS = 1600  # the flush runs every second; a frame period and scheduling on top


def lines(path):
    """The complete JSON lines of PATH (a torn last line is left out)."""
    out = []
    try:
        with open(path) as f:
            for ln in f.read().split("\n"):
                try:
                    out.append(json.loads(ln))
                except ValueError:
                    pass
    except FileNotFoundError:
        pass
    return out


def test():
    servers = [serve(projects=[PENDULUM_DIR])]
    try:
        attack(servers)
    finally:
        for s in servers:  # a failed check: do not leave them running
            if s.proc.poll() is None:
                s.proc.kill()
                s.proc.wait()
        servers[0].cleanup()


def attack(servers):
    srv = servers[0]
    user = "pend-" + uuid.uuid4().hex[:10]
    folder = os.path.join(srv.data, PENDULUM, "trials", user)
    ep1 = os.path.join(folder, "episode_1.jsonl")
    honest = Honest(srv, PENDULUM, user=user).begin()
    started = time.time()
    worst = 0
    while time.time() < started + 3.5:
        time.sleep(0.1)
        recs = [r for r in lines(ep1) if r.get("step", 0) >= 1]
        if time.time() > started + 1.2:  # the first flush has had its second
            lag = time.time() * 1000 - (recs[-1]["t"] if recs else started * 1000)
            worst = max(worst, lag)
    check(worst <= MAX_LAG_MS, "records reach the disk while the episode runs: at most "
          "%.0f ms behind (<= %d)" % (worst, MAX_LAG_MS))
    killed = time.time() * 1000
    srv.expect_exit(-signal.SIGKILL)
    srv.proc.send_signal(signal.SIGKILL)
    srv.proc.wait(10)
    honest.proc.kill()  # its connection is gone with the server
    honest.proc.wait()
    srv.stop()
    recs = lines(ep1)
    last = recs[-1]
    check(last["step"] < 200 and not last.get("truncated"), "killed mid-episode (step %d)"
          % last["step"])
    check(killed - last["t"] <= MAX_LAG_MS, "the kill lost at most %d ms of records (%.0f ms)"
          % (MAX_LAG_MS, killed - last["t"]))
    first_trial = last["trialId"]

    srv2 = serve(projects=[PENDULUM_DIR], data=srv.data)
    servers.append(srv2)
    meta = lines(os.path.join(folder, "trials.jsonl"))
    check([(m["event"], m["trialId"]) for m in meta] == [("start", first_trial),
                                                         ("end", first_trial)]
          and meta[1]["reason"] == "crash",
          "the killed trial has its end line, reason crash: %s" % [
              (m["event"], m.get("reason")) for m in meta])
    st, j = srv2.next(PENDULUM, user)
    check(st == 200 and j["page"] == "show_game_page" and j["step"] == 2,
          "the participant is still on the game step and gets a new session (%s)" % j)
    again = Honest(srv2, PENDULUM, user=user, url=j["server"]).begin()
    t0 = time.monotonic()
    time.sleep(max(SECONDS, 3))
    t1 = time.monotonic()
    again.stop()
    hold_fps(again, t0, t1, "the game after the restart")

    meta = lines(os.path.join(folder, "trials.jsonl"))
    second_trial = meta[2]["trialId"]
    check([m["event"] for m in meta] == ["start", "end", "start", "end"] and
          second_trial != first_trial, "the new trial starts and ends after it")
    files = sorted(f for f in os.listdir(folder) if f != "trials.jsonl")
    owners = {f: sorted({r["trialId"] for r in lines(os.path.join(folder, f))}) for f in files}
    check(all(len(o) == 1 for o in owners.values()) and
          owners["episode_1.jsonl"] == [first_trial] and
          owners.get("episode_1-%s.jsonl" % second_trial) == [second_trial],
          "each record file holds one trial: %s" % owners)
    nothing_outside(srv)
    finish(srv2)


main(test)
