"""``rnnlab grade SUBMISSIONS --out DIR``: a folder of student notebooks -> a gradebook and feedback.

``SUBMISSIONS/<student>/<notebook>.ipynb`` are matched to the registered exercises by file name. For
each submission the grader

1. reads the bytes (their SHA-256 keys the ledger) and validates the notebook;
2. draws fresh random cases for the notebook's exercises (after reading it; ``seed`` makes a run
   reproducible);
3. runs the notebook's code cells and calls the graded functions on those cases in a sandboxed child
   process (:mod:`rnnlab.grading.sandbox`), which sends back only the returned values;
4. judges the values here, with the exercise's judge and reference (:func:`rnnlab.grading.judge`);
5. writes ``feedback/<student>/<notebook>.md``, appends the rows to ``grades.csv`` and a record to
   the ledger ``.graded.jsonl`` (each flushed to disk before the next submission is reported).

Re-running skips submissions whose bytes (and exercises) have not changed; a changed submission is
regraded and its old rows replaced; ``regrade=True`` regrades everything. The ledger is the source of
truth: ``grades.csv`` is rewritten from it, sorted, at the start and at the end of every run, so an
interrupted run resumes to the same gradebook as an uninterrupted one.
"""
from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import sys
import time
import traceback
from collections import Counter
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Sequence

import numpy as np

from rnnlab.grading import serialize
from rnnlab.grading.checker import CheckResult, draw_cases, format_points, judge, missing_result
from rnnlab.grading.notebook import MAX_NOTEBOOK_BYTES, NotebookError, cell_source, parse_notebook
from rnnlab.grading.outcome import CallOutcome, ErrorInfo
from rnnlab.grading.sandbox import (Limits, RunResult, choose_mode, namespace_available, nproc_limit,
                                    python_paths, run_job)
from rnnlab.grading.spec import Exercise

__all__ = ["FIELDS", "STATUSES", "Submission", "Summary", "grade", "find_submissions"]

FIELDS = ("student", "notebook", "exercise", "score", "max_score", "status", "message")
STATUSES = ("passed", "wrong", "not attempted", "error", "missing", "timeout", "memory", "crashed",
            "invalid notebook", "unknown notebook")
CSV_NAME = "grades.csv"
LEDGER_NAME = ".graded.jsonl"
MAX_MESSAGE = 1000


@dataclass(frozen=True)
class Submission:
    student: str
    notebook: str
    path: Path

    @property
    def key(self) -> str:
        return f"{self.student}/{self.notebook}"


@dataclass
class Summary:
    """What a run did: ``graded`` submissions this run, ``skipped`` unchanged ones, all ``rows`` of the
    gradebook (dicts with :data:`FIELDS`), the sandbox ``mode`` and the text printed at the end."""

    graded: int = 0
    skipped: int = 0
    rows: list = field(default_factory=list)
    mode: str = ""
    text: str = ""
    ignored: list = field(default_factory=list)

    def status_counts(self) -> Counter:
        return Counter(r["status"] for r in self.rows)


# ----------------------------------------------------------------------------- discovery

def find_submissions(root: str | Path) -> tuple[list[Submission], list[str]]:
    """``root/<student>/<notebook>.ipynb`` sorted by student and notebook, and the paths ignored
    (anything else: files at the top, deeper folders, other extensions, checkpoints, links)."""
    root = Path(root)
    subs, ignored = [], []
    for student_dir in sorted(root.iterdir(), key=lambda p: p.name):
        if student_dir.name.startswith(".") or student_dir.name == "__MACOSX":
            continue
        if student_dir.is_symlink() or not student_dir.is_dir():
            ignored.append(student_dir.name)
            continue
        for path in sorted(student_dir.iterdir(), key=lambda p: p.name):
            rel = f"{student_dir.name}/{path.name}"
            if path.name.startswith("."):
                continue
            if path.suffix == ".ipynb" and path.is_file() and not path.is_symlink():
                subs.append(Submission(student_dir.name, path.name, path))
            else:
                ignored.append(rel)
    return subs, ignored


