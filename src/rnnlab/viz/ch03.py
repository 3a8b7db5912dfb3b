r"""Experiments, figures and explorers of chapter 3 (LSTM); chapter 4 reuses the experiment code.

Measurements:

- :func:`input_gradient_norms`   ``||dL/dx_{T-d}||`` against the distance ``d`` for any recurrent
  module (tanh RNN, LSTM, GRU): how much gradient reaches an early input;
- :func:`set_forget_bias`        put a value on the forget gate's bias (torch layout i, f, g, o);
- :func:`scale_recurrent_weights` multiply ``weight_hh_l0`` (the exploding-gradient demo);
- :class:`SequenceRegressor`     a recurrent layer + a linear read-out of the last step;
- :func:`train_adding`           train a model on the adding problem with :func:`rnnlab.train.fit`,
  early stop at a validation MSE target;
- :func:`run_adding`             one run of the notebooks' adding-problem experiment from a seed
  (model and data), shared with ``benchmarks/claims``; :func:`descent_steps` how fast a solved
  run went from the baseline plateau to the target;
- :func:`lstm_gate_trace`        every gate of an LSTM (from its ``torch`` state dict) along one
  sequence, computed with :func:`rnnlab.scratch.lstm_step`;
- :func:`memory_unit`            the unit with the most open forget gate of a trace: its writes at
  the markers and what it keeps between them;
- :func:`forget_gates`           the forget gate of an LSTM along a batch of sequences;
- :func:`spike_timing_batch`     the timing task of the peephole experiment, :func:`train_timing`
  and :func:`run_timing` (one run from a seed).

Figures (each returns the ``Figure``): :func:`gradient_distance_figure`,
:func:`adding_example_figure`, :func:`training_curves_figure`, :func:`gate_heatmap_figure`,
:func:`lstm_cell_figure`; and :func:`gate_explorer` (ipywidgets, live in Jupyter only).

Notation as in the book: gates ``i, f, g, o`` stacked in that order in ``weight_ih``/``weight_hh``
(torch's layout); ``c_t`` the cell state, ``h_t = o_t * tanh(c_t)`` the hidden state.
"""
from __future__ import annotations

import time
from typing import Callable, Mapping, NamedTuple, Sequence

import numpy as np

from rnnlab.viz.diagram import arrow, blank, box, state_line
from rnnlab.viz.style import COLORS, new_figure

__all__ = [
    "input_gradient_norms",
    "set_forget_bias",
    "scale_recurrent_weights",
    "SequenceRegressor",
    "train_adding",
    "run_adding",
    "descent_steps",
    "AddingResult",
    "results_table",
    "GateTrace",
    "lstm_gate_trace",
    "MemoryUnit",
    "memory_unit",
    "forget_gates",
    "spike_timing_batch",
    "train_timing",
    "run_timing",
    "gradient_distance_figure",
    "adding_example_figure",
    "training_curves_figure",
    "gate_heatmap_figure",
    "timing_figure",
    "gate_explorer",
    "lstm_cell_figure",
]


# ============================================================================ measurements
def input_gradient_norms(model, x, *, readout=None) -> np.ndarray:
    r"""How much gradient reaches each input: ``||dL/dx_{T-d}||`` for ``d = 0 .. T-1``.

    ``model`` is a recurrent module called as ``model(x) -> (output, state)`` (``torch.nn.RNN``,
    ``LSTM``, ``GRU`` or ``rnnlab.modules``'); ``x`` is ``(T, N, I)``. The loss reads only the last
    output, ``L = mean_n(u . h_T[n])`` with the unit vector ``u = 1/sqrt(H)`` (or ``readout``), so
    ``||dL/dh_T|| = 1/sqrt(N)`` per sequence and everything that reaches step ``T - d`` has come
    back through ``d`` steps of the recurrence. Returns the Frobenius norm over batch and features
    of ``dL/dx_{T-d}``, indexed by the distance ``d``, as float64.
    """
    import torch

    dtype = next(model.parameters()).dtype
    x = torch.as_tensor(x, dtype=dtype).detach().clone().requires_grad_(True)
    out, _ = model(x)
    H = out.shape[-1]
    u = torch.full((H,), H ** -0.5, dtype=dtype) if readout is None else torch.as_tensor(readout, dtype=dtype)
    (out[-1] @ u).mean().backward()
    norms = x.grad.detach().double().flatten(1).norm(dim=1).numpy()
    return norms[::-1].copy()


