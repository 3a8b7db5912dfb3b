"""Second derivatives through rnnlab.modules: never silently wrong or missing.

A gradient penalty, g = d(loss)/dx with create_graph=True and then g.pow(2).sum().backward(),
needs the derivative of the backward pass itself. The layers' hand-written backward
(rnnlab.modules.recurrence) recomputes the sequence with differentiable ops in that case. Checked
against torch.nn's second derivatives (float64, CPU), by torch.autograd.gradgradcheck (finite
differences of the first derivatives) for every layer variant, including those torch.nn lacks
(peepholes, the Cho et al. GRU), and the first derivatives of both routes against each other.
"""
from __future__ import annotations

import pytest
import torch
from torch.func import functional_call
from torch.nn.utils.rnn import PackedSequence, pack_padded_sequence

import rnnlab.modules as rm

torch.set_num_threads(1)
ATOL = 1e-10  # float64; observed differences are ~1e-15

LAYERS = [
    ("RNN", dict(nonlinearity="tanh")),
    ("RNN", dict(nonlinearity="relu")),
    ("LSTM", {}),
    ("LSTM", dict(proj_size=2)),
    ("GRU", {}),
]
SHAPES = [  # (num_layers, bidirectional, batch_first, with_hx, packed)
    (1, False, False, False, False),
    (2, True, True, True, False),
    (2, True, False, True, True),
]


def _pair(kind, kw, num_layers, bidirectional, batch_first, seed=0):
    torch.manual_seed(seed)
    theirs = getattr(torch.nn, kind)(3, 4, num_layers=num_layers, bidirectional=bidirectional,
                                     batch_first=batch_first, **kw).double()
    ours = getattr(rm, kind)(3, 4, num_layers=num_layers, bidirectional=bidirectional,
                             batch_first=batch_first, **kw).double()
    ours.load_state_dict(theirs.state_dict())
    return ours, theirs


def _inputs(module, kind, kw, batch_first, with_hx, packed, seed=1):
    g = torch.Generator().manual_seed(seed)
    T, B = 5, 3
    x = torch.randn((B, T, 3) if batch_first else (T, B, 3), dtype=torch.double, generator=g)
    x.requires_grad_(True)
    D = 2 if module.bidirectional else 1
    hx = None
    if with_hx:
        P = kw.get("proj_size") or 4
        h0 = torch.randn(module.num_layers * D, B, P, dtype=torch.double, generator=g)
        hx = [h0.requires_grad_(True)]
        if kind == "LSTM":
            hx.append(torch.randn(module.num_layers * D, B, 4, dtype=torch.double,
                                  generator=g).requires_grad_(True))
    weights = None
    if packed:
        lengths = torch.tensor([5, 2, 4])  # unsorted: the layers sort and unsort
        weights = torch.randn(int(lengths.sum()), D * (kw.get("proj_size") or 4),
                              dtype=torch.double, generator=g)
        return x, hx, lengths, weights
    return x, hx, None, weights


def _loss(module, kind, x, hx, lengths, weights, batch_first):
    """A loss that uses the output and the final states, with unequal weights everywhere."""
    inp = x
    if lengths is not None:
        inp = pack_padded_sequence(x, lengths, batch_first=batch_first, enforce_sorted=False)
    arg = None if hx is None else (tuple(hx) if kind == "LSTM" else hx[0])
    out, h_n = module(inp, arg)
    finals = h_n if kind == "LSTM" else (h_n,)
    if isinstance(out, PackedSequence):
        out = out.data * weights
    else:
        out = out * torch.linspace(-1, 2, out.shape[-1], dtype=out.dtype)
    return out.sum() + sum((s * s).sum() for s in finals)


def _penalty_grads(module, kind, x, hx, lengths, weights, batch_first, wrt):
    """Gradients of a gradient penalty: of ||dL/dx||² (wrt='input') or sum_p ||dL/dp||²."""
    module.zero_grad(set_to_none=True)
    leaves = [x] + (hx or [])
    for t in leaves:
        t.grad = None
    loss = _loss(module, kind, x, hx, lengths, weights, batch_first)
    params = list(module.parameters())
    targets = [x] if wrt == "input" else params
    grads = torch.autograd.grad(loss, targets, create_graph=True)
    sum(g.pow(2).sum() for g in grads).backward()
    out = {name: p.grad for name, p in module.named_parameters()}
    out.update({f"leaf{k}": t.grad for k, t in enumerate(leaves)})
    return out