def _fingerprint(exs: Sequence[Exercise]) -> str:
    text = json.dumps([[e.id, e.function, float(e.points)] for e in exs])
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _case_seed(seed: int, key: str, exercise_id: str) -> list[int]:
    digest = hashlib.sha256(f"{seed}\0{key}\0{exercise_id}".encode()).digest()
    return [int.from_bytes(digest[i:i + 4], "little") for i in range(0, 16, 4)]


def _one_line(text: str) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= MAX_MESSAGE else text[:MAX_MESSAGE - 3] + "..."


def _body(message: str) -> str:
    head, sep, body = message.partition(": ")
    return body if sep else message


# ----------------------------------------------------------------------------- one submission

@dataclass
class _Graded:
    sub: Submission
    sha256: str
    fingerprint: str
    results: list  # (Exercise | None, CheckResult-like dict)
    rows: list
    feedback: str


def _row(sub: Submission, exercise: str, score: float, max_score: float, status: str, message: str) -> dict:
    return {"student": sub.student, "notebook": sub.notebook, "exercise": exercise,
            "score": format_points(score), "max_score": format_points(max_score), "status": status,
            "message": _one_line(message)}


def _signal_name(sig: int) -> str:
    import signal

    try:
        return signal.Signals(sig).name
    except ValueError:
        return f"signal {sig}"


class _RunReader:
    """Validated view of the frames a child sent (every field is checked: they come from hostile code)."""

    def __init__(self, run: RunResult, cells: list[dict], exercise_ids: set[str]):
        self.cell_errors: dict[int, ErrorInfo] = {}
        self.progress: str | None = None  # the last thing the child said it was doing
        self.exercise_frames: dict[str, tuple[dict, list]] = {}
        self.done = False
        for header, arrays in run.frames:
            kind = header.get("type")
            index = header.get("index")
            if kind == "cell" and type(index) is int and 0 <= index < len(cells):
                self.progress = f"running {cells[index]['label']}"
            elif kind == "cell_error" and type(index) is int and 0 <= index < len(cells):
                try:
                    self.cell_errors.setdefault(index, ErrorInfo.from_json(header.get("error")))
                except ValueError:
                    pass
            elif kind == "calls":
                self.progress = "calling the graded functions"
            elif kind == "calling" and header.get("id") in exercise_ids:
                self.progress = f"calling the function of {header['id']} on the grader's cases"
            elif kind == "exercise" and header.get("id") in exercise_ids:
                self.exercise_frames.setdefault(header["id"], (header, arrays))
            elif kind == "done":
                self.done = True


def _outcomes(header: dict, arrays: list, n_cases: int, n_args: list[int]) -> list[CallOutcome]:
    results = header.get("results")
    if type(results) is not list or len(results) != n_cases:
        raise serialize.WireError("wrong number of results")
    out = []
    for i, entry in enumerate(results):
        if type(entry) is not dict:
            raise serialize.WireError("malformed result")
        if "error" in entry:
            out.append(CallOutcome(error=ErrorInfo.from_json(entry["error"])))
            continue
        mutated_tree = entry.get("mutated", {})
        if type(mutated_tree) is not dict:
            raise serialize.WireError("malformed mutated arguments")
        mutated = {}
        for key, tree in mutated_tree.items():
            if not (isinstance(key, str) and key.isdigit() and int(key) < n_args[i]):
                raise serialize.WireError("mutated argument index out of range")
            mutated[int(key)] = serialize.decode(tree, arrays)
        out.append(CallOutcome(returned=serialize.decode(entry.get("returned"), arrays), mutated=mutated))
    return out


