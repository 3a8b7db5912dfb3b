"""`rnnlab grade` on a folder of hostile and broken submissions (test-only exercises 99.*).

One batch per isolation mode is graded once per module (a few seconds each); the tests then assert
every row's status and score, the feedback, and that nothing outside the sandbox was touched.
The bwrap tests are skipped where bwrap is not installed (`make test` installs it as root).
"""
from __future__ import annotations

import csv
import os
from collections import Counter
import shutil
import subprocess
from pathlib import Path

import nbformat
import pytest

import grading_fixture_checks as fx
import rnnlab
from rnnlab.grading.generate import generate_notebook, render
from rnnlab.grading.grade import FIELDS, grade
from rnnlab.grading import sandbox
from rnnlab.grading.sandbox import bwrap_available

REPO = Path(rnnlab.__file__).resolve().parents[2]
TIMEOUT = 8.0  # per submission; the fixture notebooks need about 1 s
MEMORY_MB = 1024

BWRAP_OK, BWRAP_WHY = bwrap_available()
needs_bwrap = pytest.mark.skipif(not BWRAP_OK, reason=f"bwrap unavailable: {BWRAP_WHY}")
AS_ROOT = os.getuid() == 0


def test_bwrap_works_wherever_it_runs():
    """The bwrap tests below skip where bwrap is missing; this one makes sure they do not skip
    because the grader's use of it is broken (a bare bwrap with the same namespaces works)."""
    tool = shutil.which("bwrap")
    if tool is None:
        pytest.skip("bwrap is not installed")
    bare = [tool, "--unshare-pid", "--unshare-net", "--ro-bind", "/", "/", "--", "true"]
    if os.getuid() != 0:
        bare.insert(1, "--unshare-user")
    if subprocess.run(bare, capture_output=True, timeout=30).returncode != 0:
        pytest.skip("bwrap is installed but the kernel does not allow its namespaces here")
    assert BWRAP_OK, f"bwrap works on this machine but the grader's use of it does not: {BWRAP_WHY}"


@pytest.mark.parametrize("why, says", [
    ("bwrap is not installed", "apt-get install bubblewrap"),
    # e.g. an interpreter under a folder the grading user cannot read: every submission would crash
    ("bwrap: execvp /x/bin/python: No such file", "could not run this Python"),
])
def test_without_a_working_bwrap_grade_refuses_before_grading_and_says_why(tmp_path, monkeypatch,
                                                                            why, says):
    monkeypatch.setattr(sandbox, "_PROBED", [(False, why)])
    (tmp_path / "subs").mkdir()
    with pytest.raises(RuntimeError) as err:
        grade(tmp_path / "subs", tmp_path / "out", exercises=fx.EXERCISES, echo=None)
    assert says in str(err.value) and "--isolation process" in str(err.value)
    assert why == "bwrap is not installed" or why in str(err.value)
    assert not (tmp_path / "out").exists()  # nothing ran, nothing was written


FORKS = '''import os, time
LIMITED = False
for _ in range(200):  # bounded, so a machine without a process limit survives this test
    try:
        pid = os.fork()
    except OSError:
        LIMITED = True
        break
    if pid == 0:
        time.sleep(20)
        os._exit(0)
'''

MEMORY = '''import numpy as np
def add_arrays(a, b):
    chunks = []
    for _ in range(800):  # 640 GB of address space: only a limit stops this before the end
        chunks.append(np.empty(10**8))
    return a + b
'''


def vandal(targets: dict[str, str]) -> str:
    return f'''import os, shutil
SEEN = []
for name, path in {targets!r}.items():
    if os.path.exists(path):
        SEEN.append(name)
for path in ({targets['grades']!r}, {targets['sentinel']!r}):
    try:
        os.remove(path)
    except OSError:
        pass
try:
    with open({targets['sentinel']!r}, "w") as f:
        f.write("overwritten")
except OSError:
    pass
def add_arrays(a, b):
    return a + b if not SEEN else a - b
'''


