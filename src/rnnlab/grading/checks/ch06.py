r"""Graded exercises of chapter 6 (sequence tasks): ``solutions/06_sequence_tasks.ipynb``.

============================  ================================================================
id                            what the student writes
============================  ================================================================
``06.masked_cross_entropy``   the mean cross-entropy of a padded batch of tag sequences,
                              counting only the real (unpadded) positions
``06.sample_with_temperature`` ``softmax(logits / T)`` and one inverse-CDF draw per row with
                              pre-drawn uniform noise ``u`` (deterministic)
``06.beam_search_step``       one step of beam search in log space with length-normalised
                              scores; finished hypotheses are carried over unchanged
============================  ================================================================

A fourth exercise of the notebook, "measure what teacher forcing does", is a written answer with a
model answer in the solutions notebook only (not auto-graded).

Each reference below is the correct answer; each entry of ``mistakes`` is a wrong answer a student
is likely to give, so that the grader can name it when the student's output matches it. The
references are written in numpy here and tested against :mod:`rnnlab.train.decode` (the package's
torch implementation) in ``tests/test_checks_ch06.py``.
"""
from __future__ import annotations

import numpy as np

from rnnlab.grading.checks._common import _where_it_differs
from rnnlab.grading.spec import Exercise
from rnnlab.scratch.losses import log_softmax, softmax

NOTEBOOK = "06_sequence_tasks.ipynb"


# ============================================================================ 06.masked_cross_entropy
def masked_cross_entropy(logits, targets, mask):
    """Reference: mean over the positions where ``mask`` is True of ``-log softmax(logits)[target]``.

    ``logits`` (N, T, C) float64, ``targets`` (N, T) int, ``mask`` (N, T) bool (True = a real word,
    False = padding). Every real token counts once, whatever the length of its sentence. Returns a
    float.
    """
    logp = log_softmax(logits, axis=-1)
    picked = np.take_along_axis(logp, targets[..., None], axis=-1)[..., 0]
    return float(-picked[mask].sum() / mask.sum())


def _mce_all_positions(logits, targets, mask):
    logp = log_softmax(logits, axis=-1)
    return float(-np.take_along_axis(logp, targets[..., None], axis=-1).mean())


def _mce_zeroed_but_divided_by_all(logits, targets, mask):
    logp = log_softmax(logits, axis=-1)
    picked = np.take_along_axis(logp, targets[..., None], axis=-1)[..., 0]
    return float(-(picked * mask).sum() / mask.size)


def _mce_time_axis(logits, targets, mask):
    logp = log_softmax(logits, axis=1)
    picked = np.take_along_axis(logp, targets[..., None], axis=-1)[..., 0]
    return float(-picked[mask].sum() / mask.sum())


def _mce_per_sentence(logits, targets, mask):
    logp = log_softmax(logits, axis=-1)
    picked = np.take_along_axis(logp, targets[..., None], axis=-1)[..., 0]
    return float(np.mean(-(picked * mask).sum(1) / mask.sum(1)))


def _mce_sum(logits, targets, mask):
    logp = log_softmax(logits, axis=-1)
    picked = np.take_along_axis(logp, targets[..., None], axis=-1)[..., 0]
    return float(-picked[mask].sum())


def _mce_unstable(logits, targets, mask):
    with np.errstate(all="ignore"):
        p = np.exp(logits) / np.exp(logits).sum(-1, keepdims=True)
        picked = np.take_along_axis(np.log(p), targets[..., None], axis=-1)[..., 0]
    return float(-picked[mask].sum() / mask.sum())


def _mce_log_of_softmax(logits, targets, mask):
    z = logits - logits.max(axis=-1, keepdims=True)
    with np.errstate(divide="ignore"):
        logp = np.log(np.exp(z) / np.exp(z).sum(-1, keepdims=True))
    picked = np.take_along_axis(logp, targets[..., None], axis=-1)[..., 0]
    return float(-picked[mask].sum() / mask.sum())


