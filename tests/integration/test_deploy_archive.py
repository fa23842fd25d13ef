"""Deploying a study folder as an archive (POST /api/projects/<id>/deploy
with an archive Content-Type): a zip and a tar.gz of examples/cartpole each
become a new version that is served; a config.yml with an error gets the
file:line:col diagnostics; and hostile archives ('../x', an absolute path, a
symlink, a hard link, a device, too many entries, a gzip bomb, a zip bomb, a
body over 4 MiB) are each refused with a 4xx JSON error naming the entry,
and change nothing: the version served, the deployed folder, the data
folder."""
import gzip
import hashlib
import io
import os
import socket
import stat
import tarfile
import zipfile

from serveutil import EXAMPLE, Serve, check, main

PID = "cartpole-demo"


def study_files(consent=None, config=None):
    """{relative name: bytes} of examples/cartpole, optionally changed."""
    out = {}
    for root, _, names in os.walk(EXAMPLE):
        for n in names:
            p = os.path.join(root, n)
            with open(p, "rb") as f:
                out[os.path.relpath(p, EXAMPLE)] = f.read()
    if consent is not None:
        out["StepFiles/consent.html"] = consent.encode()
    if config is not None:
        out["config.yml"] = config.encode()
    return out


def make_zip(files, top="cartpole/", extra=()):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        if top:
            z.writestr(zipfile.ZipInfo(top), b"")
            z.writestr(zipfile.ZipInfo(top + "StepFiles/"), b"")
        for name, data in sorted(files.items()):
            z.writestr(top + name, data)
        for info, data in extra:
            z.writestr(info, data)
    return buf.getvalue()


def make_tar(files, top="./", extra=(), mode="w:gz"):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode=mode, format=tarfile.PAX_FORMAT) as t:
        d = tarfile.TarInfo(top + "StepFiles")
        d.type = tarfile.DIRTYPE
        d.mode = 0o755
        t.addfile(d)
        for name, data in sorted(files.items()):
            ti = tarfile.TarInfo(top + name)
            ti.size = len(data)
            t.addfile(ti, io.BytesIO(data))
        for ti, data in extra:
            t.addfile(ti, io.BytesIO(data) if data is not None else None)
    return buf.getvalue()


def deploy(srv, body, ctype, pid=PID):
    return srv.request("POST", "/api/projects/%s/deploy" % pid, body,
                       {"Authorization": "Bearer " + srv.token, "Content-Type": ctype})


def snapshot(data):
    """Every file under DATA but the store's own, with its SHA-256."""
    out = {}
    for root, _, names in os.walk(data):
        for n in names:
            if n.startswith("hippo.db"):
                continue
            p = os.path.join(root, n)
            with open(p, "rb") as f:
                out[os.path.relpath(p, data)] = hashlib.sha256(f.read()).hexdigest()
    return out


def version(srv):
    st, j, _ = srv.admin("GET", "/projects")
    return {p["id"]: p["version"] for p in j}.get(PID)


