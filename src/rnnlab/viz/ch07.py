r"""Figures of chapter 7 (recurrence without the loop).

Each returns the ``Figure``: :func:`lstm_time_figure` (from
:func:`rnnlab.experiments.ch07.lstm_times`), :func:`scan_diagram_figure`, :func:`scan_time_figure`
(:class:`rnnlab.experiments.ch07.ScanTimes`), :func:`fading_figure`, :func:`parity_figure` (from
:func:`rnnlab.experiments.ch07.parity_accuracy`), :func:`char_figure`
(:class:`rnnlab.experiments.ch07.CharResult`).

The models, timings and training runs are in :mod:`rnnlab.experiments.ch07`.
"""
from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np

from rnnlab.viz.style import COLORS, new_figure

__all__ = ["lstm_time_figure", "scan_diagram_figure", "scan_time_figure", "fading_figure",
           "parity_figure", "char_figure"]


# ============================================================================ figures
_STYLE = {
    "torch.nn.LSTM": (COLORS["orange"], "-", "o"),
    "rnnlab.modules.LSTM": (COLORS["blue"], "--", "s"),
    "numpy loop": (COLORS["black"], "-", "o"),
    "numpy Hillis-Steele": (COLORS["orange"], "--", "s"),
    "numpy Blelloch": (COLORS["green"], "-.", "^"),
    "torch loop": (COLORS["grey"], ":", "D"),
    "torch scan": (COLORS["red"], (0, (5, 1)), "v"),
    "LSTM": (COLORS["orange"], "-", "o"),
    "GRU": (COLORS["blue"], "--", "s"),
    "minGRU": (COLORS["green"], "-.", "^"),
    "minLSTM": (COLORS["purple"], ":", "D"),
    "minGRU, a in (-1, 1)": (COLORS["red"], (0, (5, 1)), "v"),
}


def _plot(ax, name, x, y, **kw):
    color, ls, marker = _STYLE.get(name, (COLORS["black"], "-", "o"))
    ax.plot(x, y, color=color, ls=ls, marker=marker, markersize=4, label=name, **kw)


def lstm_time_figure(lengths: Sequence[int], times: Mapping[str, np.ndarray]):
    """Forward + backward time against T on log-log axes, with a slope-one guide (time
    proportional to T)."""
    fig, ax = new_figure(figsize=(6.4, 3.8))
    lengths = np.asarray(lengths, dtype=float)
    for name, t in times.items():
        _plot(ax, name, lengths, 1000 * np.asarray(t))
    first = min(float(np.asarray(t)[0]) for t in times.values())
    ax.plot(lengths, 1000 * first * lengths / lengths[0], color=COLORS["grey"], lw=1, ls=":",
            label="time proportional to T")
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    ax.set_xlabel("sequence length T (steps)")
    ax.set_ylabel("forward + backward time (ms)")
    ax.set_title("An LSTM's time grows roughly in proportion to T")
    ax.legend(fontsize=8)
    return fig


def _hillis_steele_levels(T: int):
    d, levels = 1, []
    while d < T:
        levels.append([(t - d, t) for t in range(d, T)])
        d *= 2
    return levels


def _blelloch_levels(T: int):
    up, down, d = [], [], 1
    while d < T:
        up.append([(i - d, i) for i in range(2 * d - 1, T, 2 * d)])
        d *= 2
    d = T // 2
    while d >= 1:
        down.append([(i - d, i) for i in range(2 * d - 1, T, 2 * d)])
        d //= 2
    return up, down


def scan_diagram_figure(T: int = 8):
    """Which positions combine at each parallel step, for ``T`` (a power of two) positions:
    Hillis-Steele (left: every position at once, distance 1, 2, 4, ...) and Blelloch's
    up-sweep and down-sweep (right: a tree, half as many combines per level)."""
    if T < 2 or T & (T - 1):
        raise ValueError(f"T must be a power of two >= 2, got {T}")
    fig, axes = new_figure(1, 2, figsize=(10.0, 4.2))
    panels = [("Hillis-Steele: log2 T steps, about T log2 T combines",
               [("step", lv) for lv in _hillis_steele_levels(T)])]
    up, down = _blelloch_levels(T)
    panels.append(("Blelloch: up-sweep, then down-sweep, 2(T-1) combines",
                   [("up", lv) for lv in up] + [("down", lv) for lv in down]))
    for ax, (title, levels) in zip(axes, panels):
        n = len(levels)
        for row in range(n + 1):
            y = n - row
            ax.scatter(range(T), [y] * T, s=60, color="white", edgecolor=COLORS["black"], zorder=3)
        for row, (kind, pairs) in enumerate(levels):
            y0, y1 = n - row, n - row - 1
            color = COLORS["orange"] if kind in ("step", "up") else COLORS["blue"]
            for src, dst in pairs:
                ax.annotate("", xy=(dst, y1), xytext=(src, y0),
                            arrowprops=dict(arrowstyle="-|>", color=color, lw=1.2,
                                            shrinkA=5, shrinkB=5))
                if kind == "down":  # the down-sweep also moves the prefix to the left child
                    ax.annotate("", xy=(src, y1), xytext=(dst, y0),
                                arrowprops=dict(arrowstyle="-|>", color=COLORS["sky"], lw=1.0,
                                                ls="--", shrinkA=5, shrinkB=5))
            for t in range(T):  # positions not touched keep their value
                if t not in {d for _, d in pairs} and not (kind == "down" and t in {s for s, _ in pairs}):
                    ax.plot([t, t], [y0 - 0.12, y1 + 0.12], color=COLORS["grey"], lw=0.6, ls=":")
            ax.text(-0.7, (y0 + y1) / 2, kind if kind != "step" else f"d = {2 ** row}",
                    ha="right", va="center", fontsize=8)
        ax.spines["left"].set_visible(False)
        ax.set_xticks(range(T))
        ax.set_xticklabels([f"{t + 1}" for t in range(T)])
        ax.set_xlabel("position t")
        ax.set_yticks([])
        ax.set_xlim(-1.9, T - 0.5)
        ax.set_ylim(-0.5, n + 0.5)
        ax.grid(False)
        ax.set_title(title, fontsize=9.5)
    return fig


