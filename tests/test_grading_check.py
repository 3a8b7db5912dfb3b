"""rnnlab.grading.check and its parts (the exercises' mapping, compare, serialize), on test-only
exercises.

The exercises here are added to the course's mapping with pytest's ``monkeypatch``, which removes
them after each test. Every wrong answer below is an independent wrong implementation (a mutant), never the
exercise's own ``mistakes`` function.
"""
from __future__ import annotations

import io
import re
import struct

import numpy as np
import pytest

import grading_fixture_checks as fx
from rnnlab.grading import CheckResult, Exercise, check, checks, exercises
from rnnlab.grading.compare import compare, compare_outputs, same
from rnnlab.grading.serialize import Unsupported, WireError, decode, encode, pack, unpack


def add(monkeypatch, *extra: Exercise) -> None:
    """Make ``extra`` known to ``check`` for the current test only."""
    for ex in extra:
        monkeypatch.setitem(checks.EXERCISES, ex.id, ex)


@pytest.fixture(autouse=True)
def fixture_exercises(monkeypatch):
    add(monkeypatch, *fx.EXERCISES)


# ----------------------------------------------------------------------------- verdicts

def test_reference_passes_with_full_score_and_a_stable_message():
    r = check("99.add_arrays", lambda a, b: a + b)
    assert isinstance(r, CheckResult)
    assert (r.passed, r.status, r.score, r.max_score) == (True, "passed", 2.0, 2.0)
    assert r.exercise == "99.add_arrays"
    assert str(r) == repr(r) == "✓ 99.add_arrays passed (2/2): 4 random cases matched the reference"
    assert r.message == str(r)
    # the same text on every call and in every rich format (nbval compares them all)
    again = check("99.add_arrays", lambda a, b: np.add(a, b))
    assert repr(again) == repr(r)
    assert again._repr_html_() == r._repr_html_() and again._repr_markdown_() == r._repr_markdown_()
    assert "0x" not in r._repr_html_() and "passed" in r._repr_markdown_()


def test_wrong_values_name_the_output_the_place_and_the_likely_mistake():
    r = check("99.add_arrays", lambda a, b: a + (-b), seed=1)  # a mutant equal to a - b
    assert (r.passed, r.status, r.score) == (False, "wrong", 0.0)
    assert "differs from the reference: max abs error" in r.message
    assert re.search(r"at index \(\d+, \d+\)", r.message)
    assert "Likely mistake: subtracted b from a instead of adding" in r.message
    assert r.mistake == "subtracted b from a instead of adding"


def test_wrong_values_that_match_no_mistake_get_the_hint():
    r = check("99.add_arrays", lambda a, b: a * b, seed=2)
    assert r.status == "wrong" and r.mistake is None
    assert r.message.endswith("Hint: Add the arrays elementwise: a + b.")


def test_named_outputs_and_a_mistake_in_the_second_output():
    r = check("99.scale", lambda x, f: (x * f, float(np.sum(x))), seed=3)
    assert r.status == "wrong"
    assert "output `total` differs from the reference" in r.message
    assert "Likely mistake: the total was taken before scaling" in r.message


@pytest.mark.parametrize("mutant, expected", [
    (lambda a, b: (a + b).astype(np.float32), "dtype float32; expected float64"),
    (lambda a, b: np.rint(a + b).astype(np.int64), "dtype int64; expected float64"),
    (lambda a, b: (a + b).T, "has shape"),
    (lambda a, b: (a + b).ravel(), "has shape"),
    (lambda a, b: (a + b).tolist(), "is a list"),
    (lambda a, b: (a + b, a), "is a tuple of 2 values"),
    (lambda a, b: None, "is None; expected a numpy array"),
])
def test_wrong_type_shape_and_dtype_are_rejected_with_a_reason(mutant, expected):
    r = check("99.add_arrays", mutant, seed=4)
    assert r.status == "wrong" and not r.passed and r.score == 0
    assert expected in r.message


def test_wrong_tuple_length_and_float32_scalar():
    r = check("99.scale", lambda x, f: (x * f,), seed=5)
    assert r.status == "wrong" and "returned 1 values; expected 2 (scaled, total)" in r.message
    r = check("99.scale", lambda x, f: (x * f, np.float32((x * f).sum())), seed=5)
    assert r.status == "wrong" and "output `total` has dtype float32" in r.message


class Tensor:  # stands in for torch.Tensor without importing torch (seconds on a busy machine)
    __module__ = "torch"


