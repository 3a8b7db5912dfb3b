"""The training loop every chapter uses: one function, :func:`fit`, and what it returns, :class:`History`.

The loop knows nothing about the task. The caller says how to turn a batch into a loss, and
``fit`` does the rest: moving batches to the model's device, the optimizer step, global-norm
gradient clipping, periodic evaluation, early stopping at a target, a progress bar, and a
record of everything that happened.

Contract
--------
``loss_fn(model, batch) -> loss`` or ``-> (loss, metrics)``
    ``loss`` is a scalar tensor with a graph (``fit`` calls ``loss.backward()``); ``metrics`` is an
    optional dict of extra per-step numbers to record (floats or 0-d tensors, e.g. a batch
    accuracy). The batch is whatever ``data`` yields, moved to the model's device (see below).

``data``: where batches come from, one of

* a re-iterable collection (a list of batches, a ``torch.utils.data.DataLoader``): one pass is
  an *epoch*; ``epochs`` passes are made (and/or at most ``steps`` optimizer steps);
* a zero-argument callable returning a fresh batch (``lambda: adding_problem(128, 100, rng=rng)``):
  an endless stream, so ``steps`` is required;
* a one-shot iterator or generator: consumed until exhausted or until ``steps``.

``eval_fn(model) -> dict[str, float]`` (optional)
    Called every ``eval_every`` steps and at the end, under ``torch.no_grad()`` with the model in
    ``eval()`` mode (restored to ``train()`` afterwards). Its keys become metric names
    (``"val_loss"``, ``"accuracy"``, ``"bpc"``, ...).

Early stopping: ``target`` with ``monitor`` and ``mode``. At every evaluation point the monitored
value is read (``"loss"`` = mean training loss since the previous evaluation point, or any key of
``eval_fn``'s dict or of ``loss_fn``'s metrics) and training stops as soon as it is ``<= target``
(``mode="min"``) or ``>= target`` (``mode="max"``). ``patience`` stops after that many evaluation
points without improvement; ``time_limit`` stops after that many seconds of wall time; a
non-finite loss stops training (reason ``"nan"``) instead of raising, so that a chapter can show a
diverging run.

Devices follow the model: batches (tensors, numpy arrays, and tuples/lists/dicts of them) are
moved to the device of the model's first parameter. numpy floating arrays become tensors of the
model's floating dtype, numpy integer arrays become ``torch.long``; tensors keep their dtype.

Example
-------
>>> import numpy as np, torch
>>> from rnnlab.train import fit
>>> model = torch.nn.Linear(3, 1)
>>> rng = np.random.default_rng(0)
>>> def batch():
...     x = rng.normal(size=(32, 3)).astype(np.float32)
...     return x, x.sum(1, keepdims=True)
>>> mse = lambda m, b: torch.nn.functional.mse_loss(m(b[0]), b[1])
>>> hist = fit(model, mse, batch, steps=500, lr=0.05, target=1e-4, eval_every=25, progress=False)
>>> hist.reached_target, hist.stop_reason
(True, 'target')
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator, Mapping

import numpy as np
import torch
from tqdm import tqdm

__all__ = ["fit", "History", "to_device", "global_grad_norm"]


# --------------------------------------------------------------------------------------------
# History
# --------------------------------------------------------------------------------------------
@dataclass
class History:
    """Everything one :func:`fit` call recorded.

    Per optimizer step (lists of equal length):
        ``steps`` (1-based step index), ``loss`` (training loss of that batch), ``grad_norm``
        (global L2 norm of all gradients *before* clipping), ``epoch`` (0-based epoch of the step),
        and ``step_metrics[name]`` for each extra metric ``loss_fn`` returned.
    Per evaluation point:
        ``evals``: a list of dicts with ``step``, ``epoch`` (epochs completed so far), ``time``
        (seconds since start), ``loss`` (mean training loss since the previous point), the mean of
        each ``loss_fn`` metric over the same steps, and every key of ``eval_fn``'s dict (which
        wins on a name clash).
    Overall:
        ``wall_time`` (seconds), ``stop_reason`` (``"target"``, ``"patience"``, ``"steps"``,
        ``"epochs"``, ``"exhausted"``, ``"time_limit"``, ``"nan"``), ``reached_target`` (bool),
        ``target``/``monitor``/``mode`` as given, ``best`` (best monitored value) and
        ``best_step``.

    ``summary()`` gives a one-line, machine-independent description (no timings), suitable for
    notebook cells that nbval compares. The curves are drawn by ``rnnlab.viz`` (this module draws
    nothing: ``train`` never imports ``viz``).
    """

    steps: list[int] = field(default_factory=list)
    loss: list[float] = field(default_factory=list)
    grad_norm: list[float] = field(default_factory=list)
    epoch: list[int] = field(default_factory=list)
    step_metrics: dict[str, list[float]] = field(default_factory=dict)
    evals: list[dict[str, float]] = field(default_factory=list)
    wall_time: float = 0.0
    stop_reason: str = ""
    reached_target: bool = False
    target: float | None = None
    monitor: str = "loss"
    mode: str = "min"
    best: float | None = None
    best_step: int | None = None

    # ---- reading -----------------------------------------------------------------------------
    @property
    def num_steps(self) -> int:
        """Optimizer steps taken."""
        return len(self.steps)

    def metric(self, name: str) -> tuple[list[int], list[float]]:
        """``(steps, values)`` of a metric: an evaluation key, ``"loss"`` (per evaluation point),
        or a per-step metric (``"grad_norm"``, ``"step_loss"`` or a name ``loss_fn`` returned)."""
        if name == "grad_norm":
            return list(self.steps), list(self.grad_norm)
        if name == "step_loss":
            return list(self.steps), list(self.loss)
        if name in self.step_metrics and not any(name in e for e in self.evals):
            return list(self.steps), list(self.step_metrics[name])
        pts = [(e["step"], e[name]) for e in self.evals if name in e]
        if not pts:
            known = sorted({k for e in self.evals for k in e} | set(self.step_metrics)
                           | {"grad_norm", "step_loss"})
            raise KeyError(f"no metric {name!r} in this history; known: {known}")
        s, v = zip(*pts)
        return list(s), list(v)

    def final(self, name: str | None = None) -> float:
        """Last recorded value of a metric (default: the monitored one)."""
        return self.metric(name or self.monitor)[1][-1]

    def time_to_target(self) -> float | None:
        """Seconds from the start until the target was first reached (None if never)."""
        if not self.reached_target or not self.evals:
            return None
        return self.evals[-1]["time"]

    def smoothed_loss(self, window: int = 50) -> list[float]:
        """Running mean of the per-step training loss over ``window`` steps."""
        out, acc = [], 0.0
        for i, v in enumerate(self.loss):
            acc += v
            if i >= window:
                acc -= self.loss[i - window]
            out.append(acc / min(i + 1, window))
        return out

    def summary(self, digits: int = 3) -> str:
        """A stable one-line report: steps, stop reason, final monitored value, target verdict.

        No wall-clock numbers, so the line is the same on every machine that trains identically.
        """
        val = self.final() if self.evals else float("nan")
        txt = f"{self.num_steps} steps, stopped: {self.stop_reason}, {self.monitor}={val:.{digits}g}"
        if self.target is not None:
            op = "<=" if self.mode == "min" else ">="
            verdict = "PASS" if self.reached_target else "FAIL"
            txt += f" (target {op} {self.target:g}: {verdict})"
        return txt

    def to_dict(self) -> dict[str, Any]:
        """Plain-python copy (JSON-serialisable)."""
        return {k: getattr(self, k) for k in self.__dataclass_fields__}

    def __repr__(self) -> str:
        return f"History({self.summary()}, wall_time={self.wall_time:.1f}s)"


# --------------------------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------------------------
def to_device(batch: Any, device, float_dtype=None) -> Any:
    """Move a batch (tensor, numpy array, or nested tuple/list/dict of them) to ``device``.

    numpy floating arrays become tensors of ``float_dtype`` (default: torch's default dtype),
    numpy integer/bool arrays keep an integer/bool dtype (integers become ``torch.long``).
    Anything else (ints, strings, None) is returned unchanged.
    """
    if isinstance(batch, torch.Tensor):
        return batch.to(device, non_blocking=True)
    if isinstance(batch, np.ndarray):
        t = torch.from_numpy(np.ascontiguousarray(batch))
        if t.is_floating_point():
            t = t.to(float_dtype or torch.get_default_dtype())
        elif batch.dtype.kind in "iu":
            t = t.long()
        return t.to(device)
    if isinstance(batch, tuple) and hasattr(batch, "_fields"):  # NamedTuple
        return type(batch)(*(to_device(b, device, float_dtype) for b in batch))
    if isinstance(batch, (tuple, list)):
        return type(batch)(to_device(b, device, float_dtype) for b in batch)
    if isinstance(batch, Mapping):
        return {k: to_device(v, device, float_dtype) for k, v in batch.items()}
    if hasattr(batch, "to") and callable(batch.to):  # PackedSequence and friends
        return batch.to(device)
    return batch


def global_grad_norm(parameters) -> float:
    """Global L2 norm of the gradients of ``parameters`` (what ``clip_grad_norm_`` measures)."""
    grads = [p.grad.detach() for p in parameters if p.grad is not None]
    if not grads:
        return 0.0
    return float(torch.linalg.vector_norm(torch.stack([torch.linalg.vector_norm(g) for g in grads])))


def _as_float(v) -> float:
    if hasattr(v, "detach"):
        v = v.detach()
        if v.numel() != 1:
            raise ValueError(f"metric values must be scalars, got a tensor of shape {tuple(v.shape)}")
        return float(v.item())
    return float(v)


def _model_device_dtype(model):
    for p in model.parameters():
        return p.device, (p.dtype if p.is_floating_point() else torch.get_default_dtype())
    raise ValueError("model has no parameters: fit() needs at least one parameter to train")


# --------------------------------------------------------------------------------------------
# the pieces of the loop
# --------------------------------------------------------------------------------------------
_EPOCH_END = object()  # what _batches yields after each full pass over a re-iterable ``data``


def _check_arguments(model, loss_fn, data, steps, epochs, eval_every, patience, mode, clip,
                     progress) -> str:
    """Raise on a bad argument; return how ``data`` gives batches: "stream", "once" or "epochs"."""
    if not isinstance(model, torch.nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    if not callable(loss_fn):
        raise TypeError(f"loss_fn must be callable as loss_fn(model, batch), got {type(loss_fn).__name__}")
    for name, v in (("steps", steps), ("epochs", epochs), ("eval_every", eval_every),
                    ("patience", patience)):
        if v is not None and (not isinstance(v, int) or isinstance(v, bool) or v < 1):
            raise ValueError(f"{name} must be a positive int or None, got {v!r}")
    if mode not in ("min", "max"):
        raise ValueError(f"mode must be 'min' or 'max', got {mode!r}")
    if clip is not None and not (clip > 0):
        raise ValueError(f"clip must be a positive float (max global gradient norm) or None, got {clip!r}")
    if progress not in (True, False, "notebook"):
        raise ValueError(f"progress must be True, False or 'notebook', got {progress!r}")
    if callable(data) and not hasattr(data, "__iter__"):
        if steps is None:
            raise ValueError("data is a callable (an endless stream of batches): give steps=")
        kind = "stream"
    elif hasattr(data, "__iter__"):
        kind = "once" if iter(data) is data else "epochs"
    else:
        raise TypeError("data must be an iterable of batches, a zero-argument callable returning a "
                        f"batch, or an iterator; got {type(data).__name__}")
    if kind != "epochs" and epochs is not None:
        raise ValueError("epochs= needs a re-iterable data (a list or DataLoader); "
                         "for a callable or iterator give steps=")
    return kind


def _batches(data, kind: str, epochs: int | None) -> Iterator[tuple[int, Any]]:
    """``(epoch, batch)`` pairs; for a re-iterable ``data``, ``(epochs done, _EPOCH_END)`` after
    each pass. ``epochs=None`` repeats the passes without end (``steps`` stops the loop)."""
    if kind == "stream":
        while True:
            yield 0, data()
    elif kind == "once":
        for batch in data:
            yield 0, batch
    else:
        epoch = 0
        while epochs is None or epoch < epochs:
            for batch in data:
                yield epoch, batch
            epoch += 1
            yield epoch, _EPOCH_END


def _progress_bar(progress, desc, data, kind, steps, epochs):
    """A tqdm bar, or None for ``progress=False``."""
    if not progress:
        return None
    if progress == "notebook":
        from tqdm.auto import tqdm as notebook_tqdm  # deferred: probes for Jupyter and ipywidgets
        bar_class = notebook_tqdm
    else:
        bar_class = tqdm
    total = steps
    if total is None and kind == "epochs":
        try:
            total = epochs * len(data)
        except TypeError:
            total = None
    return bar_class(total=total, desc=desc, leave=True, mininterval=0.5, dynamic_ncols=False,
                     ncols=100 if progress is True else None)


def _backward(model, loss_fn, batch, optimizer, params, clip) -> tuple[float, Mapping, float]:
    """Loss, gradients and clipping for one batch: ``(loss, metrics, norm before clipping)``.

    The parameters are not updated yet: the caller decides (a non-finite loss stops the run)."""
    out = loss_fn(model, batch)
    metrics = {}
    if isinstance(out, tuple):
        if len(out) != 2 or not isinstance(out[1], Mapping):
            raise TypeError("loss_fn must return a scalar tensor or (loss, dict_of_metrics)")
        out, metrics = out
    if not isinstance(out, torch.Tensor) or out.numel() != 1:
        raise TypeError("loss_fn must return a scalar tensor (numel 1), got "
                        f"{type(out).__name__}{tuple(out.shape) if hasattr(out, 'shape') else ''}")
    optimizer.zero_grad(set_to_none=True)
    out.backward()
    norm = float(torch.nn.utils.clip_grad_norm_(params, clip if clip is not None else math.inf))
    return float(out.detach()), metrics, norm


def _record_step(hist: History, step: int, epoch: int, loss: float, norm: float, metrics) -> None:
    hist.steps.append(step)
    hist.loss.append(loss)
    hist.grad_norm.append(norm)
    hist.epoch.append(epoch)
    for k, v in metrics.items():
        hist.step_metrics.setdefault(k, []).append(_as_float(v))


def _evaluation_point(model, eval_fn, hist: History, window: list[float], step: int, epoch: int,
                      t0: float) -> dict[str, float]:
    """The record of one evaluation point: the means of the steps in ``window`` and ``eval_fn``'s
    dict (computed without grad, in ``eval()`` mode)."""
    point: dict[str, float] = {"step": step, "epoch": epoch, "time": time.perf_counter() - t0}
    n = len(window)
    if n:
        point["loss"] = sum(window) / n
        for k, vs in hist.step_metrics.items():
            point.setdefault(k, sum(vs[-n:]) / n)
    if eval_fn is not None:
        was_training = model.training
        model.eval()
        with torch.no_grad():
            res = eval_fn(model)
        model.train(was_training)
        if not isinstance(res, Mapping):
            raise TypeError(f"eval_fn must return a dict of metric name -> float, got {type(res).__name__}")
        point.update({k: _as_float(v) for k, v in res.items()})
    point["time"] = time.perf_counter() - t0
    return point


@dataclass
class _EarlyStopping:
    """Reads the monitored value at each evaluation point; says when to stop."""

    target: float | None
    monitor: str
    mode: str
    patience: int | None
    since_best: int = 0  # evaluation points since the best value

    def check(self, hist: History, point: dict[str, float]) -> str:
        """Update ``hist.best``; return "target", "patience" or "" (go on)."""
        if self.monitor not in point:
            if self.target is not None or self.patience is not None:
                known = sorted(k for k in point if k not in ("step", "epoch", "time"))
                raise KeyError(f"monitor={self.monitor!r} is not among the recorded metrics {known}")
            return ""
        v = point[self.monitor]
        if hist.best is None or (v < hist.best if self.mode == "min" else v > hist.best):
            hist.best, hist.best_step, self.since_best = v, point["step"], 0
        else:
            self.since_best += 1
        if self.target is not None and (v <= self.target if self.mode == "min" else v >= self.target):
            hist.reached_target = True
            return "target"
        if self.patience is not None and self.since_best >= self.patience:
            return "patience"
        return ""


# --------------------------------------------------------------------------------------------
# fit
# --------------------------------------------------------------------------------------------
def fit(
    model,
    loss_fn: Callable,
    data,
    *,
    steps: int | None = None,
    epochs: int | None = None,
    optimizer=None,
    lr: float = 1e-3,
    clip: float | None = None,
    scheduler=None,
    eval_fn: Callable | None = None,
    eval_every: int | None = None,
    target: float | None = None,
    monitor: str = "loss",
    mode: str = "min",
    patience: int | None = None,
    time_limit: float | None = None,
    progress: bool | str = True,
    desc: str | None = None,
    callback: Callable | None = None,
    move_batch: bool = True,
) -> History:
    """Train ``model`` by minimising ``loss_fn(model, batch)`` over batches from ``data``.

    Parameters
    ----------
    model : torch.nn.Module
        Trained in place; put in ``train()`` mode. Its first parameter fixes the device and the
        floating dtype batches are converted to.
    loss_fn : callable ``(model, batch) -> loss`` or ``-> (loss, metrics_dict)``
        ``loss`` must be a scalar tensor that requires grad.
    data : re-iterable of batches | zero-argument callable | iterator
        See the module docstring. A callable or iterator needs ``steps`` (or runs until exhausted).
    steps : int, optional
        Maximum number of optimizer steps in total.
    epochs : int, optional
        Number of passes over a re-iterable ``data`` (default 1 when ``steps`` is not given).
    optimizer : torch.optim.Optimizer, optional
        Default: ``torch.optim.Adam(model.parameters(), lr=lr)``.
    lr : float
        Learning rate of the default optimizer (ignored when ``optimizer`` is given).
    clip : float, optional
        Maximum global L2 norm of all gradients (``torch.nn.utils.clip_grad_norm_``). ``None``: no
        clipping. The norm *before* clipping is recorded in ``History.grad_norm`` either way.
    scheduler : optional
        Anything with ``.step()``, called after every optimizer step.
    eval_fn : callable ``(model) -> dict[str, float]``, optional
        Evaluation run every ``eval_every`` steps and at the end (no grad, ``eval()`` mode).
    eval_every : int, optional
        Steps between evaluation points. Default: the end of each epoch for a re-iterable
        ``data``, else ``max(1, steps // 20)``.
    target, monitor, mode, patience : early stopping (see module docstring).
        ``monitor`` defaults to ``"loss"`` (mean training loss since the last evaluation point).
    time_limit : float, optional
        Stop (reason ``"time_limit"``) once this many seconds have passed.
    progress : bool or ``"notebook"``
        ``True``: a text ``tqdm`` bar on stderr (tag such notebook cells ``nbval-ignore-output``,
        its text varies between runs); ``"notebook"``: ``tqdm.auto`` (a widget in Jupyter);
        ``False``: silent (use this in cells whose output nbval compares).
    desc : str, optional
        Label of the progress bar.
    callback : callable ``(history) -> bool | None``, optional
        Called after each evaluation point; returning ``True`` stops training (reason
        ``"callback"``).
    move_batch : bool
        ``False`` hands batches to ``loss_fn`` untouched (for batches ``to_device`` cannot move).

    Returns
    -------
    History
        Per-step losses and gradient norms, evaluation points, wall time, stop reason and whether
        the target was reached.
    """
    kind = _check_arguments(model, loss_fn, data, steps, epochs, eval_every, patience, mode, clip,
                            progress)
    if kind == "epochs" and epochs is None and steps is None:
        epochs = 1
    if eval_every is None and kind != "epochs":
        eval_every = max(1, (steps or 1000) // 20)
    device, float_dtype = _model_device_dtype(model)
    params = [p for p in model.parameters() if p.requires_grad]
    if optimizer is None:
        optimizer = torch.optim.Adam(params, lr=lr)
    hist = History(target=target, monitor=monitor, mode=mode)
    stopping = _EarlyStopping(target, monitor, mode, patience)
    bar = _progress_bar(progress, desc, data, kind, steps, epochs)
    t0 = time.perf_counter()
    window: list[float] = []  # the training losses since the last evaluation point

    def evaluate(step: int, epoch: int) -> str:
        """Record an evaluation point; return why to stop ("" to go on)."""
        point = _evaluation_point(model, eval_fn, hist, window, step, epoch, t0)
        window.clear()
        hist.evals.append(point)
        if bar is not None and monitor in point:
            bar.set_postfix({monitor: f"{point[monitor]:.4g}"}, refresh=False)
        stop = stopping.check(hist, point)
        if not stop and callback is not None and callback(hist):
            stop = "callback"
        return stop

    model.train()
    step = last_eval = 0
    stop = ""
    try:
        for epoch, batch in _batches(data, kind, epochs):
            if batch is _EPOCH_END:  # one pass over data is done: evaluate if that is the rhythm
                if eval_every is None and step > last_eval:
                    last_eval = step
                    stop = evaluate(step, epoch)
                    if stop:
                        break
                continue
            if move_batch:
                batch = to_device(batch, device, float_dtype)
            loss, metrics, norm = _backward(model, loss_fn, batch, optimizer, params, clip)
            step += 1
            _record_step(hist, step, epoch, loss, norm, metrics)
            window.append(loss)
            if not math.isfinite(loss):
                stop = "nan"
                break
            optimizer.step()
            if scheduler is not None:
                scheduler.step()
            if bar is not None:
                bar.update(1)
                if step % 10 == 0:
                    bar.set_postfix({"loss": f"{loss:.4g}"}, refresh=False)
            if eval_every is not None and step % eval_every == 0:
                last_eval = step
                stop = evaluate(step, epoch)
                if stop:
                    break
            if steps is not None and step >= steps:
                stop = "steps"
                break
            if time_limit is not None and time.perf_counter() - t0 > time_limit:
                stop = "time_limit"
                break
        else:
            stop = "epochs" if kind == "epochs" else "exhausted"
        if step > last_eval:  # the final point; it may reach the target, the stop reason stays
            evaluate(step, epoch)
    finally:
        if bar is not None:
            bar.close()
    hist.stop_reason = stop
    hist.wall_time = time.perf_counter() - t0
    return hist
