"""What a graded exercise is: the :class:`Exercise` record.

A chapter's check module (``rnnlab/grading/checks/chNN.py``) describes each graded function of its
solutions notebook with one :class:`Exercise` and lists them in ``EXERCISES``::

    RNN_STEP = Exercise(
        id="01.rnn_step", notebook="01_recurrent_networks.ipynb", function="rnn_step",
        points=2, title="One step of a vanilla RNN",
        cases=lambda rng: [(rng.standard_normal((3, 4)), ...) for _ in range(5)],
        reference=rnn_step_reference,
        mistakes={"tanh applied before adding the bias": wrong_fn},
        arg_names=("x", "h_prev", "W_ih", "W_hh", "b"), output_names=("h",),
        hint="h = tanh(x W_ih^T + h_prev W_hh^T + b)",
    )

Values that cross the student boundary (case arguments and return values) are numpy arrays,
Python ``int``/``float``/``bool``/``str``/``None`` and tuples, lists and dicts of these: the grader
moves them between processes without pickle (:mod:`rnnlab.grading.serialize`).
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

import numpy as np

__all__ = ["Exercise"]

# what an answer may not call: the grader's references, the package's own implementations
# (rnnlab.train.decode holds beam_search_step and sample_with_temperature, for example) and torch
# (torch.nn.LSTMCell, autograd): every graded function is numpy code
FORBIDDEN_CALLS = ("rnnlab.grading", "rnnlab.scratch", "rnnlab.modules", "rnnlab.train",
                   "rnnlab.experiments", "torch")

_ID = re.compile(r"^(?P<chapter>\d{2})\.(?P<function>[A-Za-z_][A-Za-z0-9_]*)$")


@dataclass(frozen=True)
class Exercise:
    """One graded function of a solutions notebook.

    Attributes
    ----------
    id: ``"01.rnn_step"``: two-digit chapter, a dot, the function's name.
    notebook: file name in ``solutions/`` and ``exercises/``, e.g. ``"01_recurrent_networks.ipynb"``.
    function: the name the student defines, e.g. ``"rnn_step"``.
    points: what the exercise is worth (> 0). There is no partial credit inside an exercise: the
        points are earned only when every case matches the reference.
    title: one line, shown in feedback.
    cases: ``cases(rng)`` returns a list of positional-argument tuples drawn from ``rng``
        (a ``numpy.random.Generator``). Return the same number of cases on every call.
    reference: the correct answer, ``reference(*case)``.
    mistakes: ``{"description of a likely mistake": wrong_fn}``, each with the reference's signature;
        a wrong answer that equals one of them is diagnosed with its description.
    atol: absolute tolerance of the value comparison (``rtol`` is 1e-6 on top).
    arg_names: the arguments' names, for messages.
    output_names: the returned values' names (one per element of a returned tuple), for messages.
    hint: one line, shown when the answer is wrong and matches no known mistake.
    judge: optional ``judge(case, got, expected) -> (ok, message)`` replacing the generic comparison.
    report_order: optional order (a permutation of ``output_names``) in which the outputs are
        compared for the message: the first one that differs is the one described. List first the
        outputs closest to the likely cause (for a backward pass: the gradient of the bias, the sum
        of the pre-activation gradients, before what is computed from it), so that the message names
        where the error enters rather than the first output in return order.
    max_lines: optional ``max_lines(case) -> int``, for exercises that ask for vectorised code: the
        most lines of the student's own Python a call may run on ``case`` (counted by
        :class:`rnnlab.grading.outcome.CallTrace`, loop iterations included). A call with right
        values that runs more is ``"wrong"``, with ``too_many_lines`` saying what the count means.
    too_many_lines: one line, e.g. "a loop over positions, where the exercise asks for ..."; required
        with ``max_lines``.
    forbidden_calls: modules (a package covers its submodules) whose functions the answer may not
        call: by default (``FORBIDDEN_CALLS``) the grader, whose references are the answers, the
        package's own implementations in ``rnnlab.scratch``, ``rnnlab.modules``, ``rnnlab.train``
        and ``rnnlab.experiments``, and ``torch`` (the answers are numpy code). A call the student's code makes into them makes the answer
        ``"wrong"`` whatever it returns.
    """

    id: str
    notebook: str
    function: str
    points: float
    title: str
    cases: Callable[[np.random.Generator], list]
    reference: Callable[..., Any]
    mistakes: Mapping[str, Callable[..., Any]] = field(default_factory=dict)
    atol: float = 1e-8
    arg_names: tuple[str, ...] = ()
    output_names: tuple[str, ...] = ()
    hint: str = ""
    judge: Callable[[tuple, Any, Any], tuple[bool, str]] | None = None
    report_order: tuple[str, ...] = ()
    max_lines: Callable[[tuple], int] | None = None
    too_many_lines: str = ""
    forbidden_calls: tuple[str, ...] = FORBIDDEN_CALLS

    def __post_init__(self) -> None:
        match = _ID.match(self.id) if isinstance(self.id, str) else None
        if match is None:
            raise ValueError(
                f"Exercise id must look like '01.rnn_step' (two-digit chapter, dot, function name), "
                f"got {self.id!r}")
        if self.function != match["function"]:
            raise ValueError(
                f"Exercise {self.id!r}: function must be the part of the id after the dot, "
                f"expected {match['function']!r}, got {self.function!r}")
        if not isinstance(self.notebook, str) or not self.notebook.endswith(".ipynb") \
                or "/" in self.notebook or "\\" in self.notebook:
            raise ValueError(
                f"Exercise {self.id!r}: notebook must be a file name ending in '.ipynb' "
                f"(no folder), got {self.notebook!r}")
        if isinstance(self.points, bool) or not isinstance(self.points, (int, float)) \
                or not self.points > 0:
            raise ValueError(f"Exercise {self.id!r}: points must be a number > 0, got {self.points!r}")
        if not isinstance(self.title, str) or not self.title.strip() or "\n" in self.title:
            raise ValueError(f"Exercise {self.id!r}: title must be one non-empty line, got {self.title!r}")
        for name in ("cases", "reference"):
            if not callable(getattr(self, name)):
                raise TypeError(f"Exercise {self.id!r}: {name} must be callable, "
                                f"got {type(getattr(self, name)).__name__}")
        if self.judge is not None and not callable(self.judge):
            raise TypeError(f"Exercise {self.id!r}: judge must be callable or None")
        if not isinstance(self.mistakes, Mapping) or not all(
                isinstance(k, str) and callable(v) for k, v in self.mistakes.items()):
            raise TypeError(f"Exercise {self.id!r}: mistakes must map descriptions (str) to functions")
        if not (isinstance(self.atol, (int, float)) and self.atol >= 0):
            raise ValueError(f"Exercise {self.id!r}: atol must be a number >= 0, got {self.atol!r}")
        for name in ("arg_names", "output_names"):
            value = getattr(self, name)
            if not isinstance(value, tuple) or not all(isinstance(v, str) for v in value):
                raise TypeError(f"Exercise {self.id!r}: {name} must be a tuple of str, got {value!r}")
        if self.report_order and (not isinstance(self.report_order, tuple)
                                  or sorted(self.report_order) != sorted(self.output_names)):
            raise ValueError(f"Exercise {self.id!r}: report_order must be a tuple holding each of "
                             f"output_names once, got {self.report_order!r}")
        if not isinstance(self.hint, str) or "\n" in self.hint:
            raise ValueError(f"Exercise {self.id!r}: hint must be one line of text")
        if not isinstance(self.forbidden_calls, tuple) or not all(
                isinstance(m, str) and m and all(p.isidentifier() for p in m.split("."))
                for m in self.forbidden_calls):
            raise TypeError(f"Exercise {self.id!r}: forbidden_calls must be a tuple of module names, "
                            f"got {self.forbidden_calls!r}")
        if self.max_lines is not None and not callable(self.max_lines):
            raise TypeError(f"Exercise {self.id!r}: max_lines must be callable or None")
        if not isinstance(self.too_many_lines, str) or "\n" in self.too_many_lines \
                or (self.max_lines is not None and not self.too_many_lines.strip()):
            raise ValueError(f"Exercise {self.id!r}: too_many_lines must be one line of text, "
                             f"required with max_lines")

    @property
    def chapter(self) -> str:
        """The two-digit chapter number, e.g. ``"01"``."""
        return self.id[:2]

