"""The options torch.nn does not have, and the hand-written backward, checked independently.

- ``peephole=True`` (LSTM, LSTMCell, Gers & Schmidhuber 2000) and ``reset_after=False`` (GRU,
  GRUCell, Cho et al. 2014): the cell equals the equations written out in the test; the layer
  equals a loop of cells; with zero peephole weights the LSTM equals torch.nn.LSTM.
- ``torch.autograd.gradcheck`` (finite differences, float64) on whole layers: every mode and
  option, several layers, both directions, packed variable-length input, all parameters.
"""
from __future__ import annotations

import pytest
import torch
from torch.func import functional_call
from torch.nn.utils.rnn import pack_padded_sequence

import rnnlab.modules as rm

F64 = torch.float64


pytestmark = pytest.mark.usefixtures("one_torch_thread")  # fixture in conftest.py


def close(a, b, atol=1e-10, msg=""):
    assert a.shape == b.shape, f"{msg}: shape {tuple(a.shape)} != {tuple(b.shape)}"
    err = (a - b).abs().max().item() if a.numel() else 0.0
    assert err <= atol, f"{msg}: max error {err:.3g} > {atol:g}"


# --------------------------------------------------------------------------- the equations
def peephole_step_by_hand(x, h, c, p):
    """Gers & Schmidhuber (2000), written out gate by gate with separate weight blocks."""
    H = h.shape[1]
    W_i, W_f, W_g, W_o = p["weight_ih"].split(H)
    U_i, U_f, U_g, U_o = p["weight_hh"].split(H)
    b = p["bias_ih"] + p["bias_hh"]
    b_i, b_f, b_g, b_o = b.split(H)
    sig = torch.sigmoid
    i = sig(x @ W_i.T + h @ U_i.T + b_i + p["weight_ci"] * c)  # input gate sees c_{t-1}
    f = sig(x @ W_f.T + h @ U_f.T + b_f + p["weight_cf"] * c)  # forget gate sees c_{t-1}
    g = torch.tanh(x @ W_g.T + h @ U_g.T + b_g)
    c_new = f * c + i * g
    o = sig(x @ W_o.T + h @ U_o.T + b_o + p["weight_co"] * c_new)  # output gate sees c_t
    return o * torch.tanh(c_new), c_new


def cho_gru_step_by_hand(x, h, p):
    """Cho et al. (2014): the reset gate scales h_{t-1} *before* it meets W_hn."""
    H = h.shape[1]
    W_r, W_z, W_n = p["weight_ih"].split(H)
    U_r, U_z, U_n = p["weight_hh"].split(H)
    bi_r, bi_z, bi_n = p["bias_ih"].split(H)
    bh_r, bh_z, bh_n = p["bias_hh"].split(H)
    r = torch.sigmoid(x @ W_r.T + bi_r + h @ U_r.T + bh_r)
    z = torch.sigmoid(x @ W_z.T + bi_z + h @ U_z.T + bh_z)
    n = torch.tanh(x @ W_n.T + bi_n + (r * h) @ U_n.T + bh_n)
    return (1 - z) * n + z * h


def test_peephole_cell_is_gers_schmidhuber():
    torch.manual_seed(0)
    cell = rm.LSTMCell(3, 4, peephole=True, dtype=F64)
    names = [n for n, _ in cell.named_parameters()]
    assert names == ["weight_ih", "weight_hh", "bias_ih", "bias_hh", "weight_ci", "weight_cf", "weight_co"]
    assert all(getattr(cell, n).shape == (4,) for n in names[4:])
    x, h, c = torch.randn(5, 3, dtype=F64), torch.randn(5, 4, dtype=F64), torch.randn(5, 4, dtype=F64)
    h1, c1 = cell(x, (h, c))
    h2, c2 = peephole_step_by_hand(x, h, c, dict(cell.named_parameters()))
    close(h1, h2)
    close(c1, c2)
    # unbatched works too
    h3, c3 = cell(x[0], (h[0], c[0]))
    close(h3, h1[0])
    close(c3, c1[0])