def test():
    srv = Serve()
    tmp_parent = os.path.dirname(srv.data)

    # A zip of the folder (one top-level folder, as zipping a folder makes).
    st, j, _ = deploy(srv, make_zip(study_files()), "application/zip")
    check(st == 200 and j["deployed"] == PID and j["project"]["version"] == 1,
          "a zip of examples/cartpole is deployed as version 1", j)
    st, j = srv.next(PID, "u1")
    check(st == 200 and j["step"] == 1 and "consent" in j["page"].lower(),
          "the zipped study is served")
    srv.next(PID, "u1", {"consent": "yes"})

    # A tar.gz (made with "tar -C folder ." : names start with ./) with a new consent page.
    body = make_tar(study_files(consent="<p>Consent, version two</p><input name=\"ok\">"))
    st, j, _ = deploy(srv, body, "application/gzip")
    check(st == 200 and j["project"]["version"] == 2, "a tar.gz is deployed as version 2", j)
    st, j = srv.next(PID, "u2")
    check("Consent, version two" in j["page"], "the new version is served")
    st, j = srv.next(PID, "u1")
    check(j["step"] == 2, "a participant keeps their step across the archive deploy")
    # a plain tar, without the ./ prefix, and without a top-level folder
    st, j, _ = deploy(srv, make_tar(study_files(), top="", mode="w"), "application/x-tar")
    check(st == 200 and j["project"]["version"] == 3, "a plain tar is deployed as version 3", j)
    srv.next(PID, "u3")

    # An error in config.yml: the diagnostics with file:line:col, nothing changed.
    cfg = study_files()["config.yml"].decode().replace("maxEpisodes: 3", "maxEpisodes: many")
    before = snapshot(srv.data)
    st, j, _ = deploy(srv, make_zip(study_files(config=cfg)), "application/zip")
    diags = j.get("diagnostics", []) if isinstance(j, dict) else []
    line = next(i + 1 for i, t in enumerate(cfg.splitlines()) if "maxEpisodes" in t)
    check(st == 400 and any(("config.yml:%d:" % line) in d and "trial.maxEpisodes" in d
                            for d in diags),
          "an error in config.yml: 400 with config.yml:%d:COL diagnostics" % line, j)
    check(version(srv) == 3 and snapshot(srv.data) == before, "nothing changed")

    # Hostile archives: each a 4xx JSON error naming the entry, nothing changed.
    good = study_files()
    zi_link = zipfile.ZipInfo("cartpole/StepFiles/link.html")
    zi_link.create_system = 3
    zi_link.external_attr = (stat.S_IFLNK | 0o777) << 16
    sym = tarfile.TarInfo("./StepFiles/survey2.html")
    sym.type, sym.linkname = tarfile.SYMTYPE, "/etc/passwd"
    hard = tarfile.TarInfo("./StepFiles/hard.html")
    hard.type, hard.linkname = tarfile.LNKTYPE, "./config.yml"
    dev = tarfile.TarInfo("./StepFiles/dev.html")
    dev.type, dev.devmajor, dev.devminor = tarfile.CHRTYPE, 1, 3
    dots = tarfile.TarInfo("./StepFiles/../../x.html")
    dots.size = 1
    absolute = tarfile.TarInfo("/tmp/hippo-absolute.html")
    absolute.size = 1
    big = 100 << 20
    bomb = tarfile.TarInfo("./StepFiles/bomb.html")
    bomb.size = big

    class Zeros(io.RawIOBase):
        def __init__(self, n):
            self.left = n

        def readinto(self, b):
            k = min(len(b), self.left)
            b[:k] = bytes(k)
            self.left -= k
            return k

    bomb_tar = io.BytesIO()
    with tarfile.open(fileobj=bomb_tar, mode="w:gz") as t:
        ti = tarfile.TarInfo("config.yml")
        ti.size = len(good["config.yml"])
        t.addfile(ti, io.BytesIO(good["config.yml"]))
        t.addfile(bomb, Zeros(big))
    zbomb = io.BytesIO()
    with zipfile.ZipFile(zbomb, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("s/config.yml", good["config.yml"])
        with z.open("s/StepFiles/bomb.html", "w", force_zip64=True) as w:
            chunk = bytes(1 << 20)
            for _ in range(64):
                w.write(chunk)
    padded = io.BytesIO()  # a tar.gz whose tar is followed by 20 MiB of zeros
    with gzip.GzipFile(fileobj=padded, mode="wb") as g:
        g.write(make_tar(good, mode="w"))
        for _ in range(20):
            g.write(bytes(1 << 20))
    many = {"StepFiles/f%04d.html" % i: b"x" for i in range(1100)}
    many.update(good)
    cases = [
        ("'../x' in a zip", make_zip(good, extra=[("cartpole/../x.html", b"x")]),
         "application/zip", 400, "cartpole/../x.html"),
        ("'..' in a tar", make_tar(good, extra=[(dots, b"x")]), "application/gzip", 400,
         "./StepFiles/../../x.html"),
        ("an absolute path", make_tar(good, extra=[(absolute, b"x")]), "application/gzip", 400,
         "/tmp/hippo-absolute.html"),
        ("a symlink in a tar", make_tar(good, extra=[(sym, None)]), "application/gzip", 400,
         "./StepFiles/survey2.html"),
        ("a symlink in a zip", make_zip(good, extra=[(zi_link, b"/etc/passwd")]),
         "application/zip", 400, "cartpole/StepFiles/link.html"),
        ("a hard link", make_tar(good, extra=[(hard, None)]), "application/gzip", 400,
         "./StepFiles/hard.html"),
        ("a device", make_tar(good, extra=[(dev, None)]), "application/gzip", 400,
         "./StepFiles/dev.html"),
        ("too many entries", make_zip(many), "application/zip", 413, None),
        ("a gzip bomb (100 MiB of zeros)", bomb_tar.getvalue(), "application/gzip", 413,
         "./StepFiles/bomb.html"),
        ("a zip bomb (64 MiB of zeros)", zbomb.getvalue(), "application/zip", 413,
         "s/StepFiles/bomb.html"),
        ("a gzip stream unpacking past 16 MiB", padded.getvalue(), "application/gzip", 413,
         "./config.yml"),
        ("a file outside StepFiles/", make_zip(good, extra=[("cartpole/run.sh", b"rm -rf /")]),
         "application/zip", 400, "cartpole/run.sh"),
        ("a hidden step file", make_zip(good, extra=[("cartpole/StepFiles/.x.html", b"x")]),
         "application/zip", 400, "cartpole/StepFiles/.x.html"),
        ("not an archive", b"just some text, not an archive" * 10, "application/zip", 400, ""),
        ("no config.yml", make_zip({"StepFiles/a.html": b"x"}), "application/zip", 400, ""),
    ]
    for what, body, ctype, want, entry in cases:
        check(len(body) < 4 << 20, "%s: %d bytes sent" % (what, len(body)))
        before = snapshot(srv.data)
        st, j, h = deploy(srv, body, ctype)
        ok = st == want and isinstance(j, dict) and isinstance(j.get("error"), str)
        if entry is not None:
            ok = ok and j.get("entry") == entry and (not entry or entry in j["error"])
        check(ok, "%s: %d naming the entry: %s" % (what, want, j.get("error") if ok else j))
        check(h.get("Content-Type", "").startswith("application/json"), "  as JSON")
        check(version(srv) == 3 and snapshot(srv.data) == before,
              "  nothing changed (version 3, the same files)")
    check(not os.path.exists("/tmp/hippo-absolute.html") and
          not os.path.exists(os.path.join(tmp_parent, "x.html")) and
          not os.path.exists(os.path.join(srv.data, "x.html")), "nothing written outside")
    leftovers = [n for n in os.listdir(os.path.join(srv.data, "projects")) if n.startswith(".")]
    check(leftovers == [], "no temporary folders left: %s" % leftovers)

    # The request limit: a body over 4 MiB is refused before any handler
    # (at its Content-Length: the body is never read).
    with socket.create_connection(("127.0.0.1", srv.port), timeout=30) as s:
        s.sendall(("POST /api/projects/%s/deploy HTTP/1.1\r\nHost: x\r\n"
                   "Authorization: Bearer %s\r\nContent-Type: application/zip\r\n"
                   "Content-Length: %d\r\n\r\n" % (PID, srv.token, (4 << 20) + 1)).encode())
        answer = s.recv(4096).decode(errors="replace")
    check(answer.startswith("HTTP/1.1 413"), "a body over 4 MiB: 413", answer[:200])
    # Without the token nothing is unpacked.
    st, j, _ = srv.request("POST", "/api/projects/%s/deploy" % PID, make_zip(good),
                           {"Content-Type": "application/zip"})
    check(st == 401, "an archive without the token: 401")
    st, j = srv.next(PID, "u4")
    check(st == 200 and version(srv) == 3, "version 3 is still served")


if __name__ == "__main__":
    main(test)
