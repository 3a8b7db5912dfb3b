"""The chapter 5 checks: the solution passes, each likely mistake (written here as an independent
mutant of the solution, mostly on top of ``torch.nn.RNN``) is rejected and named, and wrong shapes,
dtypes and unattempted stubs are rejected."""
import numpy as np
import pytest
import torch
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from rnnlab.grading import check, exercises

from _check_helpers import assert_rejected, allow_torch


@pytest.fixture(autouse=True)
def _torch_built_answers(monkeypatch):
    """The solutions and mutants here are built on torch (independent of the check's numpy
    references) to test how values are diagnosed; tests/test_checks_torch_rule.py tests that a
    student's answer may not call torch."""
    allow_torch(monkeypatch, "05")

SEEDS = [0, 1]
IDS = ["05.bidirectional_rnn", "05.final_states_from_output", "05.masked_reverse",
       "05.rnn_forward", "05.stack_layers", "05.top_layer_final_states"]


# --------------------------------------------------------------------------- independent solutions
def masked_reverse(x, lengths):
    T = x.shape[0]
    t = np.arange(T)[:, None]
    L = np.asarray(lengths)[None, :]
    src = np.where(t < L, L - 1 - t, t)                    # where each output step reads from
    return np.take_along_axis(x, src[..., None].repeat(x.shape[2], axis=2), axis=0)


def _torch_rnn(params, I, H, num_layers=1, bidirectional=False):
    rnn = torch.nn.RNN(I, H, num_layers=num_layers, bidirectional=bidirectional).double()
    rnn.load_state_dict({k: torch.from_numpy(v) for k, v in params.items()})
    return rnn


def _run_packed(rnn, x, lengths):
    """torch.nn.RNN on a packed batch: output (T, N, D*H) with zeros at padding, h_n."""
    T = x.shape[0]
    with torch.no_grad():
        out, h_n = rnn(pack_padded_sequence(torch.from_numpy(x), torch.from_numpy(lengths),
                                            enforce_sorted=False))
        out, _ = pad_packed_sequence(out, total_length=T)
    return out.numpy(), h_n.numpy()


def rnn_forward(x, weight_ih, weight_hh, bias_ih, bias_hh, lengths):
    H, I = weight_ih.shape
    rnn = _torch_rnn({"weight_ih_l0": weight_ih, "weight_hh_l0": weight_hh, "bias_ih_l0": bias_ih,
                      "bias_hh_l0": bias_hh}, I, H)
    out, h_n = _run_packed(rnn, x, lengths)
    return out, h_n[0]


def bidirectional_rnn(x, params, lengths):
    H, I = params["weight_ih_l0"].shape
    return _run_packed(_torch_rnn(params, I, H, bidirectional=True), x, lengths)


def stack_layers(x, params, num_layers, lengths):
    H, I = params["weight_ih_l0"].shape
    return _run_packed(_torch_rnn(params, I, H, num_layers, bidirectional=True), x, lengths)


def final_states_from_output(output, lengths):
    H = output.shape[2] // 2
    rows = []
    for n, length in enumerate(lengths):
        rows.append((output[length - 1, n, :H], output[0, n, H:]))
    return np.stack([np.stack([f for f, _ in rows]), np.stack([b for _, b in rows])])


def top_layer_final_states(h_n, num_layers, num_directions):
    t = torch.from_numpy(h_n)
    N, H = t.shape[1:]
    top = t.view(num_layers, num_directions, N, H)[-1]
    return torch.cat(list(top), dim=1).numpy()


SOLUTIONS = {
    "05.masked_reverse": masked_reverse,
    "05.rnn_forward": rnn_forward,
    "05.bidirectional_rnn": bidirectional_rnn,
    "05.stack_layers": stack_layers,
    "05.final_states_from_output": final_states_from_output,
    "05.top_layer_final_states": top_layer_final_states,
}


def test_registered():
    ids = [ex.id for ex in exercises() if ex.id.startswith("05.")]
    assert ids == IDS
    for ex in exercises():
        if ex.id.startswith("05."):
            assert ex.notebook == "05_bidirectional_deep.ipynb"
            assert ex.points > 0 and ex.mistakes


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("exercise_id", IDS)
def test_solution_passes(exercise_id, seed):
    result = check(exercise_id, SOLUTIONS[exercise_id], seed=seed)
    assert result.passed and result.score == result.max_score > 0, result.message


