#!/usr/bin/env python
"""Speed of ``rnnlab.scratch`` and ``rnnlab.modules`` against ``torch.nn``, as ratios from one run.

Measures forward and forward+backward time of RNN, LSTM and GRU layers (batch 32, 100 steps,
32 inputs, 128 hidden; float32 and float64) for three implementations on this machine:
``torch.nn`` (the reference), ``rnnlab.modules`` (torch tensor ops, hand-written BPTT) and
``rnnlab.scratch`` (numpy, hand-written BPTT). torch and numpy run single-threaded. Each case is
warmed up, then the candidates are timed *interleaved* (one run of each, round after round) so
that a burst of load from other processes hits all of them alike; the report gives the median and
the best run. CPU runs are timed in CPU time (``time.process_time``: the time the process ran on
a core), so that time spent waiting while other processes use the core is not counted on a
shared machine; GPU runs in wall time. Then time against sequence length T and hidden size H
for ``rnnlab.modules.LSTM`` and ``torch.nn.LSTM``, with the time of the matmuls alone (the
"GEMM floor").

Ratios depend on the CPU: numpy, OpenBLAS, oneDNN and torch each pick kernels for the vector
instructions they find (AVX2, AVX-512, ...). The report names the CPU and its extensions, and
repeats the LSTM targets with the AVX2 kernels forced (``tests/cpu_profile.py avx2``), i.e. as
numpy and torch would run on a CPU without AVX-512. It also splits ``rnnlab.scratch.LSTM``'s
float32 forward+backward into its parts.

Usage (from the repository root)::

    python benchmarks/bench_rnn.py             # full run: benchmarks/REPORT.md, benchmarks/scaling.png
    python benchmarks/bench_rnn.py --quick     # smoke run in seconds, written to a temporary folder
    python benchmarks/bench_rnn.py --out DIR --repeats 21
    python benchmarks/bench_rnn.py --targets-only  # only the LSTM target ratios, printed as JSON

Timings are never part of the tests.
"""
from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "VECLIB_MAXIMUM_THREADS"):
    os.environ[_var] = "1"  # numpy's BLAS: one thread (must be set before numpy is imported)

import argparse  # noqa: E402
import datetime  # noqa: E402
import json  # noqa: E402
import pathlib  # noqa: E402
import platform  # noqa: E402
import re  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from dataclasses import dataclass  # noqa: E402

import numpy as np  # noqa: E402
import torch  # noqa: E402

import rnnlab.modules as rm  # noqa: E402
import rnnlab.scratch as rs  # noqa: E402

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
import bench_scan  # noqa: E402  (chapter 7's loop against scan, a section of the report)

HERE = pathlib.Path(__file__).resolve().parent
CPU_PROFILE = HERE.parent / "tests" / "cpu_profile.py"  # runs a command with other CPU kernels
SCAN_TS, SCAN_WIDTHS, SCAN_LAYER_TS = (64, 256, 1024, 4096), (8, 256), (256, 1024)
MODES = ("LSTM", "GRU", "RNN")
IMPLS = ("torch.nn", "rnnlab.modules", "rnnlab.scratch")
TARGETS = {"rnnlab.scratch": 1.5, "rnnlab.modules": 2.0}  # LSTM f+b / torch.nn.LSTM f+b: the course's speed targets


@dataclass(frozen=True)
class Size:
    T: int = 100  # time steps
    B: int = 32  # batch
    I: int = 32  # inputs
    H: int = 128  # hidden


# --------------------------------------------------------------------------- what is timed
def torch_case(lib, mode, size: Size, dtype, device="cpu"):
    """(forward, forward+backward) callables for ``lib.<mode>`` (lib = torch.nn or rnnlab.modules).

    The input requires grad, so f+b computes dL/dx as numpy's backward does.
    """
    torch.manual_seed(0)
    module = getattr(lib, mode)(size.I, size.H, dtype=dtype, device=device)
    x = torch.randn(size.T, size.B, size.I, dtype=dtype, device=device, requires_grad=True)

    def forward():
        with torch.no_grad():
            module(x)

    def forward_backward():
        module.zero_grad(set_to_none=True)
        x.grad = None
        out, _ = module(x)
        out.sum().backward()

    return forward, forward_backward


def scratch_case(mode, size: Size, dtype):
    layer = getattr(rs, mode)(size.I, size.H, dtype=np.dtype(dtype), seed=0)
    x = np.random.default_rng(0).standard_normal((size.T, size.B, size.I)).astype(dtype)

    def forward():
        layer.forward(x)

    def forward_backward():
        out, _ = layer.forward(x)
        layer.backward(np.ones_like(out))  # d(out.sum())/d(out)

    return forward, forward_backward


