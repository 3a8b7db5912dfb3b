"""Slot filling on generated travel requests: one BIO tag per word (sequence labelling).

"arrive in beijing" and "leave beijing" end with the same word, yet beijing is the destination in
one and the origin in the other: a tagger must remember the words before it. Some sentences go
further and put the deciding word *after* the city ("beijing is where i arrive"), so a tagger that
reads only left to right cannot know the city's tag when it reaches it; a bidirectional one can.
:attr:`Sentence.needs_future` records which sentences are of that kind, so the book can measure the
difference there.

Slots (entity types): ``from_city``, ``to_city``, ``date``, ``time``. Tags use the BIO scheme in
its IOB2 form (Tjong Kim Sang & Veenstra 1999): ``B-x`` begins every entity of type x, ``I-x``
continues it, ``O`` is outside every entity (``new york`` as a destination is
``B-to_city I-to_city``).

Everything is generated from a seed with a small grammar; words are lower case and separated by
single spaces.
"""
from __future__ import annotations

from typing import Callable, NamedTuple, Sequence

import numpy as np

from rnnlab.data.digits import minibatches  # noqa: F401  (re-exported: shuffled batches)

SLOT_TYPES = ("from_city", "to_city", "date", "time")
TAGS: tuple[str, ...] = ("O",) + tuple(f"{p}-{s}" for s in SLOT_TYPES for p in ("B", "I"))
TAG_INDEX = {t: i for i, t in enumerate(TAGS)}

CITIES = (
    "beijing", "shanghai", "guangzhou", "shenzhen", "chengdu", "hong kong", "taipei", "tokyo",
    "seoul", "singapore", "bangkok", "delhi", "dubai", "paris", "london", "berlin", "rome",
    "madrid", "amsterdam", "new york", "boston", "chicago", "los angeles", "san francisco",
    "toronto", "mexico city", "sao paulo", "rio de janeiro", "sydney", "cape town",
)
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
MONTHS = ("january", "february", "march", "april", "may", "june", "july", "august", "september",
          "october", "november", "december")

#: (template, needs_future). ``{from}``/``{to}`` are cities, ``{date}``/``{time}`` date and time
#: phrases, ``{when}`` either of the two; a template "needs the future" when a city's tag is decided
#: only by words after it. Paired templates differ only in the deciding word, so that nothing else
#: (such as a date rather than a time) gives the role away.
TEMPLATES: tuple[tuple[str, bool], ...] = (
    ("arrive in {to}", False),
    ("leave {from}", False),
    ("i want to arrive in {to} {date}", False),
    ("i want to leave {from} {date} {time}", False),
    ("a flight from {from} to {to} {date}", False),
    ("fly to {to} from {from} {time}", False),
    ("show me flights from {from} to {to} {date} {time}", False),
    ("i need a ticket to {to} {date}", False),
    ("departing {from} {time} and arriving in {to}", False),
    ("please book me a seat from {from} {date}", False),
    ("{to} is where i arrive {when}", True),
    ("{from} is where i leave {when}", True),
    ("{to} is the city i fly to {date}", True),
    ("{from} is the city i fly out of {date}", True),
    ("{date} {to} is my destination", True),
    ("{date} {from} is my origin", True),
    ("i will be in {to} {date} arriving {time}", True),
    ("i will be in {from} {date} leaving {time}", True),
    ("{from} to {to} {date} please", True),
    ("{to} , that is where i want to go {time}", True),
    ("{from} , that is where i want to leave {time}", True),
)

#: The two requests of chapter 1 (the source posts' example): the same word, beijing, is the
#: destination in one and the origin in the other.
CHAPTER1_EXAMPLES = ("arrive in beijing", "leave beijing")


class Sentence(NamedTuple):
    """One generated request: its words, their BIO tags, its template and whether the tag of some
    word is decided only by later words."""

    words: tuple[str, ...]
    tags: tuple[str, ...]
    template: int
    needs_future: bool

    @property
    def text(self) -> str:
        return " ".join(self.words)


def _date_phrase(rng: np.random.Generator) -> list[tuple[str, str]]:
    kind = rng.integers(5)
    if kind == 0:
        return [("on", "O"), (WEEKDAYS[rng.integers(7)], "B")]
    if kind == 1:
        return [("next", "B"), (WEEKDAYS[rng.integers(7)], "I")]
    if kind == 2:
        return [("on", "O"), (str(rng.integers(1, 29)), "B"), (MONTHS[rng.integers(12)], "I")]
    if kind == 3:
        return [("on", "O"), (MONTHS[rng.integers(12)], "B"), (str(rng.integers(1, 29)), "I")]
    return [(("tomorrow", "today", "tonight")[rng.integers(3)], "B")]


