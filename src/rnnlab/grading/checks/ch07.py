r"""Graded exercises of chapter 7 (recurrence without the loop): ``solutions/07_parallel_recurrence.ipynb``.

==============================  ==============================================================
id                              what the student writes
==============================  ==============================================================
``07.combine``                  the scan's operator: "first (a1, b1), then (a2, b2)" is
                                ``(a1 * a2, a2 * b1 + b2)``
``07.hillis_steele_scan``       all states of ``h_t = a_t h_{t-1} + b_t`` by Hillis & Steele's
                                scan, ``h0`` folded into the first step
``07.mingru_step``              one minGRU step in ``rnnlab.modules.MinGRU``'s layout (rows z, n):
                                ``h = z * h_prev + (1 - z) * n``
``07.scan_backward``            the gradients ``(da, db, dh0)`` of a linear recurrence by the
                                reverse recursion ``g_t = a_{t+1} g_{t+1} + dh_t``
``07.log_space_scan``           the recurrence in log space (Heinsen 2023) for ``a > 0`` and
                                ``b``, ``h0`` of either sign; its long case has products of the
                                coefficients that overflow and underflow float64, which a scan
                                in ordinary arithmetic turns into NaN
==============================  ==============================================================

Both scans must be vectorised over the steps: their last case is long (2048 and 1200 steps) and a
call that runs more lines of the student's own Python than ``_vectorised_lines`` allows (a loop over
the steps runs at least one per step, even written on one line) is wrong though its values are
right (``Exercise.max_lines``).

Shapes: ``a``, ``b``, ``h``, ``dh`` are ``(T, N, H)`` (time first), ``h0`` is ``(N, H)``; for the
minGRU step ``x`` is ``(N, I)``, ``h_prev`` ``(N, H)``, ``weight_ih`` ``(2H, I)``, ``bias_ih``
``(2H,)``. The references are written here independently of :mod:`rnnlab.scratch`;
``tests/test_checks_ch07.py`` proves them equal to it.
"""
from __future__ import annotations

import numpy as np

from rnnlab.grading.checks._common import _normal, _sigmoid, _sizes
from rnnlab.grading.spec import Exercise

NOTEBOOK = "07_parallel_recurrence.ipynb"


def _loop(a, b, h0):
    h, out = h0, []
    for t in range(a.shape[0]):
        h = a[t] * h + b[t]
        out.append(h)
    return np.stack(out)


def _scan_cases(rng, positive=False):
    cases = []
    for _ in range(4):
        T = int(rng.integers(5, 14))
        N, H = (int(v) for v in rng.integers(1, 4, size=2))
        low = 0.05 if positive else -1.0
        cases.append((rng.uniform(low, 1.0, (T, N, H)), _normal(rng, T, N, H, scale=1.0),
                      _normal(rng, N, H, scale=1.0)))
    return cases


# ============================================================================ 07.combine
def combine(a1, b1, a2, b2):
    """Reference: the affine map "first h -> a1 h + b1, then h -> a2 h + b2"."""
    return a1 * a2, a2 * b1 + b2


def _combine_cases(rng):
    cases = []
    for _ in range(4):
        shape = tuple(int(v) for v in rng.integers(1, 5, size=int(rng.integers(1, 3))))
        cases.append(tuple(_normal(rng, *shape, scale=1.0) for _ in range(4)))
    return cases


COMBINE = Exercise(
    id="07.combine",
    notebook=NOTEBOOK,
    function="combine",
    points=1.0,
    title="The scan's operator: (a1, b1) then (a2, b2) is (a1 a2, a2 b1 + b2)",
    cases=_combine_cases,
    reference=combine,
    mistakes={
        "operator order swapped: you applied (a2, b2) first and (a1, b1) second; "
        "'first e1, then e2' maps h to a2 (a1 h + b1) + b2":
            lambda a1, b1, a2, b2: (a1 * a2, a1 * b2 + b1),
        "b1 not scaled by a2: the first map's offset passes through the second map's "
        "multiplication, a2 (a1 h + b1) + b2": lambda a1, b1, a2, b2: (a1 * a2, b1 + b2),
        "a1 multiplies the offset: the combined offset is a2 b1 + b2 (a1 only scales h)":
            lambda a1, b1, a2, b2: (a1 * a2, a1 * b1 + b2),
    },
    arg_names=("a1", "b1", "a2", "b2"),
    output_names=("a", "b"),
    hint="a2 (a1 h + b1) + b2 = (a1 a2) h + (a2 b1 + b2).",
)


