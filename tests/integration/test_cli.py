"""Black-box tests of the hippo command line: version, help, usage errors and
`hippo check` on the example study and on broken copies of it (among them step
files linking out of the study and a trial.game typo, which `hippo serve`
refuses too)."""
import os
import re
import shutil
import subprocess
import sys
import tempfile

HIPPO = os.environ.get("HIPPO_BIN", "hippo")
SRC = os.environ.get("HIPPO_SRC", os.path.join(os.path.dirname(__file__), "..", ".."))
EXAMPLE = os.path.join(SRC, "examples", "cartpole")

failures = 0


def run(*args, cwd=None):
    p = subprocess.run([HIPPO, *args], capture_output=True, text=True, timeout=60, cwd=cwd)
    return p.returncode, p.stdout, p.stderr


def check(name, cond, detail=""):
    global failures
    print(("ok   " if cond else "FAIL ") + name)
    if not cond:
        failures += 1
        if detail:
            print("     " + detail.replace("\n", "\n     "))


def test_version_and_help():
    rc, out, err = run("--version")
    check("hippo --version exits 0 and prints the version",
          rc == 0 and re.fullmatch(r"hippo \d+\.\d+\.\d+\n", out) is not None, out + err)
    rc, out, _ = run("help")
    check("hippo help lists check", rc == 0 and re.search(r"^  check\s", out, re.M) is not None, out)
    rc, out, _ = run("check", "--help")
    check("hippo check --help prints the usage", rc == 0 and out.startswith("usage: hippo check PROJECT_DIR"), out)
    rc, out2, _ = run("help", "check")
    check("hippo help check is hippo check --help", rc == 0 and out2 == out, out2)


def test_usage_errors():
    cases = [
        (("nope",), "hippo: unknown command 'nope'"),
        (("--nope",), "hippo: unknown option '--nope'"),
        (("check", "--bogus", "x"), "hippo check: unknown option '--bogus'"),
        (("check",), "hippo check: missing argument PROJECT_DIR"),
        (("check", "a", "b"), "hippo check: unexpected argument 'b'"),
    ]
    for args, first in cases:
        rc, out, err = run(*args)
        lines = err.splitlines()
        check(f"hippo {' '.join(args)}: exit 2, one-line error then the usage",
              rc == 2 and out == "" and lines[:1] == [first] and lines[1].startswith("usage: hippo"),
              f"rc={rc}\n{err}")


def test_check_example():
    rc, out, err = run("check", "examples/cartpole", cwd=SRC)
    check("hippo check examples/cartpole: exit 0, 'ok'",
          rc == 0 and out == "examples/cartpole: ok\n" and err == "", f"rc={rc}\n{out}{err}")


def test_check_other_examples():
    for name in sorted(os.listdir(os.path.join(SRC, "examples"))):
        d = os.path.join("examples", name)
        if not os.path.exists(os.path.join(SRC, d, "config.yml")):
            continue
        rc, out, err = run("check", d, cwd=SRC)
        check(f"hippo check {d}: exit 0, 'ok'", rc == 0 and out == f"{d}: ok\n", f"rc={rc}\n{out}{err}")


def broken_copy(tmp, name, edit=None, remove=None):
    """A copy of the example study in TMP/NAME with config.yml edited by EDIT
    (old, new) and StepFiles/REMOVE deleted."""
    d = os.path.join(tmp, name)
    shutil.copytree(EXAMPLE, d)
    path = os.path.join(d, "config.yml")
    if edit:
        with open(path, encoding="utf-8") as f:
            text = f.read()
        assert edit[0] in text, edit[0]
        with open(path, "w", encoding="utf-8") as f:
            f.write(text.replace(edit[0], edit[1], 1))
    if remove:
        os.remove(os.path.join(d, "StepFiles", remove))
    return d


