"""hippo export --format minari on a study played by scripted participants
through `hippo serve` and the websocket (CartPole, two instruction groups;
one participant never finishes the survey), plus a MountainCar trial in the
same project: the datasets are read with h5py following Minari's Dataset
Standards (data/main_data.hdf5 with one episode_<k> group per episode,
data/metadata.json with the dataset metadata and serialised spaces) and every
value is compared with the JSONL records: shapes, dtypes, episode counts,
observations, actions, rewards, flags, infos (inputs, feedback, reaction
times, frames seen) and episode metadata. Then the filters (--completed,
--group, --since/--until), --dataset-id and bad options."""
import asyncio
import glob
import json
import math
import os
import random
import re
import shutil
import subprocess
import tempfile

import h5py
import numpy as np
import websockets

from serveutil import BIN, EXAMPLE, Serve, check, main, store_args, wait_for

P = "cartpole-demo"
MINARI_VERSIONS = {"0.4.0", "0.4.1", "0.4.2", "0.4.3", "0.5.0", "0.5.1", "0.5.2", "0.5.3"}


async def play(url, project, user, names, seed):
    """A scripted participant: an action after every frame (with the frame it
    saw and a reaction time), feedback on some frames, until done."""
    rnd = random.Random(seed)
    frames = 0
    async with websockets.connect(url, max_size=16 << 20, open_timeout=30) as ws:
        await ws.send(json.dumps({"userId": user, "projectId": project}))
        await ws.send(json.dumps({"command": "start"}))
        while True:
            m = await asyncio.wait_for(ws.recv(), 30)
            if m == "done":
                return frames
            if isinstance(m, bytes):
                continue
            j = json.loads(m)
            if "frame" not in j:
                continue
            frames += 1
            fid = j.get("frameId")
            try:
                await ws.send(json.dumps({"action": rnd.choice(names), "frameId": fid,
                                          "sinceFrameMs": round(rnd.uniform(5, 90), 1)}))
                if frames % 4 == 0:
                    await ws.send(json.dumps({"feedback": rnd.choice(["good", "bad"]),
                                              "frameId": fid}))
                if frames % 9 == 0:
                    await ws.send(json.dumps({"command": "good"}))  # the original's form
            except websockets.exceptions.ConnectionClosedOK:
                pass  # the trial ended after that frame: its "done" is next


