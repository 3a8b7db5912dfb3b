"""Step functions, losses, gradient tools of rnnlab.scratch against torch (float64) and finite
differences; the step functions unrolled over time equal the layers' fast loops."""
from __future__ import annotations

import pathlib
import subprocess
import sys

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from rnnlab import scratch

torch.set_num_threads(1)
ATOL = 1e-10
FD = dict(order=4, eps=1e-3)  # fourth-order central differences (see rnnlab.scratch.gradcheck)
G = {"rnn": 1, "lstm": 4, "gru": 3}


def rand_args(kind, N=3, I=4, H=5, seed=0, bias=True, unbatched=False, peephole=False):
    rng = np.random.default_rng(seed)
    g = G[kind]
    lead = () if unbatched else (N,)
    a = dict(
        x=rng.standard_normal(lead + (I,)),
        h_prev=rng.standard_normal(lead + (H,)),
        weight_ih=rng.standard_normal((g * H, I)) * 0.7,
        weight_hh=rng.standard_normal((g * H, H)) * 0.7,
        bias_ih=rng.standard_normal(g * H) * 0.5 if bias else None,
        bias_hh=rng.standard_normal(g * H) * 0.5 if bias else None,
    )
    if kind == "lstm":
        a["c_prev"] = rng.standard_normal(lead + (H,))
        if peephole:
            for k in ("weight_ci", "weight_cf", "weight_co"):
                a[k] = rng.standard_normal(H)
    return a


def torch_cell(kind, a, nonlinearity="tanh"):
    I, H = a["weight_ih"].shape[1], a["weight_hh"].shape[1]
    bias = a["bias_ih"] is not None
    if kind == "rnn":
        cell = torch.nn.RNNCell(I, H, bias=bias, nonlinearity=nonlinearity)
    else:
        cell = {"lstm": torch.nn.LSTMCell, "gru": torch.nn.GRUCell}[kind](I, H, bias=bias)
    cell = cell.double()
    cell.load_state_dict({k: torch.tensor(a[k]) for k in ("weight_ih", "weight_hh", "bias_ih", "bias_hh") if a[k] is not None})
    return cell


def step(kind, a, **kw):
    """Call our step function; returns (outputs tuple, cache)."""
    if kind == "rnn":
        h, cache = scratch.rnn_step(**a, **kw)
        return (h,), cache
    if kind == "lstm":
        h, c, cache = scratch.lstm_step(**a, **kw)
        return (h, c), cache
    h, cache = scratch.gru_step(**a, **kw)
    return (h,), cache


@pytest.mark.parametrize("kind,kw", [("rnn", {"nonlinearity": "tanh"}), ("rnn", {"nonlinearity": "relu"}),
                                     ("lstm", {}), ("gru", {})])
@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("unbatched", [False, True])
def test_step_matches_torch_cell(kind, kw, bias, unbatched):
    a = rand_args(kind, bias=bias, unbatched=unbatched, seed=1)
    outs, cache = step(kind, a, **kw)
    cell = torch_cell(kind, a, **kw)
    tx = torch.tensor(a["x"], requires_grad=True)
    th = torch.tensor(a["h_prev"], requires_grad=True)
    if kind == "lstm":
        tc = torch.tensor(a["c_prev"], requires_grad=True)
        t_outs = cell(tx, (th, tc))
    else:
        t_outs = (cell(tx, th),)
    rng = np.random.default_rng(2)
    douts = [rng.standard_normal(o.shape) for o in outs]
    for o, t in zip(outs, t_outs):
        assert o.shape == tuple(t.shape)
        np.testing.assert_allclose(o, t.detach().numpy(), rtol=0, atol=ATOL)
    sum((t * torch.tensor(d)).sum() for t, d in zip(t_outs, douts)).backward()
    if kind == "rnn":
        gr = scratch.rnn_step_backward(douts[0], cache)
    elif kind == "lstm":
        gr = scratch.lstm_step_backward(douts[0], douts[1], cache)
        np.testing.assert_allclose(gr.dc_prev, tc.grad.numpy(), rtol=0, atol=ATOL)
    else:
        gr = scratch.gru_step_backward(douts[0], cache)
    np.testing.assert_allclose(gr.dx, tx.grad.numpy(), rtol=0, atol=ATOL)
    np.testing.assert_allclose(gr.dh_prev, th.grad.numpy(), rtol=0, atol=ATOL)
    params = dict(cell.named_parameters())
    np.testing.assert_allclose(gr.dweight_ih, params["weight_ih"].grad.numpy(), rtol=0, atol=ATOL)
    np.testing.assert_allclose(gr.dweight_hh, params["weight_hh"].grad.numpy(), rtol=0, atol=ATOL)
    if bias:
        np.testing.assert_allclose(gr.dbias_ih, params["bias_ih"].grad.numpy(), rtol=0, atol=ATOL)
        np.testing.assert_allclose(gr.dbias_hh, params["bias_hh"].grad.numpy(), rtol=0, atol=ATOL)
    else:
        assert gr.dbias_ih is None and gr.dbias_hh is None


