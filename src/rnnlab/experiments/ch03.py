r"""The measurements and experiments of chapter 3 (LSTM); chapters 4 and 7 reuse the adding problem.

- :func:`input_gradient_norms`   ``||dL/dx_{T-d}||`` against the distance ``d`` for any recurrent
  module (tanh RNN, LSTM, GRU): how much gradient reaches an early input;
- :func:`set_forget_bias`        put a value on the forget gate's bias (torch layout i, f, g, o);
- :func:`scale_recurrent_weights` multiply ``weight_hh_l0`` (the exploding-gradient demo);
- :class:`SequenceRegressor`     a recurrent layer + a linear read-out of the last step;
- :func:`train_adding`           train a model on the adding problem with :func:`rnnlab.train.fit`,
  early stop at a validation MSE target; returns an :class:`AddingResult`;
- :func:`run_adding`             one run of the notebooks' adding-problem experiment from a seed
  (model and data), shared with ``benchmarks/claims``; :func:`descent_steps` how fast a solved
  run went from the baseline plateau to the target; :func:`results_table` the runs as text;
- :func:`lstm_gate_trace`, :func:`forget_gates` run one LSTM layer from its state dict with
  :func:`rnnlab.scratch.lstm_step`, recording every gate (a :class:`GateTrace`), or the forget
  gates of a batch;
- :func:`memory_unit`            the unit with the most open forget gate of a gate trace
  (:func:`lstm_gate_trace`): its writes at the markers and what it keeps between them;
- :func:`train_timing` and :func:`run_timing` the peephole experiment on the timing task
  :func:`rnnlab.data.spike_timing_batch` (one run from a seed).

The figures that show these results are in :mod:`rnnlab.viz.ch03`. Notation as in the book:
gates ``i, f, g, o`` stacked in that order in ``weight_ih``/``weight_hh`` (torch's layout);
``c_t`` the cell state, ``h_t = o_t * tanh(c_t)`` the hidden state.
"""
from __future__ import annotations

from typing import Mapping, NamedTuple, Sequence

import numpy as np
import torch

import rnnlab.modules as rm
from rnnlab.data import adding_problem, adding_stream, as_rng
from rnnlab.data.synthetic import spike_timing_batch
from rnnlab.scratch import lstm_step
from rnnlab.train import fit

__all__ = [
    "input_gradient_norms",
    "set_forget_bias",
    "scale_recurrent_weights",
    "RECURRENT_CLASSES",
    "SequenceRegressor",
    "AddingResult",
    "train_adding",
    "run_adding",
    "descent_steps",
    "results_table",
    "GateTrace",
    "lstm_gate_trace",
    "forget_gates",
    "MemoryUnit",
    "memory_unit",
    "train_timing",
    "run_timing",
    "TimingOutputs",
    "timing_outputs",
]


# ============================================================================ measurements
def input_gradient_norms(model, x, *, readout=None) -> np.ndarray:
    r"""How much gradient reaches each input: ``||dL/dx_{T-d}||`` for ``d = 0 .. T-1``.

    ``model`` is a recurrent module called as ``model(x) -> (output, state)`` (``torch.nn.RNN``,
    ``LSTM``, ``GRU`` or ``rnnlab.modules``'); ``x`` is ``(T, N, I)``. The loss reads only the last
    output, ``L = mean_n(u . h_T[n])`` with the unit vector ``u = (1, ..., 1)/sqrt(H)`` (or
    ``readout``), so ``||dL/dh_T[n]|| = 1/N`` for each sequence (``1/sqrt(N)`` over the batch)
    and everything that reaches step ``T - d`` has come back through ``d`` steps of the
    recurrence. Returns the Frobenius norm over batch and features
    of ``dL/dx_{T-d}``, indexed by the distance ``d``, as float64.
    """
    dtype = next(model.parameters()).dtype
    x = torch.as_tensor(x, dtype=dtype).detach().clone().requires_grad_(True)
    out, _ = model(x)
    H = out.shape[-1]
    u = torch.full((H,), H ** -0.5, dtype=dtype) if readout is None else torch.as_tensor(readout, dtype=dtype)
    (out[-1] @ u).mean().backward()
    norms = x.grad.detach().double().flatten(1).norm(dim=1).numpy()
    return norms[::-1].copy()