def test_cho_gru_cell_is_cho_and_differs_from_torch():
    torch.manual_seed(1)
    cell = rm.GRUCell(3, 4, reset_after=False, dtype=F64)
    x, h = torch.randn(5, 3, dtype=F64), torch.randn(5, 4, dtype=F64)
    close(cell(x, h), cho_gru_step_by_hand(x, h, dict(cell.named_parameters())))
    theirs = torch.nn.GRUCell(3, 4, dtype=F64)
    theirs.load_state_dict(cell.state_dict())
    assert (cell(x, h) - theirs(x, h)).abs().max() > 1e-3, "the two reset conventions are different models"
    cell.reset_after = True
    close(cell(x, h), theirs(x, h))


@pytest.mark.parametrize("bidirectional", [False, True])
def test_peephole_layer_equals_loop_of_cells(bidirectional):
    torch.manual_seed(2)
    layer = rm.LSTM(3, 4, num_layers=2, peephole=True, bidirectional=bidirectional, dtype=F64)
    x = torch.randn(6, 2, 3, dtype=F64)
    out, (h_n, c_n) = layer(x)
    D = 2 if bidirectional else 1
    inp = x
    for layer_idx in range(2):
        outs = []
        for d in range(D):
            sfx = f"_l{layer_idx}" + ("_reverse" if d else "")
            p = {k[: -len(sfx)]: v for k, v in layer.named_parameters() if k.endswith(sfx)}
            h = c = torch.zeros(2, 4, dtype=F64)
            steps = range(5, -1, -1) if d else range(6)
            hs = [None] * 6
            for t in steps:
                h, c = peephole_step_by_hand(inp[t], h, c, p)
                hs[t] = h
            outs.append(torch.stack(hs))
            k = layer_idx * D + d
            close(h_n[k], h, msg=f"h_n[{k}]")
            close(c_n[k], c, msg=f"c_n[{k}]")
        inp = torch.cat(outs, -1)
    close(out, inp)


def test_cho_gru_layer_equals_loop_of_cells_with_variable_lengths():
    torch.manual_seed(3)
    layer = rm.GRU(3, 4, bidirectional=True, reset_after=False, dtype=F64)
    x = torch.randn(5, 3, 3, dtype=F64)
    lengths = [5, 2, 4]
    out, h_n = layer(pack_padded_sequence(x, torch.tensor(lengths), enforce_sorted=False))
    from torch.nn.utils.rnn import pad_packed_sequence

    out, _ = pad_packed_sequence(out)
    for d, sfx in enumerate(["_l0", "_l0_reverse"]):
        p = {k[: -len(sfx)]: v for k, v in layer.named_parameters() if k.endswith(sfx)}
        for j, L in enumerate(lengths):  # each sequence alone, only its true steps
            h = torch.zeros(1, 4, dtype=F64)
            for t in (range(L - 1, -1, -1) if d else range(L)):
                h = cho_gru_step_by_hand(x[t, j : j + 1], h, p)
                close(out[t, j, 4 * d : 4 * d + 4], h[0], msg=f"seq {j} step {t} dir {d}")
            close(h_n[d, j], h[0])
        assert out[lengths[1]:, 1].abs().max() == 0  # padding stays zero


def test_zero_peepholes_equal_torch_lstm():
    torch.manual_seed(4)
    ours = rm.LSTM(3, 5, num_layers=2, bidirectional=True, peephole=True, dtype=F64)
    theirs = torch.nn.LSTM(3, 5, num_layers=2, bidirectional=True, dtype=F64)
    missing, unexpected = ours.load_state_dict(theirs.state_dict(), strict=False)
    assert sorted(missing) == sorted(
        f"weight_{g}_l{k}{s}" for g in ("ci", "cf", "co") for k in (0, 1) for s in ("", "_reverse")
    )
    assert not unexpected
    with torch.no_grad():
        for name in missing:
            getattr(ours, name).zero_()
    x = torch.randn(4, 2, 3, dtype=F64)
    (a, (h, c)), (b, (h2, c2)) = ours(x), theirs(x)
    close(a, b)
    close(h, h2)
    close(c, c2)
    # the peepholes matter once they are not zero
    with torch.no_grad():
        ours.weight_co_l0.fill_(0.5)
    assert (ours(x)[0] - b).abs().max() > 1e-3


def test_peephole_parameter_order_matches_scratch_convention():
    m = rm.LSTM(2, 3, num_layers=2, bidirectional=True, peephole=True)
    expect = []
    for k in range(2):
        for sfx in ("", "_reverse"):
            expect += [f"{w}_l{k}{sfx}" for w in ("weight_ih", "weight_hh", "bias_ih", "bias_hh",
                                                  "weight_ci", "weight_cf", "weight_co")]
    assert [n for n, _ in m.named_parameters()] == expect
    assert "peephole=True" in repr(m)
    assert "reset_after=False" in repr(rm.GRU(2, 3, reset_after=False))


