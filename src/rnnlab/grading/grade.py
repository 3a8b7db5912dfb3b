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

import difflib
import hashlib
import json
import re
import shutil
import signal
import sys
import time
import traceback
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Sequence

import numpy as np
from tqdm.auto import tqdm

from rnnlab.grading import gradebook, serialize
from rnnlab.grading.checker import CheckResult, draw_cases, judge, missing_result
from rnnlab.grading.checker import exercises as all_exercises
from rnnlab.grading.generate import ANSWER_MD, generate_notebook
from rnnlab.grading.gradebook import FIELDS, STATUSES
from rnnlab.grading.notebook import MAX_NOTEBOOK_BYTES, NotebookError, read_notebook
from rnnlab.grading.outcome import CallOutcome, ErrorInfo
from rnnlab.grading.sandbox import (Limits, RunResult, check_isolation, drop_uid, nproc_limit,
                                    python_paths, run_job)
from rnnlab.grading.spec import Exercise
from rnnlab.grading.submissions import (Submission, canonical_name, discover, file_sha256,
                                        helper_digest, helper_files, match_notebook, read_roster)

__all__ = ["FIELDS", "STATUSES", "Submission", "Summary", "grade", "discover", "canonical_name",
           "match_notebook"]

HINT_LEVELS = ("none", "mistake", "full")
SKIP_TAG = "grader-skip"


@dataclass
class Summary:
    """What a run did: ``graded`` submissions this run, ``skipped`` unchanged ones, all ``rows`` of the
    gradebook (dicts with :data:`FIELDS`), the sandbox ``mode``, the text printed at the end, the
    paths ``ignored`` (each ``"path: why"``), the ``stale`` submissions whose rows were removed and
    the ``totals`` (one dict per student)."""

    graded: int = 0
    skipped: int = 0
    rows: list = field(default_factory=list)
    mode: str = ""
    text: str = ""
    ignored: list = field(default_factory=list)
    stale: list = field(default_factory=list)
    totals: list = field(default_factory=list)


def _fingerprint(exs: Sequence[Exercise]) -> str:
    text = json.dumps([[e.id, e.function, float(e.points)] for e in exs])
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _case_seed(seed: int, key: str, exercise_id: str) -> list[int]:
    digest = hashlib.sha256(f"{seed}\0{key}\0{exercise_id}".encode()).digest()
    return [int.from_bytes(digest[i:i + 4], "little") for i in range(0, 16, 4)]


# ----------------------------------------------------------------------------- one submission

@dataclass
class _Graded:
    sub: Submission
    sha256: str
    fingerprint: str
    rows: list
    feedback: str
    written: list = field(default_factory=list)


def _not_graded(sub: Submission, sha: str, status: str, message: str) -> _Graded:
    """One row without an exercise, for a file that could not be graded at all."""
    row = gradebook.row(sub.student, sub.notebook, "", 0, 0, status, message)
    return _Graded(sub, sha, "", [row], gradebook.not_graded_feedback(sub.student, sub.notebook,
                                                                      message))


def _signal_name(sig: int) -> str:
    try:
        return signal.Signals(sig).name
    except ValueError:
        return f"signal {sig}"


class _RunReader:
    """Validated view of the frames a child sent (every field is checked: they come from hostile code)."""

    def __init__(self, run: RunResult, cells: list[dict], exercise_ids: set[str]):
        self.cell_errors: dict[int, ErrorInfo] = {}
        self.refused: list[tuple[int, str]] = []  # (cell index, shell command not run)
        self.progress: str | None = None  # the last thing the child said it was doing
        self.exercise_frames: dict[str, tuple[dict, list]] = {}
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
            elif kind == "refused" and type(index) is int and 0 <= index < len(cells) \
                    and isinstance(header.get("command"), str) and len(self.refused) < 10:
                self.refused.append((index, header["command"][:100]))
            elif kind == "calls":
                self.progress = "calling the graded functions"
            elif kind == "calling" and header.get("id") in exercise_ids:
                self.progress = f"calling the function of {header['id']} on the grader's cases"
            elif kind == "exercise" and header.get("id") in exercise_ids:
                self.exercise_frames.setdefault(header["id"], (header, arrays))


