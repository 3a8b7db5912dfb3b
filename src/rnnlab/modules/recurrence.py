r"""The time loop of one layer in one direction, with backpropagation through time written by hand.

Why a custom ``torch.autograd.Function``? Written step by step with tensor ops, autograd records
about ten small nodes per time step and replays them one by one in the backward pass. The
recurrence has a simpler structure than autograd can see: inside one step every gradient is the
incoming gradient times a *local derivative* that the forward pass already fixed. So the backward
pass below

1. computes all local derivatives of all steps at once (whole-sequence tensor ops, no loop);
2. runs the only truly sequential part, the :math:`\delta` recursion backwards in time
   (a few multiplications and one matmul with ``weight_hh`` per step);
3. sums the weight gradients over time with one big matmul after the loop
   (gradients of tied weights are summed over time).

It is the derivation of chapters 2–4, line by line; ``torch.autograd.gradcheck`` and the
comparison with ``torch.nn`` in ``tests/test_modules_*.py`` prove it.

**Row layout.** Every tensor here holds one row per (time step, sequence) in *packed* order, the
layout of ``torch.nn.utils.rnn.PackedSequence``: the rows of step :math:`t` come after those of
step :math:`t-1`, and there are :math:`b_t` of them, with :math:`b_0 \ge b_1 \ge \dots`. Sequence
:math:`j` (row :math:`j` of a step) is active at step :math:`t` while :math:`j < b_t`, so a
sequence that has ended simply stops receiving updates and its state is read at its last step.
A padded batch of :math:`T` steps and :math:`B` sequences is the special case :math:`b_t = B`.
``batch_sizes`` is the tuple :math:`(b_0, \dots, b_{T-1})` of Python ints.

Only the forward direction lives here: the reverse direction is the same recurrence run on each
sequence reversed within its own length (:func:`reverse_index`), so it starts at each true end.

Symbols: :math:`N = \sum_t b_t` rows, :math:`B = b_0` sequences, :math:`H` hidden size, :math:`P`
the size of :math:`h` (``proj_size`` or :math:`H`). ``xproj`` is the input projection
:math:`x_t W_{ih}^T + b` of all steps, computed outside with one matmul, so autograd takes care of
``weight_ih``, the biases and the input.

**Second derivatives.** The hand-written backward is fast but made of in-place updates that
autograd cannot differentiate. When a graph of the gradient itself is asked for
(``torch.autograd.grad(..., create_graph=True)``, e.g. a gradient penalty), autograd runs the
backward pass with grad mode on; each ``backward`` below then takes a second route: it recomputes
the forward pass from its saved inputs with ordinary differentiable tensor ops (one
``rnnlab.modules.cells`` step per time step, :func:`_recompute_backward`) and differentiates that
with ``create_graph=True``. The first derivatives are the same (up to rounding), and second
derivatives equal ``torch.nn``'s; ``tests/test_modules_double_backward.py`` proves both with
``torch.autograd.gradgradcheck`` and against ``torch.nn``. That route costs a second forward pass
and the memory of a step-by-step graph, and is taken only when it is needed; for it, every
Function keeps its input ``xproj`` until the backward pass.
"""
from __future__ import annotations

import torch

from .cells import gru_from_projection, lstm_from_projection, rnn_from_projection

BatchSizes = tuple[int, ...]


# --------------------------------------------------------------------------- packed-row helpers
def previous_rows(first: torch.Tensor, rows: torch.Tensor, batch_sizes: BatchSizes) -> torch.Tensor:
    """For every row of step t, the state of the same sequence at step t-1 (``first`` at t = 0).

    ``first``: (B, F) initial state; ``rows``: (N, F) the states of every step. Returns (N, F).
    """
    B = batch_sizes[0]
    if all(b == B for b in batch_sizes):  # padded batch: shift by one step
        return torch.cat([first, rows[: rows.shape[0] - B]])
    pieces = [first[:B]]
    for prev, b in zip(rows.split(batch_sizes), batch_sizes[1:]):  # the last step is nobody's prev
        pieces.append(prev[:b])
    return torch.cat(pieces)


