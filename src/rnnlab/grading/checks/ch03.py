r"""Graded exercises of chapter 3 (LSTM): ``solutions/03_lstm.ipynb``.

==========================  ==================================================================
id                          what the student writes
==========================  ==================================================================
``03.lstm_step``            one LSTM step in torch's layout (gates i, f, g, o), returns (h, c)
``03.lstm_step_backward``   its backward: (dx, dh_prev, dc_prev, dweight_ih, dweight_hh, dbias)
``03.lstm_step_peephole``   the step with peepholes: i, f look at c_{t-1}, o looks at c_t
``03.seed_lstm_to_torch``   the source post's four [h, x]-layers (f, i, C~, o) as torch's weight_ih,
                            weight_hh, bias_ih, bias_hh
==========================  ==================================================================

Shapes: N batch, I input size, H hidden size; row-vector (batch-first) layout as in
``torch.nn.LSTMCell``: ``x`` (N, I), ``h_prev``/``c_prev`` (N, H), ``weight_ih`` (4H, I),
``weight_hh`` (4H, H), biases (4H,), peephole weights (H,).

Every reference is one routine with switches; each entry of ``mistakes`` flips one switch (or is a
small separate function), so the grader can name the mistake a wrong answer matches.
"""
from __future__ import annotations

import numpy as np

from rnnlab.grading.checks._common import _case_sizes, _normal, _sigmoid
from rnnlab.grading.compare import compare, compare_outputs
from rnnlab.grading.spec import Exercise

NOTEBOOK = "03_lstm.ipynb"


def _step_args(rng, k=2):
    N, I, H = _case_sizes(rng, k)
    return (_normal(rng, N, I, scale=1.0), np.tanh(_normal(rng, N, H, scale=1.0)),
            _normal(rng, N, H, scale=1.0), _normal(rng, 4 * H, I), _normal(rng, 4 * H, H),
            _normal(rng, 4 * H), _normal(rng, 4 * H))


# ============================================================================ 03.lstm_step
def _lstm(x, h_prev, c_prev, weight_ih, weight_hh, bias_ih, bias_hh, *, order="ifgo",
          g_act="tanh", i_act="sigmoid", forget_on_candidate=False, h_from_prev=False,
          swap_return=False, no_tanh_c=False, tanh_after_o=False, bias_hh_used=True,
          peep=None, peep_o_prev=False, peep_if_new=False, peep_swap=False, peep_after=False):
    """One routine behind the references and the likely mistakes (defaults = correct)."""
    a = x @ weight_ih.T + bias_ih + h_prev @ weight_hh.T + (bias_hh if bias_hh_used else 0.0)
    blocks = dict(zip(order, np.split(a, 4, axis=-1)))
    a_i, a_f, a_g, a_o = blocks["i"], blocks["f"], blocks["g"], blocks["o"]
    act = {"sigmoid": _sigmoid, "tanh": np.tanh}
    if peep is not None:
        w_ci, w_cf, w_co = peep
        if peep_swap:
            w_ci, w_cf = w_cf, w_ci
        c_seen = c_prev
        if peep_if_new:  # the gates peek at a c_t computed before them, without peepholes
            c_seen = _sigmoid(a_f) * c_prev + _sigmoid(a_i) * np.tanh(a_g)
        if peep_after:
            i = act[i_act](a_i) + w_ci * c_seen
            f = _sigmoid(a_f) + w_cf * c_seen
        else:
            i = act[i_act](a_i + w_ci * c_seen)
            f = _sigmoid(a_f + w_cf * c_seen)
    else:
        i, f = act[i_act](a_i), _sigmoid(a_f)
    g = act[g_act](a_g)
    c = (i * c_prev + f * g) if forget_on_candidate else (f * c_prev + i * g)
    if peep is not None:
        c_o = c_prev if peep_o_prev else c
        o = (_sigmoid(a_o) + w_co * c_o) if peep_after else _sigmoid(a_o + w_co * c_o)
    else:
        o = _sigmoid(a_o)
    c_read = c_prev if h_from_prev else c
    if no_tanh_c:
        h = o * c_read
    elif tanh_after_o:
        h = np.tanh(o * c_read)
    else:
        h = o * np.tanh(c_read)
    return (c, h) if swap_return else (h, c)


def lstm_step(x, h_prev, c_prev, weight_ih, weight_hh, bias_ih, bias_hh):
    """Reference: one step of ``torch.nn.LSTMCell``; returns ``(h, c)``, each (N, H)."""
    return _lstm(x, h_prev, c_prev, weight_ih, weight_hh, bias_ih, bias_hh)


