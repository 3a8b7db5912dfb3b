"""Comparing a student's value with the reference's, with messages that say what is wrong.

:func:`compare` is the generic judge's core and the toolkit for chapter helpers who write a custom
``judge(case, got, expected) -> (ok, message)``:

>>> compare(np.zeros((2, 3)), np.ones((2, 3)), name="h")
'output `h` differs from the reference: max abs error 1 at index (0, 0) (got 0, expected 1); 6 of 6 entries differ'

Rules: structure first (tuple/list length, dict keys, type), then shape, then dtype (a float
reference wants the same float dtype: ``float32`` and integer answers are refused with a reason),
then values with ``np.isclose(got, expected, rtol, atol)`` (NaN only where the reference has NaN); a
float64 reference is matched to float64 precision (:data:`F64_RTOL`, :data:`F64_ATOL`) unless the caller
loosened the tolerances, so float32 arithmetic is rejected on every draw, with a diagnosis.
Tuples and lists are interchangeable; a 0-d array and a scalar are interchangeable.
"""
from __future__ import annotations

import cmath
import math
import numbers
import re
from typing import Any, Sequence

import numpy as np

from rnnlab.grading.serialize import Unsupported

__all__ = ["compare", "compare_outputs", "describe", "describe_short", "same", "max_abs_error",
           "RTOL", "F64_RTOL", "F64_ATOL"]

RTOL = 1e-6
DEFAULT_ATOL = 1e-8
# A float64 reference computed in float64 arithmetic is matched to float64 precision: an answer that
# agrees only to float32's ~7 digits is rejected on every draw of the cases, with a diagnosis, rather
# than passing or failing with the luck of the draw (rounding errors of float64 arithmetic on the
# values the exercises use stay far below these tolerances).
F64_RTOL = 1e-9
F64_ATOL = 1e-11
FLOAT32_ADVICE = ("the values agree only to about 7 significant digits, the precision of float32: "
                  "part of the computation ran in float32 (an .astype(np.float32), float32 weights "
                  "or a torch float32 tensor?); keep every step in float64")


def _strict(atol: float, rtol: float) -> tuple[float, float]:
    """The tolerances for a float64 value: float64 precision unless the caller loosened them."""
    if atol <= DEFAULT_ATOL and rtol <= RTOL:
        return min(atol, F64_ATOL), min(rtol, F64_RTOL)
    return atol, rtol


def _float32_close(got, exp) -> bool:
    with np.errstate(all="ignore"):
        got, exp = np.asarray(got, dtype=np.float64), np.asarray(exp, dtype=np.float64)
        finite = np.isfinite(exp)
        scale = float(np.max(np.abs(exp[finite]))) if finite.any() else 1.0
        return bool(np.allclose(got, exp, rtol=2e-6, atol=2e-6 * max(scale, 1e-30), equal_nan=True))


# ----------------------------------------------------------------------------- descriptions

def _typename(value: Any) -> str:
    if isinstance(value, Unsupported):
        return value.type_name
    return type(value).__name__


def describe(value: Any) -> str:
    """A phrase for a value's kind: ``'numpy array of shape (3, 4) and dtype float64'``."""
    if isinstance(value, np.ndarray):
        return f"numpy array of shape {tuple(value.shape)} and dtype {value.dtype}"
    if isinstance(value, np.generic):
        return f"numpy {value.dtype} scalar"
    if isinstance(value, (tuple, list)):
        return f"{type(value).__name__} of {len(value)} value{'s' * (len(value) != 1)}"
    if isinstance(value, dict):
        return f"dict with keys {sorted(map(repr, value))}"
    if value is None:
        return "None"
    if isinstance(value, Unsupported):
        return value.type_name
    return _typename(value)


def _a(phrase: str) -> str:
    """``phrase`` with its indefinite article: "an int", "a numpy array ...", "None"."""
    if phrase == "None":
        return phrase
    return f"{'an' if phrase[:1].lower() in 'aeiou' else 'a'} {phrase}"


