"""Diagram primitives: the labelled box and the arrow every schematic of the book is drawn with.

A schematic (the unrolled RNN, the BPTT graph, the LSTM and GRU cells, the bidirectional RNN,
the chapter map, ...) is boxes and arrows in data coordinates on an axis cleared by :func:`blank`.
Each chapter passes the options of its own look (outline or fill colour, line width, rounding);
the defaults are those of chapters 1-4.
"""
from __future__ import annotations

from matplotlib.patches import FancyArrowPatch, FancyBboxPatch

from rnnlab.viz.style import COLORS

__all__ = ["BOX_W", "BOX_H", "box", "arrow", "state_line", "blank"]

BOX_W, BOX_H = 0.9, 0.62  # the default box: one state or one input of an unrolled network


def box(ax, x, y, text="", facecolor="white", *, w=BOX_W, h=BOX_H, edgecolor=COLORS["black"],
        lw=1.4, ls="-", boxstyle="round,pad=0.04", fontsize=11, textcolor=None, linespacing=None,
        zorder=2):
    """A ``w`` x ``h`` rounded box centred at ``(x, y)`` with ``text`` in its middle.

    ``textcolor``/``linespacing`` ``None``: matplotlib's defaults. The text lies one ``zorder``
    above its box. Returns the box patch.
    """
    patch = FancyBboxPatch((x - w / 2, y - h / 2), w, h, boxstyle=boxstyle, linewidth=lw,
                           linestyle=ls, edgecolor=edgecolor, facecolor=facecolor, zorder=zorder)
    ax.add_patch(patch)
    ax.text(x, y, text, ha="center", va="center", fontsize=fontsize, color=textcolor,
            linespacing=linespacing, zorder=zorder + 1)
    return patch


def arrow(ax, start, end, label=None, *, color=COLORS["black"], lw=1.4, ls="-",
          arrowstyle="-|>", mutation_scale=12, connectionstyle="arc3", shrink=0.0, zorder=1,
          label_offset=(0.0, 0.0), fontsize=10, label_pad=0.1, label_alpha=0.9):
    """An arrow from ``start`` to ``end`` (data coordinates), with an optional ``label`` at its
    middle (moved by ``label_offset``) on a white patch, three ``zorder`` above the arrow.

    ``shrink``: points left free at both ends (0: the arrow touches both points). Returns the
    arrow patch.
    """
    patch = FancyArrowPatch(start, end, arrowstyle=arrowstyle, mutation_scale=mutation_scale,
                            color=color, linestyle=ls, connectionstyle=connectionstyle,
                            linewidth=lw, zorder=zorder, shrinkA=shrink, shrinkB=shrink)
    ax.add_patch(patch)
    if label:
        mx = (start[0] + end[0]) / 2 + label_offset[0]
        my = (start[1] + end[1]) / 2 + label_offset[1]
        ax.text(mx, my, label, ha="center", va="center", fontsize=fontsize, color=color,
                zorder=zorder + 3, bbox=dict(boxstyle=f"round,pad={label_pad}", facecolor="white",
                                             edgecolor="none", alpha=label_alpha))
    return patch


def state_line(ax, y, times_x, plus_x, before, after, *, start=-0.4, end=9.3,
               facecolor=COLORS["sky"]):
    """The state line along the top of a gated cell: the old state ``before`` enters at ``start``,
    is multiplied (a gate) at ``times_x``, added to at ``plus_x``, and leaves as ``after`` at
    ``end``."""
    arrow(ax, (start, y), (times_x - 0.25, y), lw=2.2)
    ax.text(start, y + 0.25, before, fontsize=12)
    box(ax, times_x, y, r"$\times$", facecolor, w=0.5, h=0.5)
    arrow(ax, (times_x + 0.25, y), (plus_x - 0.25, y), lw=2.2)
    box(ax, plus_x, y, r"$+$", facecolor, w=0.5, h=0.5)
    arrow(ax, (plus_x + 0.25, y), (end, y), lw=2.2)
    ax.text(end - 0.4, y + 0.25, after, fontsize=12)


def blank(ax):
    """Prepare ``ax`` for a schematic: no axes, equal scales, no grid."""
    ax.set_axis_off()
    ax.set_aspect("equal")
    ax.grid(False)
