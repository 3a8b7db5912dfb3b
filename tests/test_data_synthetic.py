"""rnnlab.data.synthetic: shapes, the task's definition, baselines in closed form, seeding."""
import math
import subprocess
import sys

import numpy as np
import pytest

from rnnlab.data import (
    ADDING_BASELINE_MSE,
    adding_problem,
    adding_stream,
    copy_baseline_ce,
    copy_task,
)

hyp = pytest.importorskip("hypothesis")
from hypothesis import given, settings, strategies as st  # noqa: E402


@given(n=st.integers(1, 40), length=st.integers(2, 60), seed=st.integers(0, 2**31 - 1),
       batch_first=st.booleans())
@settings(max_examples=60, deadline=None)
def test_adding_problem_definition(n, length, seed, batch_first):
    b = adding_problem(n, length, rng=seed, batch_first=batch_first)
    x = b.x.transpose(1, 0, 2) if batch_first else b.x
    assert x.shape == (length, n, 2) and b.y.shape == (n, 1) and b.positions.shape == (n, 2)
    assert x.dtype == np.float32 and b.y.dtype == np.float32 and b.positions.dtype == np.int64
    values, markers = x[..., 0], x[..., 1]
    assert ((values >= 0) & (values < 1)).all()
    # exactly two markers per sequence, one in each half
    np.testing.assert_array_equal(markers.sum(0), 2.0)
    assert set(np.unique(markers)) <= {0.0, 1.0}
    first, second = b.positions.T
    assert (first < length // 2).all() and (second >= length // 2).all() and (second < length).all()
    cols = np.arange(n)
    assert (markers[first, cols] == 1).all() and (markers[second, cols] == 1).all()
    # the target is the sum of the marked values, recomputed independently from the markers
    np.testing.assert_allclose(b.y[:, 0], (values * markers).sum(0), rtol=1e-6)


def test_adding_baseline_is_variance_of_sum():
    # predicting 1.0 (the mean target) scores Var(U1+U2) = 1/6 in expectation
    b = adding_problem(200_000, 20, rng=7, dtype=np.float64)
    mse = float(((b.y - 1.0) ** 2).mean())
    assert ADDING_BASELINE_MSE == pytest.approx(1 / 6)
    assert mse == pytest.approx(1 / 6, abs=3e-3)
    assert float(b.y.mean()) == pytest.approx(1.0, abs=3e-3)


def test_adding_seeding_and_streams():
    a, b = adding_problem(5, 9, rng=3), adding_problem(5, 9, rng=3)
    np.testing.assert_array_equal(a.x, b.x)
    c = adding_problem(5, 9, rng=4)
    assert not np.array_equal(a.x, c.x)
    s1, s2 = adding_stream(5, 9, rng=3), adding_stream(5, 9, rng=3)
    first = s1()
    np.testing.assert_array_equal(first.x, s2().x)
    assert not np.array_equal(first.x, s1().x)  # a stream yields fresh batches
    # rng=None draws from numpy's global generator (seeded by rnnlab.setup)
    np.random.seed(0)
    g1 = adding_problem(3, 5)
    np.random.seed(0)
    np.testing.assert_array_equal(g1.x, adding_problem(3, 5).x)


def test_adding_dtype_and_errors():
    assert adding_problem(2, 4, rng=0, dtype=np.float64).x.dtype == np.float64
    with pytest.raises(ValueError, match="length"):
        adding_problem(2, 1, rng=0)
    with pytest.raises(ValueError, match="n must be"):
        adding_problem(0, 5, rng=0)
    with pytest.raises(TypeError, match="dtype"):
        adding_problem(2, 5, rng=0, dtype=np.int32)
    with pytest.raises(TypeError, match="rng"):
        adding_problem(2, 5, rng="seed")


@given(n=st.integers(1, 20), delay=st.integers(1, 40), k=st.integers(1, 9), L=st.integers(1, 12),
       seed=st.integers(0, 1000))
@settings(max_examples=60, deadline=None)
def test_copy_task_definition(n, delay, k, L, seed):
    b = copy_task(n, delay, n_symbols=k, copy_length=L, rng=seed)
    total = 2 * L + delay
    assert b.x.shape == (total, n) and b.y.shape == (total, n) and b.x.dtype == np.int64
    blank, delim = k, k + 1
    assert (b.x[:L] < k).all()
    assert (b.x[L:] >= k).all()  # blanks and exactly one delimiter after the symbols
    np.testing.assert_array_equal((b.x == delim).sum(0), 1)
    assert (b.x[L + delay - 1] == delim).all()
    np.testing.assert_array_equal(b.y[-L:], b.x[:L])
    assert (b.y[:-L] == blank).all()
    oh = copy_task(n, delay, n_symbols=k, copy_length=L, rng=seed, one_hot=True, batch_first=True)
    assert oh.x.shape == (n, total, k + 2)
    np.testing.assert_array_equal(oh.x.argmax(-1), b.x.T)
    np.testing.assert_array_equal(oh.y, b.y.T)


def test_copy_baseline_matches_simulated_memoryless_strategy():
    k, L, delay = 8, 10, 30
    b = copy_task(2000, delay, n_symbols=k, copy_length=L, rng=1)
    total = b.y.shape[0]
    # memoryless predictor: certain blank before the recall phase, uniform over symbols after
    probs = np.zeros((total, k + 2))
    probs[:-L, k] = 1.0
    probs[-L:, :k] = 1.0 / k
    p = probs[np.arange(total)[:, None], b.y]
    ce = float(-np.log(p).mean())
    assert ce == pytest.approx(copy_baseline_ce(delay, k, L), rel=1e-12)
    assert copy_baseline_ce(delay, k, L) == pytest.approx(L * math.log(k) / (2 * L + delay))


def test_copy_task_errors():
    with pytest.raises(ValueError, match="delay"):
        copy_task(2, 0)
    with pytest.raises(ValueError, match="n_symbols"):
        copy_task(2, 3, n_symbols=0)


def test_data_does_not_import_torch():
    code = "import sys, rnnlab.data; rnnlab.data.adding_problem(2, 4, rng=0); print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
