"""Attention (chapter 6e): the numpy step against finite differences, the torch modules against the
numpy step in float64, the dot score against torch's scaled_dot_product_attention, masks (an
all-masked row included), bad input, and the encoder–decoder with rnnlab.train.decode."""
from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch
import torch.nn.functional as F

import rnnlab.modules as rm
import rnnlab.scratch as rs
from rnnlab.modules.attention import make_attention
from rnnlab.train import decode

ATOL = 1e-12
FD = dict(order=4, eps=1e-3)
F64 = torch.float64
SCORES = ["dot", "general", "additive"]


pytestmark = pytest.mark.usefixtures("one_torch_thread")  # fixture in conftest.py


def rand_case(score, N=3, S=5, d_q=4, d_k=4, d_v=3, A=6, seed=0, bias=True, mask="ragged"):
    """Arguments of rs.attention_step: (args, params). mask: None, "ragged" (one short row, one
    row of a single position) or "empty" (as ragged, plus a row with no valid position)."""
    rng = np.random.default_rng(seed)
    d_k = d_q if score == "dot" else d_k
    args = dict(query=rng.standard_normal((N, d_q)), keys=rng.standard_normal((N, S, d_k)),
                values=rng.standard_normal((N, S, d_v)))
    if mask is not None:
        lengths = [S, 2, 1] + [S] * (N - 3)
        m = np.arange(S)[None, :] < np.array(lengths)[:, None]
        if mask == "empty":
            m[1] = False
        args["mask"] = m
    params = {}
    if score == "general":
        params["weight"] = rng.standard_normal((d_q, d_k)) * 0.5
    if score == "additive":
        params.update(weight_query=rng.standard_normal((A, d_q)) * 0.5,
                      weight_key=rng.standard_normal((A, d_k)) * 0.5,
                      weight_score=rng.standard_normal(A))
        if bias:
            params["bias"] = rng.standard_normal(A) * 0.5
    return args, params


# --------------------------------------------------------------------------- masked softmax
@pytest.mark.parametrize("seed", range(3))
def test_masked_softmax_is_the_softmax_of_the_valid_positions(seed):
    rng = np.random.default_rng(seed)
    scores = rng.standard_normal((4, 7)) * 5
    mask = rng.random((4, 7)) < 0.6
    mask[0] = True
    mask[1] = False
    mask[2, :] = False
    mask[2, 3] = True
    ours = rs.masked_softmax(scores, mask)
    theirs = rm.masked_softmax(torch.tensor(scores), torch.tensor(mask)).numpy()
    for n in range(4):
        valid = np.flatnonzero(mask[n])
        expected = np.zeros(7)
        if valid.size:
            expected[valid] = torch.softmax(torch.tensor(scores[n, valid]), 0).numpy()
        np.testing.assert_allclose(ours[n], expected, rtol=0, atol=ATOL)
        np.testing.assert_allclose(theirs[n], expected, rtol=0, atol=ATOL)
    assert np.all(ours[~mask] == 0) and np.all(ours[1] == 0)
    np.testing.assert_allclose(ours[mask.any(1)].sum(1), 1.0, rtol=0, atol=1e-14)


def test_masked_softmax_is_stable_for_large_scores():
    scores = np.array([[1000.0, 999.0, -1000.0], [-1e4, -1e4 + 1, 0.0]])
    mask = np.array([[True, True, True], [True, True, False]])
    p = rs.masked_softmax(scores, mask)
    assert np.all(np.isfinite(p))
    np.testing.assert_allclose(p[1, :2], [1 / (1 + np.e), np.e / (1 + np.e)], rtol=1e-14)


def test_masked_softmax_backward_matches_finite_differences():
    rng = np.random.default_rng(1)
    scores = rng.standard_normal((3, 6))
    mask = np.ones((3, 6), dtype=bool)
    mask[1, 4:] = False
    mask[2] = False
    g = rng.standard_normal((3, 6))
    analytic = rs.masked_softmax_backward(g, rs.masked_softmax(scores, mask))

    def loss(_):
        return float((rs.masked_softmax(scores, mask) * g).sum())

    assert rs.gradcheck(loss, scores, analytic, **FD) < 1e-9
    assert np.all(analytic[~mask] == 0)