def _step_mistake(**switches):
    def wrong(x, h_prev, c_prev, weight_ih, weight_hh, bias_ih, bias_hh):
        return _lstm(x, h_prev, c_prev, weight_ih, weight_hh, bias_ih, bias_hh, **switches)
    return wrong


def _lstm_cases(rng):
    return [_step_args(rng, k) for k in range(4)]


STEP_MISTAKES = {
    "input and forget gate swapped: either the rows were read as f, i, g, o (the order the source "
    "posts introduce them; torch stacks i, f, g, o) or the forget gate was applied to the "
    "candidate (c = i*c_prev + f*g; f must scale c_prev, i the candidate). Both give the same "
    "numbers": _step_mistake(order="figo"),
    "gates in the wrong order: torch stacks the rows as i, f, g, o, you read them as i, f, o, g":
        _step_mistake(order="ifog"),
    "gates in the wrong order: torch stacks the rows as i, f, g, o, you read them as i, g, f, o "
    "(TensorFlow 1's i, j, f, o)": _step_mistake(order="igfo"),
    "sigmoid and tanh swapped: the candidate g must go through tanh (it is content, in (-1, 1)), "
    "not a sigmoid": _step_mistake(g_act="sigmoid"),
    "sigmoid and tanh swapped between the input gate and the candidate":
        _step_mistake(g_act="sigmoid", i_act="tanh"),
    "h computed from the pre-update cell state c_prev: h_t = o * tanh(c_t) uses the new c_t":
        _step_mistake(h_from_prev=True),
    "returned (c, h) instead of (h, c): the source post's loop swaps them the same way":
        _step_mistake(swap_return=True),
    "tanh missing on the cell state: h = o * tanh(c)": _step_mistake(no_tanh_c=True),
    "tanh applied after the output gate: h = o * tanh(c), not tanh(o * c)":
        _step_mistake(tanh_after_o=True),
    "bias_hh left out: torch adds both biases": _step_mistake(bias_hh_used=False),
}

LSTM_STEP = Exercise(
    id="03.lstm_step",
    notebook=NOTEBOOK,
    function="lstm_step",
    points=3.0,
    title="One LSTM step in torch's layout (gates i, f, g, o), returning (h, c)",
    cases=_lstm_cases,
    reference=lstm_step,
    mistakes=STEP_MISTAKES,
    arg_names=("x", "h_prev", "c_prev", "weight_ih", "weight_hh", "bias_ih", "bias_hh"),
    output_names=("h", "c"),
    hint="a = x W_ih^T + b_ih + h_prev W_hh^T + b_hh; split into i, f, g, o; "
         "c = f*c_prev + i*g; h = o*tanh(c).",
)


# ============================================================================ 03.lstm_step_backward
def _lstm_backward(dh, dc, x, h_prev, c_prev, weight_ih, weight_hh, bias_ih, bias_hh, *,
                   through_h=True, tanh_prime_on_c=False, carousel_f=True, order="ifgo",
                   sigmoid_prime_pre=False, dc_next=True, tanh_prime_c=True, tanh_prime_g=True,
                   sigmoid_prime=True, dW_hh_h_t=False, batch_mean=False):
    a = x @ weight_ih.T + bias_ih + h_prev @ weight_hh.T + bias_hh
    a_i, a_f, a_g, a_o = np.split(a, 4, axis=-1)
    i, f, g, o = _sigmoid(a_i), _sigmoid(a_f), np.tanh(a_g), _sigmoid(a_o)
    c = f * c_prev + i * g
    tc = np.tanh(c)
    sig_p = (lambda s, pre: s * (1.0 - s))
    if sigmoid_prime_pre:  # sigma'(a) written with the pre-activation as if it were the output
        sig_p = (lambda s, pre: pre * (1.0 - pre))
    if not sigmoid_prime:  # sigma' forgotten
        sig_p = (lambda s, pre: 1.0)
    da_o = dh * tc * sig_p(o, a_o)
    tanh_prime = (1.0 - c ** 2) if tanh_prime_on_c else (1.0 - tc ** 2)
    if not tanh_prime_c:
        tanh_prime = 1.0
    dct = (dc if dc_next else 0.0) + (dh * o * tanh_prime if through_h else 0.0)
    da_i = dct * g * sig_p(i, a_i)
    da_f = dct * c_prev * sig_p(f, a_f)
    da_g = dct * i * ((1.0 - g ** 2) if tanh_prime_g else 1.0)
    dc_prev = dct * f if carousel_f else dct
    blocks = {"i": da_i, "f": da_f, "g": da_g, "o": da_o}
    da = np.concatenate([blocks[k] for k in order], axis=-1)
    h_in = o * tc if dW_hh_h_t else h_prev
    grads = [da.T @ x, da.T @ h_in, da.sum(axis=0)]
    if batch_mean:
        grads = [gr / x.shape[0] for gr in grads]
    return (da @ weight_ih, da @ weight_hh, dc_prev, *grads)


