"""``exercises/`` from ``solutions/``: the student notebooks, generated, never edited by hand.

For each ``solutions/NAME.ipynb`` :func:`build_exercises` writes ``exercises/NAME.ipynb`` where

- a code region between ``### BEGIN SOLUTION`` and ``### END SOLUTION`` (marker lines included)
  becomes ``raise NotImplementedError("<hint>")`` at the marker's indentation; ``<hint>`` is the text
  of an optional ``# Hint: ...`` line directly above ``### BEGIN SOLUTION`` (that line stays), else
  "Replace this line with your code.";
- a markdown region becomes ``*Write your answer here.*``, and the cell is named in its metadata
  (``rnnlab.written_answer``: ``"written answer N (<the heading above it>)"``) for the grader;
- outputs, execution counts and execution timings are cleared; metadata and cell ids are kept
  (missing or duplicate ids are replaced by deterministic ones: nbformat 4.5);
- a code cell whose stub runs when the cell runs (a region at indentation 0, or in a loop or a
  class body: anywhere but inside a function), and a cell tagged ``exercise-dependent``, get the tag
  ``raises-exception``;
- a first markdown cell says the file is generated.

Notebooks are read and written with nbformat; the output is deterministic byte for byte, so
``--check`` can compare the committed files with what the generator would write.
"""
from __future__ import annotations

import ast
import copy
import hashlib
import json
import re
from dataclasses import dataclass
from pathlib import Path

import nbformat

from rnnlab.grading.notebook import python_source

__all__ = ["MarkerError", "generate_notebook", "build_exercises", "check_exercises", "render",
           "BEGIN", "END", "DEFAULT_HINT"]

BEGIN = "### BEGIN SOLUTION"
END = "### END SOLUTION"
HINT_PREFIX = "# Hint:"
DEFAULT_HINT = "Replace this line with your code."
ANSWER_MD = "*Write your answer here.*"
HEADER_ID = "rnnlab-exercise-header"
_ID_OK = re.compile(r"^[a-zA-Z0-9-_]{1,64}$")


class MarkerError(ValueError):
    """Unbalanced or misplaced solution markers (the message names the notebook and the cell)."""


@dataclass(frozen=True)
class _Region:
    begin: int  # line index of BEGIN
    end: int  # line index of END
    indent: str
    hint: str | None


def _regions(lines: list[str], where: str) -> list[_Region]:
    regions: list[_Region] = []
    open_at: int | None = None
    for i, line in enumerate(lines):
        stripped = line.strip()
        if stripped.startswith(BEGIN):
            if open_at is not None:
                raise MarkerError(f"{where}: '{BEGIN}' on line {i + 1} inside the region opened on "
                                  f"line {open_at + 1} (regions cannot nest; add '{END}' first)")
            open_at = i
        elif stripped.startswith(END):
            if open_at is None:
                raise MarkerError(f"{where}: '{END}' on line {i + 1} has no '{BEGIN}' before it")
            begin_line = lines[open_at]
            indent = begin_line[: len(begin_line) - len(begin_line.lstrip())]
            hint = None
            if open_at > 0 and lines[open_at - 1].strip().startswith(HINT_PREFIX):
                hint = lines[open_at - 1].strip()[len(HINT_PREFIX):].strip() or None
            regions.append(_Region(open_at, i, indent, hint))
            open_at = None
    if open_at is not None:
        raise MarkerError(f"{where}: '{BEGIN}' on line {open_at + 1} has no '{END}' after it")
    return regions


def _py_string(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)  # a JSON string is a valid Python string literal


def _source_lines(cell: dict) -> list[str]:
    source = cell.get("source", "")
    text = "".join(source) if isinstance(source, list) else str(source)
    return text.split("\n")


def _runs_when_executed(source: str, raise_lines: list[int], fallback: bool) -> bool:
    """Whether one of the inserted ``raise`` lines (1-based) runs when the cell runs, i.e. is not
    inside a function body (a class body or a loop runs at once). ``fallback`` if it does not parse."""
    try:
        tree = ast.parse(python_source(source))
    except SyntaxError:
        return fallback
    deferred: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            for inner in ast.walk(node):
                if isinstance(inner, ast.Raise):
                    deferred.add(inner.lineno)
    return any(line not in deferred for line in raise_lines)


def _replace(cell: dict, where: str) -> tuple[str, bool]:
    """The cell's new source and whether it now raises when it runs (a region outside any function)."""
    lines = _source_lines(cell)
    regions = _regions(lines, where)
    if not regions:
        return "\n".join(lines), False
    if cell.get("cell_type") not in ("code", "markdown"):
        raise MarkerError(f"{where}: solution markers are only allowed in code and markdown cells")
    out: list[str] = []
    raise_lines: list[int] = []
    top_level = False
    pos = 0
    for region in regions:
        out.extend(lines[pos:region.begin])
        if cell["cell_type"] == "code":
            hint = region.hint or DEFAULT_HINT
            out.append(f"{region.indent}raise NotImplementedError({_py_string(hint)})")
            raise_lines.append(len(out))
            top_level |= region.indent == ""
        else:
            out.append(ANSWER_MD)
        pos = region.end + 1
    out.extend(lines[pos:])
    source = "\n".join(out)
    if cell["cell_type"] == "code":
        top_level = _runs_when_executed(source, raise_lines, top_level)
    return source, top_level


def _split(text: str) -> list[str]:
    return text.splitlines(True)


def _fresh_id(name: str, index: int, used: set[str]) -> str:
    salt = 0
    while True:
        digest = hashlib.sha256(f"{name}:{index}:{salt}".encode()).hexdigest()[:12]
        candidate = f"cell-{digest}"
        if candidate not in used:
            return candidate
        salt += 1