def _missing_message(ex: Exercise, frame: dict, cells: list[dict], reader: _RunReader) -> str:
    name = ex.function
    defined_as = frame.get("defined_as")
    if isinstance(defined_as, str):
        text = f"`{name}` is a {defined_as[:60]}, not a function, after running the notebook"
    else:
        text = f"no function named `{name}` after running the notebook"
    suggest = frame.get("suggest")
    if isinstance(suggest, list):
        names = [s for s in suggest if isinstance(s, str) and s.isidentifier()][:3]
        if names:
            text += f"; did you rename it? found {', '.join(f'`{s}`' for s in names)}"
    for index, cell in enumerate(cells):
        if f"def {name}" in cell["source"] and index in reader.cell_errors:
            text += f"; the cell that defines it ({cell['label']}) raised {reader.cell_errors[index].describe()}"
            break
    return text + f" (the exercise asks for `def {name}(...)`)"


def _no_result(ex: Exercise, run: RunResult, reader: _RunReader, limits: Limits) -> CheckResult:
    doing = reader.progress or "starting up"
    if run.timed_out:
        return missing_result(ex, f"the notebook did not finish within {limits.timeout:g} s: it was "
                                  f"still {doing} (an endless loop or a very slow cell?)",
                              status="timeout")
    sig = run.signal
    if sig is not None and _signal_name(sig) == "SIGXCPU":
        return missing_result(ex, f"the notebook used more than {int(limits.timeout) + 2} s of CPU "
                                  f"time while {doing}", status="timeout")
    if run.results_too_large:
        return missing_result(ex, f"the returned values were larger than "
                                  f"{limits.result_bytes // 2**20} MB in total", status="error")
    if run.setup_error:
        return missing_result(ex, f"the grader could not start the sandbox ({run.setup_error})",
                              status="crashed")
    if run.frame_problem:
        how = run.frame_problem
    elif sig is not None:
        how = f"it was killed by {_signal_name(sig)}"
        if _signal_name(sig) == "SIGKILL":
            how += " (out of memory?)"
    elif run.exit_code == 0:
        how = "it exited without reporting results (does it call os._exit()?)"
    else:
        how = f"it exited with code {run.exit_code}"
    return missing_result(ex, f"the notebook's process ended while {doing}, before `{ex.function}` "
                              f"was graded: {how}", status="crashed")


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _grade_one(sub: Submission, exs: list[Exercise] | None, known: Sequence[str], limits: Limits,
               mode: str, seed: int | None, hidden: list[str]) -> _Graded:
    too_big = sub.path.stat().st_size > MAX_NOTEBOOK_BYTES
    data = b"" if too_big else sub.path.read_bytes()
    sha = _sha256(sub.path) if too_big else hashlib.sha256(data).hexdigest()
    if exs is None:
        import difflib

        close = difflib.get_close_matches(sub.notebook, known, n=1, cutoff=0.5)
        message = (f"`{sub.notebook}` is not a notebook of this course; expected one of: "
                   f"{', '.join(known) if known else '(no exercises registered)'}")
        if close:
            message += f" (did you mean `{close[0]}`? rename the file and resubmit)"
        row = _row(sub, "", 0, 0, "unknown notebook", message)
        feedback = _feedback_unknown(sub, message)
        return _Graded(sub, sha, "", [], [row], feedback)
    fingerprint = _fingerprint(exs)
    try:
        if too_big:
            raise NotebookError(f"the file is larger than the {MAX_NOTEBOOK_BYTES // 2**20} MB a "
                                f"notebook may have")
        nb = parse_notebook(data)
    except NotebookError as err:
        message = f"the file is not a readable Jupyter notebook: {err}"
        results = [(ex, missing_result(ex, message, status="invalid notebook")) for ex in exs]
        return _finish(sub, sha, fingerprint, results, [], None, limits)
    cells = []
    for index, cell in enumerate(nb["cells"]):
        if cell.get("cell_type") == "code":
            cells.append({"label": f"cell {index + 1}", "source": cell_source(cell)})
    # the inputs are drawn now, after the notebook was read
    arrays: list[np.ndarray] = []
    job_exercises, all_cases = [], {}
    for ex in exs:
        rng = np.random.default_rng(None if seed is None else _case_seed(seed, sub.key, ex.id))
        cases = draw_cases(ex, rng)
        all_cases[ex.id] = cases
        trees = [serialize.encode(case, strict=True, arrays=arrays)[0] for case in cases]
        job_exercises.append({"id": ex.id, "function": ex.function, "cases": trees})
    job = serialize.pack({"sys_path": python_paths(), "cells": cells, "exercises": job_exercises,
                          "limits": limits.for_child(nproc_limit(mode, limits))}, arrays)
    run = run_job(job, limits, mode, hidden)
    reader = _RunReader(run, cells, {ex.id for ex in exs})
    results = []
    for ex in exs:
        frame = reader.exercise_frames.get(ex.id)
        if frame is None:
            results.append((ex, _no_result(ex, run, reader, limits)))
            continue
        header, arrs = frame
        if header.get("status") == "missing":
            results.append((ex, missing_result(ex, _missing_message(ex, header, cells, reader))))
            continue
        cases = all_cases[ex.id]
        try:
            outcomes = _outcomes(header, arrs, len(cases), [len(c) for c in cases])
        except (serialize.WireError, ValueError) as err:
            results.append((ex, missing_result(
                ex, f"the notebook's process sent results that could not be read ({err})",
                status="crashed")))
            continue
        try:
            results.append((ex, judge(ex, cases, outcomes)))
        except Exception as err:  # a broken check module must not end the batch
            results.append((ex, missing_result(
                ex, f"the grader could not judge this exercise ({type(err).__name__}: {err}); "
                    f"tell the course staff", status="error")))
    return _finish(sub, sha, fingerprint, results, cells, (run, reader), limits)


