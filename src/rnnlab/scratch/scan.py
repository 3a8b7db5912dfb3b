r"""Linear recurrences :math:`h_t = a_t \odot h_{t-1} + b_t` and the scans that compute them.

Sizes: T time steps, then any trailing shape S (``(N, H)`` for a layer): ``a`` and ``b`` are
``(T, *S)``, the initial state ``h0`` is ``S`` (zeros when omitted), the result ``h`` is
``(T, *S)`` and holds :math:`h_1, \dots, h_T` (not :math:`h_0`). Everything is elementwise in S.

One step is the affine map :math:`e_t: h \mapsto a_t h + b_t`, stored as the pair
:math:`(a_t, b_t)`. Applying :math:`e_1` and then :math:`e_2` is again an affine map,

.. math::

    (a_1, b_1) \circ (a_2, b_2) = (a_1 a_2,\; a_2 b_1 + b_2)
    \qquad\text{(first } e_1\text{, then } e_2\text{)},

and composition of maps is associative, so the prefixes
:math:`e_1 \circ e_2 \circ \dots \circ e_t` can be computed in any bracketing: that is a *scan*.

- :func:`scan_sequential` the loop, T dependent steps, T combines;
- :func:`scan_hillis_steele` Hillis & Steele (1986): :math:`\lceil \log_2 T \rceil` steps of
  independent combines, about :math:`T \log_2 T` combines of work;
- :func:`scan_blelloch` Blelloch (1990): an up-sweep and a down-sweep over a balanced tree,
  :math:`2 \log_2 T` steps, :math:`2(n-1)` combines for T padded to a power of two n
  (work-efficient: O(T), like the loop);
- :func:`scan_log` Heinsen (2023): :math:`\log h_t = a^*_t + \operatorname{logcumsumexp}(\log b - a^*)`
  with :math:`a^* = \operatorname{cumsum}(\log a)`, two prefix sums in log space (needs
  :math:`a > 0`; negative :math:`b` is handled by linearity, :math:`h = h^+ - h^-`);
- :func:`scan_cumprod` the same closed form in linear space, :math:`h_t = A_t (h_0 + \sum_{s \le t}
  b_s / A_s)` with :math:`A_t = \prod_{s \le t} a_s`, kept to show how it fails: :math:`b_s / A_s`
  overflows to inf while :math:`A_t` is still tiny but nonzero, after a few hundred steps;
- :func:`scan_backward` the gradient: the same recurrence run backwards in time,
  :math:`g_t = a_{t+1} g_{t+1} + \bar h_t`, then :math:`\bar b_t = g_t`,
  :math:`\bar a_t = g_t h_{t-1}`, :math:`\bar h_0 = a_1 g_1`.

:func:`scan_cost` gives the number of parallel steps and of combines of each method. numpy only.
"""
from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np

from rnnlab.scratch._validate import float_array

__all__ = [
    "combine", "scan_sequential", "scan_hillis_steele", "scan_blelloch", "scan_log",
    "scan_cumprod", "scan_backward", "linear_scan", "scan_cost", "ScanCost", "SCAN_METHODS",
]


def combine(first, second):
    r"""The scan's operator: the affine map "``first``, then ``second``".

    ``first = (a1, b1)`` and ``second = (a2, b2)`` stand for :math:`h \mapsto a_1 h + b_1` and
    :math:`h \mapsto a_2 h + b_2`; the result is :math:`(a_1 a_2, a_2 b_1 + b_2)`. Associative,
    not commutative: the order of the arguments is the order in time.
    """
    a1, b1 = first
    a2, b2 = second
    return a1 * a2, a2 * b1 + b2


