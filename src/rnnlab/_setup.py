"""One call that every notebook makes first: seeds, thread count, device."""
from __future__ import annotations

import os
import random
from dataclasses import dataclass


@dataclass(frozen=True)
class Setup:
    seed: int
    threads: int
    device: str

    def __str__(self) -> str:  # what a notebook prints: stable across machines of one kind
        return f"rnnlab setup: seed={self.seed}, torch threads={self.threads}, device={self.device}"


def setup(seed: int = 0, threads: int = 1, device: str | None = None) -> Setup:
    """Seed python, numpy and torch, fix torch's thread count and choose the device once.

    Parameters
    ----------
    seed: the seed for ``random``, ``numpy.random`` and ``torch``.
    threads: torch's intra-op thread count; 1 makes CPU results reproducible bit for bit.
    device: ``"cpu"``, ``"cuda"`` or ``None`` (CUDA when available, else CPU).
    """
    if not isinstance(seed, int) or seed < 0:
        raise ValueError(f"seed must be a non-negative int, got {seed!r}")
    if not isinstance(threads, int) or threads < 1:
        raise ValueError(f"threads must be a positive int, got {threads!r}")
    os.environ.setdefault("PYTHONHASHSEED", str(seed))
    random.seed(seed)
    # deferred: ``import rnnlab`` (and so ``import rnnlab.scratch``) must not import torch
    import numpy as np

    np.random.seed(seed)
    import torch

    torch.manual_seed(seed)
    torch.set_num_threads(threads)
    if device is None:
        device = "cuda" if torch.cuda.is_available() else "cpu"
    elif device not in ("cpu", "cuda"):
        raise ValueError(f"device must be 'cpu', 'cuda' or None, got {device!r}")
    elif device == "cuda" and not torch.cuda.is_available():
        raise ValueError("device='cuda' was asked for but torch.cuda.is_available() is False")
    global _DEVICE
    _DEVICE = device
    return Setup(seed=seed, threads=threads, device=device)


_DEVICE = "cpu"


def device() -> str:
    """The device chosen by the last ``setup()`` call (``"cpu"`` before any)."""
    return _DEVICE
