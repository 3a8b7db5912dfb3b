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
