"""rnnlab.viz.ch06: the temperature figures show softmax(logits / T) as torch computes it, the
explorer builds, the chapter's figures draw and state their finding, and bad input is refused."""
import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

from rnnlab.viz import ch06  # noqa: E402

CHARS = "abcdef\n "


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def logits(seed=0):
    return np.random.default_rng(seed).normal(scale=3.0, size=len(CHARS))


@pytest.mark.parametrize("temperatures", [(0.25, 0.5, 1.0, 2.0), (1.0,), (0.1, 10.0)])
def test_temperature_grid_bars_are_torch_softmax_of_logits_over_t(temperatures):
    z = logits()
    fig = ch06.temperature_grid(z, CHARS, temperatures, context="def f(", top=5)
    order = np.argsort(-z, kind="stable")[:5]
    for ax, t in zip(fig.axes, temperatures):
        expected = torch.softmax(torch.from_numpy(z) / t, dim=0).numpy()
        heights = [patch.get_height() for patch in ax.patches]
        np.testing.assert_allclose(heights, expected[order], rtol=1e-12)
        labels = [tick.get_text() for tick in ax.get_xticklabels()]
        assert labels == [ch06.printable(CHARS[i]) for i in order]
        assert f"other symbols: {1 - expected[order].sum():.2f}" in ax.get_title()
    assert "low temperature sharpens" in fig._suptitle.get_text()


def test_lower_temperature_is_sharper():
    z = logits(1)
    fig = ch06.temperature_grid(z, CHARS, (0.5, 1.0, 2.0), top=len(CHARS))
    tallest = [max(p.get_height() for p in ax.patches) for ax in fig.axes]
    assert tallest[0] > tallest[1] > tallest[2]


def test_explorer_builds_with_and_without_a_sampler():
    box = ch06.temperature_explorer(logits(), CHARS, sample=lambda t: f"sample at {t:.2f}", top=4)
    slider = box.children[0]
    assert slider.description == "temperature" and slider.value == 1.0
    slider.value = 2.0                                  # redraws without error
    ch06.temperature_explorer(logits(), CHARS)         # default top=10 > V=8: shows all 8


def test_top_larger_than_the_vocabulary_shows_every_symbol():
    fig = ch06.temperature_grid(logits(), CHARS, (1.0,), top=99)
    assert len(fig.axes[0].patches) == len(CHARS)


@pytest.mark.parametrize("kwargs, message", [
    (dict(logits=np.zeros((2, 8))), "shape (V,)"),
    (dict(chars="abc"), "len(chars)"),
    (dict(temperatures=(1.0, 0.0)), "positive"),
    (dict(temperatures=(-1.0,)), "positive"),
    (dict(top=0), "top"),
    (dict(top=2.5), "top"),
])
def test_temperature_grid_bad_input(kwargs, message):
    args = dict(logits=logits(), chars=CHARS, temperatures=(1.0,), top=3) | kwargs
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        ch06.temperature_grid(args["logits"], args["chars"], args["temperatures"], top=args["top"])


def test_mappings_diagram_names_all_five_mappings():
    fig = ch06.draw_mappings()
    titles = " ".join(ax.get_title() for ax in fig.axes)
    for word in ("classification", "labelling", "generation", "translation", "separator"):
        assert word in titles


def test_confusion_counts_match_the_predictions():
    y_true = np.array([0, 0, 1, 1, 2, 2, 2])
    y_pred = np.array([0, 1, 1, 1, 2, 0, 2])
    fig = ch06.confusion_figure(y_true, y_pred, ["a", "b", "c"], title="t")
    written = {(round(t.get_position()[1]), round(t.get_position()[0])): int(t.get_text())
               for t in fig.axes[0].texts}
    expected = {(0, 0): 1, (0, 1): 1, (1, 1): 2, (2, 0): 1, (2, 2): 2}   # (true, predicted): count
    assert written == expected


# ----------------------------------------------------------------------------- 6a


def test_state_accuracy_figure():
    fig = ch06.state_accuracy_figure([0.4, 0.7, 1.0], [0.1, 0.1, 1.0], title="t")
    ax = fig.axes[0]
    assert ax.get_xlabel().startswith("rows read") and ax.get_ylabel() == "test accuracy"
    assert len(ax.get_legend().get_texts()) == 2
    np.testing.assert_allclose(ax.lines[0].get_ydata(), [0.4, 0.7, 1.0])
    with pytest.raises(ValueError, match="one length"):
        ch06.state_accuracy_figure([0.4, 0.7], [0.1])

# ----------------------------------------------------------------------------- 6c
def test_wrap_lines_fits_the_width_and_keeps_the_text():
    text = "x" * 200 + "\nshort\n" + "y" * 88
    wrapped = ch06.wrap_lines(text, 88)
    assert max(len(line) for line in wrapped.split("\n")) <= 88
    assert wrapped.replace("\n↪", "") == text
    assert ch06.wrap_lines("ab   \n" + " " * 100, 88) == "ab\n"       # trailing spaces go
    with pytest.raises(ValueError, match="width"):
        ch06.wrap_lines(text, 1)


