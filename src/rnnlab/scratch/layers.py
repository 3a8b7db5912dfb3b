r"""Multi-layer, optionally bidirectional recurrent layers in numpy, with full BPTT.

``RNN``, ``LSTM`` and ``GRU`` take torch.nn's constructor arguments, use its parameter names and
shapes and return its output shapes, so state dicts move both ways unchanged:

======  =====================================================================================
N       batch size
T       sequence length (time steps)
I       ``input_size``
H       ``hidden_size``
D       number of directions (2 if ``bidirectional`` else 1)
L       ``num_layers``
G       gates per cell: 1 (RNN), 4 (LSTM, order i f g o), 3 (GRU, order r z n)
======  =====================================================================================

- ``weight_ih_l{k}{suffix}``: (G*H, I) for k = 0, (G*H, D*H) above; ``weight_hh_l{k}{suffix}``:
  (G*H, H); ``bias_ih_l{k}{suffix}``, ``bias_hh_l{k}{suffix}``: (G*H,); suffix ``""`` or
  ``"_reverse"``. LSTM peepholes add ``weight_ci_l{k}{suffix}``, ``weight_cf_...``, ``weight_co_...``
  (H,), keys torch does not have.
- ``forward(input, hx=None, lengths=None)``: input (T, N, I), (N, T, I) with ``batch_first``, or
  unbatched (T, I). Returns output (T, N, D*H) (layout like the input) and h_n (L*D, N, H),
  ordered layer-major then direction (index ``layer * D + direction``); the LSTM returns
  ``(output, (h_n, c_n))``.
- ``backward(d_output, d_h_n=None)``: backpropagation through time through the whole stack.
  Returns dL/d(input) and stores ``.grads`` (keys of ``.params``; overwritten, not accumulated,
  by each call) and ``.d_hx`` (dL/d(initial state); a tuple (dh0, dc0) for the LSTM).

How a layer runs: for each layer and direction, one matmul per gate projects the inputs of every
step at once (x W_ih^T + b), into a *gate-major* array (G, T, N, H) whose block k holds gate k of
every step; the cell's fast loop (``rnn.py``, ``lstm.py``, ``gru.py``) then does one matmul call
per step for the recurrence, on contiguous (N, H) blocks. The reverse direction runs the same loop
on the input read backwards in time (one copy of the input) and on reversed *views* of the
output gradient (``a[::-1]``).

Variable lengths: with ``lengths`` (one int in 1..T per sequence), padded steps leave the state
unchanged and get no gradient, outputs there are 0 (as ``pad_packed_sequence`` gives), h_n is the
state at each sequence's true end, and the reverse direction starts at each sequence's true end
(its padded steps come first in its time order and leave its initial state untouched).
"""
from __future__ import annotations

import warnings
from typing import Any, Mapping, NamedTuple

import numpy as np

from rnnlab._args import check_int
from rnnlab.scratch import gru as _gru
from rnnlab.scratch import lstm as _lstm
from rnnlab.scratch import rnn as _rnn
from rnnlab.scratch._validate import (
    float_array,
    float_dtype,
    lengths_array,
    to_numpy,
)


class IncompatibleKeys(NamedTuple):
    """What :meth:`load_state_dict` returns, like torch's ``_IncompatibleKeys``."""

    missing_keys: list
    unexpected_keys: list


class _Cache(NamedTuple):
    batched: bool
    shape: tuple  # output shape as returned to the user
    pad: np.ndarray | None  # (T, N, 1) bool, True at padded steps
    inputs: list  # per layer, (T, N, in) time-major contiguous input
    dir_caches: list  # per layer, per direction: (input rows in the loop's time order, loop cache)
    masks: list  # per layer below the top: dropout mask (T, N, D*H) or None


