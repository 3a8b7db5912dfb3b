"""An interrupted grading run (SIGKILL) resumes to the same gradebook as an uninterrupted one."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import grading_fixture_checks as fx
from rnnlab.grading.grade import grade
from test_grading_grade import build

HERE = Path(__file__).resolve().parent
SCRIPT = HERE / "grading_fixture_checks.py"
KINDS = ["full", "untouched", "wrong_shape_dtype", "raises"]
SLOW = fx.notebook("import time\ntime.sleep(0.5)", fx.ADD_OK, fx.SCALE_OK)


def _cmd(subs: Path, out: Path, jobs: int) -> list[str]:
    return [sys.executable, str(SCRIPT), str(subs), str(out), "--seed", "7", "--jobs", str(jobs),
            "--timeout", "30"]


def _csv_rows(out: Path) -> int:
    try:
        return (out / "grades.csv").read_text().count("\n") - 1
    except FileNotFoundError:
        return 0


def _records(out: Path) -> int:
    try:
        return sum(1 for line in (out / ".graded.jsonl").read_text().splitlines() if line.endswith("}"))
    except FileNotFoundError:
        return 0


def test_sigkill_then_resume_equals_an_uninterrupted_run(tmp_path):
    subs, _, _ = build(tmp_path, KINDS)
    for i in range(2):
        (subs / f"slow{i}").mkdir()
        (subs / f"slow{i}" / fx.NOTEBOOK).write_text(fx.dumps(SLOW))
    total = len(KINDS) + 2
    import rnnlab  # the child grades with this same rnnlab, not whatever is installed

    src = str(Path(rnnlab.__file__).resolve().parents[1])
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(HERE), src])}

    interrupted = tmp_path / "interrupted"
    proc = subprocess.Popen(_cmd(subs, interrupted, 1), env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, start_new_session=True)
    deadline = time.monotonic() + 120
    # kill as soon as the rows of two submissions are in grades.csv (written as they are produced)
    while _csv_rows(interrupted) < 2 * 2 and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    proc.stdout.close()
    done_before_kill = _records(interrupted)  # the ledger is written before the rows
    assert 2 <= done_before_kill < total, f"killed after {done_before_kill} of {total} submissions"

    resumed = subprocess.run(_cmd(subs, interrupted, 2), env=env, capture_output=True, text=True,
                             timeout=300)
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    skipped = int(resumed.stdout.split(" unchanged, skipped")[0].rsplit("(", 1)[1])
    assert skipped >= done_before_kill

    straight = tmp_path / "straight"  # in this process, with another --jobs: the same gradebook
    grade(subs, straight, seed=7, jobs=3, timeout=30, memory_mb=1024, exercises=fx.EXERCISES,
          progress=False, echo=None)

    assert (interrupted / "grades.csv").read_bytes() == (straight / "grades.csv").read_bytes()
    assert (interrupted / ".graded.jsonl").read_bytes() == (straight / ".graded.jsonl").read_bytes()
    feedback = sorted(p.relative_to(straight) for p in (straight / "feedback").rglob("*.md"))
    assert len(feedback) == total
    for rel in feedback:
        assert (interrupted / rel).read_bytes() == (straight / rel).read_bytes(), rel
    assert not list(interrupted.glob("**/.*.tmp"))
