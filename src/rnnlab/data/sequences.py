"""Seeded per-step labelling tasks whose labels depend on *later* tokens (chapter 5).

A unidirectional network reading left to right cannot know what comes after step ``t``; these tasks
are built so that the label of step ``t`` needs exactly that. They are the chapter's measuring stick
for bidirectional and for deep (stacked) recurrent networks.

Every sequence is a string of **fillers** (uninformative symbols ``a, b, c, ...``) and **markers**
(symbols ``A, B, ...``, one per class). Two labellings are offered:

``task="next"``
    The label of step ``t`` is the class of the nearest marker at or after ``t`` (the token itself
    counts), or ``n_classes`` ("none") when no marker follows. The answer lies in the future, but
    one direction suffices: a right-to-left reader only has to remember the last marker it saw.

``task="match"``
    The label of step ``t`` is 1 when the nearest marker at or before ``t`` and the nearest marker
    at or after ``t`` exist and belong to the same class, else 0. This needs both directions *at
    once*: with two classes it is an exclusive-or of what the left-to-right and the right-to-left
    reader know, which a linear read-out of the two directions (a sum) cannot compute, and a second
    layer that sees both directions can.

Shapes follow torch's recurrent layers: ``T`` time steps (the longest sequence), ``N`` sequences.
Token ids: ``0`` is padding (:data:`PAD`), ``1 .. n_fillers`` the fillers, then one marker per class.
Labels at padded steps are :data:`IGNORE_INDEX` (-100, the default ``ignore_index`` of
``torch.nn.functional.cross_entropy``).

Example
-------
>>> b = marker_sequences(3, task="next", min_len=6, max_len=8, n_classes=2, seed=0)
>>> b.tokens.shape, b.labels.shape, b.lengths.shape
((8, 3), (8, 3), (3,))
"""
from __future__ import annotations

from typing import Iterator, NamedTuple

import numpy as np

from rnnlab._args import check_int

__all__ = [
    "PAD",
    "IGNORE_INDEX",
    "TASKS",
    "MarkerBatch",
    "marker_sequences",
    "bucketed_batches",
    "vocab_size",
    "num_labels",
    "to_text",
    "labels_to_text",
    "accuracy",
]

#: Token id of padding.
PAD: int = 0
#: Label at padded steps (``torch.nn.functional.cross_entropy``'s default ``ignore_index``).
IGNORE_INDEX: int = -100
#: The labellings :func:`marker_sequences` knows.
TASKS: tuple[str, ...] = ("next", "match")

_FILLER_CHARS = "abcdefghijklmnopqrstuvwxyz"
_MARKER_CHARS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"


class MarkerBatch(NamedTuple):
    """A padded batch of labelled sequences.

    ``tokens``  (T, N) int64 (``(N, T)`` when ``batch_first``), :data:`PAD` after each true end.
    ``labels``  same shape, int64, :data:`IGNORE_INDEX` at padded steps.
    ``lengths`` (N,) int64, the true length of each sequence (``1 <= lengths <= T``).
    """

    tokens: np.ndarray
    labels: np.ndarray
    lengths: np.ndarray


def vocab_size(n_classes: int, n_fillers: int) -> int:
    """Number of token ids: padding, the fillers, one marker per class."""
    return 1 + n_fillers + n_classes


def num_labels(task: str, n_classes: int) -> int:
    """Number of label values: ``n_classes + 1`` for ``"next"`` (the extra one is "none"), 2 for ``"match"``."""
    _check_task(task)
    return n_classes + 1 if task == "next" else 2


def _check_task(task) -> None:
    if task not in TASKS:
        raise ValueError(f"task must be one of {TASKS}, got {task!r}")


