"""The harness that runs one submission, inside the sandbox (``python -I -B _child.py JOB FD``).

It is trusted code running hostile code in the same process, so it trusts nothing afterwards: it
reads the job (the notebook's code cells, the exercises' function names and the cases) *before* any
student code runs, applies the resource limits, executes the cells in one namespace (IPython magics
and shell lines stripped), then calls each graded function on the cases and streams what came back
to the grader over the result pipe FD, one frame per exercise (``rnnlab.grading.serialize``: JSON and
``np.save(allow_pickle=False)``, never pickle). Whatever the student's code does to this process -
patching ``rnnlab.grading.check``, printing "passed", writing forged frames, exiting early - the
grader decides the score in its own process by comparing these values with its reference.
"""
import time as _time

_STARTED = _time.monotonic()

import builtins  # noqa: E402
import difflib  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import resource  # noqa: E402
import struct  # noqa: E402
import sys  # noqa: E402


def _read_job(path):
    with open(path, "rb") as f:
        raw = f.read()
    (head_len,) = struct.unpack("<I", raw[:4])
    paths = json.loads(raw[4:4 + head_len].decode("ascii")).get("sys_path", [])
    for p in paths:
        if p not in sys.path:
            sys.path.append(p)
    from rnnlab.grading import serialize

    return serialize.unpack(raw)


def _limit(which, soft, hard=None):
    hard = soft if hard is None else hard
    try:
        cur_soft, cur_hard = resource.getrlimit(which)
        if cur_hard != resource.RLIM_INFINITY:
            hard = min(hard, cur_hard)
            soft = min(soft, hard)
        resource.setrlimit(which, (soft, hard))
    except (ValueError, OSError):
        pass


def _apply_limits(limits):
    _limit(resource.RLIMIT_CORE, 0)
    if limits.get("memory_bytes"):
        _limit(resource.RLIMIT_AS, int(limits["memory_bytes"]))
    if limits.get("cpu_seconds"):
        cpu = int(limits["cpu_seconds"])
        _limit(resource.RLIMIT_CPU, cpu, cpu + 2)
    if limits.get("file_bytes"):
        _limit(resource.RLIMIT_FSIZE, int(limits["file_bytes"]))
    if limits.get("open_files"):
        _limit(resource.RLIMIT_NOFILE, int(limits["open_files"]))
    if limits.get("processes"):
        _limit(resource.RLIMIT_NPROC, int(limits["processes"]))


def _die_with_parent():
    try:
        import ctypes
        import signal

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
    import signal

    _ALARM[0] = kind
    signal.setitimer(signal.ITIMER_REAL, max(0.01, seconds))


def _disarm():
    import signal

    signal.setitimer(signal.ITIMER_REAL, 0)
    _ALARM[0] = None


def _write_helpers(files):
    """The student's .py files beside the notebook go into the working folder, importable."""
    if not files:
        return
    here = os.getcwd()
    for name, text in files.items():
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


def _display(*objs, **kwargs):
    for obj in objs:
        print(repr(obj))


def main(argv):
    job_path, fd = argv[1], int(argv[2])
    if os.environ.get("RNNLAB_GRADING_PROCESS") == "1":
        _die_with_parent()
    header, arrays = _read_job(job_path)

    from rnnlab.grading import notebook, serialize
    from rnnlab.grading.compare import same
    from rnnlab.grading.outcome import error_info

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

    import rnnlab.grading

    rnnlab.grading.check = _skipped_check
    rnnlab.grading.checker.check = _skipped_check
    _apply_limits(header["limits"])

    namespace = {"__name__": "__main__", "__builtins__": builtins, "display": _display}
    import linecache
    import signal
    import time

    # Time budget: the cells get 60 % of the time limit (counted from the harness's start), the
    # graded calls share what is left up to 90 %; the grader's hard kill at 100 % is the last
    # resort. A cell that runs past its share is stopped, later cells are not run, and the
    # functions defined so far are still called.
    timeout = float(header.get("timeout") or 0)
    started = _STARTED
    cells_until = started + 0.6 * timeout
    calls_until = started + 0.9 * timeout
    if timeout > 0:
        signal.signal(signal.SIGALRM, _on_alarm)
    _write_helpers(header.get("files") or {})

    for i, cell in enumerate(header["cells"]):
        send({"type": "cell", "index": i})
        filename = f"<cell {i}>"
        left = cells_until - time.monotonic()
        if timeout > 0 and left <= 0:
            send({"type": "cell_error", "index": i, "error": {
                "type": "CellTimeBudget", "message": (
                    f"not run: the cells before it used the {0.6 * timeout:.0f} s the grader gives "
                    f"the notebook's cells")}})
            break
        try:
            source = notebook.strip_magics(cell["source"])
            linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
            code = compile(source, filename, "exec", dont_inherit=True)
            if timeout > 0:
                _arm(left, CellTimeBudget)
            try:
                exec(code, namespace)
            finally:
                if timeout > 0:
                    _disarm()
        except CellTimeBudget:
            send({"type": "cell_error", "index": i, "error": {
                "type": "CellTimeBudget", "message": (
                    f"it ran past the {0.6 * timeout:.0f} s the grader gives the notebook's cells "
                    f"(an endless loop or a long experiment?); the cells after it were not run, the "
                    f"functions defined before were graded")}})
            break
        except BaseException as err:  # noqa: BLE001 - a cell's failure is feedback, not the end
            try:
                info = error_info(err, is_student=is_student, where=where)
                send({"type": "cell_error", "index": i, "error": info.to_json()})
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
        share = (calls_until - time.monotonic()) / max(1, len(exercises) - k)
        ex_until = time.monotonic() + max(share, 0.5)
        results, sent_arrays = [], []
        for case in ex["cases"]:
            try:
                args = list(decode(case, arrays))
                pristine = decode(case, arrays)
                if timeout > 0:
                    _arm(ex_until - time.monotonic(), CallTimeBudget)
                try:
                    returned = func(*args)
                finally:
                    if timeout > 0:
                        _disarm()
                mark = len(sent_arrays)
                try:
                    entry = {"returned": encode(returned, strict=False, arrays=sent_arrays)[0],
                             "mutated": {}}
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
    send({"type": "done"})
    out.close()


if __name__ == "__main__":
    main(sys.argv)
    sys.stdout.flush()
    os._exit(0)
