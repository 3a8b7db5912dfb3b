"""rnnlab.experiments.ch02: the numpy classifier's BPTT gradients (full and truncated) and the
recall gradients agree with torch autograd, the gradient norms through any W agree with autograd
and the closed form (as do those of the random-input experiment, from the same seeds), and the
training loop records what it says it records."""
import numpy as np
import pytest
import torch

from rnnlab.data import delayed_recall
from rnnlab.experiments import ch02


def _torch_loss_and_grads(model, x, y, k=None):
    p = {name: torch.tensor(v, requires_grad=True) for name, v in model.params().items()}
    xt = torch.from_numpy(x)
    h = torch.zeros(x.shape[1], model.rnn.hidden_size, dtype=torch.float64)
    outs = []
    for t in range(len(x)):
        if k is not None and t % k == 0:
            h = h.detach()
        h = torch.tanh(xt[t] @ p["weight_ih_l0"].T + p["bias_ih_l0"] + h @ p["weight_hh_l0"].T + p["bias_hh_l0"])
        outs.append(h)
    logits = torch.stack(outs) @ p["out.weight"].T + p["out.bias"]
    loss = torch.nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]),
                                             torch.from_numpy(y).reshape(-1), reduction="sum") / x.shape[1]
    loss.backward()
    return loss.item(), {name: v.grad.numpy() for name, v in p.items()}


def _torch_recall_gradients(model, x, y, delay, k):
    """dL_t/dx_{t-delay} for every target t >= delay, with torch autograd (one backward each)."""
    p = {name: torch.tensor(v) for name, v in model.params().items()}
    xt = torch.tensor(x, requires_grad=True)
    h = torch.zeros(x.shape[1], model.rnn.hidden_size, dtype=torch.float64)
    outs = []
    for t in range(len(x)):
        if t % k == 0:
            h = h.detach()
        h = torch.tanh(xt[t] @ p["weight_ih_l0"].T + p["bias_ih_l0"]
                       + h @ p["weight_hh_l0"].T + p["bias_hh_l0"])
        outs.append(h)
    logits = torch.stack(outs) @ p["out.weight"].T + p["out.bias"]
    G = []
    for t in range(delay, len(x)):
        loss_t = torch.nn.functional.cross_entropy(logits[t], torch.from_numpy(y[t]),
                                                   reduction="sum") / x.shape[1]
        (g,) = torch.autograd.grad(loss_t, xt, retain_graph=True)
        G.append(g[t - delay].numpy())
    return np.stack(G)



@pytest.mark.parametrize("k", [None, 1, 3, 5])
def test_classifier_gradients_equal_autograd(k):
    model = ch02.RNNClassifier(4, 6, 4, seed=2)
    x, y = delayed_recall(np.random.default_rng(0), steps=11, batch=3, classes=4, delay=2)
    loss, grads = model.loss_and_grads(x, y, k=k)
    loss_t, grads_t = _torch_loss_and_grads(model, x, y, k=k)
    assert abs(loss - loss_t) < 1e-10
    assert set(grads) == set(grads_t)
    for name in grads:
        np.testing.assert_allclose(grads[name], grads_t[name], rtol=0, atol=1e-12, err_msg=name)
    with pytest.raises(ValueError, match="k must"):
        model.loss_and_grads(x, y, k=0)


@pytest.mark.parametrize("k", [2, 3, 5, 11])
def test_recall_gradients_equal_autograd(k):
    model = ch02.RNNClassifier(4, 6, 4, seed=3)
    x, y = delayed_recall(np.random.default_rng(2), steps=11, batch=3, classes=4, delay=2)
    G = ch02.recall_gradients(model, x, y, delay=2, k=k)
    np.testing.assert_allclose(G, _torch_recall_gradients(model, x, y, 2, k), rtol=0, atol=1e-12)
    if k <= 2:
        assert np.all(G == 0)
    with pytest.raises(ValueError, match="delay"):
        ch02.recall_gradients(model, x, y, delay=11)


def test_gradient_norms_through_the_counterexamples():
    # W1 = [[0.9, 5], [0, 0.9]], no input: the Jacobians are W1, and ||(W1^T)^d e_1|| has a
    # closed form, sqrt(0.9^(2d) + (5 d 0.9^(d-1))^2): it grows ~19-fold although rho(W1) = 0.9
    W1 = np.array([[0.9, 5.0], [0.0, 0.9]])
    norms = ch02.gradient_norms_through(W1, np.zeros((40, 2)))
    d = np.arange(40)
    closed = np.hypot(0.9 ** d, 5 * d * 0.9 ** np.maximum(d - 1, 0))
    np.testing.assert_allclose(norms, closed, rtol=1e-12)
    assert norms.max() > 19
    # W2 with unit 2 held saturated and unit 1 at 0: growth 1.5^d although rho(W2) < 1
    W2 = np.array([[1.5, 3.0], [-1.0, -1.5]])
    assert np.abs(np.linalg.eigvals(W2)).max() < 1
    norms = ch02.gradient_norms_through(W2, np.tile([-3.0, 40.0], (30, 1)), h0=[0.0, 1.0])
    np.testing.assert_allclose(norms[1:], 1.5 ** d[1:30] * np.hypot(1, 2), rtol=1e-12)
    with pytest.raises(ValueError, match="drive"):
        ch02.gradient_norms_through(W1, np.zeros((5, 3)))
    with pytest.raises(ValueError, match="W must"):
        ch02.gradient_norms_through(np.zeros((2, 3)), np.zeros((5, 2)))


