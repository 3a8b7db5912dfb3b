r"""Experiments, timings and figures of chapter 7 (recurrence without the loop).

Models (ordinary top-level ``torch.nn.Module`` classes; ``cell`` is one of :data:`CELLS`):

- :class:`SequenceRegressor`  a recurrent layer and a linear read-out of its last output
  (the adding problem);
- :class:`ParityClassifier`   a recurrent layer and a linear read-out at every step (parity);
- :class:`CharModel`          embedding, recurrent layers, linear read-out (the character model).

Experiments (the notebooks and ``benchmarks/claims/ch07.py`` call these same functions):

- :func:`lstm_times`      forward + backward time of ``torch.nn.LSTM`` and ``rnnlab.modules.LSTM``
  against the sequence length;
- :func:`scan_times`      the loop against the scans (numpy and torch) for growing T;
- :func:`train_adding_cell`, :func:`train_parity`, :func:`parity_accuracy`,
  :func:`train_char_model`.

Figures (each returns the ``Figure``): :func:`lstm_time_figure`, :func:`scan_diagram_figure`,
:func:`scan_time_figure`, :func:`fading_figure`, :func:`parity_figure`, :func:`char_figure`.

Timings are the fastest of several runs interleaved across the candidates, so that a burst of load
from other processes hits all of them alike and is then left out.
"""
from __future__ import annotations

import math
import time
from typing import Callable, Mapping, NamedTuple, Sequence

import numpy as np
import torch

from rnnlab.viz.style import COLORS, new_figure

__all__ = [
    "CELLS", "CELL_NAMES", "make_layer", "SequenceRegressor", "ParityClassifier", "CharModel",
    "count_parameters", "interleaved_times", "lstm_times", "scan_times", "ScanTimes",
    "train_adding_cell", "ParityResult", "train_parity", "parity_accuracy", "CharResult",
    "train_char_model", "closed_form_breaks", "lstm_time_figure", "scan_diagram_figure",
    "scan_time_figure", "fading_figure", "parity_figure", "char_figure",
]

#: The recurrent layers the experiments compare. ``lstm`` and ``gru`` are ``torch.nn``'s layers
#: (fused loops; ``rnnlab.modules.LSTM``/``GRU`` compute the same function), the others
#: ``rnnlab.modules.MinGRU``/``MinLSTM`` in scan mode; ``mingru-neg`` is the minGRU whose
#: coefficient lies in (-1, 1).
CELLS = ("lstm", "gru", "mingru", "minlstm", "mingru-neg")
CELL_NAMES = {"lstm": "LSTM", "gru": "GRU", "mingru": "minGRU", "minlstm": "minLSTM",
              "mingru-neg": "minGRU, a in (-1, 1)"}


def make_layer(cell: str, input_size: int, hidden_size: int, num_layers: int = 1):
    """A recurrent layer of kind ``cell`` (see :data:`CELLS`), time-major, returning
    ``(output, state)`` like ``torch.nn.GRU``."""
    import rnnlab.modules as rm

    if cell == "lstm":
        return torch.nn.LSTM(input_size, hidden_size, num_layers)
    if cell == "gru":
        return torch.nn.GRU(input_size, hidden_size, num_layers)
    if cell == "mingru":
        return rm.MinGRU(input_size, hidden_size, num_layers)
    if cell == "mingru-neg":
        return rm.MinGRU(input_size, hidden_size, num_layers, negative=True)
    if cell == "minlstm":
        return rm.MinLSTM(input_size, hidden_size, num_layers)
    raise ValueError(f"cell must be one of {CELLS}, got {cell!r}")


def count_parameters(module) -> int:
    """Number of trainable numbers in ``module``."""
    return sum(p.numel() for p in module.parameters() if p.requires_grad)


class SequenceRegressor(torch.nn.Module):
    """``(T, N, I) -> (N, 1)``: a recurrent layer, then a linear read-out of its last output."""

    def __init__(self, cell: str, input_size: int, hidden_size: int, num_layers: int = 1):
        super().__init__()
        self.cell = cell
        self.rnn = make_layer(cell, input_size, hidden_size, num_layers)
        self.out = torch.nn.Linear(hidden_size, 1)

    def forward(self, x):
        output, _ = self.rnn(x)
        return self.out(output[-1])


