"""Running one submission's code in a child process that cannot hurt the grader.

Two isolation modes, chosen by the instructor (``rnnlab grade --isolation``):

``"bwrap"`` (the default): the child runs under bubblewrap (``bwrap``, Debian package ``bubblewrap``)
    with no network, its own PID, IPC and UTS namespaces, and a read-only view of only the system
    libraries, the Python installation, the installed packages and the ``rnnlab`` package: no
    ``solutions/``, no submissions (its own included: the grader sends the code), no gradebook, no
    home directory. Its one writable folder is an empty temporary folder. As root, the harness
    switches to an unused uid before any student code runs, so the process limit applies and the
    child holds no privilege. :func:`check_isolation` refuses to go on when ``bwrap`` does not work.
``"process"`` (explicit, weaker): a plain ``python -I`` child in its own session and a fresh
    temporary folder with a scrubbed environment. The resource limits apply, but the child can read
    whatever the user running the grader can read (``solutions/`` included) and, as root, the
    process limit is not enforced. The grade is still decided in the grader, so reading files
    cannot raise a score, but written answers could leak.

In both modes the child gets limits on CPU time, address space (``memory_mb``), file size, open
files and processes (RLIMIT_NPROC), a wall-clock timeout (the whole process group is killed), and
its combined stdout/stderr is read with a cap (the rest is discarded, the run is not affected).
"""
from __future__ import annotations

import os
import secrets
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

import rnnlab
from rnnlab.grading import serialize

__all__ = ["Limits", "RunResult", "ISOLATION_MODES", "check_isolation", "bwrap_available", "run_job",
           "python_paths", "nproc_limit", "drop_uid"]

HARNESS = Path(__file__).resolve().parent / "_child.py"
ISOLATION_MODES = ("bwrap", "process")
WORKDIR = "/tmp/work"  # the child's working folder inside bwrap
INSTALL_BWRAP = ("install bubblewrap (Debian/Ubuntu: sudo apt-get install bubblewrap; Fedora: sudo "
                 "dnf install bubblewrap), or pass --isolation process to run submissions as plain "
                 "processes with resource limits only (they can then read every file you can read)")


@dataclass(frozen=True)
class Limits:
    """Resource limits of one submission's process."""

    timeout: float = 120.0  # wall-clock seconds for the whole notebook and its checks
    memory_mb: int = 3072  # address space (RLIMIT_AS); Python with torch imported takes ~0.65 GB of it
    output_bytes: int = 2**20  # stdout+stderr kept; the rest is read and discarded
    result_bytes: int = 128 * 2**20  # returned values; more ends the run
    file_mb: int = 64  # largest file the child may write (RLIMIT_FSIZE), and its /tmp size
    open_files: int = 256
    processes: int = 64  # RLIMIT_NPROC (exact for a child with a uid of its own, see drop_uid)

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

    @property
    def signal(self) -> int | None:
        if self.exit_code is not None and self.exit_code > 128:
            return self.exit_code - 128
        return None


# ----------------------------------------------------------------------------- environment

def python_paths() -> list[str]:
    """The import path the child needs: the Python installation, the installed packages and the
    folder holding ``rnnlab``; never the current directory or a test folder."""
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


def drop_uid(mode: str) -> int | None:
    """The unused uid a child under ``bwrap`` switches to when the grader runs as root."""
    return 1_900_000_000 + secrets.randbelow(90_000_000) if mode == "bwrap" and os.getuid() == 0 \
        else None


def nproc_limit(mode: str, limits: Limits, uid: int | None) -> int | None:
    """The RLIMIT_NPROC to give a child. It counts every process of the child's real uid: a child
    with a uid of its own (``uid``) gets exactly ``limits.processes``; a non-root grader's children
    share its uid, so the user's running tasks are added; as root in the process mode the limit is
    not enforced at all (``None``)."""
    if uid is not None:
        return limits.processes
    if os.getuid() == 0:
        return None
    try:
        return _count_tasks(os.getuid()) + limits.processes
    except OSError:
        return None


def _bwrap_argv(job_file: str, work: str, limits: Limits, hidden: list[str]) -> list[str]:
    """bwrap's options: read-only binds of what Python needs, the work folder writable, the
    ``hidden`` paths covered by empty folders wherever a bind would show them."""
    argv = [shutil.which("bwrap") or "bwrap", "--die-with-parent", "--new-session", "--unshare-pid",
            "--unshare-net", "--unshare-ipc", "--unshare-uts", "--unshare-cgroup-try"]
    if os.getuid() != 0:
        argv.append("--unshare-user")
    argv += ["--size", str(max(16, 2 * limits.file_mb) * 2**20), "--tmpfs", "/tmp",
             "--chmod", "1777", "/tmp", "--proc", "/proc", "--dev", "/dev"]
    binds: list[str] = []
    for top in ("/usr", "/bin", "/sbin", "/lib", "/lib64", "/lib32", "/libx32"):
        if os.path.islink(top):
            argv += ["--symlink", os.readlink(top), top]
        elif os.path.isdir(top):
            binds.append(top)
    package = os.path.dirname(os.path.abspath(rnnlab.__file__))
    for entry in (sys.prefix, sys.base_prefix, sys.exec_prefix, *python_paths(), package,
                  os.path.dirname(os.path.realpath(sys.executable))):
        if os.path.isdir(os.path.join(entry, "rnnlab")) and os.path.samefile(
                os.path.join(entry, "rnnlab"), package):
            entry = package  # a source checkout (editable install): only the package itself
        binds += [os.path.abspath(entry), os.path.realpath(entry)]
    binds += ["/etc/ld.so.cache", "/etc/ld.so.conf", "/etc/ld.so.conf.d", "/etc/localtime",
              "/etc/nsswitch.conf", "/etc/fonts", "/sys/devices/system/cpu"]
    binds = [b for b in dict.fromkeys(binds) if os.path.exists(b)]
    tops = {top for top in ("/bin", "/sbin", "/lib", "/lib64", "/lib32", "/libx32")
            if os.path.islink(top)}
    for parent in sorted({str(a) for b in binds for a in Path(b).parents} - {"/"} - tops):
        argv += ["--perms", "0755", "--dir", parent]  # bwrap would make them 0700
    for path in binds:
        argv += ["--ro-bind", path, path]
    argv += ["--bind", work, WORKDIR, "--ro-bind", job_file, "/job/job.bin", "--chdir", WORKDIR]
    for path in {p2 for p in hidden for p2 in (os.path.abspath(p), os.path.realpath(p))}:
        if any(path == b or path.startswith(b.rstrip("/") + "/") for b in binds):
            argv += ["--tmpfs", path]
    return argv