def gemm_floor_case(size: Size, dtype):
    """Only the matmuls that rnnlab.modules.LSTM does in forward+backward, nothing else."""
    T, B, I, H = size.T, size.B, size.I, size.H
    g = torch.Generator().manual_seed(0)
    x = torch.randn(T * B, I, dtype=dtype, generator=g)
    w_ih = torch.randn(4 * H, I, dtype=dtype, generator=g)
    w_hh = torch.randn(4 * H, H, dtype=dtype, generator=g)
    b = torch.randn(4 * H, dtype=dtype, generator=g)
    a = torch.empty(T * B, 4 * H, dtype=dtype)
    h = torch.randn(B, H, dtype=dtype, generator=g)
    dh = torch.empty(B, H, dtype=dtype)
    hs = torch.randn(T * B, H, dtype=dtype, generator=g)

    def run():
        xproj = torch.addmm(b, x, w_ih.t())  # input projection of all steps
        for a_t, x_t in zip(a.split(B), xproj.split(B)):  # one matmul per step forward
            torch.addmm(x_t, h, w_hh.t(), out=a_t)
        for a_t in a.split(B):  # and one per step backward
            torch.mm(a_t, w_hh, out=dh)
        a.t().mm(hs), a.t().mm(x), a.mm(w_ih)  # dW_hh, dW_ih, dx

    return run


def scratch_breakdown(size: Size, repeats: int, warmup: int) -> dict:
    """Median seconds of the parts of rnnlab.scratch.LSTM's float32 forward+backward.

    The parts are timed alone, on the same data: the input projection, the forward time loop,
    the backward time loop, and the whole layer; then only the matmuls of those parts (the
    numpy "GEMM floor": the per-step products, the weight and input gradients).
    """
    from rnnlab.scratch import lstm as lstm_loops

    T, B, I, H = size.T, size.B, size.I, size.H
    dtype = np.float32
    layer = rs.LSTM(I, H, dtype=dtype, seed=0)
    x = np.random.default_rng(0).standard_normal((T, B, I)).astype(dtype)
    p = layer._dir_params(0, 0)
    x2d = x.reshape(T * B, I)
    h0 = np.zeros((B, H), dtype=dtype)
    xproj = layer._project(x2d, p, T, B)
    work = xproj.copy()
    cache = lstm_loops.forward_sequence(work, h0, h0, p["weight_hh"], None, None)
    d_hs = np.ones((T, B, H), dtype=dtype)
    da = lstm_loops.backward_sequence(d_hs, h0, h0, cache, p["weight_hh"], None, None)[0]
    flat = da.reshape(4, T * B, H)
    w_step = np.ascontiguousarray(p["weight_hh"].reshape(4, H, H).transpose(0, 2, 1))
    rec = np.empty((4, B, H), dtype=dtype)
    w_ih = p["weight_ih"].reshape(4, H, I)

    def forward_loop():
        np.copyto(work, xproj)  # the loop overwrites its input (timed separately, subtracted)
        lstm_loops.forward_sequence(work, h0, h0, p["weight_hh"], None, None)

    def layer_fb():
        out, _ = layer.forward(x)
        layer.backward(np.ones_like(out))

    def step_matmuls():
        for t in range(T):
            np.matmul(cache.hs[t], w_step, out=rec)
        for t in range(T):
            np.matmul(da[:, t], w_step, out=rec)

    def gradient_matmuls():
        np.matmul(flat.transpose(0, 2, 1), cache.hs[:-1].reshape(T * B, H))  # dW_hh
        np.matmul(flat.transpose(0, 2, 1), x2d)  # dW_ih
        np.matmul(flat, w_ih).sum(axis=0)  # dL/dx

    cases = {
        "input projection (one matmul, bias included)": lambda: layer._project(x2d, p, T, B),
        "copy of the projection": lambda: np.copyto(work, xproj),
        "forward time loop": forward_loop,
        "backward time loop (with dW_hh)": lambda: lstm_loops.backward_sequence(
            d_hs, h0, h0, cache, p["weight_hh"], None, None),
        "whole layer, forward+backward": layer_fb,
        "per-step matmuls alone (forward and backward)": step_matmuls,
        "dW_hh, dW_ih, dL/dx matmuls alone": gradient_matmuls,
    }
    res = {k: v[0] for k, v in measure(cases, repeats, warmup).items()}
    res["forward time loop"] -= res.pop("copy of the projection")
    return res, layout_choices(size, dtype)


