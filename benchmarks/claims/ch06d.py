"""Notebook 6d (translation) and the teacher-forcing exercise of chapter 6, over seeds.

Each experiment is the notebook's, through the same rnnlab functions (``rnnlab.experiments.ch06``:
the encoder–decoder and the single network with a separator, ``fit_one_cycle``, ``translate``),
with ``seed`` drawing the weights and the batch order; the generated dates stay the notebook's.
"""
from __future__ import annotations

import copy
import functools

from benchmarks.claims import Claim

NOTEBOOK = "book/06d_translation.ipynb"
SOLUTIONS = "solutions/06_sequence_tasks.ipynb"
EPOCHS, BATCH, LR = 5, 64, 5e-3                 # the encoder–decoder's training
SEP_EPOCHS, SEP_BATCH = 5, 32                   # the single network's


@functools.lru_cache(maxsize=None)
def _data():
    import torch

    from rnnlab.data import dates as D

    train, test = D.make_date_split(n_train=20000, n_test=2000, seed=0)
    vocab = D.DateVocab()
    tr, te = D.encode_pairs(train, vocab), D.encode_pairs(test, vocab)
    return train, test, vocab, tr, [torch.from_numpy(a) for a in te]


def _exact(model, beam=None) -> float:
    from rnnlab.data import dates as D
    from rnnlab.experiments import ch06

    _, test, vocab, _, te = _data()
    return D.exact_match(ch06.translate(model, te[0], te[1], vocab, beam=beam)[0], test.targets)


@functools.lru_cache(maxsize=None)
def encoder_decoder_results(seed: int) -> dict[str, float]:
    """The trained encoder–decoder: exact match of both decoders, the final test loss, and beam
    search against greedy decoding on the first half-trained snapshot above 30 % exact match."""
    import torch

    import rnnlab
    from rnnlab.experiments import ch06

    rnnlab.setup(seed=seed)
    train, test, vocab, tr, te = _data()
    steps = EPOCHS * -(-len(train.sources) // BATCH)
    snapshots = []
    torch.manual_seed(seed)
    model = ch06.Seq2Seq(vocab.size)
    history = ch06.fit_one_cycle(
        model, ch06.seq2seq_loss, tr, epochs=EPOCHS, batch_size=BATCH, lr=LR, seed=seed,
        eval_fn=lambda m: {"test_loss": ch06.seq2seq_loss(m, te).item()},
        eval_every=steps // (2 * EPOCHS), progress=False,
        callback=lambda h: snapshots.append(copy.deepcopy(model.state_dict())))
    half = ch06.Seq2Seq(vocab.size)
    for state in snapshots:
        half.load_state_dict(state)
        if _exact(half) > 0.3:
            break
    greedy, greedy_out = ch06.translate(half, te[0], te[1], vocab)
    beam, beam_out = ch06.translate(half, te[0], te[1], vocab, beam=5)
    triples = list(enumerate(zip(greedy, beam, test.targets)))
    fixed = [i for i, (g, b, t) in triples if g != t and b == t]
    broke = [i for i, (g, b, t) in triples if g == t and b != t]
    higher = sum(bool(beam_out.logp[i] > greedy_out.logp[i]) for i in fixed)
    return {"greedy": _exact(model), "beam": _exact(model, beam=5),
            "test_loss": history.final("test_loss"),
            "first_test_loss": history.evals[0]["test_loss"],
            "beam_net_fixes": float(len(fixed) - len(broke)),
            "fixes_more_probable": higher / max(len(fixed), 1)}


def separator_exact_match(seed: int) -> float:
    """The single network with a separator, greedy exact match."""
    import torch

    import rnnlab
    from rnnlab.data import dates as D
    from rnnlab.experiments import ch06

    rnnlab.setup(seed=seed)
    train, _, vocab, _, _ = _data()
    sep = D.encode_with_separator(train, vocab)
    torch.manual_seed(seed)
    model = ch06.SeparatorTranslator(vocab.size)
    ch06.fit_one_cycle(model, ch06.separator_loss, (sep.inputs, sep.targets, sep.mask),
                       epochs=SEP_EPOCHS, batch_size=SEP_BATCH, lr=LR, seed=seed,
                       progress=False)
    return _exact(model)


def _ed(key):
    return lambda seed: encoder_decoder_results(seed)[key]


CLAIMS = [
    Claim("06d.greedy_exact_match", "encoder–decoder, greedy: exact match on unseen dates",
          NOTEBOOK, 0.9995, 0.99, ">=", _ed("greedy"), "{:.2%}"),
    Claim("06d.beam_exact_match", "encoder–decoder, beam 5: exact match on unseen dates",
          NOTEBOOK, 0.9995, 0.99, ">=", _ed("beam"), "{:.2%}"),
    Claim("06d.test_loss", "encoder–decoder: final test loss (nats per character)", NOTEBOOK,
          0.0037, 0.02, "<=", _ed("test_loss"), "{:.2g}"),
    Claim("06d.first_test_loss", "encoder–decoder: test loss after half an epoch (nats per "
          "character)", NOTEBOOK, 0.85, 0.2, ">=", _ed("first_test_loss"), "{:.2g}"),
    Claim("06d.beam_net_fixes", "half-trained model: greedy errors beam search fixes minus "
          "greedy successes it breaks", NOTEBOOK, 81 - 15, 5, ">=", _ed("beam_net_fixes"),
          "{:.0f}"),
    Claim("06d.beam_fixes_more_probable", "half-trained model: share of beam search's fixes "
          "whose answer is the more probable one", NOTEBOOK, 1.0, 0.9, ">=",
          _ed("fixes_more_probable"), "{:.0%}"),
    Claim("06d.separator_exact_match", "one network with a separator, greedy: exact match",
          NOTEBOOK, 0.9955, 0.97, ">=", separator_exact_match, "{:.2%}"),
]
