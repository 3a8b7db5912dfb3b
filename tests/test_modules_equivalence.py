"""rnnlab.modules equals torch.nn: outputs, final states and every gradient, in float64.

Property tests draw random configurations (sizes, 1-3 layers, directions, batch_first, bias,
proj_size, padded / packed sorted / packed unsorted / unbatched input, batch 1, with and without
an initial state) and compare with torch.nn at 1e-10, after copying the weights through the state
dict in one direction or the other.
"""
from __future__ import annotations

import ast
import inspect
import pathlib

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch.nn.utils.rnn import PackedSequence, pack_padded_sequence

import rnnlab.modules as rm

TOL = dict(rtol=0.0, atol=1e-10)
F64 = torch.float64
MODES = ["RNN_TANH", "RNN_RELU", "LSTM", "GRU"]


pytestmark = pytest.mark.usefixtures("one_torch_thread")  # fixture in conftest.py


def close(a, b, rtol=0.0, atol=1e-10, msg=""):
    """|a - b| <= atol + rtol |b| everywhere, same shape and dtype (a light assert_close)."""
    assert a.shape == b.shape, f"{msg}: shape {tuple(a.shape)} != {tuple(b.shape)}"
    assert a.dtype == b.dtype, f"{msg}: dtype {a.dtype} != {b.dtype}"
    if a.numel():
        err = ((a - b).abs() - rtol * b.abs()).max().item()
        assert err <= atol, f"{msg}: max error {err:.3g} > {atol:g}"


def make(lib, mode, *args, **kwargs):
    """``lib.RNN/LSTM/GRU`` for ``lib`` = rnnlab.modules or torch.nn; RNN_RELU is nonlinearity='relu'."""
    if mode.startswith("RNN"):
        kwargs["nonlinearity"] = "relu" if mode == "RNN_RELU" else "tanh"
        return lib.RNN(*args, **kwargs)
    return getattr(lib, mode)(*args, **kwargs)


def make_pair(mode, *args, **kwargs):
    """(ours, torch's) with the same arguments."""
    return make(rm, mode, *args, **kwargs), make(torch.nn, mode, *args, **kwargs)


def run_and_backprop(module, x, hx, weights):
    """Forward, a fixed random linear loss of every output, backward. Returns values and grads."""
    xs = x.detach().clone().requires_grad_(True)
    hxs = None
    if hx is not None:
        hxs = tuple(h.detach().clone().requires_grad_(True) for h in hx)
    inp = xs
    if isinstance(weights.get("pack"), dict):
        inp = pack_padded_sequence(xs, **weights["pack"])
    out, hn = module(inp, None if hxs is None else (hxs if len(hxs) == 2 else hxs[0]))
    finals = hn if isinstance(hn, tuple) else (hn,)
    data = out.data if isinstance(out, PackedSequence) else out
    loss = (data * weights["out"](data)).sum()
    for k, f in enumerate(finals):
        loss = loss + (f * weights[f"h{k}"](f)).sum()
    loss.backward()
    return {
        "out": out,
        "finals": [f.detach() for f in finals],
        "dx": xs.grad,
        "dhx": None if hxs is None else [h.grad for h in hxs],
        "dparams": {n: p.grad for n, p in module.named_parameters()},
    }


def loss_weights(seed):
    """Fixed pseudo-random weights for the loss, as functions of the tensor they multiply."""
    gen = torch.Generator().manual_seed(seed)

    def weight(t):
        return torch.randn(t.shape, generator=gen, dtype=t.dtype)

    cache = {}

    def keyed(key):
        def f(t):
            if key not in cache:
                cache[key] = weight(t)
            return cache[key]

        return f

    return {"out": keyed("out"), "h0": keyed("h0"), "h1": keyed("h1")}


