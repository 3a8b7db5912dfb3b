"""Helpers shared by the check modules (drawing inputs; the gated cells' sigmoid and sizes;
naming a mistake only where it differs from the reference).
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


def _case_sizes(rng, k):
    """N, I, H of case ``k``: case 0 has one sequence (N = 1), case 1 one unit (H = 1), so that an
    answer that squeezes or flattens a size-1 axis returns the wrong shape; the others as drawn
    (H different from N and I there, so transposed weights have the wrong shape)."""
    N, I, H = _sizes(rng)
    if k == 0:
        return 1, I, H
    if k == 1:
        return N, I, 1
    return N, I, H


def _agree(a, b):
    """``a`` and ``b`` hold the same values (to 1e-12): a mistake that gives the reference's
    answer."""
    if isinstance(a, (tuple, list)) or isinstance(b, (tuple, list)):
        return (isinstance(a, (tuple, list)) and isinstance(b, (tuple, list)) and len(a) == len(b)
                and all(_agree(x, y) for x, y in zip(a, b)))
    a, b = np.asarray(a), np.asarray(b)
    with np.errstate(all="ignore"):
        return a.shape == b.shape and bool(np.allclose(a, b, rtol=1e-12, atol=1e-12,
                                                       equal_nan=True))


def _where_it_differs(mistakes, reference):
    """``mistakes`` whose functions return ``None`` (which matches no answer) on a case where the
    mistake gives the reference's answer (one layer, where stacking mistakes vanish; the tie rule
    on a case without ties): the grader names a mistake only where it reproduces a wrong answer,
    so that an answer that is off by float32 rounding gets the float32 diagnosis rather than the
    name of a mistake that, on that case, equals the reference."""
    def wrap(wrong):
        def on_differing_cases(*args):
            out = wrong(*args)
            return None if _agree(out, reference(*args)) else out
        return on_differing_cases
    return {description: wrap(wrong) for description, wrong in mistakes.items()}