CASES = [("rnn", {"nonlinearity": "tanh"}, False), ("rnn", {"nonlinearity": "relu"}, False),
         ("lstm", {}, False), ("lstm", {}, True), ("gru", {"reset_after": True}, False),
         ("gru", {"reset_after": False}, False)]


@pytest.mark.parametrize("kind,kw,peephole", CASES)
@pytest.mark.parametrize("unbatched", [False, True])
def test_step_backward_matches_finite_differences(kind, kw, peephole, unbatched):
    """Every argument's gradient, including peepholes and the Cho et al. GRU, by gradcheck."""
    a = rand_args(kind, N=2, I=3, H=3, seed=3, peephole=peephole, unbatched=unbatched)
    rng = np.random.default_rng(4)
    outs, cache = step(kind, a, **kw)
    w = [rng.standard_normal(o.shape) for o in outs]

    def loss(_):
        outs, _cache = step(kind, a, **kw)
        return sum(float((o * wi).sum()) for o, wi in zip(outs, w))

    if kind == "rnn":
        gr = scratch.rnn_step_backward(w[0], cache)
    elif kind == "lstm":
        gr = scratch.lstm_step_backward(w[0], w[1], cache)
    else:
        gr = scratch.gru_step_backward(w[0], cache)
    grads = {
        "x": gr.dx, "h_prev": gr.dh_prev, "weight_ih": gr.dweight_ih, "weight_hh": gr.dweight_hh,
        "bias_ih": gr.dbias_ih, "bias_hh": gr.dbias_hh,
    }
    if kind == "lstm":
        grads["c_prev"] = gr.dc_prev
        if peephole:
            grads.update(weight_ci=gr.dweight_ci, weight_cf=gr.dweight_cf, weight_co=gr.dweight_co)
        else:
            assert gr.dweight_ci is None and gr.dweight_co is None
    for k, v in grads.items():
        assert v.shape == a[k].shape, k
    params = {k: a[k] for k in grads}
    assert scratch.gradcheck(loss, params, grads, **FD) < 1e-7


def test_lstm_step_backward_dc_none_means_zero():
    a = rand_args("lstm", seed=5)
    h, c, cache = scratch.lstm_step(**a)
    dh = np.ones_like(h)
    g1 = scratch.lstm_step_backward(dh, None, cache)
    g2 = scratch.lstm_step_backward(dh, np.zeros_like(c), cache)
    for u, v in zip(g1, g2):
        if u is not None:
            np.testing.assert_array_equal(u, v)


def test_gru_reset_after_conventions_differ_and_torch_is_after():
    a = rand_args("gru", seed=6)
    h_after, _ = scratch.gru_step(**a, reset_after=True)
    h_before, _ = scratch.gru_step(**a, reset_after=False)
    t = torch_cell("gru", a)(torch.tensor(a["x"]), torch.tensor(a["h_prev"])).detach().numpy()
    np.testing.assert_allclose(h_after, t, rtol=0, atol=ATOL)
    assert np.abs(h_before - t).max() > 1e-3