# a function's module and qualified name, as CallTrace writes it (``<locals>``, ``<lambda>``...)
_CALLED = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(\.(<[a-z]+>|[A-Za-z_][A-Za-z0-9_]*))+")


def _outcomes(header: dict, arrays: list, n_cases: int, n_args: list[int], *,
              count_lines: bool = False, forbidden: Sequence[str] = ()) -> list[CallOutcome]:
    """The child's ``results`` for one exercise, checked: each a returned value (with the arguments
    it changed, the line count where the grader asked for one and the forbidden call it saw, if
    any) or an error."""
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
        lines, called = entry.get("lines"), entry.get("called")
        if (lines is not None) != count_lines:
            raise serialize.WireError("a line count is missing" if count_lines else
                                      "a line count the grader did not ask for")
        if lines is not None and not (type(lines) is int and lines >= 0):
            raise serialize.WireError("malformed line count")
        if called is not None and not (type(called) is str and len(called) <= 300
                                       and _CALLED.fullmatch(called)
                                       and called.startswith(tuple(f"{m}." for m in forbidden))):
            raise serialize.WireError("malformed name of a forbidden call")
        out.append(CallOutcome(returned=serialize.decode(entry.get("returned"), arrays),
                               mutated=mutated, lines=lines, called=called))
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


def _cell_label(index: int, source: str, functions: dict[str, str]) -> str:
    """How the feedback names a code cell: by the graded function it defines (Jupyter shows no cell
    numbers), else by its first line of code."""
    for name, ex_id in functions.items():
        if re.search(rf"^\s*def\s+{re.escape(name)}\s*\(", source, flags=re.M):
            return f"the cell defining `{name}` (exercise {ex_id})"
    first = next((line.strip() for line in source.splitlines()
                  if line.strip() and not line.strip().startswith("#")), "")
    if len(first) > 50:
        first = first[:47] + "..."
    return f"code cell {index} (`{first}`)" if first else f"code cell {index}"


def _written_answers(sub: Submission, nb: dict, solutions: Path | None) -> list[dict]:
    """The written answers of the submission: the markdown cells that the exercise notebook names
    as answer cells (``rnnlab.written_answer`` in their metadata; with ``solutions``, also matched
    by cell id with the exercise notebook generated from ``solutions/NAME``), or that still hold
    the answer placeholder."""
    ids = _answer_cells(sub.notebook, solutions)
    out = []
    for cell in nb["cells"]:
        if cell.get("cell_type") != "markdown":
            continue
        text = "".join(cell["source"])
        cid = cell.get("id")
        meta = cell.get("metadata", {}).get("rnnlab")
        tagged = isinstance(meta, dict) and "written_answer" in meta
        named = meta["written_answer"] if tagged else None
        named = named if isinstance(named, str) and _ANSWER_LABEL.fullmatch(named) else None
        if not (isinstance(cid, str) and cid in ids) and not tagged and ANSWER_MD not in text:
            continue
        label = ids.get(cid) if isinstance(cid, str) and cid in ids else named
        if label is None:
            label = f"answer {len(out) + 1}"
        answered = ANSWER_MD not in text and len(text.strip()) > 0
        prior = next((w for w in out if w["item"] == label), None)
        if prior is not None:  # a copied or split answer cell: one item, answered if any part is
            prior["answered"] = "yes" if answered or prior["answered"] == "yes" else "no"
            continue
        out.append({"student": sub.student, "notebook": sub.notebook, "item": label,
                    "answered": "yes" if answered else "no", "score": "", "max_score": "",
                    "comment": ""})
    return out


# the label the exercise generator writes (a submission's metadata is not trusted beyond this form)
_ANSWER_LABEL = re.compile(r"written answer \d{1,3}( \([^\n\r]{1,60}\))?")
_ANSWER_CACHE: dict[tuple, dict[str, str]] = {}


def _answer_cells(notebook_name: str, solutions: Path | None) -> dict[str, str]:
    """``{cell id: label}`` of the answer cells of the exercise notebook generated from
    ``solutions/NAME`` (empty without ``solutions`` or when it has no such notebook)."""
    key = (notebook_name, solutions)
    if key not in _ANSWER_CACHE:
        try:
            nb = generate_notebook(read_notebook((solutions / notebook_name).read_bytes()),
                                   notebook_name)
        except (OSError, TypeError, ValueError):  # no solutions given, no such file, not readable
            nb = {"cells": []}
        _ANSWER_CACHE[key] = {cell["id"]: cell["metadata"]["rnnlab"]["written_answer"]
                              for cell in nb["cells"]
                              if "written_answer" in cell.get("metadata", {}).get("rnnlab", {})}
    return _ANSWER_CACHE[key]