def generate_notebook(solution: dict, name: str) -> dict:
    """The exercise notebook (a dict) for the solution notebook ``solution`` named ``name``."""
    if not isinstance(solution, dict) or not isinstance(solution.get("cells"), list):
        raise MarkerError(f"{name}: not a notebook (no list of cells)")
    nb = copy.deepcopy(solution)
    nb.setdefault("metadata", {})
    for key in ("orig_nbformat", "orig_nbformat_minor", "signature"):
        nb["metadata"].pop(key, None)
    nb["nbformat"] = 4
    nb["nbformat_minor"] = max(5, int(nb.get("nbformat_minor", 0) or 0))
    cells = []
    header = {
        "cell_type": "markdown",
        "id": HEADER_ID,
        "metadata": {},
        "source": _split(f"*Exercise notebook, generated from `solutions/{name}` by "
                         f"`rnnlab exercises build`: do not edit it by hand (edit the solution and "
                         f"rebuild). Fill in every `raise NotImplementedError(...)` and run the "
                         f"check cell below each exercise.*"),
    }
    cells.append(header)
    used = {HEADER_ID}
    for index, cell in enumerate(nb["cells"]):
        if not isinstance(cell, dict) or "cell_type" not in cell:
            raise MarkerError(f"{name}, cell {index}: not a notebook cell")
        where = f"{name}, cell {index} ({cell['cell_type']})"
        source, top_level = _replace(cell, where)
        cell["source"] = _split(source)
        metadata = cell.setdefault("metadata", {})
        metadata.pop("execution", None)
        metadata.pop("trusted", None)
        tags = list(metadata.get("tags", []))
        if top_level or "exercise-dependent" in tags:
            if "raises-exception" not in tags:
                tags.append("raises-exception")
        if tags:
            metadata["tags"] = tags
        if cell["cell_type"] == "code":
            cell["outputs"] = []
            cell["execution_count"] = None
        cell_id = cell.get("id")
        if not isinstance(cell_id, str) or not _ID_OK.match(cell_id) or cell_id in used:
            cell_id = _fresh_id(name, index, used | {c.get("id") for c in nb["cells"]
                                                     if isinstance(c, dict)})
        cell["id"] = cell_id
        used.add(cell_id)
        cells.append(cell)
    nb["cells"] = cells
    _label_answers(cells)
    return nb


def _label_answers(cells: list[dict]) -> None:
    """Name each written-answer cell in its metadata (``rnnlab.written_answer``: ``"written answer
    2 (Exercise 5: ...)"``, after the nearest heading above it), so that the grader finds a student's
    answers, answered or not, in the submission itself."""
    heading, n = "", 0
    for cell in cells:
        if cell.get("cell_type") != "markdown":
            continue
        text = "".join(cell["source"])
        for line in text.splitlines():
            if line.lstrip().startswith("#"):
                heading = line.lstrip("# ").strip()
        if ANSWER_MD in text:
            n += 1
            label = f"written answer {n}" + (f" ({heading[:60]})" if heading else "")
            cell["metadata"]["rnnlab"] = {"written_answer": label}


def render(nb: dict) -> str:
    """The notebook's file contents, as ``nbformat.write`` writes them."""
    return nbformat.writes(nbformat.from_dict(nb)) + "\n"


def _read(path: Path) -> dict:
    try:
        return nbformat.read(path, as_version=4)
    except ValueError as err:  # not JSON, or not a notebook nbformat can read
        raise MarkerError(f"{path.name}: not a readable notebook ({err})") from None


def _expected(solutions_dir: Path) -> dict[str, str]:
    out = {}
    for path in sorted(Path(solutions_dir).glob("*.ipynb")):
        out[path.name] = render(generate_notebook(_read(path), path.name))
    return out


def check_exercises(solutions_dir: str | Path, exercises_dir: str | Path) -> list[str]:
    """What differs between ``exercises_dir`` and what the generator would write (empty: in sync)."""
    expected = _expected(Path(solutions_dir))
    exercises_dir = Path(exercises_dir)
    problems = []
    for name, text in expected.items():
        target = exercises_dir / name
        if not target.exists():
            problems.append(f"{target.name}: missing (generate it from solutions/{name})")
        elif target.read_bytes() != text.encode("utf-8"):
            problems.append(f"{target.name}: differs from what solutions/{name} generates")
    if exercises_dir.is_dir():
        for path in sorted(exercises_dir.glob("*.ipynb")):
            if path.name not in expected:
                problems.append(f"{path.name}: has no solution notebook (stale)")
    return problems


def build_exercises(solutions_dir: str | Path, exercises_dir: str | Path) -> list[Path]:
    """Write ``exercises_dir/NAME.ipynb`` for every ``solutions_dir/NAME.ipynb``; remove generated
    notebooks whose solution is gone. Returns the paths written or removed (unchanged files are not
    rewritten). Every notebook is generated before anything is written, so a marker error leaves
    ``exercises_dir`` untouched."""
    expected = _expected(Path(solutions_dir))
    exercises_dir = Path(exercises_dir)
    exercises_dir.mkdir(parents=True, exist_ok=True)
    changed = []
    for name, text in expected.items():
        target = exercises_dir / name
        data = text.encode("utf-8")
        if not target.exists() or target.read_bytes() != data:
            tmp = target.with_name(f".{name}.tmp")
            tmp.write_bytes(data)
            tmp.replace(target)
            changed.append(target)
    for path in sorted(exercises_dir.glob("*.ipynb")):
        if path.name not in expected:
            path.unlink()
            changed.append(path)
    return changed