def _mce_cases(rng):
    cases = []
    for k in range(5):
        N, T, C = (int(v) for v in rng.integers([2, 3, 3], [6, 9, 8]))
        lengths = rng.integers(1, T + 1, size=N)
        lengths[rng.integers(N)] = T                       # the longest fills the batch
        lengths[rng.integers(N)] = max(1, T - 2)           # at least one is padded (T > 2)
        mask = np.arange(T)[None, :] < lengths[:, None]
        scale = 1000.0 if k == 4 else 2.0                  # large logits: exp() overflows naively
        logits = scale * rng.standard_normal((N, T, C))
        targets = rng.integers(0, C, size=(N, T)).astype(np.int64)   # padding holds junk ids too
        if k == 4:
            # step 0 is real in every sentence: in one, the target scores 1500 below the best tag
            # (its probability rounds to 0: log(softmax) gives -inf); in another, the target
            # is the best tag at 1000 (exp overflows, so exp(z)/sum(exp(z)) gives NaN)
            low, high = (int(v) for v in rng.permutation(N)[:2])
            targets[low, 0] = int(np.argmin(logits[low, 0]))
            logits[low, 0, targets[low, 0]] = logits[low, 0].max() - 1500.0
            targets[high, 0] = int(np.argmax(logits[high, 0]))
            logits[high, 0, targets[high, 0]] = max(1000.0, logits[high, 0].max())
        cases.append((logits, targets, mask))
    return cases


MASKED_CROSS_ENTROPY = Exercise(
    id="06.masked_cross_entropy",
    notebook=NOTEBOOK,
    function="masked_cross_entropy",
    points=2.0,
    title="The cross-entropy of a padded batch of tag sequences, padding ignored",
    cases=_mce_cases,
    reference=masked_cross_entropy,
    mistakes=_where_it_differs({
        "padding counted: the mean runs over all N*T positions instead of only where mask is True":
            _mce_all_positions,
        "padding zeroed in the sum but the mean still divides by N*T, not by the number of real "
        "tokens (mask.sum())": _mce_zeroed_but_divided_by_all,
        "softmax over the wrong axis: the time axis (1) instead of the classes (the last axis)":
            _mce_time_axis,
        "mean of per-sentence means: short sentences weigh more; every real token should count "
        "once": _mce_per_sentence,
        "summed instead of averaged over the real tokens": _mce_sum,
        "softmax computed as exp(z)/sum(exp(z)) without subtracting the max: it overflows for large "
        "logits (use z - z.max(-1, keepdims=True))": _mce_unstable,
        "log taken of the softmax: a probability below about 1e-308 rounds to 0 and its log is "
        "-inf; compute the log-probabilities directly from z - max, never as log(p)":
            _mce_log_of_softmax,
    }, masked_cross_entropy),
    arg_names=("logits", "targets", "mask"),
    output_names=("loss",),
    hint="log-softmax over the last axis, pick the target's entry, average over mask == True only.",
)


# ============================================================================ 06.sample_with_temperature
def _inverse_cdf(p, u, *, strict=False):
    cdf = np.cumsum(p, axis=-1)
    idx = ((cdf < u[:, None]) if strict else (cdf <= u[:, None])).sum(axis=-1)
    return np.minimum(idx, p.shape[-1] - 1).astype(np.int64)


def sample_with_temperature(logits, temperature, u):
    """Reference: ``p = softmax(logits / temperature)`` over the vocabulary (last axis), then for
    every row the first symbol ``i`` with ``cumsum(p)[i] > u`` (inverse-CDF sampling).

    ``logits`` (N, K) float64, ``temperature`` > 0, ``u`` (N,) uniform numbers in [0, 1).
    Returns ``(p, index)``: ``p`` (N, K) float64 and ``index`` (N,) int.
    """
    p = softmax(logits / temperature, axis=-1)
    return p, _inverse_cdf(p, u)


def _swt_after_softmax(logits, temperature, u):
    p = softmax(logits, axis=-1) / temperature
    return p, _inverse_cdf(p, u)


