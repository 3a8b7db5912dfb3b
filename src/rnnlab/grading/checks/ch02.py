r"""Graded exercises of chapter 2 (backpropagation through time): ``solutions/02_bptt.ipynb``.

============================  ================================================================
id                            what the student writes
============================  ================================================================
``02.output_grads``           softmax + cross-entropy summed over steps and batch: the loss and
                              dL/dV, dL/db_y, dL/dh_t (the direct term)
``02.rnn_backward``           BPTT through a whole tanh layer: dx, dh0, dW_ih, dW_hh, db
``02.truncated_bptt_grads``   the same weight gradients with the hidden state detached every k
                              steps (truncated BPTT)
``02.clip_by_global_norm``    gradient clipping by the global norm, as torch.nn.utils.clip_grad_norm_
============================  ================================================================

Notation (the book's table): ``a_t = x_t W_ih^T + h_{t-1} W_hh^T + b`` (rows are batch elements),
``h_t = tanh(a_t)``, ``delta_t = dL/da_t``.  ``dh[t]`` is the gradient that reaches ``h_t``
directly from the losses (the first of the two terms of dL/dh_t); the student adds the second
term, ``delta_{t+1} W_hh``, in the backward loop.
"""
from __future__ import annotations

import numpy as np

from rnnlab.grading.checks._common import _normal
from rnnlab.grading.spec import FORBIDDEN_CALLS, Exercise
from rnnlab.scratch.losses import log_softmax

NOTEBOOK = "02_bptt.ipynb"


# ============================================================================ 02.output_grads
def output_grads(h, V, b_y, y):
    """Reference: ``s_t = h_t V^T + b_y``, ``L = sum_t sum_n -log softmax(s_t)[n, y_t[n]]``.

    ``h`` (T, N, H), ``V`` (K, H), ``b_y`` (K,), ``y`` (T, N) integer classes.
    Returns ``(loss, dV, db_y, dh)``: a float, (K, H), (K,), (T, N, H).
    """
    T, N, _ = h.shape
    logp = log_softmax(h @ V.T + b_y)  # log softmax of the scores s_t: (T, N, K)
    t_idx, n_idx = np.meshgrid(np.arange(T), np.arange(N), indexing="ij")
    loss = -logp[t_idx, n_idx, y].sum()
    ds = np.exp(logp)  # y_hat
    ds[t_idx, n_idx, y] -= 1.0  # dL/ds_t = y_hat_t - y_t
    dV = np.einsum("tnk,tnh->kh", ds, h)
    db_y = ds.sum(axis=(0, 1))
    dh = ds @ V
    return float(loss), dV, db_y, dh


def _out_last_step_only(h, V, b_y, y):
    loss, _, _, dh = output_grads(h, V, b_y, y)
    _, dV, db_y, _ = output_grads(h[-1:], V, b_y, y[-1:])
    return loss, dV, db_y, dh


def _out_no_minus_y(h, V, b_y, y):
    loss = output_grads(h, V, b_y, y)[0]
    ds = np.exp(log_softmax(h @ V.T + b_y))
    return loss, np.einsum("tnk,tnh->kh", ds, h), ds.sum(axis=(0, 1)), ds @ V


def _out_mean_over_batch(h, V, b_y, y):
    N = h.shape[1]
    loss, dV, db_y, dh = output_grads(h, V, b_y, y)
    return loss / N, dV / N, db_y / N, dh / N


def _out_mean_over_all(h, V, b_y, y):
    n = y.size
    loss, dV, db_y, dh = output_grads(h, V, b_y, y)
    return loss / n, dV / n, db_y / n, dh / n


def _out_dc_mean_over_batch(h, V, b_y, y):
    loss, dV, db_y, dh = output_grads(h, V, b_y, y)
    return loss, dV, db_y / h.shape[1], dh


def _out_dv_transposed(h, V, b_y, y):
    loss, dV, db_y, dh = output_grads(h, V, b_y, y)
    return loss, dV.T, db_y, dh


def _out_unstable_softmax(h, V, b_y, y):
    s = h @ V.T + b_y
    with np.errstate(all="ignore"):
        p = np.exp(s) / np.exp(s).sum(axis=-1, keepdims=True)
    T, N = y.shape
    t_idx, n_idx = np.meshgrid(np.arange(T), np.arange(N), indexing="ij")
    with np.errstate(all="ignore"):
        loss = -np.log(p[t_idx, n_idx, y]).sum()
    ds = p.copy()
    ds[t_idx, n_idx, y] -= 1.0
    return float(loss), np.einsum("tnk,tnh->kh", ds, h), ds.sum(axis=(0, 1)), ds @ V