def describe_short(value: Any) -> str:
    """A short phrase for a case argument: ``'array (3, 4)'``, ``'float 0.5'``, ``'list of 3'``."""
    if isinstance(value, np.ndarray):
        return f"array {tuple(value.shape)}" + ("" if value.dtype == np.float64 else f" {value.dtype}")
    if isinstance(value, (bool, np.bool_)):
        return f"bool {bool(value)}"
    if isinstance(value, (int, np.integer)):
        return f"int {int(value)}"
    if isinstance(value, (float, np.floating)):
        return f"float {float(value):.4g}"
    if isinstance(value, str):
        text = value if len(value) <= 20 else value[:17] + "..."
        return f"str {text!r}"
    if isinstance(value, (tuple, list)):
        return f"{type(value).__name__} of {len(value)}"
    if isinstance(value, dict):
        return f"dict of {len(value)}"
    return describe(value)


def _fmt(x: Any) -> str:
    if isinstance(x, (float, np.floating)):
        return f"{float(x):.6g}"
    if isinstance(x, (complex, np.complexfloating)):
        return f"{complex(x):.6g}"
    return str(x.item() if isinstance(x, np.generic) else x)


def _index(idx: tuple) -> str:
    return str(tuple(int(i) for i in idx))


# ----------------------------------------------------------------------------- exact equality

def same(a: Any, b: Any) -> bool:
    """Exact equality of two boundary values (type, structure, shape, dtype, values; NaN == NaN).
    Used to notice a function that changed its arguments in place."""
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        if not (isinstance(a, np.ndarray) and isinstance(b, np.ndarray)):
            return False
        if a.shape != b.shape or a.dtype != b.dtype:
            return False
        if a.dtype.kind in "fc":
            return bool(np.array_equal(a, b, equal_nan=True))
        return bool(np.array_equal(a, b))
    if type(a) is not type(b):
        return False
    if isinstance(a, (tuple, list)):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    if isinstance(a, dict):
        return list(a) == list(b) and all(same(a[k], b[k]) for k in a)
    if isinstance(a, (float, np.floating)) and math.isnan(a) and math.isnan(b):
        return True
    try:
        return bool(a == b)
    except Exception:
        return False


# ----------------------------------------------------------------------------- comparison

def _label(path: str, named: bool, kind: str = "output") -> str:
    if path == "output" and not named:
        return "the output"
    return f"{kind} `{path}`" if named else f"`{path}`"


def max_abs_error(got: np.ndarray, expected: np.ndarray) -> tuple[float, tuple]:
    """Largest ``|got - expected|`` (NaN/inf mismatches count as ``inf``) and where it is."""
    with np.errstate(all="ignore"):
        err = np.abs(got.astype(np.complex128 if got.dtype.kind == "c" else np.float64)
                     - expected.astype(np.complex128 if expected.dtype.kind == "c" else np.float64))
    both_nan = np.isnan(got) & np.isnan(expected) if got.dtype.kind in "fc" else np.zeros(got.shape, bool)
    err = np.where(both_nan, 0.0, np.where(np.isnan(err), np.inf, err))
    if err.size == 0:
        return 0.0, ()
    flat = int(np.argmax(err))
    idx = np.unravel_index(flat, err.shape)
    return float(err[idx]), tuple(int(i) for i in idx)


