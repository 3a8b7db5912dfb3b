"""``check(exercise_id, func)``: run a student's function on fresh random cases and judge it.

The same :func:`judge` scores the grader's submissions, so a check that passes in the notebook passes
in ``rnnlab grade`` and the other way round.

Scoring: an exercise earns its points only when **every** case matches the reference (no partial
credit inside an exercise). Statuses: ``"passed"``, ``"wrong"`` (wrong structure, shape, dtype or
values, an argument changed in place, a call into the grader's reference, the package's own
implementation or torch, or a loop where the exercise asks for vectorised code: see
:class:`~rnnlab.grading.outcome.CallTrace`), ``"not attempted"`` (the stub still raises
``NotImplementedError``), ``"error"`` (the function raised), ``"memory"`` (it ran out of memory),
``"missing"`` (no such function).
"""
from __future__ import annotations

import html
import re
import sys
from dataclasses import dataclass, replace
from typing import Any, Callable, Sequence

import numpy as np

from rnnlab.grading import checks
from rnnlab.grading.compare import (FLOAT32_ADVICE, compare, compare_outputs, describe_short,
                                    same)
from rnnlab.grading.outcome import CallOutcome, ErrorInfo, call_function
from rnnlab.grading.serialize import roundtrip
from rnnlab.grading.spec import Exercise

__all__ = ["CheckResult", "ExerciseList", "check", "exercises", "judge", "missing_result", "draw_cases",
           "describe_case", "format_points"]


class ExerciseList(tuple):
    """The graded exercises, sorted by id: a tuple of :class:`Exercise` (``.id``, ``.notebook``,
    ``.function``, ``.points``, ...). One can be looked up by id, ``exercises()["01.rnn_step"]``
    (``KeyError`` listing the valid ids if unknown), and ``"01.rnn_step" in exercises()`` asks
    whether an id exists. A snapshot: changing it does not change the course's exercises."""

    def __getitem__(self, key):
        if isinstance(key, str):
            for ex in self:
                if ex.id == key:
                    return ex
            raise KeyError(f"unknown exercise id {key!r}; valid ids: "
                           f"{', '.join(ex.id for ex in self)}")
        return tuple.__getitem__(self, key)

    def __contains__(self, key) -> bool:
        if isinstance(key, str):
            return any(ex.id == key for ex in self)
        return tuple.__contains__(self, key)


def exercises() -> ExerciseList:
    """The course's graded exercises, sorted by id (see :class:`ExerciseList`)."""
    return ExerciseList(checks.EXERCISES.values())


def _exercise(exercise_id: str) -> Exercise:
    try:
        return checks.EXERCISES[exercise_id]
    except (KeyError, TypeError):
        raise KeyError(f"unknown exercise id {exercise_id!r}; valid ids: "
                       f"{', '.join(checks.EXERCISES)}") from None


def format_points(x: float) -> str:
    """``2`` -> ``"2"``, ``1.5`` -> ``"1.5"``."""
    return f"{float(x):g}"


@dataclass(frozen=True)
class CheckResult:
    """The verdict on one exercise.

    ``passed`` is true only when every case matched; ``score`` is then ``max_score``, else 0.
    ``message`` is the one-paragraph diagnosis a student reads; ``str()`` and ``repr()`` return it
    (deterministic: no addresses, no timings), and Jupyter shows it as coloured HTML. It is the
    headline, ``detail`` (what was found) and the advice: ``Likely mistake:`` when the answer equals
    a known ``mistake``, else the exercise's ``Hint:`` where one helps.
    """

    exercise: str
    passed: bool
    score: float
    max_score: float
    message: str
    status: str
    title: str = ""
    checked: str = ""
    hint: str = ""
    mistake: str | None = None
    detail: str = ""

    def __str__(self) -> str:
        return self.message

    def __repr__(self) -> str:
        return self.message

    def _repr_pretty_(self, p, cycle) -> None:  # IPython's plain-text display
        p.text(self.message)

    def _split(self) -> tuple[str, str]:
        head, _, body = self.message.partition(": ")
        return head, body

    def _repr_markdown_(self) -> str:
        head, body = self._split()
        return f"**{head}**: {body}" if body else f"**{head}**"

    def _repr_html_(self) -> str:
        head, body = self._split()
        color = "#1a7f37" if self.passed else "#b35900" if self.status == "not attempted" else "#cf222e"
        body_html = re.sub(r"`([^`]*)`", r"<code>\1</code>", html.escape(body))
        return (f'<div style="border-left:4px solid {color};padding:0.3em 0.8em;margin:0.2em 0">'
                f'<strong style="color:{color}">{html.escape(head)}</strong>'
                + (f": {body_html}" if body else "") + "</div>")


