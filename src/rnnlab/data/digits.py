"""scikit-learn's bundled 8x8 handwritten digits, read as sequences of rows.

The data set (1,797 images of the digits 0-9, 8x8 pixels with intensities 0-16) ships inside
scikit-learn, so nothing is downloaded. Reading an image one row per time step turns it into a
sequence classification problem: ``T = 8`` steps of ``D = 8`` features and one label per sequence.

The split is deterministic and stratified: within every class the images are shuffled with a fixed
seed and the last ``test_fraction`` of them become the test set.
"""
from __future__ import annotations

from typing import Callable, Iterator, NamedTuple, Sequence

import numpy as np


class DigitsSplit(NamedTuple):
    """Images as sequences of rows and their labels.

    ``x_train``: float32 ``(N_train, 8, 8)`` (batch, time = row, features = columns), scaled to
    [0, 1]; ``y_train``: int64 ``(N_train,)``; likewise ``x_test``, ``y_test``.
    """

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray


def load_digits_rows(test_fraction: float = 0.25, seed: int = 0, order: str = "rows") -> DigitsSplit:
    """The digits, batch-first ``(N, T, D)``, split per class into train and test.

    Parameters
    ----------
    test_fraction: share of every class that goes to the test set.
    seed: seed of the per-class shuffle (the split is a pure function of it).
    order: ``"rows"`` reads top to bottom (``T = 8`` steps of 8 pixels), ``"columns"`` reads left
        to right, ``"pixels"`` reads one pixel per step (``T = 64``, ``D = 1``).
    """
    if not 0.0 < test_fraction < 1.0:
        raise ValueError(f"test_fraction must be in (0, 1), got {test_fraction!r}")
    if order not in ("rows", "columns", "pixels"):
        raise ValueError(f"order must be 'rows', 'columns' or 'pixels', got {order!r}")
    from sklearn.datasets import load_digits  # deferred: scikit-learn takes a second to import

    bunch = load_digits()
    images = (bunch.images / 16.0).astype(np.float32)  # (1797, 8, 8), rows first
    labels = bunch.target.astype(np.int64)
    if order == "columns":
        images = images.transpose(0, 2, 1).copy()
    elif order == "pixels":
        images = images.reshape(len(images), 64, 1)
    rng = np.random.default_rng(seed)
    train_idx, test_idx = [], []
    for k in range(10):
        idx = np.flatnonzero(labels == k)
        idx = idx[rng.permutation(len(idx))]
        n_test = int(round(len(idx) * test_fraction))
        test_idx.append(idx[len(idx) - n_test:])
        train_idx.append(idx[: len(idx) - n_test])
    tr, te = np.sort(np.concatenate(train_idx)), np.sort(np.concatenate(test_idx))
    return DigitsSplit(images[tr], labels[tr], images[te], labels[te])


def majority_accuracy(y_train: np.ndarray, y_test: np.ndarray) -> float:
    """Accuracy of always predicting the most frequent training class: the trivial baseline."""
    y_train, y_test = np.asarray(y_train), np.asarray(y_test)
    return float((y_test == np.bincount(y_train).argmax()).mean())





def random_shift(images: np.ndarray, rng: np.random.Generator, max_shift: int = 1) -> np.ndarray:
    """Each ``(8, 8)`` image moved by a random whole number of pixels in ``[-max_shift, max_shift]``
    along both axes, zeros shifted in (data augmentation: a digit moved by a pixel is the same digit).

    ``images``: ``(N, 8, 8)``; returns a new array of the same shape and dtype.
    """
    images = np.asarray(images)
    if images.ndim != 3:
        raise ValueError(f"images must have shape (N, H, W), got {tuple(images.shape)}")
    n, h, w = images.shape
    pad = np.pad(images, ((0, 0), (max_shift, max_shift), (max_shift, max_shift)))
    dy = rng.integers(-max_shift, max_shift + 1, size=n)
    dx = rng.integers(-max_shift, max_shift + 1, size=n)
    rows = (np.arange(h)[None, :] + max_shift - dy[:, None])[:, :, None]
    cols = (np.arange(w)[None, :] + max_shift - dx[:, None])[:, None, :]
    return pad[np.arange(n)[:, None, None], rows, cols]


def minibatches(arrays: Sequence[np.ndarray], batch_size: int, epochs: int = 1, seed: int = 0,
                transform: Callable[[tuple, np.random.Generator], tuple] | None = None
                ) -> Iterator[tuple[np.ndarray, ...]]:
    """Shuffled minibatches of the rows of ``arrays`` (all of one length ``N``), epoch after epoch.

    Every epoch draws a fresh permutation from one seeded generator, so the whole stream is a pure
    function of ``seed``. ``transform(batch, rng)`` may rewrite a batch (data augmentation). The last
    batch of an epoch may be smaller. Chapter 6 uses this for every task (``rnnlab.data.slots`` and
    ``rnnlab.data.dates`` re-export it).
    """
    arrays = tuple(np.asarray(a) for a in arrays)
    n = len(arrays[0])
    if any(len(a) != n for a in arrays):
        raise ValueError(f"arrays must share their first dimension, got {[len(a) for a in arrays]}")
    if not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
        raise ValueError(f"batch_size must be a positive int, got {batch_size!r}")
    if not isinstance(epochs, (int, np.integer)) or epochs < 1:
        raise ValueError(f"epochs must be a positive int, got {epochs!r}")
    rng = np.random.default_rng(seed)
    for _ in range(epochs):
        order = rng.permutation(n)
        for start in range(0, n, batch_size):
            idx = order[start:start + batch_size]
            batch = tuple(a[idx] for a in arrays)
            yield transform(batch, rng) if transform is not None else batch


def shift_rows(batch: tuple, rng: np.random.Generator) -> tuple:
    """A :func:`minibatches` transform: :func:`random_shift` applied to the images (first array)."""
    return (random_shift(batch[0], rng),) + tuple(batch[1:])


__all__ = ["DigitsSplit", "load_digits_rows", "majority_accuracy", "random_shift", "minibatches",
           "shift_rows"]
