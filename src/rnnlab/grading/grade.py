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
import difflib
import hashlib
import io
import json
import os
import re
import shutil
import signal
import sys
import time
import traceback
from collections import Counter
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Sequence

import numpy as np
from tqdm.auto import tqdm

from rnnlab.grading import serialize
from rnnlab.grading.checker import (CheckResult, draw_cases, format_points, judge, missing_result)
from rnnlab.grading.checker import exercises as all_exercises
from rnnlab.grading.notebook import MAX_NOTEBOOK_BYTES, NotebookError, read_notebook
from rnnlab.grading.generate import ANSWER_MD, generate_notebook
from rnnlab.grading.outcome import CallOutcome, ErrorInfo, one_line
from rnnlab.grading.sandbox import (Limits, RunResult, check_isolation, drop_uid, nproc_limit,
                                    python_paths, run_job)
from rnnlab.grading.spec import Exercise

__all__ = ["FIELDS", "STATUSES", "Submission", "Summary", "grade", "discover", "canonical_name",
           "match_notebook"]

FIELDS = ("student", "notebook", "exercise", "score", "max_score", "status", "message")
# a row's status: a check's verdict (rnnlab.grading.checker) or what kept the grader from one
STATUSES = ("passed", "wrong", "not attempted", "error", "missing", "timeout", "memory", "crashed",
            "invalid notebook", "unknown notebook")
CSV_NAME = "grades.csv"
LEDGER_NAME = ".graded.jsonl"
MAX_ROW_MESSAGE = 1000  # characters of a gradebook row's message


@dataclass(frozen=True)
class Submission:
    """One notebook file of a student, graded as the course notebook ``notebook``. ``rel`` is the
    file's path inside the student's folder as submitted (``"rnn-homework/03_lstm (1).ipynb"``)."""

    student: str
    notebook: str
    path: Path
    rel: str = ""

    @property
    def key(self) -> str:
        return f"{self.student}/{self.notebook}"

    @property
    def renamed(self) -> bool:
        return bool(self.rel) and self.rel != self.notebook


@dataclass
class Discovery:
    """What :func:`discover` found in a submissions folder."""

    students: list = field(default_factory=list)  # every student folder, sorted
    submissions: list = field(default_factory=list)  # Submission, sorted by key
    ignored: list = field(default_factory=list)  # "path: why", nothing ignored silently
    conflicts: dict = field(default_factory=dict)  # (student, notebook) -> [rel paths]
    helpers: dict = field(default_factory=dict)  # Submission.key -> {file name: Path}


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


# ----------------------------------------------------------------------------- discovery

_SKIP_DIRS = {"__MACOSX", "__pycache__"}
MAX_DEPTH = 4  # folders below a student's folder that are searched for notebooks
MAX_HELPER_BYTES = 1 << 20
MAX_HELPERS = 20


def canonical_name(name: str) -> str:
    """A notebook file name without the marks a copy or a download adds: ``"Copy of 03_lstm.ipynb"``,
    ``"03_lstm (1).ipynb"``, ``"03_lstm-Copy1.ipynb"`` -> ``"03_lstm.ipynb"`` (lower case)."""
    stem = name[:-len(".ipynb")] if name.lower().endswith(".ipynb") else name
    stem = stem.strip()
    while True:
        old = stem
        stem = re.sub(r"^(copy of|kopie von|copie de|copia de)\s+", "", stem, flags=re.I)
        stem = re.sub(r"\s*\(\d+\)$", "", stem)
        stem = re.sub(r"[-_ ]+copy\d*$", "", stem, flags=re.I)
        stem = re.sub(r"\s+-\s+copy$", "", stem, flags=re.I)
        stem = stem.strip()
        if stem == old:
            break
    return stem.lower() + ".ipynb"


def match_notebook(name: str, known: Sequence[str]) -> str | None:
    """The course notebook a file name stands for: the same name, or the same once copy marks are
    removed, or the only course notebook whose name (without .ipynb) the file's name contains."""
    if name in known:
        return name
    canon = canonical_name(name)
    hits = [k for k in known if k.lower() == canon]
    if len(hits) == 1:
        return hits[0]
    stem = canon[:-len(".ipynb")]
    hits = [k for k in known if k.lower()[:-len(".ipynb")] in stem]
    return hits[0] if len(hits) == 1 else None


