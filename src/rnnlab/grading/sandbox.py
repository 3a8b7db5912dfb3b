"""Running one submission's code in a child process that cannot hurt the grader.

Two modes, chosen once per run by :func:`choose_mode`:

``"namespace"`` (Linux, when the launcher works here): :mod:`rnnlab.grading._launcher` puts the
    child in new mount/PID/network/IPC/UTS namespaces (plus a user namespace when not root) with a
    minimal read-only root that holds the system libraries, the Python installation, the installed
    packages and the ``rnnlab`` package and nothing else: no
    ``solutions/``, no submissions, no gradebook, no home directory. The child runs without any
    privilege (as root: under an unused uid), has no network, sees only its own processes, and dies
    with all its descendants when it exits or is killed.
``"process"`` (fallback): a plain ``python -I`` child in its own session and a fresh temporary
    directory with a scrubbed environment. The resource limits apply, but the child can read
    whatever the user running the grader can read (``solutions/`` included) and, as root, the
    process limit is not enforced. The grade is still decided in the grader, so reading files cannot
    raise a score, but written answers could leak: prefer a machine where the namespace mode works.

In both modes the child gets limits on CPU time, address space (``memory_mb``), file size, open
files and processes (RLIMIT_NPROC), a wall-clock timeout (the whole process group is killed), and
its combined stdout/stderr is read with a cap (the rest is discarded, the run is not affected).
"""
from __future__ import annotations

import json
import os
import selectors
import shutil
import signal
import site
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from rnnlab.grading import serialize

__all__ = ["Limits", "RunResult", "choose_mode", "run_job", "namespace_available", "python_paths",
           "nproc_limit"]

_HERE = Path(__file__).resolve().parent
LAUNCHER = _HERE / "_launcher.py"
HARNESS = _HERE / "_child.py"
SANDBOX_WORKDIR = "/tmp/work"
SETUP_FAILED = 125


@dataclass(frozen=True)
class Limits:
    """Resource limits of one submission's process."""

    timeout: float = 120.0  # wall-clock seconds for the whole notebook and its checks
    memory_mb: int = 3072  # address space (RLIMIT_AS); torch reserves ~0.6 GB of it on import
    output_bytes: int = 2**20  # stdout+stderr kept; the rest is read and discarded
    result_bytes: int = 128 * 2**20  # returned values; more ends the run
    file_mb: int = 64  # largest file the child may write (RLIMIT_FSIZE), and its /tmp size
    open_files: int = 256
    processes: int = 64  # RLIMIT_NPROC, counted for the sandbox's own uid in namespace mode

    def for_child(self, nproc: int | None) -> dict:
        return {"memory_bytes": int(self.memory_mb) * 2**20,
                "cpu_seconds": int(self.timeout) + 2,
                "file_bytes": int(self.file_mb) * 2**20,
                "open_files": int(self.open_files),
                "processes": nproc}


@dataclass
class RunResult:
    """What came back from one child process."""

    frames: list = field(default_factory=list)
    frame_problem: str | None = None
    output: bytes = b""
    output_truncated: bool = False
    exit_code: int | None = None  # exit status; 128 + n when killed by signal n
    timed_out: bool = False
    results_too_large: bool = False
    setup_error: str | None = None
    mode: str = "process"
    seconds: float = 0.0

    @property
    def signal(self) -> int | None:
        if self.exit_code is not None and self.exit_code > 128:
            return self.exit_code - 128
        return None


# ----------------------------------------------------------------------------- environment

def python_paths() -> list[str]:
    """The import path the child needs: the Python installation, the installed packages and the
    folder holding ``rnnlab``; never the current directory or a test folder."""
    import rnnlab

    keep_under = {os.path.realpath(p) for p in (sys.prefix, sys.base_prefix, sys.exec_prefix)}
    try:
        keep_under.update(os.path.realpath(p) for p in site.getsitepackages())
    except Exception:
        pass
    pkg_parent = os.path.realpath(os.path.dirname(os.path.dirname(rnnlab.__file__)))
    out = []
    for entry in sys.path:
        if not entry or not os.path.isabs(entry):
            continue
        real = os.path.realpath(entry)
        if real == pkg_parent or any(real == k or real.startswith(k + os.sep) for k in keep_under):
            if entry not in out:
                out.append(entry)
    if pkg_parent not in [os.path.realpath(p) for p in out]:
        out.append(pkg_parent)
    return out


def child_env(home: str, tmp: str) -> dict:
    return {
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "HOME": home,
        "TMPDIR": tmp,
        "LANG": "C.UTF-8",
        "LC_ALL": "C.UTF-8",
        "USER": "student",
        "LOGNAME": "student",
        "PYTHONHASHSEED": "0",
        "PYTHONDONTWRITEBYTECODE": "1",
        "OMP_NUM_THREADS": "1",
        "MKL_NUM_THREADS": "1",
        "OPENBLAS_NUM_THREADS": "1",
        "NUMEXPR_NUM_THREADS": "1",
        "MPLBACKEND": "Agg",
        "MPLCONFIGDIR": os.path.join(home, ".matplotlib"),
        "IPYTHONDIR": os.path.join(home, ".ipython"),
        "TQDM_DISABLE": "1",
    }


