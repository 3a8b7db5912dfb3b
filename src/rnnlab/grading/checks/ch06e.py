r"""Graded exercises of chapter 6e (attention): ``solutions/06e_attention.ipynb``.

==================================  ==========================================================
id                                  what the student writes
==================================  ==========================================================
``06.masked_attention``             one step of scaled dot-product attention over a padded
                                    batch: the weights (a softmax over the valid positions only)
                                    and the context (the weighted average of the values)
``06.masked_attention_backward``    its backward: dL/d query, dL/d keys, dL/d values from
                                    dL/d context
==================================  ==========================================================

The ids carry chapter 6's number (6e is the fifth notebook of chapter 6); the exercises live in
their own notebook. A third exercise, "read the heatmap", is a written answer with a model answer
in the solutions notebook only (not auto-graded).

Shapes: ``query`` (N, d_k), ``keys`` (N, S, d_k), ``values`` (N, S, d_v), ``mask`` (N, S) bool
(True at real positions, False at padding), scale :math:`1/\sqrt{d_k}`. A row whose mask is all
False attends to nothing: zero weights, zero context, zero gradients. The references are
:func:`rnnlab.scratch.attention_step` and :func:`rnnlab.scratch.attention_step_backward`, which
``tests/test_attention.py`` proves equal to finite differences and to
``torch.nn.functional.scaled_dot_product_attention``; each mistake below is a wrong answer written
out independently.
"""
from __future__ import annotations

import numpy as np

from rnnlab.grading.compare import compare_outputs
from rnnlab.grading.spec import Exercise
from rnnlab.scratch.attention import attention_step, attention_step_backward

NOTEBOOK = "06e_attention.ipynb"
ATOL = 1e-8


# ============================================================================ shared pieces
def _scale(keys):
    return 1.0 / np.sqrt(keys.shape[-1])


def _scores(query, keys, scale):
    return np.einsum("nd,nsd->ns", query, keys) * scale


def _softmax(e, axis=-1):
    e = e - e.max(axis=axis, keepdims=True)
    p = np.exp(e)
    return p / p.sum(axis=axis, keepdims=True)


def _masked_softmax(e, mask):
    """Softmax over the valid positions; an empty row stays zero."""
    e = np.where(mask, e, -np.inf)
    top = e.max(axis=-1, keepdims=True)
    p = np.where(mask, np.exp(e - np.where(np.isfinite(top), top, 0.0)), 0.0)
    total = p.sum(axis=-1, keepdims=True)
    return p / np.where(total > 0, total, 1.0)


def _cases(rng):
    """Five padded batches; the sizes differ from each other so a transposed array has the wrong
    shape. Cases 2 and 4 hold a row with no valid position; case 5 has large scores (a softmax
    without the max shift overflows), padding that scores far above its row's real positions and a
    row that scores far above the others (:func:`_separate_maxima`)."""
    cases = []
    for k in range(5):
        N, S, d_k, d_v = (int(v) for v in rng.permutation(np.arange(2, 9))[:4])
        N, S = max(N, 3), max(S, 4)          # room for a full, a padded and an empty row
        if len({N, S, d_k, d_v}) < 4:
            N, S, d_k, d_v = 3, 7, 4, 2 + int(rng.integers(0, 2)) * 3
        lengths = rng.integers(1, S + 1, size=N)
        lengths[0] = S                                 # one full row
        lengths[1] = max(1, S - 2)                     # one padded row
        mask = np.arange(S)[None, :] < lengths[:, None]
        if k in (1, 3):
            mask[2] = False                            # a row with nothing to attend to
        scale = 30.0 if k == 4 else 1.0
        query = scale * rng.standard_normal((N, d_k))
        keys = scale * rng.standard_normal((N, S, d_k))
        values = rng.standard_normal((N, S, d_v))
        if k == 4:
            _separate_maxima(query, keys, mask)
        cases.append((query, keys, values, mask))
    return cases


def _separate_maxima(query, keys, mask, gap=2000.0):
    """Make the large case tell "the largest score of the row over its real positions" apart from
    two other shifts (no draws, so the cases of the other exercises stay as they are): the padded
    positions of row 1 score ``gap`` above its real ones (a max taken with the padding makes every
    real exp() underflow to 0), and every real score of row 0 is ``gap`` above every real score of
    the other rows (so does one max for the whole batch). Keys move along their row's query,
    which shifts the scores of the row and leaves its softmax over the real positions as it was."""
    scores = np.einsum("nd,nsd->ns", query, keys) * _scale(keys)
    per_unit = np.einsum("nd,nd->n", query, query) * _scale(keys)   # score of key = 1 * query
    real = np.where(mask, scores, np.nan)
    others = np.nanmax(real[1:])
    keys[0] += ((others - scores[0].min() + gap) / per_unit[0]) * query[0]
    padded = ~mask[1]
    keys[1, padded] = ((np.nanmax(real[1]) + gap) / per_unit[1]) * query[1]


