"""Argument checks shared by ``rnnlab.data`` and ``rnnlab.viz`` (pure Python: importable anywhere).

``rnnlab.modules`` has its own (``modules/_errors.py``), which repeat ``torch.nn``'s messages.
"""
from __future__ import annotations

import numbers


def check_int(name: str, value, low: int, high: int | None = None) -> int:
    """``value`` as an ``int`` in ``[low, high]`` (``high=None``: no upper bound).

    ``TypeError`` naming ``name`` for a non-integer (a ``bool`` included), ``ValueError`` for one
    out of range."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an int, got {type(value).__name__}")
    value = int(value)
    if value < low or (high is not None and value > high):
        expected = f">= {low}" if high is None else f"in [{low}, {high}]"
        raise ValueError(f"{name} must be {expected}, got {value}")
    return value
