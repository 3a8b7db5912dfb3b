"""The chapter 6 checks: the solution passes, each likely mistake (written here as an independent
mutant of the solution) is rejected and named, wrong shapes and dtypes are rejected, and the
numpy references agree with the package's torch decoders."""
import numpy as np
import pytest
import torch

from rnnlab.grading import check, exercises
from rnnlab.grading.checks import ch06
from rnnlab.train import decode

from _check_helpers import assert_rejected, allow_torch


@pytest.fixture(autouse=True)
def _torch_built_answers(monkeypatch):
    """The solutions and mutants here are built on torch (independent of the check's numpy
    references) to test how values are diagnosed; tests/test_checks_torch_rule.py tests that a
    student's answer may not call torch."""
    allow_torch(monkeypatch, "06")

SEEDS = [0, 1, 2]


# --------------------------------------------------------------------------- solutions (torch)
def masked_cross_entropy(logits, targets, mask):
    lo = torch.from_numpy(logits)
    loss = torch.nn.functional.cross_entropy(lo[torch.from_numpy(mask)],
                                             torch.from_numpy(targets)[torch.from_numpy(mask)])
    return loss.item()


def sample_with_temperature(logits, temperature, u):
    p = torch.softmax(torch.from_numpy(logits) / temperature, dim=1).numpy()
    index = np.array([np.searchsorted(np.cumsum(row), x, side="right") for row, x in zip(p, u)])
    return p, np.minimum(index, p.shape[1] - 1)


def beam_search_step(logp, length, finished, step_logits, beam_size, eos):
    cands = []   # (score, order, parent, token, logp, length)
    lsm = torch.log_softmax(torch.from_numpy(step_logits), dim=1).numpy()
    for b in range(len(logp)):
        if finished[b]:
            cands.append((logp[b] / length[b], len(cands), b, eos, logp[b], length[b]))
            continue
        for v in range(step_logits.shape[1]):
            lp = logp[b] + lsm[b, v]
            cands.append((lp / (length[b] + 1), len(cands), b, v, lp, length[b] + 1))
    cands.sort(key=lambda c: (-c[0], c[1]))
    best = cands[:beam_size]
    return tuple(np.array([c[k] for c in best]) for k in (2, 3, 4, 5))


SOLUTIONS = {
    "06.masked_cross_entropy": masked_cross_entropy,
    "06.sample_with_temperature": sample_with_temperature,
    "06.beam_search_step": beam_search_step,
}


def test_registered():
    ids = sorted(ex.id for ex in exercises() if ex.notebook == "06_sequence_tasks.ipynb")
    assert ids == ["06.beam_search_step", "06.masked_cross_entropy", "06.sample_with_temperature"]
    for ex in exercises():
        if ex.notebook == "06_sequence_tasks.ipynb":
            assert ex.points > 0 and ex.mistakes and ex.hint


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("exercise_id", sorted(SOLUTIONS))
def test_solution_passes(exercise_id, seed):
    result = check(exercise_id, SOLUTIONS[exercise_id], seed=seed)
    assert result.passed and result.score == result.max_score > 0, result.message


@pytest.mark.parametrize("exercise_id", sorted(SOLUTIONS))
def test_not_attempted(exercise_id):
    def stub(*args):
        raise NotImplementedError("write me")
    result = check(exercise_id, stub, seed=0)
    assert result.status == "not attempted" and result.score == 0


# --------------------------------------------------------------------------- masked loss mutants
def _lsm(z, axis=-1):
    return torch.log_softmax(torch.from_numpy(z), dim=axis).numpy()


def mce_counts_padding(logits, targets, mask):
    return torch.nn.functional.cross_entropy(torch.from_numpy(logits).reshape(-1, logits.shape[-1]),
                                             torch.from_numpy(targets).reshape(-1)).item()


def mce_divides_by_all(logits, targets, mask):
    total = 0.0
    for n in range(logits.shape[0]):
        for t in range(logits.shape[1]):
            if mask[n, t]:
                total -= _lsm(logits[n, t])[targets[n, t]]
    return total / mask.size


def mce_time_axis(logits, targets, mask):
    lsm = _lsm(logits, axis=1)
    vals = [-lsm[n, t, targets[n, t]] for n, t in zip(*np.nonzero(mask))]
    return float(np.mean(vals))


def mce_per_sentence(logits, targets, mask):
    per = []
    for n in range(logits.shape[0]):
        T = int(mask[n].sum())
        per.append(torch.nn.functional.cross_entropy(torch.from_numpy(logits[n, :T]),
                                                     torch.from_numpy(targets[n, :T])).item())
    return float(np.mean(per))


