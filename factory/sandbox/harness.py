"""The trusted half of the sandbox: isolates, then forks one locked-down child per test case.

``factory.sandbox.runner`` imports this module (stdlib only) in ``python -I -S`` (no site-packages,
cached bytecode: ~12 ms to start) in a fresh job folder. Design:

* The harness never sees expected outputs; it only records how each case ended. The grader
  compares outputs itself, so a program cannot forge a verdict by reading or rewriting the
  harness's memory, files or result pipe.
* Isolation is entered once per program, by the first mechanism of ``jail`` that works
  (``root``: namespaces as root; ``userns``: unprivileged user namespaces). When none works,
  the harness runs nothing and says why (fail closed); only the explicit ``unsafe`` opt-in
  runs programs with rlimits alone.
* Each case is a ``fork`` of this already-warm interpreter (~1 ms, versus ~10 ms for a
  new ``python``). In ``userns`` mode a relay forks it as PID 1 of a fresh PID namespace.
  Before any untrusted byte runs, the child takes its own session, redirects fds 0/1/2 (stdin
  from a memfd, stdout/stderr into files capped by RLIMIT_FSIZE), closes every other fd,
  chroots into the jail, sets rlimits, and drops to a private uid (``root``) or drops every
  capability (``userns``). Then it sets no_new_privs.
* After a case, anything it left running is SIGKILLed and reaped by this subreaper:
  ``kill(-1)`` from a helper holding the leased uid reaches even processes that left the
  session (``root``); in ``userns`` mode the PID namespace dies with its PID 1.

Protocol: stdin = ``marshal`` job dict from the grader (trusted); stdout = ``marshal``
result dict. Case outputs go to ``out/<i>.out``, ``out/<i>.err`` (and ``out/<i>.res``, one
JSON line, for call-style tests).
"""

import marshal
import os
import resource
import select
import sys
import time

if __package__:  # imported as part of the project (doctests, linters)
    from factory.sandbox import checker, jail
else:  # launched by the grader: only this folder is importable
    import checker
    import jail

PR_SET_PDEATHSIG, PR_SET_CHILD_SUBREAPER, PR_SET_NO_NEW_PRIVS = 1, 36, 38
SIGKILL = 9  # not `import signal`: it pulls in enum and costs ~4 ms of start-up per program
LIBC = jail.LIBC
HINT = ("enable unprivileged user namespaces (sysctl -w user.max_user_namespaces=15000; on "
        "Debian/Ubuntu also kernel.unprivileged_userns_clone=1 and, on Ubuntu 24.04, "
        "kernel.apparmor_restrict_unprivileged_userns=0); in Docker, allow them with "
        "--security-opt seccomp=unconfined, or grant the root mode with --cap-add SYS_ADMIN "
        "--security-opt apparmor=unconfined; only if you trust the code, opt in to "
        "--unsafe-unsandboxed-code")


def _read_all(fd):
    chunks = []
    while True:
        chunk = os.read(fd, 1 << 20)
        if not chunk:
            return b"".join(chunks)
        chunks.append(chunk)


MECHANISMS = {"root": jail.enter_root, "userns": jail.enter_userns}


def isolate(job):
    """Enter the first mechanism in ``job["mechanisms"]`` that works; never run unconfined
    unless ``job["unsafe"]`` (an explicit opt-in). Returns what took effect and, when
    nothing did, ``unavailable``: one line saying why and what to do."""
    LIBC.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
    iso = {"mode": None, "tried": {}, "uid_switch": False, "network_isolated": False,
           "fs_jail": False, "pid_ns": False}
    for name in job["mechanisms"]:
        try:
            MECHANISMS[name](job)
        except jail.Unavailable as exc:
            iso["tried"][name] = str(exc)
            continue
        except OSError as exc:  # a failure after the point of no return: refuse, don't fall back
            iso["tried"][name] = "failed: %s" % exc
            break
        iso["tried"][name] = "ok"
        LIBC.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)  # again: ``userns`` may have forked us
        iso.update(mode=name, network_isolated=not job["network"], fs_jail=bool(job["jail"]),
                   uid_switch=job["uid"] is not None, pid_ns=name == "userns")
        return iso
    if job["unsafe"]:
        iso["mode"] = "unsafe"
        return _unconfined(job, iso)
    why = "; ".join("%s: %s" % kv for kv in iso["tried"].items()) or "no mechanism allowed"
    iso["unavailable"] = "no isolation mechanism works here (%s): %s" % (why, HINT)
    return iso


def _unconfined(job, iso):
    """The opt-in ``unsafe`` mode: rlimits (and a private uid as root), nothing else."""
    uid = job["uid"] if os.geteuid() == 0 else None
    iso["uid_switch"] = uid is not None
    if uid is not None:
        os.chown("work", uid, uid)
    return iso