def _compare_array(got: np.ndarray, exp: np.ndarray, label: str, atol: float, rtol: float,
                   strict: bool = True) -> str | None:
    if got.shape != exp.shape:
        msg = f"{label} has shape {tuple(got.shape)}; expected {tuple(exp.shape)}"
        if got.ndim == exp.ndim >= 2 and got.shape == exp.shape[::-1]:
            msg += " (the transpose: is a matrix or a product transposed?)"
        elif got.size == exp.size:
            msg += " (same number of entries: a reshape or a missing/extra axis?)"
        return msg
    ek, gk = exp.dtype.kind, got.dtype.kind
    if ek in "fc":
        if got.dtype != exp.dtype:
            if gk in "iub":
                return (f"{label} has dtype {got.dtype}; expected {exp.dtype}: an integer result means "
                        f"the computation ran in integers (start from float arrays, e.g. "
                        f"np.zeros(shape) rather than np.zeros(shape, dtype=int))")
            if gk == "f" and ek == "f" and got.dtype.itemsize < exp.dtype.itemsize:
                return (f"{label} has dtype {got.dtype}; expected {exp.dtype}: keep the computation in "
                        f"{exp.dtype} (no .astype({got.dtype}) or torch float32 round trip)")
            return f"{label} has dtype {got.dtype}; expected {exp.dtype}"
        loose_atol, loose_rtol = atol, rtol
        if exp.dtype == np.float64 and strict:
            atol, rtol = _strict(atol, rtol)
        with np.errstate(all="ignore"):
            close = np.isclose(got, exp, rtol=rtol, atol=atol, equal_nan=True)
        if bool(close.all()):
            return None
        g_nan, e_nan = np.isnan(got), np.isnan(exp)
        if bool((g_nan & ~e_nan).any()):
            idx = tuple(int(i) for i in np.argwhere(g_nan & ~e_nan)[0])
            where = f" at index {_index(idx)}" if idx else ""
            return (f"{label} contains NaN{where} where the reference is {_fmt(exp[idx])} "
                    f"({int((g_nan & ~e_nan).sum())} NaN entries): an overflow or a 0/0?")
        err, idx = max_abs_error(got, exp)
        bad = int((~close).sum())
        where = f" at index {_index(idx)}" if idx else ""
        msg = (f"{label} differs from the reference: max abs error {err:.3g}{where} "
               f"(got {_fmt(got[idx])}, expected {_fmt(exp[idx])})")
        if got.size > 1:
            msg += f"; {bad} of {got.size} entries differ"
        if got.size and bool(np.isclose(got, -exp, rtol=rtol, atol=atol).all()):
            msg += " (every entry has the opposite sign)"
        elif exp.dtype == np.float64 and (atol, rtol) != (loose_atol, loose_rtol) \
                and _float32_close(got, exp):
            msg += f": {FLOAT32_ADVICE}"
        return msg
    if ek in "iu":
        if gk not in "iu":
            return f"{label} has dtype {got.dtype}; expected an integer array ({exp.dtype})"
    elif ek == "b":
        if gk != "b":
            return f"{label} has dtype {got.dtype}; expected a boolean array"
    elif ek in "US":
        if gk not in "US":
            return f"{label} has dtype {got.dtype}; expected an array of strings ({exp.dtype})"
    elif got.dtype != exp.dtype:
        return f"{label} has dtype {got.dtype}; expected {exp.dtype}"
    equal = got == exp
    if bool(np.all(equal)):
        return None
    idx = tuple(int(i) for i in np.argwhere(~np.asarray(equal))[0])
    where = f" at index {_index(idx)}" if idx else ""
    bad = int((~np.asarray(equal)).sum())
    return (f"{label} differs from the reference{where} (got {_fmt(got[idx])}, expected "
            f"{_fmt(exp[idx])}); {bad} of {got.size} entries differ")


def _is_real(x: Any) -> bool:
    return isinstance(x, (numbers.Real, np.floating, np.integer)) and not isinstance(x, (bool, np.bool_))


