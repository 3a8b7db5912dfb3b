"""Figures and explorers of chapter 1 (recurrent networks).

Drawn diagrams (matplotlib patches, no images shipped):

- :func:`unrolled_figure`     the cell with its loop, and the same cell unrolled over time;
- :func:`mappings_figure`     one-to-many, many-to-one, many-to-many (tagging and encoder-decoder);
- :func:`block_matrix_figure` an RNN's weights as one matrix over all units, zero blocks shaded.

Measured figures and the explorer:

- :func:`hidden_state_figure` heat map of the hidden state ``h_t`` while a sequence is read;
- :func:`hidden_state_explorer` the same, stepped with a slider (ipywidgets, live in Jupyter only);
- :func:`carry_bit_figure`    a hand-built one-unit latch that carries a bit across many steps.

The runs these figures draw are in :mod:`rnnlab.experiments.ch01`: the demo RNN and its states
(``demo_rnn``, ``rnn_states``), the latch (``latch_runs``), and the experiment that trains an
RNN to carry the bit (``train_carry_bit``, on :func:`rnnlab.data.carry_bit_batch`).

Every function returns the matplotlib ``Figure`` (or the widget) and draws nothing global, so a
notebook cell is one call.  Symbols follow the book's notation table: ``U = weight_ih_l0``
(H x I), ``W = weight_hh_l0`` (H x H), ``V`` the output layer's weight (K x H).
"""
from __future__ import annotations

from typing import Callable, Sequence

import ipywidgets as widgets
import numpy as np

from rnnlab.viz.diagram import BOX_H, BOX_W, arrow, blank, box
from rnnlab.viz.style import COLORS, new_figure

__all__ = [
    "unrolled_figure",
    "mappings_figure",
    "block_matrix_figure",
    "hidden_state_figure",
    "hidden_state_explorer",
    "carry_bit_figure",
]

# ----------------------------------------------------------------------------- unrolled RNN
def unrolled_figure(steps: int = 4):
    """The recurrent cell (left) and the same cell unrolled over ``steps`` time steps (right).

    Every copy carries the same three matrices: ``U`` (input to hidden, torch's ``weight_ih_l0``),
    ``W`` (hidden to hidden, ``weight_hh_l0``) and ``V`` (hidden to output, a separate ``Linear``).
    The unrolled picture starts from the zero state ``h_0 = 0``.
    """
    if not isinstance(steps, int) or not 2 <= steps <= 8:
        raise ValueError(f"steps must be an int between 2 and 8, got {steps!r}")
    fig, ax = new_figure(figsize=(1.9 + 1.55 * (steps + 1) + 1.2, 3.4))
    blank(ax)
    yx, yh, yo = 0.0, 1.35, 2.7
    hid, inp, out = COLORS["sky"], "#E8E8E8", "#F6D9A8"

    # rolled cell
    x0 = 0.6
    box(ax, x0, yx, "$x_t$", inp)
    box(ax, x0, yh, "$h_t$", hid)
    box(ax, x0, yo, "$s_t$", out)
    arrow(ax, (x0, yx + BOX_H / 2), (x0, yh - BOX_H / 2), "$U$", label_offset=(0.22, 0))
    arrow(ax, (x0, yh + BOX_H / 2), (x0, yo - BOX_H / 2), "$V$", label_offset=(0.22, 0))
    arrow(ax, (x0 + BOX_W / 2, yh + 0.16), (x0 + BOX_W / 2, yh - 0.16), None,
           connectionstyle="bar,fraction=-1.1", color=COLORS["red"])
    ax.text(x0 + BOX_W / 2 + 0.5, yh, "$W$", ha="center", va="center", fontsize=10,
            color=COLORS["red"], bbox=dict(boxstyle="round,pad=0.1", fc="white", ec="none"))
    ax.text(x0 + 1.55, yh, "unroll\n" + r"$\Longrightarrow$", ha="center", va="center", fontsize=11)

    # unrolled copies
    start, dx = x0 + 2.65, 1.55
    box(ax, start, yh, "$h_0{=}0$", "white", w=0.95)
    for k in range(1, steps + 1):
        xc = start + k * dx
        box(ax, xc, yx, f"$x_{k}$", inp)
        box(ax, xc, yh, f"$h_{k}$", hid)
        box(ax, xc, yo, f"$s_{k}$", out)
        arrow(ax, (xc, yx + BOX_H / 2), (xc, yh - BOX_H / 2), "$U$", label_offset=(0.22, 0))
        arrow(ax, (xc, yh + BOX_H / 2), (xc, yo - BOX_H / 2), "$V$", label_offset=(0.22, 0))
        prev = xc - dx + (BOX_W / 2 if k > 1 else 0.95 / 2)
        arrow(ax, (prev, yh), (xc - BOX_W / 2, yh), "$W$", color=COLORS["red"],
               label_offset=(0, 0.2))
    ax.set_xlim(-0.1, start + steps * dx + 0.7)
    ax.set_ylim(-0.55, 3.25)
    ax.set_title("One cell, unrolled: every time step reuses the same U, W and V")
    return fig


