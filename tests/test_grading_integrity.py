"""The gradebook describes the submissions folder as it is (test-only exercises 99.*).

Stale rows leave, absent work and absent students get `missing` rows, renamed and nested notebooks
are found (or reported), nothing is ignored silently, work done before a failure is credited,
tagged experiment cells are not run, a student's helper module is importable, and the totals, the
LMS export and manual scores add up.
"""
from __future__ import annotations

import csv
import shutil
from pathlib import Path

import pytest

import grading_fixture_checks as fx
from rnnlab.cli import main
from rnnlab.grading.grade import canonical_name, grade, match_notebook

TIMEOUT = 8.0
KW = dict(timeout=TIMEOUT, memory_mb=1024, jobs=2, exercises=fx.EXERCISES, progress=False, echo=None)
FULL = fx.dumps(fx.notebook(fx.ADD_OK, fx.SCALE_OK))
ONLY_ADD = fx.dumps(fx.notebook(fx.ADD_OK))


def write(root: Path, rel: str, text: str) -> None:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def rows_by(summary) -> dict:
    return {(r["student"], r["exercise"]): r for r in summary.rows}


def csv_rows(path: Path) -> list[dict]:
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def test_names_of_copies_are_matched_to_their_notebook():
    known = ["03_lstm.ipynb", "04_gru.ipynb"]
    for name in ("03_lstm.ipynb", "03_lstm (1).ipynb", "Copy of 03_lstm.ipynb", "03_LSTM-Copy1.ipynb",
                 "03_lstm_final.ipynb", "Copy of 03_lstm (2).ipynb"):
        assert match_notebook(name, known) == "03_lstm.ipynb", name
    assert canonical_name("Copy of 03_lstm (1).ipynb") == "03_lstm.ipynb"
    for name in ("notes.ipynb", "lstm.ipynb", "03_04_lstm_gru.ipynb"):
        assert match_notebook(name, known) is None, name


@pytest.fixture(scope="module")
def messy(tmp_path_factory):
    root = tmp_path_factory.mktemp("messy")
    subs, out = root / "subs", root / "out"
    write(subs, f"alice/{fx.NOTEBOOK}", FULL)
    write(subs, "peggy/99_fixture (1).ipynb", FULL)  # a download's copy mark
    write(subs, f"arthur/rnn-homework/{fx.NOTEBOOK}", FULL)  # one folder deeper
    write(subs, f"bob/{fx.NOTEBOOK}", ONLY_ADD)  # scale not written
    write(subs, f"carol/{fx.NOTEBOOK}", FULL)
    write(subs, "carol/Copy of 99_fixture.ipynb", ONLY_ADD)  # an extra copy: the exact name wins
    write(subs, "dave/a/99_fixture.ipynb", FULL)  # two candidates, neither at the top: ambiguous
    write(subs, "dave/b/99_fixture.ipynb", ONLY_ADD)
    (subs / "erin").mkdir()  # an empty folder: a student with nothing handed in
    write(subs, "frank/report.pdf", "%PDF")
    write(subs, f"frank/{fx.NOTEBOOK}", fx.dumps(fx.notebook(
        "from my_helpers import plus", "def add_arrays(a, b):\n    return plus(a, b)", fx.SCALE_OK)))
    write(subs, "frank/my_helpers.py", "def plus(a, b):\n    return a + b\n")
    write(subs, "stray.ipynb", FULL)  # not in a student folder
    roster = root / "roster.csv"
    roster.write_text("student,email\nalice,a@x\nbob,b@x\nzoe,z@x\n")
    summary = grade(subs, out, roster=roster, seed=1, **KW)
    return summary, subs, out, roster


