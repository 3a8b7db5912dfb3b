"""What ``rnnlab grade`` writes into ``--out``, and how it reads it back.

- ``.graded.jsonl``, the ledger: one JSON record per graded submission (its SHA-256, its rows, its
  written answers), appended and flushed as each submission is graded; the source of truth.
- ``grades.csv``: one row per (student, notebook, exercise), rewritten from the ledger, sorted.
- ``feedback/<student>/<notebook>.md``: what a student reads.
- ``written.csv``: the written answers to score by hand; the instructor's scores go into
  ``manual.csv`` and are merged into the gradebook on the next run.
- ``students.csv`` (totals per student and notebook) and ``lms.csv`` (an LMS import: one column
  per assignment, a ``Points Possible`` row first).
"""
from __future__ import annotations

import csv
import io
import json
import math
import os
from collections import Counter
from pathlib import Path
from typing import Callable, Iterable, Sequence

import numpy as np

from rnnlab.grading.checker import format_points
from rnnlab.grading.outcome import one_line
from rnnlab.grading.spec import Exercise

__all__ = ["FIELDS", "STATUSES", "row", "write_atomic", "append", "csv_text", "load_ledger",
           "write_ledger", "sorted_rows", "feedback_path", "read_manual", "check_manual",
           "owed_manual_rows", "write_reports", "summary_text", "not_graded_feedback",
           "feedback_text"]

FIELDS = ("student", "notebook", "exercise", "score", "max_score", "status", "message")
# a row's status: a check's verdict (rnnlab.grading.checker) or what kept the grader from one
STATUSES = ("passed", "wrong", "not attempted", "error", "missing", "timeout", "memory", "crashed",
            "invalid notebook", "unknown notebook")
CSV_NAME = "grades.csv"
LEDGER_NAME = ".graded.jsonl"
MANUAL_NAME = "manual.csv"
WRITTEN_NAME = "written.csv"
TOTALS_NAME = "students.csv"
LMS_NAME = "lms.csv"
MANUAL_FIELDS = ("student", "notebook", "item", "score", "max_score", "comment")
WRITTEN_FIELDS = ("student", "notebook", "item", "answered", "score", "max_score", "comment")
MAX_ROW_MESSAGE = 1000  # characters of a gradebook row's message


def row(student: str, notebook: str, exercise: str, score: float, max_score: float, status: str,
        message: str) -> dict:
    """One gradebook row (a dict with :data:`FIELDS`; the message on one line, cut to length)."""
    return {"student": student, "notebook": notebook, "exercise": exercise,
            "score": format_points(score), "max_score": format_points(max_score), "status": status,
            "message": one_line(message, MAX_ROW_MESSAGE)}


def write_atomic(path: Path, text: str) -> None:
    """Replace ``path`` by ``text`` so that a reader (or an interrupted run) sees the old file or
    the new one, never half of one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    with open(tmp, "w", encoding="utf-8", newline="") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
    fd = os.open(path.parent, os.O_RDONLY)  # the rename itself reaches the disk
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def append(path: Path, text: str) -> None:
    """Append ``text`` to ``path`` and flush it to the disk before returning."""
    with open(path, "a", encoding="utf-8", newline="") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())


FORMULA_START = ("=", "+", "-", "@", "\t", "\r")  # what makes a spreadsheet read a cell as a formula


def csv_cell(value) -> str:
    """A value as a CSV cell a spreadsheet shows as text: a student's folder or file name such as
    ``=cmd|' /C calc'!A0`` or ``@SUM(1)`` gets a leading apostrophe (numbers are left alone)."""
    text = "" if value is None else str(value)
    if text.startswith(FORMULA_START):
        try:
            float(text)
        except ValueError:
            return "'" + text
    return text


def uncsv_cell(text: str) -> str:
    """Inverse of :func:`csv_cell` (a cell copied from one of the gradebook's CSV files)."""
    return text[1:] if text.startswith("'") and text[1:].startswith(FORMULA_START) else text


def csv_text(rows: Iterable[dict], header: bool = True, fields: Sequence[str] = FIELDS) -> str:
    """``rows`` (dicts) as CSV text with the columns ``fields``, each cell through :func:`csv_cell`."""
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=list(fields), lineterminator="\n")
    if header:
        writer.writerow({k: csv_cell(k) for k in fields})
    for row in rows:
        writer.writerow({k: csv_cell(v) for k, v in row.items()})
    return buf.getvalue()


