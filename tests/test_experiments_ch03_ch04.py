"""rnnlab.experiments.ch03 / ch04: the adding-problem model and runs (same weights from a seed as
layers built by hand, the plateau length of a run, the results table), the memory-unit numbers of
3b against a hand-built trace, the gate traces and forget gates the notebooks read against
torch.nn.LSTM, and the GRU update-gate conventions of chapter 4 against torch."""
from __future__ import annotations

import pickle
from types import SimpleNamespace

import numpy as np
import pytest
import torch

import rnnlab.modules as rm
from rnnlab.experiments import ch03 as ex03
from rnnlab.experiments import ch04 as ex04


@pytest.mark.parametrize("cell, backend, layer", [
    ("lstm", "rnnlab", rm.LSTM), ("gru", "rnnlab", rm.GRU), ("rnn", "torch", torch.nn.RNN)])
def test_sequence_regressor_draws_its_weights_in_the_order_of_hand_built_layers(cell, backend,
                                                                                 layer):
    torch.manual_seed(4)
    model = ex03.SequenceRegressor(cell, 2, 6, backend=backend)
    torch.manual_seed(4)
    rnn, out = layer(2, 6), torch.nn.Linear(6, 1)
    expected = {**{f"rnn.{k}": v for k, v in rnn.state_dict().items()},
                **{f"out.{k}": v for k, v in out.state_dict().items()}}
    got = model.state_dict()
    assert list(got) == list(expected)
    for k in got:
        torch.testing.assert_close(got[k], expected[k], rtol=0, atol=0)
    x = torch.randn(7, 3, 2)
    torch.testing.assert_close(model(x), out(rnn(x)[0][-1]), rtol=0, atol=0)


def test_sequence_regressor_is_an_ordinary_class():
    a = ex03.SequenceRegressor("lstm", 1, 4, every_step=True, peephole=True, forget_bias=2.0)
    b = ex03.SequenceRegressor("gru", 1, 4)
    assert type(a) is type(b) and isinstance(a, ex03.SequenceRegressor)
    assert a.rnn.peephole and (a.rnn.bias_ih_l0[4:8] == 2.0).all()
    assert (a.rnn.bias_hh_l0[4:8] == 0.0).all()
    x = torch.randn(5, 2, 1)
    assert a(x).shape == (5, 2, 1) and b(x).shape == (2, 1)
    copy = pickle.loads(pickle.dumps(a))
    torch.testing.assert_close(copy(x), a(x), rtol=0, atol=0)
    with pytest.raises(ValueError, match="forget_bias applies to an LSTM"):
        ex03.SequenceRegressor("gru", 1, 4, forget_bias=1.0)
    with pytest.raises(ValueError, match="cell must be"):
        ex03.SequenceRegressor("tcn", 1, 4)


def test_memory_unit_against_a_hand_built_trace():
    T, H = 10, 3
    rng = np.random.default_rng(0)
    f = rng.uniform(0.1, 0.5, (T, H))
    f[:, 1] = np.linspace(0.9, 0.99, T)                   # unit 1 has the most open forget gate
    i = np.full((T, H), 0.05)
    i[[2, 7], 1] = [0.8, 0.7]
    i[5, 1] = 0.2
    c = rng.normal(size=(T, H))
    trace = ex03.GateTrace(i=i, f=f, g=np.zeros((T, H)), o=np.ones((T, H)), c=c, h=np.tanh(c))
    m = ex03.memory_unit(trace, 2, 7)
    assert m.unit == 1
    assert m.f_min == pytest.approx(0.9)
    assert m.i_marked == pytest.approx((0.8, 0.7))
    assert m.i_elsewhere == pytest.approx(0.2)
    assert m.write == pytest.approx(c[2, 1] - c[1, 1])
    assert m.change == pytest.approx(c[6, 1] - c[2, 1])
    assert m.keep == pytest.approx(np.prod(f[3:7, 1]))    # steps 3, 4, 5, 6
    with pytest.raises(ValueError, match="first < second"):
        ex03.memory_unit(trace, 7, 2)


def _fake_run(steps, values, solved=True):
    history = SimpleNamespace(metric=lambda name: (steps, values))
    return ex03.AddingResult("LSTM", 100, history, values[-1], solved, steps[-1], 1.0, None)


