"""Linear recurrences h_t = a_t h_{t-1} + b_t: every scan of rnnlab.scratch.scan and of
rnnlab.modules.scan equals a plain loop written here (float64, 1e-12) on random shapes, the
backward pass equals torch autograd of that loop and finite differences, the operator counts of
scan_cost are what the scans really do, and bad input is refused with a clear error."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import rnnlab.modules as rm
from rnnlab.scratch import gradcheck
from rnnlab.scratch import scan as S

SETTINGS = dict(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
ATOL = 1e-12
METHODS = ("sequential", "hillis_steele", "blelloch", "log")


def loop(a, b, h0):
    """The definition, independently of the package."""
    h, out = h0, []
    for t in range(len(a)):
        h = a[t] * h + b[t]
        out.append(h)
    return np.stack(out)


@st.composite
def problems(draw, positive=False):
    T = draw(st.integers(1, 70))
    shape = tuple(draw(st.lists(st.integers(1, 4), min_size=0, max_size=2)))
    rng = np.random.default_rng(draw(st.integers(0, 2**31 - 1)))
    low = 0.05 if positive else -1.0
    a = rng.uniform(low, 1.0, (T,) + shape)  # |a| <= 1: h stays of order one
    b = rng.standard_normal((T,) + shape)
    h0 = rng.standard_normal(shape) if draw(st.booleans()) else None
    return a, b, h0


@given(problems())
@settings(**SETTINGS)
def test_every_parallel_scan_equals_the_loop(problem):
    a, b, h0 = problem
    ref = loop(a, b, np.zeros(a.shape[1:]) if h0 is None else h0)
    for method in ("sequential", "hillis_steele", "blelloch"):
        h = S.linear_scan(a, b, h0, method)
        assert h.shape == a.shape and h.dtype == np.float64
        np.testing.assert_allclose(h, ref, rtol=0, atol=ATOL, err_msg=method)


@given(problems(positive=True))
@settings(**SETTINGS)
def test_log_space_scan_equals_the_loop_for_positive_coefficients(problem):
    a, b, h0 = problem  # b and h0 of both signs: the scan splits them into positive and negative
    ref = loop(a, b, np.zeros(a.shape[1:]) if h0 is None else h0)
    np.testing.assert_allclose(S.scan_log(a, b, h0), ref, rtol=0, atol=ATOL)


def test_combine_is_associative_and_not_commutative():
    rng = np.random.default_rng(0)
    e1, e2, e3 = (tuple(rng.standard_normal((2, 5))) for _ in range(3))
    left = S.combine(S.combine(e1, e2), e3)
    right = S.combine(e1, S.combine(e2, e3))
    np.testing.assert_allclose(left, right, rtol=0, atol=1e-14)
    assert not np.allclose(S.combine(e1, e2), S.combine(e2, e1))
    # "first e1, then e2" is the map h -> a2 (a1 h + b1) + b2
    h = rng.standard_normal(5)
    a, b = S.combine(e1, e2)
    np.testing.assert_allclose(a * h + b, e2[0] * (e1[0] * h + e1[1]) + e2[1], atol=1e-14)


@pytest.mark.parametrize("method", METHODS)
def test_backward_equals_autograd_of_the_loop(method):
    rng = np.random.default_rng(1)
    T, S_ = 9, (3, 2)
    a = rng.uniform(0.1, 1.0, (T,) + S_)
    b, h0, dh = rng.standard_normal((T,) + S_), rng.standard_normal(S_), rng.standard_normal((T,) + S_)
    h = S.linear_scan(a, b, h0, method)
    da, db, dh0 = S.scan_backward(dh, a, h, h0, method)
    at, bt, h0t = (torch.tensor(v, requires_grad=True) for v in (a, b, h0))
    ht = []
    prev = h0t
    for t in range(T):
        prev = at[t] * prev + bt[t]
        ht.append(prev)
    (torch.stack(ht) * torch.tensor(dh)).sum().backward()
    for ours, theirs, name in ((da, at.grad, "da"), (db, bt.grad, "db"), (dh0, h0t.grad, "dh0")):
        np.testing.assert_allclose(ours, theirs.numpy(), rtol=0, atol=ATOL, err_msg=name)


def test_backward_passes_a_numerical_gradient_check():
    rng = np.random.default_rng(2)
    T = 12
    params = {"a": rng.uniform(-0.9, 0.9, (T, 3)), "b": rng.standard_normal((T, 3)),
              "h0": rng.standard_normal(3)}
    dh = rng.standard_normal((T, 3))

    def f(p):
        return float((S.scan_blelloch(p["a"], p["b"], p["h0"]) * dh).sum())

    h = S.scan_blelloch(params["a"], params["b"], params["h0"])
    da, db, dh0 = S.scan_backward(dh, params["a"], h, params["h0"], "blelloch")
    assert gradcheck(f, params, {"a": da, "b": db, "h0": dh0}, order=4, eps=1e-3) < 1e-8


@pytest.mark.parametrize("T", [1, 2, 3, 7, 8, 9, 64, 100])
def test_scan_cost_counts_what_the_scans_do(T, monkeypatch):
    calls = []
    original = S.combine

    def counting(first, second):
        calls.append(np.shape(first[0])[0])  # how many pairs this vectorised combine handles
        return original(first, second)

    monkeypatch.setattr(S, "combine", counting)
    a, b = np.full((T, 1), 0.5), np.ones((T, 1))
    for method in ("hillis_steele", "blelloch"):
        calls.clear()
        S.linear_scan(a, b, None, method)
        cost = S.scan_cost(T, method)
        assert (len(calls), sum(calls)) == (cost.steps, cost.combines), method
    assert S.scan_cost(T, "sequential") == (T, T)
    if T in (8, 64):  # powers of two: the closed forms of the chapter
        k = T.bit_length() - 1
        assert S.scan_cost(T, "hillis_steele") == (k, T * k - T + 1)
        assert S.scan_cost(T, "blelloch") == (2 * k, 2 * T - 2)


def test_log_space_avoids_the_underflow_of_the_closed_form():
    a, b = np.full(1200, 0.5), np.ones(1200)  # prod a = 2^-t underflows to 0 after 1074 steps
    exact = 2.0 - 0.5 ** np.arange(1200)  # h_t = 2 - 2^(1 - t), t = 1..T
    direct = S.scan_cumprod(a, b)
    assert not np.all(np.isfinite(direct))
    np.testing.assert_allclose(S.scan_log(a, b), exact, rtol=1e-12)
    np.testing.assert_allclose(S.scan_sequential(a, b), exact, rtol=1e-12)


@pytest.mark.parametrize("bad", [0.0, -0.5])
def test_log_space_refuses_coefficients_that_are_not_positive(bad):
    a = np.full((4, 2), 0.5)
    a[2, 1] = bad
    with pytest.raises(ValueError, match=r"a must be positive.*a\[2, 1\]"):
        S.scan_log(a, np.ones((4, 2)))


def test_bad_arguments_are_refused_with_clear_errors():
    a = np.ones((5, 3))
    with pytest.raises(ValueError, match="same shape"):
        S.scan_sequential(a, np.ones((5, 2)))
    with pytest.raises(ValueError, match=r"h0 must have the shape of one step.*\(3,\)"):
        S.scan_hillis_steele(a, a, np.ones(2))
    with pytest.raises(TypeError, match="b must be a floating-point array"):
        S.scan_blelloch(a, np.ones((5, 3), dtype=int))
    with pytest.raises(ValueError, match="time axis"):
        S.scan_sequential(np.ones((0, 3)), np.ones((0, 3)))
    with pytest.raises(ValueError, match="method must be one of"):
        S.linear_scan(a, a, method="fast")
    with pytest.raises(ValueError, match="h must have the shape of a"):
        S.scan_backward(a, a, np.ones((4, 3)))
    with pytest.raises(ValueError, match="T must be a positive int"):
        S.scan_cost(0, "blelloch")


# ----------------------------------------------------------------------------- torch
@given(problems())
@settings(**SETTINGS)
def test_torch_scan_and_loop_equal_the_numpy_loop(problem):
    a, b, h0 = problem
    ref = loop(a, b, np.zeros(a.shape[1:]) if h0 is None else h0)
    h0t = None if h0 is None else torch.tensor(h0)
    for mode in ("scan", "loop"):
        h = rm.linear_scan(torch.tensor(a), torch.tensor(b), h0t, mode)
        np.testing.assert_allclose(h.numpy(), ref, rtol=0, atol=ATOL, err_msg=mode)


def test_torch_scan_gradients_first_and_second_order():
    g = torch.Generator().manual_seed(0)
    a = (torch.rand(11, 2, 3, generator=g, dtype=torch.float64) * 1.8 - 0.9).requires_grad_()
    b = torch.randn(11, 2, 3, generator=g, dtype=torch.float64, requires_grad=True)
    h0 = torch.randn(2, 3, generator=g, dtype=torch.float64, requires_grad=True)
    fn = lambda a, b, h0: rm.linear_scan(a, b, h0, "scan")  # noqa: E731
    assert torch.autograd.gradcheck(fn, (a, b, h0))
    assert torch.autograd.gradgradcheck(fn, (a, b, h0))  # the backward is itself a scan
    dh = torch.randn(11, 2, 3, generator=g, dtype=torch.float64)
    grads = torch.autograd.grad((fn(a, b, h0) * dh).sum(), (a, b, h0))
    da, db, dh0 = S.scan_backward(dh.numpy(), a.detach().numpy(), fn(a, b, h0).detach().numpy(),
                                  h0.detach().numpy())
    for ours, theirs in zip(grads, (da, db, dh0)):
        np.testing.assert_allclose(ours.numpy(), theirs, rtol=0, atol=ATOL)


def test_torch_scan_refuses_bad_arguments():
    a = torch.ones(4, 2)
    with pytest.raises(ValueError, match="same shape"):
        rm.linear_scan(a, torch.ones(4, 3))
    with pytest.raises(ValueError, match="h0 must have the shape of one step"):
        rm.linear_scan(a, a, torch.ones(3))
    with pytest.raises(ValueError, match="mode must be 'scan' or 'loop'"):
        rm.linear_scan(a, a, mode="parallel")
    with pytest.raises(TypeError, match="torch.Tensors"):
        rm.linear_scan(a.numpy(), a)