class _RecurrentLayer:
    """Shared machinery of RNN, LSTM and GRU (constructor, parameters, stacking, directions)."""

    _gates = 1
    _gate_order: tuple | None = None  # the cell loop's order of the gate blocks, if not torch's
    _name = "RNN"
    _n_states = 1  # 2 for the LSTM: (h, c)

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        bias: bool = True,
        batch_first: bool = False,
        dropout: float = 0.0,
        bidirectional: bool = False,
        *,
        dtype: Any = np.float64,
        seed: int | None = None,
        rng: np.random.Generator | None = None,
    ) -> None:
        self.input_size = check_int("input_size", input_size, 1, torch_words=True)
        self.hidden_size = check_int("hidden_size", hidden_size, 1, torch_words=True)
        self.num_layers = check_int("num_layers", num_layers, 1, torch_words=True)
        for name, value in (("bias", bias), ("batch_first", batch_first),
                            ("bidirectional", bidirectional)):
            if not isinstance(value, (bool, np.bool_)):
                raise TypeError(f"{name} should be of type bool, got: {type(value).__name__}")
        self.bias, self.batch_first = bool(bias), bool(batch_first)
        self.bidirectional = bool(bidirectional)
        if isinstance(dropout, bool) or not isinstance(dropout, (int, float, np.floating)) or not (
            0 <= dropout <= 1
        ):
            raise ValueError(
                "dropout should be a number in range [0, 1] representing the probability of an "
                f"element being zeroed, got {dropout!r}"
            )
        self.dropout = float(dropout)
        if self.dropout > 0 and self.num_layers == 1:
            warnings.warn(
                "dropout option adds dropout after all but last recurrent layer, so non-zero "
                f"dropout expects num_layers greater than 1, but got dropout={dropout} and "
                f"num_layers={num_layers}",
                stacklevel=3,
            )
        self.dtype = float_dtype(dtype)
        if rng is not None and seed is not None:
            raise ValueError("pass either seed or rng, not both")
        if rng is not None and not isinstance(rng, np.random.Generator):
            raise TypeError(f"rng must be a numpy.random.Generator, got {type(rng).__name__}")
        self.rng = rng if rng is not None else np.random.default_rng(seed)
        self.training = True
        self.params: dict[str, np.ndarray] = {}
        self.grads: dict[str, np.ndarray] = {}
        self.d_hx: Any = None
        self._cache: _Cache | None = None
        k = 1.0 / np.sqrt(self.hidden_size)  # torch's init: U(-1/sqrt(H), 1/sqrt(H)) for all
        for name, shape in self._param_shapes():
            self.params[name] = self.rng.uniform(-k, k, size=shape).astype(self.dtype)

    # ------------------------------------------------------------------ parameters
    @property
    def num_directions(self) -> int:
        return 2 if self.bidirectional else 1

    def _extra_params(self) -> tuple[str, ...]:
        """Names (without layer suffix) of (H,) parameters beyond torch's (LSTM peepholes)."""
        return ()

    def _param_shapes(self):
        G, H, D = self._gates, self.hidden_size, self.num_directions
        for layer in range(self.num_layers):
            in_size = self.input_size if layer == 0 else H * D
            for direction in range(D):
                sfx = f"_l{layer}" + ("_reverse" if direction else "")
                yield f"weight_ih{sfx}", (G * H, in_size)
                yield f"weight_hh{sfx}", (G * H, H)
                if self.bias:
                    yield f"bias_ih{sfx}", (G * H,)
                    yield f"bias_hh{sfx}", (G * H,)
                for extra in self._extra_params():
                    yield f"{extra}{sfx}", (H,)

    def _dir_params(self, layer: int, direction: int) -> dict[str, np.ndarray | None]:
        sfx = f"_l{layer}" + ("_reverse" if direction else "")
        names = ("weight_ih", "weight_hh", "bias_ih", "bias_hh") + self._extra_params()
        return {n: self.params.get(n + sfx) for n in names}

    def state_dict(self) -> dict[str, np.ndarray]:
        """A dict of copies of the parameters, keyed like ``torch.nn``'s ``state_dict()``."""
        return {k: v.copy() for k, v in self.params.items()}

    def load_state_dict(self, state_dict: Mapping[str, Any], strict: bool = True) -> IncompatibleKeys:
        """Copy parameters in place from a mapping of numpy arrays or (CPU/CUDA) torch tensors.

        Keys and shapes are checked like torch does: with ``strict`` every key of ``.params`` must
        be present and no other key; a shape mismatch is always an error. Values are cast to the
        layer's dtype. Returns ``(missing_keys, unexpected_keys)``.
        """
        if not isinstance(state_dict, Mapping):
            raise TypeError(
                f"state_dict must be a mapping (dict) of arrays, got {type(state_dict).__name__}"
            )
        missing = [k for k in self.params if k not in state_dict]
        unexpected = [k for k in state_dict if k not in self.params]
        errors = []
        if strict and missing:
            hint = ""
            if any(k.startswith("weight_c") for k in missing):
                hint = " (a torch.nn.LSTM has no peephole weights: use strict=False to keep ours)"
            errors.append("Missing key(s) in state_dict: "
                          + ", ".join(f'"{k}"' for k in missing) + hint)
        if strict and unexpected:
            errors.append("Unexpected key(s) in state_dict: "
                          + ", ".join(f'"{k}"' for k in unexpected))
        values = {}
        for k in self.params:
            if k not in state_dict:
                continue
            v = to_numpy(state_dict[k])
            if v.shape != self.params[k].shape:
                errors.append(
                    f"size mismatch for {k}: copying a param with shape {v.shape} from checkpoint,"
                    f" the shape in current model is {self.params[k].shape}."
                )
            elif v.dtype.kind not in "fiu":
                errors.append(f"{k} must hold real numbers, got dtype {v.dtype}")
            values[k] = v
        if errors:
            raise ValueError(
                f"Error(s) in loading state_dict for {self._name}:\n\t" + "\n\t".join(errors)
            )
        for k, v in values.items():
            self.params[k][...] = v  # in place: references to self.params[k] stay valid
        return IncompatibleKeys(missing, unexpected)

    # ------------------------------------------------------------------ modes
    def train(self, mode: bool = True):
        """Training mode (dropout between layers active); returns self, like torch."""
        self.training = bool(mode)
        return self

    def eval(self):
        """Evaluation mode: no dropout, the forward pass is deterministic."""
        return self.train(False)

    def __call__(self, input, hx=None, lengths=None):
        return self.forward(input, hx, lengths)

    def __repr__(self) -> str:
        s = f"{self._name}({self.input_size}, {self.hidden_size}"
        if self.num_layers != 1:
            s += f", num_layers={self.num_layers}"
        if not self.bias:
            s += ", bias=False"
        if self.batch_first:
            s += ", batch_first=True"
        if self.dropout:
            s += f", dropout={self.dropout}"
        if self.bidirectional:
            s += ", bidirectional=True"
        return s + self._extra_repr() + ")"

    def _extra_repr(self) -> str:
        return ""

    # ------------------------------------------------------------------ cell hooks
    def _input_bias(self, p):  # the bias folded into the input projection
        if p["bias_ih"] is None:
            return None
        return p["bias_ih"] + p["bias_hh"]

    def _forward_dir(self, xproj, state0, p, pad):  # -> (hs, states_n tuple, cache)
        raise NotImplementedError

    def _backward_dir(self, d_hs, d_state_n, cache, p, pad):  # -> (d_xproj, d_state0, grads)
        raise NotImplementedError

    def _project(self, x2d, p, T, N):
        """x W_ih^T + b for every step and gate at once, gate-major: (G, T, N, H).

        x2d: (T*N, in). One matmul per gate, all in one np.matmul call.
        """
        G, H = self._gates, self.hidden_size
        w = self._gate_blocks(p["weight_ih"])  # (G, H, in)
        b = self._input_bias(p)
        if b is not None:
            # the bias as the weight of one more input that is always 1: the matmul adds it,
            # which is cheaper than a separate pass over the (G, T*N, H) result
            x1 = np.empty((T * N, x2d.shape[1] + 1), dtype=x2d.dtype)
            x1[:, :-1], x1[:, -1] = x2d, 1.0
            x2d, w = x1, np.concatenate([w, self._gate_blocks(b)[:, :, None]], axis=2)
        xproj = np.matmul(x2d, w.transpose(0, 2, 1))  # (G, T*N, H): x @ w[k]^T = x W_k^T
        return xproj.reshape(G, T, N, H)

    def _gate_blocks(self, w, inverse=False):
        """(G*H, ...) stacked like torch -> (G, H, ...) blocks in the cell loop's order.

        ``inverse=True``: the way back, (G, H, ...) blocks in the loop's order -> (G*H, ...).
        """
        G, H = self._gates, self.hidden_size
        order = self._gate_order
        if inverse:
            if order is not None:
                w = w[list(np.argsort(order))]
            return w.reshape(G * H, *w.shape[2:])
        w = w.reshape(G, H, *w.shape[1:])
        return w if order is None else w[list(order)]

    # ------------------------------------------------------------------ forward
    def _check_hx(self, hx, batched: bool, N: int) -> tuple[np.ndarray, ...]:
        """Initial states as a tuple of (L*D, N, H) arrays (zeros when hx is None)."""
        shape = (self.num_layers * self.num_directions, N, self.hidden_size)
        if hx is None:
            return tuple(np.zeros(shape, dtype=self.dtype) for _ in range(self._n_states))
        if self._n_states == 2:
            if not isinstance(hx, (tuple, list)) or len(hx) != 2:
                raise TypeError(f"hx must be a tuple (h_0, c_0) for LSTM, got {type(hx).__name__}")
            names = ("hx[0]", "hx[1]")
            arrays = [float_array(v, n, self.dtype) for v, n in zip(hx, names)]
        else:
            if isinstance(hx, (tuple, list)):
                raise TypeError(f"hx must be an array for {self._name}, got {type(hx).__name__}")
            arrays = [float_array(hx, "hx", self.dtype)]
        want = 3 if batched else 2
        dims = [a.ndim for a in arrays]
        if any(d != want for d in dims):
            kind = "batched 3-D" if batched else "unbatched 2-D"
            if self._n_states == 2:
                raise ValueError(
                    f"For {kind} input, hx and cx should also be {want}-D but got "
                    f"({dims[0]}-D, {dims[1]}-D) tensors"
                )
            raise ValueError(f"For {kind} input, hx should also be {want}-D but got {dims[0]}-D tensor")
        expected = shape if batched else (shape[0], shape[2])
        out = []
        for k, a in enumerate(arrays):
            if a.shape != expected:
                what = f"hidden[{k}]" if self._n_states == 2 else "hidden"
                raise ValueError(
                    f"Expected {what} size {expected}, got {a.shape} "
                    "(hx is (num_layers * num_directions, batch, hidden_size))"
                )
            out.append(a.reshape(shape))
        return tuple(out)

    def forward(self, input, hx=None, lengths=None):
        """Run the stack over a sequence. See the module docstring for shapes.

        ``input`` of another float dtype is cast to the layer's dtype; integer input is an error.
        """
        x = float_array(input, "input")
        if x.ndim not in (2, 3):
            raise ValueError(f"{self._name}: Expected input to be 2D or 3D, got {x.ndim}D instead")
        if x.shape[-1] != self.input_size:
            raise ValueError(
                f"input.size(-1) must be equal to input_size. Expected {self.input_size}, "
                f"got {x.shape[-1]}"
            )
        x = x.astype(self.dtype, copy=False)
        batched = x.ndim == 3
        if not batched:
            xt = x[:, None, :]
        else:
            xt = x.transpose(1, 0, 2) if self.batch_first else x
        T, N = xt.shape[:2]
        if T == 0 or N == 0:
            raise ValueError(f"input must have at least one time step and one sequence, got shape {x.shape}")
        states0 = self._check_hx(hx, batched, N)
        pad = None
        if lengths is not None:
            lens = lengths_array(lengths, N, T)
            if np.any(lens < T):
                pad = (np.arange(T)[:, None] >= lens[None, :])[:, :, None]  # (T, N, 1)
        layer_in = np.ascontiguousarray(xt) if pad is None else np.where(pad, 0.0, xt).astype(self.dtype)

        L, D, H = self.num_layers, self.num_directions, self.hidden_size
        finals = [np.empty((L * D, N, H), dtype=self.dtype) for _ in range(self._n_states)]
        inputs, dir_caches, masks = [], [], []
        for layer in range(L):
            inputs.append(layer_in)
            out = np.empty((T, N, D * H), dtype=self.dtype)
            caches = []
            for direction in range(D):
                idx = layer * D + direction
                p = self._dir_params(layer, direction)
                rev = direction == 1
                # the reverse direction reads time backwards: its input rows in that order
                x_dir = np.ascontiguousarray(layer_in[::-1]) if rev else layer_in
                x2d = x_dir.reshape(T * N, -1)
                hs, states_n, cache = self._forward_dir(
                    self._project(x2d, p, T, N),
                    tuple(s[idx] for s in states0),
                    p,
                    None if pad is None else (pad[::-1] if rev else pad),
                )
                out[:, :, direction * H : (direction + 1) * H] = hs[:0:-1] if rev else hs[1:]
                for f, s in zip(finals, states_n):
                    f[idx] = s
                caches.append((x2d, cache))
            if pad is not None:
                np.copyto(out, 0.0, where=pad)  # outputs at padded steps are 0
            dir_caches.append(caches)
            mask = None
            if layer < L - 1 and self.training and self.dropout > 0:
                keep = self.rng.random(out.shape) >= self.dropout
                mask = keep / (1.0 - self.dropout) if self.dropout < 1 else np.zeros(out.shape)
                mask = mask.astype(self.dtype)
                out = out * mask  # inverted dropout between layers, as torch does
            masks.append(mask)
            layer_in = out

        output = layer_in
        if not batched:
            output, finals = output[:, 0], [f[:, 0] for f in finals]
        elif self.batch_first:
            output = output.transpose(1, 0, 2)
        self._cache = _Cache(batched, output.shape, pad, inputs, dir_caches, masks)
        h_n = finals[0] if self._n_states == 1 else tuple(finals)
        return output, h_n

    # ------------------------------------------------------------------ backward
    def _to_time_major(self, arr, batched):
        if not batched:
            return arr[:, None, :]
        return arr.transpose(1, 0, 2) if self.batch_first else arr

    def _check_d_h_n(self, d_h_n, batched, N):
        shape = (self.num_layers * self.num_directions, N, self.hidden_size)
        user_shape = shape if batched else (shape[0], shape[2])
        if self._n_states == 2:
            if d_h_n is None:
                d_h_n = (None, None)
            if not isinstance(d_h_n, (tuple, list)) or len(d_h_n) != 2:
                raise TypeError(
                    f"d_h_n must be a tuple (d_h_n, d_c_n) for LSTM (either may be None), "
                    f"got {type(d_h_n).__name__}"
                )
            items, names = list(d_h_n), ("d_h_n[0]", "d_h_n[1]")
        else:
            items, names = [d_h_n], ("d_h_n",)
        out = []
        for v, name in zip(items, names):
            if v is None:
                out.append(np.zeros(shape, dtype=self.dtype))
                continue
            v = float_array(v, name, self.dtype)
            if v.shape != user_shape:
                raise ValueError(f"{name} must have the shape of h_n {user_shape}, got {v.shape}")
            out.append(v.reshape(shape))
        return out

    def backward(self, d_output, d_h_n=None):
        """Backpropagation through time through every layer and direction of the last forward.

        d_output: dL/d(output), the shape of ``output`` (or None for zero).
        d_h_n: dL/d(h_n) (LSTM: a tuple (dL/dh_n, dL/dc_n), either may be None), or None.
        Returns dL/d(input) in the input's layout; sets ``.grads`` and ``.d_hx``.
        """
        c = self._cache
        if c is None:
            raise RuntimeError("backward() needs a forward() first: there is nothing to differentiate")
        T, N = c.inputs[0].shape[:2]
        if d_output is None:
            d_out = np.zeros((T, N, self.num_directions * self.hidden_size), dtype=self.dtype)
        else:
            d_output = float_array(d_output, "d_output", self.dtype)
            if d_output.shape != c.shape:
                raise ValueError(f"d_output must have the shape of output {c.shape}, got {d_output.shape}")
            d_out = self._to_time_major(d_output, c.batched)
        if c.pad is not None:
            d_out = np.where(c.pad, 0.0, d_out).astype(self.dtype)  # padded outputs are constants
        d_finals = self._check_d_h_n(d_h_n, c.batched, N)

        L, D, H = self.num_layers, self.num_directions, self.hidden_size
        d_hx = [np.empty_like(d) for d in d_finals]
        grads: dict[str, np.ndarray] = {}
        G = self._gates
        for layer in range(L - 1, -1, -1):
            layer_in = c.inputs[layer]
            d_in = None
            for direction in range(D):
                idx = layer * D + direction
                rev = direction == 1
                sfx = f"_l{layer}" + ("_reverse" if rev else "")
                p = self._dir_params(layer, direction)
                d_hs = d_out[:, :, direction * H : (direction + 1) * H]
                x2d, cache = c.dir_caches[layer][direction]
                d_xproj, d_state0, g = self._backward_dir(
                    d_hs[::-1] if rev else d_hs,
                    tuple(d[idx] for d in d_finals),
                    cache,
                    p,
                    None if c.pad is None else (c.pad[::-1] if rev else c.pad),
                )
                # d_xproj: (G, T, N, H) gate-major, in the loop's time order, like x2d's rows
                flat = d_xproj.reshape(G, T * N, H)
                dw_ih = np.matmul(flat.transpose(0, 2, 1), x2d)  # (G, H, in): gate k's dW_ih
                grads[f"weight_ih{sfx}"] = self._gate_blocks(dw_ih, inverse=True)
                grads[f"weight_hh{sfx}"] = g.pop("weight_hh")
                if self.bias:
                    grads[f"bias_ih{sfx}"] = self._gate_blocks(flat.sum(axis=1), inverse=True)
                    grads[f"bias_hh{sfx}"] = g.pop("bias_hh", None)
                    if grads[f"bias_hh{sfx}"] is None:  # b_hh enters exactly like b_ih
                        grads[f"bias_hh{sfx}"] = grads[f"bias_ih{sfx}"].copy()
                g.pop("bias_hh", None)
                for name, value in g.items():
                    grads[name + sfx] = value
                # dL/dx = sum over gates of d_xproj_k W_ih,k
                d_x = np.matmul(flat, self._gate_blocks(p["weight_ih"])).sum(axis=0)
                d_x = d_x.reshape(layer_in.shape)
                if rev:
                    d_x = d_x[::-1]  # back to time order
                if d_in is None:
                    d_in = np.ascontiguousarray(d_x)
                else:
                    d_in += d_x
                for dst, src in zip(d_hx, d_state0):
                    dst[idx] = src
            if layer > 0:
                mask = c.masks[layer - 1]
                d_out = d_in if mask is None else d_in * mask
        dx = d_in
        self.grads = {k: grads[k] for k in self.params}
        if not c.batched:
            dx, d_hx = dx[:, 0], [d[:, 0] for d in d_hx]
        elif self.batch_first:
            dx = dx.transpose(1, 0, 2)
        self.d_hx = d_hx[0] if self._n_states == 1 else tuple(d_hx)
        return dx


