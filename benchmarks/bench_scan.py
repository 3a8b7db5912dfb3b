#!/usr/bin/env python
"""The loop against the parallel scans for linear recurrences h_t = a_t h_{t-1} + b_t, as ratios.

Measures, on this machine and one thread, for T from 64 to 4096 and two widths W (numbers per step):

- numpy (float64, ``rnnlab.scratch.scan``): the loop, Hillis-Steele, Blelloch and the log-space scan;
- torch (float32, ``rnnlab.modules.linear_scan``): the loop and the scan, forward and
  forward+backward;
- a whole layer, ``rnnlab.modules.MinGRU`` in loop and scan mode against ``torch.nn.GRU`` (forward
  and backward, batch 32, 64 inputs, 128 units).

Each case is warmed up, then the candidates are timed interleaved (one run of each, round after
round); the report gives the median and the best run and every time as a ratio to the loop of the
same library (lower is faster). A CUDA table is added when a GPU is present; otherwise the report
says that none was measured.

Usage (from the repository root)::

    python benchmarks/bench_scan.py            # full run: writes benchmarks/SCAN.md
    python benchmarks/bench_scan.py --quick    # smoke run in seconds, written to a temporary folder
    python benchmarks/bench_scan.py --out DIR --repeats 9

Timings are never part of the tests.
"""
from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "VECLIB_MAXIMUM_THREADS"):
    os.environ[_var] = "1"  # numpy's BLAS: one thread (must be set before numpy is imported)

import argparse  # noqa: E402
import datetime  # noqa: E402
import pathlib  # noqa: E402
import platform  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402
import torch  # noqa: E402

import rnnlab.modules as rm  # noqa: E402
from rnnlab.scratch import scan as S  # noqa: E402

HERE = pathlib.Path(__file__).resolve().parent
NUMPY = {"loop": S.scan_sequential, "Hillis-Steele": S.scan_hillis_steele,
         "Blelloch": S.scan_blelloch, "log space": S.scan_log}


def measure(cases: dict, repeats: int, warmup: int, sync=None) -> dict:
    """(median, best) seconds per case; the cases are timed interleaved, round after round."""
    for f in cases.values():
        for _ in range(warmup):
            f()
    times: dict = {k: [] for k in cases}
    for _ in range(repeats):
        for name, f in cases.items():
            if sync:
                sync()
            t0 = time.perf_counter()
            f()
            if sync:
                sync()
            times[name].append(time.perf_counter() - t0)
    return {k: (statistics.median(v), min(v)) for k, v in times.items()}


def numpy_cases(T: int, W: int) -> dict:
    rng = np.random.default_rng(0)
    a, b = rng.uniform(0.5, 1.0, (T, W)), rng.standard_normal((T, W))
    return {name: (lambda fn=fn: fn(a, b)) for name, fn in NUMPY.items()}


def torch_cases(T: int, W: int, device: str = "cpu") -> dict:
    g = torch.Generator().manual_seed(0)
    a = (torch.rand(T, W, generator=g) * 0.5 + 0.5).to(device)
    b = torch.randn(T, W, generator=g).to(device)
    cases = {}
    for mode in ("loop", "scan"):
        def forward(mode=mode):
            with torch.no_grad():
                rm.linear_scan(a, b, mode=mode)

        def forward_backward(mode=mode):
            at, bt = a.clone().requires_grad_(), b.clone().requires_grad_()
            rm.linear_scan(at, bt, mode=mode).sum().backward()

        cases[(mode, "f")], cases[(mode, "fb")] = forward, forward_backward
    return cases


def layer_cases(T: int, device: str = "cpu") -> dict:
    torch.manual_seed(0)
    x = torch.randn(T, 32, 64, device=device)
    layers = {"torch.nn.GRU": torch.nn.GRU(64, 128).to(device),
              "MinGRU, loop": rm.MinGRU(64, 128, mode="loop").to(device),
              "MinGRU, scan": rm.MinGRU(64, 128, mode="scan").to(device)}

    def fb(layer):
        def run():
            layer.zero_grad(set_to_none=True)
            out, _ = layer(x)
            out.sum().backward()
        return run

    return {name: fb(layer) for name, layer in layers.items()}


