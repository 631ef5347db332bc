"""One sandboxed process per program: lease a private uid, launch the harness, read capped outputs.

The harness (``harness.py``) does the isolation; this side owns what must outlive it:
the uid lease (concurrent graders in any process never share a uid, which is what makes
RLIMIT_NPROC and the ``kill(-1)`` sweep exact), the job folder, the overall deadline, and
reading outputs without ever buffering more than the caps.
"""

from __future__ import annotations

import logging
import marshal
import math
import os
import shutil
import signal
import socket
import subprocess
import tempfile
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

log = logging.getLogger(__name__)

HARNESS_DIR = str(Path(__file__).parent)
# import (not run) the harness so its cached bytecode is used, then drop its folder from
# sys.path so the program cannot import the grader's modules
LAUNCH = ("import sys; sys.path.insert(0, %r); import harness; del sys.path[0]; "
          "harness.main()" % HARNESS_DIR)
UID_BASE = 2_000_000_000  # far above any real account; never in /etc/passwd
UID_SPAN = 4096
STDERR_TAIL = 8192
RESULT_CAP = 1 << 20
SETUP_FAILED = b"sandbox setup failed"


@dataclass
class CaseRun:
    """How one test case ended, as seen from outside the sandbox."""

    status: str  # ok | error | timeout | oom | output_limit
    returncode: int | None
    duration_s: float
    stdout: bytes = b""
    stderr: bytes = b""
    result: bytes | None = None  # call style: the JSON line the child wrote


@dataclass
class ExecResult:
    """All cases of one program, plus the isolation that actually took effect."""

    isolation: dict[str, Any] = field(default_factory=dict)
    cases: list[CaseRun] = field(default_factory=list)
    error: str | None = None  # the sandbox itself failed (not the program)
    unavailable: str | None = None  # no isolation mechanism works: nothing was run


def sandbox_env() -> dict[str, str]:
    """The whole environment a program sees: no inherited secrets, single-threaded BLAS."""
    return {
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "LANG": "C.UTF-8",
        "LC_ALL": "C.UTF-8",
        "HOME": "/tmp",
        "TMPDIR": "/tmp",
        "PYTHONDONTWRITEBYTECODE": "1",
        "PYTHONHASHSEED": "0",
        "OMP_NUM_THREADS": "1",
        "OPENBLAS_NUM_THREADS": "1",
        "MKL_NUM_THREADS": "1",
    }


@contextmanager
def uid_lease() -> Iterator[int | None]:
    """Hold an unused uid from ``UID_BASE…`` for one run (``None`` when not root).

    The lease is an abstract unix socket bound to a name per uid: one bind is atomic across
    threads and processes, and the kernel frees the name when its holder closes or dies.
    """
    if os.geteuid() != 0:
        yield None
        return
    start = int.from_bytes(os.urandom(4), "little") % UID_SPAN
    for k in range(UID_SPAN):
        uid = UID_BASE + (start + k) % UID_SPAN
        lock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            lock.bind(f"\0factory-sandbox-uid-{uid}")
        except OSError:
            lock.close()
            continue
        try:
            yield uid
        finally:
            lock.close()
        return
    raise RuntimeError(f"all {UID_SPAN} sandbox uids are busy; lower the number of workers")


def _user_tasks(uid: int) -> int:
    """Tasks (processes and threads) owned by ``uid``: RLIMIT_NPROC counts them all."""
    total = 0
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                if os.stat(f"/proc/{name}").st_uid == uid:
                    total += len(os.listdir(f"/proc/{name}/task"))
            except OSError:
                pass
    return total


def sweep_uid(uid: int) -> None:
    """Kill every process of ``uid`` from outside (only needed when the harness itself died).

    ``kill -9 -1`` run *as* ``uid`` reaches exactly that uid's processes. A binary, not
    ``os.fork``: forking a threaded grader is unsafe, and ``subprocess`` switches uid in C.
    """
    kill = shutil.which("kill", path="/usr/bin:/bin")
    if kill is None:
        log.warning("no kill binary: processes of sandbox uid %d may outlive their harness", uid)
        return
    subprocess.run([kill, "-9", "-1"], user=uid, group=uid, extra_groups=[], env=sandbox_env(),
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=30, check=False)


def remove_strays(uid: int) -> None:
    """Without the jail a program can write into world-writable folders: delete what it owns."""
    for folder in ("/tmp", "/var/tmp", "/dev/shm"):
        try:
            entries = list(os.scandir(folder))
        except OSError:
            continue
        for entry in entries:
            try:
                if entry.stat(follow_symlinks=False).st_uid != uid:
                    continue
                if entry.is_dir(follow_symlinks=False):
                    shutil.rmtree(entry.path, ignore_errors=True)  # never follows symlinks
                else:
                    os.unlink(entry.path)
            except OSError:
                pass