def test_torch_tensor_answer_is_refused_with_a_tip():
    r = check("99.add_arrays", lambda a, b: Tensor(), seed=6)
    assert r.status == "wrong" and "torch.Tensor" in r.message and ".numpy()" in r.message


def test_stub_is_not_attempted():
    def add_arrays(a, b):
        raise NotImplementedError("one operator is enough")

    r = check("99.add_arrays", add_arrays)
    assert (r.passed, r.status, r.score, r.max_score) == (False, "not attempted", 0.0, 2.0)
    assert "NotImplementedError" in r.message


def test_an_exception_reports_type_message_and_the_students_line():
    def add_arrays(a, b):
        c = a @ b  # shapes (n, m) @ (n, m) never align: never square
        return c

    r = check("99.add_arrays", add_arrays, seed=7)
    assert r.status == "error" and r.score == 0
    assert "raised ValueError" in r.message
    assert "`c = a @ b" in r.message and "line" in r.message
    assert "Traceback" not in r.message and len(r.message) < 800


def test_memory_error_gets_its_own_status():
    def add_arrays(a, b):
        raise MemoryError("Unable to allocate 80.0 GiB")

    assert check("99.add_arrays", add_arrays).status == "memory"


def test_missing_function():
    r = check("99.add_arrays", None)
    assert (r.status, r.score, r.passed) == ("missing", 0.0, False)
    assert check("99.add_arrays", 3).status == "missing"


def test_unknown_id_raises_key_error_listing_valid_ids():
    with pytest.raises(KeyError) as info:
        check("99.nope", lambda a, b: a + b)
    assert "99.add_arrays" in str(info.value) and "99.scale" in str(info.value)


def test_mutating_an_input_is_caught_and_cannot_fool_the_reference():
    def add_arrays(a, b):
        a += b  # right values, but the caller's array is changed
        return a

    r = check("99.add_arrays", add_arrays, seed=8)
    assert r.status == "wrong" and "changed its argument `a` in place" in r.message

    def spoil(a, b):  # mutates its inputs after computing: the reference must still see clean ones
        out = a + b
        a[...] = 0
        b[...] = 0
        return out

    assert check("99.add_arrays", spoil).status == "wrong"


def test_an_exercise_that_updates_in_place_compares_arguments_after_the_call(monkeypatch):
    def sgd(params, grads, lr):
        for k in params:
            params[k] -= lr * grads[k]

    ex = Exercise(id="98.sgd", notebook="98_x.ipynb", function="sgd", points=1, title="SGD step",
                  cases=lambda rng: [({"w": rng.standard_normal(3)}, {"w": rng.standard_normal(3)},
                                      0.1) for _ in range(3)],
                  reference=sgd, arg_names=("params", "grads", "lr"))
    add(monkeypatch, ex)
    assert check("98.sgd", sgd).passed

    def wrong_sign(params, grads, lr):
        for k in params:
            params[k] += lr * grads[k]

    r = check("98.sgd", wrong_sign)
    assert r.status == "wrong" and "argument `params['w']`" in r.message

    def not_in_place(params, grads, lr):
        return {k: params[k] - lr * grads[k] for k in params}

    r = check("98.sgd", not_in_place)
    assert r.status == "wrong"


def test_custom_judge_is_used_and_its_message_shown(monkeypatch):
    def judge(case, got, expected):
        ok = isinstance(got, np.ndarray) and np.allclose(np.sort(got), np.sort(expected))
        return ok, "" if ok else "the values are not a permutation of the reference"

    ex = Exercise(id="98.shuffle", notebook="98_x.ipynb", function="shuffle", points=1,
                  title="Any order", cases=lambda rng: [(rng.standard_normal(5),)],
                  reference=lambda x: x.copy(), judge=judge)
    add(monkeypatch, ex)
    assert check("98.shuffle", lambda x: x[::-1].copy()).passed
    r = check("98.shuffle", lambda x: x + 1)
    assert r.status == "wrong" and "not a permutation" in r.message


def test_cases_are_fresh_unless_seeded():
    seen = []

    def spy(a, b):
        seen.append(a.copy())
        return a + b

    check("99.add_arrays", spy)
    check("99.add_arrays", spy)
    assert not np.array_equal(seen[0], seen[4]) if seen[0].shape == seen[4].shape else True
    seen.clear()
    check("99.add_arrays", spy, seed=11)
    check("99.add_arrays", spy, seed=11)
    assert all(np.array_equal(x, y) for x, y in zip(seen[:4], seen[4:]))