def _count_tasks(uid: int) -> int:
    count = 0
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                if os.stat(f"/proc/{entry}").st_uid == uid:
                    count += len(os.listdir(f"/proc/{entry}/task"))
            except OSError:
                pass
    return count


def nproc_limit(mode: str, limits: Limits) -> int | None:
    """The RLIMIT_NPROC to give a child. It counts every process of the child's real uid: in
    namespace mode as root the child has a uid of its own, so ``limits.processes`` is exact; a
    non-root grader's children share its uid, so the user's running tasks are added; as root
    without namespaces the limit is not enforced at all (``None``)."""
    if os.getuid() == 0:
        return limits.processes if mode == "namespace" else None
    try:
        return _count_tasks(os.getuid()) + limits.processes
    except OSError:
        return None


def _is_within(path: str, parents: list[str]) -> bool:
    return any(path == p or path.startswith(p.rstrip("/") + "/") for p in parents)


def _namespace_config(root: str, job_file: str, limits: Limits, hidden: list[str], argv: list[str],
                      uid: int | None) -> dict:
    import rnnlab

    binds: list[str] = []
    symlinks: list[list[str]] = []

    def add(path: str) -> None:
        path = os.path.abspath(path)
        if not os.path.exists(path) or _is_within(path, binds):
            return
        binds[:] = [b for b in binds if not _is_within(b, [path])]
        binds.append(path)

    for top in ("/usr", "/bin", "/sbin", "/lib", "/lib64", "/lib32", "/libx32"):
        if os.path.islink(top):
            symlinks.append([top, os.readlink(top)])
        elif os.path.isdir(top):
            add(top)
    for prefix in (sys.prefix, sys.base_prefix, sys.exec_prefix):
        add(prefix)
        add(os.path.realpath(prefix))
    add(os.path.dirname(os.path.realpath(sys.executable)))
    package = os.path.dirname(os.path.abspath(rnnlab.__file__))
    for entry in python_paths():
        real = os.path.realpath(entry)
        if os.path.isdir(os.path.join(entry, "rnnlab")) and os.path.realpath(
                os.path.join(entry, "rnnlab")) == os.path.realpath(package):
            add(package)  # the source folder of an editable install: only the package itself
        else:
            add(entry)
            add(real)
    add(package)
    add(os.path.realpath(package))
    files = [[job_file, "/job/job.bin"]]
    for name in ("ld.so.cache", "ld.so.conf", "localtime", "nsswitch.conf", "host.conf"):
        path = "/etc/" + name
        if os.path.islink(path):
            symlinks.append([path, os.readlink(path)])
        elif os.path.isfile(path):
            files.append([path, path])
    for folder in ("/etc/ld.so.conf.d", "/etc/fonts"):
        if os.path.isdir(folder):
            binds.append(folder)
    for extra in ("/sys/devices/system/cpu",):
        if os.path.isdir(extra):
            binds.append(extra)
    masks = []
    for path in hidden:
        for p in {os.path.abspath(path), os.path.realpath(path)}:
            if _is_within(p, binds):
                masks.append(p)
    return {
        "root": root,
        "binds": [[b, b] for b in binds],
        "symlinks": symlinks,
        "files": files,
        "masks": sorted(set(masks)),
        "tmp_mb": max(16, int(limits.file_mb) * 2),
        "workdir": SANDBOX_WORKDIR,
        "uid": uid,
        "userns": os.getuid() != 0,
        "argv": argv,
        "env": child_env(SANDBOX_WORKDIR, "/tmp"),
    }


# ----------------------------------------------------------------------------- running

def _new_uid() -> int:
    import secrets

    return 1_900_000_000 + secrets.randbelow(90_000_000)


def _read_until_done(proc: subprocess.Popen, out_fd: int, res_fd: int, limits: Limits,
                     result: RunResult) -> tuple[bytes, bytes]:
    sel = selectors.DefaultSelector()
    sel.register(out_fd, selectors.EVENT_READ)
    sel.register(res_fd, selectors.EVENT_READ)
    open_fds = {out_fd, res_fd}
    out, res = bytearray(), bytearray()
    start = time.monotonic()
    deadline = start + limits.timeout
    exited_at = None
    try:
        while open_fds:
            now = time.monotonic()
            if now >= deadline:
                result.timed_out = True
                break
            if proc.poll() is not None:
                exited_at = exited_at or now
                if now - exited_at > 1.0:  # descendants that keep the pipes open do not count
                    break
            for key, _ in sel.select(timeout=min(0.2, max(0.01, deadline - now))):
                fd = key.fd
                try:
                    data = os.read(fd, 1 << 16)
                except OSError:
                    data = b""
                if not data:
                    sel.unregister(fd)
                    open_fds.discard(fd)
                elif fd == out_fd:
                    room = limits.output_bytes - len(out)
                    if room > 0:
                        out += data[:room]
                    if len(data) > room:
                        result.output_truncated = True
                else:
                    res += data
                    if len(res) > limits.result_bytes:
                        result.results_too_large = True
                        open_fds.clear()
                        break
    finally:
        sel.close()
    return bytes(out), bytes(res)


