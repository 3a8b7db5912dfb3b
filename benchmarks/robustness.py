"""The spread of every training result the book states, over seeds and CPU kernel profiles.

    .venv/bin/python benchmarks/robustness.py                 # all claims, 5 seeds, native + baseline
    .venv/bin/python benchmarks/robustness.py --only 06a --seeds 1 --profiles native   # a quick try

Each claim (benchmarks/claims/chNN.py) re-runs one notebook's experiment with another seed. The claims
of one notebook run together, one process per (notebook, profile, seed), so they share training runs
(a profile is a set of environment variables read when numpy and torch load: tests/cpu_profile.py),
two processes at a time. Results are cached in
benchmarks/robustness-results.json, so an interrupted run resumes; --fresh discards the cache.
The report, benchmarks/ROBUSTNESS.md, gives per claim the book's value, min/median/max over the runs
and the threshold the notebook asserts; the script exits non-zero if any run breaks its threshold.
"""
from __future__ import annotations

import argparse
import concurrent.futures
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from benchmarks.claims import Claim, all_claims  # noqa: E402
import cpu_profile  # noqa: E402

RESULTS = HERE / "robustness-results.json"
REPORT = HERE / "ROBUSTNESS.md"


def _group(claim_id: str) -> str:
    """Claims of one notebook ("06a.x", "06a.y") run in one process, so that they share its training
    runs (the claim modules cache them per seed)."""
    return claim_id.split(".", 1)[0]


def run_group(group: str, seed: int) -> None:
    """Child process: run every claim of `group` for one seed; print {claim id: {"value", "seconds"}}."""
    out = {}
    for claim in all_claims():
        if _group(claim.id) != group:
            continue
        start = time.perf_counter()
        try:
            out[claim.id] = {"value": float(claim.run(seed)), "seconds": time.perf_counter() - start}
        except Exception as err:  # one broken claim must not hide the others
            out[claim.id] = {"error": f"{type(err).__name__}: {err}"}
    print(json.dumps(out))


def _child(group: str, seed: int, profile: str) -> dict:
    env = dict(os.environ, PYTHONHASHSEED="0", OMP_NUM_THREADS="1", MKL_NUM_THREADS="1",
               PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT / "src"), os.environ.get("PYTHONPATH")])))
    if profile != "native":
        env = cpu_profile.environment(profile, env)
    proc = subprocess.run([sys.executable, __file__, "--run-group", group, str(seed)], env=env,
                          capture_output=True, text=True, cwd=ROOT)
    if proc.returncode != 0:
        return {"error": proc.stderr[-2000:]}
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _key(claim_id: str, profile: str, seed: int) -> str:
    return f"{claim_id}|{profile}|{seed}"


def write_report(claims: list[Claim], results: dict, seeds: list[int], profiles: list[str]) -> list[str]:
    lines = [
        "# Robustness of the book's training results",
        "",
        f"Every training result the book states, re-run over seeds {seeds[0]}–{seeds[-1]} and the CPU kernel "
        f"profiles {', '.join(profiles)} (`native`: this machine's own kernels; `baseline`: the oldest x86-64 "
        "code paths, as `tests/cpu_profile.py` sets them), with `benchmarks/robustness.py`; written "
        f"{date.today().isoformat()} on {platform.machine()} ({_cpu_name()}), {os.cpu_count()} cores.",
        "",
        "*book*: the value the notebook prints; *asserted*: what the notebook asserts, which every run "
        "must satisfy; *runs*: how many of the runs satisfy it, of how many (per profile, in the order "
        "above, where a profile has fewer runs than seeds the sweep ran out of time).",
        "",
        "| claim | notebook | book | min | median | max | asserted | runs |",
        "|---|---|---:|---:|---:|---:|---|---:|",
    ]
    broken, unrun = [], []
    for claim in claims:
        values = [results[k]["value"] for k in (_key(claim.id, p, s) for p in profiles for s in seeds)
                  if k in results and "value" in results[k]]
        errors = [k for k in (_key(claim.id, p, s) for p in profiles for s in seeds)
                  if k in results and "error" in results[k]]
        if not values:
            lines.append(f"| {claim.text} | `{claim.notebook}` | {claim.fmt.format(claim.book)} | – | – | – | "
                         f"– | 0 |")
            unrun.append(claim.id)
            continue
        ok = sum(claim.holds(v) for v in values)
        per_profile = "+".join(str(sum("value" in results.get(_key(claim.id, p, s), {}) for s in seeds))
                               for p in profiles)
        asserted = "–" if claim.threshold is None else f"{claim.sense} {claim.fmt.format(claim.threshold)}"
        lines.append(
            f"| {claim.text} | `{claim.notebook}` | {claim.fmt.format(claim.book)} | "
            f"{claim.fmt.format(min(values))} | {claim.fmt.format(statistics.median(values))} | "
            f"{claim.fmt.format(max(values))} | {asserted} | {ok}/{len(values)} ({per_profile}) |")
        if ok < len(values) or errors:
            broken.append(f"{claim.id}: {len(values) - ok} run(s) break {asserted}, {len(errors)} error(s)")
    lines += ["", "Every asserted threshold lies below the worst run." if not broken else
              "Runs that break their threshold:\n\n" + "\n".join(f"- {b}" for b in broken), ""]
    if unrun:
        lines += [f"Not swept yet ({len(unrun)} claims, shown with 0 runs above): "
                  + ", ".join(f"`{u}`" for u in unrun) + ".", ""]
    REPORT.write_text("\n".join(lines), encoding="utf-8")
    return broken + [f"{u}: not swept yet" for u in unrun]