def _grade_one(sub: Submission, exs: list[Exercise] | None, known: Sequence[str], limits: Limits,
               mode: str, seed: int | None, hidden: list[str], helpers: dict | None = None,
               hints: str = "mistake", solutions: Path | None = None) -> _Graded:
    too_big = sub.path.stat().st_size > MAX_NOTEBOOK_BYTES
    data = b"" if too_big else sub.path.read_bytes()
    sha = file_sha256(sub.path) if too_big else hashlib.sha256(data).hexdigest()
    if exs is None:
        stems = {k[:-len(".ipynb")]: k for k in known}
        close = [stems[m] for m in difflib.get_close_matches(Path(sub.notebook).stem.lower(), stems,
                                                              n=1, cutoff=0.6)]
        message = (f"`{sub.rel or sub.notebook}` is not a notebook of this course; expected one of: "
                   f"{', '.join(known) if known else '(no exercises registered)'}")
        if close:
            message += f" (did you mean `{close[0]}`? rename the file and resubmit)"
        return _not_graded(sub, sha, "unknown notebook", message)
    fingerprint = _fingerprint(exs)
    try:
        if too_big:
            raise NotebookError(f"the file is larger than the {MAX_NOTEBOOK_BYTES // 2**20} MB a "
                                f"notebook may have")
        nb = read_notebook(data)
    except NotebookError as err:
        message = f"the file is not a readable Jupyter notebook: {err}"
        results = [(ex, missing_result(ex, message, status="invalid notebook")) for ex in exs]
        return _finish(sub, sha, fingerprint, results, hints)
    functions = {ex.function: ex.id for ex in exs}
    cells, skipped_cells = [], []
    n_code = 0
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        n_code += 1
        source = cell.source
        label = _cell_label(n_code, source, functions)
        if SKIP_TAG in cell.metadata.get("tags", []):
            skipped_cells.append(label)
            continue
        cells.append({"label": label, "source": source})
    files, notes = helper_files(helpers or {})
    if skipped_cells:
        notes.append(f"{len(skipped_cells)} ungraded experiment cell(s) tagged `{SKIP_TAG}` were not "
                     f"run by the grader (they do not affect the score)")
    if files:
        notes.append(f"your helper file(s) {', '.join(f'`{n}`' for n in files)} were placed beside "
                     f"the notebook")
    if sub.renamed:
        notes.insert(0, f"graded `{sub.rel}` as `{sub.notebook}` (the file was renamed or moved; "
                        f"name it `{sub.notebook}` at the top of your folder next time)")
    # the inputs are drawn now, after the notebook was read
    arrays: list[np.ndarray] = []
    job_exercises, all_cases = [], {}
    for ex in exs:
        rng = np.random.default_rng(None if seed is None else _case_seed(seed, sub.key, ex.id))
        cases = draw_cases(ex, rng)
        all_cases[ex.id] = cases
        trees = [serialize.encode(case, strict=True, arrays=arrays)[0] for case in cases]
        job_exercises.append({"id": ex.id, "function": ex.function, "cases": trees,
                              "count_lines": ex.max_lines is not None,
                              "forbidden": list(ex.forbidden_calls)})
    uid = drop_uid(mode)
    job = serialize.pack({"sys_path": python_paths(), "cells": cells, "exercises": job_exercises,
                          "files": files, "timeout": float(limits.timeout), "uid": uid,
                          "limits": limits.for_child(nproc_limit(mode, limits, uid))}, arrays)
    run = run_job(job, limits, mode, hidden, uid)
    reader = _RunReader(run, cells, {ex.id for ex in exs})
    results = [(ex, _verdict(ex, all_cases[ex.id], run, reader, cells, limits)) for ex in exs]
    notes += _run_notes(cells, run, reader, limits)
    return _finish(sub, sha, fingerprint, results, hints, notes, _written_answers(sub, nb, solutions))


