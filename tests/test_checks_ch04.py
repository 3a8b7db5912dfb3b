"""Chapter 4 checks: the reference passes, independent mutants are rejected with the right
diagnosis, wrong shapes and dtypes are refused; the references agree with torch.nn.GRUCell and
with rnnlab's reset_after=False GRU."""
from functools import partial

import numpy as np
import pytest

from rnnlab.grading import exercises

from _check_helpers import assert_passes, assert_rejected

torch = pytest.importorskip("torch")


def sig(a):
    return 1 / (1 + np.exp(-a))


# ----------------------------------------------------------------------------- solutions
def sol_gru_step(x, h_prev, weight_ih, weight_hh, bias_ih, bias_hh, reset_after):
    H = h_prev.shape[1]
    gi = x @ weight_ih.T + bias_ih
    r = sig(gi[:, :H] + h_prev @ weight_hh[:H].T + bias_hh[:H])
    z = sig(gi[:, H:2 * H] + h_prev @ weight_hh[H:2 * H].T + bias_hh[H:2 * H])
    if reset_after:
        n = np.tanh(gi[:, 2 * H:] + r * (h_prev @ weight_hh[2 * H:].T + bias_hh[2 * H:]))
    else:
        n = np.tanh(gi[:, 2 * H:] + (r * h_prev) @ weight_hh[2 * H:].T + bias_hh[2 * H:])
    return (1 - z) * n + z * h_prev


def sol_seed_gru_step(x, h_prev, W_z, W_r, W):
    H = h_prev.shape[1]
    hx = np.hstack([h_prev, x])
    z, r = sig(hx @ W_z.T), sig(hx @ W_r.T)
    h_tilde = np.tanh(np.hstack([r * h_prev, x]) @ W.T)
    return (1 - z) * h_prev + z * h_tilde


def sol_seed_to_torch(W_z, W_r, W):
    H = W_z.shape[0]
    full = np.vstack([W_r, -W_z, W])
    return full[:, H:], full[:, :H]


# every mistake is rejected on two different draws of inputs
assert_rejected = partial(assert_rejected, seeds=(1, 2))


def test_registered():
    for ex_id in ("04.gru_step", "04.seed_gru_step", "04.seed_gru_to_torch"):
        assert exercises()[ex_id].notebook == "04_gru.ipynb"


def test_gru_reference_equals_torch_and_rnnlab():
    from rnnlab.grading.checks import ch04
    from rnnlab.scratch import gru_step as scratch_step

    for case in ch04._gru_cases(np.random.default_rng(0)):
        x, h0, w_ih, w_hh, b_ih, b_hh, after = case
        ref = ch04.gru_step(*case)
        h_np, _ = scratch_step(x, h0, w_ih, w_hh, b_ih, b_hh, reset_after=after)
        np.testing.assert_allclose(ref, h_np, rtol=0, atol=1e-12)
        if after:
            cell = torch.nn.GRUCell(x.shape[1], h0.shape[1], dtype=torch.float64)
            cell.load_state_dict({k: torch.from_numpy(v) for k, v in
                                  zip(("weight_ih", "weight_hh", "bias_ih", "bias_hh"), case[2:6])})
            h = cell(torch.from_numpy(x), torch.from_numpy(h0)).detach().numpy()
            np.testing.assert_allclose(ref, h, rtol=0, atol=1e-12)


def test_seed_conversion_computes_the_seed_gru():
    import rnnlab.modules as rm
    from rnnlab.grading.checks import ch04

    rng = np.random.default_rng(5)
    for W_z, W_r, W in ch04._conv_cases(rng):
        H, HI = W_z.shape
        w_ih, w_hh = ch04.seed_gru_to_torch(W_z, W_r, W)
        cell = rm.GRUCell(HI - H, H, bias=False, reset_after=False).double()
        cell.load_state_dict({"weight_ih": torch.from_numpy(w_ih), "weight_hh": torch.from_numpy(w_hh)})
        x, h = rng.normal(size=(3, HI - H)), rng.normal(size=(3, H))
        ours = cell(torch.from_numpy(x), torch.from_numpy(h)).detach().numpy()
        np.testing.assert_allclose(ours, ch04.seed_gru_step(x, h, W_z, W_r, W), rtol=0, atol=1e-12)


