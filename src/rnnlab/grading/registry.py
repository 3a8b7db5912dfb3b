"""The registry of graded exercises.

Check modules register their exercises at import time (:func:`rnnlab.grading.spec.register`).
:func:`exercises` imports every module of :mod:`rnnlab.grading.checks` first, so the registry is
complete; :func:`get` imports only the chapter's own module when it can (``"01.x"`` ->
``checks/ch01.py``), so a notebook's check does not depend on the other chapters.

Tests extend the registry for a while with :func:`temporary`, which restores it afterwards.
"""
from __future__ import annotations

import importlib
import pkgutil
import threading
from contextlib import contextmanager
from typing import Iterator

from rnnlab.grading.spec import Exercise

__all__ = ["ExerciseSet", "register", "unregister", "temporary", "exercises", "get", "load_checks"]

_REGISTRY: dict[str, Exercise] = {}
_LOCK = threading.RLock()


class ExerciseSet(tuple):
    """The registered exercises, sorted by id: a tuple of :class:`Exercise` that can also be
    indexed by id (``exercises()["01.rnn_step"]``) and asked ``"01.rnn_step" in exercises()``."""

    def __getitem__(self, key):
        if isinstance(key, str):
            for ex in self:
                if ex.id == key:
                    return ex
            raise KeyError(_unknown(key, self.ids()))
        return tuple.__getitem__(self, key)

    def __contains__(self, key) -> bool:
        if isinstance(key, str):
            return key in self.ids()
        return tuple.__contains__(self, key)

    def ids(self) -> list[str]:
        return [ex.id for ex in self]

    def keys(self) -> list[str]:
        return self.ids()

    def values(self) -> list[Exercise]:
        return list(self)

    def items(self) -> list[tuple[str, Exercise]]:
        return [(ex.id, ex) for ex in self]

    def get(self, key: str, default=None):
        try:
            return self[key]
        except KeyError:
            return default

    def by_notebook(self) -> dict[str, list[Exercise]]:
        """``{"01_recurrent_networks.ipynb": [exercises of that notebook, by id]}``."""
        out: dict[str, list[Exercise]] = {}
        for ex in self:
            out.setdefault(ex.notebook, []).append(ex)
        return out

    def __repr__(self) -> str:
        return f"ExerciseSet({self.ids()!r})"


def _unknown(key: str, ids: list[str]) -> str:
    listed = ", ".join(ids) if ids else "(none registered)"
    return f"unknown exercise id {key!r}; valid ids: {listed}"


def register(ex: Exercise) -> Exercise:
    """Add (or replace: a reloaded check module registers again) an exercise."""
    if not isinstance(ex, Exercise):
        raise TypeError(f"register() expects an Exercise, got {type(ex).__name__}")
    with _LOCK:
        _REGISTRY[ex.id] = ex
    return ex


def unregister(exercise_id: str) -> None:
    """Remove an exercise (KeyError if it is not registered)."""
    with _LOCK:
        if exercise_id not in _REGISTRY:
            raise KeyError(_unknown(exercise_id, sorted(_REGISTRY)))
        del _REGISTRY[exercise_id]


@contextmanager
def temporary(*extra: Exercise) -> Iterator[ExerciseSet]:
    """Register ``extra`` exercises for the duration of a ``with`` block, then put back whatever those
    ids held before (for tests; registrations made meanwhile by check modules are kept)."""
    with _LOCK:
        saved = {ex.id: _REGISTRY.get(ex.id) for ex in extra}
        try:
            for ex in extra:
                register(ex)
            yield ExerciseSet(sorted(extra, key=lambda ex: ex.id))
        finally:
            for key, old in saved.items():
                if old is None:
                    _REGISTRY.pop(key, None)
                else:
                    _REGISTRY[key] = old


def load_checks() -> None:
    """Import every module of :mod:`rnnlab.grading.checks` (each registers its exercises)."""
    import rnnlab.grading.checks as checks

    for info in sorted(pkgutil.iter_modules(checks.__path__), key=lambda m: m.name):
        if not info.name.startswith("_"):
            importlib.import_module(f"{checks.__name__}.{info.name}")


def _load_chapter(chapter: str) -> None:
    name = f"rnnlab.grading.checks.ch{chapter}"
    try:
        importlib.import_module(name)
    except ModuleNotFoundError as err:
        if err.name != name:
            raise


def exercises() -> ExerciseSet:
    """All registered exercises (imports every check module first), sorted by id."""
    load_checks()
    with _LOCK:
        return ExerciseSet(_REGISTRY[k] for k in sorted(_REGISTRY))


def get(exercise_id: str) -> Exercise:
    """The exercise with this id; ``KeyError`` listing the valid ids if there is none."""
    if not isinstance(exercise_id, str):
        raise KeyError(f"exercise id must be a str like '01.rnn_step', got {exercise_id!r}")
    with _LOCK:
        if exercise_id in _REGISTRY:
            return _REGISTRY[exercise_id]
    if len(exercise_id) > 3 and exercise_id[:2].isdigit() and exercise_id[2] == ".":
        _load_chapter(exercise_id[:2])
        with _LOCK:
            if exercise_id in _REGISTRY:
                return _REGISTRY[exercise_id]
    return exercises()[exercise_id]