# ---------------------------------------------------------------------------------------------
# The step functions unrolled by hand (forward loop + BPTT with *_step_backward) equal the
# layers' fast loops, including peepholes and reset_after=False, which torch lacks.
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind,kw,peephole", CASES)
def test_unrolled_steps_equal_layer(kind, kw, peephole):
    T, N, I, H = 5, 2, 3, 4
    rng = np.random.default_rng(8)
    if kind == "rnn":
        layer = scratch.RNN(I, H, nonlinearity=kw["nonlinearity"], seed=0)
    elif kind == "lstm":
        layer = scratch.LSTM(I, H, peephole=peephole, seed=0)
    else:
        layer = scratch.GRU(I, H, reset_after=kw["reset_after"], seed=0)
    p = {k[: -len("_l0")]: v for k, v in layer.params.items()}
    x = rng.standard_normal((T, N, I))
    h = rng.standard_normal((N, H))
    c = rng.standard_normal((N, H))
    d_out = rng.standard_normal((T, N, H))
    d_hn = rng.standard_normal((N, H))

    caches, outs = [], []
    h_t, c_t = h, c
    for t in range(T):
        if kind == "lstm":
            h_t, c_t, cache = scratch.lstm_step(x[t], h_t, c_t, **p)
        elif kind == "rnn":
            h_t, cache = scratch.rnn_step(x[t], h_t, **p, **kw)
        else:
            h_t, cache = scratch.gru_step(x[t], h_t, **p, **kw)
        caches.append(cache)
        outs.append(h_t)
    grads = {k: np.zeros_like(v) for k, v in p.items()}
    dx = np.zeros_like(x)
    dh, dc = d_hn.copy(), np.zeros((N, H))
    for t in range(T - 1, -1, -1):  # BPTT: the gradients of the tied weights are summed
        dh = dh + d_out[t]
        if kind == "lstm":
            gr = scratch.lstm_step_backward(dh, dc, caches[t])
            dc = gr.dc_prev
        elif kind == "rnn":
            gr = scratch.rnn_step_backward(dh, caches[t])
        else:
            gr = scratch.gru_step_backward(dh, caches[t])
        dx[t], dh = gr.dx, gr.dh_prev
        for k in grads:
            grads[k] += getattr(gr, "d" + k)

    hx = (h[None], c[None]) if kind == "lstm" else h[None]
    out, h_n = layer.forward(x, hx)
    np.testing.assert_allclose(out, np.stack(outs), rtol=0, atol=ATOL)
    dxl = layer.backward(d_out, (d_hn[None], None) if kind == "lstm" else d_hn[None])
    np.testing.assert_allclose(dxl, dx, rtol=0, atol=ATOL)
    d_h0 = layer.d_hx[0] if kind == "lstm" else layer.d_hx
    np.testing.assert_allclose(d_h0[0], dh, rtol=0, atol=ATOL)
    if kind == "lstm":
        np.testing.assert_allclose(layer.d_hx[1][0], dc, rtol=0, atol=ATOL)
    for k in grads:
        np.testing.assert_allclose(layer.grads[k + "_l0"], grads[k], rtol=0, atol=ATOL, err_msg=k)


# ---------------------------------------------------------------------------------------------
# Softmax cross-entropy, clipping, gradcheck itself
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("reduction", ["mean", "sum"])
@pytest.mark.parametrize("shape", [(7, 5), (4, 3, 6), (5,)])
def test_softmax_cross_entropy_matches_torch(reduction, shape):
    rng = np.random.default_rng(9)
    logits = rng.standard_normal(shape) * 3
    C = shape[-1]
    targets = rng.integers(0, C, size=shape[:-1])
    if targets.ndim:
        targets.flat[0] = -100  # ignored, like torch's default ignore_index
    loss, dlogits = scratch.softmax_cross_entropy(logits, targets, reduction=reduction)
    tl = torch.tensor(logits, requires_grad=True)
    t_loss = F.cross_entropy(tl.reshape(-1, C), torch.tensor(targets).reshape(-1), reduction=reduction)
    t_loss.backward()
    assert isinstance(loss, float)
    assert abs(loss - t_loss.item()) < 1e-12
    np.testing.assert_allclose(dlogits, tl.grad.numpy(), rtol=0, atol=1e-12)


def test_softmax_cross_entropy_soft_targets_and_stability():
    rng = np.random.default_rng(10)
    logits = rng.standard_normal((6, 4)) * 1000  # exp would overflow without the max shift
    probs = scratch.softmax(rng.standard_normal((6, 4)))
    loss, d = scratch.softmax_cross_entropy(logits, probs)
    tl = torch.tensor(logits, requires_grad=True)
    t_loss = F.cross_entropy(tl, torch.tensor(probs))
    t_loss.backward()
    assert np.isfinite(loss) and abs(loss - t_loss.item()) < 1e-9 * abs(t_loss.item())
    np.testing.assert_allclose(d, tl.grad.numpy(), rtol=0, atol=1e-12)
    s = scratch.softmax(logits)
    assert np.all(np.isfinite(s))
    np.testing.assert_allclose(s.sum(-1), 1.0, rtol=0, atol=1e-15)


def test_softmax_cross_entropy_gradient_by_finite_differences():
    rng = np.random.default_rng(11)
    logits = rng.standard_normal((3, 4, 5))
    targets = rng.integers(0, 5, size=(3, 4))
    _, d = scratch.softmax_cross_entropy(logits, targets, reduction="sum")
    f = lambda z: scratch.softmax_cross_entropy(z, targets, reduction="sum")[0]  # noqa: E731
    assert scratch.gradcheck(f, logits, d, **FD) < 1e-7


