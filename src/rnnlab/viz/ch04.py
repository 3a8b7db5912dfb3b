r"""Figures and measurements of chapter 4 (GRU).

- :func:`gru_cell_figure`        a diagram of one GRU cell (torch's form, reset after the matmul);
- :func:`source_post_gru_step`   the GRU in the convention of the source post 循环神经网络介绍,
  ``h = (1 - z) h_prev + z h~``, for the equivalence proofs;
- :func:`negate_update_gate`     torch-layout weights with the update gate's rows negated (turns
  one z convention into the other);
- :func:`time_forward_backward`  wall-clock time of forward + backward of a recurrent module;
- :func:`speed_figure`           those timings as bars.

The training experiment reuses :mod:`rnnlab.viz.ch03` (``SequenceRegressor``, ``train_adding``,
``results_table``, ``training_curves_figure``). Gates in torch's order ``r, z, n``.
"""
from __future__ import annotations

import time
from typing import Mapping

import numpy as np

from rnnlab.scratch import sigmoid
from rnnlab.viz.diagram import arrow, blank, box, state_line
from rnnlab.viz.style import COLORS, new_figure

__all__ = ["gru_cell_figure", "source_post_gru_step", "negate_update_gate",
           "time_forward_backward", "speed_figure"]


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


def speed_figure(times: Mapping[str, float], title: str):
    """Horizontal bars of forward + backward times in milliseconds."""
    fig, ax = new_figure(figsize=(7.0, 0.45 * len(times) + 1.2))
    names = list(times)
    vals = [1000 * times[n] for n in names]
    colors = [COLORS["blue"] if "GRU" in n else COLORS["orange"] if "LSTM" in n else COLORS["grey"]
              for n in names]
    ax.barh(range(len(names)), vals, color=colors)
    ax.set_yticks(range(len(names)))
    ax.set_yticklabels(names)
    ax.invert_yaxis()
    ax.set_xlabel("forward + backward time (ms)")
    ax.set_title(title)
    return fig


def gru_cell_figure():
    """A diagram of one GRU cell in torch's form: r and z from [h_{t-1}, x_t]; the candidate n
    with the reset gate on the recurrent term; h_t = (1 - z) * n + z * h_{t-1}."""

    fig, ax = new_figure(figsize=(8.0, 4.0))
    blank(ax)
    ax.set_xlim(-0.6, 9.9)
    ax.set_ylim(-0.9, 4.2)
    yh, yg = 3.4, 1.0
    # the state line along the top: z * h_{t-1} + (1 - z) * n
    state_line(ax, yh, 1.6, 7.3, r"$h_{t-1}$", r"$h_t$")
    ax.text(2.0, yh + 0.3, r"keep $z_t\odot h_{t-1}$", fontsize=8.5)
    # gates and candidate
    box(ax, 1.6, yg, "$\\sigma$\n$z_t$", COLORS["yellow"], w=0.9, h=0.75, fontsize=10)
    ax.text(1.52, yg - 0.62, "update", ha="right", fontsize=8.5)
    box(ax, 4.0, yg, "$\\sigma$\n$r_t$", COLORS["yellow"], w=0.9, h=0.75, fontsize=10)
    ax.text(3.92, yg - 0.62, "reset", ha="right", fontsize=8.5)
    box(ax, 5.6, yg, "$\\tanh$\n$n_t$", COLORS["green"], w=0.9, h=0.75, fontsize=10)
    ax.text(5.52, yg - 0.62, "candidate", ha="right", fontsize=8.5)
    # z keeps the old state; 1 - z lets the candidate in
    arrow(ax, (1.6, yg + 0.38), (1.6, yh - 0.25))
    box(ax, 2.9, 2.2, r"$1-z_t$", COLORS["sky"], w=0.7, h=0.4, fontsize=9)
    arrow(ax, (1.9, yg + 0.3), (2.7, 2.0))
    box(ax, 7.3, 2.2, r"$\times$", COLORS["sky"], w=0.45, h=0.45)
    arrow(ax, (3.25, 2.2), (7.07, 2.2))
    arrow(ax, (6.05, yg + 0.15), (7.12, 2.02))
    arrow(ax, (7.3, 2.43), (7.3, yh - 0.25))
    # the reset gate acts on the recurrent term of the candidate (torch: after the matmul)
    box(ax, 5.6, 2.8, r"$r_t\odot(W_n h_{t-1}+b_{hn})$", COLORS["sky"], w=2.1, h=0.42, fontsize=8.5)
    arrow(ax, (5.6, yh), (5.6, 3.01))
    arrow(ax, (4.25, yg + 0.38), (4.8, 2.59))
    arrow(ax, (5.6, 2.59), (5.6, yg + 0.38))
    # inputs
    ax.plot([0.6, 4.0], [-0.25, -0.25], color=COLORS["black"], lw=1.4)
    arrow(ax, (1.6, -0.25), (1.6, yg - 0.38))
    arrow(ax, (4.0, -0.25), (4.0, yg - 0.38))
    ax.text(-0.5, -0.35, r"$[h_{t-1}, x_t]$", fontsize=11)
    ax.plot([4.6, 5.6], [-0.6, -0.6], color=COLORS["black"], lw=1.0, ls="--")
    arrow(ax, (5.6, -0.6), (5.6, yg - 0.38), ls="--")
    ax.text(4.3, -0.7, r"$x_t$", fontsize=10)
    ax.set_title("One GRU cell: no cell state, no output gate; z mixes the old state with the "
                 "candidate", fontsize=10)
    return fig