def _verdict(ex: Exercise, cases: list[tuple], run: RunResult, reader: _RunReader, cells: list[dict],
             limits: Limits) -> CheckResult:
    """Judge what the child sent for ``ex``, or say why it sent nothing usable."""
    frame = reader.exercise_frames.get(ex.id)
    if frame is None:
        return _no_result(ex, run, reader, limits)
    header, arrays = frame
    if header.get("status") == "missing":
        return missing_result(ex, _missing_message(ex, header, cells, reader))
    try:
        outcomes = _outcomes(header, arrays, len(cases), [len(c) for c in cases],
                             count_lines=ex.max_lines is not None, forbidden=ex.forbidden_calls)
    except (serialize.WireError, ValueError) as err:
        return missing_result(ex, f"the notebook's process sent results that could not be read "
                                  f"({err})", status="crashed")
    try:
        return judge(ex, cases, outcomes)
    except Exception as err:  # a broken check module must not end the batch
        return missing_result(ex, f"the grader could not judge this exercise ({type(err).__name__}: "
                                  f"{err}); tell the course staff", status="error")


def _advised(r: CheckResult, hints: str) -> str:
    """The one-line message of a result (without its headline) with as much advice as ``hints``
    allows."""
    if r.passed:
        return r.detail
    if hints in ("mistake", "full") and r.mistake:
        return f"{r.detail}. Likely mistake: {r.mistake}"
    if hints == "full" and r.hint:
        return f"{r.detail}. Hint: {r.hint}"
    return r.detail


def _run_notes(cells: list[dict], run: RunResult, reader: _RunReader, limits: Limits) -> list[str]:
    """What the feedback says about running the notebook: cells that raised, shell commands not
    run, output cut short."""
    notes = []
    for index in sorted(reader.cell_errors)[:10]:
        label, err = cells[index]["label"], reader.cell_errors[index]
        if err.type == "NotImplementedError":
            notes.append(f"{label} raised NotImplementedError (an exercise left as a stub?)")
        elif err.type == "CellTimeBudget":
            notes.append(f"{label} was stopped: {err.message}")
        else:
            notes.append(f"{label} raised {err.describe()}")
    for index, command in reader.refused:
        notes.append(f"{cells[index]['label']}: `{command}` was not run (the grader runs no "
                     f"shell commands: `!cmd`, `%pip`, `%%bash` and the like)")
    if len(reader.cell_errors) > 10:
        notes.append(f"... and {len(reader.cell_errors) - 10} more cells raised an exception")
    if run.output_truncated:
        notes.append(f"the notebook printed more than {limits.output_bytes // 2**20} MB; the rest of "
                     f"its output was discarded (output truncated; the score is not affected)")
    return notes


def _finish(sub: Submission, sha: str, fingerprint: str, results: list, hints: str,
            notes: Sequence[str] = (), written: Sequence[dict] = ()) -> _Graded:
    rows = [gradebook.row(sub.student, sub.notebook, ex.id, r.score, r.max_score, r.status,
                          _advised(r, hints)) for ex, r in results]
    feedback = gradebook.feedback_text(sub.student, sub.notebook, results, list(notes), hints,
                                       list(written))
    return _Graded(sub, sha, fingerprint, rows, feedback, list(written))


# ----------------------------------------------------------------------------- the batch

