"""What grading costs: a class of realistic submissions graded with ``rnnlab grade``, CPU seconds
per notebook, and the estimate for a course of 200 and 2,000 students.

    python benchmarks/bench_grading.py [--students 5] [--jobs 2] [--out benchmarks/GRADING.md]

The class is built from ``solutions/`` and ``exercises/`` in a temporary folder; each student has a
profile (what a real class hands in):

- ``finished``: the six solution notebooks as they are;
- ``partial``: the exercise notebooks with the first half of their code cells solved;
- ``buggy``: the solutions with one graded function redefined wrongly at the end, and in one
  notebook a cell that never ends (``while True``) after the graded functions;
- ``renamed``: the solutions saved as ``03_lstm (1).ipynb``, ``Copy of 04_gru.ipynb``, ...;
- ``nested``: the solutions one folder deeper (``<student>/rnn-homework/*.ipynb``);
- ``messy``: the solutions with IPython magics and shell lines, Colab metadata, a cell that prints
  a megabyte, and a student's own ``.py`` helper beside the notebook.

Cost is CPU time (user + system) of the grader and every process it starts (resource usage, not
wall time: on a shared machine wall time measures the neighbours). The grader runs in this process,
with ``--jobs`` worker threads as ``rnnlab grade --jobs N`` does; per-notebook costs add the grader
thread's CPU time while it handles the notebook (drawing the cases, judging the results) and the
child's resource usage as ``wait4`` reports it (the harness, with everything it reaped). The
class is graded with ``--isolation process`` by default: under bwrap the harness runs in a PID
namespace whose init bwrap does not reap before it exits, so ``wait4`` sees almost none of the
child's CPU; the harness and the notebooks' code are the same in both modes (``--isolation bwrap``
measures only the grader's side).
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

PROFILES = ("finished", "partial", "buggy", "renamed", "nested", "messy")
# The cells of the solutions that train a model or draw a figure for the reader and define no graded
# function: the ones to tag `grader-skip` (the grader does not run a tagged cell; the tag carries
# into exercises/ and so into every student's copy). `--tag-experiments` tags them in the class it
# builds, to measure the cost once the notebooks carry the tag (a no-op where they already do).
EXPERIMENT_CELLS = {
    "02_bptt.ipynb": ("c019",),
    "03_lstm.ipynb": ("c022",),
    "04_gru.ipynb": ("c015",),
    "06_sequence_tasks.ipynb": ("s06-021", "s06-022"),
}
RENAMES = {"03_lstm.ipynb": "03_lstm (1).ipynb", "04_gru.ipynb": "Copy of 04_gru.ipynb",
           "01_recurrent_networks.ipynb": "01_recurrent_networks_final.ipynb"}


# ----------------------------------------------------------------------------- the class
def _load(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def _save(nb: dict, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(nb, ensure_ascii=False, indent=1), encoding="utf-8")


def _code_cell(source: str) -> dict:
    return {"cell_type": "code", "execution_count": None, "id": f"bench-{abs(hash(source)) % 10**8}",
            "metadata": {}, "outputs": [], "source": source}


def _graded_functions(notebook: str) -> list[str]:
    from rnnlab.grading import exercises

    return [ex.function for ex in exercises() if ex.notebook == notebook]


def _partial(solution: dict, exercise: dict) -> dict:
    """The exercise notebook with its first half of code cells taken from the solution (by id)."""
    solved = {c.get("id"): c for c in solution["cells"] if c.get("cell_type") == "code"}
    nb = json.loads(json.dumps(exercise))
    code = [c for c in nb["cells"] if c.get("cell_type") == "code"]
    for cell in code[: len(code) // 2]:
        if cell.get("id") in solved:
            cell["source"] = solved[cell["id"]]["source"]
    return nb


def _buggy(nb: dict, notebook: str, hang: bool) -> dict:
    nb = json.loads(json.dumps(nb))
    functions = _graded_functions(notebook)
    if functions:
        name = functions[0]
        nb["cells"].append(_code_cell(
            f"_mine = {name}\n\ndef {name}(*args):\n    out = _mine(*args)\n"
            f"    return tuple(o * 1.01 if hasattr(o, 'shape') else o for o in out) "
            f"if isinstance(out, tuple) else out * 1.01\n"))
    if hang:
        nb["cells"].append(_code_cell("while True:\n    pass\n"))
    return nb


def _messy(nb: dict) -> dict:
    nb = json.loads(json.dumps(nb))
    nb["metadata"]["colab"] = {"provenance": [], "name": "homework.ipynb"}
    nb["metadata"]["accelerator"] = "GPU"
    nb["cells"].insert(0, _code_cell("%matplotlib inline\n!pip install -q rnnlab\n%load_ext autoreload"))
    nb["cells"].insert(1, _code_cell("from my_helpers import clip\nprint('x' * 1_000_000)"))
    return nb


def _tag_experiments(nb: dict, notebook: str) -> dict:
    ids = set(EXPERIMENT_CELLS.get(notebook, ()))
    for cell in nb["cells"]:
        if cell.get("id") in ids:
            tags = cell.setdefault("metadata", {}).setdefault("tags", [])
            if "grader-skip" not in tags:
                tags.append("grader-skip")
    return nb


def build_class(root: Path, students: int, tag_experiments: bool = False) -> int:
    """Write ``students`` students' folders under ``root``; returns the number of notebooks."""
    solutions = sorted((ROOT / "solutions").glob("[0-9][0-9]*_*.ipynb"))
    count = 0
    for s in range(students):
        profile = PROFILES[s % len(PROFILES)]
        student = f"student{s:03d}_{profile}"
        folder = root / student / ("rnn-homework" if profile == "nested" else "")
        for k, path in enumerate(solutions):
            nb = _load(path)
            name = path.name
            if tag_experiments:
                nb = _tag_experiments(nb, name)
            if profile == "partial":
                exercise = _load(ROOT / "exercises" / name)
                nb = _partial(nb, _tag_experiments(exercise, name) if tag_experiments else exercise)
            elif profile == "buggy":
                nb = _buggy(nb, name, hang=(k == 0))
            elif profile == "renamed":
                name = RENAMES.get(name, name)
            elif profile == "messy":
                nb = _messy(nb)
                (folder / "my_helpers.py").parent.mkdir(parents=True, exist_ok=True)
                (folder / "my_helpers.py").write_text("import numpy as np\n\n"
                                                      "def clip(x):\n    return np.clip(x, -1, 1)\n")
            _save(nb, folder / name)
            count += 1
    return count


