"""hippo_env: serve a Python environment or agent to hippo.

A single file with no dependency beyond the standard library (numpy is used
when it is installed, never required). Copy it next to your script, then:

    import hippo_env
    hippo_env.serve(MyEnv())          # an env: reset(seed=), step(a), render()
    hippo_env.serve_agent(MyAgent())  # an agent: act(observation) -> action

and name the script in the study's config.yml:

    trial:
      env: {command: ["python3", "my_env.py"], id: MyEnv-v0, options: {}}

hippo starts the script as a child process and speaks the protocol described
in docs/plugins.md over its stdin and stdout. Everything the script prints goes
to hippo's log (stdout is taken over by the protocol and redirected to stderr),
so print() and logging are safe.

Environments follow Gymnasium's API: reset(seed=None) -> (observation, info),
step(action) -> (observation, reward, terminated, truncated, info), render()
-> an RGB picture (a numpy array of shape (H, W, 3), nested lists of
[r, g, b] rows, an RGBFrame, or an EncodedFrame holding PNG/JPEG bytes).
The older gym API (reset -> observation, step -> 4-tuple) is accepted too.
"""

import json
import math
import os
import struct
import sys
import traceback

PROTOCOL = 1
MAGIC = b"HPPO"
MAX_HEADER = 4 << 20
MAX_PAYLOAD = 64 << 20
_FRAME = struct.Struct("<4sHHII")

__all__ = ["serve", "serve_agent", "Discrete", "Box", "RGBFrame", "EncodedFrame",
           "Channel", "ProtocolError", "PROTOCOL"]


class ProtocolError(Exception):
    """The peer sent something that is not a valid protocol message."""


class Discrete:
    """An action or observation space of N integers START .. START+N-1, for
    environments written without Gymnasium. NAMES labels the actions."""

    def __init__(self, n, start=0, names=None):
        self.n, self.start, self.names = int(n), int(start), names


class Box:
    """An array space of SHAPE with bounds LOW/HIGH (numbers or flat lists;
    None or math.inf for unbounded)."""

    def __init__(self, low, high, shape, dtype="float32"):
        self.low, self.high, self.shape, self.dtype = low, high, tuple(shape), dtype


class RGBFrame:
    """A picture as raw bytes: HEIGHT rows of WIDTH pixels, 3 bytes (R, G, B)
    each. The cheapest way to send a picture without numpy."""

    def __init__(self, width, height, data):
        if len(data) != width * height * 3:
            raise ValueError("RGBFrame: %dx%d needs %d bytes, got %d"
                             % (width, height, width * height * 3, len(data)))
        self.width, self.height, self.data = width, height, data


class EncodedFrame:
    """A picture already encoded as PNG or JPEG (FMT "png" or "jpeg")."""

    def __init__(self, width, height, data, fmt="png"):
        self.width, self.height, self.data, self.fmt = width, height, data, fmt


class Channel:
    """Reads and writes protocol messages on two binary streams."""

    def __init__(self, rfile, wfile):
        self.rfile, self.wfile = rfile, wfile

    def _exactly(self, n):
        data = self.rfile.read(n)
        while data is not None and len(data) < n:
            more = self.rfile.read(n - len(data))
            if not more:
                break
            data += more
        if not data:
            return None
        if len(data) < n:
            raise ProtocolError("stream ended inside a message")
        return data

    def read(self):
        """Returns (header dict, payload bytes), or None at the end of input."""
        frame = self._exactly(_FRAME.size)
        if frame is None:
            return None
        magic, version, flags, hlen, plen = _FRAME.unpack(frame)
        if magic != MAGIC:
            raise ProtocolError("bad magic %r" % magic)
        if version != PROTOCOL or flags != 0:
            raise ProtocolError("unsupported protocol version %d" % version)
        if not 0 < hlen <= MAX_HEADER or plen > MAX_PAYLOAD:
            raise ProtocolError("message too large (%d + %d bytes)" % (hlen, plen))
        header = json.loads(self._exactly(hlen).decode("utf-8"))
        payload = self._exactly(plen) if plen else b""
        if not isinstance(header, dict) or not isinstance(header.get("type"), str):
            raise ProtocolError("header without a type")
        return header, payload

    def write(self, header, payload=b""):
        text = json.dumps(header, separators=(",", ":"), allow_nan=False).encode("utf-8")
        self.wfile.write(_FRAME.pack(MAGIC, PROTOCOL, 0, len(text), len(payload)))
        self.wfile.write(text)
        if payload:
            self.wfile.write(payload)
        self.wfile.flush()


