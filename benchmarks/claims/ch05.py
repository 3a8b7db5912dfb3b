"""Chapter 5's training results: the taggers of book/05b_direction_depth.ipynb.

Each ``run(seed)`` calls ``rnnlab.experiments.ch05.train_tagger`` exactly as the notebook's
``train`` does (same sizes, steps, validation and test sets), after ``rnnlab.setup(seed=seed)``, and
returns the number the notebook prints. Accuracies are on the test set, measured once after training
stopped on the validation set.
"""
from __future__ import annotations

from functools import lru_cache

from benchmarks.claims import Claim

NOTEBOOK = "book/05b_direction_depth.ipynb"


def _train(task: str, hidden: int, seed: int, **options):
    import rnnlab

    rnnlab.setup(seed=seed)
    from rnnlab.experiments import ch05

    return ch05.train_tagger(task, hidden, seed=seed, **options)


def _test_acc(task: str, hidden: int, **options):
    return lambda seed: _train(task, hidden, seed, **options).test_acc


@lru_cache(maxsize=None)
def _residual(seed: int):
    """(steps the residual stack needed to reach 0.98 on validation, 10_000 if it never did;
    the plain stack's steps over the residual one's, a plain run that never got there counting
    its whole budget, a lower bound)."""
    runs = [_train("next", 8, seed, num_layers=6, residual=r, steps=400) for r in (False, True)]
    plain, res = (run.history for run in runs)
    res_steps = res.num_steps if res.reached_target else 10_000
    return res_steps, plain.num_steps / res.num_steps


def _padding_drop(seed: int) -> float:
    from rnnlab.experiments import ch05

    run = _train("next", 16, seed, bidirectional=True, steps=600)
    test = ch05.marker_sets(ch05.TEST_SEED)["next"]
    return (ch05.tagger_accuracy(run.model, test)
            - ch05.tagger_accuracy(run.model, test, packed=False))


CLAIMS = [
    Claim("05b.next_bidirectional_acc", "next: bidirectional LSTM, H=16, test accuracy",
          NOTEBOOK, book=0.999, threshold=0.95, sense=">=", fmt="{:.3f}",
          run=_test_acc("next", 16, bidirectional=True, steps=600)),
    Claim("05b.next_unidirectional_acc",
          "next: unidirectional LSTM, H=24, test accuracy (frequency rule 0.49)",
          NOTEBOOK, book=0.486, threshold=0.55, sense="<=", fmt="{:.3f}",
          run=_test_acc("next", 24, bidirectional=False, steps=600)),
    Claim("05b.match_one_layer_acc", "match: one bidirectional layer, H=38, test accuracy",
          NOTEBOOK, book=0.816, threshold=0.9, sense="<=", fmt="{:.3f}",
          run=_test_acc("match", 38, num_layers=1, steps=1500)),
    Claim("05b.match_wide_layer_acc", "match: one bidirectional layer, H=64, test accuracy",
          NOTEBOOK, book=0.816, threshold=0.9, sense="<=", fmt="{:.3f}",
          run=_test_acc("match", 64, num_layers=1, steps=1500)),
    Claim("05b.match_two_layers_acc", "match: two bidirectional layers, H=20, test accuracy",
          NOTEBOOK, book=0.998, threshold=0.95, sense=">=", fmt="{:.3f}",
          run=_test_acc("match", 20, num_layers=2, steps=1500)),
    Claim("05b.residual_steps", "next: 6 residual layers of 8, steps to 0.98 (validation)",
          NOTEBOOK, book=50, threshold=150, sense="<=", fmt="{:.0f}",
          run=lambda seed: _residual(seed)[0]),
    Claim("05b.plain_over_residual_steps",
          "next: 6 layers of 8, plain stack's steps over the residual one's (lower bound)",
          NOTEBOOK, book=8.0, threshold=2.0, sense=">=", fmt="{:.1f}",
          run=lambda seed: _residual(seed)[1]),
    Claim("05b.padding_drop", "next: accuracy lost by not packing a padded test batch",
          NOTEBOOK, book=0.224, threshold=0.1, sense=">=", fmt="{:.3f}", run=_padding_drop),
]
