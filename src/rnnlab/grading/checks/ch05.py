r"""Graded exercises of chapter 5 (bidirectional and deep RNNs): ``solutions/05_bidirectional_deep.ipynb``.

==============================  ==================================================================
id                              what the student writes
==============================  ==================================================================
``05.masked_reverse``           reverse each sequence of a padded batch within its true length,
                                padded steps left where they are
``05.rnn_forward``              a tanh RNN over a padded batch with masking: padded steps change
                                neither the state nor anything returned
``05.bidirectional_rnn``        one bidirectional tanh layer from two unidirectional passes, in
                                torch's layout: ``output`` (T, N, 2H), ``h_n`` (2, N, H)
``05.stack_layers``             ``num_layers`` bidirectional layers stacked, ``h_n`` ordered as
                                torch orders it (row ``layer * 2 + direction``)
``05.final_states_from_output`` read a bidirectional layer's ``h_n`` off its padded ``output``
``05.top_layer_final_states``   pick the top layer's final states out of ``h_n`` and put the
                                directions side by side, (N, num_directions * H)
==============================  ==================================================================

Conventions (the chapter's): time-major arrays, ``x`` (T, N, I); ``lengths`` (N,) int64 with
``1 <= lengths[n] <= T``; a tanh RNN ``h_t = tanh(x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh)``
from ``h = 0``; parameters keyed as ``torch.nn.RNN``'s ``named_parameters()`` (``weight_ih_l0``,
``weight_hh_l0``, ``bias_ih_l0``, ``bias_hh_l0`` and the same with ``_reverse``); outputs at padded
steps are 0 (what ``pad_packed_sequence`` returns); ``h_n`` holds the state at each sequence's
true end (forward) and at step 0 (backward). The cases fill the padded steps of ``x`` with random
values, not zeros, so that an answer that lets padding leak in is caught.

Each reference below is the correct answer; each entry of ``mistakes`` is a wrong answer a student
is likely to give, so that the grader can name it when the student's output matches it.
"""
from __future__ import annotations

import numpy as np

from rnnlab.grading.checks._common import _normal, _where_it_differs
from rnnlab.grading.spec import Exercise

NOTEBOOK = "05_bidirectional_deep.ipynb"


# ============================================================================ shared helpers
def _lengths(rng, T, N, full=True):
    """True lengths in 1..T, unsorted: at least one full-length (``full``; otherwise none, a batch
    padded beyond its longest sequence) and (N >= 2) one shorter sequence."""
    top = T if full else T - 1  # the longest length (T >= 3 where full is False)
    lengths = rng.integers(1, top + 1, size=N)
    longest, short = rng.permutation(N)[:2] if N >= 2 else (0, None)
    lengths[longest] = top
    if short is not None:
        lengths[short] = rng.integers(1, top)
    return lengths.astype(np.int64)


def _valid(T, lengths):
    """(T, N, 1) bool: True at the steps that belong to a sequence."""
    return (np.arange(T)[:, None] < np.asarray(lengths)[None, :])[:, :, None]


def _padded_input(rng, T, N, I, full=True):
    """x (T, N, I) whose padded steps hold random values (padding must not matter); ``full=False``:
    no sequence fills the T steps (the outputs still have T rows: pad_packed_sequence needs
    total_length=T, and T must come from x, not from lengths.max())."""
    lengths = _lengths(rng, T, N, full)
    return _normal(rng, T, N, I, scale=1.0), lengths


def _layer_params(rng, I, H, layer=0):
    p = {}
    for suffix in ("", "_reverse"):
        p[f"weight_ih_l{layer}{suffix}"] = _normal(rng, H, I)
        p[f"weight_hh_l{layer}{suffix}"] = _normal(rng, H, H)
        p[f"bias_ih_l{layer}{suffix}"] = _normal(rng, H)
        p[f"bias_hh_l{layer}{suffix}"] = _normal(rng, H)
    return p


