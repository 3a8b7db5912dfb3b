"""Chapter 6e's training results: the encoder–decoder with and without attention on reversing
strings of 5 to 30 symbols (book/06e_attention.ipynb, "The bottleneck, measured" and "Where the
decoder looks").

The solutions notebook (exercise 3) trains a smaller model with attention to copy strings of 5 to
15 symbols and counts where its largest weights lie: ``_copy_on_symbol``.

The book notebook trains each model with seeds 0, 1 and 2 through
``rnnlab.experiments.ch06e.train_translator`` and asserts the exact-match thresholds for every seed;
the attention map and the two decoders are read from seed 0's model. ``run(seed)`` trains the same
model with one seed and returns the number the notebook prints for it. The book's value is seed 0's.
"""
from __future__ import annotations

import functools

import numpy as np

from benchmarks.claims import Claim

NOTEBOOK = "book/06e_attention.ipynb"
SOLUTIONS = "solutions/06e_attention.ipynb"


@functools.lru_cache(maxsize=4)
def _model(attention, seed):
    import rnnlab
    from rnnlab.experiments import ch06e

    rnnlab.setup(seed=seed)
    return ch06e.train_translator(attention, seed)[0]


def _curve(attention, seed):
    from rnnlab.experiments import ch06e

    return ch06e.exact_match_curve(_model(attention, seed))


def _plain_long(seed):
    """Without attention: the largest exact match over the bins of 13 symbols and more."""
    from rnnlab.experiments import ch06e

    return float(_curve(None, seed)[ch06e.SETUP.edges[:-1] >= 13].max())


def _attention_shortest(seed):
    return float(_curve("general", seed)[0])


def _attention_longest(seed):
    return float(_curve("general", seed)[-1])


def _plain_shortest(seed):
    return float(_curve(None, seed)[0])


def _shifted_peak(seed):
    """With attention: the share of output symbols (after the first) whose largest weight lies on
    the right neighbour of the symbol being written."""
    from rnnlab.experiments import ch06e

    test, _ = ch06e.test_set()
    maps = ch06e.attention_map(_model("general", seed), test.sources)
    offsets = np.concatenate([ch06e.peak_offsets(w, len(s))[1:]
                              for s, (_, w) in zip(test.sources, maps)])
    return float(np.mean(offsets == 1))


def _beam_differs(seed):
    """With attention: the share of test strings on which beam search (width 3) and greedy
    decoding give different outputs."""
    from rnnlab.data import transduction as X
    from rnnlab.experiments import ch06e

    model = _model("general", seed)
    _, batch = ch06e.test_set()
    vocab = X.SymbolVocab(ch06e.SETUP.n_symbols)
    greedy, _ = ch06e.translate(model, batch.src, batch.src_len, vocab)
    beam, _ = ch06e.translate(model, batch.src, batch.src_len, vocab, beam_size=3)
    return float(np.mean([g != b for g, b in zip(greedy, beam)]))


def _copy_setup():
    """The solutions notebook's setup: copying strings of 5 to 15 symbols, 300 steps."""
    from dataclasses import replace

    from rnnlab.experiments import ch06e

    return replace(ch06e.SETUP, task="copy", min_len=5, max_len=15, steps=300, per_length=20)


def _copy_on_symbol(seed):
    """Solutions, exercise 3: the share of output symbols whose largest weight lies on the source
    symbol being written, for the copying model on its test strings."""
    import rnnlab
    from rnnlab.experiments import ch06e

    rnnlab.setup(seed=seed)
    small = _copy_setup()
    model, _ = ch06e.train_translator("general", seed=seed, setup=small)
    test, _ = ch06e.test_set(small)
    maps = ch06e.attention_map(model, test.sources, small)
    offsets = np.concatenate([ch06e.peak_offsets(w, len(s), task="copy")
                              for s, (_, w) in zip(test.sources, maps)])
    return float(np.mean(offsets == 0))


CLAIMS = [
    Claim(id="06e.plain_long", text="without attention, exact match from length 13 on (largest bin)",
          notebook=NOTEBOOK, book=0.0, threshold=0.05, sense="<=", run=_plain_long, fmt="{:.1%}"),
    Claim(id="06e.plain_short", text="without attention, exact match at lengths 5-8",
          notebook=NOTEBOOK, book=0.55, threshold=None, sense=">=", run=_plain_shortest,
          fmt="{:.1%}"),
    Claim(id="06e.attention_short", text="with attention, exact match at lengths 5-8",
          notebook=NOTEBOOK, book=0.975, threshold=0.9, sense=">=", run=_attention_shortest,
          fmt="{:.1%}"),
    Claim(id="06e.attention_long", text="with attention, exact match at lengths 25-30",
          notebook=NOTEBOOK, book=0.617, threshold=0.4, sense=">=", run=_attention_longest,
          fmt="{:.1%}"),
    Claim(id="06e.shifted_peak", text="with attention, largest weight on the right neighbour",
          notebook=NOTEBOOK, book=0.836, threshold=0.7, sense=">=", run=_shifted_peak, fmt="{:.1%}"),
    Claim(id="06e.beam_differs", text="with attention, beam 3 and greedy disagree on test strings",
          notebook=NOTEBOOK, book=0.062, threshold=0.1, sense="<=", run=_beam_differs, fmt="{:.1%}"),
    Claim(id="sol06e.copy_on_symbol",
          text="copying model (exercise 3): largest weight on the symbol being written",
          notebook=SOLUTIONS, book=0.9895, threshold=0.9, sense=">=", run=_copy_on_symbol,
          fmt="{:.1%}"),
]