def lstm_step_backward(dh, dc, x, h_prev, c_prev, weight_ih, weight_hh, bias_ih, bias_hh):
    """Reference: gradients of one LSTM step given dL/dh_t (``dh``) and dL/dc_t from the next
    step (``dc``). Returns ``(dx, dh_prev, dc_prev, dweight_ih, dweight_hh, dbias)``; ``dbias`` is
    the gradient of ``bias_ih`` (equal to that of ``bias_hh``), shape (4H,)."""
    return _lstm_backward(dh, dc, x, h_prev, c_prev, weight_ih, weight_hh, bias_ih, bias_hh)


def _bw_mistake(**switches):
    def wrong(dh, dc, x, h_prev, c_prev, weight_ih, weight_hh, bias_ih, bias_hh):
        return _lstm_backward(dh, dc, x, h_prev, c_prev, weight_ih, weight_hh, bias_ih, bias_hh,
                              **switches)
    return wrong


def _bw_cases(rng):
    cases = []
    for k in range(4):
        args = _step_args(rng, k)
        N, H = args[1].shape
        cases.append((_normal(rng, N, H, scale=1.0), _normal(rng, N, H, scale=1.0)) + args)
    return cases


LSTM_STEP_BACKWARD = Exercise(
    id="03.lstm_step_backward",
    notebook=NOTEBOOK,
    function="lstm_step_backward",
    points=4.0,
    title="Backward of one LSTM step: (dx, dh_prev, dc_prev, dweight_ih, dweight_hh, dbias)",
    cases=_bw_cases,
    reference=lstm_step_backward,
    mistakes={
        "the cell-state gradient misses the path through h_t: dc_t = dc + dh * o * (1 - tanh(c)^2)":
            _bw_mistake(through_h=False),
        "tanh derivative taken as 1 - c^2: with h = o*tanh(c) it is 1 - tanh(c)^2":
            _bw_mistake(tanh_prime_on_c=True),
        "dc_prev not multiplied by the forget gate: along the carousel dc_prev = dc_t * f":
            _bw_mistake(carousel_f=False),
        "gate gradients stacked in the wrong order: da must be [da_i, da_f, da_g, da_o] like the "
        "rows of the weights": _bw_mistake(order="ifog"),
        "sigmoid derivative written with the pre-activation a(1-a) instead of the output s(1-s)":
            _bw_mistake(sigmoid_prime_pre=True),
        "the cell gradient from step t+1 is missing: dc_t = dc + dh * o * (1 - tanh(c_t)^2), "
        "where dc is what reaches c_t from the next step through the carousel":
            _bw_mistake(dc_next=False),
        "tanh' forgotten on the cell state: h = o * tanh(c), so the path through h_t brings "
        "dh * o * (1 - tanh(c_t)^2) to c_t, not dh * o": _bw_mistake(tanh_prime_c=False),
        "tanh' forgotten on the candidate: g = tanh(a_g), so da_g = dc_t * i * (1 - g^2)":
            _bw_mistake(tanh_prime_g=False),
        "sigmoid' forgotten on the gates: i, f, o are sigmoids, so da_i = dc_t * g * i(1-i), "
        "da_f = dc_t * c_prev * f(1-f), da_o = dh * tanh(c_t) * o(1-o)":
            _bw_mistake(sigmoid_prime=False),
        "h_t used where h_{t-1} belongs: the gates read h_prev, so dweight_hh = da^T h_prev":
            _bw_mistake(dW_hh_h_t=True),
        "weight gradients averaged over the batch (divided by N): sum da^T x, da^T h_prev and da "
        "over the batch elements": _bw_mistake(batch_mean=True),
    },
    arg_names=("dh", "dc", "x", "h_prev", "c_prev", "weight_ih", "weight_hh", "bias_ih", "bias_hh"),
    output_names=("dx", "dh_prev", "dc_prev", "dweight_ih", "dweight_hh", "dbias"),
    # closest to the cause first: dc_prev (the cell path alone), dbias (the gate gradients da
    # summed), then what is computed from da
    report_order=("dc_prev", "dbias", "dweight_ih", "dweight_hh", "dh_prev", "dx"),
    hint="recompute the gates; dc_t = dc + dh*o*(1 - tanh(c)^2); da = [da_i, da_f, da_g, da_o]; "
         "dx = da W_ih, dW_ih = da^T x, dbias = da summed over the batch.",
)


