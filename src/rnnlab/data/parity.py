"""The parity of a bit stream: the simplest task that needs a state to be *tracked*.

Each step carries one bit :math:`x_t \\in \\{0, 1\\}`; the target at every step is the parity of the
bits so far, :math:`y_t = (x_1 + \\dots + x_t) \\bmod 2`. A recurrent network solves it by flipping
one bit of memory whenever a 1 arrives, at any length. Predicting without memory scores 50 %: the
running parity of random bits is a fair coin at every step.

Shapes follow ``torch.nn.RNN``: ``x`` is ``(T, N, 1)`` float, ``y`` is ``(T, N)`` int64 (or
``(N, T, 1)`` and ``(N, T)`` with ``batch_first``). Randomness as in :mod:`rnnlab.data.synthetic`.
"""
from __future__ import annotations

from typing import Callable, NamedTuple

import numpy as np

from rnnlab._args import check_int
from rnnlab.data.synthetic import as_rng

__all__ = ["ParityBatch", "parity_task", "parity_stream"]


class ParityBatch(NamedTuple):
    """One batch of the parity task.

    x : float array ``(T, N, 1)``: the bits.
    y : int64 array ``(T, N)``: the running parity, ``y[t] = x[:t+1].sum(0) % 2``.
    """

    x: np.ndarray
    y: np.ndarray


def parity_task(n: int, length: int, *, rng=None, dtype=np.float32,
                batch_first: bool = False) -> ParityBatch:
    """Draw ``n`` random bit streams of ``length`` steps (fair coin flips) and their running parity.

    >>> b = parity_task(2, 5, rng=0)
    >>> b.x.shape, b.y.shape
    ((5, 2, 1), (5, 2))
    >>> bool((b.y == b.x[..., 0].cumsum(0) % 2).all())
    True
    """
    n = check_int("n", n, 1)
    length = check_int("length", length, 1)
    if not np.issubdtype(np.dtype(dtype), np.floating):
        raise TypeError(f"dtype must be a floating dtype, got {np.dtype(dtype)}")
    bits = as_rng(rng).integers(0, 2, size=(length, n))
    y = (np.cumsum(bits, axis=0) % 2).astype(np.int64)
    x = bits[:, :, None].astype(dtype)
    if batch_first:
        x, y = np.ascontiguousarray(x.transpose(1, 0, 2)), np.ascontiguousarray(y.T)
    return ParityBatch(x, y)


def parity_stream(batch_size: int, length: int, *, rng=None, dtype=np.float32
                  ) -> Callable[[], ParityBatch]:
    """A zero-argument callable returning a fresh parity batch per call (for
    :func:`rnnlab.train.fit`); all batches come from one seeded generator."""
    batch_size = check_int("batch_size", batch_size, 1)
    length = check_int("length", length, 1)
    g = as_rng(rng)

    def next_batch() -> ParityBatch:
        return parity_task(batch_size, length, rng=g, dtype=dtype)

    return next_batch