def test_every_student_and_exercise_has_a_row(messy):
    summary, subs, out, _ = messy
    by = rows_by(summary)
    students = {"alice", "peggy", "arthur", "bob", "carol", "dave", "erin", "frank", "zoe"}
    assert {r["student"] for r in summary.rows} == students
    for student in students:
        for ex in ("99.add_arrays", "99.scale"):
            assert (student, ex) in by, (student, ex)
    assert len(summary.rows) == 2 * len(students)
    for student in ("alice", "peggy", "arthur", "carol", "frank"):
        assert by[(student, "99.add_arrays")]["status"] == "passed", by[(student, "99.add_arrays")]
        assert by[(student, "99.scale")]["status"] == "passed"
    assert (by[("bob", "99.add_arrays")]["status"], by[("bob", "99.scale")]["status"]) == (
        "passed", "missing")
    for student in ("erin", "zoe"):
        assert by[(student, "99.add_arrays")]["status"] == "missing"
        assert by[(student, "99.scale")]["max_score"] == "1"
    assert "has no folder" in by[("zoe", "99.scale")]["message"]
    assert by[("dave", "99.add_arrays")]["status"] == "error"
    assert "a/99_fixture.ipynb, b/99_fixture.ipynb" in by[("dave", "99.add_arrays")]["message"]
    assert (out / "feedback" / "erin" / "99_fixture.md").is_file()


def test_renamed_and_nested_work_is_graded_and_said_so(messy):
    summary, subs, out, _ = messy
    peggy = (out / "feedback" / "peggy" / "99_fixture.md").read_text()
    assert "graded `99_fixture (1).ipynb` as `99_fixture.ipynb`" in peggy
    arthur = (out / "feedback" / "arthur" / "99_fixture.md").read_text()
    assert "graded `rnn-homework/99_fixture.ipynb`" in arthur
    frank = (out / "feedback" / "frank" / "99_fixture.md").read_text()
    assert "`my_helpers.py`" in frank  # the helper module was importable in the sandbox


def test_nothing_is_ignored_silently(messy):
    summary, *_ = messy
    ignored = "\n".join(summary.ignored)
    for path in ("stray.ipynb", "frank/report.pdf", "carol/Copy of 99_fixture.ipynb"):
        assert path in ignored, path
    assert "frank/my_helpers.py" not in ignored  # a helper is used, not ignored
    assert "ignored 3 path(s)" in summary.text and "not on the roster (graded anyway)" in summary.text
    assert "1 notebook(s) with several candidate files" in summary.text


def test_totals_lms_export_and_manual_scores(messy, tmp_path):
    summary, subs, out, roster = messy
    totals = {t["student"]: t for t in csv_rows(out / "students.csv")}
    assert (totals["alice"]["total"], totals["alice"]["max_total"]) == ("3", "3")
    assert (totals["bob"]["total"], totals["bob"]["max_total"]) == ("2", "3")
    assert (totals["zoe"]["99_fixture"], totals["zoe"]["99_fixture max"]) == ("0", "3")
    lms = csv_rows(out / "lms.csv")
    assert list(lms[0]) == ["student", "99_fixture", "total"]
    assert lms[0] == {"student": "Points Possible", "99_fixture": "3", "total": "3"}
    assert {r["student"]: r["total"] for r in lms[1:]}["bob"] == "2"
    # written answers: listed, then scored by hand in manual.csv and merged by the next run
    written = csv_rows(out / "written.csv")
    assert written == []  # these submissions hold no answer cell
    copy = tmp_path / "out"
    shutil.copytree(out, copy)
    (copy / "manual.csv").write_text("student,notebook,item,score,max_score,comment\n"
                                     "alice,99_fixture.ipynb,why linear,2,2,clear\n"
                                     "bob,99_fixture.ipynb,why linear,1,2,\n")
    again = grade(subs, copy, roster=roster, seed=1, **KW)
    assert again.graded == 0  # nothing regraded: only the manual scores were merged
    by = rows_by(again)
    assert by[("alice", "manual: why linear")]["status"] == "manual"
    assert by[("carol", "manual: why linear")]["status"] == "not graded"
    totals = {t["student"]: t for t in csv_rows(copy / "students.csv")}
    assert (totals["alice"]["total"], totals["alice"]["max_total"]) == ("5", "5")
    assert (totals["bob"]["total"], totals["bob"]["max_total"]) == ("3", "5")
    assert (totals["carol"]["total"], totals["carol"]["max_total"]) == ("3", "5")