def layout_choices(size: Size, dtype, calls: int = 200) -> dict:
    """Microseconds per call of one step's recurrent product and one element-wise product, in
    the (batch, 4H) layout with a transposed weight view and in the gate-major layout."""
    B, H = size.B, size.H
    rng = np.random.default_rng(0)
    h = rng.standard_normal((B, H)).astype(dtype)
    w_hh = rng.standard_normal((4 * H, H)).astype(dtype)
    w_blocks = np.ascontiguousarray(w_hh.reshape(4, H, H).transpose(0, 2, 1))
    wide, blocks = np.empty((B, 4 * H), dtype=dtype), np.empty((4, B, H), dtype=dtype)
    out = np.empty((B, H), dtype=dtype)

    cases = {
        "h @ W_hh.T, W_hh.T a transposed view: (batch, H) @ (H, 4H)":
            lambda: np.matmul(h, w_hh.T, out=wide),
        "gate-major: 4 x (batch, H) @ (H, H) in one np.matmul call":
            lambda: np.matmul(h, w_blocks, out=blocks),
        "f * c_prev, f a strided (batch, H) quarter of (batch, 4H)":
            lambda: np.multiply(wide[:, H : 2 * H], wide[:, 2 * H : 3 * H], out=out),
        "f * c_prev, f a contiguous (batch, H) block": lambda: np.multiply(blocks[1], h, out=out),
    }
    repeated = {k: (lambda f=f: [f() for _ in range(calls)]) for k, f in cases.items()}
    return {k: v[0] / calls for k, v in measure(repeated, 7, 1).items()}


def targets_only(size: Size, dtypes, repeats: int, warmup: int) -> dict:
    """LSTM forward+backward ratios of both implementations to torch.nn, per dtype."""
    out = {}
    for dtype in dtypes:
        cases = {"torch.nn": torch_case(torch.nn, "LSTM", size, dtype)[1],
                 "rnnlab.modules": torch_case(rm, "LSTM", size, dtype)[1]}
        cases["rnnlab.scratch"] = scratch_case("LSTM", size, dtype_np(dtype))[1]
        times = measure(cases, repeats, warmup)
        ref = times["torch.nn"][0]
        out[dtype_name(dtype)] = {k: v[0] / ref for k, v in times.items() if k != "torch.nn"}
        out[dtype_name(dtype)]["torch.nn ms"] = ref * 1e3
    return out


def other_kernels(profile: str, args, log) -> dict | None:
    """The LSTM targets again in a child process with the kernels of ``profile`` forced."""
    if not CPU_PROFILE.exists() or platform.machine() not in ("x86_64", "AMD64"):
        return None
    cmd = [sys.executable, str(CPU_PROFILE), profile, sys.executable, str(pathlib.Path(__file__)),
           "--targets-only", "--repeats", str(args.repeats), "--warmup", str(args.warmup)]
    if args.quick:
        cmd.append("--quick")
    log(f"LSTM targets with the {profile} kernels")
    done = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        log(done.stderr[-2000:])
        return None
    return json.loads(done.stdout.strip().splitlines()[-1])


def measure(cases: dict, repeats: int, warmup: int, sync=None) -> dict:
    """Median and best seconds per case; cases timed interleaved, round after round.

    CPU time of this process (all its threads; torch and BLAS run one each here), or wall time
    with ``sync`` (GPU: the time is spent on the device).
    """
    clock = time.perf_counter if sync else time.process_time
    for f in cases.values():
        for _ in range(warmup):
            f()
    times: dict[str, list[float]] = {k: [] for k in cases}
    for _ in range(repeats):
        for name, f in cases.items():
            if sync:
                sync()
            t0 = clock()
            f()
            if sync:
                sync()
            times[name].append(clock() - t0)
    return {k: (statistics.median(v), min(v)) for k, v in times.items()}


# --------------------------------------------------------------------------- the runs
def main_table(size, dtypes, repeats, warmup, log):
    """results[(dtype, mode, impl, 'f' | 'fb')] = (median s, best s)."""
    results = {}
    for dtype in dtypes:
        for mode in MODES:
            cases = {}
            for impl in IMPLS:
                if impl == "rnnlab.scratch":
                    f, fb = scratch_case(mode, size, dtype_np(dtype))
                else:
                    f, fb = torch_case(torch.nn if impl == "torch.nn" else rm, mode, size, dtype)
                cases[(impl, "f")], cases[(impl, "fb")] = f, fb
            t0 = time.perf_counter()
            for key, val in measure(cases, repeats, warmup).items():
                results[(dtype_name(dtype), mode) + key] = val
            log(f"  {dtype_name(dtype)} {mode}: {time.perf_counter() - t0:.1f} s")
    return results


def scaling(size, Ts, Hs, repeats, warmup, log):
    """f+b seconds of modules.LSTM, torch.nn.LSTM and the GEMM floor against T and against H."""
    out = {"T": {}, "H": {}}
    for axis, values in (("T", Ts), ("H", Hs)):
        for v in values:
            s = Size(**{**size.__dict__, axis: v})
            cases = {
                "torch.nn": torch_case(torch.nn, "LSTM", s, torch.float32)[1],
                "rnnlab.modules": torch_case(rm, "LSTM", s, torch.float32)[1],
                "GEMM floor": gemm_floor_case(s, torch.float32),
            }
            out[axis][v] = {k: m[0] for k, m in measure(cases, repeats, warmup).items()}
            log(f"  scaling {axis}={v}: done")
    return out


