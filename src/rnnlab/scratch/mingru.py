r"""minGRU and minLSTM (Feng et al. 2024): the GRU and the LSTM with :math:`h_{t-1}` taken out of
the gates, so that one layer is a linear recurrence :math:`h_t = a_t \odot h_{t-1} + b_t` whose
coefficients depend on the input only, and a scan can compute it (:mod:`rnnlab.scratch.scan`).

Sizes: N batch, I input_size, H hidden_size. Parameters in torch's style, one weight and one bias
per layer (there is no ``weight_hh``: nothing multiplies :math:`h_{t-1}` but the gate):

- minGRU: ``weight_ih`` (2H, I), ``bias_ih`` (2H,), rows z, n (the GRU's r, z, n without r);
- minLSTM: ``weight_ih`` (3H, I), ``bias_ih`` (3H,), rows i, f, g (the LSTM's i, f, g, o
  without o).

.. math::

    \text{minGRU:}\quad z_t &= \sigma(x_t W_{iz}^\top + b_{iz}), \quad n_t = x_t W_{in}^\top + b_{in},
    \quad h_t = z_t \odot h_{t-1} + (1 - z_t) \odot n_t \\
    \text{minLSTM:}\quad i_t, f_t &= \sigma(\cdot), \quad g_t = x_t W_{ig}^\top + b_{ig}, \quad
    h_t = \frac{f_t}{f_t + i_t} \odot h_{t-1} + \frac{i_t}{f_t + i_t} \odot g_t

The update follows the book's (and torch's) GRU convention, :math:`z` is the fraction *kept*;
Feng et al. write :math:`z` for the fraction written, which is the same model with the update
gate's weights negated (chapter 4). As in the paper the candidate has no tanh, and the minLSTM
normalises its two gates so that they sum to one (no output gate, no separate cell state).

``negative=True`` (minGRU only) lets the coefficient take negative values,
:math:`a_t = 2 z_t - 1 \in (-1, 1)` instead of :math:`a_t = z_t \in (0, 1)`, the change Grazzi et
al. (2025) make to Mamba and DeltaNet; :math:`b_t = (1 - z_t) \odot n_t` stays.

Backward of one step (bars are dL/d(.)), with :math:`a = z` (or :math:`2z - 1`),
:math:`b = (1 - z) n`:

.. math::

    \bar h_{t-1} = a \odot \bar h, \quad \bar z = \bar h \odot (a'\, h_{t-1} - n), \quad
    \bar n = \bar h \odot (1 - z), \quad \bar a_z = \bar z \odot z (1 - z)

(:math:`a' = 1`, or 2 with ``negative``). The layers run the loop with these step functions
(``mode="loop"``) or the whole sequence with a scan and :func:`~rnnlab.scratch.scan.scan_backward`
(``mode="scan"``); both give the same numbers.
"""
from __future__ import annotations

from typing import Any, Mapping, NamedTuple

import numpy as np

from rnnlab._args import check_int
from rnnlab.scratch import _activations as act
from rnnlab.scratch._validate import check_shape, float_array, float_dtype, to_numpy
from rnnlab.scratch.scan import SCAN_METHODS, linear_scan, scan_backward

__all__ = [
    "MinGRUCache", "MinLSTMCache", "MinGRUGrads", "mingru_step", "mingru_step_backward",
    "minlstm_step", "minlstm_step_backward", "mingru_coefficients", "minlstm_coefficients",
    "MinGRU", "MinLSTM",
]


# ============================================================================ one step
def _step_args(cell: str, gates: int, x, h_prev, weight_ih, bias_ih):
    weight_ih = float_array(weight_ih, "weight_ih")
    if weight_ih.ndim != 2 or weight_ih.shape[0] % gates:
        raise ValueError(f"weight_ih must have shape ({gates}*hidden_size, input_size) for {cell}, "
                         f"got {weight_ih.shape}")
    H = weight_ih.shape[0] // gates
    x = float_array(x, "x", weight_ih.dtype)
    if x.ndim not in (1, 2):
        raise ValueError(f"x must be 1-D (input_size,) or 2-D (batch, input_size), got {x.ndim}-D")
    if x.shape[-1] != weight_ih.shape[1]:
        raise ValueError(f"x.size(-1) must be equal to input_size. Expected {weight_ih.shape[1]}, "
                         f"got {x.shape[-1]}")
    h_prev = float_array(h_prev, "h_prev", weight_ih.dtype)
    check_shape(h_prev, x.shape[:-1] + (H,), "h_prev", "(x.shape[:-1] + (hidden_size,))")
    if bias_ih is not None:
        bias_ih = float_array(bias_ih, "bias_ih", weight_ih.dtype)
        check_shape(bias_ih, (gates * H,), "bias_ih", f"({gates}*hidden_size,)")
    return x, h_prev, weight_ih, bias_ih