# ============================================================================ 07.hillis_steele_scan
def _hillis_steele(a, b, h0, *, swapped=False, exclusive=False, no_h0=False, stale_a=False):
    A, B = a.copy(), b.copy()
    if not no_h0:
        B[0] = B[0] + A[0] * h0
    T, d = a.shape[0], 1
    while d < T:
        if swapped:  # (own pair) o (pair at t - d): the later map applied first
            newB = A[:-d] * B[d:] + B[:-d]
        else:
            newB = A[d:] * B[:-d] + B[d:]
        if not stale_a:
            A[d:] = A[:-d] * A[d:]
        B[d:] = newB
        d *= 2
    if exclusive:  # every state one step late: h_0, h_1, ..., h_{T-1}
        return np.concatenate([h0[None], B[:-1]])
    return B


def hillis_steele_scan(a, b, h0):
    """Reference: ``h[t] = a[t] * h[t-1] + b[t]`` for ``t = 0..T-1`` (``h[-1] = h0``) by Hillis and
    Steele's inclusive scan; equal to the loop."""
    return _hillis_steele(a, b, h0)


def _hs_cases(rng):
    # a long one, where a loop over positions runs far more lines than ceil(log2 2048) = 11 passes
    T = 2048
    long_case = (rng.uniform(-1.0, 1.0, (T, 1, 2)), _normal(rng, T, 1, 2, scale=1.0),
                 _normal(rng, 1, 2, scale=1.0))
    return _scan_cases(rng) + [long_case]


def _vectorised_lines(case):
    """Lines of Python a vectorised answer may run on ``case``: 20 per pass of a scan over its
    ``T`` steps plus 80 (the chapter's answers run 38 lines on 2048 steps and 15 on 1200; a loop
    over the steps runs at least one per step, two or more as usually written)."""
    return 20 * int(np.ceil(np.log2(max(case[0].shape[0], 2)))) + 80


def _hs_mistake(**switches):
    def wrong(a, b, h0):
        return _hillis_steele(a, b, h0, **switches)
    return wrong


HILLIS_STEELE_SCAN = Exercise(
    id="07.hillis_steele_scan",
    notebook=NOTEBOOK,
    function="hillis_steele_scan",
    points=3.0,
    title="All states of h_t = a_t h_{t-1} + b_t by a Hillis-Steele scan",
    cases=_hs_cases,
    reference=hillis_steele_scan,
    mistakes={
        "operator order swapped: position t must take (pair at t - d) o (its own pair), the "
        "earlier map first: B[t] = A[t] * B[t - d] + B[t]": _hs_mistake(swapped=True),
        "exclusive scan: your states are one step late (you returned h_0 .. h_{T-1}); the scan "
        "must be inclusive, h[t] includes step t": _hs_mistake(exclusive=True),
        "h_0 dropped: fold the initial state into the first step, b[0] + a[0] * h0":
            _hs_mistake(no_h0=True),
        "the products of a are not updated: after each step A[t] must become A[t - d] * A[t]":
            _hs_mistake(stale_a=True),
    },
    arg_names=("a", "b", "h0"),
    output_names=("h",),
    hint="Fold h0 into the first pair; at each distance d = 1, 2, 4, ... every position t >= d "
         "combines the pair at t - d with its own pair (earlier one first); compute both new arrays "
         "from the old ones before writing either.",
    max_lines=_vectorised_lines,
    too_many_lines="a Python loop over the positions or steps; the exercise asks for ceil(log2 T) "
                   "passes, each combining whole slices at once",
)


# ============================================================================ 07.mingru_step
def _mingru(x, h_prev, weight_ih, bias_ih, *, z_swapped=False, tanh=False, order="zn",
            no_sigmoid=False):
    gi = x @ weight_ih.T + bias_ih
    parts = dict(zip(order, np.split(gi, 2, axis=-1)))
    z = parts["z"] if no_sigmoid else _sigmoid(parts["z"])
    n = np.tanh(parts["n"]) if tanh else parts["n"]
    return (1 - z) * h_prev + z * n if z_swapped else z * h_prev + (1 - z) * n


def mingru_step(x, h_prev, weight_ih, bias_ih):
    """Reference: ``z = sigmoid(x W_z^T + b_z)``, ``n = x W_n^T + b_n`` (rows z, n; no tanh),
    ``h = z * h_prev + (1 - z) * n`` (``rnnlab.modules.MinGRU``)."""
    return _mingru(x, h_prev, weight_ih, bias_ih)


def _mingru_mistake(**switches):
    def wrong(x, h_prev, weight_ih, bias_ih):
        return _mingru(x, h_prev, weight_ih, bias_ih, **switches)
    return wrong


def _mingru_cases(rng):
    cases = []
    for _ in range(4):
        N, I, H = _sizes(rng)
        cases.append((_normal(rng, N, I, scale=1.0), _normal(rng, N, H, scale=1.0),
                      _normal(rng, 2 * H, I), _normal(rng, 2 * H)))
    return cases