def discover(root: str | Path, known: Sequence[str] = ()) -> Discovery:
    """Find ``root/<student>/**/<notebook>.ipynb`` (up to :data:`MAX_DEPTH` folders deep) and match
    each file to a course notebook of ``known`` (exact name, or a renamed copy). A notebook that
    two files claim is a conflict, unless exactly one of them has the exact name (the others are
    then ignored and listed). ``.py`` files beside a notebook are its helpers. Everything else is
    listed in ``ignored`` with the reason."""
    root = Path(root)
    found = Discovery()
    for student_dir in sorted(root.iterdir(), key=lambda p: p.name):
        name = student_dir.name
        if name.startswith(".") or name in _SKIP_DIRS:
            continue
        if student_dir.is_symlink() or not student_dir.is_dir():
            found.ignored.append(f"{name}: not a student folder (expected <student>/<notebook>.ipynb)")
            continue
        found.students.append(name)
        notebooks, helper_dirs = [], {}
        for dirpath, dirnames, filenames in os.walk(student_dir):
            here = Path(dirpath)
            depth = len(here.relative_to(student_dir).parts)
            keep = []
            for d in sorted(dirnames):
                full = here / d
                rel = full.relative_to(root).as_posix()
                if d.startswith(".") or d in _SKIP_DIRS:
                    continue
                if full.is_symlink():
                    found.ignored.append(f"{rel}: a link (not followed)")
                elif depth >= MAX_DEPTH:
                    found.ignored.append(f"{rel}: more than {MAX_DEPTH} folders deep")
                else:
                    keep.append(d)
            dirnames[:] = keep
            for f in sorted(filenames):
                full = here / f
                rel = full.relative_to(root).as_posix()
                if f.startswith("."):
                    continue
                if full.is_symlink() or not full.is_file():
                    found.ignored.append(f"{rel}: a link or not a plain file")
                elif f.lower().endswith(".ipynb"):
                    notebooks.append(full)
                elif f.endswith(".py"):
                    helper_dirs.setdefault(here, []).append(full)
                else:
                    found.ignored.append(f"{rel}: not a notebook")
        claims: dict[str, list[Path]] = {}
        for path in notebooks:
            nb = match_notebook(path.name, known)
            rel = path.relative_to(student_dir).as_posix()
            if nb is None:
                found.ignored.append(f"{name}/{rel}: not a notebook of this course"
                                     + (f" (expected one of: {', '.join(known)})" if known else ""))
                found.submissions.append(Submission(name, path.name if "/" not in rel else rel.replace(
                    "/", "_"), path, rel))
                continue
            claims.setdefault(nb, []).append(path)
        for nb, paths in sorted(claims.items()):
            chosen = paths[0] if len(paths) == 1 else None
            if chosen is None:
                exact = [p for p in paths if p.name == nb]
                if len(exact) == 1:
                    chosen = exact[0]
                    for p in paths:
                        if p is not chosen:
                            found.ignored.append(
                                f"{name}/{p.relative_to(student_dir).as_posix()}: another copy of "
                                f"{nb}; graded {chosen.relative_to(student_dir).as_posix()}")
            if chosen is None:
                found.conflicts[(name, nb)] = [p.relative_to(student_dir).as_posix() for p in paths]
                continue
            sub = Submission(name, nb, chosen, chosen.relative_to(student_dir).as_posix())
            found.submissions.append(sub)
            helpers = {p.name: p for p in helper_dirs.get(chosen.parent, [])}
            if helpers:
                found.helpers[sub.key] = helpers
    found.submissions.sort(key=lambda s: s.key)
    return found


def _fingerprint(exs: Sequence[Exercise]) -> str:
    text = json.dumps([[e.id, e.function, float(e.points)] for e in exs])
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _case_seed(seed: int, key: str, exercise_id: str) -> list[int]:
    digest = hashlib.sha256(f"{seed}\0{key}\0{exercise_id}".encode()).digest()
    return [int.from_bytes(digest[i:i + 4], "little") for i in range(0, 16, 4)]


