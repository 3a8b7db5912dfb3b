"""Helpers shared by the tests of the check modules (tests/test_checks_chNN.py)."""
from rnnlab.grading import check


def assert_rejected(exercise_id, func, *words, mistake=None, seed=0):
    """Check `func` against `exercise_id` and assert it is rejected with score 0, that the message
    contains every one of `words` and, if given, that the named likely mistake contains `mistake`."""
    result = check(exercise_id, func, seed=seed)
    assert not result.passed and result.score == 0, result.message
    for word in words:
        assert word in result.message, result.message
    if mistake is not None:
        assert result.mistake is not None and mistake in result.mistake, result.message
    return result
