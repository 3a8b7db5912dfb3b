"""The gate traces of rnnlab.viz.ch03 against torch.nn: the forget gates and gate traces the
notebooks read and the gate explorer draws."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from rnnlab.viz import ch03


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
    got = ch03.forget_gates(lstm.state_dict(), x.numpy())
    assert got.shape == (9, 4, H)
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-12)


def test_gate_trace_is_one_column_of_the_batch(lstm_and_input):
    lstm, x = lstm_and_input
    with torch.no_grad():
        out, _ = lstm(x)
    trace = ch03.lstm_gate_trace(lstm.state_dict(), x[:, 2].numpy())
    np.testing.assert_allclose(trace.h, out[:, 2].numpy(), rtol=0, atol=1e-12)
    np.testing.assert_allclose(trace.f, ch03.forget_gates(lstm.state_dict(), x.numpy())[:, 2],
                               rtol=0, atol=1e-12)
    assert trace.f.shape == trace.c.shape == (9, 5)


def test_gate_functions_reject_wrong_shapes(lstm_and_input):
    lstm, x = lstm_and_input
    with pytest.raises(ValueError, match=r"x must have shape \(T, N, I\)"):
        ch03.forget_gates(lstm.state_dict(), x[:, 0].numpy())
    with pytest.raises(ValueError, match=r"one sequence of shape \(T, I\)"):
        ch03.lstm_gate_trace(lstm.state_dict(), x.numpy())
    with pytest.raises(KeyError, match="no LSTM layer 1"):
        ch03.forget_gates(lstm.state_dict(), x.numpy(), layer=1)


def test_gate_explorer_draws_outside_the_inline_backend(lstm_and_input):
    """The explorer used to call plt.show(fig), which only the inline backend accepts."""
    pytest.importorskip("ipywidgets")
    from rnnlab.data import adding_problem

    torch.manual_seed(0)
    lstm = torch.nn.LSTM(2, 4)
    box = ch03.gate_explorer(lstm.state_dict(), adding_problem(2, 12, rng=0))
    assert type(box).__name__ == "VBox" and len(box.children) == 2
