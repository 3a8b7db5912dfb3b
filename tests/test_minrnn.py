"""minGRU and minLSTM: the numpy steps equal the equations written out here, their hand-written
backward passes a finite-difference check, the layers give the same numbers in loop and scan mode
(every scan method), rnnlab.modules equals rnnlab.scratch in float64 (outputs, h_n and every
gradient, state dicts moved both ways), torch's gradcheck passes, and bad input is refused."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import rnnlab.modules as rm
import rnnlab.scratch as rs
from rnnlab.scratch import gradcheck

SETTINGS = dict(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
ATOL = 1e-10
FD = dict(order=4, eps=1e-3)


pytestmark = pytest.mark.usefixtures("one_torch_thread")  # fixture in conftest.py


def sig(a):
    return 1 / (1 + np.exp(-a))


# ----------------------------------------------------------------------------- the steps
def test_mingru_step_is_the_gru_without_h_in_its_gates():
    rng = np.random.default_rng(0)
    N, I, H = 3, 4, 5
    x, h = rng.standard_normal((N, I)), rng.standard_normal((N, H))
    w, b = rng.standard_normal((2 * H, I)), rng.standard_normal(2 * H)
    z = sig(x @ w[:H].T + b[:H])
    n = x @ w[H:].T + b[H:]
    for negative, a in ((False, z), (True, 2 * z - 1)):
        got, _ = rs.mingru_step(x, h, w, b, negative=negative)
        np.testing.assert_allclose(got, a * h + (1 - z) * n, rtol=0, atol=1e-14)


def test_minlstm_step_normalises_its_gates():
    rng = np.random.default_rng(1)
    N, I, H = 2, 3, 4
    x, h = rng.standard_normal((N, I)), rng.standard_normal((N, H))
    w, b = rng.standard_normal((3 * H, I)), rng.standard_normal(3 * H)
    i, f = sig(x @ w[:H].T + b[:H]), sig(x @ w[H:2 * H].T + b[H:2 * H])
    g = x @ w[2 * H:].T + b[2 * H:]
    got, _ = rs.minlstm_step(x, h, w, b)
    np.testing.assert_allclose(got, f / (f + i) * h + i / (f + i) * g, rtol=0, atol=1e-14)


@pytest.mark.parametrize("cell", ["mingru", "mingru_negative", "minlstm"])
@pytest.mark.parametrize("bias", [True, False])
def test_step_backward_passes_a_gradient_check(cell, bias):
    rng = np.random.default_rng(2)
    N, I, H = 3, 4, 5
    G = 3 if cell == "minlstm" else 2
    p = {"x": rng.standard_normal((N, I)), "h_prev": rng.standard_normal((N, H)),
         "weight_ih": rng.standard_normal((G * H, I))}
    if bias:
        p["bias_ih"] = rng.standard_normal(G * H)
    step, back = (rs.minlstm_step, rs.minlstm_step_backward) if cell == "minlstm" else \
        (rs.mingru_step, rs.mingru_step_backward)
    kw = {"negative": True} if cell == "mingru_negative" else {}
    dh = rng.standard_normal((N, H))

    def f(q):
        return float((step(q["x"], q["h_prev"], q["weight_ih"], q.get("bias_ih"), **kw)[0] * dh).sum())

    _, cache = step(p["x"], p["h_prev"], p["weight_ih"], p.get("bias_ih"), **kw)
    g = back(dh, cache)
    grads = {"x": g.dx, "h_prev": g.dh_prev, "weight_ih": g.dweight_ih}
    if bias:
        grads["bias_ih"] = g.dbias_ih
    else:
        assert g.dbias_ih is None
    assert gradcheck(f, p, grads, **FD) < 1e-8


# ----------------------------------------------------------------------------- the layers
@st.composite
def configs(draw):
    cfg = dict(
        kind=draw(st.sampled_from(["MinGRU", "MinGRU-negative", "MinLSTM"])),
        input_size=draw(st.integers(1, 4)), hidden_size=draw(st.integers(1, 4)),
        num_layers=draw(st.integers(1, 3)), bias=draw(st.booleans()),
        batch_first=draw(st.booleans()), T=draw(st.integers(1, 9)), N=draw(st.integers(1, 3)),
        with_h0=draw(st.booleans()), seed=draw(st.integers(0, 2**31 - 1)),
    )
    cfg["unbatched"] = draw(st.booleans()) if cfg["N"] == 1 else False
    return cfg


def _kwargs(cfg):
    kw = dict(num_layers=cfg["num_layers"], bias=cfg["bias"], batch_first=cfg["batch_first"])
    if cfg["kind"] == "MinGRU-negative":
        kw["negative"] = True
    return kw


def _data(cfg, rng):
    T, N, I = cfg["T"], cfg["N"], cfg["input_size"]
    L, H = cfg["num_layers"], cfg["hidden_size"]
    if cfg["unbatched"]:
        x, h0, hn = rng.standard_normal((T, I)), rng.standard_normal((L, H)), (L, H)
        out = (T, H)
    else:
        x = rng.standard_normal((N, T, I) if cfg["batch_first"] else (T, N, I))
        h0, hn = rng.standard_normal((L, N, H)), (L, N, H)
        out = (N, T, H) if cfg["batch_first"] else (T, N, H)
    return x, (h0 if cfg["with_h0"] else None), rng.standard_normal(out), rng.standard_normal(hn)


@given(configs())
@settings(**SETTINGS)
def test_scratch_loop_and_every_scan_give_the_same_numbers(cfg):
    rng = np.random.default_rng(cfg["seed"])
    cls = rs.MinLSTM if cfg["kind"] == "MinLSTM" else rs.MinGRU
    x, h0, d_out, d_hn = _data(cfg, rng)
    runs = []
    methods = ["sequential", "hillis_steele", "blelloch"] + ([] if "negative" in cfg["kind"] else ["log"])
    for mode, method in [("loop", "blelloch")] + [("scan", m) for m in methods]:
        layer = cls(cfg["input_size"], cfg["hidden_size"], **_kwargs(cfg), mode=mode,
                    scan_method=method, seed=cfg["seed"] % 1000)
        out, h_n = layer(x, h0)
        dx = layer.backward(d_out, d_hn)
        runs.append((out, h_n, dx, layer.d_hx, layer.grads))
    ref = runs[0]
    for run in runs[1:]:
        for a, b in zip(run[:4], ref[:4]):
            np.testing.assert_allclose(a, b, rtol=0, atol=ATOL)
        for k in ref[4]:
            np.testing.assert_allclose(run[4][k], ref[4][k], rtol=0, atol=ATOL, err_msg=k)


@pytest.mark.parametrize("kind", ["MinGRU", "MinGRU-negative", "MinLSTM"])
def test_scratch_layer_backward_passes_a_gradient_check(kind):
    rng = np.random.default_rng(3)
    cfg = dict(kind=kind, num_layers=2, bias=True, batch_first=False)
    cls = rs.MinLSTM if kind == "MinLSTM" else rs.MinGRU
    layer = cls(3, 4, **_kwargs(cfg), seed=4)
    x, h0 = rng.standard_normal((6, 2, 3)), rng.standard_normal((2, 2, 4))
    d_out, d_hn = rng.standard_normal((6, 2, 4)), rng.standard_normal((2, 2, 4))
    params = dict(layer.params, x=x, h0=h0)

    def f(p):
        out, h_n = layer(p["x"], p["h0"])
        return float((out * d_out).sum() + (h_n * d_hn).sum())

    layer(x, h0)
    dx = layer.backward(d_out, d_hn)
    grads = dict(layer.grads, x=dx, h0=layer.d_hx)
    assert gradcheck(f, params, grads, **FD) < 1e-8


@given(configs(), st.sampled_from(["scan", "loop"]))
@settings(**SETTINGS)
def test_modules_equal_scratch_in_float64(cfg, mode):
    rng = np.random.default_rng(cfg["seed"])
    name = "MinLSTM" if cfg["kind"] == "MinLSTM" else "MinGRU"
    ours_np = getattr(rs, name)(cfg["input_size"], cfg["hidden_size"], **_kwargs(cfg), seed=1)
    ours_t = getattr(rm, name)(cfg["input_size"], cfg["hidden_size"], **_kwargs(cfg),
                               dtype=torch.float64, mode=mode)
    ours_t.load_state_dict({k: torch.from_numpy(v) for k, v in ours_np.state_dict().items()})
    assert [n for n, _ in ours_t.named_parameters()] == list(ours_np.params)
    x, h0, d_out, d_hn = _data(cfg, rng)

    out_np, hn_np = ours_np.forward(x, h0)
    dx_np = ours_np.backward(d_out, d_hn)

    xt = torch.tensor(x, requires_grad=True)
    h0t = None if h0 is None else torch.tensor(h0, requires_grad=True)
    out_t, hn_t = ours_t(xt, h0t)
    ((out_t * torch.tensor(d_out)).sum() + (hn_t * torch.tensor(d_hn)).sum()).backward()

    np.testing.assert_allclose(out_t.detach().numpy(), out_np, rtol=0, atol=ATOL)
    np.testing.assert_allclose(hn_t.detach().numpy(), hn_np, rtol=0, atol=ATOL)
    np.testing.assert_allclose(xt.grad.numpy(), dx_np, rtol=0, atol=ATOL)
    if h0 is not None:
        np.testing.assert_allclose(h0t.grad.numpy(), ours_np.d_hx, rtol=0, atol=ATOL)
    for k, p in ours_t.named_parameters():
        np.testing.assert_allclose(p.grad.numpy(), ours_np.grads[k], rtol=0, atol=ATOL, err_msg=k)
    back = getattr(rs, name)(cfg["input_size"], cfg["hidden_size"], **_kwargs(cfg), seed=2)
    back.load_state_dict(ours_t.state_dict())
    for k, v in back.state_dict().items():
        np.testing.assert_array_equal(v, ours_np.params[k])


@pytest.mark.parametrize("cls,kw", [(rm.MinGRU, {}), (rm.MinGRU, {"negative": True}), (rm.MinLSTM, {})])
def test_modules_pass_torch_gradcheck_in_both_modes(cls, kw):
    torch.manual_seed(0)
    layer = cls(3, 4, num_layers=2, dtype=torch.float64, **kw)
    x = torch.randn(5, 2, 3, dtype=torch.float64, requires_grad=True)
    h0 = torch.randn(2, 2, 4, dtype=torch.float64, requires_grad=True)
    for mode in ("scan", "loop"):
        layer.mode = mode
        assert torch.autograd.gradcheck(lambda x, h0: layer(x, h0)[0], (x, h0))


def test_parameter_counts_against_gru_and_lstm():
    def count(m):
        return sum(p.numel() for p in m.parameters())

    for I, H in ((2, 32), (64, 128)):
        assert count(rm.MinGRU(I, H)) == 2 * H * (I + 1)
        assert count(rm.MinLSTM(I, H)) == 3 * H * (I + 1)
        assert count(torch.nn.GRU(I, H)) == 3 * H * (I + H + 2)
        assert count(torch.nn.LSTM(I, H)) == 4 * H * (I + H + 2)


def test_mode_switch_after_training_keeps_the_function():
    torch.manual_seed(1)
    layer = rm.MinGRU(2, 3, batch_first=True)
    x = torch.randn(4, 7, 2)
    scanned, _ = layer(x)
    layer.mode = "loop"
    looped, _ = layer(x)
    torch.testing.assert_close(scanned, looped, rtol=1e-6, atol=1e-6)  # float32
    assert "mode='loop'" in repr(layer)


# ----------------------------------------------------------------------------- errors
def test_scratch_layers_refuse_bad_input():
    layer = rs.MinGRU(3, 4, num_layers=2)
    with pytest.raises(ValueError, match="Expected input to be 2D or 3D"):
        layer(np.ones(3))
    with pytest.raises(ValueError, match="input.size\\(-1\\) must be equal to input_size. Expected 3, got 2"):
        layer(np.ones((5, 2, 2)))
    with pytest.raises(ValueError, match=r"h_0 must have shape \(2, 2, 4\)"):
        layer(np.ones((5, 2, 3)), np.ones((1, 2, 4)))
    with pytest.raises(TypeError, match="input must be a floating-point array"):
        layer(np.ones((5, 2, 3), dtype=int))
    with pytest.raises(RuntimeError, match="needs a forward"):
        rs.MinLSTM(3, 4).backward(np.ones((5, 2, 4)))
    layer(np.ones((5, 2, 3)))
    with pytest.raises(ValueError, match="d_output must have the shape of output"):
        layer.backward(np.ones((5, 2, 3)))
    with pytest.raises(ValueError, match="mode must be 'scan' or 'loop'"):
        rs.MinGRU(3, 4, mode="parallel")
    with pytest.raises(ValueError, match="scan_method='log' needs positive coefficients"):
        rs.MinGRU(3, 4, negative=True, scan_method="log")
    with pytest.raises(ValueError, match=r"weight_ih must have shape \(2\*hidden_size"):
        rs.mingru_step(np.ones((2, 3)), np.ones((2, 4)), np.ones((7, 3)))
    with pytest.raises(ValueError, match="h_prev must have shape"):
        rs.minlstm_step(np.ones((2, 3)), np.ones((2, 5)), np.ones((12, 3)))


def test_modules_refuse_bad_input():
    layer = rm.MinLSTM(3, 4, num_layers=2)
    with pytest.raises(ValueError, match="Expected input to be 2D or 3D"):
        layer(torch.ones(3))
    with pytest.raises(ValueError, match="input.size\\(-1\\) must be equal to input_size. Expected 3, got 2"):
        layer(torch.ones(5, 2, 2))
    with pytest.raises(ValueError, match=r"Expected hidden size \(2, 2, 4\), got \[2, 4\]"):
        layer(torch.ones(5, 2, 3), torch.ones(2, 4))
    with pytest.raises(ValueError, match="dtype"):
        layer(torch.ones(5, 2, 3, dtype=torch.float64))
    with pytest.raises(TypeError, match="input must be a torch.Tensor"):
        layer(np.ones((5, 2, 3)))
    with pytest.raises(ValueError, match="mode must be 'scan' or 'loop'"):
        layer.mode = "parallel"
    with pytest.raises(TypeError, match="negative should be of type bool"):
        rm.MinGRU(3, 4, negative=1)