def grade(submissions: str | Path, out: str | Path, *, timeout: float = 120.0, memory_mb: int = 3072,
          jobs: int = 1, regrade: bool = False, seed: int | None = None, isolation: str = "bwrap",
          exercises: Sequence[Exercise] | None = None, progress: bool = True,
          echo: Callable[[str], None] | None = print, limits: Limits | None = None,
          roster: str | Path | None = None, hints: str = "mistake",
          solutions: str | Path | None = None, sandbox: str | None = None) -> Summary:
    """Grade every ``submissions/<student>/<notebook>.ipynb`` into ``out`` (see the module doc).

    ``exercises`` defaults to the course's (:func:`rnnlab.grading.exercises`); ``isolation`` is
    ``"bwrap"`` (``RuntimeError`` saying how to install it when it does not work here) or the
    weaker ``"process"`` (:mod:`rnnlab.grading.sandbox`); ``seed`` makes the random cases
    reproducible (the default draws them from fresh entropy); ``roster`` is a file of student names (absent students
    get ``missing`` rows); ``hints`` says how much of an exercise's hint the feedback shows
    (``"none"``, ``"mistake"``: the name of a recognised mistake, ``"full"``: and the hint);
    ``solutions`` is the course's folder of solution notebooks: the written answers are named after
    its headings, and the sandbox never shows it to a submission. ``sandbox`` is the option's
    former name (``"process"``, or ``"auto"``/``"namespace"`` for the strongest isolation: bwrap).
    """
    if sandbox is not None and isolation == "bwrap":
        isolation = "process" if sandbox == "process" else "bwrap"
    submissions, out = Path(submissions), Path(out)
    solutions = None if solutions is None else Path(solutions)
    _check_arguments(submissions, out, solutions, timeout, memory_mb, jobs, hints)
    if roster is not None and not Path(roster).is_file():
        raise FileNotFoundError(f"--roster must be a file of student names, got {str(roster)!r}")
    roster_names = read_roster(roster) if roster is not None else None
    say = echo or (lambda text: None)
    exs = sorted(all_exercises() if exercises is None else exercises, key=lambda e: e.id)
    for ex in exs:  # a broken check module is the course's bug: stop before grading anyone
        draw_cases(ex, np.random.default_rng(0))
    by_nb: dict[str, list[Exercise]] = {}
    for ex in exs:
        by_nb.setdefault(ex.notebook, []).append(ex)
    known = sorted(by_nb)
    limits = limits or Limits(timeout=float(timeout), memory_mb=int(memory_mb))
    check_isolation(isolation)
    if limits.memory_mb < 1024:
        say(f"warning: --memory {limits.memory_mb}: importing torch alone takes about 0.65 GB of "
            f"address space, so notebooks that use torch may fail with errors that are not "
            f"theirs; 3072 (the default) leaves room")
    if isolation == "process":
        say("warning: --isolation process: submissions run as plain processes that can read your "
            "files (see the instructors' page)")
    hidden = [str(p.resolve()) for p in (submissions, out, solutions) if p is not None]

    out.mkdir(parents=True, exist_ok=True)
    csv_path, ledger_path = out / gradebook.CSV_NAME, out / gradebook.LEDGER_NAME
    ledger = gradebook.load_ledger(ledger_path)
    found = discover(submissions, known)
    stale = _forget_stale(ledger, {s.key for s in found.submissions}, out, ledger_path)
    gradebook.write_atomic(csv_path, gradebook.csv_text(gradebook.sorted_rows(ledger)))
    students = list(found.students)
    not_on_roster = []
    if roster_names is not None:
        not_on_roster = [s for s in students if s not in roster_names]
        students = sorted(set(students) | set(roster_names))
    for line in found.ignored:
        say(f"ignored {line}")
    todo = [sub for sub in found.submissions
            if regrade or not _unchanged(sub, ledger.get(sub.key), by_nb, found.helpers, hints)]

    start = time.monotonic()

    def work(sub: Submission) -> _Graded:
        try:
            return _grade_one(sub, by_nb.get(sub.notebook), known, limits, isolation, seed, hidden,
                              helpers=found.helpers.get(sub.key, {}), hints=hints,
                              solutions=solutions)
        except Exception as err:  # never a crash of the batch, never a silent missing row
            sys.stderr.write(f"internal error while grading {sub.key}:\n"
                             f"{traceback.format_exc(limit=5)}")
            return _internal_error(sub, err, by_nb.get(sub.notebook) or [], hints)

    def record(graded: _Graded) -> None:
        sub = graded.sub
        fb = gradebook.feedback_path(out, sub.student, sub.notebook)
        gradebook.write_atomic(fb, graded.feedback)
        rec = {"key": sub.key, "student": sub.student, "notebook": sub.notebook, "rel": sub.rel,
               "sha256": graded.sha256, "fingerprint": graded.fingerprint, "rows": graded.rows,
               "feedback": fb.relative_to(out).as_posix(), "hints": hints,
               "helpers": helper_digest(found.helpers.get(sub.key, {})), "written": graded.written}
        gradebook.append(ledger_path, json.dumps(rec, ensure_ascii=False, sort_keys=True) + "\n")
        ledger[sub.key] = rec
        gradebook.append(csv_path, gradebook.csv_text(graded.rows, header=False))

    graded_count = _run_batch(todo, work, record, jobs, progress)
    gradebook.write_ledger(ledger_path, ledger)
    absent, missing_count = _absent_work(out, students, by_nb, found)
    for folder in sorted((out / "feedback").glob("*")):  # a student who left takes the feedback
        if folder.is_dir() and not folder.is_symlink() and folder.name not in students:
            shutil.rmtree(folder, ignore_errors=True)
    written = [w for rec in ledger.values() for w in rec.get("written", [])]
    manual = gradebook.check_manual(gradebook.read_manual(out / gradebook.MANUAL_NAME, say),
                                    students, known, written, say)
    manual += gradebook.owed_manual_rows(manual, students)
    rows = sorted(gradebook.sorted_rows(ledger) + [{k: str(r.get(k, "")) for k in FIELDS}
                                                   for r in absent + manual],
                  key=lambda r: (r["student"], r["notebook"], r["exercise"]))
    notebooks = sorted(set(known) | {r["notebook"] for r in manual})
    totals = gradebook.write_reports(out, rows, students, notebooks, written)
    text = gradebook.summary_text(rows, exs, graded_count, len(found.submissions) - len(todo),
                                  time.monotonic() - start, isolation)
    text += _closing_text(stale, missing_count, found.conflicts, not_on_roster, found.ignored)
    say(text)
    return Summary(graded=graded_count, skipped=len(found.submissions) - len(todo), rows=rows,
                   mode=isolation, text=text, ignored=list(found.ignored), stale=stale, totals=totals)


