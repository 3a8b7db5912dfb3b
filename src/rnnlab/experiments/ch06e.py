"""The experiment of chapter 6e: the encoder–decoder with and without attention.

Experiment runners (shared by the notebook and ``benchmarks/claims/ch06e.py``, so both run one copy):

- :class:`LengthSetup` — the task and the training budget of the length experiment.
- :func:`train_translator` — train :class:`rnnlab.modules.EncoderDecoder` (with or without
  attention) on reversing strings of random length, with :func:`rnnlab.train.fit`.
- :func:`translate` — greedy or beam-search decoding of a batch of sources.
- :func:`exact_match_curve` — exact match per bin of source length.
- :func:`attention_map` — decode sources and return the attention weights behind each output;
  :func:`peak_offsets` — where the largest weight sits relative to the symbol being written.
- :func:`run_length_experiment` — every (model, seed): the curves, the training times, the models
  (a :class:`LengthResult`, whose ``table()`` prints them).

Counts: :func:`step_cost` — multiply–adds per decoder step of each score.
The figures are in :mod:`rnnlab.viz.ch06e`.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Mapping, Sequence

import numpy as np
import torch
import torch.nn.functional as F

from rnnlab.data import transduction as X
from rnnlab.data.dates import BOS, EOS, pad_batch
from rnnlab.modules import EncoderDecoder
from rnnlab.train import decode, fit

__all__ = ["LengthSetup", "SETUP", "train_translator", "translate", "test_set", "exact_match_curve",
           "attention_map", "peak_offsets", "LengthResult", "run_length_experiment", "step_cost"]


@dataclass(frozen=True)
class LengthSetup:
    """The length experiment: reverse (``task``) strings of ``min_len``–``max_len`` symbols from an
    alphabet of ``n_symbols``; train each model for ``steps`` Adam steps (one-cycle learning rate up
    to ``lr``, gradient clipping at 1) on fresh batches of ``batch_size`` strings of one length each
    (lengths drawn uniformly); test on ``per_length`` strings of every length, scored in bins of
    ``bin_width`` lengths."""

    task: str = "reverse"
    n_symbols: int = 20
    min_len: int = 5
    max_len: int = 30
    embedding_size: int = 16
    hidden_size: int = 64
    steps: int = 600
    batch_size: int = 64
    lr: float = 5e-3
    per_length: int = 10
    bin_width: int = 4
    test_seed: int = 2026

    @property
    def edges(self) -> np.ndarray:
        """Bin edges from ``min_len`` to ``max_len + 1``, ``bin_width`` apart (the last bin may be
        shorter)."""
        edges = list(range(self.min_len, self.max_len + 1, self.bin_width))
        if self.max_len + 1 - edges[-1] <= self.bin_width / 2:   # no stub of a bin at the end
            edges.pop()
        return np.array(edges + [self.max_len + 1])


#: The setup chapter 6e runs.
SETUP = LengthSetup()


def _loss(model, batch):
    src, src_len, tgt_in, tgt_out = batch
    return F.cross_entropy(model(src, src_len, tgt_in).transpose(1, 2), tgt_out)


def train_translator(attention: str | None, seed: int, setup: LengthSetup = SETUP,
                     progress: bool = False):
    """Train a fresh :class:`rnnlab.modules.EncoderDecoder` (``attention`` None, ``"dot"``,
    ``"scaled_dot"``, ``"general"`` or ``"additive"``) on the task of ``setup``.

    The weights and the training batches are drawn from ``seed``; the model is returned in
    ``eval()`` mode with its :class:`rnnlab.train.History`.
    """
    vocab = X.SymbolVocab(setup.n_symbols)
    torch.manual_seed(seed)
    model = EncoderDecoder(vocab.size, setup.embedding_size, setup.hidden_size, attention=attention,
                           padding_idx=X.PAD)
    opt = torch.optim.Adam(model.parameters(), lr=setup.lr)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=setup.lr, total_steps=setup.steps,
                                                pct_start=0.2)
    batches = X.training_batches(setup.batch_size, vocab, task=setup.task, min_len=setup.min_len,
                                 max_len=setup.max_len, seed=seed)
    hist = fit(model, _loss, batches, steps=setup.steps, optimizer=opt, scheduler=sched, clip=1.0,
               progress=progress, eval_every=max(1, setup.steps // 10),
               desc=f"{attention or 'no'} attention, seed {seed}")
    return model.eval(), hist


def translate(model, src, src_len, vocab, beam_size: int | None = None, max_len: int | None = None):
    """Decode a batch of sources (numpy or tensors) with greedy decoding, or beam search of width
    ``beam_size``; returns the decoded strings and the decoder's result."""
    src, src_len = torch.as_tensor(src), torch.as_tensor(src_len)
    max_len = int(src.shape[1]) + 2 if max_len is None else max_len
    with torch.no_grad():
        state = model.start(src, src_len)
        if beam_size is None:
            out = decode.greedy_decode(model.step, BOS, state, max_len=max_len, eos=EOS,
                                       batch_size=len(src))
        else:
            out = decode.beam_search(model.step, BOS, state, beam_size=beam_size, max_len=max_len,
                                     eos=EOS, batch_size=len(src), batch_dim=0)
    return [vocab.decode(row) for row in out.tokens.cpu().numpy()], out


def test_set(setup: LengthSetup = SETUP):
    """The test strings of ``setup`` (``per_length`` of every length) and their encoded batch."""
    test = X.pairs_per_length(setup.per_length, task=setup.task, min_len=setup.min_len,
                              max_len=setup.max_len, n_symbols=setup.n_symbols, seed=setup.test_seed)
    return test, X.encode(test, X.SymbolVocab(setup.n_symbols))