def final_rows(rows: torch.Tensor, first: torch.Tensor, batch_sizes: BatchSizes) -> torch.Tensor:
    """Each sequence's state at its own last step, (B, F): rows ``b_{t+1} .. b_t - 1`` end at t."""
    pieces, later = [], 0
    for t, step in reversed(list(enumerate(rows.split(batch_sizes)))):
        b = batch_sizes[t]
        if b > later:
            pieces.append(step[later:b])
        later = b
    return torch.cat(pieces) if pieces else first.clone()


def reverse_index(batch_sizes: BatchSizes, device=None) -> torch.Tensor:
    """Row permutation that reverses every sequence within its own length (an involution).

    Row (t, j) of a sequence of length L_j goes to row (L_j - 1 - t, j): the reverse direction
    reads each sequence from its true end, never from the padding.
    """
    bs = torch.tensor(batch_sizes, dtype=torch.long)
    T, B = len(batch_sizes), batch_sizes[0]
    offsets = torch.cumsum(bs, 0) - bs  # first row of each step
    step = torch.repeat_interleave(torch.arange(T), bs)  # t of every row
    seq = torch.arange(int(bs.sum())) - offsets[step]  # j of every row
    lengths = (bs.unsqueeze(0) > torch.arange(B).unsqueeze(1)).sum(1)  # L_j
    return (offsets[lengths[seq] - 1 - step] + seq).to(device)


def _own(grad: torch.Tensor) -> torch.Tensor:
    """A contiguous copy of an incoming gradient that the loop may update in place.

    (Autograd may hand over an expanded or strided tensor, e.g. the gradient of ``out.sum()``.)
    """
    return grad.clone(memory_format=torch.contiguous_format)


def _views(batch_sizes: BatchSizes, *tensors: torch.Tensor):
    """Per-step row views of each tensor, zipped: one tuple of views per time step."""
    return zip(*(t.split(batch_sizes) for t in tensors))


def _rows(cache: dict, tensor: torch.Tensor, b: int) -> torch.Tensor:
    """``tensor[:b]`` (the sequences still active), cached so the loop creates no new views."""
    key = (id(tensor), b)
    if key not in cache:
        cache[key] = tensor[:b]
    return cache[key]


def _recompute_backward(ctx, loop, inputs: tuple, grad_outputs: tuple) -> tuple:
    """The gradient of ``loop(*inputs)`` by autograd, itself differentiable (second route).

    ``loop`` is the recurrence written with differentiable ops and ``inputs`` are the Function's
    inputs as saved (still attached to the graph that made them), so the returned gradients are
    functions of the inputs and of ``grad_outputs`` that autograd can differentiate again.
    """
    with torch.enable_grad():
        outputs = loop(*inputs)
    wanted = [k for k, x in enumerate(inputs) if ctx.needs_input_grad[k] and torch.is_tensor(x)]
    grads = torch.autograd.grad(
        outputs, [inputs[k] for k in wanted], grad_outputs, create_graph=True, allow_unused=True
    )
    result: list = [None] * len(inputs)
    for k, g in zip(wanted, grads):
        result[k] = torch.zeros_like(inputs[k]) if g is None else g
    return tuple(result)


def _steps(xproj: torch.Tensor, batch_sizes: BatchSizes):
    """Per-step input projections, with the number of active sequences."""
    return ((xw, xw.shape[0]) for xw in xproj.split(batch_sizes))