def set_forget_bias(lstm, value: float, layer: int = 0) -> None:
    """Set the forget-gate bias of an LSTM layer (torch layout, gates i, f, g, o) to ``value``.

    ``bias_ih`` gets ``value`` and ``bias_hh`` gets 0 on the forget rows, so the forget gate's
    total bias ``b_f`` is ``value``: with zero input and state the gate is ``sigma(value)``
    (``sigma(1) = 0.73``, ``sigma(3) = 0.95``).
    """
    H = lstm.hidden_size
    with torch.no_grad():
        getattr(lstm, f"bias_ih_l{layer}")[H:2 * H] = value
        getattr(lstm, f"bias_hh_l{layer}")[H:2 * H] = 0.0


def scale_recurrent_weights(module, factor: float, layer: int = 0) -> None:
    """Multiply ``weight_hh_l{layer}`` by ``factor`` in place (large weights: exploding gradients)."""
    with torch.no_grad():
        getattr(module, f"weight_hh_l{layer}").mul_(factor)


#: The recurrent layers a :class:`SequenceRegressor` can be built on: ``(backend, cell)`` -> class.
RECURRENT_CLASSES = {
    ("rnnlab", "rnn"): rm.RNN, ("rnnlab", "lstm"): rm.LSTM, ("rnnlab", "gru"): rm.GRU,
    ("torch", "rnn"): torch.nn.RNN, ("torch", "lstm"): torch.nn.LSTM, ("torch", "gru"): torch.nn.GRU,
}


class SequenceRegressor(torch.nn.Module):
    """A recurrent layer followed by a linear read-out of its last output: ``(T, N, I) -> (N, 1)``
    (or of every step's output, ``(T, N, I) -> (T, N, 1)``, with ``every_step=True``).

    ``cell``: ``"rnn"`` (tanh), ``"lstm"`` or ``"gru"``; ``backend``: ``"rnnlab"``
    (:mod:`rnnlab.modules`) or ``"torch"`` (``torch.nn``); extra keyword arguments go to the layer
    (``peephole=True``, ``reset_after=False``). ``forget_bias`` sets the LSTM forget-gate bias.
    The layer is ``model.rnn``, the read-out ``model.out`` (created in that order, so a seed
    gives the same weights as before).
    """

    def __init__(self, cell: str, input_size: int, hidden_size: int, *, backend: str = "rnnlab",
                 forget_bias: float | None = None, every_step: bool = False, **layer_kwargs):
        if (backend, cell) not in RECURRENT_CLASSES:
            raise ValueError(f"cell must be 'rnn', 'lstm' or 'gru' and backend 'rnnlab' or 'torch', "
                             f"got cell={cell!r}, backend={backend!r}")
        if forget_bias is not None and cell != "lstm":
            raise ValueError(f"forget_bias applies to an LSTM, not to cell={cell!r}")
        super().__init__()
        self.rnn = RECURRENT_CLASSES[(backend, cell)](input_size, hidden_size, **layer_kwargs)
        self.out = torch.nn.Linear(hidden_size, 1)
        self.every_step = every_step
        if forget_bias is not None:
            set_forget_bias(self.rnn, forget_bias)

    def forward(self, x):
        output, _ = self.rnn(x)
        return self.out(output if self.every_step else output[-1])


class AddingResult(NamedTuple):
    """One training run on the adding problem."""

    name: str
    length: int
    history: object  # rnnlab.train.History
    val_mse: float
    solved: bool
    steps: int
    seconds: float
    model: object  # the trained torch.nn.Module