def test_descent_steps_counts_from_the_last_evaluation_on_the_plateau():
    run = _fake_run([50, 100, 150, 200, 250], [0.17, 0.16, 0.12, 0.05, 0.008])
    assert ex03.descent_steps(run, level=0.1) == 250 - 150
    assert ex03.descent_steps(_fake_run([50], [0.004])) == 50
    with pytest.raises(ValueError, match="did not reach its target"):
        ex03.descent_steps(_fake_run([50, 100], [0.17, 0.16], solved=False))


def test_results_table_fits_the_book_width():
    runs = [_fake_run([3000], [0.1679], solved=False)._replace(name="LSTM, forget bias 1"),
            _fake_run([3000], [0.05], solved=False), _fake_run([750], [0.0023])]
    for timings in (False, True):
        table = ex03.results_table(runs, timings=timings)
        assert max(len(line) for line in table.splitlines()) <= 88
    assert "failed" in table and "not solved in 3000 steps" in table and "solved (" in table


def test_run_adding_builds_the_named_cell_from_the_seed():
    a = ex03.run_adding("gru", 10, seed=3, steps=20)
    b = ex03.run_adding("gru", 10, seed=3, steps=20)
    assert a.name == "GRU" and a.steps <= 20 and isinstance(a.model.rnn, rm.GRU)
    # same seed, same process: the same run, bit for bit
    assert a.val_mse == b.val_mse and a.steps == b.steps


@pytest.mark.parametrize("reset_after", [True, False])
def test_source_post_convention_is_torch_with_the_update_gate_negated(reset_after):
    """h = (1 - z) h_prev + z n with -W_z equals torch's h = (1 - z) n + z h_prev."""
    torch.manual_seed(2)
    cell = rm.GRUCell(3, 4, reset_after=reset_after).double()
    params = {k: v.detach().numpy() for k, v in cell.named_parameters()}
    rng = np.random.default_rng(0)
    x, h = rng.normal(size=(5, 3)), rng.normal(size=(5, 4))
    expected = cell(torch.from_numpy(x), torch.from_numpy(h)).detach().numpy()
    flipped = ex04.negate_update_gate(params, 4)
    got = ex04.source_post_gru_step(x, h, **flipped, reset_after=reset_after)
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-12)
    unflipped = ex04.source_post_gru_step(x, h, **params, reset_after=reset_after)
    assert np.abs(unflipped - expected).max() > 1e-3     # the two rules differ on equal weights


def test_negate_update_gate_rejects_wrong_sizes():
    params = {"weight_ih": np.ones((12, 3)), "weight_hh": np.ones((12, 4))}
    with pytest.raises(ValueError, match="3 \\* hidden_size = 15 rows"):
        ex04.negate_update_gate(params, 5)
    with pytest.raises(ValueError, match="hidden_size must be a positive int"):
        ex04.negate_update_gate(params, 0)
    out = ex04.negate_update_gate(params, 4)
    assert (out["weight_hh"][4:8] == -1).all() and (out["weight_hh"][:4] == 1).all()
    assert (params["weight_hh"] == 1).all()                # the input is not modified


def test_input_gradient_norms_match_the_closed_form_of_a_linear_recurrence():
    """A one-unit ReLU RNN with positive weights and inputs never leaves the linear region:
    h_T = sum_d w^d u x_{T-d} + ..., so ||dL/dx_{T-d}|| over a batch of N is w^d u / sqrt(N)."""
    rnn = torch.nn.RNN(1, 1, nonlinearity="relu").double()
    with torch.no_grad():
        rnn.weight_ih_l0.fill_(0.5)
        rnn.weight_hh_l0.fill_(0.9)
        rnn.bias_ih_l0.fill_(0.1)
        rnn.bias_hh_l0.zero_()
    x = np.random.default_rng(0).uniform(0.1, 1.0, size=(12, 4, 1))
    norms = ex03.input_gradient_norms(rnn, x)
    np.testing.assert_allclose(norms, 0.9 ** np.arange(12) * 0.5 / 2.0, rtol=1e-12)


