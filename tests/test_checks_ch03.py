"""Chapter 3 checks: the reference passes, independent mutants of the solution are rejected with
the right diagnosis, wrong shapes and dtypes are refused; the references agree with torch.nn."""
from functools import partial

import numpy as np
import pytest

from rnnlab.grading import check, exercises

from _check_helpers import assert_passes, assert_rejected

torch = pytest.importorskip("torch")


def sig(a):
    return 1 / (1 + np.exp(-a))


# ----------------------------------------------------------------------------- solutions
# Written independently of rnnlab.grading.checks.ch03 (the student's point of view).
def sol_lstm_step(x, h_prev, c_prev, weight_ih, weight_hh, bias_ih, bias_hh):
    gates = x @ weight_ih.T + h_prev @ weight_hh.T + bias_ih + bias_hh
    H = h_prev.shape[1]
    i = sig(gates[:, :H])
    f = sig(gates[:, H:2 * H])
    g = np.tanh(gates[:, 2 * H:3 * H])
    o = sig(gates[:, 3 * H:])
    c = f * c_prev + i * g
    return o * np.tanh(c), c


def sol_backward(dh, dc, x, h_prev, c_prev, weight_ih, weight_hh, bias_ih, bias_hh):
    """By hand, with one (N, 4H) matrix of gate derivatives (compared with torch_backward below)."""
    H = h_prev.shape[1]
    a = x @ weight_ih.T + h_prev @ weight_hh.T + bias_ih + bias_hh
    s = sig(a)
    g = np.tanh(a[:, 2 * H:3 * H])
    i, f, o = s[:, :H], s[:, H:2 * H], s[:, 3 * H:]
    c = f * c_prev + i * g
    tc = np.tanh(c)
    dc_t = dc + dh * o * (1 - tc ** 2)
    local = np.concatenate([dc_t * g, dc_t * c_prev, dc_t * i, dh * tc], axis=1)
    slope = s * (1 - s)
    slope[:, 2 * H:3 * H] = 1 - g ** 2
    da = local * slope
    return (da @ weight_ih, da @ weight_hh, dc_t * f, np.einsum("nk,ni->ki", da, x),
            np.einsum("nk,nh->kh", da, h_prev), np.einsum("nk->k", da))


def torch_backward(dh, dc, x, h_prev, c_prev, weight_ih, weight_hh, bias_ih, bias_hh):
    """torch autograd through torch.nn.LSTMCell: the independent reference of the tests (an
    answer may not use torch: the check refuses it)."""
    X = torch.tensor(x, requires_grad=True)
    Hp = torch.tensor(h_prev, requires_grad=True)
    Cp = torch.tensor(c_prev, requires_grad=True)
    cell = torch.nn.LSTMCell(x.shape[1], h_prev.shape[1], dtype=torch.float64)
    with torch.no_grad():
        for k, v in (("weight_ih", weight_ih), ("weight_hh", weight_hh), ("bias_ih", bias_ih),
                     ("bias_hh", bias_hh)):
            getattr(cell, k).copy_(torch.from_numpy(v))
    h, c = cell(X, (Hp, Cp))
    ((h * torch.from_numpy(dh)).sum() + (c * torch.from_numpy(dc)).sum()).backward()
    return (X.grad.numpy(), Hp.grad.numpy(), Cp.grad.numpy(), cell.weight_ih.grad.numpy(),
            cell.weight_hh.grad.numpy(), cell.bias_ih.grad.numpy())


def sol_peephole(x, h_prev, c_prev, weight_ih, weight_hh, bias_ih, bias_hh, weight_ci, weight_cf,
                 weight_co):
    H = h_prev.shape[1]
    a = x @ weight_ih.T + h_prev @ weight_hh.T + bias_ih + bias_hh
    i = sig(a[:, :H] + weight_ci * c_prev)
    f = sig(a[:, H:2 * H] + weight_cf * c_prev)
    c = f * c_prev + i * np.tanh(a[:, 2 * H:3 * H])
    o = sig(a[:, 3 * H:] + weight_co * c)
    return o * np.tanh(c), c


def sol_seed(W_f, W_i, W_c, W_o, b_f, b_i, b_c, b_o):
    H = W_f.shape[0]
    W = np.vstack([W_i, W_f, W_c, W_o])
    b = np.concatenate([b_i, b_f, b_c, b_o])
    return W[:, H:], W[:, :H], b / 2, b / 2        # any split of the bias is fine