MINGRU_STEP = Exercise(
    id="07.mingru_step",
    notebook=NOTEBOOK,
    function="mingru_step",
    points=2.0,
    title="One minGRU step: h = z h_prev + (1 - z) n with gates from the input only",
    cases=_mingru_cases,
    reference=mingru_step,
    mistakes={
        "z and 1 - z swapped: in this book (and torch) z is the fraction kept, "
        "h = z * h_prev + (1 - z) * n; Feng et al. write it the other way round":
            _mingru_mistake(z_swapped=True),
        "tanh on the candidate: the minGRU's candidate is linear, n = x W_n^T + b_n":
            _mingru_mistake(tanh=True),
        "rows read in the wrong order: weight_ih stacks z first, then n": _mingru_mistake(order="nz"),
        "no sigmoid on the update gate: z = sigmoid(x W_z^T + b_z)": _mingru_mistake(no_sigmoid=True),
    },
    arg_names=("x", "h_prev", "weight_ih", "bias_ih"),
    output_names=("h",),
    hint="One matrix product gives both halves (rows z, then n); z goes through the sigmoid, n "
         "through nothing (no tanh, no h_prev); h mixes h_prev and n with z and 1 - z as the "
         "chapter's equation does.",
)


# ============================================================================ 07.scan_backward
def _scan_backward(dh, a, h, h0, *, forwards=False, same_step=False, h_now=False, dh0="a1g1"):
    T = a.shape[0]
    g = np.empty_like(dh)
    if forwards:  # the recursion run in the wrong direction
        acc = np.zeros_like(h0)
        for t in range(T):
            acc = dh[t] + (a[t] * acc if t else 0.0)
            g[t] = acc
    else:
        acc = np.zeros_like(h0)
        for t in range(T - 1, -1, -1):
            coeff = a[t] if same_step else (a[t + 1] if t + 1 < T else 0.0)
            acc = dh[t] + coeff * acc
            g[t] = acc
    h_prev = np.concatenate([h0[None], h[:-1]])
    da = g * (h if h_now else h_prev)
    d0 = {"a1g1": a[0] * g[0], "g1": g[0].copy(), "zero": np.zeros_like(h0)}[dh0]
    return da, g, d0


def scan_backward(dh, a, h, h0):
    """Reference: ``g[t] = dh[t] + a[t+1] * g[t+1]`` from the last step back (``g[T] = 0``);
    ``da = g * h_prev`` (``h_prev = [h0, h[0], ..., h[T-2]]``), ``db = g``, ``dh0 = a[0] * g[0]``."""
    return _scan_backward(dh, a, h, h0)


def _backward_mistake(**switches):
    def wrong(dh, a, h, h0):
        return _scan_backward(dh, a, h, h0, **switches)
    return wrong


def _backward_cases(rng):
    cases = []
    for a, b, h0 in _scan_cases(rng):
        dh = _normal(rng, *a.shape, scale=1.0)
        cases.append((dh, a, _loop(a, b, h0), h0))
    return cases


SCAN_BACKWARD = Exercise(
    id="07.scan_backward",
    notebook=NOTEBOOK,
    function="scan_backward",
    points=3.0,
    title="The gradients of a linear recurrence by the reverse recursion g_t = a_{t+1} g_{t+1} + dh_t",
    cases=_backward_cases,
    reference=scan_backward,
    mistakes={
        "recursion run forwards: the gradient flows back in time, from the last step to the "
        "first, g_t = dh_t + a_{t+1} g_{t+1}": _backward_mistake(forwards=True),
        "a_t used in place of a_{t+1}: h_{t+1} = a_{t+1} h_t + b_{t+1}, so the gradient reaches "
        "h_t through a_{t+1}": _backward_mistake(same_step=True),
        "h_t in place of h_{t-1}: a_t multiplies the previous state, so da_t = g_t * h_{t-1}":
            _backward_mistake(h_now=True),
        "dh0 without a_1: h_1 = a_1 h_0 + b_1, so dL/dh_0 = a_1 * g_1": _backward_mistake(dh0="g1"),
        "dL/dh_0 missing: h_0 reaches the loss through h_1 = a_1 h_0 + b_1":
            _backward_mistake(dh0="zero"),
    },
    arg_names=("dh", "a", "h", "h0"),
    output_names=("da", "db", "dh0"),
    hint="Walk from the last step back: a step's total gradient is the outside gradient at that "
         "step plus the next step's coefficient times the next step's total gradient; da needs the "
         "state before the step, and dh0 comes from the first step's total gradient through its "
         "coefficient.",
)


