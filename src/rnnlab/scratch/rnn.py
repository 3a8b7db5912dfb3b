r"""The plain (Elman) recurrent cell: one step, its backward, and the fast sequence loops.

Sizes: N batch, I input_size, H hidden_size, T time steps. Weights use torch's names and shapes:
``weight_ih`` (H, I), ``weight_hh`` (H, H), ``bias_ih`` (H,), ``bias_hh`` (H,).

.. math::

    a_t = x_t W_{ih}^\top + b_{ih} + h_{t-1} W_{hh}^\top + b_{hh}, \qquad h_t = \phi(a_t)

with :math:`\phi = \tanh` (torch's default) or ReLU. Backward, given
:math:`\bar h_t = \partial L/\partial h_t`:

.. math::

    \bar a_t = \bar h_t \odot \phi'(a_t), \quad \bar x_t = \bar a_t W_{ih}, \quad
    \bar h_{t-1} = \bar a_t W_{hh}, \quad \bar W_{ih} = \bar a_t^\top x_t, \quad
    \bar W_{hh} = \bar a_t^\top h_{t-1}, \quad \bar b = \textstyle\sum_n \bar a_t

where :math:`\tanh'(a) = 1 - h^2` and :math:`\mathrm{relu}'(a) = [h > 0]`, both written with the
output h, so the pre-activation never has to be stored.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from rnnlab.scratch import _activations as act
from rnnlab.scratch._validate import float_array, step_args

NONLINEARITIES = ("tanh", "relu")


class RNNCache(NamedTuple):
    """What :func:`rnn_step_backward` needs from the forward step."""

    x: np.ndarray  # (N, I) or (I,)
    h_prev: np.ndarray  # (N, H) or (H,)
    weight_ih: np.ndarray  # (H, I)
    weight_hh: np.ndarray  # (H, H)
    h: np.ndarray  # (N, H) or (H,), the output phi(a)
    nonlinearity: str
    has_bias_ih: bool
    has_bias_hh: bool


class RNNGrads(NamedTuple):
    """Gradients of one plain RNN step. Bias gradients are None when the step had no bias."""

    dx: np.ndarray
    dh_prev: np.ndarray
    dweight_ih: np.ndarray
    dweight_hh: np.ndarray
    dbias_ih: np.ndarray | None
    dbias_hh: np.ndarray | None


def _check_nonlinearity(nonlinearity: str) -> str:
    if nonlinearity not in NONLINEARITIES:
        raise ValueError(f"nonlinearity must be 'tanh' or 'relu', got {nonlinearity!r}")
    return nonlinearity


def rnn_step(x, h_prev, weight_ih, weight_hh, bias_ih=None, bias_hh=None, nonlinearity="tanh"):
    r"""One step h = phi(x W_ih^T + b_ih + h_prev W_hh^T + b_hh), like ``torch.nn.RNNCell``.

    Parameters
    ----------
    x: (N, I) inputs at this step (or unbatched (I,)).
    h_prev: (N, H) previous hidden state (or (H,)).
    weight_ih: (H, I); weight_hh: (H, H); bias_ih, bias_hh: (H,) or None.
    nonlinearity: ``'tanh'`` or ``'relu'``.

    Returns
    -------
    h: (N, H) the new hidden state; cache: :class:`RNNCache` for :func:`rnn_step_backward`.
    """
    _check_nonlinearity(nonlinearity)
    x, h_prev, weight_ih, weight_hh, bias_ih, bias_hh = step_args(
        "RNN", 1, x, h_prev, weight_ih, weight_hh, bias_ih, bias_hh
    )
    a = x @ weight_ih.T + h_prev @ weight_hh.T
    if bias_ih is not None:
        a = a + bias_ih
    if bias_hh is not None:
        a = a + bias_hh
    h = np.tanh(a) if nonlinearity == "tanh" else np.maximum(a, 0.0)
    cache = RNNCache(
        x, h_prev, weight_ih, weight_hh, h, nonlinearity, bias_ih is not None, bias_hh is not None
    )
    return h, cache


def rnn_step_backward(dh, cache: RNNCache) -> RNNGrads:
    r"""Backward of :func:`rnn_step`: from dL/dh (same shape as h) to every input's gradient.

    Returns :class:`RNNGrads` ``(dx, dh_prev, dweight_ih, dweight_hh, dbias_ih, dbias_hh)`` with
    the shapes of the corresponding forward arguments (bias gradients None without bias).
    """
    x, h_prev, weight_ih, weight_hh, h, nonlinearity, has_bih, has_bhh = cache
    dh = float_array(dh, "dh", h.dtype)
    if dh.shape != h.shape:
        raise ValueError(f"dh must have the shape of h {h.shape}, got {dh.shape}")
    if nonlinearity == "tanh":
        da = dh * (1.0 - h * h)  # tanh'(a) = 1 - tanh(a)^2, written with the output h
    else:
        da = dh * (h > 0)  # relu'(a) = [a > 0] = [h > 0]
    da2 = da.reshape(-1, da.shape[-1])  # (N, H) also for an unbatched step
    dbias = da2.sum(axis=0)
    return RNNGrads(
        dx=da @ weight_ih,
        dh_prev=da @ weight_hh,
        dweight_ih=da2.T @ x.reshape(-1, x.shape[-1]),
        dweight_hh=da2.T @ h_prev.reshape(-1, h_prev.shape[-1]),
        dbias_ih=dbias if has_bih else None,
        dbias_hh=dbias.copy() if has_bhh else None,
    )


# ----------------------------------------------------------------------------------------------
# Fast sequence loops used by rnnlab.scratch.RNN: the same maths as rnn_step / rnn_step_backward,
# arranged for speed (every cell file follows this pattern):
#   * the input projection x_t W_ih^T + b of every step arrives precomputed (one matmul for the
#     whole sequence), so a step does one matmul, h_{t-1} W_hh^T; cells with several gates get it
#     gate-major, (G, T, N, H), so that each gate of a step is a contiguous (N, H) block (see
#     lstm.py); the plain cell has one gate and gets (T, N, H);
#   * states live in one preallocated (T+1, N, H) buffer, hs[0] = h0, written with out= arguments;
#   * backward: the local derivative phi'(a_t), which does not depend on the incoming gradient, is
#     computed for all steps in one vectorised pass before the loop (the GRU does the same; the
#     LSTM, with more factors, does it per step where the data is still in cache, see lstm.py);
#     the loop itself is then "add the output's gradient, scale, one matmul";
#   * parameter gradients are summed over time by one matmul over all steps after the loop,
#     dW_hh = sum_t da_t^T h_{t-1} = da^T H_prev with da of shape (T*N, H).
# "pad" is None or a (T, N, 1) bool array, True where step t of sequence n is padding: there the
# state is carried over unchanged and no gradient flows into the cell.
# ----------------------------------------------------------------------------------------------


def forward_sequence(xproj, h0, weight_hh, pad, nonlinearity):
    """xproj (T, N, H) = x_t W_ih^T + b_ih + b_hh; h0 (N, H). Returns hs (T+1, N, H), hs[0] = h0."""
    T, N, H = xproj.shape
    hs = np.empty((T + 1, N, H), dtype=xproj.dtype)
    hs[0] = h0
    w_hh_T = weight_hh.T  # a transposed view: BLAS reads it without a copy
    phi = act.tanh if nonlinearity == "tanh" else act.relu
    for t in range(T):
        h = hs[t + 1]
        np.matmul(hs[t], w_hh_T, out=h)  # h_{t-1} W_hh^T, written straight into the state buffer
        h += xproj[t]
        phi(h, out=h)
        if pad is not None:
            np.copyto(h, hs[t], where=pad[t])  # padded rows keep their state
    return hs


def backward_sequence(d_hs, dh_last, hs, weight_hh, pad, nonlinearity):
    """d_hs (T, N, H): dL/dh_t from the layer's output; dh_last (N, H): dL/dh_T from h_n.

    Returns (da, dh0, dweight_hh): da (T, N, H) = dL/da_t, the gradient of the pre-activation
    (hence of the input projection and of both biases), dh0 (N, H) and dL/dweight_hh (H, H).
    """
    T, N, H = d_hs.shape
    # local[t] = phi'(a_t), for all steps at once; zero at padded steps (no gradient into the cell)
    h = hs[1:]
    if nonlinearity == "tanh":
        local = np.multiply(h, h)
        np.subtract(1.0, local, out=local)  # tanh' = 1 - h^2
    else:
        local = (h > 0).astype(hs.dtype)  # relu' = [h > 0]
    if pad is not None:
        local *= ~pad
    da = np.empty((T, N, H), dtype=hs.dtype)
    dh = dh_last.copy()
    for t in range(T - 1, -1, -1):
        dh += d_hs[t]
        np.multiply(dh, local[t], out=da[t])
        if pad is None:
            np.matmul(da[t], weight_hh, out=dh)  # dL/dh_{t-1} = da_t W_hh
        else:
            dh *= pad[t]  # padded rows: the gradient passes straight through to h_{t-1}
            dh += da[t] @ weight_hh
    H_prev = hs[:-1].reshape(T * N, H)
    return da, dh, da.reshape(T * N, H).T @ H_prev