def mce_sum(logits, targets, mask):
    return masked_cross_entropy(logits, targets, mask) * mask.sum()


def mce_naive_softmax(logits, targets, mask):
    with np.errstate(all="ignore"):
        e = np.exp(logits)
        p = e / e.sum(axis=2, keepdims=True)
        return float(-np.log(p[mask, targets[mask]]).mean())


@pytest.mark.parametrize("mutant, mistake", [
    (mce_counts_padding, "padding counted"),
    (mce_divides_by_all, "divides by N*T"),
    (mce_time_axis, "wrong axis"),
    (mce_per_sentence, "per-sentence means"),
    (mce_sum, "summed instead of averaged"),
    (mce_naive_softmax, "without subtracting the max"),
])
def test_masked_loss_mutants(mutant, mistake):
    assert_rejected("06.masked_cross_entropy", mutant, mistake=mistake)


def test_masked_loss_wrong_dtype_and_shape():
    assert_rejected("06.masked_cross_entropy",
                    lambda *a: np.float32(masked_cross_entropy(*a)), "float32")
    assert_rejected("06.masked_cross_entropy", lambda *a: round(masked_cross_entropy(*a)))
    assert_rejected("06.masked_cross_entropy",
                    lambda l, t, m: np.full(t.shape, masked_cross_entropy(l, t, m)), "loss")


# --------------------------------------------------------------------------- temperature mutants
def _draw(p, u):
    return np.array([min(int(np.searchsorted(np.cumsum(r), x, side="right")), len(r) - 1)
                     for r, x in zip(p, u)])


def swt_after_softmax(logits, temperature, u):
    p = torch.softmax(torch.from_numpy(logits), 1).numpy() / temperature
    return p, _draw(p, u)


def swt_no_effect(logits, temperature, u):
    p = torch.softmax(torch.from_numpy(logits), 1).numpy()
    p = p / temperature
    p = p / p.sum(1, keepdims=True)
    return p, _draw(p, u)


def swt_multiplied(logits, temperature, u):
    p = torch.softmax(torch.from_numpy(logits) * temperature, 1).numpy()
    return p, _draw(p, u)


def swt_axis0(logits, temperature, u):
    p = torch.softmax(torch.from_numpy(logits) / temperature, 0).numpy()
    return p, _draw(p, u)


def swt_greedy(logits, temperature, u):
    p = torch.softmax(torch.from_numpy(logits) / temperature, 1).numpy()
    return p, np.argmax(logits, axis=1)


def swt_cdf_less_than(logits, temperature, u):  # the first symbol with cdf >= u
    p = torch.softmax(torch.from_numpy(logits) / temperature, 1).numpy()
    index = np.array([np.searchsorted(np.cumsum(row), x, side="left") for row, x in zip(p, u)])
    return p, np.minimum(index, p.shape[1] - 1)


def swt_loop_less_than(logits, temperature, u):  # counts cdf < u, written as a loop
    z = logits / temperature
    e = np.exp(z - z.max(1, keepdims=True))
    p = e / e.sum(1, keepdims=True)
    index = []
    for row, x in zip(p, u):
        cdf, i = 0.0, 0
        for i, q in enumerate(row):
            cdf += q
            if not cdf < x:
                break
        index.append(i)
    return p, np.array(index)


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("mutant", [swt_cdf_less_than, swt_loop_less_than])
def test_temperature_ties_reject_cdf_less_than_u(mutant, seed):
    """cdf < u (side='left') and cdf <= u differ only where u equals a value of the cdf: a case
    with tied values makes the difference, and names it."""
    assert_rejected("06.sample_with_temperature", mutant, "index", mistake="ties resolved",
                    seed=seed)


@pytest.mark.parametrize("mutant, mistake", [
    (swt_after_softmax, "softmax(logits) / T"),
    (swt_no_effect, "no effect"),
    (swt_multiplied, "multiplied"),
    (swt_axis0, "wrong axis"),
    (swt_greedy, "argmax"),
])
def test_temperature_mutants(mutant, mistake):
    assert_rejected("06.sample_with_temperature", mutant, mistake=mistake)


def test_temperature_wrong_dtype_and_shape():
    def float32(*a):
        p, i = sample_with_temperature(*a)
        return p.astype(np.float32), i

    def index_as_float(*a):
        p, i = sample_with_temperature(*a)
        return p, i + 0.5

    def transposed(*a):
        p, i = sample_with_temperature(*a)
        return p.T, i

    def one_too_far(*a):  # off by one in the inverse CDF
        p, i = sample_with_temperature(*a)
        return p, i + 1

    assert_rejected("06.sample_with_temperature", float32, "float32")
    assert_rejected("06.sample_with_temperature", index_as_float, "index")
    assert_rejected("06.sample_with_temperature", transposed, "shape")
    assert_rejected("06.sample_with_temperature", one_too_far, "index")


