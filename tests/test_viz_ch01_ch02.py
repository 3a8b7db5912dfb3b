"""rnnlab.viz.ch01 / ch02: the measurements behind the chapters' figures agree with torch autograd,
the figures are labelled, the explorers build, bad arguments raise."""
import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

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


@pytest.mark.parametrize("kind", ["orthogonal", "gaussian"])
def test_recurrent_matrix_has_the_requested_radius(kind):
    W = ch02.recurrent_matrix(16, 0.7, seed=3, kind=kind)
    assert abs(np.abs(np.linalg.eigvals(W)).max() - 0.7) < 1e-10
    if kind == "orthogonal":
        np.testing.assert_allclose(np.linalg.svd(W, compute_uv=False), 0.7, rtol=1e-12)
    with pytest.raises(ValueError, match="kind"):
        ch02.recurrent_matrix(4, 1.0, kind="uniform")


@pytest.mark.parametrize("radius", [0.5, 1.0, 2.0])
def test_hidden_gradient_norms_equal_autograd(radius):
    steps, H, D, scale, seed = 30, 8, 3, 0.3, 4
    res = ch02.hidden_gradient_norms(radius, steps=steps, hidden_size=H, input_size=D,
                                     input_scale=scale, seed=seed)
    # rebuild the same network in torch from the same seeds and let autograd do the backward pass
    rng = np.random.default_rng(seed + 1)
    W = torch.from_numpy(ch02.recurrent_matrix(H, radius, seed))
    U = torch.from_numpy(rng.standard_normal((H, D)) / np.sqrt(D))
    x = torch.from_numpy(scale * rng.standard_normal((steps, D)))
    h, states = torch.zeros(H, dtype=torch.float64, requires_grad=True), []
    for t in range(steps):
        h = torch.tanh(U @ x[t] + W @ h)
        h.retain_grad()
        states.append(h)
    (h * torch.full((H,), 1 / np.sqrt(H), dtype=torch.float64)).sum().backward()
    expected = np.array([states[steps - 1 - d].grad.norm().item() for d in range(steps)])
    np.testing.assert_allclose(res.norms, expected, rtol=1e-10)
    if radius < 1:
        assert np.all(res.norms <= res.bound * (1 + 1e-12))


def test_float32_underflows_and_float64_does_not():
    fig, res64, res32 = ch02.underflow_figure(radius=0.5, steps=300)
    _titled(fig)
    assert np.any(res32.norms == 0) and np.all(res64.norms > 0)
    first = np.flatnonzero(res32.norms == 0)[0]
    assert np.all(res32.norms[first:] == 0)


def test_gradient_norm_figure_and_explorer():
    fig, results = ch02.gradient_norm_figure((0.5, 1.5), steps=60)
    _titled(fig)
    _labelled(fig.axes[0])
    assert fig.axes[0].get_yscale() == "log"
    assert results[0].norms[-1] < 1e-10 < results[1].norms[-1]
    import ipywidgets

    assert isinstance(ch02.spectral_radius_explorer(steps=40), ipywidgets.VBox)


def test_hidden_gradient_norms_tanh_factor():
    small = ch02.hidden_gradient_norms(0.5, steps=50, input_scale=0.01)
    large = ch02.hidden_gradient_norms(3.0, steps=50, input_scale=1.0)
    assert 0.99 < small.tanh_factor <= 1 and 0 <= large.tanh_factor < 0.9


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
