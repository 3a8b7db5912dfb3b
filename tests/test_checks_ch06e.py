"""The chapter 6e checks: the solution passes, each likely mistake (written here as an independent
mutant of the solution, in torch or with loops) is rejected and named, wrong shapes and dtypes are
rejected, and the references agree with torch's scaled_dot_product_attention and its autograd."""
import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from rnnlab.grading import check, exercises
from rnnlab.grading.checks import ch06e

from _check_helpers import assert_passes, assert_rejected, allow_torch


@pytest.fixture(autouse=True)
def _torch_built_answers(monkeypatch):
    """The solutions and mutants here are built on torch (independent of the check's numpy
    references) to test how values are diagnosed; tests/test_checks_torch_rule.py tests that a
    student's answer may not call torch."""
    allow_torch(monkeypatch, "06")

SEEDS = [0, 1, 2]
NOTEBOOK = "06e_attention.ipynb"


# --------------------------------------------------------------------------- solutions (torch)
def _sdpa(query, keys, values, mask, scale=None):
    q = torch.from_numpy(query)[:, None]
    out = F.scaled_dot_product_attention(q, torch.from_numpy(keys), torch.from_numpy(values),
                                         attn_mask=torch.from_numpy(mask)[:, None], scale=scale)
    return out[:, 0]


def masked_attention(query, keys, values, mask):
    context = _sdpa(query, keys, values, mask).numpy()
    weights = []
    for n in range(len(query)):
        row = np.zeros(keys.shape[1])
        valid = np.flatnonzero(mask[n])
        if valid.size:
            e = torch.from_numpy(keys[n, valid] @ query[n] / math.sqrt(keys.shape[2]))
            row[valid] = torch.softmax(e, 0).numpy()
        weights.append(row)
    return context, np.array(weights)


def masked_attention_backward(d_context, query, keys, values, mask):
    q, k, v = (torch.tensor(a, requires_grad=True) for a in (query, keys, values))
    out = F.scaled_dot_product_attention(q[:, None], k, v, attn_mask=torch.from_numpy(mask)[:, None])
    grads = torch.autograd.grad((out[:, 0] * torch.from_numpy(d_context)).sum(), (q, k, v))
    return tuple(g.numpy() for g in grads)


SOLUTIONS = {
    "06.masked_attention": masked_attention,
    "06.masked_attention_backward": masked_attention_backward,
}


def test_registered():
    ours = sorted(ex.id for ex in exercises() if ex.notebook == NOTEBOOK)
    assert ours == sorted(SOLUTIONS)
    for ex in exercises():
        if ex.notebook == NOTEBOOK:
            assert ex.points > 0 and ex.mistakes and ex.hint and ex.chapter == "06"


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("exercise_id", sorted(SOLUTIONS))
def test_solution_passes(exercise_id, seed):
    assert_passes(exercise_id, SOLUTIONS[exercise_id], seed=seed)


@pytest.mark.parametrize("exercise_id", sorted(SOLUTIONS))
def test_not_attempted(exercise_id):
    def stub(*args):
        raise NotImplementedError("write me")
    result = check(exercise_id, stub, seed=0)
    assert result.status == "not attempted" and result.score == 0


def test_the_cases_hold_what_the_exercise_promises():
    cases = exercises()["06.masked_attention"].cases(np.random.default_rng(5))
    empty_rows = [bool((~mask).all(axis=1).any()) for *_, mask in cases]
    padded = [bool((~mask).any()) for *_, mask in cases]
    assert sum(empty_rows) >= 2 and all(padded)
    scores = [np.abs(np.einsum("nd,nsd->ns", q, k)).max() / math.sqrt(k.shape[2]) for q, k, *_ in cases]
    assert max(scores) > 800  # a softmax without the max shift overflows exp() there


