"""The `rnnlab` console script: help, version, `exercises build [--check]`, `exercises list`, `grade`."""
from __future__ import annotations

import csv
import subprocess
import sys
from pathlib import Path

import pytest

import grading_fixture_checks as fx
import rnnlab
from rnnlab.cli import main

SCRIPT = Path(sys.executable).parent / "rnnlab"


def run_script(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    if not SCRIPT.exists():
        pytest.skip("the rnnlab console script is not installed next to this Python")
    return subprocess.run([str(SCRIPT), *args], capture_output=True, text=True, cwd=cwd, timeout=120)


def test_help_lists_every_command():
    result = run_script("--help")
    assert result.returncode == 0
    for command in ("rnnlab exercises build [--check]", "rnnlab exercises list",
                    "rnnlab grade SUBMISSIONS --out DIR", "--timeout", "--memory", "--jobs", "--regrade"):
        assert command in result.stdout, command


def test_version():
    result = run_script("--version")
    assert result.returncode == 0 and result.stdout.strip() == f"rnnlab {rnnlab.__version__}"


def test_subcommand_help(capsys):
    for argv in (["grade", "--help"], ["exercises", "build", "--help"]):
        with pytest.raises(SystemExit) as info:
            main(argv)
        assert info.value.code == 0
    out = capsys.readouterr().out
    assert "SUBMISSIONS" in out and "--check" in out


def test_exercises_build_and_check(tmp_path, capsys):
    (tmp_path / "solutions").mkdir()
    (tmp_path / "solutions" / fx.NOTEBOOK).write_text(fx.dumps(fx.solution_notebook()))
    args = ["exercises", "build", "--solutions", str(tmp_path / "solutions"),
            "--exercises", str(tmp_path / "exercises")]
    assert main(args + ["--check"]) == 1
    assert "missing" in capsys.readouterr().err
    assert main(args) == 0 and (tmp_path / "exercises" / fx.NOTEBOOK).exists()
    assert main(args + ["--check"]) == 0
    assert "up to date" in capsys.readouterr().out
    generated = tmp_path / "exercises" / fx.NOTEBOOK
    generated.write_text(generated.read_text().replace("one operator", "two"))
    assert main(args + ["--check"]) == 1 and "differs" in capsys.readouterr().err


def test_exercises_build_from_the_course_root_and_marker_errors(tmp_path):
    (tmp_path / "solutions").mkdir()
    (tmp_path / "solutions" / "03_x.ipynb").write_text(fx.dumps(fx.notebook("x = 1", "### END SOLUTION")))
    result = run_script("exercises", "build", cwd=tmp_path)
    assert result.returncode == 1 and "03_x.ipynb, cell 1" in result.stderr
    result = run_script("exercises", "build", cwd=tmp_path / "solutions")  # no solutions/ here
    assert result.returncode == 2 and "solutions" in result.stderr


def test_exercises_list(capsys):
    from rnnlab.grading import exercises

    assert main(["exercises", "list"]) == 0
    lines = capsys.readouterr().out.splitlines()
    exs = exercises()
    rows = [line.split()[:2] for line in lines[:-1]]
    assert sorted(r[0] for r in rows) == [ex.id for ex in exs]  # each exercise once
    assert all(exs[ex_id].notebook == notebook for ex_id, notebook in rows)
    notebooks = [notebook for _, notebook in rows]
    assert notebooks == sorted(notebooks)  # notebook by notebook: 6e's 06.* after all of 6's
    assert lines[-1] == f"{len(exs)} exercises, {sum(ex.points for ex in exs):g} points"


def test_grade_usage_errors(tmp_path, capsys):
    with pytest.raises(SystemExit) as info:
        main(["grade", str(tmp_path)])  # --out is required
    assert info.value.code == 2
    assert main(["grade", str(tmp_path / "missing"), "--out", str(tmp_path / "out")]) == 2
    assert "SUBMISSIONS must be a folder" in capsys.readouterr().err


def test_grade_an_empty_folder_writes_an_empty_gradebook(tmp_path, capsys):
    (tmp_path / "subs").mkdir()
    assert main(["grade", str(tmp_path / "subs"), "--out", str(tmp_path / "out"), "--no-progress",
                 "--timeout", "30"]) == 0
    with open(tmp_path / "out" / "grades.csv", newline="") as f:
        assert next(csv.reader(f)) == ["student", "notebook", "exercise", "score", "max_score",
                                       "status", "message"]
    assert "Graded 0 submissions" in capsys.readouterr().out
