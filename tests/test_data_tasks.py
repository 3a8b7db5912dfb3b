"""The small tasks of chapters 1 to 3 in rnnlab.data.synthetic: carry-bit, delayed recall, spike
timing. Each batch is checked against the task's definition."""
import numpy as np
import pytest

from rnnlab.data import carry_bit_batch, delayed_recall, spike_timing_batch


def test_carry_bit_batch_definition():
    x, bits = carry_bit_batch(np.random.default_rng(0), steps=7, batch=300, noise=0.25)
    assert x.shape == (7, 300, 1) and bits.shape == (300,)
    np.testing.assert_array_equal(x[0, :, 0], bits)
    assert set(np.unique(bits)) == {-1.0, 1.0}
    assert np.abs(x[1:]).max() <= 0.25


def test_delayed_recall_targets():
    x, y = delayed_recall(np.random.default_rng(0), steps=10, batch=4, classes=5, delay=3)
    assert x.shape == (10, 4, 5) and y.shape == (10, 4)
    np.testing.assert_array_equal(x[:-3].argmax(-1), y[3:])


def test_spike_timing_batch_definition():
    x, y = spike_timing_batch(50, length=12, delay=5, rng=0)
    assert x.shape == y.shape == (12, 50, 1) and x.dtype == np.float32
    assert np.all(x.sum(0) == 1) and np.all(y.sum(0) == 1)
    np.testing.assert_array_equal(y.argmax(0), x.argmax(0) + 5)
    with pytest.raises(ValueError, match="delay"):
        spike_timing_batch(4, length=5, delay=5, rng=0)
