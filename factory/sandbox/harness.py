"""The trusted half of the sandbox: isolates, then forks one locked-down child per test case.

``factory.sandbox.runner`` imports this module (stdlib only) in ``python -I -S`` (no site-packages,
cached bytecode: ~12 ms to start) in a fresh job folder, as root where possible. Design:

* The harness stays privileged and never sees expected outputs; it only records how each
  case ended. The grader compares outputs itself, so a program cannot forge a verdict by
  reading or rewriting the harness's memory, files or result pipe.
* Namespaces are entered once per program (net: no network; ipc: no System V segments
  outlive it; mount: a jail of read-only system folders plus private tmpfs, see
  ``build_jail``, so the program sees no project files and nothing it writes survives it).
  All of it costs about a millisecond here.
* Each case is a ``fork`` of this already-warm interpreter (~1 ms, versus ~10 ms for a
  new ``python``), which then, before any untrusted byte runs: takes its own session,
  redirects fds 0/1/2 (stdin from a memfd, stdout/stderr into root-owned files capped by
  RLIMIT_FSIZE), closes every other fd, chroots into the jail, sets rlimits, drops to a
  per-run unprivileged uid (so RLIMIT_NPROC caps a fork bomb exactly, and files are
  read-only to it) and sets no_new_privs.
* After a case, anything it left running is SIGKILLed (``kill(-1)`` from a helper holding
  the uid reaches even processes that left the session) and reaped by this subreaper.

Protocol: stdin = ``marshal`` job dict from the grader (trusted); stdout = ``marshal``
result dict. Case outputs go to ``out/<i>.out``, ``out/<i>.err`` (and ``out/<i>.res``, one
JSON line, for call-style tests).
"""

import ctypes
import marshal
import os
import resource
import select
import sys
import time

CLONE_NEWNS, CLONE_NEWIPC, CLONE_NEWNET = 0x00020000, 0x08000000, 0x40000000
MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC, MS_REMOUNT = 0x1, 0x2, 0x4, 0x8, 0x20
MS_BIND, MS_REC, MS_PRIVATE = 0x1000, 0x4000, 0x40000
PR_SET_PDEATHSIG, PR_SET_CHILD_SUBREAPER, PR_SET_NO_NEW_PRIVS = 1, 36, 38
SIGKILL = 9  # not `import signal`: it pulls in enum and costs ~4 ms of start-up per program
JAIL = "jail"
WORKDIR = "/sandbox"  # the program's cwd inside the jail
JAIL_DIRS = ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32", "/etc")
DEV_FILES = ("/dev/null", "/dev/zero", "/dev/full", "/dev/random", "/dev/urandom")
LIBC = ctypes.CDLL(None, use_errno=True)


def _read_all(fd):
    chunks = []
    while True:
        chunk = os.read(fd, 1 << 20)
        if not chunk:
            return b"".join(chunks)
        chunks.append(chunk)


def _mount(source, target, fstype, flags, options=None):
    if LIBC.mount(source and source.encode(), target.encode(), fstype and fstype.encode(), flags,
                  options and options.encode()) != 0:
        raise OSError(ctypes.get_errno(), "mount %s on %s failed" % (source, target))


def _bind(source, target):
    """Bind ``source`` read-only at ``target`` (a folder, or a device file)."""
    if os.path.isdir(source):
        os.makedirs(target, 0o755, exist_ok=True)
        extra = MS_NOSUID | MS_NODEV
    else:
        os.makedirs(os.path.dirname(target), 0o755, exist_ok=True)
        os.close(os.open(target, os.O_CREAT | os.O_WRONLY, 0o644))
        extra = MS_NOSUID  # device files must keep working
    _mount(source, target, None, MS_BIND | MS_REC)
    _mount(None, target, None, MS_BIND | MS_REMOUNT | MS_RDONLY | extra)


def _closed_ancestor(path):
    """The top-most ancestor of ``path`` that other users cannot traverse (e.g. ``/root``)."""
    parts = path.strip("/").split("/")
    for depth in range(1, len(parts) + 1):
        ancestor = "/" + "/".join(parts[:depth])
        if not os.stat(ancestor).st_mode & 0o001:
            return ancestor
    return None