def test_written_answers_are_listed_as_not_auto_graded(tmp_path):
    from rnnlab.grading.generate import generate_notebook, render

    subs = tmp_path / "subs"
    nb = generate_notebook(fx.solution_notebook(), fx.NOTEBOOK)
    write(subs, f"amy/{fx.NOTEBOOK}", render(nb))
    answered = render(nb).replace("*Write your answer here.*", "Because sums are linear.")
    write(subs, f"ben/{fx.NOTEBOOK}", answered)
    write(tmp_path, f"solutions/{fx.NOTEBOOK}", fx.dumps(fx.solution_notebook()))
    summary = grade(subs, tmp_path / "out", solutions=tmp_path / "solutions", **KW)
    feedback = (tmp_path / "out" / "feedback" / "amy" / "99_fixture.md").read_text()
    assert "## Written answers (not auto-graded)" in feedback and "not answered yet" in feedback
    written = csv_rows(tmp_path / "out" / "written.csv")
    # named after the solutions' heading above the answer, found by cell id once answered
    assert [(w["student"], w["item"], w["answered"]) for w in written] == [
        ("amy", "written answer 1 (Fixture exercises)", "no"),
        ("ben", "written answer 1 (Fixture exercises)", "yes")]
    # without the solutions the exercise notebook's own names find them, answered or not
    grade(subs, tmp_path / "out2", **KW)
    assert csv_rows(tmp_path / "out2" / "written.csv") == written
    # a forged name is not taken as it is
    forged = answered.replace('"written_answer": "written answer 1 (Fixture exercises)"',
                              '"written_answer": "=HYPERLINK(\\"x\\")"')
    assert forged != answered
    write(subs, f"ben/{fx.NOTEBOOK}", forged)
    grade(subs, tmp_path / "out3", **KW)
    items = {w["student"]: w["item"] for w in csv_rows(tmp_path / "out3" / "written.csv")}
    assert items["ben"] == "answer 1"


def test_manual_scores_that_do_not_fit_the_gradebook_are_reported(tmp_path):
    from rnnlab.grading.generate import generate_notebook, render

    subs, out = tmp_path / "subs", tmp_path / "out"
    nb = render(generate_notebook(fx.solution_notebook(), fx.NOTEBOOK))
    for student in ("amy", "ben"):
        write(subs, f"{student}/{fx.NOTEBOOK}", nb)
    grade(subs, out, **KW)
    item = "written answer 1 (Fixture exercises)"
    (out / "manual.csv").write_text(
        "student,notebook,item,score,max_score,comment\n"
        f"amy,{fx.NOTEBOOK},{item},3,3,\n"
        f"ben,{fx.NOTEBOOK},{item},1,4,\n"             # another max_score for the same item
        f"amyy,{fx.NOTEBOOK},{item},2,3,\n"            # a student who does not exist
        f"amy,{fx.NOTEBOOK},written answer 1,1,1,\n")  # an item written.csv does not list
    said = []
    summary = grade(subs, out, **{**KW, "echo": said.append})
    text = "\n".join(said)
    assert "student 'amyy' is neither in SUBMISSIONS nor on the roster" in text
    assert "item 'written answer 1' of 99_fixture.ipynb is not in written.csv" in text
    assert "different max_score values; the largest, 4, is used" in text
    manual = [r for r in summary.rows if r["exercise"] == f"manual: {item}"]
    assert {r["student"] for r in manual} == {"amy", "ben"}
    assert {r["max_score"] for r in manual} == {"4"}
    totals = {t["student"]: t for t in csv_rows(out / "students.csv")}
    assert set(totals) == {"amy", "ben"}
    assert totals["amy"]["max_total"] == totals["ben"]["max_total"]

    # a skipped row sets no maximum; a second row for one student and item is not counted twice;
    # a score that is not finite and a notebook name without .ipynb are refused
    (out / "manual.csv").write_text(
        "student,notebook,item,score,max_score,comment\n"
        f"amy,{fx.NOTEBOOK},{item},2,2,\n"
        f"amy,{fx.NOTEBOOK},{item},2,2,\n"
        f"ben,{fx.NOTEBOOK},{item},1,2,\n"
        f"bem,{fx.NOTEBOOK},{item},10,10,\n"
        f"ben,99_fixture,{item},1,1,\n"
        f"amy,{fx.NOTEBOOK},extra,inf,inf,\n")
    said.clear()
    summary = grade(subs, out, **{**KW, "echo": said.append})
    text = "\n".join(said)
    assert "amy has several rows for item" in text and "the last one is used" in text
    assert "notebook '99_fixture' is not a notebook of this course" in text
    assert "must be finite numbers" in text
    manual = [r for r in summary.rows if r["exercise"] == f"manual: {item}"]
    assert sorted((r["student"], r["score"], r["max_score"]) for r in manual) == [
        ("amy", "2", "2"), ("ben", "1", "2")]
    totals = {t["student"]: t for t in csv_rows(out / "students.csv")}
    assert totals["amy"]["max_total"] == totals["ben"]["max_total"]