class ParityClassifier(torch.nn.Module):
    """``(T, N, 1) -> (T, N)``: a recurrent layer and a linear read-out at every step; the output
    is the logit of "the parity so far is odd"."""

    def __init__(self, cell: str, hidden_size: int):
        super().__init__()
        self.cell = cell
        self.rnn = make_layer(cell, 1, hidden_size)
        self.out = torch.nn.Linear(hidden_size, 1)

    def forward(self, x):
        output, _ = self.rnn(x)
        return self.out(output)[..., 0]


class CharModel(torch.nn.Module):
    """Chapter 6c's character model with any layer of :data:`CELLS`: an embedding of each
    character, ``num_layers`` recurrent layers, a linear layer back to the vocabulary.
    ``forward(x, state)`` maps ids ``(L, N)`` to scores ``(L, N, V)`` and the new state."""

    def __init__(self, cell: str, vocab_size: int, hidden_size: int, num_layers: int = 1,
                 embedding_size: int = 64):
        super().__init__()
        self.cell = cell
        self.embed = torch.nn.Embedding(vocab_size, embedding_size)
        self.rnn = make_layer(cell, embedding_size, hidden_size, num_layers)
        self.head = torch.nn.Linear(hidden_size, vocab_size)

    def forward(self, x, state=None):
        output, state = self.rnn(self.embed(x), state)
        return self.head(output), state


# ============================================================================ timing
def interleaved_times(candidates: Mapping[str, Callable[[], object]], repeats: int = 5,
                      warmup: int = 1) -> dict[str, float]:
    """Seconds of each zero-argument callable: the fastest of ``repeats`` runs made in rounds
    (one call of each per round) after ``warmup`` rounds. Load from other processes can only add
    time, so the fastest run is the best estimate of the cost itself."""
    runs: dict[str, list[float]] = {name: [] for name in candidates}
    for k in range(warmup + repeats):
        for name, fn in candidates.items():
            t0 = time.perf_counter()
            fn()
            dt = time.perf_counter() - t0
            if k >= warmup:
                runs[name].append(dt)
    return {name: float(np.min(v)) for name, v in runs.items()}


def _forward_backward(module, x):
    def run():
        module.zero_grad(set_to_none=True)
        out, _ = module(x)
        out.sum().backward()
    return run


def lstm_times(lengths: Sequence[int] = (32, 64, 128, 256, 512), *, batch_size: int = 16,
               input_size: int = 32, hidden_size: int = 64, repeats: int = 5
               ) -> dict[str, np.ndarray]:
    """Forward + backward seconds (fastest of ``repeats``) of ``torch.nn.LSTM`` and
    ``rnnlab.modules.LSTM`` (float32, one layer) for each sequence length in ``lengths``.
    Returns ``{name: array of seconds, one per length}``."""
    import rnnlab.modules as rm

    torch.manual_seed(0)
    layers = {"torch.nn.LSTM": torch.nn.LSTM(input_size, hidden_size),
              "rnnlab.modules.LSTM": rm.LSTM(input_size, hidden_size)}
    out: dict[str, list[float]] = {name: [] for name in layers}
    for T in lengths:
        x = torch.randn(T, batch_size, input_size)
        times = interleaved_times({n: _forward_backward(m, x) for n, m in layers.items()}, repeats)
        for name, t in times.items():
            out[name].append(t)
    return {name: np.array(v) for name, v in out.items()}


class ScanTimes(NamedTuple):
    """Seconds (fastest of the repeats) of each method for each length, at one width."""

    lengths: tuple
    width: int
    seconds: dict  # method -> array, one entry per length


SCAN_CANDIDATES = ("numpy loop", "numpy Hillis-Steele", "numpy Blelloch", "torch loop",
                   "torch scan")


