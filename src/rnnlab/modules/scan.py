r"""The linear recurrence :math:`h_t = a_t \odot h_{t-1} + b_t` in torch: a loop, and a parallel scan
whose backward pass is the same scan run backwards in time.

Shapes: ``a``, ``b`` are ``(T, *S)`` (time first), ``h0`` is ``S``; the result ``h`` is ``(T, *S)``
and holds :math:`h_1, \dots, h_T`.

- ``mode="loop"``: T steps of tensor ops that autograd records one by one;
- ``mode="scan"``: :class:`LinearScan`, an autograd Function. Its forward is the scan of Hillis &
  Steele (1986), :math:`\lceil \log_2 T \rceil` whole-tensor steps
  ``(A, B)[t] <- (A[t-d] A[t], A[t] B[t-d] + B[t])`` for :math:`d = 1, 2, 4, \dots`; on a GPU each
  step is one kernel over all T positions. Its backward needs no stored graph: the gradient
  :math:`g_t = \partial L / \partial h_t` obeys :math:`g_t = a_{t+1} g_{t+1} + \bar h_t`, a linear
  recurrence in reversed time, so the backward calls :class:`LinearScan` itself in reverse mode
  (and the backward of a reverse scan is a forward one), then :math:`\bar b = g`,
  :math:`\bar a_t = g_t h_{t-1}`, :math:`\bar h_0 = a_1 g_1`.
  Because the backward is made of differentiable operations, second derivatives work too.

The numpy versions, with Blelloch's work-efficient scan and the log-space form, are in
:mod:`rnnlab.scratch.scan`.
"""
from __future__ import annotations

import torch
from torch import Tensor

__all__ = ["LinearScan", "linear_scan", "hillis_steele"]


def hillis_steele(a: Tensor, b: Tensor, reverse: bool = False) -> Tensor:
    """Inclusive scan of the pairs ``(a_t, b_t)`` along dim 0 (no initial state); returns the
    ``B`` part, i.e. ``h`` with ``h_0 = 0``. ``reverse=True`` scans from the last position to the
    first: ``h[t] = a[t] * h[t+1] + b[t]``. No autograd: used inside :class:`LinearScan`.

    Two pairs of buffers take turns (``out=`` writes each step straight into the other one), so a
    step costs one pass over the data and no allocation; the positions that have no partner at
    distance ``d`` are only copied."""
    T = a.shape[0]
    A, B = a.contiguous(), b.contiguous()
    if T == 1:
        return B.clone()
    A2, B2 = torch.empty_like(A), torch.empty_like(B)
    d = 1
    while d < T:
        # forward: position t takes (t - d) o t; reverse: position t takes (t + d) as the earlier map
        new, old, keep = (slice(d, None), slice(None, -d), slice(None, d)) if not reverse else \
            (slice(None, -d), slice(d, None), slice(T - d, None))
        B2[keep] = B[keep]
        torch.addcmul(B[new], A[new], B[old], out=B2[new])  # b2 + a2 b1
        if 2 * d < T:  # the last step needs no products of a
            A2[keep] = A[keep]
            torch.mul(A[new], A[old], out=A2[new])  # a1 a2
        if d == 1:  # a and b belong to the caller: the first step reads them, then we own both pairs
            A, B, A2, B2 = A2, B2, torch.empty_like(A), torch.empty_like(B)
        else:
            A, B, A2, B2 = A2, B2, A, B
        d *= 2
    return B


class LinearScan(torch.autograd.Function):
    r""":math:`h_t = a_t h_{t-1} + b_t` for ``t = 1..T`` by a parallel scan; with ``reverse`` the
    same recurrence from the end, :math:`h_t = a_t h_{t+1} + b_t` for ``t = T..1`` (``h0`` then
    plays :math:`h_{T+1}`). See the module docstring."""

    @staticmethod
    def forward(ctx, a: Tensor, b: Tensor, h0: Tensor, reverse: bool = False) -> Tensor:
        first = -1 if reverse else 0
        b = b.clone()
        b[first] += a[first] * h0  # fold the initial state into the first step
        h = hillis_steele(a, b, reverse)
        ctx.reverse = reverse
        ctx.save_for_backward(a, h, h0)
        return h

    @staticmethod
    def backward(ctx, dh: Tensor):
        a, h, h0 = ctx.saved_tensors
        if a.shape[0] == 1:  # one step: h = a h0 + b
            return dh * h0, dh, (a * dh)[0], None
        if not ctx.reverse:
            # g_t = a_{t+1} g_{t+1} + dh_t, from t = T down to 1: a reverse scan of the pairs
            # (a_{t+1}, dh_t) for t < T, started from g_T = dh_T
            g = torch.cat([LinearScan.apply(a[1:], dh[:-1], dh[-1], True), dh[-1:]])
            h_prev = torch.cat([h0.unsqueeze(0), h[:-1]])
            return g * h_prev, g, a[0] * g[0], None
        # the mirror image: g_t = a_{t-1} g_{t-1} + dh_t, a forward scan started from g_1 = dh_1
        g = torch.cat([dh[:1], LinearScan.apply(a[:-1], dh[1:], dh[0], False)])
        h_next = torch.cat([h[1:], h0.unsqueeze(0)])
        return g * h_next, g, a[-1] * g[-1], None


def linear_scan(a: Tensor, b: Tensor, h0: Tensor | None = None, mode: str = "scan") -> Tensor:
    """``h[t] = a[t] * h[t-1] + b[t]`` for ``t = 0..T-1`` (``h[-1]`` = ``h0``, zeros if None);
    ``mode`` ``"scan"`` (:class:`LinearScan`) or ``"loop"``."""
    if not isinstance(a, Tensor) or not isinstance(b, Tensor):
        raise TypeError(f"a and b must be torch.Tensors, got {type(a).__name__} and {type(b).__name__}")
    if a.dim() < 1 or a.shape[0] == 0 or a.shape != b.shape:
        raise ValueError(f"a and b must have the same shape (T, ...) with T >= 1, got a "
                         f"{tuple(a.shape)} and b {tuple(b.shape)}")
    if h0 is None:
        h0 = a.new_zeros(a.shape[1:])
    elif tuple(h0.shape) != tuple(a.shape[1:]):
        raise ValueError(f"h0 must have the shape of one step, a.shape[1:] = {tuple(a.shape[1:])}, "
                         f"got {tuple(h0.shape)}")
    if mode == "scan":
        return LinearScan.apply(a, b, h0, False)
    if mode == "loop":
        # unbind, not a[t]: the backward of indexing would build a full-size gradient per step
        out, h = [], h0
        for a_t, b_t in zip(a.unbind(0), b.unbind(0)):
            h = a_t * h + b_t
            out.append(h)
        return torch.stack(out)
    raise ValueError(f"mode must be 'scan' or 'loop', got {mode!r}")
