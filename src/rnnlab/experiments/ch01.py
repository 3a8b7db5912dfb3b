"""The experiment of chapter 1 (recurrent networks): learning to carry a bit.

- :func:`train_carry_bit` trains ``torch.nn.RNN(1, H)`` and a linear read-out with plain SGD on
  :func:`rnnlab.data.carry_bit_batch` and returns a :class:`CarryBitRun`.

The figures that show its result are in :mod:`rnnlab.viz.ch01`.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np
import torch

from rnnlab.data.synthetic import carry_bit_batch
from rnnlab.train import fit

__all__ = ["CarryBitRun", "CarryBitModel", "train_carry_bit"]


class CarryBitRun(NamedTuple):
    steps: int
    accuracy: float  # on 1000 fresh sequences after training
    final_loss: float  # binary cross-entropy of the last update
    grad_first_input: float  # ||dL/dx_1|| at initialisation, averaged over a batch


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
