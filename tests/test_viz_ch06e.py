"""rnnlab.viz.ch06e: the figures draw what they are given (a tiny length experiment of
rnnlab.experiments.ch06e for the length figure)."""
from dataclasses import replace

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from rnnlab.experiments import ch06e as ex06e  # noqa: E402
from rnnlab.viz import ch06e  # noqa: E402

TINY = replace(ex06e.SETUP, min_len=3, max_len=8, steps=3, batch_size=4, per_length=2,
               bin_width=2, hidden_size=6, embedding_size=4)


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def test_figures_draw():
    w = np.eye(4)[::-1]
    fig = ch06e.alignment_heatmap(w, "abcd", "dcb")
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_xticklabels()] == list("abcd")
    assert [t.get_text() for t in ax.get_yticklabels()] == ["d", "c", "b", "<eos>"]
    with pytest.raises(ValueError, match="weights must have shape"):
        ch06e.alignment_heatmap(np.ones(3), "abc", "abc")
    fig = ch06e.heatmap_grid([(w, "abcd", "dcb", "one"), (w[:2, :3], "abc", "c", "two"),
                              (w, "abcd", "dcb", "three")], ncols=2)
    assert sum(ax.get_visible() for ax in fig.axes if ax.images) == 3
    fig = ch06e.draw_attention()
    assert fig.axes[0].get_title(loc="left").startswith("One decoder step")


def test_length_figure_draws_one_line_per_model():
    result = ex06e.run_length_experiment({"plain": None, "dot": "dot"}, seeds=(0, 1), setup=TINY)
    fig = ch06e.length_figure(result, title="t")
    assert len(fig.axes[0].lines) == 2