# --------------------------------------------------------------------------- forward mutants
def _loop_attention(query, keys, values, mask, weights_of_row):
    """Context and weights built row by row from ``weights_of_row(scores, mask_row)``."""
    N, S, d = keys.shape
    weights = np.zeros((N, S))
    for n in range(N):
        scores = np.array([keys[n, s] @ query[n] for s in range(S)])
        with np.errstate(all="ignore"):
            weights[n] = weights_of_row(scores, mask[n], d)
    return np.einsum("ns,nsv->nv", weights, values), weights


def _softmax_t(x):
    return torch.softmax(torch.from_numpy(np.asarray(x, dtype=float)), 0).numpy()


def fwd_mask_ignored(query, keys, values, mask):
    return _loop_attention(query, keys, values, mask, lambda e, m, d: _softmax_t(e / math.sqrt(d)))


def fwd_mask_after_softmax(query, keys, values, mask):
    return _loop_attention(query, keys, values, mask,
                           lambda e, m, d: _softmax_t(e / math.sqrt(d)) * m)


def fwd_zero_scores(query, keys, values, mask):
    return _loop_attention(query, keys, values, mask,
                           lambda e, m, d: _softmax_t(np.where(m, e / math.sqrt(d), 0.0)))


def fwd_unscaled(query, keys, values, mask):
    ctx = _sdpa(query, keys, values, mask, scale=1.0).numpy()
    return ctx, masked_attention(query * math.sqrt(keys.shape[2]), keys, values, mask)[1]


def fwd_over_d(query, keys, values, mask):
    return masked_attention(query / math.sqrt(keys.shape[2]), keys, values, mask)


def fwd_nan_rows(query, keys, values, mask):
    def row(e, m, d):
        z = np.where(m, e / math.sqrt(d), -np.inf)
        z = np.exp(z - z.max())
        return z / z.sum()
    return _loop_attention(query, keys, values, mask, row)


def fwd_no_max_shift(query, keys, values, mask):
    def row(e, m, d):
        z = np.exp(e / math.sqrt(d)) * m
        return z / z.sum() if m.any() else z
    return _loop_attention(query, keys, values, mask, row)


def fwd_batch_axis(query, keys, values, mask):
    scores = torch.from_numpy(np.einsum("nd,nsd->ns", query, keys) / math.sqrt(keys.shape[2]))
    weights = torch.softmax(scores.masked_fill(~torch.from_numpy(mask), -math.inf), dim=0).numpy()
    return np.einsum("ns,nsv->nv", weights, values), weights


@pytest.mark.parametrize("mutant, mistake", [
    (fwd_batch_axis, "wrong axis"),
    (fwd_mask_ignored, "mask ignored"),
    (fwd_mask_after_softmax, "applied after the softmax"),
    (fwd_zero_scores, "set to 0 instead of -inf"),
    (fwd_unscaled, "not scaled"),
    (fwd_over_d, "instead of sqrt(d_k)"),
    (fwd_nan_rows, "no valid position gives NaN"),
    (fwd_no_max_shift, "without subtracting"),
])
def test_forward_mutants(mutant, mistake):
    assert_rejected("06.masked_attention", mutant, mistake=mistake, seeds=SEEDS)


def test_forward_names_what_is_wrong_with_the_weights():
    result = assert_rejected("06.masked_attention", fwd_mask_after_softmax)
    assert "over its valid positions; they must sum to 1" in result.message
    result = assert_rejected("06.masked_attention", fwd_mask_ignored)
    assert "padding must get weight 0" in result.message
    result = assert_rejected("06.masked_attention", fwd_nan_rows)
    assert "no valid position" in result.message and "not NaN" in result.message


def test_forward_wrong_dtype_and_shape():
    assert_rejected("06.masked_attention",
                    lambda *a: tuple(x.astype(np.float32) for x in masked_attention(*a)), "float32")
    assert_rejected("06.masked_attention", lambda *a: masked_attention(*a)[0], "tuple")
    assert_rejected("06.masked_attention", lambda *a: masked_attention(*a)[::-1], "shape")
    assert_rejected("06.masked_attention",
                    lambda *a: (masked_attention(*a)[0], masked_attention(*a)[1].T), "shape")