def scan_times(lengths: Sequence[int] = (64, 256, 1024, 4096), width: int = 8,
               repeats: int = 3) -> ScanTimes:
    """Forward time of :math:`h_t = a_t h_{t-1} + b_t` for ``T`` steps of ``width`` independent
    numbers (``width`` = batch x hidden size): the numpy loop and Hillis-Steele and Blelloch scans
    (float64, :mod:`rnnlab.scratch.scan`), the torch loop and the torch scan (float32,
    :mod:`rnnlab.modules.scan`, no gradient)."""
    import rnnlab.modules as rm
    from rnnlab.scratch import scan as S

    rng = np.random.default_rng(0)
    seconds: dict[str, list[float]] = {name: [] for name in SCAN_CANDIDATES}
    for T in lengths:
        a, b = rng.uniform(0.5, 1.0, (T, width)), rng.standard_normal((T, width))
        at, bt = torch.from_numpy(a).float(), torch.from_numpy(b).float()

        def torch_run(mode):
            def run():
                with torch.no_grad():
                    rm.linear_scan(at, bt, mode=mode)
            return run

        times = interleaved_times({
            "numpy loop": lambda: S.scan_sequential(a, b),
            "numpy Hillis-Steele": lambda: S.scan_hillis_steele(a, b),
            "numpy Blelloch": lambda: S.scan_blelloch(a, b),
            "torch loop": torch_run("loop"),
            "torch scan": torch_run("scan"),
        }, repeats)
        for name, t in times.items():
            seconds[name].append(t)
    return ScanTimes(tuple(lengths), int(width), {k: np.array(v) for k, v in seconds.items()})


def closed_form_breaks(a_value: float, dtype=np.float64, steps: int = 5000) -> int | None:
    """First step ``t`` (1-based) at which :func:`rnnlab.scratch.scan.scan_cumprod` on
    ``a_t = a_value``, ``b_t = 1`` stops being finite, or None if it never does in ``steps``."""
    from rnnlab.scratch.scan import scan_cumprod

    a = np.full(steps, a_value, dtype=dtype)
    h = scan_cumprod(a, np.ones(steps, dtype=dtype))
    bad = np.flatnonzero(~np.isfinite(h))
    return int(bad[0]) + 1 if bad.size else None


# ============================================================================ training
def train_adding_cell(cell: str, length: int, *, hidden_size: int = 32, steps: int = 2000,
                      seed: int = 0, name: str | None = None):
    """:func:`rnnlab.viz.ch03.train_adding` (Adam 1e-2, batches of 64, clipping at 1, stop at a
    validation MSE of 0.01) for a :class:`SequenceRegressor` with ``cell``, built after
    ``torch.manual_seed(seed)``. Returns the :class:`rnnlab.viz.ch03.AddingResult`."""
    from rnnlab.viz import ch03

    torch.manual_seed(seed)
    model = SequenceRegressor(cell, 2, hidden_size)
    return ch03.train_adding(model, length, steps=steps, name=name or CELL_NAMES[cell], seed=seed)


class ParityResult(NamedTuple):
    """One model trained on the parity task."""

    name: str
    model: object
    history: object
    seconds: float


def train_parity(cell: str, *, hidden_size: int = 16, length: int = 32, steps: int = 600,
                 batch_size: int = 64, lr: float = 1e-2, seed: int = 0) -> ParityResult:
    """Train a :class:`ParityClassifier` on streams of ``length`` bits (binary cross-entropy at
    every step, Adam, clipping at 1, fresh batches from ``parity_stream(batch_size, length,
    rng=seed)``), the model built after ``torch.manual_seed(seed)``."""
    from rnnlab.data import parity_stream
    from rnnlab.train import fit

    torch.manual_seed(seed)
    model = ParityClassifier(cell, hidden_size)
    bce = torch.nn.functional.binary_cross_entropy_with_logits
    hist = fit(model, lambda m, b: bce(m(b.x), b.y.float()), parity_stream(batch_size, length, rng=seed),
               steps=steps, lr=lr, clip=1.0, eval_every=steps, progress=False)
    return ParityResult(CELL_NAMES[cell], model, hist, hist.wall_time)


