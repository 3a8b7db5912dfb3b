"""rnnlab.train.decode: temperature sampling, greedy decoding and beam search, checked against
closed forms and exhaustive search."""
import itertools

import numpy as np
import pytest
import torch

from rnnlab.train import decode as D

V, EOS = 4, 0


def _table_model(seed=0, eos_drift=0.6):
    """A tiny autoregressive model: logits depend on the last symbol and the step count."""
    g = torch.Generator().manual_seed(seed)
    table = 2.0 * torch.randn(V, V, generator=g, dtype=torch.float64)
    drift = torch.zeros(V, dtype=torch.float64)
    drift[EOS] = eos_drift

    def step(tok, state):
        t = state[0]
        return table[tok] + t[:, None] * drift, (t + 1)[None]

    def logp(start, seq):
        total, tok = 0.0, start
        for i, s in enumerate(seq):
            total += torch.log_softmax(table[tok] + i * drift, -1)[s].item()
            tok = s
        return total
    return step, logp


def test_softmax_with_temperature_limits():
    z = torch.tensor([[1.0, 2.0, 3.0]], dtype=torch.float64)
    np.testing.assert_allclose(D.softmax_with_temperature(z, 1.0), torch.softmax(z, -1))
    assert D.softmax_with_temperature(z, 1e-3)[0].argmax() == 2
    assert D.softmax_with_temperature(z, 1e-3)[0, 2] > 1 - 1e-12
    np.testing.assert_allclose(D.softmax_with_temperature(z, 1e6), torch.full((1, 3), 1 / 3), atol=1e-6)
    with pytest.raises(ValueError, match="temperature"):
        D.softmax_with_temperature(z, 0.0)
    with pytest.raises(TypeError, match="temperature"):
        D.softmax_with_temperature(z, "hot")


