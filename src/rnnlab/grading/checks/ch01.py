r"""Graded exercises of chapter 1 (recurrent networks): ``solutions/01_recurrent_networks.ipynb``.

=========================  ===================================================================
id                         what the student writes
=========================  ===================================================================
``01.run_fixed_rnn``       the blog snippet's ``step``, repaired (``__init__``, bias, import),
                           run over several sequences, each from the zero state
``01.rnn_step``            one step ``h = tanh(x W_ih^T + b_ih + h_prev W_hh^T + b_hh)``
                           in torch's names and batch-first row layout
``01.carry_bit_weights``   hand-chosen weights of a tanh RNN that carry a bit across ``steps``
                           steps of noise (judged by running them, any correct choice passes)
``01.count_parameters``    the parameter count of ``nn.RNN`` + ``nn.Linear`` (it ignores the
                           sequence length: parameter sharing)
=========================  ===================================================================

Each reference below is the correct answer; each entry of ``mistakes`` is a wrong answer a student
is likely to give, so that the grader can name it when the student's output matches it.
"""
from __future__ import annotations

import numpy as np

from rnnlab.data.synthetic import CARRY_BIT_NOISE, carry_bit_inputs, run_carry_bit
from rnnlab.grading.checks._common import _normal
from rnnlab.grading.spec import Exercise

NOTEBOOK = "01_recurrent_networks.ipynb"


# ============================================================================ 01.run_fixed_rnn
def _run_sequences(W_xh, W_hh, W_hy, b_h, xs, *, bias=True, output_first=False, reset=True,
                   transpose=False, tanh=True):
    """One routine with switches: the reference (defaults) and the likely mistakes."""
    Whh = W_hh.T if transpose else W_hh
    b = b_h if bias else np.zeros_like(b_h)
    h = np.zeros(W_hh.shape[0])
    all_ys, last = [], []
    for seq in xs:
        if reset:
            h = np.zeros(W_hh.shape[0])
        ys = []
        for x in seq:
            if output_first:
                ys.append(W_hy @ h)
            a = Whh @ h + W_xh @ x + b
            h = np.tanh(a) if tanh else a
            if not output_first:
                ys.append(W_hy @ h)
        all_ys.append(np.stack(ys))
        last.append(h)
    return np.stack(all_ys), np.stack(last)


def run_fixed_rnn(W_xh, W_hh, W_hy, b_h, xs):
    """Reference: the repaired seed snippet, run over ``B`` independent sequences.

    Column-vector convention of the snippet: ``h_t = tanh(W_hh h_{t-1} + W_xh x_t + b_h)`` from
    ``h_0 = 0`` for *every* sequence, ``y_t = W_hy h_t``.
    ``W_xh`` (H, I), ``W_hh`` (H, H), ``W_hy`` (K, H), ``b_h`` (H,), ``xs`` (B, T, I).
    Returns ``(ys, h_last)``: ``ys`` (B, T, K) and each sequence's last state ``h_last`` (B, H).
    """
    return _run_sequences(W_xh, W_hh, W_hy, b_h, xs)


def _fixed(**switches):
    def wrong(W_xh, W_hh, W_hy, b_h, xs):
        return _run_sequences(W_xh, W_hh, W_hy, b_h, xs, **switches)
    return wrong


def _fixed_cases(rng):
    cases = []
    for _ in range(4):
        B, D, H, K, T = (int(v) for v in rng.integers([2, 2, 3, 2, 3], [4, 5, 7, 5, 9]))
        cases.append((_normal(rng, H, D), _normal(rng, H, H), _normal(rng, K, H),
                      _normal(rng, H), _normal(rng, B, T, D, scale=1.0)))
    return cases


RUN_FIXED_RNN = Exercise(
    id="01.run_fixed_rnn",
    notebook=NOTEBOOK,
    function="run_fixed_rnn",
    points=2.0,
    title="Repair the blog post's RNN step snippet and run it over several sequences",
    cases=_fixed_cases,
    reference=run_fixed_rnn,
    mistakes={
        "the state is not reset between sequences: every sequence must start from h = 0 "
        "(set it in __init__ or a reset method)": _fixed(reset=False),
        "the hidden update has no bias (the blog post's snippet forgot b_h)": _fixed(bias=False),
        "y_t read from the previous hidden state (output computed before h is updated)":
            _fixed(output_first=True),
        "W_hh transposed (np.dot(h, W_hh) instead of np.dot(W_hh, h))": _fixed(transpose=True),
        "tanh missing: the hidden update is linear": _fixed(tanh=False),
    },
    arg_names=("W_xh", "W_hh", "W_hy", "b_h", "xs"),
    output_names=("ys", "h_last"),
    hint="Start every sequence from h = 0, add b_h inside the tanh, update h before computing "
         "y = W_hy h.",
)