CHEAT = '''import numpy as np
import rnnlab, rnnlab.grading
rnnlab.grading.check = lambda *args, **kwargs: print("✓ 99.add_arrays passed (2/2)")
print("✓ 99.add_arrays passed (2/2): 4 random cases matched the reference")
print("✓ 99.scale passed (1/1): 3 random cases matched the reference")
def add_arrays(a, b):
    return a * b
def scale(x, factor):
    return x, 0.0
rnnlab.grading.check("99.add_arrays", add_arrays)
'''


def build(root: Path, kinds: list[str]) -> tuple[Path, Path, Path]:
    """Write SUBMISSIONS/<kind>/99_fixture.ipynb for each kind; return (submissions, out, sentinel)."""
    subs, out = root / "submissions", root / "out"
    sentinel = root / "course" / "solutions" / "answers.txt"
    sentinel.parent.mkdir(parents=True)
    sentinel.write_text("model answers")
    targets = {"grades": str(out / "grades.csv"), "sentinel": str(sentinel),
               "submissions": str(subs), "repo_solutions": str(REPO / "solutions"),
               "repo_tests": str(REPO / "tests")}
    add_ok, scale_ok = fx.ADD_OK, fx.SCALE_OK
    sol = fx.solution_notebook()
    content = {
        "full": fx.dumps(sol),
        "untouched": render(generate_notebook(sol, fx.NOTEBOOK)),
        "invalid_json": '{"cells": [',
        "not_a_notebook": '{"hello": "world"}',
        "renamed": fx.notebook("import numpy as np", "def add_array(a, b):\n    return a + b", scale_ok),
        "wrong_shape_dtype": fx.notebook(
            "import numpy as np", "def add_arrays(a, b):\n    return (a + b).T",
            "def scale(x, factor):\n    s = (x * factor).astype(np.float32)\n    return s, float(s.sum())"),
        "raises": fx.notebook("def add_arrays(a, b):\n    n = len(a)\n    raise ValueError(f'bad {n}')",
                              "def scale(x, factor):\n    return x / 0 + {}"),
        "loops": fx.notebook(add_ok, scale_ok, "while True:\n    pass"),
        "hangs": fx.notebook(add_ok, "import signal\nsignal.signal(signal.SIGALRM, signal.SIG_IGN)\n"
                             "while True:\n    pass", scale_ok),
        "prints": fx.notebook("print('x' * 3_000_000)\nimport sys\nsys.stderr.write('y' * 10**6)",
                              add_ok, scale_ok),
        "memory": fx.notebook(MEMORY, scale_ok),
        "forks": fx.notebook(FORKS, "def add_arrays(a, b):\n    return a + b if LIMITED else a - b",
                             scale_ok),
        "vandal": fx.notebook(vandal(targets), scale_ok),
        "cheat": fx.notebook(CHEAT),
        "exits_early": fx.notebook(add_ok, scale_ok, "import os\nos._exit(0)"),
        "sys_exit": fx.notebook(add_ok, "import sys\nsys.exit('bye')", scale_ok),
        "magics": fx.notebook(  # IPython as in Jupyter; shell escapes refused, not run
            "%matplotlib inline\n!echo hi\nimport numpy as np", "%%bash\ntouch escaped.txt",
            "%pip install nothing-at-all\nfiles = !ls\n%sx touch escaped2.txt\nimport os\n"
            "RAN = bool(files) or any(os.path.exists(f) for f in ('escaped.txt', 'escaped2.txt'))",
            "import matplotlib.pyplot as plt\nplt.plot([1, 2])\ndisplay(np.zeros(2))\n%time x = 1",
            "def add_arrays(a, b):\n    return a - b if RAN or get_ipython() is None else a + b",
            "%%time\n" + scale_ok),
    }
    for kind in kinds:
        if kind == "unknown_name":
            continue
        folder = subs / kind
        folder.mkdir(parents=True)
        text = content[kind]
        (folder / fx.NOTEBOOK).write_text(text if isinstance(text, str) else fx.dumps(text))
    if "unknown_name" in kinds:
        (subs / "unknown_name").mkdir(parents=True)
        (subs / "unknown_name" / "notes.ipynb").write_text(fx.dumps(sol))
    return subs, out, sentinel


