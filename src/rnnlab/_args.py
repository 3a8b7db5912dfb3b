"""Argument checks shared by every part of the package (pure Python: importable anywhere).

The one integer checker: ``rnnlab.data``, ``rnnlab.viz``, ``rnnlab.scratch`` and ``rnnlab.modules``
all call :func:`check_int`; the layers ask for torch.nn's words (``torch_words=True``).
"""
from __future__ import annotations

import numbers


def check_int(name: str, value, low: int, high: int | None = None, *, torch_words: bool = False,
              numpy_ints: bool = True) -> int:
    """``value`` as an ``int`` in ``[low, high]`` (``high=None``: no upper bound).

    ``TypeError`` naming ``name`` for a non-integer (a ``bool`` included), ``ValueError`` for one
    out of range. ``numpy_ints=False`` accepts only a Python ``int`` (as ``torch.nn``'s
    constructors do). ``torch_words=True`` starts the messages with ``torch.nn``'s own words
    ("hidden_size should be of type int, got: str", "hidden_size must be greater than zero").
    """
    if isinstance(value, bool) or not isinstance(value, numbers.Integral if numpy_ints else int):
        got = type(value).__name__
        raise TypeError(f"{name} should be of type int, got: {got}" if torch_words
                        else f"{name} must be an int, got {got}")
    value = int(value)
    if value < low or (high is not None and value > high):
        if torch_words and low == 1 and high is None:
            expected = "greater than zero"
        else:
            expected = f">= {low}" if high is None else f"in [{low}, {high}]"
        raise ValueError(f"{name} must be {expected}, got {value}")
    return value
