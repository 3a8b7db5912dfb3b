"""Chapter 7 checks: the references agree with rnnlab.scratch and rnnlab.modules, solutions written
here pass, independently written mutants are rejected with the right diagnosis (operator order
swapped, inclusive against exclusive scan, h_0 dropped, log of a negative coefficient, ...), and
wrong shapes and dtypes are refused."""
from functools import partial

import numpy as np
import pytest

import rnnlab.scratch as rs
from rnnlab.grading import check, exercises
from rnnlab.grading.checks import ch07

from _check_helpers import assert_passes, assert_rejected, allow_torch


@pytest.fixture(autouse=True)
def _torch_built_answers(monkeypatch):
    """The solutions and mutants here are built on torch (independent of the check's numpy
    references) to test how values are diagnosed; tests/test_checks_torch_rule.py tests that a
    student's answer may not call torch."""
    allow_torch(monkeypatch, "07")

torch = pytest.importorskip("torch")

# every mistake is rejected on two different draws of inputs
assert_rejected = partial(assert_rejected, seeds=(1, 2))


def sig(v):
    return 1 / (1 + np.exp(-v))


# ----------------------------------------------------------------------------- solutions
def sol_combine(a1, b1, a2, b2):
    return a1 * a2, b1 * a2 + b2


def sol_hillis_steele(a, b, h0):
    A = a.copy()
    B = b.copy()
    B[0] += a[0] * h0
    d = 1
    while d < len(a):
        newA = A.copy()
        newB = B.copy()
        newA[d:] = A[d:] * A[:-d]
        newB[d:] = B[d:] + A[d:] * B[:-d]
        A, B, d = newA, newB, 2 * d
    return B


def sol_mingru_step(x, h_prev, weight_ih, bias_ih):
    H = h_prev.shape[1]
    z = sig(x @ weight_ih[:H].T + bias_ih[:H])
    n = x @ weight_ih[H:].T + bias_ih[H:]
    return h_prev + (1 - z) * (n - h_prev)


def sol_scan_backward(dh, a, h, h0):
    T = len(a)
    g = np.zeros_like(dh)
    carry = np.zeros_like(h0)
    for t in reversed(range(T)):
        g[t] = dh[t] + carry
        carry = a[t] * g[t]  # what reaches h_{t-1}
    h_prev = np.concatenate([h0[None], h[:-1]])
    return g * h_prev, g, carry


def sol_log_scan(a, b, h0, own_step=True):
    # complex logarithms take care of the signs; log h_t = a*_t + log sum_s exp(log b_s - a*_s),
    # the prefix log-sum-exp by torch (numpy's logaddexp has no complex version)
    a_star = np.cumsum(np.log(a), axis=0)
    if not own_step:  # (a mutant) the prefix sum without step t's own coefficient
        a_star = a_star - np.log(a)
    with np.errstate(divide="ignore", invalid="ignore"):  # log 0 = -inf where h0 is zero
        terms = np.concatenate([np.log(h0.astype(complex))[None], np.log(b.astype(complex)) - a_star])
    acc = torch.logcumsumexp(torch.from_numpy(terms), dim=0).numpy()
    return np.exp(a_star + acc[1:]).real


# ----------------------------------------------------------------------------- references
def test_registered():
    ids = sorted(ex.id for ex in exercises() if ex.id.startswith("07."))
    assert ids == ["07.combine", "07.hillis_steele_scan", "07.log_space_scan", "07.mingru_step",
                   "07.scan_backward"]
    assert {exercises()[i].notebook for i in ids} == {"07_parallel_recurrence.ipynb"}


def test_references_agree_with_rnnlab_scratch():
    rng = np.random.default_rng(0)
    for a, b, h0 in ch07._scan_cases(rng):
        h = rs.scan_sequential(a, b, h0)
        np.testing.assert_allclose(ch07.hillis_steele_scan(a, b, h0), h, rtol=0, atol=1e-12)
        dh = rng.standard_normal(a.shape)
        for ours, theirs in zip(ch07.scan_backward(dh, a, h, h0), rs.scan_backward(dh, a, h, h0)):
            np.testing.assert_allclose(ours, theirs, rtol=0, atol=1e-12)
    for a, b, h0 in ch07._scan_cases(rng, positive=True):
        np.testing.assert_allclose(ch07.log_space_scan(a, b, h0), rs.scan_log(a, b, h0),
                                   rtol=0, atol=1e-12)
        assert (b < 0).any() and (b > 0).any()  # the cases exercise both signs
    for case in ch07._combine_cases(rng):
        np.testing.assert_allclose(ch07.combine(*case), rs.combine(case[:2], case[2:]), atol=0)