# ----------------------------------------------------------------------------- argument checks
def _args(a: Any, b: Any, h0: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    b = float_array(b, "b")
    a = float_array(a, "a", b.dtype)
    if a.ndim < 1 or a.shape[0] == 0:
        raise ValueError(f"a must have a time axis first, shape (T, ...) with T >= 1, got {a.shape}")
    if a.shape != b.shape:
        raise ValueError(f"a and b must have the same shape (T, ...), got a {a.shape} and b {b.shape}")
    if h0 is None:
        h0 = np.zeros(a.shape[1:], dtype=a.dtype)
    else:
        h0 = float_array(h0, "h0", a.dtype)
        if h0.shape != a.shape[1:]:
            raise ValueError(
                f"h0 must have the shape of one step, a.shape[1:] = {a.shape[1:]}, got {h0.shape}"
            )
    return a, b, h0


def _fold_h0(a: np.ndarray, b: np.ndarray, h0: np.ndarray) -> np.ndarray:
    """``b`` with the initial state folded into its first step: :math:`b_1 + a_1 h_0`."""
    b = b.copy()
    b[0] += a[0] * h0
    return b


# ----------------------------------------------------------------------------- the scans
def scan_sequential(a, b, h0=None) -> np.ndarray:
    """The loop: ``h[t] = a[t] * h[t-1] + b[t]``, one step after the other."""
    a, b, h0 = _args(a, b, h0)
    h = np.empty_like(b)
    prev = h0
    for t in range(a.shape[0]):
        prev = h[t] = a[t] * prev + b[t]
    return h


def scan_hillis_steele(a, b, h0=None) -> np.ndarray:
    r"""Inclusive scan of Hillis & Steele (1986): at step :math:`k` every position :math:`t \ge d`
    (:math:`d = 2^k`) combines the prefix ending :math:`d` earlier with its own,
    ``(A, B)[t] = (A, B)[t - d] ∘ (A, B)[t]``. After :math:`\lceil\log_2 T\rceil` steps position
    :math:`t` holds :math:`e_1 \circ \dots \circ e_t`, whose ``B`` is :math:`h_t`."""
    a, b, h0 = _args(a, b, h0)
    A, B = a.copy(), _fold_h0(a, b, h0)
    T, d = a.shape[0], 1
    while d < T:
        # every position t >= d at once; the right-hand side is read before anything is written
        A[d:], B[d:] = combine((A[:-d], B[:-d]), (A[d:], B[d:]))
        d *= 2
    return B


def scan_blelloch(a, b, h0=None) -> np.ndarray:
    r"""Work-efficient scan of Blelloch (1990) on a balanced binary tree.

    The sequence is padded to a power of two :math:`n` with the identity map (1, 0). Up-sweep: at
    level :math:`k` each node at positions :math:`i = 2^{k+1} m - 1` becomes the combination of its
    left child (:math:`i - 2^k`) and itself, so the last position ends up with the whole sequence.
    Down-sweep: the root is replaced by the identity, and at each level, from the top, a node passes
    its prefix to its left child and hands (prefix ∘ left subtree) to its right child. That gives the
    *exclusive* prefixes :math:`e_1 \circ \dots \circ e_{t-1}`; the exclusive prefix of position
    :math:`t + 1` is the inclusive prefix of :math:`t`, and the root's total (kept before the
    down-sweep) is the last one. :math:`2(n-1)` combines in :math:`2 \log_2 n` steps.
    """
    a, b, h0 = _args(a, b, h0)
    T = a.shape[0]
    n = 1 << (T - 1).bit_length()  # next power of two
    A = np.ones((n,) + a.shape[1:], dtype=a.dtype)
    B = np.zeros((n,) + a.shape[1:], dtype=a.dtype)
    A[:T], B[:T] = a, _fold_h0(a, b, h0)
    d = 1
    while d < n:  # up-sweep (reduce)
        right = slice(2 * d - 1, n, 2 * d)
        left = slice(d - 1, n, 2 * d)
        A[right], B[right] = combine((A[left], B[left]), (A[right], B[right]))
        d *= 2
    total = B[n - 1].copy()  # e_1 ∘ ... ∘ e_n: its B is h_n
    A[n - 1], B[n - 1] = 1.0, 0.0  # identity at the root
    d = n // 2
    while d >= 1:  # down-sweep
        right = slice(2 * d - 1, n, 2 * d)
        left = slice(d - 1, n, 2 * d)
        left_a, left_b = A[left].copy(), B[left].copy()  # the left subtree's total
        A[left], B[left] = A[right], B[right]  # the left child gets the parent's prefix
        A[right], B[right] = combine((A[right], B[right]), (left_a, left_b))
        d //= 2
    # exclusive prefix of position t+1 = inclusive prefix of position t; the root held the last
    h = np.concatenate([B[1:], total[None]])[:T]
    return h


def _check_log_domain(a: np.ndarray) -> None:
    if not np.all(a > 0):
        bad = np.argwhere(~(a > 0))[0]
        raise ValueError(
            "a must be positive for the log-space scan (log a is undefined for a <= 0): "
            f"a[{', '.join(map(str, bad))}] = {float(a[tuple(bad)])!r}. Use scan_sequential, "
            "scan_hillis_steele or scan_blelloch for coefficients that can be zero or negative"
        )


def _log_positive_part(x: np.ndarray) -> np.ndarray:
    """log(max(x, 0)) with log 0 = -inf and no warning."""
    with np.errstate(divide="ignore"):
        return np.log(np.maximum(x, 0.0))


def scan_log(a, b, h0=None) -> np.ndarray:
    r"""The linear recurrence in log space (Heinsen 2023), for :math:`a > 0`.

    With :math:`a^*_t = \sum_{s \le t} \log a_s` (and :math:`a^*_0 = 0`),
    :math:`h_t = e^{a^*_t} \big(h_0 + \sum_{s=1}^t b_s e^{-a^*_s}\big)`, so for positive
    :math:`b` and :math:`h_0`

    .. math::

        \log h_t = a^*_t + \operatorname{logcumsumexp}_{s \le t}\big(\log b_s - a^*_s\big),

    two prefix sums (``cumsum`` and ``logaddexp.accumulate``) and no product that can underflow.
    Signs: the recurrence is linear in :math:`(b, h_0)`, so :math:`h = h^+ - h^-` where
    :math:`h^\pm` are run with the positive and the negative parts of :math:`b` and :math:`h_0`
    (log 0 = -inf is fine in ``logaddexp``). The coefficients :math:`a` must be positive.
    """
    a, b, h0 = _args(a, b, h0)
    _check_log_domain(a)
    a_star = np.cumsum(np.log(a), axis=0)  # (T, ...)
    start = np.zeros((1,) + a.shape[1:], dtype=a.dtype)  # a*_0 = 0, the term of h0
    shifted = np.concatenate([start, a_star], axis=0)  # a*_0 .. a*_T
    h = np.zeros_like(b)
    for sign in (1.0, -1.0):
        terms = np.concatenate([_log_positive_part(sign * h0)[None], _log_positive_part(sign * b)])
        with np.errstate(invalid="ignore"):  # -inf - finite is -inf, never nan (a* is finite)
            log_h = shifted + np.logaddexp.accumulate(terms - shifted, axis=0)
        h += sign * np.exp(log_h[1:])
    return h


def scan_cumprod(a, b, h0=None) -> np.ndarray:
    r"""The closed form in linear space, :math:`h_t = A_t (h_0 + \sum_{s \le t} b_s / A_s)`,
    :math:`A_t = \prod_{s \le t} a_s`: exact in exact arithmetic, and the reason for
    :func:`scan_log`: in floating point :math:`b_s / A_s` overflows to inf once :math:`A_t`
    drops below about :math:`|b_s| / 1.8 \cdot 10^{308}` (float64), while it is still nonzero, so
    :math:`h_t` becomes inf; later :math:`A_t` underflows to 0 and :math:`h_t` is
    ``0 * inf = nan``. Returns what floating point gives (warnings silenced), so that the
    failure can be shown."""
    a, b, h0 = _args(a, b, h0)
    with np.errstate(all="ignore"):
        A = np.cumprod(a, axis=0)
        return A * (h0 + np.cumsum(b / A, axis=0))


SCAN_METHODS = {
    "sequential": scan_sequential,
    "hillis_steele": scan_hillis_steele,
    "blelloch": scan_blelloch,
    "log": scan_log,
}


def linear_scan(a, b, h0=None, method: str = "sequential") -> np.ndarray:
    """``h[t] = a[t] * h[t-1] + b[t]`` by the scan ``method`` (a key of :data:`SCAN_METHODS`)."""
    if method not in SCAN_METHODS:
        raise ValueError(f"method must be one of {sorted(SCAN_METHODS)}, got {method!r}")
    return SCAN_METHODS[method](a, b, h0)


# ----------------------------------------------------------------------------- the gradient
def scan_backward(dh, a, h, h0=None, method: str = "sequential"):
    r"""Gradient of a linear recurrence. ``dh`` is :math:`\partial L / \partial h_t` from outside
    (``(T, *S)``; add the gradient of the final state to ``dh[-1]``), ``a`` the coefficients and
    ``h`` the forward result. Returns ``(da, db, dh0)``.

    The total gradient reaching :math:`h_t` is :math:`g_t = \bar h_t + a_{t+1} g_{t+1}`
    (:math:`g_{T+1} = 0`): a linear recurrence with coefficients :math:`a_{t+1}` and inputs
    :math:`\bar h_t`, run from :math:`t = T` down to 1. It is computed with the same scan
    ``method`` on the time-reversed sequence. Then :math:`\bar b_t = g_t`,
    :math:`\bar a_t = g_t h_{t-1}`, :math:`\bar h_0 = a_1 g_1`.
    """
    dh = float_array(dh, "dh")
    a, _, h0 = _args(a, dh, h0)
    h = float_array(h, "h", a.dtype)
    if h.shape != a.shape:
        raise ValueError(f"h must have the shape of a {a.shape}, got {h.shape}")
    if method not in SCAN_METHODS:
        raise ValueError(f"method must be one of {sorted(SCAN_METHODS)}, got {method!r}")
    a_next = np.concatenate([a[1:], np.zeros_like(a[:1])])  # a_{t+1}, and 0 after the last step
    if method == "log":  # a_{T+1} = 0 has no logarithm: start the reversed scan at step T instead
        rev = scan_log(a_next[-2::-1], dh[-2::-1], dh[-1]) if a.shape[0] > 1 else dh[:0]
        g = np.concatenate([rev[::-1], dh[-1:]])
    else:
        g = linear_scan(a_next[::-1], dh[::-1], None, method)[::-1]
    h_prev = np.concatenate([h0[None], h[:-1]])
    return g * h_prev, g.copy(), a[0] * g[0]


# ----------------------------------------------------------------------------- cost
class ScanCost(NamedTuple):
    """Parallel steps (each a batch of independent combines) and combines in all, for T steps."""

    steps: int
    combines: int


def scan_cost(T: int, method: str) -> ScanCost:
    """How many dependent steps and how many combines ``method`` spends on ``T`` time steps
    (for the sequential loop a "combine" is one step :math:`a h + b`)."""
    if isinstance(T, bool) or not isinstance(T, (int, np.integer)) or T < 1:
        raise ValueError(f"T must be a positive int, got {T!r}")
    T = int(T)
    if method == "sequential":
        return ScanCost(T, T)
    if method == "hillis_steele":
        steps, combines, d = 0, 0, 1
        while d < T:
            steps, combines, d = steps + 1, combines + T - d, 2 * d
        return ScanCost(steps, combines)
    if method == "blelloch":
        n = 1 << (T - 1).bit_length()
        levels = n.bit_length() - 1
        return ScanCost(2 * levels, 2 * (n - 1))  # up-sweep n-1 combines, down-sweep n-1
    raise ValueError(f"method must be 'sequential', 'hillis_steele' or 'blelloch', got {method!r}")