def _stdio_channel():
    """Takes stdout for the protocol and points fd 1 and sys.stdout at stderr,
    so stray prints (also from C extensions) reach hippo's log instead of
    corrupting the protocol stream."""
    proto_fd = os.dup(1)
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    return Channel(sys.stdin.buffer, os.fdopen(proto_fd, "wb", buffering=1 << 20))


# ---- values ----

def _finite(v):
    v = float(v)
    return v if math.isfinite(v) else None


def _flat(x, out):
    if hasattr(x, "ravel") and hasattr(x, "tolist"):  # numpy array or scalar
        x = x.ravel().tolist() if hasattr(x, "shape") and x.shape else x.tolist()
    if isinstance(x, (list, tuple)):
        for v in x:
            _flat(v, out)
    elif isinstance(x, bool):
        out.append(1 if x else 0)
    elif isinstance(x, (int, float)):
        out.append(x if isinstance(x, int) else _finite(x))
    else:
        raise TypeError("observation element %r is not a number" % (x,))
    return out


def _jsonable(x):
    """Converts numpy values and containers to plain JSON values."""
    if isinstance(x, dict):
        return {str(k): _jsonable(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_jsonable(v) for v in x]
    if hasattr(x, "tolist"):
        return _jsonable(x.tolist())
    if isinstance(x, float):
        return _finite(x)
    if x is None or isinstance(x, (bool, int, str)):
        return x
    return str(x)


def _dtype(space):
    name = str(getattr(space, "dtype", "float32"))
    for known in ("float32", "float64", "uint8", "int64"):
        if known in name:
            return known
    return "float64" if "float" in name else "int64"


def _bounds(v, n):
    if v is None:
        return None
    if isinstance(v, (int, float)):
        return [_finite(v)] * n
    return _flat(v, [])


def describe_space(space, names=None):
    """The protocol's JSON description of a Gymnasium-like space. Spaces
    other than Discrete and Box become an empty box (no flat observation)."""
    if space is not None and hasattr(space, "n") and not hasattr(space, "nvec"):
        d = {"kind": "discrete", "n": int(space.n), "start": int(getattr(space, "start", 0))}
        names = names or getattr(space, "names", None)
        if names and len(names) == d["n"]:
            d["names"] = [str(s) for s in names]
        return d
    if space is not None and hasattr(space, "shape") and hasattr(space, "low"):
        shape = [int(s) for s in space.shape]
        n = 1
        for s in shape:
            n *= s
        return {"kind": "box", "shape": shape, "dtype": _dtype(space),
                "low": _bounds(space.low, n), "high": _bounds(space.high, n)}
    return {"kind": "box", "shape": [0]}


def _frame(img):
    """Turns what render() returned into (frame description, payload bytes)."""
    if img is None:
        return None, b""
    if isinstance(img, RGBFrame):
        return {"width": img.width, "height": img.height, "format": "rgb"}, img.data
    if isinstance(img, EncodedFrame):
        return ({"width": img.width, "height": img.height, "format": img.fmt},
                bytes(img.data))
    if hasattr(img, "shape") and hasattr(img, "tobytes"):  # numpy array
        h, w = int(img.shape[0]), int(img.shape[1])
        if len(img.shape) == 3 and img.shape[2] != 3:
            img = img[:, :, :3]
        import numpy
        data = numpy.ascontiguousarray(img, dtype=numpy.uint8).tobytes()
        if len(img.shape) == 2:  # grey
            data = bytes(b for v in data for b in (v, v, v))
        return {"width": w, "height": h, "format": "rgb"}, data
    rows = list(img)  # nested lists: rows of [r, g, b]
    h, w = len(rows), len(rows[0]) if rows else 0
    data = bytes(int(c) for row in rows for px in row for c in px[:3])
    return {"width": w, "height": h, "format": "rgb"}, data


def _split_reset(res):
    if isinstance(res, tuple) and len(res) == 2 and isinstance(res[1], dict):
        return res
    return res, {}


def _split_step(res):
    if len(res) == 5:
        return res
    obs, reward, done, info = res
    return obs, reward, bool(done), False, info


def _is_factory(target, method):
    """A class, or a function, rather than an object with METHOD."""
    return isinstance(target, type) or (callable(target) and not hasattr(target, method))


# ---- environments ----

class _EnvServer:
    def __init__(self, target, channel):
        self.target, self.ch, self.env = target, channel, None
        self.obs_space = None
        self.discrete_action = True
        self.size = None  # (width, height) announced in hello

    def _make(self, msg):
        options = msg.get("options") or {}
        if _is_factory(self.target, "step"):
            return self.target(msg.get("id"), options)
        return self.target

    def _render_size(self, env):
        for wk, hk in (("render_width", "render_height"), ("screen_width", "screen_height")):
            w, h = getattr(env, wk, None), getattr(env, hk, None)
            if isinstance(w, int) and isinstance(h, int):
                return w, h
        # Probe: one reset and render (a later reset(seed=...) reseeds anyway).
        env.reset()
        desc, _ = _frame(env.render())
        return (desc["width"], desc["height"]) if desc else (0, 0)

    def hello(self, msg):
        if msg.get("protocol", PROTOCOL) != PROTOCOL:
            raise ProtocolError("hippo speaks protocol %s, this helper %d"
                                % (msg.get("protocol"), PROTOCOL))
        env = self.env = self._make(msg)
        unwrapped = getattr(env, "unwrapped", env)
        names = getattr(env, "action_names", None)
        if names is None and hasattr(unwrapped, "get_action_meanings"):
            names = unwrapped.get_action_meanings()
        declared = getattr(env, "action_space", None)
        # No action space: hippo uses the study's trial.actionSpace
        # (Discrete(n)) and sends plain integers.
        aspace = describe_space(declared, names) if declared is not None else None
        self.discrete_action = aspace is None or aspace["kind"] == "discrete"
        ospace = describe_space(getattr(env, "observation_space", None))
        self.obs_space = ospace
        w, h = self._render_size(unwrapped if hasattr(unwrapped, "screen_width") else env)
        self.size = (w, h)
        meta = getattr(env, "metadata", None) or {}
        spec = getattr(env, "spec", None)
        desc = {"id": msg.get("id") or getattr(spec, "id", None) or type(unwrapped).__name__,
                "action_space": aspace, "observation_space": ospace,
                "render_fps": int(meta.get("render_fps") or 30),
                "render_width": w, "render_height": h,
                "max_episode_steps": int(getattr(spec, "max_episode_steps", 0) or 0)}
        self.ch.write({"type": "hello", "protocol": PROTOCOL, "role": "env", "env": desc})

    def _obs(self, obs, info):
        if self.obs_space["shape"] == [0] and self.obs_space["kind"] == "box":
            info = dict(info or {})
            info.setdefault("observation", _jsonable(obs))
            return [], info
        return _flat(obs, []), info

    def _reply(self, kind, obs, info, want_frame, extra=None):
        flat, info = self._obs(obs, info)
        out = {"type": kind, "observation": flat, "info": _jsonable(info or {})}
        if extra:
            out.update(extra)
        payload = b""
        if want_frame:
            desc, payload = _frame(self.env.render())
            if desc:
                out["frame"] = desc
        self.ch.write(out, payload)

    def reset(self, msg):
        obs, info = _split_reset(self.env.reset(seed=msg.get("seed")))
        self._reply("reset", obs, info, msg.get("render"))

    def step(self, msg):
        action = msg.get("action")
        if self.discrete_action:
            action = int(action[0] if isinstance(action, list) else action)
        obs, reward, term, trunc, info = _split_step(self.env.step(action))
        self._reply("step", obs, info, msg.get("render"),
                    {"reward": _finite(reward) or 0.0, "terminated": bool(term),
                     "truncated": bool(trunc)})

    def render(self, msg):
        desc, payload = _frame(self.env.render())
        out = {"type": "render"}
        if desc:
            out["frame"] = desc
        self.ch.write(out, payload)


_NOTIFICATIONS = ("feedback", "observe", "episode_end")


def _loop(server, channel, handlers):
    while True:
        try:
            msg = channel.read()
        except (ProtocolError, ValueError) as e:
            print("hippo_env: %s" % e, file=sys.stderr)
            return 2
        if msg is None:
            return 0
        header, _ = msg
        kind = header["type"]
        if kind == "close":
            close = getattr(server.env, "close", None) if server.env is not None else None
            if close:
                close()
            return 0
        handler = handlers.get(kind)
        try:
            if handler is None:
                raise ProtocolError("unknown message type %r" % kind)
            handler(header)
        except Exception as e:
            traceback.print_exc(file=sys.stderr)
            if kind not in _NOTIFICATIONS:  # a request: hippo ends the session with this
                channel.write({"type": "error", "message": "%s: %s" % (type(e).__name__, e)})


def serve(env, channel=None):
    """Serves ENV (an environment, or a factory called as factory(id, options)
    once hippo says hello) until hippo closes the pipe. Returns an exit code."""
    ch = channel or _stdio_channel()
    s = _EnvServer(env, ch)
    return _loop(s, ch, {"hello": s.hello, "reset": s.reset, "step": s.step,
                         "render": s.render})


# ---- agents ----

class _AgentServer:
    def __init__(self, target, channel):
        self.target, self.ch, self.env = target, channel, None
        self.discrete_action = True
        self.obs_kind, self.obs_shape = "box", None

    def hello(self, msg):
        info = msg.get("env") or {}
        options = msg.get("options") or {}
        target = self.target
        if _is_factory(target, "act"):
            target = target(info, options)
        self.env = target
        self.discrete_action = (info.get("action_space") or {}).get("kind") == "discrete"
        ospace = info.get("observation_space") or {}
        self.obs_kind, self.obs_shape = ospace.get("kind", "box"), ospace.get("shape")
        self.ch.write({"type": "hello", "protocol": PROTOCOL, "role": "agent"})

    def _obs(self, flat):
        if self.obs_kind == "discrete":
            return int(flat[0])
        try:
            import numpy
            arr = numpy.asarray(flat, dtype=numpy.float64)
            return arr.reshape(self.obs_shape) if self.obs_shape else arr
        except ImportError:
            return flat

    def act(self, msg):
        a = self.env.act(self._obs(msg.get("observation") or []))
        if self.discrete_action:
            a = int(a.item() if hasattr(a, "item") else a)
        else:
            a = _flat(a, [])
        self.ch.write({"type": "act", "action": a})

    def _notify(self, name, *args):
        fn = getattr(self.env, name, None)
        if fn:
            fn(*args)

    def feedback(self, msg):
        self._notify("feedback", msg.get("value", 0), msg.get("step"))

    def observe(self, msg):
        self._notify("observe", msg.get("action"), msg.get("reward", 0.0),
                     self._obs(msg.get("observation") or []), bool(msg.get("terminated")),
                     bool(msg.get("truncated")))

    def episode_end(self, msg):
        self._notify("episode_end", msg.get("episode"), msg.get("return", 0.0),
                     msg.get("steps", 0))


def serve_agent(agent, channel=None):
    """Serves AGENT (an object with act(observation) -> action, and optionally
    feedback(value, step), observe(action, reward, observation, terminated,
    truncated), episode_end(episode, return_, steps); or a factory called as
    factory(env_description, options)) until hippo closes the pipe."""
    ch = channel or _stdio_channel()
    s = _AgentServer(agent, ch)
    # notifications (feedback, observe, episode_end) get no reply
    return _loop(s, ch, {"hello": s.hello, "act": s.act, "feedback": s.feedback,
                         "observe": s.observe, "episode_end": s.episode_end})
