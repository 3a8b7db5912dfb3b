"""The runs of chapter 1 (recurrent networks): stepping an RNN, the latch, learning to carry a bit.

- :func:`rnn_states`  the hidden states of a one-layer tanh RNN along one sequence, with
  :class:`rnnlab.scratch.RNN`; :func:`demo_rnn` the chapter's seeded RNN and input sequence;
- :func:`latch_states` the one-unit latch ``h_t = tanh(w h_{t-1} + u x_t)`` on a batch, and
  :func:`latch_runs` the latch with a strong and a weak self-weight on the same noisy inputs;
- :func:`train_carry_bit` trains ``torch.nn.RNN(1, H)`` and a linear read-out with plain SGD on
  :func:`rnnlab.data.carry_bit_batch` and returns a :class:`CarryBitRun`.

The figures that show these results are in :mod:`rnnlab.viz.ch01`. Symbols follow the book's
notation table: ``U = weight_ih_l0`` (H x I), ``W = weight_hh_l0`` (H x H).
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np
import torch

from rnnlab import scratch
from rnnlab.data.synthetic import carry_bit_batch
from rnnlab.train import fit

__all__ = ["rnn_states", "demo_rnn", "latch_states", "LatchRuns", "latch_runs", "CarryBitRun",
           "CarryBitModel", "train_carry_bit"]


# ----------------------------------------------------------------------------- stepping an RNN
def rnn_states(x: np.ndarray, W_ih: np.ndarray, W_hh: np.ndarray, b: np.ndarray | None = None,
               h0: np.ndarray | None = None) -> np.ndarray:
    """Hidden states ``h_1..h_T`` of a one-layer tanh RNN for one sequence (no batch).

    ``x``: (T, I); ``W_ih``: (H, I); ``W_hh``: (H, H); ``b``: (H,) (``bias_ih + bias_hh``);
    ``h0``: (H,), zeros when omitted.  Returns ``h`` of shape (T, H), computed in float64 by
    :class:`rnnlab.scratch.RNN`.
    """
    x = np.asarray(x, dtype=float)
    W_ih, W_hh = np.asarray(W_ih, dtype=float), np.asarray(W_hh, dtype=float)
    if x.ndim != 2 or x.shape[1] != W_ih.shape[1]:
        raise ValueError(f"x must have shape (T, input_size={W_ih.shape[1]}), got {x.shape}")
    H = W_hh.shape[0]
    rnn = scratch.RNN(W_ih.shape[1], H, bias=b is not None, seed=0)
    weights = {"weight_ih_l0": W_ih, "weight_hh_l0": W_hh}
    if b is not None:
        weights.update(bias_ih_l0=np.asarray(b, dtype=float), bias_hh_l0=np.zeros(H))
    rnn.load_state_dict(weights)
    h, _ = rnn(x, None if h0 is None else np.asarray(h0, dtype=float)[None])
    return h


def demo_rnn(hidden_size=8, input_size=3, seq_len=24, radius=0.95, seed=0):
    """The chapter's seeded RNN and an input sequence: a few pulses on channel 0, noise elsewhere.

    ``W_hh`` is a Gaussian matrix scaled to spectral radius ``radius``. Returns
    ``(x, W_ih, W_hh, b)``, the arguments of :func:`rnn_states`.
    """
    rng = np.random.default_rng(seed)
    W_hh = rng.standard_normal((hidden_size, hidden_size))
    W_hh *= radius / np.abs(np.linalg.eigvals(W_hh)).max()
    W_ih = rng.standard_normal((hidden_size, input_size))
    b = 0.1 * rng.standard_normal(hidden_size)
    x = 0.15 * rng.standard_normal((seq_len, input_size))
    x[[2, 12], 0] = 2.0
    return x, W_ih, W_hh, b


# ----------------------------------------------------------------------------- the latch
def latch_states(bits: np.ndarray, noise: np.ndarray, w: float, u: float) -> np.ndarray:
    """Run the one-unit latch ``h_t = tanh(w h_{t-1} + u x_t)`` with ``x_1 = bit`` and
    ``x_t = noise_t`` afterwards.  ``bits``: (B,) of +-1; ``noise``: (B, T-1).  Returns (B, T).

    The latch is a :class:`rnnlab.scratch.RNN` with one unit, ``W_ih = [[u]]``, ``W_hh = [[w]]``
    and no bias, run on the whole batch.
    """
    x = np.concatenate([np.asarray(bits, float)[:, None], np.asarray(noise, float)], axis=1)
    rnn = scratch.RNN(1, 1, bias=False, seed=0)
    rnn.load_state_dict({"weight_ih_l0": np.array([[u]], dtype=float),
                         "weight_hh_l0": np.array([[w]], dtype=float)})
    h, _ = rnn(x.T[:, :, None])  # (T, B, 1)
    return h[:, :, 0].T


class LatchRuns(NamedTuple):
    """The latch with each self-weight of ``weights`` on the same inputs: ``states[k]`` (n, steps)
    is :func:`latch_states` with ``w = weights[k]``; ``bits`` (n,) the first inputs."""

    bits: np.ndarray
    weights: tuple
    states: tuple


def latch_runs(w_good: float = 5.0, w_bad: float = 0.9, u: float = 2.0, steps: int = 50,
               n: int = 6, noise_scale: float = 0.5, seed: int = 0) -> LatchRuns:
    """``n`` sequences (first inputs alternately +1 and -1, then uniform noise in
    ``[-noise_scale, noise_scale]``) through the latch with the self-weight ``w_good`` and with
    ``w_bad``."""
    rng = np.random.default_rng(seed)
    bits = np.where(np.arange(n) % 2 == 0, 1.0, -1.0)
    noise = rng.uniform(-noise_scale, noise_scale, size=(n, steps - 1))
    weights = (w_good, w_bad)
    return LatchRuns(bits, weights, tuple(latch_states(bits, noise, w, u) for w in weights))


class CarryBitRun(NamedTuple):
    """One run of :func:`train_carry_bit`.  ``grad_first_input`` is measured on one batch before
    training: ``||dL/dx_1|| / sqrt(batch)``, with ``L`` the batch's mean loss and ``dL/dx_1`` the
    (batch, 1) gradient with respect to every sequence's first input."""

    steps: int
    accuracy: float  # on 1000 fresh sequences after training
    final_loss: float  # binary cross-entropy of the last update
    grad_first_input: float  # ||dL/dx_1|| / sqrt(batch) at initialisation, see above