def test_check_invalid(tmp):
    cases = [
        ("episodes", ("maxEpisodes: 3", "maxEpisodes: 0"), None,
         ["error: {d}/config.yml:24:16: trial.maxEpisodes: must be between 1 and 1000000, got 0"]),
        ("no-survey", None, "survey.html",
         ["error: {d}/config.yml:18:8: project.steps.4: step file 'survey.html' not found in StepFiles/"]),
        ("bad-id", ("id: cartpole-demo", "id: cartpole demo"), None,
         ["error: {d}/config.yml:5:7: project.id: 'cartpole demo' must match [A-Za-z0-9-]{{1,64}}"]),
        ("events", ("stopServerStep: 4", "stopServerStep: 9"), None,
         ["error: {d}/config.yml:13:21: project.events.stopServerStep: step 9 does not exist "
          "(the steps are 1..4, and 5 is finalStep)"]),
        ("tab", ("  maxEpisodes: 3", "\tmaxEpisodes: 3"), None,
         ["error: {d}/config.yml:24:1: invalid YAML: while scanning a plain scalar at line 23, "
          "column 9: found a tab character that violates indentation"]),
        ("typo", ("  maxEpisodes: 3", "  maxEpisode: 3\n  maxRuntime: 0"), None,
         ["warning: {d}/config.yml:24:3: trial.maxEpisode: unknown key, ignored (did you mean "
          "trial.maxEpisodes?)",
          "warning: {d}/config.yml:25:3: trial.maxRuntime: unknown key, ignored (did you mean "
          "project.maxRuntime?)"]),
        ("game-typo", ("game: CartPole-v1", "game: CartPol-v1"), None,
         ["error: {d}/config.yml:23:9: trial.game: unknown environment 'CartPol-v1'; did you mean "
          "CartPole-v1, CartPole-v0, Acrobot-v1? (without trial.env it names a built-in "
          "environment: hippo envs lists them)"]),
    ]
    for name, edit, remove, want in cases:
        d = broken_copy(tmp, name, edit, remove)
        rc, out, err = run("check", d)
        lines = out.splitlines()
        expect = [w.format(d=d) for w in want]
        errors = sum(1 for w in want if w.startswith("error"))
        warnings = len(want) - errors
        if errors:
            summary = f"{d}: {errors} error{'s' if errors != 1 else ''}"
            if warnings:
                summary += f", {warnings} warning{'s' if warnings != 1 else ''}"
        else:
            summary = f"{d}: ok ({warnings} warning{'s' if warnings != 1 else ''})"
        check(f"hippo check {name}: exit {1 if errors else 0} with the exact file:line:col message",
              rc == (1 if errors else 0) and lines == expect + [summary] and err == "",
              f"rc={rc}\n{out}{err}")


