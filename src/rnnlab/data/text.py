"""A character corpus that is on every machine: Python's own standard-library source.

Chapter 6 trains a character-level language model, and the course downloads nothing at run time.
The Python interpreter that runs the notebook ships the source of its standard library, so a fixed,
sorted list of long-lived pure-Python modules gives a real corpus of about 1.3 MB of text.

Pipeline (every step is a small function so that the book can show it):

1. :func:`load_stdlib_corpus` reads each module's file, keeps only the characters of
   :data:`ALPHABET` (printable ASCII, tab and newline; everything else is dropped), and splits every
   file into its first ``1 - val_fraction`` (training text) and its last ``val_fraction``
   (held-out text), so both halves contain every module's style.
2. :class:`CharVocab` maps characters to integer ids and back.
3. :func:`batchify` cuts a long id sequence into ``batch_size`` parallel streams, shape ``(T, N)``,
   and :func:`bptt_batches` walks those streams in windows of ``seq_len`` steps for truncated
   backpropagation through time: the target of every position is the next character.

Shapes follow torch's recurrent layers: ``T`` time steps, ``N`` sequences in the batch.

The exact text depends on the Python patch release (3.11.x files receive bug fixes), so the book
prints corpus statistics rounded and compares models, not character counts.
"""
from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from typing import Iterator, Sequence

import numpy as np

#: The vocabulary: tab, newline and the 95 printable ASCII characters (space to ``~``).
ALPHABET: str = "\t\n" + "".join(chr(c) for c in range(32, 127))

#: Long-lived pure-Python standard-library modules, sorted; about 1.3 MB of source together.
STDLIB_MODULES: tuple[str, ...] = (
    "argparse", "ast", "base64", "bisect", "calendar", "cmd", "code", "codeop", "colorsys",
    "contextlib", "copy", "csv", "dataclasses", "difflib", "dis", "enum", "fnmatch", "fractions",
    "functools", "getopt", "glob", "gzip", "heapq", "hmac", "ipaddress", "linecache", "numbers",
    "operator", "optparse", "pprint", "queue", "random", "reprlib", "sched", "shlex", "statistics",
    "string", "tabnanny", "textwrap", "timeit", "tokenize", "trace", "traceback", "types", "uuid",
    "warnings", "weakref", "zipfile",
)


@dataclass(frozen=True)
class Corpus:
    """Training and held-out text plus where they came from.

    ``train`` holds the first part of every module's source, ``val`` the last part, both already
    restricted to :data:`ALPHABET`. ``modules`` names the modules in reading order.
    """

    train: str
    val: str
    modules: tuple[str, ...]

    def __repr__(self) -> str:  # never print 1 MB of text by accident
        return (f"Corpus({len(self.modules)} modules, train={len(self.train):,} chars, "
                f"val={len(self.val):,} chars)")


def module_source(name: str) -> str:
    """The source text of the standard-library module ``name`` (a package gives its ``__init__``).

    Raises ``ValueError`` when the module has no Python source file on this machine.
    """
    if not isinstance(name, str):
        raise TypeError(f"name must be a str, got {type(name).__name__}")
    spec = importlib.util.find_spec(name)
    origin = getattr(spec, "origin", None)
    if not origin or not origin.endswith(".py"):
        raise ValueError(f"module {name!r} has no Python source file here (origin={origin!r})")
    with open(origin, encoding="utf-8") as f:
        return f.read()


def ascii_filter(text: str, alphabet: str = ALPHABET) -> str:
    """Keep only the characters of ``alphabet`` (drops non-ASCII, ``\\r``, form feeds, ...)."""
    keep = set(alphabet)
    return "".join(ch for ch in text if ch in keep)


def load_stdlib_corpus(
    modules: Sequence[str] = STDLIB_MODULES, val_fraction: float = 0.1, max_chars: int | None = None
) -> Corpus:
    """Read ``modules``' source, filter it to :data:`ALPHABET` and split each file in two.

    Parameters
    ----------
    modules: standard-library module names, read in the given order.
    val_fraction: share of every file (its end, cut at a line break) that goes to the held-out text.
    max_chars: if given, keep only the first ``max_chars`` characters of each of the two texts
        (a quick corpus for tests and exercises).
    """
    if not 0.0 < val_fraction < 1.0:
        raise ValueError(f"val_fraction must be in (0, 1), got {val_fraction!r}")
    if max_chars is not None and (not isinstance(max_chars, int) or max_chars < 1):
        raise ValueError(f"max_chars must be a positive int or None, got {max_chars!r}")
    train_parts, val_parts = [], []
    for name in modules:
        text = ascii_filter(module_source(name))
        cut = int(len(text) * (1.0 - val_fraction))
        nl = text.rfind("\n", 0, cut)  # cut at a line break so no line is split in two
        cut = nl + 1 if nl > 0 else cut
        train_parts.append(text[:cut])
        val_parts.append(text[cut:])
    train, val = "".join(train_parts), "".join(val_parts)
    if max_chars is not None:
        train, val = train[:max_chars], val[:max_chars]
    return Corpus(train=train, val=val, modules=tuple(modules))


