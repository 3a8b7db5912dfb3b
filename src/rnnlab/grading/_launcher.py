"""Sandbox launcher: new namespaces, a minimal read-only root, no privileges, then the harness.

Run by the grader as ``python -I -S _launcher.py CONFIG.json`` (standard library only). It

1. leaves the grader's mount, PID, network, IPC and UTS namespaces (and, when not run as root, its
   user namespace, mapping the caller's uid to root inside);
2. forks the namespace's PID 1, which builds a new root on a tmpfs: read-only binds of the system
   libraries, the Python installation, the installed packages and the rnnlab package only, a fresh
   ``/proc`` for the new PID namespace, a few device nodes, a size-limited ``/tmp`` with the work
   directory, the job file read-only at ``/job``, and empty read-only tmpfs masks over paths that
   must stay hidden even inside a bound tree; then ``chroot``s into it;
3. forks the harness, which drops every privilege before ``execve``: as root it switches to an
   unused uid/gid (so RLIMIT_NPROC applies and nothing of root's is readable), in a user namespace it
   locks the "root has no capabilities" securebits; in both cases the capability bounding set is
   emptied and ``no_new_privs`` is set. Mounts made here are locked: unprivileged code cannot
   unmount them to see what is underneath;
4. reaps orphans as PID 1 and exits with the harness's status. When PID 1 exits, the kernel kills
   every process left in the namespace; PID 1 itself dies with the launcher (PDEATHSIG), and the
   launcher dies with the grader's thread (PDEATHSIG) or when the grader kills its process group.

Exit status: the harness's exit code, 128 + signal number if it was killed, 125 if the sandbox
could not be built (a line starting with ``rnnlab-sandbox-error:`` on stderr says why).
"""
import ctypes
import errno
import json
import os
import signal
import sys

CLONE_NEWNS, CLONE_NEWUTS, CLONE_NEWIPC = 0x00020000, 0x04000000, 0x08000000
CLONE_NEWUSER, CLONE_NEWPID, CLONE_NEWNET = 0x10000000, 0x20000000, 0x40000000
MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC = 1, 2, 4, 8
MS_REMOUNT, MS_NOATIME, MS_NODIRATIME, MS_BIND, MS_REC = 32, 1024, 2048, 4096, 16384
MS_PRIVATE, MS_RELATIME = 1 << 18, 1 << 21
ST_NOATIME, ST_NODIRATIME, ST_RELATIME = 1024, 2048, 4096
PR_SET_PDEATHSIG, PR_CAPBSET_DROP, PR_SET_SECUREBITS = 1, 24, 28
PR_SET_NO_NEW_PRIVS, PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL = 38, 47, 4
SECBITS_LOCK_ROOT = 0x01 | 0x02 | 0x04 | 0x08 | 0x20  # NOROOT(+LOCKED), NO_SETUID_FIXUP(+LOCKED), KEEP_CAPS_LOCKED
SETUP_FAILED = 125

libc = ctypes.CDLL(None, use_errno=True)
libc.mount.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_ulong, ctypes.c_char_p]
libc.prctl.argtypes = [ctypes.c_int, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong]


def fail(what):
    os.write(2, f"rnnlab-sandbox-error: {what}\n".encode())
    os._exit(SETUP_FAILED)


def check(rc, what):
    if rc != 0:
        err = ctypes.get_errno()
        fail(f"{what}: {os.strerror(err)} (errno {err})")


def b(path):
    return None if path is None else os.fsencode(path)


def mount(source, target, fstype, flags, data=None):
    check(libc.mount(b(source), b(target), b(fstype), flags, b(data)),
          f"mount {source or fstype} on {target}")


def prctl(option, arg=0):
    return libc.prctl(option, arg, 0, 0, 0)


def locked_flags(path):
    """The flags a read-only remount must keep (a user namespace may not clear them)."""
    f = os.statvfs(path).f_flag
    out = 0
    for st, ms in ((MS_NOSUID, MS_NOSUID), (MS_NODEV, MS_NODEV), (MS_NOEXEC, MS_NOEXEC),
                   (ST_NOATIME, MS_NOATIME), (ST_NODIRATIME, MS_NODIRATIME), (ST_RELATIME, MS_RELATIME)):
        if f & st:
            out |= ms
    return out


def makedirs(path):
    os.makedirs(path, mode=0o755, exist_ok=True)


def touch(path):
    makedirs(os.path.dirname(path))
    if not os.path.lexists(path):
        os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o644))


def bind(src, dst, readonly=True):
    if os.path.isdir(src):
        makedirs(dst)
    else:
        touch(dst)
    mount(src, dst, None, MS_BIND | MS_REC)
    if readonly:
        mount(None, dst, None, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV | locked_flags(src))


