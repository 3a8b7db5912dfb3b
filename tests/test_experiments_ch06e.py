"""rnnlab.experiments.ch06e: the length experiment's runners on a tiny setup, the attention maps
and the cost counts."""
from dataclasses import replace

import numpy as np
import pytest

from rnnlab.data import transduction as X
from rnnlab.experiments import ch06e as ex06e

TINY = replace(ex06e.SETUP, min_len=3, max_len=8, steps=3, batch_size=4, per_length=2,
               bin_width=2, hidden_size=6, embedding_size=4)


def test_edges_cover_the_lengths_without_a_stub():
    assert ex06e.SETUP.edges.tolist() == [5, 9, 13, 17, 21, 25, 31]
    assert TINY.edges.tolist() == [3, 5, 7, 9]
    assert replace(TINY, max_len=9).edges.tolist() == [3, 5, 7, 10]


def test_the_runners_train_decode_and_measure():
    result = ex06e.run_length_experiment({"plain": None, "dot": "dot"}, seeds=(0, 1), setup=TINY)
    assert set(result.exact) == {"plain", "dot"}
    for values in result.exact.values():
        assert values.shape == (2, 3) and np.all((0 <= values) & (values <= 1))
    assert "source length" in result.table() and len(result.table().splitlines()) == 4
    again = ex06e.run_length_experiment({"dot": "dot"}, seeds=(0,), setup=TINY)
    np.testing.assert_array_equal(again.exact["dot"][0], result.exact["dot"][0])  # seeded
    third = ex06e.run_length_experiment({"plain": None, "dot": "dot"}, seeds=(2,), setup=TINY)
    both = ex06e.LengthResult.concat([result, third])
    assert both.seeds == (0, 1, 2) and both.exact["dot"].shape == (3, 3)
    np.testing.assert_array_equal(both.exact["plain"][2], third.exact["plain"][0])
    assert both.models["dot"] is result.models["dot"]
    with pytest.raises(ValueError, match="same models"):
        ex06e.LengthResult.concat([result, again])


def test_attention_map_and_offsets():
    model, hist = ex06e.train_translator("general", 0, TINY)
    assert hist.num_steps == TINY.steps and not model.training
    sources = ["abcdefg", "abc"]
    maps = ex06e.attention_map(model, sources, TINY)
    for s, (out, w) in zip(sources, maps):
        assert w.shape == (len(out) + 1, len(s))
        np.testing.assert_allclose(w.sum(1), 1.0, atol=1e-6)
    diagonal = np.vstack([np.eye(5), np.full((1, 5), 0.2)])
    assert ex06e.peak_offsets(diagonal, 5, task="copy").tolist() == [0] * 5
    assert ex06e.peak_offsets(diagonal, 5, task="reverse").tolist() == [-4, -2, 0, 2, 4]
    shifted = np.vstack([np.eye(4)[[3, 3, 2, 1]], np.eye(4)[:1]])   # 4 outputs + <eos>
    assert ex06e.peak_offsets(shifted, 4).tolist() == [0, 1, 1, 1]
    assert ex06e.peak_offsets(shifted[1:], 4).tolist() == [0, 0, 0]  # an output short: cut


def test_translate_greedy_and_beam():
    model, _ = ex06e.train_translator(None, 1, TINY)
    vocab = X.SymbolVocab(TINY.n_symbols)
    test, batch = ex06e.test_set(TINY)
    greedy, out = ex06e.translate(model, batch.src, batch.src_len, vocab)
    beam, bout = ex06e.translate(model, batch.src, batch.src_len, vocab, beam_size=2)
    assert len(greedy) == len(beam) == len(test.sources)
    assert out.tokens.shape[0] == bout.tokens.shape[0] == len(test.sources)
    assert isinstance(ex06e.exact_match_curve(model, TINY, beam_size=2), np.ndarray)


def test_step_cost_counts():
    assert ex06e.step_cost("dot", 10, 4) == {"once": 0, "per_step": 10 * 4 + 10 + 10 * 4}
    assert ex06e.step_cost("general", 10, 4)["once"] == 10 * 16
    assert ex06e.step_cost("additive", 10, 4, A=3) == {"once": 10 * 3 * 4,
                                                        "per_step": 3 * 4 + 2 * 10 * 3 + 10 + 40}
    with pytest.raises(ValueError, match="score must be"):
        ex06e.step_cost("cosine", 3, 3)
