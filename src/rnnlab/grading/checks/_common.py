"""Helpers shared by the check modules (drawing inputs; the gated cells' sigmoid and sizes).
Lists no exercises: checks/__init__.py collects EXERCISES from the chNN modules only."""
from __future__ import annotations

import numpy as np

from rnnlab.scratch import sigmoid as _sigmoid  # noqa: F401  (the course's one sigmoid)


def _normal(rng, *shape, scale=0.5):
    return scale * rng.standard_normal(shape)


def _sizes(rng):
    """N, I, H with H different from N and from I, so transposed weights have the wrong shape."""
    N, I = (int(v) for v in rng.integers([2, 2], [5, 5]))
    H = max(N, I) + int(rng.integers(1, 3))
    return N, I, H
