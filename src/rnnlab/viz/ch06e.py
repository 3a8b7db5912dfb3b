"""Figures of chapter 6e: the encoder–decoder with and without attention.

- :func:`length_figure` — exact match against source length, mean and spread over seeds.
- :func:`alignment_heatmap` / :func:`heatmap_grid` — attention weight of every output symbol over
  the source symbols.
- :func:`draw_attention` — the picture of one decoder step reading the encoder's states.

The experiment runners (the length experiment, decoding, the attention maps and the cost counts)
are in :mod:`rnnlab.experiments.ch06e`.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np

from rnnlab.viz import diagram
from rnnlab.viz.style import COLORS, new_figure

__all__ = ["length_figure", "alignment_heatmap", "heatmap_grid", "draw_attention"]


# ----------------------------------------------------------------------------- figures
def length_figure(result, *, title: str = "", ax=None):
    """Exact match against source length (a :class:`rnnlab.experiments.ch06e.LengthResult`): the
    mean over seeds (markers and line) and the range
    from the worst to the best seed (shaded band), one series per model."""
    if ax is None:
        fig, ax = new_figure(figsize=(6.4, 3.6))
    else:
        fig = ax.figure
    lo, hi = result.edges[:-1], result.edges[1:] - 1
    centres = (lo + hi) / 2
    styles = [("grey", "s", "--"), ("blue", "o", "-"), ("orange", "^", "-."), ("green", "D", ":")]
    for (name, values), (color, marker, ls) in zip(result.exact.items(), styles):
        ax.fill_between(centres, values.min(0), values.max(0), color=COLORS[color], alpha=0.2,
                        linewidth=0)
        ax.plot(centres, values.mean(0), color=COLORS[color], marker=marker, linestyle=ls,
                label=f"{name} ({len(result.seeds)} seeds)")
    ax.set_xlabel("source length (symbols; bin centres)")
    ax.set_ylabel("exact match (greedy)")
    ax.set_ylim(-0.03, 1.03)
    ax.legend(loc="center right", fontsize=8)
    if title:
        ax.set_title(title)
    return fig


def alignment_heatmap(weights, source: str, output: str, *, ax=None, title: str = "",
                      colorbar: bool = True):
    """``weights`` (U, S): the attention weight of output symbol ``u`` (row) on source symbol
    ``s`` (column), drawn as an image with the symbols as tick labels."""
    weights = np.asarray(weights, dtype=float)
    if weights.ndim != 2:
        raise ValueError(f"weights must have shape (U, S), got {weights.shape}")
    if ax is None:
        fig, ax = new_figure(figsize=(6.0, 4.0))
    else:
        fig = ax.figure
    U, S = weights.shape
    image = ax.imshow(weights, cmap="Greys", vmin=0.0, vmax=1.0, aspect="auto",
                      interpolation="nearest")
    ax.grid(False)
    src_labels = list(source)[:S] + [""] * max(0, S - len(source))
    out_labels = (list(output) + ["<eos>"])[:U]
    out_labels += [""] * (U - len(out_labels))
    step = max(1, S // 30)
    ax.set_xticks(range(0, S, step), src_labels[::step], fontsize=7)
    ax.set_yticks(range(0, U, step), out_labels[::step], fontsize=7)
    ax.set_xlabel("source symbol (encoder state attended to)")
    ax.set_ylabel("output symbol")
    if title:
        ax.set_title(title, fontsize=9)
    if colorbar:
        fig.colorbar(image, ax=ax, label="attention weight", shrink=0.8)
    return fig


def heatmap_grid(panels: Sequence[tuple], *, ncols: int = 2, size: tuple[float, float] = (4.2, 3.6)):
    """Several heatmaps side by side: ``panels`` holds ``(weights, source, output, title)``."""
    n = len(panels)
    nrows = -(-n // ncols)
    fig, axes = new_figure(nrows, ncols, figsize=(size[0] * ncols, size[1] * nrows), squeeze=False)
    for ax, (weights, source, output, title) in zip(axes.flat, panels):
        alignment_heatmap(weights, source, output, ax=ax, title=title, colorbar=False)
    for ax in list(axes.flat)[n:]:
        ax.set_visible(False)
    image = axes.flat[0].images[0]
    fig.colorbar(image, ax=list(axes.flat)[:n], label="attention weight", shrink=0.8)
    return fig


def draw_attention(weights: Sequence[float] = (0.05, 0.1, 0.7, 0.1, 0.05)):
    """One decoder step reading the encoder: the states h^e_1..h^e_S, their weights alpha_s (bar
    heights), the context as their weighted sum, and the decoder state that asked."""
    w = np.asarray(weights, dtype=float)
    S = len(w)
    fig, ax = new_figure(figsize=(7.0, 3.3))
    ax.set_axis_off()
    ax.set_xlim(-0.8, S + 2.6)
    ax.set_ylim(-1.4, 3.0)

    def box(x, y, text, color, fill="white"):
        diagram.box(ax, x, y, text, fill, edgecolor=color, w=0.64, h=0.5, fontsize=9, zorder=3,
                    boxstyle="round,pad=0.03")

    def arrow(a, b, color="0.35", lw=1.0):
        diagram.arrow(ax, a, b, color=color, lw=lw, mutation_scale=9, shrink=11, zorder=2)

    for s in range(S):
        box(s, 0.0, f"$h^e_{s + 1}$", COLORS["blue"], "#e8f1fa")
        if s:
            arrow((s - 1, 0.0), (s, 0.0))
        ax.bar(s, 0.9 * w[s] / w.max(), bottom=0.45, width=0.5, color=COLORS["orange"], zorder=1)
        ax.text(s, 0.5 + 0.9 * w[s] / w.max(), f"{w[s]:.2f}", ha="center", va="bottom", fontsize=8)
        arrow((s, 0.3), (S + 0.9, 2.3), color=COLORS["orange"], lw=0.6 + 3 * w[s])
    ax.text(-0.7, 0.9, r"$\alpha_{us}$", fontsize=10, color=COLORS["orange"])
    box(S + 0.9, 2.3, r"$\bar v_u$", COLORS["orange"], "#fdf3e1")
    box(S + 0.9, -0.9, f"$h^d_u$", COLORS["green"], "#e6f5ef")
    arrow((S + 0.9, -0.9), (S + 0.9, 2.3), color=COLORS["green"])
    ax.text(S + 1.25, 0.7, "query:\nscore every\n$h^e_s$", fontsize=8, color=COLORS["green"],
            va="center")
    ax.text(-0.4, -0.75, "encoder states (keys and values), computed once per source",
            fontsize=8, color=COLORS["blue"])
    ax.set_title("One decoder step: score, softmax over the source, weighted average", loc="left")
    return fig