# every mistake is rejected on two different draws of inputs
assert_rejected = partial(assert_rejected, seeds=(1, 2))


def test_registered():
    ids = {ex.id for ex in exercises()}
    assert {"03.lstm_step", "03.lstm_step_backward", "03.lstm_step_peephole",
            "03.seed_lstm_to_torch"} <= ids
    for ex_id in ("03.lstm_step", "03.lstm_step_backward", "03.lstm_step_peephole",
                  "03.seed_lstm_to_torch"):
        assert exercises()[ex_id].notebook == "03_lstm.ipynb"


def test_references_equal_torch():
    from rnnlab.grading.checks import ch03

    rng = np.random.default_rng(0)
    for case in ch03._lstm_cases(rng):
        x, h0, c0, w_ih, w_hh, b_ih, b_hh = case
        cell = torch.nn.LSTMCell(x.shape[1], h0.shape[1], dtype=torch.float64)
        cell.load_state_dict({k: torch.from_numpy(v) for k, v in
                              zip(("weight_ih", "weight_hh", "bias_ih", "bias_hh"), case[3:])})
        h, c = cell(torch.from_numpy(x), (torch.from_numpy(h0), torch.from_numpy(c0)))
        rh, rc = ch03.lstm_step(*case)
        np.testing.assert_allclose(rh, h.detach().numpy(), rtol=0, atol=1e-12)
        np.testing.assert_allclose(rc, c.detach().numpy(), rtol=0, atol=1e-12)
    for case in ch03._bw_cases(rng):
        expected = torch_backward(*case)
        for got, by_hand, exp in zip(ch03.lstm_step_backward(*case), sol_backward(*case), expected):
            np.testing.assert_allclose(got, exp, rtol=0, atol=1e-12)
            np.testing.assert_allclose(by_hand, exp, rtol=0, atol=1e-12)
    # seed conversion: the converted cell computes the seed's function
    for case in ch03._seed_cases(rng):
        W_f, W_i, W_c, W_o, b_f, b_i, b_c, b_o = case
        H, HI = W_f.shape
        w_ih, w_hh, b_ih, b_hh = ch03.seed_lstm_to_torch(*case)
        x, h, c = rng.normal(size=HI - H), rng.normal(size=H), rng.normal(size=H)
        hx = np.concatenate([h, x])
        c1 = sig(W_f @ hx + b_f) * c + sig(W_i @ hx + b_i) * np.tanh(W_c @ hx + b_c)
        h1 = sig(W_o @ hx + b_o) * np.tanh(c1)
        rh, rc = ch03.lstm_step(x[None], h[None], c[None], w_ih, w_hh, b_ih, b_hh)
        np.testing.assert_allclose(rh[0], h1, atol=1e-12)
        np.testing.assert_allclose(rc[0], c1, atol=1e-12)


def test_peephole_reference_equals_rnnlab_scratch():
    from rnnlab.grading.checks import ch03
    from rnnlab.scratch import lstm_step as scratch_step

    for case in ch03._peep_cases(np.random.default_rng(3)):
        h, c, _ = scratch_step(*case)
        rh, rc = ch03.lstm_step_peephole(*case)
        np.testing.assert_allclose(rh, h, atol=1e-12)
        np.testing.assert_allclose(rc, c, atol=1e-12)


# ----------------------------------------------------------------------------- 03.lstm_step
def test_lstm_step_solution_passes():
    assert_passes("03.lstm_step", sol_lstm_step)


def _split(x, h_prev, weight_ih, weight_hh, bias_ih, bias_hh):
    a = x @ weight_ih.T + h_prev @ weight_hh.T + bias_ih + bias_hh
    return np.split(a, 4, axis=1)


def mut_order_fi(x, h_prev, c_prev, weight_ih, weight_hh, bias_ih, bias_hh):
    f, i, g, o = _split(x, h_prev, weight_ih, weight_hh, bias_ih, bias_hh)   # rows read f, i
    c = sig(f) * c_prev + sig(i) * np.tanh(g)
    return sig(o) * np.tanh(c), c


def mut_order_og(x, h_prev, c_prev, weight_ih, weight_hh, bias_ih, bias_hh):
    i, f, o, g = _split(x, h_prev, weight_ih, weight_hh, bias_ih, bias_hh)
    c = sig(f) * c_prev + sig(i) * np.tanh(g)
    return sig(o) * np.tanh(c), c