# kind -> {exercise: (status, score)}
EXPECTED = {
    "full": {"99.add_arrays": ("passed", "2"), "99.scale": ("passed", "1")},
    "untouched": {"99.add_arrays": ("not attempted", "0"), "99.scale": ("not attempted", "0")},
    "invalid_json": {"99.add_arrays": ("invalid notebook", "0"), "99.scale": ("invalid notebook", "0")},
    "not_a_notebook": {"99.add_arrays": ("invalid notebook", "0"), "99.scale": ("invalid notebook", "0")},
    "renamed": {"99.add_arrays": ("missing", "0"), "99.scale": ("passed", "1")},
    "wrong_shape_dtype": {"99.add_arrays": ("wrong", "0"), "99.scale": ("wrong", "0")},
    "raises": {"99.add_arrays": ("error", "0"), "99.scale": ("error", "0")},
    "loops": {"99.add_arrays": ("passed", "2"), "99.scale": ("passed", "1")},
    "hangs": {"99.add_arrays": ("timeout", "0"), "99.scale": ("timeout", "0")},
    "prints": {"99.add_arrays": ("passed", "2"), "99.scale": ("passed", "1")},
    "memory": {"99.add_arrays": ("memory", "0"), "99.scale": ("passed", "1")},
    "forks": {"99.add_arrays": ("passed", "2"), "99.scale": ("passed", "1")},
    "vandal": {"99.add_arrays": ("passed", "2"), "99.scale": ("passed", "1")},
    "cheat": {"99.add_arrays": ("wrong", "0"), "99.scale": ("wrong", "0")},
    "exits_early": {"99.add_arrays": ("crashed", "0"), "99.scale": ("crashed", "0")},
    "sys_exit": {"99.add_arrays": ("passed", "2"), "99.scale": ("passed", "1")},
    "magics": {"99.add_arrays": ("passed", "2"), "99.scale": ("passed", "1")},
    "unknown_name": {"": ("unknown notebook", "0"), "99.add_arrays": ("missing", "0"),
                     "99.scale": ("missing", "0")},
}

BWRAP_KINDS = list(EXPECTED)
# without bwrap the child can touch the grader's files (no vandal here: a documented limit),
# and as root it has no process limit (the fork loop has its own test, skipped as root)
PROCESS_KINDS = ["full", "untouched", "raises", "loops", "hangs", "prints", "memory", "cheat", "magics",
                 "exits_early"]


def read_rows(out: Path) -> list[dict]:
    with open(out / "grades.csv", newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f)
        assert tuple(reader.fieldnames) == FIELDS
        return list(reader)


@pytest.fixture(scope="module")
def bwrap_batch(tmp_path_factory):
    if not BWRAP_OK:
        pytest.skip(f"bwrap unavailable: {BWRAP_WHY}")
    root = tmp_path_factory.mktemp("bwrap")
    subs, out, sentinel = build(root, BWRAP_KINDS)
    summary = grade(subs, out, timeout=TIMEOUT, memory_mb=MEMORY_MB, jobs=3, isolation="bwrap",
                    exercises=fx.EXERCISES, progress=False, echo=None,
                    solutions=sentinel.parent)
    return summary, subs, out, sentinel


@pytest.fixture(scope="module")
def process_batch(tmp_path_factory):
    root = tmp_path_factory.mktemp("proc")
    subs, out, sentinel = build(root, PROCESS_KINDS)
    summary = grade(subs, out, timeout=TIMEOUT, memory_mb=MEMORY_MB, jobs=3, isolation="process",
                    exercises=fx.EXERCISES, progress=False, echo=None)
    return summary, subs, out, sentinel


def _check_rows(rows: list[dict], kinds: list[str]) -> None:
    got = {}
    for row in rows:
        got.setdefault(row["student"], {})[row["exercise"]] = (row["status"], row["score"])
    expected = {k: EXPECTED[k] for k in kinds}
    mismatches = {k: (got.get(k), expected[k]) for k in expected if got.get(k) != expected[k]}
    messages = {r["student"]: r["message"] for r in rows if r["student"] in mismatches}
    assert not mismatches, f"(got, expected) per student: {mismatches}\nmessages: {messages}"
    assert len(rows) == sum(len(v) for v in expected.values())