def _finish(sub, sha, fingerprint, results, cells, run_info, limits) -> _Graded:
    rows = [_row(sub, ex.id, r.score, r.max_score, r.status, _body(r.message)) for ex, r in results]
    notes = []
    if run_info is not None:
        run, reader = run_info
        for index in sorted(reader.cell_errors)[:10]:
            label = next((c["label"] for i, c in enumerate(cells) if i == index), f"cell {index}")
            err = reader.cell_errors[index]
            if err.type == "NotImplementedError":
                notes.append(f"{label} raised NotImplementedError (an exercise left as a stub?)")
            else:
                notes.append(f"{label} raised {err.describe()}")
        if len(reader.cell_errors) > 10:
            notes.append(f"... and {len(reader.cell_errors) - 10} more cells raised an exception")
        if run.output_truncated:
            notes.append(f"the notebook printed more than {limits.output_bytes // 2**20} MB; the rest of "
                         f"its output was discarded (output truncated; the score is not affected)")
    return _Graded(sub, sha, fingerprint, results, rows, _feedback(sub, results, notes))


# ----------------------------------------------------------------------------- feedback

def _feedback_unknown(sub: Submission, message: str) -> str:
    return (f"# Feedback: {sub.notebook}\n\nStudent: {sub.student}\n\n**Not graded**: {message}\n")


def _feedback(sub: Submission, results: list, notes: list[str]) -> str:
    total = sum(r.score for _, r in results)
    possible = sum(r.max_score for _, r in results)
    lines = [f"# Feedback: {sub.notebook}", "", f"Student: {sub.student}", "",
             f"**Total: {format_points(total)} / {format_points(possible)} points.**", "",
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
            lines += [f"- **Result:** {_body(r.message)}.", ""]
        else:
            lines += [f"- **What went wrong:** {_body(r.message)}", ""]
            if r.mistake:
                lines += [f"- **Likely mistake:** {r.mistake}", ""]
            elif r.hint and "Hint:" not in r.message:
                lines += [f"- **Hint:** {r.hint}", ""]
    if notes:
        lines += ["## Notes on running the notebook", ""] + [f"- {n}" for n in notes] + [""]
    lines += ["Scores come from your functions' results on fresh random inputs, compared with the "
              "reference by the grader; each exercise earns its points only when every case matches.", ""]
    return "\n".join(lines)


# ----------------------------------------------------------------------------- files

def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _write_atomic(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    with open(tmp, "w", encoding="utf-8", newline="") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
    _fsync_dir(path.parent)


def _append(path: Path, text: str) -> None:
    with open(path, "a", encoding="utf-8", newline="") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())


def _csv_text(rows: Iterable[dict], header: bool) -> str:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=FIELDS, lineterminator="\n")
    if header:
        writer.writeheader()
    for row in rows:
        writer.writerow(row)
    return buf.getvalue()


