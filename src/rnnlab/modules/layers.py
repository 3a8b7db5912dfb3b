r"""Multi-layer, optionally bidirectional ``RNN``, ``LSTM`` and ``GRU`` built from tensor ops.

They take torch.nn's constructor arguments, register the same parameters under the same names, in
the same order and with the same shapes, and return the same values, so ``state_dict()`` moves
between ``torch.nn.LSTM`` and ``rnnlab.modules.LSTM`` in both directions. Extra options:
``peephole`` (LSTM) and ``reset_after`` (GRU).

Symbols (torch's): :math:`L` sequence length, :math:`N` batch, :math:`D` = 2 if bidirectional
else 1, :math:`H_{in}` input_size, :math:`H` hidden_size, :math:`H_{out}` = proj_size or
:math:`H`.

- input: :math:`(L, N, H_{in})`, :math:`(N, L, H_{in})` if ``batch_first``, :math:`(L, H_{in})`
  unbatched, or a ``PackedSequence``;
- h_0 / h_n: :math:`(\text{num\_layers} \cdot D, N, H_{out})`, row ``layer * D + direction``;
  LSTM c_0 / c_n: :math:`(\text{num\_layers} \cdot D, N, H)`;
- output: :math:`(L, N, D \cdot H_{out})` (forward direction first, then reverse), or a
  ``PackedSequence`` when the input was one.

How one forward call runs: the batch is laid out as packed rows (a padded batch is the case where
every step has all :math:`N` rows); for every layer and direction the input projection of *all*
steps is one matmul (``torch.addmm``), then the time loop runs in an autograd Function with a
hand-written backward (:mod:`rnnlab.modules.recurrence`). The reverse direction reverses each
sequence within its own length, runs the same loop, and reverses the result back.
"""
from __future__ import annotations

import math
import warnings

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.nn.utils.rnn import PackedSequence

from ._errors import InputError, check_bool, check_dropout, check_like_weight, check_size, check_tensor
from .recurrence import (
    GRUChoRecurrence,
    GRURecurrence,
    LSTMRecurrence,
    RNNRecurrence,
    reverse_index,
)

_GATES = {"RNN_TANH": 1, "RNN_RELU": 1, "LSTM": 4, "GRU": 3}


class _Steps:
    """The batch sizes of one forward call and (computed once, when needed) the reversal index."""

    def __init__(self, batch_sizes: tuple[int, ...], device):
        self.batch_sizes = batch_sizes
        self.device = device
        self._reverse = None

    @property
    def reverse(self) -> Tensor:
        if self._reverse is None:
            self._reverse = reverse_index(self.batch_sizes, self.device)
        return self._reverse