# ----------------------------------------------------------------------------- running

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


def run_job(job: bytes, limits: Limits, mode: str, hidden: list[str] = (),
            uid: int | None = None) -> RunResult:
    """Run the harness on ``job`` (bytes from :func:`rnnlab.grading.serialize.pack`) in ``mode``;
    ``uid`` is the :func:`drop_uid` the job tells the harness to switch to."""
    result = RunResult()
    tmp = tempfile.mkdtemp(prefix="rnnlab-grade-")
    os.chmod(tmp, 0o711)
    r, w = os.pipe()
    proc = None
    try:
        job_file, work = os.path.join(tmp, "job.bin"), os.path.join(tmp, "work")
        with open(job_file, "wb") as f:
            f.write(job)
        os.chmod(job_file, 0o644)
        os.mkdir(work, 0o700)
        if uid is not None:
            os.chown(work, uid, uid)
        if mode == "bwrap":
            cmd = _bwrap_argv(job_file, work, limits, list(hidden)) + [
                "--", sys.executable, "-I", "-B", str(HARNESS), "/job/job.bin", str(w)]
            env = child_env(WORKDIR, WORKDIR)
        else:
            cmd = [sys.executable, "-I", "-B", str(HARNESS), job_file, str(w)]
            env = child_env(work, work)
            env["RNNLAB_GRADING_PROCESS"] = "1"
        proc = subprocess.Popen(cmd, cwd=work, env=env, stdin=subprocess.DEVNULL,
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, pass_fds=(w,),
                                start_new_session=True, close_fds=True)
        os.close(w)
        w = -1
        out, res = _read_until_done(proc, proc.stdout.fileno(), r, limits, result)
        _kill_group(proc)
        result.exit_code = proc.returncode if proc.returncode is None or proc.returncode >= 0 \
            else 128 - proc.returncode
        if mode == "bwrap" and out.startswith(b"bwrap: "):
            result.setup_error = out.split(b"\n", 1)[0].decode("utf-8", "replace")
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
    return result


# ----------------------------------------------------------------------------- mode

_PROBE_LOCK = threading.Lock()
_PROBED: list = []


def bwrap_available() -> tuple[bool, str]:
    """Whether ``bwrap`` runs this Python (and imports numpy) with the namespaces and the view of
    the file system the grader uses (probed once): ``(ok, why)``. An interpreter or a library
    that the view misses is found here, before any submission is graded."""
    with _PROBE_LOCK:
        if not _PROBED:
            if shutil.which("bwrap") is None:
                _PROBED.append((False, "bwrap is not installed"))
            else:
                with tempfile.TemporaryDirectory() as tmp:
                    job = os.path.join(tmp, "job")
                    Path(job).write_bytes(b"")
                    argv = _bwrap_argv(job, tmp, Limits(), []) + [
                        "--", sys.executable, "-I", "-B", "-c", "import numpy"]
                    run = subprocess.run(argv, capture_output=True, timeout=60)
                why = run.stderr.decode("utf-8", "replace").strip()[-300:] or \
                    f"exit status {run.returncode}"
                _PROBED.append((run.returncode == 0, "" if run.returncode == 0 else why))
        return _PROBED[0]


def check_isolation(isolation: str) -> None:
    """``ValueError`` for an unknown mode; ``RuntimeError`` saying how to install bwrap when
    ``"bwrap"`` is asked for and does not work here."""
    if isolation not in ISOLATION_MODES:
        raise ValueError(f"isolation must be one of {', '.join(ISOLATION_MODES)}, got {isolation!r}")
    if isolation == "bwrap":
        ok, why = bwrap_available()
        if not ok and why == "bwrap is not installed":
            raise RuntimeError(f"rnnlab grade runs students' code only inside bwrap, which is not "
                               f"installed here: {INSTALL_BWRAP}")
        if not ok:
            raise RuntimeError(f"rnnlab grade runs students' code only inside bwrap, which could not "
                               f"run this Python ({sys.executable}) here: {why}. The sandbox shows "
                               f"the interpreter, its libraries and the installed packages read-only; "
                               f"all must be readable by the user who runs the grader. Or pass "
                               f"--isolation process (weaker: submissions can read your files)")