def train_adding(model, length: int, *, steps: int, name: str = "", batch_size: int = 64,
                 lr: float = 1e-2, clip: float | None = 1.0, target: float = 0.01, seed: int = 0,
                 eval_every: int = 50, val_size: int = 1000, progress=False) -> AddingResult:
    """Train ``model`` ((T, N, 2) -> (N, 1)) on the adding problem of ``length`` steps.

    Adam with ``lr``, fresh batches every step from ``adding_stream(batch_size, length,
    rng=seed)``, gradient clipping at global norm ``clip``, a fixed validation set of ``val_size``
    sequences (seed ``seed + 10_000``) evaluated every ``eval_every`` steps, and early stop as
    soon as the validation MSE is at most ``target`` or after ``steps`` optimizer steps.
    """
    dtype = next(model.parameters()).dtype
    val = adding_problem(val_size, length, rng=seed + 10_000)
    vx = torch.as_tensor(val.x, dtype=dtype)
    vy = torch.as_tensor(val.y, dtype=dtype)
    mse = torch.nn.functional.mse_loss

    hist = fit(
        model, lambda m, b: mse(m(b.x), b.y), adding_stream(batch_size, length, rng=seed),
        steps=steps, lr=lr, clip=clip, eval_fn=lambda m: {"val_mse": mse(m(vx), vy)},
        eval_every=eval_every, target=target, monitor="val_mse", progress=progress,
        desc=f"{name} T={length}" if name else None,
    )
    return AddingResult(name, length, hist, hist.final("val_mse"), hist.reached_target,
                        hist.num_steps, hist.wall_time, model)


def run_adding(cell: str, length: int, *, seed: int = 0, steps: int = 3000,
               hidden_size: int = 32, forget_bias: float | None = None,
               name: str | None = None) -> AddingResult:
    """One run of the adding-problem experiment of notebooks 3b and 4, from the seed on.

    ``torch.manual_seed(seed)``, a fresh :func:`SequenceRegressor` (``cell``, 2 inputs,
    ``hidden_size`` units, PyTorch's default initialisation unless ``forget_bias``), then
    :func:`train_adding` with data seed ``seed`` and at most ``steps`` steps. The notebooks and
    the robustness claims (``benchmarks/claims``) both call this, so they run one experiment.
    """
    torch.manual_seed(seed)
    model = SequenceRegressor(cell, 2, hidden_size, forget_bias=forget_bias)
    if name is None:
        name = {"rnn": "tanh RNN", "lstm": "LSTM", "gru": "GRU"}[cell]
    return train_adding(model, length, steps=steps, name=name, seed=seed)


def descent_steps(result: AddingResult, level: float = 0.1) -> int:
    """How fast a run left the plateau: the steps from its last evaluation with a validation MSE
    at or above ``level`` (0.1: still at the level of the 0.167 baseline) to the end of the run.
    For a solved run that is the time from the plateau to the target."""
    if not result.solved:
        raise ValueError(f"{result.name} T={result.length} did not reach its target; "
                         "descent_steps needs a solved run")
    steps, values = result.history.metric("val_mse")
    on_plateau = [s for s, v in zip(steps, values) if v >= level]
    return result.steps - (on_plateau[-1] if on_plateau else 0)


def results_table(results: Sequence[AddingResult], timings: bool = False, target: float = 0.01) -> str:
    """A text table of adding-problem runs (at most 88 characters wide).

    Without ``timings`` it shows only what is stable across machines: model, length and a verdict,
    ``solved`` (validation MSE <= ``target``), ``failed`` (still above 0.1, i.e. at the level of the
    0.167 baseline) or ``not solved`` (in between). With ``timings``: steps, final validation MSE
    and seconds as well (these vary between machines)."""
    lines = []
    if timings:
        lines.append(f"{'model':<20}{'T':>5}{'steps':>7}{'val MSE':>9}{'time (s)':>10}  result")
        for r in results:
            lines.append(f"{r.name:<20}{r.length:>5}{r.steps:>7}{r.val_mse:>9.4f}{r.seconds:>10.1f}"
                         f"  {_verdict(r, target)}")
    else:
        lines.append(f"{'model':<20}{'T':>5}  result")
        for r in results:
            lines.append(f"{r.name:<20}{r.length:>5}  {_verdict(r, target)}")
    return "\n".join(lines)