# ----------------------------------------------------------------------------- spec and mapping

def test_exercise_validation():
    good = dict(id="98.f", notebook="98_x.ipynb", function="f", points=1, title="t",
                cases=lambda rng: [(1,)], reference=lambda x: x)
    Exercise(**good)
    for bad in ({"id": "1.f"}, {"function": "g"}, {"notebook": "x.py"}, {"points": 0},
                {"title": ""}, {"hint": "two\nlines"}):
        with pytest.raises((ValueError, TypeError)):
            Exercise(**{**good, **bad})
    with pytest.raises(TypeError):
        Exercise(**{**good, "reference": 3})


def test_exercises_is_a_snapshot_sorted_by_id_and_looked_up_by_id():
    exs = exercises()
    assert "99.add_arrays" in exs and exs["99.add_arrays"] is fx.ADD
    course = [ex for ex in exs if not ex.id.startswith("99.")]
    assert [ex.id for ex in course] == sorted(ex.id for ex in course) and len(course) > 20
    assert exs[0] is next(iter(exs)) and all(exs[ex.id] is ex for ex in exs)
    assert fx.ADD in exs and "00.none" not in exs
    with pytest.raises(KeyError, match="valid ids: 01."):
        exs["00.none"]
    assert len(exercises()) == len(exs)  # a snapshot: callers cannot change the course's exercises
    with pytest.raises(KeyError, match="valid ids: 01."):
        check("00.none", lambda: None)


# ----------------------------------------------------------------------------- compare

def test_compare_messages():
    assert compare(np.ones(3), np.ones(3) + 1e-12) is None
    msg = compare(np.zeros((2, 3)), np.ones((2, 3)), name="h")
    assert msg.startswith("output `h` differs from the reference: max abs error 1 at index (0, 0)")
    assert "NaN" in compare(np.array([np.nan, 1.0]), np.array([0.0, 1.0]))
    assert compare(np.array([np.nan]), np.array([np.nan])) is None
    assert "transpose" in compare(np.ones((2, 3)), np.ones((3, 2)))
    assert compare({"a": 1.0}, {"a": 1.0, "b": 2.0}).endswith("missing keys 'b'")
    assert compare(3, 3) is None and "expected 4" in compare(3, 4)
    assert compare(1.0, np.float64(1.0 + 1e-12)) is None
    assert compare_outputs((1.0, np.ones(2)), (1.0, np.zeros(2)), output_names=("loss", "dx")) \
        .startswith("output `dx`")


def test_same_is_exact():
    assert same(np.array([np.nan, 1.0]), np.array([np.nan, 1.0]))
    assert not same(np.ones(2), np.ones(2, dtype=np.float32))
    assert not same((1, 2), [1, 2]) and same({"a": [1]}, {"a": [1]})


# ----------------------------------------------------------------------------- serialize

def test_serialize_roundtrip_of_every_allowed_type():
    value = (np.arange(6.0).reshape(2, 3), [1, 2.5, True, None, "s"], {"k": np.int64(3), 2: -1},
             float("nan"), np.array(["a", "bc"]), np.ones(2, dtype=bool))
    tree, arrays = encode(value)
    header, back = unpack(pack({"tree": tree}, arrays))
    out = decode(header["tree"], back)
    assert same(out[0], value[0]) and out[1] == value[1] and np.isnan(out[3])
    assert out[2] == {"k": 3, 2: -1} and isinstance(out[2]["k"], np.integer)
    assert same(out[4], value[4]) and same(out[5], value[5])


def test_serialize_refuses_objects_and_pickle():
    with pytest.raises(TypeError):
        encode(object())
    with pytest.raises(TypeError):
        encode(np.array([object()], dtype=object))
    tree, _ = encode([lambda: 1], strict=False)
    assert decode(tree, []) == [Unsupported("function")]
    # a pickled object array smuggled in an npy blob is refused before numpy reads it
    buf = io.BytesIO()
    np.save(buf, np.array([{"x": 1}], dtype=object), allow_pickle=True)
    blob = buf.getvalue()
    head = b'{"tree": {"t": "nd", "i": 0}}'
    forged = struct.pack("<I", len(head)) + head + struct.pack("<I", 1) + struct.pack("<Q", len(blob)) + blob
    with pytest.raises(WireError):
        unpack(forged)


