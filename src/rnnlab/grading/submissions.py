"""What is in a folder of submissions: who submitted which course notebook, as which file.

``SUBMISSIONS/<student>/<notebook>.ipynb`` is the layout asked for; students rename, nest and copy,
so :func:`discover` matches each notebook file to a course notebook by name (``"Copy of
03_lstm (1).ipynb"`` is ``03_lstm.ipynb``), searches a few folders deep, keeps the ``.py`` helper
files found beside a notebook and lists everything it ignored with the reason. A roster
(:func:`read_roster`) names the students expected.
"""
from __future__ import annotations

import csv
import hashlib
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

__all__ = ["Submission", "Discovery", "canonical_name", "match_notebook", "discover", "read_roster",
           "file_sha256", "helper_digest", "helper_files"]

MAX_DEPTH = 4  # folders below a student's folder that are searched for notebooks
MAX_HELPER_BYTES = 1 << 20  # a helper .py file larger than this is not copied into the sandbox
MAX_HELPERS = 20  # helper files copied per notebook
_SKIP_DIRS = {"__MACOSX", "__pycache__"}


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


def read_roster(path: str | Path) -> list[str]:
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


def file_sha256(path: Path) -> str:
    """The SHA-256 of a file's bytes (hex), read in blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def helper_digest(helpers: dict) -> dict:
    """``{file name: SHA-256}`` of a notebook's helper files (a changed helper means a regrade)."""
    out = {}
    for name, path in sorted(helpers.items()):
        try:
            out[name] = file_sha256(path)
        except OSError:
            out[name] = ""
    return out


def helper_files(helpers: dict) -> tuple[dict, list[str]]:
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