class CarryBitModel(torch.nn.Module):
    """``torch.nn.RNN(1, hidden_size)`` and a ``Linear(hidden_size, 1)`` read-out of the last
    step: ``(T, N, 1) -> (N,)`` logits of "the first input was +1"."""

    def __init__(self, hidden_size: int):
        super().__init__()
        self.rnn = torch.nn.RNN(1, hidden_size)
        self.head = torch.nn.Linear(hidden_size, 1)

    def forward(self, x):
        out, _ = self.rnn(x)
        return self.head(out[-1])[:, 0]


def _carry_bit_loss(model, batch):
    x, bits = batch
    return torch.nn.functional.binary_cross_entropy_with_logits(model(x), (bits > 0).float())


def train_carry_bit(steps: int, updates: int = 300, lr: float = 0.1, hidden_size: int = 8,
                    batch: int = 64, seed: int = 0) -> CarryBitRun:
    """Train ``torch.nn.RNN(1, hidden_size)`` + ``Linear`` with plain SGD to report the first
    input's sign after ``steps`` steps (float32, one thread).  Also measures the gradient of the
    loss with respect to the first input at initialisation."""
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    model = CarryBitModel(hidden_size)

    x, bits = carry_bit_batch(rng, steps, batch)
    x0 = torch.tensor(x, dtype=torch.float32, requires_grad=True)
    _carry_bit_loss(model, (x0, torch.tensor(bits))).backward()
    grad_first = float(x0.grad[0].norm() / np.sqrt(batch))
    model.zero_grad()

    hist = fit(model, _carry_bit_loss, lambda: carry_bit_batch(rng, steps, batch),
               steps=updates, optimizer=torch.optim.SGD(model.parameters(), lr=lr),
               progress=False)
    x, bits = carry_bit_batch(rng, steps, 1000)
    with torch.no_grad():
        pred = model(torch.tensor(x, dtype=torch.float32)) > 0
    acc = float((pred.numpy() == (bits > 0)).mean())
    return CarryBitRun(steps, acc, hist.loss[-1], grad_first)