def cuda_table(size, repeats, warmup):
    """rnnlab.modules against torch.nn (cuDNN) on the GPU, float32, when a GPU is present."""
    results = {}
    for mode in MODES:
        cases = {}
        for impl, lib in (("torch.nn", torch.nn), ("rnnlab.modules", rm)):
            f, fb = torch_case(lib, mode, size, torch.float32, device="cuda")
            cases[(impl, "f")], cases[(impl, "fb")] = f, fb
        for key, val in measure(cases, repeats, warmup, sync=torch.cuda.synchronize).items():
            results[("float32", mode) + key] = val
    return results


# --------------------------------------------------------------------------- report
def dtype_name(dtype) -> str:
    return str(dtype).replace("torch.", "")


def dtype_np(dtype):
    return np.float32 if dtype == torch.float32 else np.float64


_EXTENSIONS = (  # /proc/cpuinfo flag -> name, in the order they are listed
    ("sse4_2", "SSE4.2"), ("avx", "AVX"), ("avx2", "AVX2"), ("fma", "FMA"),
    ("avx512f", "AVX-512F"), ("avx512bw", "AVX-512BW"), ("avx512vl", "AVX-512VL"),
    ("avx512_vnni", "AVX-512 VNNI"), ("avx512_bf16", "AVX-512 BF16"), ("amx_tile", "AMX"),
)


def cpu_extensions(flags: set) -> str:
    found = [name for flag, name in _EXTENSIONS if flag in flags]
    if not found:
        return "unknown"
    has_512 = any(f.startswith("avx512") for f in flags)
    return ", ".join(found) + (" (has AVX-512)" if has_512 else " (no AVX-512)")


def kernels() -> str:
    """Which code paths the libraries picked on this machine (they follow the CPU, or a profile)."""
    parts = []
    try:
        from numpy._core import _multiarray_umath as umath

        active = [t for t in umath.__cpu_dispatch__ if umath.__cpu_features__.get(t)]
        parts.append(f"numpy SIMD up to {active[-1] if active else umath.__cpu_baseline__[-1]}")
    except Exception:  # noqa: BLE001 - numpy internals moved
        pass
    try:
        from threadpoolctl import threadpool_info

        for lib in threadpool_info():
            if lib.get("internal_api") == "openblas":
                parts.append(f"OpenBLAS core {lib.get('architecture')}")
    except ImportError:
        pass
    try:
        parts.append(f"torch ATen {torch.backends.cpu.get_cpu_capability()}")
    except AttributeError:
        pass
    isa = os.environ.get("ONEDNN_MAX_CPU_ISA")
    parts.append(f"oneDNN {'up to ' + isa if isa else 'best for the CPU'}")
    return ", ".join(parts)


def machine() -> dict:
    fields: dict = {}
    try:
        for line in pathlib.Path("/proc/cpuinfo").read_text().splitlines():
            key, _, value = line.partition(":")
            fields.setdefault(key.strip(), value.strip())  # the first processor's values
    except OSError:
        pass
    flags = set(fields.get("flags", "").split())
    cpu = fields.get("model name") or platform.processor() or "unknown"
    if "cpu family" in fields and "model" in fields:
        cpu += f" (family {fields['cpu family']}, model {fields['model']})"
    config = torch.__config__.show()
    torch_blas = []
    for pattern, name in ((r"Math Kernel Library Version ([\w.]+)", "MKL"),
                          (r"MKL-DNN (v[\w.]+)", "oneDNN"), (r"OpenBLAS ([\w.]+)", "OpenBLAS")):
        found = re.search(pattern, config)
        if found:
            torch_blas.append(f"{name} {found.group(1)}")
    try:
        np_blas = np.show_config(mode="dicts")["Build Dependencies"]["blas"]
        np_blas = f"{np_blas.get('name', '?')} {np_blas.get('version', '')}".strip()
    except Exception:  # noqa: BLE001 - older numpy
        np_blas = "unknown"
    return {
        "CPU": cpu,
        "vector extensions": cpu_extensions(flags),
        "kernels picked": kernels(),
        "logical cores": str(os.cpu_count()),
        "OS": f"{platform.system()} {platform.release()}",
        "Python": platform.python_version(),
        "torch": f"{torch.__version__} ({', '.join(torch_blas) or 'BLAS unknown'})",
        "numpy": f"{np.__version__} ({np_blas})",
        "threads": f"torch {torch.get_num_threads()}, numpy BLAS 1 (OMP/MKL/OPENBLAS_NUM_THREADS=1)",
    }


def fmt_ms(s: float) -> str:
    return f"{s * 1e3:.1f}"


def fmt_ratio(r: float) -> str:
    return f"{r:.2f}x"


