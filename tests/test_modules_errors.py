"""Bad input raises ValueError/TypeError in torch.nn's words, naming the argument.

Where torch.nn raises for the same mistake, the test runs torch.nn too and asserts that our message
*starts with torch's message* and that our exception is an instance of torch's type (our shape
errors are both ``ValueError`` and ``RuntimeError``), so code written for either catches ours.
"""
from __future__ import annotations

import pytest
import torch
from torch.nn.utils.rnn import pack_padded_sequence

import rnnlab.modules as rm

I, H = 32, 20


pytestmark = pytest.mark.usefixtures("one_torch_thread")  # fixture in conftest.py


def raised(call):
    try:
        call()
    except Exception as exc:  # noqa: BLE001 - we want whatever it raises
        return exc
    raise AssertionError("expected an exception, none was raised")


def same_error(ours_call, torch_call, names=()):
    """Both raise; ours is a ValueError/TypeError of torch's type whose message begins with torch's."""
    ours, theirs = raised(ours_call), raised(torch_call)
    assert isinstance(ours, (ValueError, TypeError)), f"{type(ours).__name__}: {ours}"
    assert isinstance(ours, type(theirs)), (type(ours), type(theirs), str(theirs))
    assert str(ours).startswith(str(theirs)), f"\nours:  {ours}\ntorch: {theirs}"
    for name in names:
        assert name in str(ours), f"message should name {name!r}: {ours}"
    return ours


def pair(mode, *args, **kwargs):
    return getattr(rm, mode)(*args, **kwargs), getattr(torch.nn, mode)(*args, **kwargs)


LAYERS = ["RNN", "LSTM", "GRU"]


def states(mode, shape, cshape=None):
    h = torch.randn(shape)
    return (h, torch.randn(cshape or shape)) if mode == "LSTM" else h


# --------------------------------------------------------------------------- layers: forward
@pytest.mark.parametrize("mode", LAYERS)
@pytest.mark.parametrize("dims", [1, 4])
def test_input_rank(mode, dims):
    ours, theirs = pair(mode, I, H)
    x = torch.randn(*(3,) * (dims - 1), I)
    same_error(lambda: ours(x), lambda: theirs(x), names=["input", "2D or 3D"])


@pytest.mark.parametrize("mode", LAYERS)
@pytest.mark.parametrize("kind", ["batched", "unbatched", "batch_first", "packed"])
def test_input_size(mode, kind):
    ours, theirs = pair(mode, I, H, batch_first=kind == "batch_first")
    x = torch.randn(5, I - 1) if kind == "unbatched" else torch.randn(5, 3, I - 1)
    if kind == "packed":
        x = pack_padded_sequence(x, torch.tensor([5, 4, 2]))
    if mode == "LSTM" and kind == "packed":  # torch.nn.LSTM skips its check here (a matmul fails)
        err = raised(lambda: ours(x))
        assert isinstance(err, ValueError) and isinstance(err, RuntimeError)
    else:
        err = same_error(lambda: ours(x), lambda: theirs(x), names=["input_size"])
    assert str(err).startswith("input.size(-1) must be equal to input_size. Expected 32, got 31")


@pytest.mark.parametrize("mode", LAYERS)
def test_hidden_size_and_batch(mode):
    ours, theirs = pair(mode, I, H, num_layers=2, bidirectional=True)
    x = torch.randn(5, 3, I)
    for bad in [(4, 2, H), (4, 3, H - 1), (2, 3, H)]:
        hx = states(mode, bad, (4, 3, H))
        err = same_error(lambda: ours(x, hx), lambda: theirs(x, hx), names=["hx"])
        assert f"got {list(bad)}" in str(err) and "(4, 3, 20)" in str(err)
    if mode == "LSTM":  # the cell state is checked too
        hx = (torch.randn(4, 3, H), torch.randn(4, 3, H + 1))
        err = same_error(lambda: ours(x, hx), lambda: theirs(x, hx), names=["hx[1]"])
        assert str(err).startswith("Expected hidden[1] size (4, 3, 20), got [4, 3, 21]")


def test_hidden_size_message_is_torchs_words():
    ours = rm.GRU(I, H)
    err = raised(lambda: ours(torch.randn(5, 3, I), torch.randn(1, 3, H - 1)))
    assert str(err).startswith("Expected hidden size (1, 3, 20), got [1, 3, 19]")
    assert isinstance(err, ValueError) and isinstance(err, RuntimeError)