def _weights(params, layer, suffix):
    k = f"l{layer}{suffix}"
    return (params[f"weight_ih_{k}"], params[f"weight_hh_{k}"], params[f"bias_ih_{k}"],
            params[f"bias_hh_{k}"])


# ============================================================================ 05.masked_reverse
def masked_reverse(x, lengths):
    """Reference: ``y[t, n] = x[lengths[n] - 1 - t, n]`` for ``t < lengths[n]``, else ``x[t, n]``.

    ``x`` (T, N, ...) and ``lengths`` (N,). Reversing twice gives ``x`` back.
    """
    y = x.copy()
    for n, length in enumerate(lengths):
        y[:length, n] = x[:length, n][::-1]
    return y


def _rev_whole(x, lengths):
    return x[::-1].copy()


def _rev_none(x, lengths):
    return x.copy()


def _rev_zero_pad(x, lengths):
    return masked_reverse(x, lengths) * _valid(x.shape[0], lengths)


def _rev_batch(x, lengths):
    return x[:, ::-1].copy()


def _rev_cases(rng):
    cases = []
    for i in range(4):
        # the first case has two features or more, so that flipping the feature axis too (np.flip
        # without an axis) shows
        T, N, F = (int(v) for v in rng.integers([3, 2, 2 if i == 0 else 1], [8, 6, 5]))
        x, lengths = _padded_input(rng, T, N, F, full=i < 3)
        cases.append((x, lengths))
    return cases


MASKED_REVERSE = Exercise(
    id="05.masked_reverse",
    notebook=NOTEBOOK,
    function="masked_reverse",
    points=1.0,
    title="Reverse every sequence of a padded batch within its own length",
    cases=_rev_cases,
    reference=masked_reverse,
    mistakes=_where_it_differs({
        "reversed over the padded length (x[::-1]): the padding moves to the front; reverse only "
        "the first lengths[n] steps of each sequence": _rev_whole,
        "nothing was reversed": _rev_none,
        "the padded steps were zeroed; leave them as they were (only x[:lengths[n], n] moves)":
            _rev_zero_pad,
        "reversed along the batch axis (axis 1) instead of time (axis 0)": _rev_batch,
    }, masked_reverse),
    arg_names=("x", "lengths"),
    output_names=("reversed",),
    hint="Only time (axis 0) moves, and for sequence n only its first lengths[n] steps; the "
         "padded steps and the feature order stay as they are.",
)


# ============================================================================ 05.rnn_forward
def rnn_forward(x, weight_ih, weight_hh, bias_ih, bias_hh, lengths):
    """Reference: a tanh RNN over a padded batch, masked.

    ``x`` (T, N, I), weights as ``torch.nn.RNN``'s layer 0, ``lengths`` (N,). From ``h = 0``,
    ``h_t = tanh(x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh)`` at real steps; at padded steps the
    state is kept and the output is 0. Returns ``(output, h_last)``: (T, N, H) and the state at
    each true end (N, H).
    """
    T, N = x.shape[:2]
    H = weight_hh.shape[0]
    valid = _valid(T, lengths)
    h = np.zeros((N, H))
    out = np.zeros((T, N, H))
    for t in range(T):
        h_new = np.tanh(x[t] @ weight_ih.T + bias_ih + h @ weight_hh.T + bias_hh)
        h = np.where(valid[t], h_new, h)
        out[t] = np.where(valid[t], h, 0.0)
    return out, h


def _fwd_unmasked(x, weight_ih, weight_hh, bias_ih, bias_hh, lengths):
    full = np.full_like(np.asarray(lengths), x.shape[0])
    return rnn_forward(x, weight_ih, weight_hh, bias_ih, bias_hh, full)


def _fwd_last_at_T(x, weight_ih, weight_hh, bias_ih, bias_hh, lengths):
    out, _ = rnn_forward(x, weight_ih, weight_hh, bias_ih, bias_hh, lengths)
    full, h_T = _fwd_unmasked(x, weight_ih, weight_hh, bias_ih, bias_hh, lengths)
    return out, h_T