def test_serialize_refuses_forged_lengths_and_trees():
    buf = io.BytesIO()
    np.save(buf, np.zeros(4), allow_pickle=False)
    blob = buf.getvalue()[:-8]  # header claims 4 floats, 3 follow
    head = b"{}"
    forged = struct.pack("<I", len(head)) + head + struct.pack("<I", 1) + struct.pack("<Q", len(blob)) + blob
    with pytest.raises(WireError):
        unpack(forged)
    for tree in ([1, 2], {"t": "nd", "i": 5}, {"t": "exec", "v": "x"}, {"t": "dict", "k": [[1]], "v": [1]}):
        with pytest.raises(WireError):
            decode(tree, [])
    with pytest.raises(WireError):
        unpack(b"\x00\x00")


def test_check_prints_its_verdict_in_a_plain_script(tmp_path):
    """Outside IPython nothing displays the returned result, so check() prints it."""
    import subprocess
    import sys
    from pathlib import Path

    import rnnlab

    script = tmp_path / "work.py"
    script.write_text("import numpy as np\nimport rnnlab.grading\n"
                      "def rnn_step(x, h_prev, W_xh, W_hh, b):\n    return np.zeros(1)\n"
                      "rnnlab.grading.check('01.rnn_step', rnn_step)\n")
    src = str(Path(rnnlab.__file__).resolve().parents[1])
    out = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=120,
                         env={"PYTHONPATH": src, "PATH": "/usr/bin:/bin"})
    assert out.returncode == 0, out.stderr
    assert "✗ 01.rnn_step error (0/2)" in out.stdout


def test_summary_tells_a_wrong_type_from_a_wrong_value():
    from rnnlab.grading.compare import compare_outputs

    expected = (np.zeros(3), np.ones(2), np.ones(2))
    got = ([0.0, 0.0, 0.0], [1.0, 1.0], np.zeros(2))
    msg = compare_outputs(got, expected, output_names=("p", "index", "z"), summary=True)
    assert msg.startswith("output `p` is a list")
    assert "index is not of the expected type either" in msg and "z differs too" in msg
    value = compare_outputs(([0.0] * 3, 4, np.zeros(2)), expected[:1] + (3, np.ones(2)),
                            output_names=("p", "index", "z"), summary=True)
    assert "index, z differ too" in value and "not of the expected type" not in value


def test_a_torch_scalar_is_told_to_use_item():
    torch = pytest.importorskip("torch")
    from rnnlab.grading.compare import compare

    from rnnlab.grading.serialize import roundtrip  # what the judge sees of a returned tensor

    msg = compare(roundtrip(torch.tensor(3), strict=False), 3)
    assert "is a torch.Tensor; expected an int" in msg and ".item()" in msg



# ----------------------------------------------------------------------------- counting lines

def test_line_counter_counts_only_student_lines_and_restores_the_previous_tracer():
    import sys

    from rnnlab.grading.outcome import CallTrace

    def loop(n):
        total = 0
        for i in range(n):
            total += i
        return total

    def library_only(n):
        return int(np.arange(n).sum())  # numpy's code is not the student's

    seen = []

    def outer_tracer(frame, event, arg):
        seen.append(event)
        return None

    before = sys.gettrace()
    sys.settrace(outer_tracer)
    try:
        with CallTrace(count_lines=True) as small:
            loop(10)
        with CallTrace(count_lines=True) as large:
            loop(100)
        assert sys.gettrace() is outer_tracer
    finally:
        sys.settrace(before)
    assert 20 <= small.lines < 40 and 200 <= large.lines < 220
    with CallTrace(count_lines=True) as lib:
        library_only(1000)
    assert lib.lines == 1
    with CallTrace(count_lines=True, is_student=lambda filename: False) as nobody:
        loop(100)
    assert nobody.lines == 0
    # a counter left by an exception restores the tracer too
    with pytest.raises(ZeroDivisionError):
        with CallTrace(count_lines=True):
            1 / 0
    assert sys.gettrace() is before


def test_max_lines_needs_its_explanation():
    base = fx.EXERCISES[0]
    fields = {name: getattr(base, name) for name in base.__dataclass_fields__}
    with pytest.raises(ValueError, match="too_many_lines"):
        Exercise(**{**fields, "max_lines": lambda case: 10})
    with pytest.raises(TypeError, match="max_lines"):
        Exercise(**{**fields, "max_lines": 10, "too_many_lines": "a loop"})
    Exercise(**{**fields, "max_lines": lambda case: 10, "too_many_lines": "a loop over the rows"})


# ----------------------------------------------------------------------------- forbidden calls

