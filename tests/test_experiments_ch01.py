"""rnnlab.experiments.ch01: the carry-bit run trains on rnnlab.train.fit exactly as a hand-written
plain-SGD loop does (same batches, same updates, the same numbers to the last bit); the hidden
states of an RNN agree with torch.nn.RNN and the latch with its recurrence written out."""
import numpy as np
import pytest
import torch

from rnnlab.data import carry_bit_batch
from rnnlab.experiments import ch01


def _hand_sgd(steps, updates, lr, hidden_size, batch, seed):
    """The loop written out: torch.nn.RNN + Linear, BCE on the last step, torch.optim.SGD."""
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    rnn, head = torch.nn.RNN(1, hidden_size), torch.nn.Linear(hidden_size, 1)
    opt = torch.optim.SGD(list(rnn.parameters()) + list(head.parameters()), lr=lr)
    bce = torch.nn.functional.binary_cross_entropy_with_logits

    def loss_of(x, bits):
        return bce(head(rnn(x)[0][-1])[:, 0], (bits > 0).float())

    x, bits = carry_bit_batch(rng, steps, batch)
    x0 = torch.tensor(x, dtype=torch.float32, requires_grad=True)
    loss_of(x0, torch.tensor(bits)).backward()
    grad_first = float(x0.grad[0].norm() / np.sqrt(batch))
    for _ in range(updates):
        x, bits = carry_bit_batch(rng, steps, batch)
        loss = loss_of(torch.tensor(x, dtype=torch.float32), torch.tensor(bits))
        opt.zero_grad()
        loss.backward()
        opt.step()
    x, bits = carry_bit_batch(rng, steps, 1000)
    with torch.no_grad():
        pred = head(rnn(torch.tensor(x, dtype=torch.float32))[0][-1])[:, 0] > 0
    acc = float((pred.numpy() == (bits > 0)).mean())
    return ch01.CarryBitRun(steps, acc, float(loss.item()), grad_first)


def test_train_carry_bit_equals_the_hand_written_sgd_loop():
    for steps in (3, 30):
        got = ch01.train_carry_bit(steps, updates=20, batch=8, seed=1)
        assert got == _hand_sgd(steps, 20, 0.1, 8, 8, seed=1)


def test_train_carry_bit_runs_and_measures_the_first_input_gradient():
    short = ch01.train_carry_bit(3, updates=5, batch=8)
    long = ch01.train_carry_bit(30, updates=5, batch=8)
    assert 0 <= short.accuracy <= 1 and np.isfinite(short.final_loss)
    assert 0 < long.grad_first_input < short.grad_first_input


def test_carry_bit_model_reads_the_last_step():
    torch.manual_seed(0)
    model = ch01.CarryBitModel(4)
    x = torch.randn(6, 3, 1)
    expected = model.head(model.rnn(x)[0][-1])[:, 0]
    torch.testing.assert_close(model(x), expected, rtol=0, atol=0)
    assert model(x).shape == (3,)


# ----------------------------------------------------------------------------- stepping an RNN
def test_rnn_states_equals_torch():
    rng = np.random.default_rng(0)
    x, W_ih, W_hh, b = (rng.standard_normal((9, 3)), rng.standard_normal((5, 3)),
                        rng.standard_normal((5, 5)), rng.standard_normal(5))
    h0 = rng.standard_normal(5)
    rnn = torch.nn.RNN(3, 5, dtype=torch.float64)
    rnn.load_state_dict({"weight_ih_l0": torch.from_numpy(W_ih),
                         "weight_hh_l0": torch.from_numpy(W_hh),
                         "bias_ih_l0": torch.from_numpy(b),
                         "bias_hh_l0": torch.zeros(5, dtype=torch.float64)})
    expected = rnn(torch.from_numpy(x))[0].detach().numpy()
    np.testing.assert_allclose(ch01.rnn_states(x, W_ih, W_hh, b), expected, rtol=0, atol=1e-12)
    from_h0 = rnn(torch.from_numpy(x), torch.from_numpy(h0)[None])[0].detach().numpy()
    np.testing.assert_allclose(ch01.rnn_states(x, W_ih, W_hh, b, h0), from_h0, rtol=0,
                               atol=1e-12)
    with torch.no_grad():
        rnn.bias_ih_l0.zero_()
    no_bias = rnn(torch.from_numpy(x))[0].detach().numpy()
    np.testing.assert_allclose(ch01.rnn_states(x, W_ih, W_hh), no_bias, rtol=0, atol=1e-12)
    with pytest.raises(ValueError, match="input_size=3"):
        ch01.rnn_states(rng.standard_normal((9, 4)), W_ih, W_hh, b)


def test_demo_rnn_has_the_requested_radius_and_two_pulses():
    x, W_ih, W_hh, b = ch01.demo_rnn(radius=0.7)
    assert x.shape == (24, 3) and W_ih.shape == (8, 3) and b.shape == (8,)
    assert abs(np.abs(np.linalg.eigvals(W_hh)).max() - 0.7) < 1e-12
    assert np.flatnonzero(x[:, 0] == 2.0).tolist() == [2, 12]


# ----------------------------------------------------------------------------- the latch
def _latch_by_hand(bits, noise, w, u):
    x = np.concatenate([bits[:, None], noise], axis=1)
    h, out = np.zeros(len(bits)), np.empty_like(x)
    for t in range(x.shape[1]):
        h = np.tanh(w * h + u * x[:, t])
        out[:, t] = h
    return out


def test_latch_keeps_the_bit_only_with_a_strong_self_weight():
    rng = np.random.default_rng(0)
    x, bits = carry_bit_batch(rng, steps=50, batch=500)
    assert x.shape == (50, 500, 1) and np.array_equal(x[0, :, 0], bits)
    assert np.abs(x[1:]).max() <= 0.5
    strong = ch01.latch_states(bits, x[1:, :, 0].T, w=5.0, u=2.0)
    weak = ch01.latch_states(bits, x[1:, :, 0].T, w=0.9, u=2.0)
    np.testing.assert_allclose(strong, _latch_by_hand(bits, x[1:, :, 0].T, 5.0, 2.0), rtol=0,
                               atol=1e-15)
    assert np.all(np.sign(strong[:, -1]) == bits)
    assert 0.3 < np.mean(np.sign(weak[:, -1]) == bits) < 0.7


def test_latch_runs_share_their_inputs():
    runs = ch01.latch_runs(w_good=4.0, w_bad=0.5, steps=20, n=4, seed=1)
    assert runs.weights == (4.0, 0.5) and runs.bits.tolist() == [1, -1, 1, -1]
    rng = np.random.default_rng(1)
    noise = rng.uniform(-0.5, 0.5, size=(4, 19))
    for w, h in zip(runs.weights, runs.states):
        np.testing.assert_allclose(h, _latch_by_hand(runs.bits, noise, w, 2.0), rtol=0,
                                   atol=1e-15)