def test_check_missing_and_huge(tmp):
    missing = os.path.join(tmp, "does-not-exist")
    rc, out, _ = run("check", missing)
    check("hippo check on a missing folder: exit 1",
          rc == 1 and out == f"error: {missing}: No such file or directory\n{missing}: 1 error\n", out)
    empty = os.path.join(tmp, "empty")
    os.mkdir(empty)
    rc, out, _ = run("check", empty)
    check("hippo check on a folder without config.yml: exit 1",
          rc == 1 and out == f"error: {empty}/config.yml: cannot open: No such file or directory\n"
                             f"{empty}: 1 error\n", out)
    huge = os.path.join(tmp, "huge")
    os.mkdir(huge)
    with open(os.path.join(huge, "config.yml"), "wb") as f:
        f.write((b"a" * 63 + b"\n") * (10 * 1024 * 1024 // 64))
    rc, out, _ = run("check", huge)
    check("hippo check on a 10 MB config.yml: exit 1, 'file too large'",
          rc == 1 and out.startswith(f"error: {huge}/config.yml: file too large (10485760 bytes"), out)


def serve_refuses(d, tmp, needle):
    """`hippo serve D` must exit at once with an error containing NEEDLE."""
    try:
        p = subprocess.run([HIPPO, "serve", d, "--port", "0", "--data", os.path.join(tmp, "data")],
                           capture_output=True, text=True, timeout=20)
    except subprocess.TimeoutExpired:
        return False, "still serving after 20 s"
    return p.returncode == 1 and needle in p.stderr, f"rc={p.returncode}\n{p.stderr[-2000:]}"


def test_symlinks_out_of_the_study(tmp):
    d = broken_copy(tmp, "symlink-out")
    thanks = os.path.join(d, "StepFiles", "thanks.html")
    os.remove(thanks)
    os.symlink("/etc/hostname", thanks)
    rc, out, err = run("check", d)
    want = (f"error: {d}/config.yml:19:16: project.steps.finalStep: step file 'thanks.html' is a "
            "symbolic link to a file outside the study folder (it would be served to "
            "participants)\n")
    check("hippo check refuses a step file linking outside the study",
          rc == 1 and out.startswith(want), f"rc={rc}\n{out}{err}")
    ok, detail = serve_refuses(d, tmp, "outside the study folder")
    check("hippo serve refuses that study at load", ok, detail)

    # StepFiles/ itself linking out of the study
    d2 = broken_copy(tmp, "stepfiles-out", ("finalStep: thanks.html", "finalStep: hostname"))
    shutil.rmtree(os.path.join(d2, "StepFiles"))
    os.mkdir(os.path.join(d2, "pages"))
    for n in ("consent.html", "instructions.html", "survey.html"):
        shutil.copy(os.path.join(EXAMPLE, "StepFiles", n), os.path.join(d2, "pages", n))
    os.symlink("/etc/hostname", os.path.join(d2, "pages", "hostname"))
    os.symlink("pages", os.path.join(d2, "StepFiles"))
    rc, out, err = run("check", d2)
    check("hippo check follows StepFiles/ itself: a page outside the study is refused",
          rc == 1 and "project.steps.finalStep: step file 'hostname' is a symbolic link" in out
          and out.count("error:") == 1, f"rc={rc}\n{out}{err}")

    # links that stay inside the study are fine
    os.remove(os.path.join(d2, "pages", "hostname"))
    shutil.copy(os.path.join(EXAMPLE, "StepFiles", "thanks.html"), os.path.join(d2, "thanks.html"))
    os.symlink("../thanks.html", os.path.join(d2, "pages", "hostname"))
    rc, out, err = run("check", d2)
    check("symbolic links that stay inside the study are accepted", rc == 0, f"rc={rc}\n{out}{err}")


def test_check_warns_what_the_csp_refuses(tmp):
    d = broken_copy(tmp, "csp-page")
    page = os.path.join(d, "StepFiles", "consent.html")
    with open(page, "a", encoding="utf-8") as f:
        f.write('<STYLE>p {color: red}</STYLE>\n<button type="button" OnClick="go()">Go</button>\n'
                '<img src="http://example.org/logo.png" alt="">\n<script>go()</script>\n')
    rc, out, err = run("check", d)
    want = (f"warning: {d}/config.yml:15:8: project.steps.1: step file 'consent.html' has "
            "<script> elements (removed), <style> elements, on...= event handlers, http:// "
            "resources, which the participant UI's Content-Security-Policy refuses "
            "(docs/participant-ui.md)\n")
    check("hippo check warns about what the UI's policy refuses, and still passes",
          rc == 0 and out.startswith(want) and out.endswith(": ok (1 warning)\n"),
          f"rc={rc}\n{out}{err}")
    with open(page, "w", encoding="utf-8") as f:
        f.write('<p style="color: red">Only words about onions = fine; '
                '<img src="https://example.org/a.png" alt=""></p>\n')
    rc, out, err = run("check", d)
    check("a page within the policy gets no warning", rc == 0 and "warning" not in out,
          f"rc={rc}\n{out}{err}")


def test_serve_refuses_an_unknown_game(tmp):
    d = broken_copy(tmp, "serve-typo", ("game: CartPole-v1", "game: CartPol-v1"))
    ok, detail = serve_refuses(d, tmp, "trial.game: unknown environment 'CartPol-v1'; did you "
                               "mean CartPole-v1")
    check("hippo serve refuses a study whose trial.game is unknown", ok, detail)
    rc, out, err = run("trial", d, "--port", "0", "--data", os.path.join(tmp, "trial-typo-data"))
    check("hippo trial refuses it too, with the suggestion",
          rc == 1 and "trial.game: unknown environment 'CartPol-v1'; did you mean CartPole-v1"
          in err, f"rc={rc}\n{out}{err}")


def main():
    print(f"binary: {HIPPO}")
    test_version_and_help()
    test_usage_errors()
    test_check_example()
    test_check_other_examples()
    with tempfile.TemporaryDirectory(prefix="hippo-test-cli-") as tmp:
        test_check_invalid(tmp)
        test_check_missing_and_huge(tmp)
        test_symlinks_out_of_the_study(tmp)
        test_serve_refuses_an_unknown_game(tmp)
        test_check_warns_what_the_csp_refuses(tmp)
    print("failures:", failures)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
