r"""Numerical gradient checking (CS231n's recipe) and gradient clipping by global norm.

Central differences, for each parameter entry :math:`\theta_k`:

.. math::

    n_k = \frac{f(\theta + \epsilon e_k) - f(\theta - \epsilon e_k)}{2\epsilon}, \qquad
    \text{rel}_k = \frac{|a_k - n_k|}{\max(|a_k|, |n_k|, \text{tiny})}

with :math:`a_k` the analytic gradient. Two errors compete: truncation, O(eps^2), and rounding,
about ulp(f)/eps. In float64, eps = 1e-5 (CS231n's choice) balances them: a correct backward
typically gives rel ~ 1e-9..1e-7, a wrong one rel ~ 1e-2..1. Entries whose gradient is tiny
(say 1e-5) still show rel ~ 1e-6, because ~1e-11 of rounding noise is large next to them; a
smaller eps does not help (rounding grows), ``order=4`` does: the fourth-order central difference

.. math::

    n_k = \frac{-f(\theta + 2\epsilon e_k) + 8 f(\theta + \epsilon e_k)
                - 8 f(\theta - \epsilon e_k) + f(\theta - 2\epsilon e_k)}{12 \epsilon}

has truncation error O(eps^4), so with eps = 1e-3 both errors are ~1e-12.
"""
from __future__ import annotations

import warnings
from typing import Any, Callable, Mapping

import numpy as np

from rnnlab.scratch._validate import to_numpy


def _as_dict(params: Any, name: str) -> tuple[dict[str, np.ndarray], bool]:
    """(dict of arrays, was_single_array) for a dict of arrays or a single array."""
    if isinstance(params, Mapping):
        return dict(params), False
    if isinstance(params, np.ndarray):
        return {"": params}, True
    raise TypeError(f"{name} must be a numpy array or a dict of numpy arrays, got {type(params).__name__}")


def _scalar(value: Any) -> float:
    if isinstance(value, tuple):
        value = value[0]
    arr = to_numpy(value)
    if arr.size != 1:
        raise ValueError(f"f must return a scalar loss (or (loss, grads)), got shape {arr.shape}")
    return float(arr.reshape(()))


_STENCILS = {  # order -> ((k, c_k), ...), divisor:  n = sum_k c_k (f(+k eps) - f(-k eps)) / (divisor eps)
    2: (((1, 1.0),), 2.0),
    4: (((1, 8.0), (2, -1.0)), 12.0),
}


def _difference(f: Callable, params: Any, p: np.ndarray, idx: tuple, eps: float, order: int) -> float:
    """Central difference of f along entry ``idx`` of array ``p``; ``p[idx]`` is restored exactly.

    Symmetric pairs are subtracted first, so an f that does not depend on the entry gives
    exactly 0.
    """
    pairs, divisor = _STENCILS[order]
    old = p[idx]
    total = 0.0
    try:
        for k, c in pairs:
            p[idx] = old + k * eps
            f_plus = _scalar(f(params))
            p[idx] = old - k * eps
            f_minus = _scalar(f(params))
            total += c * (f_plus - f_minus)
    finally:
        p[idx] = old
    return total / (divisor * eps)


def _check_order(order: int) -> int:
    if order not in _STENCILS:
        raise ValueError(f"order must be 2 or 4 (accuracy order of the central difference), got {order!r}")
    return order


def numerical_gradient(f: Callable, params: Any, eps: float = 1e-5, order: int = 2) -> Any:
    """Central-difference gradient of the scalar ``f(params)`` w.r.t. every entry of ``params``.

    ``params`` is an array or a dict of arrays; entries are perturbed in place and restored
    exactly. ``order`` 2 or 4 picks the stencil (see the module docstring). Returns an array (or
    dict of arrays) of the same structure.
    """
    _check_order(order)
    arrays, single = _as_dict(params, "params")
    out = {}
    for key, p in arrays.items():
        num = np.zeros(p.shape, dtype=np.float64)
        for idx in np.ndindex(p.shape):
            num[idx] = _difference(f, params, p, idx, eps, order)
        out[key] = num
    return out[""] if single else out