def test_cases_have_padding_and_garbage_in_it():
    """Every case of a padded-batch exercise holds sequences of different lengths, one case has no
    full-length sequence (the batch padded beyond its longest) and the others have one, and the
    padded steps of x are not zeros (so leaking padding changes the answer)."""
    for ex_id in ("05.masked_reverse", "05.rnn_forward", "05.bidirectional_rnn", "05.stack_layers"):
        ex = exercises()[ex_id]
        for seed in range(4):
            full = []
            for case in ex.cases(np.random.default_rng(seed)):
                x, lengths = case[0], case[-1]
                assert lengths.dtype == np.int64
                assert x.shape[0] >= lengths.max() > lengths.min() >= 1
                full.append(lengths.max() == x.shape[0])
                pad = np.arange(x.shape[0])[:, None] >= lengths[None, :]
                assert np.all(x[pad] != 0)
            assert full.count(False) == 1, full


# --------------------------------------------------------------------------- 05.masked_reverse
@pytest.mark.parametrize("func, mistake", [
    (lambda x, lengths: np.flip(x, axis=0).copy(), "padded length"),
    (lambda x, lengths: x + 0.0, "nothing was reversed"),
    (lambda x, lengths: masked_reverse(x, lengths)
     * (np.arange(x.shape[0])[:, None, None] < np.asarray(lengths)[None, :, None]), "zeroed"),
    (lambda x, lengths: np.flip(x, axis=1).copy(), "batch axis"),
])
def test_masked_reverse_mistakes(func, mistake):
    assert_rejected("05.masked_reverse", func, mistake=mistake)


def test_masked_reverse_twice_is_identity():
    x = np.random.default_rng(0).standard_normal((6, 3, 2))
    lengths = np.array([6, 2, 4])
    np.testing.assert_array_equal(masked_reverse(masked_reverse(x, lengths), lengths), x)


# --------------------------------------------------------------------------- 05.rnn_forward
def _plain_loop(x, weight_ih, weight_hh, bias_ih, bias_hh, b_hh_scale=1.0, transpose=False):
    W = weight_hh.T if transpose else weight_hh
    h = np.zeros((x.shape[1], weight_hh.shape[0]))
    outs = []
    for x_t in x:
        h = np.tanh(x_t @ weight_ih.T + bias_ih + h @ W.T + b_hh_scale * bias_hh)
        outs.append(h)
    return np.stack(outs), h


def _unmasked(x, weight_ih, weight_hh, bias_ih, bias_hh, lengths):
    return _plain_loop(x, weight_ih, weight_hh, bias_ih, bias_hh)


def _last_at_T(x, weight_ih, weight_hh, bias_ih, bias_hh, lengths):
    out, _ = rnn_forward(x, weight_ih, weight_hh, bias_ih, bias_hh, lengths)
    _, h_T = _plain_loop(x, weight_ih, weight_hh, bias_ih, bias_hh)
    return out, h_T


def _held_outputs(x, weight_ih, weight_hh, bias_ih, bias_hh, lengths):
    out, h = rnn_forward(x, weight_ih, weight_hh, bias_ih, bias_hh, lengths)
    for n, length in enumerate(lengths):
        out[length:, n] = h[n]
    return out, h


def _masked_variant(**kw):
    def f(x, weight_ih, weight_hh, bias_ih, bias_hh, lengths):
        W = weight_hh.T if kw.get("transpose") else weight_hh
        b = 0 * bias_hh if kw.get("one_bias") else bias_hh
        return rnn_forward(x, weight_ih, W, bias_ih, b, lengths)
    return f


@pytest.mark.parametrize("func, mistake", [
    (_unmasked, "not masked"),
    (_last_at_T, "h_last taken after the padded steps"),
    (_held_outputs, "not 0"),
    (_masked_variant(transpose=True), "transposed"),
    (_masked_variant(one_bias=True), "bias_hh forgotten"),
])
def test_rnn_forward_mistakes(func, mistake):
    assert_rejected("05.rnn_forward", func, mistake=mistake)