# --------------------------------------------------------------------------- Elman RNN
class RNNRecurrence(torch.autograd.Function):
    r"""h_t = φ(a_t),  a_t = xproj_t + h_{t-1} W_hh^T,  φ = tanh or relu.

    BPTT: dh_t = dout_t + dh_t^{(from t+1)};  da_t = dh_t ⊙ φ'(a_t);  dh_{t-1} = da_t W_hh;
    dW_hh = Σ_t da_tᵀ h_{t-1}. φ' is written with the output: 1 - h² for tanh, [h > 0] for relu.
    """

    @staticmethod
    def forward(ctx, xproj, h0, w_hh, nonlinearity: str, batch_sizes: BatchSizes):
        h = xproj.clone()  # (N, H): starts as x W_ih^T + b, becomes a_t, then h_t
        w_hh_t = w_hh.t()
        act = torch.tanh_ if nonlinearity == "tanh" else torch.relu_
        h_prev = h0
        for (h_t,) in _views(batch_sizes, h):
            if h_t.shape[0] != h_prev.shape[0]:
                h_prev = h_prev[: h_t.shape[0]]
            h_t.addmm_(h_prev, w_hh_t)  # a_t = xproj_t + h_{t-1} W_hh^T
            act(h_t)  # h_t = φ(a_t), in place
            h_prev = h_t
        ctx.nonlinearity, ctx.batch_sizes = nonlinearity, batch_sizes
        ctx.save_for_backward(xproj, h0, w_hh, h)
        return h, final_rows(h, h0, batch_sizes)

    @staticmethod
    def loop(xproj, h0, w_hh, nonlinearity: str, batch_sizes: BatchSizes):
        """The same recurrence with differentiable ops, one cell step per time step."""
        h, hs = h0, []
        for xw, b in _steps(xproj, batch_sizes):
            h = rnn_from_projection(xw, h[:b], w_hh, None, nonlinearity)
            hs.append(h)
        out = torch.cat(hs)
        return out, final_rows(out, h0, batch_sizes)

    @staticmethod
    def backward(ctx, d_h, d_hn):
        xproj, h0, w_hh, h = ctx.saved_tensors
        bs = ctx.batch_sizes
        if torch.is_grad_enabled():  # create_graph=True: the gradient must be differentiable
            inputs = (xproj, h0, w_hh, ctx.nonlinearity, bs)
            return _recompute_backward(ctx, RNNRecurrence.loop, inputs, (d_h, d_hn))
        # 1. local derivative dh_t/da_t of every step at once
        k = 1 - h * h if ctx.nonlinearity == "tanh" else (h > 0).to(h.dtype)
        # 2. the δ recursion, backwards in time
        dh = _own(d_h)  # becomes dL/dh_t: output gradient + what flows back from t+1
        dh_rec = _own(d_hn)  # gradient arriving from the future (from h_n at each last step)
        da = torch.empty_like(h)  # dL/da_t = dL/dxproj_t
        cache: dict = {}
        for dh_t, k_t, da_t in reversed(list(_views(bs, dh, k, da))):
            b = dh_t.shape[0]
            dh_t.add_(_rows(cache, dh_rec, b))
            torch.mul(dh_t, k_t, out=da_t)
            torch.mm(da_t, w_hh, out=_rows(cache, dh_rec, b))  # dL/dh_{t-1}
        # 3. tied weights: sum over time in one matmul
        d_w_hh = da.t().mm(previous_rows(h0, h, bs)) if ctx.needs_input_grad[2] else None
        return da, dh_rec, d_w_hh, None, None