def test_an_answer_that_calls_the_reference_or_the_package_earns_nothing():
    import types

    import rnnlab.scratch as rs
    from rnnlab.grading.checks import ch03

    def by_package(x, h_prev, c_prev, weight_ih, weight_hh, bias_ih, bias_hh):
        h, c, _ = rs.lstm_step(x, h_prev, c_prev, weight_ih, weight_hh, bias_ih, bias_hh)
        return h, c

    reference = exercises()["03.lstm_step"].reference
    rewrapped = types.FunctionType(ch03.lstm_step.__code__, {**vars(ch03), "__name__": "__main__"})
    for func, whose, name in (
            (ch03.lstm_step, "the grader's reference", "rnnlab.grading.checks.ch03.lstm_step"),
            (lambda *a: reference(*a), "the grader's reference", "rnnlab.grading.checks.ch03"),
            (rewrapped, "the grader's reference", "rnnlab.grading.checks.ch03.lstm_step"),
            (by_package, "the package's own implementation", "rnnlab.scratch.")):
        r = check("03.lstm_step", func, seed=0)
        assert (r.status, r.score) == ("wrong", 0.0), r.message
        assert whose in r.message and f"called `{name}" in r.message, r.message
    # numpy, and the student's own helpers, are not forbidden
    assert check("03.lstm_step", _own_lstm_step, seed=0).passed


def _own_lstm_step(x, h_prev, c_prev, weight_ih, weight_hh, bias_ih, bias_hh):
    def sigmoid(v):
        return 1 / (1 + np.exp(-v))

    i, f, g, o = np.split(x @ weight_ih.T + bias_ih + h_prev @ weight_hh.T + bias_hh, 4, axis=1)
    c = sigmoid(f) * c_prev + sigmoid(i) * np.tanh(g)
    return sigmoid(o) * np.tanh(c), c


def test_a_debugger_keeps_working_inside_check():
    import sys

    from rnnlab.grading.checks import ch03

    events = []

    def debugger(frame, event, arg):
        if frame.f_code is ch03.lstm_step.__code__:
            events.append(event)
        return debugger

    before = sys.gettrace()
    sys.settrace(debugger)
    try:
        result = check("03.lstm_step", ch03.lstm_step, seed=0)
    finally:
        sys.settrace(before)
    assert events, "the debugger's trace function was replaced during the call"
    # with a debugger attached check() does not trace (the grader still does), and says so: a
    # student must not read "passed" as the grader's verdict on the calls
    assert result.passed, result.message
    assert result.message.endswith("; a debugger or profiler is attached, so this check did not see what "
                                   "`lstm_step` calls: the grader does"), result.message
    assert sys.gettrace() is before
    assert "debugger" not in check("03.lstm_step", _own_lstm_step, seed=0).message


def test_forbidden_calls_must_be_module_names():
    base = fx.EXERCISES[0]
    fields = {name: getattr(base, name) for name in base.__dataclass_fields__}
    assert base.forbidden_calls == ("rnnlab.grading", "rnnlab.scratch", "rnnlab.modules", "rnnlab.train",
                                    "rnnlab.experiments", "torch")
    for bad in (["rnnlab.scratch"], ("rnnlab..scratch",), ("",), (3,)):
        with pytest.raises(TypeError, match="forbidden_calls"):
            Exercise(**{**fields, "forbidden_calls": bad})
    allowed = Exercise(**{**fields, "id": "99.add_arrays", "forbidden_calls": ()})
    assert allowed.forbidden_calls == ()


def test_a_call_into_the_grader_that_is_not_a_reference_is_not_called_one():
    from rnnlab.grading.compare import same

    def with_grader_helper(x, h_prev, c_prev, weight_ih, weight_hh, bias_ih, bias_hh):
        assert same(x, x)  # the grader's comparison, not an answer
        return _own_lstm_step(x, h_prev, c_prev, weight_ih, weight_hh, bias_ih, bias_hh)

    r = check("03.lstm_step", with_grader_helper, seed=0)
    assert (r.status, r.score) == ("wrong", 0.0), r.message
    assert "called `rnnlab.grading.compare.same`, the grader's own code:" in r.message, r.message
    assert "reference" not in r.message, r.message


def test_an_alarm_that_ends_the_traced_call_restores_both_tracers():
    """The grader's time budget raises a BaseException from a signal handler inside the call."""
    import signal
    import sys
    import threading

    from rnnlab.grading.outcome import CallTrace

    class Budget(BaseException):
        pass

    def ring(signum, frame):
        raise Budget()

    def endless():
        signal.setitimer(signal.ITIMER_REAL, 0.05)
        while True:
            pass

    old = signal.signal(signal.SIGALRM, ring)
    before, hook = sys.gettrace(), threading.gettrace()
    try:
        with pytest.raises(Budget):
            with CallTrace(("rnnlab.scratch",), count_lines=True) as trace:
                endless()
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)
    assert sys.gettrace() is before and threading.gettrace() is hook
    assert trace.lines > 10 and trace.called is None


