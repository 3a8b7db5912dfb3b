r"""Turning a trained next-symbol model into sequences: temperature sampling, greedy, beam search.

Every decoder here is generic over a **step function**, so any model can use it::

    step_fn(tokens, state) -> (logits, new_state)

``tokens`` is a ``LongTensor`` of shape ``(B,)`` (the symbol fed in at this step), ``state`` whatever
the model carries between steps (an LSTM's ``(h, c)``, a tuple, ``None`` ...), and ``logits`` the
unnormalised scores of the next symbol, shape ``(B, V)``. Decoders that reorder hypotheses (beam
search) index the state along its batch dimension: dimension 1 for torch's ``(num_layers, B, H)``
states (``batch_dim=1``, the default), or pass ``batch_dim=0``.

Symbols: ``B`` batch, ``V`` vocabulary size, ``k`` beam size, ``L`` generated length.

Temperature :math:`\tau` rescales the logits *before* the softmax,

.. math::  p_i(\tau) = \frac{\exp(z_i/\tau)}{\sum_j \exp(z_j/\tau)},

so :math:`\tau\to 0` approaches the argmax and :math:`\tau\to\infty` the uniform distribution.
Beam search keeps the ``k`` hypotheses with the best *length-normalised* log-probability

.. math::  \mathrm{score}(y) = \frac{1}{|y|^\alpha}\sum_{t=1}^{|y|}\log p(y_t \mid y_{<t}, x),

summing logarithms (products of many probabilities underflow) and dividing by the length to the
power ``alpha`` (``alpha=0`` switches normalisation off; then short hypotheses win unfairly).
"""
from __future__ import annotations

from typing import Any, Callable, NamedTuple

import torch

StepFn = Callable[[torch.Tensor, Any], tuple[torch.Tensor, Any]]


# ---------------------------------------------------------------------------------------------
# temperature


def _check_temperature(temperature: float) -> float:
    if isinstance(temperature, bool) or not isinstance(temperature, (int, float)):
        raise TypeError(f"temperature must be a positive number, got {type(temperature).__name__}")
    if not temperature > 0:
        raise ValueError(f"temperature must be > 0, got {temperature!r} (use greedy_decode for "
                         f"the limit temperature -> 0)")
    return float(temperature)


def softmax_with_temperature(logits: torch.Tensor, temperature: float = 1.0) -> torch.Tensor:
    """Probabilities ``softmax(logits / temperature)`` over the last axis (the vocabulary)."""
    t = _check_temperature(temperature)
    return torch.softmax(torch.as_tensor(logits) / t, dim=-1)


def sample_with_temperature(logits: torch.Tensor, temperature: float, u: torch.Tensor) -> torch.Tensor:
    """Draw one symbol per row of ``logits`` (B, V) by inverse-CDF sampling with uniform noise ``u``.

    ``u`` (B,) holds numbers in [0, 1) drawn beforehand, which makes the draw a pure function of its
    inputs: symbol ``i`` is chosen when ``cdf[i-1] <= u < cdf[i]`` with ``cdf`` the running sum of
    :func:`softmax_with_temperature`. Returns a ``LongTensor`` of shape (B,).
    """
    logits = torch.as_tensor(logits)
    if logits.dim() != 2:
        raise ValueError(f"logits must have shape (B, V), got {tuple(logits.shape)}")
    u = torch.as_tensor(u, dtype=logits.dtype)
    if u.shape != logits.shape[:1]:
        raise ValueError(f"u must have shape ({logits.shape[0]},), got {tuple(u.shape)}")
    cdf = torch.cumsum(softmax_with_temperature(logits, temperature), dim=-1)
    idx = torch.searchsorted(cdf, u[:, None].contiguous(), right=True)[:, 0]
    return idx.clamp_(max=logits.shape[1] - 1)


def sample_sequence(step_fn: StepFn, first: torch.Tensor, state: Any, steps: int,
                    temperature: float = 1.0, generator: torch.Generator | None = None) -> torch.Tensor:
    """Generate ``steps`` symbols per row, each fed back as the next input. Returns (B, steps).

    ``first`` (B,) is the first input symbol; ``generator`` seeds the uniform noise.
    """
    first = torch.as_tensor(first, dtype=torch.long)
    tokens, out = first, []
    for _ in range(steps):
        logits, state = step_fn(tokens, state)
        u = torch.rand(logits.shape[0], generator=generator, dtype=torch.float64)
        tokens = sample_with_temperature(logits.double(), temperature, u)
        out.append(tokens)
    return torch.stack(out, dim=1)


# ---------------------------------------------------------------------------------------------
# greedy


class Decoded(NamedTuple):
    """``tokens`` (B, L) with ``eos`` repeated after a row ends; ``logp`` (B,) the summed
    log-probability of each row up to and including its first EOS; ``lengths`` (B,) the number of
    symbols up to and including EOS (``L`` when a row never ended)."""

    tokens: torch.Tensor
    logp: torch.Tensor
    lengths: torch.Tensor