class RNN(_RecurrentLayer):
    r"""Elman RNN, ``h_t = phi(x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh)``, like ``torch.nn.RNN``.

    Constructor as torch's (``nonlinearity`` is the fourth positional argument there too):
    ``RNN(input_size, hidden_size, num_layers=1, nonlinearity='tanh', bias=True,
    batch_first=False, dropout=0.0, bidirectional=False, *, dtype=np.float64, seed=None,
    rng=None)``. See :mod:`rnnlab.scratch.layers` for shapes.
    """

    _gates, _name = 1, "RNN"

    def __init__(self, input_size, hidden_size, num_layers=1, nonlinearity="tanh", bias=True,
                 batch_first=False, dropout=0.0, bidirectional=False, *, dtype=np.float64,
                 seed=None, rng=None):
        self.nonlinearity = _rnn._check_nonlinearity(nonlinearity)
        super().__init__(input_size, hidden_size, num_layers, bias, batch_first, dropout,
                         bidirectional, dtype=dtype, seed=seed, rng=rng)

    @property
    def mode(self) -> str:
        return "RNN_TANH" if self.nonlinearity == "tanh" else "RNN_RELU"

    def _extra_repr(self):
        return "" if self.nonlinearity == "tanh" else ", nonlinearity='relu'"

    def _forward_dir(self, xproj, state0, p, pad):
        hs = _rnn.forward_sequence(xproj[0], state0[0], p["weight_hh"], pad, self.nonlinearity)
        return hs, (hs[-1],), hs

    def _backward_dir(self, d_hs, d_state_n, cache, p, pad):
        da, dh0, dw_hh = _rnn.backward_sequence(
            d_hs, d_state_n[0], cache, p["weight_hh"], pad, self.nonlinearity
        )
        return da[None], (dh0,), {"weight_hh": dw_hh}


