"""The harness that runs one submission, inside the sandbox (``python -I -B _child.py JOB FD``).

It is trusted code running hostile code in the same process, so it trusts nothing afterwards: it
reads the job (the notebook's code cells, the exercises' function names and the cases) *before* any
student code runs, applies the resource limits, runs the cells in an IPython ``InteractiveShell``
(magics and ``display`` behave as in Jupyter; shell escapes such as ``!cmd``, ``%pip`` or ``%%bash``
are refused and reported, never run), then calls each graded function on the cases under a
``CallTrace`` (calls into forbidden modules; lines, where vectorised code is asked for) and streams
what came back to the grader over the result pipe FD, one frame per exercise
(``rnnlab.grading.serialize``: JSON and ``np.save(allow_pickle=False)``, never pickle). Whatever
the student's code does to this process - patching ``rnnlab.grading.check``, printing "passed",
writing forged frames, exiting early - the grader decides the score in its own process by comparing
these values with its reference.
"""
import time as _time

_STARTED = _time.monotonic()

import difflib  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import resource  # noqa: E402
import signal  # noqa: E402
import struct  # noqa: E402
import sys  # noqa: E402


def _read_job(path):
    with open(path, "rb") as f:
        raw = f.read()
    (head_len,) = struct.unpack("<I", raw[:4])
    paths = json.loads(raw[4:4 + head_len].decode("ascii")).get("sys_path", [])
    # first, in the grader's order: the child must import the grader's rnnlab (the same wire
    # format and tracing), not another copy that site-packages (an editable install) also holds
    for p in reversed(paths):
        if p in sys.path:
            sys.path.remove(p)
        sys.path.insert(0, p)
    from rnnlab.grading import serialize  # importable only now: the grader chose the path

    return serialize.unpack(raw)


def _apply_limits(limits):
    """The job's resource limits (never above a hard limit already set)."""
    cpu = int(limits.get("cpu_seconds") or 0)
    for which, soft, hard in (
            (resource.RLIMIT_CORE, 0, 0),
            (resource.RLIMIT_AS, limits.get("memory_bytes"), limits.get("memory_bytes")),
            (resource.RLIMIT_CPU, cpu, cpu + 2),
            (resource.RLIMIT_FSIZE, limits.get("file_bytes"), limits.get("file_bytes")),
            (resource.RLIMIT_NOFILE, limits.get("open_files"), limits.get("open_files")),
            (resource.RLIMIT_NPROC, limits.get("processes"), limits.get("processes"))):
        if which != resource.RLIMIT_CORE and not soft:
            continue
        try:
            current = resource.getrlimit(which)[1]
            if current != resource.RLIM_INFINITY:
                hard, soft = min(int(hard), current), min(int(soft), current)
            resource.setrlimit(which, (int(soft), int(hard)))
        except (ValueError, OSError):
            pass


def _drop_privileges(uid):
    """As root under bwrap: become an unused uid before any student code runs (no capabilities
    left, the process limit counts only this child's processes). A failure ends the run."""
    if uid is not None and os.getuid() == 0:
        os.setgroups([])
        os.setresgid(uid, uid, uid)
        os.setresuid(uid, uid, uid)


def _die_with_parent():
    try:
        import ctypes  # only the process mode needs it

        ctypes.CDLL(None).prctl(1, int(signal.SIGKILL), 0, 0, 0)  # PR_SET_PDEATHSIG
    except Exception:
        pass


class _Skipped:
    """What ``rnnlab.grading.check`` returns while grading: the grader runs its own checks."""

    passed = False
    score = 0.0
    status = "skipped"
    message = "check skipped while grading (the grader judges your functions itself)"

    def __repr__(self):
        return self.message


def _skipped_check(*args, **kwargs):
    return _Skipped()


class CellTimeBudget(BaseException):
    """Raised by the alarm when the notebook's cells have used their share of the time limit."""


class CallTimeBudget(BaseException):
    """Raised by the alarm when a graded function ran past its share of the time limit."""


_ALARM = [None]


def _on_alarm(signum, frame):
    kind = _ALARM[0]
    if kind is not None:
        raise kind(f"the alarm of the grader's time budget")


def _arm(seconds, kind):
    _ALARM[0] = kind
    signal.setitimer(signal.ITIMER_REAL, max(0.01, seconds))