# ----------------------------------------------------------------------------- metering
class _Meter:
    """Per-notebook CPU: the grader thread's time while it handles a notebook, plus its child's."""

    def __init__(self):
        self.local = threading.local()
        self.rows: list[dict] = []
        self.lock = threading.Lock()

    def child(self, ru) -> None:
        cpu = getattr(self.local, "child", 0.0)
        self.local.child = cpu + ru.ru_utime + ru.ru_stime


_METER: list = [None]  # the meter of the run in progress


def _install(meter: _Meter):
    """Wrap ``_grade_one`` and the sandbox's ``Popen`` (``wait4`` instead of ``waitpid``, to read
    the child's resource usage when it is reaped), once. Benchmark-only: the grader is not changed."""
    from rnnlab.grading import grade as grade_mod
    from rnnlab.grading import sandbox

    first = _METER[0] is None
    _METER[0] = meter
    if not first:
        return

    class MeteredPopen(subprocess.Popen):
        def _wait4(self, pid, flags):
            got, status, ru = os.wait4(pid, flags)
            if got == pid:
                _METER[0].child(ru)
            return got, status

        def _internal_poll(self, _deadstate=None, _waitpid=None, **kwargs):
            return super()._internal_poll(_deadstate=_deadstate, _waitpid=self._wait4, **kwargs)

        def _try_wait(self, wait_flags):
            try:
                return self._wait4(self.pid, wait_flags)
            except ChildProcessError:
                return self.pid, 0

    original = grade_mod._grade_one

    def metered(sub, *args, **kwargs):
        meter = _METER[0]
        meter.local.child = 0.0
        t0 = time.thread_time()
        w0 = time.monotonic()
        graded = original(sub, *args, **kwargs)
        own = time.thread_time() - t0
        statuses = sorted({r["status"] for r in graded.rows})
        with meter.lock:
            meter.rows.append({"key": sub.key, "notebook": sub.notebook, "grader_cpu": own,
                               "child_cpu": meter.local.child, "wall": time.monotonic() - w0,
                               "statuses": statuses})
        return graded

    sandbox.subprocess = type("subprocess_shim", (), {"Popen": MeteredPopen, "run": subprocess.run,
                                                      "DEVNULL": subprocess.DEVNULL,
                                                      "PIPE": subprocess.PIPE,
                                                      "STDOUT": subprocess.STDOUT,
                                                      "TimeoutExpired": subprocess.TimeoutExpired})
    grade_mod._grade_one = metered


