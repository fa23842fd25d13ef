"""The command table is the single source of the CLI: every command `hippo help`
lists answers --help (the same text as `hippo help CMD`) and is documented in
README.md, so the docs cannot drift from the table unnoticed."""
import os
import re
import subprocess
import sys

HIPPO = os.environ.get("HIPPO_BIN", "hippo")
SRC = os.environ.get("HIPPO_SRC", os.path.join(os.path.dirname(__file__), "..", ".."))
passed = failed = 0


def check(name, cond, detail=""):
    global passed, failed
    print(("ok   " if cond else "FAIL ") + name)
    if cond:
        passed += 1
    else:
        failed += 1
        if detail:
            print("     " + detail.replace("\n", "\n     "))


def run(*args):
    p = subprocess.run([HIPPO, *args], capture_output=True, text=True, timeout=60)
    return p.returncode, p.stdout, p.stderr


rc, out, err = run("help")
commands = [m.group(1) for m in re.finditer(r"^  ([a-z]+)\s", out, re.M) if m.group(1) != "help"]
check("hippo help lists the commands", rc == 0 and len(commands) >= 10, out + err)
readme = open(os.path.join(SRC, "README.md"), encoding="utf-8").read()
for cmd in commands:
    rc, text, err = run(cmd, "--help")
    check(f"hippo {cmd} --help exits 0 with its usage line",
          rc == 0 and text.startswith(f"usage: hippo {cmd}"), text + err)
    rc2, text2, _ = run("help", cmd)
    check(f"hippo help {cmd} prints the same text", rc2 == 0 and text2 == text, text2)
    check(f"README.md documents hippo {cmd}", re.search(rf"\bhippo {cmd}\b", readme) is not None)
    rc3, _, err3 = run(cmd, "--no-such-option")
    check(f"hippo {cmd} rejects an unknown option with exit 2 and one error line",
          rc3 == 2 and "unknown option '--no-such-option'" in err3, err3)

print(f"{passed} passed, {failed} failed")
sys.exit(1 if failed else 0)
