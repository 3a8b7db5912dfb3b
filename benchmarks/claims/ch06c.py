"""Notebook 6c (generation): the character language model and the class-conditioned date
generator, over seeds.

The language model is trained exactly as in the notebook (``rnnlab.experiments.ch06.train_char_lm``
on Python's standard library) with ``seed`` drawing the weights and the window offsets; the date
generator likewise (``train_conditional_generator``), with ``seed`` drawing weights and batch order.
The data and the sampling noise stay the notebook's.
"""
from __future__ import annotations

import functools
import math

from benchmarks.claims import Claim

NOTEBOOK = "book/06c_generation.ipynb"
TEMPERATURES = (0.2, 0.35, 0.5, 0.75, 1.0, 1.25, 1.5)


@functools.lru_cache(maxsize=None)
def language_model_results(seed: int) -> dict[str, float]:
    """What the notebook prints and asserts about the trained character model."""
    import rnnlab
    from rnnlab.data import text as T
    from rnnlab.experiments import ch06

    rnnlab.setup(seed=seed)
    corpus, vocab = T.load_stdlib_corpus(), T.CharVocab()
    train_ids, val_ids = vocab.encode(corpus.train), vocab.encode(corpus.val)
    bigram = T.bigram_bits_per_char(train_ids, val_ids, vocab.size)
    model, history = ch06.train_char_lm(T.batchify(train_ids, 32), T.batchify(val_ids, 64),
                                        vocab.size, seed=seed, progress=False)
    bpc = history.final("val_bpc")
    train_bits = history.smoothed_loss(50)[-1] / math.log(2)
    surprise, distinct = ch06.temperature_effects(model, vocab, TEMPERATURES)
    t1 = TEMPERATURES.index(1.0)
    return {
        "bpc": bpc,
        "below_bigram": bigram - bpc,
        "train_gap": abs(train_bits - bpc),
        "calibration_gap": abs(surprise[t1] - bpc),
        "temperature_order": float(surprise[0] < surprise[t1] < surprise[-1]
                                   and distinct[0] < distinct[t1]),
    }


@functools.lru_cache(maxsize=None)
def date_generator_results(seed: int) -> dict[str, float]:
    """What the notebook prints and asserts about the class-conditioned date generator."""
    import numpy as np

    import rnnlab
    from rnnlab.data import dates as D
    from rnnlab.experiments import ch06

    rnnlab.setup(seed=seed)
    vocab = D.DateVocab()
    dates, _ = D.make_date_split(n_train=8000, n_test=1, seed=1)
    pairs = D.encode_pairs(D.DatePairs(dates.targets, dates.sources, dates.formats), vocab)
    model, _ = ch06.train_conditional_generator(pairs.tgt_in, pairs.tgt_out, dates.formats,
                                                len(D.DATE_FORMATS), vocab.size, seed=seed,
                                                progress=False)
    scores = ch06.date_generation_scores(model, vocab, set(dates.targets))
    return {"valid_min": min(scores["valid"]), "novel": float(np.mean(scores["novel"])),
            "weekday_right": scores["weekday_right"]}


def _lm(key):
    return lambda seed: language_model_results(seed)[key]


def _dates(key):
    return lambda seed: date_generator_results(seed)[key]


CLAIMS = [
    Claim("06c.held_out_bpc", "character LSTM: held-out bits per character", NOTEBOOK, 1.843,
          2.0, "<=", _lm("bpc"), "{:.3f}"),
    Claim("06c.bpc_below_bigram", "character LSTM: bits per character below the bigram model's",
          NOTEBOOK, 3.41 - 1.843, 1.0, ">=", _lm("below_bigram"), "{:.2f}"),
    Claim("06c.train_heldout_gap", "character LSTM: |training - held-out bits per character| "
          "at the end", NOTEBOOK, abs(1.763 - 1.843), 0.3, "<=", _lm("train_gap"), "{:.2f}"),
    Claim("06c.calibration_gap", "|model's bits/char on its own samples at T = 1 - held-out "
          "bits/char|", NOTEBOOK, abs(1.90 - 1.843), 0.3, "<=", _lm("calibration_gap"),
          "{:.2f}"),
    Claim("06c.temperature_order", "samples more surprising to the model and more varied as T "
          "rises (1 = yes)", NOTEBOOK, 1.0, 1.0, ">=", _lm("temperature_order"), "{:.0f}"),
    Claim("06c.dates_valid", "date generator: valid dates in the requested format, worst format",
          NOTEBOOK, 0.94, 0.9, ">=", _dates("valid_min"), "{:.1%}"),
    Claim("06c.dates_novel", "date generator: valid samples that are dates unseen in training",
          NOTEBOOK, 0.78, 0.5, ">=", _dates("novel"), "{:.0%}"),
    Claim("06c.dates_weekday", "date generator: weekday right (chance 1 in 7)", NOTEBOOK, 0.13,
          0.3, "<=", _dates("weekday_right"), "{:.0%}"),
]
