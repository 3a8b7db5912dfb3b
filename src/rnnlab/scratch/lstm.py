r"""The LSTM cell (Hochreiter & Schmidhuber 1997, with the forget gate of Gers et al. 2000 and
optional peepholes of Gers & Schmidhuber 2000): one step, its backward, and the fast loops.

Sizes: N batch, I input_size, H hidden_size. torch's names and shapes, gates stacked in the order
i, f, g, o (``W_ii|W_if|W_ig|W_io``): ``weight_ih`` (4H, I), ``weight_hh`` (4H, H),
``bias_ih`` (4H,), ``bias_hh`` (4H,). Peephole weights are diagonal, i.e. vectors
``weight_ci``, ``weight_cf``, ``weight_co`` (H,) (torch has no peepholes).

.. math::

    [a_i, a_f, a_g, a_o] &= x_t W_{ih}^\top + b_{ih} + h_{t-1} W_{hh}^\top + b_{hh} \\
    i &= \sigma(a_i + w_{ci} \odot c_{t-1}), \quad f = \sigma(a_f + w_{cf} \odot c_{t-1}), \quad
    g = \tanh(a_g) \\
    c_t &= f \odot c_{t-1} + i \odot g \\
    o &= \sigma(a_o + w_{co} \odot c_t), \quad h_t = o \odot \tanh(c_t)

(without peepholes the w terms are absent). Backward, with bars for dL/d(.), and the cell
gradient :math:`\bar c` that arrives from step t+1:

.. math::

    \bar a_o &= \bar h \odot \tanh(c_t) \odot o(1-o) \\
    \bar c_t &= \bar c + \bar h \odot o \odot (1 - \tanh^2 c_t) + \bar a_o \odot w_{co} \\
    \bar a_i &= \bar c_t \odot g \odot i(1-i), \quad \bar a_f = \bar c_t \odot c_{t-1} \odot f(1-f),
    \quad \bar a_g = \bar c_t \odot i \odot (1-g^2) \\
    \bar c_{t-1} &= \bar c_t \odot f + \bar a_i \odot w_{ci} + \bar a_f \odot w_{cf}, \quad
    \bar h_{t-1} = \bar a W_{hh}, \quad \bar x_t = \bar a W_{ih}

The direct path :math:`\bar c_{t-1} = \bar c_t \odot f` is the constant error carousel.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from rnnlab.scratch import _activations as act
from rnnlab.scratch._validate import check_shape, float_array, step_args


class LSTMCache(NamedTuple):
    """What :func:`lstm_step_backward` needs from the forward step (gate activations, not
    pre-activations: every derivative is written with the activation)."""

    x: np.ndarray  # (N, I)
    h_prev: np.ndarray  # (N, H)
    c_prev: np.ndarray  # (N, H)
    i: np.ndarray  # (N, H) input gate
    f: np.ndarray  # (N, H) forget gate
    g: np.ndarray  # (N, H) candidate, tanh
    o: np.ndarray  # (N, H) output gate
    c: np.ndarray  # (N, H) new cell state
    tanh_c: np.ndarray  # (N, H)
    weight_ih: np.ndarray  # (4H, I)
    weight_hh: np.ndarray  # (4H, H)
    weight_ci: np.ndarray | None  # (H,) peepholes, or None
    weight_cf: np.ndarray | None
    weight_co: np.ndarray | None
    has_bias_ih: bool
    has_bias_hh: bool


class LSTMGrads(NamedTuple):
    """Gradients of one LSTM step; entries are None for arguments the step did not have."""

    dx: np.ndarray
    dh_prev: np.ndarray
    dc_prev: np.ndarray
    dweight_ih: np.ndarray
    dweight_hh: np.ndarray
    dbias_ih: np.ndarray | None
    dbias_hh: np.ndarray | None
    dweight_ci: np.ndarray | None
    dweight_cf: np.ndarray | None
    dweight_co: np.ndarray | None


def lstm_step(
    x,
    h_prev,
    c_prev,
    weight_ih,
    weight_hh,
    bias_ih=None,
    bias_hh=None,
    weight_ci=None,
    weight_cf=None,
    weight_co=None,
):
    r"""One LSTM step, like ``torch.nn.LSTMCell`` (plus optional peepholes).

    Parameters
    ----------
    x: (N, I) (or unbatched (I,)); h_prev, c_prev: (N, H) (or (H,)).
    weight_ih: (4H, I), weight_hh: (4H, H), bias_ih, bias_hh: (4H,) or None; rows in gate order
        i, f, g, o.
    weight_ci, weight_cf, weight_co: (H,) peephole weights or None. The input and forget gates
        look at c_{t-1}, the output gate at the new c_t.

    Returns
    -------
    h, c: (N, H) the new hidden and cell state; cache: :class:`LSTMCache`.
    """
    x, h_prev, weight_ih, weight_hh, bias_ih, bias_hh = step_args(
        "LSTM", 4, x, h_prev, weight_ih, weight_hh, bias_ih, bias_hh
    )
    H = weight_hh.shape[1]
    c_prev = float_array(c_prev, "c_prev", weight_hh.dtype)
    check_shape(c_prev, h_prev.shape, "c_prev", "(the shape of h_prev)")
    peep = []
    for name, w in (("weight_ci", weight_ci), ("weight_cf", weight_cf), ("weight_co", weight_co)):
        if w is not None:
            w = float_array(w, name, weight_hh.dtype)
            check_shape(w, (H,), name, "(hidden_size,): peephole weights are diagonal")
        peep.append(w)
    weight_ci, weight_cf, weight_co = peep

    a = x @ weight_ih.T + h_prev @ weight_hh.T  # (N, 4H), all four gates in one matmul
    if bias_ih is not None:
        a = a + bias_ih
    if bias_hh is not None:
        a = a + bias_hh
    a_i, a_f, a_g, a_o = np.split(a, 4, axis=-1)
    if weight_ci is not None:
        a_i = a_i + weight_ci * c_prev
    if weight_cf is not None:
        a_f = a_f + weight_cf * c_prev
    i, f, g = act.sigmoid(a_i), act.sigmoid(a_f), np.tanh(a_g)
    c = f * c_prev + i * g
    if weight_co is not None:
        a_o = a_o + weight_co * c
    o = act.sigmoid(a_o)
    tanh_c = np.tanh(c)
    h = o * tanh_c
    cache = LSTMCache(
        x, h_prev, c_prev, i, f, g, o, c, tanh_c, weight_ih, weight_hh,
        weight_ci, weight_cf, weight_co, bias_ih is not None, bias_hh is not None,
    )
    return h, c, cache


def lstm_step_backward(dh, dc, cache: LSTMCache) -> LSTMGrads:
    r"""Backward of :func:`lstm_step`.

    dh: dL/dh_t (N, H); dc: dL/dc_t (N, H) arriving from the next step (or None for zero).
    Returns :class:`LSTMGrads` ``(dx, dh_prev, dc_prev, dweight_ih, dweight_hh, dbias_ih,
    dbias_hh, dweight_ci, dweight_cf, dweight_co)``.
    """
    x, h_prev, c_prev, i, f, g, o, c, tanh_c, w_ih, w_hh, w_ci, w_cf, w_co, has_bih, has_bhh = cache
    dh = float_array(dh, "dh", c.dtype)
    check_shape(dh, c.shape, "dh", "(the shape of h)")
    if dc is None:
        dc = np.zeros_like(c)
    dc = float_array(dc, "dc", c.dtype)
    check_shape(dc, c.shape, "dc", "(the shape of c)")

    da_o = dh * tanh_c * o * (1.0 - o)  # h = o tanh(c)
    dc = dc + dh * o * (1.0 - tanh_c**2)  # ... and through tanh(c)
    if w_co is not None:
        dc = dc + da_o * w_co  # o looked at c_t
    da_i = dc * g * i * (1.0 - i)  # c = f c_prev + i g
    da_f = dc * c_prev * f * (1.0 - f)
    da_g = dc * i * (1.0 - g**2)
    dc_prev = dc * f  # the constant error carousel
    if w_ci is not None:
        dc_prev = dc_prev + da_i * w_ci
    if w_cf is not None:
        dc_prev = dc_prev + da_f * w_cf

    da = np.concatenate([da_i, da_f, da_g, da_o], axis=-1)  # (N, 4H) in gate order i, f, g, o
    da2 = da.reshape(-1, da.shape[-1])
    dbias = da2.sum(axis=0)

    def peep_grad(w, dgate, cell):
        return None if w is None else (dgate * cell).reshape(-1, cell.shape[-1]).sum(axis=0)

    return LSTMGrads(
        dx=da @ w_ih,
        dh_prev=da @ w_hh,
        dc_prev=dc_prev,
        dweight_ih=da2.T @ x.reshape(-1, x.shape[-1]),
        dweight_hh=da2.T @ h_prev.reshape(-1, h_prev.shape[-1]),
        dbias_ih=dbias if has_bih else None,
        dbias_hh=dbias.copy() if has_bhh else None,
        dweight_ci=peep_grad(w_ci, da_i, c_prev),
        dweight_cf=peep_grad(w_cf, da_f, c_prev),
        dweight_co=peep_grad(w_co, da_o, c),
    )


# ----------------------------------------------------------------------------------------------
# Fast sequence loops used by rnnlab.scratch.LSTM (the pattern is described in rnn.py).
# Gate-major layout: the input projections arrive as xproj (4, T, N, H), block k holding one gate
# of every step, and are overwritten in place with the gate activations. So at step t each gate
# is one contiguous (N, H) array: elementwise operations run on contiguous memory, and the
# recurrent matmul is four (N, H) @ (H, H) products in one np.matmul call (BLAS is faster on
# these than on one (N, H) @ (H, 4H) product on some CPUs, and as fast on the others).
# The blocks are in the order o, i, f, g (ORDER; torch's is i, f, g, o): then the three sigmoid
# gates are adjacent (one sigmoid call), and so are the three gates that the cell gradient feeds
# (one broadcast multiplication). Backward, per step, on blocks that stay in cache:
#     S = [o(1-o), i(1-i), f(1-f), 1-g^2]      (the local derivatives, from the activations)
#     da_o = dh tanh(c) S_o;  dc += dh (o - h tanh(c)) (+ da_o w_co)     [o(1 - tanh^2 c)]
#     [da_i, da_f, da_g] = dc [S_i, S_f, S_g]  (one broadcast pass)  * [g, c_{t-1}, i]
#     dc *= f (+ peepholes);  dh = sum_k da_k W_hh,k
# (Computing S for all T at once looks more "vectorised" but is slower: (4, T, N, H) arrays do
# not fit in cache.)
# ----------------------------------------------------------------------------------------------
ORDER = (3, 0, 1, 2)  # block k of the loops holds torch's gate ORDER[k]: o, i, f, g
TORCH_ORDER = (1, 2, 3, 0)  # block k of torch's order (i, f, g, o) is the loops' block TORCH_ORDER[k]


class SeqCache(NamedTuple):
    gates: np.ndarray  # (4, T, N, H) activations o, i, f, g
    hs: np.ndarray  # (T+1, N, H), hs[0] = h0
    cs: np.ndarray  # (T+1, N, H), cs[0] = c0
    tanh_c: np.ndarray  # (T, N, H)


@act.quiet_overflow  # sigmoid_raw may overflow exp(-x) to inf: 1/inf = 0 is right
def forward_sequence(xproj, h0, c0, weight_hh, peep, pad):
    """xproj (4, T, N, H) = x_t W_ih^T + b_ih + b_hh, gate blocks in ORDER, overwritten with the
    activations. peep: None or (weight_ci, weight_cf, weight_co). Returns :class:`SeqCache`.
    """
    _, T, N, H = xproj.shape
    dtype = xproj.dtype
    hs = np.empty((T + 1, N, H), dtype=dtype)
    cs = np.empty((T + 1, N, H), dtype=dtype)
    tanh_c = np.empty((T, N, H), dtype=dtype)
    hs[0], cs[0] = h0, c0
    w = np.ascontiguousarray(weight_hh.reshape(4, H, H)[list(ORDER)].transpose(0, 2, 1))
    rec = np.empty((4, N, H), dtype=dtype)  # h_{t-1} W_hh^T, block k = h_{t-1} @ w[k]
    tmp = np.empty((N, H), dtype=dtype)
    # per-step views, made by iterating over the arrays (cheaper than indexing in the loop)
    steps = zip(xproj.transpose(1, 0, 2, 3), hs[:-1], hs[1:], cs[:-1], cs[1:], tanh_c)
    for t, (a, h_prev, h, c_prev, c, tc) in enumerate(steps):
        o, i, f, g = a  # a: (4, N, H), x_t W_ih^T + b of each gate
        np.matmul(h_prev, w, out=rec)
        a += rec
        if peep is None:
            act.sigmoid_raw(a[:3], out=a[:3])  # o, i, f in one call
        else:  # the gates look at the cell: i, f at c_{t-1} now, o at c_t below
            i += np.multiply(c_prev, peep[0], out=tmp)
            f += np.multiply(c_prev, peep[1], out=tmp)
            act.sigmoid_raw(a[1:3], out=a[1:3])
        np.tanh(g, out=g)
        np.multiply(f, c_prev, out=c)
        c += np.multiply(i, g, out=tmp)
        if peep is not None:
            o += np.multiply(c, peep[2], out=tmp)
            act.sigmoid_raw(o, out=o)
        np.tanh(c, out=tc)
        np.multiply(o, tc, out=h)
        if pad is not None:  # padded rows keep their state
            np.copyto(h, h_prev, where=pad[t])
            np.copyto(c, c_prev, where=pad[t])
    return SeqCache(xproj, hs, cs, tanh_c)


def backward_sequence(d_hs, dh_last, dc_last, cache: SeqCache, weight_hh, peep, pad):
    """d_hs (T, N, H): dL/dh_t from the output; dh_last, dc_last (N, H): from h_n and c_n.

    Returns (da, dh0, dc0, grads): da (4, T, N, H) = dL/d(pre-activations), blocks in ORDER (also
    the gradient of the input projection and of both biases), the initial states' gradients, and
    a dict with ``weight_hh`` and, with peepholes, ``weight_ci``, ``weight_cf``, ``weight_co``.
    """
    gates, hs, cs, tanh_c = cache
    _, T, N, H = gates.shape
    dtype = gates.dtype
    w = np.ascontiguousarray(weight_hh.reshape(4, H, H)[list(ORDER)])  # da_k @ w[k]: gate k's
    # share of dL/dh_{t-1}
    da = np.empty_like(gates)
    dh, dc = dh_last.copy(), dc_last.copy()
    S = np.empty((4, N, H), dtype=dtype)  # the gates' local derivatives, reused every step
    S_o, S_oif, S_g, S_ifg = S[0], S[:3], S[3], S[1:]
    rec = np.empty((4, N, H), dtype=dtype)
    rec_o, rec_i, rec_f, rec_g = rec
    tmp = np.empty((N, H), dtype=dtype)
    steps = zip(gates.transpose(1, 0, 2, 3), da.transpose(1, 0, 2, 3), hs[1:], cs[:-1], tanh_c, d_hs)
    for t, (a, d, h, c_prev, tc, d_h) in reversed(list(enumerate(steps))):
        o, i, f, g = a
        da_o, da_i, da_f, da_g = d
        if pad is not None:  # padded rows: no gradient into the cell; dh, dc pass straight through
            keep, skip = ~pad[t], pad[t]
            dh_skip, dc_skip = dh * skip, dc * skip
        dh += d_h
        np.multiply(a, a, out=S)  # s^2 ...
        np.subtract(a[:3], S_oif, out=S_oif)  # ... s - s^2 = s(1-s) for o, i, f
        np.subtract(1.0, S_g, out=S_g)  # 1 - g^2
        np.multiply(dh, tc, out=da_o)  # h = o tanh(c)
        da_o *= S_o
        np.multiply(h, tc, out=tmp)
        np.subtract(o, tmp, out=tmp)  # o - o tanh^2(c) = o (1 - tanh^2 c)
        tmp *= dh
        dc += tmp  # dc_t = dc from t+1 + dh o (1 - tanh^2 c)
        if peep is not None:
            dc += np.multiply(da_o, peep[2], out=tmp)  # o looked at c_t
        np.multiply(dc, S_ifg, out=d[1:])  # c = f c_prev + i g
        da_i *= g
        da_f *= c_prev
        da_g *= i
        dc *= f  # the constant error carousel
        if peep is not None:
            dc += np.multiply(da_i, peep[0], out=tmp)
            dc += np.multiply(da_f, peep[1], out=tmp)
        if pad is not None:
            d *= keep
            dc *= keep
            dc += dc_skip
        np.matmul(d, w, out=rec)  # dL/dh_{t-1} = sum over gates of da_k W_hh,k
        np.add(rec_o, rec_i, out=dh)
        dh += rec_f
        dh += rec_g
        if pad is not None:
            dh += dh_skip

    da2 = da.reshape(4, T * N, H)
    dw_hh = np.matmul(da2.transpose(0, 2, 1), hs[:-1].reshape(T * N, H))  # (4, H, H), ORDER
    grads = {"weight_hh": dw_hh[list(TORCH_ORDER)].reshape(4 * H, H)}
    if peep is not None:
        grads["weight_ci"] = np.einsum("tnh,tnh->h", da[1], cs[:-1])
        grads["weight_cf"] = np.einsum("tnh,tnh->h", da[2], cs[:-1])
        grads["weight_co"] = np.einsum("tnh,tnh->h", da[0], cs[1:])
    return da, dh, dc, grads