class MinGRUCache(NamedTuple):
    """What :func:`mingru_step_backward` needs from the forward step."""

    x: np.ndarray  # (N, I)
    h_prev: np.ndarray  # (N, H)
    z: np.ndarray  # (N, H) update gate
    n: np.ndarray  # (N, H) candidate (no tanh)
    weight_ih: np.ndarray  # (2H, I)
    has_bias: bool
    negative: bool


class MinGRUGrads(NamedTuple):
    """Gradients of one minGRU or minLSTM step; ``dbias_ih`` is None when the step had no bias."""

    dx: np.ndarray
    dh_prev: np.ndarray
    dweight_ih: np.ndarray
    dbias_ih: np.ndarray | None


def mingru_coefficients(z, n, negative: bool = False):
    """The minGRU as a linear recurrence: ``a = z`` (or ``2z - 1``), ``b = (1 - z) n``."""
    return (2.0 * z - 1.0 if negative else z), (1.0 - z) * n


@act.quiet_overflow
def mingru_step(x, h_prev, weight_ih, bias_ih=None, negative: bool = False):
    r"""One minGRU step: ``z = sigmoid(x W_iz^T + b_iz)``, ``n = x W_in^T + b_in``,
    ``h = a * h_prev + (1 - z) * n`` with ``a = z`` (``negative``: ``a = 2z - 1``).

    x: (N, I) or (I,); h_prev: (N, H) or (H,); weight_ih: (2H, I) rows z, n; bias_ih: (2H,) or
    None. Returns ``(h, cache)``.
    """
    x, h_prev, weight_ih, bias_ih = _step_args("minGRU", 2, x, h_prev, weight_ih, bias_ih)
    gi = x @ weight_ih.T
    if bias_ih is not None:
        gi = gi + bias_ih
    a_z, n = np.split(gi, 2, axis=-1)
    z = act.sigmoid_raw(a_z)
    a, b = mingru_coefficients(z, n, negative)
    h = a * h_prev + b
    return h, MinGRUCache(x, h_prev, z, n, weight_ih, bias_ih is not None, bool(negative))


def mingru_step_backward(dh, cache: MinGRUCache) -> MinGRUGrads:
    """Backward of :func:`mingru_step`: :class:`MinGRUGrads` ``(dx, dh_prev, dweight_ih,
    dbias_ih)``."""
    x, h_prev, z, n, w_ih, has_bias, negative = cache
    dh = float_array(dh, "dh", z.dtype)
    if dh.shape != z.shape:
        raise ValueError(f"dh must have the shape of h {z.shape}, got {dh.shape}")
    slope = 2.0 if negative else 1.0  # da/dz
    a = 2.0 * z - 1.0 if negative else z
    dz = dh * (slope * h_prev - n)  # h = a(z) h_prev + (1 - z) n
    dn = dh * (1.0 - z)
    dgi = np.concatenate([dz * z * (1.0 - z), dn], axis=-1)  # (N, 2H) rows z, n
    flat = lambda v: v.reshape(-1, v.shape[-1])  # noqa: E731  (unbatched too)
    return MinGRUGrads(
        dx=dgi @ w_ih,
        dh_prev=dh * a,
        dweight_ih=flat(dgi).T @ flat(x),
        dbias_ih=flat(dgi).sum(axis=0) if has_bias else None,
    )


class MinLSTMCache(NamedTuple):
    """What :func:`minlstm_step_backward` needs from the forward step."""

    x: np.ndarray  # (N, I)
    h_prev: np.ndarray  # (N, H)
    i: np.ndarray  # (N, H) input gate (before normalising)
    f: np.ndarray  # (N, H) forget gate (before normalising)
    g: np.ndarray  # (N, H) candidate (no tanh)
    weight_ih: np.ndarray  # (3H, I)
    has_bias: bool


def minlstm_coefficients(i, f, g):
    """The minLSTM as a linear recurrence: ``a = f / (f + i)``, ``b = i / (f + i) * g``."""
    s = f + i
    return f / s, i / s * g