def test_sampling_frequencies_match_the_distribution():
    z = torch.tensor([[0.0, 1.0, 2.0, -1.0]], dtype=torch.float64).repeat(20000, 1)
    u = torch.rand(20000, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    for T in (0.5, 1.0, 2.0):
        idx = D.sample_with_temperature(z, T, u)
        freq = torch.bincount(idx, minlength=4).double() / 20000
        np.testing.assert_allclose(freq, D.softmax_with_temperature(z[:1], T)[0], atol=0.012)


def test_sampling_is_inverse_cdf_and_validates():
    z = torch.log(torch.tensor([[0.2, 0.5, 0.3]], dtype=torch.float64)).repeat(5, 1)
    u = torch.tensor([0.0, 0.19999, 0.2000001, 0.69999, 0.9999999], dtype=torch.float64)
    assert D.sample_with_temperature(z, 1.0, u).tolist() == [0, 0, 1, 1, 2]
    with pytest.raises(ValueError, match="u must have shape"):
        D.sample_with_temperature(z, 1.0, u[:2])
    with pytest.raises(ValueError, match="logits"):
        D.sample_with_temperature(z[0], 1.0, u[:1])


def test_sample_sequence_feeds_back_and_is_seeded():
    step, _ = _table_model()
    a = D.sample_sequence(step, torch.tensor([1, 2]), torch.zeros(1, 2), 12, 0.8,
                          torch.Generator().manual_seed(3))
    b = D.sample_sequence(step, torch.tensor([1, 2]), torch.zeros(1, 2), 12, 0.8,
                          torch.Generator().manual_seed(3))
    assert a.shape == (2, 12) and torch.equal(a, b)


def test_greedy_equals_beam_of_one_and_stops_at_eos():
    step, logp = _table_model()
    start = torch.tensor([1, 2, 3])
    g = D.greedy_decode(step, start, torch.zeros(1, 3), 8, EOS)
    b = D.beam_search(step, start, torch.zeros(1, 3), 1, 8, EOS, alpha=0.0)
    for i in range(3):
        L = int(g.lengths[i])
        assert g.tokens[i, :L].tolist() == b.tokens[i, :L].tolist()
        assert (g.tokens[i, L:] == EOS).all()
        assert g.logp[i].item() == pytest.approx(logp(int(start[i]), g.tokens[i, :L].tolist()))
    np.testing.assert_allclose(g.logp, b.logp)
    with pytest.raises(ValueError, match="batch_size"):
        D.greedy_decode(step, 1, torch.zeros(1, 1), 8, EOS)


def _exhaustive(logp, start, max_len, alpha):
    best = None
    for L in range(1, max_len + 1):
        for seq in itertools.product(range(V), repeat=L):
            if EOS in seq[:-1] or (L < max_len and seq[-1] != EOS):
                continue
            s = logp(start, seq) / L ** alpha
            if best is None or s > best[0]:
                best = (s, seq)
    return best


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("alpha", [0.0, 1.0])
def test_wide_beam_finds_the_exhaustive_optimum(seed, alpha):
    step, logp = _table_model(seed)
    max_len = 5
    for start in range(1, V):
        score, seq = _exhaustive(logp, start, max_len, alpha)
        r = D.beam_search(step, torch.tensor([start]), torch.zeros(1, 1), V ** max_len, max_len, EOS,
                          alpha=alpha)
        assert r.score[0].item() == pytest.approx(score)
        assert tuple(r.tokens[0, : r.lengths[0]].tolist()) == seq
        # beam scores are sorted, best first
        s = r.beam_scores[0][torch.isfinite(r.beam_scores[0])]
        assert (s[:-1] >= s[1:]).all()


def test_batched_beam_equals_one_example_at_a_time():
    step, _ = _table_model(5)
    start = torch.tensor([1, 2, 3, 1])
    batched = D.beam_search(step, start, torch.zeros(1, 4), 3, 6, EOS)
    for i in range(4):
        single = D.beam_search(step, start[i:i + 1], torch.zeros(1, 1), 3, 6, EOS)
        L = int(single.lengths[0])
        assert batched.tokens[i, :L].tolist() == single.tokens[0, :L].tolist()
        assert batched.logp[i].item() == pytest.approx(single.logp[0].item())


def test_beam_beats_greedy_on_the_textbook_trap():
    """First symbol: A (0.6) beats B (0.4); after A the continuations are spread out, after B one
    continuation is almost certain, so B's sequence is more probable overall."""
    A, B, C, E = 1, 2, 3, 0
    probs = {  # next-symbol distribution given the previous symbol (state = previous symbol)
        -1: [0.0, 0.6, 0.4, 0.0],
        A: [0.0, 0.34, 0.33, 0.33],
        B: [0.0, 0.0, 0.0, 1.0],
        C: [1.0, 0.0, 0.0, 0.0],
        E: [1.0, 0.0, 0.0, 0.0],
    }

    def step(tok, state):
        rows = [probs[int(t)] if int(s) > 0 else probs[-1] for t, s in zip(tok, state[0])]
        return torch.log(torch.tensor(rows, dtype=torch.float64) + 1e-300), state + 1
    greedy = D.greedy_decode(step, torch.tensor([0]), torch.zeros(1, 1), 4, E)
    beam = D.beam_search(step, torch.tensor([0]), torch.zeros(1, 1), 2, 4, E, alpha=0.0)
    assert greedy.tokens[0, :2].tolist() == [A, A]
    assert beam.tokens[0, :3].tolist() == [B, C, E]
    assert beam.logp[0] > greedy.logp[0]


def test_score_sequences_matches_manual_sum():
    step, logp = _table_model(2)
    toks = torch.tensor([[2, 3, 0, 1], [1, 1, 1, 1]])
    got = D.score_sequences(step, torch.tensor([1, 3]), torch.zeros(1, 2), toks, EOS)
    assert got[0].item() == pytest.approx(logp(1, [2, 3, 0]))
    assert got[1].item() == pytest.approx(logp(3, [1, 1, 1, 1]))


def test_select_state_and_step_validation():
    h = torch.arange(12.0).reshape(1, 4, 3)
    out = D.select_state((h, h), torch.tensor([3, 0]))
    assert out[0][0, 0].tolist() == [9.0, 10.0, 11.0]
    assert D.select_state(None, torch.tensor([0])) is None
    with pytest.raises(TypeError, match="state"):
        D.select_state({"h": h}, torch.tensor([0]))
    with pytest.raises(ValueError, match="step_logits"):
        D.beam_search_step(torch.zeros(1, 2), torch.zeros(1, 2, dtype=torch.long),
                           torch.zeros(1, 2, dtype=torch.bool), torch.zeros(1, 3, 5), 2, 0)
    with pytest.raises(ValueError, match="eos"):
        D.beam_search_step(torch.zeros(1, 2), torch.zeros(1, 2, dtype=torch.long),
                           torch.zeros(1, 2, dtype=torch.bool), torch.zeros(1, 2, 5), 2, 7)