# --------------------------------------------------------------------------- beam mutants
def _beam(logp, length, finished, step_logits, beam_size, eos, score_of, logp_of=None,
          carry=True, grow_finished=False, lsm_axis=1, raw=False):
    lsm = step_logits if raw else _lsm(step_logits, axis=lsm_axis)
    cands = []
    for b in range(len(logp)):
        if finished[b] and carry:
            L = length[b] + (1 if grow_finished else 0)
            lp = logp[b] if logp_of is None else np.exp(logp[b])
            cands.append((score_of(lp, L), len(cands), b, eos, lp, L))
            continue
        for v in range(step_logits.shape[1]):
            lp = logp[b] + lsm[b, v] if logp_of is None else logp_of(logp[b], lsm[b, v])
            cands.append((score_of(lp, length[b] + 1), len(cands), b, v, lp, length[b] + 1))
    cands.sort(key=lambda c: (-c[0], c[1]))
    best = cands[:beam_size]
    return tuple(np.array([c[k] for c in best]) for k in (2, 3, 4, 5))


def beam_unnormalised(*a):
    return _beam(*a, score_of=lambda lp, L: lp)


def beam_probabilities(*a):
    return _beam(*a, score_of=lambda p, L: p / L, logp_of=lambda lp, l: np.exp(lp) * np.exp(l))


def beam_raw_logits(*a):
    return _beam(*a, score_of=lambda lp, L: lp / L, raw=True)


def beam_axis0(*a):
    return _beam(*a, score_of=lambda lp, L: lp / L, lsm_axis=0)


def beam_extends_finished(*a):
    return _beam(*a, score_of=lambda lp, L: lp / L, carry=False)


def beam_grows_finished(*a):
    return _beam(*a, score_of=lambda lp, L: lp / L, grow_finished=True)


def beam_reversed_ties(logp, length, finished, step_logits, beam_size, eos):
    """Ranks with an ascending sort read backwards: equal scores in reverse order."""
    lsm = _lsm(step_logits, axis=1)
    n, V = step_logits.shape
    cand = logp[:, None] + lsm
    L = np.repeat((length + 1)[:, None], V, axis=1)
    for b in np.flatnonzero(finished):
        cand[b], L[b] = -np.inf, length[b]
        cand[b, eos] = logp[b]
    order = np.argsort((cand / L).ravel())[::-1][:beam_size]
    return order // V, order % V, cand.ravel()[order], L.ravel()[order]


@pytest.mark.parametrize("mutant, mistake", [
    (beam_unnormalised, "not length-normalised"),
    (beam_probabilities, "not in log space"),
    (beam_raw_logits, "raw logits"),
    (beam_axis0, "wrong axis"),
    (beam_extends_finished, "extended like live ones"),
    (beam_grows_finished, "length grows"),
    (beam_reversed_ties, "ties in reverse order"),
])
def test_beam_mutants(mutant, mistake):
    assert_rejected("06.beam_search_step", mutant, mistake=mistake)


@pytest.mark.parametrize("seed", range(6))
def test_beam_reversed_ties_rejected_on_every_seed(seed):
    result = assert_rejected("06.beam_search_step", beam_reversed_ties, "on case 2 of",
                             mistake="ties in reverse order", seed=seed)
    assert "parent" in result.message or "token" in result.message


def test_beam_wrong_dtype_and_shape():
    def float32(*a):
        p, t, lp, L = beam_search_step(*a)
        return p, t, lp.astype(np.float32), L

    def all_candidates(*a):   # forgot to keep only beam_size
        logp, length, finished, step_logits, k, eos = a
        return beam_search_step(logp, length, finished, step_logits, 10 ** 6, eos)

    def three_outputs(*a):
        return beam_search_step(*a)[:3]

    assert_rejected("06.beam_search_step", float32, "float32")
    assert_rejected("06.beam_search_step", all_candidates, "shape")
    assert_rejected("06.beam_search_step", three_outputs, "values")


