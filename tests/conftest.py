"""Shared fixtures for the toolchain tests: the repository root, the pages of the book, the clean
book build, and the folder for artifacts (logs, screenshots) that CI keeps."""
from __future__ import annotations

import dataclasses
import fcntl
import json
import os
import shutil
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
HTML = ROOT / "_build" / "html"
ARTIFACTS = ROOT / "test-artifacts"
VENDORED_MATHJAX = ROOT / "book" / "assets" / "static" / "vendor" / "mathjax" / "tex-chtml-full.js"
BOOK_BUILD_TIMEOUT_S = 900


def toc_pages() -> list[str]:
    """Every page of _toc.yml, in order, as a path relative to the root without its suffix."""
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text(encoding="utf-8"))
    pages = [toc["root"]]

    def walk(entries):
        for entry in entries or []:
            if "file" in entry:
                pages.append(entry["file"])
            walk(entry.get("sections"))

    for part in toc.get("parts", []):
        walk(part.get("chapters"))
    walk(toc.get("chapters"))
    return [str(Path(page).with_suffix("")) if Path(page).suffix in (".md", ".ipynb") else page
            for page in pages]


@dataclasses.dataclass(frozen=True)
class BookBuild:
    returncode: int
    log: str
    html: Path


# One id for the whole pytest run, shared by its xdist workers (each worker's session fixtures are
# its own, so the build below is coordinated through a lock file and this id).
_RUN_ID = os.environ.get("PYTEST_XDIST_TESTRUNUID") or uuid.uuid4().hex


@pytest.fixture(scope="session")
def book_build() -> BookBuild:
    """Build the book from clean with warnings as errors, exactly as CI does, once per pytest run.

    tests/test_book.py and tests/test_browser.py may run on different xdist workers (grouping them with
    --dist loadgroup does not work with pytest 9.2: pytest-xdist issue 1386), so the first worker to
    get here builds while holding a lock, records the result, and the others wait and reuse it.
    """
    if not VENDORED_MATHJAX.exists():
        pytest.fail(
            "book/assets/static/vendor/ is missing: the offline assets (MathJax, require.js, the widget "
            "manager) are copied there by `make assets` (part of `make book` and `make test`)."
        )
    ARTIFACTS.mkdir(exist_ok=True)
    record = ARTIFACTS / "book-build.json"
    with open(ARTIFACTS / ".book-build.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            done = json.loads(record.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            done = {}
        if done.get("run") != _RUN_ID:
            shutil.rmtree(ROOT / "_build", ignore_errors=True)
            shutil.rmtree(ARTIFACTS / "screenshots", ignore_errors=True)
            jupyter_book = Path(sys.executable).with_name("jupyter-book")
            proc = subprocess.run(
                [str(jupyter_book), "build", ".", "-W", "-n", "--keep-going"],
                cwd=ROOT, env=dict(os.environ, PYTHONHASHSEED="0"), capture_output=True, text=True,
                timeout=BOOK_BUILD_TIMEOUT_S,
            )
            done = {"run": _RUN_ID, "returncode": proc.returncode, "log": proc.stdout + proc.stderr}
            (ARTIFACTS / "book-build.log").write_text(done["log"], encoding="utf-8")
            record.write_text(json.dumps(done), encoding="utf-8")
    return BookBuild(returncode=done["returncode"], log=done["log"], html=HTML)


def pytest_collection_modifyitems(config, items):
    """Start the slow parts first so they overlap with the many fast unit tests on the other worker:
    the book build, then the notebook re-executions, then everything else, the browser tests last
    (they wait for the build). The order within each part is kept."""
    def part(item):
        if item.get_closest_marker("book"):
            return 0
        if item.get_closest_marker("notebooks"):
            return 1
        if item.get_closest_marker("browser"):
            return 3
        return 2

    items.sort(key=part)


@pytest.fixture(scope="module")
def one_torch_thread():
    """One intra-op torch thread for a test module (used with ``pytest.mark.usefixtures``):
    reproducible sums, and no OpenMP spinning on a shared 2-core machine."""
    import torch  # here, not at the top: the toolchain tests that share this file need no torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