def _verdict(r: AddingResult, target: float) -> str:
    if r.solved:
        return f"solved (val MSE <= {target:g})"
    if r.val_mse > 0.1:
        return "failed (val MSE > 0.1: baseline)"
    return f"not solved in {r.steps} steps"


# ============================================================================ the trained LSTM
class GateTrace(NamedTuple):
    """Activations of one LSTM layer along one sequence, each ``(T, H)``."""

    i: np.ndarray
    f: np.ndarray
    g: np.ndarray
    o: np.ndarray
    c: np.ndarray
    h: np.ndarray


def lstm_gate_trace(state_dict: Mapping, x, layer: int = 0) -> GateTrace:
    """Run one LSTM layer over one sequence ``x`` (``(T, I)``) with :func:`rnnlab.scratch.lstm_step`
    in float64, recording every gate. ``state_dict`` holds torch's keys (``weight_ih_l0``, ...)
    as tensors or arrays; peephole weights (``weight_ci_l0``...) are used when present."""
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 2:
        raise ValueError(f"x must be one sequence of shape (T, I), got {x.shape}")
    rec = _lstm_run(state_dict, x[:, None, :], layer)
    return GateTrace(**{k: v[:, 0] for k, v in rec.items()})


def forget_gates(state_dict: Mapping, x, layer: int = 0) -> np.ndarray:
    """The forget gate ``f_t`` of one LSTM layer along a batch ``x`` (``(T, N, I)``), computed
    in float64 with :func:`rnnlab.scratch.lstm_step` from zero states: an array ``(T, N, H)``."""
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 3:
        raise ValueError(f"x must have shape (T, N, I), got {x.shape}")
    return _lstm_run(state_dict, x, layer)["f"]


def _lstm_run(state_dict: Mapping, x: np.ndarray, layer: int) -> dict:
    """Run one LSTM layer over ``x`` (``(T, N, I)``, float64), recording gates and states."""
    def get(key):
        v = state_dict.get(key)
        if v is None:
            return None
        v = v.detach().cpu().numpy() if hasattr(v, "detach") else np.asarray(v)
        return v.astype(np.float64)

    sfx = f"_l{layer}"
    w_ih, w_hh = get("weight_ih" + sfx), get("weight_hh" + sfx)
    if w_ih is None or w_hh is None:
        raise KeyError(f"state_dict has no LSTM layer {layer} (weight_ih{sfx}, weight_hh{sfx})")
    b_ih, b_hh = get("bias_ih" + sfx), get("bias_hh" + sfx)
    peep = [get(f"weight_c{k}" + sfx) for k in "ifo"]
    T, N, _ = x.shape
    H = w_hh.shape[1]
    h = np.zeros((N, H))
    c = np.zeros((N, H))
    rec = {k: [] for k in GateTrace._fields}
    for t in range(T):
        h, c, cache = lstm_step(x[t], h, c, w_ih, w_hh, b_ih, b_hh, *peep)
        for k in "ifgo":
            rec[k].append(getattr(cache, k))
        rec["c"].append(c)
        rec["h"].append(h)
    return {k: np.array(v) for k, v in rec.items()}


class MemoryUnit(NamedTuple):
    """What one LSTM unit does with the first marked value of an adding-problem sequence."""

    unit: int                 # the unit with the most open forget gate (mean over the sequence)
    f_min: float              # its smallest forget gate over the sequence
    i_marked: tuple           # its input gate at the two marked steps
    i_elsewhere: float        # its largest input gate at any other step
    write: float              # c_t - c_{t-1} at the first marked step
    change: float             # c at the step before the second marker minus c at the first
    keep: float               # product of its forget gates strictly between the markers