def _load_ledger(path: Path) -> dict[str, dict]:
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


def _sorted_rows(ledger: dict[str, dict]) -> list[dict]:
    rows = []
    for key in sorted(ledger):
        rows.extend(sorted(ledger[key]["rows"], key=lambda r: r.get("exercise", "")))
    return [{k: str(r.get(k, "")) for k in FIELDS} for r in rows]


def _feedback_path(out: Path, sub: Submission) -> Path:
    stem = sub.notebook[:-len(".ipynb")] if sub.notebook.endswith(".ipynb") else sub.notebook
    return out / "feedback" / sub.student / f"{stem}.md"


# ----------------------------------------------------------------------------- summary

def _summary_text(rows: list[dict], exs: Sequence[Exercise], graded: int, skipped: int, seconds: float,
                  mode: str) -> str:
    lines = [f"Graded {graded} submission{'s' * (graded != 1)} in {seconds:.1f} s "
             f"({skipped} unchanged, skipped) [sandbox: {mode}]; {len(rows)} rows in the gradebook."]
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


# ----------------------------------------------------------------------------- the batch

def _hidden_paths(submissions: Path, out: Path) -> list[str]:
    import rnnlab

    hidden = [str(submissions.resolve()), str(out.resolve())]
    repo = Path(rnnlab.__file__).resolve().parents[2]
    for candidate in (repo / "solutions", Path.cwd() / "solutions"):
        if candidate.is_dir():
            hidden.append(str(candidate.resolve()))
    return hidden


