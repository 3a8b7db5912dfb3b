"""rnnlab.train.fit: the loop does what its contract says, checked against hand-run optimisation."""
import math

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from rnnlab.train import History, fit, global_grad_norm, to_device  # noqa: E402


def _linreg(seed=0):
    torch.manual_seed(seed)
    return torch.nn.Linear(3, 1)


def _mse(model, batch):
    x, y = batch
    return torch.nn.functional.mse_loss(model(x), y)


def _batches(n, seed=0, dtype=np.float32):
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n):
        x = rng.normal(size=(16, 3)).astype(dtype)
        out.append((x, (x @ np.array([[1.0], [-2.0], [0.5]])).astype(dtype) + 0.3))
    return out


def test_fit_equals_a_hand_written_loop():
    batches = _batches(7)
    m1, m2 = _linreg(), _linreg()
    opt2 = torch.optim.SGD(m2.parameters(), lr=0.1)
    hist = fit(m1, _mse, batches, epochs=2, optimizer=torch.optim.SGD(m1.parameters(), lr=0.1),
               progress=False)
    losses = []
    for _ in range(2):
        for x, y in batches:
            loss = _mse(m2, (torch.from_numpy(x), torch.from_numpy(y)))
            opt2.zero_grad()
            loss.backward()
            opt2.step()
            losses.append(loss.item())
    np.testing.assert_allclose(hist.loss, losses, rtol=1e-6)
    for p1, p2 in zip(m1.parameters(), m2.parameters()):
        torch.testing.assert_close(p1, p2)
    assert hist.num_steps == 14 and hist.steps == list(range(1, 15))
    assert hist.epoch == [0] * 7 + [1] * 7
    assert hist.stop_reason == "epochs"
    # one evaluation point per epoch (the default), holding the epoch's mean training loss
    assert [e["step"] for e in hist.evals] == [7, 14]
    assert hist.evals[0]["loss"] == pytest.approx(np.mean(losses[:7]))


def test_clipping_and_recorded_norm_match_torch():
    batches = _batches(3)
    big = [(x * 100, y * 100) for x, y in batches]
    m1, m2 = _linreg(), _linreg()
    hist = fit(m1, _mse, big, optimizer=torch.optim.SGD(m1.parameters(), lr=0.01), clip=0.5,
               progress=False)
    opt = torch.optim.SGD(m2.parameters(), lr=0.01)
    for i, (x, y) in enumerate(big):
        opt.zero_grad()
        _mse(m2, (torch.from_numpy(x), torch.from_numpy(y))).backward()
        norm = math.sqrt(sum(float((p.grad ** 2).sum()) for p in m2.parameters()))
        assert hist.grad_norm[i] == pytest.approx(norm, rel=1e-5)  # recorded before clipping
        assert norm > 0.5
        torch.nn.utils.clip_grad_norm_(m2.parameters(), 0.5)
        assert global_grad_norm(m2.parameters()) == pytest.approx(0.5, rel=1e-5)
        opt.step()
    for p1, p2 in zip(m1.parameters(), m2.parameters()):
        torch.testing.assert_close(p1, p2)


def test_stream_early_stop_at_target_and_eval_fn():
    rng = np.random.default_rng(0)

    def batch():
        x = rng.normal(size=(32, 3)).astype(np.float32)
        return x, x.sum(1, keepdims=True)

    vx = torch.randn(200, 3)
    calls = []

    def ev(model):
        calls.append(model.training)
        assert not torch.is_grad_enabled()
        return {"val_mse": torch.nn.functional.mse_loss(model(vx), vx.sum(1, keepdim=True))}

    model = _linreg()
    hist = fit(model, _mse, batch, steps=2000, lr=0.05, eval_fn=ev, eval_every=20, target=1e-4,
               monitor="val_mse", progress=False)
    assert hist.reached_target and hist.stop_reason == "target"
    assert hist.final("val_mse") <= 1e-4
    assert all(v > 1e-4 for v in hist.metric("val_mse")[1][:-1])  # stopped at the first success
    assert hist.num_steps < 2000 and hist.num_steps % 20 == 0
    assert calls and not any(calls)  # eval_fn saw eval() mode
    assert model.training  # and train() mode is restored
    assert hist.best == hist.final("val_mse") and hist.best_step == hist.num_steps
    assert "PASS" in hist.summary() and "target" in hist.summary()
    assert hist.time_to_target() is not None and hist.wall_time >= hist.time_to_target()