class LSTM(_RecurrentLayer):
    r"""LSTM like ``torch.nn.LSTM`` (gate order i, f, g, o), with optional peepholes.

    ``LSTM(input_size, hidden_size, num_layers=1, bias=True, batch_first=False, dropout=0.0,
    bidirectional=False, proj_size=0, *, peephole=False, dtype=np.float64, seed=None, rng=None)``.
    ``proj_size`` (torch's projection of h_t) exists only to say clearly that this layer has no
    projection: any value but 0 raises a ValueError pointing to ``rnnlab.modules.LSTM``.
    ``forward`` returns ``(output, (h_n, c_n))``; ``hx`` is a tuple ``(h_0, c_0)``;
    ``backward(d_output, d_h_n=(dh_n, dc_n))``; ``.d_hx`` is ``(dh_0, dc_0)``.
    With ``peephole=True`` (Gers & Schmidhuber 2000) each layer and direction has three more
    (H,) parameters ``weight_ci_l{k}``, ``weight_cf_l{k}``, ``weight_co_l{k}`` (diagonal
    connections from c_{t-1} to the input and forget gates and from c_t to the output gate).
    """

    _gates, _name, _n_states = 4, "LSTM", 2
    _gate_order = _lstm.ORDER

    def __init__(self, input_size, hidden_size, num_layers=1, bias=True, batch_first=False,
                 dropout=0.0, bidirectional=False, proj_size=0, *, peephole=False,
                 dtype=np.float64, seed=None, rng=None):
        if isinstance(proj_size, (bool, np.bool_)) or proj_size != 0:
            raise ValueError(
                f"proj_size={proj_size!r}: rnnlab.scratch.LSTM has no projection of h_t "
                "(proj_size must be 0); rnnlab.modules.LSTM supports proj_size like torch.nn.LSTM"
            )
        if not isinstance(peephole, (bool, np.bool_)):
            raise TypeError(f"peephole should be of type bool, got: {type(peephole).__name__}")
        self.peephole = bool(peephole)
        super().__init__(input_size, hidden_size, num_layers, bias, batch_first, dropout,
                         bidirectional, dtype=dtype, seed=seed, rng=rng)

    mode = "LSTM"

    def _extra_params(self):
        return ("weight_ci", "weight_cf", "weight_co") if self.peephole else ()

    def _extra_repr(self):
        return ", peephole=True" if self.peephole else ""

    def _peep(self, p):
        return (p["weight_ci"], p["weight_cf"], p["weight_co"]) if self.peephole else None

    def _forward_dir(self, xproj, state0, p, pad):
        cache = _lstm.forward_sequence(xproj, state0[0], state0[1], p["weight_hh"], self._peep(p), pad)
        return cache.hs, (cache.hs[-1], cache.cs[-1]), cache

    def _backward_dir(self, d_hs, d_state_n, cache, p, pad):
        da, dh0, dc0, grads = _lstm.backward_sequence(
            d_hs, d_state_n[0], d_state_n[1], cache, p["weight_hh"], self._peep(p), pad
        )
        return da, (dh0, dc0), grads