# ============================================================================ 01.rnn_step
def rnn_step(x, h_prev, weight_ih, weight_hh, bias_ih, bias_hh):
    """Reference: ``tanh(x W_ih^T + b_ih + h_prev W_hh^T + b_hh)`` for a batch.

    ``x`` (N, I), ``h_prev`` (N, H), ``weight_ih`` (H, I), ``weight_hh`` (H, H),
    ``bias_ih``/``bias_hh`` (H,).  Returns ``h`` (N, H), as ``torch.nn.RNNCell``.
    """
    return np.tanh(x @ weight_ih.T + bias_ih + h_prev @ weight_hh.T + bias_hh)


def _step_whh_transposed(x, h_prev, weight_ih, weight_hh, bias_ih, bias_hh):
    return np.tanh(x @ weight_ih.T + bias_ih + h_prev @ weight_hh + bias_hh)


def _step_one_bias(x, h_prev, weight_ih, weight_hh, bias_ih, bias_hh):
    return np.tanh(x @ weight_ih.T + bias_ih + h_prev @ weight_hh.T)


def _step_no_tanh(x, h_prev, weight_ih, weight_hh, bias_ih, bias_hh):
    return x @ weight_ih.T + bias_ih + h_prev @ weight_hh.T + bias_hh


def _step_sigmoid(x, h_prev, weight_ih, weight_hh, bias_ih, bias_hh):
    a = x @ weight_ih.T + bias_ih + h_prev @ weight_hh.T + bias_hh
    return 1.0 / (1.0 + np.exp(-a))


def _step_cases(rng):
    cases = []
    for _ in range(4):
        N, D = (int(v) for v in rng.integers([1, 1], [5, 6]))
        H = N + int(rng.integers(1, 4))  # batch != hidden: a transposed h has the wrong shape
        cases.append((_normal(rng, N, D, scale=1.0), np.tanh(_normal(rng, N, H, scale=1.0)),
                      _normal(rng, H, D), _normal(rng, H, H), _normal(rng, H), _normal(rng, H)))
    return cases


RNN_STEP = Exercise(
    id="01.rnn_step",
    notebook=NOTEBOOK,
    function="rnn_step",
    points=2.0,
    title="One step of a tanh RNN in torch's names (weight_ih, weight_hh, bias_ih, bias_hh)",
    cases=_step_cases,
    reference=rnn_step,
    mistakes={
        "weight_hh transposed: use h_prev @ weight_hh.T (torch stores W_hh as (hidden, hidden) "
        "acting on column vectors)": _step_whh_transposed,
        "bias_hh forgotten: torch adds two biases, bias_ih and bias_hh": _step_one_bias,
        "tanh missing: the step is linear": _step_no_tanh,
        "sigmoid used instead of tanh": _step_sigmoid,
    },
    arg_names=("x", "h_prev", "weight_ih", "weight_hh", "bias_ih", "bias_hh"),
    # the direction, not the line of code: the formula with the transposes is the exercise
    hint="Rows are batch elements, so x @ weight_ih.T has shape (N, H); build the recurrent term "
         "from h_prev the same way, and add both biases inside the tanh.",
)


# ============================================================================ 01.carry_bit_weights
#: The carry-bit task: step 1 reads the bit (+1 or -1); steps 2..steps read noise drawn uniformly
#: from [-NOISE, NOISE]; after the last step, sign(weight_out @ h) must equal the bit.
NOISE = CARRY_BIT_NOISE
MAX_HIDDEN = 64
CARRY_KEYS = ("weight_ih", "weight_hh", "bias", "weight_out")


def carry_bit_weights(steps):
    """Reference: a one-unit latch.  ``h_t = tanh(5 h_{t-1} + 2 x_t)``: the first input sets the
    sign of ``h``; with a self-weight of 5 the state sits near +-1 and noise of size 0.5 (which
    moves the pre-activation by at most 1) can never flip it.  Works for any ``steps``."""
    return {
        "weight_ih": np.array([[2.0]]),
        "weight_hh": np.array([[5.0]]),
        "bias": np.array([0.0]),
        "weight_out": np.array([[1.0]]),
    }