def test_gradient_norms_through_equals_autograd():
    rng = np.random.default_rng(0)
    W, drive, h0, g = (rng.standard_normal((5, 5)), rng.standard_normal((12, 5)),
                       rng.standard_normal(5), rng.standard_normal(5))
    norms = ch02.gradient_norms_through(W, drive, h0, grad_last=g)
    Wt, h = torch.from_numpy(W), torch.tensor(h0, requires_grad=True)
    states = []
    for a in torch.from_numpy(drive):
        h = torch.tanh(Wt @ h + a)
        h.retain_grad()
        states.append(h)
    (states[-1] * torch.from_numpy(g)).sum().backward()
    expected = [states[-1 - d].grad.norm().item() for d in range(12)]
    np.testing.assert_allclose(norms, expected, rtol=1e-12)


def test_training_with_clipping_records_norms_before_clipping():
    run = ch02.train_delayed_recall(updates=10, clip=0.5, batch=4, hidden_size=8)
    assert run.losses.shape == (10,) and run.norms.shape == (10,)
    assert run.norms.max() > 0.5  # recorded before clipping
    trunc = ch02.train_delayed_recall(updates=3, k=4, batch=4, hidden_size=8)
    assert trunc.norms.shape == (3 * 6,)  # one update per chunk


def test_truncation_errors():
    model = ch02.RNNClassifier(4, 8, 4, seed=0)
    x, y = delayed_recall(np.random.default_rng(1), steps=12, batch=4, classes=4, delay=2)
    res = ch02.truncation_errors(model, x, y, ks=(1, 2, 3, 4, 12), delay=2, repeats=1)
    assert res.rel_error[-1] < 1e-12 and res.rel_error[0] > 0
    # a chunk of k steps holds paths of at most k - 1 transitions: nothing for k <= delay
    assert np.all(res.recall_share[:2] == 0) and np.all(res.recall_share[2:] > 0)
    assert abs(res.recall_share[-1] - 1) < 1e-12
    assert np.all(res.seconds > 0)


# ---------------------------------------------------------------- the gradient-norm experiment
@pytest.mark.parametrize("kind", ["orthogonal", "gaussian"])
def test_recurrent_matrix_has_the_requested_radius(kind):
    W = ch02.recurrent_matrix(16, 0.7, seed=3, kind=kind)
    assert abs(np.abs(np.linalg.eigvals(W)).max() - 0.7) < 1e-10
    if kind == "orthogonal":
        np.testing.assert_allclose(np.linalg.svd(W, compute_uv=False), 0.7, rtol=1e-12)
    with pytest.raises(ValueError, match="kind"):
        ch02.recurrent_matrix(4, 1.0, kind="uniform")


@pytest.mark.parametrize("radius", [0.5, 1.0, 2.0])
def test_hidden_gradient_norms_equal_autograd(radius):
    steps, H, D, scale, seed = 30, 8, 3, 0.3, 4
    res = ch02.hidden_gradient_norms(radius, steps=steps, hidden_size=H, input_size=D,
                                     input_scale=scale, seed=seed)
    # rebuild the same network in torch from the same seeds and let autograd do the backward pass
    rng = np.random.default_rng(seed + 1)
    W = torch.from_numpy(ch02.recurrent_matrix(H, radius, seed))
    U = torch.from_numpy(rng.standard_normal((H, D)) / np.sqrt(D))
    x = torch.from_numpy(scale * rng.standard_normal((steps, D)))
    h, states = torch.zeros(H, dtype=torch.float64, requires_grad=True), []
    for t in range(steps):
        h = torch.tanh(U @ x[t] + W @ h)
        h.retain_grad()
        states.append(h)
    (h * torch.full((H,), 1 / np.sqrt(H), dtype=torch.float64)).sum().backward()
    expected = np.array([states[steps - 1 - d].grad.norm().item() for d in range(steps)])
    np.testing.assert_allclose(res.norms, expected, rtol=1e-10)
    if radius < 1:
        assert np.all(res.norms <= res.bound * (1 + 1e-12))


def test_hidden_gradient_norms_tanh_factor():
    small = ch02.hidden_gradient_norms(0.5, steps=50, input_scale=0.01)
    large = ch02.hidden_gradient_norms(3.0, steps=50, input_scale=1.0)
    assert 0.99 < small.tanh_factor <= 1 and 0 <= large.tanh_factor < 0.9


def test_float32_underflows_and_float64_does_not():
    res64 = ch02.hidden_gradient_norms(0.5, steps=300, dtype=np.float64)
    res32 = ch02.hidden_gradient_norms(0.5, steps=300, dtype=np.float32)
    assert np.any(res32.norms == 0) and np.all(res64.norms > 0)
    first = np.flatnonzero(res32.norms == 0)[0]
    assert np.all(res32.norms[first:] == 0)
    np.testing.assert_allclose(res32.norms[:20], res64.norms[:20], rtol=1e-4)