def load_ledger(path: Path) -> dict[str, dict]:
    """``{submission key: record}`` from the ledger (the last record of a key wins; a line cut short
    by an interruption is skipped)."""
    ledger: dict[str, dict] = {}
    if not path.exists():
        return ledger
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            try:
                rec = json.loads(line)
            except ValueError:
                continue  # a line cut short by an interruption
            if isinstance(rec, dict) and isinstance(rec.get("key"), str) and isinstance(rec.get("rows"), list):
                ledger[rec["key"]] = rec
    return ledger


def write_ledger(path: Path, ledger: dict[str, dict]) -> None:
    """Rewrite the ledger with one record per submission, sorted by key."""
    write_atomic(path, "".join(json.dumps(ledger[k], ensure_ascii=False, sort_keys=True) + "\n"
                               for k in sorted(ledger)))


def sorted_rows(ledger: dict[str, dict]) -> list[dict]:
    """The ledger's gradebook rows, sorted by submission and exercise."""
    rows = []
    for key in sorted(ledger):
        rows.extend(sorted(ledger[key]["rows"], key=lambda r: r.get("exercise", "")))
    return [{k: str(r.get(k, "")) for k in FIELDS} for r in rows]


def feedback_path(out: Path, student: str, notebook: str) -> Path:
    """``out/feedback/<student>/<notebook stem>.md``."""
    stem = notebook[:-len(".ipynb")] if notebook.endswith(".ipynb") else notebook
    return out / "feedback" / student / f"{stem}.md"


def read_manual(path: Path, say: Callable[[str], None]) -> list[dict]:
    """Rows of ``manual.csv`` (student, notebook, item, score, max_score[, comment]): scores the
    instructor gave by hand (written answers). A malformed line is reported and skipped."""
    if not path.exists():
        return []
    out = []
    with open(path, newline="", encoding="utf-8-sig") as f:
        reader = csv.DictReader(f)
        missing = [k for k in MANUAL_FIELDS[:5] if k not in (reader.fieldnames or [])]
        if missing:
            say(f"warning: {path.name} lacks the columns {', '.join(missing)}; it was not merged")
            return []
        for n, rec in enumerate(reader, start=2):
            try:
                score, most = float(rec["score"]), float(rec["max_score"])
                if not (math.isfinite(score) and math.isfinite(most)):
                    raise ValueError("not finite")
            except (TypeError, ValueError):
                if (rec.get("score") or "").strip() == "":
                    continue  # a line of written.csv copied without a score yet
                say(f"warning: {path.name} line {n}: score and max_score must be finite numbers; "
                    f"skipped")
                continue
            if not (rec["student"] and rec["notebook"] and rec["item"]) or not 0 <= score <= most:
                say(f"warning: {path.name} line {n}: needs student, notebook, item and "
                    f"0 <= score <= max_score; skipped")
                continue
            out.append({"student": uncsv_cell(rec["student"].strip()),
                        "notebook": uncsv_cell(rec["notebook"].strip()),
                        "exercise": "manual: " + uncsv_cell(rec["item"].strip()), "score": format_points(score),
                        "max_score": format_points(most), "status": "manual",
                        "message": one_line(rec.get("comment") or "scored by hand", MAX_ROW_MESSAGE)})
    return out