@pytest.mark.parametrize("mode", LAYERS)
def test_hidden_rank_must_match_input_rank(mode):
    ours, theirs = pair(mode, I, H)
    batched, unbatched = torch.randn(5, 3, I), torch.randn(5, I)
    hx2, hx3 = states(mode, (1, H)), states(mode, (1, 3, H))
    same_error(lambda: ours(batched, hx2), lambda: theirs(batched, hx2), names=["hx", "3-D"])
    same_error(lambda: ours(unbatched, hx3), lambda: theirs(unbatched, hx3), names=["hx", "2-D"])


@pytest.mark.parametrize("mode", LAYERS)
def test_packed_hidden_batch_is_checked_against_the_longest_step(mode):
    ours, theirs = pair(mode, I, H)
    x = pack_padded_sequence(torch.randn(5, 3, I), torch.tensor([5, 4, 2]))
    hx = states(mode, (1, 2, H))
    if mode == "LSTM":  # torch.nn.LSTM skips its check for packed input (a broadcast fails)
        err = raised(lambda: ours(x, hx))
        assert str(err).startswith("Expected hidden[0] size (1, 3, 20), got [1, 2, 20]")
        assert isinstance(err, ValueError) and "hx[0]" in str(err)
    else:
        same_error(lambda: ours(x, hx), lambda: theirs(x, hx), names=["hx"])


@pytest.mark.parametrize("mode", LAYERS)
def test_input_dtype(mode):
    ours, theirs = pair(mode, I, H)
    x = torch.randn(5, 3, I, dtype=torch.float64)
    same_error(lambda: ours(x), lambda: theirs(x), names=["input", "float64", "float32"])


@pytest.mark.parametrize("mode", LAYERS)
def test_hidden_dtype_names_hx(mode):
    ours = getattr(rm, mode)(I, H)
    hx = states(mode, (1, 3, H))
    hx = tuple(h.double() for h in hx) if mode == "LSTM" else hx.double()
    err = raised(lambda: ours(torch.randn(5, 3, I), hx))
    assert isinstance(err, ValueError)
    assert "hx" in str(err) and "float64" in str(err) and "float32" in str(err)


@pytest.mark.parametrize("mode", LAYERS)
def test_empty_sequence(mode):
    ours, theirs = pair(mode, I, H)
    x = torch.randn(0, 3, I)
    same_error(lambda: ours(x), lambda: theirs(x), names=["sequence length"])


@pytest.mark.parametrize("mode", LAYERS)
def test_input_must_be_a_tensor(mode):
    err = raised(lambda: getattr(rm, mode)(I, H)([[0.0] * I]))
    assert isinstance(err, TypeError) and "input" in str(err) and "list" in str(err)


def test_lstm_hx_must_be_a_pair():
    m = rm.LSTM(I, H)
    x = torch.randn(5, 3, I)
    for hx in (torch.randn(1, 3, H), (torch.randn(1, 3, H),)):
        err = raised(lambda: m(x, hx))
        assert isinstance(err, TypeError) and "hx" in str(err) and "(h_0, c_0)" in str(err)


# --------------------------------------------------------------------------- layers: constructor
@pytest.mark.parametrize("mode", LAYERS)
@pytest.mark.parametrize(
    "kwargs",
    [
        dict(input_size=0), dict(input_size=2.0), dict(hidden_size=0), dict(hidden_size="8"),
        dict(num_layers=0), dict(dropout=1.5), dict(dropout="0.1"), dict(dropout=True),
        dict(bias="yes"), dict(batch_first=1),
    ],
)
def test_constructor_arguments(mode, kwargs):
    args = dict(input_size=I, hidden_size=H) | kwargs
    same_error(lambda: getattr(rm, mode)(**args), lambda: getattr(torch.nn, mode)(**args),
               names=[next(iter(kwargs))])


@pytest.mark.parametrize("kwargs", [dict(proj_size=-1), dict(proj_size=H)])
def test_lstm_proj_size(kwargs):
    same_error(lambda: rm.LSTM(I, H, **kwargs), lambda: torch.nn.LSTM(I, H, **kwargs),
               names=["proj_size"])


@pytest.mark.parametrize("mode", ["RNN", "GRU"])
def test_proj_size_only_for_lstm(mode):
    same_error(lambda: getattr(rm, mode)(I, H, proj_size=2),
               lambda: getattr(torch.nn, mode)(I, H, proj_size=2), names=["proj_size"])


def test_nonlinearity():
    same_error(lambda: rm.RNN(I, H, nonlinearity="sigmoid"),
               lambda: torch.nn.RNN(I, H, nonlinearity="sigmoid"), names=["sigmoid", "tanh", "relu"])
    err = raised(lambda: rm.RNNCell(I, H, nonlinearity="sigmoid"))
    assert isinstance(err, ValueError) and "nonlinearity" in str(err)