@pytest.mark.parametrize("wrt", ["input", "weights"])
@pytest.mark.parametrize("shape", SHAPES, ids=["plain", "bi-2layer-bf-hx", "bi-2layer-packed-hx"])
@pytest.mark.parametrize("kind,kw", LAYERS, ids=["rnn_tanh", "rnn_relu", "lstm", "lstm_proj", "gru"])
def test_gradient_penalty_equals_torch_nn(kind, kw, shape, wrt):
    num_layers, bidirectional, batch_first, with_hx, packed = shape
    ours, theirs = _pair(kind, kw, num_layers, bidirectional, batch_first)
    x, hx, lengths, weights = _inputs(ours, kind, kw, batch_first, with_hx, packed)
    ref = _penalty_grads(theirs, kind, x, hx, lengths, weights, batch_first, wrt)
    got = _penalty_grads(ours, kind, x, hx, lengths, weights, batch_first, wrt)
    assert ref.keys() == got.keys()
    for name in ref:
        assert ref[name] is not None, name  # the reference does have this second derivative
        assert got[name] is not None, f"{name}: second derivative missing"
        torch.testing.assert_close(got[name], ref[name], rtol=0, atol=ATOL, msg=name)


def test_the_example_of_the_issue():
    """torch.nn.GRU's code with rnnlab.modules.GRU in its place: weight_hh_l0.grad is right."""
    ours, theirs = _pair("GRU", {}, 1, False, False)
    x = torch.randn(6, 2, 3, dtype=torch.double, requires_grad=True)
    for gru in (theirs, ours):
        g, = torch.autograd.grad(gru(x)[0].sum(), x, create_graph=True)
        g.pow(2).sum().backward()
    assert ours.weight_hh_l0.grad is not None
    torch.testing.assert_close(ours.weight_hh_l0.grad, theirs.weight_hh_l0.grad, rtol=0, atol=ATOL)
    assert ours.weight_hh_l0.grad.abs().max() > 1e-3  # not a zero filled in


# ------------------------------------------------------------------ gradgradcheck, every variant
VARIANTS = [
    ("RNN", dict(nonlinearity="tanh")),
    ("RNN", dict(nonlinearity="relu")),
    ("LSTM", {}),
    ("LSTM", dict(proj_size=2)),
    ("LSTM", dict(peephole=True)),
    ("LSTM", dict(peephole=True, proj_size=2)),
    ("GRU", {}),
    ("GRU", dict(reset_after=False)),
    ("GRU", dict(reset_after=False, bias=False)),
]
VARIANT_IDS = ["rnn_tanh", "rnn_relu", "lstm", "lstm_proj", "lstm_peephole", "lstm_peephole_proj",
               "gru", "gru_cho", "gru_cho_nobias"]


def _functional(module, kind, names, packed, n_states):
    lengths = torch.tensor([3, 1, 2])

    def fn(x, *rest):
        params = dict(zip(names, rest[: len(names)]))
        states = rest[len(names):]
        inp = pack_padded_sequence(x, lengths, enforce_sorted=False) if packed else x
        arg = None
        if states:
            arg = tuple(states) if kind == "LSTM" else states[0]
        out, h_n = functional_call(module, params, (inp, arg))
        out = out.data if isinstance(out, PackedSequence) else out
        return (out,) + (tuple(h_n) if kind == "LSTM" else (h_n,))

    return fn


