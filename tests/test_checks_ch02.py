"""The chapter 2 checks: solutions written independently (numpy, rnnlab.scratch's step backward,
checked against torch autograd) pass, and torch's own autograd and clipping are refused as answers; each likely mistake, written here as a mutant of a solution, is rejected and named;
wrong shapes and dtypes are rejected."""
import numpy as np
import pytest
import torch

from rnnlab import scratch
from rnnlab.grading import check, exercises
from rnnlab.grading.checks import ch02

from _check_helpers import assert_rejected, assert_values_pass

SEEDS = [0, 1]


def test_registered():
    ids = [ex.id for ex in exercises() if ex.id.startswith("02.")]
    assert ids == ["02.clip_by_global_norm", "02.output_grads", "02.rnn_backward",
                   "02.truncated_bptt_grads"]
    assert {ex.notebook for ex in exercises() if ex.id.startswith("02.")} == {"02_bptt.ipynb"}


# =========================================================================== 02.output_grads
def output_grads_autograd(h, V, c, y):
    """torch autograd: the oracle of the numpy solution (as an answer it is refused)."""
    ht, Vt, ct = (torch.tensor(a, requires_grad=True) for a in (h, V, c))
    logits = ht @ Vt.T + ct
    loss = torch.nn.functional.cross_entropy(logits.reshape(-1, V.shape[0]),
                                             torch.from_numpy(y).reshape(-1), reduction="sum")
    loss.backward()
    return loss.item(), Vt.grad.numpy(), ct.grad.numpy(), ht.grad.numpy()


def output_grads(h, V, c, y):
    """Solution: one-hot targets and a log-sum-exp (not the reference's indexing)."""
    s = h @ V.T + c
    m = s.max(axis=-1, keepdims=True)
    log_p = s - (m + np.log(np.exp(s - m).sum(axis=-1, keepdims=True)))
    onehot = np.eye(V.shape[0])[y]
    d = np.exp(log_p) - onehot
    return float(-(onehot * log_p).sum()), np.tensordot(d, h, axes=([0, 1], [0, 1])), \
        d.sum(axis=(0, 1)), d @ V