def _fwd_outputs_not_zeroed(x, weight_ih, weight_hh, bias_ih, bias_hh, lengths):
    out, h = rnn_forward(x, weight_ih, weight_hh, bias_ih, bias_hh, lengths)
    T = x.shape[0]
    held = out.copy()
    for t in range(1, T):
        held[t] = np.where(_valid(T, lengths)[t], out[t], held[t - 1])
    return held, h


def _fwd_whh_transposed(x, weight_ih, weight_hh, bias_ih, bias_hh, lengths):
    return rnn_forward(x, weight_ih, weight_hh.T, bias_ih, bias_hh, lengths)


def _fwd_one_bias(x, weight_ih, weight_hh, bias_ih, bias_hh, lengths):
    return rnn_forward(x, weight_ih, weight_hh, bias_ih, np.zeros_like(bias_hh), lengths)


def _fwd_cases(rng):
    cases = []
    for i in range(4):
        T, N, I, H = (int(v) for v in rng.integers([3, 2, 1, 2], [8, 6, 5, 6]))
        x, lengths = _padded_input(rng, T, N, I, full=i < 3)
        cases.append((x, _normal(rng, H, I), _normal(rng, H, H), _normal(rng, H), _normal(rng, H),
                      lengths))
    return cases


RNN_FORWARD = Exercise(
    id="05.rnn_forward",
    notebook=NOTEBOOK,
    function="rnn_forward",
    points=2.0,
    title="A tanh RNN over a padded batch, masked so that padding changes nothing",
    cases=_fwd_cases,
    reference=rnn_forward,
    mistakes=_where_it_differs({
        "padding not masked: the state keeps running through the padded steps (h_last must be "
        "the state at step lengths[n] - 1, outputs at padded steps 0)": _fwd_unmasked,
        "h_last taken after the padded steps (the state at step T - 1) instead of at each true "
        "end lengths[n] - 1": _fwd_last_at_T,
        "outputs at padded steps are not 0 (pad_packed_sequence returns zeros there)":
            _fwd_outputs_not_zeroed,
        "weight_hh transposed: use h @ weight_hh.T": _fwd_whh_transposed,
        "bias_hh forgotten: torch adds two biases, bias_ih and bias_hh": _fwd_one_bias,
    }, rnn_forward),
    arg_names=("x", "weight_ih", "weight_hh", "bias_ih", "bias_hh", "lengths"),
    output_names=("output", "h_last"),
    hint="A (T, N, 1) mask, true where t < lengths[n], decides at each step whether the state "
         "moves and whether that step's output is kept; h_last is the state where each "
         "sequence ends.",
)


# ============================================================================ 05.bidirectional_rnn
def bidirectional_rnn(x, params, lengths):
    """Reference: one bidirectional tanh layer built from two unidirectional passes.

    forward: :func:`rnn_forward` with the ``_l0`` weights; backward: reverse each sequence within
    its length, run :func:`rnn_forward` with the ``_l0_reverse`` weights, reverse the outputs back.
    Returns ``output`` (T, N, 2H) = ``[forward, backward]`` along the last axis and ``h_n``
    (2, N, H) = ``[forward state at each true end, backward state at step 0]``.
    """
    out_f, h_f = rnn_forward(x, *_weights(params, 0, ""), lengths)
    out_b, h_b = rnn_forward(masked_reverse(x, lengths), *_weights(params, 0, "_reverse"), lengths)
    out_b = masked_reverse(out_b, lengths)
    return np.concatenate([out_f, out_b], axis=-1), np.stack([h_f, h_b])


def _bi_not_reversed(x, params, lengths):
    out_f, h_f = rnn_forward(x, *_weights(params, 0, ""), lengths)
    out_b, h_b = rnn_forward(x, *_weights(params, 0, "_reverse"), lengths)
    return np.concatenate([out_f, out_b], axis=-1), np.stack([h_f, h_b])


