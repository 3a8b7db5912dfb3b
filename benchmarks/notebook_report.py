"""Execution report: how long every notebook takes when nbval re-executes it, as the test suite does.

Runs ``tests/test_notebooks.py`` (one nbval process and kernel per notebook, the suite's own
settings) with a JUnit XML report, then writes ``benchmarks/NOTEBOOKS.md``: notebook, seconds,
status, and the limit it must meet (the course's limits: 60 s, or 180 s for a notebook that trains
a model). A notebook counts as training when a code cell calls ``fit(``, or a ``fit_*(``,
``train_*(`` or ``run_*(`` helper (the experiment runners).

    .venv/bin/python benchmarks/notebook_report.py            # all notebooks, 2 workers
    .venv/bin/python benchmarks/notebook_report.py -k 06       # a subset (pytest -k expression)
    .venv/bin/python benchmarks/notebook_report.py --workers 1 # one at a time: times without contention

Timings are wall-clock seconds on this machine; with 2 workers on 2 cores each notebook has one core,
as in CI. The script exits 1 if any notebook failed or exceeded its limit.
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import re
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LIMIT_S, TRAINING_LIMIT_S = 60, 180
TRAINS = re.compile(r"\bfit\(|\bfit_\w+\(|\btrain_\w+\(|\brun_\w+\(")


def trains(notebook: str) -> bool:
    nb = json.loads((ROOT / notebook).read_text(encoding="utf-8"))
    code = "\n".join("".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "code")
    return bool(TRAINS.search(code))


def run(select: str | None, workers: int) -> list[tuple[str, float, str]]:
    with tempfile.TemporaryDirectory() as tmp:
        xml = Path(tmp) / "junit.xml"
        expr = "reproduces" + (f" and ({select})" if select else "")
        cmd = [sys.executable, "-m", "pytest", "tests/test_notebooks.py", "-k", expr, "-q",
               "-p", "no:randomly", "-p", "no:cacheprovider", f"--junitxml={xml}"]
        if workers > 1:
            cmd += ["-n", str(workers)]
        # The report times the native run only (the suite also re-runs every notebook under another
        # CPU kernel profile, tests/cpu_profile.py).
        env = dict(os.environ, RNNLAB_NOTEBOOK_PROFILES="native")
        subprocess.run(cmd, cwd=ROOT, check=False, env=env)
        rows = []
        for case in ET.parse(xml).getroot().iter("testcase"):
            match = re.search(r"\[(?:native-)?(.+\.ipynb)\]", case.get("name", ""))
            if not match:
                continue
            failed = case.find("failure") is not None or case.find("error") is not None
            skipped = case.find("skipped") is not None
            status = "failed" if failed else "skipped" if skipped else "passed"
            rows.append((match.group(1), float(case.get("time", 0.0)), status))
    return sorted(rows)


def report(rows: list[tuple[str, float, str]], workers: int) -> tuple[str, bool]:
    ok = True
    lines = [
        "# Notebook execution report",
        "",
        "Every notebook re-executed by nbval exactly as `make test` runs it "
        f"(`benchmarks/notebook_report.py`, {workers} worker(s)); written "
        f"{dt.date.today().isoformat()} on {platform.machine()} with {os.cpu_count()} cores, "
        f"Python {platform.python_version()}.",
        f"The course's limits: {LIMIT_S} s per notebook, {TRAINING_LIMIT_S} s for a notebook "
        "that trains a model.",
        "",
        "| notebook | seconds | status | trains | limit (s) | within limit |",
        "|---|---:|---|---|---:|---|",
    ]
    for notebook, seconds, status in rows:
        training = trains(notebook)
        limit = TRAINING_LIMIT_S if training else LIMIT_S
        within = seconds <= limit
        ok &= within and status == "passed"
        lines.append(f"| `{notebook}` | {seconds:.1f} | {status} | {'yes' if training else 'no'} "
                     f"| {limit} | {'yes' if within else '**no**'} |")
    total = sum(seconds for _, seconds, _ in rows)
    lines += ["", f"{len(rows)} notebooks, {total:.0f} s of notebook time in all "
              f"(about {total / max(workers, 1):.0f} s of wall time on {workers} worker(s))."]
    return "\n".join(lines) + "\n", ok


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-k", dest="select", help="pytest -k expression to choose notebooks")
    parser.add_argument("--workers", type=int, default=2, help="parallel nbval processes (default 2)")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "NOTEBOOKS.md")
    args = parser.parse_args(argv)
    rows = run(args.select, args.workers)
    if not rows:
        print("no notebook was run", file=sys.stderr)
        return 1
    text, ok = report(rows, args.workers)
    args.out.write_text(text, encoding="utf-8")
    print(text)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