def test_softmax_cross_entropy_all_ignored_is_nan_like_torch():
    loss, d = scratch.softmax_cross_entropy(np.zeros((2, 3)), np.array([-100, -100]))
    assert np.isnan(loss) and np.all(d == 0)


@pytest.mark.parametrize("max_norm", [0.5, 100.0])
@pytest.mark.parametrize("norm_type", [2.0, float("inf")])
def test_clip_grad_norm_matches_torch(max_norm, norm_type):
    rng = np.random.default_rng(12)
    grads = {"a": rng.standard_normal((3, 4)), "b": rng.standard_normal(5)}
    tensors = [torch.zeros(3, 4, dtype=torch.float64, requires_grad=True),
               torch.zeros(5, dtype=torch.float64, requires_grad=True)]
    for t, g in zip(tensors, grads.values()):
        t.grad = torch.tensor(g)
    t_total = torch.nn.utils.clip_grad_norm_(tensors, max_norm, norm_type=norm_type)
    ref = grads["a"]
    total = scratch.clip_grad_norm(grads, max_norm, norm_type=norm_type)
    assert abs(total - t_total.item()) < 1e-12
    assert grads["a"] is ref  # scaled in place
    for t, g in zip(tensors, grads.values()):
        np.testing.assert_allclose(g, t.grad.numpy(), rtol=0, atol=1e-14)


def test_clip_grad_norm_accepts_list_and_array():
    g = np.full(4, 3.0)  # norm 6
    assert scratch.clip_grad_norm([g], 3.0) == pytest.approx(6.0)
    assert np.linalg.norm(g) == pytest.approx(3.0, rel=1e-6)
    assert scratch.clip_grad_norm(g, 10.0) == pytest.approx(3.0, rel=1e-6)


def test_gradcheck_detects_wrong_gradient_and_restores_params():
    rng = np.random.default_rng(13)
    W = rng.standard_normal((3, 4))
    before = W.copy()
    x = rng.standard_normal(4)
    f = lambda p: float(np.tanh(p["W"] @ x).sum())  # noqa: E731
    good = {"W": np.outer(1 - np.tanh(W @ x) ** 2, x)}
    bad = {"W": np.outer(1 - (W @ x) ** 2, x)}  # tanh' taken on the pre-activation
    assert scratch.gradcheck(f, {"W": W}, good) < 1e-7
    assert scratch.gradcheck(f, {"W": W}, bad) > 1e-2
    np.testing.assert_array_equal(W, before)
    # f may return (loss, grads); a single array works; sparse checks; per-parameter report
    g = lambda p: (float(np.tanh(p["W"] @ x).sum()), good)  # noqa: E731
    assert scratch.gradcheck(g, {"W": W}) < 1e-7
    assert scratch.gradcheck(lambda w: float(np.tanh(w @ x).sum()), W, good["W"], num_checks=5) < 1e-7
    errs = scratch.gradcheck(f, {"W": W}, good, per_param=True)
    assert set(errs) == {"W"} and errs["W"] < 1e-7
    num = scratch.numerical_gradient(f, {"W": W})
    np.testing.assert_allclose(num["W"], good["W"], rtol=0, atol=1e-9)


def test_gradcheck_bad_arguments():
    with pytest.raises(ValueError, match="order"):
        scratch.gradcheck(lambda p: 0.0, np.zeros(2), np.zeros(2), order=3)
    with pytest.raises(TypeError, match="params"):
        scratch.gradcheck(lambda p: 0.0, [1.0, 2.0], np.zeros(2))
    with pytest.raises(ValueError, match="scalar"):
        scratch.gradcheck(lambda p: p * 2, np.zeros(2), np.zeros(2))
    with pytest.raises(ValueError, match=r"grads\['a'\] has shape"):
        scratch.gradcheck(lambda p: 0.0, {"a": np.zeros(2)}, {"a": np.zeros(3)})


def test_scratch_never_imports_torch():
    code = "import sys, rnnlab.scratch; assert 'torch' not in sys.modules, 'torch was imported'"
    subprocess.run([sys.executable, "-c", code], check=True)
    src = pathlib.Path(scratch.__file__).parent
    for f in src.glob("*.py"):
        text = f.read_text()
        assert "import torch" not in text and "from torch" not in text, f.name