def build_jail(job, uid):
    """A minimal root for the child to ``chroot`` into.

    It holds the system folders and the interpreter (read-only), fresh tmpfs for
    ``/sandbox`` (the cwd), ``/tmp`` and ``/dev/shm``, and a procfs that shows only the
    program's own processes. The repository, datasets (and so hidden test answers), other
    users' files and the host's /tmp are simply not there.
    """
    os.mkdir(JAIL, 0o755)
    _mount("tmpfs", JAIL, "tmpfs", MS_NOSUID | MS_NODEV, "size=1m,mode=0755")
    root = os.path.abspath(JAIL)
    # tmpfs first, binds after: an interpreter installed under /tmp must stay visible
    for path, mode, owner in (("/tmp", "1777", 0), ("/dev/shm", "1777", 0), (WORKDIR, "0700", uid)):
        os.makedirs(root + path, 0o755, exist_ok=True)
        _mount("tmpfs", root + path, "tmpfs", MS_NOSUID | MS_NODEV,
               "size=%dm,mode=%s,uid=%d,gid=%d" % (job["tmpfs_mb"], mode, owner, owner))
    bound = []
    # the interpreter: its prefixes, and the folder of sys.executable (a venv's bin) so that
    # programs can start sub-interpreters
    python = {os.path.realpath(p) for p in (sys.base_prefix, sys.prefix)}
    python.add(os.path.dirname(os.path.abspath(sys.executable)))
    for path in JAIL_DIRS + tuple(sorted(python)):
        if os.path.islink(path):
            os.symlink(os.readlink(path), root + path)  # merged /usr: /bin -> usr/bin
        elif os.path.isdir(path) and not any(path.startswith(b + "/") for b in bound):
            _bind(path, root + path)
            bound.append(path)
    for dev in DEV_FILES:
        if os.path.exists(dev):
            _bind(dev, root + dev)
    os.mkdir(root + "/proc", 0o555)
    if LIBC.mount(b"proc", (root + "/proc").encode(), b"proc", MS_NOSUID | MS_NODEV | MS_NOEXEC,
                  b"hidepid=invisible") != 0:
        os.rmdir(root + "/proc")  # an old kernel: no /proc rather than everyone's /proc
    return True


def isolate(job):
    """Enter new namespaces and build the jail; return what actually took effect."""
    uid = job["uid"] if os.geteuid() == 0 else None
    iso = {"uid_switch": uid is not None, "network_isolated": False, "fs_jail": False}
    LIBC.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
    if not job["network"] and LIBC.unshare(CLONE_NEWNET) == 0:
        iso["network_isolated"] = True
    LIBC.unshare(CLONE_NEWIPC)
    if uid is not None and job["jail"] and LIBC.unshare(CLONE_NEWNS) == 0:
        try:
            _mount("none", "/", None, MS_REC | MS_PRIVATE)
            iso["fs_jail"] = build_jail(job, uid)
        except OSError:
            pass
    if uid is not None and not iso["fs_jail"]:
        hidden = [p for p in (sys.base_prefix, sys.prefix) if _closed_ancestor(os.path.realpath(p))]
        if hidden:
            sys.exit("the interpreter under %s is unreadable to the sandbox uid and mount "
                     "namespaces are unavailable: set SandboxConfig.python to an interpreter "
                     "installed in a world-readable place" % hidden[0])
        os.chown("work", uid, uid)
    return iso


def set_limits(job):
    """Per-case rlimits, applied in the child before it drops privileges."""
    cpu = job["cpu_s"]
    mem = job["memory_mb"] << 20
    limits = [
        (resource.RLIMIT_CPU, (cpu, cpu + 1)),
        (resource.RLIMIT_AS, (mem, mem)),
        (resource.RLIMIT_FSIZE, (job["max_output_bytes"] + 1,) * 2),
        (resource.RLIMIT_CORE, (0, 0)),
        (resource.RLIMIT_NOFILE, (256, 256)),
        (resource.RLIMIT_NPROC, (job["nproc"],) * 2),
    ]
    for which, value in limits:
        resource.setrlimit(which, value)


def drop_privileges(job):
    if job["uid"] is not None and os.geteuid() == 0:
        uid = job["uid"]
        os.setgroups([])
        os.setresgid(uid, uid, uid)
        os.setresuid(uid, uid, uid)
    LIBC.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)
    LIBC.prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0)  # after setuid, which clears it


def child(job, iso, case, fds):
    """Runs in the forked child: lock down, then run the untrusted program. Never returns."""
    try:
        os.setsid()
        for target, fd in enumerate(fds):
            os.dup2(fd, target)
        os.closerange(len(fds), resource.getrlimit(resource.RLIMIT_NOFILE)[0])
        if iso["fs_jail"]:
            os.chroot(JAIL)  # safe: the child drops root right after, so it cannot climb out
            os.chdir(WORKDIR)
        else:
            os.chdir("work")
        set_limits(job)
        drop_privileges(job)
    except BaseException as exc:  # the sandbox could not be set up: never run the code
        os.write(2, ("sandbox setup failed: %r\n" % (exc,)).encode())
        os._exit(125)
    os._exit(run_user(job, case))


def run_user(job, case):
    """Execute the program as ``__main__``; in call style also call ``fn_name(*case)``."""
    import builtins

    builtins.exit = builtins.quit = sys.exit  # -S skips site, which defines them
    sys.argv = ["solution.py"]
    scope = {"__name__": "__main__", "__builtins__": builtins}
    rc = 0
    try:
        exec(compile(job["code"], "solution.py", "exec"), scope)
        if job["mode"] == "call":
            call_function(scope, job["fn_name"], case)
    except SystemExit as exc:
        rc = _exit_code(exc.code)
    except BaseException:
        rc = 1
        _print_exception()
    if "threading" in sys.modules:  # like interpreter exit: wait for non-daemon threads
        try:
            sys.modules["threading"]._shutdown()
        except BaseException:
            pass
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except BaseException:
        rc = rc or 120
    return rc & 0xFF