# --------------------------------------------------------------------------- LSTM
class LSTMRecurrence(torch.autograd.Function):
    r"""The LSTM time loop, gates in torch's order i, f, g, o.

    Forward, with a_t = xproj_t + h_{t-1} W_hh^T split into a_i, a_f, a_g, a_o::

        i = σ(a_i + w_ci ⊙ c_{t-1})      f = σ(a_f + w_cf ⊙ c_{t-1})      g = tanh(a_g)
        c_t = f ⊙ c_{t-1} + i ⊙ g
        o = σ(a_o + w_co ⊙ c_t)          m_t = o ⊙ tanh(c_t)      h_t = m_t  (or m_t W_hr^T)

    The peephole terms (w_c*, Gers & Schmidhuber 2000) are present only when given; ``w_hr`` is
    torch's ``proj_size`` projection.

    Backward (BPTT), with dm = dh_t (or dh_t W_hr)::

        da_o = dm ⊙ tanh(c_t) ⊙ o(1-o)
        dc_t = dc_t^{(from t+1)} + dm ⊙ o ⊙ (1 - tanh²c_t) + da_o ⊙ w_co
        da_i = dc_t ⊙ g ⊙ i(1-i)     da_f = dc_t ⊙ c_{t-1} ⊙ f(1-f)     da_g = dc_t ⊙ i ⊙ (1-g²)
        dc_{t-1} = dc_t ⊙ f + da_i ⊙ w_ci + da_f ⊙ w_cf          (the constant error carousel)
        dh_{t-1} = da W_hh

    Every factor after dm and dc_t is known once the forward pass is done, so they are computed
    for all steps before the loop (``k_*``); the loop only multiplies.
    """

    @staticmethod
    def forward(ctx, xproj, h0, c0, w_hh, w_ci, w_cf, w_co, w_hr, batch_sizes: BatchSizes):
        N, H = xproj.shape[0], c0.shape[1]
        peephole = w_ci is not None
        gates = xproj.clone()  # (N, 4H): xproj, then a_t, then the activations i, f, g, o
        c = xproj.new_empty(N, H)  # c_t
        tanh_c = xproj.new_empty(N, H)  # tanh(c_t)
        m = xproj.new_empty(N, H)  # o ⊙ tanh(c_t)
        h = m if w_hr is None else xproj.new_empty(N, w_hr.shape[0])
        gi, gf, gg, go = gates.chunk(4, 1)
        w_hh_t = w_hh.t()
        w_hr_t = None if w_hr is None else w_hr.t()
        h_prev, c_prev = h0, c0
        steps = _views(batch_sizes, gates, gates[:, : 2 * H], gi, gf, gg, go, c, tanh_c, m, h)
        for a_t, if_t, i, f, g, o, c_t, tc_t, m_t, h_t in steps:
            b = a_t.shape[0]
            if b != h_prev.shape[0]:  # some sequences have ended
                h_prev, c_prev = h_prev[:b], c_prev[:b]
            a_t.addmm_(h_prev, w_hh_t)  # all four gates: one matmul, added to xproj in place
            if peephole:
                i.addcmul_(w_ci, c_prev)
                f.addcmul_(w_cf, c_prev)
            if_t.sigmoid_()  # i and f
            g.tanh_()
            torch.mul(f, c_prev, out=c_t)
            c_t.addcmul_(i, g)  # c_t = f ⊙ c_{t-1} + i ⊙ g
            if peephole:
                o.addcmul_(w_co, c_t)
            o.sigmoid_()
            torch.tanh(c_t, out=tc_t)
            torch.mul(o, tc_t, out=m_t)  # h_t = o ⊙ tanh(c_t)
            if w_hr_t is not None:
                torch.mm(m_t, w_hr_t, out=h_t)
            h_prev, c_prev = h_t, c_t
        ctx.batch_sizes = batch_sizes
        ctx.save_for_backward(xproj, h0, c0, w_hh, w_ci, w_cf, w_co, w_hr, gates, c, tanh_c, m, h)
        return h, final_rows(h, h0, batch_sizes), final_rows(c, c0, batch_sizes)

    @staticmethod
    def loop(xproj, h0, c0, w_hh, w_ci, w_cf, w_co, w_hr, batch_sizes: BatchSizes):
        """The same recurrence with differentiable ops, one cell step per time step."""
        h, c, hs, cs = h0, c0, [], []
        for xw, b in _steps(xproj, batch_sizes):
            m, c = lstm_from_projection(xw, h[:b], c[:b], w_hh, None, w_ci, w_cf, w_co)
            h = m if w_hr is None else m.mm(w_hr.t())
            hs.append(h)
            cs.append(c)
        h_all, c_all = torch.cat(hs), torch.cat(cs)
        return h_all, final_rows(h_all, h0, batch_sizes), final_rows(c_all, c0, batch_sizes)

    @staticmethod
    def backward(ctx, d_h, d_hn, d_cn):
        xproj, h0, c0, w_hh, w_ci, w_cf, w_co, w_hr, gates, c, tanh_c, m, h = ctx.saved_tensors
        bs = ctx.batch_sizes
        if torch.is_grad_enabled():  # create_graph=True: the gradient must be differentiable
            inputs = (xproj, h0, c0, w_hh, w_ci, w_cf, w_co, w_hr, bs)
            return _recompute_backward(ctx, LSTMRecurrence.loop, inputs, (d_h, d_hn, d_cn))
        need = ctx.needs_input_grad
        H = c.shape[1]
        i, f, g, o = gates.chunk(4, 1)
        c_prev = previous_rows(c0, c, bs)
        # 1. local derivatives of every step at once. σ' = s(1-s) and tanh' = 1-t² are written
        #    with the outputs; addcmul(s, s, s, value=-1) is s - s·s = s(1-s) in one pass.
        k_o = torch.addcmul(o, o, o, value=-1).mul_(tanh_c)  # da_o = dm ⊙ tanh(c) ⊙ o(1-o)
        k_c = torch.addcmul(o, o, tanh_c * tanh_c, value=-1)  # dc_t += dm ⊙ o(1 - tanh²c)
        k_ifg = torch.empty_like(gates[:, H:])  # da_{i,f,g} = dc_t ⊙ k_ifg
        k_i, k_f, k_g = k_ifg.chunk(3, 1)
        torch.addcmul(i, i, i, value=-1, out=k_i).mul_(g)  # g ⊙ i(1-i)
        torch.addcmul(f, f, f, value=-1, out=k_f).mul_(c_prev)  # c_{t-1} ⊙ f(1-f)
        torch.addcmul(i, i, g * g, value=-1, out=k_g)  # i ⊙ (1-g²)
        carry = f  # dc_{t-1} = dc_t ⊙ carry
        if w_ci is not None:  # peepholes: o sees c_t, i and f see c_{t-1}
            k_c = k_c + k_o * w_co
            carry = f + k_i * w_ci + k_f * w_cf
        # 2. the δ recursion, backwards in time
        dh = _own(d_h)  # becomes dL/dh_t
        dh_rec, dc_rec = _own(d_hn), _own(d_cn)  # gradient arriving from step t+1 (or h_n, c_n)
        da = torch.empty_like(gates)  # dL/da_t = dL/dxproj_t
        cache: dict = {}
        steps = _views(bs, dh, da, da[:, 3 * H :], k_o, k_c, k_ifg, carry)
        for dh_t, da_t, da_o, k_o_t, k_c_t, k_ifg_t, carry_t in reversed(list(steps)):
            b = dh_t.shape[0]
            dh_t.add_(_rows(cache, dh_rec, b))
            dm = dh_t if w_hr is None else dh_t.mm(w_hr)
            dc = _rows(cache, dc_rec, b)
            dc.addcmul_(dm, k_c_t)  # dL/dc_t
            torch.mul(dm, k_o_t, out=da_o)
            torch.mul(k_ifg_t.view(b, 3, H), dc.unsqueeze(1), out=da_t[:, : 3 * H].view(b, 3, H))
            dc.mul_(carry_t)  # now dL/dc_{t-1}
            torch.mm(da_t, w_hh, out=_rows(cache, dh_rec, b))  # dL/dh_{t-1}
        # 3. tied weights: sums over time
        d_w_hh = da.t().mm(previous_rows(h0, h, bs)) if need[3] else None
        d_w_ci = d_w_cf = d_w_co = d_w_hr = None
        if w_ci is not None:
            da_i, da_f, _, da_o = da.chunk(4, 1)
            d_w_ci = (da_i * c_prev).sum(0) if need[4] else None
            d_w_cf = (da_f * c_prev).sum(0) if need[5] else None
            d_w_co = (da_o * c).sum(0) if need[6] else None
        if w_hr is not None and need[7]:
            d_w_hr = dh.t().mm(m)
        return da, dh_rec, dc_rec, d_w_hh, d_w_ci, d_w_cf, d_w_co, d_w_hr, None