def table(results, dtypes, impls) -> list[str]:
    lines = [
        "| dtype | layer | implementation | forward ms (median / best) | f+b ms (median / best) "
        "| forward ratio | f+b ratio (median) | f+b ratio (best) |",
        "|---|---|---|---:|---:|---:|---:|---:|",
    ]
    for dt in dtypes:
        for mode in MODES:
            ref_f, ref_fb = results[(dt, mode, "torch.nn", "f")], results[(dt, mode, "torch.nn", "fb")]
            for impl in impls:
                if (dt, mode, impl, "f") not in results:
                    continue
                f, fb = results[(dt, mode, impl, "f")], results[(dt, mode, impl, "fb")]
                lines.append(
                    f"| {dt} | {mode} | `{impl}` | {fmt_ms(f[0])} / {fmt_ms(f[1])} | "
                    f"{fmt_ms(fb[0])} / {fmt_ms(fb[1])} | {fmt_ratio(f[0] / ref_f[0])} | "
                    f"**{fmt_ratio(fb[0] / ref_fb[0])}** | {fmt_ratio(fb[1] / ref_fb[1])} |"
                )
    return lines


def targets(results, dtypes) -> tuple[list[str], dict]:
    lines = ["| the course's speed target | dtype | measured f+b ratio (median) | met? |",
             "|---|---|---:|:---:|"]
    verdicts = {}
    for impl, limit in TARGETS.items():
        for dt in dtypes:
            key = (dt, "LSTM", impl, "fb")
            if key not in results:
                lines.append(f"| `{impl}.LSTM` f+b within {limit}x of `torch.nn.LSTM` | {dt} | not run | - |")
                continue
            r = results[key][0] / results[(dt, "LSTM", "torch.nn", "fb")][0]
            verdicts[(impl, dt)] = r <= limit
            lines.append(
                f"| `{impl}.LSTM` f+b within {limit}x of `torch.nn.LSTM` | {dt} | {fmt_ratio(r)} | "
                f"{'yes' if r <= limit else '**no**'} |"
            )
    return lines, verdicts


def linear_fit(xs, ys) -> tuple[float, float, float]:
    """Least-squares y = a + b x; returns (a, b, R²)."""
    b, a = np.polyfit(xs, ys, 1)
    pred = a + b * np.asarray(xs)
    ss_res = float(((np.asarray(ys) - pred) ** 2).sum())
    ss_tot = float(((np.asarray(ys) - np.mean(ys)) ** 2).sum()) or 1.0
    return a, b, 1 - ss_res / ss_tot


def plot_scaling(scal, size: Size, path: pathlib.Path) -> str:
    import matplotlib

    matplotlib.use("Agg")
    from rnnlab.viz.style import COLORS, new_figure

    fig, (ax_t, ax_h) = new_figure(1, 2, figsize=(10, 3.8))
    styles = {"torch.nn": (COLORS["blue"], "-", "o"), "rnnlab.modules": (COLORS["orange"], "--", "s"),
              "GEMM floor": (COLORS["grey"], ":", "^")}
    for ax, axis, label in ((ax_t, "T", "sequence length T (steps)"), (ax_h, "H", "hidden size H")):
        xs = sorted(scal[axis])
        for name, (color, ls, marker) in styles.items():
            ys = [scal[axis][v][name] * 1e3 for v in xs]
            ax.plot(xs, ys, color=color, linestyle=ls, marker=marker, label=f"{name}")
        ax.set_xlabel(label)
        ax.set_ylabel("forward+backward time (ms)")
    ax_h.set_xscale("log", base=2)
    ax_h.set_yscale("log")
    Ts = sorted(scal["T"])
    r2 = linear_fit(Ts, [scal["T"][t]["rnnlab.modules"] for t in Ts])[2]
    ax_t.set_title(f"vs T (H={size.H}, batch {size.B}): linear fit R² = {r2:.3f}", fontsize=10)
    share = [scal["H"][h]["GEMM floor"] / scal["H"][h]["rnnlab.modules"] for h in sorted(scal["H"])]
    ax_h.set_title(f"vs H (T={size.T}): matmul share of modules.LSTM {share[0]:.0%} → {share[-1]:.0%}",
                   fontsize=10)
    ax_t.legend()
    ratios = [scal[a][v]["rnnlab.modules"] / scal[a][v]["torch.nn"] for a in "TH" for v in scal[a]]
    fig.suptitle(
        f"LSTM float32, one thread: rnnlab.modules takes {min(ratios):.1f}–{max(ratios):.1f}x "
        "torch.nn's time; the matmuls set the floor",
        fontsize=11,
    )
    fig.savefig(path)
    return f"{share[0]:.0%} → {share[-1]:.0%}"