# ----------------------------------------------------------------------------- 04.gru_step
def test_gru_step_solution_passes():
    assert_passes("04.gru_step", sol_gru_step)


def _gru_variant(x, h_prev, weight_ih, weight_hh, bias_ih, bias_hh, reset_after, variant):
    H = h_prev.shape[1]
    gi = x @ weight_ih.T + bias_ih
    gh = h_prev @ weight_hh.T
    rows = (0, 1) if variant != "order" else (1, 0)         # z, r, n read instead of r, z, n
    r = sig(gi[:, rows[0] * H:(rows[0] + 1) * H] + gh[:, rows[0] * H:(rows[0] + 1) * H]
            + bias_hh[rows[0] * H:(rows[0] + 1) * H])
    z = sig(gi[:, rows[1] * H:(rows[1] + 1) * H] + gh[:, rows[1] * H:(rows[1] + 1) * H]
            + bias_hh[rows[1] * H:(rows[1] + 1) * H])
    after = (not reset_after) if variant == "side" else reset_after
    if after:
        inner = r * (gh[:, 2 * H:] + bias_hh[2 * H:])
        if variant == "bias_out":
            inner = r * gh[:, 2 * H:] + bias_hh[2 * H:]
    else:
        inner = (r * h_prev) @ weight_hh[2 * H:].T + bias_hh[2 * H:]
    n = np.tanh(gi[:, 2 * H:] + inner)
    if variant == "z_swap":
        return z * n + (1 - z) * h_prev
    return (1 - z) * n + z * h_prev


@pytest.mark.parametrize("variant, words", [
    ("z_swap", "z and 1 - z swapped"),
    ("side", "wrong side of the recurrent matmul"),
    ("order", "z, r, n"),
    ("bias_out", "b_hn outside the reset gate"),
])
def test_gru_step_mutants_diagnosed(variant, words):
    assert_rejected("04.gru_step", lambda *a: _gru_variant(*a, variant=variant), "Likely mistake", words)


def test_gru_step_candidate_returned_and_dtype_and_shape():
    def candidate(x, h_prev, weight_ih, weight_hh, bias_ih, bias_hh, reset_after):
        H = h_prev.shape[1]
        gi, gh = x @ weight_ih.T + bias_ih, h_prev @ weight_hh.T + bias_hh
        r = sig(gi[:, :H] + gh[:, :H])
        if reset_after:
            return np.tanh(gi[:, 2 * H:] + r * gh[:, 2 * H:])
        return np.tanh(gi[:, 2 * H:] + (r * h_prev) @ weight_hh[2 * H:].T + bias_hh[2 * H:])
    assert_rejected("04.gru_step", candidate, "Likely mistake", "returned the candidate n")
    assert_rejected("04.gru_step", lambda *a: sol_gru_step(*a).astype(np.float32), "float32")
    assert_rejected("04.gru_step", lambda *a: sol_gru_step(*a).T, "shape")


# ----------------------------------------------------------------------------- 04.seed_gru_step
def test_seed_gru_step_solution_passes():
    assert_passes("04.seed_gru_step", sol_seed_gru_step)


def test_seed_gru_step_mutants_diagnosed():
    def torch_convention(x, h_prev, W_z, W_r, W):
        hx = np.hstack([h_prev, x])
        z, r = sig(hx @ W_z.T), sig(hx @ W_r.T)
        return z * h_prev + (1 - z) * np.tanh(np.hstack([r * h_prev, x]) @ W.T)
    assert_rejected("04.seed_gru_step", torch_convention, "Likely mistake", "z and 1 - z swapped")

    def reset_after(x, h_prev, W_z, W_r, W):
        H = h_prev.shape[1]
        hx = np.hstack([h_prev, x])
        z, r = sig(hx @ W_z.T), sig(hx @ W_r.T)
        h_tilde = np.tanh(r * (h_prev @ W[:, :H].T) + x @ W[:, H:].T)
        return (1 - z) * h_prev + z * h_tilde
    assert_rejected("04.seed_gru_step", reset_after, "Likely mistake", "wrong side of the matmul")

    def x_first(x, h_prev, W_z, W_r, W):
        xh = np.hstack([x, h_prev])
        z, r = sig(xh @ W_z.T), sig(xh @ W_r.T)
        return (1 - z) * h_prev + z * np.tanh(np.hstack([x, r * h_prev]) @ W.T)
    assert_rejected("04.seed_gru_step", x_first, "Likely mistake", "[x, h]")