@needs_bwrap
def test_every_submission_gets_its_rows_under_bwrap(bwrap_batch):
    summary, subs, out, sentinel = bwrap_batch
    assert summary.mode == "bwrap" and summary.graded == len(BWRAP_KINDS)
    rows = read_rows(out)
    _check_rows(rows, BWRAP_KINDS)
    assert rows == sorted(rows, key=lambda r: (r["student"], r["notebook"], r["exercise"]))
    assert all(r["max_score"] == {"99.add_arrays": "2", "99.scale": "1", "": "0"}[r["exercise"]]
               for r in rows)


@needs_bwrap
def test_the_sandbox_hid_and_protected_the_graders_files(bwrap_batch):
    summary, subs, out, sentinel = bwrap_batch
    assert sentinel.read_text() == "model answers"  # neither deleted nor overwritten
    assert (out / "grades.csv").exists() and len(read_rows(out)) == len(summary.rows)
    assert (subs / "vandal" / fx.NOTEBOOK).exists()
    # the vandal saw none of: the gradebook, the solutions, the submissions, the repository's files
    by = {(r["student"], r["exercise"]): r for r in summary.rows}
    assert by[("vandal", "99.add_arrays")]["status"] == "passed"
    assert by[("forks", "99.add_arrays")]["status"] == "passed"  # its fork loop hit the limit


@needs_bwrap
def test_messages_say_what_went_wrong(bwrap_batch):
    summary, subs, out, _ = bwrap_batch
    msg = {(r["student"], r["exercise"]): r["message"] for r in summary.rows}
    assert "did you rename it? found `add_array`" in msg[("renamed", "99.add_arrays")]
    assert "has shape" in msg[("wrong_shape_dtype", "99.add_arrays")]
    assert "dtype float32; expected float64" in msg[("wrong_shape_dtype", "99.scale")]
    assert "raised ValueError: bad" in msg[("raises", "99.add_arrays")]
    assert "line 3" in msg[("raises", "99.add_arrays")] and "raise ValueError" in msg[("raises", "99.add_arrays")]
    assert f"did not finish within {TIMEOUT:g} s" in msg[("hangs", "99.scale")]
    assert "running code cell 2 (`import signal`)" in msg[("hangs", "99.scale")]
    assert "ran out of memory" in msg[("memory", "99.add_arrays")]
    assert "os._exit" in msg[("exits_early", "99.add_arrays")]
    assert "not valid JSON" in msg[("invalid_json", "99.add_arrays")]
    assert "not a notebook" in msg[("not_a_notebook", "99.scale")]
    assert "`notes.ipynb` is not a notebook of this course" in msg[("unknown_name", "")]
    assert "no notebook `99_fixture.ipynb`" in msg[("unknown_name", "99.scale")]
    assert "Likely mistake" not in msg[("cheat", "99.add_arrays")]


@needs_bwrap
def test_feedback_files(bwrap_batch):
    summary, subs, out, _ = bwrap_batch
    for kind in BWRAP_KINDS:
        name = "notes.md" if kind == "unknown_name" else "99_fixture.md"
        assert (out / "feedback" / kind / name).is_file(), kind
    full = (out / "feedback" / "full" / "99_fixture.md").read_text()
    assert "**Total: 3 / 3 points**" in full and "**Checked:** `add_arrays` on 4 random cases" in full
    wrong = (out / "feedback" / "wrong_shape_dtype" / "99_fixture.md").read_text()
    assert "**What went wrong:**" in wrong and "Add the arrays elementwise" not in wrong  # --hints mistake
    loops = (out / "feedback" / "loops" / "99_fixture.md").read_text()
    assert "code cell 3 (`while True:`) was stopped" in loops and "defined before were graded" in loops
    prints = (out / "feedback" / "prints" / "99_fixture.md").read_text()
    assert "output truncated" in prints and "score is not affected" in prints
    assert len(prints) < 20_000
    magics = (out / "feedback" / "magics" / "99_fixture.md").read_text()
    for command in ("!echo hi", "%%bash", "%pip install nothing-at-all", "!!ls", "%sx touch"):
        assert f"`{command}" in magics and "was not run (the grader runs no shell commands" in magics
    assert "raised" not in magics  # %matplotlib inline, display() and %time work as in Jupyter
    untouched = (out / "feedback" / "untouched" / "99_fixture.md").read_text()
    assert "NotImplementedError" in untouched
    for path in (out / "feedback").rglob("*.md"):  # no machine paths of the grader leak out
        assert str(out) not in path.read_text() and str(subs) not in path.read_text()


