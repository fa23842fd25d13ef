"""The command table is the single source of the CLI: every command `hippo help`
lists answers --help (the same text as `hippo help CMD`) and is documented in
README.md, so the docs cannot drift from the table unnoticed."""
import os
import re
import subprocess

from serveutil import BIN, SRC, check, main


def run(*args):
    p = subprocess.run([BIN, *args], capture_output=True, text=True, timeout=60)
    return p.returncode, p.stdout, p.stderr


def test():
    rc, out, err = run("help")
    commands = [m.group(1) for m in re.finditer(r"^  ([a-z]+)\s", out, re.M) if m.group(1) != "help"]
    check(rc == 0 and len(commands) >= 10, "hippo help lists the commands", out + err)
    readme = open(os.path.join(SRC, "README.md"), encoding="utf-8").read()
    for cmd in commands:
        rc, text, err = run(cmd, "--help")
        check(rc == 0 and text.startswith(f"usage: hippo {cmd}"),
              f"hippo {cmd} --help exits 0 with its usage line", text + err)
        rc2, text2, _ = run("help", cmd)
        check(rc2 == 0 and text2 == text, f"hippo help {cmd} prints the same text", text2)
        check(re.search(rf"\bhippo {cmd}\b", readme) is not None, f"README.md documents hippo {cmd}")
        rc3, _, err3 = run(cmd, "--no-such-option")
        check(rc3 == 2 and "unknown option '--no-such-option'" in err3,
              f"hippo {cmd} rejects an unknown option with exit 2 and one error line", err3)


main(test)
