"""Date-format translation: "23 November 2026", "Nov 23, 2026", "23/11/2026" → "2026-11-23".

A generated sequence-translation task (chapter 6). The source is a date written in one of
:data:`DATE_FORMATS`; the target is the same date in ISO 8601 form. Both are read one character at a
time. The task is small enough to train on a CPU in a minute, yet it needs what translation needs:
the output order differs from the input order (the year comes last in the source and first in the
target), month names must be mapped to numbers, and a weekday is redundant information to be read
and ignored.

Everything is a pure function of a seed. Month and weekday names come from fixed English lists, not
from the machine's locale.

Token ids (:class:`DateVocab`): ``0`` padding, ``1`` start of output (BOS), ``2`` end of output
(EOS), ``3`` separator (SEP: "stop reading, start writing" for the single-network translator), then
the characters of :data:`CHARS`.
"""
from __future__ import annotations

import datetime as _dt
import re
from typing import NamedTuple, Sequence

import numpy as np

from rnnlab.data.digits import minibatches  # noqa: F401  (re-exported: shuffled batches)

MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August", "September",
          "October", "November", "December")
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")

#: Source formats, by name, with an example for 23 November 2026.
DATE_FORMATS: tuple[str, ...] = (
    "day month year",       # 23 November 2026
    "mon day, year",        # Nov 23, 2026
    "dd/mm/yyyy",           # 23/11/2026
    "weekday day mon year",  # Monday 23 Nov 2026
    "month day, year",      # November 23, 2026
    "yyyy.mm.dd",           # 2026.11.23
)

#: The characters that occur in sources and targets.
CHARS = " ,-./0123456789" + "".join(sorted(set("".join(MONTHS + WEEKDAYS))))

PAD, BOS, EOS, SEP = 0, 1, 2, 3
SPECIALS = ("<pad>", "<bos>", "<eos>", "<sep>")

#: Default range of dates: a century.
FIRST_DATE = _dt.date(1950, 1, 1)
LAST_DATE = _dt.date(2049, 12, 31)


def format_date(date: _dt.date, fmt: int | str) -> str:
    """``date`` written in source format ``fmt`` (an index into, or a name of, :data:`DATE_FORMATS`)."""
    k = _format_index(fmt)
    d, m, y = date.day, date.month, date.year
    if k == 0:
        return f"{d} {MONTHS[m - 1]} {y}"
    if k == 1:
        return f"{MONTHS[m - 1][:3]} {d}, {y}"
    if k == 2:
        return f"{d:02d}/{m:02d}/{y:04d}"
    if k == 3:
        return f"{WEEKDAYS[date.weekday()]} {d} {MONTHS[m - 1][:3]} {y}"
    if k == 4:
        return f"{MONTHS[m - 1]} {d}, {y}"
    return f"{y:04d}.{m:02d}.{d:02d}"


def iso(date: _dt.date) -> str:
    """The target: ``YYYY-MM-DD``."""
    return date.isoformat()


def _format_index(fmt: int | str) -> int:
    if isinstance(fmt, str):
        if fmt not in DATE_FORMATS:
            raise ValueError(f"fmt must be one of {DATE_FORMATS}, got {fmt!r}")
        return DATE_FORMATS.index(fmt)
    if not isinstance(fmt, (int, np.integer)) or not 0 <= fmt < len(DATE_FORMATS):
        raise ValueError(f"fmt must be an int in [0, {len(DATE_FORMATS)}) or a format name, got {fmt!r}")
    return int(fmt)


_MON = "|".join(m[:3] for m in MONTHS)
_MONTH = "|".join(MONTHS)
_PATTERNS = (
    re.compile(rf"(?P<d>\d{{1,2}}) (?P<month>{_MONTH}) (?P<y>\d{{4}})"),
    re.compile(rf"(?P<mon>{_MON}) (?P<d>\d{{1,2}}), (?P<y>\d{{4}})"),
    re.compile(r"(?P<d>\d\d)/(?P<m>\d\d)/(?P<y>\d{4})"),
    re.compile(rf"(?P<wd>{'|'.join(WEEKDAYS)}) (?P<d>\d{{1,2}}) (?P<mon>{_MON}) (?P<y>\d{{4}})"),
    re.compile(rf"(?P<month>{_MONTH}) (?P<d>\d{{1,2}}), (?P<y>\d{{4}})"),
    re.compile(r"(?P<y>\d{4})\.(?P<m>\d\d)\.(?P<d>\d\d)"),
)


