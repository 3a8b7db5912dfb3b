"""rnnlab.data.digits: the 8x8 digits as sequences of rows, a deterministic stratified split."""
import numpy as np
import pytest
from sklearn.datasets import load_digits

from rnnlab.data.digits import load_digits_rows, majority_accuracy, random_shift


def test_split_is_deterministic_stratified_and_disjoint():
    a, b = load_digits_rows(seed=0), load_digits_rows(seed=0)
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x, y)
    assert a.x_train.shape[1:] == (8, 8) and a.x_train.dtype == np.float32
    assert len(a.x_train) + len(a.x_test) == 1797
    assert 0.23 < len(a.x_test) / 1797 < 0.27
    counts = np.bincount(a.y_test, minlength=10) / np.bincount(a.y_train, minlength=10)
    assert counts.min() > 0.28 and counts.max() < 0.39          # every class split alike
    raw = load_digits()
    flat = {r.tobytes() for r in (raw.images / 16.0).astype(np.float32).reshape(-1, 64)}
    train = {r.tobytes() for r in a.x_train.reshape(-1, 64)}
    assert train <= flat
    c = load_digits_rows(seed=1)
    assert not np.array_equal(a.y_test, c.y_test)


def test_rows_are_image_rows_and_other_orders():
    d = load_digits_rows()
    raw = load_digits()
    flat = (raw.images / 16.0).astype(np.float32).reshape(-1, 64)
    i = int(np.flatnonzero((flat == d.x_train[0].reshape(64)).all(1))[0])
    np.testing.assert_array_equal(d.x_train[0][2], raw.images[i][2] / 16.0)   # step 2 = row 2
    assert d.y_train[0] == raw.target[i]
    assert d.x_train.max() <= 1.0 and d.x_train.min() >= 0.0
    cols = load_digits_rows(order="columns")
    np.testing.assert_array_equal(cols.x_train, d.x_train.transpose(0, 2, 1))
    pix = load_digits_rows(order="pixels")
    assert pix.x_train.shape[1:] == (64, 1)
    np.testing.assert_array_equal(pix.x_train.reshape(-1, 8, 8), d.x_train)
    with pytest.raises(ValueError, match="order"):
        load_digits_rows(order="diagonal")
    with pytest.raises(ValueError, match="test_fraction"):
        load_digits_rows(test_fraction=0)


def test_majority_baseline():
    assert majority_accuracy(np.array([1, 1, 2]), np.array([1, 2, 2, 2])) == 0.25


def test_random_shift_moves_pixels_by_at_most_one():
    rng = np.random.default_rng(0)
    x = np.zeros((200, 8, 8), dtype=np.float32)
    x[:, 4, 4] = 1.0
    y = random_shift(x, rng)
    assert y.shape == x.shape and y.dtype == x.dtype
    pos = np.argwhere(y == 1.0)[:, 1:]
    assert np.abs(pos - 4).max() == 1 and len(pos) == 200        # every pixel moved by <= 1
    assert len({tuple(p) for p in pos}) == 9                     # all 9 offsets occur
    with pytest.raises(ValueError, match="shape"):
        random_shift(np.zeros((8, 8)), rng)