# --------------------------------------------------------------------------- scratch vs FD
@pytest.mark.parametrize("score", SCORES)
@pytest.mark.parametrize("mask", [None, "ragged", "empty"])
@pytest.mark.parametrize("scale", [1.0, 0.5])
def test_attention_step_backward_matches_finite_differences(score, mask, scale):
    args, params = rand_case(score, seed=2, mask=mask)
    rng = np.random.default_rng(3)
    context, weights, cache = rs.attention_step(**args, **params, score=score, scale=scale)
    g_ctx, g_w = rng.standard_normal(context.shape), rng.standard_normal(weights.shape)

    def loss(_):
        c, w, _cache = rs.attention_step(**args, **params, score=score, scale=scale)
        return float((c * g_ctx).sum() + (w * g_w).sum())

    grads = rs.attention_step_backward(g_ctx, cache, d_weights=g_w)
    analytic = {"query": grads.d_query, "keys": grads.d_keys, "values": grads.d_values}
    names = {"weight": grads.d_weight, "weight_query": grads.d_weight_query,
             "weight_key": grads.d_weight_key, "bias": grads.d_bias,
             "weight_score": grads.d_weight_score}
    for name, value in names.items():
        if name in params:
            analytic[name] = value
        else:
            assert value is None, f"{name} is not a parameter of {score!r}"
    arrays = {k: args[k] for k in ("query", "keys", "values")} | params
    errors = rs.gradcheck(loss, arrays, analytic, per_param=True, **FD)
    assert max(errors.values()) < 1e-8, errors
    if mask is not None:  # nothing reaches a masked position
        hidden = ~args["mask"]
        assert np.all(grads.d_keys[hidden] == 0) and np.all(grads.d_values[hidden] == 0)


def test_attention_step_without_bias_and_without_weight_gradient():
    args, params = rand_case("additive", bias=False, seed=5)
    context, weights, cache = rs.attention_step(**args, **params, score="additive")
    grads = rs.attention_step_backward(np.ones_like(context), cache)
    assert grads.d_bias is None and grads.d_weight is None


# --------------------------------------------------------------------------- scratch vs modules
def module_for(score, params, scaled=False):
    d_q, d_k, A = 4, 4, 6
    if score == "dot":
        mod = rm.DotAttention(scaled=scaled)
    elif score == "general":
        mod = rm.GeneralAttention(d_q, d_k, dtype=F64)
    else:
        mod = rm.AdditiveAttention(d_q, d_k, A, bias="bias" in params, dtype=F64)
    mod.load_state_dict({k: torch.tensor(v) for k, v in params.items()})
    return mod


@pytest.mark.parametrize("score,bias", [("dot", False), ("general", False), ("additive", True),
                                        ("additive", False)])
@pytest.mark.parametrize("mask", [None, "ragged", "empty"])
def test_modules_equal_scratch(score, mask, bias):
    args, params = rand_case(score, seed=7, mask=mask, bias=bias)
    mod = module_for(score, params)
    assert sorted(n for n, _ in mod.named_parameters()) == sorted(params)
    context, weights, cache = rs.attention_step(**args, **params, score=score)
    rng = np.random.default_rng(8)
    g_ctx, g_w = rng.standard_normal(context.shape), rng.standard_normal(weights.shape)
    grads = rs.attention_step_backward(g_ctx, cache, d_weights=g_w)

    t = {k: torch.tensor(args[k], requires_grad=True) for k in ("query", "keys", "values")}
    t_mask = None if mask is None else torch.tensor(args["mask"])
    t_ctx, t_w = mod(t["query"], t["keys"], t["values"], mask=t_mask)
    np.testing.assert_allclose(t_ctx.detach().numpy(), context, rtol=0, atol=ATOL)
    np.testing.assert_allclose(t_w.detach().numpy(), weights, rtol=0, atol=ATOL)
    ((t_ctx * torch.tensor(g_ctx)).sum() + (t_w * torch.tensor(g_w)).sum()).backward()
    np.testing.assert_allclose(t["query"].grad.numpy(), grads.d_query, rtol=0, atol=ATOL)
    np.testing.assert_allclose(t["keys"].grad.numpy(), grads.d_keys, rtol=0, atol=ATOL)
    np.testing.assert_allclose(t["values"].grad.numpy(), grads.d_values, rtol=0, atol=ATOL)
    ours = {"weight": grads.d_weight, "weight_query": grads.d_weight_query,
            "weight_key": grads.d_weight_key, "bias": grads.d_bias,
            "weight_score": grads.d_weight_score}
    for name, p in mod.named_parameters():
        np.testing.assert_allclose(p.grad.numpy(), ours[name], rtol=0, atol=ATOL, err_msg=name)