def mut_sigmoid_candidate(x, h_prev, c_prev, weight_ih, weight_hh, bias_ih, bias_hh):
    i, f, g, o = _split(x, h_prev, weight_ih, weight_hh, bias_ih, bias_hh)
    c = sig(f) * c_prev + sig(i) * sig(g)
    return sig(o) * np.tanh(c), c


def mut_forget_on_candidate(x, h_prev, c_prev, weight_ih, weight_hh, bias_ih, bias_hh):
    i, f, g, o = _split(x, h_prev, weight_ih, weight_hh, bias_ih, bias_hh)
    c = sig(i) * c_prev + sig(f) * np.tanh(g)
    return sig(o) * np.tanh(c), c


def mut_h_from_prev(x, h_prev, c_prev, weight_ih, weight_hh, bias_ih, bias_hh):
    i, f, g, o = _split(x, h_prev, weight_ih, weight_hh, bias_ih, bias_hh)
    c = sig(f) * c_prev + sig(i) * np.tanh(g)
    return sig(o) * np.tanh(c_prev), c


def mut_swapped_return(*args):
    h, c = sol_lstm_step(*args)
    return c, h


@pytest.mark.parametrize("mutant, words", [
    (mut_order_fi, "rows were read as f, i, g, o"),
    (mut_order_og, "i, f, o, g"),
    (mut_sigmoid_candidate, "candidate g must go through tanh"),
    (mut_forget_on_candidate, "forget gate was applied to the candidate"),
    (mut_h_from_prev, "pre-update cell state"),
    (mut_swapped_return, "returned (c, h)"),
])
def test_lstm_step_mutants_diagnosed(mutant, words):
    assert_rejected("03.lstm_step", mutant, "wrong", "Likely mistake", words)


def test_lstm_step_wrong_shape_and_dtype():
    res = assert_rejected("03.lstm_step", lambda *a: tuple(v[0] for v in sol_lstm_step(*a)), "shape")
    assert "h" in res.message
    assert_rejected("03.lstm_step", lambda *a: tuple(v.astype(np.float32) for v in sol_lstm_step(*a)),
                    "float32")
    assert_rejected("03.lstm_step", lambda *a: sol_lstm_step(*a)[0], "wrong")


def test_lstm_step_not_attempted_and_errors():
    def stub(*a):
        raise NotImplementedError("write the step")
    res = check("03.lstm_step", stub, seed=0)
    assert res.status == "not attempted" and res.score == 0

    def crash(*a):
        return 1 / 0
    res = check("03.lstm_step", crash, seed=0)
    assert res.status == "error" and "ZeroDivisionError" in res.message


# ----------------------------------------------------------------------------- backward
def test_backward_solution_passes():
    assert_passes("03.lstm_step_backward", sol_backward)


def _fwd(x, h_prev, c_prev, weight_ih, weight_hh, bias_ih, bias_hh):
    a = x @ weight_ih.T + h_prev @ weight_hh.T + bias_ih + bias_hh
    i, f, g, o = np.split(a, 4, axis=1)
    i, f, g, o = sig(i), sig(f), np.tanh(g), sig(o)
    c = f * c_prev + i * g
    return i, f, g, o, c


def _bw(dh, dc, x, h_prev, c_prev, weight_ih, weight_hh, bias_ih, bias_hh, variant=None):
    i, f, g, o, c = _fwd(x, h_prev, c_prev, weight_ih, weight_hh, bias_ih, bias_hh)
    t = np.tanh(c)
    tanh_p = {"tanh_c": 1 - c * c, "no_tanh_c": 1.0}.get(variant, 1 - t * t)
    dct = dc if variant == "no_h_path" else dc + dh * o * tanh_p
    if variant == "no_dc_next":      # dc_t from the path through h_t only
        dct = dh * o * tanh_p
    sp = (lambda s: 1.0) if variant == "no_sigmoid_prime" else (lambda s: s * (1 - s))
    dg = dct * i * (1.0 if variant == "no_tanh_g" else (1 - g * g))
    parts = [dct * g * sp(i), dct * c_prev * sp(f), dg, dh * t * sp(o)]
    if variant == "order":
        parts = [parts[0], parts[1], parts[3], parts[2]]
    da = np.hstack(parts)
    dcp = dct if variant == "no_f" else dct * f
    h_in = o * t if variant == "h_t" else h_prev
    n = len(x) if variant == "batch_mean" else 1
    return da @ weight_ih, da @ weight_hh, dcp, da.T @ x / n, da.T @ h_in / n, da.sum(0) / n