# --------------------------------------------------------------------------- GRU (torch's form)
class GRURecurrence(torch.autograd.Function):
    r"""The GRU time loop in torch's form (``reset_after=True``), gates in the order r, z, n.

    Forward, with hh_t = h_{t-1} W_hh^T + b_hh split into hh_r, hh_z, hh_n::

        r = σ(x_r + hh_r)      z = σ(x_z + hh_z)      n = tanh(x_n + r ⊙ hh_n)
        h_t = (1 - z) ⊙ n + z ⊙ h_{t-1}      (an interpolation: torch.lerp(n, h_{t-1}, z))

    Backward: with a_* the pre-activations,
    da_n = dh ⊙ (1-z)(1-n²),  da_z = dh ⊙ (h_{t-1} - n) z(1-z),  da_r = da_n ⊙ hh_n r(1-r),
    dhh = [da_r, da_z, da_n ⊙ r],  dh_{t-1} = dh ⊙ z + dhh W_hh.
    All of these are dh times a fixed factor, so one multiplication per step gives them all.
    """

    @staticmethod
    def forward(ctx, xproj, h0, w_hh, b_hh, batch_sizes: BatchSizes):
        N, H = xproj.shape[0], h0.shape[1]
        gates = torch.empty_like(xproj)  # (N, 3H) r, z, n
        hh = torch.zeros_like(xproj) if b_hh is None else b_hh.expand_as(xproj).clone()
        # hh: (N, 3H), starts as b_hh, becomes h_{t-1} W_hh^T + b_hh
        h = xproj.new_empty(N, H)
        w_hh_t = w_hh.t()
        x_rz, x_n = xproj[:, : 2 * H], xproj[:, 2 * H :]
        hh_rz, hh_n = hh[:, : 2 * H], hh[:, 2 * H :]
        g_rz, (r, z, n) = gates[:, : 2 * H], gates.chunk(3, 1)
        h_prev = h0
        steps = _views(batch_sizes, x_rz, x_n, hh, hh_rz, hh_n, g_rz, r, z, n, h)
        for x_rz_t, x_n_t, hh_t, hh_rz_t, hh_n_t, rz_t, r_t, z_t, n_t, h_t in steps:
            if h_t.shape[0] != h_prev.shape[0]:
                h_prev = h_prev[: h_t.shape[0]]
            hh_t.addmm_(h_prev, w_hh_t)  # one matmul for all three gates
            torch.add(x_rz_t, hh_rz_t, out=rz_t).sigmoid_()  # r and z
            torch.addcmul(x_n_t, r_t, hh_n_t, out=n_t).tanh_()  # n: reset *after* the matmul
            torch.lerp(n_t, h_prev, z_t, out=h_t)  # h_t = n + z ⊙ (h_{t-1} - n)
            h_prev = h_t
        ctx.batch_sizes = batch_sizes
        ctx.save_for_backward(xproj, h0, w_hh, b_hh, gates, hh_n, h)
        return h, final_rows(h, h0, batch_sizes)

    @staticmethod
    def loop(xproj, h0, w_hh, b_hh, batch_sizes: BatchSizes):
        """The same recurrence with differentiable ops, one cell step per time step."""
        h, hs = h0, []
        for xw, b in _steps(xproj, batch_sizes):
            h = gru_from_projection(xw, h[:b], w_hh, b_hh, reset_after=True)
            hs.append(h)
        out = torch.cat(hs)
        return out, final_rows(out, h0, batch_sizes)

    @staticmethod
    def backward(ctx, d_h, d_hn):
        xproj, h0, w_hh, b_hh, gates, hh_n, h = ctx.saved_tensors
        bs, H = ctx.batch_sizes, h.shape[1]
        if torch.is_grad_enabled():  # create_graph=True: the gradient must be differentiable
            inputs = (xproj, h0, w_hh, b_hh, bs)
            return _recompute_backward(ctx, GRURecurrence.loop, inputs, (d_h, d_hn))
        r, z, n = gates.chunk(3, 1)
        h_prev = previous_rows(h0, h, bs)
        # 1. every gradient of a step is dh_t times one of these factors
        k_n = (1 - z) * (1 - n * n)  # da_n
        k = torch.cat([k_n * hh_n * r * (1 - r), (h_prev - n) * z * (1 - z), k_n * r, k_n, z], 1)
        #             da_r                        da_z                          dhh_n    da_n  dh_{t-1} direct
        # 2. the δ recursion, backwards in time
        dh, dh_rec = _own(d_h), _own(d_hn)
        d = torch.empty_like(k)  # (N, 5H)
        cache: dict = {}
        for dh_t, k_t, d_t in reversed(list(_views(bs, dh, k, d))):
            b = dh_t.shape[0]
            dh_t.add_(_rows(cache, dh_rec, b))
            torch.mul(k_t.view(b, 5, H), dh_t.unsqueeze(1), out=d_t.view(b, 5, H))
            # dL/dh_{t-1} = dh ⊙ z + dhh W_hh
            torch.addmm(d_t[:, 4 * H :], d_t[:, : 3 * H], w_hh, out=_rows(cache, dh_rec, b))
        d_hh = d[:, : 3 * H]  # dL/dhh_t
        d_xproj = torch.cat([d[:, : 2 * H], d[:, 3 * H : 4 * H]], 1)  # [da_r, da_z, da_n]
        # 3. tied weights: sums over time
        d_w_hh = d_hh.t().mm(h_prev) if ctx.needs_input_grad[2] else None
        d_b_hh = d_hh.sum(0) if b_hh is not None and ctx.needs_input_grad[3] else None
        return d_xproj, dh_rec, d_w_hh, d_b_hh, None