def _time_phrase(rng: np.random.Generator) -> list[tuple[str, str]]:
    kind = rng.integers(4)
    if kind == 0:
        return [("at", "O"), (str(rng.integers(1, 13)), "B"), (("am", "pm")[rng.integers(2)], "I")]
    if kind == 1:
        t = f"{rng.integers(1, 13)}:{(0, 15, 30, 45)[rng.integers(4)]:02d}"
        return [("at", "O"), (t, "B"), (("am", "pm")[rng.integers(2)], "I")]
    if kind == 2:
        return [("at", "O"), (("noon", "midnight")[rng.integers(2)], "B")]
    return [("in", "O"), ("the", "O"), (("morning", "afternoon", "evening")[rng.integers(3)], "B")]


def _city_phrase(city: str) -> list[tuple[str, str]]:
    return [(w, "B" if i == 0 else "I") for i, w in enumerate(city.split())]


def fill_template(template: str, rng: np.random.Generator, needs_future: bool = False,
                  index: int = -1, cities: Sequence[str] = CITIES) -> Sentence:
    """Expand one template with random slot values drawn from ``rng``."""
    picked = rng.choice(len(cities), size=2, replace=False)
    values = {"from": cities[picked[0]], "to": cities[picked[1]]}
    words, tags = [], []
    for piece in template.split():
        if piece.startswith("{") and piece.endswith("}"):
            slot = piece[1:-1]
            if slot in ("from", "to"):
                phrase, label = _city_phrase(values[slot]), f"{slot}_city"
            elif slot == "date":
                phrase, label = _date_phrase(rng), "date"
            elif slot == "time":
                phrase, label = _time_phrase(rng), "time"
            elif slot == "when":  # a date or a time: only the verb tells the city's role
                if rng.integers(2):
                    phrase, label = _date_phrase(rng), "date"
                else:
                    phrase, label = _time_phrase(rng), "time"
            else:
                raise ValueError(f"unknown slot {piece!r} in template {template!r}")
            for w, bio in phrase:
                words.append(w)
                tags.append("O" if bio == "O" else f"{bio}-{label}")
        else:
            words.append(piece)
            tags.append("O")
    return Sentence(tuple(words), tuple(tags), index, needs_future)


def generate_sentences(n: int, seed: int = 0) -> list[Sentence]:
    """``n`` sentences, templates drawn uniformly from :data:`TEMPLATES`."""
    if not isinstance(n, (int, np.integer)) or n < 1:
        raise ValueError(f"n must be a positive int, got {n!r}")
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n):
        k = int(rng.integers(len(TEMPLATES)))
        template, future = TEMPLATES[k]
        out.append(fill_template(template, rng, future, k))
    return out


def make_slot_split(n_train: int = 3000, n_test: int = 1000, seed: int = 0
                    ) -> tuple[list[Sentence], list[Sentence]]:
    """Training and test sentences; a test sentence never occurs (word for word) in training."""
    train = generate_sentences(n_train, seed)
    seen = {s.words for s in train}
    test: list[Sentence] = []
    extra = 0
    while len(test) < n_test:
        for s in generate_sentences(2 * n_test, seed + 1000 + extra):
            if s.words not in seen:
                test.append(s)
                seen.add(s.words)
                if len(test) == n_test:
                    break
        extra += 1
    return train, test


class WordVocab:
    """Word ids: ``0`` padding, ``1`` unknown word, then the words seen in training (sorted)."""

    PAD, UNK = 0, 1

    def __init__(self, words: Sequence[str]):
        self.words = ("<pad>", "<unk>") + tuple(words)
        self.index = {w: i for i, w in enumerate(self.words)}

    @classmethod
    def from_sentences(cls, sentences: Sequence[Sentence]) -> "WordVocab":
        return cls(sorted({w for s in sentences for w in s.words}))

    @property
    def size(self) -> int:
        return len(self.words)

    def __len__(self) -> int:
        return self.size

    def __repr__(self) -> str:
        return f"WordVocab(size={self.size})"

    def encode(self, words: Sequence[str]) -> list[int]:
        return [self.index.get(w, self.UNK) for w in words]


class TaggedBatch(NamedTuple):
    """Padded arrays, batch first: ``words`` (N, T) ids, ``tags`` (N, T) tag ids (``0`` = "O" on
    padding too; ``mask`` tells them apart), ``lengths`` (N,), ``mask`` (N, T) bool: True on real
    words."""

    words: np.ndarray
    tags: np.ndarray
    lengths: np.ndarray
    mask: np.ndarray