def parse_date(text: str, fmt: int | str, check_weekday: bool = True) -> _dt.date | None:
    """The date that ``text`` writes in format ``fmt``, or ``None`` if it is not a valid date
    written exactly that way (wrong layout, day 31 of a 30-day month, wrong weekday, ...).

    ``check_weekday=False`` accepts any weekday name in the format that has one (the layout and
    the calendar date must still be right).
    """
    k = _format_index(fmt)
    match = _PATTERNS[k].fullmatch(text)
    if match is None:
        return None
    g = match.groupdict()
    if "month" in g:
        month = MONTHS.index(g["month"]) + 1
    elif "mon" in g:
        month = [m[:3] for m in MONTHS].index(g["mon"]) + 1
    else:
        month = int(g["m"])
    try:
        date = _dt.date(int(g["y"]), month, int(g["d"]))
    except ValueError:
        return None
    expected = format_date(date, k)
    if not check_weekday and k == 3:
        expected = f"{g['wd']}{expected[expected.index(' '):]}"
    if expected != text:  # rejects "05 Nov" where "5 Nov" is the form, wrong weekdays
        return None
    return date


def detect_format(text: str) -> int | None:
    """Index of the format in which ``text`` is a valid date, or ``None``."""
    for k in range(len(DATE_FORMATS)):
        if parse_date(text, k) is not None:
            return k
    return None


class DatePairs(NamedTuple):
    """Parallel lists: ``sources[i]`` in format ``formats[i]`` means the date ``targets[i]``."""

    sources: list[str]
    targets: list[str]
    formats: np.ndarray  # int64 (N,)


def date_pairs(dates: Sequence[_dt.date], rng: np.random.Generator,
               formats: Sequence[int] | None = None) -> DatePairs:
    """One (source, target) pair per date, each in a format drawn uniformly from ``formats``."""
    formats = list(range(len(DATE_FORMATS))) if formats is None else [_format_index(f) for f in formats]
    ks = rng.choice(np.asarray(formats, dtype=np.int64), size=len(dates))
    return DatePairs([format_date(d, k) for d, k in zip(dates, ks)], [iso(d) for d in dates],
                     ks.astype(np.int64))


def make_date_split(n_train: int = 20000, n_test: int = 2000, seed: int = 0,
                    first: _dt.date = FIRST_DATE, last: _dt.date = LAST_DATE,
                    formats: Sequence[int] | None = None) -> tuple[DatePairs, DatePairs]:
    """Training and test pairs whose *dates* are disjoint (a test date never occurs in training,
    in any format), drawn without replacement from ``[first, last]``."""
    n_days = (last - first).days + 1
    if n_train < 1 or n_test < 1 or n_train + n_test > n_days:
        raise ValueError(f"need 1 <= n_train, n_test and n_train + n_test <= {n_days} days, "
                         f"got n_train={n_train}, n_test={n_test}")
    rng = np.random.default_rng(seed)
    offsets = rng.choice(n_days, size=n_train + n_test, replace=False)
    dates = [first + _dt.timedelta(days=int(o)) for o in offsets]
    return (date_pairs(dates[:n_train], rng, formats), date_pairs(dates[n_train:], rng, formats))


class DateVocab:
    """Ids of the special symbols and of :data:`CHARS` (one vocabulary for both sides).

    >>> v = DateVocab(); v.decode(v.encode("2026-11-23"))
    '2026-11-23'
    """

    def __init__(self, chars: str = CHARS):
        self.symbols = SPECIALS + tuple(chars)
        self.index = {ch: i + len(SPECIALS) for i, ch in enumerate(chars)}

    @property
    def size(self) -> int:
        return len(self.symbols)

    def __len__(self) -> int:
        return self.size

    def __repr__(self) -> str:
        return f"DateVocab(size={self.size})"

    def encode(self, text: str) -> list[int]:
        try:
            return [self.index[ch] for ch in text]
        except KeyError as e:
            raise ValueError(f"character {e.args[0]!r} is not in the date vocabulary") from None

    def decode(self, ids, stop_at_eos: bool = True) -> str:
        """Characters of ``ids``; special symbols are skipped, and reading stops at EOS."""
        out = []
        for i in np.asarray(ids).tolist():
            if i == EOS and stop_at_eos:
                break
            if i >= len(SPECIALS):
                out.append(self.symbols[i])
        return "".join(out)