# ----------------------------------------------------------------------------- input/output mappings
def _mapping(ax, title, n, inputs, outputs, x_off, y_off=0.0, dx=0.75, hidden_fill=None):
    """Draw one input/output pattern: ``inputs``/``outputs`` are sets of step indices."""
    hid, inp, out = COLORS["sky"], "#E8E8E8", "#F6D9A8"
    w, h = 0.5, 0.42
    for k in range(n):
        xc = x_off + k * dx
        box(ax, xc, y_off + 1.0, "", hidden_fill[k] if hidden_fill else hid, w=w, h=h)
        if k in inputs:
            box(ax, xc, y_off, "$x$", inp, w=w, h=h, fontsize=9)
            arrow(ax, (xc, y_off + h / 2), (xc, y_off + 1.0 - h / 2), lw=1.1)
        if k in outputs:
            box(ax, xc, y_off + 2.0, "$y$", out, w=w, h=h, fontsize=9)
            arrow(ax, (xc, y_off + 1.0 + h / 2), (xc, y_off + 2.0 - h / 2), lw=1.1)
        if k:
            arrow(ax, (xc - dx + w / 2, y_off + 1.0), (xc - w / 2, y_off + 1.0),
                   color=COLORS["red"], lw=1.1)
    ax.text(x_off + (n - 1) * dx / 2, y_off - 0.65, title, ha="center", va="center", fontsize=10)


def mappings_figure():
    """The four shapes of a sequence task: which steps take an input and which give an output."""
    fig, ax = new_figure(figsize=(10.5, 2.9))
    blank(ax)
    enc, dec = COLORS["sky"], COLORS["green"]
    _mapping(ax, "one-to-many\n(caption an image)", 4, {0}, {0, 1, 2, 3}, 0.0)
    _mapping(ax, "many-to-one\n(classify a sequence)", 4, {0, 1, 2, 3}, {3}, 3.1)
    _mapping(ax, "many-to-many, aligned\n(tag every word)", 4, {0, 1, 2, 3}, {0, 1, 2, 3}, 6.2)
    _mapping(ax, "many-to-many, encoder-decoder\n(translate)", 6, {0, 1, 2}, {3, 4, 5}, 9.3,
             hidden_fill=[enc] * 3 + [dec] * 3)
    ax.set_xlim(-0.5, 13.6)
    ax.set_ylim(-1.1, 2.4)
    ax.set_title("Which steps read an input and which emit an output decides the task's shape")
    return fig