# --------------------------------------------------------------------------- 05.bidirectional_rnn
def _dir_params(params, suffix):
    return {k.replace(suffix, "") if suffix else k: v for k, v in params.items()
            if (k.endswith("_reverse") == bool(suffix))}


def _uni(params, x, lengths):
    H, I = params["weight_ih_l0"].shape
    return _run_packed(_torch_rnn(params, I, H), x, lengths)


def _bi_not_reversed(x, params, lengths):
    out_f, h_f = _uni(_dir_params(params, ""), x, lengths)
    out_b, h_b = _uni(_dir_params(params, "_reverse"), x, lengths)
    return np.concatenate([out_f, out_b], 2), np.concatenate([h_f, h_b])


def _bi_reversed_whole(x, params, lengths):
    T = x.shape[0]
    full = np.full_like(lengths, T)
    out_f, h_f = _uni(_dir_params(params, ""), x, lengths)
    out_b, h_b = _uni(_dir_params(params, "_reverse"), np.ascontiguousarray(x[::-1]), full)
    out_b = out_b[::-1] * (np.arange(T)[:, None, None] < lengths[None, :, None])
    return np.concatenate([out_f, out_b], 2), np.concatenate([h_f, h_b])


def _bi_flip_then_mask(x, params, lengths):
    """A student whose reversal is x[::-1] (padding included) but whose RNN masks by lengths."""
    out_f, h_f = _uni(_dir_params(params, ""), x, lengths)
    rev = np.ascontiguousarray(np.flip(x, 0))
    out_b, h_b = _uni(_dir_params(params, "_reverse"), rev, lengths)
    return np.concatenate([out_f, np.flip(out_b, 0)], 2), np.concatenate([h_f, h_b])


def _bi_backward_first(x, params, lengths):
    out, h_n = bidirectional_rnn(x, params, lengths)
    H = h_n.shape[2]
    return np.concatenate([out[..., H:], out[..., :H]], 2), np.flip(h_n, 0).copy()


def _bi_backward_first_output(x, params, lengths):
    out, h_n = bidirectional_rnn(x, params, lengths)
    H = h_n.shape[2]
    return np.concatenate([out[..., H:], out[..., :H]], 2), h_n


def _bi_left_reversed(x, params, lengths):
    out_f, h_f = _uni(_dir_params(params, ""), x, lengths)
    out_b, h_b = _uni(_dir_params(params, "_reverse"), masked_reverse(x, lengths), lengths)
    return np.concatenate([out_f, out_b], 2), np.concatenate([h_f, h_b])


def _bi_weights_swapped(x, params, lengths):
    fwd, bwd = _dir_params(params, ""), _dir_params(params, "_reverse")
    swapped = {**bwd, **{k + "_reverse": v for k, v in fwd.items()}}
    return bidirectional_rnn(x, swapped, lengths)


@pytest.mark.parametrize("func, mistake", [
    (_bi_not_reversed, "not reversed"),
    (_bi_reversed_whole, "reversed over the padded length"),
    (_bi_flip_then_mask, "reversed with x[::-1] over the padded length"),
    (_bi_backward_first, "directions in the wrong order"),
    (_bi_backward_first_output, "concatenated in the wrong order"),
    (_bi_left_reversed, "left in reversed time"),
    (_bi_weights_swapped, "weights swapped"),
])
def test_bidirectional_mistakes(func, mistake):
    assert_rejected("05.bidirectional_rnn", func, mistake=mistake)


def test_bidirectional_wrong_shape_and_dtype():
    assert_rejected("05.bidirectional_rnn",
                    lambda x, p, lengths: (bidirectional_rnn(x, p, lengths)[0][..., : p["weight_hh_l0"].shape[0]],
                                           bidirectional_rnn(x, p, lengths)[1]), "shape")
    assert_rejected("05.bidirectional_rnn",
                    lambda x, p, lengths: tuple(a.astype(np.float32) for a in bidirectional_rnn(x, p, lengths)),
                    "float32")


def test_not_attempted():
    def stub(x, params, lengths):
        raise NotImplementedError("write bidirectional_rnn")
    result = check("05.bidirectional_rnn", stub, seed=0)
    assert not result.passed and result.status == "not attempted"