class CharVocab:
    """A bijection between characters and ids ``0 .. size-1`` (ids follow ``chars``' order).

    >>> v = CharVocab("ab\\n")
    >>> v.encode("ba").tolist(), v.decode([0, 2])
    ([1, 0], 'a\\n')
    """

    def __init__(self, chars: str = ALPHABET):
        if not isinstance(chars, str) or not chars:
            raise ValueError("chars must be a non-empty str")
        if len(set(chars)) != len(chars):
            raise ValueError("chars must not repeat a character")
        self.chars = chars
        self.index = {ch: i for i, ch in enumerate(chars)}

    @property
    def size(self) -> int:
        return len(self.chars)

    def __len__(self) -> int:
        return len(self.chars)

    def __repr__(self) -> str:
        return f"CharVocab(size={self.size})"

    @classmethod
    def from_text(cls, text: str) -> "CharVocab":
        """The vocabulary of the characters that occur in ``text``, sorted by code point."""
        return cls("".join(sorted(set(text))))

    def encode(self, text: str) -> np.ndarray:
        """Ids of ``text`` as an int64 array of shape ``(len(text),)``."""
        try:
            return np.fromiter((self.index[ch] for ch in text), dtype=np.int64, count=len(text))
        except KeyError as e:
            raise ValueError(f"character {e.args[0]!r} is not in the vocabulary") from None

    def decode(self, ids) -> str:
        """The string of the ids ``ids`` (any 1-d sequence of ints)."""
        ids = np.asarray(ids)
        if ids.ndim != 1:
            raise ValueError(f"ids must be 1-d, got shape {tuple(ids.shape)}")
        if ids.size and (ids.min() < 0 or ids.max() >= self.size):
            raise ValueError(f"ids must lie in [0, {self.size}), got range "
                             f"[{ids.min()}, {ids.max()}]")
        return "".join(self.chars[i] for i in ids.tolist())


def batchify(ids: np.ndarray, batch_size: int) -> np.ndarray:
    """Cut a 1-d id sequence into ``batch_size`` equal streams, returned as shape ``(T, N)``.

    Column ``n`` holds the ``n``-th contiguous slice of ``ids``; the ragged tail is dropped. Reading
    the columns top to bottom in parallel lets one batch carry its hidden state to the next.
    """
    ids = np.asarray(ids)
    if ids.ndim != 1:
        raise ValueError(f"ids must be 1-d, got shape {tuple(ids.shape)}")
    if not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
        raise ValueError(f"batch_size must be a positive int, got {batch_size!r}")
    steps = len(ids) // batch_size
    if steps < 2:
        raise ValueError(f"{len(ids)} ids are too few for batch_size={batch_size}")
    return ids[: steps * batch_size].reshape(batch_size, steps).T.copy()


def bptt_batches(
    streams: np.ndarray, seq_len: int, offset: int = 0
) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Windows ``(x, y)`` of ``seq_len`` steps over ``streams`` of shape ``(T, N)``, in order.

    ``y`` is ``x`` shifted by one step (the next character). Both have shape ``(L, N)`` with
    ``L = seq_len`` except possibly the last window. ``offset`` skips the first steps (shifting the
    window boundaries from epoch to epoch lets the model see every split point).
    """
    streams = np.asarray(streams)
    if streams.ndim != 2:
        raise ValueError(f"streams must have shape (T, N), got {tuple(streams.shape)}")
    if not isinstance(seq_len, (int, np.integer)) or seq_len < 1:
        raise ValueError(f"seq_len must be a positive int, got {seq_len!r}")
    if not 0 <= offset < streams.shape[0] - 1:
        raise ValueError(f"offset must be in [0, {streams.shape[0] - 1}), got {offset}")
    for start in range(offset, streams.shape[0] - 1, seq_len):
        length = min(seq_len, streams.shape[0] - 1 - start)
        yield streams[start:start + length], streams[start + 1:start + 1 + length]


def bptt_epochs(streams: np.ndarray, seq_len: int, epochs: int = 1, seed: int = 0
                ) -> Iterator[tuple[np.ndarray, np.ndarray, bool]]:
    """:func:`bptt_batches` epoch after epoch, as ``(x, y, reset)``.

    Every epoch starts at a random offset in ``[0, seq_len)`` (seeded), so the window boundaries
    move and the model does not always cut the text at the same places. ``reset`` is True for the
    first window of an epoch: the hidden state carried from the previous window must be dropped
    there, because the streams jump back to their beginning.
    """
    if not isinstance(epochs, (int, np.integer)) or epochs < 1:
        raise ValueError(f"epochs must be a positive int, got {epochs!r}")
    rng = np.random.default_rng(seed)
    for _ in range(epochs):
        offset = int(rng.integers(seq_len))
        for i, (x, y) in enumerate(bptt_batches(streams, seq_len, offset)):
            yield x, y, i == 0


def unigram_bits_per_char(train_ids: np.ndarray, val_ids: np.ndarray, vocab_size: int) -> float:
    """Bits per character of the add-one-smoothed unigram model of ``train_ids`` on ``val_ids``.

    The trivial baseline of a language model: it knows how often each character occurs and
    nothing about order.
    """
    counts = np.bincount(np.asarray(train_ids), minlength=vocab_size).astype(np.float64) + 1.0
    p = counts / counts.sum()
    return float(-np.log2(p[np.asarray(val_ids)]).mean())


def bigram_bits_per_char(train_ids: np.ndarray, val_ids: np.ndarray, vocab_size: int) -> float:
    """Bits per character of the add-one-smoothed bigram model P(next | current) on ``val_ids``.

    A stronger baseline: one character of context, no memory beyond it.
    """
    train_ids, val_ids = np.asarray(train_ids), np.asarray(val_ids)
    counts = np.ones((vocab_size, vocab_size))
    np.add.at(counts, (train_ids[:-1], train_ids[1:]), 1.0)
    p = counts / counts.sum(axis=1, keepdims=True)
    return float(-np.log2(p[val_ids[:-1], val_ids[1:]]).mean())


__all__ = [
    "ALPHABET", "STDLIB_MODULES", "Corpus", "module_source", "ascii_filter", "load_stdlib_corpus",
    "CharVocab", "batchify", "bptt_batches", "bptt_epochs", "unigram_bits_per_char", "bigram_bits_per_char",
]
