"""rnnlab.viz.ch07 and rnnlab.data.parity: the parity task is the running parity of its bits, the
scan diagram draws exactly the combines the scans perform, the exact negative solution of parity
is right, and the figures draw and state their finding."""
import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from rnnlab.data import parity_stream, parity_task  # noqa: E402
from rnnlab.experiments import ch07 as ex07  # noqa: E402
from rnnlab.scratch import scan as S  # noqa: E402
from rnnlab.viz import ch07  # noqa: E402


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


# ----------------------------------------------------------------------------- the parity task
@pytest.mark.parametrize("batch_first", [False, True])
def test_parity_targets_are_the_running_parity(batch_first):
    b = parity_task(7, 50, rng=3, batch_first=batch_first)
    x = b.x[..., 0].T if batch_first else b.x[..., 0]
    y = b.y.T if batch_first else b.y
    assert b.x.shape == ((7, 50, 1) if batch_first else (50, 7, 1)) and b.x.dtype == np.float32
    assert set(np.unique(x)) <= {0.0, 1.0} and y.dtype == np.int64
    for n in range(7):
        parity = 0
        for t in range(50):
            parity ^= int(x[t, n])
            assert y[t, n] == parity


def test_parity_is_seeded_and_balanced():
    a, b = parity_task(4, 10, rng=1), parity_task(4, 10, rng=1)
    assert np.array_equal(a.x, b.x)
    stream = parity_stream(2000, 64, rng=0)
    first, second = stream(), stream()
    assert not np.array_equal(first.x, second.x)
    assert abs(first.y[-1].mean() - 0.5) < 0.05  # the parity at the end is a fair coin
    with pytest.raises(ValueError, match="length must be >= 1"):
        parity_task(3, 0)
    with pytest.raises(TypeError, match="dtype must be a floating dtype"):
        parity_task(3, 5, dtype=np.int64)


# ----------------------------------------------------------------------------- scans and timing
def test_scan_diagram_draws_the_combines_of_the_scans():
    T = 8
    fig = ch07.scan_diagram_figure(T)
    hs, bl = fig.axes
    solid = lambda ax: [a for a in ax.texts if getattr(a, "arrow_patch", None) is not None  # noqa: E731
                        and a.arrow_patch.get_linestyle() in ("-", "solid")]
    assert len(solid(hs)) == S.scan_cost(T, "hillis_steele").combines
    assert len(solid(bl)) == S.scan_cost(T, "blelloch").combines
    with pytest.raises(ValueError, match="power of two"):
        ch07.scan_diagram_figure(6)




def test_the_exact_negative_solution_is_right_and_a_positive_one_is_not():
    bits = parity_task(1, 200, rng=5).x[:, 0, 0].astype(np.float64)
    h = S.scan_blelloch(1 - 2 * bits, np.zeros(200), np.ones(()))
    assert np.array_equal(h < 0, np.cumsum(bits) % 2 == 1)


# ----------------------------------------------------------------------------- figures
def test_figures_draw_and_state_their_finding():
    lengths = (32, 64)
    fig = ch07.lstm_time_figure(lengths, {"torch.nn.LSTM": np.array([1e-3, 2e-3])})
    assert "proportion to T" in fig.axes[0].get_title()
    res = ex07.ScanTimes((64, 256), 8,
                         {name: np.array([1e-3, 2e-3]) for name in ex07.SCAN_CANDIDATES})
    fig = ch07.scan_time_figure([res, res._replace(width=256)])
    assert [ax.get_title() for ax in fig.axes] == ["8 numbers per step", "256 numbers per step"]
    fig = ch07.fading_figure()
    assert "forgets" in fig.axes[0].get_title()
    fig = ch07.parity_figure({"LSTM": {32: 1.0, 64: 1.0}}, train_length=32)
    assert fig.axes[0].get_ylabel().startswith("parity")