def scan_time_figure(results: Sequence):
    """One panel per width: seconds against T (log-log) for every method of :func:`scan_times`."""
    fig, axes = new_figure(1, len(results), figsize=(5.2 * len(results), 4.0), squeeze=False)
    for ax, res in zip(axes[0], results):
        for name, secs in res.seconds.items():
            _plot(ax, name, res.lengths, 1000 * secs)
        ax.set_xscale("log", base=2)
        ax.set_yscale("log")
        ax.set_xlabel("sequence length T (steps)")
        ax.set_ylabel("forward time (ms)")
        ax.set_title(f"{res.width} numbers per step")
    axes[0][0].legend(fontsize=8)
    return fig


def fading_figure(a_one: float = 0.8, b_one: float = 1.0, steps: int = 24):
    """The state of one positive-coefficient unit fed only ones, ``h_k = a h_{k-1} + b``, next to
    the sign-flipping unit ``a = -1``: the first settles to a fixed point, so even and odd
    counts become indistinguishable; the second alternates for ever."""
    k = np.arange(steps + 1)
    h_pos = b_one * (1 - a_one ** k) / (1 - a_one)
    h_neg = (-1.0) ** k
    fig, ax = new_figure(figsize=(6.4, 3.4))
    ax.plot(k, h_pos, color=COLORS["green"], marker="^", ls="-.",
            label=f"a = {a_one:g}, b = {b_one:g}: settles at b / (1 - a) = {b_one / (1 - a_one):g}")
    ax.plot(k, h_neg, color=COLORS["red"], marker="v", ls="--", label="a = -1, b = 0, h0 = 1")
    ax.set_xlabel("number of ones read so far")
    ax.set_ylabel("state h")
    ax.set_title("With 0 < a < 1 the state forgets whether the count is even; a = -1 does not")
    ax.legend(fontsize=8)
    return fig


def parity_figure(accuracies: Mapping[str, Mapping[int, float]], train_length: int):
    """Final-step parity accuracy against the stream length, one line per model, with the
    training length and chance (0.5) marked."""
    fig, ax = new_figure(figsize=(6.8, 3.8))
    for name, acc in accuracies.items():
        _plot(ax, name, list(acc), [100 * v for v in acc.values()])
    ax.axhline(50, color=COLORS["grey"], ls="--", lw=1, label="chance")
    ax.axvline(train_length, color=COLORS["black"], ls=":", lw=1, label="training length")
    ax.set_xscale("log", base=2)
    ax.set_ylim(30, 105)
    ax.set_xlabel("stream length (bits)")
    ax.set_ylabel("parity at the last bit, accuracy (%)")
    ax.set_title("Parity beyond the training length")
    ax.legend(fontsize=8, loc="lower left")
    return fig


def char_figure(results: Sequence, reference: Mapping[str, float] | None = None):
    """Held-out bits per character against the optimizer step (left) and against the training
    time of this run (right)."""
    fig, axes = new_figure(1, 2, figsize=(10.0, 3.8), sharey=True)
    for r in results:
        steps, bpc = r.history.metric("val_bpc")
        secs = [e["time"] for e in r.history.evals if "val_bpc" in e]
        _plot(axes[0], r.name, steps, bpc)
        _plot(axes[1], r.name, secs, bpc)
    for ax in axes:
        for label, value in (reference or {}).items():
            ax.axhline(value, color=COLORS["grey"], ls="--", lw=1)
            ax.text(ax.get_xlim()[1], value, f" {label}", va="bottom", ha="right", fontsize=8,
                    color=COLORS["grey"])
    axes[0].set_xlabel("optimizer step (64 x 32 characters each)")
    axes[1].set_xlabel("training time in this run (s)")
    axes[0].set_ylabel("held-out bits per character")
    axes[0].legend(fontsize=8)
    axes[0].set_title("Per step")
    axes[1].set_title("Per second of this CPU")
    return fig