# ----------------------------------------------------------------------------- 04.seed_gru_to_torch
def test_seed_to_torch_solution_passes():
    assert_passes("04.seed_gru_to_torch", sol_seed_to_torch)


@pytest.mark.parametrize("build, words", [
    (lambda W_z, W_r, W: np.vstack([W_r, W_z, W]), "update gate not negated"),
    (lambda W_z, W_r, W: np.vstack([-W_r, W_z, W]), "reset gate negated"),
    (lambda W_z, W_r, W: np.vstack([-W_z, W_r, W]), "z, r, n"),
])
def test_seed_to_torch_mutants_diagnosed(build, words):
    def mutant(W_z, W_r, W):
        H = W_z.shape[0]
        full = build(W_z, W_r, W)
        return full[:, H:], full[:, :H]
    assert_rejected("04.seed_gru_to_torch", mutant, "Likely mistake", words)


def test_seed_to_torch_columns_and_dtype():
    def x_first(W_z, W_r, W):
        H, HI = W_z.shape
        full = np.vstack([W_r, -W_z, W])
        return full[:, :HI - H], full[:, HI - H:]
    assert_rejected("04.seed_gru_to_torch", x_first, "Likely mistake", "[x, h]")
    assert_rejected("04.seed_gru_to_torch",
                    lambda *a: tuple(v.astype(np.float32) for v in sol_seed_to_torch(*a)), "float32")


# ----------------------------------------------------------------------------- rules and boundaries
def torch_gru_step(x, h_prev, weight_ih, weight_hh, bias_ih, bias_hh, reset_after):
    """torch.nn.GRUCell where it applies (reset_after=True), the student's own code elsewhere."""
    if not reset_after:
        return sol_gru_step(x, h_prev, weight_ih, weight_hh, bias_ih, bias_hh, reset_after)
    cell = torch.nn.GRUCell(x.shape[1], h_prev.shape[1], dtype=torch.float64)
    cell.load_state_dict({k: torch.from_numpy(v) for k, v in zip(
        ("weight_ih", "weight_hh", "bias_ih", "bias_hh"), (weight_ih, weight_hh, bias_ih, bias_hh))})
    return cell(torch.from_numpy(x), torch.from_numpy(h_prev)).detach().numpy()


def test_torch_answer_earns_nothing():
    """Once passed: the values are right, but the notebook asks for numpy code written by hand
    (torch.nn.GRUCell is the answer for reset_after=True)."""
    assert_rejected("04.gru_step", torch_gru_step, "called `torch.nn.", "part of torch")


def test_answers_that_squeeze_a_size_one_axis_are_refused():
    """Once passed: every case had N >= 2 and H >= 3, so an answer that squeezed the (1, H) state
    of one sequence to (H,), or the (N, 1) state of one unit to (N,), was never caught."""
    assert_rejected("04.gru_step", lambda *a: sol_gru_step(*a).squeeze(), "shape")
    assert_rejected("04.seed_gru_step", lambda *a: sol_seed_gru_step(*a).squeeze(), "shape")

    def one_unit_flat(*a):
        h = sol_gru_step(*a)
        return h[:, 0] if h.shape[1] == 1 else h
    assert_rejected("04.gru_step", one_unit_flat, "output `h` has shape")


def test_seed_gru_step_gates_swapped_is_diagnosed_and_the_hint_keeps_the_answer():
    """W_z and W_r read the other way round is named; an unrecognised mistake gets advice that no
    longer spells out the solution (it used to be the answer's code, line by line)."""
    def swapped(x, h_prev, W_z, W_r, W):
        return sol_seed_gru_step(x, h_prev, W_r, W_z, W)
    assert_rejected("04.seed_gru_step", swapped, "Likely mistake", "W_z and W_r swapped")

    def no_tanh(x, h_prev, W_z, W_r, W):
        hx = np.hstack([h_prev, x])
        z, r = sig(hx @ W_z.T), sig(hx @ W_r.T)
        return (1 - z) * h_prev + z * (np.hstack([r * h_prev, x]) @ W.T)
    res = assert_rejected("04.seed_gru_step", no_tanh, "Hint:")
    assert "concatenate([" not in res.message and "(1 - z) * h_prev" not in res.message, res.message
