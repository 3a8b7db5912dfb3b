"""The measurements and experiments of chapter 2 (backpropagation through time).

- :func:`gradient_norms_through` ``||dL/dh_{T-d}||`` of ``h_t = tanh(W h_{t-1} + drive_t)`` for
  any given ``W`` and drive (the 2 x 2 counterexamples: a spectral radius below 1 does not stop
  a gradient from growing);
- :func:`hidden_gradient_norms`  the same for a tanh RNN reading random inputs, whose recurrent
  matrix (:func:`recurrent_matrix`) has a chosen spectral radius, in float64 or float32 (a
  :class:`GradientNorms`);
- :class:`RNNClassifier`        a tanh :class:`rnnlab.scratch.RNN` with a softmax output layer, its
  loss and its gradients by BPTT (truncated with ``k``);
- :func:`train_delayed_recall`  plain SGD on delayed recall (:func:`rnnlab.data.delayed_recall`),
  with and without truncation and gradient clipping; returns a :class:`TrainResult`;
- :func:`recall_gradients`, :func:`truncation_errors`  how far truncated BPTT's gradient is from
  the full one, how much of the gradient from each target reaches the input it must recall,
  and what one update costs, against the truncation length k (a :class:`TruncationResult`).

The figures that show these results are in :mod:`rnnlab.viz.ch02`. Notation as in the book:
``a_t = U x_t + W h_{t-1} + b``, ``h_t = tanh(a_t)``, ``s_t = V h_t + b_y``; in code
``U = weight_ih_l0``, ``W = weight_hh_l0``, ``b = bias_ih_l0 + bias_hh_l0``, ``V``/``b_y`` the
weight and bias of the separate output layer.

The training loop here is written out in numpy (this chapter's model is the numpy
:class:`rnnlab.scratch.RNN` with its hand-written backward, which :func:`rnnlab.train.fit`, a torch
loop, cannot train); the notebook runs the same loop by hand and checks that the losses agree.
"""
from __future__ import annotations

import time
from typing import Iterable, NamedTuple

import numpy as np

from rnnlab import scratch
from rnnlab.data.synthetic import delayed_recall
from rnnlab.scratch import clip_grad_norm

__all__ = [
    "gradient_norms_through",
    "recurrent_matrix",
    "GradientNorms",
    "hidden_gradient_norms",
    "RNNClassifier",
    "TrainResult",
    "train_delayed_recall",
    "recall_gradients",
    "TruncationResult",
    "truncation_errors",
]


# ----------------------------------------------------------------------------- gradient norms
def gradient_norms_through(W, drive, h0=None, grad_last=None) -> np.ndarray:
    """``||dL/dh_{T-d}||`` for d = 0..T-1 in ``h_t = tanh(W h_{t-1} + drive_t)``, any ``W``.

    ``W`` (H, H); ``drive`` (T, H), the input term ``U x_t + b`` of every step given directly;
    ``h0`` (H,), zeros by default; ``grad_last`` (H,), ``dL/dh_T``, by default the first unit
    (``e_1``).  Going back one step multiplies by ``J_t^T = W^T diag(1 - h_t^2)``.  Used for
    the chapter's 2 x 2 counterexamples, where ``W`` is not a multiple of an orthogonal matrix.
    """
    W = np.asarray(W, dtype=np.float64)
    drive = np.asarray(drive, dtype=np.float64)
    if W.ndim != 2 or W.shape[0] != W.shape[1]:
        raise ValueError(f"W must be a square matrix (H, H), got shape {W.shape}")
    H = W.shape[0]
    if drive.ndim != 2 or drive.shape[1] != H or len(drive) < 1:
        raise ValueError(f"drive must have shape (T, H) = (T, {H}) with T >= 1, "
                         f"got {drive.shape}")
    h = np.zeros(H) if h0 is None else np.asarray(h0, dtype=np.float64)
    g = np.eye(H)[0] if grad_last is None else np.asarray(grad_last, dtype=np.float64)
    for name, v in (("h0", h), ("grad_last", g)):
        if v.shape != (H,):
            raise ValueError(f"{name} must have shape (H,) = ({H},), got {v.shape}")
    return _forward_then_back(W, drive, h, g)[1]