def _disarm():
    signal.setitimer(signal.ITIMER_REAL, 0)
    _ALARM[0] = None


def _write_helpers(files):
    """The student's .py files beside the notebook go into the working folder, importable."""
    here = os.getcwd()
    for name, text in (files or {}).items():
        if not (isinstance(name, str) and name.endswith(".py") and os.path.basename(name) == name
                and not name.startswith(".")):
            continue
        try:
            with open(os.path.join(here, name), "w", encoding="utf-8") as f:
                f.write(text)
        except OSError:
            pass
    if here not in sys.path:
        sys.path.append(here)


# Shell escapes and what runs other programs: refused (reported to the grader), never run.
REFUSED_LINE = ("system", "sx", "sc", "pip", "conda", "mamba", "micromamba", "uv", "alias",
                "unalias", "rehashx", "edit", "ed", "pastebin", "killbgscripts")
REFUSED_CELL = ("!", "bash", "sh", "script", "system", "sx", "perl", "ruby", "python", "python2",
                "python3", "pypy")


def _make_shell(cell_index, send):
    """An IPython shell whose cells are named ``<cell i>`` and whose shell escapes are refused."""
    # imported here, after _read_job has set the import path the grader chose
    from IPython.core.interactiveshell import InteractiveShell
    from traitlets.config import Config

    class _Shell(InteractiveShell):
        """IPython without a terminal or a kernel: figures are shown inline, nothing to start."""

        def enable_gui(self, gui=None):
            pass

    config = Config()
    config.HistoryManager.enabled = False
    config.InteractiveShell.colors = "nocolor"
    config.InteractiveShell.xmode = "Plain"
    shell = _Shell.instance(config=config)
    shell.compile.get_code_name = lambda raw, code, number: f"<cell {cell_index[0]}>"

    def refuse(what):
        what = " ".join(str(what).split())[:100]
        send({"type": "refused", "index": cell_index[0], "command": what})
        print(f"[grader] not run: {what} (the grader runs no shell commands)")

    shell.system = shell.system_raw = shell.system_piped = lambda cmd: refuse(f"!{cmd}")
    shell.getoutput = lambda cmd, split=True, depth=0: refuse(f"!!{cmd}") or []
    magics = shell.magics_manager.magics
    for name in REFUSED_LINE:
        magics["line"][name] = lambda line="", _n=name: refuse(f"%{_n} {line}")
    for name in REFUSED_CELL:
        magics["cell"][name] = lambda line="", cell="", _n=name: refuse(f"%%{_n} {line}")
    return shell