def assert_same(a, b):
    if isinstance(a["out"], PackedSequence):
        assert isinstance(b["out"], PackedSequence)
        close(a["out"].data, b["out"].data, **TOL)
        assert torch.equal(a["out"].batch_sizes, b["out"].batch_sizes)
        for idx in ("sorted_indices", "unsorted_indices"):
            ia, ib = getattr(a["out"], idx), getattr(b["out"], idx)
            assert (ia is None and ib is None) or torch.equal(ia, ib)
    else:
        assert a["out"].shape == b["out"].shape
        close(a["out"], b["out"], **TOL)
    assert len(a["finals"]) == len(b["finals"])
    for fa, fb in zip(a["finals"], b["finals"]):
        assert fa.shape == fb.shape
        close(fa, fb, **TOL)
    close(a["dx"], b["dx"], **TOL)
    if a["dhx"] is not None:
        for ga, gb in zip(a["dhx"], b["dhx"]):
            close(ga, gb, **TOL)
    assert list(a["dparams"]) == list(b["dparams"])
    for name in a["dparams"]:
        close(a["dparams"][name], b["dparams"][name], **TOL, msg=name)


@st.composite
def configs(draw):
    mode = draw(st.sampled_from(MODES))
    H = draw(st.integers(1, 6))
    proj = 0
    if mode == "LSTM" and H > 1 and draw(st.booleans()):
        proj = draw(st.integers(1, H - 1))
    kind = draw(st.sampled_from(["padded", "packed_sorted", "packed_unsorted", "unbatched"]))
    B = 1 if kind == "unbatched" else draw(st.integers(1, 4))
    T = draw(st.integers(1, 6))
    lengths = None
    if kind.startswith("packed"):
        lengths = draw(st.lists(st.integers(1, T), min_size=B, max_size=B))
        lengths[draw(st.integers(0, B - 1))] = T  # the longest fills the tensor
        if kind == "packed_sorted":
            lengths = sorted(lengths, reverse=True)
    return dict(
        mode=mode,
        I=draw(st.integers(1, 5)),
        H=H,
        L=draw(st.integers(1, 3)),
        bidirectional=draw(st.booleans()),
        batch_first=draw(st.booleans()),
        bias=draw(st.booleans()),
        proj=proj,
        kind=kind,
        B=B,
        T=T,
        lengths=lengths,
        with_hx=draw(st.booleans()),
        ours_to_torch=draw(st.booleans()),
        seed=draw(st.integers(0, 2**31 - 1)),
    )


@settings(max_examples=100, deadline=None, derandomize=True)
@given(configs())
def test_layers_equal_torch_nn(cfg):
    torch.manual_seed(cfg["seed"])
    kwargs = dict(
        num_layers=cfg["L"], bias=cfg["bias"], batch_first=cfg["batch_first"],
        bidirectional=cfg["bidirectional"], dtype=F64,
    )
    if cfg["proj"]:
        kwargs["proj_size"] = cfg["proj"]
    ours, theirs = make_pair(cfg["mode"], cfg["I"], cfg["H"], **kwargs)
    if cfg["ours_to_torch"]:
        theirs.load_state_dict(ours.state_dict())
    else:
        ours.load_state_dict(theirs.state_dict())

    T, B, I, H = cfg["T"], cfg["B"], cfg["I"], cfg["H"]
    D = 2 if cfg["bidirectional"] else 1
    if cfg["kind"] == "unbatched":
        x = torch.randn(T, I, dtype=F64)
    elif cfg["batch_first"]:
        x = torch.randn(B, T, I, dtype=F64)
    else:
        x = torch.randn(T, B, I, dtype=F64)
    hx = None
    if cfg["with_hx"]:
        shape = (cfg["L"] * D, B, cfg["proj"] or H)
        cshape = (cfg["L"] * D, B, H)
        if cfg["kind"] == "unbatched":
            shape, cshape = (shape[0], shape[2]), (cshape[0], cshape[2])
        hx = (torch.randn(shape, dtype=F64),)
        if cfg["mode"] == "LSTM":
            hx = hx + (torch.randn(cshape, dtype=F64),)
    weights = loss_weights(cfg["seed"] + 1)
    if cfg["lengths"] is not None:
        weights["pack"] = dict(
            lengths=torch.tensor(cfg["lengths"]),
            batch_first=cfg["batch_first"],
            enforce_sorted=cfg["kind"] == "packed_sorted",
        )
    a = run_and_backprop(ours, x, hx, weights)
    b = run_and_backprop(theirs, x, hx, weights)
    assert_same(a, b)


