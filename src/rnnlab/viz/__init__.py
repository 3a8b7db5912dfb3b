"""The book's figures and widgets. One style for every figure lives in :mod:`rnnlab.viz.style`."""
from rnnlab.viz.style import COLORS, apply_style, new_figure

__all__ = ["COLORS", "apply_style", "new_figure"]
