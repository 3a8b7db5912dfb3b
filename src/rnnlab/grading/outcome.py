"""What one call of a student's function did, shared by ``check()`` and the grader's child process.

A call either returned a value or raised; :class:`ErrorInfo` keeps what a student needs from an
exception (its type, its message and the student's own line), not a long traceback.
"""
from __future__ import annotations

import linecache
import os
import site
import sys
import threading
import traceback
import types
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

import rnnlab
from rnnlab.grading.compare import same
from rnnlab.grading.serialize import roundtrip

__all__ = ["ErrorInfo", "CallOutcome", "error_info", "call_function", "one_line", "student_code",
           "CallTrace"]

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
    each argument the function changed in place to that argument's value after the call; ``lines``
    is how many lines of the student's own Python code the call ran (``None``: not counted) and
    ``called`` the first forbidden function it called (:class:`CallTrace`)."""

    returned: Any = None
    error: ErrorInfo | None = None
    mutated: Mapping[int, Any] = field(default_factory=dict)
    lines: int | None = None
    called: str | None = None


def one_line(text: str, limit: int = MAX_ERROR_MESSAGE) -> str:
    """``text`` on one line (whitespace runs become one space), cut to ``limit`` characters."""
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[:limit - 3] + "..."


def _library_roots() -> tuple[str, ...]:
    """Folders whose code is not the student's: the interpreter's prefixes, rnnlab, and every
    folder packages are installed in, also outside the prefix (``pip install --user``, a
    Homebrew or ``--target`` site-packages on the path)."""
    roots = {sys.prefix, sys.base_prefix, sys.exec_prefix,
             os.path.dirname(os.path.abspath(rnnlab.__file__))}
    try:
        roots.update(site.getsitepackages())
    except Exception:  # a virtualenv's old site.py, or an embedded interpreter
        pass
    try:
        roots.add(site.getusersitepackages())
    except Exception:
        pass
    roots.update(p for p in sys.path if isinstance(p, str)
                 and os.path.basename(os.path.normpath(p)) in ("site-packages", "dist-packages"))
    return tuple(os.path.join(os.path.realpath(r), "") for r in roots if r)


def student_code() -> Callable[[str], bool]:
    """``is_student(filename)``: whether code from ``filename`` is the student's, i.e. not part of
    Python, of the installed packages or of rnnlab (a notebook cell's ``<cell 3>`` or
    ``.../ipykernel_.../123.py``, a script, a helper file beside the notebook)."""
    roots = _library_roots()

    def is_student(filename: str) -> bool:
        if filename.startswith(("<frozen", "<string")):
            return False
        if filename.startswith("<"):
            return True
        return not os.path.realpath(filename).startswith(roots)

    return is_student


def _module_of_file(filename: str) -> str | None:
    """``.../rnnlab/scratch/scan.py`` -> ``"rnnlab.scratch.scan"``; ``None`` outside rnnlab."""
    package = os.path.dirname(os.path.abspath(rnnlab.__file__))
    path = os.path.abspath(filename)
    if not path.startswith(os.path.join(package, "")) or not path.endswith(".py"):
        return None
    parts = os.path.relpath(path[:-3], os.path.dirname(package)).split(os.sep)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _module_of_builtin(func) -> str | None:
    """The module a builtin function or method belongs to: ``torch.log`` -> ``"torch"``, a
    tensor's ``.exp`` -> ``"torch"`` (its object's class), ``np.add`` -> ``"numpy"``."""
    module = getattr(func, "__module__", None)
    if isinstance(module, str):
        return module
    owner = getattr(func, "__objclass__", None)
    if owner is None:
        bound = getattr(func, "__self__", None)
        if isinstance(bound, types.ModuleType):
            return bound.__name__
        owner = None if bound is None else type(bound)
    module = getattr(owner, "__module__", None)
    return module if isinstance(module, str) else None


class CallTrace:
    """``with CallTrace(forbidden, count_lines=True) as trace: f(...)``: what one call of a student's
    function ran.

    ``called`` is the first function it called from a module in ``forbidden`` (module names, a
    package covering its submodules), as ``"rnnlab.scratch.lstm.lstm_step"``, or ``None``: an
    answer that calls the package's own implementation, or the grader's reference, is not the
    student's. With ``count_lines``, ``lines`` is how many lines of the student's own code
    (:func:`student_code`) ran, loop iterations included: a scan over ``T`` steps in
    ``ceil(log2 T)`` vectorised passes runs a few dozen lines, a loop at least one per step.

    Importing a module during the call (its module-level code and what that code calls) is not a
    call: an answer that imports ``rnnlab.experiments.ch07`` for a plot, or ``torch``, called nothing.

    It uses :func:`sys.settrace` (a new frame is looked at once; only the student's frames are traced
    line by line, and only when counting), also in the threads the call starts
    (:func:`threading.settrace`), and restores both previous trace functions on exit. It is a
    measurement, not a barrier: code that switches tracing off, runs in a thread started before the
    call or in another process, or copies a function's source, is not seen.
    """

    def __init__(self, forbidden: tuple[str, ...] = (), *, count_lines: bool = False,
                 is_student: Callable[[str], bool] | None = None):
        self.lines = 0
        self.called: str | None = None
        self._forbidden = tuple(f"{name}." for name in forbidden)
        self._count_lines = count_lines
        self._is_student = is_student or student_code()
        self._files: dict[str, tuple[bool, str | None]] = {}
        self._previous = self._previous_threads = None
        self._previous_profile = self._previous_profile_threads = None
        self._thread = self._floor = None
        self._active = False

    def _count(self, frame, event, arg):
        if event == "line":
            self.lines += 1
        return self._count

    def _known(self, filename: str) -> tuple[bool, str | None]:
        known = self._files.get(filename)
        if known is None:
            known = self._files[filename] = (bool(self._is_student(filename)),
                                             _module_of_file(filename))
        return known

    def _importing(self, frame) -> bool:
        """Whether ``frame`` runs while a module is being imported inside the call (it is that
        module's code, or called by it): a module's top-level code, from the module's own file,
        running in the namespace ``sys.modules`` holds for it (code merely given a module's name,
        or run in its namespace with ``exec``, is not an import)."""
        while frame is not None and frame is not self._floor:
            code = frame.f_code
            if code.co_name == "<module>":
                loaded = sys.modules.get(frame.f_globals.get("__name__"))
                path = getattr(loaded, "__file__", None)
                if loaded is not None and getattr(loaded, "__dict__", None) is frame.f_globals \
                        and isinstance(path, str) \
                        and os.path.realpath(path) == os.path.realpath(code.co_filename):
                    return True
            frame = frame.f_back
        return False

    def _called_by_student(self, caller) -> bool:
        """Whether the student's code (or the harness, when the answer *is* the forbidden function)
        made a call from ``caller``, directly or through other libraries' code (``functools``,
        numpy, ``threading``), rather than a part of rnnlab the answer may use (``rnnlab.data``)."""
        while caller is not None and caller is not self._floor:
            student, module = self._known(caller.f_code.co_filename)
            if student:
                return True
            if module is not None:  # rnnlab's code called it: not the student's call
                return False
            caller = caller.f_back
        return True

    def _enter_frame(self, frame, event, arg):
        if not self._active:  # a thread started by the call outlived it: stop tracing it
            if threading.current_thread() is not self._thread:
                sys.settrace(self._previous_threads)
            return None
        code = frame.f_code
        if code is _EXIT:  # the trace's own end, not the student's call
            return None
        student, file_module = self._known(code.co_filename)
        if self.called is None and self._forbidden:
            for module in (frame.f_globals.get("__name__"), file_module):
                if isinstance(module, str) and f"{module}.".startswith(self._forbidden):
                    if not self._importing(frame) and self._called_by_student(frame.f_back):
                        self.called = f"{module}.{code.co_qualname}"
                    break
        return self._count if student and self._count_lines else None

    def _c_call(self, frame, event, arg):
        """The profile function: a call of a builtin (``torch.log``, ``Tensor.exp``), which
        starts no Python frame, from ``frame``."""
        if not self._active:
            if threading.current_thread() is not self._thread:
                sys.setprofile(self._previous_profile_threads)
            return
        if event != "c_call" or self.called is not None:
            return
        module = _module_of_builtin(arg)
        if module is not None and f"{module}.".startswith(self._forbidden) \
                and not self._importing(frame) and self._called_by_student(frame):
            # a module's function by its name (torch.log, not _VariableFunctionsClass.log), a
            # method by its class (TensorBase.exp)
            name = getattr(arg, "__name__", None) if isinstance(getattr(arg, "__module__", None), str) \
                else getattr(arg, "__qualname__", None)
            self.called = f"{module}.{name or '?'}"

    def __enter__(self) -> "CallTrace":
        self._previous, self._previous_threads = sys.gettrace(), threading.gettrace()
        self._previous_profile = sys.getprofile()
        self._previous_profile_threads = threading.getprofile()
        self._thread, self._floor = threading.current_thread(), sys._getframe(1)
        self._active = True
        if self._forbidden:  # builtins start no frame: a profile function sees their calls
            threading.setprofile(self._c_call)
            sys.setprofile(self._c_call)
        threading.settrace(self._enter_frame)
        sys.settrace(self._enter_frame)
        return self

    def __exit__(self, *exc) -> None:
        sys.settrace(self._previous)
        sys.setprofile(self._previous_profile)
        threading.settrace(self._previous_threads)
        threading.setprofile(self._previous_profile_threads)
        self._active = False
        self._floor = None


_EXIT = CallTrace.__exit__.__code__


def error_info(exc: BaseException, is_student: Callable[[str], bool] | None = None,
               where: Callable[[str, str], str | None] | None = None) -> ErrorInfo:
    """Summarise ``exc``: its type, message, and the last traceback frame that is the student's.

    ``is_student(filename)`` says whether a frame belongs to student code (default: any file that
    is not part of Python, the installed packages or rnnlab); ``where(filename, function)`` names
    the place for the message.
    """
    if is_student is None:
        is_student = student_code()
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


def call_function(func: Callable, case: tuple, *, forbidden: tuple[str, ...] = (),
                  count_lines: bool = False, **kw) -> CallOutcome:
    """Call ``func(*copy_of_case)`` the way the grader does: on fresh copies of the arguments,
    noting any argument it changed in place and, under a :class:`CallTrace`, any call into the
    ``forbidden`` modules and (with ``count_lines``) how many lines of the student's code ran. The
    trace is left out while another trace or profile function is set (a debugger stepping through
    the student's code, or a profiler, keeps working; the grader, which runs neither, traces every
    call). The returned value is passed through the grader's serialisation (``strict=False``), so
    a value that
    cannot cross the boundary becomes an :class:`~rnnlab.grading.serialize.Unsupported`
    placeholder here too."""
    args = list(roundtrip(tuple(case), strict=True))
    pristine = roundtrip(tuple(case), strict=True)
    trace = None
    if (forbidden or count_lines) and sys.gettrace() is None and sys.getprofile() is None:
        trace = CallTrace(forbidden, count_lines=count_lines)
    try:
        if trace is None:
            returned = func(*args)
        else:
            with trace:
                returned = func(*args)
    except (Exception, SystemExit) as exc:  # feedback, not a crash; KeyboardInterrupt propagates
        return CallOutcome(error=error_info(exc, **kw))
    mutated = {j: roundtrip(args[j], strict=False) for j in range(len(args))
               if not same(args[j], pristine[j])}
    return CallOutcome(returned=roundtrip(returned, strict=False), mutated=mutated,
                       lines=trace.lines if trace is not None and count_lines else None,
                       called=None if trace is None else trace.called)