@pytest.mark.parametrize("packed", [False, True], ids=["padded", "packed"])
@pytest.mark.parametrize("kind,kw", VARIANTS, ids=VARIANT_IDS)
def test_gradgradcheck(kind, kw, packed):
    torch.manual_seed(0)
    # one bidirectional layer: layers are stacked by plain autograd (and checked against torch.nn
    # above); gradgradcheck perturbs every number of every input, so the sizes stay small
    kw = {**kw, "proj_size": 1} if "proj_size" in kw else kw
    module = getattr(rm, kind)(2, 2, bidirectional=True, **kw).double()
    names = [n for n, _ in module.named_parameters()]
    params = [p.detach().clone().requires_grad_(True) for p in module.parameters()]
    P = kw.get("proj_size") or 2
    x = torch.randn(3, 3, 2, dtype=torch.double, requires_grad=True)
    states = [torch.randn(2, 3, P, dtype=torch.double, requires_grad=True)]
    if kind == "LSTM":
        states.append(torch.randn(2, 3, 2, dtype=torch.double, requires_grad=True))
    fn = _functional(module, kind, names, packed, len(states))
    # torch.nn has no peepholes and no Cho GRU: check those in full; for the others (compared with
    # torch.nn above) random projections of the Jacobians are enough
    fast = not (kw.get("peephole") or kw.get("reset_after") is False)
    assert torch.autograd.gradgradcheck(
        fn, (x, *params, *states), eps=1e-6, atol=1e-5, rtol=1e-4, fast_mode=fast
    )


# ------------------------------------------------------------------ both routes, first derivatives
@pytest.mark.parametrize("kind,kw", VARIANTS, ids=VARIANT_IDS)
def test_first_derivatives_are_the_same_on_both_routes(kind, kw):
    """create_graph=True recomputes the sequence; the gradient is the hand-written one."""
    torch.manual_seed(0)
    module = getattr(rm, kind)(3, 4, num_layers=2, bidirectional=True, **kw).double()
    x = torch.randn(6, 3, 3, dtype=torch.double, requires_grad=True)
    targets = [x, *module.parameters()]
    results = []
    for create_graph in (False, True):
        out, _ = module(pack_padded_sequence(x, torch.tensor([6, 2, 5]), enforce_sorted=False))
        w = torch.linspace(-1, 1, out.data.numel(), dtype=torch.double).view_as(out.data)
        results.append(torch.autograd.grad((out.data * w).sum(), targets, create_graph=create_graph))
    for name, a, b in zip(["x", *(n for n, _ in module.named_parameters())], *results):
        torch.testing.assert_close(b, a, rtol=0, atol=1e-12, msg=name)
        assert not a.requires_grad and b.requires_grad, name


# ------------------------------------------------------------------ cells (plain autograd)
@pytest.mark.parametrize("kind,kw", [("RNNCell", dict(nonlinearity="tanh")),
                                     ("RNNCell", dict(nonlinearity="relu")),
                                     ("LSTMCell", {}), ("GRUCell", {})])
def test_cell_gradient_penalty_equals_torch_nn(kind, kw):
    torch.manual_seed(0)
    theirs = getattr(torch.nn, kind)(3, 4, **kw).double()
    ours = getattr(rm, kind)(3, 4, **kw).double()
    ours.load_state_dict(theirs.state_dict())
    x = torch.randn(2, 3, dtype=torch.double, requires_grad=True)
    res = []
    for cell in (theirs, ours):
        out = cell(x)
        out = out[0] + 2 * out[1] if isinstance(out, tuple) else out
        g, = torch.autograd.grad(out.pow(3).sum(), x, create_graph=True)
        g.pow(2).sum().backward()
        res.append({n: p.grad.clone() for n, p in cell.named_parameters()})
        cell.zero_grad()
    for name in res[0]:
        torch.testing.assert_close(res[1][name], res[0][name], rtol=0, atol=ATOL, msg=name)


@pytest.mark.parametrize("kind,kw", [("LSTMCell", dict(peephole=True)), ("GRUCell", dict(reset_after=False))])
def test_cell_variants_gradgradcheck(kind, kw):
    torch.manual_seed(0)
    cell = getattr(rm, kind)(2, 3, **kw).double()
    names = [n for n, _ in cell.named_parameters()]
    params = [p.detach().clone().requires_grad_(True) for p in cell.parameters()]
    x = torch.randn(2, 2, dtype=torch.double, requires_grad=True)
    h = torch.randn(2, 3, dtype=torch.double, requires_grad=True)
    c = torch.randn(2, 3, dtype=torch.double, requires_grad=True)

    def fn(x, h, c, *ps):
        hx = (h, c) if kind == "LSTMCell" else h
        out = functional_call(cell, dict(zip(names, ps)), (x, hx))
        return out if isinstance(out, tuple) else (out, c * 0)

    assert torch.autograd.gradgradcheck(fn, (x, h, c, *params), eps=1e-6, atol=1e-5, rtol=1e-4)