def greedy_decode(step_fn: StepFn, bos: torch.Tensor | int, state: Any, max_len: int, eos: int,
                  batch_size: int | None = None) -> Decoded:
    """Pick the most probable symbol at every step until every row has produced ``eos``.

    ``bos`` is the first input (an int broadcast over ``batch_size`` rows, or a (B,) tensor).
    """
    bos = _first_tokens(bos, batch_size)
    B = bos.shape[0]
    tokens = bos
    done = torch.zeros(B, dtype=torch.bool)
    logp = torch.zeros(B, dtype=torch.float64)
    lengths = torch.zeros(B, dtype=torch.long)
    out = []
    for _ in range(max_len):
        logits, state = step_fn(tokens, state)
        lsm = torch.log_softmax(logits.double(), dim=-1)
        best = lsm.argmax(dim=-1)
        best = torch.where(done, torch.full_like(best, eos), best)
        logp += torch.where(done, torch.zeros_like(logp), lsm.gather(1, best[:, None])[:, 0])
        lengths += (~done).long()
        done = done | (best == eos)
        out.append(best)
        tokens = best
        if bool(done.all()):
            break
    return Decoded(torch.stack(out, dim=1), logp, lengths)


def _first_tokens(bos, batch_size):
    if isinstance(bos, int):
        if batch_size is None:
            raise ValueError("batch_size is needed when bos is an int")
        return torch.full((batch_size,), bos, dtype=torch.long)
    bos = torch.as_tensor(bos, dtype=torch.long)
    if bos.dim() != 1:
        raise ValueError(f"bos must be an int or have shape (B,), got {tuple(bos.shape)}")
    return bos


# ---------------------------------------------------------------------------------------------
# beam search


class BeamStep(NamedTuple):
    """The ``k`` survivors of one beam-search step, per example: ``parent`` (B, k) which old
    hypothesis each extends, ``token`` (B, k) the symbol appended (``eos`` for a finished hypothesis
    carried over unchanged), ``logp`` (B, k) summed log-probability, ``length`` (B, k) symbols
    generated, counting the first ``eos``; ``score`` (B, k) ``logp / length**alpha``."""

    parent: torch.Tensor
    token: torch.Tensor
    logp: torch.Tensor
    length: torch.Tensor
    score: torch.Tensor


def beam_search_step(logp: torch.Tensor, length: torch.Tensor, finished: torch.Tensor,
                     step_logits: torch.Tensor, beam_size: int, eos: int,
                     alpha: float = 1.0) -> BeamStep:
    """One step of beam search for ``B`` examples with ``n`` hypotheses each.

    Parameters (all batch first, ``n`` current hypotheses per example)
    ----------
    logp: (B, n) float, summed log-probability of each hypothesis (``-inf`` marks an empty slot).
    length: (B, n) int, symbols generated so far (>= 0).
    finished: (B, n) bool, True when the hypothesis already ended with ``eos``.
    step_logits: (B, n, V) logits of the next symbol (rows of finished hypotheses are ignored).
    beam_size: ``k``, how many candidates survive.
    eos: id of the end symbol. alpha: length-normalisation exponent.

    Every live hypothesis proposes ``V`` extensions, ``logp + log_softmax(step_logits)[v]`` with
    length ``length + 1``; a finished one proposes only itself, unchanged. Candidates are ranked by
    ``logp / length**alpha`` (descending); ties keep the order hypothesis-major, symbol-minor.
    """
    logp, length = torch.as_tensor(logp), torch.as_tensor(length)
    finished, step_logits = torch.as_tensor(finished, dtype=torch.bool), torch.as_tensor(step_logits)
    if step_logits.dim() != 3 or step_logits.shape[:2] != logp.shape:
        raise ValueError(f"step_logits must have shape (B, n, V) with (B, n) = {tuple(logp.shape)}, "
                         f"got {tuple(step_logits.shape)}")
    if length.shape != logp.shape or finished.shape != logp.shape:
        raise ValueError(f"logp, length and finished must share one shape (B, n); got "
                         f"{tuple(logp.shape)}, {tuple(length.shape)}, {tuple(finished.shape)}")
    B, n, V = step_logits.shape
    if not 0 <= eos < V:
        raise ValueError(f"eos must be a symbol id in [0, {V}), got {eos}")
    if beam_size < 1:
        raise ValueError(f"beam_size must be >= 1, got {beam_size}")
    lsm = torch.log_softmax(step_logits.to(logp.dtype), dim=-1)
    cand = logp[..., None] + lsm                                     # (B, n, V)
    carried = torch.full_like(cand, float("-inf"))
    carried[..., eos] = logp                                        # a finished one only "stays"
    cand = torch.where(finished[..., None], carried, cand)
    cand_len = (length + (~finished).long())[..., None].expand(B, n, V)
    norm = cand_len.to(cand.dtype).clamp(min=1) ** alpha
    score = (cand / norm).reshape(B, n * V)
    order = torch.sort(score, dim=1, descending=True, stable=True).indices[:, :beam_size]
    parent, token = order // V, order % V
    return BeamStep(parent, token, cand.reshape(B, n * V).gather(1, order),
                    cand_len.reshape(B, n * V).gather(1, order), score.gather(1, order))


