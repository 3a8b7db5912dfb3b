"""Bad input to rnnlab.scratch raises ValueError/TypeError naming the argument, in torch's words
where torch has them."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from rnnlab import scratch


def x3(T=5, N=3, I=32):
    return np.zeros((T, N, I))


# ------------------------------------------------------------------ constructor
@pytest.mark.parametrize(
    "kwargs,exc,match",
    [
        (dict(input_size=0, hidden_size=4), ValueError, "input_size must be greater than zero"),
        (dict(input_size=3, hidden_size="4"), TypeError, "hidden_size should be of type int"),
        (dict(input_size=3, hidden_size=4, num_layers=0), ValueError, "num_layers must be greater than zero"),
        (dict(input_size=3, hidden_size=4, bias=1), TypeError, "bias should be of type bool"),
        (dict(input_size=3, hidden_size=4, batch_first="yes"), TypeError, "batch_first should be of type bool"),
        (dict(input_size=3, hidden_size=4, num_layers=2, dropout=1.5), ValueError, "dropout should be a number in range"),
        (dict(input_size=3, hidden_size=4, dtype=np.int32), TypeError, "dtype must be np.float32 or np.float64"),
        (dict(input_size=3, hidden_size=4, seed=1, rng=np.random.default_rng(1)), ValueError, "seed or rng"),
        (dict(input_size=3, hidden_size=4, rng=1), TypeError, "rng must be a numpy.random.Generator"),
    ],
)
@pytest.mark.parametrize("cls", [scratch.RNN, scratch.LSTM, scratch.GRU])
def test_constructor_errors(cls, kwargs, exc, match):
    with pytest.raises(exc, match=match):
        cls(**kwargs)


def test_constructor_variant_errors_and_dropout_warning():
    with pytest.raises(ValueError, match="nonlinearity must be 'tanh' or 'relu', got 'sigmoid'"):
        scratch.RNN(3, 4, nonlinearity="sigmoid")
    with pytest.raises(TypeError, match="peephole should be of type bool"):
        scratch.LSTM(3, 4, peephole="yes")
    with pytest.raises(TypeError, match="reset_after should be of type bool"):
        scratch.GRU(3, 4, reset_after=None)
    with pytest.warns(UserWarning, match="non-zero dropout expects num_layers greater than 1"):
        scratch.LSTM(3, 4, dropout=0.5)


@pytest.mark.parametrize("proj_size", [2, -1, True, "2"])
def test_lstm_proj_size_names_the_argument_and_points_to_modules(proj_size):
    with pytest.raises(ValueError, match=r"proj_size=.*rnnlab\.modules\.LSTM supports proj_size"):
        scratch.LSTM(3, 4, proj_size=proj_size)
    with pytest.raises(ValueError, match="proj_size"):  # torch's position: after bidirectional
        scratch.LSTM(3, 4, 1, True, False, 0.0, False, proj_size)


def test_lstm_proj_size_zero_is_torch_default():
    m = scratch.LSTM(3, 4, proj_size=0, seed=0)
    out, (h, c) = m.forward(np.zeros((2, 1, 3)))
    assert out.shape == (2, 1, 4) and h.shape == c.shape == (1, 1, 4)


def test_rnn_takes_nonlinearity_fourth_like_torch():
    assert scratch.RNN(3, 4, 2, "relu").nonlinearity == "relu"
    assert torch.nn.RNN(3, 4, 2, "relu").nonlinearity == "relu"


# ------------------------------------------------------------------ forward
@pytest.mark.parametrize("cls", [scratch.RNN, scratch.LSTM, scratch.GRU])
def test_forward_input_errors(cls):
    m = cls(32, 20)
    name = cls.__name__
    with pytest.raises(ValueError, match=r"input.size\(-1\) must be equal to input_size. Expected 32, got 31"):
        m.forward(np.zeros((5, 3, 31)))
    with pytest.raises(ValueError, match=f"{name}: Expected input to be 2D or 3D, got 4D instead"):
        m.forward(np.zeros((5, 3, 2, 32)))
    with pytest.raises(TypeError, match="input must be a floating-point array .* got dtype int64"):
        m.forward(np.zeros((5, 3, 32), dtype=np.int64))
    with pytest.raises(ValueError, match="at least one time step"):
        m.forward(np.zeros((0, 3, 32)))


def test_forward_hx_errors_rnn_gru():
    for m in (scratch.RNN(32, 20), scratch.GRU(32, 20)):
        with pytest.raises(ValueError, match=r"Expected hidden size \(1, 3, 20\), got \(1, 3, 19\)"):
            m.forward(x3(), np.zeros((1, 3, 19)))
        with pytest.raises(ValueError, match="For batched 3-D input, hx should also be 3-D but got 2-D tensor"):
            m.forward(x3(), np.zeros((3, 20)))
        with pytest.raises(ValueError, match="For unbatched 2-D input, hx should also be 2-D but got 3-D tensor"):
            m.forward(np.zeros((5, 32)), np.zeros((1, 1, 20)))
        with pytest.raises(TypeError, match="hx must be an array"):
            m.forward(x3(), (np.zeros((1, 3, 20)),))
        with pytest.raises(TypeError, match="hx must be a floating-point array"):
            m.forward(x3(), np.zeros((1, 3, 20), dtype=int))


def test_forward_hx_errors_lstm():
    m = scratch.LSTM(32, 20, num_layers=2, bidirectional=True)
    h = np.zeros((4, 3, 20))
    with pytest.raises(TypeError, match=r"hx must be a tuple \(h_0, c_0\) for LSTM"):
        m.forward(x3(), h)
    with pytest.raises(ValueError, match=r"Expected hidden\[0\] size \(4, 3, 20\), got \(2, 3, 20\)"):
        m.forward(x3(), (np.zeros((2, 3, 20)), h))
    with pytest.raises(ValueError, match=r"Expected hidden\[1\] size \(4, 3, 20\), got \(4, 3, 21\)"):
        m.forward(x3(), (h, np.zeros((4, 3, 21))))
    with pytest.raises(ValueError, match=r"hx and cx should also be 3-D but got \(3-D, 2-D\)"):
        m.forward(x3(), (h, np.zeros((3, 20))))


def test_forward_lengths_errors():
    m = scratch.GRU(32, 20)
    with pytest.raises(ValueError, match=r"lengths must not exceed the number of time steps of the input \(5\), got lengths\[1\] = 6"):
        m.forward(x3(), lengths=[5, 6, 2])
    with pytest.raises(ValueError, match=r"greater than 0, but found an element in 'lengths'.*lengths\[2\] = 0"):
        m.forward(x3(), lengths=[5, 1, 0])
    with pytest.raises(ValueError, match="lengths must have one entry per sequence in the batch: expected 3, got 2"):
        m.forward(x3(), lengths=[5, 1])
    with pytest.raises(TypeError, match="lengths must be a sequence of integers"):
        m.forward(x3(), lengths=[5, 1.5, 2])
    with pytest.raises(ValueError, match="lengths must be 1-D"):
        m.forward(x3(), lengths=[[5, 1, 2]])
    m.forward(x3(), lengths=torch.tensor([5, 1, 2]))  # a torch tensor of lengths is fine


# ------------------------------------------------------------------ backward
def test_backward_errors():
    m = scratch.LSTM(32, 20)
    with pytest.raises(RuntimeError, match="backward\\(\\) needs a forward\\(\\) first"):
        m.backward(np.zeros((5, 3, 20)))
    out, _ = m.forward(x3())
    with pytest.raises(ValueError, match=r"d_output must have the shape of output \(5, 3, 20\), got \(5, 3, 21\)"):
        m.backward(np.zeros((5, 3, 21)))
    with pytest.raises(TypeError, match=r"d_h_n must be a tuple \(d_h_n, d_c_n\) for LSTM"):
        m.backward(out, np.zeros((1, 3, 20)))
    with pytest.raises(ValueError, match=r"d_h_n\[1\] must have the shape of h_n \(1, 3, 20\), got \(1, 3, 2\)"):
        m.backward(out, (None, np.zeros((1, 3, 2))))
    g = scratch.GRU(32, 20)
    g.forward(x3())
    with pytest.raises(ValueError, match=r"d_h_n must have the shape of h_n \(1, 3, 20\)"):
        g.backward(None, np.zeros((3, 20)))
    with pytest.raises(TypeError, match="d_output must be a floating-point array"):
        g.backward(np.zeros((5, 3, 20), dtype=np.int32))


# ------------------------------------------------------------------ state dicts
def test_load_state_dict_errors():
    m = scratch.LSTM(3, 4)
    sd = m.state_dict()
    bad = dict(sd)
    del bad["bias_hh_l0"]
    bad["weight_xx_l0"] = np.zeros(2)
    with pytest.raises(ValueError, match=r'Error\(s\) in loading state_dict for LSTM') as e:
        m.load_state_dict(bad)
    assert 'Missing key(s) in state_dict: "bias_hh_l0"' in str(e.value)
    assert 'Unexpected key(s) in state_dict: "weight_xx_l0"' in str(e.value)
    bad = dict(sd, weight_ih_l0=np.zeros((16, 2)))
    with pytest.raises(ValueError, match=r"size mismatch for weight_ih_l0: copying a param with shape \(16, 2\) from checkpoint, the shape in current model is \(16, 3\)"):
        m.load_state_dict(bad)
    with pytest.raises(TypeError, match="state_dict must be a mapping"):
        m.load_state_dict([("weight_ih_l0", np.zeros((16, 3)))])


def test_peephole_lstm_and_torch_state_dict():
    m = scratch.LSTM(3, 4, peephole=True, seed=0)
    t = torch.nn.LSTM(3, 4).double()
    with pytest.raises(ValueError, match="no peephole weights: use strict=False"):
        m.load_state_dict(t.state_dict())
    keep = m.params["weight_co_l0"].copy()
    res = m.load_state_dict(t.state_dict(), strict=False)
    assert res.missing_keys == ["weight_ci_l0", "weight_cf_l0", "weight_co_l0"]
    assert res.unexpected_keys == []
    np.testing.assert_array_equal(m.params["weight_co_l0"], keep)
    np.testing.assert_array_equal(m.params["weight_hh_l0"], t.weight_hh_l0.detach().numpy())


# ------------------------------------------------------------------ step functions
def test_step_function_errors():
    rng = np.random.default_rng(0)
    W_ih, W_hh = rng.standard_normal((5, 4)), rng.standard_normal((5, 5))
    x, h = rng.standard_normal((3, 4)), rng.standard_normal((3, 5))
    with pytest.raises(ValueError, match=r"x.size\(-1\) must be equal to input_size. Expected 4, got 3"):
        scratch.rnn_step(x[:, :3], h, W_ih, W_hh)
    with pytest.raises(ValueError, match=r"h_prev must have shape \(3, 5\)"):
        scratch.rnn_step(x, h[:2], W_ih, W_hh)
    with pytest.raises(ValueError, match=r"bias_ih must have shape \(5,\)"):
        scratch.rnn_step(x, h, W_ih, W_hh, bias_ih=np.zeros(4))
    with pytest.raises(TypeError, match="x must be a floating-point array"):
        scratch.rnn_step(x.astype(int), h, W_ih, W_hh)
    with pytest.raises(ValueError, match="nonlinearity must be"):
        scratch.rnn_step(x, h, W_ih, W_hh, nonlinearity="sigmoid")
    with pytest.raises(ValueError, match=r"weight_hh must have shape \(4\*hidden_size, hidden_size\) for LSTM"):
        scratch.lstm_step(x, h, h, rng.standard_normal((20, 4)), W_hh)
    with pytest.raises(ValueError, match=r"weight_ih must have shape \(20, input_size\)"):
        scratch.lstm_step(x, h, h, W_ih, rng.standard_normal((20, 5)))
    W4_ih, W4_hh = rng.standard_normal((20, 4)), rng.standard_normal((20, 5))
    with pytest.raises(ValueError, match=r"c_prev must have shape \(3, 5\)"):
        scratch.lstm_step(x, h, h[:, :2], W4_ih, W4_hh)
    with pytest.raises(ValueError, match=r"weight_ci must have shape \(5,\)"):
        scratch.lstm_step(x, h, h, W4_ih, W4_hh, weight_ci=np.zeros((5, 5)))
    _, _, cache = scratch.lstm_step(x, h, h, W4_ih, W4_hh)
    with pytest.raises(ValueError, match=r"dh must have shape \(3, 5\)"):
        scratch.lstm_step_backward(np.zeros((3, 4)), None, cache)
    with pytest.raises(ValueError, match=r"weight_hh must have shape \(3\*hidden_size, hidden_size\) for GRU"):
        scratch.gru_step(x, h, W4_ih, W4_hh)
    _, cache = scratch.rnn_step(x, h, W_ih, W_hh)
    with pytest.raises(ValueError, match=r"dh must have the shape of h \(3, 5\)"):
        scratch.rnn_step_backward(np.zeros(5), cache)


# ------------------------------------------------------------------ losses and clipping
def test_loss_and_clip_errors():
    logits = np.zeros((4, 5))
    with pytest.raises(ValueError, match=r"targets must be class indices in \[0, 5\), got 7"):
        scratch.softmax_cross_entropy(logits, np.array([0, 1, 7, 2]))
    with pytest.raises(ValueError, match=r"targets must have shape logits.shape\[:-1\] = \(4,\), got \(3,\)"):
        scratch.softmax_cross_entropy(logits, np.array([0, 1, 2]))
    with pytest.raises(TypeError, match="targets must be integer class indices"):
        scratch.softmax_cross_entropy(logits, np.zeros(4))
    with pytest.raises(ValueError, match="reduction must be 'mean' or 'sum'"):
        scratch.softmax_cross_entropy(logits, np.zeros(4, dtype=int), reduction="none")
    with pytest.raises(TypeError, match="logits must be a floating-point array"):
        scratch.softmax_cross_entropy(np.zeros((4, 5), dtype=int), np.zeros(4, dtype=int))
    with pytest.raises(ValueError, match="max_norm must be a positive finite number"):
        scratch.clip_grad_norm([np.ones(3)], 0.0)
    with pytest.raises(TypeError, match="grads must hold floating-point numpy arrays"):
        scratch.clip_grad_norm([np.ones(3, dtype=int)], 1.0)
    with pytest.raises(ValueError, match="norm_type must be 2.0 or inf"):
        scratch.clip_grad_norm([np.ones(3)], 1.0, norm_type=1)
