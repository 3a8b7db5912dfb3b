r"""The GRU cell (Cho et al. 2014) in both conventions for the reset gate: one step, its
backward, and the fast sequence loops.

Sizes: N batch, I input_size, H hidden_size. torch's names and shapes, gates stacked in the order
r, z, n (``W_ir|W_iz|W_in``): ``weight_ih`` (3H, I), ``weight_hh`` (3H, H), biases (3H,).

.. math::

    r &= \sigma(x W_{ir}^\top + b_{ir} + h_{t-1} W_{hr}^\top + b_{hr}), \qquad
    z = \sigma(x W_{iz}^\top + b_{iz} + h_{t-1} W_{hz}^\top + b_{hz}) \\
    n &= \tanh\big(x W_{in}^\top + b_{in} + r \odot (h_{t-1} W_{hn}^\top + b_{hn})\big)
       \quad \text{(reset\_after=True, torch.nn.GRU)} \\
    n &= \tanh\big(x W_{in}^\top + b_{in} + (r \odot h_{t-1}) W_{hn}^\top + b_{hn}\big)
       \quad \text{(reset\_after=False, Cho et al. 2014)} \\
    h_t &= (1 - z) \odot n + z \odot h_{t-1}

Backward (bars are dL/d(.), a_* the pre-activations):

.. math::

    \bar n = \bar h (1-z), \quad \bar a_z = \bar h (h_{t-1} - n) z(1-z), \quad
    \bar a_n = \bar n (1 - n^2) \\
    \text{after:}\ \ \bar a_r = \bar a_n (h_{t-1} W_{hn}^\top + b_{hn}) r(1-r), \quad
    \overline{(h W_{hn}^\top)} = \bar a_n r \\
    \text{before:}\ \ \overline{(r h)} = \bar a_n W_{hn}, \quad
    \bar a_r = \overline{(r h)} \odot h_{t-1} r(1-r), \quad
    \bar h_{t-1} \mathrel{+}= \overline{(r h)} \odot r

plus :math:`\bar h_{t-1} \mathrel{+}= \bar h z` and the matmul terms of the gates.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from rnnlab.scratch import _activations as act
from rnnlab.scratch._validate import step_args, float_array


class GRUCache(NamedTuple):
    """What :func:`gru_step_backward` needs from the forward step."""

    x: np.ndarray  # (N, I)
    h_prev: np.ndarray  # (N, H)
    r: np.ndarray  # (N, H) reset gate
    z: np.ndarray  # (N, H) update gate
    n: np.ndarray  # (N, H) candidate
    hn: np.ndarray  # (N, H) after: h_prev W_hn^T + b_hn;  before: r * h_prev
    weight_ih: np.ndarray  # (3H, I)
    weight_hh: np.ndarray  # (3H, H)
    reset_after: bool
    has_bias_ih: bool
    has_bias_hh: bool


class GRUGrads(NamedTuple):
    """Gradients of one GRU step. Bias gradients are None when the step had no bias."""

    dx: np.ndarray
    dh_prev: np.ndarray
    dweight_ih: np.ndarray
    dweight_hh: np.ndarray
    dbias_ih: np.ndarray | None
    dbias_hh: np.ndarray | None


def gru_step(x, h_prev, weight_ih, weight_hh, bias_ih=None, bias_hh=None, reset_after=True):
    r"""One GRU step. ``reset_after=True`` is ``torch.nn.GRUCell``; ``False`` is Cho et al. (2014).

    Parameters
    ----------
    x: (N, I) (or unbatched (I,)); h_prev: (N, H) (or (H,)).
    weight_ih: (3H, I), weight_hh: (3H, H), bias_ih, bias_hh: (3H,) or None; gate order r, z, n.
    reset_after: where the reset gate acts: after the recurrent matmul (torch) or before it.

    Returns
    -------
    h: (N, H) = (1 - z) n + z h_prev;  cache: :class:`GRUCache`.
    """
    x, h_prev, weight_ih, weight_hh, bias_ih, bias_hh = step_args(
        "GRU", 3, x, h_prev, weight_ih, weight_hh, bias_ih, bias_hh
    )
    H = weight_hh.shape[1]
    gi = x @ weight_ih.T  # (N, 3H) input part of all three gates
    if bias_ih is not None:
        gi = gi + bias_ih
    gi_r, gi_z, gi_n = np.split(gi, 3, axis=-1)
    b_hh = np.zeros(3 * H, dtype=weight_hh.dtype) if bias_hh is None else bias_hh
    w_hrz, w_hn = weight_hh[: 2 * H], weight_hh[2 * H :]
    gh_rz = h_prev @ w_hrz.T + b_hh[: 2 * H]
    r = act.sigmoid(gi_r + gh_rz[..., :H])
    z = act.sigmoid(gi_z + gh_rz[..., H:])
    if reset_after:
        hn = h_prev @ w_hn.T + b_hh[2 * H :]  # reset applied after the matmul
        n = np.tanh(gi_n + r * hn)
    else:
        hn = r * h_prev  # reset applied before the matmul
        n = np.tanh(gi_n + hn @ w_hn.T + b_hh[2 * H :])
    h = (1.0 - z) * n + z * h_prev
    cache = GRUCache(
        x, h_prev, r, z, n, hn, weight_ih, weight_hh, bool(reset_after),
        bias_ih is not None, bias_hh is not None,
    )
    return h, cache


def gru_step_backward(dh, cache: GRUCache) -> GRUGrads:
    """Backward of :func:`gru_step`. Returns :class:`GRUGrads`
    ``(dx, dh_prev, dweight_ih, dweight_hh, dbias_ih, dbias_hh)``."""
    x, h_prev, r, z, n, hn, w_ih, w_hh, reset_after, has_bih, has_bhh = cache
    H = w_hh.shape[1]
    dh = float_array(dh, "dh", n.dtype)
    if dh.shape != n.shape:
        raise ValueError(f"dh must have the shape of h {n.shape}, got {dh.shape}")
    dn = dh * (1.0 - z)  # h = (1 - z) n + z h_prev
    dz = dh * (h_prev - n)
    dh_prev = dh * z
    da_n = dn * (1.0 - n**2)
    w_hrz, w_hn = w_hh[: 2 * H], w_hh[2 * H :]
    if reset_after:  # n = tanh(gi_n + r * hn),  hn = h_prev W_hn^T + b_hn
        dr = da_n * hn
        dhn = da_n * r  # gradient of hn = h_prev W_hn^T + b_hn
        dh_prev = dh_prev + dhn @ w_hn
    else:  # n = tanh(gi_n + hn W_hn^T + b_hn),  hn = r * h_prev
        dhn = da_n  # gradient of the matmul's output hn W_hn^T
        d_rh = da_n @ w_hn
        dr = d_rh * h_prev
        dh_prev = dh_prev + d_rh * r
    da_r = dr * r * (1.0 - r)
    da_z = dz * z * (1.0 - z)
    da_rz = np.concatenate([da_r, da_z], axis=-1)
    dh_prev = dh_prev + da_rz @ w_hrz

    dgi = np.concatenate([da_r, da_z, da_n], axis=-1)  # gradient of x W_ih^T + b_ih
    dgh = np.concatenate([da_r, da_z, dhn], axis=-1)  # gradient of the hh-side matmul outputs
    flat = lambda a: a.reshape(-1, a.shape[-1])  # noqa: E731  (N, .) also for unbatched
    h_in_n = h_prev if reset_after else hn  # what W_hn multiplies
    dweight_hh = np.concatenate(
        [flat(da_rz).T @ flat(h_prev), flat(dhn).T @ flat(h_in_n)], axis=0
    )
    return GRUGrads(
        dx=dgi @ w_ih,
        dh_prev=dh_prev,
        dweight_ih=flat(dgi).T @ flat(x),
        dweight_hh=dweight_hh,
        dbias_ih=flat(dgi).sum(axis=0) if has_bih else None,
        dbias_hh=flat(dgh).sum(axis=0) if has_bhh else None,
    )


# ----------------------------------------------------------------------------------------------
# Fast sequence loops used by rnnlab.scratch.GRU (the pattern is described in rnn.py).
# xproj (3, T, N, H), gate-major like the LSTM's (lstm.py), holds x_t W_ih^T + b_ih plus the
# hh-biases that sit outside the reset gate (b_hr, b_hz for reset_after=True; all of b_hh for
# reset_after=False) and is overwritten with the activations [r, z, n]. Backward: the
# gradient-independent factors
#     L_n = (1-z)(1-n^2),  L_z = (h_{t-1} - n) z(1-z),
#     after:  L_r = L_n hn r(1-r)    before: L_r = h_{t-1} r(1-r)
# are computed for all steps at once.
# ----------------------------------------------------------------------------------------------


class SeqCache(NamedTuple):
    gates: np.ndarray  # (3, T, N, H) activations r, z, n
    hs: np.ndarray  # (T+1, N, H)
    hn: np.ndarray  # (T, N, H) after: h_{t-1} W_hn^T + b_hn;  before: r * h_{t-1}


@act.quiet_overflow  # sigmoid_raw may overflow exp(-x) to inf: 1/inf = 0 is right
def forward_sequence(xproj, h0, weight_hh, b_hn, pad, reset_after):
    """b_hn: (H,) or None (reset_after=True only: the bias inside r * (...)). Returns SeqCache."""
    _, T, N, H = xproj.shape
    dtype = xproj.dtype
    hs = np.empty((T + 1, N, H), dtype=dtype)
    hs[0] = h0
    hn = np.empty((T, N, H), dtype=dtype)
    tmp = np.empty((N, H), dtype=dtype)
    w = weight_hh.reshape(3, H, H).transpose(0, 2, 1)  # h @ w[k] = h W_hh,k^T
    if reset_after:
        w = np.ascontiguousarray(w)
        rec = np.empty((3, N, H), dtype=dtype)  # h_{t-1} W_hh^T for all three gates in one call
    else:
        w_rz, w_n = np.ascontiguousarray(w[:2]), np.ascontiguousarray(w[2])  # W_hn waits for r
        rec = np.empty((2, N, H), dtype=dtype)
    for t in range(T):
        a = xproj[:, t]  # (3, N, H)
        rz, (r, z, n) = a[:2], a
        h_prev, h = hs[t], hs[t + 1]
        if reset_after:
            np.matmul(h_prev, w, out=rec)
            rz += rec[:2]
            act.sigmoid_raw(rz, out=rz)
            if b_hn is None:
                hn[t] = rec[2]
            else:
                np.add(rec[2], b_hn, out=hn[t])
            n += np.multiply(r, hn[t], out=tmp)
        else:
            np.matmul(h_prev, w_rz, out=rec)
            rz += rec
            act.sigmoid_raw(rz, out=rz)
            np.multiply(r, h_prev, out=hn[t])
            n += np.matmul(hn[t], w_n, out=tmp)
        act.tanh(n, out=n)
        np.subtract(h_prev, n, out=h)  # h = n + z (h_prev - n)
        h *= z
        h += n
        if pad is not None:
            np.copyto(h, h_prev, where=pad[t])
    return SeqCache(xproj, hs, hn)


def backward_sequence(d_hs, dh_last, cache: SeqCache, weight_hh, pad, reset_after):
    """Returns (dgi, dh0, grads): dgi (3, T, N, H) gradient of the input projection
    x W_ih^T + b_ih, gate-major; dh0 (N, H); a dict with ``weight_hh`` (3H, H) and ``bias_hh``
    (3H,)."""
    gates, hs, hn = cache
    _, T, N, H = gates.shape
    dtype = gates.dtype
    r, z, n = gates  # each (T, N, H)
    h_prev = hs[:-1]
    w = weight_hh.reshape(3, H, H)  # d_k @ w[k]: gate k's share of dL/dh_{t-1}

    local = np.empty((3, T, N, H), dtype=dtype)  # [L_r, L_z, L_n]
    L_r, L_z, L_n = local
    np.subtract(1.0, z, out=L_n); np.multiply(n, n, out=L_z)  # noqa: E702
    np.subtract(1.0, L_z, out=L_z); L_n *= L_z  # noqa: E702  (1-z)(1-n^2)
    np.subtract(1.0, z, out=L_z); L_z *= z  # noqa: E702
    L_z *= np.subtract(h_prev, n)  # (h_prev - n) z(1-z)
    np.subtract(1.0, r, out=L_r); L_r *= r  # noqa: E702  r(1-r)
    L_r *= L_n * hn if reset_after else h_prev
    if pad is not None:  # padded steps: no gradient into the cell, dh passes through (z -> 1)
        local *= ~pad
        z = np.where(pad, 1.0, z).astype(dtype)

    dgi = np.empty((3, T, N, H), dtype=dtype)
    dh = dh_last.copy()
    if reset_after:
        # every pre-activation gradient is dh times a factor: [da_r, da_z, d(hn)] = dh [L_r, L_z, L_n r]
        L_n = L_n.copy()  # da_n = dh L_n, while d(hn) = dh L_n r
        local[2] *= r
        dgh = np.empty((3, T, N, H), dtype=dtype)
        rec = np.empty((3, N, H), dtype=dtype)
        for t in range(T - 1, -1, -1):
            dh += d_hs[t]
            np.multiply(local[:, t], dh, out=dgh[:, t])
            np.multiply(L_n[t], dh, out=dgi[2, t])  # da_n
            np.matmul(dgh[:, t], w, out=rec)
            dh *= z[t]
            dh += rec[0]
            dh += rec[1]
            dh += rec[2]
        dgi[:2] = dgh[:2]  # r and z: the same pre-activation gradient on both sides
        flat = dgh.reshape(3, T * N, H)
        dweight_hh = np.matmul(flat.transpose(0, 2, 1), h_prev.reshape(T * N, H)).reshape(3 * H, H)
        dbias_hh = flat.sum(axis=1).reshape(3 * H)
    else:
        w_rz, w_n = w[:2], w[2]
        d_rh = np.empty((N, H), dtype=dtype)
        rec = np.empty((2, N, H), dtype=dtype)
        for t in range(T - 1, -1, -1):
            dh += d_hs[t]
            np.multiply(local[1:, t], dh, out=dgi[1:, t])  # da_z, da_n
            np.matmul(dgi[2, t], w_n, out=d_rh)  # d(r * h_prev)
            np.multiply(L_r[t], d_rh, out=dgi[0, t])  # da_r
            dh *= z[t]
            dh += np.multiply(d_rh, r[t], out=d_rh)
            np.matmul(dgi[:2, t], w_rz, out=rec)
            dh += rec[0]
            dh += rec[1]
        flat = dgi.reshape(3, T * N, H)
        dweight_hh = np.concatenate([
            np.matmul(flat[:2].transpose(0, 2, 1), h_prev.reshape(T * N, H)).reshape(2 * H, H),
            flat[2].T @ hn.reshape(T * N, H),
        ])
        dbias_hh = flat.sum(axis=1).reshape(3 * H)
    return dgi, dh, {"weight_hh": dweight_hh, "bias_hh": dbias_hh}
