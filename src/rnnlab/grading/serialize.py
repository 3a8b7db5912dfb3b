"""Moving values between the grader and a submission's process without pickle.

The only values that cross the student boundary are numpy arrays and scalars, Python
``int``/``float``/``bool``/``str``/``None``, and tuples, lists and dicts of these. :func:`encode`
turns such a value into a JSON tree plus a list of arrays; :func:`pack` writes a JSON header and the
arrays (each with ``np.save(..., allow_pickle=False)``) into one byte string; :func:`unpack` and
:func:`decode` read them back and **validate everything**: the bytes may come from hostile code, so
arrays are loaded with ``allow_pickle=False`` after their header has been checked against their
length, object dtypes are refused, and the tree may only contain the node types written here.

A value of any other type (a torch tensor, a generator, an object), an ``int`` outside the int64 range
or a value nested more than :data:`MAX_DEPTH` deep or of more than :data:`MAX_NODES` nodes is refused
by ``encode(strict=True)``; ``encode(strict=False)`` replaces it by an :class:`Unsupported` placeholder
(for the limits: the whole value) so that the judge can say "returned a torch.Tensor; expected a
numpy array". Every tree ``encode`` writes, placeholders included, is one ``decode`` reads.
"""
from __future__ import annotations

import io
import json
import math
import struct
from typing import Any

import numpy as np

__all__ = ["Unsupported", "WireError", "encode", "decode", "pack", "unpack", "roundtrip",
           "write_frame", "read_frames"]

ALLOWED_KINDS = frozenset("biufcUS")
MAX_DEPTH = 64
MAX_NODES = 200_000
INT_MIN, INT_MAX = -2**63, 2**63 - 1  # a Python int outside int64 does not cross (float() overflows)


class _TooBig(Exception):
    """Raised inside :func:`encode` when a value passes :data:`MAX_DEPTH` or :data:`MAX_NODES`."""


class WireError(ValueError):
    """Bytes or a tree that do not follow the format (corrupt, truncated or forged)."""


class Unsupported:
    """Stands for a returned value whose type cannot cross the boundary (its type name only)."""

    __slots__ = ("type_name",)

    def __init__(self, type_name: str) -> None:
        self.type_name = str(type_name)[:200]

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Unsupported) and other.type_name == self.type_name

    def __hash__(self) -> int:
        return hash(("Unsupported", self.type_name))

    def __repr__(self) -> str:
        return f"<{self.type_name}>"


def type_name(value: Any) -> str:
    cls = type(value)
    module = cls.__module__
    if module in ("builtins", "__main__") or not module:
        return cls.__qualname__
    return f"{module.split('.')[0]}.{cls.__qualname__}"


# ----------------------------------------------------------------------------- encode / decode