# ============================================================================ 03.lstm_step_peephole
def lstm_step_peephole(x, h_prev, c_prev, weight_ih, weight_hh, bias_ih, bias_hh,
                       weight_ci, weight_cf, weight_co):
    """Reference: an LSTM step with peepholes (Gers & Schmidhuber 2000): ``w_ci * c_{t-1}`` and
    ``w_cf * c_{t-1}`` inside the input and forget gates, ``w_co * c_t`` inside the output gate.
    Returns ``(h, c)``."""
    return _lstm(x, h_prev, c_prev, weight_ih, weight_hh, bias_ih, bias_hh,
                 peep=(weight_ci, weight_cf, weight_co))


def _peep_mistake(**switches):
    def wrong(x, h_prev, c_prev, weight_ih, weight_hh, bias_ih, bias_hh, weight_ci, weight_cf,
              weight_co):
        return _lstm(x, h_prev, c_prev, weight_ih, weight_hh, bias_ih, bias_hh,
                     peep=(weight_ci, weight_cf, weight_co), **switches)
    return wrong


def _peep_no_peepholes(x, h_prev, c_prev, weight_ih, weight_hh, bias_ih, bias_hh, weight_ci,
                       weight_cf, weight_co):
    return _lstm(x, h_prev, c_prev, weight_ih, weight_hh, bias_ih, bias_hh)


def _peep_cases(rng):
    cases = []
    for k in range(4):
        args = _step_args(rng, k)
        H = args[1].shape[1]
        cases.append(args + (_normal(rng, H, scale=1.0), _normal(rng, H, scale=1.0),
                             _normal(rng, H, scale=1.0)))
    return cases


LSTM_STEP_PEEPHOLE = Exercise(
    id="03.lstm_step_peephole",
    notebook=NOTEBOOK,
    function="lstm_step_peephole",
    points=3.0,
    title="An LSTM step with peephole connections (i, f see c_{t-1}; o sees c_t)",
    cases=_peep_cases,
    reference=lstm_step_peephole,
    mistakes={
        "the output gate peeks at c_{t-1}: it acts after the update, so it must see the new c_t":
            _peep_mistake(peep_o_prev=True),
        "c_t used where c_{t-1} belongs: the input and forget gates act before the new cell state "
        "exists and must peek at c_{t-1}": _peep_mistake(peep_if_new=True),
        "peephole weights swapped: weight_ci belongs to the input gate, weight_cf to the forget "
        "gate": _peep_mistake(peep_swap=True),
        "peephole term added after the sigmoid: it belongs inside, with the other pre-activation "
        "terms": _peep_mistake(peep_after=True),
        "peepholes ignored: the step is the plain LSTM": _peep_no_peepholes,
        "gates in the wrong order: torch stacks the rows as i, f, g, o":
            _peep_mistake(order="figo"),
    },
    arg_names=("x", "h_prev", "c_prev", "weight_ih", "weight_hh", "bias_ih", "bias_hh",
               "weight_ci", "weight_cf", "weight_co"),
    output_names=("h", "c"),
    hint="i = sigmoid(a_i + w_ci*c_prev), f = sigmoid(a_f + w_cf*c_prev); c = f*c_prev + i*g; "
         "then o = sigmoid(a_o + w_co*c).",
)


# ============================================================================ 03.seed_lstm_to_torch
def _seed_to_torch(W_f, W_i, W_c, W_o, b_f, b_i, b_c, b_o, *, order="ifgo", x_first=False,
                   bias_twice=False, bias_order=None):
    H = W_f.shape[0]
    blocks = {"i": (W_i, b_i), "f": (W_f, b_f), "g": (W_c, b_c), "o": (W_o, b_o)}
    W = np.concatenate([blocks[k][0] for k in order], axis=0)  # (4H, H + I) acting on [h, x]
    b = np.concatenate([blocks[k][1] for k in bias_order or order])
    I = W.shape[1] - H
    if x_first:  # columns read as [x, h]
        weight_ih, weight_hh = W[:, :I], W[:, I:]
    else:
        weight_hh, weight_ih = W[:, :H], W[:, H:]
    bias_hh = b.copy() if bias_twice else np.zeros_like(b)
    return weight_ih.copy(), weight_hh.copy(), b, bias_hh


