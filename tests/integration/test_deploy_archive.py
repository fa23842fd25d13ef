"""A study folder deployed as one archive (docs/api.md): POST
/api/projects/<id>/deploy with a zip, a tar or a tar.gz body. The zip of
examples/cartpole (one folder around it, as zipping a folder gives) and a
tar.gz of it deploy new versions that are served; an archive whose config.yml
has an error is refused with hippo check's file:line:col diagnostics; hostile
archives (a "../" name, an absolute name, a symbolic link, a hard link, too
many entries, a file that unpacks to too much, a folder inside StepFiles/,
binary files, garbage) are each refused with a 4xx JSON error naming the entry,
and nothing changes (the version stays, no file lands outside the data folder);
a wrong token is refused before anything is read."""
import gzip
import io
import os
import re
import shutil
import tarfile
import tempfile
import zipfile

from serveutil import EXAMPLE, Serve, check, main

P = "cartpole-demo"


def folder_files(root=EXAMPLE):
    out = {}
    for d, _, names in os.walk(root):
        for n in names:
            p = os.path.join(d, n)
            with open(p, "rb") as f:
                out[os.path.relpath(p, root)] = f.read()
    return out


def zip_of(files, top="cartpole/"):
    b = io.BytesIO()
    with zipfile.ZipFile(b, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in files.items():
            z.writestr(top + name, data)
    return b.getvalue()


def tar_of(files, mode="w:gz", extra=None):
    b = io.BytesIO()
    with tarfile.open(fileobj=b, mode=mode) as t:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            t.addfile(info, io.BytesIO(data))
        for info in extra or ():
            t.addfile(info, io.BytesIO(b"") if info.isreg() else None)
    return b.getvalue()


def deploy(srv, body, ctype, token="default"):
    tok = srv.token if token == "default" else token
    st, j, _ = srv.request("POST", "/api/projects/%s/deploy" % P, body,
                           {"Content-Type": ctype, "Authorization": "Bearer " + tok})
    return st, j


def version(srv):
    st, lst, _ = srv.admin("GET", "/projects")
    return next(p["version"] for p in lst if p["id"] == P)


def run():
    tmp = tempfile.mkdtemp(prefix="hippo-deploy-archive-")
    try:
        srv = Serve(EXAMPLE, data=os.path.join(tmp, "data"))
        files = folder_files()
        v0 = version(srv)

        st, j = deploy(srv, zip_of(files), "application/zip")
        check(st == 200 and j["deployed"] == P and version(srv) == v0 + 1,
              "the zip of the study folder deploys a new version (%s)" % version(srv), j)
        changed = dict(files)
        key = next(k for k in files if k.startswith("StepFiles/") and k.endswith(".html"))
        changed[key] = files[key].replace(b"</", b"<p>from the tar.gz</p></", 1)
        changed["notes.txt"] = b"left out"
        st, j = deploy(srv, tar_of(changed), "application/gzip")
        check(st == 200 and version(srv) == v0 + 2 and j["skipped"] == ["notes.txt"],
              "a tar.gz deploys the next version; files a deploy does not take are listed as "
              "skipped: %s" % j.get("skipped"), j)
        deployed = os.path.join(srv.data, "projects", P, key)
        with open(deployed, "rb") as f:
            check(b"from the tar.gz" in f.read(), "the new text is the one served from now on")

        bad = dict(files)
        bad["config.yml"] = re.sub(rb"(?m)^(\s*maxEpisodes:).*$", rb"\1 lots", files["config.yml"],
                                   count=1)
        st, j = deploy(srv, zip_of(bad), "application/zip")
        diags = j.get("diagnostics", []) if isinstance(j, dict) else []
        check(st == 400 and any(re.search(r"config\.yml:\d+:\d+", d) and "maxEpisodes" in d
                                for d in diags),
              "an error in config.yml: 400 with hippo check's diagnostics: %s" % diags[:1], j)
        check(version(srv) == v0 + 2, "and the version stays")

        hostile = []
        t = tarfile.TarInfo("study/../../evil.txt")
        hostile.append(("a ../ name", tar_of({"config.yml": files["config.yml"]}, "w",
                                             [set_size(t, 0)]), "..", "application/x-tar"))
        t = tarfile.TarInfo("/etc/evil")
        hostile.append(("an absolute name", tar_of({"config.yml": files["config.yml"]}, "w",
                                                   [set_size(t, 0)]), "/etc/evil",
                        "application/x-tar"))
        t = tarfile.TarInfo("StepFiles/link.html")
        t.type, t.linkname = tarfile.SYMTYPE, "/etc/passwd"
        hostile.append(("a symbolic link", tar_of(files, "w", [t]), "link.html",
                        "application/x-tar"))
        t = tarfile.TarInfo("StepFiles/hard.html")
        t.type, t.linkname = tarfile.LNKTYPE, "config.yml"
        hostile.append(("a hard link", tar_of(files, "w", [t]), "hard.html", "application/x-tar"))
        many = {"StepFiles/f%d.html" % i: b"x" for i in range(2100)}
        many["config.yml"] = files["config.yml"]
        hostile.append(("too many entries", zip_of(many, ""), "entries", "application/zip"))
        bomb = dict(files)
        bomb["StepFiles/bomb.html"] = b"A" * (20 << 20)
        hostile.append(("a file unpacking to 20 MiB", zip_of(bomb), "MiB", "application/zip"))
        nested = dict(files)
        nested["StepFiles/sub/page.html"] = b"<p>x</p>"
        hostile.append(("a folder in StepFiles/", zip_of(nested), "sub/page.html",
                        "application/zip"))
        binary = dict(files)
        binary["StepFiles/logo.png"] = b"\x89PNG\r\n\x1a\n\xff\xfe\x00"
        hostile.append(("a binary file", zip_of(binary), "logo.png", "application/zip"))
        hostile.append(("garbage", b"PK\x03\x04 not really a zip", "archive",
                        "application/zip"))
        hostile.append(("an archive without config.yml",
                        zip_of({"StepFiles/a.html": b"<p>a</p>"}), "config.yml",
                        "application/zip"))
        t = tarfile.TarInfo("StepFiles/null")
        t.type, t.devmajor, t.devminor = tarfile.CHRTYPE, 1, 3
        hostile.append(("a device", tar_of(files, "w", [t]), "StepFiles/null",
                        "application/x-tar"))
        # a name that is not UTF-8: the answer and the log name it in text
        b = io.BytesIO()
        with tarfile.open(fileobj=b, mode="w", format=tarfile.GNU_FORMAT,
                          errors="surrogateescape") as tf:
            t = tarfile.TarInfo("study/\udcff\udcfe/../x.html")
            t.size = 1
            tf.addfile(t, io.BytesIO(b"x"))
        hostile.append(("a name that is not UTF-8", b.getvalue(), "study/??/../x.html",
                        "application/x-tar"))
        # a folder entry that says it carries 50 MiB (refused, never unpacked in full)
        b = io.BytesIO()
        with tarfile.open(fileobj=b, mode="w") as tf:
            t = tarfile.TarInfo("study/big")
            t.type, t.size = tarfile.DIRTYPE, 50 << 20
            tf.addfile(t, io.BytesIO(bytes(50 << 20)))
        hostile.append(("a folder carrying data", gzip.compress(b.getvalue()), "",
                        "application/gzip"))
        for what, body, names, ctype in hostile:
            check(len(body) < 4 << 20, "(%s: %d bytes sent)" % (what, len(body)))
            st, j = deploy(srv, body, ctype)
            check(400 <= st < 500 and isinstance(j, dict) and names in j.get("error", ""),
                  "%s: refused with %d, naming it: %s" % (what, st, j.get("error")
                                                          if isinstance(j, dict) else j))
        check(version(srv) == v0 + 2, "none of them changed the version")
        check(not os.path.exists(os.path.join(tmp, "evil.txt")) and
              not os.path.exists("/etc/evil"), "nothing landed outside the data folder")
        st, j = deploy(srv, zip_of(files), "application/zip", token="wrong-token-0000000000")
        check(st == 401 and version(srv) == v0 + 2, "a wrong token: 401, nothing read", j)

        # a zip made by macOS's Finder: __MACOSX/ beside the folder, .DS_Store files in it
        mac = io.BytesIO()
        with zipfile.ZipFile(mac, "w", zipfile.ZIP_DEFLATED) as z:
            for name, data in sorted(files.items()):
                z.writestr("cartpole/" + name, data)
                d, b = os.path.split(name)
                z.writestr("__MACOSX/cartpole/" + os.path.join(d, "._" + b), b"\x00\x05\x16\x07")
            z.writestr("cartpole/.DS_Store", b"\x00\x00\x00\x01Bud1")
            z.writestr("cartpole/StepFiles/.DS_Store", b"\x00\x00\x00\x01Bud1")
        st, j = deploy(srv, mac.getvalue(), "application/zip")
        check(st == 200 and version(srv) == v0 + 3 and j.get("skipped") == [],
              "a zip made by Finder deploys; its __MACOSX/ and .DS_Store are left out", j)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def set_size(info, n):
    info.size = n
    return info


if __name__ == "__main__":
    main(run)
