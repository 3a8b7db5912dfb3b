r"""Graded exercises of chapter 4 (GRU): ``solutions/04_gru.ipynb``.

=========================  ===================================================================
id                         what the student writes
=========================  ===================================================================
``04.gru_step``            one GRU step in torch's layout (gates r, z, n), with the reset gate
                           after (``reset_after=True``, torch) or before (Cho et al. 2014) the
                           recurrent matmul; ``h = (1 - z) * n + z * h_prev``
``04.seed_gru_step``       the source post's GRU: gates on ``[h, x]`` without biases,
                           ``h = (1 - z) * h_prev + z * h~``, reset before the matmul
``04.seed_gru_to_torch``   the source post's weights as torch's ``weight_ih``, ``weight_hh`` (r, z, n) of
                           a bias-free ``reset_after=False`` GRU computing the same function:
                           the update gate's rows negated
=========================  ===================================================================

Shapes: N batch, I input size, H hidden size; ``x`` (N, I), ``h_prev`` (N, H), ``weight_ih``
(3H, I), ``weight_hh`` (3H, H), biases (3H,); the source post's matrices ``W_z``, ``W_r``, ``W`` are
(H, H + I) and act on the column ``[h, x]`` (for a batch: ``[h, x] @ W.T``).
"""
from __future__ import annotations

import numpy as np

from rnnlab.grading.checks._common import _case_sizes, _normal, _sigmoid
from rnnlab.grading.spec import Exercise

NOTEBOOK = "04_gru.ipynb"


# ============================================================================ 04.gru_step
def _gru(x, h_prev, weight_ih, weight_hh, bias_ih, bias_hh, reset_after, *, order="rzn",
         z_swapped=False, reset_side=None, n_act="tanh", b_hn_outside=False, return_n=False,
         no_reset=False):
    H = h_prev.shape[-1]
    after = reset_after if reset_side is None else reset_side
    gi = dict(zip(order, np.split(x @ weight_ih.T + bias_ih, 3, axis=-1)))
    w = dict(zip(order, np.split(weight_hh, 3, axis=0)))
    b = dict(zip(order, np.split(bias_hh, 3)))
    r = _sigmoid(gi["r"] + h_prev @ w["r"].T + b["r"])
    z = _sigmoid(gi["z"] + h_prev @ w["z"].T + b["z"])
    if no_reset:
        r = np.ones_like(r)
    if after:
        inner = r * (h_prev @ w["n"].T) + (b["n"] if b_hn_outside else r * b["n"])
    else:
        inner = (r * h_prev) @ w["n"].T + b["n"]
    act = np.tanh if n_act == "tanh" else _sigmoid
    n = act(gi["n"] + inner)
    if return_n:
        return n
    return z * n + (1 - z) * h_prev if z_swapped else (1 - z) * n + z * h_prev


def gru_step(x, h_prev, weight_ih, weight_hh, bias_ih, bias_hh, reset_after):
    """Reference: ``torch.nn.GRUCell`` (``reset_after=True``) or the Cho et al. form
    (``reset_after=False``: ``n = tanh(x W_in^T + b_in + (r * h_prev) W_hn^T + b_hn)``)."""
    return _gru(x, h_prev, weight_ih, weight_hh, bias_ih, bias_hh, reset_after)


def _gru_mistake(**switches):
    def wrong(x, h_prev, weight_ih, weight_hh, bias_ih, bias_hh, reset_after):
        return _gru(x, h_prev, weight_ih, weight_hh, bias_ih, bias_hh, reset_after, **switches)
    return wrong


def _wrong_side(x, h_prev, weight_ih, weight_hh, bias_ih, bias_hh, reset_after):
    return _gru(x, h_prev, weight_ih, weight_hh, bias_ih, bias_hh, reset_after,
                reset_side=not reset_after)


def _gru_cases(rng):
    cases = []
    for k in range(4):
        N, I, H = _case_sizes(rng, k)
        cases.append((_normal(rng, N, I, scale=1.0), np.tanh(_normal(rng, N, H, scale=1.0)),
                       _normal(rng, 3 * H, I), _normal(rng, 3 * H, H), _normal(rng, 3 * H),
                       _normal(rng, 3 * H), bool(k % 2 == 0)))
    return cases