def test_a_copied_answer_cell_is_one_written_answer(tmp_path):
    import json

    from rnnlab.grading.generate import generate_notebook, render

    nb = json.loads(render(generate_notebook(fx.solution_notebook(), fx.NOTEBOOK)))
    index = next(i for i, c in enumerate(nb["cells"])
                 if "written_answer" in c["metadata"].get("rnnlab", {}))
    copy = json.loads(json.dumps(nb["cells"][index]))
    copy["id"], copy["source"] = "my-copy", ["Because sums are linear."]
    nb["cells"].insert(index + 1, copy)  # Jupyter keeps the metadata of a copied or split cell
    write(tmp_path / "subs", f"amy/{fx.NOTEBOOK}", json.dumps(nb))
    grade(tmp_path / "subs", tmp_path / "out", **KW)
    written = csv_rows(tmp_path / "out" / "written.csv")
    assert [(w["item"], w["answered"]) for w in written] == [
        ("written answer 1 (Fixture exercises)", "yes")]


def test_roster_only_students_and_a_small_memory_limit_are_explained(tmp_path):
    write(tmp_path / "subs", f"amy/{fx.NOTEBOOK}", FULL)
    roster = tmp_path / "roster.txt"
    roster.write_text("amy\nzoe\n")
    said = []
    grade(tmp_path / "subs", tmp_path / "out", roster=roster, **{**KW, "memory_mb": 512,
                                                                "echo": said.append})
    assert any("warning: --memory 512" in line and "torch" in line for line in said)
    feedback = (tmp_path / "out" / "feedback" / "zoe" / "99_fixture.md").read_text()
    assert "the roster lists this student, who has no folder of submissions" in feedback
    assert "SUBMISSIONS" not in feedback


def test_stale_rows_and_their_feedback_leave_the_gradebook(tmp_path):
    subs, out = tmp_path / "subs", tmp_path / "out"
    write(subs, f"alice/{fx.NOTEBOOK}", FULL)
    write(subs, f"bob/{fx.NOTEBOOK}", FULL)
    first = grade(subs, out, **KW)
    assert first.graded == 2
    # alice's notebook leaves the folder; bob's is renamed to a copy name
    (subs / "alice" / fx.NOTEBOOK).unlink()
    (subs / "bob" / fx.NOTEBOOK).rename(subs / "bob" / "Copy of 99_fixture.ipynb")
    second = grade(subs, out, **KW)
    by = rows_by(second)
    assert by[("alice", "99.add_arrays")]["status"] == "missing"  # no longer "passed"
    assert by[("bob", "99.add_arrays")]["status"] == "passed"
    assert second.stale == ["alice/99_fixture.ipynb"] and "removed 1 submission(s)" in second.text
    assert "Not graded" in (out / "feedback" / "alice" / "99_fixture.md").read_text()
    assert second.graded == 1  # bob's renamed file is regraded (its feedback names the rename)
    # a whole student folder leaves: the student leaves the gradebook and the feedback goes
    shutil.rmtree(subs / "alice")
    third = grade(subs, out, **KW)
    assert {r["student"] for r in third.rows} == {"bob"}
    assert {r["student"] for r in csv_rows(out / "grades.csv")} == {"bob"}
    assert not (out / "feedback" / "alice").exists()  # her earlier "missing" feedback too


