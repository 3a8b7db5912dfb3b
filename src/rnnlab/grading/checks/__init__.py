"""Check modules, one per chapter (``ch01.py``, ``ch02.py``, ..., owned by the chapter's author),
collected here into :data:`EXERCISES`, the one mapping ``{exercise id: Exercise}`` of the course.

Each module describes the graded functions of its solutions notebook as a plain list::

    from rnnlab.grading.spec import Exercise

    RNN_STEP = Exercise(id="01.rnn_step", notebook="01_recurrent_networks.ipynb",
                        function="rnn_step", points=2, title="One step of a vanilla RNN",
                        cases=..., reference=..., mistakes={...}, hint="...")
    EXERCISES = [RNN_STEP, ...]

A new chapter's module is added to ``_MODULES`` below. Rules: ``cases(rng)`` draws everything from
``rng`` and returns the same number of cases each call; arguments and results are numpy arrays,
int/float/bool/str/None, or tuples/lists/dicts of these.
"""
from __future__ import annotations

from rnnlab.grading.checks import ch01, ch02, ch03, ch04, ch05, ch06, ch06e, ch07
from rnnlab.grading.spec import Exercise

_MODULES = (ch01, ch02, ch03, ch04, ch05, ch06, ch06e, ch07)


def _collect() -> dict[str, Exercise]:
    found: dict[str, Exercise] = {}
    for module in _MODULES:
        for ex in module.EXERCISES:
            if ex.id in found:
                raise ValueError(f"exercise id {ex.id!r} is defined twice ({module.__name__})")
            found[ex.id] = ex
    return dict(sorted(found.items()))


EXERCISES: dict[str, Exercise] = _collect()