@needs_bwrap
def test_summary_counts_statuses(bwrap_batch):
    summary, *_ = bwrap_batch
    assert "statuses: passed" in summary.text and "99.add_arrays" in summary.text
    counts = Counter(r["status"] for r in summary.rows)
    assert counts["timeout"] == 2 and counts["unknown notebook"] == 1 and counts["crashed"] == 2
    assert summary.ignored == ["unknown_name/notes.ipynb: not a notebook of this course (expected one "
                               "of: 99_fixture.ipynb)"]


def test_every_submission_gets_its_rows_in_the_process_mode(process_batch):
    summary, subs, out, sentinel = process_batch
    assert summary.mode == "process"
    _check_rows(read_rows(out), PROCESS_KINDS)


def test_process_mode_limits_a_fork_loop(tmp_path):
    if AS_ROOT:
        pytest.skip("in the process mode RLIMIT_NPROC is not enforced for root (documented on "
                    "the instructors' page); the bwrap test covers the fork loop")
    subs, out, _ = build(tmp_path, ["forks"])
    summary = grade(subs, out, timeout=TIMEOUT, memory_mb=MEMORY_MB, isolation="process",
                    exercises=fx.EXERCISES, progress=False, echo=None)
    _check_rows(summary.rows, ["forks"])


def test_rerun_skips_unchanged_regrades_changed_and_regrade_forces(tmp_path):
    subs, out, _ = build(tmp_path, ["full", "untouched", "wrong_shape_dtype"])
    kw = dict(timeout=TIMEOUT, memory_mb=MEMORY_MB, exercises=fx.EXERCISES, progress=False, echo=None)
    first = grade(subs, out, **kw)
    assert (first.graded, first.skipped) == (3, 0)
    again = grade(subs, out, **kw)
    assert (again.graded, again.skipped) == (0, 3) and again.rows == first.rows
    # the student fixes the notebook: only it is regraded, its old rows replaced
    shutil.copy(subs / "full" / fx.NOTEBOOK, subs / "wrong_shape_dtype" / fx.NOTEBOOK)
    fixed = grade(subs, out, **kw)
    assert (fixed.graded, fixed.skipped) == (1, 2)
    rows = read_rows(out)
    assert len(rows) == 6
    assert {(r["exercise"], r["status"]) for r in rows if r["student"] == "wrong_shape_dtype"} == {
        ("99.add_arrays", "passed"), ("99.scale", "passed")}
    forced = grade(subs, out, regrade=True, **kw)
    assert (forced.graded, forced.skipped) == (3, 0) and len(read_rows(out)) == 6


def test_bad_arguments(tmp_path):
    with pytest.raises(FileNotFoundError):
        grade(tmp_path / "nope", tmp_path / "out", exercises=fx.EXERCISES, echo=None)
    (tmp_path / "subs").mkdir()
    with pytest.raises(ValueError):
        grade(tmp_path / "subs", tmp_path / "subs" / "out", exercises=fx.EXERCISES, echo=None)
    # each wrong option is named with what it got
    for kwargs, words in (({"jobs": 0}, "--jobs"), ({"timeout": -1}, "--timeout"),
                          ({"memory_mb": 10}, "--memory"), ({"roster": tmp_path / "nope.txt"},
                                                            "--roster")):
        with pytest.raises((ValueError, FileNotFoundError), match=words):
            grade(tmp_path / "subs", tmp_path / "out", exercises=fx.EXERCISES, echo=None, **kwargs)
    (tmp_path / "a_file").write_text("")
    with pytest.raises(NotADirectoryError, match="--out must be a folder"):
        grade(tmp_path / "subs", tmp_path / "a_file", exercises=fx.EXERCISES, echo=None)