def _out_cases(rng):
    cases = []
    for i in range(4):
        T, N, H, K = (int(v) for v in rng.integers([2, 2, 2, 2], [7, 5, 6, 6]))
        if i == 0:  # a single step: an answer that squeezes the time axis away breaks here
            T = 1
        elif i == 1:  # one sequence and one hidden unit: the same for the batch and hidden axes
            N, H = 1, 1
        cases.append((np.tanh(_normal(rng, T, N, H, scale=1.0)), _normal(rng, K, H),
                      _normal(rng, K), rng.integers(0, K, size=(T, N))))
    # large scores (a bias of 1000): exp overflows unless the softmax subtracts the maximum first
    h, V, b_y, y = cases[-1]
    cases.append((h, V, b_y + 1000.0, y))
    return cases


OUTPUT_GRADS = Exercise(
    id="02.output_grads",
    notebook=NOTEBOOK,
    function="output_grads",
    points=2.0,
    title="Softmax cross-entropy summed over steps: loss, dL/dV, dL/db_y and dL/dh_t",
    cases=_out_cases,
    reference=output_grads,
    mistakes={
        "dV and db_y taken from the last step only: V is a tied weight, sum its gradient over "
        "every time step": _out_last_step_only,
        "dL/ds_t = y_hat_t without subtracting the one-hot target y_t": _out_no_minus_y,
        "loss and gradients averaged over the batch: this exercise sums over steps and batch":
            _out_mean_over_batch,
        "loss and gradients averaged over steps and batch (divided by T * N): this exercise sums "
        "over both": _out_mean_over_all,
        "bias gradient db_y averaged over the batch instead of summed": _out_dc_mean_over_batch,
        "softmax computed as exp(s) / sum(exp(s)) without subtracting the row maximum first: "
        "exp overflows for large scores (the last case adds 1000 to every score)":
            _out_unstable_softmax,
        "dV transposed: dL/dV = sum_t (y_hat_t - y_t)^T h_t has V's shape (K, H)":
            _out_dv_transposed,
    },
    arg_names=("h", "V", "b_y", "y"),
    output_names=("loss", "dV", "db_y", "dh"),
    hint="dL/ds_t = softmax(s_t) - onehot(y_t); dV sums (dL/ds_t)^T h_t over t; dh_t = dL/ds_t V.",
    # no library softmax either (torch is forbidden for every exercise): the stable softmax is
    # part of the exercise
    forbidden_calls=FORBIDDEN_CALLS + ("scipy.special",),
)


# ============================================================================ 02.rnn_backward
def rnn_forward(x, h0, weight_ih, weight_hh, bias):
    """``h`` (T, N, H) and the pre-activations ``a`` (T, N, H) of a tanh layer."""
    hs, As = [], []
    h = h0
    for x_t in x:
        a = x_t @ weight_ih.T + h @ weight_hh.T + bias
        h = np.tanh(a)
        As.append(a)
        hs.append(h)
    return np.stack(hs), np.stack(As)


