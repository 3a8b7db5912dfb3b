"""Reading notebooks as data: validation, code cells, and IPython syntax made plain Python.

Used by the grader (which never runs a submission itself) and by the sandboxed child (which runs
the code). Only the standard library: parsing a notebook is ``json.loads`` and checks of its shape.
"""
from __future__ import annotations

import json
import re
from typing import Any

__all__ = ["NotebookError", "parse_notebook", "code_cells", "cell_source", "strip_magics"]

MAX_NOTEBOOK_BYTES = 50 * 2**20


class NotebookError(ValueError):
    """The bytes are not a readable nbformat-4 notebook (the message says why)."""


def cell_source(cell: dict) -> str:
    source = cell.get("source", "")
    return "".join(source) if isinstance(source, list) else source


def parse_notebook(data: bytes, *, max_bytes: int = MAX_NOTEBOOK_BYTES) -> dict:
    """Parse and validate notebook bytes; :class:`NotebookError` says what is wrong."""
    if len(data) > max_bytes:
        raise NotebookError(f"the file is {len(data) / 2**20:.0f} MB, larger than the "
                            f"{max_bytes / 2**20:.0f} MB a notebook may have")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        raise NotebookError(f"not UTF-8 text ({err.reason} at byte {err.start})") from None
    try:
        nb = json.loads(text)
    except RecursionError:
        raise NotebookError("not valid JSON (nested too deeply)") from None
    except ValueError as err:
        raise NotebookError(f"not valid JSON ({err})") from None
    if not isinstance(nb, dict):
        raise NotebookError(f"not a notebook: the JSON document is a {type(nb).__name__}, not an object")
    if "cells" not in nb or "nbformat" not in nb:
        raise NotebookError("not a notebook: no 'cells' or 'nbformat' field")
    if nb.get("nbformat") != 4:
        raise NotebookError(f"not an nbformat 4 notebook (nbformat={nb.get('nbformat')!r})")
    cells = nb["cells"]
    if not isinstance(cells, list):
        raise NotebookError("not a notebook: 'cells' is not a list")
    for i, cell in enumerate(cells):
        if not isinstance(cell, dict) or not isinstance(cell.get("cell_type"), str):
            raise NotebookError(f"not a notebook: cell {i} has no cell_type")
        source = cell.get("source", "")
        if not (isinstance(source, str) or
                isinstance(source, list) and all(isinstance(s, str) for s in source)):
            raise NotebookError(f"not a notebook: cell {i} has a source that is not text")
    return nb


def code_cells(nb: dict) -> list[str]:
    """The sources of the code cells, in order."""
    return [cell_source(c) for c in nb["cells"] if c.get("cell_type") == "code"]


_KEEP_BODY = {"time", "timeit", "capture", "prun", "debug", "writefile"}
_ASSIGN_MAGIC = re.compile(r"^\s*[\w.,\s\[\]()*]+=\s*[%!]")


def _compiles(source: str) -> bool:
    try:
        compile(source, "<cell>", "exec", dont_inherit=True)
    except (SyntaxError, ValueError):
        return False
    except Exception:
        return False
    return True


def strip_magics(source: str) -> str:
    """Turn a cell with IPython syntax into plain Python that can be ``exec``-ed.

    A cell that already compiles is returned unchanged (so a ``%`` inside a string is never touched).
    Otherwise line magics (``%matplotlib inline``), shell lines (``!pip install x``), assignments from
    them (``files = !ls``) and help lines (``np.zeros?``) become ``pass`` at their indentation; a cell
    magic keeps its body for ``%%time``/``%%capture``-like magics and drops the cell otherwise
    (``%%bash``). Nothing is executed here.
    """
    if _compiles(source):
        return source
    lines = source.split("\n")
    first = lines[0].lstrip() if lines else ""
    if first.startswith("%%"):
        name = first[2:].split(maxsplit=1)[0] if first[2:].split() else ""
        if name not in _KEEP_BODY or name == "writefile":
            return ""
        lines = lines[1:]
    out = []
    for line in lines:
        stripped = line.lstrip()
        indent = line[: len(line) - len(stripped)]
        if stripped.startswith(("%", "!")) or _ASSIGN_MAGIC.match(line) or (
                stripped.endswith("?") and not stripped.startswith("#")
                and re.fullmatch(r"[\w.]+\?{1,2}", stripped)):
            out.append(indent + "pass")
        else:
            out.append(line)
    return "\n".join(out)


def is_notebook_json(obj: Any) -> bool:
    return isinstance(obj, dict) and isinstance(obj.get("cells"), list)
