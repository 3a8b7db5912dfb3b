"""rnnlab.viz.ch01 / ch02: the figures draw the results they are given and are labelled, the
explorers build and compute again through the function they are given, bad arguments raise."""
import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from rnnlab.data import delayed_recall  # noqa: E402
from rnnlab.experiments import ch01 as ex01  # noqa: E402
from rnnlab.experiments import ch02 as ex02  # noqa: E402
from rnnlab.viz import ch01, ch02  # noqa: E402


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def _titled(fig):
    texts = [ax.get_title() for ax in fig.axes] + ([fig._suptitle.get_text()] if fig._suptitle else [])
    assert any(t.strip() for t in texts), "a figure needs a title that states the finding"


def _labelled(ax):
    assert ax.get_xlabel().strip() and ax.get_ylabel().strip()


# ----------------------------------------------------------------------------- chapter 1
@pytest.mark.parametrize("make", [lambda: ch01.unrolled_figure(3), ch01.mappings_figure,
                                  lambda: ch01.carry_bit_figure(ex01.latch_runs(steps=20, n=4))])
def test_drawn_figures_have_titles(make):
    _titled(make())


def test_unrolled_figure_rejects_bad_steps():
    for bad in (1, 9, 2.5):
        with pytest.raises(ValueError, match="steps"):
            ch01.unrolled_figure(bad)


def test_block_matrix_figure():
    rng = np.random.default_rng(0)
    fig = ch01.block_matrix_figure(rng.random((4, 3)), rng.random((4, 4)), rng.random((2, 4)))
    _titled(fig)
    _labelled(fig.axes[0])
    with pytest.raises(ValueError, match="expected U"):
        ch01.block_matrix_figure(rng.random((4, 3)), rng.random((3, 3)), rng.random((2, 4)))


def test_hidden_state_figure_and_explorer():
    x, W_ih, W_hh, b = ex01.demo_rnn()
    h = ex01.rnn_states(x, W_ih, W_hh, b)
    fig = ch01.hidden_state_figure(x, h)
    _titled(fig)
    _labelled(fig.axes[1])
    shown = fig.axes[1].images[0].get_array()
    np.testing.assert_array_equal(shown, h.T)  # the heat map is the states, unit by step
    with pytest.raises(ValueError, match="same T"):
        ch01.hidden_state_figure(x, h[1:])
    import ipywidgets

    calls = []

    def states(*args):
        calls.append(args)
        return ex01.rnn_states(*args)

    widget = ch01.hidden_state_explorer(x, W_ih, W_hh, b, states)
    assert isinstance(widget, ipywidgets.VBox)
    t_slider, r_slider = widget.children[0].children
    assert [t_slider.description, r_slider.description] == ["step t", "radius of W"]
    r_slider.value = 0.5  # a new radius: the states are computed again with W scaled to it
    W_used = calls[-1][2]
    assert abs(np.abs(np.linalg.eigvals(W_used)).max() - 0.5) < 1e-9


# ----------------------------------------------------------------------------- chapter 2
def test_bptt_graph_figure():
    _titled(ch02.bptt_graph_figure(4, highlight=2))
    with pytest.raises(ValueError):
        ch02.bptt_graph_figure(4, highlight=4)
    with pytest.raises(ValueError):
        ch02.bptt_graph_figure(1)


def test_underflow_figure_marks_where_float32_reaches_zero():
    res64, res32 = (ex02.hidden_gradient_norms(0.5, steps=300, dtype=d)
                    for d in (np.float64, np.float32))
    fig = ch02.underflow_figure(res64, res32, radius=0.5)
    _titled(fig)
    ax = fig.axes[0]
    _labelled(ax)
    first = np.flatnonzero(res32.norms == 0)[0]
    assert any(f"from distance {first} on" in t.get_text() for t in ax.texts)
    np.testing.assert_array_equal(ax.lines[0].get_ydata(), res64.norms)


def test_gradient_norm_figure_and_explorer():
    radii = (0.5, 1.5)
    results = [ex02.hidden_gradient_norms(r, steps=60) for r in radii]
    fig = ch02.gradient_norm_figure(radii, results)
    _titled(fig)
    _labelled(fig.axes[0])
    assert fig.axes[0].get_yscale() == "log"
    assert [line.get_label() for line in fig.axes[0].get_legend().get_lines()] == [
        "radius 0.5", "radius 1.5"]
    with pytest.raises(ValueError, match="one length"):
        ch02.gradient_norm_figure(radii, results[:1])
    import ipywidgets

    calls = []

    def measure(radius, **options):
        calls.append((radius, options))
        return ex02.hidden_gradient_norms(radius, **options)

    widget = ch02.spectral_radius_explorer(measure, steps=40)
    assert isinstance(widget, ipywidgets.VBox)
    widget.children[0].children[0].value = 2.0  # the radius slider: measured again
    assert calls[-1] == (2.0, {"steps": 40, "input_scale": 0.1, "kind": "orthogonal"})


def test_clipping_figure():
    a = ex02.train_delayed_recall(updates=5, batch=4, hidden_size=8)
    b = ex02.train_delayed_recall(updates=5, batch=4, hidden_size=8, clip=1.0)
    fig = ch02.clipping_figure(a, b, clip=1.0)
    _titled(fig)
    for ax in fig.axes:
        _labelled(ax)


def test_truncation_figure():
    model = ex02.RNNClassifier(4, 8, 4, seed=0)
    x, y = delayed_recall(np.random.default_rng(1), steps=12, batch=4, classes=4, delay=2)
    res = ex02.truncation_errors(model, x, y, ks=(1, 2, 3, 4, 12), delay=2, repeats=1)
    fig = ch02.truncation_figure(res, delay=2)
    _titled(fig)
    for ax in fig.axes:
        _labelled(ax)