def _result(ex: Exercise, status: str, detail: str, *, checked: str = "", mistake: str | None = None,
            hint: bool = False) -> CheckResult:
    """The verdict with its message: ``✓ 01.rnn_step passed (2/2): <detail>[. Likely mistake: ...]``
    (or ``. Hint: ...`` when ``hint`` and no mistake was recognised)."""
    passed = status == "passed"
    score = float(ex.points) if passed else 0.0
    advice = (f". Likely mistake: {mistake}" if mistake else
              f". Hint: {ex.hint}" if hint and ex.hint else "")
    mark = "✓" if passed else "✗"
    head = f"{mark} {ex.id} {status} ({format_points(score)}/{format_points(ex.points)})"
    return CheckResult(exercise=ex.id, passed=passed, score=score, max_score=float(ex.points),
                       message=f"{head}: {detail}{advice}", status=status, title=ex.title,
                       checked=checked, hint=ex.hint, mistake=mistake, detail=detail)


def _arg_name(ex: Exercise, j: int) -> str:
    return ex.arg_names[j] if j < len(ex.arg_names) else f"argument {j + 1}"


def describe_case(ex: Exercise, case: Sequence) -> str:
    """``"x: array (3, 4), h_prev: array (3, 5)"``."""
    return ", ".join(f"{_arg_name(ex, j)}: {describe_short(v)}" for j, v in enumerate(case))


def draw_cases(ex: Exercise, rng: np.random.Generator) -> list[tuple]:
    """``ex.cases(rng)`` as a list of tuples, checked to be values that can cross the boundary."""
    cases = ex.cases(rng)
    if not isinstance(cases, (list, tuple)) or not cases:
        raise TypeError(f"{ex.id}: cases(rng) must return a non-empty list of argument tuples")
    out = []
    for i, case in enumerate(cases):
        if not isinstance(case, tuple):
            raise TypeError(f"{ex.id}: case {i} is a {type(case).__name__}; expected a tuple of "
                            f"positional arguments")
        roundtrip(case, strict=True)  # TypeError if a value cannot cross the boundary
        out.append(case)
    return out


def missing_result(ex: Exercise, message: str, status: str = "missing") -> CheckResult:
    """The verdict when no outcome could be judged (no function, a crash, a time-out...)."""
    return _result(ex, status, message)


def _is_memory(err: ErrorInfo) -> bool:
    text = err.message.lower()
    return err.type == "MemoryError" or "can't allocate memory" in text or "unable to allocate" in text


def _matches(ex: Exercise, case: tuple, got: Any, other: Any) -> bool:
    if ex.judge is not None:
        try:
            return bool(ex.judge(roundtrip(case, strict=True), got, other)[0])
        except Exception:
            return False
    return compare_outputs(got, other, output_names=ex.output_names, atol=ex.atol,
                           strict=False) is None


def _mistake_matches(ex: Exercise, wrong: Callable, case: tuple, got: Any) -> bool:
    try:
        out = roundtrip(wrong(*roundtrip(case, strict=True)), strict=False)
    except Exception:
        return False
    return _matches(ex, case, got, out)


