"""Seeded, vectorised generators for the two classic long-range tasks.

**Adding problem** (Hochreiter & Schmidhuber 1997, in the form of Le et al. 2015): each step
carries two numbers, a *value* drawn uniformly from [0, 1] and a *marker* that is 1 at exactly two
steps and 0 elsewhere. The target is the sum of the two marked values. One marker falls in the
first half of the sequence and one in the second, so the model must carry the first value across
at least ``length // 2`` steps on average. Predicting the mean of the target, 1.0, whatever the
input scores ``MSE = Var(U1 + U2) = 2/12 ≈ 0.167`` (:data:`ADDING_BASELINE_MSE`): a model that
stays there has learned nothing about the sequence.

**Copy task** (Hochreiter & Schmidhuber 1997; Arjovsky et al. 2016): ``copy_length`` symbols from
an alphabet of ``n_symbols``, then ``delay`` blanks, then a delimiter; after the delimiter the
model must reproduce the symbols in order. Symbols are ``0 .. n_symbols-1``, the blank is
``n_symbols`` and the delimiter ``n_symbols + 1``. A model that outputs blanks everywhere and
guesses uniformly during the recall phase scores :func:`copy_baseline_ce`.

Shapes follow ``torch.nn.RNN``: ``(seq_len, batch, features)``, or ``(batch, seq_len, features)``
with ``batch_first=True``.

Randomness: every generator takes ``rng``: a ``numpy.random.Generator``, an int seed, or ``None``
(a seed is then drawn from numpy's global generator, which :func:`rnnlab.setup` seeds, so notebooks
stay reproducible). :func:`adding_stream` returns a zero-argument callable producing fresh
batches, the form :func:`rnnlab.train.fit` accepts as ``data``.
"""
from __future__ import annotations

import math
from typing import Callable, NamedTuple

import numpy as np

from rnnlab._args import check_int

__all__ = [
    "ADDING_BASELINE_MSE",
    "AddingBatch",
    "CopyBatch",
    "adding_problem",
    "adding_stream",
    "copy_task",
    "copy_baseline_ce",
    "as_rng",
    "CARRY_BIT_NOISE",
    "carry_bit_inputs",
    "run_carry_bit",
    "carry_bit_batch",
    "delayed_recall",
    "spike_timing_batch",
]

#: MSE of always predicting 1.0 on the adding problem: Var(U1 + U2) = 2 * (1/12) = 1/6.
ADDING_BASELINE_MSE = 1.0 / 6.0


class AddingBatch(NamedTuple):
    """One batch of the adding problem.

    x : float array ``(T, N, 2)`` (``(N, T, 2)`` if batch_first); channel 0 the values in [0, 1),
        channel 1 the markers (exactly two ones per sequence).
    y : float array ``(N, 1)``, the sum of the two marked values.
    positions : int64 array ``(N, 2)``, the marked steps (first < length // 2 <= second).
    """

    x: np.ndarray
    y: np.ndarray
    positions: np.ndarray


class CopyBatch(NamedTuple):
    """One batch of the copy task.

    x : int64 array ``(T_total, N)`` of tokens (or float one-hot ``(T_total, N, n_symbols + 2)``).
    y : int64 array ``(T_total, N)``: the blank everywhere except the last ``copy_length`` steps,
        which hold the symbols to recall.
    """

    x: np.ndarray
    y: np.ndarray


def as_rng(rng: np.random.Generator | int | None) -> np.random.Generator:
    """A ``numpy.random.Generator`` from a Generator, an int seed, or ``None`` (seeded from
    numpy's global generator, which ``rnnlab.setup()`` seeds)."""
    if isinstance(rng, np.random.Generator):
        return rng
    if rng is None:
        return np.random.default_rng(int(np.random.randint(0, 2**31 - 1)))
    if isinstance(rng, (int, np.integer)) and not isinstance(rng, bool):
        if rng < 0:
            raise ValueError(f"rng seed must be a non-negative int, got {rng}")
        return np.random.default_rng(int(rng))
    raise TypeError(f"rng must be a numpy.random.Generator, an int seed or None, got {type(rng).__name__}")


