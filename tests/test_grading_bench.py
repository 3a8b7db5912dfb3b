"""benchmarks/bench_grading.py builds the class it measures: every profile is there and the
grader's discovery finds each of its notebooks under the right student and course notebook."""
import importlib.util
import json
from pathlib import Path

from rnnlab.grading import exercises
from rnnlab.grading.grade import discover

ROOT = Path(__file__).resolve().parents[1]


def _bench():
    spec = importlib.util.spec_from_file_location("bench_grading",
                                                  ROOT / "benchmarks" / "bench_grading.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_the_class_has_every_profile_and_is_found_whole(tmp_path):
    bench = _bench()
    n = bench.build_class(tmp_path, students=6)
    known = sorted({ex.notebook for ex in exercises()})
    assert n == 6 * len(known)
    found = discover(tmp_path, known)
    assert not found.ignored, found.ignored
    assert len(found.students) == 6
    assert sorted({s.notebook for s in found.submissions}) == known
    assert len(found.submissions) == n
    by_student = {}
    for s in found.submissions:
        by_student.setdefault(s.student, []).append(s)
    assert any(s.renamed for s in by_student["student003_renamed"])
    assert all("rnn-homework" in s.rel for s in by_student["student004_nested"])
    messy = json.loads(next(tmp_path.glob("student005_messy/02_*.ipynb")).read_text())
    assert "colab" in messy["metadata"] and messy["cells"][0]["source"].startswith("%matplotlib")


def test_tag_experiments_tags_only_cells_that_define_no_graded_function(tmp_path):
    bench = _bench()
    bench.build_class(tmp_path, students=1, tag_experiments=True)
    functions = {ex.function for ex in exercises()}
    tagged = 0
    for path in tmp_path.glob("*/*.ipynb"):
        for cell in json.loads(path.read_text())["cells"]:
            if "grader-skip" in (cell.get("metadata") or {}).get("tags", []):
                tagged += 1
                assert not any(f"def {f}(" in "".join(cell["source"]) for f in functions)
    assert tagged == sum(len(v) for v in bench.EXPERIMENT_CELLS.values())