class RNNBase(nn.Module):
    """What ``RNN``, ``LSTM`` and ``GRU`` share: parameters, argument checks, layers, directions."""

    _name = "RNNBase"

    def __init__(
        self,
        mode: str,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        bias: bool = True,
        batch_first: bool = False,
        dropout: float = 0.0,
        bidirectional: bool = False,
        proj_size: int = 0,
        device=None,
        dtype=None,
        *,
        peephole: bool = False,
        reset_after: bool = True,
    ) -> None:
        super().__init__()
        check_dropout(dropout)
        check_bool("bias", bias)
        check_bool("batch_first", batch_first)
        check_bool("bidirectional", bidirectional)
        check_size("input_size", input_size)
        check_size("hidden_size", hidden_size)
        check_size("num_layers", num_layers)
        if not isinstance(proj_size, int) or isinstance(proj_size, bool) or proj_size < 0:
            raise ValueError("proj_size should be a positive integer or zero to disable projections")
        if proj_size >= hidden_size:
            raise ValueError("proj_size has to be smaller than hidden_size")
        check_bool("peephole", peephole)
        check_bool("reset_after", reset_after)
        if dropout > 0 and num_layers == 1:
            warnings.warn(
                "dropout option adds dropout after all but last recurrent layer, so non-zero "
                f"dropout expects num_layers greater than 1, but got dropout={dropout} and "
                f"num_layers={num_layers}",
                stacklevel=3,
            )
        self.mode = mode
        self.input_size, self.hidden_size, self.num_layers = input_size, hidden_size, num_layers
        self.bias, self.batch_first, self.bidirectional = bias, batch_first, bidirectional
        self.dropout = float(dropout)
        self.proj_size = proj_size
        self.peephole, self.reset_after = peephole, reset_after

        factory = {"device": device, "dtype": dtype}
        G = _GATES[mode] * hidden_size
        out_size = proj_size if proj_size > 0 else hidden_size
        D = 2 if bidirectional else 1
        self._flat_weights_names: list[str] = []
        self._all_weights: list[list[str]] = []
        for layer in range(num_layers):
            for direction in range(D):
                sfx = self._suffix(layer, direction)
                in_size = input_size if layer == 0 else out_size * D
                shapes = {f"weight_ih{sfx}": (G, in_size), f"weight_hh{sfx}": (G, out_size)}
                if bias:
                    shapes.update({f"bias_ih{sfx}": (G,), f"bias_hh{sfx}": (G,)})
                if proj_size > 0:
                    shapes[f"weight_hr{sfx}"] = (proj_size, hidden_size)
                if peephole:  # extra, not in torch: the diagonal peephole weights
                    for gate in ("ci", "cf", "co"):
                        shapes[f"weight_{gate}{sfx}"] = (hidden_size,)
                for name, shape in shapes.items():
                    setattr(self, name, nn.Parameter(torch.empty(shape, **factory)))
                self._flat_weights_names.extend(shapes)
                self._all_weights.append(list(shapes))
        self.reset_parameters()

    # ------------------------------------------------------------------ parameters
    @staticmethod
    def _suffix(layer: int, direction: int) -> str:
        return f"_l{layer}" + ("_reverse" if direction == 1 else "")

    def reset_parameters(self) -> None:
        """Every parameter ~ U(-1/sqrt(hidden_size), 1/sqrt(hidden_size)), in torch's order.

        Drawn in the registration order of ``torch.nn``, so after ``torch.manual_seed(s)`` a model
        built here starts with exactly the weights of the same ``torch.nn`` model.
        """
        stdv = 1.0 / math.sqrt(self.hidden_size)
        for weight in self.parameters():
            nn.init.uniform_(weight, -stdv, stdv)

    @property
    def all_weights(self) -> list[list[nn.Parameter]]:
        """The parameters grouped by (layer, direction), as ``torch.nn.RNNBase.all_weights``."""
        return [[getattr(self, name) for name in names] for names in self._all_weights]

    def flatten_parameters(self) -> None:
        """A no-op kept for compatibility: cuDNN's flat weight buffer does not exist here."""

    def extra_repr(self) -> str:
        s = f"{self.input_size}, {self.hidden_size}"
        if self.proj_size != 0:
            s += f", proj_size={self.proj_size}"
        if self.num_layers != 1:
            s += f", num_layers={self.num_layers}"
        if self.bias is not True:
            s += f", bias={self.bias}"
        if self.batch_first is not False:
            s += f", batch_first={self.batch_first}"
        if self.dropout != 0:
            s += f", dropout={self.dropout}"
        if self.bidirectional is not False:
            s += f", bidirectional={self.bidirectional}"
        if self.peephole:
            s += ", peephole=True"
        if not self.reset_after:
            s += ", reset_after=False"
        return s

    # ------------------------------------------------------------------ forward
    def forward(self, input, hx=None):
        """Run the stack over a sequence. Returns ``(output, h_n)``; LSTM ``(output, (h_n, c_n))``."""
        weight = self.weight_ih_l0
        packed = isinstance(input, PackedSequence)
        if packed:
            data, batch_sizes_t, sorted_indices, unsorted_indices = input
            check_like_weight("input", data, weight)
            if data.dim() != 2:
                raise InputError(f"input must have 2 dimensions, got {data.dim()} (PackedSequence data)")
            batch_sizes = tuple(int(b) for b in batch_sizes_t.tolist())
            batched, B = True, batch_sizes[0]
        else:
            check_tensor("input", input)
            if input.dim() not in (2, 3):
                tensor = " tensor" if self._name == "RNN" else ""
                raise ValueError(
                    f"{self._name}: Expected input to be 2D or 3D, got {input.dim()}D{tensor} instead"
                )
            batched = input.dim() == 3
            batch_dim = 0 if self.batch_first else 1
            x = input if batched else input.unsqueeze(batch_dim)
            x = x.transpose(0, 1) if self.batch_first else x  # (T, B, I): time first
            T, B = x.shape[0], x.shape[1]
            sorted_indices = unsorted_indices = None
            check_like_weight("input", x, weight)
        feature = data.size(-1) if packed else x.size(-1)
        if feature != self.input_size:
            raise InputError(
                f"input.size(-1) must be equal to input_size. Expected {self.input_size}, "
                f"got {feature}"
            )
        if not packed:
            if T == 0:
                raise InputError("Expected sequence length to be larger than 0 in RNN")
            data, batch_sizes = x.reshape(T * B, self.input_size), (B,) * T
        states = self._initial_states(hx, B, batched, data)
        if sorted_indices is not None:  # hx is given in the caller's order
            states = tuple(s.index_select(1, sorted_indices) for s in states)

        out, finals = self._stack(data, _Steps(batch_sizes, data.device), states)

        if unsorted_indices is not None:
            finals = tuple(s.index_select(1, unsorted_indices) for s in finals)
        if packed:
            output = PackedSequence(out, batch_sizes_t, sorted_indices, unsorted_indices)
        else:
            output = out.view(T, B, out.shape[-1])
            if self.batch_first:
                output = output.transpose(0, 1)
            if not batched:
                output = output.squeeze(batch_dim)
                finals = tuple(s.squeeze(1) for s in finals)
        return output, (finals if self.mode == "LSTM" else finals[0])

    def _state_shapes(self, B: int) -> list[tuple[int, int, int]]:
        D = 2 if self.bidirectional else 1
        h = (self.num_layers * D, B, self.proj_size or self.hidden_size)
        return [h, (self.num_layers * D, B, self.hidden_size)] if self.mode == "LSTM" else [h]

    def _initial_states(self, hx, B: int, batched: bool, data: Tensor) -> tuple[Tensor, ...]:
        """Validate ``hx`` (or make zeros) and return the state tensors, batched: (L*D, B, ·)."""
        shapes = self._state_shapes(B)
        if hx is None:
            return tuple(data.new_zeros(shape) for shape in shapes)
        lstm = self.mode == "LSTM"
        if lstm:
            if not isinstance(hx, (tuple, list)) or len(hx) != 2:
                raise TypeError(
                    f"LSTM: hx must be a tuple (h_0, c_0) of two tensors, got {type(hx).__name__}"
                )
            names, states = ("hx[0]", "hx[1]"), tuple(hx)
        else:
            names, states = ("hx",), (hx,)
        for name, s in zip(names, states):
            check_tensor(name, s)
        want = 3 if batched else 2
        if any(s.dim() != want for s in states):
            kind = "batched 3-D" if batched else "unbatched 2-D"
            if lstm:
                got = ", ".join(f"{s.dim()}-D" for s in states)
                raise InputError(
                    f"For {kind} input, hx and cx should also be {want}-D but got ({got}) tensors"
                )
            raise InputError(
                f"For {kind} input, hx should also be {want}-D but got {hx.dim()}-D tensor"
            )
        if not batched:
            states = tuple(s.unsqueeze(1) for s in states)
        for k, (name, s, shape) in enumerate(zip(names, states, shapes)):
            check_like_weight(name, s, self.weight_ih_l0)
            if tuple(s.shape) != shape:
                what = f"hidden[{k}] size" if lstm else "hidden size"
                meaning = "(num_layers * num_directions, batch, "
                meaning += "hidden_size)" if k == 1 or not self.proj_size else "proj_size)"
                raise InputError(
                    f"Expected {what} {shape}, got {list(s.shape)} ({name} must be {meaning})"
                )
        return states

    def _stack(self, data: Tensor, steps: _Steps, states: tuple[Tensor, ...]):
        """Layer after layer, each direction in turn; dropout between layers when training."""
        D = 2 if self.bidirectional else 1
        finals: list[list[Tensor]] = [[] for _ in states]
        x = data
        for layer in range(self.num_layers):
            outs = []
            for direction in range(D):
                k = layer * D + direction
                sfx = self._suffix(layer, direction)
                state = [s[k] for s in states]
                if direction == 1:  # each sequence read from its own last step
                    out, *fin = self._recur(x.index_select(0, steps.reverse), steps, state, sfx)
                    out = out.index_select(0, steps.reverse)
                else:
                    out, *fin = self._recur(x, steps, state, sfx)
                outs.append(out)
                for lst, f in zip(finals, fin):
                    lst.append(f)
            x = outs[0] if D == 1 else torch.cat(outs, 1)
            if self.dropout > 0 and self.training and layer < self.num_layers - 1:
                x = F.dropout(x, self.dropout, training=True)
        return x, tuple(torch.stack(f) for f in finals)

    def _project(self, x: Tensor, sfx: str, with_bias_hh: bool) -> Tensor:
        """The input projection of all steps at once: x W_ih^T + b_ih (+ b_hh), one matmul."""
        w_ih = getattr(self, f"weight_ih{sfx}")
        if not self.bias:
            return x.mm(w_ih.t())
        b = getattr(self, f"bias_ih{sfx}")
        if with_bias_hh:
            b = b + getattr(self, f"bias_hh{sfx}")
        return torch.addmm(b, x, w_ih.t())

    def _recur(self, x: Tensor, steps: _Steps, state: list[Tensor], sfx: str):
        raise NotImplementedError