def memory_unit(trace, first: int, second: int) -> MemoryUnit:
    """Measure the unit with the most open forget gate of ``trace`` (a
    :class:`GateTrace`) between the marked steps
    ``first < second`` (0-based): does it write at the markers, and what does it keep between?

    ``keep`` is the direct-path product of eq. (lstm-cec-product) over the steps between the
    markers: the fraction of the cell's content at ``first`` that survives to ``second - 1``
    if nothing were added. ``change`` is what actually happened to the cell in that interval.
    """
    T = trace.f.shape[0]
    if not 0 <= first < second < T:
        raise ValueError(f"need 0 <= first < second < T={T}, got first={first}, second={second}")
    unit = int(np.argmax(trace.f.mean(axis=0)))
    c, f, i = trace.c[:, unit], trace.f[:, unit], trace.i[:, unit]
    marked = [first, second]
    before = c[first - 1] if first > 0 else 0.0
    return MemoryUnit(unit, float(f.min()), tuple(float(v) for v in i[marked]),
                      float(np.delete(i, marked).max()), float(c[first] - before),
                      float(c[second - 1] - c[first]), float(np.prod(f[first + 1:second])))


# ============================================================================ the timing task
def train_timing(model, *, length: int = 50, delay: int = 20, steps: int = 600,
                 batch_size: int = 32, lr: float = 1e-2, clip: float | None = 1.0, seed: int = 0,
                 eval_every: int = 50, val_size: int = 500, target: float = 1.0):
    """Train ``model`` ((T, N, 1) -> (T, N, 1) logits) on :func:`spike_timing_batch`.

    Loss: binary cross-entropy of every step's output against the target spike train, the one
    positive step weighted by ``length`` so that it counts about as much as all the ``length - 1``
    silent ones together. Metric
    ``exact``: the fraction of validation sequences whose output peaks exactly at the target step
    (early stop when it reaches ``target``). Returns the :class:`rnnlab.train.History`.
    """
    dtype = next(model.parameters()).dtype
    g = as_rng(seed)
    vx, vy = (torch.as_tensor(a, dtype=dtype) for a in spike_timing_batch(val_size, length, delay, seed + 10_000))
    pos_weight = torch.tensor(float(length), dtype=dtype)  # one spike among `length` steps

    def bce(out, y):
        return torch.nn.functional.binary_cross_entropy_with_logits(out, y, pos_weight=pos_weight)

    def exact(m):
        out = m(vx)
        return {"exact": (out.argmax(0) == vy.argmax(0)).double().mean(), "val_bce": bce(out, vy)}

    return fit(model, lambda m, b: bce(m(b[0]), b[1]),
               lambda: spike_timing_batch(batch_size, length, delay, g), steps=steps, lr=lr,
               clip=clip, eval_fn=exact, eval_every=eval_every, target=target, monitor="exact",
               mode="max", progress=False)


def run_timing(peephole: bool, *, seed: int = 0, hidden_size: int = 16, length: int = 40,
               delay: int = 20, steps: int = 1200):
    """One run of notebook 3b's peephole experiment: ``torch.manual_seed(seed)``, an LSTM of
    ``hidden_size`` units (``peephole`` on or off) with a read-out at every step, trained by
    :func:`train_timing`. Returns ``(model, history)``."""
    torch.manual_seed(seed)
    model = SequenceRegressor("lstm", 1, hidden_size, every_step=True, peephole=peephole)
    return model, train_timing(model, length=length, delay=delay, steps=steps, seed=seed)


class TimingOutputs(NamedTuple):
    """What the trained models of the timing task output on fresh sequences (time-major)."""

    x: np.ndarray  # (T, n, 1) input spikes
    y: np.ndarray  # (T, n, 1) target spikes, ``delay`` steps later
    outputs: dict  # label -> (T, n, 1) float64 output probability of a spike
    delay: int


def timing_outputs(runs: Mapping[str, tuple], *, length: int = 40, delay: int = 20, seed: int = 5,
                   n: int = 3) -> TimingOutputs:
    """Each trained model's output probability on ``n`` sequences of the timing task drawn with
    ``seed``; ``runs`` maps a label to ``(model, history)`` (:func:`run_timing`)."""
    x, y = spike_timing_batch(n, length, delay, seed)
    outputs = {}
    with torch.no_grad():
        for label, (model, _) in runs.items():
            dtype = next(model.parameters()).dtype
            logits = model(torch.as_tensor(x, dtype=dtype))
            outputs[label] = torch.sigmoid(logits).double().numpy()
    return TimingOutputs(x, y, outputs, delay)