def test_cli_exit_status_when_something_was_ignored(tmp_path, monkeypatch):
    subs, out = tmp_path / "subs", tmp_path / "out"
    write(subs, f"alice/{fx.NOTEBOOK}", FULL)
    (tmp_path / "solutions").mkdir()
    args = [str(subs), "--out", str(out), "--no-progress", "--timeout", "8",
            "--solutions", str(tmp_path / "solutions")]
    assert _fixture_main(monkeypatch, *args)[0] == 0
    write(subs, "alice/notes.txt", "todo")
    assert _fixture_main(monkeypatch, *args)[0] == 1
    assert _fixture_main(monkeypatch, *args, "--allow-ignored")[0] == 0


def test_skip_tagged_cells_are_not_run_and_earlier_work_survives_an_error(tmp_path):
    subs = tmp_path / "subs"
    write(subs, f"tagged/{fx.NOTEBOOK}", fx.dumps(fx.notebook(
        fx.ADD_OK, ("code", "import time\ntime.sleep(30)", ["grader-skip"]), fx.SCALE_OK)))
    write(subs, f"raises/{fx.NOTEBOOK}", fx.dumps(fx.notebook(
        fx.ADD_OK, fx.SCALE_OK, "raise RuntimeError('later cell broken')", "def extra():\n    pass")))
    summary = grade(subs, tmp_path / "out", **KW)
    by = rows_by(summary)
    for student in ("tagged", "raises"):
        assert by[(student, "99.add_arrays")]["status"] == "passed", by[(student, "99.add_arrays")]
        assert by[(student, "99.scale")]["status"] == "passed"
    tagged = (tmp_path / "out" / "feedback" / "tagged" / "99_fixture.md").read_text()
    assert "1 ungraded experiment cell(s) tagged `grader-skip` were not run" in tagged
    raises = (tmp_path / "out" / "feedback" / "raises" / "99_fixture.md").read_text()
    assert "raised RuntimeError: later cell broken" in raises


def test_a_function_that_hangs_does_not_take_the_others_down(tmp_path):
    subs = tmp_path / "subs"
    write(subs, f"slow/{fx.NOTEBOOK}", fx.dumps(fx.notebook(
        "def add_arrays(a, b):\n    while True:\n        pass", fx.SCALE_OK)))
    summary = grade(subs, tmp_path / "out", **KW)
    by = rows_by(summary)
    assert by[("slow", "99.add_arrays")]["status"] == "error"
    assert "did not return within" in by[("slow", "99.add_arrays")]["message"]
    assert by[("slow", "99.scale")]["status"] == "passed"


@pytest.mark.parametrize("level", ["none", "mistake", "full"])
def test_hints_switch(tmp_path, level):
    subs = tmp_path / "subs"
    write(subs, f"sub/{fx.NOTEBOOK}", fx.dumps(fx.notebook(
        "def add_arrays(a, b):\n    return a - b", "def scale(x, factor):\n    return x, 0.0")))
    summary = grade(subs, tmp_path / "out", hints=level, **KW)
    feedback = (tmp_path / "out" / "feedback" / "sub" / "99_fixture.md").read_text()
    by = rows_by(summary)
    mistake, hint = "subtracted b from a instead of adding", "Multiply, then sum the scaled array."
    assert (mistake in feedback) == (level != "none")
    assert (mistake in by[("sub", "99.add_arrays")]["message"]) == (level != "none")
    assert (hint in feedback) == (level == "full")
    assert feedback.count("Likely mistake") == (level != "none")