def test_forget_bias_and_weight_scaling_touch_only_their_rows():
    torch.manual_seed(0)
    lstm = torch.nn.LSTM(2, 3)
    before = {k: v.clone() for k, v in lstm.state_dict().items()}
    ex03.set_forget_bias(lstm, 2.5)
    assert (lstm.bias_ih_l0[3:6] == 2.5).all() and (lstm.bias_hh_l0[3:6] == 0).all()
    for name in ("bias_ih_l0", "bias_hh_l0"):
        keep = torch.cat([torch.arange(0, 3), torch.arange(6, 12)])
        torch.testing.assert_close(getattr(lstm, name)[keep], before[name][keep])
    ex03.scale_recurrent_weights(lstm, 3.0)
    torch.testing.assert_close(lstm.weight_hh_l0, 3.0 * before["weight_hh_l0"])
    torch.testing.assert_close(lstm.weight_ih_l0, before["weight_ih_l0"])


# ============================================================================ gate traces
def _sigmoid(a):
    return 1.0 / (1.0 + np.exp(-a))


@pytest.fixture
def lstm_and_input():
    torch.manual_seed(1)
    lstm = torch.nn.LSTM(3, 5).double()
    x = torch.randn(9, 4, 3, dtype=torch.float64)
    return lstm, x


def test_forget_gates_equal_torch(lstm_and_input):
    """f_t recomputed from torch's own hidden states, gate rows i, f, g, o."""
    lstm, x = lstm_and_input
    with torch.no_grad():
        out, _ = lstm(x)
    p = {k: v.detach().numpy() for k, v in lstm.state_dict().items()}
    H = 5
    h_prev = np.concatenate([np.zeros((1, 4, H)), out.numpy()[:-1]])
    a = (x.numpy() @ p["weight_ih_l0"].T + p["bias_ih_l0"]
         + h_prev @ p["weight_hh_l0"].T + p["bias_hh_l0"])
    expected = _sigmoid(a[..., H:2 * H])
    got = ex03.forget_gates(lstm.state_dict(), x.numpy())
    assert got.shape == (9, 4, H)
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-12)


def test_gate_trace_is_one_column_of_the_batch(lstm_and_input):
    lstm, x = lstm_and_input
    with torch.no_grad():
        out, _ = lstm(x)
    trace = ex03.lstm_gate_trace(lstm.state_dict(), x[:, 2].numpy())
    np.testing.assert_allclose(trace.h, out[:, 2].numpy(), rtol=0, atol=1e-12)
    np.testing.assert_allclose(trace.f, ex03.forget_gates(lstm.state_dict(), x.numpy())[:, 2],
                               rtol=0, atol=1e-12)
    assert trace.f.shape == trace.c.shape == (9, 5)


def test_gate_functions_reject_wrong_shapes(lstm_and_input):
    lstm, x = lstm_and_input
    with pytest.raises(ValueError, match=r"x must have shape \(T, N, I\)"):
        ex03.forget_gates(lstm.state_dict(), x[:, 0].numpy())
    with pytest.raises(ValueError, match=r"one sequence of shape \(T, I\)"):
        ex03.lstm_gate_trace(lstm.state_dict(), x.numpy())
    with pytest.raises(KeyError, match="no LSTM layer 1"):
        ex03.forget_gates(lstm.state_dict(), x.numpy(), layer=1)


def test_timing_outputs_are_each_models_spike_probabilities_on_fresh_sequences():
    from rnnlab.data.synthetic import spike_timing_batch

    runs = {"a": ex03.run_timing(False, steps=2), "b": ex03.run_timing(True, steps=2, seed=1)}
    out = ex03.timing_outputs(runs, length=30, delay=7, seed=3, n=2)
    x, y = spike_timing_batch(2, 30, 7, 3)
    np.testing.assert_array_equal(out.x, x)
    np.testing.assert_array_equal(out.y, y)
    assert out.delay == 7 and set(out.outputs) == {"a", "b"}
    model = runs["b"][0]
    with torch.no_grad():
        direct = torch.sigmoid(model(torch.as_tensor(x, dtype=torch.float32))).double().numpy()
    np.testing.assert_array_equal(out.outputs["b"], direct)
    assert all(o.shape == (30, 2, 1) and ((o > 0) & (o < 1)).all() for o in out.outputs.values())