def encode(value: Any, *, strict: bool = True,
           arrays: list[np.ndarray] | None = None) -> tuple[Any, list[np.ndarray]]:
    """``value`` -> ``(tree, arrays)``; ``TypeError`` on an unsupported type when ``strict``.

    Pass ``arrays`` to append to a list shared by several trees (their references stay valid).
    """
    arrays = [] if arrays is None else arrays
    count = [0]

    def enc(v: Any, depth: int) -> Any:
        count[0] += 1
        if depth > MAX_DEPTH:
            raise _TooBig("value nested too deeply")
        if count[0] > MAX_NODES:
            raise _TooBig("value too large to send")
        if v is None or type(v) in (bool, str):
            return v
        if type(v) is int:
            return v if INT_MIN <= v <= INT_MAX else unsupported("int outside the int64 range")
        if type(v) is float:
            return v if math.isfinite(v) else {"t": "float", "v": repr(v)}
        if isinstance(v, np.ndarray):
            arr = np.asarray(v)
            if arr.dtype.kind not in ALLOWED_KINDS:
                return unsupported(f"numpy array of dtype {arr.dtype}")
            arrays.append(np.array(arr, copy=True, order="C"))
            return {"t": "nd", "i": len(arrays) - 1}
        if isinstance(v, np.generic):
            arr = np.asarray(v)
            if arr.dtype.kind not in ALLOWED_KINDS:
                return unsupported(f"numpy scalar of dtype {arr.dtype}")
            arrays.append(arr.copy())
            return {"t": "np", "i": len(arrays) - 1}
        if type(v) in (tuple, list):
            return {"t": type(v).__name__, "v": [enc(x, depth + 1) for x in v]}
        if type(v) is dict:
            keys = list(v.keys())
            if not all(k is None or type(k) in (str, int, float, bool) for k in keys):
                return unsupported("dict with keys that are not str/int/float/bool")
            return {"t": "dict", "k": [enc(k, depth + 1) for k in keys],
                    "v": [enc(v[k], depth + 1) for k in keys]}
        return unsupported(type_name(v))

    def unsupported(name: str) -> Any:
        if strict:
            raise TypeError(
                f"values crossing the grading boundary must be numpy arrays, int, float, bool, str, "
                f"None or tuples/lists/dicts of these; got {name}")
        return {"t": "?", "type": name}

    mark = len(arrays)
    try:
        return enc(value, 0), arrays
    except _TooBig as err:  # the whole value is one placeholder, which decode() accepts
        del arrays[mark:]
        if strict:
            raise TypeError(f"{err} (more than {MAX_DEPTH} levels or {MAX_NODES} values)") from None
        return {"t": "?", "type": f"{err} (more than {MAX_DEPTH} levels or {MAX_NODES} values)"}, \
            arrays


def decode(tree: Any, arrays: list[np.ndarray]) -> Any:
    """Inverse of :func:`encode`; ``WireError`` on anything it would not have written.

    Each call builds fresh objects (arrays are copied), so decoding twice gives independent copies.
    """
    count = [0]

    def dec(node: Any, depth: int) -> Any:
        count[0] += 1
        if depth > MAX_DEPTH or count[0] > MAX_NODES:
            raise WireError("tree nested too deeply or too large")
        if node is None or type(node) in (bool, float, str):
            return node
        if type(node) is int:
            if not INT_MIN <= node <= INT_MAX:
                raise WireError("int outside the int64 range")
            return node
        if type(node) is not dict or not isinstance(node.get("t"), str):
            raise WireError(f"unexpected node of type {type(node).__name__}")
        tag = node["t"]
        if tag in ("nd", "np"):
            index = node.get("i")
            if type(index) is not int or not 0 <= index < len(arrays):
                raise WireError("array reference out of range")
            arr = np.array(arrays[index], copy=True)
            if tag == "np":
                if arr.ndim != 0:
                    raise WireError("numpy scalar node holds an array that is not 0-d")
                return arr[()]
            return arr
        if tag in ("tuple", "list"):
            items = node.get("v")
            if type(items) is not list:
                raise WireError("sequence node without a list")
            out = [dec(x, depth + 1) for x in items]
            return tuple(out) if tag == "tuple" else out
        if tag == "dict":
            keys, values = node.get("k"), node.get("v")
            if type(keys) is not list or type(values) is not list or len(keys) != len(values):
                raise WireError("malformed dict node")
            result = {}
            for k, v in zip(keys, values):
                key = dec(k, depth + 1)
                if not (key is None or type(key) in (str, int, float, bool)):
                    raise WireError("dict key of an unsupported type")
                result[key] = dec(v, depth + 1)
            return result
        if tag == "float":
            text = node.get("v")
            if text not in ("nan", "inf", "-inf"):
                raise WireError("malformed float node")
            return float(text)
        if tag == "?":
            return Unsupported(str(node.get("type", "unknown")))
        raise WireError(f"unknown node tag {tag!r}")

    return dec(tree, 0)


def roundtrip(value: Any, *, strict: bool = False) -> Any:
    """What the grader would receive for ``value`` (``check()`` uses it, so that a notebook's check
    and the grader judge exactly the same thing)."""
    tree, arrays = encode(value, strict=strict)
    return decode(tree, arrays)


# ----------------------------------------------------------------------------- bytes

def _npy_bytes(arr: np.ndarray) -> bytes:
    buf = io.BytesIO()
    np.save(buf, arr, allow_pickle=False)
    return buf.getvalue()