def run_all(Ts, widths, layer_Ts, repeats, warmup, device="cpu", log=print):
    res = {"numpy": {}, "torch": {}, "layer": {}}
    sync = torch.cuda.synchronize if device == "cuda" else None
    for W in widths:
        for T in Ts:
            if device == "cpu":
                res["numpy"][(W, T)] = measure(numpy_cases(T, W), repeats, warmup)
            res["torch"][(W, T)] = measure(torch_cases(T, W, device), repeats, warmup, sync)
            log(f"  {device} W={W} T={T}: done")
    for T in layer_Ts:
        res["layer"][T] = measure(layer_cases(T, device), repeats, warmup, sync)
        log(f"  {device} layer T={T}: done")
    return res


def fmt_ms(pair) -> str:
    return f"{1000 * pair[0]:.2f} / {1000 * pair[1]:.2f}"


def tables(res, Ts, widths, layer_Ts, with_numpy=True) -> list[str]:
    lines = []
    if with_numpy:
        lines += ["### numpy, float64, forward", "",
                  "Time in ms (median / best), and the median as a ratio to the numpy loop at the same "
                  "T and W.", ""]
        for W in widths:
            lines += [f"W = {W} numbers per step:", "",
                      "| T | " + " | ".join(NUMPY) + " | " + " | ".join(f"{m} / loop" for m in NUMPY
                                                                      if m != "loop") + " |",
                      "|---:|" + "---:|" * (2 * len(NUMPY) - 1)]
            for T in Ts:
                r = res["numpy"][(W, T)]
                base = r["loop"][0]
                lines.append(f"| {T} | " + " | ".join(fmt_ms(r[m]) for m in NUMPY) + " | "
                             + " | ".join(f"{r[m][0] / base:.2f}x" for m in NUMPY if m != "loop") + " |")
            lines.append("")
    lines += ["### torch, float32", "",
              "Time in ms (median / best) of `rnnlab.modules.linear_scan` in loop and scan mode, "
              "forward (no gradient) and forward + backward; ratio = scan / loop (median).", ""]
    for W in widths:
        lines += [f"W = {W} numbers per step:", "",
                  "| T | loop f | scan f | scan / loop f | loop f+b | scan f+b | scan / loop f+b |",
                  "|---:|---:|---:|---:|---:|---:|---:|"]
        for T in Ts:
            r = res["torch"][(W, T)]
            lines.append(
                f"| {T} | {fmt_ms(r[('loop', 'f')])} | {fmt_ms(r[('scan', 'f')])} | "
                f"{r[('scan', 'f')][0] / r[('loop', 'f')][0]:.2f}x | {fmt_ms(r[('loop', 'fb')])} | "
                f"{fmt_ms(r[('scan', 'fb')])} | {r[('scan', 'fb')][0] / r[('loop', 'fb')][0]:.2f}x |")
        lines.append("")
    lines += ["### A whole layer: minGRU against torch.nn.GRU", "",
              "Forward + backward of one layer, batch 32, 64 inputs, 128 units, float32; time in ms "
              "(median / best) and the ratio to `torch.nn.GRU` (median).", "",
              "| T | torch.nn.GRU | MinGRU, loop | MinGRU, scan | loop / GRU | scan / GRU |",
              "|---:|---:|---:|---:|---:|---:|"]
    for T in layer_Ts:
        r = res["layer"][T]
        g = r["torch.nn.GRU"][0]
        lines.append(f"| {T} | {fmt_ms(r['torch.nn.GRU'])} | {fmt_ms(r['MinGRU, loop'])} | "
                     f"{fmt_ms(r['MinGRU, scan'])} | {r['MinGRU, loop'][0] / g:.2f}x | "
                     f"{r['MinGRU, scan'][0] / g:.2f}x |")
    lines.append("")
    return lines