def _forward_then_back(W, drive, h, g):
    """Run ``h_t = tanh(W h_{t-1} + drive_t)`` from ``h`` in the dtype of ``W``, then carry
    ``g = dL/dh_T`` back one Jacobian ``J_t^T = W^T diag(1 - h_t^2)`` at a time.

    Returns ``(hs, norms)``: the states (T, H) and ``norms[d] = ||dL/dh_{T-d}||`` (T,), measured
    in float64 from the stored values.
    """
    T = len(drive)
    hs = np.empty((T, len(h)), dtype=W.dtype)
    for t in range(T):
        h = np.tanh(W @ h + drive[t])
        hs[t] = h
    norms = np.empty(T)
    norms[0] = np.linalg.norm(g.astype(np.float64))
    for d in range(1, T):
        t = T - d  # g holds dL/dh_t (0-based t); one Jacobian back: dL/dh_{t-1} = J_t^T g
        g = W.T @ ((1 - hs[t] * hs[t]) * g)
        norms[d] = np.linalg.norm(g.astype(np.float64))
    return hs, norms


def recurrent_matrix(hidden_size: int, radius: float, seed: int = 0, kind: str = "orthogonal"):
    """A random ``W`` (H x H) with spectral radius ``radius``.

    ``kind="orthogonal"``: ``radius`` times a random orthogonal matrix, so the spectral radius and
    the largest singular value ``||W||_2`` are both ``radius``.  ``kind="gaussian"``: a Gaussian
    matrix scaled to that spectral radius (its largest singular value is then larger, about
    twice).
    """
    rng = np.random.default_rng(seed)
    A = rng.standard_normal((hidden_size, hidden_size))
    if kind == "orthogonal":
        Q, R = np.linalg.qr(A)
        return radius * Q * np.sign(np.diag(R))
    if kind == "gaussian":
        return A * (radius / np.abs(np.linalg.eigvals(A)).max())
    raise ValueError(f"kind must be 'orthogonal' or 'gaussian', got {kind!r}")


class GradientNorms(NamedTuple):
    """``norms[d] = ||dL/dh_{T-d}||`` for d = 0..T-1 (``norms[0] = 1``), the Jacobian bound
    ``bound[d] = ||W||_2^d`` that the chapter's argument gives, and ``tanh_factor``, the mean
    of ``1 - h_t^2`` over every step and unit (1 where the tanh is linear, 0 where it saturates)."""

    distance: np.ndarray
    norms: np.ndarray
    bound: np.ndarray
    tanh_factor: float


def hidden_gradient_norms(radius: float, steps: int = 150, hidden_size: int = 64,
                          input_size: int = 4, input_scale: float = 0.1, seed: int = 0,
                          dtype=np.float64, kind: str = "orthogonal") -> GradientNorms:
    """Measure how the gradient of a loss read at the last step shrinks or grows going back.

    A tanh RNN ``h_t = tanh(U x_t + W h_{t-1})`` reads ``steps`` random inputs
    (``x_t ~ N(0, input_scale^2)``), ``W`` from :func:`recurrent_matrix`; the loss is linear in
    ``h_T`` with ``||dL/dh_T|| = 1``. Going back one step multiplies by the transposed Jacobian
    ``dh_t/dh_{t-1} = diag(1 - h_t^2) W``, computed in ``dtype`` (float32 shows underflow).
    Norms are measured in float64 from the stored values.
    """
    rng = np.random.default_rng(seed + 1)
    W = recurrent_matrix(hidden_size, radius, seed, kind).astype(dtype)
    U = (rng.standard_normal((hidden_size, input_size)) / np.sqrt(input_size)).astype(dtype)
    x = (input_scale * rng.standard_normal((steps, input_size))).astype(dtype)
    drive = np.stack([U @ x_t for x_t in x])
    g = np.full(hidden_size, 1.0 / np.sqrt(hidden_size), dtype=dtype)  # dL/dh_T, norm 1
    hs, norms = _forward_then_back(W, drive, np.zeros(hidden_size, dtype=dtype), g)
    sigma = np.linalg.svd(W.astype(np.float64), compute_uv=False)[0]
    distance = np.arange(steps)
    with np.errstate(over="ignore", under="ignore"):
        bound = sigma ** distance.astype(np.float64)
    tanh_factor = float(np.mean(1 - hs.astype(np.float64) ** 2))
    return GradientNorms(distance, norms, bound, tanh_factor)