# --------------------------------------------------------------------------- GRU (Cho et al.)
class GRUChoRecurrence(torch.autograd.Function):
    r"""The GRU of Cho et al. (2014) (``reset_after=False``): the reset gate acts *before* the matmul.

    Forward, with W_hh split into W_hr, W_hz, W_hn (all biases are in ``xproj``)::

        [a_r, a_z] = x_rz + h_{t-1} [W_hr; W_hz]^T      r, z = σ(a_r), σ(a_z)
        n = tanh(x_n + (r ⊙ h_{t-1}) W_hn^T)             h_t = (1 - z) ⊙ n + z ⊙ h_{t-1}

    Backward: da_n = dh ⊙ (1-z)(1-n²),  da_z = dh ⊙ (h_{t-1} - n) z(1-z),
    d(r⊙h) = da_n W_hn,  da_r = d(r⊙h) ⊙ h_{t-1} r(1-r),
    dh_{t-1} = dh ⊙ z + d(r⊙h) ⊙ r + [da_r, da_z] [W_hr; W_hz].  Two matmuls per step.
    """

    @staticmethod
    def forward(ctx, xproj, h0, w_hh, batch_sizes: BatchSizes):
        N, H = xproj.shape[0], h0.shape[1]
        gates = xproj.clone()  # (N, 3H): xproj, then a, then r, z, n
        rh = xproj.new_empty(N, H)  # r ⊙ h_{t-1}
        h = xproj.new_empty(N, H)
        w_rz_t, w_n_t = w_hh[: 2 * H].t(), w_hh[2 * H :].t()
        g_rz, (r, z, n) = gates[:, : 2 * H], gates.chunk(3, 1)
        h_prev = h0
        for rz_t, r_t, z_t, n_t, rh_t, h_t in _views(batch_sizes, g_rz, r, z, n, rh, h):
            if h_t.shape[0] != h_prev.shape[0]:
                h_prev = h_prev[: h_t.shape[0]]
            rz_t.addmm_(h_prev, w_rz_t).sigmoid_()  # r and z
            torch.mul(r_t, h_prev, out=rh_t)  # reset *before* the matmul
            n_t.addmm_(rh_t, w_n_t).tanh_()
            torch.lerp(n_t, h_prev, z_t, out=h_t)
            h_prev = h_t
        ctx.batch_sizes = batch_sizes
        ctx.save_for_backward(xproj, h0, w_hh, gates, rh, h)
        return h, final_rows(h, h0, batch_sizes)

    @staticmethod
    def loop(xproj, h0, w_hh, batch_sizes: BatchSizes):
        """The same recurrence with differentiable ops, one cell step per time step."""
        h, hs = h0, []
        for xw, b in _steps(xproj, batch_sizes):
            h = gru_from_projection(xw, h[:b], w_hh, None, reset_after=False)
            hs.append(h)
        out = torch.cat(hs)
        return out, final_rows(out, h0, batch_sizes)

    @staticmethod
    def backward(ctx, d_h, d_hn):
        xproj, h0, w_hh, gates, rh, h = ctx.saved_tensors
        bs, H = ctx.batch_sizes, h.shape[1]
        if torch.is_grad_enabled():  # create_graph=True: the gradient must be differentiable
            inputs = (xproj, h0, w_hh, bs)
            return _recompute_backward(ctx, GRUChoRecurrence.loop, inputs, (d_h, d_hn))
        w_rz, w_n = w_hh[: 2 * H], w_hh[2 * H :]
        r, z, n = gates.chunk(3, 1)
        h_prev = previous_rows(h0, h, bs)
        # 1. local derivatives, all steps at once
        k_zn = torch.cat([(h_prev - n) * z * (1 - z), (1 - z) * (1 - n * n)], 1)  # da_z, da_n
        k_r = h_prev * r * (1 - r)  # da_r = d(r⊙h) ⊙ k_r
        # 2. the δ recursion
        dh, dh_rec = _own(d_h), _own(d_hn)
        da = torch.empty_like(gates)  # [da_r, da_z, da_n] = dL/dxproj
        cache: dict = {}
        steps = _views(bs, dh, da[:, :H], da[:, H:], da[:, : 2 * H], da[:, 2 * H :], k_zn, k_r, r, z)
        for dh_t, da_r, da_zn, da_rz, da_n, k_zn_t, k_r_t, r_t, z_t in reversed(list(steps)):
            b = dh_t.shape[0]
            dh_t.add_(_rows(cache, dh_rec, b))
            torch.mul(k_zn_t.view(b, 2, H), dh_t.unsqueeze(1), out=da_zn.view(b, 2, H))
            d_rh = da_n.mm(w_n)  # dL/d(r ⊙ h_{t-1})
            torch.mul(d_rh, k_r_t, out=da_r)
            direct = (dh_t * z_t).addcmul_(d_rh, r_t)  # paths that skip the gate matmul
            torch.addmm(direct, da_rz, w_rz, out=_rows(cache, dh_rec, b))  # dL/dh_{t-1}
        # 3. tied weights: sums over time
        d_w_hh = None
        if ctx.needs_input_grad[2]:
            d_w_hh = torch.cat([da[:, : 2 * H].t().mm(h_prev), da[:, 2 * H :].t().mm(rh)])
        return da, dh_rec, d_w_hh, None