def _fixture_main(monkeypatch, *argv):
    import rnnlab.grading.grade as g

    real, seen = g.grade, {}

    def fixture_grade(*a, **kw):
        seen.update(kw)
        kw["exercises"] = fx.EXERCISES
        return real(*a, **kw)

    monkeypatch.setattr(g, "grade", fixture_grade)
    return main(["grade", *argv]), seen


def test_cli_solutions_folder_is_optional_but_a_wrong_one_is_an_error(tmp_path, monkeypatch,
                                                                        capsys):
    subs = tmp_path / "subs"
    write(subs, f"alice/{fx.NOTEBOOK}", FULL)
    monkeypatch.chdir(tmp_path)  # no solutions/ here: graded anyway, written answers numbered
    base = [str(subs), "--out", str(tmp_path / "out"), "--no-progress", "--timeout", "8"]
    status, seen = _fixture_main(monkeypatch, *base)
    assert status == 0 and seen["solutions"] is None
    assert "pass --solutions DIR" in capsys.readouterr().err
    assert (tmp_path / "out" / "grades.csv").exists()
    status, _ = _fixture_main(monkeypatch, *base, "--solutions", str(tmp_path / "nowhere"))
    assert status == 2 and "is not a folder" in capsys.readouterr().err


@pytest.mark.parametrize("old, new", [("process", "process"), ("namespace", "bwrap"),
                                      ("auto", "bwrap")])
def test_cli_accepts_the_former_sandbox_option(tmp_path, monkeypatch, old, new):
    import rnnlab.grading.grade as g

    real, modes = g.grade, []
    monkeypatch.setattr(g, "grade", lambda *a, **kw: modes.append(real(*a, **kw).mode) or
                        g.Summary())
    monkeypatch.chdir(tmp_path)
    (tmp_path / "subs").mkdir()
    assert main(["grade", "subs", "--out", "out", "--no-progress", "--sandbox", old]) == 0
    assert modes == [new]  # the isolation the grader ran with


def test_names_a_spreadsheet_would_run_as_formulas_are_quoted_in_every_csv(tmp_path):
    """A student folder or a file named like a formula (`=cmd|' /C calc'!A0`, `@SUM(1)`, `+1`,
    `-2`) must not reach a spreadsheet as a formula: every CSV cell that starts with = + - @ (or a
    tab / carriage return) and is not a number gets a leading apostrophe; manual.csv rows copied
    from written.csv still find their student."""
    from rnnlab.grading.generate import generate_notebook, render

    subs, out = tmp_path / "subs", tmp_path / "out"
    nb = render(generate_notebook(fx.solution_notebook(), fx.NOTEBOOK))
    names = ["=cmd|' \\C calc'!A0", "@SUM(1)", "+1", "-2", "\tx", 'a, "b"']
    for name in names:
        write(subs, f"{name}/{fx.NOTEBOOK}", nb)
    write(subs, "eve/=HYPERLINK(1).ipynb", FULL)
    summary = grade(subs, out, **{**KW, "jobs": 1})
    assert {r["student"] for r in summary.rows} == set(names) | {"eve"}  # the rows keep the names
    for name in ("grades.csv", "students.csv", "lms.csv", "written.csv"):
        with open(out / name, newline="", encoding="utf-8") as f:
            cells = [c for row in csv.reader(f) for c in row]
        for cell in cells:
            if cell[:1] in ("=", "+", "-", "@", "\t", "\r"):
                float(cell)  # only a number may start so
        assert "'=cmd|' \\C calc'!A0" in cells and "'@SUM(1)" in cells, name
    assert "'=HYPERLINK(1).ipynb" in [r["notebook"] for r in csv_rows(out / "grades.csv")]
    written = csv_rows(out / "written.csv")
    manual = [dict(w, score="1", max_score="1") for w in written]
    with open(out / "manual.csv", "w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=list(written[0]))
        writer.writeheader()
        writer.writerows(manual)
    said = []
    again = grade(subs, out, **{**KW, "echo": said.append})
    assert "neither in SUBMISSIONS" not in "\n".join(said)
    got = {r["student"] for r in again.rows if r["status"] == "manual"}
    assert got == set(names)
