"""Training results of chapter 3b (and of the solutions of chapter 3), as functions of the seed.

Every run goes through the functions the notebooks call (`rnnlab.experiments.ch03.run_adding`,
`run_timing`, `memory_unit`, `input_gradient_norms`, `lstm_gate_trace`), with the
notebook's seed 0 replaced by `seed`: the model's initial weights, the training batches and the
validation set all come from it. Chapter 3 itself trains nothing; its exploding-gradient bounds are
asserted in the notebook and checked under other CPU kernels by nbval.
"""
from __future__ import annotations

import numpy as np

from benchmarks.claims import Claim

NB = "book/03b_lstm_experiments.ipynb"
SOL = "solutions/03_lstm.ipynb"


def _setup(seed: int):
    import rnnlab

    rnnlab.setup(seed=seed)
    from rnnlab.experiments import ch03

    return ch03


def _adding(cell: str, length: int, seed: int, *, steps: int = 3000, forget_bias=None):
    ch03 = _setup(seed)
    return ch03.run_adding(cell, length, seed=seed, steps=steps, forget_bias=forget_bias)


def _val_mse(cell, length, **kw):
    return lambda seed: _adding(cell, length, seed, **kw).val_mse


def _steps(cell, length, **kw):
    return lambda seed: _adding(cell, length, seed, **kw).steps


def _descent(seed: int) -> float:
    ch03 = _setup(seed)
    return ch03.descent_steps(ch03.run_adding("lstm", 100, seed=seed, steps=3000))


def _memory_units(seed: int):
    """Cells 14 and 19 of 3b: the unit with the most open forget gate of the trained T = 100
    LSTM, on the chosen sequence and on all eight."""
    ch03 = _setup(seed)
    from rnnlab.data import adding_problem

    model = ch03.run_adding("lstm", 100, seed=seed, steps=3000).model
    seq = adding_problem(8, 100, rng=3)
    marked_values = seq.x[seq.positions, np.arange(8)[:, None], 0]
    k = int(np.argmax(marked_values.min(axis=1)))
    state = model.rnn.state_dict()
    units = [ch03.memory_unit(ch03.lstm_gate_trace(state, seq.x[:, j]), *seq.positions[j])
             for j in range(8)]
    return units[k], units


def _input_gate_contrast(seed: int) -> float:
    unit = _memory_units(seed)[0]
    return min(unit.i_marked) - unit.i_elsewhere


def _gradient_99(seed: int):
    """Cell 21 of 3b: the gradient reaching 99 steps back after training and at initialisation."""
    import torch

    ch03 = _setup(seed)
    from rnnlab.data import adding_problem

    model = ch03.run_adding("lstm", 100, seed=seed, steps=3000).model
    x64 = adding_problem(32, 100, rng=4, dtype=np.float64).x
    trained = ch03.input_gradient_norms(model.rnn.double(), x64)
    torch.manual_seed(seed)
    initial = ch03.input_gradient_norms(ch03.SequenceRegressor("lstm", 2, 32).rnn.double(), x64)
    return float(trained[99]), float(initial[99])


def _gradient_gain(seed: int) -> float:
    trained, initial = _gradient_99(seed)
    return trained / initial


def _timing(peephole: bool, what: str):
    def run(seed: int) -> float:
        ch03 = _setup(seed)
        _, hist = ch03.run_timing(peephole, seed=seed, hidden_size=16, length=40, delay=20,
                                  steps=1200)
        return hist.final("exact") if what == "exact" else hist.num_steps
    return run


def _t20_ratio(seed: int) -> float:
    rnn = _adding("rnn", 20, seed)
    lstm = _adding("lstm", 20, seed)
    if not lstm.solved:
        return 0.0
    return rnn.steps / lstm.steps if rnn.solved else float("inf")  # inf: the RNN never got there