def _softmax(o):
    e = np.exp(o - o.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


def _onehot(y, K):
    return np.eye(K)[y]


def out_last_step(h, V, c, y):
    loss, _, _, dh = output_grads(h, V, c, y)
    d = _softmax(h[-1] @ V.T + c) - _onehot(y[-1], V.shape[0])
    return loss, d.T @ h[-1], d.sum(0), dh


def out_without_target(h, V, c, y):
    loss = output_grads(h, V, c, y)[0]
    p = _softmax(h @ V.T + c)
    return loss, np.einsum("tnk,tnh->kh", p, h), p.sum((0, 1)), p @ V


def out_batch_mean(h, V, c, y):
    loss, dV, dc, dh = output_grads(h, V, c, y)
    n = h.shape[1]
    return loss / n, dV / n, dc / n, dh / n


def out_mean_all(h, V, c, y):  # divided by T * N
    return tuple(v / y.size for v in output_grads(h, V, c, y))


def out_dc_mean(h, V, c, y):
    loss, dV, dc, dh = output_grads(h, V, c, y)
    return loss, dV, dc / h.shape[1], dh


def out_dV_transposed(h, V, c, y):
    loss, dV, dc, dh = output_grads(h, V, c, y)
    d = _softmax(h @ V.T + c) - _onehot(y, V.shape[0])
    return loss, np.einsum("tnh,tnk->hk", h, d), dc, dh


def out_unstable_softmax(h, V, c, y):
    """Written as the textbook formula: exp(s) / sum exp(s), no shift by the maximum."""
    s = h @ V.T + c
    e = np.exp(s)
    p = e / e.sum(axis=-1, keepdims=True)
    onehot = _onehot(y, V.shape[0])
    loss = -(np.log(p) * onehot).sum()
    d = p - onehot
    return float(loss), np.einsum("tnk,tnh->kh", d, h), d.sum(axis=(0, 1)), d @ V


@pytest.mark.parametrize("seed", SEEDS)
def test_output_grads_rejects_an_unstable_softmax(seed):
    with np.errstate(all="ignore"):
        assert_rejected("02.output_grads", out_unstable_softmax, "got nan", mistake="row maximum",
                        seed=seed)


@pytest.mark.parametrize("seed", SEEDS)
def test_output_grads_solution_passes(seed):
    assert check("02.output_grads", output_grads, seed=seed).passed
    assert_values_pass("02.output_grads", ch02.output_grads, seed=seed)


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("mutant, mistake", [
    (out_last_step, "last step only"),
    (out_without_target, "without subtracting"),
    (out_batch_mean, "averaged over the batch: this exercise sums"),
    (out_mean_all, "averaged over steps and batch"),
    (out_dc_mean, "bias gradient db_y averaged"),
    (out_dV_transposed, "dV transposed"),
])
def test_output_grads_mutants(mutant, mistake, seed):
    assert_rejected("02.output_grads", mutant, "Likely mistake", mistake=mistake, seed=seed)


def test_output_grads_shape_and_dtype():
    def flat_dh(*a):
        loss, dV, dc, dh = output_grads(*a)
        return loss, dV, dc, dh.reshape(-1, dh.shape[-1])

    assert_rejected("02.output_grads", flat_dh, "shape")
    assert_rejected("02.output_grads",
                    lambda *a: (output_grads(*a)[0],) + tuple(v.astype(np.float32) for v in output_grads(*a)[1:]),
                    "float32")
    assert_rejected("02.output_grads", lambda *a: output_grads(*a)[1:], "values")


# =========================================================================== 02.rnn_backward
def rnn_backward(x, h0, weight_ih, weight_hh, bias, dh):
    """Solution built from rnnlab.scratch's step and step backward."""
    hs, caches = [h0], []
    for x_t in x:
        h, cache = scratch.rnn_step(x_t, hs[-1], weight_ih, weight_hh, bias)
        hs.append(h)
        caches.append(cache)
    dx, dW_ih, dW_hh, db = np.zeros_like(x), 0 * weight_ih, 0 * weight_hh, 0 * bias
    carry = np.zeros_like(h0)
    for t in reversed(range(len(x))):
        g = scratch.rnn_step_backward(dh[t] + carry, caches[t])
        dx[t] = g.dx
        dW_ih, dW_hh, db = dW_ih + g.dweight_ih, dW_hh + g.dweight_hh, db + g.dbias_ih
        carry = g.dh_prev
    return dx, carry, dW_ih, dW_hh, db


def _bptt(x, h0, Wi, Wh, b, dh, *, dtanh, back, accumulate=lambda t, T: True, dWh=None,
          db_reduce=np.sum, overwrite=False, h_in=lambda h, t: h[t], per_batch=1.0):
    """A second, loop-by-loop implementation with hooks where the mutants differ
    (``h[t]`` is h_{t-1}: ``h[0]`` is h0)."""
    T = len(x)
    a, h = [], [h0]
    for t in range(T):
        a.append(x[t] @ Wi.T + h[-1] @ Wh.T + b)
        h.append(np.tanh(a[-1]))
    dx, dWi, dWh_, db = np.zeros_like(x), np.zeros_like(Wi), np.zeros_like(Wh), np.zeros_like(b)
    nxt = np.zeros_like(h0)
    for t in range(T - 1, -1, -1):
        delta = (dh[t] + nxt) * dtanh(a[t], h[t + 1])
        dx[t] = delta @ Wi
        if overwrite:
            dWi, dWh_, db = delta.T @ x[t], delta.T @ h_in(h, t), db_reduce(delta, axis=0)
        elif accumulate(t, T):
            dWi += delta.T @ x[t]
            dWh_ += (dWh or (lambda d, hp: d.T @ hp))(delta, h_in(h, t))
            db += db_reduce(delta, axis=0)
        nxt = back(delta, Wh)
    return dx, nxt, dWi / per_batch, dWh_ / per_batch, db / per_batch


def right_dtanh(a, h):
    return 1 - h * h


def right_back(delta, Wh):
    return delta @ Wh


def rnn_backward_loop(*a):
    """The loop-by-loop solution without the hooks' mistakes (numpy only)."""
    return _bptt(*a, dtanh=right_dtanh, back=right_back)


def bw_preactivation(*args):
    return _bptt(*args, dtanh=lambda a, h: 1 - a * a, back=right_back)


def bw_tanh_twice(*args):
    return _bptt(*args, dtanh=lambda a, h: 1 / np.cosh(h) ** 2, back=right_back)


def bw_missing_whh(*args):
    return _bptt(*args, dtanh=right_dtanh, back=lambda delta, Wh: delta)


def bw_no_time(*args):
    return _bptt(*args, dtanh=right_dtanh, back=lambda delta, Wh: 0 * delta)


def bw_last_step_only(*args):
    return _bptt(*args, dtanh=right_dtanh, back=right_back, accumulate=lambda t, T: t == T - 1)


def bw_dwhh_transposed(*args):
    return _bptt(*args, dtanh=right_dtanh, back=right_back, dWh=lambda d, hp: hp.T @ d)


def bw_bias_mean(*args):
    return _bptt(*args, dtanh=right_dtanh, back=right_back, db_reduce=np.mean)


def bw_overwrite(*args):  # dW = ... instead of dW += ... in the backward loop
    return _bptt(*args, dtanh=right_dtanh, back=right_back, overwrite=True)


def bw_no_tanh_prime(*args):
    return _bptt(*args, dtanh=lambda a, h: 1.0, back=right_back)


def bw_h_t_for_h_prev(*args):  # delta_t^T h_t in dW_hh
    return _bptt(*args, dtanh=right_dtanh, back=right_back, h_in=lambda h, t: h[t + 1])


def bw_carry_not_added(x, h0, Wi, Wh, b, dh):
    """The carried gradient is computed but never added to dh[t]; dh0 is still delta_0 @ W_hh."""
    a, h = [], [h0]
    for t in range(len(x)):
        a.append(x[t] @ Wi.T + h[-1] @ Wh.T + b)
        h.append(np.tanh(a[-1]))
    dx, dWi, dWh, db = np.zeros_like(x), np.zeros_like(Wi), np.zeros_like(Wh), np.zeros_like(b)
    carry = np.zeros_like(h0)
    for t in reversed(range(len(x))):
        delta = dh[t] * (1 - h[t + 1] ** 2)
        dx[t] = delta @ Wi
        dWi += delta.T @ x[t]
        dWh += delta.T @ h[t]
        db += delta.sum(0)
        carry = delta @ Wh
    return dx, carry, dWi, dWh, db


def bw_back_transposed(*args):  # the maths' W_hh^T delta written as delta @ W_hh.T
    return _bptt(*args, dtanh=right_dtanh, back=lambda delta, Wh: delta @ Wh.T)


def bw_batch_mean(*args):
    return _bptt(*args, dtanh=right_dtanh, back=right_back, per_batch=len(args[1]))


def test_rnn_backward_solution_matches_autograd():
    rng = np.random.default_rng(0)
    for case in exercises()["02.rnn_backward"].cases(rng):
        leaves = [torch.tensor(a, requires_grad=True) for a in case[:5]]
        x, h, Wi, Wh, b = leaves
        loss = 0
        for t in range(len(x)):
            h = torch.tanh(x[t] @ Wi.T + h @ Wh.T + b)
            loss = loss + (h * torch.from_numpy(case[5][t])).sum()
        loss.backward()
        for ours, ref in zip(ch02.rnn_backward(*case), leaves):
            np.testing.assert_allclose(ours, ref.grad.numpy(), rtol=0, atol=1e-12)
        for ours, other in zip(ch02.rnn_backward(*case), rnn_backward(*case)):
            np.testing.assert_allclose(ours, other, rtol=0, atol=1e-12)


@pytest.mark.parametrize("seed", SEEDS)
def test_rnn_backward_solution_passes(seed):
    refused = assert_values_pass("02.rnn_backward", rnn_backward, seed=seed)
    assert "`rnnlab.scratch." in refused.message and "own implementation" in refused.message
    assert check("02.rnn_backward", rnn_backward_loop, seed=seed).passed


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("mutant, mistake", [
    (bw_preactivation, "tanh derivative taken on the pre-activation"),
    (bw_tanh_twice, "tanh applied twice"),
    (bw_missing_whh, "delta recursion missing the W_hh term"),
    (bw_no_time, "no gradient through time"),
    (bw_last_step_only, "not summed over time"),
    (bw_dwhh_transposed, "dweight_hh transposed"),
    (bw_bias_mean, "bias gradient not summed over the batch"),
    (bw_overwrite, "overwritten at every step"),
    (bw_no_tanh_prime, "tanh' forgotten"),
    (bw_h_t_for_h_prev, "h_t used where h_{t-1} belongs"),
    (bw_batch_mean, "weight gradients averaged over the batch"),
    (bw_carry_not_added, "carried gradient never added"),
    (bw_back_transposed, "multiplied by weight_hh.T"),
])
def test_rnn_backward_mutants(mutant, mistake, seed):
    assert_rejected("02.rnn_backward", mutant, "Likely mistake", mistake=mistake, seed=seed)


@pytest.mark.parametrize("seed", range(6))
def test_rnn_backward_names_the_output_closest_to_the_cause(seed):
    """A wrong delta shows first in dbias (the sum of delta), not in dx (first in return order);
    the message says which outputs are right, which localises the error."""
    result = assert_rejected("02.rnn_backward", bw_no_time, "output `dbias` differs",
                             "no output matches", seed=seed)
    assert "output `dx` differs" not in result.message
    result = assert_rejected("02.rnn_backward", bw_h_t_for_h_prev, "output `dweight_hh` differs",
                             "dbias, dweight_ih, dx, dh0 match", seed=seed)


def test_rnn_backward_shape_and_dtype():
    def bias_per_example(*a):  # sums over time but not over the batch: shape (N, H)
        dx, dh0, dWi, dWh, db = rnn_backward_loop(*a)
        x, h0, Wi, Wh, b, dh = a
        return dx, dh0, dWi, dWh, np.tile(db / len(h0), (len(h0), 1)) if len(h0) > 1 else db[None]

    assert_rejected("02.rnn_backward", bias_per_example, "dbias", "shape")
    assert_rejected("02.rnn_backward", lambda *a: rnn_backward_loop(*a)[:4], "values")
    assert_rejected("02.rnn_backward",
                    lambda *a: tuple(v.astype(np.float32) for v in rnn_backward_loop(*a)), "float32")
    assert_rejected("02.rnn_backward",
                    lambda *a: rnn_backward_loop(*a)[:2] + (rnn_backward_loop(*a)[2].T,) + rnn_backward_loop(*a)[3:],
                    "dweight_ih")


# =========================================================================== 02.truncated_bptt_grads
def truncated_autograd(x, h0, weight_ih, weight_hh, bias, dh, k):
    """torch autograd, detaching the state every k steps, one backward: the oracle (as an answer
    it is refused)."""
    xt, Wi, Wh, b = (torch.tensor(a, requires_grad=True) for a in (x, weight_ih, weight_hh, bias))
    h, loss = torch.from_numpy(h0), 0
    for t in range(len(x)):
        if t % k == 0:
            h = h.detach()
        h = torch.tanh(xt[t] @ Wi.T + h @ Wh.T + b)
        loss = loss + (h * torch.from_numpy(dh[t])).sum()
    loss.backward()
    return Wi.grad.numpy(), Wh.grad.numpy(), b.grad.numpy()


def _chunked(x, h0, Wi, Wh, b, dh, k, *, starts, reset=False, dtanh=right_dtanh, keep=None):
    """Truncated BPTT with explicit chunk start positions; hooks for the mutants."""
    T = len(x)
    a, hs, prev = [], [], []
    h = h0
    for t in range(T):
        if reset and t in starts and (t > 0 or reset == "all"):
            h = np.zeros_like(h)
        prev.append(h)
        a.append(x[t] @ Wi.T + h @ Wh.T + b)
        h = np.tanh(a[-1])
        hs.append(h)
    dWi, dWh, db = np.zeros_like(Wi), np.zeros_like(Wh), np.zeros_like(b)
    nxt = np.zeros_like(h0)
    for t in range(T - 1, -1, -1):
        delta = (dh[t] + nxt) * dtanh(a[t], hs[t])
        if keep is None or keep(t):
            dWi += delta.T @ x[t]
            dWh += delta.T @ prev[t]
            db += delta.sum(0)
        nxt = np.zeros_like(h0) if t in starts else delta @ Wh
    return dWi, dWh, db


def tr_full(x, h0, Wi, Wh, b, dh, k):
    return _chunked(x, h0, Wi, Wh, b, dh, k, starts=set())


def tr_reset(x, h0, Wi, Wh, b, dh, k):
    return _chunked(x, h0, Wi, Wh, b, dh, k, starts=set(range(0, len(x), k)), reset=True)


def tr_reset_all(x, h0, Wi, Wh, b, dh, k):  # `if t % k == 0: h = zeros` wipes h0 too
    return _chunked(x, h0, Wi, Wh, b, dh, k, starts=set(range(0, len(x), k)), reset="all")


def tr_from_end(x, h0, Wi, Wh, b, dh, k):
    T = len(x)
    return _chunked(x, h0, Wi, Wh, b, dh, k, starts={T - j * k for j in range(1, T // k + 1)} | {0})


def tr_last_chunk(x, h0, Wi, Wh, b, dh, k):
    T = len(x)
    last = ((T - 1) // k) * k
    return _chunked(x, h0, Wi, Wh, b, dh, k, starts=set(range(0, T, k)), keep=lambda t: t >= last)


def tr_k_plus_one(x, h0, Wi, Wh, b, dh, k):
    return _chunked(x, h0, Wi, Wh, b, dh, k, starts=set(range(0, len(x), k + 1)))


def _student_loop(x, h0, Wi, Wh, b, dh, k, *, zero_before, test):
    """How a student writes it: one backward loop, the carry zeroed by a test on t."""
    T = len(x)
    hs = [h0]
    for t in range(T):
        hs.append(np.tanh(x[t] @ Wi.T + hs[-1] @ Wh.T + b))
    dWi, dWh, db = 0 * Wi, 0 * Wh, 0 * b
    carry = np.zeros_like(h0)
    for t in reversed(range(T)):
        if zero_before and test(t):
            carry = np.zeros_like(carry)
        delta = (dh[t] + carry) * (1 - hs[t + 1] ** 2)
        dWi, dWh, db = dWi + delta.T @ x[t], dWh + delta.T @ hs[t], db + delta.sum(0)
        carry = delta @ Wh
        if not zero_before and test(t):
            carry = np.zeros_like(carry)
    return dWi, dWh, db


def tr_student(x, h0, Wi, Wh, b, dh, k):
    return _student_loop(x, h0, Wi, Wh, b, dh, k, zero_before=False, test=lambda t: t % k == 0)


truncated_bptt_grads = tr_student  # the solution the shape and dtype tests start from


def tr_zeroed_late(x, h0, Wi, Wh, b, dh, k):  # the test placed before the step's delta
    return _student_loop(x, h0, Wi, Wh, b, dh, k, zero_before=True, test=lambda t: t % k == 0)


def tr_zeroed_early(x, h0, Wi, Wh, b, dh, k):
    return _student_loop(x, h0, Wi, Wh, b, dh, k, zero_before=False,
                         test=lambda t: (t + 1) % k == 0)


def tr_no_tanh_prime(x, h0, Wi, Wh, b, dh, k):
    return _chunked(x, h0, Wi, Wh, b, dh, k, starts=set(range(0, len(x), k)),
                    dtanh=lambda a, h: 1.0)


def tr_preactivation(x, h0, Wi, Wh, b, dh, k):
    return _chunked(x, h0, Wi, Wh, b, dh, k, starts=set(range(0, len(x), k)),
                    dtanh=lambda a, h: 1 - a * a)


def test_truncated_reference_matches_autograd():
    rng = np.random.default_rng(0)
    for case in exercises()["02.truncated_bptt_grads"].cases(rng):
        for ours, theirs in zip(ch02.truncated_bptt_grads(*case), truncated_autograd(*case)):
            np.testing.assert_allclose(ours, theirs, rtol=0, atol=1e-12)
        k_full = len(case[0])  # k >= T is full BPTT
        full = ch02.rnn_backward(*case[:6])[2:]
        for ours, theirs in zip(ch02.truncated_bptt_grads(*case[:6], k_full), full):
            np.testing.assert_allclose(ours, theirs, rtol=0, atol=1e-12)


@pytest.mark.parametrize("seed", SEEDS)
def test_truncated_solution_passes(seed):
    assert check("02.truncated_bptt_grads", truncated_bptt_grads, seed=seed).passed
    assert check("02.truncated_bptt_grads", tr_student, seed=seed).passed


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("mutant, mistake", [
    (tr_full, "not truncated"),
    (tr_reset, "reset to zero"),
    (tr_reset_all, "reset to zero at each chunk, h0 included"),
    (tr_from_end, "counted from the end"),
    (tr_last_chunk, "only the last chunk"),
    (tr_k_plus_one, "off by one"),
    (tr_preactivation, "pre-activation"),
    (tr_zeroed_late, "zeroed one step late"),
    (tr_zeroed_early, "zeroed one step early"),
    (tr_no_tanh_prime, "tanh' forgotten"),
])
def test_truncated_mutants(mutant, mistake, seed):
    assert_rejected("02.truncated_bptt_grads", mutant, "Likely mistake", mistake=mistake, seed=seed)


@pytest.mark.parametrize("seed", range(12))
def test_truncated_off_by_ones_told_apart_on_every_seed(seed):
    """With T = 13, k = 4 in case 1, chunks counted from the end and a carry zeroed one step late
    gave the same gradients, and the off-by-one was named 'counted from the end'. Each of the
    confusable mistakes now gets its own diagnosis, on the first wrong case and on every seed."""
    named = {}
    for mutant, mistake in ((tr_from_end, "counted from the end"),
                            (tr_zeroed_late, "zeroed one step late"),
                            (tr_zeroed_early, "zeroed one step early"),
                            (tr_k_plus_one, "chunks have k + 1 steps")):
        result = check("02.truncated_bptt_grads", mutant, seed=seed)
        assert not result.passed and "on case 1 of" in result.message, result.message
        assert result.mistake is not None and mistake in result.mistake, result.message
        named[mistake] = result.mistake
    assert len(set(named.values())) == 4


def test_truncated_shape_and_dtype():
    assert_rejected("02.truncated_bptt_grads",
                    lambda *a: tuple(v.astype(np.float32) for v in truncated_bptt_grads(*a)), "float32")
    assert_rejected("02.truncated_bptt_grads",
                    lambda *a: (truncated_bptt_grads(*a)[0].T,) + truncated_bptt_grads(*a)[1:],
                    "dweight_ih")


# =========================================================================== 02.clip_by_global_norm
def clip_by_global_norm(grads, max_norm):
    """Solution: the norm of all entries laid end to end, one scale for every tensor."""
    total = float(np.linalg.norm(np.concatenate([g.ravel() for g in grads.values()])))
    scale = max_norm / (total + 1e-6)
    return {k: g * scale if scale < 1 else g.copy() for k, g in grads.items()}, total


def clip_torch(grads, max_norm):
    """torch.nn.utils.clip_grad_norm_: the oracle (as an answer it is refused)."""
    params = []
    for g in grads.values():
        p = torch.nn.Parameter(torch.zeros(g.shape, dtype=torch.float64))
        p.grad = torch.tensor(g)
        params.append(p)
    total = torch.nn.utils.clip_grad_norm_(params, max_norm)
    return {k: p.grad.numpy() for k, p in zip(grads, params)}, float(total)


def clip_each(grads, max_norm):
    out = {}
    for k, g in grads.items():
        n = np.sqrt((g ** 2).sum())
        out[k] = g * max_norm / n if n > max_norm else g.copy()
    return out, float(np.sqrt(sum((g ** 2).sum() for g in grads.values())))


def clip_values(grads, max_norm):
    return ({k: np.minimum(np.maximum(g, -max_norm), max_norm) for k, g in grads.items()},
            float(np.sqrt(sum((g ** 2).sum() for g in grads.values()))))


def clip_always(grads, max_norm):
    total = float(np.sqrt(sum((g ** 2).sum() for g in grads.values())))
    return {k: g / total * max_norm for k, g in grads.items()}, total


def clip_sum_norms(grads, max_norm):
    total = float(sum(np.sqrt((g ** 2).sum()) for g in grads.values()))
    s = min(1.0, max_norm / total)
    return {k: s * g for k, g in grads.items()}, total


def clip_report_after(grads, max_norm):
    clipped, _ = clip_by_global_norm(grads, max_norm)
    return clipped, float(np.sqrt(sum((g ** 2).sum() for g in clipped.values())))


def clip_no_eps(grads, max_norm):
    total = float(np.sqrt(sum((g ** 2).sum() for g in grads.values())))
    return {k: g * min(1.0, max_norm / total) for k, g in grads.items()}, total


@pytest.mark.parametrize("seed", SEEDS)
def test_clip_solution_passes(seed):
    assert check("02.clip_by_global_norm", clip_by_global_norm, seed=seed).passed

    def with_scratch(grads, max_norm):  # rnnlab.scratch.clip_grad_norm works in place on a copy
        out = {k: g.copy() for k, g in grads.items()}
        return out, scratch.clip_grad_norm(out, max_norm)

    assert_values_pass("02.clip_by_global_norm", with_scratch, seed=seed)


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("mutant, mistake", [
    (clip_each, "per tensor instead of by the global norm"),
    (clip_values, "clipping by value"),
    (clip_always, "always rescaled"),
    (clip_sum_norms, "sum of the tensors' norms"),
    (clip_report_after, "norm after clipping"),
    (clip_no_eps, "leaves out the + 1e-6"),
])
def test_clip_mutants(mutant, mistake, seed):
    result = assert_rejected("02.clip_by_global_norm", mutant, "Likely mistake", mistake=mistake,
                             seed=seed)
    # a recognised mistake is the explanation: no advice about float32 beside it
    assert "float32" not in result.message, result.message


def test_clip_in_place_shape_and_dtype():
    def in_place(grads, max_norm):
        total = float(np.sqrt(sum((g ** 2).sum() for g in grads.values())))
        for g in grads.values():
            g *= min(1.0, max_norm / (total + 1e-6))
        return grads, total

    def shallow_copy(grads, max_norm):  # the copy of the dict still shares the arrays
        grads = grads.copy()
        return in_place(grads, max_norm)

    for mutant in (in_place, shallow_copy):
        for seed in range(5):
            result = assert_rejected("02.clip_by_global_norm", mutant, "in place", "`g *= scale`",
                                     "shallow", seed=seed)
            assert result.mistake is None and "always rescaled" not in result.message
            assert "grads = grads.copy()" not in result.message
    assert_rejected("02.clip_by_global_norm",
                    lambda g, m: ({k: v.astype(np.float32) for k, v in clip_by_global_norm(g, m)[0].items()},
                                  clip_by_global_norm(g, m)[1]), "float32")
    assert_rejected("02.clip_by_global_norm",
                    lambda g, m: (list(clip_by_global_norm(g, m)[0].values()), clip_by_global_norm(g, m)[1]),
                    "dict")
    assert_rejected("02.clip_by_global_norm",
                    lambda g, m: ({k: v.ravel() for k, v in clip_by_global_norm(g, m)[0].items()},
                                  clip_by_global_norm(g, m)[1]), "shape")


# =========================================================================== torch's own answers
def _assert_torch_values_pass_but_refused(exercise_id, func, called, seed=1):
    """``func`` (torch autograd or torch's clipping) returns the right values, but calling it is
    what the exercise asks the student to write: check() refuses it and names the call."""
    from rnnlab.grading.checker import draw_cases, judge
    from rnnlab.grading.outcome import call_function

    ex = exercises()[exercise_id]
    cases = draw_cases(ex, np.random.default_rng(seed))
    untraced = judge(ex, cases, [call_function(func, case) for case in cases])
    assert untraced.passed, untraced.message
    refused = check(exercise_id, func, seed=seed)
    assert not refused.passed and refused.score == 0, refused.message
    whose = "part of torch" if called.startswith("torch.") else "does not allow"
    assert f"called `{called}" in refused.message and whose in refused.message, refused.message


def _rnn_backward_autograd(x, h0, weight_ih, weight_hh, bias, dh):
    leaves = [torch.tensor(a, requires_grad=True) for a in (x, h0, weight_ih, weight_hh, bias)]
    xt, h, Wi, Wh, b = leaves
    loss = 0
    for t in range(len(x)):
        h = torch.tanh(xt[t] @ Wi.T + h @ Wh.T + b)
        loss = loss + (h * torch.from_numpy(dh[t])).sum()
    loss.backward()
    return tuple(leaf.grad.numpy() for leaf in leaves)


def _rnn_backward_autograd_grad(x, h0, weight_ih, weight_hh, bias, dh):
    leaves = [torch.tensor(a, requires_grad=True) for a in (x, h0, weight_ih, weight_hh, bias)]
    xt, h, Wi, Wh, b = leaves
    hs = []
    for t in range(len(x)):
        h = torch.tanh(xt[t] @ Wi.T + h @ Wh.T + b)
        hs.append(h)
    grads = torch.autograd.grad(torch.stack(hs), leaves, grad_outputs=torch.from_numpy(dh))
    return tuple(g.numpy() for g in grads)


def _rnn_backward_torch_func(x, h0, weight_ih, weight_hh, bias, dh):
    def loss(*leaves):
        xt, h, Wi, Wh, b = leaves
        total = 0
        for t in range(len(x)):
            h = torch.tanh(xt[t] @ Wi.T + h @ Wh.T + b)
            total = total + (h * torch.from_numpy(dh[t])).sum()
        return total
    grads = torch.func.grad(loss, argnums=(0, 1, 2, 3, 4))(
        *(torch.from_numpy(a) for a in (x, h0, weight_ih, weight_hh, bias)))
    return tuple(g.numpy() for g in grads)


def test_numpy_solutions_agree_with_torch():
    rng = np.random.default_rng(5)
    for exercise_id, ours, oracle in (("02.output_grads", output_grads, output_grads_autograd),
                                      ("02.truncated_bptt_grads", truncated_bptt_grads,
                                       truncated_autograd),
                                      ("02.clip_by_global_norm", clip_by_global_norm, clip_torch)):
        for case in exercises()[exercise_id].cases(rng):
            got, expected = ours(*case), oracle(*case)
            if exercise_id == "02.clip_by_global_norm":
                got, expected = (*got[0].values(), got[1]), (*expected[0].values(), expected[1])
            for g, e in zip(got, expected, strict=True):
                np.testing.assert_allclose(g, e, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("exercise_id, func, called", [
    ("02.output_grads", output_grads_autograd, "torch."),
    ("02.rnn_backward", _rnn_backward_autograd, "torch."),
    ("02.rnn_backward", _rnn_backward_autograd_grad, "torch."),
    ("02.rnn_backward", _rnn_backward_torch_func, "torch."),
    ("02.truncated_bptt_grads", truncated_autograd, "torch."),
    ("02.clip_by_global_norm", clip_torch, "torch."),
])
def test_torch_computing_the_answer_earns_no_points(exercise_id, func, called):
    _assert_torch_values_pass_but_refused(exercise_id, func, called)


def test_output_grads_autograd_without_a_torch_loss_is_refused():
    """The loss written by hand in torch, only the gradients by autograd: still autograd."""
    def by_hand_loss(h, V, c, y):
        ht, Vt, ct = (torch.tensor(a, requires_grad=True) for a in (h, V, c))
        s = ht @ Vt.T + ct
        log_p = s - torch.logsumexp(s, dim=-1, keepdim=True)
        loss = -torch.gather(log_p, -1, torch.from_numpy(y)[..., None]).sum()
        loss.backward()
        return loss.item(), Vt.grad.numpy(), ct.grad.numpy(), ht.grad.numpy()

    _assert_torch_values_pass_but_refused("02.output_grads", by_hand_loss, "torch.")


def test_output_grads_library_log_softmax_is_refused():
    from scipy.special import log_softmax

    def with_scipy(h, V, c, y):
        log_p = log_softmax(h @ V.T + c, axis=-1)
        onehot = np.eye(V.shape[0])[y]
        d = np.exp(log_p) - onehot
        return float(-(onehot * log_p).sum()), np.einsum("tnk,tnh->kh", d, h), d.sum((0, 1)), d @ V

    _assert_torch_values_pass_but_refused("02.output_grads", with_scipy, "scipy.special.")


# =========================================================================== boundary sizes
@pytest.mark.parametrize("seed", range(6))
def test_output_grads_squeezed_axes_fail_on_a_single_step_or_unit(seed):
    """np.squeeze drops every axis of length 1: right for the usual sizes, wrong when T, N or H
    is 1. The cases include T = 1 and N = H = 1."""
    def squeezed(h, V, c, y):
        T, N, H = h.shape
        hs, ys = np.squeeze(h), np.squeeze(y)
        s = hs @ V.T + c
        p = np.exp(s - s.max(-1, keepdims=True))
        p /= p.sum(-1, keepdims=True)
        onehot = np.eye(V.shape[0])[ys]
        d = p - onehot
        flat_d, flat_h = d.reshape(-1, V.shape[0]), hs.reshape(-1, H)
        return (float(-(onehot * np.log(p)).sum()), flat_d.T @ flat_h, flat_d.sum(0),
                (d @ V).reshape(T, N, H))

    assert_rejected("02.output_grads", squeezed, seed=seed)
    sizes = [case[0].shape for case in exercises()["02.output_grads"].cases(
        np.random.default_rng(seed))]
    assert any(T == 1 for T, _, _ in sizes) and any(N == H == 1 for _, N, H in sizes)
    assert any(T > 1 and N > 1 for T, N, _ in sizes)


def _batch_sizes(exercise_id, seed):
    return [case[0].shape[1] for case in exercises()[exercise_id].cases(np.random.default_rng(seed))]


def _rnn_mean_over_batch(*args):
    return tuple(g / args[0].shape[1] for g in rnn_backward_loop(*args))


def _tr_mean_over_batch(*args):
    return tuple(g / args[0].shape[1] for g in tr_student(*args))


@pytest.mark.parametrize("exercise_id, mutant, seeds", [
    ("02.rnn_backward", _rnn_mean_over_batch, (383, 388)),
    ("02.truncated_bptt_grads", _tr_mean_over_batch, (129, 137)),
])
def test_batch_mean_rejected_on_every_seed(exercise_id, mutant, seeds):
    """A mean over the batch equals the sum when N = 1: with N drawn from 1..4 in every case,
    about one seed in 256 (rnn_backward) or 81 (truncated) had N = 1 everywhere and let the mean
    pass, as on these seeds. Now one case has N = 1 and the others N >= 2."""
    assert_rejected(exercise_id, mutant, seeds=seeds)
    if exercise_id == "02.truncated_bptt_grads":
        assert_rejected(exercise_id, mutant, mistake="averaged over the batch", seeds=range(3))
    for seed in range(300):
        sizes = _batch_sizes(exercise_id, seed)
        assert any(n > 1 for n in sizes) and any(n == 1 for n in sizes), (seed, sizes)
