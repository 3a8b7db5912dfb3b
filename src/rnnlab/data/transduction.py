"""Copy or reverse a string of random symbols: a translation task whose length we choose (chapter 6e).

The source is a string of ``length`` symbols drawn uniformly and independently from the first
``n_symbols`` lower-case letters; the target is the same string (``task="copy"``) or the string
reversed (``task="reverse"``). Nothing in a string predicts another of its symbols, so an
encoder–decoder must carry every symbol from the source to the target: without attention, through
the encoder's final state, which holds the same number of values whatever the length. That makes
the task a measuring stick for the bottleneck, with the length as the knob.

Token ids follow :mod:`rnnlab.data.dates` (``0`` padding, ``1`` BOS, ``2`` EOS, ``3`` SEP, then the
symbols), and batches are :class:`rnnlab.data.dates.Seq2SeqBatch` (batch first), so the models and
decoders of the date translator run on it unchanged.

Everything is a pure function of its seed.

>>> pairs = string_pairs(2, task="reverse", min_len=5, max_len=6, seed=0)
>>> [t == s[::-1] for s, t in zip(pairs.sources, pairs.targets)]
[True, True]
"""
from __future__ import annotations

import string
from typing import Iterator, NamedTuple, Sequence

import numpy as np

from rnnlab._args import check_int
from rnnlab.data.dates import BOS, EOS, PAD, SEP, DateVocab, Seq2SeqBatch, encode_pairs

__all__ = ["TASKS", "LENGTH_DISTRIBUTIONS", "PAD", "BOS", "EOS", "SEP", "SymbolVocab", "StringPairs",
           "string_pairs", "pairs_per_length", "encode", "length_probabilities", "training_batches",
           "exact_match_by_length"]

#: What the target is: the source itself, or the source read backwards.
TASKS: tuple[str, ...] = ("copy", "reverse")


class SymbolVocab(DateVocab):
    """Ids of the special symbols and of the first ``n_symbols`` lower-case letters (one vocabulary
    for source and target, laid out like :class:`rnnlab.data.dates.DateVocab`).

    >>> v = SymbolVocab(5); v.size, v.decode(v.encode("abe"))
    (9, 'abe')
    """

    def __init__(self, n_symbols: int = 20):
        self.n_symbols = check_int("n_symbols", n_symbols, 1, len(string.ascii_lowercase))
        super().__init__(string.ascii_lowercase[: self.n_symbols])

    def __repr__(self) -> str:
        return f"SymbolVocab(n_symbols={self.n_symbols}, size={self.size})"


class StringPairs(NamedTuple):
    """Parallel lists: ``targets[i]`` is ``sources[i]`` copied or reversed; ``lengths[i]`` its length."""

    sources: list[str]
    targets: list[str]
    lengths: np.ndarray  # int64 (N,)


def _check_task(task) -> str:
    if task not in TASKS:
        raise ValueError(f"task must be one of {TASKS}, got {task!r}")
    return task


def _strings(lengths: np.ndarray, n_symbols: int, rng: np.random.Generator, task: str) -> StringPairs:
    letters = np.array(list(string.ascii_lowercase[:n_symbols]))
    sources = ["".join(letters[rng.integers(0, n_symbols, size=int(n))]) for n in lengths]
    targets = sources if task == "copy" else [s[::-1] for s in sources]
    return StringPairs(list(sources), list(targets), np.asarray(lengths, dtype=np.int64))


def _check_options(task, min_len, max_len, n_symbols, seed) -> tuple[int, int, int, int]:
    """The options both generators take, checked: ``(min_len, max_len, n_symbols, seed)``."""
    _check_task(task)
    min_len = check_int("min_len", min_len, 1)
    return (min_len, check_int("max_len", max_len, min_len),
            check_int("n_symbols", n_symbols, 1, len(string.ascii_lowercase)),
            check_int("seed", seed, 0))


def string_pairs(n: int, *, task: str = "copy", min_len: int = 5, max_len: int = 60,
                 n_symbols: int = 20, seed: int = 0) -> StringPairs:
    """``n`` pairs, each of a length drawn uniformly from ``[min_len, max_len]``."""
    n = check_int("n", n, 1)
    min_len, max_len, n_symbols, seed = _check_options(task, min_len, max_len, n_symbols, seed)
    rng = np.random.default_rng(seed)
    return _strings(rng.integers(min_len, max_len + 1, size=n), n_symbols, rng, task)