# ----------------------------------------------------------------------------- a small model to train
class RNNClassifier:
    """A tanh ``rnnlab.scratch.RNN`` with an output layer ``s_t = V h_t + b_y`` and softmax.

    The loss is ``L = sum_t L_t`` (cross-entropy summed over steps), averaged over the batch.
    ``params()`` maps torch-style names to the arrays themselves (``weight_ih_l0`` = U,
    ``weight_hh_l0`` = W, ``bias_ih_l0``/``bias_hh_l0`` = b, ``out.weight`` = V,
    ``out.bias`` = b_y),
    so an in-place update ``p -= lr * grads[name]`` changes the model.
    """

    def __init__(self, input_size: int, hidden_size: int, output_size: int, seed: int = 0):
        self.rnn = scratch.RNN(input_size, hidden_size, seed=seed)
        rng = np.random.default_rng(seed + 1)
        bound = 1.0 / np.sqrt(hidden_size)  # torch's nn.Linear init
        self.V = rng.uniform(-bound, bound, size=(output_size, hidden_size))
        self.b_y = rng.uniform(-bound, bound, size=output_size)

    def params(self) -> dict[str, np.ndarray]:
        return {**self.rnn.params, "out.weight": self.V, "out.bias": self.b_y}

    def logits(self, x, h0=None):
        out, h_n = self.rnn.forward(x, h0)
        return out @ self.V.T + self.b_y, h_n

    def loss_and_grads(self, x, y, k: int | None = None):
        """Loss (per sequence) and gradients; ``k``: truncated BPTT, state detached every k steps.

        Truncation runs the layer chunk by chunk, handing each chunk the previous chunk's final
        state as a plain array (its value crosses the boundary, its gradient does not) and adds
        up every chunk's gradients.
        """
        T, N = y.shape
        k = T if k is None else int(k)
        if k < 1:
            raise ValueError(f"k must be a positive int, got {k}")
        grads = {name: np.zeros_like(p) for name, p in self.params().items()}
        total, h = 0.0, None
        for start in range(0, T, k):
            loss, chunk, h = _chunk_update(self, x[start:start + k], y[start:start + k], h)
            total += loss
            for name, g in chunk.items():
                grads[name] += g
        return total, grads

    def accuracy(self, x, y, skip: int = 0) -> float:
        pred = self.logits(x)[0].argmax(axis=-1)
        return float((pred[skip:] == y[skip:]).mean())


class TrainResult(NamedTuple):
    """One run of :func:`train_delayed_recall`.  Without truncation every batch is one update;
    with truncation length ``k`` a batch of ``steps`` steps gives ``ceil(steps / k)`` updates."""

    losses: np.ndarray  # mean loss per step and sequence, one entry per batch
    norms: np.ndarray  # global gradient norm before clipping, one entry per update
    accuracy: float  # on 256 fresh sequences, steps t >= delay (0-based)
    model: RNNClassifier


def train_delayed_recall(delay: int = 3, steps: int = 24, k: int | None = None,
                         clip: float | None = None, lr: float = 0.2, updates: int = 300,
                         hidden_size: int = 32, classes: int = 4, batch: int = 16,
                         seed: int = 0) -> TrainResult:
    """Plain SGD on delayed recall with (optionally) truncated BPTT and gradient clipping.

    ``updates`` batches of ``batch`` fresh sequences are drawn (model seed ``seed``, data seed
    ``seed + 100``); without truncation each batch is one update.  With truncation the parameters
    are updated after every chunk of ``k`` steps, the streaming form of truncated BPTT (memory
    for ``k`` steps only), so a batch gives ``ceil(steps / k)`` updates.  ``clip``: max global
    norm (``rnnlab.scratch.clip_grad_norm``); ``None`` for no clipping.
    """
    model = RNNClassifier(classes, hidden_size, classes, seed=seed)
    rng = np.random.default_rng(seed + 100)
    k = steps if k is None else k
    losses, norms = [], []
    with np.errstate(over="ignore", invalid="ignore"):
        for _ in range(updates):
            x, y = delayed_recall(rng, steps, batch, classes, delay)
            h, seq_loss = None, 0.0
            for start in range(0, steps, k):
                xs, ys = x[start:start + k], y[start:start + k]
                loss, grads, h = _chunk_update(model, xs, ys, h)
                norm = float(np.sqrt(sum(float(np.sum(g * g)) for g in grads.values())))
                if clip is not None and np.isfinite(norm):
                    clip_grad_norm(grads, clip)
                for name, p in model.params().items():
                    p -= lr * grads[name]
                seq_loss += loss
                norms.append(norm)
            losses.append(seq_loss / steps)
        x, y = delayed_recall(np.random.default_rng(seed + 999), steps, 256, classes, delay)
        acc = model.accuracy(x, y, skip=delay)
    return TrainResult(np.array(losses), np.array(norms), acc, model)