def _compare(got: Any, exp: Any, path: str, named: bool, atol: float, rtol: float,
             kind: str = "output", strict: bool = True) -> str | None:
    label = _label(path, named, kind)
    if isinstance(got, Unsupported) and not isinstance(exp, Unsupported):
        tip = ""
        if got.type_name.startswith("torch."):
            tip = (" (compute with numpy, or convert with .detach().numpy())"
                   if isinstance(exp, (np.ndarray, tuple, list, dict)) else
                   " (compute with numpy, or convert it with .item())")
        return f"{label} is {_a(got.type_name)}; expected {_a(describe(exp))}{tip}"
    if isinstance(exp, np.ndarray):
        if exp.ndim == 0 and (_is_real(got) or isinstance(got, (np.generic, complex))):
            got = np.asarray(got)
        if not isinstance(got, np.ndarray):
            tip = " (build it with np.array or np.stack)" if isinstance(got, (list, tuple)) else ""
            return f"{label} is {_a(describe(got))}; expected {_a(describe(exp))}{tip}"
        return _compare_array(got, exp, label, atol, rtol, strict)
    if isinstance(exp, (tuple, list)):
        if not isinstance(got, (tuple, list)):
            return f"{label} is {_a(describe(got))}; expected {_a(describe(exp))}"
        if len(got) != len(exp):
            return f"{label} has {len(got)} values; expected {len(exp)}"
        for i, (g, e) in enumerate(zip(got, exp)):
            msg = _compare(g, e, f"{path}[{i}]", named, atol, rtol, kind, strict)
            if msg:
                return msg
        return None
    if isinstance(exp, dict):
        if not isinstance(got, dict):
            return f"{label} is {_a(describe(got))}; expected a dict"
        missing = [k for k in exp if k not in got]
        extra = [k for k in got if k not in exp]
        if missing or extra:
            parts = []
            if missing:
                parts.append(f"missing keys {', '.join(map(repr, missing))}")
            if extra:
                parts.append(f"unexpected keys {', '.join(map(repr, extra))}")
            return f"{label} has {' and '.join(parts)}"
        for k in exp:
            msg = _compare(got[k], exp[k], f"{path}[{k!r}]", named, atol, rtol, kind, strict)
            if msg:
                return msg
        return None
    if exp is None:
        return None if got is None else f"{label} is {_a(describe(got))}; expected None"
    if isinstance(exp, (bool, np.bool_)):
        if not isinstance(got, (bool, np.bool_)):
            return f"{label} is {_a(describe(got))}; expected a bool"
        return None if bool(got) == bool(exp) else f"{label} is {bool(got)}; expected {bool(exp)}"
    if isinstance(exp, (int, np.integer)):
        if isinstance(got, np.ndarray) and got.ndim == 0 and got.dtype.kind in "iu":
            got = got[()]
        if not isinstance(got, (int, np.integer)) or isinstance(got, (bool, np.bool_)):
            return f"{label} is {_a(describe(got))}; expected an int"
        return None if int(got) == int(exp) else f"{label} is {int(got)}; expected {int(exp)}"
    if isinstance(exp, (float, np.floating)):
        if isinstance(got, np.ndarray) and got.ndim == 0:
            got = got[()]
        if not _is_real(got):
            return f"{label} is {_a(describe(got))}; expected a float"
        exp_dtype = np.asarray(exp).dtype
        if isinstance(got, np.floating) and got.dtype.itemsize < exp_dtype.itemsize:
            return f"{label} has dtype {got.dtype}; expected {exp_dtype}: keep the computation in {exp_dtype}"
        g, e = float(got), float(exp)
        if math.isnan(e) and math.isnan(g):
            return None
        s_atol, s_rtol = _strict(atol, rtol) if exp_dtype == np.float64 and strict else (atol, rtol)
        if math.isclose(g, e, rel_tol=0, abs_tol=0) or (  # an infinite e matches only itself
                math.isfinite(g) and math.isfinite(e) and abs(g - e) <= s_atol + s_rtol * abs(e)):
            return None
        msg = (f"{label} differs from the reference: got {_fmt(g)}, expected {_fmt(e)} "
               f"(abs error {abs(g - e):.3g})")
        if (s_atol, s_rtol) != (atol, rtol) and _float32_close(g, e):
            msg += f": {FLOAT32_ADVICE}"
        return msg
    if isinstance(exp, (complex, np.complexfloating)):
        if not isinstance(got, (numbers.Number, np.number)) or isinstance(got, bool):
            return f"{label} is {_a(describe(got))}; expected a complex number"
        g, e = complex(got), complex(exp)
        finite = cmath.isfinite(g) and cmath.isfinite(e)
        return None if g == e or (finite and abs(g - e) <= atol + rtol * abs(e)) else \
            f"{label} differs from the reference: got {_fmt(g)}, expected {_fmt(e)}"
    if isinstance(exp, str):
        if not isinstance(got, str):
            return f"{label} is {_a(describe(got))}; expected a str"
        return None if got == exp else f"{label} is {got[:80]!r}; expected {exp[:80]!r}"
    return None if same(got, exp) else f"{label} is {describe(got)}; expected {describe(exp)}"