def parity_accuracy(model, lengths: Sequence[int], n: int = 500, seed: int = 10_000
                    ) -> dict[int, float]:
    """Fraction of ``n`` fresh streams of each length whose parity at the *last* step the model
    gets right (chance: 0.5)."""
    from rnnlab.data import parity_task

    out = {}
    with torch.no_grad():
        for k, L in enumerate(lengths):
            batch = parity_task(n, L, rng=seed + k)
            logits = model(torch.from_numpy(batch.x))
            out[int(L)] = float(((logits[-1] > 0).long().numpy() == batch.y[-1]).mean())
    return out


class CharResult(NamedTuple):
    """One character model trained on the standard-library corpus."""

    name: str
    parameters: int
    history: object
    bpc: float
    seconds: float


def _detach(state):
    if state is None:
        return None
    if isinstance(state, tuple):
        return tuple(s.detach() for s in state)
    return state.detach()


def train_char_model(cell: str, hidden_size: int, num_layers: int = 1, *, steps: int = 400,
                     seed: int = 0, lr: float = 0.015, warmup: int = 50, seq_len: int = 64,
                     batch_size: int = 32, val_chars: int = 40_000, eval_every: int = 100,
                     corpus=None) -> CharResult:
    """Chapter 6c's recipe for any layer of :data:`CELLS`: truncated BPTT over windows of
    ``seq_len`` characters of ``batch_size`` streams, the state carried between windows and
    detached; Adam with a linear warm-up over ``warmup`` steps and a linear decay to zero at
    ``steps``; clipping at 1. Validation: bits per character on the first ``val_chars``
    characters of the held-out text, every ``eval_every`` steps (history key ``val_bpc``)."""
    from rnnlab.data import text as T
    from rnnlab.train import fit

    corpus = corpus if corpus is not None else T.load_stdlib_corpus()
    vocab = T.CharVocab()
    streams = T.batchify(vocab.encode(corpus.train), batch_size)
    val = torch.from_numpy(T.batchify(vocab.encode(corpus.val[:val_chars]), batch_size))
    torch.manual_seed(seed)
    model = CharModel(cell, vocab.size, hidden_size, num_layers)
    carried = [None]
    xent = torch.nn.functional.cross_entropy

    def loss_fn(m, batch):
        x, y, reset = batch
        scores, carried[0] = m(x, None if reset else _detach(carried[0]))
        return xent(scores.reshape(-1, scores.shape[-1]), y.reshape(-1))

    def held_out(m):
        total, count, state = 0.0, 0, None
        for start in range(0, val.shape[0] - 1, 256):
            x, y = val[start:start + 256], val[start + 1:start + 257]
            scores, state = m(x[: len(y)], state)
            total += xent(scores.reshape(-1, scores.shape[-1]), y.reshape(-1), reduction="sum").item()
            count += y.numel()
        return {"val_bpc": total / count / math.log(2)}

    opt = torch.optim.Adam(model.parameters(), lr=lr)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda k: min(1.0, (k + 1) / warmup) * max(0.0, 1 - k / steps))
    hist = fit(model, loss_fn, T.bptt_epochs(streams, seq_len, epochs=10, seed=seed), steps=steps,
               optimizer=opt, scheduler=sched, clip=1.0, eval_fn=held_out, eval_every=eval_every,
               progress=False)
    return CharResult(CELL_NAMES[cell], count_parameters(model), hist, hist.final("val_bpc"),
                      hist.wall_time)


# ============================================================================ figures
_STYLE = {
    "torch.nn.LSTM": (COLORS["orange"], "-", "o"),
    "rnnlab.modules.LSTM": (COLORS["blue"], "--", "s"),
    "numpy loop": (COLORS["black"], "-", "o"),
    "numpy Hillis-Steele": (COLORS["orange"], "--", "s"),
    "numpy Blelloch": (COLORS["green"], "-.", "^"),
    "torch loop": (COLORS["grey"], ":", "D"),
    "torch scan": (COLORS["red"], (0, (5, 1)), "v"),
    "LSTM": (COLORS["orange"], "-", "o"),
    "GRU": (COLORS["blue"], "--", "s"),
    "minGRU": (COLORS["green"], "-.", "^"),
    "minLSTM": (COLORS["purple"], ":", "D"),
    "minGRU, a in (-1, 1)": (COLORS["red"], (0, (5, 1)), "v"),
}


