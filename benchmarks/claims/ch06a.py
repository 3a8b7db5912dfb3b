"""Notebook 6a's training results: digits read row by row (book/06a_classification.ipynb).

``run(seed)`` trains the notebook's models with ``rnnlab.experiments.ch06.train_digits`` (the same
recipe, the same split of the digits) after ``rnnlab.setup(seed=seed)``, with ``seed`` for the
weights and the batch order, and returns the number the notebook prints.
"""
from __future__ import annotations

from functools import lru_cache

import numpy as np

from benchmarks.claims import Claim

NOTEBOOK = "book/06a_classification.ipynb"


def _data():
    from rnnlab.data.digits import load_digits_rows

    return load_digits_rows(test_fraction=0.25, seed=0)


def _trained(name: str, seed: int):
    import rnnlab

    rnnlab.setup(seed=seed)
    from rnnlab.experiments import ch06

    data = _data()
    model = ch06.digits_model(name, seed=seed)
    history = ch06.train_digits(model, data, lr=ch06.DIGITS_LR[name], seed=seed, progress=False)
    return model, history, data


@lru_cache(maxsize=None)
def _lstm_readouts(seed: int):
    """(test accuracy, probe accuracy per step, trained head's accuracy per step)."""
    import torch

    from rnnlab.experiments import ch06

    lstm, history, data = _trained("RowLSTM", seed)
    lstm.eval()
    with torch.no_grad():
        s_train = lstm.states(torch.from_numpy(data.x_train)).numpy()
        s_test = lstm.states(torch.from_numpy(data.x_test)).numpy()
    probe = ch06.probe_accuracy_by_step(s_train, data.y_train, s_test, data.y_test)
    head = ch06.head_accuracy_by_step(lstm, data.x_test, data.y_test)
    return history.final("test_acc"), probe, head


def _fcn(seed: int) -> float:
    return _trained("FCN", seed)[1].final("test_acc")


def _logreg(seed: int) -> float:
    from rnnlab.experiments import ch06

    return ch06.logistic_regression_digits(_data())[1]      # no seed: a convex fit


CLAIMS = [
    Claim("06a.lstm_test_accuracy", "digits row by row: LSTM test accuracy", NOTEBOOK,
          book=0.9956, threshold=0.98, sense=">=", fmt="{:.4f}",
          run=lambda seed: _lstm_readouts(seed)[0]),
    Claim("06a.fcn_test_accuracy", "digits row by row: FCN test accuracy", NOTEBOOK,
          book=1.0, threshold=0.98, sense=">=", fmt="{:.4f}", run=_fcn),
    Claim("06a.logreg_test_accuracy", "digits: logistic regression on 64 pixels, test accuracy",
          NOTEBOOK, book=0.9689, threshold=0.98, sense="<=", fmt="{:.4f}", run=_logreg),
    Claim("06a.probe_after_row_1", "digits: probe on h_1, test accuracy", NOTEBOOK,
          book=0.429, threshold=0.6, sense="<=", fmt="{:.3f}",
          run=lambda seed: _lstm_readouts(seed)[1][0]),
    Claim("06a.probe_after_row_8", "digits: probe on h_8, test accuracy", NOTEBOOK,
          book=0.998, threshold=0.97, sense=">=", fmt="{:.3f}",
          run=lambda seed: _lstm_readouts(seed)[1][-1]),
    Claim("06a.probe_smallest_rise", "digits: probe, smallest change from one row to the next",
          NOTEBOOK, book=0.002, threshold=-0.03, sense=">=", fmt="{:.3f}",
          run=lambda seed: float(np.diff(_lstm_readouts(seed)[1]).min())),
    Claim("06a.head_on_rows_1_to_4", "digits: trained head on h_1..h_4, best test accuracy",
          NOTEBOOK, book=0.093, threshold=0.3, sense="<=", fmt="{:.3f}",
          run=lambda seed: _lstm_readouts(seed)[2][:4].max()),
    Claim("06a.probe_minus_head_rows_1_to_4",
          "digits: probe minus trained head on h_1..h_4, smallest gap", NOTEBOOK,
          book=0.342, threshold=0.25, sense=">=", fmt="{:.3f}",
          run=lambda seed: (_lstm_readouts(seed)[1][:4] - _lstm_readouts(seed)[2][:4]).min()),
]