def test_mingru_reference_equals_the_module():
    rng = np.random.default_rng(1)
    for x, h_prev, w, b in ch07._mingru_cases(rng):
        H = h_prev.shape[1]
        layer = __import__("rnnlab.modules", fromlist=["MinGRU"]).MinGRU(
            x.shape[1], H, dtype=torch.float64)
        layer.load_state_dict({"weight_ih_l0": torch.from_numpy(w), "bias_ih_l0": torch.from_numpy(b)})
        _, h_n = layer(torch.from_numpy(x)[None], torch.from_numpy(h_prev)[None])
        np.testing.assert_allclose(ch07.mingru_step(x, h_prev, w, b), h_n[0].detach().numpy(),
                                   rtol=0, atol=1e-12)
        np.testing.assert_allclose(ch07.mingru_step(x, h_prev, w, b), rs.mingru_step(x, h_prev, w, b)[0],
                                   rtol=0, atol=1e-12)


# ----------------------------------------------------------------------------- 07.combine
def test_combine_solution_passes_and_order_is_diagnosed():
    assert_passes("07.combine", sol_combine)
    assert_rejected("07.combine", lambda a1, b1, a2, b2: sol_combine(a2, b2, a1, b1),
                    "Likely mistake", "operator order swapped")
    assert_rejected("07.combine", lambda a1, b1, a2, b2: (a1 * a2, b1 + b2), "Likely mistake",
                    "b1 not scaled by a2")
    assert_rejected("07.combine", lambda a1, b1, a2, b2: [a1 * a2], "returned 1 values")


# ----------------------------------------------------------------------------- 07.hillis_steele_scan
def test_hillis_steele_solution_passes():
    assert_passes("07.hillis_steele_scan", sol_hillis_steele)


def test_hillis_steele_mutants_diagnosed():
    def swapped(a, b, h0):  # combines (own pair) o (pair at t - d)
        A, B = a.copy(), b.copy()
        B[0] += a[0] * h0
        d = 1
        while d < len(a):
            A[d:], B[d:] = A[d:] * A[:-d], A[:-d] * B[d:] + B[:-d]
            d *= 2
        return B

    def exclusive(a, b, h0):  # the state before each step
        h = sol_hillis_steele(a, b, h0)
        return np.concatenate([h0[None], h[:-1]])

    assert_rejected("07.hillis_steele_scan", swapped, "Likely mistake", "operator order swapped")
    assert_rejected("07.hillis_steele_scan", exclusive, "Likely mistake", "exclusive scan")
    assert_rejected("07.hillis_steele_scan", lambda a, b, h0: sol_hillis_steele(a, b, 0 * h0),
                    "Likely mistake", "h_0 dropped")
    assert_rejected("07.hillis_steele_scan", lambda a, b, h0: sol_hillis_steele(a, b, h0).astype(np.float32),
                    "float32")


# ----------------------------------------------------------------------------- 07.mingru_step
def test_mingru_solution_passes():
    assert_passes("07.mingru_step", sol_mingru_step)


def test_mingru_mutants_diagnosed():
    def feng(x, h_prev, weight_ih, bias_ih):  # the paper's convention: z is the fraction written
        H = h_prev.shape[1]
        z = sig(x @ weight_ih[:H].T + bias_ih[:H])
        return (1 - z) * h_prev + z * (x @ weight_ih[H:].T + bias_ih[H:])

    def with_tanh(x, h_prev, weight_ih, bias_ih):
        H = h_prev.shape[1]
        z = sig(x @ weight_ih[:H].T + bias_ih[:H])
        return z * h_prev + (1 - z) * np.tanh(x @ weight_ih[H:].T + bias_ih[H:])

    def rows_swapped(x, h_prev, weight_ih, bias_ih):
        H = h_prev.shape[1]
        z = sig(x @ weight_ih[H:].T + bias_ih[H:])
        return z * h_prev + (1 - z) * (x @ weight_ih[:H].T + bias_ih[:H])

    assert_rejected("07.mingru_step", feng, "Likely mistake", "z and 1 - z swapped")
    assert_rejected("07.mingru_step", with_tanh, "Likely mistake", "tanh on the candidate")
    assert_rejected("07.mingru_step", rows_swapped, "Likely mistake", "rows read in the wrong order")
    assert_rejected("07.mingru_step", lambda *c: sol_mingru_step(*c).T, "shape")


