"""The exercise generator (rnnlab.grading.generate) on small solution notebooks built here."""
from __future__ import annotations

import json

import nbformat
import pytest

import grading_fixture_checks as fx
from rnnlab.grading.generate import (DEFAULT_HINT, MarkerError, build_exercises, check_exercises,
                                     generate_notebook, render)


def _cells(nb):
    return [c for c in nb["cells"] if c["id"] != "rnnlab-exercise-header"]


def _src(cell):
    return "".join(cell["source"])


def test_code_region_becomes_a_stub_with_the_hint_at_its_indentation():
    ex = _cells(generate_notebook(fx.solution_notebook(), fx.NOTEBOOK))
    add = _src(ex[2])
    assert "return a + b" not in add and "BEGIN SOLUTION" not in add
    assert '    # Hint: one operator is enough\n    raise NotImplementedError("one operator is enough")\n' in add
    assert add.startswith('def add_arrays(a, b):\n    """Elementwise sum')
    scale = _src(ex[4])
    assert f'    raise NotImplementedError("{DEFAULT_HINT}")' in scale and "scaled =" not in scale
    # a region inside a function does not make the cell raise when it runs
    assert "raises-exception" not in ex[2]["metadata"].get("tags", [])
    compile(add, "<add>", "exec")
    compile(scale, "<scale>", "exec")


def test_markdown_region_tags_outputs_ids_and_metadata():
    sol = fx.solution_notebook()
    sol["cells"][1]["outputs"] = [{"output_type": "stream", "name": "stdout", "text": ["hi\n"]}]
    sol["cells"][1]["execution_count"] = 3
    sol["cells"][1]["metadata"]["execution"] = {"iopub.status.busy": "2026-01-01T00:00:00"}
    sol["cells"][1]["metadata"]["custom"] = {"keep": True}
    nb = generate_notebook(sol, fx.NOTEBOOK)
    assert nb["cells"][0]["cell_type"] == "markdown" and "generated" in _src(nb["cells"][0])
    ex = _cells(nb)
    assert [c["id"] for c in ex] == [c["id"] for c in sol["cells"]]
    assert _src(ex[6]) == "Why does the sum scale too?\n\n*Write your answer here.*"
    assert ex[7]["metadata"]["tags"] == ["exercise-dependent", "raises-exception"]
    assert ex[1]["outputs"] == [] and ex[1]["execution_count"] is None
    assert ex[1]["metadata"] == {"custom": {"keep": True}}
    assert nb["metadata"] == sol["metadata"] and (nb["nbformat"], nb["nbformat_minor"]) == (4, 5)


def test_top_level_region_gets_raises_exception_and_hint_escaping():
    sol = fx.notebook('# Hint: use "np.tanh" \\ twice\n### BEGIN SOLUTION\nW = 1\n### END SOLUTION\nprint(W)')
    cell = _cells(generate_notebook(sol, "x.ipynb"))[0]
    assert cell["metadata"]["tags"] == ["raises-exception"]
    source = _src(cell)
    namespace = {}
    with pytest.raises(NotImplementedError, match=r'use "np.tanh" \\ twice'):
        exec(compile(source, "<cell>", "exec"), namespace)


def test_a_region_that_runs_with_its_cell_is_tagged_wherever_it_is_indented():
    loop = "total = 0\nfor i in range(3):\n    ### BEGIN SOLUTION\n    total += i\n    ### END SOLUTION\n"
    method = "class A:\n    def f(self):\n        ### BEGIN SOLUTION\n        return 1\n        ### END SOLUTION\n"
    nb = _cells(generate_notebook(fx.notebook(loop, method), "x.ipynb"))
    assert nb[0]["metadata"]["tags"] == ["raises-exception"]
    assert "tags" not in nb[1]["metadata"]


