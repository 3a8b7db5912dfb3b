"""Figures and explorers of chapter 2 (backpropagation through time).

- :func:`bptt_graph_figure`      the unrolled graph with its losses and the two gradient paths
  into every hidden state;
- :func:`gradient_norm_figure`   ``||dL/dh_t||`` against the distance ``T - t`` for tanh RNNs
  whose recurrent matrices have several spectral radii
  (:func:`rnnlab.experiments.ch02.hidden_gradient_norms`), log scale;
- :func:`spectral_radius_explorer` the same with sliders (Jupyter only);
- :func:`underflow_figure`       the float32 and float64 versions of one vanishing curve;
- :func:`truncation_figure`      a :class:`rnnlab.experiments.ch02.TruncationResult` against the
  truncation length k;
- :func:`clipping_figure`        two runs of :func:`rnnlab.experiments.ch02.train_delayed_recall`,
  with and without gradient clipping.

The gradient-norm measurements, the model, the training loop and the truncation measurements are
in :mod:`rnnlab.experiments.ch02`, the delayed-recall task in :func:`rnnlab.data.delayed_recall`.

Notation as in the book: ``a_t = U x_t + W h_{t-1} + b``, ``h_t = tanh(a_t)``,
``s_t = V h_t + b_y``; in code ``U = weight_ih_l0``, ``W = weight_hh_l0``, ``b = bias_ih_l0 +
bias_hh_l0``, ``V``/``b_y`` the weight and bias of the separate output layer.  ``||W||_2`` is the
largest singular value of ``W`` (its spectral norm), ``rho(W)`` its spectral radius.
"""
from __future__ import annotations

from typing import Callable, Sequence

import ipywidgets as widgets
import numpy as np

from rnnlab.viz.diagram import BOX_H, BOX_W, arrow, blank, box
from rnnlab.viz.style import COLORS, new_figure

__all__ = [
    "bptt_graph_figure",
    "gradient_norm_figure",
    "spectral_radius_explorer",
    "underflow_figure",
    "clipping_figure",
    "truncation_figure",
]


# ----------------------------------------------------------------------------- the unrolled graph
def bptt_graph_figure(steps: int = 4, highlight: int = 2):
    """The unrolled graph as a feed-forward net: forward edges (solid) and the gradient flowing
    back (dashed).  Hidden state ``h_highlight`` receives gradient along two edges: from its own
    loss through ``V`` and from the next state through ``W``."""
    if not isinstance(steps, int) or not 2 <= steps <= 7:
        raise ValueError(f"steps must be an int between 2 and 7, got {steps!r}")
    if not 1 <= highlight < steps:
        raise ValueError(f"highlight must be in [1, steps), got {highlight!r}")
    fig, ax = new_figure(figsize=(1.9 * steps + 2.2, 4.6))
    blank(ax)
    yx, yh, yo, yl = 0.0, 1.4, 2.8, 4.1
    hid, inp, out, loss = COLORS["sky"], "#E8E8E8", "#F6D9A8", "#F2C6DE"
    grad = COLORS["red"]
    dx, x0 = 1.9, 1.3
    box(ax, 0.0, yh, "$h_0$", "white")
    for k in range(1, steps + 1):
        xc = x0 + (k - 1) * dx
        box(ax, xc, yx, f"$x_{k}$", inp)
        box(ax, xc, yh, f"$h_{k}$", hid, fontsize=12 if k == highlight else 11)
        box(ax, xc, yo, f"$s_{k}$", out)
        box(ax, xc, yl, f"$L_{k}$", loss)
        arrow(ax, (xc, yx + BOX_H / 2), (xc, yh - BOX_H / 2), "$U$", label_offset=(-0.22, 0))
        arrow(ax, (xc, yh + BOX_H / 2), (xc, yo - BOX_H / 2), "$V$", label_offset=(-0.22, 0))
        arrow(ax, (xc, yo + BOX_H / 2), (xc, yl - BOX_H / 2))
        prev = xc - dx + BOX_W / 2 if k > 1 else BOX_W / 2
        arrow(ax, (prev, yh - 0.1), (xc - BOX_W / 2, yh - 0.1), "$W$", label_offset=(0, -0.22))
        # gradient flowing back
        arrow(ax, (xc + 0.18, yl - BOX_H / 2), (xc + 0.18, yo + BOX_H / 2), color=grad, ls="--")
        arrow(ax, (xc + 0.18, yo - BOX_H / 2), (xc + 0.18, yh + BOX_H / 2), color=grad, ls="--",
               lw=2.4 if k == highlight else 1.4)
        if k < steps:
            arrow(ax, (xc + dx - BOX_W / 2, yh + 0.15), (xc + BOX_W / 2, yh + 0.15),
                   color=grad, ls="--", lw=2.4 if k == highlight else 1.4)
    xc = x0 + (highlight - 1) * dx
    later = ", ".join(f"$L_{k}$" for k in range(highlight + 1, steps + 1))
    ax.text(xc + dx / 2 - 0.1, yh - 0.62, f"from {later} via $W$", ha="center", va="center",
            fontsize=8.5, color=grad)
    ax.text(xc + 0.32, (yh + yo) / 2, "from $L_{%d}$\nthrough $V$" % highlight, ha="left",
            va="center", fontsize=8.5, color=grad)
    total = "L = " + " + ".join(f"$L_{k}$" for k in range(1, steps + 1))
    ax.text(x0 + (steps - 1) * dx / 2, yl + 0.65, total, ha="center", fontsize=11)
    ax.set_xlim(-0.7, x0 + (steps - 1) * dx + 0.9)
    ax.set_ylim(-0.5, yl + 1.0)
    ax.set_title("Unrolled, the RNN is a feed-forward net with tied weights; "
                 f"$h_{highlight}$ gets gradient along two edges", fontsize=10.5)
    return fig


