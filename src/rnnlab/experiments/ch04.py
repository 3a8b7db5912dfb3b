r"""Measurements of chapter 4 (GRU).

- :func:`source_post_gru_step`   the GRU in the convention of the source post 循环神经网络介绍,
  ``h = (1 - z) h_prev + z h~``, for the equivalence proofs;
- :func:`negate_update_gate`     torch-layout weights with the update gate's rows negated (turns
  one z convention into the other);
- :func:`time_forward_backward`  wall-clock time of forward + backward of a recurrent module.

The training experiment reuses :mod:`rnnlab.experiments.ch03` (``run_adding``,
``results_table``); the figures are in :mod:`rnnlab.viz.ch04`. Gates in torch's order ``r, z, n``.
"""
from __future__ import annotations

import time
from typing import Mapping

import numpy as np

from rnnlab.scratch import sigmoid

__all__ = ["source_post_gru_step", "negate_update_gate", "time_forward_backward"]


def source_post_gru_step(x, h_prev, weight_ih, weight_hh, bias_ih=None, bias_hh=None,
                         reset_after=True):
    """One GRU step with the update rule of the source post 循环神经网络介绍,
    ``h = (1 - z) * h_prev + z * n`` (numpy, a batch of rows), otherwise exactly
    :func:`rnnlab.scratch.gru_step` (torch's layout r, z, n and the chosen reset position). Used
    to show that the two conventions are one model up to the sign of the update gate's weights
    and biases."""
    H = weight_hh.shape[1]
    b_ih = np.zeros(3 * H) if bias_ih is None else bias_ih
    b_hh = np.zeros(3 * H) if bias_hh is None else bias_hh
    gi = x @ weight_ih.T + b_ih
    r = sigmoid(gi[..., :H] + h_prev @ weight_hh[:H].T + b_hh[:H])
    z = sigmoid(gi[..., H:2 * H] + h_prev @ weight_hh[H:2 * H].T + b_hh[H:2 * H])
    if reset_after:
        n = np.tanh(gi[..., 2 * H:] + r * (h_prev @ weight_hh[2 * H:].T + b_hh[2 * H:]))
    else:
        n = np.tanh(gi[..., 2 * H:] + (r * h_prev) @ weight_hh[2 * H:].T + b_hh[2 * H:])
    return (1.0 - z) * h_prev + z * n


def negate_update_gate(params: Mapping[str, np.ndarray], hidden_size: int) -> dict:
    """A copy of torch-layout GRU parameters (``weight_ih``, ``weight_hh``, ``bias_ih``,
    ``bias_hh``, any layer suffix) with the rows of the update gate z (rows H..2H) negated."""
    if isinstance(hidden_size, bool) or not isinstance(hidden_size, (int, np.integer)) \
            or hidden_size < 1:
        raise ValueError(f"hidden_size must be a positive int, got {hidden_size!r}")
    H = int(hidden_size)
    out, negated = {}, 0
    for k, v in params.items():
        v = np.array(v, dtype=np.float64, copy=True)
        if v.ndim >= 1 and v.shape[0] == 3 * H:
            v[H:2 * H] *= -1.0
            negated += 1
        out[k] = v
    if not negated:
        shapes = {k: np.shape(v) for k, v in params.items()}
        raise ValueError(f"no parameter has 3 * hidden_size = {3 * H} rows (gates r, z, n); "
                         f"got shapes {shapes}")
    return out


def time_forward_backward(module, x, repeats: int = 5) -> float:
    """Best-of-``repeats`` seconds for ``module(x)`` forward plus ``.backward()`` of the output's sum
    (after one warm-up run)."""
    best = np.inf
    for k in range(repeats + 1):
        module.zero_grad(set_to_none=True)
        t0 = time.perf_counter()
        out, _ = module(x)
        out.sum().backward()
        dt = time.perf_counter() - t0
        if k:
            best = min(best, dt)
    return best