def _body(message: str) -> str:
    head, sep, body = message.partition(": ")
    return body if sep else message


# ----------------------------------------------------------------------------- one submission

@dataclass
class _Graded:
    sub: Submission
    sha256: str
    fingerprint: str
    rows: list
    feedback: str
    written: list = field(default_factory=list)


def _row(sub: Submission, exercise: str, score: float, max_score: float, status: str, message: str) -> dict:
    return {"student": sub.student, "notebook": sub.notebook, "exercise": exercise,
            "score": format_points(score), "max_score": format_points(max_score), "status": status,
            "message": one_line(message, MAX_ROW_MESSAGE)}


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


HINT_LEVELS = ("none", "mistake", "full")
SKIP_TAG = "grader-skip"


def _helper_digest(helpers: dict) -> dict:
    out = {}
    for name, path in sorted(helpers.items()):
        try:
            out[name] = _sha256(path)
        except OSError:
            out[name] = ""
    return out


def _helper_files(helpers: dict) -> tuple[dict, list[str]]:
    """The student's ``.py`` files beside the notebook, as text for the sandbox (with limits)."""
    files, notes = {}, []
    for name, path in sorted(helpers.items())[:MAX_HELPERS]:
        try:
            if path.stat().st_size > MAX_HELPER_BYTES:
                notes.append(f"`{name}` is larger than {MAX_HELPER_BYTES // 1024} KB and was not "
                             f"copied into the sandbox")
                continue
            files[name] = path.read_text(encoding="utf-8", errors="replace")
        except OSError as err:
            notes.append(f"`{name}` could not be read ({err})")
    if len(helpers) > MAX_HELPERS:
        notes.append(f"only the first {MAX_HELPERS} .py files beside the notebook were copied")
    return files, notes


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
    """The written answers of the submission: markdown cells that hold (or held) the exercise
    notebook's answer placeholder, matched by cell id with the exercise notebook generated from
    ``solutions/NAME`` (when ``solutions`` is given)."""
    ids = _answer_cells(sub.notebook, solutions)
    out = []
    for cell in nb["cells"]:
        if cell.get("cell_type") != "markdown":
            continue
        text = "".join(cell["source"])
        cid = cell.get("id")
        if not (isinstance(cid, str) and cid in ids) and ANSWER_MD not in text:
            continue
        label = ids.get(cid) if isinstance(cid, str) and cid in ids else None
        if label is None:
            label = f"answer {len(out) + 1}"
        answered = ANSWER_MD not in text and len(text.strip()) > 0
        out.append({"student": sub.student, "notebook": sub.notebook, "item": label,
                    "answered": "yes" if answered else "no", "score": "", "max_score": "",
                    "comment": ""})
    return out


_ANSWER_CACHE: dict[tuple, dict[str, str]] = {}


def _answer_cells(notebook_name: str, solutions: Path | None) -> dict[str, str]:
    """``{cell id: label}`` of the answer cells of the exercise notebook generated from
    ``solutions/NAME`` (empty without ``solutions`` or when it has no such notebook)."""
    key = (notebook_name, solutions)
    if key in _ANSWER_CACHE:
        return _ANSWER_CACHE[key]
    out: dict[str, str] = {}
    try:
        nb = generate_notebook(read_notebook((solutions / notebook_name).read_bytes()),
                               notebook_name)
    except (OSError, TypeError, ValueError):  # no solutions given, no such file, not readable
        nb = {"cells": []}
    heading = ""
    n = 0
    for cell in nb["cells"]:
        text = "".join(cell["source"])
        if cell.get("cell_type") == "markdown":
            for line in text.splitlines():
                if line.lstrip().startswith("#"):
                    heading = line.lstrip("# ").strip()
            if ANSWER_MD in text and isinstance(cell.get("id"), str):
                n += 1
                out[cell["id"]] = f"written answer {n}" + (f" ({heading[:60]})" if heading else "")
    _ANSWER_CACHE[key] = out
    return out