@pytest.mark.parametrize("mode", MODES)
def test_parameters_names_shapes_order_and_init_match_torch(mode):
    for kwargs in (
        dict(num_layers=3, bidirectional=True),
        dict(num_layers=2, bias=False),
        dict(),
    ):
        torch.manual_seed(7)
        ours = make(rm, mode, 5, 6, **kwargs)
        torch.manual_seed(7)
        theirs = make(torch.nn, mode, 5, 6, **kwargs)
        a, b = dict(ours.named_parameters()), dict(theirs.named_parameters())
        assert list(a) == list(b)
        for name in a:
            assert a[name].shape == b[name].shape, name
            # the same seed draws the same initial weights: same order, same U(-1/sqrt(H), ..)
            assert torch.equal(a[name], b[name]), name
        assert ours.extra_repr() == theirs.extra_repr()
        assert [[p.shape for p in g] for g in ours.all_weights] == [
            [p.shape for p in g] for g in theirs.all_weights
        ]


def test_lstm_proj_size_parameters_match_torch():
    ours, theirs = make_pair("LSTM", 4, 6, num_layers=2, proj_size=3, bidirectional=True)
    assert [(n, p.shape) for n, p in ours.named_parameters()] == [
        (n, p.shape) for n, p in theirs.named_parameters()
    ]
    ours.load_state_dict(theirs.state_dict())
    theirs.load_state_dict(ours.state_dict())


def test_init_range_is_one_over_sqrt_hidden():
    m = rm.LSTM(10, 400, num_layers=2, peephole=True)
    bound = 1 / 400**0.5
    for name, p in m.named_parameters():
        assert p.abs().max() <= bound, name
        assert p.abs().max() > 0.9 * bound, name  # uses the range, not a constant


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("bidirectional", [False, True])
def test_dropout_between_layers_matches_torch_in_training_and_eval(mode, bidirectional):
    ours, theirs = make_pair(mode, 3, 4, num_layers=3, dropout=0.4, bidirectional=bidirectional, dtype=F64)
    ours.load_state_dict(theirs.state_dict())
    x = torch.randn(6, 2, 3, dtype=F64)
    # training: the same seed gives the same dropout masks (dropout on the layer outputs, in order)
    torch.manual_seed(3)
    a = ours(x)[0]
    torch.manual_seed(3)
    b = theirs(x)[0]
    close(a, b, **TOL)
    torch.manual_seed(4)
    assert not torch.allclose(ours(x)[0], a), "dropout must change the output in training mode"
    ours.eval(), theirs.eval()
    close(ours(x)[0], theirs(x)[0], **TOL)
    close(ours(x)[0], ours(x)[0], **TOL)  # eval is deterministic


@pytest.mark.parametrize("mode", MODES)
def test_long_sequence_and_large_batch(mode):
    ours, theirs = make_pair(mode, 7, 9, num_layers=2, bidirectional=True, dtype=F64)
    ours.load_state_dict(theirs.state_dict())
    x = torch.randn(60, 17, 7, dtype=F64)
    lengths = torch.randint(1, 61, (17,))
    lengths[3] = 60
    w = loss_weights(0)
    w["pack"] = dict(lengths=lengths, enforce_sorted=False)
    assert_same(run_and_backprop(ours, x, None, w), run_and_backprop(theirs, x, None, w))