def _backward(x, h0, weight_ih, weight_hh, bias, dh, *, deriv="h", recur=True, recur_w=True,
              tied="sum", dW_hh_T=False, db_mean=False, chunk=None, reset=False, align="start",
              last_chunk_only=False, dW_hh_h_t=False, batch_mean=False, recur_T=False):
    """One BPTT routine with switches: the reference (defaults) and every likely mistake.

    ``chunk``: truncation length k (None: full BPTT).  The hidden state runs on across chunk
    boundaries (its value is kept; ``reset=True`` instead zeroes it, a mistake); the gradient
    into the state before a chunk is dropped.  Chunks are ``[0, k), [k, 2k), ...`` counted from
    the start; the mistakes: ``align="end"`` counts them from the end, ``"late"`` zeroes the
    carried gradient one step late (chunks start at 1, k+1, 2k+1, ...: the test ``t % k == 0``
    placed before step t's delta instead of after it), ``"early"`` one step early (chunks start
    at k-1, 2k-1, ...: the test ``(t + 1) % k == 0``); ``reset="all"`` zeroes ``h0`` too.
    ``recur_T``: the carried gradient multiplied by ``weight_hh.T`` (the maths' W^T delta copied
    into row layout).
    """
    T, N, _ = x.shape
    if chunk is not None and reset:
        starts = set(range(0, T, chunk))
        hs, As = [], []
        h = h0
        for t in range(T):
            if t in starts and (t > 0 or reset == "all"):
                h = np.zeros_like(h)
            a = x[t] @ weight_ih.T + h @ weight_hh.T + bias
            h = np.tanh(a)
            As.append(a)
            hs.append(h)
        h, A = np.stack(hs), np.stack(As)
        prev = [h0 if t == 0 and reset != "all" else
                (np.zeros_like(h0) if t in starts else h[t - 1]) for t in range(T)]
    else:
        h, A = rnn_forward(x, h0, weight_ih, weight_hh, bias)
        prev = [h0] + [h[t - 1] for t in range(1, T)]
    if chunk is None:
        cut = set()
    elif align == "start":
        cut = set(range(0, T, chunk))  # no gradient flows from step t into step t-1
    elif align == "late":
        cut = {t + 1 for t in range(0, T - 1, chunk)} | {0}
    elif align == "early":
        cut = {t for t in range(T) if (t + 1) % chunk == 0} | {0}
    else:
        cut = set(range(T % chunk, T, chunk)) | {0}
    last_start = max(cut) if cut else 0
    dx = np.zeros_like(x)
    dW_ih, dW_hh, db = np.zeros_like(weight_ih), np.zeros_like(weight_hh), np.zeros_like(bias)
    carry = np.zeros_like(h0)  # delta_{t+1} W_hh: the second term of dL/dh_t
    for t in range(T - 1, -1, -1):
        g = dh[t] + carry  # dL/dh_t: directly from the losses, plus through h_{t+1}
        if deriv == "h":
            delta = g * (1.0 - h[t] ** 2)  # tanh'(a_t) = 1 - tanh(a_t)^2 = 1 - h_t^2
        elif deriv == "a":
            delta = g * (1.0 - A[t] ** 2)
        elif deriv == "none":  # tanh' forgotten
            delta = g
        else:  # tanh' applied to h, as if h were the pre-activation
            delta = g * (1.0 - np.tanh(h[t]) ** 2)
        dx[t] = delta @ weight_ih
        use = tied == "sum" or (t == T - 1 if tied == "last" else t == 0)
        if last_chunk_only and t < last_start:
            use = False
        if use:
            dW_ih += delta.T @ x[t]
            h_in = h[t] if dW_hh_h_t else prev[t]
            dW_hh += (h_in.T @ delta) if dW_hh_T else (delta.T @ h_in)
            db += delta.mean(axis=0) if db_mean else delta.sum(axis=0)
        carry = (delta @ (weight_hh.T if recur_T else weight_hh)) if recur_w else delta
        if not recur or t in cut:
            carry = np.zeros_like(carry)  # the state before step t is detached
    dh0 = carry
    if batch_mean:
        dW_ih, dW_hh, db = dW_ih / N, dW_hh / N, db / N
    return dx, dh0, dW_ih, dW_hh, db


def rnn_backward(x, h0, weight_ih, weight_hh, bias, dh):
    """Reference: backpropagation through time for a whole tanh layer.

    Forward: ``a_t = x_t W_ih^T + h_{t-1} W_hh^T + b``, ``h_t = tanh(a_t)``, ``t = 1..T``.
    ``x`` (T, N, I), ``h0`` (N, H), ``weight_ih`` (H, I), ``weight_hh`` (H, H), ``bias`` (H,)
    (torch's ``bias_ih + bias_hh``), ``dh`` (T, N, H): the gradient reaching each ``h_t`` directly
    from the losses.  Returns ``(dx, dh0, dweight_ih, dweight_hh, dbias)`` with the shapes of
    ``x, h0, weight_ih, weight_hh, bias``.
    """
    return _backward(x, h0, weight_ih, weight_hh, bias, dh)


def _bw(**switches):
    def wrong(x, h0, weight_ih, weight_hh, bias, dh):
        return _backward(x, h0, weight_ih, weight_hh, bias, dh, **switches)
    return wrong


def _bw_carry_not_added(x, h0, weight_ih, weight_hh, bias, dh):
    """dL/dh_t taken as dh[t] alone, while dh0 is still computed from step 0's delta."""
    dx, _, dW_ih, dW_hh, db = _backward(x, h0, weight_ih, weight_hh, bias, dh, recur=False)
    h, _ = rnn_forward(x, h0, weight_ih, weight_hh, bias)
    return dx, (dh[0] * (1.0 - h[0] ** 2)) @ weight_hh, dW_ih, dW_hh, db