@act.quiet_overflow
def minlstm_step(x, h_prev, weight_ih, bias_ih=None):
    r"""One minLSTM step: ``i, f = sigmoid(...)``, ``g = x W_ig^T + b_ig``,
    ``h = f / (f + i) * h_prev + i / (f + i) * g``.

    x: (N, I) or (I,); h_prev: (N, H) or (H,); weight_ih: (3H, I) rows i, f, g; bias_ih: (3H,) or
    None. Returns ``(h, cache)``.
    """
    x, h_prev, weight_ih, bias_ih = _step_args("minLSTM", 3, x, h_prev, weight_ih, bias_ih)
    gi = x @ weight_ih.T
    if bias_ih is not None:
        gi = gi + bias_ih
    a_i, a_f, g = np.split(gi, 3, axis=-1)
    i, f = act.sigmoid_raw(a_i), act.sigmoid_raw(a_f)
    a, b = minlstm_coefficients(i, f, g)
    h = a * h_prev + b
    return h, MinLSTMCache(x, h_prev, i, f, g, weight_ih, bias_ih is not None)


def minlstm_step_backward(dh, cache: MinLSTMCache) -> MinGRUGrads:
    r"""Backward of :func:`minlstm_step`. With :math:`s = f + i`, :math:`f' = f/s`,
    :math:`i' = i/s`: :math:`\bar f' = \bar h\, h_{t-1}`, :math:`\bar i' = \bar h\, g`,
    :math:`\bar f = i (\bar f' - \bar i') / s^2`, :math:`\bar i = f (\bar i' - \bar f') / s^2`,
    :math:`\bar g = \bar h\, i'`. Returns :class:`MinGRUGrads`."""
    x, h_prev, i, f, g, w_ih, has_bias = cache
    dh = float_array(dh, "dh", g.dtype)
    if dh.shape != g.shape:
        raise ValueError(f"dh must have the shape of h {g.shape}, got {dh.shape}")
    s = f + i
    d_fn, d_in = dh * h_prev, dh * g  # gradients of f' = f/s and i' = i/s
    df = i * (d_fn - d_in) / s**2
    di = f * (d_in - d_fn) / s**2
    dgi = np.concatenate([di * i * (1.0 - i), df * f * (1.0 - f), dh * i / s], axis=-1)
    flat = lambda v: v.reshape(-1, v.shape[-1])  # noqa: E731
    return MinGRUGrads(
        dx=dgi @ w_ih,
        dh_prev=dh * f / s,
        dweight_ih=flat(dgi).T @ flat(x),
        dbias_ih=flat(dgi).sum(axis=0) if has_bias else None,
    )


# ============================================================================ layers
class _LayerCache(NamedTuple):
    batched: bool
    shape: tuple  # output shape as returned
    inputs: list  # per layer (T, N, in), time-major
    states: list  # per layer: h (T, N, H) and h0 (N, H)
    gates: list  # per layer: the activations (minGRU: z, n; minLSTM: i, f, g), each (T, N, H)
    steps: list  # per layer, loop mode: the step caches