def _bi_reversed_padded(x, params, lengths):
    """The backward pass reversed over the padded length T: it starts in the padding."""
    T = x.shape[0]
    out_f, h_f = rnn_forward(x, *_weights(params, 0, ""), lengths)
    full = np.full_like(np.asarray(lengths), T)
    out_b, h_b = rnn_forward(x[::-1], *_weights(params, 0, "_reverse"), full)
    out_b = out_b[::-1] * _valid(T, lengths)
    return np.concatenate([out_f, out_b], axis=-1), np.stack([h_f, h_b])


def _bi_reversed_padded_masked(x, params, lengths):
    """x[::-1] instead of masked_reverse, the rest right (rnn_forward masks by the true lengths)."""
    out_f, h_f = rnn_forward(x, *_weights(params, 0, ""), lengths)
    out_b, h_b = rnn_forward(x[::-1], *_weights(params, 0, "_reverse"), lengths)
    return np.concatenate([out_f, out_b[::-1]], axis=-1), np.stack([h_f, h_b])


def _bi_swapped(x, params, lengths):
    out, h_n = bidirectional_rnn(x, params, lengths)
    H = h_n.shape[-1]
    return np.concatenate([out[..., H:], out[..., :H]], axis=-1), h_n[::-1].copy()


def _bi_swapped_output_only(x, params, lengths):
    out, h_n = bidirectional_rnn(x, params, lengths)
    H = h_n.shape[-1]
    return np.concatenate([out[..., H:], out[..., :H]], axis=-1), h_n


def _bi_not_reversed_back(x, params, lengths):
    out_f, h_f = rnn_forward(x, *_weights(params, 0, ""), lengths)
    out_b, h_b = rnn_forward(masked_reverse(x, lengths), *_weights(params, 0, "_reverse"), lengths)
    return np.concatenate([out_f, out_b], axis=-1), np.stack([h_f, h_b])


def _bi_weights_swapped(x, params, lengths):
    swapped = {}
    for k, v in params.items():
        other = k[:-len("_reverse")] if k.endswith("_reverse") else k + "_reverse"
        swapped[other] = v
    return bidirectional_rnn(x, swapped, lengths)


def _bi_cases(rng):
    cases = []
    for i in range(4):
        T, N, I, H = (int(v) for v in rng.integers([3, 2, 1, 2], [8, 6, 5, 6]))
        x, lengths = _padded_input(rng, T, N, I, full=i < 3)
        cases.append((x, _layer_params(rng, I, H), lengths))
    return cases


BIDIRECTIONAL_RNN = Exercise(
    id="05.bidirectional_rnn",
    notebook=NOTEBOOK,
    function="bidirectional_rnn",
    points=2.0,
    title="One bidirectional tanh layer from two unidirectional passes, in torch's layout",
    cases=_bi_cases,
    reference=bidirectional_rnn,
    mistakes=_where_it_differs({
        "backward direction not reversed: the _reverse weights were run left to right":
            _bi_not_reversed,
        "backward direction reversed over the padded length (x[::-1]): it starts in the padding "
        "instead of at each sequence's true end; use masked_reverse": _bi_reversed_padded,
        "backward direction reversed with x[::-1] over the padded length T (check masked_reverse "
        "first): the backward pass must start at each sequence's true end": _bi_reversed_padded_masked,
        "directions in the wrong order: torch puts the forward direction first, output[..., :H] "
        "and h_n[0]": _bi_swapped,
        "directions concatenated in the wrong order in output ([backward, forward]); torch's "
        "output is [forward, backward]": _bi_swapped_output_only,
        "backward outputs left in reversed time: reverse them back so output[t] belongs to "
        "step t": _bi_not_reversed_back,
        "the two directions' weights swapped: the forward pass uses the _l0 weights, the "
        "backward pass the _l0_reverse ones": _bi_weights_swapped,
    }, bidirectional_rnn),
    arg_names=("x", "params", "lengths"),
    output_names=("output", "h_n"),
    hint="forward = rnn_forward(x, ...l0...); backward = masked_reverse(rnn_forward("
         "masked_reverse(x), ...l0_reverse...)); output = concat([forward, backward], -1).",
)


