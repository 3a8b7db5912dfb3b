"""The book's figures and widgets: each function takes results (or a model) and returns a figure or
a widget; the runs themselves are in :mod:`rnnlab.experiments`. One style for every figure lives in
:mod:`rnnlab.viz.style`."""
from rnnlab.viz.style import COLORS, apply_style, new_figure

__all__ = ["COLORS", "apply_style", "new_figure"]
