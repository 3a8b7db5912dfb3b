"""rnnlab.modules equals rnnlab.scratch (numpy, hand-written BPTT) where torch.nn has no reference:
peephole LSTMs and the Cho et al. GRU, with variable lengths, several layers, both directions.

Two independent implementations (numpy and torch, written separately) that agree to 1e-10 on
outputs, final states and every gradient; the state dict moves between them unchanged.
"""
from __future__ import annotations

import numpy as np
import pytest
import torch
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

import rnnlab.modules as rm
import rnnlab.scratch as rs

F64 = torch.float64
ATOL = 1e-10


pytestmark = pytest.mark.usefixtures("one_torch_thread")  # fixture in conftest.py


def close(a, b, msg=""):
    a, b = np.asarray(a), np.asarray(b)
    assert a.shape == b.shape, f"{msg}: shape {a.shape} != {b.shape}"
    err = np.abs(a - b).max() if a.size else 0.0
    assert err <= ATOL, f"{msg}: max error {err:.3g} > {ATOL:g}"


CASES = [
    ("LSTM", dict(peephole=True)),
    ("LSTM", dict(peephole=True, num_layers=2, bidirectional=True)),
    ("LSTM", dict(peephole=True, bidirectional=True, batch_first=True, bias=False)),
    ("GRU", dict(reset_after=False)),
    ("GRU", dict(reset_after=False, num_layers=2, bidirectional=True)),
    ("GRU", dict(reset_after=False, bidirectional=True, batch_first=True, bias=False)),
]


@pytest.mark.parametrize("mode,kwargs", CASES)
@pytest.mark.parametrize("variable_lengths", [False, True])
def test_modules_equal_scratch(mode, kwargs, variable_lengths):
    rng = np.random.default_rng(0)
    T, N, I, H = 5, 3, 3, 4
    ours_np = getattr(rs, mode)(I, H, seed=1, **kwargs)
    ours_t = getattr(rm, mode)(I, H, dtype=F64, **kwargs)
    ours_t.load_state_dict({k: torch.from_numpy(v) for k, v in ours_np.state_dict().items()})
    L, D = ours_t.num_layers, 2 if ours_t.bidirectional else 1
    bf = ours_t.batch_first
    x = rng.standard_normal((N, T, I) if bf else (T, N, I))
    lengths = [5, 2, 4] if variable_lengths else [T] * N
    h0 = rng.standard_normal((L * D, N, H))
    hx_np = (h0, rng.standard_normal((L * D, N, H))) if mode == "LSTM" else h0
    d_out = rng.standard_normal((N, T, D * H) if bf else (T, N, D * H))
    d_fin = tuple(rng.standard_normal((L * D, N, H)) for _ in range(2 if mode == "LSTM" else 1))

    # numpy
    out_np, fin_np = ours_np.forward(x, hx_np, lengths=lengths if variable_lengths else None)
    mask = np.arange(T)[:, None] < np.array(lengths)[None, :]  # (T, N): true steps
    mask = mask.T[:, :, None] if bf else mask[:, :, None]
    dx_np = ours_np.backward(d_out * mask, d_fin if mode == "LSTM" else d_fin[0])

    # torch, through a PackedSequence when lengths vary
    xt = torch.tensor(x, requires_grad=True)
    hx_t = tuple(torch.tensor(h, requires_grad=True) for h in (hx_np if mode == "LSTM" else (hx_np,)))
    inp = pack_padded_sequence(xt, torch.tensor(lengths), batch_first=bf, enforce_sorted=False) \
        if variable_lengths else xt
    out_t, fin_t = ours_t(inp, hx_t if mode == "LSTM" else hx_t[0])
    if variable_lengths:
        out_t, _ = pad_packed_sequence(out_t, batch_first=bf, total_length=T)
    fin_t = fin_t if mode == "LSTM" else (fin_t,)
    loss = (out_t * torch.tensor(d_out * mask)).sum()
    loss = loss + sum((f * torch.tensor(d)).sum() for f, d in zip(fin_t, d_fin))
    loss.backward()

    close(out_t.detach(), out_np * mask, "output")
    for k, (a, b) in enumerate(zip(fin_t, fin_np if mode == "LSTM" else (fin_np,))):
        close(a.detach(), b, f"final state {k}")
    close(xt.grad, dx_np * mask, "d input")
    d_hx_np = ours_np.d_hx if mode == "LSTM" else (ours_np.d_hx,)
    for k, (a, b) in enumerate(zip(hx_t, d_hx_np)):
        close(a.grad, b, f"d hx[{k}]")
    assert [n for n, _ in ours_t.named_parameters()] == list(ours_np.params)
    for name, p in ours_t.named_parameters():
        close(p.grad, ours_np.grads[name], name)
    # and the state dict goes back unchanged
    back = getattr(rs, mode)(I, H, seed=2, **kwargs)
    back.load_state_dict(ours_t.state_dict())
    for k, v in back.state_dict().items():
        close(v, ours_np.params[k], k)