def test_an_unknown_notebook_is_compared_with_the_course_names_by_stem(tmp_path):
    subs = tmp_path / "subs"
    (subs / "ann").mkdir(parents=True)
    for name in ("99_fixtur.ipynb", "scratchpad.ipynb"):
        (subs / "ann" / name).write_text(fx.dumps(nbformat.v4.new_notebook()))
    summary = grade(subs, tmp_path / "out", exercises=fx.EXERCISES, echo=None, progress=False,
                    isolation="process")
    messages = {r["notebook"]: r["message"] for r in summary.rows if r["status"] == "unknown notebook"}
    assert f"did you mean `{fx.NOTEBOOK}`" in messages["99_fixtur.ipynb"]
    assert "did you mean" not in messages["scratchpad.ipynb"]


# ----------------------------------------------------------------------------- the real chapters

def _chapter_notebooks() -> list:
    from rnnlab.grading import exercises

    try:
        registered = exercises()
    except Exception as err:  # reported by the test, not as a collection error of this file
        return [pytest.param(f"error: the check modules do not import: {err!r}", id="registry")]
    found = []
    for solution in sorted((REPO / "solutions").glob("0[12]_*.ipynb")):
        exs = [ex for ex in registered if ex.notebook == solution.name]
        if exs and (REPO / "exercises" / solution.name).exists():
            found.append(pytest.param(solution.name, id=solution.stem))
    return found or [pytest.param(None, marks=pytest.mark.skip(
        reason="no solutions/01_*.ipynb or 02_*.ipynb with graded exercises and generated twin yet"))]


@pytest.mark.parametrize("name", _chapter_notebooks())
def test_real_chapter_solution_gets_full_marks_and_its_exercise_zero(name, tmp_path):
    from rnnlab.grading import exercises

    if name.startswith("error: "):
        pytest.fail(name)
    exs = [ex for ex in exercises() if ex.notebook == name]
    subs = tmp_path / "subs"
    for student, folder in (("solution", "solutions"), ("untouched", "exercises")):
        (subs / student).mkdir(parents=True)
        shutil.copy(REPO / folder / name, subs / student / name)
    summary = grade(subs, tmp_path / "out", timeout=300, jobs=2, exercises=exs, progress=False, echo=None)
    rows = {(r["student"], r["exercise"]): r for r in summary.rows}
    for ex in exs:
        full, zero = rows[("solution", ex.id)], rows[("untouched", ex.id)]
        assert (full["status"], full["score"]) == ("passed", f"{ex.points:g}"), full["message"]
        assert (zero["status"], zero["score"]) == ("not attempted", "0"), zero["message"]