def check_manual(manual: list[dict], students: Sequence[str], notebooks: Sequence[str],
                 written: list[dict], say: Callable[[str], None]) -> list[dict]:
    """The rows of ``manual.csv`` that fit the gradebook, with a warning for each that does not:
    a student neither in SUBMISSIONS nor on the roster, or a notebook name that is neither a course
    notebook nor ends in ``.ipynb`` (skipped: the row would stand outside every total); several
    rows for one student and item (the last is used); an item of a course notebook that
    ``written.csv`` does not list (kept: an extra item every student owes); an item given
    different ``max_score`` values (the largest is used on every row)."""
    warned: set[str] = set()

    def warn(text: str) -> None:
        if text not in warned:
            warned.add(text)
            say(f"warning: {MANUAL_NAME}: {text}")

    kept: dict[tuple, dict] = {}
    for r in manual:
        item = r["exercise"][len("manual: "):]
        if r["student"] not in students:
            warn(f"student {r['student']!r} is neither in SUBMISSIONS nor on the roster; their "
                 f"rows are skipped")
        elif r["notebook"] not in notebooks and not r["notebook"].endswith(".ipynb"):
            warn(f"notebook {r['notebook']!r} is not a notebook of this course (names end in "
                 f".ipynb); its rows are skipped")
        else:
            key = (r["student"], r["notebook"], r["exercise"])
            if key in kept:
                warn(f"{r['student']} has several rows for item {item!r} of {r['notebook']}; the "
                     f"last one is used")
            kept[key] = r
    listed = {(w["notebook"], "manual: " + w["item"]) for w in written}
    course = {w["notebook"] for w in written}
    most: dict[tuple, float] = {}
    for r in kept.values():
        key = (r["notebook"], r["exercise"])
        most[key] = max(most.get(key, 0.0), float(r["max_score"]))
    out = []
    for r in kept.values():
        key, item = (r["notebook"], r["exercise"]), r["exercise"][len("manual: "):]
        if r["notebook"] in course and key not in listed:
            warn(f"item {item!r} of {r['notebook']} is not in {WRITTEN_NAME} (a typo?); it is "
                 f"kept as an extra item that every student owes")
        if float(r["max_score"]) != most[key]:
            warn(f"item {item!r} of {r['notebook']} has different max_score values; the largest, "
                 f"{format_points(most[key])}, is used on every row")
            r = {**r, "max_score": format_points(most[key])}
        out.append(r)
    return out


def owed_manual_rows(manual: list[dict], students: Sequence[str]) -> list[dict]:
    """A manual item scored for some students is owed by all: a ``not graded`` row with 0 of its
    points for every student who has no score for it yet. ``manual`` comes from
    :func:`check_manual`, so every row of an item has the same ``max_score``."""
    items = {(r["notebook"], r["exercise"]): r["max_score"] for r in manual}
    have = {(r["student"], r["notebook"], r["exercise"]) for r in manual}
    return [{"student": student, "notebook": nb, "exercise": item, "score": "0",
             "max_score": most, "status": "not graded",
             "message": f"no score for this item in {MANUAL_NAME} yet"}
            for student in students for (nb, item), most in sorted(items.items())
            if (student, nb, item) not in have]


def _totals(rows: list[dict], students: list[str], notebooks: list[str]) -> list[dict]:
    """One dict per student: ``student``, per notebook ``<stem>`` and ``<stem> max``, ``total``,
    ``max_total`` (absent work is in ``rows`` as 0 of its points)."""
    out = []
    for student in students:
        rec = {"student": student}
        total = most = 0.0
        for nb in notebooks:
            mine = [r for r in rows if r["student"] == student and r["notebook"] == nb]
            s = sum(float(r["score"] or 0) for r in mine)
            m = sum(float(r["max_score"] or 0) for r in mine)
            stem = nb[:-len(".ipynb")]
            rec[stem], rec[f"{stem} max"] = format_points(s), format_points(m)
            total, most = total + s, most + m
        rec["total"], rec["max_total"] = format_points(total), format_points(most)
        out.append(rec)
    return out


def _lms_csv(totals: list[dict], notebooks: list[str]) -> str:
    """The LMS export: ``student``, one column per assignment (= notebook, named by its stem), then
    ``total``; the first data row, ``Points Possible``, holds each column's maximum."""
    stems = [nb[:-len(".ipynb")] for nb in notebooks]
    fields = ["student", *stems, "total"]
    possible = {"student": "Points Possible"}
    for stem in stems:
        possible[stem] = max((t[f"{stem} max"] for t in totals), key=float, default="0")
    possible["total"] = max((t["max_total"] for t in totals), key=float, default="0")
    rows = [possible] + [{k: t[k] for k in fields} for t in totals]
    return csv_text(rows, fields=fields)