# ============================================================================ 07.log_space_scan
def _log_scan(a, b, h0, *, split=True, shifted=False, no_h0=False):
    a_star = np.cumsum(np.log(a), axis=0)
    if shifted:  # a*_t without the step's own coefficient
        a_star = np.concatenate([np.zeros_like(a_star[:1]), a_star[:-1]])
    start = np.zeros_like(a_star[:1])
    shift = np.concatenate([start, a_star])
    h0 = np.zeros_like(h0) if no_h0 else h0
    terms_of = lambda sign: np.concatenate([(sign * h0)[None], sign * b])  # noqa: E731
    with np.errstate(divide="ignore", invalid="ignore"):
        if not split:  # the logarithm of the coefficients as they are: NaN where they are negative
            return np.exp(shift + np.logaddexp.accumulate(np.log(terms_of(1.0)) - shift, axis=0))[1:]
        h = np.zeros_like(b)
        for sign in (1.0, -1.0):
            log_terms = np.log(np.maximum(terms_of(sign), 0.0))
            h = h + sign * np.exp(shift + np.logaddexp.accumulate(log_terms - shift, axis=0))[1:]
    return h


def log_space_scan(a, b, h0):
    r"""Reference: Heinsen's log-space form for ``a > 0``, ``b`` and ``h0`` of either sign (split
    into positive and negative parts): ``log h_t = a*_t + logcumsumexp(log b_s - a*_s)`` with
    ``a*_t = cumsum(log a)`` and the term of ``h0`` at ``a*_0 = 0``."""
    return _log_scan(a, b, h0)


def _log_cases(rng):
    cases = _scan_cases(rng, positive=True)
    # a long one. Column 0: with a = 0.5, b / (product of the coefficients) overflows near step
    # 1024 and the product itself underflows to 0 near step 1075. Column 1: h0 = 0 and b = 0 for
    # 600 steps with a = 4, then a = 0.25: h stays 0, then bounded, but the product of 512 or more
    # of the a = 4 overflows float64, and inf * 0 is NaN in a scan over the pairs (a, b) in
    # ordinary arithmetic. Only a scan in log space (log 0 = -inf) gets both right.
    T = 1200
    a = np.full((T, 1, 2), 0.5)
    b, h0 = _normal(rng, T, 1, 2, scale=1.0), _normal(rng, 1, 2, scale=1.0)
    a[:T // 2, :, 1], a[T // 2:, :, 1] = 4.0, 0.25
    b[:T // 2, :, 1], h0[:, 1] = 0.0, 0.0
    cases.append((a, b, h0))
    return cases


def _cumprod_closed_form(a, b, h0):
    with np.errstate(all="ignore"):
        prod = np.cumprod(a, axis=0)
        return prod * (h0 + np.cumsum(b / prod, axis=0))


def _pairs_scan(a, b, h0):
    with np.errstate(all="ignore"):
        return _hillis_steele(a, b, h0)


def _log_mistake(**switches):
    def wrong(a, b, h0):
        return _log_scan(a, b, h0, **switches)
    return wrong


LOG_SPACE_SCAN = Exercise(
    id="07.log_space_scan",
    notebook=NOTEBOOK,
    function="log_space_scan",
    points=2.0,
    title="The linear recurrence in log space, for a > 0 and b of either sign",
    cases=_log_cases,
    reference=log_space_scan,
    mistakes={
        "log of a negative coefficient: np.log(b) is NaN where b < 0; run the log-space scan "
        "once for the positive parts of b and h0 and once for the negative parts, and subtract":
            _log_mistake(split=False),
        "the prefix sum of log a shifted by one step: a*_t = log a_1 + ... + log a_t includes "
        "step t's own coefficient": _log_mistake(shifted=True),
        "h_0 dropped: its term sits before the first step, at a*_0 = 0": _log_mistake(no_h0=True),
        "exponentials summed outside log space (the closed form with cumulative products, "
        "b / prod a, or exp(log b - a*) summed with a plain cumsum): they overflow near step 1024 "
        "of the last case (1200 steps, a = 0.5 in column 0); sum with np.logaddexp.accumulate "
        "instead":
            _cumprod_closed_form,
        "the recurrence computed in ordinary arithmetic (a scan over the pairs (a, b), as in the "
        "Hillis-Steele exercise), not in log space: in column 1 of the last case, 512 steps with "
        "a = 4 multiply to more than float64 holds, and inf * 0 is NaN; Heinsen's form adds "
        "logarithms instead, and log 0 = -inf stays harmless": _pairs_scan,
    },
    arg_names=("a", "b", "h0"),
    output_names=("h",),
    atol=1e-10,
    hint="Prepend h0 to b and 0 to a*; apply the chapter's log-space formula to the positive parts "
         "max(v, 0) and to the negative parts max(-v, 0) separately, and subtract the two results.",
    max_lines=_vectorised_lines,
    too_many_lines="a Python loop over the steps; the exercise asks for Heinsen's form, computed for "
                   "all steps at once with np.cumsum and np.logaddexp.accumulate",
)

EXERCISES = [COMBINE, HILLIS_STEELE_SCAN, MINGRU_STEP, SCAN_BACKWARD, LOG_SPACE_SCAN]