def _plot(ax, name, x, y, **kw):
    color, ls, marker = _STYLE.get(name, (COLORS["black"], "-", "o"))
    ax.plot(x, y, color=color, ls=ls, marker=marker, markersize=4, label=name, **kw)


def lstm_time_figure(lengths: Sequence[int], times: Mapping[str, np.ndarray]):
    """Forward + backward time against T on log-log axes, with a slope-one guide (time
    proportional to T)."""
    fig, ax = new_figure(figsize=(6.4, 3.8))
    lengths = np.asarray(lengths, dtype=float)
    for name, t in times.items():
        _plot(ax, name, lengths, 1000 * np.asarray(t))
    first = min(float(np.asarray(t)[0]) for t in times.values())
    ax.plot(lengths, 1000 * first * lengths / lengths[0], color=COLORS["grey"], lw=1, ls=":",
            label="time proportional to T")
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    ax.set_xlabel("sequence length T (steps)")
    ax.set_ylabel("forward + backward time (ms)")
    ax.set_title("An LSTM's time grows in proportion to T: one step after the other")
    ax.legend(fontsize=8)
    return fig


def _hillis_steele_levels(T: int):
    d, levels = 1, []
    while d < T:
        levels.append([(t - d, t) for t in range(d, T)])
        d *= 2
    return levels


def _blelloch_levels(T: int):
    up, down, d = [], [], 1
    while d < T:
        up.append([(i - d, i) for i in range(2 * d - 1, T, 2 * d)])
        d *= 2
    d = T // 2
    while d >= 1:
        down.append([(i - d, i) for i in range(2 * d - 1, T, 2 * d)])
        d //= 2
    return up, down


def scan_diagram_figure(T: int = 8):
    """Which positions combine at each parallel step, for ``T`` (a power of two) positions:
    Hillis-Steele (left: every position at once, distance 1, 2, 4, ...) and Blelloch's
    up-sweep and down-sweep (right: a tree, half as many combines per level)."""
    if T < 2 or T & (T - 1):
        raise ValueError(f"T must be a power of two >= 2, got {T}")
    fig, axes = new_figure(1, 2, figsize=(10.0, 4.2))
    panels = [("Hillis-Steele: log2 T steps, about T log2 T combines",
               [("step", lv) for lv in _hillis_steele_levels(T)])]
    up, down = _blelloch_levels(T)
    panels.append(("Blelloch: up-sweep, then down-sweep, 2(T-1) combines",
                   [("up", lv) for lv in up] + [("down", lv) for lv in down]))
    for ax, (title, levels) in zip(axes, panels):
        n = len(levels)
        for row in range(n + 1):
            y = n - row
            ax.scatter(range(T), [y] * T, s=60, color="white", edgecolor=COLORS["black"], zorder=3)
        for row, (kind, pairs) in enumerate(levels):
            y0, y1 = n - row, n - row - 1
            color = COLORS["orange"] if kind in ("step", "up") else COLORS["blue"]
            for src, dst in pairs:
                ax.annotate("", xy=(dst, y1), xytext=(src, y0),
                            arrowprops=dict(arrowstyle="-|>", color=color, lw=1.2,
                                            shrinkA=5, shrinkB=5))
                if kind == "down":  # the down-sweep also moves the prefix to the left child
                    ax.annotate("", xy=(src, y1), xytext=(dst, y0),
                                arrowprops=dict(arrowstyle="-|>", color=COLORS["sky"], lw=1.0,
                                                ls="--", shrinkA=5, shrinkB=5))
            for t in range(T):  # positions not touched keep their value
                if t not in {d for _, d in pairs} and not (kind == "down" and t in {s for s, _ in pairs}):
                    ax.plot([t, t], [y0 - 0.12, y1 + 0.12], color=COLORS["grey"], lw=0.6, ls=":")
            ax.text(-0.7, (y0 + y1) / 2, kind if kind != "step" else f"d = {2 ** row}",
                    ha="right", va="center", fontsize=8)
        ax.spines["left"].set_visible(False)
        ax.set_xticks(range(T))
        ax.set_xticklabels([f"{t + 1}" for t in range(T)])
        ax.set_xlabel("position t")
        ax.set_yticks([])
        ax.set_xlim(-1.9, T - 0.5)
        ax.set_ylim(-0.5, n + 0.5)
        ax.grid(False)
        ax.set_title(title, fontsize=9.5)
    return fig


