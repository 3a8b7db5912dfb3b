"""Notebook 6b (sequence labelling): the slot taggers' scores, over seeds.

Every claim trains the tagger it needs exactly as the notebook does
(``rnnlab.experiments.ch06.train_tagger`` on the same generated sentences), with ``seed`` drawing
the weights and the batch order.
"""
from __future__ import annotations

import functools

from benchmarks.claims import Claim

NOTEBOOK = "book/06b_labelling.ipynb"


@functools.lru_cache(maxsize=None)
def _data():
    from rnnlab.data import slots

    train, test = slots.make_slot_split(n_train=3000, n_test=1000, seed=0)
    return train, test, slots.WordVocab.from_sentences(train)


def _scores(predicted, keep=None):
    from rnnlab.data import slots

    _, test, _ = _data()
    keep = [True] * len(test) if keep is None else keep
    return slots.slot_scores([s.tags for s, k in zip(test, keep) if k],
                             [p for p, k in zip(predicted, keep) if k])


@functools.lru_cache(maxsize=None)
def tagger_results(seed: int, bidirectional: bool) -> dict[str, float]:
    """What the notebook prints and asserts about one trained tagger."""
    import rnnlab
    from rnnlab.data import slots
    from rnnlab.experiments import ch06

    rnnlab.setup(seed=seed)
    train, test, vocab = _data()
    model, history = ch06.train_tagger(train, vocab, bidirectional, seed=seed, progress=False)
    predicted = ch06.predict_tags(model, test, vocab)
    future = [s.needs_future for s in test]
    everything = _scores(predicted)
    by_text = {s.text: s for s in train}
    chapter1 = [by_text[t] for t in slots.CHAPTER1_EXAMPLES]
    pair = [slots.Sentence(tuple(f"beijing is where i {verb} tomorrow".split()),
                           (tag,) + ("O",) * 4 + ("B-date",), 0, True)
            for verb, tag in [("arrive", "B-to_city"), ("leave", "B-from_city")]]
    pair_tags = [p[0] for p in ch06.predict_tags(model, pair, vocab)]
    return {
        "f1": everything.f1,
        "token_accuracy": everything.token_accuracy,
        "f1_later": _scores(predicted, future).f1,
        "f1_earlier": _scores(predicted, [not f for f in future]).f1,
        "final_loss": history.final("loss"),
        "chapter1": float(ch06.predict_tags(model, chapter1, vocab)
                          == [list(s.tags) for s in chapter1]),
        "pair_right": float(pair_tags == ["B-to_city", "B-from_city"]),
    }


@functools.lru_cache(maxsize=None)
def majority_f1() -> float:
    from rnnlab.data import slots

    train, test, _ = _data()
    baseline = slots.majority_tagger(train)
    return _scores([baseline(s.words) for s in test]).f1


def _bi(key):
    return lambda seed: tagger_results(seed, True)[key]


def _uni(key):
    return lambda seed: tagger_results(seed, False)[key]


CLAIMS = [
    Claim("06b.bi_f1", "bidirectional tagger: entity F1", NOTEBOOK, 1.000, 0.98, ">=",
          _bi("f1"), "{:.3f}"),
    Claim("06b.bi_token_accuracy", "bidirectional tagger: token accuracy", NOTEBOOK, 1.000, 0.99,
          ">=", _bi("token_accuracy"), "{:.3f}"),
    Claim("06b.bi_f1_later", "bidirectional tagger: F1 where later words decide", NOTEBOOK,
          1.000, 0.9, ">=", _bi("f1_later"), "{:.3f}"),
    Claim("06b.bi_final_loss", "bidirectional tagger: last epoch's training loss (nats)",
          NOTEBOOK, 0.0009, 0.005, "<=", _bi("final_loss"), "{:.2g}"),
    Claim("06b.bi_tells_arrive_from_leave", "bidirectional tagger: 'beijing is where i arrive / "
          "leave tomorrow' tagged to_city / from_city (1 = yes)", NOTEBOOK, 1.0, 1.0, ">=",
          _bi("pair_right"), "{:.0f}"),
    Claim("06b.uni_f1_over_majority", "unidirectional tagger: entity F1 minus the per-word "
          "majority's", NOTEBOOK, 0.881 - 0.574, 0.2, ">=",
          lambda seed: tagger_results(seed, False)["f1"] - majority_f1(), "{:.3f}"),
    Claim("06b.uni_f1_earlier", "unidirectional tagger: F1 where earlier words decide",
          NOTEBOOK, 1.000, 0.99, ">=", _uni("f1_earlier"), "{:.3f}"),
    Claim("06b.uni_f1_later", "unidirectional tagger: F1 where later words decide", NOTEBOOK,
          0.764, 0.9, "<=", _uni("f1_later"), "{:.3f}"),
    Claim("06b.uni_final_loss", "unidirectional tagger: last epoch's training loss (nats)",
          NOTEBOOK, 0.054, 0.02, ">=", _uni("final_loss"), "{:.2g}"),
    Claim("06b.bi_over_uni_f1", "entity F1: bidirectional minus unidirectional", NOTEBOOK,
          1.000 - 0.881, 0.05, ">=",
          lambda seed: tagger_results(seed, True)["f1"] - tagger_results(seed, False)["f1"],
          "{:.3f}"),
    Claim("06b.chapter1_examples", "both taggers tag 'arrive in beijing' and 'leave beijing' "
          "right (1 = yes)", NOTEBOOK, 1.0, 1.0, ">=",
          lambda seed: min(tagger_results(seed, b)["chapter1"] for b in (False, True)), "{:.0f}"),
]
