r"""``MinGRU`` and ``MinLSTM`` (Feng et al. 2024) as ``torch.nn.Module``\ s: a loop or a parallel scan.

A layer computes all its gates from the input alone, in one matmul over every step, and then the
linear recurrence :math:`h_t = a_t \odot h_{t-1} + b_t` (:mod:`rnnlab.modules.scan`):

- ``MinGRU``: :math:`z = \sigma(x W_{iz}^\top + b_{iz})`, :math:`n = x W_{in}^\top + b_{in}`,
  :math:`a = z` (``negative=True``: :math:`a = 2z - 1`), :math:`b = (1 - z) n`;
- ``MinLSTM``: :math:`i, f = \sigma(\cdot)`, :math:`g = x W_{ig}^\top + b_{ig}`,
  :math:`a = f / (f + i)`, :math:`b = i / (f + i)\, g`.

Parameters ``weight_ih_l{k}`` ((2H or 3H), in) and ``bias_ih_l{k}``, rows z, n (minGRU) or i, f, g
(minLSTM), the names and layouts of :class:`rnnlab.scratch.MinGRU` / ``MinLSTM``, so state dicts
move between the two unchanged. Shapes as ``torch.nn.GRU``: input (T, N, I), (N, T, I) with
``batch_first`` or unbatched (T, I); ``h_0``/``h_n`` (num_layers, N, H); output (T, N, H).

``mode`` (``"scan"`` or ``"loop"``, also settable after construction) only changes how the
recurrence is computed, never the numbers beyond rounding.
"""
from __future__ import annotations

import math

import torch
from torch import Tensor, nn

from ._errors import InputError, check_bool, check_like_weight, check_size, check_tensor
from .scan import linear_scan

__all__ = ["MinGRU", "MinLSTM"]


class _MinRNN(nn.Module):
    _gates = 2
    _name = "MinGRU"

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1, bias: bool = True,
                 batch_first: bool = False, device=None, dtype=None, *, mode: str = "scan") -> None:
        super().__init__()
        check_size("input_size", input_size)
        check_size("hidden_size", hidden_size)
        check_size("num_layers", num_layers)
        check_bool("bias", bias)
        check_bool("batch_first", batch_first)
        self.input_size, self.hidden_size, self.num_layers = input_size, hidden_size, num_layers
        self.bias, self.batch_first = bias, batch_first
        self.mode = mode
        factory = {"device": device, "dtype": dtype}
        G = self._gates * hidden_size
        for layer in range(num_layers):
            in_size = input_size if layer == 0 else hidden_size
            setattr(self, f"weight_ih_l{layer}", nn.Parameter(torch.empty(G, in_size, **factory)))
            if bias:
                setattr(self, f"bias_ih_l{layer}", nn.Parameter(torch.empty(G, **factory)))
        self.reset_parameters()

    @property
    def mode(self) -> str:
        return self._mode

    @mode.setter
    def mode(self, value: str) -> None:
        if value not in ("scan", "loop"):
            raise ValueError(f"mode must be 'scan' or 'loop', got {value!r}")
        self._mode = value

    def reset_parameters(self) -> None:
        """Every parameter ~ U(-1/sqrt(hidden_size), 1/sqrt(hidden_size)), as torch's recurrent layers."""
        stdv = 1.0 / math.sqrt(self.hidden_size)
        for weight in self.parameters():
            nn.init.uniform_(weight, -stdv, stdv)

    def extra_repr(self) -> str:
        s = f"{self.input_size}, {self.hidden_size}"
        if self.num_layers != 1:
            s += f", num_layers={self.num_layers}"
        if not self.bias:
            s += ", bias=False"
        if self.batch_first:
            s += ", batch_first=True"
        return s + f", mode={self.mode!r}"

    def _coefficients(self, gates: Tensor) -> tuple[Tensor, Tensor]:
        raise NotImplementedError

    def forward(self, input: Tensor, h_0: Tensor | None = None):
        """Returns ``(output, h_n)``."""
        check_tensor("input", input)
        if input.dim() not in (2, 3):
            raise ValueError(f"{self._name}: Expected input to be 2D or 3D, got {input.dim()}D instead")
        weight = self.weight_ih_l0
        check_like_weight("input", input, weight)
        if input.size(-1) != self.input_size:
            raise InputError(f"input.size(-1) must be equal to input_size. Expected "
                             f"{self.input_size}, got {input.size(-1)}")
        batched = input.dim() == 3
        x = input if batched else input.unsqueeze(1)
        if batched and self.batch_first:
            x = x.transpose(0, 1)
        T, N = x.shape[0], x.shape[1]
        if T == 0:
            raise InputError(f"Expected sequence length to be larger than 0 in {self._name}")
        L, H = self.num_layers, self.hidden_size
        if h_0 is None:
            h0 = x.new_zeros(L, N, H)
        else:
            check_tensor("h_0", h_0)
            check_like_weight("h_0", h_0, weight)
            expected = (L, N, H) if batched else (L, H)
            if tuple(h_0.shape) != expected:
                meaning = "(num_layers, batch, hidden_size)" if batched else \
                    "(num_layers, hidden_size) for unbatched input"
                raise InputError(f"Expected hidden size {expected}, got {list(h_0.shape)} "
                                 f"(h_0 must be {meaning})")
            h0 = h_0 if batched else h_0.unsqueeze(1)
        finals = []
        for layer in range(L):
            w = getattr(self, f"weight_ih_l{layer}")
            gi = x.matmul(w.t())  # every step's gates in one matmul: (T, N, G*H)
            if self.bias:
                gi = gi + getattr(self, f"bias_ih_l{layer}")
            a, b = self._coefficients(gi)
            x = linear_scan(a, b, h0[layer], self.mode)
            finals.append(x[-1])
        h_n = torch.stack(finals)
        output = x
        if not batched:
            output, h_n = output.squeeze(1), h_n.squeeze(1)
        elif self.batch_first:
            output = output.transpose(0, 1)
        return output, h_n


