r"""One time step: ``rnn_cell``, ``lstm_cell``, ``gru_cell`` and the modules ``RNNCell``,
``LSTMCell``, ``GRUCell`` (torch.nn's names, shapes and arguments, plus ``peephole`` and
``reset_after``).

A single step is written with plain tensor ops and differentiated by autograd: it is short, it is
the equation on the page, and there is no time loop to speed up. The layers in
:mod:`rnnlab.modules.layers` run the same equations over a whole sequence with a hand-written
backward pass (:mod:`rnnlab.modules.recurrence`); the tests prove the two agree.

Sizes: :math:`B` batch, :math:`I` input_size, :math:`H` hidden_size. Weights are stacked in
torch's gate order: ``weight_ih`` is :math:`(W_{ii}|W_{if}|W_{ig}|W_{io})` for the LSTM (4H, I)
and :math:`(W_{ir}|W_{iz}|W_{in})` for the GRU (3H, I); ``weight_hh`` likewise with H columns.
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ._errors import InputError, check_bool, check_like_weight, check_size, check_tensor


# --------------------------------------------------------------------------- functional steps
# Each step is split in two: the input projection x W_ih^T + b_ih, and the rest of the step from
# that projection (``*_from_projection``). The sequence layers project all steps at once, and
# recompute a sequence with the second half when a second derivative is wanted
# (:mod:`rnnlab.modules.recurrence`).
def rnn_cell(x, h, w_ih, w_hh, b_ih=None, b_hh=None, nonlinearity: str = "tanh") -> Tensor:
    r"""Elman step :math:`h_t = \phi(x_t W_{ih}^T + b_{ih} + h_{t-1} W_{hh}^T + b_{hh})`.

    x: (B, I), h: (B, H), w_ih: (H, I), w_hh: (H, H), biases: (H,) or None. Returns (B, H).
    """
    return rnn_from_projection(F.linear(x, w_ih, b_ih), h, w_hh, b_hh, nonlinearity)


def rnn_from_projection(xw, h, w_hh, b_hh=None, nonlinearity: str = "tanh") -> Tensor:
    """:func:`rnn_cell` given ``xw = x W_ih^T + b_ih`` (B, H) instead of x."""
    a = xw + F.linear(h, w_hh, b_hh)
    return torch.tanh(a) if nonlinearity == "tanh" else torch.relu(a)


def lstm_cell(x, h, c, w_ih, w_hh, b_ih=None, b_hh=None, w_ci=None, w_cf=None, w_co=None):
    r"""LSTM step, gates i, f, g, o; optional peepholes (Gers & Schmidhuber 2000).

    .. math::
        i &= \sigma(W_{ii} x + b_{ii} + W_{hi} h + b_{hi} + w_{ci} \odot c_{t-1}) \\
        f &= \sigma(W_{if} x + b_{if} + W_{hf} h + b_{hf} + w_{cf} \odot c_{t-1}) \\
        g &= \tanh(W_{ig} x + b_{ig} + W_{hg} h + b_{hg}) \\
        c_t &= f \odot c_{t-1} + i \odot g \\
        o &= \sigma(W_{io} x + b_{io} + W_{ho} h + b_{ho} + w_{co} \odot c_t) \\
        h_t &= o \odot \tanh(c_t)

    x: (B, I), h and c: (B, H), w_ih: (4H, I), w_hh: (4H, H), biases (4H,) or None, peephole
    weights (H,) or None (all three or none). Returns ``(h_t, c_t)``, each (B, H).
    """
    return lstm_from_projection(F.linear(x, w_ih, b_ih), h, c, w_hh, b_hh, w_ci, w_cf, w_co)


def lstm_from_projection(xw, h, c, w_hh, b_hh=None, w_ci=None, w_cf=None, w_co=None):
    """:func:`lstm_cell` given ``xw = x W_ih^T + b_ih`` (B, 4H) instead of x."""
    a = xw + F.linear(h, w_hh, b_hh)
    a_i, a_f, a_g, a_o = a.chunk(4, 1)
    if w_ci is not None:  # the input and forget gates look at the old cell state
        a_i = a_i + w_ci * c
        a_f = a_f + w_cf * c
    i, f, g = torch.sigmoid(a_i), torch.sigmoid(a_f), torch.tanh(a_g)
    c_new = f * c + i * g
    if w_co is not None:  # the output gate looks at the new one
        a_o = a_o + w_co * c_new
    o = torch.sigmoid(a_o)
    return o * torch.tanh(c_new), c_new


def gru_cell(x, h, w_ih, w_hh, b_ih=None, b_hh=None, reset_after: bool = True) -> Tensor:
    r"""GRU step, gates r, z, n; :math:`h_t = (1 - z) \odot n + z \odot h_{t-1}`.

    ``reset_after=True`` (torch): :math:`n = \tanh(W_{in} x + b_{in} + r \odot (W_{hn} h + b_{hn}))`.
    ``reset_after=False`` (Cho et al. 2014): :math:`n = \tanh(W_{in} x + b_{in} + W_{hn}(r \odot h)
    + b_{hn})`, the reset gate applied to :math:`h_{t-1}` before the recurrent matmul.

    x: (B, I), h: (B, H), w_ih: (3H, I), w_hh: (3H, H), biases (3H,) or None. Returns (B, H).
    """
    return gru_from_projection(F.linear(x, w_ih, b_ih), h, w_hh, b_hh, reset_after)


def gru_from_projection(xw, h, w_hh, b_hh=None, reset_after: bool = True) -> Tensor:
    """:func:`gru_cell` given ``xw = x W_ih^T + b_ih`` (B, 3H) instead of x."""
    x_r, x_z, x_n = xw.chunk(3, 1)
    if reset_after:
        h_r, h_z, h_n = F.linear(h, w_hh, b_hh).chunk(3, 1)
        r, z = torch.sigmoid(x_r + h_r), torch.sigmoid(x_z + h_z)
        n = torch.tanh(x_n + r * h_n)
    else:
        w_hr, w_hz, w_hn = w_hh.chunk(3, 0)
        b_hr, b_hz, b_hn = (None, None, None) if b_hh is None else b_hh.chunk(3, 0)
        r = torch.sigmoid(x_r + F.linear(h, w_hr, b_hr))
        z = torch.sigmoid(x_z + F.linear(h, w_hz, b_hz))
        n = torch.tanh(x_n + F.linear(r * h, w_hn, b_hn))
    return (1 - z) * n + z * h


# --------------------------------------------------------------------------- modules
class RNNCellBase(nn.Module):
    """Parameters and argument checks shared by the three cells (torch.nn's ``RNNCellBase``)."""

    _name = "RNNCellBase"

    def __init__(self, input_size, hidden_size, bias, num_chunks, device=None, dtype=None):
        super().__init__()
        check_size("input_size", input_size)
        check_size("hidden_size", hidden_size)
        check_bool("bias", bias)
        factory = {"device": device, "dtype": dtype}
        self.input_size, self.hidden_size, self.bias = input_size, hidden_size, bias
        G = num_chunks * hidden_size
        self.weight_ih = nn.Parameter(torch.empty((G, input_size), **factory))
        self.weight_hh = nn.Parameter(torch.empty((G, hidden_size), **factory))
        if bias:
            self.bias_ih = nn.Parameter(torch.empty(G, **factory))
            self.bias_hh = nn.Parameter(torch.empty(G, **factory))
        else:
            self.register_parameter("bias_ih", None)
            self.register_parameter("bias_hh", None)

    def reset_parameters(self) -> None:
        """Every parameter ~ U(-1/sqrt(hidden_size), 1/sqrt(hidden_size)), in torch's order."""
        stdv = 1.0 / math.sqrt(self.hidden_size)
        for weight in self.parameters():
            nn.init.uniform_(weight, -stdv, stdv)

    def extra_repr(self) -> str:
        s = f"{self.input_size}, {self.hidden_size}"
        if self.bias is not True:
            s += f", bias={self.bias}"
        if getattr(self, "nonlinearity", "tanh") != "tanh":
            s += f", nonlinearity={self.nonlinearity}"
        if getattr(self, "peephole", False):
            s += ", peephole=True"
        if getattr(self, "reset_after", True) is not True:
            s += ", reset_after=False"
        return s

    def _check(self, input, states: tuple, names: tuple[str, ...]):
        """Validate ``input`` and the state tensors; returns them batched, and whether input was."""
        check_tensor("input", input)
        if input.dim() not in (1, 2):
            raise ValueError(
                f"{self._name}: Expected input to be 1D or 2D, got {input.dim()}D instead"
            )
        check_like_weight("input", input, self.weight_ih)
        if input.size(-1) != self.input_size:
            raise InputError(
                f"input has inconsistent input_size: got {input.size(-1)} expected "
                f"{self.input_size} (input must be (batch, input_size) or (input_size,))"
            )
        batched = input.dim() == 2
        if not batched:
            input = input.unsqueeze(0)
        out = []
        for k, (s, name) in enumerate(zip(states, names)):
            if s is None:
                s = input.new_zeros(input.size(0), self.hidden_size)
            else:
                check_tensor(name, s)
                if s.dim() != (2 if batched else 1):
                    raise InputError(
                        f"{self._name}: Expected {name} to be {2 if batched else 1}D for "
                        f"{'batched 2-D' if batched else 'unbatched 1-D'} input, got {s.dim()}D "
                        f"(shape {list(s.shape)})"
                    )
                check_like_weight(name, s, self.weight_ih)
                if not batched:
                    s = s.unsqueeze(0)
                if s.size(0) != input.size(0):
                    raise InputError(
                        f"Input batch size {input.size(0)} doesn't match hidden{k} batch size "
                        f"{s.size(0)} ({name} must be (batch, hidden_size))"
                    )
                if s.size(1) != self.hidden_size:
                    raise InputError(
                        f"hidden{k} has inconsistent hidden_size: got {s.size(1)}, expected "
                        f"{self.hidden_size} ({name} must be (batch, hidden_size))"
                    )
            out.append(s)
        return input, out, batched


class RNNCell(RNNCellBase):
    r"""Elman cell :math:`h' = \tanh(x W_{ih}^T + b_{ih} + h W_{hh}^T + b_{hh})` (or ReLU).

    Same arguments, parameters and shapes as ``torch.nn.RNNCell``: input (B, I) or (I,),
    hx (B, H) or (H,) (zeros when omitted); returns h' of hx's shape.
    """

    _name = "RNNCell"

    def __init__(self, input_size, hidden_size, bias=True, nonlinearity="tanh", device=None, dtype=None):
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"Unknown nonlinearity: {nonlinearity!r}. Select from 'tanh' or 'relu'.")
        super().__init__(input_size, hidden_size, bias, 1, device, dtype)
        self.nonlinearity = nonlinearity
        self.reset_parameters()

    def forward(self, input: Tensor, hx: Tensor | None = None) -> Tensor:
        if hx is not None and isinstance(hx, Tensor) and hx.dim() not in (1, 2):
            raise ValueError(f"RNNCell: Expected hidden to be 1D or 2D, got {hx.dim()}D instead")
        x, (h,), batched = self._check(input, (hx,), ("hx",))
        h = rnn_cell(x, h, self.weight_ih, self.weight_hh, self.bias_ih, self.bias_hh, self.nonlinearity)
        return h if batched else h.squeeze(0)