def kernel_section(results, dtypes, avx2) -> list[str]:
    """The LSTM targets with this machine's kernels and with the AVX2 kernels forced."""
    lines = [
        "## Ratios differ by CPU",
        "",
        "numpy, OpenBLAS, oneDNN and torch each choose kernels for the vector instructions of the "
        "CPU they run on (see *kernels picked* under Machine), and each gains differently from "
        "wider vectors, so the same code has other ratios on another CPU: the ratios in this "
        "report hold for this CPU only. The table repeats the LSTM targets in a child process "
        "that forces the AVX2 code paths of every library (`tests/cpu_profile.py avx2`), as on a "
        "CPU without AVX-512, on this same machine.",
        "",
    ]
    if avx2 is None:
        return lines + ["(Not run: the AVX2 profile needs an x86-64 CPU and "
                        "`tests/cpu_profile.py`.)", ""]
    lines += [
        "| LSTM f+b / torch.nn.LSTM f+b | dtype | this CPU's kernels | AVX2 kernels | target |",
        "|---|---|---:|---:|---:|",
    ]
    for impl, limit in TARGETS.items():
        for dt in dtypes:
            key = (dt, "LSTM", impl, "fb")
            if key not in results or impl not in avx2["ratios"].get(dt, {}):
                continue
            native = results[key][0] / results[(dt, "LSTM", "torch.nn", "fb")][0]
            lines.append(f"| `{impl}` | {dt} | {fmt_ratio(native)} | "
                         f"{fmt_ratio(avx2['ratios'][dt][impl])} | {limit}x |")
    lines += ["", f"Kernels picked in the AVX2 run: {avx2['kernels']}."]
    key = (dtypes[0], "LSTM", "rnnlab.scratch", "fb")
    if key in results and "rnnlab.scratch" in avx2["ratios"].get(dtypes[0], {}):
        native = results[key][0] / results[(dtypes[0], "LSTM", "torch.nn", "fb")][0]
        other = avx2["ratios"][dtypes[0]]["rnnlab.scratch"]
        lines[-1] += (
            f" With them, `rnnlab.scratch.LSTM` in {dtypes[0]} takes {fmt_ratio(other)} "
            f"`torch.nn.LSTM`'s time instead of {fmt_ratio(native)}; `torch.nn.LSTM` itself "
            f"takes {avx2['ratios'][dtypes[0]]['torch.nn ms']:.1f} ms instead of "
            f"{results[(dtypes[0], 'LSTM', 'torch.nn', 'fb')][0] * 1e3:.1f} ms."
        )
    return lines + [""]


def breakdown_section(breakdown) -> list[str]:
    if not breakdown:
        return []
    parts, layouts = breakdown
    total = parts["whole layer, forward+backward"]
    gemm = (parts["per-step matmuls alone (forward and backward)"]
            + parts["dW_hh, dW_ih, dL/dx matmuls alone"]
            + parts["input projection (one matmul, bias included)"])
    lines = [
        "## Where `rnnlab.scratch.LSTM`'s time goes",
        "",
        "float32, the sizes above, median ms of each part timed alone (so the parts do not add "
        "up exactly to the whole). The time loops run in Python, one step after another; the "
        "matmul rows time only numpy's matrix products of the same shapes, without the "
        "element-wise work around them.",
        "",
        "| part | ms | share of the whole f+b |",
        "|---|---:|---:|",
    ]
    for name, sec in parts.items():
        lines.append(f"| {name} | {fmt_ms(sec)} | {sec / total:.0%} |")
    lines += [
        "",
        f"The matrix products alone take {fmt_ms(gemm)} ms, {gemm / total:.0%} of the layer's "
        f"{fmt_ms(total)} ms; the rest is the element-wise work of the gates (sigmoid, tanh, "
        "products) and the per-step cost of calling numpy from Python.",
        "",
        "Why the loops keep the gates gate-major, (gates, T, batch, H), rather than as a "
        "(T, batch, 4H) array: one step's operations in both layouts, float32, median "
        "microseconds per call on this machine.",
        "",
        "| one step's operation | µs per call |",
        "|---|---:|",
        *[f"| {name} | {sec * 1e6:.1f} |" for name, sec in layouts.items()],
        "",
    ]
    return lines