def _rnn_cases(rng):
    cases = []
    for i in range(4):
        T, N, D, H = (int(v) for v in rng.integers([3, 2, 1, 2], [8, 5, 5, 6]))
        if i == 3:  # one step of one sequence with one hidden unit (the others have N >= 2, so
            T, N, H = 1, 1, 1  # that a mean over the batch never passes for the sum)
        cases.append((_normal(rng, T, N, D, scale=1.0), np.tanh(_normal(rng, N, H)),
                      _normal(rng, H, D), _normal(rng, H, H), _normal(rng, H),
                      _normal(rng, T, N, H, scale=1.0)))
    return cases


RNN_BACKWARD_MISTAKES = {
    "tanh derivative taken on the pre-activation: use 1 - h_t**2 (h_t = tanh(a_t)), "
    "not 1 - a_t**2": _bw(deriv="a"),
    "tanh applied twice in the derivative: h_t is already tanh(a_t), so tanh'(a_t) = 1 - h_t**2, "
    "not 1 - tanh(h_t)**2": _bw(deriv="tanh_h"),
    "delta recursion missing the W_hh term: the gradient reaching h_{t-1} is delta_t @ W_hh, "
    "not delta_t": _bw(recur_w=False),
    "no gradient through time: dL/dh_t also has the term delta_{t+1} @ W_hh from step t+1":
        _bw(recur=False),
    "the carried gradient never added: dL/dh_t = dh[t] + delta_{t+1} @ W_hh, the second term "
    "from step t+1": _bw_carry_not_added,
    "carried gradient multiplied by weight_hh.T: in row layout, W_hh^T delta_{t+1} is "
    "delta_{t+1} @ weight_hh": _bw(recur_T=True),
    "gradient of a tied weight not summed over time (only the last step kept): W_ih, W_hh and b "
    "are used at every step, sum their gradients over t": _bw(tied="last"),
    "gradient of a tied weight overwritten at every step (`=` instead of `+=`), so only step 0's "
    "term is left: W_ih, W_hh and b are used at every step, sum their gradients over t":
        _bw(tied="first"),
    "tanh' forgotten: delta_t = dL/dh_t * (1 - h_t**2); the gradient must go through the "
    "derivative of tanh before it reaches the weights and h_{t-1}": _bw(deriv="none"),
    "h_t used where h_{t-1} belongs: step t multiplies W_hh by the previous state, so "
    "dL/dW_hh = sum_t delta_t^T h_{t-1} (with h_{-1} = h0)": _bw(dW_hh_h_t=True),
    "weight gradients averaged over the batch (divided by N): the loss sums over the batch, so "
    "sum delta^T x_t, delta^T h_{t-1} and delta over the batch elements": _bw(batch_mean=True),
    "dweight_hh transposed: dL/dW_hh = sum_t delta_t^T h_{t-1}, shape (hidden, hidden) with rows "
    "indexing the receiving unit": _bw(dW_hh_T=True),
    "bias gradient not summed over the batch (averaged instead)": _bw(db_mean=True),
}


RNN_BACKWARD = Exercise(
    id="02.rnn_backward",
    notebook=NOTEBOOK,
    function="rnn_backward",
    points=3.0,
    title="Backpropagation through time for a whole tanh layer: dx, dh0, dW_ih, dW_hh, db",
    cases=_rnn_cases,
    reference=rnn_backward,
    mistakes=RNN_BACKWARD_MISTAKES,
    arg_names=("x", "h0", "weight_ih", "weight_hh", "bias", "dh"),
    output_names=("dx", "dh0", "dweight_ih", "dweight_hh", "dbias"),
    # dbias = sum of delta_t: the first place an error in delta shows; dx, dh0 come last
    report_order=("dbias", "dweight_ih", "dweight_hh", "dx", "dh0"),
    hint="Keep every h_t of the forward pass (and h0, the state before step 0); going "
         "backwards, dL/dh_t is dh[t] plus what step t+1 sends back through weight_hh, delta_t "
         "multiplies it by tanh' = 1 - h_t**2, and each weight's gradient adds up its "
         "terms over every step and batch element.",
)


