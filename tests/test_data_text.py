"""rnnlab.data.text: the standard-library corpus, the vocabulary and truncated-BPTT batching."""
import numpy as np
import pytest

from rnnlab.data import text as T


@pytest.fixture(scope="module")
def small():
    return T.load_stdlib_corpus(("bisect", "colorsys", "heapq"), val_fraction=0.2)


def test_corpus_is_filtered_and_split_per_file(small):
    assert set(small.train) <= set(T.ALPHABET) and set(small.val) <= set(T.ALPHABET)
    full = "".join(T.ascii_filter(T.module_source(m)) for m in small.modules)
    assert len(small.train) + len(small.val) == len(full)
    # every file is split at a line break: its train part ends with a newline
    src = T.ascii_filter(T.module_source("bisect"))
    assert small.train.startswith(src[: len(src) // 2])
    assert 0.1 < len(small.val) / len(full) < 0.3
    assert "chars" in repr(small) and len(repr(small)) < 200


def test_default_corpus_size_and_unigram():
    c = T.load_stdlib_corpus()
    assert len(c.modules) == len(T.STDLIB_MODULES) == len(set(T.STDLIB_MODULES))
    assert list(T.STDLIB_MODULES) == sorted(T.STDLIB_MODULES)
    assert 0.8e6 < len(c.train) < 2e6 and 0.08 < len(c.val) / (len(c.train) + len(c.val)) < 0.12
    v = T.CharVocab()
    bits = T.unigram_bits_per_char(v.encode(c.train), v.encode(c.val), v.size)
    assert 4.2 < bits < 4.7          # a unigram model of Python source: about 4.4 bits
    assert T.bigram_bits_per_char(v.encode(c.train), v.encode(c.val), v.size) < bits


def test_vocab_roundtrip_and_errors():
    v = T.CharVocab()
    assert v.size == len(T.ALPHABET) == 97
    s = "def f(x):\n\treturn x ~ 1"
    assert v.decode(v.encode(s)) == s
    assert v.encode(s).dtype == np.int64
    with pytest.raises(ValueError, match="not in the vocabulary"):
        v.encode("é")
    with pytest.raises(ValueError, match="ids must lie"):
        v.decode([0, 97])
    w = T.CharVocab.from_text("banana")
    assert w.chars == "abn" and w.decode(w.encode("nab")) == "nab"
    with pytest.raises(ValueError):
        T.CharVocab("aa")


def test_unigram_matches_closed_form():
    train, val = np.array([0, 0, 1]), np.array([0, 1])
    p = np.array([3, 2, 1]) / 6  # add-one counts
    assert T.unigram_bits_per_char(train, val, 3) == pytest.approx(-np.log2(p[[0, 1]]).mean())


def test_batchify_and_bptt_windows_cover_the_streams():
    ids = np.arange(103)
    s = T.batchify(ids, 4)
    assert s.shape == (25, 4)
    np.testing.assert_array_equal(s[:, 1], np.arange(25, 50))   # column n = n-th contiguous slice
    xs, ys = zip(*T.bptt_batches(s, 7))
    assert [x.shape[0] for x in xs] == [7, 7, 7, 3]
    np.testing.assert_array_equal(np.concatenate(xs), s[:-1])
    np.testing.assert_array_equal(np.concatenate(ys), s[1:])   # the target is the next id
    xs, ys = zip(*T.bptt_batches(s, 7, offset=3))
    np.testing.assert_array_equal(np.concatenate(xs), s[3:-1])
    with pytest.raises(ValueError, match="batch_size"):
        T.batchify(ids, 0)
    with pytest.raises(ValueError, match="shape"):
        list(T.bptt_batches(ids, 5))
    with pytest.raises(ValueError, match="offset"):
        list(T.bptt_batches(s, 5, offset=24))


def test_bad_arguments():
    with pytest.raises(ValueError, match="val_fraction"):
        T.load_stdlib_corpus(("bisect",), val_fraction=1.0)
    with pytest.raises(ValueError, match="no Python source"):
        T.module_source("sys")
    with pytest.raises(TypeError):
        T.module_source(3)
    assert len(T.load_stdlib_corpus(("bisect",), max_chars=50).train) == 50