GRU_STEP = Exercise(
    id="04.gru_step",
    notebook=NOTEBOOK,
    function="gru_step",
    points=3.0,
    title="One GRU step in torch's layout (r, z, n), reset gate after or before the matmul",
    cases=_gru_cases,
    reference=gru_step,
    mistakes={
        "z and 1 - z swapped: torch computes h = (1 - z) * n + z * h_prev (z keeps the old state)":
            _gru_mistake(z_swapped=True),
        "reset gate on the wrong side of the recurrent matmul: reset_after=True means "
        "r * (h_prev W_hn^T + b_hn), reset_after=False means (r * h_prev) W_hn^T + b_hn": _wrong_side,
        "gates in the wrong order: torch stacks the rows as r, z, n, you read them as z, r, n":
            _gru_mistake(order="zrn"),
        "sigmoid and tanh swapped: the candidate n goes through tanh": _gru_mistake(n_act="sigmoid"),
        "b_hn outside the reset gate: with reset_after=True torch computes r * (h_prev W_hn^T + b_hn)":
            _gru_mistake(b_hn_outside=True),
        "returned the candidate n instead of the new state h = (1 - z) * n + z * h_prev":
            _gru_mistake(return_n=True),
        "reset gate not applied at all": _gru_mistake(no_reset=True),
    },
    arg_names=("x", "h_prev", "weight_ih", "weight_hh", "bias_ih", "bias_hh", "reset_after"),
    output_names=("h",),
    hint="r, z = sigmoid(...); n = tanh(x W_in^T + b_in + r * (h W_hn^T + b_hn)) or with "
         "(r * h) W_hn^T + b_hn when reset_after is False; h = (1 - z) * n + z * h_prev.",
)


# ============================================================================ 04.seed_gru_step
def _seed_gru(x, h_prev, W_z, W_r, W, *, torch_z=False, x_first=False, reset_after=False,
              no_reset=False, swap_zr=False):
    H, I = h_prev.shape[-1], x.shape[-1]
    if swap_zr:
        W_z, W_r = W_r, W_z
    if x_first:  # concatenated as [x, h]: the matrices' first I columns then multiply x
        hx = np.concatenate([x, h_prev], axis=-1)
        Wx, Wh = W[:, :I], W[:, I:]
    else:
        hx = np.concatenate([h_prev, x], axis=-1)
        Wh, Wx = W[:, :H], W[:, H:]
    z = _sigmoid(hx @ W_z.T)
    r = np.ones_like(z) if no_reset else _sigmoid(hx @ W_r.T)
    if reset_after:
        h_tilde = np.tanh(r * (h_prev @ Wh.T) + x @ Wx.T)
    else:
        h_tilde = np.tanh((r * h_prev) @ Wh.T + x @ Wx.T)
    return z * h_prev + (1 - z) * h_tilde if torch_z else (1 - z) * h_prev + z * h_tilde


def seed_gru_step(x, h_prev, W_z, W_r, W):
    """Reference: the source post's equations, for a batch of row vectors,
    ``z = sigmoid([h, x] W_z^T)``, ``r = sigmoid([h, x] W_r^T)``,
    ``h~ = tanh([r * h, x] W^T)``, ``h = (1 - z) * h_prev + z * h~``."""
    return _seed_gru(x, h_prev, W_z, W_r, W)


def _seed_gru_mistake(**switches):
    def wrong(x, h_prev, W_z, W_r, W):
        return _seed_gru(x, h_prev, W_z, W_r, W, **switches)
    return wrong


def _seed_gru_cases(rng):
    cases = []
    for k in range(4):
        N, I, H = _case_sizes(rng, k)
        cases.append((_normal(rng, N, I, scale=1.0), np.tanh(_normal(rng, N, H, scale=1.0)),
                      _normal(rng, H, H + I), _normal(rng, H, H + I), _normal(rng, H, H + I)))
    return cases


