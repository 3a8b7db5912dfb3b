"""Training machinery shared by the chapters.

- :func:`rnnlab.train.fit` — the fit loop (progress bar, history, gradient clipping, evaluation,
  early stopping at a target); returns a :class:`rnnlab.train.History`.
- :mod:`rnnlab.train.decode` — sampling with temperature, greedy and beam-search decoding
  (chapter 6), re-exported here: ``rnnlab.train.greedy_decode``, ``rnnlab.train.beam_search`` ...
  (imported on first use, so ``import rnnlab.train`` stays light).
"""
from rnnlab.train.fit import History, fit, global_grad_norm, to_device

_DECODE = ("softmax_with_temperature", "sample_with_temperature", "sample_sequence", "Decoded",
           "greedy_decode", "BeamStep", "beam_search_step", "select_state", "BeamResult",
           "beam_search", "score_sequences")

__all__ = ["fit", "History", "to_device", "global_grad_norm", *_DECODE]


def __getattr__(name: str):
    if name in _DECODE:
        from rnnlab.train import decode
        return getattr(decode, name)
    raise AttributeError(f"module 'rnnlab.train' has no attribute {name!r}")