def _exit_code(code):
    """``sys.exit(code)`` semantics: None is 0, an int is itself, anything else is printed, 1."""
    if code is None or isinstance(code, int):
        return code or 0
    try:
        print(code, file=sys.stderr)
    except BaseException:
        pass
    return 1


def _print_exception():
    try:
        import traceback

        kind, exc, tb = sys.exc_info()
        traceback.print_exception(kind, exc, tb.tb_next)  # from the program's frames on
    except BaseException:
        os.write(2, b"error (traceback unavailable)\n")


def call_function(scope, fn_name, args):
    """Call ``fn_name`` (top level or a LeetCode-style ``Solution`` method); report on fd 3."""
    import json

    fn = scope.get(fn_name)
    if fn is None and isinstance(scope.get("Solution"), type):
        fn = getattr(scope["Solution"](), fn_name, None)
    try:
        if not callable(fn):
            raise LookupError("no function named %r" % fn_name)
        line = json.dumps({"ok": True, "value": fn(*args)})
    except Exception as exc:  # a wrong answer, reported; SystemExit still propagates
        line = json.dumps({"ok": False, "error": "%s: %s" % (type(exc).__name__, str(exc)[:200])})
    os.write(3, line.encode() + b"\n")


def _reap_exited():
    """Reap exited children without blocking; True when none are left at all."""
    while True:
        try:
            if os.waitpid(-1, os.WNOHANG)[0] == 0:
                return False
        except ChildProcessError:
            return True


def sweep(job):
    """Kill every process the case left behind and reap it.

    We are a subreaper, so every descendant still alive is a child of ours or of another
    live descendant: no children left means nothing left (the common, fork-free path).
    """
    if _reap_exited():
        return
    if job["uid"] is not None and os.geteuid() == 0:
        killer = os.fork()
        if killer == 0:  # kill(-1) as the sandbox uid reaches exactly that uid's processes
            try:
                os.setresuid(job["uid"], job["uid"], job["uid"])
                os.kill(-1, SIGKILL)  # one pass suffices: the kernel fails forks that race it
            except OSError:
                pass
            os._exit(0)
        os.waitpid(killer, 0)
    for _ in range(10000):  # reap; without a private uid, also kill children until none remain
        try:
            with open("/proc/self/task/%d/children" % os.getpid()) as f:
                children = [int(pid) for pid in f.read().split()]
        except OSError:
            return
        if not children:
            return
        for child_pid in children:
            try:
                os.kill(child_pid, SIGKILL)
                os.waitpid(child_pid, 0)  # its own children are re-parented to us
            except OSError:
                pass


def _case_fds(job, i, case):
    stdin = os.memfd_create("stdin")
    data = case.encode("utf-8", "surrogatepass") if job["mode"] == "stdio" else b""
    _write_all(stdin, data)
    os.lseek(stdin, 0, os.SEEK_SET)
    names = ["out", "err"] + (["res"] if job["mode"] == "call" else [])
    flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC
    return [stdin] + [os.open("out/%d.%s" % (i, name), flags, 0o600) for name in names]


def run_case(job, iso, i, case):
    fds = _case_fds(job, i, case)
    start = time.monotonic()
    pid = os.fork()
    if pid == 0:
        child(job, iso, case, fds)
    for fd in fds:
        os.close(fd)
    pidfd = os.pidfd_open(pid)
    timed_out = not select.select([pidfd], [], [], job["timeout_s"])[0]
    os.close(pidfd)
    if timed_out:
        os.kill(pid, SIGKILL)
    _, status, usage = os.wait4(pid, 0)
    duration = time.monotonic() - start
    sweep(job)
    return {
        "returncode": os.waitstatus_to_exitcode(status),
        "timed_out": timed_out,
        "duration_s": duration,
        "cpu_s": usage.ru_utime + usage.ru_stime,
    }


def _write_all(fd, data):
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


def main():
    LIBC.prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0)  # if the grader dies, so do we (and, via
    job = marshal.loads(_read_all(0))  # their own PDEATHSIG, the case running under us)
    if os.getppid() != job["grader_pid"]:  # the grader died before the prctl took effect
        os._exit(1)
    iso = isolate(job)
    cases = []
    if job["mode"] != "probe":
        for i, case in enumerate(job["cases"]):
            cases.append(run_case(job, iso, i, case))
            if cases[-1]["timed_out"] and job["stop_on_timeout"]:
                break
    _write_all(1, marshal.dumps({"isolation": iso, "cases": cases}))


if __name__ == "__main__":
    main()