def set_limits(job, iso):
    """Per-case rlimits, applied in the child before it drops privileges.

    RLIMIT_NPROC counts the tasks of one uid (in one user namespace): the leased uid's in
    ``root`` mode, the namespace's in ``userns`` mode (where the harness and the relay are
    two of them); only the opt-in ``unsafe`` mode shares it with other processes.
    """
    nproc = {"root": job["max_procs"], "userns": job["max_procs"] + 2}.get(iso["mode"], job["nproc"])
    cpu = job["cpu_s"]
    mem = job["memory_mb"] << 20
    limits = [
        (resource.RLIMIT_CPU, (cpu, cpu + 1)),
        (resource.RLIMIT_AS, (mem, mem)),
        (resource.RLIMIT_FSIZE, (job["max_output_bytes"] + 1,) * 2),
        (resource.RLIMIT_CORE, (0, 0)),
        (resource.RLIMIT_NOFILE, (256, 256)),
        (resource.RLIMIT_NPROC, (nproc, nproc)),
    ]
    for which, value in limits:
        resource.setrlimit(which, value)


def drop_privileges(job, iso):
    if iso["mode"] == "userns":
        jail.drop_capabilities()  # uid and gid are already the unprivileged INNER_ID
    elif job["uid"] is not None and os.geteuid() == 0:
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
            if iso["pid_ns"]:
                jail.mount_proc(os.path.abspath(jail.JAIL))  # we are PID 1 of a fresh namespace
            # safe: the child drops root (or every capability) right after, and the kernel lets
            # no chrooted process create a user namespace to regain CAP_SYS_CHROOT in
            os.chroot(jail.JAIL)
            os.chdir(jail.WORKDIR)
        else:
            os.chdir("work")
        set_limits(job, iso)
        drop_privileges(job, iso)
    except BaseException as exc:  # the sandbox could not be set up: never run the code
        os.write(2, ("sandbox setup failed: %r\n" % (exc,)).encode())
        os._exit(125)
    if job["mode"] == "check":
        os._exit(checker.run_check(job, lambda serve: run_user(job, case, serve), LIBC))
    os._exit(run_user(job, case))


def relay(job, iso, case, fds, status_w):
    """``userns`` cases: the forked relay enters a new PID namespace and forks the program as
    its PID 1, then reports the program's wait status (4 bytes) and exits. When the harness
    kills the relay (timeout), the program dies by PDEATHSIG and the kernel kills the rest."""
    try:
        LIBC.prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0)
        jail.enter_case_namespaces()
        pid = os.fork()
    except BaseException as exc:
        os.write(fds[2], ("sandbox setup failed: %r\n" % (exc,)).encode())
        os._exit(125)
    if pid == 0:
        os.close(status_w)
        child(job, iso, case, fds)
    for fd in fds:
        os.close(fd)
    _, status = os.waitpid(pid, 0)
    os.write(status_w, status.to_bytes(4, "little", signed=True))
    os._exit(0)


def run_user(job, case, serve=None):
    """Execute the program as ``__main__``; in call style also call ``fn_name(*case)``; in
    check style hand its globals to ``serve`` (which answers the checker's calls)."""
    import builtins

    builtins.exit = builtins.quit = sys.exit  # -S skips site, which defines them
    sys.argv = ["solution.py"]
    scope = {"__name__": "__main__", "__builtins__": builtins}
    rc = 0
    try:
        exec(compile(job["code"], "solution.py", "exec"), scope)
        if job["mode"] == "call":
            call_function(scope, job["fn_name"], case)
        elif serve is not None:
            serve(scope)
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
    names = ["out", "err"] + (["res"] if job["mode"] in ("call", "check") else [])
    flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC
    return [stdin] + [os.open("out/%d.%s" % (i, name), flags, 0o600) for name in names]


def _start_case(job, iso, case, fds):
    """Fork the case (through a PID-namespace relay in ``userns`` mode); (pid, status fd)."""
    status_r = status_w = None
    if iso["pid_ns"] and iso["relay"]:
        status_r, status_w = os.pipe()
    pid = os.fork()
    if pid == 0:
        if status_w is None:
            child(job, iso, case, fds)
        os.close(status_r)
        relay(job, iso, case, fds, status_w)
    for fd in fds + ([status_w] if status_w is not None else []):
        os.close(fd)
    return pid, status_r


def run_case(job, iso, i, case):
    fds = _case_fds(job, i, case)
    start = time.monotonic()
    pid, status_r = _start_case(job, iso, case, fds)
    pidfd = os.pidfd_open(pid)
    timed_out = not select.select([pidfd], [], [], job["timeout_s"])[0]
    os.close(pidfd)
    if timed_out:
        os.kill(pid, SIGKILL)
    _, status, usage = os.wait4(pid, 0)  # the relay's usage includes the program it reaped
    duration = time.monotonic() - start
    if status_r is not None:
        reported = os.read(status_r, 4)
        os.close(status_r)
        status = int.from_bytes(reported, "little", signed=True) if len(reported) == 4 else status
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
    # one case (the common one): the harness's next fork is PID 1 of a fresh PID namespace, so
    # no relay is needed; with several, each case needs its own namespace, made by a relay
    iso["relay"] = len(job["cases"]) != 1
    if iso["pid_ns"] and not iso["relay"] and job["mode"] != "probe":
        jail.enter_pid_namespace()
    cases = []
    if job["mode"] != "probe" and iso["mode"] is not None:
        for i, case in enumerate(job["cases"]):
            cases.append(run_case(job, iso, i, case))
            if cases[-1]["timed_out"] and job["stop_on_timeout"]:
                break
    del iso["relay"]
    _write_all(1, marshal.dumps({"isolation": iso, "cases": cases}))


if __name__ == "__main__":
    main()