@pytest.mark.parametrize("variant, words", [
    ("no_h_path", "misses the path through h_t"),
    ("tanh_c", "1 - c^2"),
    ("no_f", "not multiplied by the forget gate"),
    ("order", "wrong order"),
    ("no_dc_next", "cell gradient from step t+1 is missing"),
    ("no_tanh_c", "tanh' forgotten on the cell state"),
    ("no_tanh_g", "tanh' forgotten on the candidate"),
    ("no_sigmoid_prime", "sigmoid' forgotten"),
    ("h_t", "h_t used where h_{t-1} belongs"),
    ("batch_mean", "averaged over the batch"),
])
def test_backward_mutants_diagnosed(variant, words):
    assert_rejected("03.lstm_step_backward", lambda *a: _bw(*a, variant=variant), "Likely mistake", words)


def test_backward_names_the_output_closest_to_the_cause():
    """Every output of a forgotten sigmoid' differs except dc_prev: the message starts from dbias
    (the gate gradients summed) and says dc_prev is right, not 'dx differs' (first returned)."""
    res = assert_rejected("03.lstm_step_backward", lambda *a: _bw(*a, variant="no_sigmoid_prime"),
                          "output `dbias` differs", "dc_prev matches")
    assert "output `dx` differs" not in res.message
    res = assert_rejected("03.lstm_step_backward", lambda *a: _bw(*a, variant="no_dc_next"),
                          "output `dc_prev` differs")
    res = assert_rejected("03.lstm_step_backward", lambda *a: _bw(*a, variant="h_t"),
                          "output `dweight_hh` differs", "dc_prev, dbias, dweight_ih, dh_prev, dx match")


def test_backward_bias_not_summed_and_dtype():
    def per_sample(*a):
        out = list(sol_backward(*a))
        i, f, g, o, c = _fwd(*a[2:])
        out[5] = np.zeros((a[2].shape[0], out[5].shape[0]))
        return tuple(out)
    assert_rejected("03.lstm_step_backward", per_sample, "dbias", "shape")
    assert_rejected("03.lstm_step_backward",
                    lambda *a: tuple(v.astype(np.float32) for v in sol_backward(*a)), "float32")


# ----------------------------------------------------------------------------- peephole
def test_peephole_solution_passes():
    assert_passes("03.lstm_step_peephole", sol_peephole)


def _peep(x, h_prev, c_prev, weight_ih, weight_hh, bias_ih, bias_hh, weight_ci, weight_cf,
          weight_co, variant):
    H = h_prev.shape[1]
    a = x @ weight_ih.T + h_prev @ weight_hh.T + bias_ih + bias_hh
    ai, af, ag, ao = a[:, :H], a[:, H:2 * H], a[:, 2 * H:3 * H], a[:, 3 * H:]
    if variant == "if_new":          # computes c_t first, then lets i and f peek at it
        c_new = sig(af) * c_prev + sig(ai) * np.tanh(ag)
        i, f = sig(ai + weight_ci * c_new), sig(af + weight_cf * c_new)
    elif variant == "swap":
        i, f = sig(ai + weight_cf * c_prev), sig(af + weight_ci * c_prev)
    else:
        i, f = sig(ai + weight_ci * c_prev), sig(af + weight_cf * c_prev)
    c = f * c_prev + i * np.tanh(ag)
    o = sig(ao + weight_co * (c_prev if variant == "o_prev" else c))
    return o * np.tanh(c), c


@pytest.mark.parametrize("variant, words", [
    ("o_prev", "output gate peeks at c_{t-1}"),
    ("if_new", "c_t used where c_{t-1} belongs"),
    ("swap", "peephole weights swapped"),
])
def test_peephole_mutants_diagnosed(variant, words):
    assert_rejected("03.lstm_step_peephole", lambda *a: _peep(*a, variant=variant),
                    "Likely mistake", words)


def test_peephole_ignored_and_shape():
    assert_rejected("03.lstm_step_peephole", lambda *a: sol_lstm_step(*a[:7]), "peepholes ignored")
    assert_rejected("03.lstm_step_peephole", lambda *a: tuple(v.T for v in sol_peephole(*a)), "shape")