@pytest.mark.parametrize("score", SCORES)
def test_modules_all_steps_at_once_equal_one_step_at_a_time(score):
    """A (B, U, d_q) query (teacher forcing) gives the U single steps, each of the numpy step."""
    rng = np.random.default_rng(11)
    args, params = rand_case(score, seed=12)
    mod = module_for(score, params)
    U = 4
    queries = rng.standard_normal((3, U, 4))
    ctx, w = mod(torch.tensor(queries), torch.tensor(args["keys"]), torch.tensor(args["values"]),
                 mask=torch.tensor(args["mask"]))
    assert ctx.shape == (3, U, 3) and w.shape == (3, U, 5)
    for u in range(U):
        c_u, w_u, _ = rs.attention_step(queries[:, u], args["keys"], args["values"], args["mask"],
                                        score=score, **params)
        np.testing.assert_allclose(ctx[:, u].detach().numpy(), c_u, rtol=0, atol=ATOL)
        np.testing.assert_allclose(w[:, u].detach().numpy(), w_u, rtol=0, atol=ATOL)


def test_values_default_to_the_keys():
    args, params = rand_case("general", d_v=4, seed=13)
    mod = module_for("general", params)
    keys = torch.tensor(args["keys"])
    a = mod(torch.tensor(args["query"]), keys)
    b = mod(torch.tensor(args["query"]), keys, keys)
    torch.testing.assert_close(a, b, rtol=0, atol=0)


# --------------------------------------------------------------------------- dot vs SDPA
@pytest.mark.parametrize("scaled", [False, True])
@pytest.mark.parametrize("mask", [None, "ragged", "empty"])
@pytest.mark.parametrize("steps", [None, 3])
def test_dot_attention_equals_scaled_dot_product_attention(scaled, mask, steps):
    """torch's SDPA with scale=1 is Luong's dot score, with its default scale 1/sqrt(d_k) the
    scaled dot product; a boolean attn_mask means what our mask means (True = take part)."""
    args, _ = rand_case("dot", N=4, S=6, d_q=5, seed=21, mask=mask)
    rng = np.random.default_rng(22)
    q = torch.tensor(rng.standard_normal((4, steps, 5)) if steps else args["query"], requires_grad=True)
    k = torch.tensor(args["keys"], requires_grad=True)
    v = torch.tensor(args["values"], requires_grad=True)
    m = None if mask is None else torch.tensor(args["mask"])
    ours, weights = rm.DotAttention(scaled=scaled)(q, k, v, mask=m)
    q3 = q if steps else q[:, None]
    theirs = F.scaled_dot_product_attention(q3, k, v, attn_mask=None if m is None else m[:, None, :],
                                            scale=None if scaled else 1.0)
    theirs = theirs if steps else theirs[:, 0]
    torch.testing.assert_close(ours, theirs, rtol=0, atol=ATOL)
    g = torch.tensor(rng.standard_normal(ours.shape))
    grads_ours = torch.autograd.grad((ours * g).sum(), (q, k, v))
    grads_theirs = torch.autograd.grad((theirs * g).sum(), (q, k, v))
    for a, b, name in zip(grads_ours, grads_theirs, "qkv"):
        torch.testing.assert_close(a, b, rtol=0, atol=1e-11, msg=name)
    if not steps:  # and the numpy step with scale 1/sqrt(d_k)
        ctx, _, _ = rs.attention_step(**args, score="dot", scale=1 / np.sqrt(5) if scaled else 1.0)
        np.testing.assert_allclose(ours.detach().numpy(), ctx, rtol=0, atol=ATOL)


