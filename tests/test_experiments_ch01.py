"""rnnlab.experiments.ch01: the carry-bit run trains on rnnlab.train.fit exactly as a hand-written
plain-SGD loop does (same batches, same updates, the same numbers to the last bit)."""
import numpy as np
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
