"""Training results of chapter 4 (and of its solutions), as functions of the seed.

The runs go through `rnnlab.experiments.ch03.run_adding`, as in the notebook, with the notebook's
seed 0 replaced by `seed`. The tanh RNN and the LSTM of chapter 4 are the same runs as those of 3b
at T = 100 (same function, same seed, same budget), so their claims are in `ch03.py`
(`03b.rnn_T100_val_mse`, `03b.lstm_T100_val_mse`); here are the GRU's and the comparison.
"""
from __future__ import annotations

from benchmarks.claims import Claim

NB = "book/04_gru.ipynb"
SOL = "solutions/04_gru.ipynb"


def _run(cell: str, seed: int, hidden_size: int = 32):
    import rnnlab

    rnnlab.setup(seed=seed)
    from rnnlab.experiments import ch03

    return ch03.run_adding(cell, 100, seed=seed, steps=3000, hidden_size=hidden_size)


def _lstm_over_gru(hidden_size: int):
    def run(seed: int) -> float:
        lstm, gru = _run("lstm", seed), _run("gru", seed, hidden_size)
        return lstm.steps / gru.steps if lstm.solved and gru.solved else 0.0
    return run


CLAIMS = [
    Claim("04.gru_T100_val_mse", "GRU solves the adding problem at T = 100 (val MSE)", NB,
          0.0070, 0.01, "<=", lambda seed: _run("gru", seed).val_mse),
    Claim("04.gru_T100_steps", "GRU at T = 100: steps to val MSE 0.01 (of 3000)", NB,
          250, None, "<=", lambda seed: _run("gru", seed).steps, fmt="{:.0f}"),
    Claim("04.lstm_over_gru_steps", "T = 100: LSTM steps / GRU steps to the target", NB,
          3.0, 1.5, ">=", _lstm_over_gru(32), fmt="{:.2f}"),
    Claim("sol04.gru37_T100_val_mse", "GRU with 37 units (LSTM's parameter count) solves T = 100",
          SOL, 0.0060, 0.01, "<=", lambda seed: _run("gru", seed, 37).val_mse),
    Claim("sol04.lstm_over_gru37_steps", "T = 100: LSTM(32) steps / GRU(37) steps", SOL,
          3.0, 1.5, ">=", _lstm_over_gru(37), fmt="{:.2f}"),
]