def marker_sequences(
    n: int,
    *,
    task: str = "next",
    min_len: int = 8,
    max_len: int = 24,
    n_classes: int = 2,
    n_fillers: int = 4,
    marker_prob: float = 0.2,
    seed: int = 0,
    batch_first: bool = False,
) -> MarkerBatch:
    """Draw ``n`` random sequences of fillers and markers and label every step.

    Parameters
    ----------
    n : number of sequences (the batch size N).
    task : ``"next"`` or ``"match"`` (see the module docstring).
    min_len, max_len : true lengths are drawn uniformly from ``[min_len, max_len]``; the batch is
        padded to the longest one drawn.
    n_classes : number of marker classes (``<= 26``).
    n_fillers : number of filler symbols (``<= 26``).
    marker_prob : probability that a step holds a marker.
    seed : seed of ``numpy.random.default_rng``; the same arguments give the same batch.
    batch_first : return ``(N, T)`` arrays instead of ``(T, N)``.

    Returns
    -------
    MarkerBatch ``(tokens, labels, lengths)``.
    """
    _check_task(task)
    n = check_int("n", n, 1)
    min_len = check_int("min_len", min_len, 1)
    max_len = check_int("max_len", max_len, min_len)
    n_classes = check_int("n_classes", n_classes, 1, len(_MARKER_CHARS))
    n_fillers = check_int("n_fillers", n_fillers, 1, len(_FILLER_CHARS))
    seed = check_int("seed", seed, 0)
    if not (0.0 < float(marker_prob) < 1.0):
        raise ValueError(f"marker_prob must be in (0, 1), got {marker_prob!r}")

    rng = np.random.default_rng(seed)
    lengths = rng.integers(min_len, max_len + 1, size=n).astype(np.int64)
    T = int(lengths.max())
    is_marker = rng.random((T, n)) < marker_prob
    cls = rng.integers(0, n_classes, size=(T, n))
    fill = rng.integers(0, n_fillers, size=(T, n))
    valid = np.arange(T)[:, None] < lengths[None, :]                  # (T, N)
    is_marker &= valid
    tokens = np.where(is_marker, 1 + n_fillers + cls, 1 + fill)
    tokens = np.where(valid, tokens, PAD).astype(np.int64)
    marker_cls = np.where(is_marker, cls, -1)                          # -1: no marker here

    # class of the nearest marker at or after t (scan right to left), -1 if none
    after = np.full((T, n), -1, dtype=np.int64)
    seen = np.full(n, -1, dtype=np.int64)
    for t in range(T - 1, -1, -1):
        seen = np.where(marker_cls[t] >= 0, marker_cls[t], seen)
        after[t] = seen
    if task == "next":
        labels = np.where(after >= 0, after, n_classes)
    else:
        before = np.full((T, n), -1, dtype=np.int64)
        seen = np.full(n, -1, dtype=np.int64)
        for t in range(T):
            seen = np.where(marker_cls[t] >= 0, marker_cls[t], seen)
            before[t] = seen
        labels = ((before >= 0) & (before == after)).astype(np.int64)
    labels = np.where(valid, labels, IGNORE_INDEX).astype(np.int64)

    if batch_first:
        tokens, labels = tokens.T.copy(), labels.T.copy()
    return MarkerBatch(tokens, labels, lengths)


def bucketed_batches(
    batch_size: int,
    *,
    task: str = "next",
    min_len: int = 8,
    max_len: int = 24,
    n_classes: int = 2,
    n_fillers: int = 4,
    marker_prob: float = 0.2,
    seed: int = 0,
    batch_first: bool = False,
) -> Iterator[MarkerBatch]:
    """An endless stream of training batches in which all sequences of a batch have one length.

    Each batch draws its length uniformly from ``[min_len, max_len]`` and then ``batch_size``
    sequences of exactly that length, so there is no padding to pack or mask (the other way of
    dealing with variable lengths: bucketing). Seeded: the same arguments give the same stream.
    The other arguments are those of :func:`marker_sequences`.
    """
    batch_size = check_int("batch_size", batch_size, 1)
    min_len = check_int("min_len", min_len, 1)
    max_len = check_int("max_len", max_len, min_len)
    seed = check_int("seed", seed, 0)
    _check_task(task)
    rng = np.random.default_rng(seed)
    while True:
        length = int(rng.integers(min_len, max_len + 1))
        yield marker_sequences(batch_size, task=task, min_len=length, max_len=length,
                               n_classes=n_classes, n_fillers=n_fillers, marker_prob=marker_prob,
                               seed=int(rng.integers(2**31)), batch_first=batch_first)


def to_text(tokens, n_classes: int, n_fillers: int) -> str:
    """One sequence of token ids as text: fillers ``a b c ...``, markers ``A B ...``, padding ``_``.

    >>> to_text([3, 1, 6, 0], n_classes=2, n_fillers=4)
    'caB_'
    """
    out = []
    for tok in np.asarray(tokens).ravel():
        tok = int(tok)
        if tok == PAD:
            out.append("_")
        elif 1 <= tok <= n_fillers:
            out.append(_FILLER_CHARS[tok - 1])
        elif n_fillers < tok <= n_fillers + n_classes:
            out.append(_MARKER_CHARS[tok - 1 - n_fillers])
        else:
            raise ValueError(f"token id {tok} is outside the vocabulary of size "
                             f"{vocab_size(n_classes, n_fillers)}")
    return "".join(out)


def labels_to_text(labels, task: str, n_classes: int) -> str:
    """One sequence of labels as text, aligned with :func:`to_text`.

    ``"next"``: the class letter ``A B ...`` or ``-`` for "none"; ``"match"``: ``1``/``0``;
    padding (:data:`IGNORE_INDEX`) is ``_``.
    """
    _check_task(task)
    out = []
    for lab in np.asarray(labels).ravel():
        lab = int(lab)
        if lab == IGNORE_INDEX:
            out.append("_")
        elif task == "match":
            out.append(str(lab))
        else:
            out.append("-" if lab == n_classes else _MARKER_CHARS[lab])
    return "".join(out)


def accuracy(predictions, labels) -> float:
    """Fraction of non-padded steps (label != :data:`IGNORE_INDEX`) predicted correctly."""
    predictions, labels = np.asarray(predictions), np.asarray(labels)
    if predictions.shape != labels.shape:
        raise ValueError(f"predictions and labels must have the same shape, got "
                         f"{predictions.shape} and {labels.shape}")
    keep = labels != IGNORE_INDEX
    if not keep.any():
        raise ValueError("labels holds no step to score (all are IGNORE_INDEX)")
    return float((predictions[keep] == labels[keep]).mean())