def build_root(cfg):
    root = cfg["root"]
    mount(None, "/", None, MS_REC | MS_PRIVATE)
    mount("tmpfs", root, "tmpfs", MS_NOSUID | MS_NODEV, "size=4m,mode=0755")
    # Binds below /tmp (a checkout or virtual environment that lives there) go in after the
    # sandbox's own /tmp is mounted, which would otherwise hide them.
    in_tmp = [(src, dst) for src, dst in cfg["binds"] if dst == "/tmp" or dst.startswith("/tmp/")]
    for src, dst in cfg["binds"]:
        if os.path.exists(src) and (src, dst) not in in_tmp:
            bind(src, root + dst)
    for link, target in cfg["symlinks"]:
        makedirs(os.path.dirname(root + link))
        if not os.path.lexists(root + link):
            os.symlink(target, root + link)
    makedirs(root + "/proc")
    mount("proc", root + "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC)
    makedirs(root + "/dev")
    mount("tmpfs", root + "/dev", "tmpfs", MS_NOSUID, "size=64k,mode=0755")
    for dev in ("null", "zero", "full", "random", "urandom"):
        if os.path.exists("/dev/" + dev):
            bind("/dev/" + dev, root + "/dev/" + dev, readonly=False)
    for name, target in (("fd", "/proc/self/fd"), ("stdin", "/proc/self/fd/0"),
                         ("stdout", "/proc/self/fd/1"), ("stderr", "/proc/self/fd/2")):
        os.symlink(target, root + "/dev/" + name)
    makedirs(root + "/dev/shm")
    mount("tmpfs", root + "/dev/shm", "tmpfs", MS_NOSUID | MS_NODEV, "size=16m,mode=1777")
    makedirs(root + "/tmp")
    mount("tmpfs", root + "/tmp", "tmpfs", MS_NOSUID | MS_NODEV, f"size={int(cfg['tmp_mb'])}m,mode=1777")
    work = root + cfg["workdir"]
    makedirs(work)
    if cfg["uid"] is not None:
        os.chown(work, cfg["uid"], cfg["uid"])
    os.chmod(work, 0o700)
    for src, dst in in_tmp:
        if os.path.exists(src) and dst != "/tmp":
            bind(src, root + dst)
    for src, dst in cfg["files"]:
        bind(src, root + dst)
    for path in cfg["masks"]:
        if os.path.isdir(root + path):
            mount("tmpfs", root + path, "tmpfs", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC,
                  "size=4k,mode=0555")
    mount(None, root, None, MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV)
    os.chroot(root)
    os.chdir(cfg["workdir"])


def drop_privileges(cfg):
    uid = cfg["uid"]
    if uid is None:  # user namespace: we are root in it; make root powerless, for good
        check(prctl(PR_SET_SECUREBITS, SECBITS_LOCK_ROOT), "securebits")
    for cap in range(64):
        if prctl(PR_CAPBSET_DROP, cap) != 0 and ctypes.get_errno() != errno.EINVAL:
            fail(f"drop capability {cap}: {os.strerror(ctypes.get_errno())}")
    prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL)
    if uid is not None:
        os.setgroups([])
        os.setgid(uid)
        os.setuid(uid)  # a non-root uid: permitted and effective capabilities are cleared
    else:
        header = (ctypes.c_uint32 * 2)(0x20080522, 0)
        data = (ctypes.c_uint32 * 6)()
        check(libc.capset(header, data), "capset")
    check(prctl(PR_SET_NO_NEW_PRIVS, 1), "no_new_privs")


def exit_status(status):
    if os.WIFEXITED(status):
        return os.WEXITSTATUS(status)
    if os.WIFSIGNALED(status):
        return 128 + os.WTERMSIG(status)
    return SETUP_FAILED


def pid1(cfg):
    prctl(PR_SET_PDEATHSIG, signal.SIGKILL)  # (getppid() is 0 here: the launcher is outside)
    build_root(cfg)
    harness = os.fork()
    if harness == 0:
        try:
            drop_privileges(cfg)
            os.execve(cfg["argv"][0], cfg["argv"], cfg["env"])
        except BaseException as err:  # noqa: BLE001 - report, never return into pid 1's code
            fail(f"cannot start the harness: {err}")
    while True:
        try:
            pid, status = os.wait()
        except ChildProcessError:
            os._exit(SETUP_FAILED)
        if pid == harness:
            os._exit(exit_status(status))


def main():
    with open(sys.argv[1]) as f:
        cfg = json.load(f)
    prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    uid, gid = os.getuid(), os.getgid()
    flags = CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWNET | CLONE_NEWIPC | CLONE_NEWUTS
    if cfg["userns"]:
        flags |= CLONE_NEWUSER
    check(libc.unshare(flags), "unshare")
    if cfg["userns"]:
        for name, text in (("setgroups", "deny"), ("uid_map", f"0 {uid} 1"), ("gid_map", f"0 {gid} 1")):
            with open(f"/proc/self/{name}", "w") as f:
                f.write(text)
    child = os.fork()
    if child == 0:
        try:
            pid1(cfg)
        except SystemExit:
            raise
        except BaseException as err:  # noqa: BLE001
            fail(f"{type(err).__name__}: {err}")
        os._exit(SETUP_FAILED)
    while True:
        try:
            _, status = os.waitpid(child, 0)
            break
        except InterruptedError:
            continue
    os._exit(exit_status(status))


if __name__ == "__main__":
    main()