# --------------------------------------------------------------------------- masks
@pytest.mark.parametrize("score", SCORES)
def test_an_all_masked_row_attends_to_nothing(score):
    args, params = rand_case(score, seed=31, mask="empty")
    context, weights, cache = rs.attention_step(**args, **params, score=score)
    assert np.all(weights[1] == 0) and np.all(context[1] == 0)
    grads = rs.attention_step_backward(np.ones_like(context), cache, d_weights=np.ones_like(weights))
    assert np.all(grads.d_query[1] == 0) and np.all(grads.d_keys[1] == 0)
    assert np.all(grads.d_values[1] == 0)
    mod = module_for(score, params)
    q = torch.tensor(args["query"], requires_grad=True)
    ctx, w = mod(q, torch.tensor(args["keys"]), torch.tensor(args["values"]),
                 mask=torch.tensor(args["mask"]))
    (ctx.sum() + w.sum()).backward()
    assert torch.all(ctx[1] == 0) and torch.all(w[1] == 0) and torch.all(q.grad[1] == 0)
    assert torch.all(torch.isfinite(q.grad))
    for p in mod.parameters():
        assert torch.all(torch.isfinite(p.grad))


@pytest.mark.parametrize("score", SCORES)
def test_masked_positions_do_not_matter(score):
    """Whatever the keys and values at masked positions hold, context and weights stay the same."""
    args, params = rand_case(score, seed=41)
    c1, w1, _ = rs.attention_step(**args, **params, score=score)
    junk = dict(args)
    hidden = ~args["mask"]
    junk["keys"] = args["keys"].copy()
    junk["values"] = args["values"].copy()
    junk["keys"][hidden] = 1e3
    junk["values"][hidden] = -1e3
    c2, w2, _ = rs.attention_step(**junk, **params, score=score)
    np.testing.assert_allclose(c1, c2, rtol=0, atol=ATOL)
    np.testing.assert_allclose(w1, w2, rtol=0, atol=ATOL)
    valid = args["mask"].any(1)
    np.testing.assert_allclose(w1[valid].sum(1), 1.0, rtol=0, atol=1e-14)


# --------------------------------------------------------------------------- bad input
def raises(exc, call, *words):
    with pytest.raises(exc) as info:
        call()
    for word in words:
        assert word in str(info.value), str(info.value)


def test_scratch_errors_name_the_argument():
    args, params = rand_case("general", seed=51)
    step = rs.attention_step
    raises(ValueError, lambda: step(args["query"][:, None], args["keys"], args["values"],
                                    score="general", **params), "query", "(N, d_q)")
    raises(ValueError, lambda: step(args["query"], args["keys"][:2], args["values"], score="general",
                                    **params), "keys", "(N, S, d_k)")
    raises(ValueError, lambda: step(args["query"], args["keys"], args["values"][:, :3],
                                    score="general", **params), "values", "(N, S, d_v)")
    raises(ValueError, lambda: step(**{**args, "mask": args["mask"][:, :3]}, score="general",
                                    **params), "mask", "(3, 5)")
    raises(TypeError, lambda: step(**{**args, "mask": args["mask"].astype(int)}, score="general",
                                   **params), "mask", "bool")
    g, gp = rand_case("general", d_k=3, seed=54)
    raises(ValueError, lambda: step(**g, score="general", weight=gp["weight"].T), "weight",
           "(4, 3)", "(d_q, d_k)")
    raises(ValueError, lambda: step(**args, score="general"), "needs weight")
    raises(ValueError, lambda: step(**args, score="dot", **params), "takes no weight")
    raises(ValueError, lambda: step(**args, score="cosine"), "score must be one of")
    raises(TypeError, lambda: step(**args, score="general", scale="1", **params), "scale")
    raises(TypeError, lambda: step(args["query"].astype(int), args["keys"], args["values"],
                                   score="general", **params), "query", "floating")
    a, p = rand_case("additive", seed=52)
    raises(ValueError, lambda: step(**a, score="additive", **{**p, "weight_key": p["weight_key"][:, :2]}),
           "weight_key", "(A, d_k)")
    raises(ValueError, lambda: step(**a, score="additive", **{**p, "weight_score": p["weight_score"][:2]}),
           "weight_score", "(A,)")
    d, _ = rand_case("general", d_q=4, d_k=3, seed=53)
    raises(ValueError, lambda: step(**d, score="dot"), "one size")
    raises(ValueError, lambda: rs.masked_softmax(np.zeros((2, 3)), np.ones((3, 3), dtype=bool)), "mask")