# ----------------------------------------------------------------------------- 07.scan_backward
def test_scan_backward_solution_passes():
    assert_passes("07.scan_backward", sol_scan_backward)


def test_scan_backward_mutants_diagnosed():
    def forwards(dh, a, h, h0):
        g = dh.copy()
        for t in range(1, len(a)):
            g[t] = dh[t] + a[t] * g[t - 1]
        h_prev = np.concatenate([h0[None], h[:-1]])
        return g * h_prev, g, a[0] * g[0]

    def same_step(dh, a, h, h0):
        g = dh.copy()
        for t in range(len(a) - 2, -1, -1):
            g[t] = dh[t] + a[t] * g[t + 1]
        h_prev = np.concatenate([h0[None], h[:-1]])
        return g * h_prev, g, a[0] * g[0]

    def h_now(dh, a, h, h0):
        da, db, dh0 = sol_scan_backward(dh, a, h, h0)
        return db * h, db, dh0

    assert_rejected("07.scan_backward", forwards, "Likely mistake", "recursion run forwards")
    assert_rejected("07.scan_backward", same_step, "Likely mistake", "a_t used in place of a_{t+1}")
    assert_rejected("07.scan_backward", h_now, "Likely mistake", "h_t in place of h_{t-1}")
    assert_rejected("07.scan_backward",
                    lambda *c: sol_scan_backward(*c)[:2] + (sol_scan_backward(*c)[1][0],),
                    "Likely mistake", "dh0 without a_1")
    assert_rejected("07.scan_backward", lambda *c: sol_scan_backward(*c)[:2], "returned 2 values")


# ----------------------------------------------------------------------------- 07.log_space_scan
def test_log_scan_solution_passes():
    assert_passes("07.log_space_scan", sol_log_scan)


def test_log_scan_mutants_diagnosed():
    def no_split(a, b, h0):  # the logarithm of b as it is
        a_star = np.concatenate([np.zeros_like(a[:1]), np.cumsum(np.log(a), axis=0)])
        with np.errstate(invalid="ignore", divide="ignore"):
            terms = np.log(np.concatenate([h0[None], b]))
            return np.exp(a_star + np.logaddexp.accumulate(terms - a_star, axis=0))[1:]

    result = assert_rejected("07.log_space_scan", no_split, "NaN", "Likely mistake",
                             "log of a negative coefficient")
    assert result.mistake.startswith("log of a negative coefficient")
    assert_rejected("07.log_space_scan", lambda a, b, h0: sol_log_scan(a, b, h0, own_step=False),
                    "Likely mistake", "shifted by one step")
    assert_rejected("07.log_space_scan", lambda a, b, h0: sol_log_scan(a, b, 0 * h0),
                    "Likely mistake", "h_0 dropped")


def test_log_scan_rejects_the_closed_form_it_replaces():
    def closed_form(a, b, h0):  # h_t = A_t (h0 + sum_s b_s / A_s) with A_t = a_1 ... a_t
        with np.errstate(all="ignore"):
            A = np.cumprod(a, axis=0)
            return A * (h0 + np.cumsum(b / A, axis=0))

    for seed in range(3):
        assert_rejected("07.log_space_scan", closed_form, "case 5 of 5", "Likely mistake",
                        "closed form with cumulative products", seed=seed)
    def plain_cumsum_of_exponentials(a, b, h0):  # log space, but exp(.) summed without logaddexp
        a_star = np.concatenate([np.zeros_like(a[:1]), np.cumsum(np.log(a), axis=0)])
        terms = np.concatenate([h0[None], b])
        h = np.zeros_like(b)
        with np.errstate(all="ignore"):
            for sign in (1.0, -1.0):
                v = np.log(np.maximum(sign * terms, 0.0)) - a_star
                h += sign * np.exp(a_star + np.log(np.cumsum(np.exp(v), axis=0)))[1:]
        return h

    for seed in range(3):  # rejected on the long case (named, when its overflows match)
        result = assert_rejected("07.log_space_scan", plain_cumsum_of_exponentials, "case 5 of 5",
                                 "an overflow", seed=seed)
        assert result.mistake is None or "outside log space" in result.mistake
    # the long case: the reference agrees with the plain loop there
    a, b, h0 = ch07._log_cases(np.random.default_rng(0))[-1]
    np.testing.assert_allclose(ch07.log_space_scan(a, b, h0), rs.scan_sequential(a, b, h0),
                               rtol=1e-10, atol=1e-12)