# ============================================================================ 05.stack_layers
def stack_layers(x, params, num_layers, lengths):
    """Reference: ``num_layers`` bidirectional tanh layers, layer ``l`` reading layer ``l-1``'s
    output (T, N, 2H); layer ``l`` uses the keys ``..._l{l}`` and ``..._l{l}_reverse``.

    Returns the top layer's ``output`` (T, N, 2H) and ``h_n`` (2 * num_layers, N, H), row
    ``layer * 2 + direction`` as ``torch.nn.RNN(num_layers=..., bidirectional=True)``.
    """
    h_n = []
    layer_input = x
    for layer in range(num_layers):
        sub = {k.replace(f"_l{layer}", "_l0"): v for k, v in params.items()
               if k.endswith(f"_l{layer}") or k.endswith(f"_l{layer}_reverse")}
        layer_input, h = bidirectional_rnn(layer_input, sub, lengths)
        h_n.extend([h[0], h[1]])
    return layer_input, np.stack(h_n)


def _stack_direction_major(x, params, num_layers, lengths):
    out, h_n = stack_layers(x, params, num_layers, lengths)
    return out, np.concatenate([h_n[0::2], h_n[1::2]])


def _stack_directions_swapped(x, params, num_layers, lengths):
    out, h_n = stack_layers(x, params, num_layers, lengths)
    N, H = h_n.shape[1:]
    return out, h_n.reshape(num_layers, 2, N, H)[:, ::-1].reshape(2 * num_layers, N, H)


def _stack_top_only(x, params, num_layers, lengths):
    out, h_n = stack_layers(x, params, num_layers, lengths)
    return out, h_n[-2:].copy()


def _stack_bottom_output(x, params, num_layers, lengths):
    out, h_n = stack_layers(x, params, num_layers, lengths)
    out0, _ = stack_layers(x, params, 1, lengths)
    return out0, h_n


def _stack_not_chained(x, params, num_layers, lengths):
    """Every layer reads x (the cases make input_size == 2 * hidden_size, so this runs)."""
    h_n, out = [], None
    for layer in range(num_layers):
        sub = {k.replace(f"_l{layer}", "_l0"): v for k, v in params.items()
               if k.endswith(f"_l{layer}") or k.endswith(f"_l{layer}_reverse")}
        out, h = bidirectional_rnn(x, sub, lengths)
        h_n.extend([h[0], h[1]])
    return out, np.stack(h_n)


def _stack_cases(rng):
    cases = []
    # two and three layers always (an answer that ignores num_layers and stacks a fixed number
    # fails one of them), one layer last (the boundary; where the stacking mistakes vanish); the
    # third case has no full-length sequence (the last case does that in the other exercises)
    for i, L in enumerate((2, 3, int(rng.integers(2, 4)), 1)):
        T, N, H = (int(v) for v in rng.integers([3, 2, 2], [7, 5, 5]))
        # input_size == 2H (the width of a bidirectional layer's output), so that an answer that
        # feeds x to every layer runs and can be recognised instead of raising a shape error
        I = 2 * H
        x, lengths = _padded_input(rng, T, N, I, full=i != 2)
        params = {}
        for layer in range(L):
            params.update(_layer_params(rng, I if layer == 0 else 2 * H, H, layer))
        cases.append((x, params, L, lengths))
    return cases


