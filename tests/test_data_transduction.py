"""rnnlab.data.transduction: copy and reverse strings of chosen length, for chapter 6e."""
import numpy as np
import pytest

from rnnlab.data import dates
from rnnlab.data import transduction as X


@pytest.mark.parametrize("task", X.TASKS)
def test_targets_are_the_sources_copied_or_reversed(task):
    pairs = X.string_pairs(300, task=task, min_len=3, max_len=9, n_symbols=5, seed=1)
    for s, t, n in zip(pairs.sources, pairs.targets, pairs.lengths):
        assert len(s) == n and 3 <= n <= 9 and set(s) <= set("abcde")
        assert t == (s if task == "copy" else s[::-1])
    assert set(pairs.lengths.tolist()) == set(range(3, 10))
    assert set("".join(pairs.sources)) == set("abcde")


def test_pairs_are_a_function_of_the_seed():
    a = X.string_pairs(50, seed=3)
    b = X.string_pairs(50, seed=3)
    c = X.string_pairs(50, seed=4)
    assert a.sources == b.sources and a.sources != c.sources
    np.testing.assert_array_equal(a.lengths, b.lengths)


def test_pairs_per_length_is_balanced():
    pairs = X.pairs_per_length(4, min_len=5, max_len=8, seed=0)
    assert pairs.lengths.tolist() == [5] * 4 + [6] * 4 + [7] * 4 + [8] * 4
    assert [len(s) for s in pairs.sources] == pairs.lengths.tolist()


def test_vocab_and_encoding_follow_the_dates_layout():
    vocab = X.SymbolVocab(20)
    assert vocab.size == 24 and (X.PAD, X.BOS, X.EOS) == (dates.PAD, dates.BOS, dates.EOS)
    assert repr(vocab) == "SymbolVocab(n_symbols=20, size=24)"
    pairs = X.string_pairs(6, task="reverse", min_len=2, max_len=7, seed=2)
    b = X.encode(pairs, vocab)
    assert isinstance(b, dates.Seq2SeqBatch)
    for i, (s, t) in enumerate(zip(pairs.sources, pairs.targets)):
        assert vocab.decode(b.src[i, : b.src_len[i]]) == s
        assert np.all(b.src[i, b.src_len[i]:] == X.PAD)
        assert b.tgt_in[i, 0] == X.BOS and vocab.decode(b.tgt_out[i]) == t
        assert b.tgt_out[i, len(t)] == X.EOS


@pytest.mark.parametrize("spread", [0, 3])
def test_training_batches_are_bucketed_by_length(spread):
    vocab = X.SymbolVocab(8)
    stream = X.training_batches(16, vocab, task="copy", min_len=5, max_len=30, spread=spread, seed=0)
    lows = []
    for _ in range(40):
        b = next(stream)
        assert b.src.shape[0] == 16
        assert b.src_len.max() - b.src_len.min() <= spread
        assert 5 <= b.src_len.min() and b.src_len.max() <= 30
        assert b.src.shape[1] == b.src_len.max()
        lows.append(int(b.src_len.min()))
        for i in range(16):
            src = b.src[i, : b.src_len[i]]
            np.testing.assert_array_equal(b.tgt_out[i, : b.src_len[i]], src)
    assert min(lows) < 12 and max(lows) > 22  # lengths spread over the range
    again = X.training_batches(16, vocab, task="copy", min_len=5, max_len=30, spread=spread, seed=0)
    np.testing.assert_array_equal(next(again).src, next(X.training_batches(
        16, vocab, task="copy", min_len=5, max_len=30, spread=spread, seed=0)).src)


def test_exact_match_by_length():
    counts, exact = X.exact_match_by_length(["ab", "abc", "xyz", "abcd"], ["ab", "abd", "xyz", "abcd"],
                                            [2, 3, 3, 4], [2, 3, 4, 6, 9])
    assert counts.tolist() == [1, 2, 1, 0]
    np.testing.assert_array_equal(exact[:3], [1.0, 0.5, 1.0])
    assert np.isnan(exact[3])


def test_bad_arguments():
    with pytest.raises(ValueError, match="task must be one of"):
        X.string_pairs(3, task="sort")
    with pytest.raises(ValueError, match="max_len must be >= 5"):
        X.string_pairs(3, min_len=5, max_len=4)
    with pytest.raises(ValueError, match="n_symbols must be in"):
        X.SymbolVocab(27)
    with pytest.raises(TypeError, match="vocab must be a SymbolVocab"):
        next(X.training_batches(4, dates.DateVocab()))
    with pytest.raises(ValueError, match="edges"):
        X.exact_match_by_length(["a"], ["a"], [1], [3, 2])
    with pytest.raises(ValueError, match="as many"):
        X.exact_match_by_length(["a"], ["a", "b"], [1, 1], [1, 2])