# ============================================================================ 02.truncated_bptt_grads
def truncated_bptt_grads(x, h0, weight_ih, weight_hh, bias, dh, k):
    """Reference: the weight gradients of truncated BPTT with the state detached every ``k`` steps.

    The forward pass runs over the whole sequence (the hidden state's *value* crosses every
    boundary); the sequence is cut into chunks ``[0, k), [k, 2k), ...`` and no gradient flows
    from a chunk into the state before it, exactly what ``h = h.detach()`` every ``k`` steps does
    in torch followed by one ``backward()`` of the summed loss.  Arguments as
    :func:`rnn_backward`, plus ``k >= 1``.  Returns ``(dweight_ih, dweight_hh, dbias)``.
    """
    return _backward(x, h0, weight_ih, weight_hh, bias, dh, chunk=k)[2:]


def _tr(**switches):
    def wrong(x, h0, weight_ih, weight_hh, bias, dh, k):
        return _backward(x, h0, weight_ih, weight_hh, bias, dh, chunk=k, **switches)[2:]
    return wrong


def _tr_full(x, h0, weight_ih, weight_hh, bias, dh, k):
    return rnn_backward(x, h0, weight_ih, weight_hh, bias, dh)[2:]


def _tr_off_by_one(x, h0, weight_ih, weight_hh, bias, dh, k):
    return _backward(x, h0, weight_ih, weight_hh, bias, dh, chunk=k + 1)[2:]


def _trunc_cases(rng):
    # T % k is neither 0, 1 nor k - 1 in the first and the last case, so that chunks counted from
    # the end, a carry zeroed one step late or early, and chunks of k + 1 steps all give different
    # gradients there (with T = 13, k = 4, counted from the end and one step late coincide)
    cases = []
    # N >= 2 except in the case k = 1, so that a mean over the batch never passes for the sum
    for T, k in ((int(rng.choice([12, 13, 17, 18])), 5), (int(rng.integers(9, 14)), 3), (10, 1),
                 (int(rng.choice([10, 14])), 4)):
        N, D, H = (int(v) for v in rng.integers([2, 1, 2], [4, 4, 5]))
        if k == 1:
            N = 1
        cases.append((_normal(rng, T, N, D, scale=1.0), np.tanh(_normal(rng, N, H)),
                      _normal(rng, H, D), _normal(rng, H, H, scale=0.8), _normal(rng, H),
                      _normal(rng, T, N, H, scale=1.0), k))
    return cases


TRUNCATED_BPTT_GRADS = Exercise(
    id="02.truncated_bptt_grads",
    notebook=NOTEBOOK,
    function="truncated_bptt_grads",
    points=2.0,
    title="Truncated BPTT: weight gradients with the hidden state detached every k steps",
    cases=_trunc_cases,
    reference=truncated_bptt_grads,
    mistakes={
        "not truncated: the gradient still flows across the chunk boundaries (full BPTT)":
            _tr_full,
        "the hidden state reset to zero at each chunk: detaching keeps the state's value and "
        "cuts only the gradient": _tr(reset=True),
        "the hidden state reset to zero at each chunk, h0 included: detaching keeps the state's "
        "value and cuts only the gradient": _tr(reset="all"),
        "chunks counted from the end of the sequence: cut before steps k, 2k, ... from the start":
            _tr(align="end"),
        "only the last chunk's gradient kept: the weights are tied, sum the gradients of every "
        "chunk": _tr(last_chunk_only=True),
        "off by one: the chunks have k + 1 steps": _tr_off_by_one,
        "carried gradient zeroed one step late: the chunks start at steps 1, k+1, 2k+1, ... "
        "(the test t % k == 0 placed before step t's delta); zero the carry after computing "
        "step t, so that nothing flows from step t into step t-1 when t is a multiple of k":
            _tr(align="late"),
        "carried gradient zeroed one step early: the chunks start at steps k-1, 2k-1, ... "
        "((t + 1) % k == 0); cut where t % k == 0, so that the chunks are [0, k), [k, 2k), ...":
            _tr(align="early"),
        "tanh' forgotten: delta_t = dL/dh_t * (1 - h_t**2)": _tr(deriv="none"),
        "h_t used where h_{t-1} belongs: dL/dW_hh = sum_t delta_t^T h_{t-1}": _tr(dW_hh_h_t=True),
        "tanh derivative taken on the pre-activation: use 1 - h_t**2, not 1 - a_t**2":
            _tr(deriv="a"),
        "weight gradients averaged over the batch (divided by N): the summed loss sums them over "
        "the batch elements": _tr(batch_mean=True),
    },
    arg_names=("x", "h0", "weight_ih", "weight_hh", "bias", "dh", "k"),
    output_names=("dweight_ih", "dweight_hh", "dbias"),
    report_order=("dbias", "dweight_ih", "dweight_hh"),
    hint="Same loop as rnn_backward, but set the carried gradient to zero whenever t is a "
         "multiple of k (the state before step t is detached).",
)


