"""Helpers shared by the tests of the check modules (tests/test_checks_chNN.py)."""
from rnnlab.grading import check, exercises


def assert_passes(exercise_id, func, seed=1):
    """Check `func` against `exercise_id` and assert it passes with the exercise's full points."""
    result = check(exercise_id, func, seed=seed)
    assert result.passed, result.message
    assert result.score == result.max_score == exercises()[exercise_id].points
    return result


def assert_rejected(exercise_id, func, *words, mistake=None, seed=0, seeds=None):
    """Check `func` against `exercise_id` (on `seed`, or on each of `seeds`) and assert it is
    rejected with score 0, that the message contains every one of `words` and, if given, that the
    named likely mistake contains `mistake`."""
    for s in (seed,) if seeds is None else seeds:
        result = check(exercise_id, func, seed=s)
        assert not result.passed and result.score == 0, result.message
        for word in words:
            assert word in result.message, result.message
        if mistake is not None:
            assert result.mistake is not None and mistake in result.mistake, result.message
    return result


def assert_values_pass(exercise_id, func, seed=1):
    """The values ``func`` returns pass ``exercise_id``: for the references, the package's own
    implementations and torch, which ``check`` refuses as answers (calls into them are forbidden)
    but whose values must agree with the check. Returns the result of ``check``, which names the call."""
    import numpy as np

    from rnnlab.grading.checker import draw_cases, judge
    from rnnlab.grading.outcome import call_function

    ex = exercises()[exercise_id]
    cases = draw_cases(ex, np.random.default_rng(seed))
    result = judge(ex, cases, [call_function(func, case) for case in cases])  # not traced
    assert result.passed, result.message
    refused = check(exercise_id, func, seed=seed)
    assert refused.status == "wrong" and "` called `" in refused.message, refused.message
    return refused


def allow_torch(monkeypatch, chapter):
    """Let ``chapter``'s exercises accept calls into torch for the current test. Several test files
    build their independent solutions and mutants on torch to test how *values* are diagnosed;
    the rule that an answer may not call torch (``Exercise.forbidden_calls``) has tests of its own,
    which do not use this."""
    from dataclasses import replace

    from rnnlab.grading import checks

    for ex in exercises():
        if ex.chapter == chapter:
            allowed = tuple(m for m in ex.forbidden_calls if m != "torch")
            monkeypatch.setitem(checks.EXERCISES, ex.id, replace(ex, forbidden_calls=allowed))