# ----------------------------------------------------------------------------- seed -> torch
def test_seed_solution_passes_with_any_bias_split():
    assert_passes("03.seed_lstm_to_torch", sol_seed)

    def all_in_hh(*a):
        w_ih, w_hh, b1, b2 = sol_seed(*a)
        return w_ih, w_hh, np.zeros_like(b1), b1 + b2
    assert_passes("03.seed_lstm_to_torch", all_in_hh)


def test_seed_mutants_diagnosed():
    def seed_order(W_f, W_i, W_c, W_o, b_f, b_i, b_c, b_o):   # f, i, g, o as the posts list them
        H = W_f.shape[0]
        W = np.vstack([W_f, W_i, W_c, W_o])
        return W[:, H:], W[:, :H], np.concatenate([b_f, b_i, b_c, b_o]), np.zeros(4 * H)
    assert_rejected("03.seed_lstm_to_torch", seed_order, "Likely mistake", "f, i, g, o")

    def x_first(W_f, W_i, W_c, W_o, b_f, b_i, b_c, b_o):
        H, HI = W_f.shape
        W = np.vstack([W_i, W_f, W_c, W_o])
        return W[:, :HI - H], W[:, HI - H:], np.concatenate([b_i, b_f, b_c, b_o]), np.zeros(4 * H)
    assert_rejected("03.seed_lstm_to_torch", x_first, "Likely mistake", "[x, h]")

    def twice(*a):
        w_ih, w_hh, b1, b2 = sol_seed(*a)
        return w_ih, w_hh, b1 + b2, b1 + b2
    assert_rejected("03.seed_lstm_to_torch", twice, "Likely mistake", "counted twice")


def test_seed_wrong_structure_and_dtype():
    assert_rejected("03.seed_lstm_to_torch", lambda *a: sol_seed(*a)[:3], "wrong")
    assert_rejected("03.seed_lstm_to_torch",
                    lambda *a: tuple(v.astype(np.float32) for v in sol_seed(*a)), "float32")


# ----------------------------------------------------------------------------- seed-stable verdicts
def lstm_step_float32_gates(x, h_prev, c_prev, weight_ih, weight_hh, bias_ih, bias_hh):
    """The solution with its gate pre-activations rounded to float32 (then back in float64)."""
    a = (x @ weight_ih.T + h_prev @ weight_hh.T + bias_ih + bias_hh).astype(np.float32)
    H = h_prev.shape[1]
    i, f, o = sig(a[:, :H]), sig(a[:, H:2 * H]), sig(a[:, 3 * H:])
    g = np.tanh(a[:, 2 * H:3 * H])
    c = (f * c_prev + i * g).astype(np.float64)
    return (o * np.tanh(c)).astype(np.float64), c


def test_float32_arithmetic_gets_the_same_verdict_on_every_seed():
    """Once passed for 7 of 12 seeds: now rejected on every one, with a diagnosis naming float32,
    while the float64 solution passes on the same seeds."""
    for seed in range(30):
        result = check("03.lstm_step", lstm_step_float32_gates, seed=seed)
        assert not result.passed and result.status == "wrong", (seed, result.message)
        assert "precision of float32" in result.message, (seed, result.message)
        assert check("03.lstm_step", sol_lstm_step, seed=seed).passed, seed


# ----------------------------------------------------------------------------- rules and boundaries
def torch_cell_step(x, h_prev, c_prev, weight_ih, weight_hh, bias_ih, bias_hh):
    """The right values, from torch.nn.LSTMCell itself: the exercise is to write that cell."""
    cell = torch.nn.LSTMCell(x.shape[1], h_prev.shape[1], dtype=torch.float64)
    cell.load_state_dict({k: torch.from_numpy(v) for k, v in zip(
        ("weight_ih", "weight_hh", "bias_ih", "bias_hh"), (weight_ih, weight_hh, bias_ih, bias_hh))})
    h, c = cell(torch.from_numpy(x), (torch.from_numpy(h_prev), torch.from_numpy(c_prev)))
    return h.detach().numpy(), c.detach().numpy()


