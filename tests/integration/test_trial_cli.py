"""`hippo trial` on the command line: clear errors for a bad study folder, a
missing certificate, a port already in use; a data folder that does not exist
yet is created; --help lists the options."""
import os
import socket
import subprocess
import tempfile

from serveutil import BIN, PROJECTS, Trial, check, main


def run(*args):
    p = subprocess.run([BIN, "trial", *args], capture_output=True, text=True, timeout=60)
    return p.returncode, p.stdout, p.stderr


def test():
    rc, out, err = run("--help")
    check(rc == 0 and "usage: hippo trial" in out and "--tls-cert" in out and "--grace" in out,
          "hippo trial --help lists the options")
    rc, out, err = run()
    check(rc == 2, "no study folder: usage error (exit 2)")
    with tempfile.TemporaryDirectory() as d:
        rc, out, err = run(d, "--port", "0", "--data", os.path.join(d, "data"))
        check(rc == 1 and "config.yml" in err, "a folder without config.yml: exit 1, says so")
        proj = os.path.join(PROJECTS, "trial_basic")
        rc, out, err = run(proj, "--port", "0", "--data", os.path.join(d, "data"),
                           "--tls-cert", os.path.join(d, "nope.pem"),
                           "--tls-key", os.path.join(d, "nope.key"))
        check(rc == 1 and "nope.pem" in err, "a missing certificate: exit 1, names the file")
        rc, out, err = run(proj, "--port", "0", "--data", os.path.join(d, "data"),
                           "--tls-cert", os.path.join(d, "x.pem"))
        check(rc == 1 and "both" in err, "a certificate without a key: exit 1")
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        s.listen(1)
        port = s.getsockname()[1]
        rc, out, err = run(proj, "--port", str(port), "--data", os.path.join(d, "data"))
        s.close()
        check(rc == 1 and "cannot listen" in err, "a port in use: exit 1 (%s)" % err.strip()[-80:])
        rc, out, err = run(proj, "--port", "70000")
        check(rc == 2, "a port out of range: usage error")
        # --data names a folder that does not exist yet, parents included: created
        nested = os.path.join(d, "new", "nested", "data")
        srv = Trial("trial_basic", data=nested)
        srv.stop()
        check(os.path.isdir(nested), "--data with missing parents: created, the server starts")
        open(os.path.join(d, "afile"), "w").close()
        rc, out, err = run(proj, "--port", "0", "--data", os.path.join(d, "afile"))
        check(rc == 1 and "afile" in err, "--data naming a file: exit 1, says so")


main(test)