def test_log_scan_rejects_a_scan_in_ordinary_arithmetic():
    # the exercise asks for Heinsen's form in log space; a loop-free scan over the pairs (a, b)
    # (the chapter's other exercise, written here by recursive doubling against identity padding)
    # has the right values wherever the products of a stay finite, so the long case holds 600
    # steps of a = 4 with b = 0 and h0 = 0 (h stays 0, the products overflow: inf * 0 is NaN)
    def doubling(a, b, h0):
        A, B = a, np.concatenate([(b[0] + a[0] * h0)[None], b[1:]])
        shift = 1
        with np.errstate(all="ignore"):
            while shift < len(a):
                A_before = np.concatenate([np.ones_like(A[:shift]), A[:-shift]])
                B_before = np.concatenate([np.zeros_like(B[:shift]), B[:-shift]])
                A, B = A * A_before, A * B_before + B
                shift *= 2
        return B

    def tiny_instead_of_zero(a, b, h0):  # log space, but log 0 replaced by log 1e-300
        a_star = np.concatenate([np.zeros_like(a[:1]), np.cumsum(np.log(a), axis=0)])
        terms = np.concatenate([h0[None], b])
        h = np.zeros_like(b)
        for sign in (1.0, -1.0):
            v = np.log(np.maximum(sign * terms, 1e-300)) - a_star
            h = h + sign * np.exp(a_star + np.logaddexp.accumulate(v, axis=0))[1:]
        return h

    for seed in range(6):
        assert_rejected("07.log_space_scan", doubling, "case 5 of 5", "NaN", seed=seed)
        assert_rejected("07.log_space_scan", tiny_instead_of_zero, "case 5 of 5", seed=seed)
    # the plain loop agrees with the reference on that column: the case is fair
    a, b, h0 = ch07._log_cases(np.random.default_rng(1))[-1]
    assert (a[:600, :, 1] == 4).all() and (b[:600, :, 1] == 0).all() and (h0[:, 1] == 0).all()
    np.testing.assert_allclose(ch07.log_space_scan(a, b, h0), loop_over_steps(a, b, h0),
                               rtol=1e-10, atol=1e-12)


def test_log_scan_mistake_is_a_real_alternative():
    # the "shifted" mistake of the check is a different recurrence, not a rounding variant
    rng = np.random.default_rng(3)
    a, b, h0 = ch07._scan_cases(rng, positive=True)[0]
    shifted = ch07._log_scan(a, b, h0, shifted=True)
    assert np.abs(shifted - ch07.log_space_scan(a, b, h0)).max() > 1e-3


# ----------------------------------------------------------------------------- loops where vectorised code is asked for
def loop_over_steps(a, b, h0):  # right values, one step at a time
    h, out = h0, []
    for t in range(len(a)):
        h = a[t] * h + b[t]
        out.append(h)
    return np.stack(out)


def test_a_loop_over_steps_is_rejected_though_its_values_are_right():
    for exercise_id in ("07.hillis_steele_scan", "07.log_space_scan"):
        result = assert_rejected(exercise_id, loop_over_steps, "case 5 of 5", "the values are right",
                                 "lines of its own Python code", "a Python loop over the")
        assert result.mistake is None and result.status == "wrong"
    # a loop hidden in a comprehension, in a helper or in the combine function is counted too
    def comprehension(a, b, h0):
        states = [h0]
        [states.append(a[t] * states[-1] + b[t]) for t in range(len(a))]
        return np.stack(states[1:])

    def combine(e1, e2):
        return e1[0] * e2[0], e2[0] * e1[1] + e2[1]

    def reduce_pairs(a, b, h0):
        first = (a[0], b[0] + a[0] * h0)
        out = [first]
        for pair in zip(a[1:], b[1:]):
            out.append(combine(out[-1], pair))
        return np.stack([p[1] for p in out])

    assert_rejected("07.hillis_steele_scan", comprehension, "a Python loop over the positions")
    assert_rejected("07.hillis_steele_scan", reduce_pairs, "a Python loop over the positions")


