r"""Figures of chapter 4 (GRU).

- :func:`gru_cell_figure`        a diagram of one GRU cell (torch's form, reset after the matmul);
- :func:`speed_figure`           forward + backward timings
  (:func:`rnnlab.experiments.ch04.time_forward_backward`) as bars.

The chapter's measurements are in :mod:`rnnlab.experiments.ch04`; its training experiment reuses
:mod:`rnnlab.experiments.ch03` (``run_adding``, ``results_table``) and
:func:`rnnlab.viz.ch03.training_curves_figure`. Gates in torch's order ``r, z, n``.
"""
from __future__ import annotations

from typing import Mapping

from rnnlab.viz.diagram import arrow, blank, box, state_line
from rnnlab.viz.style import COLORS, new_figure

__all__ = ["gru_cell_figure", "speed_figure"]


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
    with the reset gate on the recurrent term r * (W_n h_{t-1} + b_hn), which reads the old state
    h_{t-1} (drawn as its own input, not tapped from the state line after the z product);
    h_t = (1 - z) * n + z * h_{t-1}."""

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
    # it reads the old state h_{t-1} itself, not the z-scaled state on the line above it
    ax.text(3.45, 2.72, r"$h_{t-1}$", fontsize=10)
    arrow(ax, (4.05, 2.8), (4.55, 2.8))
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
