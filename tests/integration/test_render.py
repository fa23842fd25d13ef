#!/usr/bin/env python3
"""hippo render writes decodable frames at each environment's natural size:
PNG (signature, IHDR size, pixels decoded with zlib and checked for the
environment's colours) and JPEG (SOI, SOF size); bad output names fail."""
import atexit
import os
import shutil
import struct
import subprocess
import tempfile
import zlib

from serveutil import BIN, check, main

SIZES = {"CartPole-v1": (600, 400), "CartPole-v0": (600, 400), "MountainCar-v0": (600, 400),
         "MountainCarContinuous-v0": (600, 400), "Acrobot-v1": (500, 500), "Pendulum-v1": (500, 500)}
# a colour each picture must contain (Gymnasium's palette)
COLOURS = {"CartPole-v1": (202, 152, 101), "CartPole-v0": (129, 132, 203),
           "MountainCar-v0": (204, 204, 0), "MountainCarContinuous-v0": (128, 128, 128),
           "Acrobot-v1": (0, 204, 204), "Pendulum-v1": (204, 77, 77)}


def decode_png(data):
    """Returns (width, height, rows of RGB bytes) of an 8-bit RGB PNG."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat = 8, b""
    w = h = 0
    while pos < len(data):
        n, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + n]
        if kind == b"IHDR":
            w, h, depth, ctype = struct.unpack(">IIBB", body[:10])
            assert depth == 8 and ctype == 2
        elif kind == b"IDAT":
            idat += body
        pos += 12 + n
    raw = zlib.decompress(idat)
    stride, rows, prev = w * 3, [], bytearray(w * 3)
    for y in range(h):
        f = raw[y * (stride + 1)]
        line = bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for i in range(stride):
            a = line[i - 3] if i >= 3 else 0
            b = prev[i]
            c = prev[i - 3] if i >= 3 else 0
            if f == 1:
                line[i] = (line[i] + a) & 255
            elif f == 2:
                line[i] = (line[i] + b) & 255
            elif f == 3:
                line[i] = (line[i] + (a + b) // 2) & 255
            elif f == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                pr = a if pa <= pb and pa <= pc else (b if pb <= pc else c)
                line[i] = (line[i] + pr) & 255
        rows.append(bytes(line))
        prev = line
    return w, h, rows


def jpeg_size(data):
    assert data[:2] == b"\xff\xd8"
    pos = 2
    while pos < len(data):
        marker, n = data[pos + 1], struct.unpack(">H", data[pos + 2:pos + 4])[0]
        if marker in (0xC0, 0xC1, 0xC2):
            h, w = struct.unpack(">HH", data[pos + 5:pos + 9])
            return w, h
        pos += 2 + n
    return None


def render(env_id, out, *extra):
    return subprocess.run([BIN, "render", env_id, "--seed", "3", "--out", out, *extra],
                          capture_output=True, text=True, timeout=60)


def test():
    tmp = tempfile.mkdtemp(prefix="hippo-render-")
    atexit.register(shutil.rmtree, tmp, True)
    for env_id, (w, h) in SIZES.items():
        png = os.path.join(tmp, env_id + ".png")
        p = render(env_id, png, "--steps", "4")
        ok = p.returncode == 0 and os.path.exists(png)
        check(ok, "%s: PNG written" % env_id, p.stderr)
        pw, ph, rows = decode_png(open(png, "rb").read())
        check((pw, ph) == (w, h), "%s: PNG is %dx%d" % (env_id, w, h))
        pixels = set()
        for row in rows:
            for x in range(0, len(row), 3):
                pixels.add(row[x:x + 3])
        check(bytes((255, 255, 255)) in pixels, "%s: white background" % env_id)
        check(bytes((0, 0, 0)) in pixels, "%s: black drawing (track, hill, line or pivot)" % env_id)
        check(bytes(COLOURS[env_id]) in pixels, "%s: Gymnasium's colour %s present" % (env_id, COLOURS[env_id]))
        jpg = os.path.join(tmp, env_id + ".jpg")
        p = render(env_id, jpg, "--quality", "70")
        check(p.returncode == 0 and jpeg_size(open(jpg, "rb").read()) == (w, h),
              "%s: JPEG written, SOF says %dx%d" % (env_id, w, h))
    p = render("CartPole-v1", os.path.join(tmp, "frame.gif"))
    check(p.returncode != 0 and "unknown image type" in p.stderr, "unknown output extension refused")
    p = render("CartPole-v1", "/nonexistent-dir/frame.png")
    check(p.returncode != 0 and "nonexistent-dir" in p.stderr, "unwritable output path reported")
    p = subprocess.run([BIN, "render", "CartPole-v1", "--seed", "1"], capture_output=True,
                       text=True, timeout=60)
    check(p.returncode == 2 and "--out" in p.stderr, "missing --out is a usage error")


if __name__ == "__main__":
    main(test)