def _grade_one(sub: Submission, exs: list[Exercise] | None, known: Sequence[str], limits: Limits,
               mode: str, seed: int | None, hidden: list[str], helpers: dict | None = None,
               hints: str = "mistake", solutions: Path | None = None) -> _Graded:
    too_big = sub.path.stat().st_size > MAX_NOTEBOOK_BYTES
    data = b"" if too_big else sub.path.read_bytes()
    sha = _sha256(sub.path) if too_big else hashlib.sha256(data).hexdigest()
    if exs is None:
        close = difflib.get_close_matches(sub.notebook, known, n=1, cutoff=0.5)
        message = (f"`{sub.rel or sub.notebook}` is not a notebook of this course; expected one of: "
                   f"{', '.join(known) if known else '(no exercises registered)'}")
        if close:
            message += f" (did you mean `{close[0]}`? rename the file and resubmit)"
        row = _row(sub, "", 0, 0, "unknown notebook", message)
        feedback = _feedback_unknown(sub, message)
        return _Graded(sub, sha, "", [row], feedback)
    fingerprint = _fingerprint(exs)
    try:
        if too_big:
            raise NotebookError(f"the file is larger than the {MAX_NOTEBOOK_BYTES // 2**20} MB a "
                                f"notebook may have")
        nb = read_notebook(data)
    except NotebookError as err:
        message = f"the file is not a readable Jupyter notebook: {err}"
        results = [(ex, missing_result(ex, message, status="invalid notebook")) for ex in exs]
        return _finish(sub, sha, fingerprint, results, [], None, limits, hints)
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
    files, notes = _helper_files(helpers or {})
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
        job_exercises.append({"id": ex.id, "function": ex.function, "cases": trees})
    uid = drop_uid(mode)
    job = serialize.pack({"sys_path": python_paths(), "cells": cells, "exercises": job_exercises,
                          "files": files, "timeout": float(limits.timeout), "uid": uid,
                          "limits": limits.for_child(nproc_limit(mode, limits, uid))}, arrays)
    run = run_job(job, limits, mode, hidden, uid)
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
    graded = _finish(sub, sha, fingerprint, results, cells, (run, reader), limits, hints, notes,
                     _written_answers(sub, nb, solutions))
    return graded


def _split_advice(r) -> tuple[str, str | None, str | None]:
    """The message's diagnosis without the appended ``Likely mistake:``/``Hint:``, the mistake, the
    hint."""
    body = _body(r.message)
    mistake = r.mistake
    if mistake and body.endswith(f". Likely mistake: {mistake}"):
        body = body[:-len(f". Likely mistake: {mistake}")]
    hint = r.hint or None
    if hint and body.endswith(f". Hint: {hint}"):
        body = body[:-len(f". Hint: {hint}")]
    return body, mistake, hint


def _advised(r, hints: str) -> str:
    """The one-line message of a result with as much advice as ``hints`` allows."""
    body, mistake, hint = _split_advice(r)
    if r.passed:
        return body
    if hints in ("mistake", "full") and mistake:
        body += f". Likely mistake: {mistake}"
    if hints == "full" and hint and not mistake:
        body += f". Hint: {hint}"
    return body


def _finish(sub, sha, fingerprint, results, cells, run_info, limits, hints="mistake", notes=None,
            written=None) -> _Graded:
    rows = [_row(sub, ex.id, r.score, r.max_score, r.status, _advised(r, hints)) for ex, r in results]
    notes = list(notes or [])
    if run_info is not None:
        run, reader = run_info
        for index in sorted(reader.cell_errors)[:10]:
            label = next((c["label"] for i, c in enumerate(cells) if i == index), f"cell {index}")
            err = reader.cell_errors[index]
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
    return _Graded(sub, sha, fingerprint, rows, _feedback(sub, results, notes, hints, written or []),
                   written or [])


# ----------------------------------------------------------------------------- feedback

def _feedback_unknown(sub: Submission, message: str) -> str:
    return (f"# Feedback: {sub.notebook}\n\nStudent: {sub.student}\n\n**Not graded**: {message}\n")