class RNN(RNNBase):
    r"""Elman RNN: :math:`h_t = \tanh(x_t W_{ih}^T + b_{ih} + h_{t-1} W_{hh}^T + b_{hh})`.

    ``nonlinearity='relu'`` uses ReLU. Arguments, parameters, inputs and outputs as
    ``torch.nn.RNN`` (see the module docstring for shapes).
    """

    _name = "RNN"

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        nonlinearity: str = "tanh",
        bias: bool = True,
        batch_first: bool = False,
        dropout: float = 0.0,
        bidirectional: bool = False,
        device=None,
        dtype=None,
        *,
        proj_size=None,
    ) -> None:
        if proj_size is not None:
            raise ValueError("proj_size argument is only supported for LSTM, not RNN or GRU")
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(
                f"Unknown nonlinearity '{nonlinearity}'. Select from 'tanh' or 'relu'."
            )
        self.nonlinearity = nonlinearity
        mode = "RNN_TANH" if nonlinearity == "tanh" else "RNN_RELU"
        super().__init__(
            mode, input_size, hidden_size, num_layers, bias, batch_first, dropout, bidirectional,
            0, device, dtype,
        )

    def _recur(self, x, steps, state, sfx):
        xproj = self._project(x, sfx, with_bias_hh=True)
        w_hh = getattr(self, f"weight_hh{sfx}")
        return RNNRecurrence.apply(xproj, state[0], w_hh, self.nonlinearity, steps.batch_sizes)