# ============================================================================ 02.clip_by_global_norm
def clip_by_global_norm(grads, max_norm):
    """Reference: ``torch.nn.utils.clip_grad_norm_`` on a dict of arrays.

    ``total = sqrt(sum over tensors of sum(g**2))``; every tensor is multiplied by
    ``min(1, max_norm / (total + 1e-6))``.  Returns ``(clipped, total)``: a new dict with the same
    keys and shapes (the input is not modified) and the norm before clipping as a float.
    """
    total = float(np.sqrt(sum(float(np.sum(g * g)) for g in grads.values())))
    scale = min(1.0, max_norm / (total + 1e-6))
    return {name: g * scale for name, g in grads.items()}, total


def _clip_per_tensor(grads, max_norm):
    total = clip_by_global_norm(grads, max_norm)[1]
    out = {}
    for name, g in grads.items():
        n = float(np.linalg.norm(g))
        out[name] = g * min(1.0, max_norm / (n + 1e-6))
    return out, total


def _clip_by_value(grads, max_norm):
    total = clip_by_global_norm(grads, max_norm)[1]
    return {name: np.clip(g, -max_norm, max_norm) for name, g in grads.items()}, total


def _clip_always(grads, max_norm):
    total = clip_by_global_norm(grads, max_norm)[1]
    return {name: g * (max_norm / (total + 1e-6)) for name, g in grads.items()}, total


def _clip_no_eps(grads, max_norm):
    total = clip_by_global_norm(grads, max_norm)[1]
    scale = min(1.0, max_norm / total)
    return {name: g * scale for name, g in grads.items()}, total


def _clip_sum_of_norms(grads, max_norm):
    total = float(sum(np.linalg.norm(g) for g in grads.values()))
    scale = min(1.0, max_norm / (total + 1e-6))
    return {name: g * scale for name, g in grads.items()}, total


def _clip_norm_after(grads, max_norm):
    clipped, _ = clip_by_global_norm(grads, max_norm)
    return clipped, float(np.sqrt(sum(float(np.sum(g * g)) for g in clipped.values())))


def _clip_cases(rng):
    cases = []
    for scale, max_norm in ((5.0, 1.0), (0.01, 5.0), (3.0, 2.5), (1.0, 0.5)):  # one below max_norm
        D, H, K = (int(v) for v in rng.integers([1, 2, 2], [5, 6, 5]))
        grads = {
            "weight_ih_l0": _normal(rng, H, D, scale=scale),
            "weight_hh_l0": _normal(rng, H, H, scale=scale),
            "bias_ih_l0": _normal(rng, H, scale=scale),
            "bias_hh_l0": _normal(rng, H, scale=scale),
            "out.weight": _normal(rng, K, H, scale=10 * scale),  # one tensor dominates the norm
        }
        cases.append((grads, max_norm))
    return cases


CLIP_BY_GLOBAL_NORM = Exercise(
    id="02.clip_by_global_norm",
    notebook=NOTEBOOK,
    function="clip_by_global_norm",
    points=2.0,
    title="Gradient clipping by the global norm (as torch.nn.utils.clip_grad_norm_)",
    cases=_clip_cases,
    reference=clip_by_global_norm,
    mistakes={
        "clipping per tensor instead of by the global norm: one scale factor for all tensors, "
        "computed from the norm of all of them together": _clip_per_tensor,
        "clipping by value (each element clipped to [-max_norm, max_norm]) instead of by norm":
            _clip_by_value,
        "always rescaled to max_norm: gradients whose norm is already below max_norm must stay "
        "unchanged": _clip_always,
        "total norm taken as the sum of the tensors' norms: it is sqrt of the sum of all squares":
            _clip_sum_of_norms,
        "returned the norm after clipping: return the total norm before clipping, as torch does":
            _clip_norm_after,
        "the scale leaves out the + 1e-6: multiply by min(1, max_norm / (total + 1e-6)), as "
        "torch does": _clip_no_eps,
    },
    arg_names=("grads", "max_norm"),
    output_names=("clipped", "total_norm"),
    hint="total = sqrt(sum of g**2 over every tensor); scale = min(1, max_norm / (total + 1e-6)); "
         "multiply every tensor by the same scale.",
)

EXERCISES = [OUTPUT_GRADS, RNN_BACKWARD, TRUNCATED_BPTT_GRADS, CLIP_BY_GLOBAL_NORM]