def _likely_mistake(ex: Exercise, cases: Sequence[tuple], outcomes: Sequence[CallOutcome],
                    i: int) -> str | None:
    """The known mistake that reproduces the answer on case ``i`` (the first wrong one) and on the
    most of the other cases: two mistakes that coincide on one case are told apart by another
    (ties keep the order of ``ex.mistakes``)."""
    best, best_count = None, 0
    for description, wrong in ex.mistakes.items():
        if not _mistake_matches(ex, wrong, cases[i], outcomes[i].returned):
            continue
        count = 1 + sum(_mistake_matches(ex, wrong, case, outcome.returned)
                        for j, (case, outcome) in enumerate(zip(cases, outcomes)) if j != i)
        if count > best_count:
            best, best_count = description, count
            if count == len(cases):
                break
    return best


def _reference(ex: Exercise, case: tuple) -> tuple[Any, dict[int, Any]]:
    args = list(roundtrip(case, strict=True))
    try:
        expected = ex.reference(*args)
    except Exception as err:
        raise RuntimeError(f"the reference of {ex.id} failed on a case it generated: "
                           f"{type(err).__name__}: {err}") from err
    changed = {j: roundtrip(args[j], strict=True) for j in range(len(args)) if not same(args[j], case[j])}
    return roundtrip(expected, strict=True), changed


def _diagnose(ex: Exercise, case: tuple, outcome: CallOutcome) -> str | None:
    """``None`` if the outcome matches the reference on this case, else what is wrong."""
    expected, ref_changed = _reference(ex, case)
    got = outcome.returned
    if ex.judge is not None:
        try:
            ok, message = ex.judge(roundtrip(case, strict=True), got, expected)
        except Exception as err:
            ok, message = False, (f"the check could not interpret the returned value "
                                  f"({type(err).__name__}: {err})")
        problem = None if ok else (str(message) or "the output differs from the reference")
    else:
        problem = compare_outputs(got, expected, output_names=ex.output_names, atol=ex.atol,
                                  order=ex.report_order, summary=True)
    if problem:
        return problem
    for j in sorted(set(outcome.mutated) | set(ref_changed)):
        name = _arg_name(ex, j)
        if j not in ref_changed:
            if isinstance(case[j], (dict, list, tuple)):
                return (f"the function changed the arrays inside its argument `{name}` in place (the "
                        f"reference leaves its inputs unchanged): an in-place update such as "
                        f"`g *= scale` or `g += ...` writes into the caller's arrays, and a shallow "
                        f"`{name}.copy()` still shares them; build new arrays instead (`g = g * "
                        f"scale`, or a new dict/list of new arrays)")
            return (f"the function changed its argument `{name}` in place (the reference leaves its "
                    f"inputs unchanged): an in-place update (`{name} *= ...`, `{name} += ...`, "
                    f"`{name}[...] = ...`) writes into the caller's array; compute a new array "
                    f"(`{name} = {name} * ...`) or start from `{name}.copy()`")
        after = outcome.mutated.get(j, case[j])
        problem = compare(after, ref_changed[j], atol=ex.atol, name=name, kind="argument")
        if problem:
            return f"after the call, {problem}"
    if ex.max_lines is not None and outcome.lines is not None:
        limit = int(ex.max_lines(case))
        if outcome.lines > limit:
            return (f"the values are right, but `{ex.function}` ran {outcome.lines:,} lines of its "
                    f"own Python code (a vectorised answer runs at most {limit:,}): "
                    f"{ex.too_many_lines}")
    return None