# --------------------------------------------------------------------------- cells
CELLS = {"RNN_TANH": "RNNCell", "RNN_RELU": "RNNCell", "LSTM": "LSTMCell", "GRU": "GRUCell"}


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("shape", ["batched", "batch1", "unbatched"])
@pytest.mark.parametrize("with_hx", [True, False])
def test_cells_equal_torch_nn(mode, bias, shape, with_hx):
    kwargs = dict(bias=bias, dtype=F64)
    if mode.startswith("RNN"):
        kwargs["nonlinearity"] = "relu" if mode == "RNN_RELU" else "tanh"
    torch.manual_seed(11)
    ours = getattr(rm, CELLS[mode])(5, 4, **kwargs)
    torch.manual_seed(11)
    theirs = getattr(torch.nn, CELLS[mode])(5, 4, **kwargs)
    assert [(n, p.shape) for n, p in ours.named_parameters()] == [
        (n, p.shape) for n, p in theirs.named_parameters()
    ]
    for n, p in ours.named_parameters():  # same seed, same init
        assert torch.equal(p, dict(theirs.named_parameters())[n])
    assert ours.extra_repr() == theirs.extra_repr()
    ours.load_state_dict(theirs.state_dict())
    batch = {"batched": (3,), "batch1": (1,), "unbatched": ()}[shape]
    x = torch.randn(*batch, 5, dtype=F64)
    n_states = 2 if mode == "LSTM" else 1
    states = [torch.randn(*batch, 4, dtype=F64) for _ in range(n_states)] if with_hx else None
    results = []
    for m in (ours, theirs):
        xs = x.clone().requires_grad_(True)
        hs = None if states is None else [s.clone().requires_grad_(True) for s in states]
        arg = None if hs is None else (tuple(hs) if mode == "LSTM" else hs[0])
        out = m(xs, arg)
        outs = out if isinstance(out, tuple) else (out,)
        loss = sum((o * torch.linspace(-1, 2, o.numel(), dtype=F64).view_as(o)).sum() for o in outs)
        loss = loss + sum((o**2).sum() for o in outs)
        loss.backward()
        results.append((outs, xs.grad, None if hs is None else [h.grad for h in hs],
                        [p.grad for p in m.parameters()]))
    (oa, xa, ha, pa), (ob, xb, hb, pb) = results
    for u, v in zip(oa, ob):
        assert u.shape == v.shape
        close(u, v, **TOL)
    close(xa, xb, **TOL)
    if ha is not None:
        for u, v in zip(ha, hb):
            close(u, v, **TOL)
    for u, v in zip(pa, pb):
        close(u, v, **TOL)


@pytest.mark.parametrize("mode", ["RNN_TANH", "RNN_RELU", "LSTM", "GRU"])
def test_layer_equals_a_loop_of_our_cells(mode):
    """The fused time loop (hand-written backward) equals stepping the autograd cell by hand."""
    torch.manual_seed(5)
    layer = make_pair(mode, 3, 4, dtype=F64)[0]
    kw = {"nonlinearity": "relu" if mode == "RNN_RELU" else "tanh"} if mode.startswith("RNN") else {}
    cell = getattr(rm, CELLS[mode])(3, 4, dtype=F64, **kw)
    cell.load_state_dict({k[:-3]: v for k, v in layer.state_dict().items()})
    x = torch.randn(7, 2, 3, dtype=F64)
    out, _ = layer(x)
    state = None
    steps = []
    for t in range(7):
        state = cell(x[t], state)
        steps.append(state[0] if isinstance(state, tuple) else state)
    close(out, torch.stack(steps), **TOL)


# --------------------------------------------------------------------------- dtype, device, misc
@pytest.mark.parametrize("mode", MODES)
def test_float32_close_to_torch_and_dtype_follows_parameters(mode):
    ours, theirs = make_pair(mode, 8, 16, num_layers=2, bidirectional=True)
    ours.load_state_dict(theirs.state_dict())
    x = torch.randn(20, 4, 8)
    (a, ha), (b, hb) = ours(x), theirs(x)
    assert a.dtype == torch.float32
    close(a, b, rtol=1e-4, atol=1e-5)
    ours.double()
    out, hn = ours(x.double())
    assert out.dtype == F64
    assert (hn[0] if isinstance(hn, tuple) else hn).dtype == F64


def test_module_to_dtype_and_factory_kwargs():
    m = rm.GRU(3, 4, dtype=F64)
    assert all(p.dtype == F64 for p in m.parameters())
    m = rm.LSTM(3, 4, device="cpu").to(F64)
    assert m(torch.randn(2, 1, 3, dtype=F64))[0].dtype == F64


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")
@pytest.mark.parametrize("mode", MODES)
def test_cuda_matches_torch_nn(mode):
    ours, theirs = make_pair(mode, 3, 5, num_layers=2, bidirectional=True, dtype=F64, device="cuda")
    ours.load_state_dict(theirs.state_dict())
    x = torch.randn(6, 3, 3, dtype=F64, device="cuda")
    p = pack_padded_sequence(x, torch.tensor([6, 2, 4]), enforce_sorted=False)
    for inp in (x, p):
        a, b = ours(inp)[0], theirs(inp)[0]
        a = a.data if isinstance(a, PackedSequence) else a
        b = b.data if isinstance(b, PackedSequence) else b
        assert a.device.type == "cuda"
        close(a, b, **TOL)