def exact_match_curve(model, setup: LengthSetup = SETUP, beam_size: int | None = None):
    """Exact match of greedy (or beam) decoding on the test strings, per bin of ``setup.edges``."""
    test, batch = test_set(setup)
    predictions, _ = translate(model, batch.src, batch.src_len, X.SymbolVocab(setup.n_symbols),
                               beam_size=beam_size)
    return X.exact_match_by_length(predictions, test.targets, test.lengths, setup.edges)[1]


def attention_map(model, sources: Sequence[str], setup: LengthSetup = SETUP):
    """Decode ``sources`` greedily (in one padded batch) and return, per source, the decoded string
    and the attention weights (U + 1, S) that produced it: row ``u`` is the weight of output symbol
    ``u`` (the last row: ``<eos>``) on each of the source's own S symbols (the padding, which gets
    weight 0, is cut off)."""
    vocab = X.SymbolVocab(setup.n_symbols)
    src, src_len = (torch.from_numpy(a) for a in pad_batch([vocab.encode(s) for s in sources]))
    outputs, decoded = translate(model, src, src_len, vocab)
    tgt_in, _ = pad_batch([[X.BOS] + vocab.encode(o) for o in outputs])
    with torch.no_grad():
        _, weights = model(src, src_len, torch.from_numpy(tgt_in), return_weights=True)
    return [(output, weights[n, : len(output) + 1, : len(source)].numpy())
            for n, (source, output) in enumerate(zip(sources, outputs))]


def peak_offsets(weights, length: int, task: str = "reverse") -> np.ndarray:
    """For each output symbol (``<eos>`` excluded), how many positions its largest attention weight
    lies to the right of the source symbol it should write (0: on it; ``s = u`` for ``"copy"``,
    ``s = length - 1 - u`` for ``"reverse"``, 0-based). ``weights`` as :func:`attention_map`
    returns them; an output longer than the source is cut at ``length``."""
    weights = np.asarray(weights)
    U = min(weights.shape[0] - 1, length)
    u = np.arange(U)
    wanted = u if task == "copy" else length - 1 - u
    return weights[:U].argmax(axis=1) - wanted


@dataclass
class LengthResult:
    """``exact[name]``: (seeds, bins) exact match; ``seconds[name]``: training time per seed;
    ``models[name]``: the model trained with the first seed."""

    edges: np.ndarray
    seeds: tuple[int, ...]
    exact: dict[str, np.ndarray]
    seconds: dict[str, list[float]]
    models: dict[str, object]

    @classmethod
    def concat(cls, parts: Sequence["LengthResult"]) -> "LengthResult":
        """One result from several runs over other seeds (same models, same bins); the models kept
        are those of the first part."""
        first = parts[0]
        for part in parts[1:]:
            if list(part.exact) != list(first.exact) or not np.array_equal(part.edges, first.edges):
                raise ValueError("parts must hold the same models and the same length bins")
        return cls(first.edges, tuple(s for p in parts for s in p.seeds),
                   {n: np.concatenate([p.exact[n] for p in parts]) for n in first.exact},
                   {n: [t for p in parts for t in p.seconds[n]] for n in first.exact},
                   dict(first.models))

    def table(self) -> str:
        """Mean exact match per bin and model, with the range over seeds (when there are several),
        as aligned text."""
        names = list(self.exact)
        lines = [f"{'source length':<14}" + "".join(f"{n:>22}" for n in names)]
        for b, (lo, hi) in enumerate(zip(self.edges[:-1], self.edges[1:])):
            cells = []
            for n in names:
                col = self.exact[n][:, b]
                spread = f" ({col.min():.0%}–{col.max():.0%})" if len(col) > 1 else ""
                cells.append(f"{col.mean():.0%}{spread}".rjust(22))
            lines.append(f"{f'{lo}–{hi - 1}':<14}" + "".join(cells))
        return "\n".join(lines)


def run_length_experiment(attentions: Mapping[str, str | None], seeds: Sequence[int],
                          setup: LengthSetup = SETUP) -> LengthResult:
    """Train every model of ``attentions`` (``{name: attention}``) with every seed and measure its
    exact match per length bin."""
    exact, seconds, models = {}, {}, {}
    for name, attention in attentions.items():
        rows, times = [], []
        for seed in seeds:
            start = time.perf_counter()
            model, _ = train_translator(attention, seed, setup)
            times.append(time.perf_counter() - start)
            rows.append(exact_match_curve(model, setup))
            if seed == seeds[0]:
                models[name] = model
        exact[name], seconds[name] = np.array(rows), times
    return LengthResult(setup.edges, tuple(seeds), exact, seconds, models)


# ----------------------------------------------------------------------------- costs
def step_cost(score: str, S: int, d: int, A: int | None = None) -> dict[str, int]:
    """Multiply–adds for one example of the attention in one decoder step over ``S`` source states
    of size ``d`` (queries of size ``d`` too), keys prepared once per source.

    Returns ``{"once": ..., "per_step": ...}``: the key preparation done once per source
    (:math:`W_a k_s` for ``general``, :math:`W_k k_s` for ``additive``) and the work of every step
    (scores, softmax, weighted average; ``additive`` also projects the query and takes ``S * A``
    tanh). ``A`` is the additive score's hidden size (default ``d``).
    """
    A = d if A is None else A
    average = S * d               # the context: sum_s alpha_s v_s
    softmax = S                   # one exp (and a division) per position
    if score in ("dot", "scaled_dot"):
        return {"once": 0, "per_step": S * d + softmax + average}
    if score == "general":
        return {"once": S * d * d, "per_step": S * d + softmax + average}
    if score == "additive":
        return {"once": S * A * d, "per_step": A * d + 2 * S * A + softmax + average}
    raise ValueError(f"score must be 'dot', 'scaled_dot', 'general' or 'additive', got {score!r}")