def test_steps_budget_target_missed_and_summary_is_stable():
    model = _linreg()
    n = 0

    def batch():
        nonlocal n
        n += 1
        return _batches(1, seed=n)[0]

    hist = fit(model, _mse, batch, steps=30, lr=1e-4, eval_every=10, target=1e-9, progress=False)
    assert hist.stop_reason == "steps" and not hist.reached_target
    assert hist.num_steps == 30 and n == 30  # no batch drawn beyond the budget
    assert [e["step"] for e in hist.evals] == [10, 20, 30]
    s = hist.summary()
    assert s.startswith("30 steps, stopped: steps, loss=") and s.endswith("FAIL)")
    assert "s," not in s.split("loss=")[1]  # no timings in the summary


def test_patience_time_limit_and_nan():
    batches = _batches(2)
    hist = fit(_linreg(), _mse, batches, epochs=50, lr=0.0, patience=3, progress=False)
    assert hist.stop_reason == "patience" and hist.num_steps == 8  # best at epoch 1, 3 without gain
    hist = fit(_linreg(), _mse, lambda: batches[0], steps=10**6, time_limit=0.2, progress=False)
    assert hist.stop_reason == "time_limit" and hist.num_steps < 10**6

    def bad(model, batch):
        return _mse(model, batch) * float("nan")

    hist = fit(_linreg(), bad, batches, epochs=3, progress=False)
    assert hist.stop_reason == "nan" and hist.num_steps == 1 and math.isnan(hist.loss[0])


def test_loss_fn_metrics():
    def loss_and_acc(model, batch):
        loss = _mse(model, batch)
        return loss, {"mae": (model(batch[0]) - batch[1]).abs().mean()}

    hist = fit(_linreg(), loss_and_acc, _batches(4), epochs=2, progress=False)
    steps, mae = hist.metric("mae")
    assert len(hist.step_metrics["mae"]) == 8
    assert steps == [4, 8]  # per evaluation point: the mean over the epoch
    assert mae[0] == pytest.approx(np.mean(hist.step_metrics["mae"][:4]))
    with pytest.raises(KeyError, match="no metric"):
        hist.metric("nope")
    assert isinstance(hist.to_dict(), dict) and isinstance(hist, History)


def test_batches_follow_model_dtype_and_namedtuples():
    from rnnlab.data import adding_problem

    model = torch.nn.Linear(2, 1).double()
    seen = []

    def loss_fn(m, b):
        seen.append((b.x.dtype, b.positions.dtype, type(b).__name__))
        return torch.nn.functional.mse_loss(m(b.x[-1]), b.y)

    fit(model, loss_fn, [adding_problem(4, 6, rng=0)], progress=False)
    assert seen == [(torch.float64, torch.int64, "AddingBatch")]
    nested = to_device({"a": [np.zeros(2, np.float32)], "b": 3}, "cpu")
    assert nested["a"][0].dtype == torch.get_default_dtype() and nested["b"] == 3


def test_progress_bar_writes_to_stderr(capsys):
    fit(_linreg(), _mse, _batches(3), epochs=1, progress=True, desc="demo")
    err = capsys.readouterr().err
    assert "demo" in err and "3/3" in err


@pytest.mark.parametrize(
    "kwargs, exc, words",
    [
        (dict(data=lambda: None), ValueError, "steps="),
        (dict(data=_batches(1), steps=0), ValueError, "steps must be"),
        (dict(data=_batches(1), mode="up"), ValueError, "mode"),
        (dict(data=_batches(1), clip=-1.0), ValueError, "clip"),
        (dict(data=iter(_batches(1)), epochs=2), ValueError, "epochs="),
        (dict(data=5), TypeError, "data must be"),
        (dict(data=_batches(1), target=0.1, monitor="acc"), KeyError, "monitor='acc'"),
    ],
)
def test_bad_arguments_raise_with_the_argument_name(kwargs, exc, words):
    with pytest.raises(exc, match=words):
        fit(_linreg(), _mse, progress=False, **kwargs)


def test_bad_model_and_loss():
    with pytest.raises(TypeError, match="torch.nn.Module"):
        fit(object(), _mse, _batches(1), progress=False)
    with pytest.raises(TypeError, match="scalar tensor"):
        fit(_linreg(), lambda m, b: m(b[0]), _batches(1), progress=False)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_device_follows_the_model():
    model = _linreg().cuda()
    devices = []

    def loss_fn(m, b):
        devices.append(b[0].device.type)
        return _mse(m, b)

    fit(model, loss_fn, _batches(2), progress=False)
    assert devices == ["cuda", "cuda"]
