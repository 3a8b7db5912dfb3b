"""rnnlab.data.sequences: the labels equal an independent per-sequence labelling written from the
definitions, padding is where the lengths say, and the generators are seeded."""
import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rnnlab.data.sequences import (
    IGNORE_INDEX,
    PAD,
    accuracy,
    bucketed_batches,
    labels_to_text,
    marker_sequences,
    num_labels,
    to_text,
    vocab_size,
)


def slow_labels(text, task):
    """Label a sequence written as text (fillers lowercase, markers uppercase) from the definitions."""
    labels = []
    for t in range(len(text)):
        after = next((c for c in text[t:] if c.isupper()), None)
        before = next((c for c in reversed(text[:t + 1]) if c.isupper()), None)
        if task == "next":
            labels.append(after if after is not None else "-")
        else:
            labels.append("1" if after is not None and after == before else "0")
    return "".join(labels)


@settings(max_examples=40, deadline=None)
@given(task=st.sampled_from(["next", "match"]), n=st.integers(1, 6), min_len=st.integers(1, 6),
       extra=st.integers(0, 8), n_classes=st.integers(1, 4), n_fillers=st.integers(1, 5),
       marker_prob=st.floats(0.05, 0.95), seed=st.integers(0, 10_000))
def test_labels_match_the_definition(task, n, min_len, extra, n_classes, n_fillers, marker_prob, seed):
    b = marker_sequences(n, task=task, min_len=min_len, max_len=min_len + extra, n_classes=n_classes,
                         n_fillers=n_fillers, marker_prob=marker_prob, seed=seed)
    T = b.tokens.shape[0]
    assert b.tokens.shape == b.labels.shape == (T, n) and b.lengths.shape == (n,)
    assert b.tokens.dtype == b.labels.dtype == b.lengths.dtype == np.int64
    assert T == b.lengths.max() and min_len <= b.lengths.min() and b.lengths.max() <= min_len + extra
    assert b.tokens.min() >= 0 and b.tokens.max() < vocab_size(n_classes, n_fillers)
    for i in range(n):
        L = b.lengths[i]
        assert np.all(b.tokens[L:, i] == PAD) and np.all(b.labels[L:, i] == IGNORE_INDEX)
        assert np.all(b.tokens[:L, i] != PAD)
        text = to_text(b.tokens[:L, i], n_classes, n_fillers)
        assert labels_to_text(b.labels[:L, i], task, n_classes) == slow_labels(text, task)
        assert b.labels[:L, i].min() >= 0 and b.labels[:L, i].max() < num_labels(task, n_classes)


def test_seeded_and_batch_first():
    a = marker_sequences(5, task="match", seed=3)
    b = marker_sequences(5, task="match", seed=3)
    c = marker_sequences(5, task="match", seed=4)
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x, y)
    assert not np.array_equal(a.tokens, c.tokens) or not np.array_equal(a.lengths, c.lengths)
    bf = marker_sequences(5, task="match", seed=3, batch_first=True)
    np.testing.assert_array_equal(bf.tokens, a.tokens.T)
    np.testing.assert_array_equal(bf.labels, a.labels.T)
    np.testing.assert_array_equal(bf.lengths, a.lengths)


def test_same_tokens_for_both_tasks():
    """The task only changes the labels: one seed gives the same sequences for both labellings."""
    a = marker_sequences(8, task="next", seed=5)
    b = marker_sequences(8, task="match", seed=5)
    np.testing.assert_array_equal(a.tokens, b.tokens)


def test_next_labels_need_the_future():
    """Two sequences with one prefix but different continuations get different labels on the
    prefix: no left-to-right reader can label this task perfectly."""
    batch = marker_sequences(2000, task="next", n_classes=3, min_len=6, max_len=6, seed=0)
    seen = {}
    clash = False
    for i in range(batch.tokens.shape[1]):
        prefix = tuple(batch.tokens[:3, i])
        labels = tuple(batch.labels[:3, i])
        if prefix in seen and seen[prefix] != labels:
            clash = True
            break
        seen[prefix] = labels
    assert clash


def test_bucketed_batches_have_one_length_each():
    stream = bucketed_batches(16, task="next", min_len=5, max_len=9, n_classes=3, seed=1)
    lengths = set()
    for b in itertools.islice(stream, 30):
        assert b.tokens.shape[1] == 16
        assert np.all(b.lengths == b.tokens.shape[0])
        assert not np.any(b.tokens == PAD) and not np.any(b.labels == IGNORE_INDEX)
        lengths.add(b.tokens.shape[0])
    assert lengths <= set(range(5, 10)) and len(lengths) > 1
    again = bucketed_batches(16, task="next", min_len=5, max_len=9, n_classes=3, seed=1)
    first = next(bucketed_batches(16, task="next", min_len=5, max_len=9, n_classes=3, seed=1))
    np.testing.assert_array_equal(next(again).tokens, first.tokens)


def test_text_helpers():
    assert to_text([3, 1, 6, 0], n_classes=2, n_fillers=4) == "caB_"
    assert labels_to_text([0, 2, IGNORE_INDEX], "next", n_classes=2) == "A-_"
    assert labels_to_text([1, 0], "match", n_classes=2) == "10"
    with pytest.raises(ValueError, match="outside the vocabulary"):
        to_text([9], n_classes=2, n_fillers=4)


def test_accuracy_ignores_padding():
    labels = np.array([[1, 0], [2, IGNORE_INDEX]])
    assert accuracy(np.array([[1, 1], [2, 0]]), labels) == pytest.approx(2 / 3)
    with pytest.raises(ValueError, match="same shape"):
        accuracy(np.zeros((2, 3)), labels)
    with pytest.raises(ValueError, match="no step"):
        accuracy(np.zeros((1, 1)), np.full((1, 1), IGNORE_INDEX))


@pytest.mark.parametrize("kwargs, error, words", [
    (dict(n=0), ValueError, "n must be"),
    (dict(n=True), TypeError, "n must be an int"),
    (dict(n=3, task="copy"), ValueError, "task must be one of"),
    (dict(n=3, min_len=5, max_len=4), ValueError, "max_len must be"),
    (dict(n=3, marker_prob=1.0), ValueError, "marker_prob"),
    (dict(n=3, n_classes=27), ValueError, "n_classes"),
    (dict(n=3, seed=-1), ValueError, "seed"),
])
def test_bad_arguments(kwargs, error, words):
    n = kwargs.pop("n")
    with pytest.raises(error, match=words):
        marker_sequences(n, **kwargs)


def test_num_labels_and_vocab():
    assert num_labels("next", 3) == 4 and num_labels("match", 3) == 2
    assert vocab_size(3, 4) == 8
    with pytest.raises(ValueError):
        num_labels("other", 2)