def _validate_carry(got):
    """Return an error message for a malformed answer, or '' when the shapes are usable."""
    if not isinstance(got, dict):
        return (f"carry_bit_weights must return a dict with keys {CARRY_KEYS}, "
                f"got {type(got).__name__}")
    missing = [k for k in CARRY_KEYS if k not in got]
    if missing:
        return f"the returned dict lacks the key(s) {missing}; expected keys {CARRY_KEYS}"
    arrays = {}
    for key in CARRY_KEYS:
        value = got[key]
        if not isinstance(value, np.ndarray):
            return f"{key} must be a numpy array, got {type(value).__name__}"
        if value.dtype != np.float64:
            return f"{key} must have dtype float64, got {value.dtype}"
        if not np.all(np.isfinite(value)):
            return f"{key} holds nan or inf"
        arrays[key] = value
    W_hh = arrays["weight_hh"]
    if W_hh.ndim != 2 or W_hh.shape[0] != W_hh.shape[1] or not 1 <= W_hh.shape[0] <= MAX_HIDDEN:
        return (f"weight_hh must be square (H, H) with 1 <= H <= {MAX_HIDDEN}, "
                f"got shape {W_hh.shape}")
    H = W_hh.shape[0]
    expected = {"weight_ih": (H, 1), "bias": (H,), "weight_out": (1, H)}
    for key, shape in expected.items():
        if arrays[key].shape != shape:
            return f"{key} must have shape {shape} (hidden size H = {H}), got {arrays[key].shape}"
    return ""


def _judge_carry(case, got, expected):
    (steps,) = case
    problem = _validate_carry(got)
    if problem:
        return False, problem
    bits, x = carry_bit_inputs(steps)
    with np.errstate(all="ignore"):
        readout, states = run_carry_bit(got, x)
    signs = np.sign(readout)
    right = signs == bits
    if right.all():
        return _judge_carry_worst_case(steps, got, bits.size)
    radius = float(np.abs(np.linalg.eigvals(got["weight_hh"])).max())
    late = np.abs(states[-1]).max()
    msg = (f"after {steps} steps the sign of weight_out @ h is right in only "
           f"{right.sum()}/{bits.size} trials.")
    if not signs.any():
        msg += (" weight_out @ h is exactly 0 in every trial: nothing reaches the read-out (a zero"
                " weight_out, or weight_ih = 0 so that h never leaves 0).")
    elif (signs == -bits).all():
        msg += (" Every sign is the opposite of the bit: the state may hold it, but the read-out"
                " (weight_out, or the sign of weight_ih) flips it.")
    elif radius <= 1.0:
        msg += (f" The spectral radius of weight_hh is {radius:.2f} <= 1, so the state contracts"
                f" (|h_{steps}| <= {late:.2g}) and the noise drowns the bit: use a self-weight"
                " well above 1 so that h settles near +1 or -1.")
    elif np.abs(got["bias"]).max() > 0:
        msg += " A non-zero bias pushes both bits towards the same side; try bias = 0."
    else:
        msg += (" The state does not hold. The noise enters through weight_ih too: at every step"
                f" it pushes h by up to |weight_ih| * {NOISE}, so the self-weight times the state"
                " it settles at must clearly exceed that push (a larger weight_ih makes the"
                " push larger as well).")
    return False, msg


def worst_case_inputs(steps):
    """Noise that pushes against the bit at every step, the limit of the uniform draw.

    Returns ``bits`` (4,) and ``x`` (steps, 4, 1): a bit of +1 followed by ``-NOISE`` at every
    step, -1 followed by ``+NOISE``, and both bits followed by noise of alternating sign that
    starts against the bit.  A latch that keeps the sign only because the random draws happen to
    be mild (a self-weight just above the threshold) loses it here; the sign of a latch with a
    margin survives any noise in ``[-NOISE, NOISE]``."""
    bits = np.array([1.0, -1.0, 1.0, -1.0])
    against = -NOISE * bits
    alternating = (-1.0) ** np.arange(steps - 1)[:, None]  # +1, -1, +1, ...: starts against
    x = np.concatenate([np.broadcast_to(against[:2], (steps - 1, 2)),
                        alternating * against[2:]], axis=1)
    return bits, np.concatenate([bits[None], x])[:, :, None]