def _job(code: str, mode: str, inputs: list, fn_name: str | None, uid: int | None, config,
         check: str | None = None) -> dict:
    nproc = config.max_procs if uid is not None else _user_tasks(os.getuid()) + config.max_procs
    return {
        "code": code, "mode": mode, "cases": inputs, "fn_name": fn_name, "uid": uid, "check": check,
        "grader_pid": os.getpid(), "network": bool(config.network), "jail": bool(config.jail),
        "tmpfs_mb": int(config.tmpfs_mb), "timeout_s": float(config.timeout_s),
        "cpu_s": math.ceil(config.cpu_s), "memory_mb": int(config.memory_mb), "nproc": int(nproc),
        "max_procs": int(config.max_procs), "max_output_bytes": int(config.max_output_bytes),
        "mechanisms": list(config.mechanisms), "unsafe": bool(config.unsafe_unsandboxed_code),
        "stop_on_timeout": bool(config.stop_on_timeout),
    }


def _launch(job: dict, folder: str, config) -> tuple[dict | None, str | None]:
    """Run the harness to completion or deadline; return (report, error)."""
    flags = ["-I"] + ([] if config.site_packages else ["-S"])
    deadline = len(job["cases"]) * (config.timeout_s + 1.0) + 20.0
    proc = subprocess.Popen([config.python, *flags, "-c", LAUNCH], cwd=folder, env=sandbox_env(),
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            start_new_session=True)
    try:
        out, err = proc.communicate(marshal.dumps(job), timeout=deadline)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        if job["uid"] is not None:
            sweep_uid(job["uid"])
        return None, f"sandbox harness passed its {deadline:.0f} s deadline and was killed"
    if proc.returncode != 0:
        if job["uid"] is not None:
            sweep_uid(job["uid"])
        tail = err[-500:].decode(errors="replace")
        return None, f"sandbox harness failed ({proc.returncode}): {tail}"
    return marshal.loads(out), None


def _read(path: Path, limit: int, tail: bool = False) -> tuple[bytes, int]:
    """At most ``limit`` bytes of a file (its end when ``tail``) and its full size."""
    try:
        size = path.stat().st_size
        with open(path, "rb") as f:
            if tail and size > limit:
                f.seek(size - limit)
            return f.read(limit), size
    except FileNotFoundError:
        return b"", 0


def _classify(rec: dict, out_size: int, err_size: int, stderr: bytes, config) -> str:
    rc, cap = rec["returncode"], config.max_output_bytes
    cpu_killed = rc == -signal.SIGKILL and rec["cpu_s"] >= config.cpu_s  # ignored SIGXCPU
    if rec["timed_out"] or rc == -signal.SIGXCPU or cpu_killed:
        return "timeout"
    if rc == -signal.SIGXFSZ or out_size > cap or err_size > cap:
        return "output_limit"
    if rc != 0 and b"MemoryError" in stderr:
        return "oom"
    return "ok" if rc == 0 else "error"


def _collect(out_dir: Path, i: int, rec: dict, mode: str, config) -> CaseRun:
    stdout, out_size = _read(out_dir / f"{i}.out", config.max_output_bytes)
    stderr, err_size = _read(out_dir / f"{i}.err", STDERR_TAIL, tail=True)
    result = _read(out_dir / f"{i}.res", RESULT_CAP)[0] if mode in ("call", "check") else None
    status = _classify(rec, out_size, err_size, stderr, config)
    return CaseRun(status, rec["returncode"], rec["duration_s"], stdout, stderr, result)


def execute(code: str, mode: str, inputs: list, config, fn_name: str | None = None,
            check: str | None = None) -> ExecResult:
    """Run ``code`` once per input (stdin strings, or argument lists in call mode) in one harness.

    Args:
        code: Python source of the program.
        mode: ``"stdio"``, ``"call"``, ``"check"`` or ``"probe"`` (isolation check, no program run).
        inputs: one entry per case.
        config: a ``SandboxConfig``.
        fn_name: the function to call in call mode (check mode: the entry point, or None).
        check: check mode's test code (``def check(candidate): …`` or top-level asserts).

    Returns:
        An ``ExecResult``; ``error`` is set only when the sandbox itself failed.
    """
    with uid_lease() as uid, tempfile.TemporaryDirectory(
        prefix="factory-sandbox-", dir=config.tmp_dir, ignore_cleanup_errors=True
    ) as folder:
        os.chmod(folder, 0o711)  # the sandbox uid may traverse to work/, never list or write
        os.mkdir(os.path.join(folder, "out"), 0o700)
        os.mkdir(os.path.join(folder, "work"), 0o700)
        report, error = _launch(_job(code, mode, inputs, fn_name, uid, config, check), folder, config)
        if report is None:
            return ExecResult(error=error)
        if report["isolation"].get("unavailable"):
            return ExecResult(report["isolation"], unavailable=report["isolation"]["unavailable"])
        if uid is not None and not report["isolation"].get("fs_jail"):
            remove_strays(uid)
        out_dir = Path(folder) / "out"
        cases = [_collect(out_dir, i, rec, mode, config) for i, rec in enumerate(report["cases"])]
        for case in cases:
            if case.returncode == 125 and case.stderr.startswith(SETUP_FAILED):
                return ExecResult(report["isolation"], cases, case.stderr.decode(errors="replace"))
        return ExecResult(report["isolation"], cases)
