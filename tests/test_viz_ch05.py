"""rnnlab.viz.ch05: every figure draws for the configurations the chapter uses and for its edge
cases, states its finding in a title, labels its axes, and refuses bad input with a clear
error."""
import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from rnnlab.viz import ch05  # noqa: E402


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def texts(fig):
    found = [t.get_text() for t in fig.findobj(matplotlib.text.Text)]
    if fig._suptitle is not None:
        found.append(fig._suptitle.get_text())
    return found


@pytest.mark.parametrize("seq_len", [2, 4, 8])
def test_bidirectional_diagram(seq_len):
    fig = ch05.draw_bidirectional(seq_len)
    words = texts(fig)
    assert f"$h_{{{seq_len}}}$" in words and f"$h'_{{{seq_len}}}$" in words
    for label in ("$U$", "$U'$", "$V$", "$V'$", "$W$", "$W'$"):
        assert label in words
    assert "sees the whole sequence" in fig.axes[0].get_title()


@pytest.mark.parametrize("num_layers, bidirectional, seq_len, length", [
    (2, True, 5, None), (2, True, 6, 4), (3, False, 4, None), (1, True, 3, 1),
])
def test_layout_figure_tags_every_h_n_row(num_layers, bidirectional, seq_len, length):
    fig = ch05.draw_output_hn_layout(num_layers, bidirectional, seq_len, length)
    words = texts(fig)
    D = 2 if bidirectional else 1
    for k in range(num_layers * D):
        assert f"h_n[{k}]" in words
    top = (num_layers - 1) * D
    assert f"= h_n[{top}]" in words
    if bidirectional:
        assert f"= h_n[{top + 1}]" in words
    if length is not None and length < seq_len:
        assert any("(pad)" in w for w in words)
    assert f"{num_layers * D} rows" in fig._suptitle.get_text()


@pytest.mark.parametrize("kwargs, error", [
    (dict(num_layers=0), ValueError), (dict(num_layers=2.0), TypeError),
    (dict(seq_len=9), ValueError), (dict(length=6, seq_len=5), ValueError),
    (dict(bidirectional="yes"), TypeError),
])
def test_layout_figure_bad_input(kwargs, error):
    with pytest.raises(error):
        ch05.draw_output_hn_layout(**kwargs)


def test_padding_damage():
    rng = np.random.default_rng(0)
    lengths = np.array([5, 3, 4])
    valid = np.arange(5)[:, None] < lengths[None, :]
    fwd = np.where(valid, 1e-17, rng.random((5, 3)))       # rounding noise inside, errors after
    bwd = rng.random((5, 3)) + 0.01
    fig = ch05.plot_padding_damage(fwd, bwd, lengths, floor=1e-12)
    titles = [ax.get_title() for ax in fig.axes[:2]]
    assert "< 1e-12" in titles[0] and ("e-01" in titles[1] or "e+00" in titles[1])
    assert fig.axes[0].get_xlabel() == "time step t" and "sequence" in fig.axes[0].get_ylabel()
    with pytest.raises(ValueError, match="one shape"):
        ch05.plot_padding_damage(fwd, bwd[:4], lengths)
    with pytest.raises(ValueError, match="lengths"):
        ch05.plot_padding_damage(fwd, bwd, lengths[:2])
    with pytest.raises(ValueError, match="floor"):
        ch05.plot_padding_damage(fwd, bwd, lengths, floor=-1.0)


def test_accuracy_plots():
    fig = ch05.plot_accuracy_curves({"a": ([50, 100], [0.5, 0.9]), "b": ([50], [0.7])},
                                    title="b learns faster", chance=0.4)
    ax = fig.axes[0]
    assert ax.get_title() == "b learns faster" and "accuracy" in ax.get_ylabel()
    assert ax.get_xlabel() == "optimizer step"
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["a", "b", "majority label"]
    with pytest.raises(ValueError, match="at least one"):
        ch05.plot_accuracy_curves({}, title="x")
    with pytest.raises(ValueError, match="differ in length"):
        ch05.plot_accuracy_curves({"a": ([1, 2], [0.5])}, title="x")

    fig = ch05.plot_accuracy_bars(["one", "two"], [0.81, 0.99], [7650, 7730], title="depth wins")
    words = texts(fig)
    assert "0.810\n7,650 params" in words and fig.axes[0].get_title() == "depth wins"
    with pytest.raises(ValueError, match="one length"):
        ch05.plot_accuracy_bars(["one"], [0.8, 0.9], [1, 2], title="x")
