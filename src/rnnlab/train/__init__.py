"""Training machinery shared by the chapters.

- :func:`rnnlab.train.fit` — the fit loop (progress bar, history, gradient clipping, evaluation,
  early stopping at a target); returns a :class:`rnnlab.train.History`.
- :mod:`rnnlab.train.decode` — sampling with temperature, greedy and beam-search decoding
  (chapter 6), re-exported here: ``rnnlab.train.greedy_decode``, ``rnnlab.train.beam_search`` ...
"""
from rnnlab.train import decode
from rnnlab.train.decode import (BeamResult, BeamStep, Decoded, beam_search, beam_search_step,
                                 greedy_decode, sample_sequence, sample_with_temperature,
                                 score_sequences, select_state, softmax_with_temperature)
from rnnlab.train.fit import History, fit, global_grad_norm, to_device

__all__ = ["fit", "History", "to_device", "global_grad_norm",
           "softmax_with_temperature", "sample_with_temperature", "sample_sequence", "Decoded",
           "greedy_decode", "BeamStep", "beam_search_step", "select_state", "BeamResult",
           "beam_search", "score_sequences"]
