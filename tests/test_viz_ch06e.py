"""rnnlab.viz.ch06e: the length experiment's runners on a tiny setup, the attention maps, the cost
counts and the figures."""
from dataclasses import replace

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from rnnlab.data import transduction as X  # noqa: E402
from rnnlab.viz import ch06e  # noqa: E402

TINY = replace(ch06e.SETUP, min_len=3, max_len=8, steps=3, batch_size=4, per_length=2, bin_width=2,
               hidden_size=6, embedding_size=4)


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def test_edges_cover_the_lengths_without_a_stub():
    assert ch06e.SETUP.edges.tolist() == [5, 9, 13, 17, 21, 25, 31]
    assert TINY.edges.tolist() == [3, 5, 7, 9]
    assert replace(TINY, max_len=9).edges.tolist() == [3, 5, 7, 10]


def test_the_runners_train_decode_and_measure():
    result = ch06e.run_length_experiment({"plain": None, "dot": "dot"}, seeds=(0, 1), setup=TINY)
    assert set(result.exact) == {"plain", "dot"}
    for values in result.exact.values():
        assert values.shape == (2, 3) and np.all((0 <= values) & (values <= 1))
    assert "source length" in result.table() and len(result.table().splitlines()) == 4
    again = ch06e.run_length_experiment({"dot": "dot"}, seeds=(0,), setup=TINY)
    np.testing.assert_array_equal(again.exact["dot"][0], result.exact["dot"][0])  # seeded
    fig = ch06e.length_figure(result, title="t")
    assert len(fig.axes[0].lines) == 2
    third = ch06e.run_length_experiment({"plain": None, "dot": "dot"}, seeds=(2,), setup=TINY)
    both = ch06e.LengthResult.concat([result, third])
    assert both.seeds == (0, 1, 2) and both.exact["dot"].shape == (3, 3)
    np.testing.assert_array_equal(both.exact["plain"][2], third.exact["plain"][0])
    assert both.models["dot"] is result.models["dot"]
    with pytest.raises(ValueError, match="same models"):
        ch06e.LengthResult.concat([result, again])


def test_attention_map_and_offsets():
    model, hist = ch06e.train_translator("general", 0, TINY)
    assert hist.num_steps == TINY.steps and not model.training
    sources = ["abcdefg", "abc"]
    maps = ch06e.attention_map(model, sources, TINY)
    for s, (out, w) in zip(sources, maps):
        assert w.shape == (len(out) + 1, len(s))
        np.testing.assert_allclose(w.sum(1), 1.0, atol=1e-6)
    diagonal = np.vstack([np.eye(5), np.full((1, 5), 0.2)])
    assert ch06e.peak_offsets(diagonal, 5, task="copy").tolist() == [0] * 5
    assert ch06e.peak_offsets(diagonal, 5, task="reverse").tolist() == [-4, -2, 0, 2, 4]
    shifted = np.vstack([np.eye(4)[[3, 3, 2, 1]], np.eye(4)[:1]])   # 4 outputs + <eos>
    assert ch06e.peak_offsets(shifted, 4).tolist() == [0, 1, 1, 1]
    assert ch06e.peak_offsets(shifted[1:], 4).tolist() == [0, 0, 0]  # an output short: cut


def test_translate_greedy_and_beam():
    model, _ = ch06e.train_translator(None, 1, TINY)
    vocab = X.SymbolVocab(TINY.n_symbols)
    test, batch = ch06e.test_set(TINY)
    greedy, out = ch06e.translate(model, batch.src, batch.src_len, vocab)
    beam, bout = ch06e.translate(model, batch.src, batch.src_len, vocab, beam_size=2)
    assert len(greedy) == len(beam) == len(test.sources)
    assert out.tokens.shape[0] == bout.tokens.shape[0] == len(test.sources)
    assert isinstance(ch06e.exact_match_curve(model, TINY, beam_size=2), np.ndarray)


def test_step_cost_counts():
    assert ch06e.step_cost("dot", 10, 4) == {"once": 0, "per_step": 10 * 4 + 10 + 10 * 4}
    assert ch06e.step_cost("general", 10, 4)["once"] == 10 * 16
    assert ch06e.step_cost("additive", 10, 4, A=3) == {"once": 10 * 3 * 4,
                                                        "per_step": 3 * 4 + 2 * 10 * 3 + 10 + 40}
    with pytest.raises(ValueError, match="score must be"):
        ch06e.step_cost("cosine", 3, 3)


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