def _cpu() -> float:
    s, c = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return s.ru_utime + s.ru_stime + c.ru_utime + c.ru_stime


# ----------------------------------------------------------------------------- report
def _git_head() -> str:
    try:
        return subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"],
                              capture_output=True, text=True, timeout=10).stdout.strip() or "?"
    except Exception:
        return "?"


def _summary(run: dict) -> dict:
    per = sorted(r["grader_cpu"] + r["child_cpu"] for r in run["rows"])
    by_nb: dict[str, list[float]] = {}
    for r in run["rows"]:
        by_nb.setdefault(r["notebook"], []).append(r["grader_cpu"] + r["child_cpu"])
    return {"median": statistics.median(per), "max": max(per), "mean": run["total_cpu"] / run["n"],
            "by_nb": {k: statistics.median(v) for k, v in sorted(by_nb.items())},
            "grader_share": sum(r["grader_cpu"] for r in run["rows"]) / max(1e-9, sum(per))}


def report(runs: list[dict], args) -> str:
    """The Markdown report of one or two runs (as committed; with the experiment cells tagged)."""
    sums = [_summary(r) for r in runs]
    labels = ["tagged `grader-skip`" if r["tagged"] else "as committed" for r in runs]
    mode = runs[0]["mode"]

    per_student = runs[0]["n"] // args.students

    def hours(students: int, cpu_per_nb: float) -> str:
        cpu_h = students * per_student * cpu_per_nb / 3600
        return f"{cpu_h:.1f} CPU-hours (about {cpu_h / args.jobs:.1f} h on {args.jobs} cores)"

    head = "| CPU seconds | " + " | ".join(f"experiment cells {lab}" for lab in labels) + " |"
    lines = [
        "# What grading costs",
        "",
        "Measured by `benchmarks/bench_grading.py` (`--tag-experiments` adds the second column; rerun "
        "it after changing the grader, the checks or the notebooks): a class of "
        f"{args.students} students x {per_student} notebooks built from `solutions/` and `exercises/` "
        "(finished, partial, buggy with one endless cell, renamed, nested one folder deeper, messy: "
        "magics, Colab metadata, a megabyte of output, a helper `.py`), graded as "
        f"`rnnlab grade --jobs {args.jobs} --timeout {args.timeout:g}` does, with "
        f"`--isolation {mode}`.",
        "",
        "Cost is **CPU time** (user + system) of the grader and of every process it starts, not wall "
        "time: on a shared machine wall time measures the neighbours. Per notebook: the grader "
        "thread's CPU time while it handles the notebook plus the sandboxed child's resource usage "
        "(`wait4`).",
        "",
        head,
        "|---" * (len(runs) + 1) + "|",
        "| per notebook, median | " + " | ".join(f"{m['median']:.2f}" for m in sums) + " |",
        "| per notebook, max | " + " | ".join(f"{m['max']:.2f}" for m in sums) + " |",
        "| per notebook, mean of the whole run (start-up included) | "
        + " | ".join(f"{m['mean']:.2f}" for m in sums) + " |",
        "| whole class | " + " | ".join(f"{r['total_cpu']:.0f} ({r['n']} notebooks)" for r in runs)
        + " |",
        "",
        "Median per notebook file:",
        "",
        "| notebook | " + " | ".join(labels) + " |",
        "|---" * (len(runs) + 1) + "|",
    ]
    for nb in sums[0]["by_nb"]:
        lines.append(f"| `{nb}` | " + " | ".join(f"{m['by_nb'].get(nb, float('nan')):.2f}"
                                                for m in sums) + " |")
    lines += [
        "",
        f"The grader's own share (drawing cases, judging results) is {sums[0]['grader_share']:.0%}; "
        "the rest is the sandboxed child. The max is the buggy student's endless cell, stopped by "
        "the cells' time budget (60 % of `--timeout`, wall time, so its CPU cost depends on the "
        "machine's load).",
        "",
        "## Where a notebook's CPU goes",
        "",
        "Every notebook's first cell calls `rnnlab.setup()`, which imports torch: about 1.2 "
        "CPU seconds of the child's start-up, the floor of every notebook (the interpreter, numpy "
        "and the harness add about 0.2). The rest is the notebooks' own experiment cells, which "
        "train models or draw figures and define no graded function: "
        + ", ".join(f"`{k}` {', '.join(v)}" for k, v in EXPERIMENT_CELLS.items())
        + ". Tagged `grader-skip` in `solutions/` (the tag carries into `exercises/` and every "
        "student's copy), the grader does not run them. Where they run, their cost is a lower "
        "bound on a loaded machine: the cells' time budget is wall time and can stop the training "
        "of `06` before it ends (about 18 CPU seconds when it runs to the end).",
        "",
        "## Estimate for a course",
        "",
        f"From the median per notebook, {per_student} notebooks per student:",
        "",
    ]
    for lab, m in zip(labels, sums):
        lines.append(f"- experiment cells {lab}: 200 students {hours(200, m['median'])}; "
                     f"2,000 students {hours(2000, m['median'])}")
    lines += [
        "",
        f"Measured on {platform.machine()} with {os.cpu_count()} cores, Python "
        f"{platform.python_version()}, commit {_git_head()}; wall time of the runs "
        + ", ".join(f"{r['wall']:.0f} s" for r in runs)
        + f" (load average {os.getloadavg()[0]:.1f}: a shared machine).",
        "",
    ]
    return "\n".join(lines)


