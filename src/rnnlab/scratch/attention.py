r"""One step of attention (Bahdanau et al. 2015; Luong et al. 2015): forward and hand-written backward.

A decoder at step :math:`u` holds a **query** :math:`q_u`; the encoder left one **key**
:math:`k_s` and one **value** :math:`v_s` per source position :math:`s = 1..S` (in an RNN
encoder–decoder both are the encoder states :math:`h^e_s`). One attention step scores every key,
turns the scores into weights over the *valid* positions (mask :math:`m_s = 1`) and returns the
weighted average of the values, the **context**:

.. math::

    e_{us} &= \lambda\, \operatorname{score}(q_u, k_s), \qquad
    \alpha_{us} = \frac{m_s \exp(e_{us})}{\sum_{s'} m_{s'} \exp(e_{us'})}, \qquad
    \bar v_u = \sum_s \alpha_{us} v_s

with one of three scores (``score=``) and a scale :math:`\lambda` (``scale``, 1 by default;
:math:`1/\sqrt{d_k}` is the scaled dot product of Vaswani et al. 2017):

======================  ===========================================  ==========================
``score``               :math:`\operatorname{score}(q, k)`           parameters
======================  ===========================================  ==========================
``"dot"`` (Luong)       :math:`q^\top k` (needs :math:`d_q = d_k`)   none
``"general"`` (Luong)   :math:`q^\top W_a k`                         ``weight`` (d_q, d_k)
``"additive"`` (Bahd.)  :math:`w_e^\top \tanh(W_q q + W_k k + b_e)`  ``weight_query`` (A, d_q),
                                                                     ``weight_key`` (A, d_k),
                                                                     ``bias`` (A,) or None,
                                                                     ``weight_score`` (A,)
======================  ===========================================  ==========================

Sizes: N batch, S source positions, d_q, d_k, d_v the sizes of a query, a key and a value, A the
hidden size of the additive score. Shapes: ``query`` (N, d_q), ``keys`` (N, S, d_k), ``values``
(N, S, d_v), ``mask`` (N, S) bool, True at the positions that take part (padding is False).

**A row with no valid position** (all of ``mask[n]`` False) attends to nothing: its weights are
all zero, its context is the zero vector and no gradient flows through it. (This is what
``torch.nn.functional.scaled_dot_product_attention`` returns for such a row, and it keeps a padded
batch free of NaNs.) Every other row's weights are zero at the masked positions and sum to one.

Backward, with bars for :math:`\partial L/\partial(\cdot)`:

.. math::

    \bar v_s &= \alpha_s \bar{\bar v}, \qquad \bar\alpha_s = \bar{\bar v}^\top v_s
      \;(+\text{ the gradient of the weights themselves, if they feed the loss}) \\
    \bar e_s &= \alpha_s \Big(\bar\alpha_s - \sum_{s'} \alpha_{s'} \bar\alpha_{s'}\Big)
      \quad\text{(softmax backward; zero where } \alpha_s = 0 \text{, so masked positions get none)}

and then through the score: dot :math:`\bar q = \lambda \sum_s \bar e_s k_s`,
:math:`\bar k_s = \lambda \bar e_s q`; general the same with :math:`W_a k_s` in place of
:math:`k_s` and :math:`\bar W_a = \lambda \sum_s \bar e_s\, q k_s^\top`; additive through
:math:`z_s = \tanh(W_q q + W_k k_s + b_e)`: :math:`\bar z_s = \lambda \bar e_s w_e`,
:math:`\bar a_s = \bar z_s \odot (1 - z_s^2)`, :math:`\bar q = W_q^\top \sum_s \bar a_s`,
:math:`\bar k_s = W_k^\top \bar a_s`.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from rnnlab.scratch._validate import check_shape, float_array, to_numpy

SCORES = ("dot", "general", "additive")


class AttentionCache(NamedTuple):
    """What :func:`attention_step_backward` needs from the forward step."""

    score: str
    scale: float
    query: np.ndarray  # (N, d_q)
    keys: np.ndarray  # (N, S, d_k)
    values: np.ndarray  # (N, S, d_v)
    weights: np.ndarray  # (N, S) alpha, zero at masked positions
    projected: np.ndarray | None  # general: (N, S, d_q) the keys times W_a^T; additive: (N, S, A) tanh
    weight: np.ndarray | None  # general W_a (d_q, d_k)
    weight_query: np.ndarray | None  # additive W_q (A, d_q)
    weight_key: np.ndarray | None  # additive W_k (A, d_k)
    weight_score: np.ndarray | None  # additive w_e (A,)
    has_bias: bool


class AttentionGrads(NamedTuple):
    """Gradients of one attention step; None for parameters the score does not have."""

    d_query: np.ndarray  # (N, d_q)
    d_keys: np.ndarray  # (N, S, d_k)
    d_values: np.ndarray  # (N, S, d_v)
    d_weight: np.ndarray | None
    d_weight_query: np.ndarray | None
    d_weight_key: np.ndarray | None
    d_bias: np.ndarray | None
    d_weight_score: np.ndarray | None


# ----------------------------------------------------------------------------------- softmax
def masked_softmax(scores, mask=None) -> np.ndarray:
    """Softmax over the last axis of ``scores`` restricted to the positions where ``mask`` is True.

    Masked positions get weight exactly 0; a row with no True position gets all zeros (not NaN).
    ``mask`` None means every position is valid; otherwise it has ``scores``' shape, or broadcasts
    to it (an (N, S) mask for (N, U, S) scores: pass ``mask[:, None]``).
    """
    e = float_array(scores, "scores")
    if mask is None:
        m = e.max(axis=-1, keepdims=True)
        p = np.exp(e - m)
        return p / p.sum(axis=-1, keepdims=True)
    mask = _bool_mask(mask, "mask")
    try:
        fits = np.broadcast_shapes(mask.shape, e.shape) == e.shape
    except ValueError:
        fits = False
    if not fits:
        raise ValueError(f"mask must have the shape of scores {e.shape} (or broadcast to it), "
                         f"got {mask.shape}")
    m = np.where(mask, e, -np.inf).max(axis=-1, keepdims=True)
    m = np.where(np.isfinite(m), m, 0.0)  # a row with no valid position: any finite shift
    p = np.where(mask, np.exp(np.where(mask, e - m, 0.0)), 0.0)
    total = p.sum(axis=-1, keepdims=True)
    return p / np.where(total > 0, total, 1.0)


def masked_softmax_backward(d_weights, weights) -> np.ndarray:
    r"""dL/d scores from dL/d weights for ``weights = masked_softmax(scores, mask)``:
    :math:`\alpha \odot (\bar\alpha - \sum \alpha \bar\alpha)`, zero wherever the weight is zero
    (masked positions, empty rows)."""
    weights = float_array(weights, "weights")
    d_weights = float_array(d_weights, "d_weights", weights.dtype)
    check_shape(d_weights, weights.shape, "d_weights", "(the shape of weights)")
    return weights * (d_weights - (weights * d_weights).sum(axis=-1, keepdims=True))


# ----------------------------------------------------------------------------------- the step
def attention_step(query, keys, values, mask=None, *, score: str = "dot", scale: float = 1.0,
                   weight=None, weight_query=None, weight_key=None, bias=None, weight_score=None):
    r"""One attention step for N queries, each over its own S keys and values.

    Parameters
    ----------
    query: (N, d_q) the decoder states :math:`q_u` (one step, so no time axis).
    keys: (N, S, d_k); values: (N, S, d_v) (pass the encoder states twice for an RNN decoder).
    mask: (N, S) bool, True at the positions that may be attended to; None: all of them.
    score: ``"dot"``, ``"general"`` or ``"additive"`` (see the module docstring).
    scale: :math:`\lambda`, multiplies every score (``1 / sqrt(d_k)``: scaled dot product).
    weight: (d_q, d_k), the :math:`W_a` of ``"general"``.
    weight_query: (A, d_q), weight_key: (A, d_k), bias: (A,) or None, weight_score: (A,): the
        :math:`W_q, W_k, b_e, w_e` of ``"additive"``.

    Returns
    -------
    context: (N, d_v) :math:`\bar v`; weights: (N, S) :math:`\alpha`; cache: :class:`AttentionCache`.
    """
    if score not in SCORES:
        raise ValueError(f"score must be one of {SCORES}, got {score!r}")
    if isinstance(scale, bool) or not isinstance(scale, (int, float, np.floating)) \
            or not np.isfinite(scale):
        raise TypeError(f"scale must be a finite float, got {scale!r}")
    query = float_array(query, "query")
    dtype = query.dtype
    if query.ndim != 2:
        raise ValueError(f"query must have shape (N, d_q) (one decoder step), got {query.shape}")
    N, d_q = query.shape
    keys = float_array(keys, "keys", dtype)
    if keys.ndim != 3 or keys.shape[0] != N:
        raise ValueError(f"keys must have shape (N, S, d_k) with N = {N} (query.shape[0]), "
                         f"got {keys.shape}")
    S, d_k = keys.shape[1:]
    values = float_array(values, "values", dtype)
    if values.ndim != 3 or values.shape[:2] != (N, S):
        raise ValueError(f"values must have shape (N, S, d_v) = ({N}, {S}, d_v) (keys.shape[:2]), "
                         f"got {values.shape}")
    if mask is not None:
        mask = _bool_mask(mask, "mask")
        check_shape(mask, (N, S), "mask", "(N, S): True where a position may be attended to")
    params = dict(weight=weight, weight_query=weight_query, weight_key=weight_key, bias=bias,
                  weight_score=weight_score)
    needed = {"dot": (), "general": ("weight",),
              "additive": ("weight_query", "weight_key", "weight_score")}[score]
    optional = ("bias",) if score == "additive" else ()
    for name, value in params.items():
        if name in needed and value is None:
            raise ValueError(f"score={score!r} needs {name}")
        if name not in needed + optional and value is not None:
            raise ValueError(f"score={score!r} takes no {name} (it belongs to another score)")

    projected = None
    if score == "dot":
        if d_q != d_k:
            raise ValueError(f"score='dot' needs queries and keys of one size: query.shape[-1] "
                             f"= {d_q}, keys.shape[-1] = {d_k}")
        e = np.einsum("nd,nsd->ns", query, keys)
    elif score == "general":
        weight = float_array(weight, "weight", dtype)
        check_shape(weight, (d_q, d_k), "weight", "(d_q, d_k) = (query.shape[-1], keys.shape[-1])")
        projected = keys @ weight.T  # (N, S, d_q): W_a k_s, once per source
        e = np.einsum("nd,nsd->ns", query, projected)
    else:
        weight_query = float_array(weight_query, "weight_query", dtype)
        if weight_query.ndim != 2 or weight_query.shape[1] != d_q:
            raise ValueError(f"weight_query must have shape (A, d_q) with d_q = {d_q} "
                             f"(query.shape[-1]), got {weight_query.shape}")
        A = weight_query.shape[0]
        weight_key = float_array(weight_key, "weight_key", dtype)
        check_shape(weight_key, (A, d_k), "weight_key", "(A, d_k) = (weight_query.shape[0], "
                    "keys.shape[-1])")
        weight_score = float_array(weight_score, "weight_score", dtype)
        check_shape(weight_score, (A,), "weight_score", "(A,) = (weight_query.shape[0],)")
        pre = (query @ weight_query.T)[:, None, :] + keys @ weight_key.T  # (N, S, A)
        if bias is not None:
            bias = float_array(bias, "bias", dtype)
            check_shape(bias, (A,), "bias", "(A,) = (weight_query.shape[0],)")
            pre = pre + bias
        projected = np.tanh(pre)  # z_s
        e = projected @ weight_score
    weights = masked_softmax(scale * e, mask)
    context = np.einsum("ns,nsv->nv", weights, values)
    cache = AttentionCache(score, float(scale), query, keys, values, weights, projected, weight,
                           weight_query, weight_key, weight_score, bias is not None)
    return context, weights, cache


def attention_step_backward(d_context, cache: AttentionCache, d_weights=None) -> AttentionGrads:
    """Backward of :func:`attention_step`.

    d_context: (N, d_v) dL/d context; d_weights: (N, S) dL/d weights when the weights themselves
    enter the loss (None: they do not). Returns :class:`AttentionGrads`.
    """
    score, scale, q, K, V, alpha, P, W, Wq, Wk, w, has_bias = cache
    d_context = float_array(d_context, "d_context", q.dtype)
    check_shape(d_context, (V.shape[0], V.shape[2]), "d_context", "(N, d_v), the shape of context")
    d_alpha = np.einsum("nv,nsv->ns", d_context, V)  # context = sum_s alpha_s v_s
    if d_weights is not None:
        d_weights = float_array(d_weights, "d_weights", q.dtype)
        check_shape(d_weights, alpha.shape, "d_weights", "(N, S), the shape of weights")
        d_alpha = d_alpha + d_weights
    d_values = alpha[:, :, None] * d_context[:, None, :]
    d_e = scale * masked_softmax_backward(d_alpha, alpha)  # (N, S), zero where alpha is zero

    d_weight = d_weight_query = d_weight_key = d_bias = d_weight_score = None
    if score == "dot":
        d_query = np.einsum("ns,nsd->nd", d_e, K)
        d_keys = d_e[:, :, None] * q[:, None, :]
    elif score == "general":
        d_query = np.einsum("ns,nsd->nd", d_e, P)
        d_proj = d_e[:, :, None] * q[:, None, :]  # (N, S, d_q)
        d_keys = d_proj @ W
        d_weight = np.einsum("nsq,nsk->qk", d_proj, K)
    else:
        d_weight_score = np.einsum("ns,nsa->a", d_e, P)
        d_pre = d_e[:, :, None] * w * (1.0 - P**2)  # through w_e and tanh: (N, S, A)
        d_pre_q = d_pre.sum(axis=1)  # the query's projection is shared by all S positions
        d_query = d_pre_q @ Wq
        d_weight_query = d_pre_q.T @ q
        d_keys = d_pre @ Wk
        d_weight_key = np.einsum("nsa,nsk->ak", d_pre, K)
        d_bias = d_pre.sum(axis=(0, 1)) if has_bias else None
    return AttentionGrads(d_query, d_keys, d_values, d_weight, d_weight_query, d_weight_key,
                          d_bias, d_weight_score)


def _bool_mask(mask, name: str) -> np.ndarray:
    arr = to_numpy(mask)
    if arr.dtype != np.bool_:
        raise TypeError(f"{name} must be a boolean array (True = a position that may be attended "
                        f"to, False = padding), got dtype {arr.dtype}")
    return arr


__all__ = ["SCORES", "AttentionCache", "AttentionGrads", "masked_softmax",
           "masked_softmax_backward", "attention_step", "attention_step_backward"]