def gradcheck(
    f: Callable,
    params: Any,
    grads: Any = None,
    *,
    eps: float = 1e-5,
    order: int = 2,
    num_checks: int | None = None,
    seed: int = 0,
    tiny: float = np.finfo(np.float64).tiny,
    per_param: bool = False,
) -> float | dict[str, float]:
    """Maximum relative error between analytic and central-difference gradients.

    Parameters
    ----------
    f: ``f(params)`` returns the scalar loss, or ``(loss, grads)``. It may also ignore its
        argument and close over the arrays: they are perturbed in place (and restored exactly).
    params: a float64 array or a dict of float64 arrays (float32 works but is too coarse for
        tight tolerances: a warning says so).
    grads: the analytic gradient, same structure as ``params``. If None, ``f(params)`` must return
        ``(loss, grads)`` and is called once, unperturbed, to get it.
    eps: the finite-difference step.
    order: 2 (the classic (f(x+eps) - f(x-eps)) / 2eps) or 4 (fourth-order stencil; use it with
        eps = 1e-3 for checks tighter than ~1e-7 on small gradient entries).
    num_checks: check only this many randomly chosen entries per array (CS231n's
        ``grad_check_sparse``); None checks every entry.
    seed: for choosing those entries.
    tiny: floor of the denominator, so 0/0 (both gradients exactly zero) counts as agreement.
    per_param: return ``{name: max relative error}`` instead of the overall maximum.

    Returns
    -------
    The maximum over the checked entries of |a - n| / max(|a|, |n|, tiny).
    """
    _check_order(order)
    arrays, single = _as_dict(params, "params")
    for key, p in arrays.items():
        if p.dtype.kind != "f":
            raise TypeError(f"params[{key!r}] must be a floating-point array, got dtype {p.dtype}")
        if p.dtype != np.float64:
            warnings.warn(
                f"gradcheck: params[{key!r}] is {p.dtype}; use float64, central differences in "
                "lower precision cannot reach tight tolerances",
                stacklevel=2,
            )
    if grads is None:
        result = f(params)
        if not isinstance(result, tuple) or len(result) != 2:
            raise TypeError("grads is None, so f(params) must return (loss, grads)")
        grads = result[1]
    if single:
        grads = {"": grads}
    elif not isinstance(grads, Mapping):
        raise TypeError(f"grads must be a dict like params, got {type(grads).__name__}")
    rng = np.random.default_rng(seed)
    errors: dict[str, float] = {}
    for key, p in arrays.items():
        if key not in grads:
            raise KeyError(f"grads has no entry for parameter {key!r}")
        a = to_numpy(grads[key])
        if a.shape != p.shape:
            raise ValueError(f"grads[{key!r}] has shape {a.shape}, params[{key!r}] has {p.shape}")
        if num_checks is None:
            indices = list(np.ndindex(p.shape))
        else:
            flat = rng.integers(0, p.size, size=num_checks)
            indices = [np.unravel_index(i, p.shape) for i in flat]
        worst = 0.0
        for idx in indices:
            num = _difference(f, params, p, idx, eps, order)
            ana = float(a[idx])
            rel = abs(ana - num) / max(abs(ana), abs(num), tiny)
            worst = max(worst, rel)
        errors[key] = worst
    if per_param:
        return errors
    return max(errors.values()) if errors else 0.0


def clip_grad_norm(grads: Any, max_norm: float, norm_type: float = 2.0) -> float:
    """Scale gradients **in place** so that their global norm is at most ``max_norm``.

    Like ``torch.nn.utils.clip_grad_norm_``: the norm is taken over all arrays together (as if
    concatenated), every array is multiplied by ``max_norm / (total_norm + 1e-6)`` when that
    factor is below 1, and the total norm *before* clipping is returned.

    grads: an array, a list/tuple of arrays, or a dict of arrays (e.g. a layer's ``.grads``).
    norm_type: 2.0 (Euclidean) or ``inf`` (largest absolute entry).
    """
    if isinstance(grads, Mapping):
        arrays = list(grads.values())
    elif isinstance(grads, np.ndarray):
        arrays = [grads]
    elif isinstance(grads, (list, tuple)):
        arrays = list(grads)
    else:
        raise TypeError(
            "grads must be an array, a list of arrays or a dict of arrays, "
            f"got {type(grads).__name__}"
        )
    if not all(isinstance(g, np.ndarray) and g.dtype.kind == "f" for g in arrays):
        raise TypeError("grads must hold floating-point numpy arrays (they are scaled in place)")
    max_norm = float(max_norm)
    if max_norm <= 0 or not np.isfinite(max_norm):
        raise ValueError(f"max_norm must be a positive finite number, got {max_norm}")
    if norm_type == 2 or norm_type == 2.0:
        total = float(np.sqrt(sum(float(np.vdot(g, g).real) for g in arrays)))
    elif norm_type == float("inf"):
        total = max((float(np.abs(g).max()) for g in arrays if g.size), default=0.0)
    else:
        raise ValueError(f"norm_type must be 2.0 or inf, got {norm_type!r}")
    coef = max_norm / (total + 1e-6)
    if coef < 1.0:
        for g in arrays:
            g *= coef
    return total