# --------------------------------------------------------------------------- 05.stack_layers
def _stack_direction_major(x, params, num_layers, lengths):
    out, h_n = stack_layers(x, params, num_layers, lengths)
    t = torch.from_numpy(h_n)
    N, H = t.shape[1:]
    return out, t.view(num_layers, 2, N, H).transpose(0, 1).reshape(-1, N, H).numpy()


def _stack_top_only(x, params, num_layers, lengths):
    out, h_n = stack_layers(x, params, num_layers, lengths)
    return out, h_n[2 * num_layers - 2:]


def _stack_bottom_output(x, params, num_layers, lengths):
    _, h_n = stack_layers(x, params, num_layers, lengths)
    first = {k: v for k, v in params.items() if "_l0" in k}
    out0, _ = bidirectional_rnn(x, first, lengths)
    return out0, h_n


def _stack_every_layer_reads_x(x, params, num_layers, lengths):
    outs, rows = None, []
    for layer in range(num_layers):
        sub = {k.replace(f"_l{layer}", "_l0"): v for k, v in params.items() if f"_l{layer}" in k}
        outs, h = bidirectional_rnn(x, sub, lengths)
        rows.extend(h)
    return outs, np.stack(rows)


@pytest.mark.parametrize("func, mistake", [
    (_stack_direction_major, "rows mixed between layers and directions"),
    (_stack_top_only, "only the top layer"),
    (_stack_bottom_output, "output taken from the first layer"),
    (_stack_every_layer_reads_x, "every layer reads the input x"),
])
def test_stack_mistakes(func, mistake):
    assert_rejected("05.stack_layers", func, mistake=mistake)


def test_stack_wrong_dtype():
    assert_rejected("05.stack_layers", lambda *a: (stack_layers(*a)[0],
                                                   stack_layers(*a)[1].astype(np.float32)), "float32")


# --------------------------------------------------------------------------- 05.final_states_from_output
def _fin(forward_at, backward_at, forward_half=0, swap_rows=False):
    def f(output, lengths):
        H = output.shape[2] // 2
        n = np.arange(output.shape[1])
        T = output.shape[0]
        idx = {"end": np.asarray(lengths) - 1, "T": np.full(len(lengths), T - 1), "0": np.zeros(len(lengths), int)}
        fh = slice(0, H) if forward_half == 0 else slice(H, 2 * H)
        bh = slice(H, 2 * H) if forward_half == 0 else slice(0, H)
        rows = [output[idx[forward_at], n][:, fh], output[idx[backward_at], n][:, bh]]
        return np.stack(rows[::-1] if swap_rows else rows)
    return f


def test_final_states_reference_mutant_is_the_solution():
    result = check("05.final_states_from_output", _fin("end", "0"), seed=0)
    assert result.passed, result.message


@pytest.mark.parametrize("func, mistake", [
    (_fin("T", "0"), "padded end output[-1]"),
    (_fin("end", "end"), "backward final state read at the true end"),
    (_fin("end", "0", swap_rows=True), "rows in the wrong order"),
    (_fin("end", "0", forward_half=1), "halves of output swapped"),
    (_fin("T", "T"), "both directions read at the padded end"),
])
def test_final_states_mistakes(func, mistake):
    assert_rejected("05.final_states_from_output", func, mistake=mistake)


def test_final_states_wrong_shape():
    assert_rejected("05.final_states_from_output",
                    lambda output, lengths: final_states_from_output(output, lengths)[0], "shape")


# --------------------------------------------------------------------------- 05.top_layer_final_states
def _top_last_row(h_n, num_layers, num_directions):
    return torch.from_numpy(h_n)[-1].numpy().copy()


def _top_view_dl(h_n, num_layers, num_directions):
    t = torch.from_numpy(h_n)
    N, H = t.shape[1:]
    return torch.cat(list(t.view(num_directions, num_layers, N, H)[:, -1]), dim=1).numpy()


def _top_first_layer(h_n, num_layers, num_directions):
    return np.concatenate([h_n[d] for d in range(num_directions)], axis=1)


def _top_backward_first(h_n, num_layers, num_directions):
    rows = [h_n[len(h_n) - 1 - d] for d in range(num_directions)]
    return np.concatenate(rows, axis=1)


def _top_flat_reshape(h_n, num_layers, num_directions):
    N, H = h_n.shape[1:]
    return np.ascontiguousarray(h_n[len(h_n) - num_directions:]).reshape(N, num_directions * H)