# --------------------------------------------------------------------------------------------
# adding problem
# --------------------------------------------------------------------------------------------
def adding_problem(n: int, length: int, *, rng=None, dtype=np.float32,
                   batch_first: bool = False) -> AddingBatch:
    """Draw ``n`` sequences of the adding problem of ``length`` steps.

    Parameters
    ----------
    n : batch size N.
    length : sequence length T (>= 2).
    rng : Generator, int seed or None (see module docstring).
    dtype : float dtype of ``x`` and ``y``.
    batch_first : return ``x`` as ``(N, T, 2)`` instead of ``(T, N, 2)``.

    Returns
    -------
    AddingBatch(x, y, positions)

    Examples
    --------
    >>> b = adding_problem(4, 10, rng=0)
    >>> b.x.shape, b.y.shape, b.positions.shape
    ((10, 4, 2), (4, 1), (4, 2))
    >>> bool((b.x[:, :, 1].sum(0) == 2).all())
    True
    """
    n = check_int("n", n, 1)
    length = check_int("length", length, 2)
    if not np.issubdtype(np.dtype(dtype), np.floating):
        raise TypeError(f"dtype must be a floating dtype, got {np.dtype(dtype)}")
    g = as_rng(rng)
    half = length // 2
    values = g.random((length, n))
    first = g.integers(0, half, size=n)
    second = g.integers(half, length, size=n)
    cols = np.arange(n)
    markers = np.zeros((length, n))
    markers[first, cols] = 1.0
    markers[second, cols] = 1.0
    x = np.stack([values, markers], axis=-1).astype(dtype)
    y = (values[first, cols] + values[second, cols]).reshape(n, 1).astype(dtype)
    if batch_first:
        x = np.ascontiguousarray(x.transpose(1, 0, 2))
    return AddingBatch(x, y, np.stack([first, second], axis=1).astype(np.int64))


def adding_stream(batch_size: int, length: int, *, rng=None, dtype=np.float32,
                  batch_first: bool = False) -> Callable[[], AddingBatch]:
    """A zero-argument callable returning a fresh adding-problem batch on every call.

    All batches come from one generator, so a stream built with the same seed yields the same
    sequence of batches. Pass it to :func:`rnnlab.train.fit` as ``data``.
    """
    batch_size = check_int("batch_size", batch_size, 1)
    length = check_int("length", length, 2)
    g = as_rng(rng)

    def next_batch() -> AddingBatch:
        return adding_problem(batch_size, length, rng=g, dtype=dtype, batch_first=batch_first)

    return next_batch


# --------------------------------------------------------------------------------------------
# copy task
# --------------------------------------------------------------------------------------------
def copy_task(n: int, delay: int, *, n_symbols: int = 8, copy_length: int = 10, rng=None,
              one_hot: bool = False, dtype=np.float32, batch_first: bool = False) -> CopyBatch:
    """Draw ``n`` copy-task sequences.

    Layout of one input sequence (``T_total = 2 * copy_length + delay`` steps)::

        s_1 .. s_L | blank x (delay - 1) | delimiter | blank x L
        target:      blank x (L + delay)            | s_1 .. s_L

    Parameters
    ----------
    n : batch size N.
    delay : steps between the end of the symbols and the end of the delimiter (>= 1).
    n_symbols : alphabet size K (>= 1); tokens ``0..K-1``, blank ``K``, delimiter ``K+1``.
    copy_length : number of symbols L to remember (>= 1).
    one_hot : return ``x`` as float one-hot ``(T_total, N, K + 2)`` instead of int64 tokens.

    Examples
    --------
    >>> b = copy_task(2, delay=5, n_symbols=4, copy_length=3, rng=0)
    >>> b.x.shape, b.y.shape
    ((11, 2), (11, 2))
    >>> bool((b.y[-3:] == b.x[:3]).all())
    True
    """
    n = check_int("n", n, 1)
    delay = check_int("delay", delay, 1)
    k = check_int("n_symbols", n_symbols, 1)
    L = check_int("copy_length", copy_length, 1)
    g = as_rng(rng)
    blank, delim = k, k + 1
    total = 2 * L + delay
    symbols = g.integers(0, k, size=(L, n))
    x = np.full((total, n), blank, dtype=np.int64)
    x[:L] = symbols
    x[L + delay - 1] = delim
    y = np.full((total, n), blank, dtype=np.int64)
    y[-L:] = symbols
    if one_hot:
        x = np.eye(k + 2, dtype=dtype)[x]
    if batch_first:
        x = np.ascontiguousarray(np.swapaxes(x, 0, 1))
        y = np.ascontiguousarray(y.T)
    return CopyBatch(x, y)