def test_module_errors_name_the_argument():
    q, k = torch.randn(3, 4), torch.randn(3, 5, 4)
    dot, gen = rm.DotAttention(), rm.GeneralAttention(4, 6)
    add = rm.AdditiveAttention(4, 4, 8)
    raises(ValueError, lambda: dot(q[0], k), "query", "(B, d_q)")
    raises(ValueError, lambda: dot(q, k[:2]), "keys", "(B, S, d_k)")
    raises(ValueError, lambda: dot(q, k, torch.randn(3, 4, 2)), "values", "(B, S, d_v)")
    raises(ValueError, lambda: dot(q, torch.randn(3, 5, 3)), "one size")
    raises(ValueError, lambda: gen(q, k), "key_size", "Expected 6, got 4")
    raises(ValueError, lambda: add(torch.randn(3, 5), k), "query_size", "Expected 4, got 5")
    raises(ValueError, lambda: dot(q, k, mask=torch.ones(3, 4, dtype=torch.bool)), "mask", "(3, 5)")
    raises(TypeError, lambda: dot(q, k, mask=torch.ones(3, 5)), "mask", "bool")
    raises(TypeError, lambda: dot(q.numpy(), k), "query", "torch.Tensor")
    raises(TypeError, lambda: rm.DotAttention(scaled=1), "scaled")
    raises(ValueError, lambda: rm.AdditiveAttention(4, 4, 0), "attention_size")
    raises(ValueError, lambda: make_attention("cosine", 4, 4), "score must be one of")


# --------------------------------------------------------------------------- the decoder
VOCAB = 9


def small_model(attention, seed=0):
    torch.manual_seed(seed)
    return rm.EncoderDecoder(VOCAB, embedding_size=5, hidden_size=6, attention=attention).double().eval()


def batch(seed=0, lengths=(5, 2, 4)):
    g = torch.Generator().manual_seed(seed)
    S = max(lengths)
    src = torch.randint(3, VOCAB, (len(lengths), S), generator=g)
    for n, L in enumerate(lengths):
        src[n, L:] = 0
    return src, torch.tensor(lengths)


ATTENTIONS = [None, "dot", "scaled_dot", "general", "additive"]


@pytest.mark.parametrize("attention", ATTENTIONS)
def test_step_by_step_equals_teacher_forcing(attention):
    model = small_model(attention)
    src, src_len = batch()
    g = torch.Generator().manual_seed(1)
    tgt_in = torch.randint(1, VOCAB, (3, 6), generator=g)
    with torch.no_grad():
        full = model(src, src_len, tgt_in)
        state = model.start(src, src_len)
        for u in range(tgt_in.shape[1]):
            logits, state = model.step(tgt_in[:, u], state)
            torch.testing.assert_close(logits, full[:, u], rtol=0, atol=1e-12)
    if attention is not None:
        with torch.no_grad():
            _, weights = model(src, src_len, tgt_in, return_weights=True)
            _, _, w0 = model.step_weights(tgt_in[:, 0], model.start(src, src_len))
        torch.testing.assert_close(w0, weights[:, 0], rtol=0, atol=1e-12)
        assert torch.all(weights[1, :, 2:] == 0), "attention reached the padding of source 1"
        torch.testing.assert_close(weights.sum(-1), torch.ones(3, 6, dtype=F64), rtol=0, atol=1e-12)