def natural(name):
    return [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", name)]


def records(data, project):
    """Episodes of the JSONL records: {(user, trialId, episode): [lines]}, and the
    start lines {(user, trialId): line}."""
    eps, starts = {}, {}
    for udir in sorted(glob.glob(os.path.join(data, project, "trials", "*"))):
        user = os.path.basename(udir)
        for ln in open(os.path.join(udir, "trials.jsonl")):
            j = json.loads(ln)
            if j["event"] == "start":
                starts[(user, j["trialId"])] = j
        files = sorted((f for f in os.listdir(udir) if f.endswith(".jsonl") and
                        f != "trials.jsonl"), key=natural)
        for f in files:
            for ln in open(os.path.join(udir, f)):
                j = json.loads(ln)
                if "end" in j:
                    continue
                eps.setdefault((user, j["trialId"], j["episode"]), []).append(j)
    return eps, starts


def export(data, out, *args):
    p = subprocess.run([BIN, "export", P, "--data", data, "--format", "minari", "--out", out,
                        "--no-progress", *store_args(data), *args], capture_output=True, text=True,
                       timeout=300)
    return p.returncode, p.stderr


def open_dataset(out, dataset_id):
    """What Minari reads: DIR/<id>/data/metadata.json and main_data.hdf5."""
    d = os.path.join(out, dataset_id, "data")
    meta = json.load(open(os.path.join(d, "metadata.json")))
    return meta, h5py.File(os.path.join(d, "main_data.hdf5"), "r")


def expected_feedback(lines):
    """+1/-1 per feedback, on the row whose frameId it names (else the frame on
    screen when it arrived: the previous row's)."""
    frames = [ln["frameId"] for ln in lines]
    fb = [0.0] * len(lines)
    for i, ln in enumerate(lines):
        for inp in ln["inputs"]:
            m = inp["msg"]
            kind = m.get("feedback") or m.get("command")
            if kind not in ("good", "bad"):
                continue
            frame = m.get("frameId", frames[i - 1] if i else -1)
            if frame in frames:
                fb[frames.index(frame)] += 1 if kind == "good" else -1
    return fb


def check_dataset(meta, f, eps, starts, parts, env_id, obs_dim, n_actions):
    """Compares one dataset with the records of the episodes it holds."""
    mine = {k: v for k, v in eps.items() if starts[(k[0], k[1])]["env"]["id"] == env_id
            and len(v) > 1}
    check(meta["total_episodes"] == len(mine) and len(f.keys()) == len(mine),
          "%s: one episode group per recorded episode (%d)" % (env_id, len(mine)))
    total = sum(len(v) - 1 for v in mine.values())
    check(meta["total_steps"] == total, "%s: total_steps %d" % (env_id, total))
    check(sorted(f.keys(), key=natural) == ["episode_%d" % k for k in range(len(mine))],
          "%s: groups episode_0 .. episode_%d" % (env_id, len(mine) - 1))
    check(meta["data_format"] == "hdf5" and meta["minari_version"] in MINARI_VERSIONS and
          meta["jpeg_encoding"] is False, "%s: data_format, minari_version" % env_id)
    obs_space = json.loads(meta["observation_space"])
    act_space = json.loads(meta["action_space"])
    check(obs_space["type"] == "Box" and obs_space["dtype"] == "float32" and
          obs_space["shape"] == [obs_dim] and len(obs_space["low"]) == obs_dim,
          "%s: the observation space as Minari serialises a Box" % env_id)
    check(act_space == {"type": "Discrete", "dtype": "int64", "start": 0, "n": n_actions},
          "%s: the action space as Minari serialises a Discrete" % env_id)
    spec = json.loads(meta["env_spec"])
    check(spec["id"] == env_id and spec["additional_wrappers"] == [] and
          isinstance(spec["kwargs"], dict), "%s: env_spec is Gymnasium's EnvSpec JSON" % env_id)
    seen = set()
    ok = {"shapes": True, "obs": True, "act": True, "rew": True, "flags": True, "infos": True,
          "feedback": True, "attrs": True}
    for name in f.keys():
        g = f[name]
        a = dict(g.attrs)
        key = (a["user_id"], a["trial_id"], int(a["trial_episode"]))
        seen.add(key)
        lines = mine[key]
        steps = lines[1:]
        n = len(steps)
        obs, act, rew = g["observations"], g["actions"], g["rewards"]
        term, trunc, infos = g["terminations"], g["truncations"], g["infos"]
        ok["shapes"] &= (obs.shape == (n + 1, obs_dim) and obs.dtype == np.float32 and
                         act.shape == (n,) and act.dtype == np.int64 and
                         rew.shape == (n,) and rew.dtype == np.float64 and
                         term.shape == (n,) and term.dtype == np.bool_ and
                         trunc.shape == (n,) and trunc.dtype == np.bool_ and
                         all(infos[k].shape == (n + 1,) for k in infos.keys()))
        want_obs = np.array([ln["observation"] for ln in lines], dtype=np.float32)
        ok["obs"] &= bool(np.array_equal(obs[()], want_obs))
        ok["act"] &= act[()].tolist() == [s["action"] for s in steps]
        ok["rew"] &= rew[()].tolist() == [s["reward"] for s in steps]
        ok["flags"] &= (term[()].tolist() == [s["terminated"] for s in steps] and
                        trunc[()].tolist() == [s["truncated"] for s in steps])
        ok["infos"] &= (
            infos["t_ms"][()].tolist() == [ln["t"] for ln in lines] and
            infos["frame_id"][()].tolist() == [ln["frameId"] for ln in lines] and
            infos["seen_frame_id"][()].tolist() == [ln.get("seenFrameId", -1) for ln in lines]
            and all((math.isnan(x) and "reactionMs" not in ln) or x == ln.get("reactionMs")
                    for x, ln in zip(infos["reaction_ms"][()].tolist(), lines)) and
            [json.loads(x) for x in infos["inputs"][()]] == [ln["inputs"] for ln in lines] and
            infos["fps"][()].tolist() == [ln["fps"] for ln in lines] and
            infos["feedback_good"][()].tolist() ==
            [sum((i["msg"].get("feedback") or i["msg"].get("command")) == "good"
                 for i in ln["inputs"]) for ln in lines])
        ok["feedback"] &= infos["feedback"][()].tolist() == expected_feedback(lines)
        start = starts[(key[0], key[1])]
        p = parts.get(key[0], {})
        ok["attrs"] &= (a["id"] == int(name.split("_")[1]) and a["total_steps"] == n and
                        (a.get("seed") == start["seed"]) == (key[2] == 1) and
                        math.isclose(a["rewards_sum"], sum(s["reward"] for s in steps)) and
                        a["participant_status"] == p.get("status", "") and
                        a["group"] == ";".join(str(v) for v in p.get("groups", {}).values()))
    check(seen == set(mine), "%s: every recorded episode is in the dataset once" % env_id)
    for what, good in ok.items():
        check(good, "%s: %s equal the JSONL records in every episode" % (env_id, what))
    return mine


def run():
    tmp = tempfile.mkdtemp(prefix="hippo-minari-")
    study = os.path.join(tmp, "study")
    shutil.copytree(EXAMPLE, study)
    sf = os.path.join(study, "StepFiles")
    for g in (0, 1):  # two instruction groups
        shutil.copy(os.path.join(sf, "instructions.html"),
                    os.path.join(sf, "instructions-%d.html" % g))
    os.remove(os.path.join(sf, "instructions.html"))
    cfg = open(os.path.join(study, "config.yml")).read()
    cfg = cfg.replace("maxEpisodes: 3", "maxEpisodes: 2").replace(
        "startingFrameRate: 30", "startingFrameRate: 60")
    cfg = cfg.replace("trial:\n", "trial:\n  maxMessagesPerSecond: 100000\n")
    open(os.path.join(study, "config.yml"), "w").write(cfg)
    srv = Serve(study)
    data = srv.data
    out = os.path.join(tmp, "out")
    try:
        users = ["alice", "bob", "carol", "dave"]
        for i, user in enumerate(users):
            srv.next(P, user)
            srv.next(P, user, {"consent": "yes"})
            st, j = srv.next(P, user, {})
            check(j["page"] == "show_game_page", "%s reaches the game" % user)
            frames = asyncio.run(play(j["server"], P, user, ["left", "right"], i))
            check(frames > 0, "%s played (%d frames)" % (user, frames))
            wait_for(lambda: srv.next(P, user)[1].get("step") == 4, "the survey")
            if user != "dave":  # dave never completes
                srv.next(P, user, {"enjoy": "3"})
        st, plist, _ = srv.admin("GET", "/projects/%s/participants" % P)
        parts = {p["userId"]: p for p in plist}
        check(sorted(p["status"] for p in plist) == ["active", "completed", "completed",
                                                     "completed"], "three completed, one not")
        rc, serr = srv.stop()
        check(rc == 0 and "Sanitizer" not in serr, "the server exits cleanly")

        # a MountainCar trial of the same project (another environment id)
        mc = os.path.join(tmp, "mc")
        shutil.copytree(study, mc)
        open(os.path.join(mc, "config.yml"), "w").write(
            cfg.replace("game: CartPole-v1", "game: MountainCar-v0").replace(
                "maxEpisodes: 2", "maxEpisodes: 1").replace("    - right\n",
                                                            "    - noop\n    - right\n"))
        tp = subprocess.Popen([BIN, "trial", mc, "--port", "0", "--data", data],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        line = tp.stdout.readline()
        url = line.split("listening on ")[1].split(" ")[0]
        asyncio.run(play(url, P, "erin", ["left", "noop", "right"], 7))
        tp.terminate()
        tp.wait(30)
        tp.stdout.close()
        tp.stderr.close()

        eps, starts = records(data, P)
        rc, err = export(data, out)
        print(err.strip())
        check(rc == 0, "the export succeeds")
        check("cartpole-demo/CartPole-v1/human-v0" in err and
              "cartpole-demo/MountainCar-v0/human-v0" in err,
              "one dataset per environment id, named PROJECT/ENV/human-v0")
        meta, f = open_dataset(out, "cartpole-demo/CartPole-v1/human-v0")
        check(meta["dataset_id"] == "cartpole-demo/CartPole-v1/human-v0" and
              meta["author"] == ["HIPPO Gym team"], "dataset_id and author in metadata.json")
        cart = check_dataset(meta, f, eps, starts, parts, "CartPole-v1", 4, 2)
        check({k[0] for k in cart} == set(users), "the CartPole dataset has the four players")
        f.close()
        meta, f = open_dataset(out, "cartpole-demo/MountainCar-v0/human-v0")
        mcars = check_dataset(meta, f, eps, starts, parts, "MountainCar-v0", 2, 3)
        check({k[0] for k in mcars} == {"erin"} and meta["total_steps"] == 200,
              "the MountainCar dataset holds erin's 200-step episode")
        f.close()
        fb = sum(1 for v in cart.values() for ln in v for i in ln["inputs"]
                 if i["msg"].get("feedback") or i["msg"].get("command") == "good")
        check(fb > 0, "the played study has feedback to check (%d)" % fb)

        # exporting again replaces the datasets and leaves no temporary folder
        rc, _ = export(data, out)
        leftovers = [p for p in glob.glob(os.path.join(out, "**", ".data*"), recursive=True)]
        check(rc == 0 and not leftovers, "a second export replaces the first")

        # filters
        o2 = os.path.join(tmp, "completed")
        rc, err = export(data, o2, "--completed")
        meta, f = open_dataset(o2, "cartpole-demo/CartPole-v1/human-v0")
        got = {f[k].attrs["user_id"] for k in f.keys()}
        check(rc == 0 and got == {"alice", "bob", "carol"} and
              not os.path.exists(os.path.join(o2, "cartpole-demo", "MountainCar-v0")),
              "--completed: only participants who completed the study (%s)" % sorted(got))
        f.close()
        grp = parts["alice"]["groups"]["2"]
        o3 = os.path.join(tmp, "group")
        rc, err = export(data, o3, "--group", str(grp))
        meta, f = open_dataset(o3, "cartpole-demo/CartPole-v1/human-v0")
        got = {f[k].attrs["user_id"] for k in f.keys()}
        want = {u for u in users if parts[u]["groups"].get("2") == grp}
        check(rc == 0 and got == want and all(f[k].attrs["group"] == str(grp) for k in f.keys()),
              "--group %s: only that group's participants (%s)" % (grp, sorted(got)))
        f.close()
        rc, err = export(data, os.path.join(tmp, "future"), "--since", "2999-01-01")
        check(rc == 1 and "no episode to export" in err, "--since in the future: nothing")
        rc, err = export(data, os.path.join(tmp, "until"), "--until", "2999-01-01T00:00:00Z",
                         "--since", "2020-01-01")
        check(rc == 0 and "%d episodes" % (len(cart) + len(mcars)) in err,
              "--since/--until around the study: everything")
        rc, err = export(data, os.path.join(tmp, "bad"), "--since", "yesterday")
        check(rc == 2 and "--since" in err, "a bad date is a usage error")

        # dataset ids
        o4 = os.path.join(tmp, "named")
        rc, err = export(data, o4, "--dataset-id", "lab/pilot-v2")
        check(rc == 0 and os.path.exists(os.path.join(o4, "lab/CartPole-v1/pilot-v2/data",
                                                      "main_data.hdf5")) and
              os.path.exists(os.path.join(o4, "lab/MountainCar-v0/pilot-v2/data",
                                          "metadata.json")),
              "--dataset-id with two environments: the environment goes before the name")
        meta, f = open_dataset(o4, "lab/CartPole-v1/pilot-v2")
        check(meta["dataset_id"] == "lab/CartPole-v1/pilot-v2", "the id in metadata.json")
        f.close()
        o5 = os.path.join(tmp, "named1")
        rc, err = export(data, o5, "--dataset-id", "cp-human-v0", "--completed")
        check(rc == 0 and os.path.exists(os.path.join(o5, "cp-human-v0", "data")),
              "--dataset-id with one environment is used as is")
        for bad in ("../escape-v0", "a//b", "/abs", "x.y"):
            rc, err = export(data, os.path.join(tmp, "x"), "--dataset-id", bad)
            check(rc == 1 and "invalid dataset id" in err and
                  not os.path.exists(os.path.join(tmp, "escape-v0")),
                  "--dataset-id %r is refused" % bad)
    finally:
        if srv.proc.poll() is None:
            srv.stop()
        srv.cleanup()
        shutil.rmtree(tmp, ignore_errors=True)


main(run)