class LSTM(RNNBase):
    r"""LSTM, gates in torch's order i, f, g, o (equations in :func:`rnnlab.modules.lstm_cell`).

    Arguments, parameters, inputs and outputs as ``torch.nn.LSTM``, including ``proj_size``.
    ``peephole=True`` adds Gers & Schmidhuber's (2000) peephole connections: the input and forget
    gates see :math:`c_{t-1}`, the output gate sees :math:`c_t`, through diagonal weights
    registered as ``weight_ci_l{k}``, ``weight_cf_l{k}``, ``weight_co_l{k}`` (shape (H,), plus
    ``_reverse``) after torch's parameters of the same layer and direction.
    """

    _name = "LSTM"

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        bias: bool = True,
        batch_first: bool = False,
        dropout: float = 0.0,
        bidirectional: bool = False,
        proj_size: int = 0,
        device=None,
        dtype=None,
        *,
        peephole: bool = False,
    ) -> None:
        super().__init__(
            "LSTM", input_size, hidden_size, num_layers, bias, batch_first, dropout,
            bidirectional, proj_size, device, dtype, peephole=peephole,
        )

    def _recur(self, x, steps, state, sfx):
        xproj = self._project(x, sfx, with_bias_hh=True)
        get = lambda name: getattr(self, f"{name}{sfx}")  # noqa: E731
        peep = [get(n) for n in ("weight_ci", "weight_cf", "weight_co")] if self.peephole else [None] * 3
        w_hr = get("weight_hr") if self.proj_size else None
        return LSTMRecurrence.apply(
            xproj, state[0], state[1], get("weight_hh"), *peep, w_hr, steps.batch_sizes
        )


class GRU(RNNBase):
    r"""GRU, gates in torch's order r, z, n (equations in :func:`rnnlab.modules.gru_cell`).

    Arguments, parameters, inputs and outputs as ``torch.nn.GRU``. ``reset_after=True`` is torch's
    form (reset gate applied to :math:`W_{hn} h_{t-1} + b_{hn}`); ``reset_after=False`` is Cho et
    al. (2014), the reset gate applied to :math:`h_{t-1}` before the recurrent matmul. Both have
    the same parameters.
    """

    _name = "GRU"

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        bias: bool = True,
        batch_first: bool = False,
        dropout: float = 0.0,
        bidirectional: bool = False,
        device=None,
        dtype=None,
        *,
        reset_after: bool = True,
        proj_size=None,
    ) -> None:
        if proj_size is not None:
            raise ValueError("proj_size argument is only supported for LSTM, not RNN or GRU")
        super().__init__(
            "GRU", input_size, hidden_size, num_layers, bias, batch_first, dropout, bidirectional,
            0, device, dtype, reset_after=reset_after,
        )

    def _recur(self, x, steps, state, sfx):
        w_hh = getattr(self, f"weight_hh{sfx}")
        if self.reset_after:  # b_hn sits inside r ⊙ (·): only b_ih goes into the projection
            xproj = self._project(x, sfx, with_bias_hh=False)
            b_hh = getattr(self, f"bias_hh{sfx}") if self.bias else None
            return GRURecurrence.apply(xproj, state[0], w_hh, b_hh, steps.batch_sizes)
        xproj = self._project(x, sfx, with_bias_hh=True)
        return GRUChoRecurrence.apply(xproj, state[0], w_hh, steps.batch_sizes)