def seed_lstm_to_torch(W_f, W_i, W_c, W_o, b_f, b_i, b_c, b_o):
    """Reference: the source post's four layers ``sigma(W_k [h, x] + b_k)`` (``W_k`` (H, H + I)) as the
    parameters ``(weight_ih, weight_hh, bias_ih, bias_hh)`` of a ``torch.nn.LSTMCell``: rows
    stacked i, f, g, o, the first H columns of each block multiply h. The bias may be split
    between ``bias_ih`` and ``bias_hh`` in any way; the reference puts it all in ``bias_ih``."""
    return _seed_to_torch(W_f, W_i, W_c, W_o, b_f, b_i, b_c, b_o)


def _seed_mistake(**switches):
    def wrong(W_f, W_i, W_c, W_o, b_f, b_i, b_c, b_o):
        return _seed_to_torch(W_f, W_i, W_c, W_o, b_f, b_i, b_c, b_o, **switches)
    return wrong


def _seed_cases(rng):
    cases = []
    for k in range(4):
        _, I, H = _case_sizes(rng, k)
        Ws = tuple(_normal(rng, H, H + I) for _ in range(4))
        bs = tuple(_normal(rng, H) for _ in range(4))
        cases.append(Ws + bs)
    return cases


_SEED_NAMES = ("weight_ih", "weight_hh", "bias_ih", "bias_hh")


def _judge_seed(case, got, expected):
    """Weights must match exactly; the biases only through their sum (torch adds them)."""
    if not isinstance(got, (tuple, list)) or len(got) != 4:
        problem = compare_outputs(got, expected, output_names=_SEED_NAMES)
        return False, problem or "expected a tuple (weight_ih, weight_hh, bias_ih, bias_hh)"
    problem = compare_outputs(tuple(got[:2]), tuple(expected[:2]), output_names=_SEED_NAMES[:2])
    if problem:
        return False, problem
    for k in (2, 3):
        problem = compare(got[k], expected[k], name=_SEED_NAMES[k], atol=np.inf)  # shape, dtype
        if problem:
            return False, problem
    problem = compare(np.asarray(got[2]) + np.asarray(got[3]), expected[2] + expected[3],
                      name="bias_ih + bias_hh")
    return (problem is None), problem or ""


SEED_LSTM_TO_TORCH = Exercise(
    id="03.seed_lstm_to_torch",
    notebook=NOTEBOOK,
    function="seed_lstm_to_torch",
    points=2.0,
    title="The source post's four [h, x] layers as torch.nn.LSTMCell's weight_ih, weight_hh, biases",
    cases=_seed_cases,
    reference=seed_lstm_to_torch,
    mistakes={
        "gates stacked in the source post's order f, i, g, o: torch wants i, f, g, o":
            _seed_mistake(order="figo"),
        "gates stacked in the order f, i, o, g (the order of the source post's code lines): torch wants "
        "i, f, g, o": _seed_mistake(order="fiog"),
        "columns split as [x, h]: the source post concatenates [h_{t-1}, x_t], so the first H columns "
        "multiply h": _seed_mistake(x_first=True),
        "the bias is counted twice: torch adds bias_ih and bias_hh, so their sum must equal b":
            _seed_mistake(bias_twice=True),
        "biases stacked in the source post's order f, i, g, o while the weight rows are in torch's "
        "order: each gate's bias must sit at the same rows as its weights":
            _seed_mistake(bias_order="figo"),
    },
    arg_names=("W_f", "W_i", "W_c", "W_o", "b_f", "b_i", "b_c", "b_o"),
    output_names=_SEED_NAMES,
    hint="check the order in which torch stacks the gates' rows (the notebook's introduction "
         "gives it), which columns of each W multiply h and which x, and what torch does with "
         "its two biases.",
    judge=_judge_seed,
)

EXERCISES = [LSTM_STEP, LSTM_STEP_BACKWARD, LSTM_STEP_PEEPHOLE, SEED_LSTM_TO_TORCH]