def _chunk_update(model, xs, ys, h):
    """Loss and gradients of one chunk starting from the (detached) state ``h``."""
    out, h_n = model.rnn.forward(xs, h)
    N = ys.shape[1]
    loss, dlogits = scratch.softmax_cross_entropy(out @ model.V.T + model.b_y, ys,
                                                 reduction="sum")
    dlogits /= N
    model.rnn.backward(dlogits @ model.V)
    grads = {name: g.copy() for name, g in model.rnn.grads.items()}
    grads["out.weight"] = np.einsum("tnk,tnh->kh", dlogits, out)
    grads["out.bias"] = dlogits.sum(axis=(0, 1))
    return loss / N, grads, h_n


# ----------------------------------------------------------------------------- truncation
class TruncationResult(NamedTuple):
    k: np.ndarray
    rel_error: np.ndarray  # ||g_k - g_full|| / ||g_full|| over all parameters
    recall_share: np.ndarray  # ||dL_t/dx_{t-delay}, truncated|| / the same with full BPTT
    seconds: np.ndarray  # wall time of one update (forward + backward of one chunk of k steps)


def recall_gradients(model: RNNClassifier, x, y, delay: int, k: int | None = None):
    """``G[t - delay] = dL_t / dx_{t-delay}`` for every target ``t >= delay`` (0-based steps).

    ``L_t`` is the loss of step ``t`` alone (averaged over the batch, as in training), ``x_{t-delay}``
    the input it must recall; with ``k`` the gradient is the one truncated BPTT computes, the
    state detached every ``k`` steps (chunks start at 0, k, 2k, ...).  Returns (T - delay, N, I).
    Each target gets its own backward pass through its own chunk.
    """
    T, N = y.shape
    k = T if k is None else int(k)
    if k < 1:
        raise ValueError(f"k must be a positive int, got {k}")
    if not isinstance(delay, (int, np.integer)) or not 0 <= delay < T:
        raise ValueError(f"delay must be an int in [0, T) = [0, {T}), got {delay!r}")
    G = np.zeros((T - delay,) + x.shape[1:])
    h = None
    for start in range(0, T, k):
        xs, ys = x[start:start + k], y[start:start + k]
        out, h_next = model.rnn.forward(xs, h)
        _, dlogits = scratch.softmax_cross_entropy(out @ model.V.T + model.b_y, ys,
                                                  reduction="sum")
        for j in range(delay, len(xs)):  # target start + j; its input start + j - delay
            d_out = np.zeros_like(out)
            d_out[j] = dlogits[j] @ model.V / N
            G[start + j - delay] = model.rnn.backward(d_out)[j - delay]
        h = h_next
    return G


def truncation_errors(model: RNNClassifier, x, y, ks: Iterable[int], delay: int,
                      repeats: int = 5):
    """How far the truncated gradient is from the full one, and what one update costs.

    ``rel_error[i]``: relative distance of the gradient with detaching every ``ks[i]`` steps from
    the full BPTT gradient, over the same sequence.  ``recall_share[i]``: the same comparison for
    the part that teaches the task, the gradients ``dL_t/dx_{t-delay}`` from every target to the
    input it must recall (:func:`recall_gradients`): ``||G_k|| / ||G_full||``.
    ``seconds[i]``: the best of ``repeats`` timings of one streaming update (forward and backward
    of a chunk of ``ks[i]`` steps).
    """
    ks = np.array(list(ks))
    _, full = model.loss_and_grads(x, y)
    flat_full = np.concatenate([g.ravel() for g in full.values()])
    recall_full = np.linalg.norm(recall_gradients(model, x, y, delay))
    errors, shares, seconds = [], [], []
    for k in ks:
        _, g = model.loss_and_grads(x, y, k=int(k))
        flat = np.concatenate([g[name].ravel() for name in full])
        errors.append(np.linalg.norm(flat - flat_full) / np.linalg.norm(flat_full))
        shares.append(np.linalg.norm(recall_gradients(model, x, y, delay, int(k))) / recall_full)
        best = np.inf
        for _ in range(repeats):
            t0 = time.perf_counter()
            _chunk_update(model, x[:k], y[:k], None)
            best = min(best, time.perf_counter() - t0)
        seconds.append(best)
    return TruncationResult(ks, np.array(errors), np.array(shares), np.array(seconds))
