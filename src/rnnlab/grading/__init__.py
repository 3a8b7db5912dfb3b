"""Graded exercises: the checks that exercise notebooks call, and the instructor's grader.

- :func:`exercises` -- the course's exercises sorted by id, also looked up by id, collected from
  the chapters' check modules (:mod:`rnnlab.grading.checks`; the record is
  :class:`rnnlab.grading.spec.Exercise`).
- :func:`check` -- ``check("01.rnn_step", rnn_step)`` judges a student's function on fresh random
  cases and returns a :class:`CheckResult` (``.passed``, ``.score``, ``.max_score``, ``.message``,
  ``.status``); a wrong answer never raises, an unknown id raises ``KeyError``.
- :mod:`rnnlab.grading.generate` -- ``exercises/`` from ``solutions/`` (``rnnlab exercises build``).
- :mod:`rnnlab.grading.grade` -- ``rnnlab grade SUBMISSIONS --out DIR``: every submission in its own
  sandboxed process (:mod:`~rnnlab.grading.sandbox`), scored here on inputs the submission never
  saw; which file is whose is :mod:`~rnnlab.grading.submissions`' job, what is written into ``DIR``
  :mod:`~rnnlab.grading.gradebook`'s.
"""
from __future__ import annotations

from rnnlab.grading.checker import CheckResult, check, exercises, judge
from rnnlab.grading.spec import Exercise

__all__ = ["Exercise", "exercises", "check", "CheckResult", "judge"]