def set_forget_bias(lstm, value: float, layer: int = 0) -> None:
    """Set the forget-gate bias of an LSTM layer (torch layout, gates i, f, g, o) to ``value``.

    ``bias_ih`` gets ``value`` and ``bias_hh`` gets 0 on the forget rows, so the forget gate's
    pre-activation starts at ``value`` (``sigma(1) = 0.73``, ``sigma(3) = 0.95``).
    """
    import torch

    H = lstm.hidden_size
    with torch.no_grad():
        getattr(lstm, f"bias_ih_l{layer}")[H:2 * H] = value
        getattr(lstm, f"bias_hh_l{layer}")[H:2 * H] = 0.0


def scale_recurrent_weights(module, factor: float, layer: int = 0) -> None:
    """Multiply ``weight_hh_l{layer}`` by ``factor`` in place (large weights: exploding gradients)."""
    import torch

    with torch.no_grad():
        getattr(module, f"weight_hh_l{layer}").mul_(factor)


def _recurrent_classes():
    import torch

    import rnnlab.modules as rm

    return {
        ("rnnlab", "rnn"): rm.RNN, ("rnnlab", "lstm"): rm.LSTM, ("rnnlab", "gru"): rm.GRU,
        ("torch", "rnn"): torch.nn.RNN, ("torch", "lstm"): torch.nn.LSTM, ("torch", "gru"): torch.nn.GRU,
    }