def main(argv):
    job_path, fd = argv[1], int(argv[2])
    if os.environ.get("RNNLAB_GRADING_PROCESS") == "1":
        _die_with_parent()
    header, arrays = _read_job(job_path)

    # this file runs as a script (python -I): rnnlab is importable once _read_job set the path
    import rnnlab.grading
    from rnnlab.grading import serialize
    from rnnlab.grading.compare import same
    from rnnlab.grading.outcome import CallTrace, error_info

    out = os.fdopen(fd, "wb", buffering=0)
    write_frame = serialize.write_frame
    encode, decode = serialize.encode, serialize.decode
    labels = [c["label"] for c in header["cells"]]

    def is_student(filename):
        return filename.startswith("<cell ")

    def where(filename, function):
        place = filename[1:-1]
        try:
            place = labels[int(place.split()[1])]
        except (IndexError, ValueError):
            pass
        return place if function in ("<module>", None) else f"`{function}` in {place}"

    def send(head, arrs=None):
        try:
            write_frame(out, head, arrs)
        except Exception:
            pass

    rnnlab.grading.check = _skipped_check
    rnnlab.grading.checker.check = _skipped_check
    cell_index = [0]
    shell = _make_shell(cell_index, send)
    namespace = shell.user_ns
    _drop_privileges(header.get("uid"))
    _apply_limits(header["limits"])

    # Time budget: the cells get 60 % of the time limit (counted from the harness's start), the
    # graded calls share what is left up to 90 %; the grader's hard kill at 100 % is the last
    # resort. A cell that runs past its share is stopped, later cells are not run, and the
    # functions defined so far are still called.
    timeout = float(header.get("timeout") or 0)
    cells_until = _STARTED + 0.6 * timeout
    calls_until = _STARTED + 0.9 * timeout
    if timeout > 0:
        signal.signal(signal.SIGALRM, _on_alarm)
    _write_helpers(header.get("files"))

    for i, cell in enumerate(header["cells"]):
        send({"type": "cell", "index": i})
        cell_index[0] = i
        left = cells_until - _time.monotonic()
        if timeout > 0 and left <= 0:
            send({"type": "cell_error", "index": i, "error": {
                "type": "CellTimeBudget", "message": (
                    f"not run: the cells before it used the {0.6 * timeout:.0f} s the grader gives "
                    f"the notebook's cells")}})
            break
        try:
            if timeout > 0:
                _arm(left, CellTimeBudget)
            try:
                result = shell.run_cell(cell["source"], store_history=False)
            finally:
                if timeout > 0:
                    _disarm()
            err = result.error_before_exec or result.error_in_exec
        except CellTimeBudget as budget:  # the alarm rang outside the cell's own code
            err = budget
        if isinstance(err, CellTimeBudget):
            send({"type": "cell_error", "index": i, "error": {
                "type": "CellTimeBudget", "message": (
                    f"it ran past the {0.6 * timeout:.0f} s the grader gives the notebook's cells "
                    f"(an endless loop or a long experiment?); the cells after it were not run, the "
                    f"functions defined before were graded")}})
            break
        if err is not None:  # a cell's failure is feedback, not the end
            try:
                send({"type": "cell_error", "index": i,
                      "error": error_info(err, is_student=is_student, where=where).to_json()})
            except BaseException:  # noqa: BLE001
                send({"type": "cell_error", "index": i,
                      "error": {"type": "Exception", "message": "(unprintable error)"}})

    send({"type": "calls"})
    exercises = header["exercises"]
    for k, ex in enumerate(exercises):
        name = ex["function"]
        func = namespace.get(name)
        if not callable(func):
            names = sorted(k2 for k2, v in list(namespace.items())
                           if isinstance(k2, str) and not k2.startswith("_") and callable(v))
            send({"type": "exercise", "id": ex["id"], "status": "missing",
                  "defined_as": None if name not in namespace else type(namespace[name]).__name__,
                  "suggest": difflib.get_close_matches(name, names, n=3, cutoff=0.6)})
            continue
        send({"type": "calling", "id": ex["id"]})
        share = (calls_until - _time.monotonic()) / max(1, len(exercises) - k)
        ex_until = _time.monotonic() + max(share, 0.5)
        results, sent_arrays = [], []
        count_lines = ex.get("count_lines") is True
        forbidden = tuple(ex.get("forbidden") or ())
        for case in ex["cases"]:
            try:
                args = list(decode(case, arrays))
                pristine = decode(case, arrays)
                if timeout > 0:
                    _arm(ex_until - _time.monotonic(), CallTimeBudget)
                trace = CallTrace(forbidden, count_lines=count_lines)
                try:
                    with trace:
                        returned = func(*args)
                finally:
                    if timeout > 0:
                        _disarm()
                mark = len(sent_arrays)
                try:
                    entry = {"returned": encode(returned, strict=False, arrays=sent_arrays)[0],
                             "mutated": {}}
                    if count_lines:
                        entry["lines"] = trace.lines
                    if trace.called:
                        entry["called"] = trace.called
                    for j in range(len(args)):
                        if not same(args[j], pristine[j]):
                            entry["mutated"][str(j)] = encode(args[j], strict=False,
                                                              arrays=sent_arrays)[0]
                except BaseException:
                    del sent_arrays[mark:]
                    raise
                results.append(entry)
            except CallTimeBudget:
                results.append({"error": {"type": "TimeoutError", "message": (
                    f"`{name}` did not return within its share ({max(share, 0.5):.1f} s) of the "
                    f"time limit: an endless loop?")}})
            except BaseException as err:  # noqa: BLE001
                try:
                    info = error_info(err, is_student=is_student, where=where).to_json()
                except BaseException:  # noqa: BLE001
                    info = {"type": type(err).__name__, "message": ""}
                results.append({"error": info})
        send({"type": "exercise", "id": ex["id"], "status": "called", "results": results}, sent_arrays)
    out.close()


if __name__ == "__main__":
    main(sys.argv)
    sys.stdout.flush()
    os._exit(0)