def test_empty_batch_like_torch():
    ours, theirs = make_pair("LSTM", 3, 4, num_layers=2)
    x = torch.randn(5, 0, 3)
    (a, (h, c)), (b, (h2, c2)) = ours(x), theirs(x)
    assert a.shape == b.shape and h.shape == h2.shape and c.shape == c2.shape


def test_grads_accumulate_over_two_backward_calls_like_torch():
    ours, theirs = make_pair("LSTM", 3, 4, dtype=F64)
    ours.load_state_dict(theirs.state_dict())
    x = torch.randn(4, 2, 3, dtype=F64)
    for m in (ours, theirs):
        for _ in range(2):
            m(x)[0].sum().backward()
    for (n, p), q in zip(ours.named_parameters(), theirs.parameters()):
        close(p.grad, q.grad, **TOL, msg=n)


def test_no_grad_inference_and_frozen_parameters():
    m = rm.GRU(3, 4)
    x = torch.randn(5, 2, 3)
    with torch.no_grad():
        out, _ = m(x)
    assert not out.requires_grad
    m.requires_grad_(False)
    xs = x.clone().requires_grad_(True)
    m(xs)[0].sum().backward()  # only the input needs a gradient
    assert xs.grad is not None and all(p.grad is None for p in m.parameters())


def test_no_torch_rnn_inside():
    """Source check (code, not docstrings): no torch recurrent module, kernel or _VF call."""
    torch_modules = {"RNN", "LSTM", "GRU", "RNNCell", "LSTMCell", "GRUCell", "RNNBase"}
    kernels = {"lstm", "gru", "rnn_tanh", "rnn_relu", "lstm_cell", "gru_cell", "rnn_tanh_cell",
               "rnn_relu_cell", "_VF", "_rnn_impls", "mkldnn_rnn_layer", "_cudnn_rnn"}
    src = pathlib.Path(inspect.getfile(rm)).parent
    for path in sorted(src.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Attribute):
                owner = ast.unparse(node.value)
                assert not (owner in ("nn", "torch.nn") and node.attr in torch_modules), (
                    path.name, node.lineno, ast.unparse(node))
                assert not (owner.startswith("torch") and node.attr in kernels), (
                    path.name, node.lineno, ast.unparse(node))
                assert node.attr != "_VF", (path.name, node.lineno)
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("torch"):
                names = {a.name for a in node.names}
                assert "rnn" not in node.module.split(".")[-1:] or node.module == "torch.nn.utils.rnn"
                assert not names & (torch_modules | kernels), (path.name, node.lineno, names)
            if isinstance(node, ast.Import):
                assert not any("_VF" in a.name for a in node.names), (path.name, node.lineno)


def test_no_torch_rnn_inside_at_run_time(monkeypatch):
    """Run time check: break torch's recurrent kernels and modules, ours still work."""
    def boom(*args, **kwargs):
        raise AssertionError("torch's recurrent implementation was called")

    for name in ["lstm", "gru", "rnn_tanh", "rnn_relu", "lstm_cell", "gru_cell", "rnn_tanh_cell",
                 "rnn_relu_cell"]:
        monkeypatch.setattr(torch._VF, name, boom, raising=False)
        monkeypatch.setattr(torch, name, boom, raising=False)
    for cls in (torch.nn.RNN, torch.nn.LSTM, torch.nn.GRU, torch.nn.RNNCell, torch.nn.LSTMCell,
                torch.nn.GRUCell):
        monkeypatch.setattr(cls, "forward", boom)
    x = torch.randn(4, 2, 3)
    for mode in MODES:
        m = make_pair(mode, 3, 5, num_layers=2, bidirectional=True)[0]
        m(pack_padded_sequence(x, torch.tensor([4, 2])))[0].data.sum().backward()
    for cell in (rm.RNNCell(3, 5), rm.LSTMCell(3, 5), rm.GRUCell(3, 5)):
        out = cell(x[0])
        (out[0] if isinstance(out, tuple) else out).sum().backward()