class GRU(_RecurrentLayer):
    r"""GRU like ``torch.nn.GRU`` (gate order r, z, n, h = (1-z) n + z h_prev).

    ``GRU(input_size, hidden_size, num_layers=1, bias=True, batch_first=False, dropout=0.0,
    bidirectional=False, *, reset_after=True, dtype=np.float64, seed=None, rng=None)``.
    ``reset_after=True`` is torch's form, n = tanh(W_in x + b_in + r (W_hn h + b_hn));
    ``reset_after=False`` is Cho et al. (2014), n = tanh(W_in x + b_in + W_hn (r h) + b_hn).
    Parameter names and shapes are the same for both.
    """

    _gates, _name = 3, "GRU"

    def __init__(self, input_size, hidden_size, num_layers=1, bias=True, batch_first=False,
                 dropout=0.0, bidirectional=False, *, reset_after=True, dtype=np.float64,
                 seed=None, rng=None):
        if not isinstance(reset_after, (bool, np.bool_)):
            raise TypeError(f"reset_after should be of type bool, got: {type(reset_after).__name__}")
        self.reset_after = bool(reset_after)
        super().__init__(input_size, hidden_size, num_layers, bias, batch_first, dropout,
                         bidirectional, dtype=dtype, seed=seed, rng=rng)

    mode = "GRU"

    def _extra_repr(self):
        return "" if self.reset_after else ", reset_after=False"

    def _input_bias(self, p):
        if p["bias_ih"] is None:
            return None
        if not self.reset_after:
            return p["bias_ih"] + p["bias_hh"]
        H = self.hidden_size
        b = p["bias_ih"].copy()
        b[: 2 * H] += p["bias_hh"][: 2 * H]  # b_hn stays inside r * (W_hn h + b_hn)
        return b

    def _forward_dir(self, xproj, state0, p, pad):
        b_hn = None
        if self.reset_after and p["bias_hh"] is not None:
            b_hn = p["bias_hh"][2 * self.hidden_size :]
        cache = _gru.forward_sequence(xproj, state0[0], p["weight_hh"], b_hn, pad, self.reset_after)
        return cache.hs, (cache.hs[-1],), cache

    def _backward_dir(self, d_hs, d_state_n, cache, p, pad):
        dgi, dh0, grads = _gru.backward_sequence(
            d_hs, d_state_n[0], cache, p["weight_hh"], pad, self.reset_after
        )
        return dgi, (dh0,), grads