# --------------------------------------------------------------------------- gradcheck
def layer_function(module, x_kind):
    """f(x, *hx, *params) -> every output of the module, for torch.autograd.gradcheck."""
    names = [n for n, _ in module.named_parameters()]
    n_states = 2 if isinstance(module, rm.LSTM) else 1

    def f(x, *rest):
        hx, params = rest[:n_states], rest[n_states:]
        inp = x
        if x_kind == "packed":
            inp = pack_padded_sequence(x, torch.tensor([4, 1, 3]), enforce_sorted=False)
        state = hx if n_states == 2 else hx[0]
        out, hn = functional_call(module, dict(zip(names, params)), (inp, state))
        data = out.data if x_kind == "packed" else out
        return (data,) + (hn if isinstance(hn, tuple) else (hn,))

    return f


GRADCHECK_CASES = [  # (mode, kwargs, input, fast_mode)
    # the options torch.nn lacks: full Jacobians
    ("LSTM", dict(peephole=True, bidirectional=True), "packed", False),
    ("LSTM", dict(peephole=True, proj_size=1, bias=False), "padded", False),
    ("GRU", dict(reset_after=False, bidirectional=True), "packed", False),
    ("GRU", dict(reset_after=False, bias=False), "padded", False),
    ("RNN", dict(nonlinearity="relu", bias=False, num_layers=2), "padded", False),
    # torch.nn's own modes (their gradients are also compared with torch.nn's) and deeper
    # stacks: gradcheck's fast mode, random directions of the full Jacobian
    ("RNN", dict(nonlinearity="tanh", bidirectional=True), "packed", True),
    ("LSTM", dict(bidirectional=True), "packed", True),
    ("GRU", dict(bidirectional=True), "packed", True),
    ("LSTM", dict(peephole=True, num_layers=2, bidirectional=True), "packed", True),
    ("GRU", dict(reset_after=False, num_layers=2, bidirectional=True), "packed", True),
    ("RNN", dict(num_layers=3, bidirectional=True), "packed", True),
]


@pytest.mark.parametrize("mode,kwargs,x_kind,fast", GRADCHECK_CASES)
def test_gradcheck_whole_layer(mode, kwargs, x_kind, fast):
    torch.manual_seed(5)
    module = getattr(rm, mode)(2, 2, dtype=F64, **kwargs)
    if mode == "RNN" and kwargs.get("nonlinearity") == "relu":
        with torch.no_grad():  # keep pre-activations away from relu's kink at 0
            for p in module.parameters():
                p.add_(0.3 * p.sign())
    D = 2 if module.bidirectional else 1
    P = module.proj_size or module.hidden_size
    x = torch.randn(4, 3, 2, dtype=F64, requires_grad=True)
    hx = [torch.randn(module.num_layers * D, 3, P, dtype=F64, requires_grad=True)]
    if mode == "LSTM":
        hx.append(torch.randn(module.num_layers * D, 3, 2, dtype=F64, requires_grad=True))
    params = [p.detach().clone().requires_grad_(True) for p in module.parameters()]
    assert torch.autograd.gradcheck(
        layer_function(module, x_kind), (x, *hx, *params), eps=1e-6, atol=1e-7, rtol=1e-6,
        fast_mode=fast,
    )


@pytest.mark.parametrize(
    "cell", [rm.LSTMCell(2, 3, peephole=True, dtype=F64), rm.GRUCell(2, 3, reset_after=False, dtype=F64)]
)
def test_gradcheck_cells(cell):
    names = [n for n, _ in cell.named_parameters()]
    lstm = isinstance(cell, rm.LSTMCell)

    def f(x, h, c, *params):
        out = functional_call(cell, dict(zip(names, params)), (x, (h, c) if lstm else h))
        return out if lstm else (out,)

    args = [torch.randn(4, 2, dtype=F64, requires_grad=True)]
    args += [torch.randn(4, 3, dtype=F64, requires_grad=True) for _ in range(2)]
    args += [p.detach().clone().requires_grad_(True) for p in cell.parameters()]
    assert torch.autograd.gradcheck(f, tuple(args), eps=1e-6, atol=1e-7, rtol=1e-6)
