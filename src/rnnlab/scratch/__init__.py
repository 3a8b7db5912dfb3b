"""rnnlab.scratch: recurrent networks in numpy, forward and hand-written backward.

numpy only (this package never imports torch), names and shapes of ``torch.nn``:

- step functions, each with its backward right after it (``rnn.py``, ``lstm.py``, ``gru.py``):
  :func:`rnn_step` / :func:`rnn_step_backward`, :func:`lstm_step` / :func:`lstm_step_backward`
  (optional peepholes), :func:`gru_step` / :func:`gru_step_backward` (``reset_after``);
- layers :class:`RNN`, :class:`LSTM`, :class:`GRU` (``layers.py``): multi-layer, bidirectional,
  variable lengths, full BPTT, state dicts that move to and from ``torch.nn`` unchanged;
- :func:`softmax`, :func:`softmax_cross_entropy` (``losses.py``);
- one attention step over an encoder's states, dot, general or additive score, with masks:
  :func:`attention_step` / :func:`attention_step_backward`, :func:`masked_softmax`
  (``attention.py``, chapter 6e);
- :func:`gradcheck`, :func:`numerical_gradient`, :func:`clip_grad_norm` (``gradcheck.py``);
- linear recurrences h_t = a_t h_{t-1} + b_t and their scans, sequential, Hillis–Steele, Blelloch
  and log-space, with the backward pass (``scan.py``); minGRU and minLSTM steps and layers
  (``mingru.py``, chapter 7).
"""
from rnnlab.scratch._activations import relu, sigmoid, tanh
from rnnlab.scratch.attention import (AttentionCache, AttentionGrads, attention_step,
                                      attention_step_backward, masked_softmax,
                                      masked_softmax_backward)
from rnnlab.scratch.gradcheck import clip_grad_norm, gradcheck, numerical_gradient
from rnnlab.scratch.gru import GRUCache, GRUGrads, gru_step, gru_step_backward
from rnnlab.scratch.layers import GRU, LSTM, RNN
from rnnlab.scratch.losses import log_softmax, softmax, softmax_cross_entropy
from rnnlab.scratch.lstm import LSTMCache, LSTMGrads, lstm_step, lstm_step_backward
from rnnlab.scratch.mingru import (
    MinGRU,
    MinLSTM,
    mingru_step,
    mingru_step_backward,
    minlstm_step,
    minlstm_step_backward,
)
from rnnlab.scratch.rnn import RNNCache, RNNGrads, rnn_step, rnn_step_backward
from rnnlab.scratch.scan import (
    combine,
    linear_scan,
    scan_backward,
    scan_blelloch,
    scan_hillis_steele,
    scan_log,
    scan_sequential,
)

__all__ = [
    "RNN", "LSTM", "GRU",
    "rnn_step", "rnn_step_backward", "RNNCache", "RNNGrads",
    "lstm_step", "lstm_step_backward", "LSTMCache", "LSTMGrads",
    "gru_step", "gru_step_backward", "GRUCache", "GRUGrads",
    "softmax", "log_softmax", "softmax_cross_entropy",
    "attention_step", "attention_step_backward", "AttentionCache", "AttentionGrads",
    "masked_softmax", "masked_softmax_backward",
    "gradcheck", "numerical_gradient", "clip_grad_norm",
    "sigmoid", "tanh", "relu",
    "combine", "linear_scan", "scan_sequential", "scan_hillis_steele", "scan_blelloch", "scan_log",
    "scan_backward",
    "MinGRU", "MinLSTM", "mingru_step", "mingru_step_backward", "minlstm_step",
    "minlstm_step_backward",
]