def select_state(state: Any, index: torch.Tensor, batch_dim: int = 1) -> Any:
    """``state`` with every tensor indexed by ``index`` along ``batch_dim`` (tuples/lists kept)."""
    if state is None:
        return None
    if isinstance(state, torch.Tensor):
        return state.index_select(batch_dim, index)
    if isinstance(state, (tuple, list)):
        return type(state)(select_state(s, index, batch_dim) for s in state)
    raise TypeError(f"state must be a tensor, a tuple/list of them or None, got {type(state).__name__}")


class BeamResult(NamedTuple):
    """Best hypothesis per example: ``tokens`` (B, L) (``eos``-padded), ``logp`` (B,), ``lengths``
    (B,), ``score`` (B,) = ``logp / lengths**alpha``; and all ``k`` final hypotheses per example in
    ``beams`` (B, k, L) with their ``beam_scores`` (B, k), best first."""

    tokens: torch.Tensor
    logp: torch.Tensor
    lengths: torch.Tensor
    score: torch.Tensor
    beams: torch.Tensor
    beam_scores: torch.Tensor


def beam_search(step_fn: StepFn, bos: torch.Tensor | int, state: Any, beam_size: int, max_len: int,
                eos: int, alpha: float = 1.0, batch_size: int | None = None,
                batch_dim: int = 1) -> BeamResult:
    """Beam search for ``B`` examples at once (``B * k`` rows go through ``step_fn``).

    ``state`` is the model state for the ``B`` examples (e.g. the encoder's final state); it is
    repeated ``k`` times along ``batch_dim`` (example-major: rows ``b*k .. b*k+k-1`` belong to
    example ``b``). Stops when every hypothesis has ended or after ``max_len`` symbols.
    """
    bos = _first_tokens(bos, batch_size)
    B, k = bos.shape[0], beam_size
    rows = torch.arange(B).repeat_interleave(k)
    state = select_state(state, rows, batch_dim)
    tokens = bos[rows]
    logp = torch.full((B, k), float("-inf"), dtype=torch.float64)
    logp[:, 0] = 0.0                              # one live hypothesis at the start, not k copies
    length = torch.zeros((B, k), dtype=torch.long)
    finished = torch.zeros((B, k), dtype=torch.bool)
    history = torch.zeros((B, k, 0), dtype=torch.long)
    score = logp.clone()
    for _ in range(max_len):
        logits, state = step_fn(tokens, state)
        step = beam_search_step(logp, length, finished, logits.reshape(B, k, -1).double(), k, eos, alpha)
        flat_parent = (torch.arange(B)[:, None] * k + step.parent).reshape(-1)
        state = select_state(state, flat_parent, batch_dim)
        history = torch.cat([history.gather(1, step.parent[..., None].expand(-1, -1, history.shape[2])),
                             step.token[..., None]], dim=2)
        logp, length, score = step.logp, step.length, step.score
        finished = finished.gather(1, step.parent) | (step.token == eos)
        tokens = step.token.reshape(-1)
        if bool((finished | torch.isinf(logp)).all()):
            break
    return BeamResult(history[:, 0], logp[:, 0], length[:, 0], score[:, 0], history, score)


def score_sequences(step_fn: StepFn, bos: torch.Tensor | int, state: Any, tokens: torch.Tensor,
                    eos: int) -> torch.Tensor:
    """Summed log-probability (B,) that the model gives to ``tokens`` (B, L), teacher-forced, up to
    and including each row's first ``eos`` (the whole row if there is none)."""
    tokens = torch.as_tensor(tokens, dtype=torch.long)
    inp = _first_tokens(bos, tokens.shape[0])
    total = torch.zeros(tokens.shape[0], dtype=torch.float64)
    done = torch.zeros(tokens.shape[0], dtype=torch.bool)
    for t in range(tokens.shape[1]):
        logits, state = step_fn(inp, state)
        lsm = torch.log_softmax(logits.double(), dim=-1)
        total += torch.where(done, torch.zeros_like(total), lsm.gather(1, tokens[:, t:t + 1])[:, 0])
        done = done | (tokens[:, t] == eos)
        inp = tokens[:, t]
    return total


__all__ = [
    "StepFn", "softmax_with_temperature", "sample_with_temperature", "sample_sequence", "Decoded",
    "greedy_decode", "BeamStep", "beam_search_step", "select_state", "BeamResult", "beam_search",
    "score_sequences",
]