def run_class(args, tagged: bool) -> dict:
    from rnnlab.grading import grade as grade_mod

    meter = _Meter()
    _install(meter)
    tmp = Path(tempfile.mkdtemp(prefix="rnnlab-bench-"))
    try:
        subs = tmp / "submissions"
        n = build_class(subs, args.students, tagged)
        mode = args.isolation
        c0, w0 = _cpu(), time.monotonic()
        grade_mod.grade(subs, tmp / "out", jobs=args.jobs, timeout=args.timeout, seed=0,
                        isolation=args.isolation, progress=False, echo=None)
        total_cpu, wall = _cpu() - c0, time.monotonic() - w0
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    if len(meter.rows) != n:
        print(f"warning: {len(meter.rows)} notebooks metered, {n} built", file=sys.stderr)
    return {"rows": meter.rows, "total_cpu": total_cpu, "wall": wall, "n": n, "mode": mode,
            "tagged": tagged}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--students", type=int, default=6)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--timeout", type=float, default=120.0)
    parser.add_argument("--tag-experiments", action="store_true",
                        help="also grade the class with the experiment cells (EXPERIMENT_CELLS) "
                             "tagged grader-skip, as a second column")
    parser.add_argument("--isolation", default="process", choices=("bwrap", "process"),
                        help="process (default): wait4 sees the child's CPU; under bwrap it does not")
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "GRADING.md"))
    parser.add_argument("--json", default=None, help="also write the runs (per-notebook rows) here")
    parser.add_argument("--render", nargs="+", default=None, metavar="JSON",
                        help="write the report from runs saved with --json, grading nothing")
    args = parser.parse_args(argv)

    if args.render:
        runs = [r for path in args.render for r in json.loads(Path(path).read_text())]
    else:
        runs = [run_class(args, tagged=False)]
        if args.tag_experiments:
            runs.append(run_class(args, tagged=True))
    text = report(runs, args)
    Path(args.out).write_text(text, encoding="utf-8")
    if args.json:
        Path(args.json).write_text(json.dumps(runs, indent=1), encoding="utf-8")
    print(text)
    for r in sorted(runs[0]["rows"], key=lambda r: -(r["grader_cpu"] + r["child_cpu"]))[:8]:
        print(f"{r['key']:55s} grader {r['grader_cpu']:.2f} child {r['child_cpu']:.2f} "
              f"{','.join(r['statuses'])}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