@pytest.mark.parametrize("isolation", [pytest.param("bwrap", marks=needs_bwrap), "process"])
def test_the_sandbox_sees_loops_and_calls_into_the_package(isolation, tmp_path):
    """A loop over the steps gives the right values but not the vectorised scan the exercise asks
    for; an answer that calls the package's scan or the grader's reference is not the student's.
    The child traces the calls and the grader rejects them, as check() does in the notebook."""
    from rnnlab.grading import exercises

    name = "07_parallel_recurrence.ipynb"
    answers = {
        "looper": "def hillis_steele_scan(a, b, h0):\n    h, out = h0, []\n"
                  "    for t in range(len(a)):\n        h = a[t] * h + b[t]\n        out.append(h)\n"
                  "    return np.stack(out)\n",
        "borrower": "from rnnlab.scratch import scan_hillis_steele\n"
                    "def hillis_steele_scan(a, b, h0):\n    return scan_hillis_steele(a, b, h0)\n",
        "copier": "from rnnlab.grading.checks.ch07 import hillis_steele_scan\n",
        "threader": "import threading\nfrom rnnlab.scratch import scan_hillis_steele\n"
                    "def hillis_steele_scan(a, b, h0):\n    out = []\n"
                    "    t = threading.Thread(target=lambda: out.append(scan_hillis_steele(a, b, h0)))\n"
                    "    t.start()\n    t.join()\n    return out[0]\n",
    }
    for student, source in answers.items():
        nb = nbformat.read(REPO / "solutions" / name, as_version=4)
        cell = next(c for c in nb.cells if c.cell_type == "code" and "def hillis_steele_scan" in c.source)
        cell.source = source
        (tmp_path / "subs" / student).mkdir(parents=True)
        nbformat.write(nb, tmp_path / "subs" / student / name)
    exs = [exercises()[i] for i in ("07.hillis_steele_scan", "07.log_space_scan")]
    summary = grade(tmp_path / "subs", tmp_path / "out", timeout=120, isolation=isolation,
                    exercises=exs, progress=False, echo=None, seed=0)
    rows = {(r["student"], r["exercise"]): r for r in summary.rows}
    for student, words in (("looper", ("the values are right", "a Python loop over the")),
                           ("borrower", ("called `rnnlab.scratch.scan.scan_hillis_steele`",
                                         "the package's own implementation")),
                           ("copier", ("called `rnnlab.grading.checks.ch07.hillis_steele_scan`",
                                       "the grader's reference")),
                           ("threader", ("called `rnnlab.scratch.scan.scan_hillis_steele`",))):
        row = rows[(student, "07.hillis_steele_scan")]
        assert (row["status"], row["score"]) == ("wrong", "0"), row["message"]
        assert all(w in row["message"] for w in words), row["message"]
        scan = rows[(student, "07.log_space_scan")]  # the solution's own answer, untouched
        assert (scan["status"], scan["score"]) == ("passed", "2"), scan["message"]


def test_a_forged_line_count_or_call_name_is_a_wire_error():
    from rnnlab.grading.grade import _outcomes
    from rnnlab.grading.serialize import WireError

    forbidden = ("rnnlab.grading", "rnnlab.scratch")

    def outcomes(entry, count_lines=True):
        return _outcomes({"results": [{"returned": None, "mutated": {}, **entry}]}, [], 1, [3],
                         count_lines=count_lines, forbidden=forbidden)

    assert outcomes({"lines": 12})[0].lines == 12
    called = "rnnlab.scratch.scan.scan_hillis_steele.<locals>.<lambda>"
    assert outcomes({"lines": 0, "called": called})[0].called == called
    assert outcomes({}, count_lines=False)[0].lines is None
    for bad in (-1, 1.5, "12", True, [1]):
        with pytest.raises(WireError, match="line count"):
            outcomes({"lines": bad})
    # a count the grader asked for is missing, or one it did not ask for is sent
    with pytest.raises(WireError, match="line count"):
        outcomes({})
    with pytest.raises(WireError, match="line count"):
        outcomes({"lines": 3}, count_lines=False)
    # the name must be a function of a forbidden module, on one line: it goes into the message
    for bad in ("", 3, "x" * 301, ["rnnlab.scratch"], "numpy.sum", "rnnlab.scratchy.f",
                "rnnlab.scratch.f`\nScore: 3/3", "rnnlab.scratch.f\npassed"):
        with pytest.raises(WireError, match="forbidden call"):
            outcomes({"lines": 1, "called": bad})


def test_the_child_puts_the_graders_import_path_first(tmp_path, monkeypatch):
    """An editable install elsewhere (a .pth in site-packages) must not shadow the grader's rnnlab
    in the child: the two must share the wire format and the tracing."""
    import sys

    from rnnlab.grading import _child, serialize

    src = str(Path(serialize.__file__).resolve().parents[2])
    job = tmp_path / "job.bin"
    job.write_bytes(serialize.pack({"sys_path": [src, "/nonexistent/lib"]}, []))
    monkeypatch.setattr(sys, "path", ["/other/checkout/src", *[p for p in sys.path if p != src], src])
    _child._read_job(str(job))
    assert sys.path[:3] == [src, "/nonexistent/lib", "/other/checkout/src"]
    assert sys.path.count(src) == 1
