"""Elementwise activations written for reuse of memory.

Every function takes an optional ``out`` array (which may be ``x`` itself, for an in-place update),
so that the sequence loops in this package allocate nothing per time step.
"""
from __future__ import annotations

import functools

import numpy as np


def sigmoid_raw(x: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """1 / (1 + exp(-x)) in four passes (negate, exp, add 1, divide), no warning control.

    For x < -88 (float32) or -709 (float64) exp(-x) overflows to inf and 1/inf = 0 is the right
    limit; numpy then warns unless the caller is inside ``np.errstate(over="ignore")``. The
    sequence loops enter that context once per sequence, not once per step (it costs ~10 us).
    """
    out = np.negative(x, out=out)
    np.exp(out, out=out)
    out += 1.0
    return np.divide(1.0, out, out=out)  # (faster than np.reciprocal, which is not vectorised)


def sigmoid(x: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """Logistic function sigma(x) = 1 / (1 + exp(-x)), elementwise, without overflow warnings."""
    with np.errstate(over="ignore"):
        return sigmoid_raw(x, out=out)


def tanh(x: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """Hyperbolic tangent, elementwise (``np.tanh`` with the same ``out`` convention)."""
    return np.tanh(x, out=out)


def relu(x: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """max(x, 0), elementwise."""
    return np.maximum(x, 0.0, out=out)


def quiet_overflow(fn):
    """Decorator: run ``fn`` inside ``np.errstate(over="ignore")`` (see :func:`sigmoid_raw`)."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        with np.errstate(over="ignore"):
            return fn(*args, **kwargs)

    return wrapper
