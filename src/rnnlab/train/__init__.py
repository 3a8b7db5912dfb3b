"""Training machinery shared by the chapters.

- :func:`rnnlab.train.fit` — the fit loop (progress bar, history, gradient clipping, evaluation,
  early stopping at a target); returns a :class:`rnnlab.train.History`.
- ``rnnlab.train.decode`` — sampling with temperature, greedy and beam-search decoding (chapter 6).
"""
from rnnlab.train.fit import History, fit, global_grad_norm, to_device

__all__ = ["fit", "History", "to_device", "global_grad_norm"]