def _swt_after_softmax_renormalised(logits, temperature, u):
    p = softmax(logits, axis=-1) / temperature
    p = p / p.sum(-1, keepdims=True)
    return p, _inverse_cdf(p, u)


def _swt_multiplied(logits, temperature, u):
    p = softmax(logits * temperature, axis=-1)
    return p, _inverse_cdf(p, u)


def _swt_unstable(logits, temperature, u):
    with np.errstate(all="ignore"):
        e = np.exp(logits / temperature)
        p = e / e.sum(axis=-1, keepdims=True)
    return p, _inverse_cdf(p, u)


def _swt_wrong_axis(logits, temperature, u):
    p = softmax(logits / temperature, axis=0)
    return p, _inverse_cdf(p, u)


def _swt_argmax(logits, temperature, u):
    p = softmax(logits / temperature, axis=-1)
    return p, p.argmax(-1).astype(np.int64)


def _swt_strict(logits, temperature, u):
    p = softmax(logits / temperature, axis=-1)
    return p, _inverse_cdf(p, u, strict=True)


def _swt_cases(rng):
    cases = []
    for T in (0.3, 0.6, 2.0, 3.5):
        B, V = int(rng.integers(12, 20)), int(rng.integers(4, 9))
        logits = 2.0 * rng.standard_normal((B, V))
        if T == 0.3:  # a few rows of large logits: exp(logits / T) overflows without the max
            logits[:3] *= 150.0
        cases.append((logits, float(T * rng.uniform(0.9, 1.1)), rng.uniform(0.0, 1.0, size=B)))
    # ties: rows of equal logits over V = 4 or 8 symbols give p = 1/V and cdf = j/V exactly (any
    # softmax, any summation order), and u is set to one of these values, where "the first symbol
    # with cdf > u" and "the first with cdf >= u" differ
    B, V = int(rng.integers(8, 13)), int(rng.choice([4, 8]))
    logits = 2.0 * rng.standard_normal((B, V))
    u = rng.uniform(0.0, 1.0, size=B)
    tied = rng.choice(B, size=B // 2, replace=False)
    logits[tied] = 0.0
    u[tied] = rng.integers(1, V, size=len(tied)) / V
    cases.insert(1, (logits, float(rng.uniform(0.5, 2.0)), u))
    return cases


SAMPLE_WITH_TEMPERATURE = Exercise(
    id="06.sample_with_temperature",
    notebook=NOTEBOOK,
    function="sample_with_temperature",
    points=2.0,
    title="Temperature softmax and one inverse-CDF draw per row from pre-drawn noise",
    cases=_swt_cases,
    reference=sample_with_temperature,
    mistakes=_where_it_differs({
        "temperature applied after the softmax (softmax(logits) / T): divide the logits by T "
        "before the softmax": _swt_after_softmax,
        "temperature applied after the softmax and renormalised, so it has no effect: divide the "
        "logits by T before the softmax": _swt_after_softmax_renormalised,
        "logits multiplied by the temperature instead of divided (T > 1 must flatten the "
        "distribution)": _swt_multiplied,
        "softmax computed as exp(z)/sum(exp(z)) without subtracting each row's max: it overflows "
        "for large logits": _swt_unstable,
        "softmax over the wrong axis: axis 0 runs across the batch; each row (the vocabulary, "
        "axis -1) must sum to 1": _swt_wrong_axis,
        "argmax (greedy) instead of a draw: use u with the cumulative sum of p": _swt_argmax,
        "ties resolved the wrong way: where u equals a value of cumsum(p) exactly, the symbol is "
        "the first with cumsum(p) > u (count the entries <= u, or np.searchsorted(cdf, u, "
        "side='right')), not the first with cumsum(p) >= u (cdf < u, side='left')": _swt_strict,
    }, sample_with_temperature),
    arg_names=("logits", "temperature", "u"),
    output_names=("p", "index"),
    hint="p = softmax(logits / temperature, axis=-1); index = number of cumsum(p) entries <= u.",
)


# ============================================================================ 06.beam_search_step
def _beam_step(logp, length, finished, step_logits, beam_size, eos, *, normalise=True,
               log_space=True, normalise_logits=True, axis=-1, carry_finished=True,
               count_finished=False, reverse_ties=False):
    """One routine with switches: the reference (defaults) and the likely mistakes."""
    n, V = step_logits.shape
    if normalise_logits:
        lsm = log_softmax(step_logits, axis=axis)
    else:
        lsm = step_logits
    if log_space:
        cand = logp[:, None] + lsm
    else:
        with np.errstate(divide="ignore"):
            cand = np.exp(logp)[:, None] * np.exp(lsm)
    cand_len = np.repeat((length + 1)[:, None], V, axis=1)
    if carry_finished:
        worst = -np.inf if log_space else 0.0
        for b in np.flatnonzero(finished):
            cand[b, :] = worst
            cand[b, eos] = logp[b] if log_space else np.exp(logp[b])
            cand_len[b, :] = length[b] + (1 if count_finished else 0)
    score = cand / cand_len if normalise else cand.copy()
    flat = score.reshape(-1)
    if reverse_ties:  # ascending sort read backwards: equal scores come out in reverse order
        order = np.argsort(flat)[::-1][:beam_size]
    elif reverse_ties is None:  # numpy's default sort, not stable: equal scores in any order
        order = np.argsort(-flat)[:beam_size]
    else:
        order = np.argsort(-flat, kind="stable")[:beam_size]
    parent, token = order // V, order % V
    return (parent.astype(np.int64), token.astype(np.int64), cand.reshape(-1)[order],
            cand_len.reshape(-1)[order].astype(np.int64))


def beam_search_step(logp, length, finished, step_logits, beam_size, eos):
    """Reference: one step of beam search for one example with ``n`` hypotheses.

    ``logp`` (n,) float64: summed log-probability of each hypothesis; ``length`` (n,) int: symbols
    generated so far; ``finished`` (n,) bool: the hypothesis already ended with ``eos``;
    ``step_logits`` (n, V) float64: logits of the next symbol (ignored for finished rows);
    ``beam_size`` k; ``eos`` the end symbol's id.

    Candidates: a live hypothesis ``b`` proposes every symbol ``v`` with log-probability
    ``logp[b] + log_softmax(step_logits[b])[v]`` and length ``length[b] + 1``; a finished one
    proposes only itself (symbol ``eos``, same log-probability, same length). Candidates are ranked
    by ``logp / length`` (descending), ties kept in the order ``b``-major, ``v``-minor.
    Returns ``(parent, token, new_logp, new_length)``, each of shape (k,).
    """
    return _beam_step(logp, length, finished, step_logits, beam_size, eos)


def _wrong_beam(**switches):
    def wrong(logp, length, finished, step_logits, beam_size, eos):
        return _beam_step(logp, length, finished, step_logits, beam_size, eos, **switches)
    return wrong


def _beam_cases(rng):
    cases = []
    for k in range(5):
        n, V = int(rng.integers(3, 6)), int(rng.integers(4, 8))
        t = int(rng.integers(3, 8))                          # live hypotheses have t symbols
        finished = np.zeros(n, dtype=bool)
        finished[rng.choice(n, size=int(rng.integers(1, n)), replace=False)] = True
        length = np.where(finished, rng.integers(1, t, size=n), t).astype(np.int64)
        # finished hypotheses are short but fairly probable per symbol; live ones longer
        logp = -length * rng.uniform(0.2, 1.2, size=n)
        step_logits = 2.0 * rng.standard_normal((n, V))
        if k == 0:
            # the best finished hypothesis scores between best / (t + 1) and best / t, best the
            # best live candidate's log-probability, and the other finished ones below it (no
            # two equal): it
            # comes second after that candidate, first if a live candidate's length is not
            # counted with its new symbol (t instead of t + 1)
            best = max(logp[b] + log_softmax(step_logits[b]).max() for b in np.flatnonzero(~finished))
            between = (best / t + best / (t + 1)) / 2
            f = np.flatnonzero(finished)
            logp[f] = np.minimum(logp[f], length[f] * (between - 1.0 - 0.37 * np.arange(len(f))))
            logp[f[0]] = length[f[0]] * between
        cases.append((logp, length, finished, step_logits, int(rng.integers(2, n + 1)),
                      int(rng.integers(V))))
    # ties: four identical live hypotheses whose best three symbols have equal logits: twelve
    # candidates tie for the lead and the beam keeps eight of them, so which ones and their order
    # (b-major, v-minor: a stable sort) is what is tested; a reversed sort always fails, an
    # unstable one (numpy's default) nearly always: two such cases
    for at in (1, 3):
        n, V = int(rng.integers(5, 8)), int(rng.integers(5, 8))
        t = int(rng.integers(3, 8))
        length = np.full(n, t, dtype=np.int64)
        logp = -t * rng.uniform(0.2, 1.2, size=n)
        step_logits = 2.0 * rng.standard_normal((n, V))
        rows = rng.choice(n, size=4, replace=False)
        top = rng.choice(V, size=3, replace=False)
        step_logits[rows[0], top] = step_logits[rows[0]].max() + 1.0
        logp[rows[0]] = logp.max() + 2.0  # the tied candidates lead the beam
        logp[rows[1:]], step_logits[rows[1:]] = logp[rows[0]], step_logits[rows[0]]
        cases.insert(at, (logp, length, np.zeros(n, dtype=bool), step_logits, 8,
                          int(rng.integers(V))))
    return cases


BEAM_SEARCH_STEP = Exercise(
    id="06.beam_search_step",
    notebook=NOTEBOOK,
    function="beam_search_step",
    points=3.0,
    title="One step of beam search: log space, length-normalised scores, finished hypotheses kept",
    cases=_beam_cases,
    reference=beam_search_step,
    mistakes=_where_it_differs({
        "scores not length-normalised: ranking by the summed log-probability favours the short "
        "finished hypotheses (rank by new_logp / new_length)": _wrong_beam(normalise=False),
        "not in log space: probabilities multiplied instead of log-probabilities added (add "
        "log_softmax values; products of many probabilities underflow)": _wrong_beam(log_space=False),
        "raw logits added instead of log-probabilities (apply log_softmax to step_logits first)":
            _wrong_beam(normalise_logits=False),
        "log-softmax over the wrong axis: axis 0 runs across hypotheses; normalise over the "
        "vocabulary (axis -1)": _wrong_beam(axis=0),
        "finished hypotheses extended like live ones: a hypothesis that produced eos must be "
        "carried over unchanged": _wrong_beam(carry_finished=False),
        "a finished hypothesis' length grows when it is carried over: it must stay the same":
            _wrong_beam(count_finished=True),
        "ties in reverse order: candidates with equal scores must keep the order b-major, "
        "v-minor (a stable sort of -score, np.argsort(-score, kind='stable')); an ascending "
        "sort read backwards (np.argsort(score)[::-1]) reverses them": _wrong_beam(reverse_ties=True),
        "ties out of order: np.argsort's default sort is not stable, equal scores come out in any "
        "order; candidates with equal scores must keep the order b-major, v-minor "
        "(np.argsort(-score, kind='stable'))": _wrong_beam(reverse_ties=None),
    }, beam_search_step),
    arg_names=("logp", "length", "finished", "step_logits", "beam_size", "eos"),
    output_names=("parent", "token", "new_logp", "new_length"),
    hint="Build all candidates (n, V) in log space, give finished rows one candidate (eos), rank "
         "by new_logp / new_length with a stable sort, keep beam_size.",
)

EXERCISES = [MASKED_CROSS_ENTROPY, SAMPLE_WITH_TEMPERATURE, BEAM_SEARCH_STEP]