def pairs_per_length(per_length: int, *, task: str = "copy", min_len: int = 5, max_len: int = 60,
                     n_symbols: int = 20, seed: int = 0) -> StringPairs:
    """A balanced test set: ``per_length`` pairs of every length from ``min_len`` to ``max_len``,
    shortest first."""
    per_length = check_int("per_length", per_length, 1)
    min_len, max_len, n_symbols, seed = _check_options(task, min_len, max_len, n_symbols, seed)
    lengths = np.repeat(np.arange(min_len, max_len + 1), per_length)
    return _strings(lengths, n_symbols, np.random.default_rng(seed), task)


def encode(pairs: StringPairs, vocab: SymbolVocab) -> Seq2SeqBatch:
    """Ids, right-padded, for an encoder–decoder: ``(src, src_len, tgt_in, tgt_out)``, batch first."""
    return encode_pairs(pairs, vocab)


#: How :func:`training_batches` draws the length of a batch.
LENGTH_DISTRIBUTIONS: tuple[str, ...] = ("uniform", "log")


def length_probabilities(min_len: int, max_len: int, lengths: str = "uniform") -> np.ndarray:
    """Probability of each length ``min_len .. max_len``: equal (``"uniform"``), or proportional
    to ``1 / length`` (``"log"``: each doubling of the length, 5–10, 10–20, 20–40, gets about the
    same share)."""
    min_len = check_int("min_len", min_len, 1)
    max_len = check_int("max_len", max_len, min_len)
    if lengths not in LENGTH_DISTRIBUTIONS:
        raise ValueError(f"lengths must be one of {LENGTH_DISTRIBUTIONS}, got {lengths!r}")
    span = np.arange(min_len, max_len + 1, dtype=float)
    p = np.ones_like(span) if lengths == "uniform" else 1.0 / span
    return p / p.sum()


def training_batches(batch_size: int, vocab: SymbolVocab, *, task: str = "copy", min_len: int = 5,
                     max_len: int = 60, lengths: str = "uniform", spread: int = 0,
                     seed: int = 0) -> Iterator[Seq2SeqBatch]:
    """An endless stream of fresh training batches, bucketed by length.

    Each batch draws a length ``L`` from ``[min_len, max_len]`` (with the probabilities of
    :func:`length_probabilities`) and then ``batch_size`` strings of lengths in
    ``[L, min(L + spread, max_len)]``: with ``spread=0`` a batch has no padding at all, so a
    recurrent layer runs ``L`` steps instead of the longest length of a mixed batch.
    """
    batch_size = check_int("batch_size", batch_size, 1)
    p = length_probabilities(min_len, max_len, lengths)
    spread = check_int("spread", spread, 0)
    seed = check_int("seed", seed, 0)
    _check_task(task)
    if not isinstance(vocab, SymbolVocab):
        raise TypeError(f"vocab must be a SymbolVocab, got {type(vocab).__name__}")
    rng = np.random.default_rng(seed)
    while True:
        low = min_len + int(rng.choice(len(p), p=p))
        lengths = rng.integers(low, min(low + spread, max_len) + 1, size=batch_size)
        yield encode(_strings(lengths, vocab.n_symbols, rng, task), vocab)


def exact_match_by_length(predictions: Sequence[str], targets: Sequence[str], lengths,
                          edges: Sequence[int]) -> tuple[np.ndarray, np.ndarray]:
    """Exact match of the pairs whose length lies in each bin ``[edges[i], edges[i+1])``.

    Returns ``(counts, exact)``: how many pairs fall in each bin and the share of them predicted
    character for character (NaN for an empty bin).
    """
    lengths = np.asarray(lengths)
    if not (len(predictions) == len(targets) == len(lengths)) or not len(targets):
        raise ValueError(f"need as many predictions, targets and lengths (> 0), got "
                         f"{len(predictions)}, {len(targets)} and {len(lengths)}")
    edges = np.asarray(edges)
    if edges.ndim != 1 or len(edges) < 2 or np.any(np.diff(edges) <= 0):
        raise ValueError(f"edges must be an increasing 1-d sequence of at least two bin edges, "
                         f"got {edges.tolist()}")
    right = np.array([p == t for p, t in zip(predictions, targets)])
    counts, exact = [], []
    for lo, hi in zip(edges[:-1], edges[1:]):
        inside = (lengths >= lo) & (lengths < hi)
        counts.append(int(inside.sum()))
        exact.append(float(right[inside].mean()) if inside.any() else float("nan"))
    return np.array(counts), np.array(exact)