def judge(ex: Exercise, cases: Sequence[tuple], outcomes: Sequence[CallOutcome]) -> CheckResult:
    """Score ``outcomes`` (one per case) of ``ex``'s function against the reference."""
    if len(cases) != len(outcomes):
        raise ValueError(f"judge: {len(cases)} cases but {len(outcomes)} outcomes")
    n = len(cases)
    checked = f"`{ex.function}` on {n} random case{'s' * (n != 1)} ({describe_case(ex, cases[0])})"
    errors = [(i, o.error) for i, o in enumerate(outcomes) if o.error is not None]
    if errors and all(e.type == "NotImplementedError" for _, e in errors) and len(errors) == n:
        return _result(ex, "not attempted", f"`{ex.function}` still raises NotImplementedError; "
                                            f"replace the stub with your code", checked=checked)
    if errors:
        i, err = errors[0]
        status = "memory" if any(_is_memory(e) for _, e in errors) else "error"
        if status == "memory":
            i, err = next((k, e) for k, e in errors if _is_memory(e))
            what = f"the function ran out of memory ({err.describe()})"
        else:
            what = f"the function raised {err.describe()}"
        count = f"; {len(errors)} of {n} cases raised" if n > 1 and len(errors) > 1 else ""
        return _result(ex, status, f"on case {i + 1} of {n} ({describe_case(ex, cases[i])}), "
                                   f"{what}{count}", checked=checked, hint=True)
    called = next(((i, o.called) for i, o in enumerate(outcomes) if o.called), None)
    if called is not None:
        i, name = called
        whose = ("the grader's reference" if name.startswith("rnnlab.grading.checks.")
                 else "the grader's own code" if name.startswith("rnnlab.grading.")
                 else "the package's own implementation" if name.startswith("rnnlab.")
                 else "part of torch" if name.startswith("torch.")
                 else "a module this exercise does not allow")
        return _result(ex, "wrong", f"on case {i + 1} of {n}, `{ex.function}` called `{name}`, "
                                    f"{whose}: the points are for code you write yourself (numpy is "
                                    f"all it needs)", checked=checked)
    first = None
    wrong = 0
    for i, (case, outcome) in enumerate(zip(cases, outcomes)):
        problem = _diagnose(ex, case, outcome)
        if problem:
            wrong += 1
            if first is None:
                first = (i, problem)
    if first is None:
        return _result(ex, "passed", f"{n} random case{'s' * (n != 1)} matched the reference",
                       checked=checked)
    i, problem = first
    detail = f"on case {i + 1} of {n} ({describe_case(ex, cases[i])}), {problem}"
    if n > 1:
        detail += f" ({wrong} of {n} cases wrong)"
    in_place = problem.startswith(("the function changed", "after the call"))
    mistake = None if in_place else _likely_mistake(ex, cases, outcomes, i)
    if mistake:  # a recognised mistake explains a small difference better than float32 does
        detail = detail.replace(f": {FLOAT32_ADVICE}", "")
    return _result(ex, "wrong", detail, checked=checked, mistake=mistake, hint=not in_place)


def check(exercise_id: str, func: Callable, *, seed: int | None = None) -> CheckResult:
    """Check ``func`` against the reference of ``exercise_id`` on fresh random cases.

    A wrong answer never raises: the result's ``.status``/``.message`` say what is wrong; outside
    IPython (a plain ``python script.py``) the message is also printed, since nothing displays the
    returned result there. An unknown
    ``exercise_id`` raises ``KeyError`` listing the valid ids. ``seed`` fixes the cases (tests).
    """
    ex = _exercise(exercise_id)
    if func is None or not callable(func):
        return missing_result(ex, f"expected the function `{ex.function}`, got "
                                  f"{'None' if func is None else type(func).__name__}")
    cases = draw_cases(ex, np.random.default_rng(seed))
    # else call_function leaves the debugger's or the profiler's function alone
    traced = sys.gettrace() is None and sys.getprofile() is None
    outcomes = [call_function(func, case, forbidden=ex.forbidden_calls,
                              count_lines=ex.max_lines is not None) for case in cases]
    result = judge(ex, cases, outcomes)
    if not traced and result.passed and (ex.forbidden_calls or ex.max_lines is not None):
        lines = " or how many lines it runs" if ex.max_lines is not None else ""
        note = (f"; a debugger or profiler is attached, so this check did not see what "
                f"`{ex.function}` calls{lines}: the grader does")
        result = replace(result, message=result.message + note, detail=result.detail + note)
    if not _in_ipython():
        print(result.message)
    return result


def _in_ipython() -> bool:
    """Whether an IPython shell or kernel runs this code (it displays a returned result itself)."""
    ipython = sys.modules.get("IPython")
    if ipython is None:
        return False
    try:
        return ipython.get_ipython() is not None
    except Exception:
        return False
