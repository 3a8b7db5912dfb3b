"""rnnlab.scratch layers against torch.nn in float64: forward, h_n/c_n, dx, d_hx and every
parameter gradient agree to 1e-10 over random configurations (hypothesis), weights moved both
ways through state dicts. Peepholes and the Cho et al. GRU (which torch lacks) are checked by
finite differences and by an independent autograd implementation written here."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from rnnlab import scratch

torch.set_num_threads(1)
ATOL = 1e-10  # float64; the observed differences are ~1e-15
FD = dict(order=4, eps=1e-3)  # fourth-order central differences: ~1e-12 absolute accuracy
SETTINGS = dict(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])

TORCH = {"RNN": torch.nn.RNN, "LSTM": torch.nn.LSTM, "GRU": torch.nn.GRU}
OURS = {"RNN": scratch.RNN, "LSTM": scratch.LSTM, "GRU": scratch.GRU}


@st.composite
def configs(draw, kinds=("RNN", "LSTM", "GRU")):
    cfg = dict(
        kind=draw(st.sampled_from(kinds)),
        input_size=draw(st.integers(1, 5)),
        hidden_size=draw(st.integers(1, 5)),
        num_layers=draw(st.integers(1, 3)),
        bias=draw(st.booleans()),
        batch_first=draw(st.booleans()),
        bidirectional=draw(st.booleans()),
        T=draw(st.integers(1, 6)),
        N=draw(st.integers(1, 4)),
        nonlinearity=draw(st.sampled_from(["tanh", "relu"])),
        with_hx=draw(st.booleans()),
        seed=draw(st.integers(0, 2**31 - 1)),
    )
    cfg["unbatched"] = draw(st.booleans()) if cfg["N"] == 1 else False
    mode = draw(st.sampled_from(["none", "full", "sorted", "unsorted"]))
    if mode == "none" or cfg["unbatched"]:
        cfg["lengths"] = None
    else:
        lens = draw(st.lists(st.integers(1, cfg["T"]), min_size=cfg["N"], max_size=cfg["N"]))
        if mode == "full":
            lens = [cfg["T"]] * cfg["N"]
        elif mode == "sorted":
            lens = sorted(lens, reverse=True)
        cfg["lengths"] = lens
    return cfg


def make_pair(cfg):
    kw = dict(num_layers=cfg["num_layers"], bias=cfg["bias"], batch_first=cfg["batch_first"],
              bidirectional=cfg["bidirectional"])
    extra = {"nonlinearity": cfg["nonlinearity"]} if cfg["kind"] == "RNN" else {}
    ours = OURS[cfg["kind"]](cfg["input_size"], cfg["hidden_size"], **kw, **extra, seed=cfg["seed"])
    theirs = TORCH[cfg["kind"]](cfg["input_size"], cfg["hidden_size"], **kw, **extra).double()
    return ours, theirs


def run_torch(theirs, x, hx, lengths, batch_first, d_out, d_h):
    x = torch.tensor(x, requires_grad=True)
    is_lstm = isinstance(theirs, torch.nn.LSTM)
    if hx is not None:
        hx = tuple(torch.tensor(h, requires_grad=True) for h in hx)  # a tuple of states
    arg = hx if (hx is None or is_lstm) else hx[0]
    if lengths is None:
        out, h_n = theirs(x, arg)
    else:
        packed = pack_padded_sequence(x, torch.tensor(lengths), batch_first=batch_first,
                                      enforce_sorted=False)
        out, h_n = theirs(packed, arg)
        T = x.shape[1] if batch_first else x.shape[0]
        out, _ = pad_packed_sequence(out, batch_first=batch_first, total_length=T)
    h_n = h_n if is_lstm else (h_n,)
    loss = (out * torch.tensor(d_out)).sum() + sum((h * torch.tensor(d)).sum() for h, d in zip(h_n, d_h))
    loss.backward()
    grads = {k: p.grad.numpy() for k, p in theirs.named_parameters()}
    d_hx = None if hx is None else tuple(h.grad.numpy() for h in hx)
    return out.detach().numpy(), tuple(h.detach().numpy() for h in h_n), x.grad.numpy(), d_hx, grads


def close(a, b, what):
    np.testing.assert_allclose(a, b, rtol=0, atol=ATOL, err_msg=what)


def check_against_torch(cfg):
    rng = np.random.default_rng(cfg["seed"])
    ours, theirs = make_pair(cfg)
    # weights move torch -> ours for even seeds, ours -> torch for odd ones
    if cfg["seed"] % 2:
        theirs.load_state_dict({k: torch.tensor(v) for k, v in ours.state_dict().items()})
    else:
        ours.load_state_dict(theirs.state_dict())
    T, N, I, H = cfg["T"], cfg["N"], cfg["input_size"], cfg["hidden_size"]
    D = 2 if cfg["bidirectional"] else 1
    L = cfg["num_layers"]
    if cfg["unbatched"]:
        x_shape, h_shape, o_shape = (T, I), (L * D, H), (T, D * H)
    elif cfg["batch_first"]:
        x_shape, h_shape, o_shape = (N, T, I), (L * D, N, H), (N, T, D * H)
    else:
        x_shape, h_shape, o_shape = (T, N, I), (L * D, N, H), (T, N, D * H)
    x = rng.standard_normal(x_shape)
    n_states = 2 if cfg["kind"] == "LSTM" else 1
    hx = None
    if cfg["with_hx"]:
        hx = tuple(rng.standard_normal(h_shape) for _ in range(n_states))
    d_out = rng.standard_normal(o_shape)
    d_h = tuple(rng.standard_normal(h_shape) for _ in range(n_states))

    t_out, t_hn, t_dx, t_dhx, t_grads = run_torch(
        theirs, x, hx, cfg["lengths"], cfg["batch_first"], d_out, d_h
    )
    arg = None if hx is None else (hx if n_states == 2 else hx[0])
    out, h_n = ours.forward(x, arg, lengths=cfg["lengths"])
    h_n = h_n if n_states == 2 else (h_n,)
    assert out.shape == t_out.shape == o_shape
    close(out, t_out, "output")
    for k, (a, b) in enumerate(zip(h_n, t_hn)):
        assert a.shape == b.shape == h_shape
        close(a, b, f"final state {k}")
    dx = ours.backward(d_out, d_h if n_states == 2 else d_h[0])
    assert dx.shape == x.shape
    close(dx, t_dx, "dx")
    assert list(ours.grads) == list(t_grads)
    for k in t_grads:
        close(ours.grads[k], t_grads[k], f"grad {k}")
    if t_dhx is not None:
        d_hx = ours.d_hx if n_states == 2 else (ours.d_hx,)
        for k, (a, b) in enumerate(zip(d_hx, t_dhx)):
            close(a, b, f"d_hx[{k}]")


@given(configs())
@settings(**SETTINGS)
def test_matches_torch(cfg):
    check_against_torch(cfg)


@pytest.mark.parametrize("kind", ["RNN", "LSTM", "GRU"])
@pytest.mark.parametrize("lengths", [None, [5, 2, 4]])
def test_fixed_config_deep_bidirectional(kind, lengths):
    """A deterministic case that always runs: 2 layers, both directions, unsorted lengths."""
    check_against_torch(dict(
        kind=kind, input_size=4, hidden_size=3, num_layers=2, bias=True, batch_first=True,
        bidirectional=True, T=5, N=3, nonlinearity="tanh", with_hx=True, seed=7,
        unbatched=False, lengths=lengths,
    ))


@pytest.mark.parametrize("kind", ["RNN", "LSTM", "GRU"])
def test_param_keys_shapes_and_init_like_torch(kind):
    ours = OURS[kind](6, 5, num_layers=3, bidirectional=True, seed=0)
    theirs = TORCH[kind](6, 5, num_layers=3, bidirectional=True)
    assert list(ours.params) == [k for k, _ in theirs.named_parameters()]
    for k, p in theirs.named_parameters():
        assert ours.params[k].shape == tuple(p.shape), k
        assert ours.params[k].dtype == np.float64
        assert np.abs(ours.params[k]).max() <= 1 / np.sqrt(5)
    assert set(ours.state_dict()) == set(theirs.state_dict())


def test_seeded_init_is_reproducible_and_float32_works():
    a, b = scratch.LSTM(3, 4, seed=1), scratch.LSTM(3, 4, rng=np.random.default_rng(1))
    for k in a.params:
        np.testing.assert_array_equal(a.params[k], b.params[k])
    m = scratch.GRU(3, 4, dtype=np.float32, seed=0)
    out, h = m.forward(np.ones((2, 1, 3)))
    assert out.dtype == h.dtype == np.float32
    assert m.backward(np.ones_like(out)).dtype == np.float32


def test_float32_close_to_torch():
    ours = scratch.LSTM(4, 6, num_layers=2, bidirectional=True, dtype=np.float32, seed=3)
    theirs = torch.nn.LSTM(4, 6, num_layers=2, bidirectional=True)
    theirs.load_state_dict({k: torch.tensor(v) for k, v in ours.state_dict().items()})
    x = np.random.default_rng(0).standard_normal((7, 3, 4)).astype(np.float32)
    out, _ = ours.forward(x)
    t_out, _ = theirs(torch.tensor(x))
    np.testing.assert_allclose(out, t_out.detach().numpy(), rtol=0, atol=1e-5)


def test_state_dict_returns_copies_and_load_is_in_place():
    m = scratch.RNN(2, 3, seed=0)
    sd = m.state_dict()
    sd["weight_hh_l0"][:] = 0
    assert np.any(m.params["weight_hh_l0"] != 0)
    ref = m.params["weight_hh_l0"]
    m.load_state_dict(sd)
    assert ref is m.params["weight_hh_l0"] and np.all(ref == 0)


def test_dropout_between_layers_train_vs_eval():
    m = scratch.LSTM(3, 4, num_layers=3, dropout=0.5, seed=0)
    x = np.random.default_rng(1).standard_normal((5, 2, 3))
    a, _ = m.forward(x)
    b, _ = m.forward(x)
    assert not np.allclose(a, b)  # different masks in training mode
    m.eval()
    c, _ = m.forward(x)
    d, _ = m.forward(x)
    np.testing.assert_array_equal(c, d)
    # eval mode equals torch in eval mode (dropout off)
    t = torch.nn.LSTM(3, 4, num_layers=3, dropout=0.5).double().eval()
    t.load_state_dict({k: torch.tensor(v) for k, v in m.state_dict().items()})
    np.testing.assert_allclose(c, t(torch.tensor(x))[0].detach().numpy(), rtol=0, atol=ATOL)


def test_dropout_backward_matches_finite_differences():
    """In training mode the same masks are used by backward: check against numerical gradients
    of a forward that replays the masks (fixed rng state per call)."""
    m = scratch.GRU(2, 3, num_layers=2, dropout=0.3, seed=0)
    x = np.random.default_rng(2).standard_normal((4, 2, 2))
    w = np.random.default_rng(3).standard_normal((4, 2, 3))

    def loss(params):
        m.rng = np.random.default_rng(123)  # the same dropout masks every call
        out, _ = m.forward(x)
        return float((out * w).sum())

    loss(m.params)
    m.backward(w)
    err = scratch.gradcheck(loss, m.params, dict(m.grads), **FD)
    assert err < 1e-7


# ---------------------------------------------------------------------------------------------
# Peepholes and reset_after=False: no torch.nn counterpart. Checked (1) by finite differences,
# (2) against an independent autograd implementation written with torch ops below.
# ---------------------------------------------------------------------------------------------


def torch_peephole_lstm(x, h0, c0, p, layers, D, lengths):
    """Straightforward autograd reference: loop over layers, directions, steps; masks for lengths."""
    T, N, _ = x.shape
    H = h0.shape[-1]
    keep = torch.ones(T, N, 1, dtype=x.dtype) if lengths is None else (
        (torch.arange(T)[:, None] < torch.tensor(lengths)[None, :]).to(x.dtype)[:, :, None]
    )
    inp, hn, cn = x, [], []
    for layer in range(layers):
        outs = []
        for d in range(D):
            s = f"_l{layer}" + ("_reverse" if d else "")
            h, c = h0[layer * D + d], c0[layer * D + d]
            ys = [None] * T
            for t in (range(T - 1, -1, -1) if d else range(T)):
                a = inp[t] @ p["weight_ih" + s].T + p["bias_ih" + s] + h @ p["weight_hh" + s].T + p["bias_hh" + s]
                ai, af, ag, ao = a.split(H, dim=1)
                i = torch.sigmoid(ai + p["weight_ci" + s] * c)
                f = torch.sigmoid(af + p["weight_cf" + s] * c)
                c_new = f * c + i * torch.tanh(ag)
                o = torch.sigmoid(ao + p["weight_co" + s] * c_new)
                h_new = o * torch.tanh(c_new)
                m = keep[t]
                h, c = m * h_new + (1 - m) * h, m * c_new + (1 - m) * c
                ys[t] = h * m
            outs.append(torch.stack(ys))
            hn.append(h)
            cn.append(c)
        inp = torch.cat(outs, dim=2)
    return inp, torch.stack(hn), torch.stack(cn)


def torch_gru_before(x, h0, p, layers, D, lengths):
    T, N, _ = x.shape
    H = h0.shape[-1]
    keep = torch.ones(T, N, 1, dtype=x.dtype) if lengths is None else (
        (torch.arange(T)[:, None] < torch.tensor(lengths)[None, :]).to(x.dtype)[:, :, None]
    )
    inp, hn = x, []
    for layer in range(layers):
        outs = []
        for d in range(D):
            s = f"_l{layer}" + ("_reverse" if d else "")
            h = h0[layer * D + d]
            W_hh, b_hh = p["weight_hh" + s], p["bias_hh" + s]
            ys = [None] * T
            for t in (range(T - 1, -1, -1) if d else range(T)):
                gi = inp[t] @ p["weight_ih" + s].T + p["bias_ih" + s]
                r = torch.sigmoid(gi[:, :H] + h @ W_hh[:H].T + b_hh[:H])
                z = torch.sigmoid(gi[:, H:2 * H] + h @ W_hh[H:2 * H].T + b_hh[H:2 * H])
                n = torch.tanh(gi[:, 2 * H:] + (r * h) @ W_hh[2 * H:].T + b_hh[2 * H:])
                h_new = (1 - z) * n + z * h
                m = keep[t]
                h = m * h_new + (1 - m) * h
                ys[t] = h * m
            outs.append(torch.stack(ys))
            hn.append(h)
        inp = torch.cat(outs, dim=2)
    return inp, torch.stack(hn)


@pytest.mark.parametrize("bidirectional", [False, True])
@pytest.mark.parametrize("lengths", [None, [4, 2, 3]])
@pytest.mark.parametrize("kind", ["peephole", "before"])
def test_variants_match_independent_autograd(kind, bidirectional, lengths):
    rng = np.random.default_rng(5)
    L, D, T, N, I, H = 2, 2 if bidirectional else 1, 4, 3, 3, 4
    if kind == "peephole":
        m = scratch.LSTM(I, H, L, bidirectional=bidirectional, peephole=True, seed=1)
    else:
        m = scratch.GRU(I, H, L, bidirectional=bidirectional, reset_after=False, seed=1)
    x = rng.standard_normal((T, N, I))
    states = [rng.standard_normal((L * D, N, H)) for _ in range(2 if kind == "peephole" else 1)]
    d_out = rng.standard_normal((T, N, D * H))
    d_h = [rng.standard_normal((L * D, N, H)) for _ in states]

    tp = {k: torch.tensor(v, requires_grad=True) for k, v in m.params.items()}
    tx = torch.tensor(x, requires_grad=True)
    ts = [torch.tensor(s, requires_grad=True) for s in states]
    if kind == "peephole":
        out_t, hn_t, cn_t = torch_peephole_lstm(tx, ts[0], ts[1], tp, L, D, lengths)
        finals_t = [hn_t, cn_t]
        out, (hn, cn) = m.forward(x, tuple(states), lengths)
        finals = [hn, cn]
        dx = m.backward(d_out, tuple(d_h))
        d_hx = list(m.d_hx)
    else:
        out_t, hn_t = torch_gru_before(tx, ts[0], tp, L, D, lengths)
        finals_t = [hn_t]
        out, hn = m.forward(x, states[0], lengths)
        finals = [hn]
        dx = m.backward(d_out, d_h[0])
        d_hx = [m.d_hx]
    loss = (out_t * torch.tensor(d_out)).sum() + sum((f * torch.tensor(d)).sum() for f, d in zip(finals_t, d_h))
    loss.backward()
    close(out, out_t.detach().numpy(), "output")
    for a, b in zip(finals, finals_t):
        close(a, b.detach().numpy(), "final state")
    close(dx, tx.grad.numpy(), "dx")
    for a, b in zip(d_hx, ts):
        close(a, b.grad.numpy(), "d_hx")
    for k in m.params:
        close(m.grads[k], tp[k].grad.numpy(), f"grad {k}")


@pytest.mark.parametrize("kind", ["peephole", "before"])
def test_variants_gradcheck(kind):
    rng = np.random.default_rng(11)
    T, N, I, H = 4, 2, 3, 3
    if kind == "peephole":
        m = scratch.LSTM(I, H, 2, bidirectional=True, peephole=True, seed=4)
    else:
        m = scratch.GRU(I, H, 2, bidirectional=True, reset_after=False, seed=4)
    for v in m.params.values():  # larger weights: gradients well away from zero
        v *= 2.0
    x = rng.standard_normal((T, N, I))
    w = rng.standard_normal((T, N, 2 * H))
    lengths = [4, 3]

    def loss(params):
        out, _ = m.forward(x, lengths=lengths)
        return float((out * w).sum())

    loss(m.params)
    dx = m.backward(w)
    grads = dict(m.grads)
    # CS231n's relative error on every entry (the smallest are ~1e-5, where the classic
    # 2-point difference's rounding noise alone gives ~1e-6: hence the 4th-order stencil)
    # (10 random entries per array, CS231n's sparse check, keeps this test fast)
    assert scratch.gradcheck(loss, m.params, grads, num_checks=10, **FD) < 1e-7

    def loss_x(xx):
        out, _ = m.forward(xx, lengths=lengths)
        return float((out * w).sum())

    valid = np.arange(T)[:, None] < np.array(lengths)[None, :]
    assert np.all(dx[~valid] == 0)  # padded inputs get no gradient
    assert scratch.gradcheck(loss_x, x, dx, **FD) < 1e-7


def test_edge_cases_backward_twice_unbatched_lengths_large_inputs():
    import warnings

    rng = np.random.default_rng(21)
    for m in (scratch.RNN(3, 4, seed=0), scratch.LSTM(3, 4, peephole=True, seed=0),
              scratch.GRU(3, 4, reset_after=False, seed=0), scratch.GRU(3, 4, seed=0)):
        out, _ = m.forward(rng.standard_normal((6, 2, 3)), lengths=[6, 4])
        d = rng.standard_normal(out.shape)
        a = m.backward(d)
        first = {k: v.copy() for k, v in m.grads.items()}
        b = m.backward(d)  # the cache survives a backward; grads are overwritten, not summed
        np.testing.assert_array_equal(a, b)
        for k in first:
            np.testing.assert_array_equal(first[k], m.grads[k])
    # unbatched input with a length equals the truncated sequence; padded outputs are 0
    g = scratch.GRU(3, 4, bidirectional=True, seed=0)
    x = rng.standard_normal((5, 3))
    o1, h1 = g.forward(x, lengths=[3])
    o2, h2 = g.forward(x[:3])
    np.testing.assert_array_equal(o1[3:], 0.0)
    np.testing.assert_allclose(o1[:3], o2, rtol=0, atol=1e-15)
    np.testing.assert_allclose(h1, h2, rtol=0, atol=1e-15)
    # dropout 1 zeroes the inputs of upper layers without dividing by zero
    m = scratch.LSTM(3, 4, num_layers=2, dropout=1.0, seed=0)
    out, _ = m.forward(rng.standard_normal((5, 2, 3)))
    assert np.all(np.isfinite(m.backward(np.ones_like(out))))
    # saturated gates: no overflow warnings, finite values
    lstm = scratch.LSTM(3, 4, seed=0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out, _ = lstm.forward(np.full((3, 2, 3), 1e4))
        assert np.all(np.isfinite(lstm.backward(np.ones_like(out))))
    # float32 input to a float64 layer is cast (torch tensors are accepted too)
    out, _ = lstm.forward(torch.randn(5, 2, 3), (torch.zeros(1, 2, 4), torch.zeros(1, 2, 4)))
    assert out.dtype == np.float64