def pad_batch(seqs: Sequence[Sequence[int]], pad: int = PAD) -> tuple[np.ndarray, np.ndarray]:
    """Right-pad lists of ids to one length: ``(ids (N, T) int64, lengths (N,) int64)``."""
    lengths = np.array([len(s) for s in seqs], dtype=np.int64)
    if len(seqs) == 0 or lengths.min() < 1:
        raise ValueError("seqs must be a non-empty list of non-empty sequences")
    ids = np.full((len(seqs), int(lengths.max())), pad, dtype=np.int64)
    for i, s in enumerate(seqs):
        ids[i, : len(s)] = s
    return ids, lengths


class Seq2SeqBatch(NamedTuple):
    """Arrays for an encoder–decoder, batch first.

    ``src`` (N, S) and ``src_len`` (N,): the source characters, right-padded.
    ``tgt_in`` (N, U): BOS followed by the target (the decoder's inputs under teacher forcing).
    ``tgt_out`` (N, U): the target followed by EOS (what the decoder must predict at each step).
    """

    src: np.ndarray
    src_len: np.ndarray
    tgt_in: np.ndarray
    tgt_out: np.ndarray


def encode_pairs(pairs: DatePairs, vocab: DateVocab) -> Seq2SeqBatch:
    """Encode and pad all pairs for the encoder–decoder."""
    src, src_len = pad_batch([vocab.encode(s) for s in pairs.sources])
    tgt = [vocab.encode(t) for t in pairs.targets]
    tgt_in, _ = pad_batch([[BOS] + t for t in tgt])
    tgt_out, _ = pad_batch([t + [EOS] for t in tgt])
    return Seq2SeqBatch(src, src_len, tgt_in, tgt_out)


class SeparatorBatch(NamedTuple):
    """Arrays for the single-network translator: ``source SEP target EOS`` as one sequence.

    ``inputs`` (N, T): ``source SEP target`` (right-padded); ``targets`` (N, T): the next symbol at
    every position; ``mask`` (N, T) bool: True where the loss counts, i.e. from the SEP onward (the
    network is asked to write only after it has read everything); ``sep_pos`` (N,): index of SEP.
    """

    inputs: np.ndarray
    targets: np.ndarray
    mask: np.ndarray
    sep_pos: np.ndarray


def encode_with_separator(pairs: DatePairs, vocab: DateVocab) -> SeparatorBatch:
    """Encode each pair as one sequence ``source SEP target EOS`` for a single recurrent network."""
    rows, seps = [], []
    for s, t in zip(pairs.sources, pairs.targets):
        src = vocab.encode(s)
        rows.append(src + [SEP] + vocab.encode(t) + [EOS])
        seps.append(len(src))
    full, lengths = pad_batch(rows)
    inputs, targets = full[:, :-1].copy(), full[:, 1:].copy()
    pos = np.arange(inputs.shape[1])[None, :]
    sep_pos = np.asarray(seps, dtype=np.int64)
    mask = (pos >= sep_pos[:, None]) & (pos < (lengths - 1)[:, None])
    return SeparatorBatch(inputs, targets, mask, sep_pos)


def exact_match(predictions: Sequence[str], targets: Sequence[str]) -> float:
    """Share of predictions equal to their target, character for character."""
    if len(predictions) != len(targets) or not len(targets):
        raise ValueError(f"need equally many predictions and targets (> 0), got "
                         f"{len(predictions)} and {len(targets)}")
    return float(np.mean([p == t for p, t in zip(predictions, targets)]))


__all__ = [
    "MONTHS", "WEEKDAYS", "DATE_FORMATS", "CHARS", "PAD", "BOS", "EOS", "SEP", "SPECIALS",
    "FIRST_DATE", "LAST_DATE", "format_date", "iso", "parse_date", "detect_format", "DatePairs",
    "date_pairs", "make_date_split", "DateVocab", "pad_batch", "Seq2SeqBatch", "encode_pairs",
    "SeparatorBatch", "encode_with_separator", "exact_match", "minibatches",
]