def _kill_group(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    try:
        proc.kill()
    except ProcessLookupError:
        pass
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        pass


def run_job(job: bytes, limits: Limits, mode: str, hidden: list[str] = ()) -> RunResult:
    """Run the harness on ``job`` (bytes from :func:`rnnlab.grading.serialize.pack`) in ``mode``."""
    result = RunResult(mode=mode)
    tmp = tempfile.mkdtemp(prefix="rnnlab-grade-")
    os.chmod(tmp, 0o711)
    r, w = os.pipe()
    proc = None
    start = time.monotonic()
    try:
        job_file = os.path.join(tmp, "job.bin")
        with open(job_file, "wb") as f:
            f.write(job)
        os.chmod(job_file, 0o644)
        if mode == "namespace":
            root = os.path.join(tmp, "root")
            os.mkdir(root)
            uid = _new_uid() if os.getuid() == 0 else None
            argv = [sys.executable, "-I", "-B", str(HARNESS), "/job/job.bin", str(w)]
            cfg = _namespace_config(root, job_file, limits, list(hidden), argv, uid)
            cfg_file = os.path.join(tmp, "launch.json")
            with open(cfg_file, "w") as f:
                json.dump(cfg, f)
            os.chmod(cfg_file, 0o600)
            cmd = [sys.executable, "-I", "-S", str(LAUNCHER), cfg_file]
            cwd, env = tmp, {"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"}
        else:
            work = os.path.join(tmp, "work")
            os.mkdir(work, 0o700)
            cmd = [sys.executable, "-I", "-B", str(HARNESS), job_file, str(w)]
            cwd, env = work, child_env(work, work)
            env["RNNLAB_GRADING_PROCESS"] = "1"
        proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdin=subprocess.DEVNULL,
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, pass_fds=(w,),
                                start_new_session=True, close_fds=True)
        os.close(w)
        w = -1
        out, res = _read_until_done(proc, proc.stdout.fileno(), r, limits, result)
        _kill_group(proc)
        result.exit_code = proc.returncode if proc.returncode is None or proc.returncode >= 0 \
            else 128 - proc.returncode
        if result.exit_code == SETUP_FAILED and b"rnnlab-sandbox-error:" in out:
            line = out[out.index(b"rnnlab-sandbox-error:"):].split(b"\n", 1)[0]
            result.setup_error = line.decode("utf-8", "replace")
        result.output = out
        result.frames, result.frame_problem = serialize.read_frames(res)
    finally:
        if proc is not None:
            if proc.poll() is None:
                _kill_group(proc)
            if proc.stdout:
                proc.stdout.close()
        if w >= 0:
            os.close(w)
        os.close(r)
        shutil.rmtree(tmp, ignore_errors=True)
        result.seconds = time.monotonic() - start
    return result


# ----------------------------------------------------------------------------- mode

_PROBE_LOCK = threading.Lock()
_PROBED: dict[str, tuple[bool, str]] = {}


def _empty_job() -> bytes:
    return serialize.pack({"sys_path": python_paths(), "cells": [], "exercises": [],
                           "limits": Limits().for_child(None)}, [])


def namespace_available() -> tuple[bool, str]:
    """Whether the namespace sandbox works on this machine (probed once): ``(ok, why_not)``."""
    with _PROBE_LOCK:
        if "namespace" not in _PROBED:
            if not sys.platform.startswith("linux"):
                _PROBED["namespace"] = (False, "namespaces need Linux")
            else:
                run = run_job(_empty_job(), Limits(timeout=60), "namespace")
                done = any(h.get("type") == "done" for h, _ in run.frames)
                why = run.setup_error or (run.output.decode("utf-8", "replace").strip()[-500:]
                                          or f"exit code {run.exit_code}")
                _PROBED["namespace"] = (done, "" if done else why)
        return _PROBED["namespace"]


def choose_mode(requested: str = "auto") -> str:
    """``"namespace"`` when it works here (or was asked for: ``RuntimeError`` if it does not),
    ``"process"`` when asked for or as the fallback of ``"auto"``."""
    if requested not in ("auto", "namespace", "process"):
        raise ValueError(f"sandbox must be 'auto', 'namespace' or 'process', got {requested!r}")
    if requested == "process":
        return "process"
    ok, why = namespace_available()
    if ok:
        return "namespace"
    if requested == "namespace":
        raise RuntimeError(f"the namespace sandbox does not work on this machine: {why}")
    return "process"