STACK_LAYERS = Exercise(
    id="05.stack_layers",
    notebook=NOTEBOOK,
    function="stack_layers",
    points=2.0,
    title="Stack bidirectional layers and lay out h_n as torch does",
    cases=_stack_cases,
    reference=stack_layers,
    mistakes=_where_it_differs({
        "h_n rows mixed between layers and directions: all forward rows first, then all "
        "backward rows; torch orders them layer by layer, row = layer * 2 + direction":
            _stack_direction_major,
        "h_n's two rows of each layer in the wrong order: torch puts a layer's forward "
        "direction first (row layer * 2), then its backward one (row layer * 2 + 1)":
            _stack_directions_swapped,
        "h_n holds only the top layer: it has one row per layer and direction "
        "(2 * num_layers rows)": _stack_top_only,
        "output taken from the first layer; it is the top layer's": _stack_bottom_output,
        "every layer reads the input x; layer l + 1 must read layer l's output (both directions, "
        "2H wide)": _stack_not_chained,
    }, stack_layers),
    arg_names=("x", "params", "num_layers", "lengths"),
    output_names=("output", "h_n"),
    hint="Each layer reads the previous layer's whole output (the first reads x), with its own "
         "weights and the same lengths; h_n keeps every layer's two rows, layer by layer.",
)


# ============================================================================ 05.final_states_from_output
def final_states_from_output(output, lengths):
    """Reference: ``h_n`` (2, N, H) of one bidirectional layer, read off its padded ``output``
    (T, N, 2H): forward at each true end ``output[lengths[n] - 1, n, :H]``, backward at step 0
    ``output[0, n, H:]``."""
    H = output.shape[-1] // 2
    n = np.arange(output.shape[1])
    fwd = output[np.asarray(lengths) - 1, n, :H]
    bwd = output[0, :, H:]
    return np.stack([fwd, bwd])


def _fin_padded_end(output, lengths):
    H = output.shape[-1] // 2
    return np.stack([output[-1, :, :H], output[0, :, H:]])


def _fin_backward_at_end(output, lengths):
    H = output.shape[-1] // 2
    n = np.arange(output.shape[1])
    idx = np.asarray(lengths) - 1
    return np.stack([output[idx, n, :H], output[idx, n, H:]])


def _fin_rows_swapped(output, lengths):
    return final_states_from_output(output, lengths)[::-1].copy()


def _fin_halves_swapped(output, lengths):
    H = output.shape[-1] // 2
    n = np.arange(output.shape[1])
    idx = np.asarray(lengths) - 1
    return np.stack([output[idx, n, H:], output[0, :, :H]])


def _fin_both_at_padded_end(output, lengths):
    H = output.shape[-1] // 2
    return np.stack([output[-1, :, :H], output[-1, :, H:]])


def _fin_cases(rng):
    cases = []
    for i in range(4):
        T, N, I, H = (int(v) for v in rng.integers([3, 2, 1, 2], [8, 6, 5, 6]))
        x, lengths = _padded_input(rng, T, N, I, full=i < 3)
        output, _ = bidirectional_rnn(x, _layer_params(rng, I, H), lengths)
        cases.append((output, lengths))
    return cases


FINAL_STATES_FROM_OUTPUT = Exercise(
    id="05.final_states_from_output",
    notebook=NOTEBOOK,
    function="final_states_from_output",
    points=1.0,
    title="Read h_n off a bidirectional layer's padded output",
    cases=_fin_cases,
    reference=final_states_from_output,
    mistakes=_where_it_differs({
        "forward final state read at the padded end output[-1]: with padding it is 0 there; read "
        "it at each true end output[lengths[n] - 1, n, :H]": _fin_padded_end,
        "backward final state read at the true end: the backward direction finishes at step 0, "
        "output[0, :, H:]": _fin_backward_at_end,
        "h_n rows in the wrong order: h_n[0] is the forward direction, h_n[1] the backward one":
            _fin_rows_swapped,
        "halves of output swapped: output[..., :H] is the forward direction, output[..., H:] "
        "the backward one": _fin_halves_swapped,
        "both directions read at the padded end output[-1]": _fin_both_at_padded_end,
    }, final_states_from_output),
    arg_names=("output", "lengths"),
    output_names=("h_n",),
    hint="Each direction's final state is its output at the last step it reads: for the forward "
         "direction that step differs between sequences (pick one row per sequence with an "
         "integer index array); for the backward one it is where a right-to-left pass ends.",
)