def _weight_notes(case, got) -> str:
    """What is visibly wrong with returned weights, whatever the values are."""
    query, keys, values, mask = case
    if not isinstance(got, (tuple, list)) or len(got) != 2:
        return ""
    weights = np.asarray(got[1], dtype=float) if np.asarray(got[1]).dtype.kind == "f" else None
    if weights is None or weights.shape != mask.shape:
        return ""
    notes = []
    empty = ~mask.any(axis=1)
    if empty.any() and not np.all(np.nan_to_num(weights[empty], nan=1.0) == 0):
        n = int(np.flatnonzero(empty)[0])
        notes.append(f"row {n} has no valid position: its weights (and context) must be zero, not "
                     f"{'NaN' if np.isnan(weights[n]).any() else 'nonzero'}")
    broken = np.flatnonzero(~empty & np.isnan(weights).any(axis=1))
    if broken.size:
        notes.append(f"the weights of row {int(broken[0])} contain NaN: did exp() overflow?")
        return "; ".join([""] + notes)
    hidden = ~mask & ~empty[:, None]
    if np.any(np.abs(np.nan_to_num(weights[hidden], nan=1.0)) > ATOL):
        n, s = (int(i) for i in np.argwhere(hidden & (np.nan_to_num(np.abs(weights), nan=1.0) > ATOL))[0])
        notes.append(f"the weight of row {n} at the masked position {s} is {weights[n, s]:.3g}; "
                     f"padding must get weight 0")
    sums = np.where(mask, np.nan_to_num(weights, nan=0.0), 0.0).sum(axis=1)
    bad = np.flatnonzero(~empty & (np.abs(sums - 1.0) > 1e-6))
    if bad.size:
        n = int(bad[0])
        notes.append(f"the weights of row {n} sum to {sums[n]:.4g} over its valid positions; they "
                     f"must sum to 1")
    return "; ".join([""] + notes)


# ============================================================================ 06.masked_attention
def masked_attention(query, keys, values, mask):
    """Reference: ``alpha = softmax over the valid s of (q . k_s / sqrt(d_k))``, ``context =
    sum_s alpha_s v_s``; an all-False row gives zero weights and a zero context.
    Returns ``(context (N, d_v), weights (N, S))``."""
    context, weights, _ = attention_step(query, keys, values, mask, score="dot", scale=_scale(keys))
    return context, weights


def _fwd(weights_fn):
    def wrong(query, keys, values, mask):
        with np.errstate(all="ignore"):
            weights = weights_fn(query, keys, mask)
            return np.einsum("ns,nsv->nv", weights, values), weights
    return wrong


_fwd_axis0 = _fwd(lambda q, k, m: _softmax(np.where(m, _scores(q, k, _scale(k)), -np.inf), axis=0))
_fwd_mask_ignored = _fwd(lambda q, k, m: _softmax(_scores(q, k, _scale(k))))
_fwd_mask_after = _fwd(lambda q, k, m: _softmax(_scores(q, k, _scale(k))) * m)
_fwd_zero_fill = _fwd(lambda q, k, m: _softmax(np.where(m, _scores(q, k, _scale(k)), 0.0)))
_fwd_no_scale = _fwd(lambda q, k, m: _masked_softmax(_scores(q, k, 1.0), m))
_fwd_over_d = _fwd(lambda q, k, m: _masked_softmax(_scores(q, k, 1.0 / k.shape[-1]), m))
_fwd_nan_row = _fwd(lambda q, k, m: _softmax(np.where(m, _scores(q, k, _scale(k)), -np.inf)))


def _shifted_softmax(e, mask, top):
    p = np.where(mask, np.exp(e - top), 0.0)
    total = p.sum(axis=-1, keepdims=True)
    return p / np.where(total > 0, total, 1.0)


# the max shift taken with the padding, or once for the whole batch: right in exact arithmetic,
# but every real exp() of a row underflows to 0 when the shift is far above its real scores
_fwd_max_with_padding = _fwd(lambda q, k, m: _shifted_softmax(
    _scores(q, k, _scale(k)), m, _scores(q, k, _scale(k)).max(axis=-1, keepdims=True)))
_fwd_max_of_batch = _fwd(lambda q, k, m: _shifted_softmax(
    _scores(q, k, _scale(k)), m, np.max(np.where(m, _scores(q, k, _scale(k)), -np.inf))))


def _fwd_unstable(query, keys, values, mask):
    with np.errstate(all="ignore"):
        p = np.exp(_scores(query, keys, _scale(keys))) * mask
        total = p.sum(-1, keepdims=True)
        weights = p / np.where(total == 0, 1.0, total)
        return np.einsum("ns,nsv->nv", weights, values), weights


def _judge_forward(case, got, expected):
    problem = compare_outputs(got, expected, output_names=("context", "weights"), atol=ATOL)
    if problem is None:
        return True, ""
    return False, problem + _weight_notes(case, got)


