"""Test-only exercises and notebooks for the grading tests (never part of the package registry).

Two exercises of a pretend notebook ``99_fixture.ipynb``: ``add_arrays(a, b)`` and
``scale(x, factor) -> (scaled, total)``. :func:`solution_notebook` is their solutions notebook (with
``### BEGIN/END SOLUTION`` regions), :func:`notebook` builds any other notebook from cell sources.

Run as a script, it grades with these exercises, so a test can start (and kill) a real grading
process: ``python grading_fixture_checks.py SUBMISSIONS OUT [grade options]``.
"""
from __future__ import annotations

import json
import sys

import numpy as np

from rnnlab.grading.spec import Exercise

NOTEBOOK = "99_fixture.ipynb"


def _add_cases(rng: np.random.Generator) -> list[tuple]:
    cases = []
    for _ in range(4):
        shape = (int(rng.integers(2, 5)), int(rng.integers(5, 8)))  # never square
        cases.append((rng.standard_normal(shape), rng.standard_normal(shape)))
    return cases


def _scale_cases(rng: np.random.Generator) -> list[tuple]:
    return [(rng.standard_normal(int(rng.integers(3, 7))), float(rng.uniform(0.5, 2.0)))
            for _ in range(3)]


ADD = Exercise(
    id="99.add_arrays", notebook=NOTEBOOK, function="add_arrays", points=2,
    title="Add two arrays", cases=_add_cases, reference=lambda a, b: a + b,
    mistakes={"subtracted b from a instead of adding": lambda a, b: a - b},
    arg_names=("a", "b"), hint="Add the arrays elementwise: a + b.")

SCALE = Exercise(
    id="99.scale", notebook=NOTEBOOK, function="scale", points=1,
    title="Scale an array and sum it", cases=_scale_cases,
    reference=lambda x, factor: (x * factor, float((x * factor).sum())),
    mistakes={"the total was taken before scaling": lambda x, factor: (x * factor, float(x.sum()))},
    arg_names=("x", "factor"), output_names=("scaled", "total"),
    hint="Multiply, then sum the scaled array.")

EXERCISES = (ADD, SCALE)

ADD_SOLUTION = '''def add_arrays(a, b):
    """Elementwise sum of two arrays of the same shape."""
    # Hint: one operator is enough
    ### BEGIN SOLUTION
    return a + b
    ### END SOLUTION
'''

SCALE_SOLUTION = '''def scale(x, factor):
    """Return (x * factor, the sum of x * factor)."""
    ### BEGIN SOLUTION
    scaled = x * factor
    return scaled, float(scaled.sum())
    ### END SOLUTION
'''

ADD_OK = "def add_arrays(a, b):\n    return a + b\n"
SCALE_OK = "def scale(x, factor):\n    s = x * factor\n    return s, float(s.sum())\n"


def notebook(*cells, metadata: dict | None = None) -> dict:
    """An nbformat 4.5 notebook; each cell is a code source, or ``("markdown", text)``, or
    ``("code", text, tags)``."""
    out = []
    for i, cell in enumerate(cells):
        kind, text, tags = ("code", cell, []) if isinstance(cell, str) else (
            cell + ((),) if len(cell) == 2 else cell)
        entry = {"cell_type": kind, "id": f"c{i:02d}", "metadata": {}, "source": text.splitlines(True)}
        if tags:
            entry["metadata"]["tags"] = list(tags)
        if kind == "code":
            entry.update(outputs=[], execution_count=None)
        out.append(entry)
    return {"cells": out, "metadata": metadata or {
        "kernelspec": {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"},
        "language_info": {"name": "python"}}, "nbformat": 4, "nbformat_minor": 5}


def solution_notebook() -> dict:
    return notebook(
        ("markdown", "# Fixture exercises\n\nTwo tiny functions."),
        "import numpy as np\nimport rnnlab",
        ADD_SOLUTION,
        'rnnlab.grading.check("99.add_arrays", add_arrays)',
        SCALE_SOLUTION,
        'rnnlab.grading.check("99.scale", scale)',
        ("markdown", "Why does the sum scale too?\n\n### BEGIN SOLUTION\nBecause the sum is linear.\n"
                     "### END SOLUTION"),
        ("code", "print(add_arrays(np.ones(2), np.ones(2)))", ["exercise-dependent"]),
    )


def dumps(nb: dict) -> str:
    return json.dumps(nb, indent=1, ensure_ascii=False) + "\n"


if __name__ == "__main__":  # python grading_fixture_checks.py SUBMISSIONS OUT [--seed N --jobs N ...]
    import argparse

    from rnnlab.grading.grade import grade

    parser = argparse.ArgumentParser()
    parser.add_argument("submissions")
    parser.add_argument("out")
    parser.add_argument("--seed", type=int)
    parser.add_argument("--jobs", type=int, default=1)
    parser.add_argument("--timeout", type=float, default=20)
    parser.add_argument("--memory", type=int, default=1024)
    parser.add_argument("--isolation", default="bwrap")
    args = parser.parse_args()
    grade(args.submissions, args.out, timeout=args.timeout, memory_mb=args.memory, jobs=args.jobs,
          seed=args.seed, isolation=args.isolation, exercises=EXERCISES, progress=False)
    sys.exit(0)