# ----------------------------------------------------------------------------- gradient norms
def _plot_norms(ax, radii, results, show_bound=True):
    for i, (rho, res) in enumerate(zip(radii, results)):
        line, = ax.semilogy(res.distance, np.where(res.norms > 0, res.norms, np.nan),
                            label=f"radius {rho:g}")
        if show_bound and rho < 1:
            ax.semilogy(res.distance, res.bound, color=line.get_color(), lw=0.8, ls=":")
    ax.set_xlabel("distance back in time  T - t  (steps)")
    ax.set_ylabel(r"$\|\partial L / \partial h_t\|$")
    ax.legend(fontsize=8, loc="lower left", ncol=2)


def gradient_norm_figure(radii: Sequence[float], results: Sequence):
    """``||dL/dh_t||`` against distance for several spectral radii of ``W`` (log scale).

    ``results[k]``: the :class:`rnnlab.experiments.ch02.GradientNorms` measured at ``radii[k]``
    (:func:`rnnlab.experiments.ch02.hidden_gradient_norms`). Dotted: the bound ``||W||_2^d`` for
    the radii below 1 (``W`` is the radius times an orthogonal matrix, so ``||W||_2`` is the
    radius).
    """
    radii, results = list(radii), list(results)
    if len(radii) != len(results) or not radii:
        raise ValueError(f"radii and results must be non-empty and of one length, got "
                         f"{len(radii)} and {len(results)}")
    fig, ax = new_figure(figsize=(7.0, 4.0))
    _plot_norms(ax, radii, results)
    lo = min(r.norms[r.norms > 0].min() for r in results)
    hi = max(r.norms.max() for r in results)
    ax.set_ylim(max(lo, 1e-60) / 10, hi * 10)
    ax.set_title("W = radius × orthogonal: gradients vanish below radius 1, explode above it",
                 fontsize=10.5)
    return fig


def spectral_radius_explorer(measure: Callable, steps: int = 150):
    """Sliders for the spectral radius of ``W`` and the input scale; the plot shows
    ``||dL/dh_t||`` against distance (Jupyter only; the book shows :func:`gradient_norm_figure`).

    ``measure(radius, steps=, input_scale=, kind=)`` measures the norms again for every setting
    chosen (:func:`rnnlab.experiments.ch02.hidden_gradient_norms`).
    """
    # deferred: pyplot fixes its backend on import (see style.new_figure)
    import matplotlib.pyplot as plt

    out = widgets.Output()

    def draw(radius, input_scale, kind):
        res = measure(radius, steps=steps, input_scale=input_scale, kind=kind)
        with out:
            out.clear_output(wait=True)
            fig, ax = new_figure(figsize=(7.0, 3.8))
            _plot_norms(ax, [radius], [res], show_bound=False)
            ax.semilogy(res.distance, res.bound, ls=":", color=COLORS["grey"],
                        label=r"$\|W\|_2^d$")
            ax.set_ylim(1e-30, 1e30)
            ax.legend(fontsize=8)
            ax.set_title(f"radius {radius:.2f}: gradient after {steps - 1} steps back = "
                         f"{res.norms[-1]:.1e}")
            plt.show()

    controls = {
        "radius": widgets.FloatSlider(value=1.0, min=0.1, max=3.0, step=0.05,
                                      description="radius of W"),
        "input_scale": widgets.FloatLogSlider(value=0.1, base=10, min=-3, max=1,
                                              description="input scale"),
        "kind": widgets.Dropdown(options=["orthogonal", "gaussian"], value="orthogonal",
                                 description="W is"),
    }
    widgets.interactive_output(draw, controls)
    return widgets.VBox([widgets.HBox(list(controls.values())), out])


