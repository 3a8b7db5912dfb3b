"""One place for the colours, fonts and sizes of every figure in the book.

The palette is Okabe & Ito's colour-blind-safe set; every series also differs in line style or
marker so that figures survive greyscale printing. Backgrounds stay transparent-free white so that
figures stay readable in the book theme's dark mode.
"""
from __future__ import annotations

import matplotlib
from cycler import cycler

COLORS = {
    "blue": "#0072B2",
    "orange": "#E69F00",
    "green": "#009E73",
    "red": "#D55E00",
    "purple": "#CC79A7",
    "sky": "#56B4E9",
    "yellow": "#F0E442",
    "black": "#000000",
    "grey": "#7F7F7F",
}
#: Order in which series take colours, and the line styles that pair with them.
CYCLE = ["blue", "orange", "green", "red", "purple", "sky", "black"]
LINESTYLES = ["-", "--", "-.", ":", (0, (5, 1)), (0, (3, 1, 1, 1)), (0, (1, 1))]

RC = {
    "figure.figsize": (6.4, 3.6),
    "figure.dpi": 100,
    "savefig.dpi": 100,
    "figure.facecolor": "white",
    "axes.facecolor": "white",
    "savefig.facecolor": "white",
    "font.size": 10,
    "axes.titlesize": 11,
    "axes.labelsize": 10,
    "legend.fontsize": 9,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "image.cmap": "viridis",
    "svg.hashsalt": "rnnlab",  # deterministic SVG ids
}


def apply_style() -> None:
    """Set matplotlib's rcParams to the book's style (idempotent)."""
    matplotlib.rcParams.update(RC)
    matplotlib.rcParams["axes.prop_cycle"] = cycler(
        color=[COLORS[c] for c in CYCLE], linestyle=LINESTYLES
    )


def new_figure(nrows: int = 1, ncols: int = 1, **kwargs):
    """``plt.subplots`` in the book's style; returns ``(fig, axes)``."""
    # deferred: pyplot fixes its backend when first imported; importing rnnlab.viz must leave that
    # choice to the caller (Jupyter's inline backend, or Agg set by a script first)
    import matplotlib.pyplot as plt

    apply_style()
    kwargs.setdefault("constrained_layout", True)
    return plt.subplots(nrows, ncols, **kwargs)