def _check_arguments(submissions: Path, out: Path, solutions: Path | None, timeout: float,
                     memory_mb: int, jobs: int, hints: str) -> None:
    if not submissions.is_dir():
        raise FileNotFoundError(f"SUBMISSIONS must be a folder of <student>/<notebook>.ipynb, "
                                f"got {str(submissions)!r}")
    if not timeout > 0:
        raise ValueError(f"timeout (--timeout) must be > 0 seconds, got {timeout!r}")
    if memory_mb < 64:
        raise ValueError(f"memory_mb (--memory) must be at least 64 MB, got {memory_mb!r}")
    if jobs < 1:
        raise ValueError(f"jobs (--jobs) must be at least 1, got {jobs!r}")
    if hints not in HINT_LEVELS:
        raise ValueError(f"hints must be one of {', '.join(HINT_LEVELS)}, got {hints!r}")
    if out.resolve() == submissions.resolve() or submissions.resolve() in out.resolve().parents:
        raise ValueError("--out must not be inside SUBMISSIONS (students' folders would mix with "
                         "the gradebook)")
    if out.exists() and not out.is_dir():
        raise NotADirectoryError(f"--out must be a folder (it is created if missing), got the file "
                                 f"{str(out)!r}")
    if solutions is not None and not solutions.is_dir():
        raise FileNotFoundError(f"--solutions must be the course's folder of solution notebooks, "
                                f"got {str(solutions)!r}")


def _forget_stale(ledger: dict, present: set[str], out: Path, ledger_path: Path) -> list[str]:
    """The gradebook describes the folder as it is now: work that left it leaves the ledger, with
    its feedback file. Returns the keys removed."""
    stale = sorted(k for k in ledger if k not in present)
    for key in stale:
        fb = ledger.pop(key).get("feedback")
        if isinstance(fb, str) and fb and ".." not in Path(fb).parts:
            try:
                (out / fb).unlink()
            except OSError:
                pass
    if stale:
        gradebook.write_ledger(ledger_path, ledger)
    return stale


def _unchanged(sub: Submission, rec: dict | None, by_nb: dict, helpers: dict, hints: str) -> bool:
    """Whether the ledger's record of ``sub`` still holds: same bytes, exercises, file name, hint
    level and helper files."""
    exs = by_nb.get(sub.notebook)
    if rec is None or rec.get("fingerprint") != (_fingerprint(exs) if exs else "") \
            or rec.get("rel", sub.rel) != sub.rel or rec.get("hints", "mistake") != hints \
            or rec.get("helpers", {}) != helper_digest(helpers.get(sub.key, {})):
        return False
    try:
        return file_sha256(sub.path) == rec.get("sha256")
    except OSError:
        return False


