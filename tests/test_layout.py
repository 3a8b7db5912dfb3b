"""The repository's shape: the course layout check, the README's two commands, CI's entry point,
and the generated folders kept out of git."""
from __future__ import annotations

import re
import shutil
import subprocess
import sys

import pytest

from conftest import ROOT

COURSE_CHECK = ROOT.parent / "shared" / "tools" / "course-check"


def test_course_layout_check():
    if not COURSE_CHECK.is_file():
        pytest.skip(f"../shared/tools/course-check is not beside this checkout ({COURSE_CHECK.parent.parent} "
                    "is absent): the layout check runs only where shared/ is present")
    proc = subprocess.run([sys.executable, str(COURSE_CHECK), str(ROOT)], capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0, "course-check found problems:\n" + proc.stdout + proc.stderr


def test_readme_gives_the_two_commands():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    commands = re.findall(r"^make (\w+)\s*$", readme, flags=re.MULTILINE)
    assert commands[:2] == ["book", "test"], (
        f"README.md should show `make book` then `make test` on lines of their own, found {commands}")
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    for target in ("book", "test"):
        assert re.search(rf"^{target}:", makefile, flags=re.MULTILINE), f"Makefile has no '{target}' target"


def test_ci_runs_the_readme_test_command():
    script = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert script.startswith("#!"), ".ci/run needs a shebang line"
    assert re.search(r"^\s*(exec\s+)?make test\b", script, flags=re.MULTILINE), ".ci/run must call `make test`"


@pytest.mark.parametrize("generated", [
    ".venv/x", "node_modules/x", "book/assets/static/vendor/x", "_build/x", "test-artifacts/x", ".pytest_cache/x",
])
def test_generated_folders_are_git_ignored(generated):
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        pytest.skip("not a git checkout")
    proc = subprocess.run(["git", "check-ignore", "-q", "--no-index", generated], cwd=ROOT)
    assert proc.returncode == 0, f"{generated.rsplit('/', 1)[0]}/ is not in .gitignore"
