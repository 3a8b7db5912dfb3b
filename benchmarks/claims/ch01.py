"""Chapter 1 (book/01_recurrent_networks.ipynb), section 1.11: plain SGD learns to carry the sign of
the first input across 5 steps and stays at chance across 50
(`rnnlab.experiments.ch01.train_carry_bit`)."""
from __future__ import annotations

from benchmarks.claims import Claim

NOTEBOOK = "book/01_recurrent_networks.ipynb"


def _carry_bit_accuracy(steps: int):
    def run(seed: int) -> float:
        import rnnlab
        from rnnlab.experiments import ch01

        rnnlab.setup(seed=seed)
        return ch01.train_carry_bit(steps, seed=seed).accuracy

    return run


CLAIMS = [
    Claim(id="01.carry_bit_5_steps", text="SGD learns the carry-bit task over 5 steps (accuracy)",
          notebook=NOTEBOOK, book=1.0, threshold=0.95, sense=">=", run=_carry_bit_accuracy(5),
          fmt="{:.3f}"),
    Claim(id="01.carry_bit_50_steps", text="SGD stays at chance on the carry-bit task over 50 steps",
          notebook=NOTEBOOK, book=0.486, threshold=0.6, sense="<=", run=_carry_bit_accuracy(50),
          fmt="{:.3f}"),
]
