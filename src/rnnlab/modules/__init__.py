"""``torch.nn.Module``s for recurrent networks, built from tensor ops and equal to ``torch.nn``.

``RNN``, ``LSTM``, ``GRU`` (multi-layer, bidirectional, ``PackedSequence``) and ``RNNCell``,
``LSTMCell``, ``GRUCell`` take torch.nn's arguments and register torch.nn's parameters, so state
dicts move between the two unchanged::

    import torch, rnnlab.modules as rm
    ours, theirs = rm.LSTM(32, 128, num_layers=2), torch.nn.LSTM(32, 128, num_layers=2)
    ours.load_state_dict(theirs.state_dict())      # and the reverse

Extra options: ``peephole=True`` (LSTM, LSTMCell; Gers & Schmidhuber 2000) and
``reset_after=False`` (GRU, GRUCell; Cho et al. 2014). Nothing inside uses ``torch.nn.RNN``,
``LSTM``, ``GRU``, their cells or ``torch._VF``: one step is :func:`rnn_cell`,
:func:`lstm_cell`, :func:`gru_cell`; a whole sequence runs in :mod:`rnnlab.modules.recurrence`,
whose backward pass is backpropagation through time written out by hand. Second derivatives
(``create_graph=True``, e.g. a gradient penalty) work for every layer and cell and equal torch.nn's
where torch.nn has the same layer: the layers then recompute the sequence with differentiable ops
(see :mod:`rnnlab.modules.recurrence`).

Chapter 7: ``MinGRU`` and ``MinLSTM`` (:mod:`rnnlab.modules.minrnn`), whose gates read only the
input, so that a layer is a linear recurrence computed by a loop or by the parallel scan of
:mod:`rnnlab.modules.scan` (``linear_scan``, ``LinearScan``).

Attention (chapter 6e, :mod:`rnnlab.modules.attention`): ``DotAttention``, ``GeneralAttention``,
``AdditiveAttention`` (batch first, with masks) and ``EncoderDecoder``, chapter 6's translator with
or without attention, whose ``start``/``step`` plug into :mod:`rnnlab.train.decode`.
"""
from __future__ import annotations

from ._errors import InputError
from .attention import (AdditiveAttention, DotAttention, EncoderDecoder, GeneralAttention,
                        masked_softmax)
from .cells import GRUCell, LSTMCell, RNNCell, gru_cell, lstm_cell, rnn_cell
from .layers import GRU, LSTM, RNN, RNNBase
from .minrnn import MinGRU, MinLSTM
from .scan import LinearScan, linear_scan

__all__ = [
    "RNN",
    "LSTM",
    "GRU",
    "RNNCell",
    "LSTMCell",
    "GRUCell",
    "RNNBase",
    "rnn_cell",
    "lstm_cell",
    "gru_cell",
    "InputError",
    "DotAttention",
    "GeneralAttention",
    "AdditiveAttention",
    "EncoderDecoder",
    "masked_softmax",
    "MinGRU",
    "MinLSTM",
    "LinearScan",
    "linear_scan",
]