def underflow_figure(res64, res32, radius: float):
    """One vanishing curve computed in float64 (``res64``) and in float32 (``res32``), both
    :class:`rnnlab.experiments.ch02.GradientNorms` at spectral radius ``radius``: float32 reaches
    exactly zero."""
    steps = len(res64.norms)
    fig, ax = new_figure(figsize=(7.0, 3.6))
    ax.semilogy(res64.distance, res64.norms, label="float64")
    ax.semilogy(res32.distance, np.where(res32.norms > 0, res32.norms, np.nan), label="float32")
    zero = np.flatnonzero(res32.norms == 0)
    if zero.size:
        ax.axvline(zero[0], color=COLORS["grey"], ls=":")
        ax.text(zero[0] + 3, res64.norms[zero[0]] * 1e6,
                f"float32 gradient is exactly 0\nfrom distance {zero[0]} on", fontsize=8.5)
    tiny = float(np.finfo(np.float32).smallest_subnormal)
    ax.axhline(tiny, color=COLORS["black"], lw=0.6, ls="--")
    ax.text(steps * 0.99, tiny * 30, "smallest positive float32", ha="right", fontsize=8)
    ax.set_ylim(min(res64.norms.min(), tiny) / 1e3, 1e5)
    ax.set_xlabel("distance back in time  T - t  (steps)")
    ax.set_ylabel(r"$\|\partial L / \partial h_t\|$")
    ax.legend(fontsize=8, loc="upper right")
    ax.set_title(f"At radius {radius:g} the float32 gradient underflows to zero; float64 lasts longer")
    return fig


# ----------------------------------------------------------------------------- clipping
def clipping_figure(plain, clipped, clip: float):
    """Loss and gradient norm of the two runs (:class:`rnnlab.experiments.ch02.TrainResult`),
    log scale."""
    fig, (ax_l, ax_n) = new_figure(1, 2, figsize=(10, 3.6))
    for res, name in ((plain, "plain SGD"), (clipped, f"SGD, clipped at norm {clip:g}")):
        ax_l.semilogy(np.arange(1, len(res.losses) + 1), res.losses, label=name)
        ax_n.semilogy(np.arange(1, len(res.norms) + 1), res.norms, label=name)
    ax_n.axhline(clip, color=COLORS["grey"], ls=":", lw=1)
    ax_l.set_xlabel("update")
    ax_l.set_ylabel("loss per step (nats)")
    ax_n.set_xlabel("update")
    ax_n.set_ylabel("global gradient norm (before clipping)")
    ax_l.legend(fontsize=8)
    ax_l.set_title("Clipping keeps training on track")
    ax_n.set_title("Unclipped, the gradient norm passes 100 and spikes")
    return fig


# ----------------------------------------------------------------------------- truncation
def truncation_figure(res, delay: int):
    """``res``: a :class:`rnnlab.experiments.ch02.TruncationResult`. Left: the whole gradient's error and the share of the recall gradient that survives,
    against the truncation length k.  Right: the cost of one update."""
    fig, (ax_e, ax_t) = new_figure(1, 2, figsize=(10, 3.6))
    ax_e.plot(res.k, res.rel_error, marker="o", label="whole gradient: relative error")
    ax_e.plot(res.k, res.recall_share, marker="s", ls="--",
              label=f"gradient into x(t-{delay}): share kept")
    ax_e.axvline(delay + 0.5, color=COLORS["grey"], ls=":")
    ax_e.text(delay + 0.6, 0.92, f"k ≥ {delay + 1}", fontsize=8)
    ax_e.set_xscale("log", base=2)
    ax_e.set_xticks(res.k, [str(k) for k in res.k])
    ax_e.minorticks_off()
    ax_e.set_ylim(-0.05, 1.1)
    ax_e.set_xlabel("truncation length k (steps)")
    ax_e.set_ylabel("fraction of the full-BPTT value")
    ax_e.legend(fontsize=7.5, loc="center right", bbox_to_anchor=(1.0, 0.3))
    lost = res.recall_share < 1e-12  # no path at all: the share is zero, not small
    cut = int(res.k[lost].max()) if np.any(lost) else None
    ax_e.set_title("Nothing reaches the recalled input for k ≤ %s" % cut if cut
                   else "Share of the recall gradient kept", fontsize=10)
    ax_t.plot(res.k, 1e3 * res.seconds, marker="o", color=COLORS["orange"], ls="--")
    ax_t.set_xlabel("truncation length k (steps)")
    ax_t.set_ylabel("time of one update (ms)")
    ax_t.set_title("Each update's cost grows with k")
    return fig