def _internal_error(sub: Submission, err: Exception, exs: list[Exercise], hints: str) -> _Graded:
    """The rows of a submission the grader itself failed on: status ``error``, the reason told."""
    try:
        sha = file_sha256(sub.path)
    except OSError:
        sha = ""
    message = f"the grader failed on this submission ({type(err).__name__}: {err})"
    if isinstance(err, OSError):
        message = f"the file could not be read ({err})"
    if not exs:
        return _not_graded(sub, sha, "error", message)
    results = [(ex, missing_result(ex, message, status="error")) for ex in exs]
    return _finish(sub, sha, _fingerprint(exs), results, hints)


def _run_batch(todo: list[Submission], work: Callable, record: Callable, jobs: int,
               progress: bool) -> int:
    """Grade ``todo`` with ``jobs`` threads (each waits on its own child process); ``record`` runs
    in this thread, so the gradebook's files are written by one writer."""
    bar = tqdm(total=len(todo), desc="grading", unit="notebook", file=sys.stderr, leave=True) \
        if progress else None
    count = 0
    try:
        with ThreadPoolExecutor(max_workers=jobs) as pool:
            pending: set = set()
            queue = list(todo)
            while queue or pending:
                while queue and len(pending) < jobs:
                    pending.add(pool.submit(work, queue.pop(0)))
                done, pending = wait(pending, return_when=FIRST_COMPLETED)
                for fut in sorted(done, key=lambda f: f.result().sub.key):
                    record(fut.result())
                    count += 1
                    if bar is not None:
                        bar.update(1)
    finally:
        if bar is not None:
            bar.close()
    return count


def _absent_work(out: Path, students: list[str], by_nb: dict[str, list[Exercise]],
                 found) -> tuple[list[dict], int]:
    """Every expected (student, notebook, exercise) has a row: a notebook not submitted gets
    ``missing`` rows, one with several candidate files ``error`` rows (each with its feedback
    file). Returns the rows and how many notebooks were not submitted."""
    submitted = {(s.student, s.notebook) for s in found.submissions}
    rows: list[dict] = []
    missing = 0
    for student in students:
        for nb, exs in sorted(by_nb.items()):
            if (student, nb) in submitted:
                continue
            if (student, nb) in found.conflicts:
                status, message = "error", (
                    f"several files could be `{nb}`: {', '.join(found.conflicts[(student, nb)])}; "
                    f"keep exactly one (named `{nb}`) in the student's folder")
            else:
                missing += 1
                where = "in the student's folder" if student in found.students else \
                    "submitted: the roster lists this student, who has no folder of submissions"
                status, message = "missing", f"no notebook `{nb}` {where}"
            rows += [gradebook.row(student, nb, ex.id, 0, ex.points, status, message) for ex in exs]
            feedback = gradebook.not_graded_feedback(student, nb, rows[-1]["message"],
                                                     sum(ex.points for ex in exs))
            gradebook.write_atomic(gradebook.feedback_path(out, student, nb), feedback)
    return rows, missing


def _closing_text(stale: list[str], missing: int, conflicts: dict, not_on_roster: list[str],
                  ignored: list[str]) -> str:
    text = ""
    if stale:
        text += (f"\nremoved {len(stale)} submission(s) no longer in the folder from the gradebook "
                 f"(and their feedback): {', '.join(stale[:5])}{' ...' if len(stale) > 5 else ''}")
    if missing:
        text += f"\n{missing} notebook(s) not submitted: their exercises have status `missing`"
    if conflicts:
        text += (f"\n{len(conflicts)} notebook(s) with several candidate files (status `error`): "
                 + ", ".join(f"{s}/{nb}" for s, nb in sorted(conflicts)))
    if not_on_roster:
        text += f"\nnot on the roster (graded anyway): {', '.join(not_on_roster)}"
    if ignored:
        text += f"\nignored {len(ignored)} path(s):\n" + "\n".join(f"  {line}" for line in ignored)
    return text + (f"\nwrote {gradebook.CSV_NAME}, {gradebook.TOTALS_NAME} (totals per student), "
                   f"{gradebook.LMS_NAME} (LMS import), {gradebook.WRITTEN_NAME} (written answers to "
                   f"score by hand into {gradebook.MANUAL_NAME})")