def test_vectorised_passes_with_helpers_and_checks_pass():
    def combine(A1, B1, A2, B2):  # a helper called once per pass
        return A1 * A2, A2 * B1 + B2

    def chatty_scan(a, b, h0):  # validation, a helper and a pass counter: still a few dozen lines
        assert a.shape == b.shape and h0.shape == a.shape[1:]
        A, B = np.array(a, dtype=float), np.array(b, dtype=float)
        B[0] = B[0] + A[0] * h0
        passes, d, T = 0, 1, len(a)
        while d < T:
            new_A, new_B = combine(A[:-d], B[:-d], A[d:], B[d:])
            A[d:], B[d:] = new_A, new_B
            passes += 1
            d *= 2
        assert passes == int(np.ceil(np.log2(T))) if T > 1 else passes == 0
        return B

    assert_passes("07.hillis_steele_scan", chatty_scan)
    assert_passes("07.hillis_steele_scan", sol_hillis_steele)
    assert_passes("07.log_space_scan", sol_log_scan)
    # the allowance grows with the number of passes, and a loop over 2048 steps is far above it
    a, b, h0 = ch07._hs_cases(np.random.default_rng(0))[-1]
    assert len(a) == 2048 and ch07._vectorised_lines((a, b, h0)) < 2048 // 4


def test_the_line_count_is_only_taken_where_an_exercise_asks_for_it():
    from rnnlab.grading.outcome import call_function

    case = ch07._hs_cases(np.random.default_rng(0))[-1]
    assert call_function(loop_over_steps, case).lines is None
    counted = call_function(loop_over_steps, case, count_lines=True)
    assert counted.lines >= 2 * len(case[0])  # the for line and its body, at every step
    # the reference lives in the package: library code is not the student's, so it counts 0
    assert call_function(ch07.hillis_steele_scan, case, count_lines=True).lines == 0


# ----------------------------------------------------------------------------- what the trace must not miss or blame
def vectorised_scan(a, b, h0):
    A, B = a.copy(), b.copy()
    B[0] = B[0] + A[0] * h0
    d = 1
    while d < len(a):
        A[d:], B[d:] = A[:-d] * A[d:], A[d:] * B[:-d] + B[d:]
        d *= 2
    return B


def test_a_loop_or_a_reference_call_in_a_thread_started_by_the_answer_is_seen():
    import threading

    reference = exercises()["07.hillis_steele_scan"].reference

    def in_thread(work):
        def answer(a, b, h0):
            out = {}
            worker = threading.Thread(target=lambda: out.update(h=work(a, b, h0)))
            worker.start()
            worker.join()
            return out["h"]
        return answer

    hook = threading.gettrace() if hasattr(threading, "gettrace") else None
    assert_rejected("07.hillis_steele_scan", in_thread(loop_over_steps), "the values are right",
                    "a Python loop over the positions")
    assert_rejected("07.hillis_steele_scan", in_thread(reference),
                    "called `rnnlab.grading.checks.ch07.hillis_steele_scan`")
    assert_passes("07.hillis_steele_scan", in_thread(vectorised_scan))
    if hasattr(threading, "gettrace"):
        assert threading.gettrace() is hook  # the hook for new threads is restored