def cpu_name() -> str:
    try:
        text = pathlib.Path("/proc/cpuinfo").read_text()
        for line in text.splitlines():
            if line.startswith("model name"):
                ext = "AVX-512" if "avx512f" in text else "AVX2" if "avx2" in text else "SSE"
                return f"{line.split(':', 1)[1].strip()}, {ext}"
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def write_report(path, res, cuda_res, args, Ts, widths, layer_Ts, load, elapsed):
    now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    lines = [
        "# The loop against the parallel scans",
        "",
        f"Generated by `python benchmarks/bench_scan.py` on {now} in {elapsed:.0f} s on {cpu_name()}, "
        f"{os.cpu_count()} cores, torch {torch.__version__}, numpy {np.__version__}, one thread. "
        f"Each number is the median and the best of {args.repeats} interleaved runs after "
        f"{args.warmup} warm-up runs (load average {load[0]:.1f} at the start, {load[1]:.1f} at the "
        "end; a load above the benchmark's own 1 means other processes shared the cores, which "
        "inflates medians more than best runs).",
        "",
        "What is timed: the linear recurrence h_t = a_t h_{t-1} + b_t over T steps of W independent "
        "numbers (W = batch x hidden size), computed by the loop (T dependent steps), by Hillis and "
        "Steele's scan (log2 T steps, about T log2 T combines), by Blelloch's work-efficient scan "
        "(2 log2 T steps, about 2T combines) and by the log-space form (two prefix sums); then a "
        "whole minGRU layer in both modes next to `torch.nn.GRU`. Book: chapter 7, "
        "`book/07_parallel_recurrence.ipynb`.",
        "",
        "## CPU",
        "",
    ]
    lines += tables(res, Ts, widths, layer_Ts)
    lines += ["## CUDA", ""]
    if cuda_res is None:
        lines += ["Not measured: no GPU was available when this report was written "
                  "(`torch.cuda.is_available()` was False). Run the benchmark on a machine with a GPU "
                  "to add this table.", ""]
    else:
        lines += [f"On {torch.cuda.get_device_name(0)}, float32, timed with "
                  "`torch.cuda.synchronize()` around each run.", ""]
        lines += tables(cuda_res, Ts, widths, layer_Ts, with_numpy=False)
    lines += [
        "## Reading",
        "",
        "On one CPU thread no two combines run at the same time, so a scan can only win by paying the "
        "per-step overhead of the loop (the Python interpreter, numpy's and torch's dispatch) fewer "
        "times; with few numbers per step that overhead is most of the loop's time, with many it is "
        "not, and the scans' extra arithmetic shows. The depth advantage (log2 T dependent steps "
        "instead of T) pays only on hardware that runs each step's combines in parallel.",
        "",
    ]
    path.write_text("\n".join(lines), encoding="utf-8")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, few repeats, temp folder")
    parser.add_argument("--out", type=pathlib.Path, default=None, help="folder for SCAN.md")
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--warmup", type=int, default=2)
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    if args.quick:
        Ts, widths, layer_Ts = (64, 256), (8,), (64,)
        args.repeats, args.warmup = 2, 1
        out_dir = args.out or pathlib.Path(tempfile.mkdtemp(prefix="bench_scan_"))
    else:
        Ts, widths, layer_Ts = (64, 256, 1024, 4096), (8, 256), (64, 256, 1024)
        out_dir = args.out or HERE
    out_dir.mkdir(parents=True, exist_ok=True)
    load0 = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    t0 = time.perf_counter()
    log = lambda msg: print(msg, file=sys.stderr, flush=True)  # noqa: E731
    res = run_all(Ts, widths, layer_Ts, args.repeats, args.warmup, "cpu", log)
    cuda_res = None
    if torch.cuda.is_available():
        cuda_res = run_all(Ts, widths, layer_Ts, args.repeats, args.warmup, "cuda", log)
    load1 = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    path = out_dir / "SCAN.md"
    write_report(path, res, cuda_res, args, Ts, widths, layer_Ts, (load0, load1),
                 time.perf_counter() - t0)
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