def test_options_must_be_bool():
    for call, name in [
        (lambda: rm.LSTM(I, H, peephole=1), "peephole"),
        (lambda: rm.LSTMCell(I, H, peephole="yes"), "peephole"),
        (lambda: rm.GRU(I, H, reset_after=0), "reset_after"),
        (lambda: rm.GRUCell(I, H, reset_after=None), "reset_after"),
        (lambda: rm.LSTM(I, H, bidirectional="no"), "bidirectional"),
    ]:
        err = raised(call)
        assert isinstance(err, TypeError) and name in str(err)


def test_dropout_with_one_layer_warns_like_torch():
    with pytest.warns(UserWarning, match="dropout option adds dropout after all but last"):
        rm.LSTM(I, H, dropout=0.5)


# --------------------------------------------------------------------------- cells
CELLS = ["RNNCell", "LSTMCell", "GRUCell"]


def cell_states(name, shape, cshape=None):
    h = torch.randn(shape)
    return (h, torch.randn(cshape or shape)) if name == "LSTMCell" else h


@pytest.mark.parametrize("name", CELLS)
def test_cell_input_rank_and_size(name):
    ours, theirs = pair(name, I, H)
    x3 = torch.randn(2, 3, I)
    same_error(lambda: ours(x3), lambda: theirs(x3), names=["input", "1D or 2D"])
    for x in (torch.randn(3, I - 1), torch.randn(I - 1)):
        err = same_error(lambda: ours(x), lambda: theirs(x), names=["input_size"])
        assert str(err).startswith("input has inconsistent input_size: got 31 expected 32")


@pytest.mark.parametrize("name", CELLS)
def test_cell_hidden_batch_and_size(name):
    ours, theirs = pair(name, I, H)
    x = torch.randn(3, I)
    hx = cell_states(name, (2, H), (3, H))
    err = same_error(lambda: ours(x, hx), lambda: theirs(x, hx), names=["hx"])
    assert str(err).startswith("Input batch size 3 doesn't match hidden0 batch size 2")
    hx = cell_states(name, (3, H - 1), (3, H))
    err = same_error(lambda: ours(x, hx), lambda: theirs(x, hx), names=["hx"])
    assert str(err).startswith("hidden0 has inconsistent hidden_size: got 19, expected 20")
    if name == "LSTMCell":
        hx = (torch.randn(3, H), torch.randn(3, H + 1))
        err = same_error(lambda: ours(x, hx), lambda: theirs(x, hx), names=["hx[1]"])
        assert str(err).startswith("hidden1 has inconsistent hidden_size: got 21, expected 20")


@pytest.mark.parametrize("name", CELLS)
def test_cell_hidden_rank(name):
    ours, theirs = pair(name, I, H)
    hx = cell_states(name, (1, 3, H))
    same_error(lambda: ours(torch.randn(3, I), hx), lambda: theirs(torch.randn(3, I), hx),
               names=["1D or 2D"])
    # batched hx with unbatched input: torch gives a confusing size message; ours names hx
    err = raised(lambda: ours(torch.randn(I), cell_states(name, (3, H))))
    assert isinstance(err, ValueError) and "hx" in str(err) and "1D" in str(err)


@pytest.mark.parametrize("name", CELLS)
def test_cell_dtype(name):
    ours, theirs = pair(name, I, H)
    err = raised(lambda: ours(torch.randn(3, I, dtype=torch.float64)))
    assert isinstance(err, ValueError) and "input" in str(err) and "float64" in str(err)
    hx = cell_states(name, (3, H))
    hx = tuple(h.double() for h in hx) if name == "LSTMCell" else hx.double()
    err = raised(lambda: ours(torch.randn(3, I), hx))
    assert isinstance(err, ValueError) and "hx" in str(err)


def test_lstm_cell_hx_must_be_a_pair():
    err = raised(lambda: rm.LSTMCell(I, H)(torch.randn(3, I), torch.randn(3, H)))
    assert isinstance(err, TypeError) and "(h_0, c_0)" in str(err)


@pytest.mark.parametrize("name", CELLS)
def test_cell_constructor(name):
    for kwargs in (dict(input_size=0), dict(hidden_size=1.5), dict(bias=None)):
        args = dict(input_size=I, hidden_size=H) | kwargs
        err = raised(lambda: getattr(rm, name)(**args))
        assert isinstance(err, (ValueError, TypeError)) and next(iter(kwargs)) in str(err)
