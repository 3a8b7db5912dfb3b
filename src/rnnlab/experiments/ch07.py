r"""Models, timings and training runs of chapter 7 (recurrence without the loop).

Models (ordinary top-level ``torch.nn.Module`` classes; ``cell`` is one of :data:`CELLS`):

- :class:`SequenceRegressor`  a recurrent layer and a linear read-out of its last output
  (the adding problem; :class:`rnnlab.experiments.ch03.SequenceRegressor` is chapter 3's, on
  the tanh RNN, LSTM and GRU of :mod:`rnnlab.modules`);
- :class:`ParityClassifier`   a recurrent layer and a linear read-out at every step (parity);
- :class:`CharModel`          embedding, recurrent layers, linear read-out (the character model).

Experiments (the notebooks and ``benchmarks/claims/ch07.py`` call these same functions):

- :func:`lstm_times`      forward + backward time of ``torch.nn.LSTM`` and ``rnnlab.modules.LSTM``
  against the sequence length;
- :func:`scan_times`      the loop against the scans (numpy and torch) for growing T;
- :func:`closed_form_breaks` where the closed-form scan stops being finite;
- :func:`train_adding_cell`, :func:`train_parity`, :func:`parity_accuracy`,
  :func:`train_char_model`.

Timings are the fastest of several runs interleaved across the candidates, so that a burst of load
from other processes hits all of them alike and is then left out. The figures are in
:mod:`rnnlab.viz.ch07`.
"""
from __future__ import annotations

import math
import time
from typing import Callable, Mapping, NamedTuple, Sequence

import numpy as np
import torch

import rnnlab.modules as rm
from rnnlab.data import parity_stream, parity_task
from rnnlab.data import text as T
from rnnlab.experiments.ch03 import train_adding
from rnnlab.scratch import scan as S
from rnnlab.scratch.scan import scan_cumprod
from rnnlab.train import fit

__all__ = [
    "CELLS", "CELL_NAMES", "make_layer", "SequenceRegressor", "ParityClassifier", "CharModel",
    "count_parameters", "interleaved_times", "lstm_times", "scan_times", "ScanTimes",
    "SCAN_CANDIDATES", "closed_form_breaks", "train_adding_cell", "ParityResult", "train_parity",
    "parity_accuracy", "CharResult", "train_char_model",
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
    a = np.full(steps, a_value, dtype=dtype)
    h = scan_cumprod(a, np.ones(steps, dtype=dtype))
    bad = np.flatnonzero(~np.isfinite(h))
    return int(bad[0]) + 1 if bad.size else None


# ============================================================================ training
def train_adding_cell(cell: str, length: int, *, hidden_size: int = 32, steps: int = 2000,
                      seed: int = 0, name: str | None = None):
    """:func:`rnnlab.experiments.ch03.train_adding` (Adam 1e-2, batches of 64, clipping at 1, stop
    at a validation MSE of 0.01) for a :class:`SequenceRegressor` with ``cell``, built after
    ``torch.manual_seed(seed)``. Returns the :class:`rnnlab.experiments.ch03.AddingResult`."""
    torch.manual_seed(seed)
    model = SequenceRegressor(cell, 2, hidden_size)
    return train_adding(model, length, steps=steps, name=name or CELL_NAMES[cell], seed=seed)


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