def encode_tagged(sentences: Sequence[Sentence], vocab: WordVocab) -> TaggedBatch:
    """Encode and right-pad sentences and their tags."""
    if not len(sentences):
        raise ValueError("sentences must not be empty")
    lengths = np.array([len(s.words) for s in sentences], dtype=np.int64)
    T = int(lengths.max())
    words = np.zeros((len(sentences), T), dtype=np.int64)
    tags = np.zeros((len(sentences), T), dtype=np.int64)
    for i, s in enumerate(sentences):
        words[i, : len(s.words)] = vocab.encode(s.words)
        tags[i, : len(s.words)] = [TAG_INDEX[t] for t in s.tags]
    mask = np.arange(T)[None, :] < lengths[:, None]
    return TaggedBatch(words, tags, lengths, mask)


def bio_spans(tags: Sequence[str]) -> set[tuple[str, int, int]]:
    """Entities ``(type, start, end)`` (end exclusive) in a BIO tag sequence.

    Follows the CoNLL evaluation's reading: an ``I-x`` that does not continue an entity of type x
    starts a new one.
    """
    spans, start, kind = set(), None, None
    for i, tag in enumerate(list(tags) + ["O"]):
        prefix, _, label = tag.partition("-")
        if prefix not in ("B", "I", "O") or (prefix != "O" and not label):
            raise ValueError(f"tag {tag!r} at position {i} is not 'O', 'B-x' or 'I-x'")
        continues = prefix == "I" and kind == label
        if kind is not None and not continues:
            spans.add((kind, start, i))
            kind = None
        if prefix == "B" or (prefix == "I" and not continues):
            start, kind = i, label
    return spans


class SlotScores(NamedTuple):
    token_accuracy: float
    precision: float
    recall: float
    f1: float


def slot_scores(true_tags: Sequence[Sequence[str]], pred_tags: Sequence[Sequence[str]]) -> SlotScores:
    """Token accuracy and entity-level (exact span and type) micro precision, recall and F1."""
    if len(true_tags) != len(pred_tags):
        raise ValueError(f"got {len(true_tags)} true and {len(pred_tags)} predicted sequences")
    correct = total = tp = n_true = n_pred = 0
    for t, p in zip(true_tags, pred_tags):
        if len(t) != len(p):
            raise ValueError(f"a predicted sequence has {len(p)} tags for {len(t)} words")
        correct += sum(a == b for a, b in zip(t, p))
        total += len(t)
        ts, ps = bio_spans(t), bio_spans(p)
        tp += len(ts & ps)
        n_true += len(ts)
        n_pred += len(ps)
    precision = tp / n_pred if n_pred else 0.0
    recall = tp / n_true if n_true else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return SlotScores(correct / total, precision, recall, f1)


def slot_scores_by_type(true_tags: Sequence[Sequence[str]], pred_tags: Sequence[Sequence[str]]
                        ) -> dict[str, SlotScores]:
    """:func:`slot_scores` of each slot type alone, ``{type: SlotScores}`` in the order of
    :data:`SLOT_TYPES`: every tag of another type is read as ``O`` in both sequences."""
    def only(tags, kind):
        return [[t if t.partition("-")[2] == kind else "O" for t in seq] for seq in tags]

    return {kind: slot_scores(only(true_tags, kind), only(pred_tags, kind)) for kind in SLOT_TYPES}


def majority_tagger(train: Sequence[Sentence]) -> Callable[[Sequence[str]], list[str]]:
    """The trivial baseline: every word gets the tag it carried most often in training (ties go to
    the tag listed first in :data:`TAGS`); unseen words get ``O``."""
    counts: dict[str, np.ndarray] = {}
    for s in train:
        for w, t in zip(s.words, s.tags):
            counts.setdefault(w, np.zeros(len(TAGS), dtype=np.int64))[TAG_INDEX[t]] += 1
    table = {w: TAGS[int(c.argmax())] for w, c in counts.items()}

    def tag(words: Sequence[str]) -> list[str]:
        return [table.get(w, "O") for w in words]

    tag.table = table  # type: ignore[attr-defined]
    return tag


__all__ = [
    "SLOT_TYPES", "TAGS", "TAG_INDEX", "CITIES", "TEMPLATES", "CHAPTER1_EXAMPLES", "Sentence",
    "fill_template", "generate_sentences", "make_slot_split", "WordVocab", "TaggedBatch",
    "encode_tagged", "minibatches", "bio_spans", "SlotScores", "slot_scores", "slot_scores_by_type",
    "majority_tagger",
]