def test_only_the_students_own_calls_are_forbidden_not_those_rnnlab_makes_inside():
    """A forbidden function is the student's call when the student's code reaches it, directly or
    through other libraries (functools, numpy); not when a part of rnnlab the answer may use calls
    it (here rnnlab.data.parity calling rnnlab.data.synthetic.as_rng, made "forbidden" for the
    test)."""
    import functools

    from rnnlab.data import parity, synthetic
    from rnnlab.grading.outcome import CallTrace

    forbidden = ("rnnlab.data.synthetic",)

    def through_allowed():
        return parity.parity_task(2, 3, rng=0)

    def direct():
        return synthetic.as_rng(0)

    def through_numpy():
        return np.vectorize(lambda seed: synthetic.as_rng(int(seed)).integers(9), otypes=[int])([0, 1])

    for func, expected in ((through_allowed, None),
                           (direct, "rnnlab.data.synthetic.as_rng"),
                           (functools.partial(synthetic.as_rng, 0), "rnnlab.data.synthetic.as_rng"),
                           (through_numpy, "rnnlab.data.synthetic.as_rng")):
        with CallTrace(forbidden) as trace:
            func()
        assert trace.called == expected, (func, trace.called)


def test_the_package_decoder_is_not_an_answer_to_the_decoding_exercises(monkeypatch):
    import torch

    from _check_helpers import allow_torch

    allow_torch(monkeypatch, "06")  # the tensors it makes are torch calls too: this is about rnnlab

    from rnnlab.train import decode

    def by_package(logits, temperature, u):
        out = decode.sample_with_temperature(torch.from_numpy(logits), temperature, torch.from_numpy(u))
        return out.numpy()

    r = check("06.sample_with_temperature", by_package, seed=0)
    assert r.status == "wrong" and "called `rnnlab.train.decode.sample_with_temperature`" in r.message, \
        r.message


def test_a_value_nested_too_deeply_or_too_large_to_send_is_wrong_not_a_crash():
    """The child encodes what it cannot send as a placeholder; the placeholder must itself be a
    tree the grader decodes (a nesting or size just past the limits was a WireError: `crashed`)."""
    def deep(a, b):
        x = [a + b]
        for _ in range(100):
            x = [x]
        return x

    def long_list(a, b):
        return [0.5] * 300_000

    for mutant, says in ((deep, "nested too deeply"), (long_list, "too large")):
        tree, arrays = encode(mutant(np.ones(2), np.ones(2)), strict=False)
        assert isinstance(decode(tree, arrays), Unsupported)  # one placeholder, decodable
        r = check("99.add_arrays", mutant)
        assert r.status == "wrong" and r.score == 0, r.message
        assert says in r.message, r.message
    with pytest.raises(TypeError):
        encode(deep(np.ones(2), np.ones(2)))


def test_an_int_beyond_int64_is_wrong_not_an_error_of_the_grader():
    """A returned Python int that no numpy integer holds (10**400: float() overflows in the
    comparison; 10**5000: past JSON's digit limit) is a wrong type, never 'tell the course staff';
    a forged tree holding one is refused."""
    for big in (10**400, -10**5000, 2**63):
        r = check("99.scale", lambda x, factor, big=big: (x * factor, big))
        assert r.status == "wrong" and r.score == 0, r.message
        assert "int64" in r.message, r.message
    assert decode(*encode(2**63 - 1)) == 2**63 - 1 and decode(*encode(-2**63)) == -2**63
    with pytest.raises(WireError):
        decode({"t": "list", "v": [10**400]}, [])
    with pytest.raises(TypeError):
        encode(2**64)


def test_an_infinite_scalar_reference_matches_only_itself():
    inf = float("inf")
    for got in (0.0, 1e308, -inf, float("nan")):
        assert compare(got, inf) is not None, got
        assert compare(complex(got), complex(inf, 0)) is not None, got
    assert compare(inf, inf) is None and compare(-inf, -inf) is None
    assert compare(complex(inf, 0), complex(inf, 0)) is None
    assert compare(1.0 + 1e-12, 1.0) is None  # finite values keep their tolerance