def _load_npy(blob: bytes) -> np.ndarray:
    fp = io.BytesIO(blob)
    try:
        version = np.lib.format.read_magic(fp)
        if version == (1, 0):
            shape, fortran, dtype = np.lib.format.read_array_header_1_0(fp)
        elif version in ((2, 0), (3, 0)):
            shape, fortran, dtype = np.lib.format.read_array_header_2_0(fp)
        else:
            raise WireError(f"unsupported npy version {version}")
    except WireError:
        raise
    except Exception as err:  # malformed header
        raise WireError(f"malformed array header: {err}") from None
    if dtype.kind not in ALLOWED_KINDS or dtype.hasobject or dtype.fields is not None:
        raise WireError(f"array dtype {dtype} is not allowed")
    size = 1
    for n in shape:
        if type(n) is not int or n < 0:
            raise WireError("malformed array shape")
        size *= n
    if size * dtype.itemsize != len(blob) - fp.tell():
        raise WireError("array data length does not match its header")
    fp.seek(0)
    try:
        arr = np.load(fp, allow_pickle=False)
    except Exception as err:
        raise WireError(f"unreadable array: {err}") from None
    if not isinstance(arr, np.ndarray):
        raise WireError("npy blob did not hold an array")
    return arr


def pack(header: dict, arrays: list[np.ndarray]) -> bytes:
    """JSON ``header`` and ``arrays`` -> bytes (``u32 len, json, u32 n, (u64 len, npy)*n``)."""
    head = json.dumps(header, ensure_ascii=True, allow_nan=True).encode("ascii")
    parts = [struct.pack("<I", len(head)), head, struct.pack("<I", len(arrays))]
    for arr in arrays:
        blob = _npy_bytes(arr)
        parts += [struct.pack("<Q", len(blob)), blob]
    return b"".join(parts)


def unpack(data: bytes) -> tuple[dict, list[np.ndarray]]:
    """Inverse of :func:`pack`, validating every length; ``WireError`` if anything is off."""
    view = memoryview(data)
    pos = 0

    def take(n: int) -> bytes:
        nonlocal pos
        if n < 0 or pos + n > len(view):
            raise WireError("truncated data")
        out = bytes(view[pos:pos + n])
        pos += n
        return out

    (head_len,) = struct.unpack("<I", take(4))
    try:
        header = json.loads(take(head_len).decode("ascii"))
    except (UnicodeDecodeError, ValueError, RecursionError) as err:
        raise WireError(f"malformed header: {err}") from None
    if type(header) is not dict:
        raise WireError("header is not a JSON object")
    (n_arrays,) = struct.unpack("<I", take(4))
    arrays = []
    for _ in range(n_arrays):
        (blob_len,) = struct.unpack("<Q", take(8))
        arrays.append(_load_npy(take(blob_len)))
    if pos != len(view):
        raise WireError("trailing bytes after the last array")
    return header, arrays


def write_frame(stream, header: dict, arrays: list[np.ndarray] | None = None) -> None:
    """Write one length-prefixed frame to a binary stream (the result pipe)."""
    payload = pack(header, arrays or [])
    stream.write(struct.pack("<Q", len(payload)) + payload)
    stream.flush()


def read_frames(data: bytes) -> tuple[list[tuple[dict, list[np.ndarray]]], str | None]:
    """Split the result pipe's bytes into frames. Returns ``(frames, problem)``: the frames that
    were complete and valid, and a description of what went wrong after them (or ``None``)."""
    frames = []
    pos = 0
    while pos < len(data):
        if pos + 8 > len(data):
            return frames, "the results stream ended in the middle of a frame"
        (length,) = struct.unpack("<Q", data[pos:pos + 8])
        if pos + 8 + length > len(data):
            return frames, "the results stream ended in the middle of a frame"
        try:
            frames.append(unpack(data[pos + 8:pos + 8 + length]))
        except WireError as err:
            return frames, f"invalid results frame ({err})"
        pos += 8 + length
    return frames, None