def copy_baseline_ce(delay: int, n_symbols: int = 8, copy_length: int = 10) -> float:
    """Mean cross-entropy per step (nats) of the memoryless strategy: predict the blank with
    certainty until the recall phase, then a uniform guess over the ``n_symbols`` symbols.

    ``copy_length * log(n_symbols) / (2 * copy_length + delay)`` (Arjovsky et al. 2016).
    """
    delay = check_int("delay", delay, 1)
    n_symbols = check_int("n_symbols", n_symbols, 1)
    copy_length = check_int("copy_length", copy_length, 1)
    return copy_length * math.log(n_symbols) / (2 * copy_length + delay)


# ----------------------------------------------------------------------------- chapter 1's carry bit

CARRY_BIT_NOISE = 0.5
CARRY_BIT_TRIALS = 256


def carry_bit_inputs(steps, n=CARRY_BIT_TRIALS, seed=None):
    """Chapter 1's carry-bit task (carry the sign of the first input across `steps` steps of noise
    in [-CARRY_BIT_NOISE, CARRY_BIT_NOISE]).

    Returns ``bits`` (n,) of +-1 and the inputs ``x`` (steps, n, 1), with ``x[0] = bits``.
    """
    rng = np.random.default_rng(seed if seed is not None else 20_000 + int(steps))
    bits = np.where(rng.random(n) < 0.5, -1.0, 1.0)
    bits[:2] = (1.0, -1.0)  # both values always appear
    x = rng.uniform(-CARRY_BIT_NOISE, CARRY_BIT_NOISE, size=(steps, n, 1))
    x[0, :, 0] = bits
    return bits, x


def run_carry_bit(weights, x):
    """Run hand-set weights (chapter 1's `carry_bit_weights` exercise: keys weight_ih, weight_hh,
    bias, weight_out) as a tanh RNN on ``x`` (T, n, 1) from ``h_0 = 0``.

    Returns the read-outs ``weight_out @ h_T`` (n,) and the states ``h`` (T, n, H)."""
    W_ih, W_hh = weights["weight_ih"], weights["weight_hh"]
    b, W_out = weights["bias"], weights["weight_out"]
    h = np.zeros((x.shape[1], W_hh.shape[0]))
    states = []
    for x_t in x:
        h = np.tanh(x_t @ W_ih.T + h @ W_hh.T + b)
        states.append(h)
    return (h @ W_out.T)[:, 0], np.stack(states)


def carry_bit_batch(rng: np.random.Generator, steps: int, batch: int, noise: float = 0.5):
    """The carry-bit task: ``x_1`` is the bit (+-1), ``x_2..x_T`` uniform noise in
    ``[-noise, noise]``.  Returns ``x`` (steps, batch, 1) and ``bits`` (batch,), numpy float64."""
    bits = np.where(rng.random(batch) < 0.5, -1.0, 1.0)
    x = rng.uniform(-noise, noise, size=(steps, batch, 1))
    x[0, :, 0] = bits
    return x, bits


# ----------------------------------------------------------------------------- chapter 2's delayed recall
def delayed_recall(rng: np.random.Generator, steps: int, batch: int, classes: int, delay: int):
    """The delayed-recall task: at step t the target is the symbol read at step ``t - delay``.

    Returns ``x`` (steps, batch, classes), one-hot, and ``y`` (steps, batch) integer targets.
    For ``t < delay`` the target is a symbol the network never saw (chance level there), so the
    best possible mean loss per step is ``delay / steps * log(classes)``.
    """
    s = rng.integers(0, classes, size=(steps + delay, batch))
    x = np.eye(classes)[s[delay:]]
    return x, s[:steps]


# ----------------------------------------------------------------------------- chapter 3's timing task
def spike_timing_batch(n: int, length: int, delay: int, rng) -> tuple[np.ndarray, np.ndarray]:
    """The timing task of the peephole experiment (after Gers & Schmidhuber 2000's timing tasks).

    One input spike at a random step in the first ``length - delay`` steps; the target is 1
    exactly ``delay`` steps after the spike and 0 elsewhere. Returns ``x`` ``(T, N, 1)`` and
    ``y`` ``(T, N, 1)`` (float32). Solving it means counting ``delay`` steps precisely.
    """
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