SEED_GRU_STEP = Exercise(
    id="04.seed_gru_step",
    notebook=NOTEBOOK,
    function="seed_gru_step",
    points=2.0,
    title="The source post's GRU step: h = (1 - z) h_prev + z h~ with gates on [h, x]",
    cases=_seed_gru_cases,
    reference=seed_gru_step,
    mistakes={
        "z and 1 - z swapped: this exercise is the source post's convention h = (1 - z) * h_prev + z * h~ "
        "(torch's is the other one)": _seed_gru_mistake(torch_z=True),
        "reset gate on the wrong side of the matmul: the source post resets h before multiplying, "
        "h~ = tanh(W [r * h, x])": _seed_gru_mistake(reset_after=True),
        "concatenated as [x, h]: the source post's gates act on [h_{t-1}, x_t], h first":
            _seed_gru_mistake(x_first=True),
        "reset gate not applied: h~ = tanh(W [r * h, x])": _seed_gru_mistake(no_reset=True),
        "W_z and W_r swapped: the update gate z is computed with W_z, the reset gate r with W_r "
        "(the arguments come in the order W_z, W_r, W)": _seed_gru_mistake(swap_zr=True),
    },
    arg_names=("x", "h_prev", "W_z", "W_r", "W"),
    output_names=("h",),
    hint="compare each line with the source post's equations: what is concatenated with what, "
         "and in which order; where the reset gate acts; which of h_prev and h~ the update gate "
         "z weights.",
)


# ============================================================================ 04.seed_gru_to_torch
def _seed_to_torch(W_z, W_r, W, *, negate="z", order="rzn", x_first=False):
    H = W_z.shape[0]
    sign = {"r": 1.0, "z": 1.0, "n": 1.0}
    if negate:
        sign[negate] = -1.0
    mats = {"r": W_r * sign["r"], "z": W_z * sign["z"], "n": W * sign["n"]}
    full = np.concatenate([mats[k] for k in order], axis=0)  # (3H, H + I)
    if x_first:
        I = full.shape[1] - H
        return full[:, :I].copy(), full[:, I:].copy()
    return full[:, H:].copy(), full[:, :H].copy()


def seed_gru_to_torch(W_z, W_r, W):
    """Reference: ``(weight_ih, weight_hh)`` of a bias-free GRU in torch's layout (rows r, z, n)
    with the reset gate before the matmul (``rnnlab.modules.GRU(..., bias=False,
    reset_after=False)``) that computes the source post's GRU: the update gate's weights are negated,
    because sigma(-a) = 1 - sigma(a) turns the source post's z into torch's 1 - z."""
    return _seed_to_torch(W_z, W_r, W)


def _conv_mistake(**switches):
    def wrong(W_z, W_r, W):
        return _seed_to_torch(W_z, W_r, W, **switches)
    return wrong


def _conv_cases(rng):
    cases = []
    for k in range(4):
        _, I, H = _case_sizes(rng, k)
        cases.append((_normal(rng, H, H + I), _normal(rng, H, H + I), _normal(rng, H, H + I)))
    return cases


SEED_GRU_TO_TORCH = Exercise(
    id="04.seed_gru_to_torch",
    notebook=NOTEBOOK,
    function="seed_gru_to_torch",
    points=2.0,
    title="Convert the source post's GRU weights to torch's layout (negate the update gate)",
    cases=_conv_cases,
    reference=seed_gru_to_torch,
    mistakes={
        "update gate not negated: the source post's z is torch's 1 - z, and sigma(-a) = 1 - sigma(a)":
            _conv_mistake(negate=None),
        "reset gate negated instead of the update gate": _conv_mistake(negate="r"),
        "candidate weights negated instead of the update gate": _conv_mistake(negate="n"),
        "gates stacked as z, r, n: torch's rows are r, z, n": _conv_mistake(order="zrn"),
        "columns split as [x, h]: the source post's matrices act on [h, x], the first H columns "
        "multiply h": _conv_mistake(x_first=True),
    },
    arg_names=("W_z", "W_r", "W"),
    output_names=("weight_ih", "weight_hh"),
    hint="Rows in torch's order r, z, n; torch's update gate must compute the post's 1 - z, which "
         "sigma(-a) = 1 - sigma(a) gives when there is no bias; the first H columns of each of the "
         "post's matrices multiply h_{t-1}.",
)

EXERCISES = [GRU_STEP, SEED_GRU_STEP, SEED_GRU_TO_TORCH]
