"""The committed exercises/ are what `rnnlab exercises build` generates from solutions/, and every
graded function's stub in exercises/ really raises NotImplementedError (so check() says
"not attempted" and the grader gives 0 for an untouched notebook)."""
from __future__ import annotations

import ast
import json
from pathlib import Path

import numpy as np
import pytest

from rnnlab.grading import check, exercises
from rnnlab.grading.checker import draw_cases
from rnnlab.grading.generate import check_exercises
from rnnlab.grading.notebook import python_source

ROOT = Path(__file__).resolve().parent.parent
SOLUTIONS = ROOT / "solutions"
EXERCISES = ROOT / "exercises"


def test_committed_exercises_match_the_generator():
    if not sorted(SOLUTIONS.glob("*.ipynb")):
        pytest.skip("no solutions/*.ipynb yet")
    problems = check_exercises(SOLUTIONS, EXERCISES)
    assert not problems, ("exercises/ is stale; run `rnnlab exercises build` and commit:\n  "
                          + "\n  ".join(problems))


def _graded_in_exercises():
    try:
        registered = exercises()
    except Exception as err:  # reported by the test, not as a collection error of this file
        return [pytest.param(f"the check modules do not import: {err!r}", id="registry")]
    found = []
    for ex in registered:
        if (EXERCISES / ex.notebook).exists():
            found.append(pytest.param(ex, id=ex.id))
    return found or [pytest.param(None, marks=pytest.mark.skip(reason="no exercise notebooks yet"))]


def _definitions_up_to(sources: list[str], function: str) -> str | None:
    """Imports, constant assignments and def/class statements of the cells up to the one that
    defines ``function`` (nothing else runs: no prints, no training, no calls of stubs)."""
    kept = []
    for source in sources:
        try:
            tree = ast.parse(python_source(source))
        except SyntaxError:
            continue
        defines = False
        for node in tree.body:
            keep = isinstance(node, (ast.Import, ast.ImportFrom, ast.FunctionDef, ast.ClassDef))
            if isinstance(node, (ast.Assign, ast.AnnAssign)) and node.value is not None:
                try:
                    ast.literal_eval(node.value)
                    keep = True
                except ValueError:
                    pass
            if keep:
                kept.append(ast.unparse(node))
            if isinstance(node, ast.FunctionDef) and node.name == function:
                defines = True
        if defines:
            return "\n\n".join(kept)
    return None


def _assert_stub_raises(ex, nb: dict, where: str) -> None:
    sources = ["".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "code"]
    code = _definitions_up_to(sources, ex.function)
    assert code is not None, f"{where} defines no function `{ex.function}` at top level"
    namespace = {"__name__": "__exercise__"}
    exec(compile(code, where, "exec"), namespace)
    func = namespace[ex.function]
    case = draw_cases(ex, np.random.default_rng(0))[0]
    with pytest.raises(NotImplementedError):
        func(*case)
    result = check(ex.id, func)
    assert (result.status, result.score, result.passed) == ("not attempted", 0, False), result.message


@pytest.mark.parametrize("ex", _graded_in_exercises())
def test_every_stub_raises_not_implemented(ex):
    if isinstance(ex, str):
        pytest.fail(ex)
    nb = json.loads((EXERCISES / ex.notebook).read_text(encoding="utf-8"))
    _assert_stub_raises(ex, nb, f"exercises/{ex.notebook}")


def test_the_stub_test_itself_on_the_fixture_notebook(monkeypatch):
    import grading_fixture_checks as fx
    from rnnlab.grading import checks
    from rnnlab.grading.generate import generate_notebook

    for ex in fx.EXERCISES:
        monkeypatch.setitem(checks.EXERCISES, ex.id, ex)
    for ex in fx.EXERCISES:
        _assert_stub_raises(ex, generate_notebook(fx.solution_notebook(), fx.NOTEBOOK), "fixture")
        with pytest.raises(pytest.fail.Exception):  # and it notices a solution left in place
            _assert_stub_raises(ex, fx.solution_notebook(), "fixture solution")