# --------------------------------------------------------------------------- backward mutants
def _torch_backward(d_context, query, keys, values, mask, softmax):
    """Autograd through attention whose softmax is replaced by ``softmax(scores, mask)``."""
    q, k, v = (torch.tensor(a, requires_grad=True) for a in (query, keys, values))
    scores = torch.einsum("nd,nsd->ns", q, k) / math.sqrt(keys.shape[2])
    weights = softmax(scores, torch.from_numpy(mask))
    context = torch.einsum("ns,nsv->nv", weights, v)
    grads = torch.autograd.grad((context * torch.from_numpy(d_context)).sum(), (q, k, v))
    return tuple(g.numpy() for g in grads)


def _true_weights(scores, mask):
    out = torch.zeros_like(scores)
    for n in range(scores.shape[0]):
        if mask[n].any():
            out[n, mask[n]] = torch.softmax(scores[n, mask[n]], 0)
    return out


def bwd_no_jacobian(d_context, query, keys, values, mask):
    # the softmax treated as if its output were its input: a straight-through weight
    def softmax(scores, m):
        w = _true_weights(scores.detach(), m)
        return w + (scores - scores.detach()) * m
    return _torch_backward(d_context, query, keys, values, mask, softmax)


def bwd_diagonal_only(d_context, query, keys, values, mask):
    def softmax(scores, m):
        w = _true_weights(scores.detach(), m)
        return w + w * (scores - scores.detach())   # d w_s / d e_s = w_s, nothing across s
    return _torch_backward(d_context, query, keys, values, mask, softmax)


def bwd_batch_axis(d_context, query, keys, values, mask):
    q, k, v = torch.tensor(query), torch.tensor(keys), torch.tensor(values)
    w = _true_weights(torch.einsum("nd,nsd->ns", q, k) / math.sqrt(keys.shape[2]), torch.from_numpy(mask))
    d_w = torch.einsum("nv,nsv->ns", torch.from_numpy(d_context), v)
    d_e = w * (d_w - (w * d_w).sum(0, keepdim=True)) / math.sqrt(keys.shape[2])
    return ((d_e[:, :, None] * k).sum(1).numpy(), (d_e[:, :, None] * q[:, None]).numpy(),
            (w[:, :, None] * torch.from_numpy(d_context)[:, None]).numpy())


def bwd_forgot_scale(d_context, query, keys, values, mask):
    d_q, d_k, d_v = masked_attention_backward(d_context, query, keys, values, mask)
    return d_q * math.sqrt(keys.shape[2]), d_k * math.sqrt(keys.shape[2]), d_v


def bwd_unmasked_weights(d_context, query, keys, values, mask):
    return _torch_backward(d_context, query, keys, values, mask,
                           lambda scores, m: torch.softmax(scores, -1))


@pytest.mark.parametrize("mutant, mistake", [
    (bwd_no_jacobian, "Jacobian left out"),
    (bwd_diagonal_only, "only the diagonal"),
    (bwd_batch_axis, "wrong axis"),
    (bwd_forgot_scale, "scale 1/sqrt(d_k) is missing"),
    (bwd_unmasked_weights, "gradient reaches the padding"),
])
def test_backward_mutants(mutant, mistake):
    assert_rejected("06.masked_attention_backward", mutant, mistake=mistake, seeds=SEEDS)


def test_backward_wrong_dtype_and_shape():
    def swapped(*a):
        d_q, d_k, d_v = masked_attention_backward(*a)
        return d_q, d_v, d_k

    assert_rejected("06.masked_attention_backward", swapped, "d_keys")
    assert_rejected("06.masked_attention_backward",
                    lambda *a: masked_attention_backward(*a)[:2], "values")
    assert_rejected("06.masked_attention_backward",
                    lambda *a: tuple(g.astype(np.float32) for g in masked_attention_backward(*a)),
                    "float32")


