"""Diagram primitives: the labelled box and the arrow every schematic of the book is drawn with.

A schematic (the unrolled RNN, the BPTT graph, the LSTM and GRU cells, the bidirectional RNN,
the four sequence mappings, the chapter map, ...) is boxes and arrows in data coordinates on an
axis cleared by :func:`blank`. A *look* (:data:`LOOKS`) sets every option of a box and an arrow at
once; an option given to :func:`box` or :func:`arrow` overrides its look:

- ``"cell"`` (the default): chapters 1-4, filled boxes with black outlines and black arrows;
- ``"outline"``: chapter 5, boxes outlined in a colour (``edgecolor``) with pale fills;
- ``"node"``: chapter 6, small square cells and grey arrows that stop short of their ends;
- ``"page"``: the chapter map, white boxes with rounder corners and spaced lines of text.
"""
from __future__ import annotations

from typing import Any, Mapping, NamedTuple

from matplotlib.patches import FancyArrowPatch, FancyBboxPatch

from rnnlab.viz.style import COLORS

__all__ = ["BOX_W", "BOX_H", "Look", "LOOKS", "box", "arrow", "state_line", "blank"]

BOX_W, BOX_H = 0.9, 0.62  # the default box: one state or one input of an unrolled network


class Look(NamedTuple):
    """The options of a box and of an arrow in one look of the book's schematics."""

    box: Mapping[str, Any]
    arrow: Mapping[str, Any]


_CELL = Look(
    box=dict(w=BOX_W, h=BOX_H, edgecolor=COLORS["black"], lw=1.4, ls="-",
             boxstyle="round,pad=0.04", fontsize=11, textcolor=None, linespacing=None, zorder=2),
    arrow=dict(color=COLORS["black"], lw=1.4, ls="-", arrowstyle="-|>", mutation_scale=12,
               connectionstyle="arc3", shrink=0.0, zorder=1, fontsize=10, label_pad=0.1,
               label_alpha=0.9),
)

#: The looks by name: ``Look(box=options, arrow=options)``.
LOOKS: dict[str, Look] = {
    "cell": _CELL,
    "outline": Look(
        box={**_CELL.box, "w": 0.62, "h": 0.42, "lw": 1.6, "textcolor": "black", "zorder": 3,
             "boxstyle": "round,pad=0.02,rounding_size=0.08"},
        arrow={**_CELL.arrow, "mutation_scale": 11, "zorder": 2, "fontsize": 9,
               "label_pad": 0.08, "label_alpha": None},
    ),
    "node": Look(
        box={**_CELL.box, "w": 0.36, "h": 0.36, "fontsize": 8, "zorder": 3,
             "boxstyle": "round,pad=0.02,rounding_size=0.06"},
        arrow={**_CELL.arrow, "color": "0.35", "lw": 1.0, "mutation_scale": 8, "shrink": 9,
               "zorder": 2},
    ),
    "page": Look(
        box={**_CELL.box, "w": 1.75, "h": 0.82, "lw": 1.8, "fontsize": 10, "textcolor": "black",
             "linespacing": 1.15, "zorder": 3, "boxstyle": "round,pad=0.02,rounding_size=0.12"},
        arrow={**_CELL.arrow, "lw": 1.5, "mutation_scale": 13, "zorder": 2},
    ),
}


def _options(look: str, part: str, given: dict) -> dict:
    """The look's options for ``part`` (``"box"`` or ``"arrow"``), overridden by those ``given``
    (``None``: take the look's); ``dashed=True`` sets the line style ``"--"``."""
    if look not in LOOKS:
        raise ValueError(f"look must be one of {sorted(LOOKS)}, got {look!r}")
    dashed = given.pop("dashed")
    options = {**getattr(LOOKS[look], part), **{k: v for k, v in given.items() if v is not None}}
    if dashed:
        options["ls"] = "--"
    return options


def box(ax, x, y, text="", facecolor="white", *, look="cell", w=None, h=None, edgecolor=None,
        lw=None, ls=None, dashed=False, boxstyle=None, fontsize=None, textcolor=None,
        linespacing=None, zorder=None):
    """A ``w`` x ``h`` rounded box centred at ``(x, y)``, filled with ``facecolor``, with ``text``
    in its middle.

    Options left ``None`` come from the ``look`` (:data:`LOOKS`); ``dashed``: a dashed outline.
    ``textcolor``/``linespacing`` ``None`` in the look: matplotlib's defaults. The text lies one
    ``zorder`` above its box. Returns the box patch.
    """
    o = _options(look, "box", dict(w=w, h=h, edgecolor=edgecolor, lw=lw, ls=ls, dashed=dashed,
                                   boxstyle=boxstyle, fontsize=fontsize, textcolor=textcolor,
                                   linespacing=linespacing, zorder=zorder))
    w, h = o["w"], o["h"]
    patch = FancyBboxPatch((x - w / 2, y - h / 2), w, h, boxstyle=o["boxstyle"],
                           linewidth=o["lw"], linestyle=o["ls"], edgecolor=o["edgecolor"],
                           facecolor=facecolor, zorder=o["zorder"])
    ax.add_patch(patch)
    ax.text(x, y, text, ha="center", va="center", fontsize=o["fontsize"], color=o["textcolor"],
            linespacing=o["linespacing"], zorder=o["zorder"] + 1)
    return patch


def arrow(ax, start, end, label=None, *, look="cell", color=None, lw=None, ls=None, dashed=False,
          arrowstyle=None, mutation_scale=None, connectionstyle=None, shrink=None, zorder=None,
          label_offset=(0.0, 0.0), fontsize=None, label_pad=None, label_alpha=None):
    """An arrow from ``start`` to ``end`` (data coordinates), with an optional ``label`` at its
    middle (moved by ``label_offset``) on a white patch, three ``zorder`` above the arrow.

    Options left ``None`` come from the ``look`` (:data:`LOOKS`); ``dashed``: a dashed line.
    ``shrink``: points left free at both ends (0: the arrow touches both points). Returns the
    arrow patch.
    """
    o = _options(look, "arrow", dict(color=color, lw=lw, ls=ls, dashed=dashed,
                                     arrowstyle=arrowstyle, mutation_scale=mutation_scale,
                                     connectionstyle=connectionstyle, shrink=shrink, zorder=zorder,
                                     fontsize=fontsize, label_pad=label_pad,
                                     label_alpha=label_alpha))
    patch = FancyArrowPatch(start, end, arrowstyle=o["arrowstyle"],
                            mutation_scale=o["mutation_scale"], color=o["color"],
                            linestyle=o["ls"], connectionstyle=o["connectionstyle"],
                            linewidth=o["lw"], zorder=o["zorder"], shrinkA=o["shrink"],
                            shrinkB=o["shrink"])
    ax.add_patch(patch)
    if label:
        mx = (start[0] + end[0]) / 2 + label_offset[0]
        my = (start[1] + end[1]) / 2 + label_offset[1]
        ax.text(mx, my, label, ha="center", va="center", fontsize=o["fontsize"], color=o["color"],
                zorder=o["zorder"] + 3,
                bbox=dict(boxstyle=f"round,pad={o['label_pad']}", facecolor="white",
                          edgecolor="none", alpha=o["label_alpha"]))
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