# --------------------------------------------------------------------------- references vs package
@pytest.mark.parametrize("seed", range(5))
def test_references_equal_the_package(seed):
    rng = np.random.default_rng(seed)
    for logp, length, finished, logits, k, eos in ch06._beam_cases(rng):
        ref = ch06.beam_search_step(logp, length, finished, logits, k, eos)
        got = decode.beam_search_step(torch.from_numpy(logp)[None], torch.from_numpy(length)[None],
                                      torch.from_numpy(finished)[None],
                                      torch.from_numpy(logits)[None], k, eos)
        np.testing.assert_array_equal(got.parent[0].numpy(), ref[0])
        np.testing.assert_array_equal(got.token[0].numpy(), ref[1])
        np.testing.assert_allclose(got.logp[0].numpy(), ref[2], rtol=0, atol=1e-12)
        np.testing.assert_array_equal(got.length[0].numpy(), ref[3])
    for logits, T, u in ch06._swt_cases(rng):
        p, index = ch06.sample_with_temperature(logits, T, u)
        np.testing.assert_allclose(decode.softmax_with_temperature(torch.from_numpy(logits), T).numpy(),
                                   p, rtol=0, atol=1e-14)
        np.testing.assert_array_equal(
            decode.sample_with_temperature(torch.from_numpy(logits), T, torch.from_numpy(u)).numpy(),
            index)


def test_cases_are_deterministic_per_seed():
    for ex in exercises():
        if ex.id.startswith("06."):
            a, b = ex.cases(np.random.default_rng(7)), ex.cases(np.random.default_rng(7))
            assert len(a) == len(b)
            for ca, cb in zip(a, b):
                for x, y in zip(ca, cb):
                    np.testing.assert_array_equal(np.asarray(x), np.asarray(y))


# --------------------------------------------------------------------------- wrong answers fed to the checks
def mce_log_of_softmax(logits, targets, mask):
    """Shifted by the max (no overflow) but the log taken of the probabilities: a target far
    below the best tag has probability 0 in float64 and loss inf."""
    z = logits - logits.max(axis=2, keepdims=True)
    with np.errstate(divide="ignore"):
        p = torch.softmax(torch.from_numpy(z), dim=2).numpy()
        return float(-np.log(p[mask, targets[mask]]).mean())


@pytest.mark.parametrize("seed", range(6))
def test_masked_loss_log_of_softmax_rejected_on_every_seed(seed):
    # passed on seeds 2 to 5 when no real word's target happened to sit 745 below the best
    assert_rejected("06.masked_cross_entropy", mce_log_of_softmax,
                    mistake="log taken of the softmax", seed=seed)


def swt_naive_softmax(logits, temperature, u):
    with np.errstate(all="ignore"):
        e = np.exp(logits / temperature)
        p = e / e.sum(axis=1, keepdims=True)
    return p, _draw(p, u)


@pytest.mark.parametrize("seed", range(6))
def test_temperature_unstable_softmax_rejected_on_every_seed(seed):
    # exp(logits / T) without the max passed every draw when all logits were small
    assert_rejected("06.sample_with_temperature", swt_naive_softmax, "NaN",
                    mistake="without subtracting each row's max", seed=seed)


def _float32_rounded(func):
    def rounded(*args):
        out = func(*args)
        if isinstance(out, float):
            return float(np.float32(out))
        return tuple(np.asarray(v, np.float32).astype(np.float64) if np.asarray(v).dtype.kind == "f"
                     else v for v in out)
    return rounded


@pytest.mark.parametrize("seed", range(3))
@pytest.mark.parametrize("exercise_id", sorted(SOLUTIONS))
def test_float32_answer_gets_the_float32_diagnosis_not_a_mistake(exercise_id, seed):
    """A mistake that equals the reference on a case (the tie rule without ties, an unstable
    softmax on small logits) must not be named for an answer that is off by float32 rounding
    there: it was ("ties in reverse order", "without subtracting the max")."""
    result = assert_rejected(exercise_id, _float32_rounded(SOLUTIONS[exercise_id]), "float32",
                             seed=seed)
    assert result.mistake is None, result.message


def beam_old_length(logp, length, finished, step_logits, beam_size, eos):
    """Live candidates ranked by new_logp / length, the length before the new symbol is added."""
    n, V = step_logits.shape
    cand = logp[:, None] + _lsm(step_logits, axis=1)
    cand_len = np.repeat(length[:, None] + 1, V, axis=1)
    cand[finished] = -np.inf
    cand[finished, eos] = logp[finished]
    cand_len[finished] = length[finished][:, None]
    rank_len = np.where(finished[:, None], cand_len, length[:, None])
    score = (cand / rank_len).ravel()
    order = np.array(sorted(range(n * V), key=lambda i: -score[i])[:beam_size])
    return order // V, order % V, cand.ravel()[order], cand_len.ravel()[order]


@pytest.mark.parametrize("seed", range(12))
def test_beam_live_length_without_the_new_symbol_rejected_on_every_seed(seed):
    # passed seed 6 when no finished hypothesis scored between best / (t + 1) and best / t
    assert_rejected("06.beam_search_step", beam_old_length, "parent", seed=seed)