def scan_time_figure(results: Sequence[ScanTimes]):
    """One panel per width: seconds against T (log-log) for every method of :func:`scan_times`."""
    fig, axes = new_figure(1, len(results), figsize=(5.2 * len(results), 4.0), squeeze=False)
    for ax, res in zip(axes[0], results):
        for name, secs in res.seconds.items():
            _plot(ax, name, res.lengths, 1000 * secs)
        ax.set_xscale("log", base=2)
        ax.set_yscale("log")
        ax.set_xlabel("sequence length T (steps)")
        ax.set_ylabel("forward time (ms)")
        ax.set_title(f"{res.width} numbers per step")
    axes[0][0].legend(fontsize=8)
    return fig


def fading_figure(a_one: float = 0.8, b_one: float = 1.0, steps: int = 24):
    """The state of one positive-coefficient unit fed only ones, ``h_k = a h_{k-1} + b``, next to
    the sign-flipping unit ``a = -1``: the first settles to a fixed point, so even and odd
    counts become indistinguishable; the second alternates for ever."""
    k = np.arange(steps + 1)
    h_pos = b_one * (1 - a_one ** k) / (1 - a_one)
    h_neg = (-1.0) ** k
    fig, ax = new_figure(figsize=(6.4, 3.4))
    ax.plot(k, h_pos, color=COLORS["green"], marker="^", ls="-.",
            label=f"a = {a_one:g}, b = {b_one:g}: settles at b / (1 - a) = {b_one / (1 - a_one):g}")
    ax.plot(k, h_neg, color=COLORS["red"], marker="v", ls="--", label="a = -1, b = 0, h0 = 1")
    ax.set_xlabel("number of ones read so far")
    ax.set_ylabel("state h")
    ax.set_title("With 0 < a < 1 the state forgets whether the count is even; a = -1 does not")
    ax.legend(fontsize=8)
    return fig


def parity_figure(accuracies: Mapping[str, Mapping[int, float]], train_length: int):
    """Final-step parity accuracy against the stream length, one line per model, with the
    training length and chance (0.5) marked."""
    fig, ax = new_figure(figsize=(6.8, 3.8))
    for name, acc in accuracies.items():
        _plot(ax, name, list(acc), [100 * v for v in acc.values()])
    ax.axhline(50, color=COLORS["grey"], ls="--", lw=1, label="chance")
    ax.axvline(train_length, color=COLORS["black"], ls=":", lw=1, label="training length")
    ax.set_xscale("log", base=2)
    ax.set_ylim(30, 105)
    ax.set_xlabel("stream length (bits)")
    ax.set_ylabel("parity at the last bit, accuracy (%)")
    ax.set_title("Parity beyond the training length")
    ax.legend(fontsize=8, loc="lower left")
    return fig


def char_figure(results: Sequence[CharResult], reference: Mapping[str, float] | None = None):
    """Held-out bits per character against the optimizer step (left) and against the training
    time of this run (right)."""
    fig, axes = new_figure(1, 2, figsize=(10.0, 3.8), sharey=True)
    for r in results:
        steps, bpc = r.history.metric("val_bpc")
        secs = [e["time"] for e in r.history.evals if "val_bpc" in e]
        _plot(axes[0], r.name, steps, bpc)
        _plot(axes[1], r.name, secs, bpc)
    for ax in axes:
        for label, value in (reference or {}).items():
            ax.axhline(value, color=COLORS["grey"], ls="--", lw=1)
            ax.text(ax.get_xlim()[1], value, f" {label}", va="bottom", ha="right", fontsize=8,
                    color=COLORS["grey"])
    axes[0].set_xlabel("optimizer step (64 x 32 characters each)")
    axes[1].set_xlabel("training time in this run (s)")
    axes[0].set_ylabel("held-out bits per character")
    axes[0].legend(fontsize=8)
    axes[0].set_title("Per step")
    axes[1].set_title("Per second of this CPU")
    return fig