def SequenceRegressor(cell: str, input_size: int, hidden_size: int, *, backend: str = "rnnlab",
                      forget_bias: float | None = None, every_step: bool = False, **layer_kwargs):
    """A recurrent layer followed by a linear read-out of its last output: ``(T, N, I) -> (N, 1)``
    (or of every step's output, ``(T, N, I) -> (T, N, 1)``, with ``every_step=True``).

    ``cell``: ``"rnn"`` (tanh), ``"lstm"`` or ``"gru"``; ``backend``: ``"rnnlab"``
    (:mod:`rnnlab.modules`) or ``"torch"`` (``torch.nn``); extra keyword arguments go to the layer
    (``peephole=True``, ``reset_after=False``). ``forget_bias`` sets the LSTM forget-gate bias.
    The layer is ``model.rnn``, the read-out ``model.out``.
    """
    import torch

    classes = _recurrent_classes()
    if (backend, cell) not in classes:
        raise ValueError(f"cell must be 'rnn', 'lstm' or 'gru' and backend 'rnnlab' or 'torch', "
                         f"got cell={cell!r}, backend={backend!r}")

    class _Regressor(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.rnn = classes[(backend, cell)](input_size, hidden_size, **layer_kwargs)
            self.out = torch.nn.Linear(hidden_size, 1)

        def forward(self, x):
            output, _ = self.rnn(x)
            return self.out(output if every_step else output[-1])

    model = _Regressor()
    if forget_bias is not None:
        if cell != "lstm":
            raise ValueError(f"forget_bias applies to an LSTM, not to cell={cell!r}")
        set_forget_bias(model.rnn, forget_bias)
    return model


class AddingResult(NamedTuple):
    """One training run on the adding problem."""

    name: str
    length: int
    history: object  # rnnlab.train.History
    val_mse: float
    solved: bool
    steps: int
    seconds: float
    model: object  # the trained torch.nn.Module


def train_adding(model, length: int, *, steps: int, name: str = "", batch_size: int = 64,
                 lr: float = 1e-2, clip: float | None = 1.0, target: float = 0.01, seed: int = 0,
                 eval_every: int = 50, val_size: int = 1000, progress=False) -> AddingResult:
    """Train ``model`` ((T, N, 2) -> (N, 1)) on the adding problem of ``length`` steps.

    Adam with ``lr``, fresh batches every step from ``adding_stream(batch_size, length,
    rng=seed)``, gradient clipping at global norm ``clip``, a fixed validation set of ``val_size``
    sequences (seed ``seed + 10_000``) evaluated every ``eval_every`` steps, and early stop as
    soon as the validation MSE is at most ``target`` or after ``steps`` optimizer steps.
    """
    import torch

    from rnnlab.data import adding_problem, adding_stream
    from rnnlab.train import fit

    dtype = next(model.parameters()).dtype
    val = adding_problem(val_size, length, rng=seed + 10_000)
    vx = torch.as_tensor(val.x, dtype=dtype)
    vy = torch.as_tensor(val.y, dtype=dtype)
    mse = torch.nn.functional.mse_loss

    hist = fit(
        model, lambda m, b: mse(m(b.x), b.y), adding_stream(batch_size, length, rng=seed),
        steps=steps, lr=lr, clip=clip, eval_fn=lambda m: {"val_mse": mse(m(vx), vy)},
        eval_every=eval_every, target=target, monitor="val_mse", progress=progress,
        desc=f"{name} T={length}" if name else None,
    )
    return AddingResult(name, length, hist, hist.final("val_mse"), hist.reached_target,
                        hist.num_steps, hist.wall_time, model)


def run_adding(cell: str, length: int, *, seed: int = 0, steps: int = 3000,
               hidden_size: int = 32, forget_bias: float | None = None,
               name: str | None = None) -> AddingResult:
    """One run of the adding-problem experiment of notebooks 3b and 4, from the seed on.

    ``torch.manual_seed(seed)``, a fresh :func:`SequenceRegressor` (``cell``, 2 inputs,
    ``hidden_size`` units, PyTorch's default initialisation unless ``forget_bias``), then
    :func:`train_adding` with data seed ``seed`` and at most ``steps`` steps. The notebooks and
    the robustness claims (``benchmarks/claims``) both call this, so they run one experiment.
    """
    import torch

    torch.manual_seed(seed)
    model = SequenceRegressor(cell, 2, hidden_size, forget_bias=forget_bias)
    if name is None:
        name = {"rnn": "tanh RNN", "lstm": "LSTM", "gru": "GRU"}[cell]
    return train_adding(model, length, steps=steps, name=name, seed=seed)


def descent_steps(result: AddingResult, level: float = 0.1) -> int:
    """How fast a run left the plateau: the steps from its last evaluation with a validation MSE
    at or above ``level`` (0.1: still at the level of the 0.167 baseline) to the end of the run.
    For a solved run that is the time from the plateau to the target."""
    if not result.solved:
        raise ValueError(f"{result.name} T={result.length} did not reach its target; "
                         "descent_steps needs a solved run")
    steps, values = result.history.metric("val_mse")
    on_plateau = [s for s, v in zip(steps, values) if v >= level]
    return result.steps - (on_plateau[-1] if on_plateau else 0)


def results_table(results: Sequence[AddingResult], timings: bool = False, target: float = 0.01) -> str:
    """A text table of adding-problem runs (at most 88 characters wide).

    Without ``timings`` it shows only what is stable across machines: model, length and a verdict,
    ``solved`` (validation MSE <= ``target``), ``failed`` (still above 0.1, i.e. at the level of the
    0.167 baseline) or ``not solved`` (in between). With ``timings``: steps, final validation MSE
    and seconds as well (these vary between machines)."""
    lines = []
    if timings:
        lines.append(f"{'model':<20}{'T':>5}{'steps':>7}{'val MSE':>9}{'time (s)':>10}  result")
        for r in results:
            lines.append(f"{r.name:<20}{r.length:>5}{r.steps:>7}{r.val_mse:>9.4f}{r.seconds:>10.1f}"
                         f"  {_verdict(r, target)}")
    else:
        lines.append(f"{'model':<20}{'T':>5}  result")
        for r in results:
            lines.append(f"{r.name:<20}{r.length:>5}  {_verdict(r, target)}")
    return "\n".join(lines)


def _verdict(r: AddingResult, target: float) -> str:
    if r.solved:
        return f"solved (val MSE <= {target:g})"
    if r.val_mse > 0.1:
        return "failed (val MSE > 0.1: baseline)"
    return f"not solved in {r.steps} steps"


class GateTrace(NamedTuple):
    """Activations of one LSTM layer along one sequence, each ``(T, H)``."""

    i: np.ndarray
    f: np.ndarray
    g: np.ndarray
    o: np.ndarray
    c: np.ndarray
    h: np.ndarray


def lstm_gate_trace(state_dict: Mapping, x, layer: int = 0) -> GateTrace:
    """Run one LSTM layer over one sequence ``x`` (``(T, I)``) with :func:`rnnlab.scratch.lstm_step`
    in float64, recording every gate. ``state_dict`` holds torch's keys (``weight_ih_l0``, ...)
    as tensors or arrays; peephole weights (``weight_ci_l0``...) are used when present."""
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 2:
        raise ValueError(f"x must be one sequence of shape (T, I), got {x.shape}")
    rec = _lstm_run(state_dict, x[:, None, :], layer)
    return GateTrace(**{k: v[:, 0] for k, v in rec.items()})


class MemoryUnit(NamedTuple):
    """What one LSTM unit does with the first marked value of an adding-problem sequence."""

    unit: int                 # the unit with the most open forget gate (mean over the sequence)
    f_min: float              # its smallest forget gate over the sequence
    i_marked: tuple           # its input gate at the two marked steps
    i_elsewhere: float        # its largest input gate at any other step
    write: float              # c_t - c_{t-1} at the first marked step
    change: float             # c at the step before the second marker minus c at the first
    keep: float               # product of its forget gates strictly between the markers


def memory_unit(trace: GateTrace, first: int, second: int) -> MemoryUnit:
    """Measure the unit with the most open forget gate of ``trace`` between the marked steps
    ``first < second`` (0-based): does it write at the markers, and what does it keep between?

    ``keep`` is the direct-path product of eq. (lstm-cec-product) over the steps between the
    markers: the fraction of the cell's content at ``first`` that survives to ``second - 1``
    if nothing were added. ``change`` is what actually happened to the cell in that interval.
    """
    T = trace.f.shape[0]
    if not 0 <= first < second < T:
        raise ValueError(f"need 0 <= first < second < T={T}, got first={first}, second={second}")
    unit = int(np.argmax(trace.f.mean(axis=0)))
    c, f, i = trace.c[:, unit], trace.f[:, unit], trace.i[:, unit]
    marked = [first, second]
    before = c[first - 1] if first > 0 else 0.0
    return MemoryUnit(unit, float(f.min()), tuple(float(v) for v in i[marked]),
                      float(np.delete(i, marked).max()), float(c[first] - before),
                      float(c[second - 1] - c[first]), float(np.prod(f[first + 1:second])))


def spike_timing_batch(n: int, length: int, delay: int, rng) -> tuple[np.ndarray, np.ndarray]:
    """The timing task of the peephole experiment (after Gers & Schmidhuber 2000's timing tasks).

    One input spike at a random step in the first ``length - delay`` steps; the target is 1
    exactly ``delay`` steps after the spike and 0 elsewhere. Returns ``x`` ``(T, N, 1)`` and
    ``y`` ``(T, N, 1)`` (float32). Solving it means counting ``delay`` steps precisely.
    """
    from rnnlab.data import as_rng

    g = as_rng(rng)
    if not 0 < delay < length:
        raise ValueError(f"delay must be in 1..length-1, got delay={delay}, length={length}")
    start = g.integers(0, length - delay, size=n)
    x = np.zeros((length, n, 1), dtype=np.float32)
    y = np.zeros((length, n, 1), dtype=np.float32)
    cols = np.arange(n)
    x[start, cols, 0] = 1.0
    y[start + delay, cols, 0] = 1.0
    return x, y


def train_timing(model, *, length: int = 50, delay: int = 20, steps: int = 600,
                 batch_size: int = 32, lr: float = 1e-2, clip: float | None = 1.0, seed: int = 0,
                 eval_every: int = 50, val_size: int = 500, target: float = 1.0):
    """Train ``model`` ((T, N, 1) -> (T, N, 1) logits) on :func:`spike_timing_batch`.

    Loss: binary cross-entropy of every step's output against the target spike train, the one
    positive step weighted by ``length`` so that it counts as much as all the silent ones. Metric
    ``exact``: the fraction of validation sequences whose output peaks exactly at the target step
    (early stop when it reaches ``target``). Returns the :class:`rnnlab.train.History`.
    """
    import torch

    from rnnlab.data import as_rng
    from rnnlab.train import fit

    dtype = next(model.parameters()).dtype
    g = as_rng(seed)
    vx, vy = (torch.as_tensor(a, dtype=dtype) for a in spike_timing_batch(val_size, length, delay, seed + 10_000))
    pos_weight = torch.tensor(float(length), dtype=dtype)  # one spike among `length` steps

    def bce(out, y):
        return torch.nn.functional.binary_cross_entropy_with_logits(out, y, pos_weight=pos_weight)

    def exact(m):
        out = m(vx)
        return {"exact": (out.argmax(0) == vy.argmax(0)).double().mean(), "val_bce": bce(out, vy)}

    return fit(model, lambda m, b: bce(m(b[0]), b[1]),
               lambda: spike_timing_batch(batch_size, length, delay, g), steps=steps, lr=lr,
               clip=clip, eval_fn=exact, eval_every=eval_every, target=target, monitor="exact",
               mode="max", progress=False)


def run_timing(peephole: bool, *, seed: int = 0, hidden_size: int = 16, length: int = 40,
               delay: int = 20, steps: int = 1200):
    """One run of notebook 3b's peephole experiment: ``torch.manual_seed(seed)``, an LSTM of
    ``hidden_size`` units (``peephole`` on or off) with a read-out at every step, trained by
    :func:`train_timing`. Returns ``(model, history)``."""
    import torch

    torch.manual_seed(seed)
    model = SequenceRegressor("lstm", 1, hidden_size, every_step=True, peephole=peephole)
    return model, train_timing(model, length=length, delay=delay, steps=steps, seed=seed)


def forget_gates(state_dict: Mapping, x, layer: int = 0) -> np.ndarray:
    """The forget gate ``f_t`` of one LSTM layer along a batch ``x`` (``(T, N, I)``), computed
    in float64 with :func:`rnnlab.scratch.lstm_step` from zero states: an array ``(T, N, H)``."""
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 3:
        raise ValueError(f"x must have shape (T, N, I), got {x.shape}")
    return _lstm_run(state_dict, x, layer)["f"]


def _lstm_run(state_dict: Mapping, x: np.ndarray, layer: int) -> dict:
    """Run one LSTM layer over ``x`` (``(T, N, I)``, float64), recording gates and states."""
    from rnnlab.scratch import lstm_step

    def get(key):
        v = state_dict.get(key)
        if v is None:
            return None
        v = v.detach().cpu().numpy() if hasattr(v, "detach") else np.asarray(v)
        return v.astype(np.float64)

    sfx = f"_l{layer}"
    w_ih, w_hh = get("weight_ih" + sfx), get("weight_hh" + sfx)
    if w_ih is None or w_hh is None:
        raise KeyError(f"state_dict has no LSTM layer {layer} (weight_ih{sfx}, weight_hh{sfx})")
    b_ih, b_hh = get("bias_ih" + sfx), get("bias_hh" + sfx)
    peep = [get(f"weight_c{k}" + sfx) for k in "ifo"]
    T, N, _ = x.shape
    H = w_hh.shape[1]
    h = np.zeros((N, H))
    c = np.zeros((N, H))
    rec = {k: [] for k in GateTrace._fields}
    for t in range(T):
        h, c, cache = lstm_step(x[t], h, c, w_ih, w_hh, b_ih, b_hh, *peep)
        for k in "ifgo":
            rec[k].append(getattr(cache, k))
        rec["c"].append(c)
        rec["h"].append(h)
    return {k: np.array(v) for k, v in rec.items()}


# ============================================================================ figures
def gradient_distance_figure(curves: Mapping[str, np.ndarray], title: str,
                             ylabel: str = r"$\|\partial L / \partial x_{T-d}\|$"):
    """``||dL/dx_{T-d}||`` against the distance ``d`` on a log scale, one line per model
    (chapter 2's plot style). Zeros (underflow) are left out of the line."""
    fig, ax = new_figure(figsize=(7.0, 4.0))
    lo, hi = np.inf, 0.0
    for label, norms in curves.items():
        norms = np.asarray(norms, dtype=np.float64)
        pos = norms[norms > 0]
        if pos.size:
            lo, hi = min(lo, pos.min()), max(hi, pos.max())
        ax.semilogy(np.arange(norms.size), np.where(norms > 0, norms, np.nan), label=label)
    ax.set_xlabel("distance back in time  d = T - t  (steps)")
    ax.set_ylabel(ylabel)
    if np.isfinite(lo):
        ax.set_ylim(lo / 10, hi * 10)
    ax.legend(fontsize=8, loc="best")
    ax.set_title(title)
    return fig


def adding_example_figure(batch, index: int = 0):
    """One adding-problem sequence: the values as bars, the two marked ones highlighted."""
    x = batch.x[:, index] if batch.x.shape[1] != 2 or batch.x.ndim == 3 else batch.x
    values, markers = x[:, 0], x[:, 1]
    T = values.size
    fig, ax = new_figure(figsize=(7.0, 2.8))
    ax.bar(np.arange(T), values, color=COLORS["grey"], width=0.8, label="value channel")
    marked = np.flatnonzero(markers > 0.5)
    ax.bar(marked, values[marked], color=COLORS["orange"], width=0.8, hatch="//",
           label="marked (marker channel = 1)")
    ax.set_xlabel("time step t")
    ax.set_ylabel("value")
    ax.set_xlim(-1, T)
    ax.set_ylim(0, 1.15)
    y = float(batch.y[index, 0])
    ax.set_title(f"Adding problem, T = {T}: target = {values[marked[0]]:.2f} + "
                 f"{values[marked[1]]:.2f} = {y:.2f}")
    ax.legend(loc="upper right", fontsize=8, ncol=2)
    return fig


def training_curves_figure(results: Sequence[AddingResult], baseline: float = 1 / 6,
                           target: float = 0.01, title: str | None = None):
    """Validation MSE against the optimizer step for several adding-problem runs (log scale),
    with the predict-the-mean baseline and the target as horizontal lines."""
    fig, ax = new_figure(figsize=(7.6, 4.0))
    names = list(dict.fromkeys(r.name for r in results))
    lengths = sorted({r.length for r in results})
    palette = [COLORS[c] for c in ("orange", "blue", "green", "red", "purple", "sky")]
    styles = ["-", "--", ":", "-."]
    markers = ["o", "s", "^", "D", "v", "P"]
    for r in results:
        s, v = r.history.metric("val_mse")
        m = names.index(r.name)
        style = styles[(m if len(lengths) == 1 else lengths.index(r.length)) % len(styles)]
        ax.semilogy(s, v, color=palette[m % len(palette)], ls=style, lw=1.6,
                    marker=markers[m % len(markers)], markersize=3.5, markevery=4,
                    label=f"{r.name}, T={r.length}")
    ax.axhline(baseline, color=COLORS["grey"], ls="--", lw=1, label="baseline (predict 1.0)")
    ax.axhline(target, color=COLORS["black"], ls=":", lw=1, label=f"target {target:g}")
    ax.set_xlabel("optimizer step")
    ax.set_ylabel("validation MSE")
    ax.legend(fontsize=8, loc="center left", bbox_to_anchor=(1.01, 0.5))
    ax.set_title(title or "Validation MSE on the adding problem")
    return fig


def _gate_panels(axes, trace: GateTrace, x, units, markers):
    T = trace.f.shape[0]
    rows = [("input x_t", None), ("forget gate f_t", trace.f), ("input gate i_t", trace.i),
            ("output gate o_t", trace.o), ("cell state c_t", trace.c)]
    ax0 = axes[0]
    ax0.bar(np.arange(T), x[:, 0], color=COLORS["grey"], width=0.8)
    if markers is not None:
        m = np.flatnonzero(markers > 0.5)
        ax0.bar(m, x[m, 0], color=COLORS["orange"], width=0.8, hatch="//")
    ax0.set_ylabel("value", fontsize=8)
    ax0.set_title(rows[0][0], fontsize=9, loc="left")
    ims = []
    for ax, (label, data) in zip(axes[1:], rows[1:]):
        data = data[:, units].T
        if label.startswith("cell"):
            lim = max(np.abs(data).max(), 1e-6)
            im = ax.imshow(data, aspect="auto", cmap="RdBu_r", vmin=-lim, vmax=lim,
                           interpolation="nearest")
        else:
            im = ax.imshow(data, aspect="auto", cmap="viridis", vmin=0, vmax=1,
                           interpolation="nearest")
        ax.set_ylabel("unit", fontsize=8)
        step = max(1, len(units) // 8)
        ax.set_yticks(range(0, len(units), step))
        ax.set_yticklabels([str(u) for u in units[::step]], fontsize=7)
        ax.set_title(label, fontsize=9, loc="left")
        ax.grid(False)
        if markers is not None:
            for p in np.flatnonzero(markers > 0.5):
                ax.axvline(p, color=COLORS["orange"], lw=1.2, ls="--")
        ims.append(im)
    axes[-1].set_xlabel("time step t")
    return ims


def timing_figure(runs: Mapping[str, tuple], length: int = 40, delay: int = 20, seed: int = 5,
                  n: int = 3):
    """Input spike, target spike and each trained model's output probability over time for ``n``
    sequences of the timing task. ``runs`` maps a label to ``(model, history)``."""
    import torch

    x, y = spike_timing_batch(n, length, delay, seed)
    fig, axes = new_figure(n, 1, figsize=(7.0, 1.6 * n + 0.6), sharex=True)
    axes = np.atleast_1d(axes)
    outs = {}
    with torch.no_grad():
        for label, (model, _) in runs.items():
            dtype = next(model.parameters()).dtype
            outs[label] = torch.sigmoid(model(torch.as_tensor(x, dtype=dtype))).double().numpy()
    t = np.arange(length)
    for k, ax in enumerate(axes):
        ax.bar(t, x[:, k, 0], color=COLORS["grey"], width=0.6, label="input spike")
        ax.bar(t, y[:, k, 0], color=COLORS["orange"], width=0.6, hatch="//",
               label=f"target ({delay} steps later)")
        for label, out in outs.items():
            ax.plot(t, out[:, k, 0], marker=".", label=label)
        ax.set_ylim(0, 1.1)
        ax.set_ylabel("p(spike)")
    axes[0].legend(fontsize=7, ncol=2, loc="upper right")
    axes[-1].set_xlabel("time step t")
    axes[0].set_title(f"Both trained LSTMs fire exactly {delay} steps after the input spike")
    return fig


def gate_heatmap_figure(trace: GateTrace, x, units: Sequence[int] | None = None,
                        markers=None, title: str | None = None):
    """Heat maps of the forget, input and output gates and of the cell state of chosen units along
    one sequence, under the input (marked steps highlighted, dashed lines through the maps)."""
    units = list(range(trace.f.shape[1])) if units is None else list(units)
    x = np.asarray(x)
    fig, axes = new_figure(5, 1, figsize=(8.0, 8.0), sharex=True,
                           gridspec_kw={"height_ratios": [0.8, 1, 1, 1, 1]})
    ims = _gate_panels(axes, trace, x, units, markers)
    fig.colorbar(ims[0], ax=list(axes[1:4]), label="gate activation", shrink=0.8)
    fig.colorbar(ims[-1], ax=axes[4], label="c_t")
    if title:
        fig.suptitle(title, fontsize=11)
    return fig


def gate_explorer(state_dict: Mapping, batch, units: Sequence[int] | None = None):
    """ipywidgets explorer: pick a sequence of ``batch`` (an :class:`~rnnlab.data.AddingBatch`)
    and see the trained LSTM's gates along it (live in Jupyter only; the book shows
    :func:`gate_heatmap_figure`)."""
    import ipywidgets as widgets
    import matplotlib.pyplot as plt
    from IPython.display import display

    n = batch.x.shape[1]
    out = widgets.Output()
    slider = widgets.IntSlider(value=0, min=0, max=n - 1, description="sequence")

    def draw(change=None):
        idx = slider.value
        x = batch.x[:, idx]
        trace = lstm_gate_trace(state_dict, x)
        with out:
            out.clear_output(wait=True)
            fig = gate_heatmap_figure(trace, x, units=units, markers=x[:, 1],
                                      title=f"sequence {idx}: target {float(batch.y[idx, 0]):.3f}")
            display(fig)
            plt.close(fig)

    slider.observe(draw, names="value")
    draw()
    return widgets.VBox([slider, out])


def lstm_cell_figure():
    """A diagram of one LSTM cell: the cell-state line along the top (multiply by f, add i*g),
    the four gates computed from [h_{t-1}, x_t], and h_t = o * tanh(c_t)."""

    fig, ax = new_figure(figsize=(8.0, 4.2))
    blank(ax)
    ax.set_xlim(-0.6, 9.9)
    ax.set_ylim(-0.9, 4.3)
    yc, yg = 3.4, 1.0
    # cell-state highway
    state_line(ax, yc, 2.8, 5.3, r"$c_{t-1}$", r"$c_t$")
    ax.text(3.35, yc + 0.35, "cell state: only $\\times f$ and $+\\, i\\odot g$", fontsize=8.5)
    # gates
    gates = [(2.8, "f", r"$\sigma$", "forget"), (4.4, "i", r"$\sigma$", "input"),
             (5.9, "g", r"$\tanh$", "candidate"), (7.4, "o", r"$\sigma$", "output")]
    for gx, name, fn, label in gates:
        box(ax, gx, yg, f"{fn}\n${name}_t$", COLORS["yellow"] if name != "g" else COLORS["green"],
             w=0.9, h=0.75, fontsize=10)
        ax.text(gx - 0.08, yg - 0.62, label, ha="right", fontsize=8.5)
    arrow(ax, (2.8, yg + 0.38), (2.8, yc - 0.25))
    box(ax, 5.15, 2.2, r"$\times$", COLORS["sky"], w=0.45, h=0.45)
    arrow(ax, (4.4, yg + 0.38), (4.95, 2.05))
    arrow(ax, (5.9, yg + 0.38), (5.35, 2.05))
    arrow(ax, (5.15, 2.43), (5.3, yc - 0.25))
    # output
    box(ax, 8.3, 2.5, r"$\tanh$", COLORS["green"], w=0.7, h=0.45, fontsize=9)
    arrow(ax, (8.3, yc), (8.3, 2.73))
    box(ax, 8.3, 1.0, r"$\times$", COLORS["sky"], w=0.45, h=0.45)
    arrow(ax, (8.3, 2.27), (8.3, 1.23))
    arrow(ax, (7.85, yg), (8.07, 1.0))
    arrow(ax, (8.53, 1.0), (9.3, 1.0), lw=2.0)
    ax.text(8.95, 1.15, r"$h_t$", fontsize=12)
    # inputs
    ax.plot([1.3, 7.4], [-0.25, -0.25], color=COLORS["black"], lw=1.4)
    for gx, *_ in gates:
        arrow(ax, (gx, -0.25), (gx, yg - 0.38))
    ax.text(-0.4, -0.35, r"$[h_{t-1}, x_t]$", fontsize=11)
    ax.set_title("One LSTM cell: four gates read $[h_{t-1}, x_t]$; the cell state is only scaled "
                 "and added to", fontsize=10)
    return fig
