r"""Softmax and softmax cross-entropy with its gradient.

For logits :math:`o \in \mathbb{R}^C` and a target class y:

.. math::

    \hat y = \mathrm{softmax}(o), \qquad L = -\log \hat y_y
      = \log \textstyle\sum_j e^{o_j} - o_y, \qquad \frac{\partial L}{\partial o} = \hat y - e_y

computed with the log-sum-exp shift :math:`m = \max_j o_j` so nothing overflows.
"""
from __future__ import annotations

import numpy as np

from rnnlab.scratch._validate import float_array, to_numpy


def softmax(logits, axis: int = -1) -> np.ndarray:
    """exp(o - max) / sum(exp(o - max)) along ``axis``; stable for any finite logits."""
    o = float_array(logits, "logits")
    e = np.exp(o - o.max(axis=axis, keepdims=True))
    e /= e.sum(axis=axis, keepdims=True)
    return e


def log_softmax(logits, axis: int = -1) -> np.ndarray:
    """o - logsumexp(o) along ``axis``, computed stably."""
    o = float_array(logits, "logits")
    shifted = o - o.max(axis=axis, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=axis, keepdims=True))


def softmax_cross_entropy(logits, targets, reduction: str = "mean", ignore_index: int = -100):
    r"""Cross-entropy of softmax(logits) against targets, and its gradient w.r.t. the logits.

    Parameters
    ----------
    logits: (..., C) floating array (e.g. (N, C) or (T, N, C)): the classes are the last axis.
    targets: either integer class indices of shape ``logits.shape[:-1]`` with values in
        [0, C) (or ``ignore_index``: that position contributes neither loss nor gradient, like
        torch's ``ignore_index``), or class probabilities of the same shape as ``logits``
        (each row summing to 1), as ``torch.nn.functional.cross_entropy`` also accepts.
    reduction: ``'mean'`` divides the summed loss by the number of (non-ignored) positions,
        ``'sum'`` does not. (The course's L = sum_t L_t over a sequence is ``'sum'``.)

    Returns
    -------
    loss: Python float; dlogits: array of ``logits``' shape, d loss / d logits (zero at ignored
    positions). With ``'mean'`` and every position ignored the loss is nan (as in torch) and the
    gradient zero.
    """
    o = float_array(logits, "logits")
    if o.ndim < 1 or o.shape[-1] < 1:
        raise ValueError(f"logits must have shape (..., num_classes), got {o.shape}")
    if reduction not in ("mean", "sum"):
        raise ValueError(f"reduction must be 'mean' or 'sum', got {reduction!r}")
    logp = log_softmax(o)
    probs = np.exp(logp)
    t = to_numpy(targets)
    if t.dtype.kind == "f" and t.shape == o.shape:  # soft targets (class probabilities)
        losses = -(t * logp).sum(axis=-1)
        dlogits = probs * t.sum(axis=-1, keepdims=True) - t
        count = losses.size
    else:
        if t.dtype.kind not in "iu":
            raise TypeError(
                "targets must be integer class indices of shape logits.shape[:-1] or "
                f"probabilities of shape logits.shape, got dtype {t.dtype} and shape {t.shape}"
            )
        if t.shape != o.shape[:-1]:
            raise ValueError(
                f"targets must have shape logits.shape[:-1] = {o.shape[:-1]}, got {t.shape}"
            )
        C = o.shape[-1]
        valid = t != ignore_index
        if np.any((t[valid] < 0) | (t[valid] >= C)):
            bad = t[valid][(t[valid] < 0) | (t[valid] >= C)][0]
            raise ValueError(f"targets must be class indices in [0, {C}), got {bad}")
        safe = np.where(valid, t, 0)
        picked = np.take_along_axis(logp, safe[..., None], axis=-1)[..., 0]
        losses = np.where(valid, -picked, 0.0)
        dlogits = probs
        np.put_along_axis(
            dlogits, safe[..., None], np.take_along_axis(dlogits, safe[..., None], -1) - 1.0, -1
        )
        dlogits *= valid[..., None]
        count = int(valid.sum())
    loss = float(losses.sum())
    if reduction == "mean":
        if count == 0:
            return float("nan"), np.zeros_like(o)
        loss /= count
        dlogits /= count
    return loss, dlogits