def _feedback(sub: Submission, results: list, notes: list[str], hints: str = "mistake",
              written: list | None = None) -> str:
    total = sum(r.score for _, r in results)
    possible = sum(r.max_score for _, r in results)
    lines = [f"# Feedback: {sub.notebook}", "", f"Student: {sub.student}", "",
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
        body, mistake, hint = _split_advice(r)
        if r.passed:
            lines += [f"- **Result:** {body}.", ""]
        else:
            lines += [f"- **What went wrong:** {body}", ""]
            if mistake and hints in ("mistake", "full"):
                lines += [f"- **Likely mistake:** {mistake}", ""]
            elif hint and hints == "full":
                lines += [f"- **Hint:** {hint}", ""]
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


# ----------------------------------------------------------------------------- files

def _write_atomic(path: Path, text: str) -> None:
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


def _append(path: Path, text: str) -> None:
    with open(path, "a", encoding="utf-8", newline="") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())


def _csv_text(rows: Iterable[dict], header: bool = True, fields: Sequence[str] = FIELDS) -> str:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=list(fields), lineterminator="\n")
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


# ----------------------------------------------------------------------------- the batch

def _read_roster(path: str | Path) -> list[str]:
    """Student names from a roster: one per line, or a CSV whose column ``student`` (else its first
    column) holds them; blank lines and lines starting with ``#`` are skipped."""
    text = Path(path).read_text(encoding="utf-8-sig")
    lines = [line for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    if not lines:
        return []
    rows = list(csv.reader(lines))
    header = [h.strip().lower() for h in rows[0]]
    column = header.index("student") if "student" in header else None
    if column is not None:
        rows = rows[1:]
    names = []
    for row in rows:
        if row:
            name = row[column or 0].strip()
            if name and name not in names:
                names.append(name)
    return names


MANUAL_NAME = "manual.csv"
WRITTEN_NAME = "written.csv"
TOTALS_NAME = "students.csv"
LMS_NAME = "lms.csv"
MANUAL_FIELDS = ("student", "notebook", "item", "score", "max_score", "comment")


def _read_manual(path: Path, say: Callable[[str], None]) -> list[dict]:
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
            except (TypeError, ValueError):
                if (rec.get("score") or "").strip() == "":
                    continue  # a line of written.csv copied without a score yet
                say(f"warning: {path.name} line {n}: score and max_score must be numbers; skipped")
                continue
            if not (rec["student"] and rec["notebook"] and rec["item"]) or not 0 <= score <= most:
                say(f"warning: {path.name} line {n}: needs student, notebook, item and "
                    f"0 <= score <= max_score; skipped")
                continue
            out.append({"student": rec["student"].strip(), "notebook": rec["notebook"].strip(),
                        "exercise": "manual: " + rec["item"].strip(), "score": format_points(score),
                        "max_score": format_points(most), "status": "manual",
                        "message": one_line(rec.get("comment") or "scored by hand", MAX_ROW_MESSAGE)})
    return out


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
    return _csv_text(rows, fields=fields)


def _absent_rows(student: str, nb: str, exs: list[Exercise], status: str, message: str) -> list[dict]:
    sub = Submission(student, nb, Path(nb), nb)
    return [_row(sub, ex.id, 0, ex.points, status, message) for ex in exs]


def _absent_feedback(student: str, nb: str, exs: list[Exercise], message: str) -> str:
    total = sum(ex.points for ex in exs)
    return (f"# Feedback: {nb}\n\nStudent: {student}\n\n**Total: 0 / {format_points(total)} points.**"
            f"\n\n**Not graded**: {message}\n")


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
    if not submissions.is_dir():
        raise FileNotFoundError(f"SUBMISSIONS must be a folder of <student>/<notebook>.ipynb, "
                                f"got {str(submissions)!r}")
    if timeout <= 0 or memory_mb < 64 or jobs < 1:
        raise ValueError("timeout must be > 0, memory_mb >= 64 and jobs >= 1")
    if hints not in HINT_LEVELS:
        raise ValueError(f"hints must be one of {', '.join(HINT_LEVELS)}, got {hints!r}")
    if out.resolve() == submissions.resolve() or submissions.resolve() in out.resolve().parents:
        raise ValueError("--out must not be inside SUBMISSIONS (students' folders would mix with "
                         "the gradebook)")
    if solutions is not None:
        solutions = Path(solutions)
        if not solutions.is_dir():
            raise FileNotFoundError(f"--solutions must be the course's folder of solution "
                                    f"notebooks, got {str(solutions)!r}")
    roster_names = _read_roster(roster) if roster is not None else None
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
    mode = isolation
    if mode == "process":
        say("warning: --isolation process: submissions run as plain processes that can read your "
            "files (see the instructors' page)")
    hidden = [str(p.resolve()) for p in (submissions, out, solutions) if p is not None]

    out.mkdir(parents=True, exist_ok=True)
    csv_path, ledger_path = out / CSV_NAME, out / LEDGER_NAME
    ledger = _load_ledger(ledger_path)
    found = discover(submissions, known)
    subs = found.submissions
    # the gradebook describes the folder as it is now: work that left it leaves the gradebook
    present = {s.key for s in subs}
    stale = sorted(k for k in ledger if k not in present)
    for key in stale:
        rec = ledger.pop(key)
        fb = rec.get("feedback")
        if isinstance(fb, str) and fb and ".." not in Path(fb).parts:
            try:
                (out / fb).unlink()
            except OSError:
                pass
    if stale:
        _write_atomic(ledger_path, "".join(json.dumps(ledger[k], ensure_ascii=False, sort_keys=True)
                                           + "\n" for k in sorted(ledger)))
    _write_atomic(csv_path, _csv_text(_sorted_rows(ledger), header=True))

    students = list(found.students)
    not_on_roster = []
    if roster_names is not None:
        not_on_roster = [s for s in students if s not in roster_names]
        students = sorted(set(students) | set(roster_names))
    ignored = list(found.ignored)
    for line in ignored:
        say(f"ignored {line}")
    todo = []
    skipped = 0
    for sub in subs:
        exs_nb = by_nb.get(sub.notebook)
        fingerprint = _fingerprint(exs_nb) if exs_nb else ""
        rec = ledger.get(sub.key)
        helpers = found.helpers.get(sub.key, {})
        if not regrade and rec is not None and rec.get("fingerprint") == fingerprint \
                and rec.get("rel", sub.rel) == sub.rel and rec.get("hints", "mistake") == hints \
                and rec.get("helpers", {}) == _helper_digest(helpers):
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
        bar = tqdm(total=len(todo), desc="grading", unit="notebook", file=sys.stderr, leave=True)

    def work(sub: Submission) -> _Graded:
        try:
            return _grade_one(sub, by_nb.get(sub.notebook), known, limits, mode, seed, hidden,
                              helpers=found.helpers.get(sub.key, {}), hints=hints,
                              solutions=solutions)
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
                return _Graded(sub, sha, "", [row], _feedback_unknown(sub, message))
            return _finish(sub, sha, _fingerprint(exs_nb), results, [], None, limits, hints)

    def record(graded: _Graded) -> None:
        sub = graded.sub
        fb = _feedback_path(out, sub)
        _write_atomic(fb, graded.feedback)
        rec = {"key": sub.key, "student": sub.student, "notebook": sub.notebook, "rel": sub.rel,
               "sha256": graded.sha256, "fingerprint": graded.fingerprint, "rows": graded.rows,
               "feedback": fb.relative_to(out).as_posix(), "hints": hints,
               "helpers": _helper_digest(found.helpers.get(sub.key, {})),
               "written": graded.written}
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
    _write_atomic(ledger_path, "".join(json.dumps(ledger[k], ensure_ascii=False, sort_keys=True) + "\n"
                                       for k in sorted(ledger)))
    # every expected (student, notebook, exercise) has a row: absent and conflicting work included
    extra: list[dict] = []
    submitted = {(s.student, s.notebook) for s in subs}
    missing_count = 0
    for student in students:
        for nb in known:
            if (student, nb) in submitted:
                continue
            if (student, nb) in found.conflicts:
                copies = found.conflicts[(student, nb)]
                message = (f"several files could be `{nb}`: {', '.join(copies)}; keep exactly one "
                           f"(named `{nb}`) in the student's folder")
                extra += _absent_rows(student, nb, by_nb[nb], "error", message)
            else:
                missing_count += 1
                where = "the student's folder" if student in found.students else \
                    "SUBMISSIONS (the student on the roster has no folder)"
                message = f"no notebook `{nb}` in {where}"
                extra += _absent_rows(student, nb, by_nb[nb], "missing", message)
            stem = nb[:-len(".ipynb")]
            _write_atomic(out / "feedback" / student / f"{stem}.md",
                          _absent_feedback(student, nb, by_nb[nb], extra[-1]["message"]))
    # a student who left the folder (and the roster) leaves the feedback too
    for folder in sorted((out / "feedback").glob("*")):
        if folder.is_dir() and not folder.is_symlink() and folder.name not in students:
            shutil.rmtree(folder, ignore_errors=True)
    manual = _read_manual(out / MANUAL_NAME, say)
    # a manual item scored for some students is owed by all: the others get 0 of it, "not graded"
    items = {}
    for r in manual:
        key = (r["notebook"], r["exercise"])
        items[key] = max(float(r["max_score"]), items.get(key, 0.0))
    have = {(r["student"], r["notebook"], r["exercise"]) for r in manual}
    for student in students:
        for (nb, item), most in sorted(items.items()):
            if (student, nb, item) not in have:
                manual.append({"student": student, "notebook": nb, "exercise": item, "score": "0",
                               "max_score": format_points(most), "status": "not graded",
                               "message": f"no score for this item in {MANUAL_NAME} yet"})
    rows = sorted(_sorted_rows(ledger) + [{k: str(r.get(k, "")) for k in FIELDS}
                                          for r in extra + manual],
                  key=lambda r: (r["student"], r["notebook"], r["exercise"]))
    _write_atomic(csv_path, _csv_text(rows, header=True))
    notebooks = sorted(set(known) | {r["notebook"] for r in manual})
    totals = _totals(rows, students, notebooks)
    total_fields = ["student"] + [f for nb in notebooks for f in (nb[:-6], f"{nb[:-6]} max")] + [
        "total", "max_total"]
    _write_atomic(out / TOTALS_NAME, _csv_text(totals, fields=total_fields))
    _write_atomic(out / LMS_NAME, _lms_csv(totals, notebooks))
    written = sorted((w for rec in ledger.values() for w in rec.get("written", [])),
                     key=lambda w: (w["student"], w["notebook"], w["item"]))
    _write_atomic(out / WRITTEN_NAME, _csv_text(written, fields=("student", "notebook", "item", "answered",
                                                          "score", "max_score", "comment")))
    text = _summary_text(rows, exs, graded_count, skipped, time.monotonic() - start, mode)
    if stale:
        text += (f"\nremoved {len(stale)} submission(s) no longer in the folder from the gradebook "
                 f"(and their feedback): {', '.join(stale[:5])}{' ...' if len(stale) > 5 else ''}")
    if missing_count:
        text += f"\n{missing_count} notebook(s) not submitted: their exercises have status `missing`"
    if found.conflicts:
        text += (f"\n{len(found.conflicts)} notebook(s) with several candidate files (status "
                 f"`error`): " + ", ".join(f"{s}/{nb}" for s, nb in sorted(found.conflicts)))
    if not_on_roster:
        text += f"\nnot on the roster (graded anyway): {', '.join(not_on_roster)}"
    if ignored:
        text += f"\nignored {len(ignored)} path(s):\n" + "\n".join(f"  {line}" for line in ignored)
    text += (f"\nwrote {CSV_NAME}, {TOTALS_NAME} (totals per student), {LMS_NAME} (LMS import), "
             f"{WRITTEN_NAME} (written answers to score by hand into {MANUAL_NAME})")
    say(text)
    return Summary(graded=graded_count, skipped=skipped, rows=rows, mode=mode, text=text,
                   ignored=ignored, stale=stale, totals=totals)