# --------------------------------------------------------------------------- references vs torch
@pytest.mark.parametrize("seed", range(4))
def test_references_equal_torch(seed):
    rng = np.random.default_rng(seed)
    for case in ch06e._cases(rng):
        ctx, w = ch06e.masked_attention(*case)
        np.testing.assert_allclose(ctx, _sdpa(*case).numpy(), rtol=0, atol=1e-12)
        np.testing.assert_allclose(w, masked_attention(*case)[1], rtol=0, atol=1e-12)
    for case in ch06e._bwd_cases(rng):
        for ours, theirs in zip(ch06e.masked_attention_backward(*case),
                                masked_attention_backward(*case)):
            np.testing.assert_allclose(ours, theirs, rtol=0, atol=1e-11)


def test_cases_are_deterministic_per_seed():
    for ex in exercises():
        if ex.notebook == NOTEBOOK:
            a, b = ex.cases(np.random.default_rng(7)), ex.cases(np.random.default_rng(7))
            assert len(a) == len(b)
            for ca, cb in zip(a, b):
                for x, y in zip(ca, cb):
                    np.testing.assert_array_equal(np.asarray(x), np.asarray(y))


# --------------------------------------------------------------------------- the softmax's max shift
def fwd_shift_with_padding(query, keys, values, mask):
    """Subtracts the row's largest score over all its positions, padding included (the mask is
    applied after the exp): right in exact arithmetic, wrong when a padded score is far above."""
    scores = torch.einsum("nd,nsd->ns", torch.from_numpy(query), torch.from_numpy(keys))
    scores = scores / math.sqrt(keys.shape[2])
    p = torch.exp(scores - scores.amax(dim=1, keepdim=True)) * torch.from_numpy(mask)
    total = p.sum(dim=1, keepdim=True)
    weights = (p / torch.where(total > 0, total, torch.ones_like(total))).numpy()
    return np.einsum("ns,nsv->nv", weights, values), weights


def fwd_shift_of_batch(query, keys, values, mask):
    """One shift for the whole batch: the largest real score of all rows."""
    def row(e, m, d):
        return np.where(m, np.exp(e / math.sqrt(d) - top), 0.0)
    scores = np.einsum("nd,nsd->ns", query, keys) / math.sqrt(keys.shape[2])
    top = scores[mask].max()
    _, p = _loop_attention(query, keys, values, mask, row)
    total = p.sum(axis=1, keepdims=True)
    weights = p / np.where(total > 0, total, 1.0)
    return np.einsum("ns,nsv->nv", weights, values), weights


@pytest.mark.parametrize("mutant, mistake", [
    (fwd_shift_with_padding, "includes the padded positions"),
    (fwd_shift_of_batch, "one maximum subtracted for the whole batch"),
])
def test_the_shift_must_be_the_rows_maximum_over_its_real_positions(mutant, mistake):
    # the statement asks for each row's largest score over its real positions; the other shifts
    # underflow on the large case, on every draw
    for seed in range(6):
        assert_rejected("06.masked_attention", mutant, "case 5 of 5", "sum to 0", mistake=mistake,
                        seed=seed)


def test_the_large_case_separates_the_three_maxima():
    # padding far above its row's real scores, and a row far above all the others; the solution
    # still gives weights summing to 1
    ex = exercises()["06.masked_attention"]
    for seed in range(3):
        query, keys, values, mask = ex.cases(np.random.default_rng(seed))[4]
        scores = np.einsum("nd,nsd->ns", query, keys) / math.sqrt(keys.shape[2])
        real = np.where(mask, scores, np.nan)
        assert np.nanmin(real[0]) > np.nanmax(real[1:]) + 1000
        assert scores[1][~mask[1]].min() > np.nanmax(real[1]) + 1000
        _, weights = masked_attention(query, keys, values, mask)
        assert np.allclose(weights[mask.any(axis=1)].sum(axis=1), 1.0)