def test_a_library_installed_outside_the_prefix_is_not_the_students_code(tmp_path, monkeypatch):
    """numpy from `pip install --user` (or a site-packages folder on sys.path outside the
    interpreter's prefix) is library code: its lines are not the student's."""
    import importlib
    import site

    user_site = tmp_path / "user-site"
    user_site.mkdir()
    (user_site / "padlib.py").write_text(
        "import numpy as np\n\n\n"
        "def shift(x, d, fill):  # a library function that runs many lines per call\n"
        "    out = np.empty_like(x)\n"
        "    for k in range(40):\n"
        "        pass\n"
        "    out[:d] = fill\n"
        "    out[d:] = x[:-d]\n"
        "    return out\n")
    monkeypatch.setattr(site, "getusersitepackages", lambda: str(user_site))
    monkeypatch.syspath_prepend(str(user_site))
    padlib = importlib.import_module("padlib")

    def padded_scan(a, b, h0):
        A, B = a.copy(), b.copy()
        B[0] = B[0] + A[0] * h0
        d = 1
        while d < len(a):
            A, B = padlib.shift(A, d, 1.0) * A, A * padlib.shift(B, d, 0.0) + B
            d *= 2
        return B

    assert_passes("07.hillis_steele_scan", padded_scan)
    from rnnlab.grading.outcome import student_code

    site_packages = tmp_path / "lib" / "python3.11" / "site-packages"
    monkeypatch.syspath_prepend(str(site_packages))
    is_student = student_code()
    assert not is_student(str(user_site / "padlib.py"))
    assert not is_student(str(site_packages / "scipy" / "special" / "_logsumexp.py"))
    assert is_student(str(tmp_path / "my_helpers.py"))  # a helper beside the notebook


def test_importing_a_module_of_the_package_inside_the_answer_is_not_a_call():
    """The first `import rnnlab.modules` runs that module's own code; the answer called nothing."""
    import inspect
    import subprocess
    import sys
    import textwrap

    script = textwrap.dedent("""
        import sys
        import numpy as np
        from rnnlab.grading import check
        assert "rnnlab.modules" not in sys.modules

    """) + inspect.getsource(vectorised_scan) + textwrap.dedent("""
        def scan(a, b, h0):
            import rnnlab.experiments.ch07  # e.g. for a plot; it imports rnnlab.modules
            return vectorised_scan(a, b, h0)

        def by_module(a, b, h0):
            import torch
            import rnnlab.modules as rm
            return rm.linear_scan(*(torch.from_numpy(v) for v in (a, b, h0))).numpy()

        print("status:", check("07.hillis_steele_scan", scan, seed=0).status)
        print("message:", check("07.hillis_steele_scan", by_module, seed=0).message)
    """)
    run = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    said = dict(line.split(": ", 1) for line in run.stdout.splitlines()
                if line.startswith(("status: ", "message: ")))
    status, message = said["status"], said["message"]
    assert status == "passed", run.stdout
    # the tensors are made first: torch.from_numpy is the first forbidden call it makes
    assert "called `torch.from_numpy`" in message and "<module>" not in message, message


def test_code_run_under_a_module_name_of_the_package_still_calls_the_reference():
    reference = exercises()["07.hillis_steele_scan"].reference

    def disguised(a, b, h0):  # module-level code that claims to be rnnlab's is not an import
        namespace = {"__name__": "rnnlab.scratch.disguise", "ref": reference, "args": (a, b, h0)}
        exec(compile("out = ref(*args)", "<string>", "exec"), namespace)
        return namespace["out"]

    assert_rejected("07.hillis_steele_scan", disguised, "` called `rnnlab.")


def test_under_a_debugger_the_check_says_it_did_not_count_the_lines():
    import sys

    def debugger(frame, event, arg):
        return None

    before = sys.gettrace()
    sys.settrace(debugger)
    try:
        result = check("07.hillis_steele_scan", loop_over_steps, seed=0)
    finally:
        sys.settrace(before)
    assert result.passed and "debugger or profiler is attached" in result.message, result.message
    assert "calls or how many lines it runs: the grader does" in result.message, result.message


def test_a_loop_written_on_one_line_is_rejected_too():
    def one_line(a, b, h0):
        h, out = h0, []
        for t in range(len(a)): h = a[t] * h + b[t]; out.append(h)  # noqa: E701,E702
        return np.stack(out)

    from rnnlab.grading.outcome import call_function

    case = ch07._hs_cases(np.random.default_rng(0))[-1]
    assert call_function(one_line, case, count_lines=True).lines >= len(case[0])  # one per step
    for exercise_id in ("07.hillis_steele_scan", "07.log_space_scan"):
        assert_rejected(exercise_id, one_line, "the values are right", "a Python loop over the")