# ============================================================================ 05.top_layer_final_states
def top_layer_final_states(h_n, num_layers, num_directions):
    """Reference: the top layer's final states, directions side by side: (N, num_directions * H).

    ``h_n`` (num_layers * num_directions, N, H) viewed as (num_layers, num_directions, N, H);
    returns ``concat([h_n[-2], h_n[-1]], axis=1)`` for two directions, ``h_n[-1]`` for one.
    """
    L, D = num_layers, num_directions
    N, H = h_n.shape[1:]
    top = h_n.reshape(L, D, N, H)[-1]
    return np.concatenate(list(top), axis=1)


def _top_last_row(h_n, num_layers, num_directions):
    return h_n[-1].copy()


def _top_direction_major(h_n, num_layers, num_directions):
    L, D = num_layers, num_directions
    N, H = h_n.shape[1:]
    top = h_n.reshape(D, L, N, H)[:, -1]
    return np.concatenate(list(top), axis=1)


def _top_bottom_layer(h_n, num_layers, num_directions):
    L, D = num_layers, num_directions
    N, H = h_n.shape[1:]
    return np.concatenate(list(h_n.reshape(L, D, N, H)[0]), axis=1)


def _top_directions_swapped(h_n, num_layers, num_directions):
    L, D = num_layers, num_directions
    N, H = h_n.shape[1:]
    return np.concatenate(list(h_n.reshape(L, D, N, H)[-1][::-1]), axis=1)


def _top_reshape_no_transpose(h_n, num_layers, num_directions):
    """The top layer's rows reshaped to (N, D*H) without moving the direction axis."""
    L, D = num_layers, num_directions
    N, H = h_n.shape[1:]
    return h_n.reshape(L, D, N, H)[-1].reshape(N, D * H)


def _top_cases(rng):
    cases = []
    for L, D in ((2, 2), (3, 2), (1, 2), (3, 1), (int(rng.integers(2, 5)), 2)):
        N, H = (int(v) for v in rng.integers([2, 2], [6, 6]))
        cases.append((_normal(rng, L * D, N, H, scale=1.0), L, D))
    return cases


TOP_LAYER_FINAL_STATES = Exercise(
    id="05.top_layer_final_states",
    notebook=NOTEBOOK,
    function="top_layer_final_states",
    points=1.0,
    title="Pick the top layer's final states out of h_n, directions side by side",
    cases=_top_cases,
    reference=top_layer_final_states,
    mistakes=_where_it_differs({
        "only h_n[-1] taken: with two directions that is the top layer's backward state alone; "
        "the forward one is h_n[-2]": _top_last_row,
        "h_n viewed as (num_directions, num_layers, N, H): torch's order is (num_layers, "
        "num_directions, N, H)": _top_direction_major,
        "the bottom layer's rows taken: the top layer is the last one, view(L, D, N, H)[-1]":
            _top_bottom_layer,
        "directions in the wrong order: forward first, [h_n[-2], h_n[-1]]":
            _top_directions_swapped,
        "the (D, N, H) block reshaped straight to (N, D*H): that interleaves sequences; "
        "concatenate the directions along axis 1 instead": _top_reshape_no_transpose,
    }, top_layer_final_states),
    arg_names=("h_n", "num_layers", "num_directions"),
    output_names=("summary",),
    hint="h_n's rows are ordered layer * num_directions + direction: take the top layer's "
         "num_directions rows and put them side by side along the feature axis (a reshape of "
         "(D, N, H) straight to (N, D*H) mixes sequences).",
)

EXERCISES = [MASKED_REVERSE, RNN_FORWARD, BIDIRECTIONAL_RNN, STACK_LAYERS, FINAL_STATES_FROM_OUTPUT, TOP_LAYER_FINAL_STATES]