def _judge_carry_worst_case(steps, got, trials):
    bits, x = worst_case_inputs(steps)
    with np.errstate(all="ignore"):
        readout, _ = run_carry_bit(got, x)
    right = np.sign(readout) == bits
    if right.all():
        return True, (f"the bit survived {steps} steps of noise in all {trials} trials and in "
                      f"runs of noise that push against it at every step")
    if not right[:2].all():
        worst = f"every noise input pushing against the bit (-{NOISE} after a bit of +1)"
    else:
        worst = f"noise of alternating sign (-{NOISE}, +{NOISE}, ... after a bit of +1)"
    return False, (f"the sign was right in all {trials} random trials of {steps} steps, but not "
                   f"with {worst}: the state holds only while the noise is mild. A latch must "
                   f"hold against any noise in [-{NOISE}, {NOISE}]: the pull of its self-weight "
                   f"on the state it settles at must clearly beat the largest push "
                   f"|weight_ih| * {NOISE}, and keep beating it after a push has moved the state "
                   f"towards 0.")


CARRY_BIT_WEIGHTS = Exercise(
    id="01.carry_bit_weights",
    notebook=NOTEBOOK,
    function="carry_bit_weights",
    points=2.0,
    title="Choose weights by hand that carry a bit across many noisy steps",
    cases=lambda rng: [(50,), (int(rng.integers(20, 40)),), (int(rng.integers(80, 120)),)],
    reference=carry_bit_weights,
    arg_names=("steps",),
    hint="One hidden unit is enough: a self-weight above 1 turns it into a latch.",
    judge=_judge_carry,
)


# ============================================================================ 01.count_parameters
def count_parameters(input_size, hidden_size, output_size, seq_len):
    """Reference: ``nn.RNN(input_size, hidden_size)`` + ``nn.Linear(hidden_size, output_size)``.

    ``weight_ih_l0`` H*I, ``weight_hh_l0`` H*H, ``bias_ih_l0`` H, ``bias_hh_l0`` H, the Linear's
    weight K*H and bias K.  ``seq_len`` does not appear: every step reuses the same weights."""
    D, H, K = input_size, hidden_size, output_size
    return int(H * D + H * H + 2 * H + K * H + K)


def _count_times_len(D, H, K, T):
    return count_parameters(D, H, K, T) * T


def _count_rnn_times_len(D, H, K, T):
    return (H * D + H * H + 2 * H) * T + K * H + K


def _count_one_bias(D, H, K, T):
    return count_parameters(D, H, K, T) - H


def _count_no_output(D, H, K, T):
    return H * D + H * H + 2 * H


def _count_no_output_bias(D, H, K, T):
    return count_parameters(D, H, K, T) - K


def _count_cases(rng):
    cases = []
    for _ in range(5):
        D, H, K = (int(v) for v in rng.integers([1, 2, 1], [50, 200, 30]))
        cases.append((D, H, K, int(rng.integers(2, 1000))))
    return cases


COUNT_PARAMETERS = Exercise(
    id="01.count_parameters",
    notebook=NOTEBOOK,
    function="count_parameters",
    points=1.0,
    title="Count the parameters of an RNN with an output layer (and see that length does not matter)",
    cases=_count_cases,
    reference=count_parameters,
    mistakes={
        "the count grows with seq_len: the steps share one set of weights, nothing is copied":
            _count_times_len,
        "the recurrent layer counted once per step: the steps share one set of weights, nothing "
        "is copied": _count_rnn_times_len,
        "one hidden bias counted: torch's RNN has two, bias_ih_l0 and bias_hh_l0": _count_one_bias,
        "the output layer (a separate nn.Linear, V and its bias) is missing": _count_no_output,
        "the output layer's bias is missing": _count_no_output_bias,
    },
    arg_names=("input_size", "hidden_size", "output_size", "seq_len"),
    hint="List the tensors of nn.RNN (weight_ih_l0, weight_hh_l0, bias_ih_l0, bias_hh_l0) and of "
         "nn.Linear (weight, bias) with their shapes; return a Python int.",
)

EXERCISES = [RUN_FIXED_RNN, RNN_STEP, CARRY_BIT_WEIGHTS, COUNT_PARAMETERS]
