"""What one call of a student's function did, shared by ``check()`` and the grader's child process.

A call either returned a value or raised; :class:`ErrorInfo` keeps what a student needs from an
exception (its type, its message and the student's own line), not a long traceback.
"""
from __future__ import annotations

import linecache
import os
import sys
import traceback
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

import rnnlab
from rnnlab.grading.compare import same
from rnnlab.grading.serialize import roundtrip

__all__ = ["ErrorInfo", "CallOutcome", "error_info", "call_function", "one_line"]

MAX_ERROR_MESSAGE = 300  # characters of an exception's message kept for the feedback


@dataclass(frozen=True)
class ErrorInfo:
    """An exception raised by student code: ``type`` name, one-line ``message``, and where in the
    student's code it happened (``line`` number, the ``code`` on that line, ``where``: a cell or a
    function name)."""

    type: str
    message: str
    line: int | None = None
    code: str | None = None
    where: str | None = None

    def describe(self) -> str:
        text = f"{self.type}: {self.message}" if self.message else self.type
        if self.line is not None:
            place = f"line {self.line}" + (f" of {self.where}" if self.where else "")
            text += f" ({place}" + (f": `{self.code}`" if self.code else "") + ")"
        return text

    def to_json(self) -> dict:
        return {"type": self.type, "message": self.message, "line": self.line, "code": self.code,
                "where": self.where}

    @classmethod
    def from_json(cls, data: Any) -> "ErrorInfo":
        if not isinstance(data, dict):
            raise ValueError("error info is not an object")

        def text(key: str, limit: int) -> str | None:
            value = data.get(key)
            return None if value is None else str(value)[:limit]

        line = data.get("line")
        return cls(type=text("type", 100) or "Exception", message=text("message", MAX_ERROR_MESSAGE) or "",
                   line=line if type(line) is int else None, code=text("code", 200),
                   where=text("where", 100))


@dataclass(frozen=True)
class CallOutcome:
    """One call: the ``returned`` value, or the ``error`` it raised; ``mutated`` maps the index of
    each argument the function changed in place to that argument's value after the call."""

    returned: Any = None
    error: ErrorInfo | None = None
    mutated: Mapping[int, Any] = field(default_factory=dict)


def one_line(text: str, limit: int = MAX_ERROR_MESSAGE) -> str:
    """``text`` on one line (whitespace runs become one space), cut to ``limit`` characters."""
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[:limit - 3] + "..."


def _library_roots() -> tuple[str, ...]:
    roots = {sys.prefix, sys.base_prefix, sys.exec_prefix,
             os.path.dirname(os.path.abspath(rnnlab.__file__))}
    return tuple(os.path.join(os.path.realpath(r), "") for r in roots if r)


def error_info(exc: BaseException, is_student: Callable[[str], bool] | None = None,
               where: Callable[[str, str], str | None] | None = None) -> ErrorInfo:
    """Summarise ``exc``: its type, message, and the last traceback frame that is the student's.

    ``is_student(filename)`` says whether a frame belongs to student code (default: any file that
    is not part of Python, the installed packages or rnnlab); ``where(filename, function)`` names
    the place for the message.
    """
    if is_student is None:
        roots = _library_roots()

        def is_student(filename: str) -> bool:
            if filename.startswith("<frozen") or filename.startswith("<string"):
                return False
            if filename.startswith("<"):
                return True
            return not os.path.realpath(filename).startswith(roots)

    line = code = place = None
    try:
        frames = traceback.extract_tb(exc.__traceback__)
    except Exception:
        frames = []
    for frame in reversed(frames):
        if is_student(frame.filename):
            line = frame.lineno
            code = (frame.line or linecache.getline(frame.filename, frame.lineno or 0)).strip() or None
            if code and len(code) > 120:
                code = code[:117] + "..."
            place = where(frame.filename, frame.name) if where else (
                f"`{frame.name}`" if frame.name not in ("<module>", None) else None)
            break
    if isinstance(exc, SyntaxError) and line is None and exc.lineno is not None:
        line, code = exc.lineno, (exc.text or "").strip() or None
        message = one_line(exc.msg or "")
    else:
        try:
            message = one_line(str(exc))
        except Exception:
            message = "(the exception's message could not be printed)"
    return ErrorInfo(type=type(exc).__name__, message=message, line=line, code=code, where=place)


def call_function(func: Callable, case: tuple, **kw) -> CallOutcome:
    """Call ``func(*copy_of_case)`` the way the grader does: on fresh copies of the arguments,
    noting any argument it changed in place; the returned value is passed through the grader's
    serialisation (``strict=False``), so a value that cannot cross the boundary becomes an
    :class:`~rnnlab.grading.serialize.Unsupported` placeholder here too."""
    args = list(roundtrip(tuple(case), strict=True))
    pristine = roundtrip(tuple(case), strict=True)
    try:
        returned = func(*args)
    except (Exception, SystemExit) as exc:  # feedback, not a crash; KeyboardInterrupt propagates
        return CallOutcome(error=error_info(exc, **kw))
    mutated = {j: roundtrip(args[j], strict=False) for j in range(len(args))
               if not same(args[j], pristine[j])}
    return CallOutcome(returned=roundtrip(returned, strict=False), mutated=mutated)