def autograd_backward(dh, dc, x, h_prev, c_prev, weight_ih, weight_hh, bias_ih, bias_hh):
    """The right gradients, by torch.autograd.grad through the step written in torch ops: the
    exercise is to write the backward pass."""
    leaves = [torch.tensor(v, requires_grad=True) for v in (x, h_prev, c_prev, weight_ih, weight_hh,
                                                            bias_ih)]
    X, Hp, Cp, Wi, Wh, Bi = leaves
    a = X @ Wi.T + Bi + Hp @ Wh.T + torch.from_numpy(bias_hh)
    i, f, g, o = a.chunk(4, dim=1)
    c = torch.sigmoid(f) * Cp + torch.sigmoid(i) * torch.tanh(g)
    h = torch.sigmoid(o) * torch.tanh(c)
    loss = (h * torch.from_numpy(dh)).sum() + (c * torch.from_numpy(dc)).sum()
    return tuple(v.numpy() for v in torch.autograd.grad(loss, leaves))


@pytest.mark.parametrize("ex_id, answer", [
    ("03.lstm_step", torch_cell_step),
    ("03.lstm_step_backward", autograd_backward),
    ("03.lstm_step_backward", torch_backward),
])
def test_torch_answers_earn_nothing(ex_id, answer):
    """Once passed: the values are right, but the notebook asks for numpy code written by hand
    (torch.nn.LSTMCell is exercise 1's answer, autograd exercise 2's)."""
    res = assert_rejected(ex_id, answer, "called `torch.", "part of torch")
    assert res.status == "wrong"


def test_answers_that_squeeze_a_size_one_axis_are_refused():
    """Once passed: every case had N >= 2 and H >= 3, so an answer that squeezed (N, H) to (H,)
    for one sequence, or (N, 1) to (N,) for one unit, was never caught."""
    assert_rejected("03.lstm_step", lambda *a: tuple(v.squeeze() for v in sol_lstm_step(*a)),
                    "shape")
    assert_rejected("03.lstm_step_backward",
                    lambda *a: tuple(np.squeeze(v) for v in sol_backward(*a)), "shape")
    assert_rejected("03.lstm_step_peephole",
                    lambda *a: tuple(v.squeeze() for v in sol_peephole(*a)), "shape")

    def flat_state(*a):
        h, c = sol_lstm_step(*a)
        return (h[:, 0] if h.shape[1] == 1 else h), c     # one unit: h flattened to (N,)
    assert_rejected("03.lstm_step", flat_state, "output `h` has shape")


def test_seed_bias_in_the_posts_order_is_diagnosed_and_the_hint_keeps_the_answer():
    """Weights stacked i, f, g, o but biases in the post's f, i, g, o: named as a mistake, and the
    advice no longer spells out the conversion (it used to: 'stack rows in torch's order i, f,
    g, o; the first H columns ... form weight_hh')."""
    def bias_posts_order(W_f, W_i, W_c, W_o, b_f, b_i, b_c, b_o):
        H = W_f.shape[0]
        W = np.vstack([W_i, W_f, W_c, W_o])
        return W[:, H:], W[:, :H], np.concatenate([b_f, b_i, b_c, b_o]), np.zeros(4 * H)
    assert_rejected("03.seed_lstm_to_torch", bias_posts_order, "Likely mistake",
                    "same rows as its weights")

    def half_weight_ih(*a):
        w_ih, w_hh, b1, b2 = sol_seed(*a)
        return w_ih / 2, w_hh, b1, b2
    res = assert_rejected("03.seed_lstm_to_torch", half_weight_ih, "Hint:")
    assert "i, f, g, o" not in res.message and "first H columns" not in res.message, res.message


def test_importing_torch_inside_a_numpy_answer_is_not_a_call():
    """The first `import torch` runs torch's own module code; the answer called nothing of it."""
    import subprocess
    import sys

    script = (
        "import sys\nimport numpy as np\nfrom rnnlab.grading import check\n"
        "assert 'torch' not in sys.modules\n"
        "def lstm_step(x, h_prev, c_prev, weight_ih, weight_hh, bias_ih, bias_hh):\n"
        "    import torch  # e.g. left over from a comparison\n"
        "    sig = lambda v: 1 / (1 + np.exp(-v))\n"
        "    i, f, g, o = np.split(x @ weight_ih.T + bias_ih + h_prev @ weight_hh.T + bias_hh, 4, axis=1)\n"
        "    c = sig(f) * c_prev + sig(i) * np.tanh(g)\n"
        "    return sig(o) * np.tanh(c), c\n"
        "print('status:', check('03.lstm_step', lstm_step, seed=0).status)\n")
    run = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    assert "status: passed" in run.stdout, run.stdout
