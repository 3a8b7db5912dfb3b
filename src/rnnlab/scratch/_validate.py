"""Checks at the boundary of the package: clear errors that name the argument.

Nothing here imports torch. A torch tensor is recognised by duck typing (it has ``detach``), and
converted with ``t.detach().cpu().numpy()``.
"""
from __future__ import annotations

from typing import Any

import numpy as np


def to_numpy(value: Any) -> np.ndarray:
    """Return ``value`` as a numpy array; torch tensors (CPU or CUDA) are detached and copied.

    Works without importing torch: anything with ``.detach()`` is treated like a tensor.
    """
    if hasattr(value, "detach"):
        value = value.detach()
        if hasattr(value, "cpu"):
            value = value.cpu()
        if hasattr(value, "numpy"):
            value = value.numpy()
    return np.asarray(value)


def float_array(value: Any, name: str, dtype: np.dtype | None = None) -> np.ndarray:
    """Convert ``value`` to a floating-point array; cast to ``dtype`` when it is given.

    Raises TypeError for integer, boolean, complex or object arrays: silently treating an integer
    array as data is a classic source of wrong gradients.
    """
    arr = to_numpy(value)
    if arr.dtype.kind != "f":
        raise TypeError(
            f"{name} must be a floating-point array (float32 or float64), got dtype {arr.dtype}"
        )
    if dtype is not None and arr.dtype != dtype:
        arr = arr.astype(dtype)
    return arr


def float_dtype(dtype: Any) -> np.dtype:
    """Validate the ``dtype`` argument of a layer: float32 or float64."""
    try:
        dt = np.dtype(dtype)
    except TypeError as exc:
        raise TypeError(f"dtype must be np.float32 or np.float64, got {dtype!r}") from exc
    if dt not in (np.dtype(np.float32), np.dtype(np.float64)):
        raise TypeError(f"dtype must be np.float32 or np.float64, got {dt}")
    return dt


def check_shape(arr: np.ndarray, expected: tuple[int, ...], name: str, meaning: str = "") -> None:
    """Raise ValueError when ``arr.shape != expected``, naming the argument and the meaning."""
    if arr.shape != tuple(expected):
        hint = f" {meaning}" if meaning else ""
        raise ValueError(f"{name} must have shape {tuple(expected)}{hint}, got {arr.shape}")


def lengths_array(lengths: Any, batch: int, steps: int) -> np.ndarray:
    """Validate the ``lengths`` argument of a layer's forward: one int in 1..T per sequence.

    Returns an int64 array of shape (batch,).
    """
    arr = to_numpy(lengths)
    if arr.dtype.kind not in "iu":
        if arr.dtype.kind == "f" and arr.size and np.all(arr == np.round(arr)):
            arr = arr.astype(np.int64)
        else:
            raise TypeError(
                f"lengths must be a sequence of integers (one per sequence), got dtype {arr.dtype}"
            )
    if arr.ndim != 1:
        raise ValueError(f"lengths must be 1-D (one entry per sequence), got shape {arr.shape}")
    if arr.shape[0] != batch:
        raise ValueError(
            f"lengths must have one entry per sequence in the batch: expected {batch}, "
            f"got {arr.shape[0]}"
        )
    arr = arr.astype(np.int64)
    if np.any(arr <= 0):
        bad = int(np.flatnonzero(arr <= 0)[0])
        raise ValueError(
            "Length of all samples has to be greater than 0, but found an element in 'lengths' "
            f"that is <= 0 (lengths[{bad}] = {arr[bad]})"
        )
    if np.any(arr > steps):
        bad = int(np.flatnonzero(arr > steps)[0])
        raise ValueError(
            f"lengths must not exceed the number of time steps of the input ({steps}), "
            f"got lengths[{bad}] = {arr[bad]}"
        )
    return arr


def step_args(
    cell: str,
    gates: int,
    x: Any,
    h_prev: Any,
    weight_ih: Any,
    weight_hh: Any,
    bias_ih: Any = None,
    bias_hh: Any = None,
) -> tuple[np.ndarray, ...]:
    """Validate the common arguments of a step function and return them as float arrays.

    ``gates`` is G (1 for the plain RNN, 4 for the LSTM, 3 for the GRU); the weights have torch's
    shapes weight_ih (G*H, I), weight_hh (G*H, H), biases (G*H,); x is (N, I) or unbatched (I,);
    h_prev is x.shape[:-1] + (H,).
    """
    weight_hh = float_array(weight_hh, "weight_hh")
    dtype = weight_hh.dtype
    if weight_hh.ndim != 2 or weight_hh.shape[0] != gates * weight_hh.shape[1]:
        raise ValueError(
            f"weight_hh must have shape ({gates}*hidden_size, hidden_size) for {cell}, "
            f"got {weight_hh.shape}"
        )
    H = weight_hh.shape[1]
    weight_ih = float_array(weight_ih, "weight_ih", dtype)
    if weight_ih.ndim != 2 or weight_ih.shape[0] != gates * H:
        raise ValueError(
            f"weight_ih must have shape ({gates * H}, input_size) = ({gates}*hidden_size, input_size)"
            f" for {cell} with hidden_size {H}, got {weight_ih.shape}"
        )
    x = float_array(x, "x", dtype)
    if x.ndim not in (1, 2):
        raise ValueError(f"x must be 1-D (input_size,) or 2-D (batch, input_size), got {x.ndim}-D")
    if x.shape[-1] != weight_ih.shape[1]:
        raise ValueError(
            f"x.size(-1) must be equal to input_size. Expected {weight_ih.shape[1]}, "
            f"got {x.shape[-1]}"
        )
    h_prev = float_array(h_prev, "h_prev", dtype)
    check_shape(h_prev, x.shape[:-1] + (H,), "h_prev", "(x.shape[:-1] + (hidden_size,))")
    out = [x, h_prev, weight_ih, weight_hh]
    for name, b in (("bias_ih", bias_ih), ("bias_hh", bias_hh)):
        if b is not None:
            b = float_array(b, name, dtype)
            check_shape(b, (gates * H,), name, f"({gates}*hidden_size,)")
        out.append(b)
    return tuple(out)