class _MinLayer:
    """What :class:`MinGRU` and :class:`MinLSTM` share: parameters, stacking, the two modes."""

    _gates = 2
    _name = "MinGRU"

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1, bias: bool = True,
                 batch_first: bool = False, *, mode: str = "scan", scan_method: str = "blelloch",
                 dtype: Any = np.float64, seed: int | None = None,
                 rng: np.random.Generator | None = None) -> None:
        self.input_size = check_int("input_size", input_size, 1, torch_words=True)
        self.hidden_size = check_int("hidden_size", hidden_size, 1, torch_words=True)
        self.num_layers = check_int("num_layers", num_layers, 1, torch_words=True)
        for name, value in (("bias", bias), ("batch_first", batch_first)):
            if not isinstance(value, (bool, np.bool_)):
                raise TypeError(f"{name} should be of type bool, got: {type(value).__name__}")
        self.bias, self.batch_first = bool(bias), bool(batch_first)
        if mode not in ("scan", "loop"):
            raise ValueError(f"mode must be 'scan' or 'loop', got {mode!r}")
        if scan_method not in SCAN_METHODS:
            raise ValueError(f"scan_method must be one of {sorted(SCAN_METHODS)}, got {scan_method!r}")
        self.mode, self.scan_method = mode, scan_method
        self._check_scan_method()
        self.dtype = float_dtype(dtype)
        if rng is not None and seed is not None:
            raise ValueError("pass either seed or rng, not both")
        self.rng = rng if rng is not None else np.random.default_rng(seed)
        self.params: dict[str, np.ndarray] = {}
        self.grads: dict[str, np.ndarray] = {}
        self.d_hx: np.ndarray | None = None
        self._cache: _LayerCache | None = None
        k = 1.0 / np.sqrt(self.hidden_size)  # torch's init: U(-1/sqrt(H), 1/sqrt(H))
        G, H = self._gates, self.hidden_size
        for layer in range(self.num_layers):
            in_size = self.input_size if layer == 0 else H
            self.params[f"weight_ih_l{layer}"] = self.rng.uniform(-k, k, (G * H, in_size)).astype(self.dtype)
            if self.bias:
                self.params[f"bias_ih_l{layer}"] = self.rng.uniform(-k, k, (G * H,)).astype(self.dtype)

    def _check_scan_method(self) -> None:
        pass

    # ------------------------------------------------------------------ state dicts
    def state_dict(self) -> dict[str, np.ndarray]:
        """Copies of the parameters, keyed like :class:`rnnlab.modules.MinGRU`'s ``state_dict()``."""
        return {k: v.copy() for k, v in self.params.items()}

    def load_state_dict(self, state_dict: Mapping[str, Any]) -> None:
        """Copy parameters in place from numpy arrays or torch tensors with the same keys and shapes."""
        if not isinstance(state_dict, Mapping):
            raise TypeError(f"state_dict must be a mapping of arrays, got {type(state_dict).__name__}")
        missing = [k for k in self.params if k not in state_dict]
        unexpected = [k for k in state_dict if k not in self.params]
        if missing or unexpected:
            raise ValueError(f"Error(s) in loading state_dict for {self._name}: missing keys "
                             f"{missing}, unexpected keys {unexpected}")
        for k, v in state_dict.items():
            v = to_numpy(v)
            if v.shape != self.params[k].shape:
                raise ValueError(f"size mismatch for {k}: copying a param with shape {v.shape}, "
                                 f"the shape in current model is {self.params[k].shape}")
            self.params[k][...] = v

    def __repr__(self) -> str:
        s = f"{self._name}({self.input_size}, {self.hidden_size}"
        if self.num_layers != 1:
            s += f", num_layers={self.num_layers}"
        if not self.bias:
            s += ", bias=False"
        if self.batch_first:
            s += ", batch_first=True"
        return s + f", mode={self.mode!r}" + self._extra_repr() + ")"

    def _extra_repr(self) -> str:
        return ""

    def __call__(self, input, h_0=None):
        return self.forward(input, h_0)

    # ------------------------------------------------------------------ cell hooks
    def _gate_activations(self, gi):  # (T, N, G*H) pre-activations -> tuple of (T, N, H)
        raise NotImplementedError

    def _coefficients(self, gates):  # -> (a, b)
        raise NotImplementedError

    def _gate_grads(self, da, db, h_prev, gates):  # -> (T, N, G*H) gradient of the pre-activations
        raise NotImplementedError

    def _step(self, x, h, w, b):  # -> (h, cache)
        raise NotImplementedError

    def _step_backward(self, dh, cache):
        raise NotImplementedError

    # ------------------------------------------------------------------ forward
    def forward(self, input, h_0=None):
        """input (T, N, I), (N, T, I) with ``batch_first``, or unbatched (T, I); h_0
        (num_layers, N, H) (unbatched (num_layers, H)) or None for zeros.
        Returns ``(output, h_n)``: output (T, N, H) in the input's layout, h_n (num_layers, N, H)."""
        x = float_array(input, "input")
        if x.ndim not in (2, 3):
            raise ValueError(f"{self._name}: Expected input to be 2D or 3D, got {x.ndim}D instead")
        if x.shape[-1] != self.input_size:
            raise ValueError(f"input.size(-1) must be equal to input_size. Expected "
                             f"{self.input_size}, got {x.shape[-1]}")
        x = x.astype(self.dtype, copy=False)
        batched = x.ndim == 3
        xt = (x.transpose(1, 0, 2) if self.batch_first else x) if batched else x[:, None, :]
        T, N = xt.shape[:2]
        if T == 0 or N == 0:
            raise ValueError(f"input must have at least one time step and one sequence, got {x.shape}")
        L, H = self.num_layers, self.hidden_size
        if h_0 is None:
            h0 = np.zeros((L, N, H), dtype=self.dtype)
        else:
            h0 = float_array(h_0, "h_0", self.dtype)
            expected = (L, N, H) if batched else (L, H)
            check_shape(h0, expected, "h_0", "(num_layers, batch, hidden_size)" if batched
                        else "(num_layers, hidden_size) for unbatched input")
            h0 = h0.reshape(L, N, H)
        layer_in = np.ascontiguousarray(xt)
        inputs, states, gates_all, steps_all = [], [], [], []
        h_n = np.empty((L, N, H), dtype=self.dtype)
        for layer in range(L):
            w, b = self.params[f"weight_ih_l{layer}"], self.params.get(f"bias_ih_l{layer}")
            inputs.append(layer_in)
            if self.mode == "loop":  # the step function, one step after the other
                h, caches = np.empty((T, N, H), dtype=self.dtype), []
                prev = h0[layer]
                for t in range(T):
                    prev, cache = self._step(layer_in[t], prev, w, b)
                    h[t] = prev
                    caches.append(cache)
                steps_all.append(caches)
                gates_all.append(None)
            else:  # all input projections in one matmul, then the scan
                gi = (layer_in.reshape(T * N, -1) @ w.T).reshape(T, N, -1)
                if b is not None:
                    gi += b
                with np.errstate(over="ignore"):
                    gates = self._gate_activations(gi)
                a, bb = self._coefficients(gates)
                h = linear_scan(a, bb, h0[layer], self.scan_method)
                gates_all.append(gates)
                steps_all.append(None)
            states.append((h, h0[layer]))
            h_n[layer] = h[-1]
            layer_in = h
        output = layer_in
        if not batched:
            output, h_n = output[:, 0], h_n[:, 0]
        elif self.batch_first:
            output = output.transpose(1, 0, 2)
        self._cache = _LayerCache(batched, output.shape, inputs, states, gates_all, steps_all)
        return output, h_n

    # ------------------------------------------------------------------ backward
    def backward(self, d_output, d_h_n=None):
        """Gradient of the last forward: ``d_output`` has the shape of ``output`` (or None),
        ``d_h_n`` that of ``h_n`` (or None). Returns dL/d(input); fills ``.grads`` and ``.d_hx``
        (dL/d(h_0))."""
        c = self._cache
        if c is None:
            raise RuntimeError("backward() needs a forward() first: there is nothing to differentiate")
        T, N = c.inputs[0].shape[:2]
        L, H = self.num_layers, self.hidden_size
        if d_output is None:
            d_out = np.zeros((T, N, H), dtype=self.dtype)
        else:
            d_output = float_array(d_output, "d_output", self.dtype)
            if d_output.shape != c.shape:
                raise ValueError(f"d_output must have the shape of output {c.shape}, got {d_output.shape}")
            d_out = (d_output.transpose(1, 0, 2) if self.batch_first else d_output) if c.batched \
                else d_output[:, None, :]
        hn_shape = (L, N, H) if c.batched else (L, H)
        if d_h_n is None:
            d_hn = np.zeros((L, N, H), dtype=self.dtype)
        else:
            d_hn = float_array(d_h_n, "d_h_n", self.dtype)
            if d_hn.shape != hn_shape:
                raise ValueError(f"d_h_n must have the shape of h_n {hn_shape}, got {d_hn.shape}")
            d_hn = d_hn.reshape(L, N, H)
        grads: dict[str, np.ndarray] = {}
        d_h0 = np.empty((L, N, H), dtype=self.dtype)
        d_h = np.array(d_out, dtype=self.dtype)  # gradient reaching the top layer's outputs
        for layer in range(L - 1, -1, -1):
            w = self.params[f"weight_ih_l{layer}"]
            x_l = c.inputs[layer]
            d_h[-1] += d_hn[layer]
            if self.mode == "loop":
                dx = np.empty_like(x_l)
                dw, db_sum = np.zeros_like(w), np.zeros(w.shape[0], dtype=self.dtype)
                carry = np.zeros((N, H), dtype=self.dtype)
                for t in range(T - 1, -1, -1):
                    g = self._step_backward(d_h[t] + carry, c.steps[layer][t])
                    dx[t], carry = g.dx, g.dh_prev
                    dw += g.dweight_ih
                    if self.bias:
                        db_sum += g.dbias_ih
                d_h0[layer] = carry
            else:
                h, h0 = c.states[layer]
                gates = c.gates[layer]
                a, _ = self._coefficients(gates)
                da, db, d_h0[layer] = scan_backward(d_h, a, h, h0, self.scan_method)
                h_prev = np.concatenate([h0[None], h[:-1]])
                dgi = self._gate_grads(da, db, h_prev, gates).reshape(T * N, -1)
                dx = (dgi @ w).reshape(T, N, -1)
                dw = dgi.T @ x_l.reshape(T * N, -1)
                db_sum = dgi.sum(axis=0)
            grads[f"weight_ih_l{layer}"] = dw
            if self.bias:
                grads[f"bias_ih_l{layer}"] = db_sum
            d_h = dx  # the layer below receives the gradient of its outputs
        self.grads = {k: grads[k] for k in self.params}
        dx = d_h
        if not c.batched:
            dx, d_h0 = dx[:, 0], d_h0[:, 0]
        elif self.batch_first:
            dx = dx.transpose(1, 0, 2)
        self.d_hx = d_h0
        return dx


