"""Chapter 2 (book/02_bptt.ipynb): delayed recall (recall the symbol read 3 steps earlier) trained
with plain SGD (section 2.5), with and without gradient clipping (2.7) and with truncated BPTT
(2.8), all through `rnnlab.experiments.ch02.train_delayed_recall`, as the notebook runs them."""
from __future__ import annotations

from benchmarks.claims import Claim

NOTEBOOK = "book/02_bptt.ipynb"


def _train(seed: int, **kwargs):
    import rnnlab
    from rnnlab.experiments import ch02

    rnnlab.setup(seed=seed)
    return ch02.train_delayed_recall(seed=seed, **kwargs)


def _sgd(seed: int):  # section 2.5: lr 0.03, 400 updates, no clipping
    return _train(seed, lr=0.03, updates=400, clip=None)


def _truncation_error_k3(seed: int) -> float:
    """Section 2.8: relative error of the whole gradient with k = 3 at the model of section 2.5."""
    import numpy as np
    from rnnlab.data import delayed_recall
    from rnnlab.experiments import ch02

    model = _sgd(seed).model
    x, y = delayed_recall(np.random.default_rng(seed + 5), steps=24, batch=16, classes=4,
                          delay=3)
    return float(ch02.truncation_errors(model, x, y, ks=(3,), delay=3, repeats=1).rel_error[0])


def _truncated_accuracy(k: int):
    def run(seed: int) -> float:  # section 2.8: lr 0.2, clipped at 1, update after every chunk
        return _train(seed, k=k, clip=1.0, lr=0.2).accuracy

    return run


CLAIMS = [
    Claim(id="02.sgd_accuracy", text="plain SGD (lr 0.03, 400 updates) solves delayed recall",
          notebook=NOTEBOOK, book=1.0, threshold=0.95, sense=">=",
          run=lambda seed: _sgd(seed).accuracy, fmt="{:.3f}"),
    Claim(id="02.sgd_final_loss", text="plain SGD: loss per step over the last 20 updates (nats)",
          notebook=NOTEBOOK, book=0.185, threshold=0.25, sense="<=",
          run=lambda seed: float(_sgd(seed).losses[-20:].mean()), fmt="{:.3f}"),
    Claim(id="02.unclipped_accuracy", text="lr 0.2 without clipping: the run explodes (accuracy)",
          notebook=NOTEBOOK, book=0.252, threshold=0.5, sense="<=",
          run=lambda seed: _train(seed, lr=0.2, clip=None).accuracy, fmt="{:.3f}"),
    Claim(id="02.unclipped_final_loss", text="lr 0.2 without clipping: final loss per step (nats)",
          notebook=NOTEBOOK, book=14.5, threshold=5.0, sense=">=",
          run=lambda seed: float(_train(seed, lr=0.2, clip=None).losses[-20:].mean()),
          fmt="{:.3g}"),
    Claim(id="02.unclipped_max_grad_norm", text="lr 0.2 without clipping: largest gradient norm",
          notebook=NOTEBOOK, book=8.5e4, threshold=1000.0, sense=">=",
          run=lambda seed: float(_train(seed, lr=0.2, clip=None).norms.max()), fmt="{:.3g}"),
    Claim(id="02.clipped_accuracy", text="lr 0.2 clipped at global norm 1 solves delayed recall",
          notebook=NOTEBOOK, book=1.0, threshold=0.95, sense=">=",
          run=lambda seed: _train(seed, lr=0.2, clip=1.0).accuracy, fmt="{:.3f}"),
    Claim(id="02.clipped_final_loss", text="lr 0.2 clipped at 1: final loss per step (nats)",
          notebook=NOTEBOOK, book=0.191, threshold=0.25, sense="<=",
          run=lambda seed: float(_train(seed, lr=0.2, clip=1.0).losses[-20:].mean()),
          fmt="{:.3f}"),
    Claim(id="02.truncation_error_k3", text="whole-gradient error of truncation k = 3 (trained model)",
          notebook=NOTEBOOK, book=0.0755, threshold=0.2, sense="<=", run=_truncation_error_k3,
          fmt="{:.3f}"),
    Claim(id="02.truncated_k2_accuracy", text="truncated BPTT k = 2 fails on delay 3 (accuracy)",
          notebook=NOTEBOOK, book=0.293, threshold=0.6, sense="<=", run=_truncated_accuracy(2),
          fmt="{:.3f}"),
    Claim(id="02.truncated_k3_accuracy", text="truncated BPTT k = 3 fails on delay 3 (accuracy)",
          notebook=NOTEBOOK, book=0.324, threshold=0.6, sense="<=", run=_truncated_accuracy(3),
          fmt="{:.3f}"),
    Claim(id="02.truncated_k4_accuracy", text="truncated BPTT k = 4 solves delay 3 (accuracy)",
          notebook=NOTEBOOK, book=1.0, threshold=0.95, sense=">=", run=_truncated_accuracy(4),
          fmt="{:.3f}"),
    Claim(id="02.truncated_k6_accuracy", text="truncated BPTT k = 6 solves delay 3 (accuracy)",
          notebook=NOTEBOOK, book=1.0, threshold=0.95, sense=">=", run=_truncated_accuracy(6),
          fmt="{:.3f}"),
]