@pytest.mark.parametrize("func, mistake", [
    (_top_last_row, "only h_n[-1] taken"),
    (_top_view_dl, "viewed as (num_directions, num_layers, N, H)"),
    (_top_first_layer, "bottom layer"),
    (_top_backward_first, "directions in the wrong order"),
    (_top_flat_reshape, "reshaped straight"),
])
def test_top_layer_mistakes(func, mistake):
    assert_rejected("05.top_layer_final_states", func, mistake=mistake)


def test_top_layer_wrong_dtype():
    assert_rejected("05.top_layer_final_states",
                    lambda h_n, L, D: top_layer_final_states(h_n, L, D).astype(np.float32), "float32")


# --------------------------------------------------------------------------- wrong answers fed to the checks
def _reverse_all_axes(x, lengths):
    """np.flip without an axis: the feature axis is reversed too (invisible with one feature)."""
    y = x.copy()
    for n, length in enumerate(lengths):
        y[:length, n] = np.flip(x[:length, n])
    return y


@pytest.mark.parametrize("seed", [0, 1, 156])  # seed 156 once drew one feature in every case
def test_masked_reverse_flipping_features_too_is_rejected(seed):
    assert_rejected("05.masked_reverse", _reverse_all_axes, seed=seed)


def _stack_two_layers(x, params, num_layers, lengths):
    """num_layers ignored: always two layers (the notebook's example has two)."""
    first_two = {k: v for k, v in params.items()
                 if k.endswith(("_l0", "_l1", "_l0_reverse", "_l1_reverse"))}
    return stack_layers(x, first_two, 2, lengths)


def test_stack_ignoring_num_layers_is_rejected_on_every_seed():
    for seed in range(8):  # seed 2 once drew two layers in every case
        result = check("05.stack_layers", _stack_two_layers, seed=seed)
        assert not result.passed and result.score == 0, result.message


def test_stack_has_one_and_three_layer_cases():
    for seed in range(3):
        layers = sorted(case[2] for case in exercises()["05.stack_layers"].cases(
            np.random.default_rng(seed)))
        assert layers[0] == 1 and layers[-1] == 3


def test_stack_directions_swapped_within_a_layer_is_named():
    def swapped(x, params, num_layers, lengths):
        out, h_n = stack_layers(x, params, num_layers, lengths)
        return out, np.concatenate([h_n[[2 * layer + 1, 2 * layer]] for layer in range(num_layers)])
    assert_rejected("05.stack_layers", swapped, mistake="two rows of each layer in the wrong order")


def _float32_rounded(func):
    def rounded(*args):
        return tuple(np.asarray(v, np.float32).astype(np.float64) for v in func(*args))
    return rounded


@pytest.mark.parametrize("exercise_id",
                         ["05.stack_layers", "05.bidirectional_rnn", "05.rnn_forward"])
def test_float32_answer_gets_the_float32_diagnosis_not_a_mistake(exercise_id):
    """On the one-layer case the stacking mistakes equal the reference: an answer off by float32
    rounding must not be told it made one of them."""
    for seed in range(3):
        result = assert_rejected(exercise_id, _float32_rounded(SOLUTIONS[exercise_id]), "float32",
                                 seed=seed)
        assert result.mistake is None, result.message


def _packed_without_total_length(x, weight_ih, weight_hh, bias_ih, bias_hh, lengths):
    """torch.nn.RNN on a packed batch, unpacked without total_length: as many rows as the longest
    sequence, not T."""
    H, I = weight_ih.shape
    rnn = _torch_rnn({"weight_ih_l0": weight_ih, "weight_hh_l0": weight_hh, "bias_ih_l0": bias_ih,
                      "bias_hh_l0": bias_hh}, I, H)
    with torch.no_grad():
        out, h_n = rnn(pack_padded_sequence(torch.from_numpy(x), torch.from_numpy(lengths),
                                            enforce_sorted=False))
        out, _ = pad_packed_sequence(out)
    return out.numpy(), h_n[0].numpy()


def test_rnn_forward_needs_T_rows_when_no_sequence_fills_the_batch():
    for seed in range(4):  # every case once had a full-length sequence: this passed
        assert_rejected("05.rnn_forward", _packed_without_total_length, "shape", seed=seed)