def write_report(out_dir, size, dtypes, results, scal, cuda, info, load, elapsed, args,
                 parts=None, avx2=None, scan=None):
    out_dir.mkdir(parents=True, exist_ok=True)
    share = plot_scaling(scal, size, out_dir / "scaling.png")
    Ts, Hs = sorted(scal["T"]), sorted(scal["H"])
    fits = {name: linear_fit(Ts, [scal["T"][t][name] for t in Ts]) for name in ("torch.nn", "rnnlab.modules")}
    cores = os.cpu_count() or 1
    # The benchmark itself keeps one core busy (load average about 1 by the end); more than half a
    # core of load on top of that is other processes.
    if load[0] < 0.5 and load[1] < 1.5:
        noise = (f"The machine was otherwise idle while it ran (load average {load[0]:.1f} at the "
                 f"start, {load[1]:.1f} at the end, the benchmark's own core included).")
    else:
        noise = (
            "> **Noise warning.** These timings were taken on a shared machine: other processes "
            f"used the same {cores} cores while it ran (load average {load[0]:.1f} at the start, "
            f"{load[1]:.1f} at the end). CPU time leaves out the time spent waiting for a core, "
            "but the other processes still share the caches and the memory bandwidth, so times "
            "are inflated and noisy; ratios are measured interleaved so that the load falls on "
            "every candidate alike, but they are noisy too. Rerun "
            "`python benchmarks/bench_rnn.py` on an idle machine for trustworthy numbers."
        )
    target_lines, verdicts = targets(results, dtypes)
    now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    lines = [
        "# Speed against torch.nn",
        "",
        f"Generated by `python benchmarks/bench_rnn.py{' --quick' if args.quick else ''}` on {now} "
        f"in {elapsed:.0f} s. Layer: batch {size.B}, {size.T} steps, {size.I} inputs, {size.H} "
        f"hidden, one layer, one direction. Each number is the median (and best) of {args.repeats} "
        f"interleaved runs after {args.warmup} warm-up runs, in CPU time (`time.process_time`; "
        "GPU runs: wall time); ratios are implementation time / "
        "`torch.nn` time in the same dtype (lower is better, 1.00x = as fast as torch.nn).",
        "",
        noise,
        "",
        "## Targets",
        "",
        *target_lines,
        "",
        "## All layers",
        "",
        "forward = inference (`torch.no_grad()`; numpy's forward always keeps its cache for the "
        "backward pass); f+b = forward, then backward of `output.sum()` with the input requiring "
        "a gradient (every implementation computes dL/dx and all parameter gradients).",
        "",
        *table(results, dtypes, IMPLS),
        "",
        *kernel_section(results, dtypes, avx2),
        *breakdown_section(parts),
    ]
    if cuda:
        lines += [
            f"## GPU: {torch.cuda.get_device_name(0)}",
            "",
            "`rnnlab.modules` against `torch.nn` (cuDNN), float32, same sizes.",
            "",
            *table(cuda, ["float32"], ("torch.nn", "rnnlab.modules")),
            "",
        ]
    else:
        lines += [
            "## GPU",
            "",
            "No CUDA device was visible to this run, so there is no table against cuDNN. On a machine "
            "with one, the same command adds it (float32, same sizes); the equivalence of "
            "`rnnlab.modules` on CUDA is tested by `tests/test_modules_equivalence.py`, whose CUDA "
            "cases skip without a GPU.",
            "",
        ]
    if scan:
        lines += [
            "## Chapter 7: the loop against the parallel scan",
            "",
            "A linear recurrence h_t = a_t h_{t-1} + b_t (chapter 7) needs no loop: "
            "`rnnlab.modules.linear_scan` computes it by the loop or by a parallel scan, and "
            "`rnnlab.modules.MinGRU` is a whole layer built on it. Same machine, same run; "
            "[SCAN.md](SCAN.md) (`python benchmarks/bench_scan.py`) has the numpy scans and more "
            "sizes.",
            "",
            *bench_scan.tables(scan, SCAN_TS, SCAN_WIDTHS, SCAN_LAYER_TS, with_numpy=False),
        ]
    lines += [
        "## Scaling",
        "",
        "![forward+backward time of rnnlab.modules.LSTM and torch.nn.LSTM against T and H](scaling.png)",
        "",
        "float32, forward+backward, median ms. *GEMM floor*: only the matmuls `rnnlab.modules.LSTM` "
        "performs (input projection, one matmul per step forward and backward, the three weight "
        "and input gradients), timed alone with torch's matmul: a loop built on these matmuls "
        "cannot be faster (torch.nn's float32 oneDNN kernels use their own GEMMs, which can be).",
        "",
        "| T | torch.nn | rnnlab.modules | GEMM floor | modules / torch.nn |",
        "|---:|---:|---:|---:|---:|",
        *[
            f"| {t} | {fmt_ms(scal['T'][t]['torch.nn'])} | {fmt_ms(scal['T'][t]['rnnlab.modules'])} | "
            f"{fmt_ms(scal['T'][t]['GEMM floor'])} | "
            f"{fmt_ratio(scal['T'][t]['rnnlab.modules'] / scal['T'][t]['torch.nn'])} |"
            for t in Ts
        ],
        "",
        "| H | torch.nn | rnnlab.modules | GEMM floor | modules / torch.nn | matmul share of modules |",
        "|---:|---:|---:|---:|---:|---:|",
        *[
            f"| {h} | {fmt_ms(scal['H'][h]['torch.nn'])} | {fmt_ms(scal['H'][h]['rnnlab.modules'])} | "
            f"{fmt_ms(scal['H'][h]['GEMM floor'])} | "
            f"{fmt_ratio(scal['H'][h]['rnnlab.modules'] / scal['H'][h]['torch.nn'])} | "
            f"{scal['H'][h]['GEMM floor'] / scal['H'][h]['rnnlab.modules']:.0%} |"
            for h in Hs
        ],
        "",
        "Against T, a least-squares line through the times (the loop is sequential, so the cost "
        "should be linear in T; R² = 1 would be exactly a line, load noise lowers it): "
        + "; ".join(
            f"`{name}` {fmt_ms(b)} ms per step, R² = {r2:.3f}" for name, (a, b, r2) in fits.items()
        )
        + f". Against H, the matmuls' share of `rnnlab.modules.LSTM`'s time goes {share} from "
        f"H = {Hs[0]} to H = {Hs[-1]}: the larger the layer, the less the fixed per-step cost of "
        "the Python loop matters.",
        "",
        "## What limits the ratios",
        "",
        "- `torch.nn` on CPU runs the whole time loop in C++; in float32 this torch build uses "
        "oneDNN's fused RNN kernels (`aten::mkldnn_rnn_layer` in `torch.profiler`), in float64 "
        "its native C++ cell loop.",
        "- `rnnlab.modules` runs the loop in Python: per step one `addmm` for all gates and about "
        "seven element-wise tensor ops forward, one `mm` and five element-wise ops backward "
        "(the backward pass is a hand-written `torch.autograd.Function`: the local derivatives of "
        "all steps are computed at once before the loop, the weight gradients summed over time "
        "in one matmul after it). Each op costs a few microseconds of dispatch on top of its "
        "arithmetic, which is why small layers are relatively slower than large ones.",
        "- `rnnlab.scratch` is numpy: the same structure, with numpy's BLAS and without torch's "
        "fused kernels. Its fast loops keep the gates *gate-major*: the input projection of all "
        "steps is a (gates, T, batch, H) array, so each gate of a step is one contiguous "
        "(batch, H) block, and the recurrent product is one (batch, H) @ (H, H) product per gate "
        "in a single `np.matmul` call (the table in the previous section compares both layouts "
        "on this machine).",
        "",
        "## Machine",
        "",
        "| | |",
        "|---|---|",
        *[f"| {k} | {v} |" for k, v in info.items()],
        "",
        f"Regenerate: `python benchmarks/bench_rnn.py` (this run took {elapsed:.0f} s); "
        "`--quick` for a smoke run.",
        "",
    ]
    (out_dir / "REPORT.md").write_text("\n".join(lines))
    return verdicts


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="smoke run: tiny sizes, few repeats")
    parser.add_argument("--out", type=pathlib.Path, default=None,
                        help="folder for REPORT.md and scaling.png (default: benchmarks/, or a "
                             "temporary folder with --quick)")
    parser.add_argument("--repeats", type=int, default=None, help="timed runs per case")
    parser.add_argument("--warmup", type=int, default=None, help="untimed runs per case first")
    parser.add_argument("--targets-only", action="store_true",
                        help="only the LSTM f+b ratios to torch.nn, printed as one line of JSON")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    try:
        from threadpoolctl import threadpool_limits

        threadpool_limits(1)
    except ImportError:
        pass
    if args.quick:
        size, Ts, Hs = Size(T=10), (5, 10), (16, 32)
        args.repeats, args.warmup = args.repeats or 2, args.warmup or 1
        out_dir = args.out or pathlib.Path(tempfile.mkdtemp(prefix="rnnlab-bench-"))
    else:
        size, Ts, Hs = Size(), (25, 50, 100, 200, 400), (32, 64, 128, 256, 512)
        args.repeats, args.warmup = args.repeats or 11, args.warmup or 2
        out_dir = args.out or HERE
    dtypes = (torch.float32, torch.float64)
    log = lambda msg: print(msg, file=sys.stderr, flush=True)  # noqa: E731
    if args.targets_only:
        result = targets_only(size, dtypes, args.repeats, args.warmup)
        print(json.dumps({"kernels": kernels(), "ratios": result}))
        return 0
    load0 = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    t0 = time.perf_counter()
    log(f"main table (batch {size.B}, T={size.T}, I={size.I}, H={size.H}), {args.repeats} repeats")
    results = main_table(size, dtypes, args.repeats, args.warmup, log)
    log("scratch.LSTM breakdown")
    parts = scratch_breakdown(size, args.repeats, args.warmup)
    log("scaling")
    scal = scaling(size, Ts, Hs, max(3, args.repeats // 2), 1, log)
    avx2 = other_kernels("avx2", args, log)
    log("chapter 7: loop against scan")
    scan = (None if args.quick else
            bench_scan.run_all(SCAN_TS, SCAN_WIDTHS, SCAN_LAYER_TS, args.repeats, args.warmup, log=log))
    cuda = cuda_table(size, args.repeats, args.warmup) if torch.cuda.is_available() else None
    load1 = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    info = machine()
    names = [dtype_name(d) for d in dtypes]
    verdicts = write_report(out_dir, size, names, results, scal, cuda, info, (load0, load1),
                            time.perf_counter() - t0, args, parts, avx2, scan)
    print("\n".join(table(results, names, IMPLS)))
    for (impl, dt), ok in verdicts.items():
        print(f"target {impl}.LSTM <= {TARGETS[impl]}x torch.nn.LSTM ({dt}): {'met' if ok else 'NOT met'}")
    print(f"report: {out_dir / 'REPORT.md'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