class MinGRU(_MinLayer):
    r"""A stack of minGRU layers (Feng et al. 2024); see the module docstring for the equations.

    ``MinGRU(input_size, hidden_size, num_layers=1, bias=True, batch_first=False, *, mode='scan',
    scan_method='blelloch', negative=False, dtype=np.float64, seed=None, rng=None)``.
    ``mode='loop'`` runs :func:`mingru_step` step by step (and :func:`mingru_step_backward`
    backwards); ``mode='scan'`` computes every step's gates at once and runs the recurrence with
    the scan ``scan_method`` of :mod:`rnnlab.scratch.scan`. Parameters ``weight_ih_l{k}``
    (2H, in), ``bias_ih_l{k}`` (2H,), rows z, n. ``negative=True``: :math:`a = 2z - 1`.
    """

    _gates, _name = 2, "MinGRU"

    def __init__(self, input_size, hidden_size, num_layers=1, bias=True, batch_first=False, *,
                 mode="scan", scan_method="blelloch", negative=False, dtype=np.float64, seed=None,
                 rng=None):
        if not isinstance(negative, (bool, np.bool_)):
            raise TypeError(f"negative should be of type bool, got: {type(negative).__name__}")
        self.negative = bool(negative)
        super().__init__(input_size, hidden_size, num_layers, bias, batch_first, mode=mode,
                         scan_method=scan_method, dtype=dtype, seed=seed, rng=rng)

    def _check_scan_method(self):
        if self.negative and self.scan_method == "log":
            raise ValueError("scan_method='log' needs positive coefficients a; with negative=True "
                             "a = 2z - 1 can be negative: use 'sequential', 'hillis_steele' or "
                             "'blelloch'")

    def _extra_repr(self):
        return ", negative=True" if self.negative else ""

    def _gate_activations(self, gi):
        a_z, n = np.split(gi, 2, axis=-1)
        return act.sigmoid_raw(a_z), n

    def _coefficients(self, gates):
        return mingru_coefficients(*gates, negative=self.negative)

    def _gate_grads(self, da, db, h_prev, gates):
        z, n = gates
        dz = da * (2.0 if self.negative else 1.0) - db * n
        return np.concatenate([dz * z * (1.0 - z), db * (1.0 - z)], axis=-1)

    def _step(self, x, h, w, b):
        with np.errstate(over="ignore"):
            return mingru_step(x, h, w, b, negative=self.negative)

    def _step_backward(self, dh, cache):
        return mingru_step_backward(dh, cache)


class MinLSTM(_MinLayer):
    r"""A stack of minLSTM layers (Feng et al. 2024); see the module docstring for the equations.

    Same constructor as :class:`MinGRU` (without ``negative``). Parameters ``weight_ih_l{k}``
    (3H, in), ``bias_ih_l{k}`` (3H,), rows i, f, g.
    """

    _gates, _name = 3, "MinLSTM"

    def _gate_activations(self, gi):
        a_i, a_f, g = np.split(gi, 3, axis=-1)
        return act.sigmoid_raw(a_i), act.sigmoid_raw(a_f), g

    def _coefficients(self, gates):
        return minlstm_coefficients(*gates)

    def _gate_grads(self, da, db, h_prev, gates):
        i, f, g = gates
        s = f + i
        d_in = db * g  # b = i' g
        df = i * (da - d_in) / s**2
        di = f * (d_in - da) / s**2
        return np.concatenate([di * i * (1.0 - i), df * f * (1.0 - f), db * i / s], axis=-1)

    def _step(self, x, h, w, b):
        return minlstm_step(x, h, w, b)

    def _step_backward(self, dh, cache):
        return minlstm_step_backward(dh, cache)