def test_missing_and_duplicate_ids_are_replaced_deterministically():
    sol = fx.solution_notebook()
    sol["nbformat_minor"] = 4
    del sol["cells"][0]["id"]
    sol["cells"][2]["id"] = sol["cells"][1]["id"]
    a = generate_notebook(sol, fx.NOTEBOOK)
    b = generate_notebook(json.loads(json.dumps(sol)), fx.NOTEBOOK)
    ids = [c["id"] for c in a["cells"]]
    assert len(ids) == len(set(ids)) and ids == [c["id"] for c in b["cells"]]
    nbformat.validate(nbformat.from_dict(a))


@pytest.mark.parametrize("source, where", [
    ("### BEGIN SOLUTION\nx = 1\n", "has no '### END SOLUTION'"),
    ("x = 1\n### END SOLUTION\n", "has no '### BEGIN SOLUTION'"),
    ("### BEGIN SOLUTION\n### BEGIN SOLUTION\n### END SOLUTION\n", "cannot nest"),
])
def test_unbalanced_markers_name_the_notebook_and_the_cell(source, where):
    sol = fx.notebook("import rnnlab", source)
    with pytest.raises(MarkerError) as info:
        generate_notebook(sol, "07_bad.ipynb")
    assert "07_bad.ipynb, cell 1" in str(info.value) and where in str(info.value)


def test_build_is_deterministic_nbformat_clean_and_check_detects_staleness(tmp_path):
    solutions, exercises = tmp_path / "solutions", tmp_path / "exercises"
    solutions.mkdir()
    (solutions / fx.NOTEBOOK).write_text(fx.dumps(fx.solution_notebook()), encoding="utf-8")
    assert check_exercises(solutions, exercises) == [f"{fx.NOTEBOOK}: missing (generate it from "
                                                     f"solutions/{fx.NOTEBOOK})"]
    assert build_exercises(solutions, exercises) == [exercises / fx.NOTEBOOK]
    first = (exercises / fx.NOTEBOOK).read_bytes()
    assert build_exercises(solutions, exercises) == [] and (exercises / fx.NOTEBOOK).read_bytes() == first
    assert check_exercises(solutions, exercises) == []
    # byte for byte what nbformat itself writes
    nb = nbformat.reads(first.decode("utf-8"), as_version=4)
    nbformat.validate(nb)
    assert nbformat.writes(nb) + "\n" == first.decode("utf-8") == render(json.loads(first))
    # hand edits, stale files and orphans are caught; build repairs them
    (exercises / fx.NOTEBOOK).write_bytes(first.replace(b"one operator", b"two operators"))
    (exercises / "00_orphan.ipynb").write_text("{}")
    problems = check_exercises(solutions, exercises)
    assert len(problems) == 2 and any("00_orphan" in p for p in problems)
    build_exercises(solutions, exercises)
    assert check_exercises(solutions, exercises) == [] and not (exercises / "00_orphan.ipynb").exists()


def test_a_marker_error_writes_nothing(tmp_path):
    solutions, exercises = tmp_path / "solutions", tmp_path / "exercises"
    solutions.mkdir()
    (solutions / "01_a.ipynb").write_text(fx.dumps(fx.solution_notebook()))
    (solutions / "02_b.ipynb").write_text(fx.dumps(fx.notebook("### BEGIN SOLUTION")))
    with pytest.raises(MarkerError, match="02_b.ipynb, cell 0"):
        build_exercises(solutions, exercises)
    assert not list(exercises.glob("*.ipynb")) if exercises.exists() else True


def test_grader_skip_tag_carries_into_the_exercise_notebook():
    from rnnlab.grading.generate import generate_notebook

    sol = fx.notebook(fx.ADD_SOLUTION, ("code", "train_for_a_minute()", ["grader-skip"]))
    ex = generate_notebook(sol, fx.NOTEBOOK)
    tagged = [c for c in ex["cells"] if "grader-skip" in c.get("metadata", {}).get("tags", [])]
    assert [c["source"] for c in tagged] == [["train_for_a_minute()"]]
