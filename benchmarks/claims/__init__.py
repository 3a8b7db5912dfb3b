"""The training results the book states, each as a function of the seed (see benchmarks/robustness.py).

One module per chapter (`ch02.py`, `ch03.py`, ...) exports `CLAIMS`, a list of `Claim`s. A claim's
`run(seed)` re-runs exactly the experiment of its notebook, with `rnnlab.setup(seed=seed)` in place of
the notebook's seed, and returns the number the notebook prints; `book_seed` is the seed the notebook
uses, so one of the runs reproduces the book. `threshold` and `sense` are what the notebook asserts
(`value >= threshold` or `value <= threshold`): the report checks that every run satisfies them.
"""
from __future__ import annotations

import importlib
import pkgutil
from dataclasses import dataclass
from typing import Callable


@dataclass(frozen=True)
class Claim:
    id: str                       # short and unique, e.g. "06a.lstm_test_accuracy"
    text: str                     # what the book states, in a few words
    notebook: str                 # e.g. "book/06a_classification.ipynb"
    book: float                   # the value the notebook prints
    threshold: float | None       # what the notebook asserts (None: stated, not asserted)
    sense: str                    # ">=" (higher is better) or "<=" (lower is better)
    run: Callable[[int], float]   # seed -> the value, re-running the notebook's experiment
    fmt: str = "{:.4g}"           # how to print a value
    book_seed: int = 0

    def __post_init__(self):
        if self.sense not in (">=", "<="):
            raise ValueError(f"{self.id}: sense must be '>=' or '<=', got {self.sense!r}")

    def holds(self, value: float) -> bool:
        if self.threshold is None:
            return True
        return value >= self.threshold if self.sense == ">=" else value <= self.threshold


def all_claims() -> list[Claim]:
    """Every chapter module's CLAIMS, in module order; ids must be unique."""
    claims: list[Claim] = []
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        if info.name.startswith("ch"):
            claims.extend(importlib.import_module(f"{__name__}.{info.name}").CLAIMS)
    ids = [c.id for c in claims]
    duplicated = sorted({i for i in ids if ids.count(i) > 1})
    if duplicated:
        raise ValueError(f"claim ids used twice: {duplicated}")
    return claims