@pytest.mark.parametrize("attention", ATTENTIONS)
def test_padding_changes_nothing(attention):
    """A source decoded in a padded batch gives what it gives alone: masks and packing at work."""
    model = small_model(attention, seed=3)
    src, src_len = batch(seed=4, lengths=(6, 3, 1))
    tgt_in = torch.randint(1, VOCAB, (3, 5), generator=torch.Generator().manual_seed(5))
    with torch.no_grad():
        together = model(src, src_len, tgt_in)
        for n in range(3):
            L = int(src_len[n])
            alone = model(src[n:n + 1, :L], src_len[n:n + 1], tgt_in[n:n + 1])
            torch.testing.assert_close(together[n:n + 1], alone, rtol=0, atol=1e-12)


@pytest.mark.parametrize("attention", ATTENTIONS)
def test_greedy_and_beam_search_run_on_the_decoder(attention):
    model = small_model(attention, seed=6)
    src, src_len = batch(seed=7)
    eos, bos = 2, 1
    with torch.no_grad():
        greedy = decode.greedy_decode(model.step, bos, model.start(src, src_len), max_len=5,
                                      eos=eos, batch_size=3)
        beam1 = decode.beam_search(model.step, bos, model.start(src, src_len), beam_size=1,
                                   max_len=5, eos=eos, batch_size=3, batch_dim=0)
        # beam search with k = 1 is greedy decoding
        torch.testing.assert_close(beam1.tokens, greedy.tokens, rtol=0, atol=0)
        # the log-probabilities a beam reports are the model's, teacher-forced
        beam = decode.beam_search(model.step, bos, model.start(src, src_len), beam_size=4,
                                  max_len=5, eos=eos, batch_size=3, batch_dim=0)
        rescored = decode.score_sequences(model.step, bos, model.start(src, src_len), beam.tokens,
                                          eos=eos)
        torch.testing.assert_close(beam.logp, rescored, rtol=0, atol=1e-10)
        tgt_in = torch.cat([torch.full((3, 1), bos), beam.tokens[:, :-1]], dim=1)
        lsm = torch.log_softmax(model(src, src_len, tgt_in), -1)
        picked = lsm.gather(2, beam.tokens[:, :, None])[:, :, 0]
        counted = torch.arange(beam.tokens.shape[1])[None, :] < beam.lengths[:, None]
        torch.testing.assert_close((picked * counted).sum(1), beam.logp, rtol=0, atol=1e-10)


@pytest.mark.parametrize("attention", ["dot", "additive"])
def test_a_wide_beam_finds_the_best_sequence(attention):
    """With k >= V^(L-1) nothing is pruned: the beam's best equals the best of all sequences."""
    model = small_model(attention, seed=8)
    src, src_len = batch(seed=9, lengths=(4,))
    eos, bos, L = 2, 1, 3
    with torch.no_grad():
        beam = decode.beam_search(model.step, bos, model.start(src, src_len), beam_size=VOCAB ** 2,
                                  max_len=L, eos=eos, batch_size=1, batch_dim=0)
        best = -np.inf
        for seq in itertools.product(range(VOCAB), repeat=L):
            length = seq.index(eos) + 1 if eos in seq else L
            logp = decode.score_sequences(model.step, bos, model.start(src, src_len),
                                          torch.tensor([seq]), eos=eos).item()
            best = max(best, logp / length)
    assert beam.score[0].item() == pytest.approx(best, abs=1e-10)


def test_step_weights_needs_attention():
    model = small_model(None)
    src, src_len = batch()
    raises(ValueError, lambda: model.step_weights(torch.ones(3, dtype=torch.long),
                                                  model.start(src, src_len)), "no attention")
    raises(ValueError, lambda: model.encode(src[0], src_len), "src", "(B, S)")
    raises(ValueError, lambda: model.encode(src, src_len[:2]), "src_len", "(3,)")