# ----------------------------------------------------------------------------- the graph view
def block_matrix_figure(U: np.ndarray, W: np.ndarray, V: np.ndarray):
    """An RNN's weights written as one matrix over all units (inputs, hidden, outputs).

    Entry ``M[i, j]`` is the weight of the connection from unit ``j`` to unit ``i``.  A general
    recurrent net may connect any unit to any other; the layered RNN is the special case where
    every block except ``U``, ``W`` and ``V`` is zero (shaded).
    """
    U, W, V = (np.asarray(a, dtype=float) for a in (U, W, V))
    H, I = U.shape
    K = V.shape[0]
    if W.shape != (H, H) or V.shape[1] != H:
        raise ValueError(f"expected U (H, I), W (H, H), V (K, H); got {U.shape}, {W.shape}, {V.shape}")
    n = I + H + K
    M = np.zeros((n, n))
    M[I:I + H, :I] = U
    M[I:I + H, I:I + H] = W
    M[I + H:, I:I + H] = V
    fig, ax = new_figure(figsize=(5.0, 4.4))
    ax.grid(False)
    lim = np.abs(M).max()
    im = ax.imshow(np.ma.masked_where(M == 0, M), cmap="RdBu_r", vmin=-lim, vmax=lim)
    ax.imshow(np.where(M == 0, 1.0, np.nan), cmap="Greys", vmin=0, vmax=4, alpha=0.5)
    for edge in (I - 0.5, I + H - 0.5):
        ax.axhline(edge, color="black", lw=1)
        ax.axvline(edge, color="black", lw=1)
    ticks = [(I - 1) / 2, I + (H - 1) / 2, I + H + (K - 1) / 2]
    ax.set_xticks(ticks, ["inputs", "hidden", "outputs"])
    ax.set_yticks(ticks, ["inputs", "hidden", "outputs"])
    ax.set_xlabel("from unit")
    ax.set_ylabel("to unit")
    for (r, c), name in {(1, 0): "U", (1, 1): "W", (2, 1): "V"}.items():
        ax.text(ticks[c], ticks[r], name, ha="center", va="center", fontsize=14,
                color="black", bbox=dict(boxstyle="round", fc="white", alpha=0.7))
    fig.colorbar(im, ax=ax, shrink=0.8, label="weight")
    ax.set_title("Layers are a graph with zero blocks:\nonly U, W and V are non-zero")
    return fig


# ----------------------------------------------------------------------------- stepping an RNN
def _draw_states(axes, x, h, upto):
    ax_x, ax_h = axes
    T = x.shape[0]
    steps = np.arange(1, T + 1)
    for d in range(x.shape[1]):
        ax_x.plot(steps[:upto], x[:upto, d], marker="o", ms=3, label=f"$x_{{t,{d + 1}}}$")
    ax_x.set_xlim(0.5, T + 0.5)
    ax_x.set_ylim(x.min() - 0.2, x.max() + 0.2)
    ax_x.set_ylabel("input value")
    ax_x.legend(loc="upper right", ncol=x.shape[1], fontsize=8)
    shown = np.full_like(h, np.nan)
    shown[:upto] = h[:upto]
    ax_h.grid(False)
    im = ax_h.imshow(shown.T, aspect="auto", cmap="RdBu_r", vmin=-1, vmax=1,
                     extent=(0.5, T + 0.5, h.shape[1] + 0.5, 0.5), interpolation="nearest")
    ax_h.set_xlabel("time step t")
    ax_h.set_ylabel("hidden unit")
    return im


def hidden_state_figure(x, h, steps_shown: Sequence[int] | None = None):
    """Static rendering of the stepping explorer: inputs ``x`` (T, I) on top, the hidden states
    ``h`` (T, H) of every unit below (:func:`rnnlab.experiments.ch01.rnn_states`).

    With the chapter's demo RNN (:func:`rnnlab.experiments.ch01.demo_rnn`: 8 units, spectral
    radius 0.95, a noisy sequence with two pulses) each pulse leaves a trace that fades over steps.
    """
    x, h = np.asarray(x, dtype=float), np.asarray(h, dtype=float)
    if x.ndim != 2 or h.ndim != 2 or len(x) != len(h):
        raise ValueError(f"x must be (T, I) and h (T, H) with the same T, got {x.shape} and "
                         f"{h.shape}")
    fig, (ax_x, ax_h) = new_figure(2, 1, figsize=(7.5, 4.6), sharex=True,
                                   gridspec_kw={"height_ratios": [1, 2]})
    im = _draw_states((ax_x, ax_h), x, h, x.shape[0])
    fig.colorbar(im, ax=ax_h, label="$h_{t,i}$ (tanh, in [-1, 1])")
    for t in steps_shown or []:
        ax_h.axvline(t, color=COLORS["black"], ls=":", lw=1)
    ax_x.set_title("Each input pulse changes the whole hidden state, and its trace fades over steps")
    return fig