def summary_text(rows: list[dict], exs: Sequence[Exercise], graded: int, skipped: int, seconds: float,
                 mode: str) -> str:
    """What the run did and, per exercise, its points, mean score, count and score distribution."""
    lines = [f"Graded {graded} submission{'s' * (graded != 1)} in {seconds:.1f} s "
             f"({skipped} unchanged, skipped) [isolation: {mode}]; {len(rows)} rows in the gradebook."]
    by_ex: dict[str, list[dict]] = {}
    for r in rows:
        if r["exercise"]:
            by_ex.setdefault(r["exercise"], []).append(r)
    if by_ex:
        width = max(len("exercise"), *(len(k) for k in by_ex))
        lines.append(f"{'exercise':<{width}}  points  mean   n  scores (score: count)")
        points = {e.id: e.points for e in exs}
        for key in sorted(by_ex):
            scores = [float(r["score"]) for r in by_ex[key]]
            dist = Counter(scores)
            pts = points.get(key, float(by_ex[key][0]["max_score"] or 0))
            dist_text = ", ".join(f"{format_points(s)}: {dist[s]}" for s in sorted(dist))
            lines.append(f"{key:<{width}}  {format_points(pts):>6}  {np.mean(scores):4.2f}  "
                         f"{len(scores):2d}  {dist_text}")
    counts = Counter(r["status"] for r in rows)
    order = [s for s in STATUSES if s in counts] + sorted(s for s in counts if s not in STATUSES)
    lines.append("statuses: " + (", ".join(f"{s} {counts[s]}" for s in order) or "none"))
    return "\n".join(lines)


def not_graded_feedback(student: str, notebook: str, message: str,
                        points: float | None = None) -> str:
    """The feedback on a notebook that was not graded (unknown, not submitted, several candidate
    files); ``points``: what its exercises were worth, shown as a total of 0."""
    total = "" if points is None else f"**Total: 0 / {format_points(points)} points.**\n\n"
    return f"# Feedback: {notebook}\n\nStudent: {student}\n\n{total}**Not graded**: {message}\n"


def feedback_text(student: str, notebook: str, results: list, notes: list[str], hints: str,
                  written: list[dict]) -> str:
    """The feedback a student reads: the total, one section per exercise (``results`` are
    ``(Exercise, CheckResult)`` pairs) with as much advice as ``hints`` allows, the written
    answers still to be scored by hand, and ``notes`` on running the notebook."""
    total = sum(r.score for _, r in results)
    possible = sum(r.max_score for _, r in results)
    lines = [f"# Feedback: {notebook}", "", f"Student: {student}", "",
             f"**Total: {format_points(total)} / {format_points(possible)} points** (auto-graded "
             f"exercises).", "",
             "| exercise | score | status |", "|---|---|---|"]
    for ex, r in results:
        lines.append(f"| {ex.id}: {ex.title} | {format_points(r.score)}/{format_points(r.max_score)} "
                     f"| {r.status} |")
    lines.append("")
    for ex, r in results:
        lines += [f"## {ex.id}: {ex.title} ({format_points(r.score)}/{format_points(r.max_score)}, "
                  f"{r.status})", ""]
        if r.checked:
            lines += [f"- **Checked:** {r.checked}.", ""]
        if r.passed:
            lines += [f"- **Result:** {r.detail}.", ""]
        else:
            lines += [f"- **What went wrong:** {r.detail}", ""]
            if r.mistake and hints in ("mistake", "full"):
                lines += [f"- **Likely mistake:** {r.mistake}", ""]
            elif r.hint and hints == "full":
                lines += [f"- **Hint:** {r.hint}", ""]
    if written:
        lines += ["## Written answers (not auto-graded)", "",
                  "Your instructor reads and scores these by hand:", ""]
        lines += [f"- {w['item']}: {'answered' if w['answered'] == 'yes' else 'not answered yet'}"
                  for w in written] + [""]
    if notes:
        lines += ["## Notes on running the notebook", ""] + [f"- {n}" for n in notes] + [""]
    lines += ["Scores come from your functions' results on fresh random inputs, compared with the "
              "reference by the grader; each exercise earns its points only when every case matches.", ""]
    return "\n".join(lines)


def write_reports(out: Path, rows: list[dict], students: Sequence[str], notebooks: Sequence[str],
                  written: list[dict]) -> list[dict]:
    """Write ``grades.csv`` (``rows``), ``students.csv``, ``lms.csv`` and ``written.csv``; return
    the totals (one dict per student)."""
    write_atomic(out / CSV_NAME, csv_text(rows))
    totals = _totals(rows, students, notebooks)
    fields = ["student"] + [f for nb in notebooks for f in (nb[:-6], f"{nb[:-6]} max")] + [
        "total", "max_total"]
    write_atomic(out / TOTALS_NAME, csv_text(totals, fields=fields))
    write_atomic(out / LMS_NAME, _lms_csv(totals, notebooks))
    written = sorted(written, key=lambda w: (w["student"], w["notebook"], w["item"]))
    write_atomic(out / WRITTEN_NAME, csv_text(written, fields=WRITTEN_FIELDS))
    return totals