def _cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                name = line.split(":", 1)[1].strip()
                flags = Path("/proc/cpuinfo").read_text()
                ext = "AVX-512" if "avx512f" in flags else "AVX2" if "avx2" in flags else "SSE"
                return f"{name}, {ext}"
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=5, help="seeds 0..N-1 (default 5)")
    parser.add_argument("--profiles", nargs="+", default=["native", "baseline"],
                        choices=["native", *cpu_profile.PROFILES])
    parser.add_argument("--only", default="", help="run only claims whose id contains this text")
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--fresh", action="store_true", help="discard cached results")
    parser.add_argument("--report", action="store_true",
                        help="only rewrite ROBUSTNESS.md from the cached results")
    parser.add_argument("--run-group", nargs=2, metavar=("GROUP", "SEED"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.run_group:
        run_group(args.run_group[0], int(args.run_group[1]))
        return 0

    claims = [c for c in all_claims() if args.only in c.id]
    seeds = list(range(args.seeds))
    results = {} if args.fresh or not RESULTS.exists() else json.loads(RESULTS.read_text())
    if args.report:
        broken = write_report(claims, results, seeds, args.profiles)
        print(f"wrote {REPORT.relative_to(ROOT)}")
        for b in broken:
            print("BROKEN", b)
        return 1 if broken else 0
    todo = sorted({(_group(c.id), p, s) for c in claims for p in args.profiles for s in seeds
                   if "value" not in results.get(_key(c.id, p, s), {})})
    print(f"{len(todo)} process(es) to run, {args.jobs} at a time", flush=True)
    with concurrent.futures.ThreadPoolExecutor(args.jobs) as pool:
        futures = {pool.submit(_child, g, s, p): (g, p, s) for g, p, s in todo}
        for future in concurrent.futures.as_completed(futures):
            group, p, s = futures[future]
            out = future.result()
            if "error" in out and isinstance(out["error"], str):
                print(f"{group} {p} seed {s}: the process failed\n{out['error']}", file=sys.stderr)
                continue
            for cid, res in out.items():
                if args.only in cid:
                    results[_key(cid, p, s)] = res
                    print(f"{cid} {p} seed {s}: {res.get('value', res.get('error'))} "
                          f"({res.get('seconds', 0):.0f} s)", flush=True)
            RESULTS.write_text(json.dumps(results, indent=1, sort_keys=True))
    if args.only or args.seeds < 5:
        print("partial run: report not rewritten")
        return 0
    broken = write_report(claims, results, seeds, args.profiles)
    print(f"wrote {REPORT.relative_to(ROOT)}")
    for b in broken:
        print("BROKEN", b)
    return 1 if broken else 0


if __name__ == "__main__":
    sys.exit(main())