CLAIMS = [
    Claim("03b.rnn_T10_val_mse", "tanh RNN solves the adding problem at T = 10 (val MSE)", NB,
          0.0085, 0.01, "<=", _val_mse("rnn", 10)),
    Claim("03b.lstm_T10_val_mse", "LSTM solves the adding problem at T = 10 (val MSE)", NB,
          0.0042, 0.01, "<=", _val_mse("lstm", 10)),
    Claim("03b.rnn_T50_val_mse", "tanh RNN stays at the baseline at T = 50 (val MSE)", NB,
          0.1680, 0.1, ">=", _val_mse("rnn", 50)),
    Claim("03b.lstm_T50_val_mse", "LSTM solves the adding problem at T = 50 (val MSE)", NB,
          0.0088, 0.01, "<=", _val_mse("lstm", 50)),
    Claim("03b.rnn_T100_val_mse", "tanh RNN stays at the baseline at T = 100 (val MSE)", NB,
          0.1679, 0.1, ">=", _val_mse("rnn", 100)),
    Claim("03b.lstm_T100_val_mse", "LSTM solves the adding problem at T = 100 (val MSE)", NB,
          0.0023, 0.01, "<=", _val_mse("lstm", 100)),
    Claim("03b.lstm_T100_steps", "LSTM at T = 100: steps to val MSE 0.01 (of 3000)", NB,
          750, None, "<=", _steps("lstm", 100), fmt="{:.0f}"),
    Claim("03b.lstm_T100_descent_steps",
          "LSTM at T = 100: steps from the plateau (val MSE >= 0.1) to the target", NB,
          100, 300, "<=", _descent, fmt="{:.0f}"),
    Claim("03b.forget_bias1_val_mse", "LSTM with forget bias 1 solves T = 100 (val MSE)", NB,
          0.0087, 0.01, "<=", _val_mse("lstm", 100, forget_bias=1.0)),
    Claim("03b.forget_bias1_steps", "LSTM with forget bias 1 at T = 100: steps", NB,
          650, None, "<=", _steps("lstm", 100, forget_bias=1.0), fmt="{:.0f}"),
    Claim("03b.forget_bias3_val_mse", "LSTM with forget bias 3 solves T = 100 (val MSE)", NB,
          0.0049, 0.01, "<=", _val_mse("lstm", 100, forget_bias=3.0)),
    Claim("03b.forget_bias3_steps", "LSTM with forget bias 3 at T = 100: steps", NB,
          500, None, "<=", _steps("lstm", 100, forget_bias=3.0), fmt="{:.0f}"),
    Claim("03b.memory_unit_f_min", "trained LSTM: most open unit's smallest forget gate", NB,
          0.944, 0.6, ">=", lambda seed: _memory_units(seed)[0].f_min, fmt="{:.3f}"),
    Claim("03b.memory_unit_i_marked", "trained LSTM: that unit's input gate at the markers (min)",
          NB, 0.73, 0.5, ">=", lambda seed: min(_memory_units(seed)[0].i_marked), fmt="{:.2f}"),
    Claim("03b.memory_unit_i_contrast",
          "trained LSTM: input gate at the markers (min) minus its largest elsewhere", NB,
          0.60, 0.0, ">=", _input_gate_contrast, fmt="{:.2f}"),
    Claim("03b.memory_unit_keep", "trained LSTM: product of f between the markers (min of 8)",
          NB, 0.92, 0.25, ">=", lambda seed: min(u.keep for u in _memory_units(seed)[1]),
          fmt="{:.2f}"),
    Claim("03b.trained_gradient_99", "trained LSTM: gradient reaching 99 steps back", NB,
          4e-3, 1e-5, ">=", lambda seed: _gradient_99(seed)[0], fmt="{:.0e}"),
    Claim("03b.trained_gradient_gain", "that gradient after / before training", NB,
          1.6e20, 1e15, ">=", _gradient_gain, fmt="{:.0e}"),
    Claim("03b.timing_exact_lstm", "LSTM times the spike exactly (fraction of 500)", NB,
          1.0, 0.999, ">=", _timing(False, "exact"), fmt="{:.3f}"),
    Claim("03b.timing_exact_peephole", "peephole LSTM times the spike exactly (fraction of 500)",
          NB, 1.0, 0.999, ">=", _timing(True, "exact"), fmt="{:.3f}"),
    Claim("03b.timing_steps_lstm", "LSTM on the timing task: steps to exact timing", NB,
          400, None, "<=", _timing(False, "steps"), fmt="{:.0f}"),
    Claim("03b.timing_steps_peephole", "peephole LSTM on the timing task: steps", NB,
          550, None, "<=", _timing(True, "steps"), fmt="{:.0f}"),
    Claim("sol03.rnn_T20_val_mse", "tanh RNN at T = 20 after 3000 steps at most (val MSE; "
          "the model answer: close to the target, not always below it)", SOL,
          0.0095, None, "<=", _val_mse("rnn", 20)),
    Claim("sol03.lstm_T20_val_mse", "LSTM solves T = 20 within 3000 steps (val MSE)", SOL,
          0.0050, 0.01, "<=", _val_mse("lstm", 20)),
    Claim("sol03.rnn_over_lstm_steps_T20", "T = 20: RNN steps / LSTM steps to the target "
          "(inf: the RNN did not reach it in 3000 steps)", SOL,
          950 / 350, 2.0, ">=", _t20_ratio, fmt="{:.2f}"),
]