MASKED_ATTENTION = Exercise(
    id="06.masked_attention",
    notebook=NOTEBOOK,
    function="masked_attention",
    points=2.0,
    title="One step of scaled dot-product attention over a padded batch",
    cases=_cases,
    reference=masked_attention,
    mistakes={
        "softmax over the wrong axis: axis 0 runs across the batch; each row's weights run over "
        "the source positions (the last axis)": _fwd_axis0,
        "mask ignored: padded positions take part in the softmax": _fwd_mask_ignored,
        "mask applied after the softmax: zeroing the padded weights afterwards leaves the valid "
        "ones summing to less than one (apply it to the scores, with -inf, before the softmax)":
            _fwd_mask_after,
        "padded scores set to 0 instead of -inf: exp(0) still gives them weight": _fwd_zero_fill,
        "scores not scaled: divide q . k by sqrt(d_k)": _fwd_no_scale,
        "scores divided by d_k instead of sqrt(d_k)": _fwd_over_d,
        "a row with no valid position gives NaN (a softmax over -inf only is 0/0): give it zero "
        "weights and a zero context": _fwd_nan_row,
        "softmax computed without subtracting the row's maximum: exp() overflows for large "
        "scores": _fwd_unstable,
        "the maximum subtracted includes the padded positions: where a padded score is far above "
        "the real ones, every real exp() underflows to 0; take the row's maximum over its real "
        "positions only": _fwd_max_with_padding,
        "one maximum subtracted for the whole batch: a row whose scores are all far below another "
        "row's underflows to 0; subtract each row's own maximum": _fwd_max_of_batch,
    },
    arg_names=("query", "keys", "values", "mask"),
    output_names=("context", "weights"),
    hint="e = (keys @ q) / sqrt(d_k); set e = -inf where mask is False; softmax over the last axis "
         "with the max subtracted (an all-False row: zero weights); context = weights @ values.",
    judge=_judge_forward,
)


# ============================================================================ 06.masked_attention_backward
def masked_attention_backward(d_context, query, keys, values, mask):
    """Reference: the gradients of :func:`masked_attention`'s context, given ``d_context``
    (N, d_v). Returns ``(d_query (N, d_k), d_keys (N, S, d_k), d_values (N, S, d_v))``."""
    _, _, cache = attention_step(query, keys, values, mask, score="dot", scale=_scale(keys))
    grads = attention_step_backward(d_context, cache)
    return grads.d_query, grads.d_keys, grads.d_values


def _bwd(d_scores_fn, weights_fn=None, scale_fn=_scale):
    """A backward that builds d_scores with ``d_scores_fn(weights, d_weights)`` (the softmax's
    backward) and multiplies by ``scale_fn(keys)``."""
    def wrong(d_context, query, keys, values, mask):
        with np.errstate(all="ignore"):
            scores = _scores(query, keys, _scale(keys))
            weights = _masked_softmax(scores, mask) if weights_fn is None else weights_fn(scores, mask)
            d_weights = np.einsum("nv,nsv->ns", d_context, values)
            d_scores = d_scores_fn(weights, d_weights) * scale_fn(keys)
            d_query = np.einsum("ns,nsd->nd", d_scores, keys)
            d_keys = d_scores[:, :, None] * query[:, None, :]
            d_values = weights[:, :, None] * d_context[:, None, :]
            return d_query, d_keys, d_values
    return wrong


def _softmax_backward(weights, d_weights, axis=-1):
    return weights * (d_weights - (weights * d_weights).sum(axis=axis, keepdims=True))


def _bwd_cases(rng):
    cases = []
    for query, keys, values, mask in _cases(rng)[:4]:
        cases.append((rng.standard_normal((query.shape[0], values.shape[2])), query, keys, values,
                      mask))
    return cases


MASKED_ATTENTION_BACKWARD = Exercise(
    id="06.masked_attention_backward",
    notebook=NOTEBOOK,
    function="masked_attention_backward",
    points=3.0,
    title="The backward of one masked attention step",
    cases=_bwd_cases,
    reference=masked_attention_backward,
    mistakes={
        "the softmax's Jacobian left out (d_scores = d_weights): the weights of one row compete, "
        "so d_e_s = alpha_s (d_alpha_s - sum_s' alpha_s' d_alpha_s')":
            _bwd(lambda w, dw: dw * (w > 0)),
        "only the diagonal of the softmax's Jacobian (d_e = alpha * d_alpha): subtract "
        "sum_s' alpha_s' d_alpha_s' inside the bracket": _bwd(lambda w, dw: w * dw),
        "the sum in the softmax's backward runs over the wrong axis (the batch, axis 0) instead "
        "of the source positions": _bwd(lambda w, dw: _softmax_backward(w, dw, axis=0)),
        "the scale 1/sqrt(d_k) is missing in the backward": _bwd(_softmax_backward,
                                                               scale_fn=lambda k: 1.0),
        "gradient reaches the padding: the weights used in the backward ignore the mask":
            _bwd(_softmax_backward, weights_fn=lambda e, m: _softmax(e)),
    },
    arg_names=("d_context", "query", "keys", "values", "mask"),
    output_names=("d_query", "d_keys", "d_values"),
    hint="recompute the weights; d_values = alpha d_context; d_alpha_s = d_context . v_s; "
         "d_e = alpha (d_alpha - sum alpha d_alpha) / sqrt(d_k); d_q = sum_s d_e_s k_s; "
         "d_k_s = d_e_s q.",
)

EXERCISES = [MASKED_ATTENTION, MASKED_ATTENTION_BACKWARD]