def compare(got: Any, expected: Any, *, atol: float = 1e-8, rtol: float = RTOL,
            name: str | None = None, kind: str = "output", strict: bool = True) -> str | None:
    """``None`` when ``got`` matches ``expected``, else one sentence saying what differs and where.

    ``name`` names the value in the message (``"output `h`"``; ``kind="argument"`` gives
    ``"argument `h`"``); without a name the value is "the output". ``strict=False`` compares a
    float64 value with ``atol``/``rtol`` as given (for matching a known mistake, not for grading).
    """
    return _compare(got, expected, name or "output", name is not None, atol, rtol, kind, strict)


def compare_outputs(got: Any, expected: Any, *, output_names: Sequence[str] = (),
                    atol: float = 1e-8, rtol: float = RTOL, strict: bool = True,
                    order: Sequence[str] = (), summary: bool = False) -> str | None:
    """Like :func:`compare` for a function's whole return value: a returned tuple's elements are
    named by ``output_names`` (``"output `dW_hh` differs ..."``).

    ``order`` (a permutation of ``output_names``) is the order in which the elements are compared:
    the first that differs is described. ``summary=True`` adds which of the other outputs differ
    too and which match (``"; dx, dh_prev differ too; dc_prev matches"``): which outputs are right
    tells where the error enters."""
    names = tuple(output_names)
    if isinstance(expected, (tuple, list)) and names and len(names) == len(expected):
        if not isinstance(got, (tuple, list)):
            return (f"the function returned {_a(describe(got))}; expected a tuple of "
                    f"{len(expected)} values ({', '.join(names)})")
        if len(got) != len(expected):
            return (f"the function returned {len(got)} values; expected {len(expected)} "
                    f"({', '.join(names)})")
        seq = [names.index(n) for n in order] if order else list(range(len(names)))
        first, differ, mistyped, match = None, [], [], []
        for i in seq:
            msg = _compare(got[i], expected[i], names[i], True, atol, rtol, strict=strict)
            if msg and first is None:
                first = msg
                if not summary:
                    return first
            elif msg and re.match(rf"output `{re.escape(names[i])}` is (an? |None;)", msg):
                # of another type (every such message names the type with _a())
                mistyped.append(names[i])
            elif msg:
                differ.append(names[i])
            else:
                match.append(names[i])
        if first is None or len(names) < 2:
            return first
        parts = []
        if differ:
            parts.append(f"{', '.join(differ)} differ{'s' * (len(differ) == 1)} too")
        if mistyped:
            parts.append(f"{', '.join(mistyped)} {'is' if len(mistyped) == 1 else 'are'} not of "
                         f"the expected type either")
        if match:
            parts.append(f"{', '.join(match)} match{'es' * (len(match) == 1)}")
        else:
            parts.append("no output matches")
        return f"{first}; {'; '.join(parts)}"
    if isinstance(expected, (tuple, list)) and isinstance(got, (tuple, list)) \
            and len(got) != len(expected):
        return f"the function returned {len(got)} values; expected {len(expected)}"
    if len(names) == 1 and not isinstance(expected, (tuple, list)):
        return _compare(got, expected, names[0], True, atol, rtol, strict=strict)
    return _compare(got, expected, "output", False, atol, rtol, strict=strict)