class LSTMCell(RNNCellBase):
    r"""LSTM cell, gates i, f, g, o (see :func:`lstm_cell`), optional peepholes.

    Same arguments, parameters and shapes as ``torch.nn.LSTMCell``; with ``peephole=True`` three
    extra parameters ``weight_ci``, ``weight_cf``, ``weight_co`` of shape (H,) are registered after
    torch's. ``forward(input, (h_0, c_0))`` returns ``(h_1, c_1)``.
    """

    _name = "LSTMCell"

    def __init__(self, input_size, hidden_size, bias=True, device=None, dtype=None, *, peephole=False):
        super().__init__(input_size, hidden_size, bias, 4, device, dtype)
        check_bool("peephole", peephole)
        self.peephole = peephole
        if peephole:
            for name in ("weight_ci", "weight_cf", "weight_co"):
                setattr(self, name, nn.Parameter(torch.empty(hidden_size, device=device, dtype=dtype)))
        self.reset_parameters()

    def forward(self, input: Tensor, hx: tuple[Tensor, Tensor] | None = None):
        if hx is not None:
            if not isinstance(hx, (tuple, list)) or len(hx) != 2:
                raise TypeError(
                    f"LSTMCell: hx must be a tuple (h_0, c_0) of two tensors, got {type(hx).__name__}"
                )
            for idx, value in enumerate(hx):
                check_tensor(f"hx[{idx}]", value)
                if value.dim() not in (1, 2):
                    raise ValueError(
                        f"LSTMCell: Expected hx[{idx}] to be 1D or 2D, got {value.dim()}D instead"
                    )
        states = (None, None) if hx is None else tuple(hx)
        x, (h, c), batched = self._check(input, states, ("hx[0]", "hx[1]"))
        peep = (self.weight_ci, self.weight_cf, self.weight_co) if self.peephole else ()
        h, c = lstm_cell(x, h, c, self.weight_ih, self.weight_hh, self.bias_ih, self.bias_hh, *peep)
        return (h, c) if batched else (h.squeeze(0), c.squeeze(0))


class GRUCell(RNNCellBase):
    r"""GRU cell, gates r, z, n (see :func:`gru_cell`).

    Same arguments, parameters and shapes as ``torch.nn.GRUCell``; ``reset_after=False`` gives the
    Cho et al. (2014) form with the same parameters.
    """

    _name = "GRUCell"

    def __init__(self, input_size, hidden_size, bias=True, device=None, dtype=None, *, reset_after=True):
        super().__init__(input_size, hidden_size, bias, 3, device, dtype)
        check_bool("reset_after", reset_after)
        self.reset_after = reset_after
        self.reset_parameters()

    def forward(self, input: Tensor, hx: Tensor | None = None) -> Tensor:
        if hx is not None and isinstance(hx, Tensor) and hx.dim() not in (1, 2):
            raise ValueError(f"GRUCell: Expected hidden to be 1D or 2D, got {hx.dim()}D instead")
        x, (h,), batched = self._check(input, (hx,), ("hx",))
        h = gru_cell(x, h, self.weight_ih, self.weight_hh, self.bias_ih, self.bias_hh, self.reset_after)
        return h if batched else h.squeeze(0)