def grade(submissions: str | Path, out: str | Path, *, timeout: float = 120.0, memory_mb: int = 3072,
          jobs: int = 1, regrade: bool = False, seed: int | None = None, sandbox: str = "auto",
          exercises: Sequence[Exercise] | None = None, progress: bool = True,
          echo: Callable[[str], None] | None = print, limits: Limits | None = None) -> Summary:
    """Grade every ``submissions/<student>/<notebook>.ipynb`` into ``out`` (see the module doc).

    ``exercises`` defaults to the registry (:func:`rnnlab.grading.exercises`); ``sandbox`` is
    ``"auto"``, ``"namespace"`` or ``"process"``; ``seed`` makes the random cases reproducible (the
    default draws them from fresh entropy).
    """
    submissions, out = Path(submissions), Path(out)
    if not submissions.is_dir():
        raise FileNotFoundError(f"SUBMISSIONS must be a folder of <student>/<notebook>.ipynb, "
                                f"got {str(submissions)!r}")
    if timeout <= 0 or memory_mb < 64 or jobs < 1:
        raise ValueError("timeout must be > 0, memory_mb >= 64 and jobs >= 1")
    if out.resolve() == submissions.resolve() or submissions.resolve() in out.resolve().parents:
        raise ValueError("--out must not be inside SUBMISSIONS (students' folders would mix with "
                         "the gradebook)")
    say = echo or (lambda text: None)
    if exercises is None:
        from rnnlab.grading.registry import exercises as registered

        exercises = registered()
    exs = sorted(exercises, key=lambda e: e.id)
    for ex in exs:  # a broken check module is the course's bug: stop before grading anyone
        draw_cases(ex, np.random.default_rng(0))
    by_nb: dict[str, list[Exercise]] = {}
    for ex in exs:
        by_nb.setdefault(ex.notebook, []).append(ex)
    known = sorted(by_nb)
    limits = limits or Limits(timeout=float(timeout), memory_mb=int(memory_mb))
    mode = choose_mode(sandbox)
    if mode == "process" and sandbox == "auto":
        say(f"warning: the namespace sandbox is not available here ({namespace_available()[1]}); "
            f"submissions run as plain processes that can read your files (see the instructors' page)")
    hidden = _hidden_paths(submissions, out)

    out.mkdir(parents=True, exist_ok=True)
    csv_path, ledger_path = out / CSV_NAME, out / LEDGER_NAME
    ledger = _load_ledger(ledger_path)
    _write_atomic(csv_path, _csv_text(_sorted_rows(ledger), header=True))

    subs, ignored = find_submissions(submissions)
    for name in ignored:
        say(f"ignored {name}: not a <student>/<notebook>.ipynb file")
    todo = []
    skipped = 0
    for sub in subs:
        exs_nb = by_nb.get(sub.notebook)
        fingerprint = _fingerprint(exs_nb) if exs_nb else ""
        rec = ledger.get(sub.key)
        if not regrade and rec is not None and rec.get("fingerprint") == fingerprint:
            try:
                sha = _sha256(sub.path)
            except OSError:
                sha = None
            if sha == rec.get("sha256"):
                skipped += 1
                continue
        todo.append(sub)

    start = time.monotonic()
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=len(todo), desc="grading", unit="notebook", file=sys.stderr, leave=True)

    def work(sub: Submission) -> _Graded:
        try:
            return _grade_one(sub, by_nb.get(sub.notebook), known, limits, mode, seed, hidden)
        except Exception as err:  # never a crash of the batch, never a silent missing row
            trace = traceback.format_exc(limit=5)
            sys.stderr.write(f"internal error while grading {sub.key}:\n{trace}")
            exs_nb = by_nb.get(sub.notebook) or []
            try:
                sha = _sha256(sub.path)
            except OSError:
                sha = ""
            message = f"the grader failed on this submission ({type(err).__name__}: {err})"
            if isinstance(err, OSError):
                message = f"the file could not be read ({err})"
            results = [(ex, missing_result(ex, message, status="error")) for ex in exs_nb]
            if not results:
                row = _row(sub, "", 0, 0, "error", message)
                return _Graded(sub, sha, "", [], [row], _feedback_unknown(sub, message))
            return _finish(sub, sha, _fingerprint(exs_nb), results, [], None, limits)

    def record(graded: _Graded) -> None:
        sub = graded.sub
        _write_atomic(_feedback_path(out, sub), graded.feedback)
        rec = {"key": sub.key, "student": sub.student, "notebook": sub.notebook,
               "sha256": graded.sha256, "fingerprint": graded.fingerprint, "rows": graded.rows}
        _append(ledger_path, json.dumps(rec, ensure_ascii=False, sort_keys=True) + "\n")
        ledger[sub.key] = rec
        _append(csv_path, _csv_text(graded.rows, header=False))

    graded_count = 0
    try:
        with ThreadPoolExecutor(max_workers=jobs) as pool:
            pending = set()
            queue = list(todo)
            while queue or pending:
                while queue and len(pending) < jobs:
                    pending.add(pool.submit(work, queue.pop(0)))
                if not pending:
                    break
                done, pending = wait(pending, return_when=FIRST_COMPLETED)
                for fut in sorted(done, key=lambda f: f.result().sub.key):
                    record(fut.result())
                    graded_count += 1
                    if bar is not None:
                        bar.update(1)
    finally:
        if bar is not None:
            bar.close()
    rows = _sorted_rows(ledger)
    _write_atomic(csv_path, _csv_text(rows, header=True))
    _write_atomic(ledger_path, "".join(json.dumps(ledger[k], ensure_ascii=False, sort_keys=True) + "\n"
                                       for k in sorted(ledger)))
    present = {s.key for s in subs}
    stale = sorted(k for k in ledger if k not in present)
    text = _summary_text(rows, exs, graded_count, skipped, time.monotonic() - start, mode)
    if stale:
        text += (f"\nnote: {len(stale)} graded submission(s) are no longer in {submissions} and stay "
                 f"in the gradebook: {', '.join(stale[:5])}{' ...' if len(stale) > 5 else ''}")
    say(text)
    return Summary(graded=graded_count, skipped=skipped, rows=rows, mode=mode, text=text, ignored=ignored)
