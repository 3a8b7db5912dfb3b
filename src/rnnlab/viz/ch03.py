r"""Figures and explorers of chapter 3 (LSTM); chapters 4 and 7 reuse the adding-problem figures.

- :func:`gradient_distance_figure` ``||dL/dx_{T-d}||`` curves (from
  :func:`rnnlab.experiments.ch03.input_gradient_norms`) against the distance, log scale;
- :func:`adding_example_figure`  one adding-problem sequence;
- :func:`training_curves_figure` validation MSE of adding-problem runs
  (:class:`rnnlab.experiments.ch03.AddingResult`);
- :func:`timing_figure`          the outputs of the trained LSTMs on the timing task
  (:func:`rnnlab.experiments.ch03.timing_outputs`);
- :func:`gate_heatmap_figure`    the gates of an LSTM along one sequence, and
  :func:`gate_explorer` (ipywidgets, live in Jupyter only) that redraws it for a chosen sequence;
- :func:`lstm_cell_figure`       a diagram of one LSTM cell.

The gate traces those two draw (:func:`rnnlab.experiments.ch03.lstm_gate_trace`), the models,
the training and the other measurements are in :mod:`rnnlab.experiments.ch03`.

Notation as in the book: gates ``i, f, g, o`` stacked in that order in ``weight_ih``/``weight_hh``
(torch's layout); ``c_t`` the cell state, ``h_t = o_t * tanh(c_t)`` the hidden state.
"""
from __future__ import annotations

from typing import Mapping, Sequence

import ipywidgets as widgets
from IPython.display import display
import numpy as np

from rnnlab.viz.diagram import arrow, blank, box, state_line
from rnnlab.viz.style import COLORS, new_figure

__all__ = [
    "gradient_distance_figure",
    "adding_example_figure",
    "training_curves_figure",
    "gate_heatmap_figure",
    "timing_figure",
    "gate_explorer",
    "lstm_cell_figure",
]


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


def training_curves_figure(results: Sequence, baseline: float = 1 / 6,
                           target: float = 0.01, title: str | None = None):
    """Validation MSE against the optimizer step for several adding-problem runs
    (:class:`rnnlab.experiments.ch03.AddingResult`, log scale), with the predict-the-mean baseline and the target as horizontal lines."""
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


def _gate_panels(axes, trace, x, units, markers):
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


def timing_figure(result):
    """Input spike, target spike and each trained model's output probability over time, one panel
    per sequence: ``result`` from :func:`rnnlab.experiments.ch03.timing_outputs`."""
    x, y, outs, delay = result.x, result.y, result.outputs, result.delay
    length, n = x.shape[0], x.shape[1]
    fig, axes = new_figure(n, 1, figsize=(7.0, 1.6 * n + 0.6), sharex=True)
    axes = np.atleast_1d(axes)
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


def gate_heatmap_figure(trace, x, units: Sequence[int] | None = None,
                        markers=None, title: str | None = None):
    """Heat maps of the forget, input and output gates and of the cell state of chosen units along
    one sequence, under the input (marked steps highlighted, dashed lines through the maps).

    ``trace``: a :class:`rnnlab.experiments.ch03.GateTrace` of the sequence ``x`` (T, I)."""
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


def gate_explorer(traces: Sequence, batch, units: Sequence[int] | None = None):
    """ipywidgets explorer: pick a sequence of ``batch`` (an :class:`~rnnlab.data.AddingBatch`)
    and see the trained LSTM's gates along it (live in Jupyter only; the book shows
    :func:`gate_heatmap_figure`). ``traces[n]``: the
    :class:`rnnlab.experiments.ch03.GateTrace` of sequence ``n``
    (:func:`rnnlab.experiments.ch03.lstm_gate_trace`)."""
    # deferred: pyplot fixes its backend on import (see style.new_figure)
    import matplotlib.pyplot as plt

    n = batch.x.shape[1]
    if len(traces) != n:
        raise ValueError(f"traces must hold one trace per sequence of batch ({n}), "
                         f"got {len(traces)}")
    out = widgets.Output()
    slider = widgets.IntSlider(value=0, min=0, max=n - 1, description="sequence")

    def draw(change=None):
        idx = slider.value
        x = batch.x[:, idx]
        with out:
            out.clear_output(wait=True)
            fig = gate_heatmap_figure(traces[idx], x, units=units, markers=x[:, 1],
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