class MinGRU(_MinRNN):
    r"""A stack of minGRU layers: :math:`h_t = z_t \odot h_{t-1} + (1 - z_t) \odot n_t` with
    :math:`z_t = \sigma(x_t W_{iz}^\top + b_{iz})`, :math:`n_t = x_t W_{in}^\top + b_{in}`.

    ``MinGRU(input_size, hidden_size, num_layers=1, bias=True, batch_first=False, device=None,
    dtype=None, *, mode='scan', negative=False)``. ``negative=True`` uses the coefficient
    :math:`a_t = 2 z_t - 1 \in (-1, 1)` (Grazzi et al. 2025) in place of :math:`z_t`.
    """

    _gates, _name = 2, "MinGRU"

    def __init__(self, input_size, hidden_size, num_layers=1, bias=True, batch_first=False,
                 device=None, dtype=None, *, mode="scan", negative=False):
        check_bool("negative", negative)
        super().__init__(input_size, hidden_size, num_layers, bias, batch_first, device, dtype,
                         mode=mode)
        self.negative = negative

    def extra_repr(self) -> str:
        return super().extra_repr() + (", negative=True" if self.negative else "")

    def _coefficients(self, gi):
        a_z, n = gi.chunk(2, -1)
        z = torch.sigmoid(a_z)
        a = 2 * z - 1 if self.negative else z
        return a, (1 - z) * n


class MinLSTM(_MinRNN):
    r"""A stack of minLSTM layers: :math:`h_t = \frac{f_t}{f_t + i_t} \odot h_{t-1} +
    \frac{i_t}{f_t + i_t} \odot g_t`, gates from the input only, :math:`g_t` without tanh.

    ``MinLSTM(input_size, hidden_size, num_layers=1, bias=True, batch_first=False, device=None,
    dtype=None, *, mode='scan')``; rows of ``weight_ih_l{k}``: i, f, g.
    """

    _gates, _name = 3, "MinLSTM"

    def _coefficients(self, gi):
        a_i, a_f, g = gi.chunk(3, -1)
        i, f = torch.sigmoid(a_i), torch.sigmoid(a_f)
        s = f + i
        return f / s, i / s * g