def hidden_state_explorer(x, W_ih, W_hh, b, states: Callable[..., np.ndarray]):
    """Step an RNN through a sequence with a slider (Jupyter only; the book shows
    :func:`hidden_state_figure`).  A second slider scales ``W`` to change its spectral radius.

    ``x, W_ih, W_hh, b``: the sequence and the RNN (:func:`rnnlab.experiments.ch01.demo_rnn`);
    ``states(x, W_ih, W_hh, b) -> h`` (T, H) computes the hidden states again for every radius
    chosen (:func:`rnnlab.experiments.ch01.rnn_states`).
    """
    # deferred: pyplot fixes its backend on import (see style.new_figure)
    import matplotlib.pyplot as plt

    radius0 = float(np.abs(np.linalg.eigvals(W_hh)).max())
    out = widgets.Output()

    def draw(t, radius):
        h = states(x, W_ih, W_hh * (radius / radius0), b)
        with out:
            out.clear_output(wait=True)
            fig, axes = new_figure(1, 3, figsize=(11, 3.2),
                                   gridspec_kw={"width_ratios": [2, 3, 1.2]})
            steps = np.arange(1, x.shape[0] + 1)
            for d in range(x.shape[1]):
                axes[0].plot(steps[:t], x[:t, d], marker="o", ms=3, label=f"input {d + 1}")
            axes[0].set_xlim(0.5, x.shape[0] + 0.5)
            axes[0].set_xlabel("time step t")
            axes[0].set_ylabel("input value")
            axes[0].legend(fontsize=8)
            shown = np.full_like(h, np.nan)
            shown[:t] = h[:t]
            axes[1].grid(False)
            axes[1].imshow(shown.T, aspect="auto", cmap="RdBu_r", vmin=-1, vmax=1,
                           extent=(0.5, x.shape[0] + 0.5, h.shape[1] + 0.5, 0.5))
            axes[1].set_xlabel("time step t")
            axes[1].set_ylabel("hidden unit")
            axes[1].set_title(f"hidden state up to t = {t} (spectral radius {radius:.2f})")
            axes[2].barh(np.arange(1, h.shape[1] + 1), h[t - 1], color=COLORS["blue"])
            axes[2].set_xlim(-1, 1)
            axes[2].invert_yaxis()
            axes[2].set_xlabel(f"$h_{{{t}}}$")
            plt.show()

    t_slider = widgets.IntSlider(value=1, min=1, max=x.shape[0], description="step t")
    r_slider = widgets.FloatSlider(value=radius0, min=0.1, max=3.0, step=0.05,
                                   description="radius of W")
    widgets.interactive_output(draw, {"t": t_slider, "radius": r_slider})
    return widgets.VBox([widgets.HBox([t_slider, r_slider]), out])


# ----------------------------------------------------------------------------- carrying a bit
def carry_bit_figure(runs):
    """The one-unit latch with each self-weight of ``runs``, one panel per weight.

    With the book's weights the latch with self-weight 5 keeps the first input's sign for every
    step despite the noise, and with 0.9 the bit fades and the noise takes over (a weight just
    above 1 is not enough either: its fixed points lie too close to 0).  Each panel's title gives
    the share of runs whose final sign is right; the overall title says, for each weight, whether
    the final sign was right in every run.

    ``runs``: a :class:`rnnlab.experiments.ch01.LatchRuns` (the first inputs ``bits`` and, for
    each self-weight, the states ``(n, steps)``).
    """
    bits = np.asarray(runs.bits)
    steps = runs.states[0].shape[1]
    fig, axes = new_figure(1, len(runs.weights), figsize=(9.5, 3.3), sharey=True)
    t = np.arange(1, steps + 1)
    verdicts = []
    for ax, w, h in zip(axes, runs.weights, runs.states):
        for i in range(len(bits)):
            ax.plot(t, h[i], color=COLORS["blue"] if bits[i] > 0 else COLORS["red"],
                    ls="-" if bits[i] > 0 else "--", lw=1.2)
        ok = np.mean(np.sign(h[:, -1]) == bits)
        ax.set_title(f"w = {w:g}: sign of $h_{{{steps}}}$ right for {ok:.0%} of runs")
        verdicts.append(f"w = {w:g} {'keeps' if ok == 1 else 'loses'} it")
        ax.set_xlabel("time step t")
        ax.axhline(0, color=COLORS["grey"], lw=0.8)
    axes[0].set_ylabel("$h_t$")
    fig.suptitle(f"The sign of the first input over {steps} noisy steps: " + "; ".join(verdicts))
    return fig
