"""Run untrusted programs (model-written code) against tests, isolated and resource-capped.

R1 §2.2.2: code accuracy rewards come from running predefined test cases. Every program runs
in one harness process (see ``harness``) that isolates it with the first mechanism that works
here (``jail``: root namespaces, or unprivileged user namespaces), or refuses: with no
mechanism, rows are ``UNVERIFIABLE`` (``sandbox_unavailable``) unless the caller explicitly
opts in to ``unsafe_unsandboxed_code``. ``sandbox_info()`` reports what this machine grants.
"""

from __future__ import annotations

import functools
import json
import logging
import os
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

from factory.sandbox.cases import (
    MalformedTests,
    call_matches,
    check_passed,
    parse_tests,
    stdio_matches,
    with_prelude,
)
from factory.sandbox.process import CaseRun, execute
from schemas.verdict import Verdict

log = logging.getLogger(__name__)

# worst first: the status of a multi-case run is its worst case's
STATUS_ORDER = ("timeout", "oom", "output_limit", "error", "ok")
MECHANISMS = ("root", "userns")


@dataclass(frozen=True)
class SandboxConfig:
    """Limits and isolation of one sandboxed program; limits apply to each test case."""

    # limits (per test case)
    timeout_s: float = field(default=6.0, metadata={"help": "wall-clock limit per case, seconds"})
    cpu_s: int = field(default=6, metadata={"help": "CPU-time limit per case (RLIMIT_CPU), seconds"})
    memory_mb: int = field(default=1024, metadata={"help": "address-space limit (RLIMIT_AS), MiB"})
    max_output_bytes: int = field(default=10_000_000, metadata={"help": "cap per output/file"})
    max_procs: int = field(default=32, metadata={"help": "processes+threads cap (RLIMIT_NPROC)"})
    # isolation
    network: bool = field(default=False, metadata={"help": "allow network (no net namespace)"})
    jail: bool = field(default=True, metadata={"help": "chroot into a jail of system folders and "
                                                       "the interpreter (hides project files)"})
    tmpfs_mb: int = field(default=64, metadata={"help": "size of each private tmpfs, MiB"})
    site_packages: bool = field(default=False, metadata={"help": "let programs import installed "
                                                                 "packages (slower start: no -S)"})
    mechanisms: tuple[str, ...] = field(default=("root", "userns"), metadata={
        "help": "isolation mechanisms to try, in order: root (root with CAP_SYS_ADMIN), userns "
                "(unprivileged user namespaces); none working = no code runs"})
    unsafe_unsandboxed_code: bool = field(default=False, metadata={
        "help": "DANGER: when no mechanism works, run model-written code with rlimits only (it can "
                "read your files and tokens, reach the network and signal the grader)"})
    # execution
    stop_on_timeout: bool = field(default=True, metadata={"help": "skip cases after a timeout"})
    python: str = field(default=sys.executable, metadata={"help": "interpreter for programs"})
    tmp_dir: str | None = field(default=None, metadata={"help": "parent of job folders"})

    def __post_init__(self) -> None:
        for name in ("timeout_s", "cpu_s", "memory_mb", "max_output_bytes", "max_procs", "tmpfs_mb"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
                raise ValueError(f"SandboxConfig.{name}={value!r}: must be a positive number")
        if self.memory_mb < 64:
            raise ValueError(f"SandboxConfig.memory_mb={self.memory_mb}: Python needs at least 64")
        if self.max_procs < 2:
            raise ValueError(f"SandboxConfig.max_procs={self.max_procs}: use at least 2")
        object.__setattr__(self, "mechanisms", tuple(self.mechanisms))
        unknown = set(self.mechanisms) - set(MECHANISMS)
        if unknown:
            raise ValueError(f"SandboxConfig.mechanisms has {sorted(unknown)}; choose from {MECHANISMS}")
        if not os.access(self.python, os.X_OK):
            raise ValueError(f"SandboxConfig.python={self.python!r} is not an executable; "
                             "point it at a Python 3 interpreter")


@dataclass
class RunResult:
    """One program run on one stdin."""

    status: str  # ok | error | timeout | oom | output_limit
    stdout: str
    stderr: str
    returncode: int | None
    duration_s: float
    network_isolated: bool = False


@dataclass
class TestReport:
    """A program judged against all cases of its tests."""

    __test__ = False  # not a pytest class

    verdict: Verdict
    passed: int
    total: int
    status: str  # a RunResult status (the worst case's), or invalid_tests | sandbox_error |
    # sandbox_unavailable (no isolation here: nothing ran) | no_code
    detail: str = ""
    network_isolated: bool = False


class SandboxError(RuntimeError):
    """The sandbox itself failed (not the program)."""


class SandboxUnavailable(SandboxError):
    """No isolation mechanism works on this machine, so no code was run (fail closed)."""


def _checked_isolation(isolation: dict, config: SandboxConfig) -> bool:
    if isolation.get("mode") == "unsafe":
        _warn_once("UNSAFE: model-written code runs UNSANDBOXED (unsafe_unsandboxed_code=True): it can "
                   "read your files and tokens, reach the network and signal the grader")
    elif config.network:
        _warn_once("SandboxConfig.network=True: sandboxed programs can reach the network")
    return bool(isolation.get("network_isolated"))


def _unavailable_line(reason: str) -> str:
    line = f"sandbox unavailable, code rows are unverifiable: {reason}"
    _error_once(line)
    return line


@functools.lru_cache(maxsize=None)
def _warn_once(message: str) -> None:
    log.warning(message)


@functools.lru_cache(maxsize=None)
def _error_once(message: str) -> None:
    log.error(message)


def run_program(code: str, stdin: str = "", config: SandboxConfig | None = None) -> RunResult:
    """Run one program on one stdin in the sandbox.

    Args:
        code: Python source.
        stdin: text fed to the program's standard input.
        config: limits and isolation; defaults to ``SandboxConfig()``.

    Returns:
        A ``RunResult`` with decoded, capped stdout and the tail of stderr.

    Raises:
        SandboxError: the sandbox could not run the program at all.
    """
    config = config or SandboxConfig()
    run = execute(code, "stdio", [stdin], config)
    if run.unavailable:
        raise SandboxUnavailable(_unavailable_line(run.unavailable))
    if run.error:
        raise SandboxError(run.error)
    case = run.cases[0]
    return RunResult(case.status, case.stdout.decode("utf-8", errors="replace"),
                     case.stderr.decode("utf-8", errors="replace"), case.returncode,
                     case.duration_s, _checked_isolation(run.isolation, config))


def _judge_case(spec, i: int, case: CaseRun | None) -> tuple[bool, str]:
    if case is None:
        return False, "not run (an earlier case timed out)"
    if spec.style == "call":
        if case.status not in ("ok", "error"):
            return False, case.status
        return call_matches(case.result, spec.expected[i])
    if spec.style == "check":
        if case.status not in ("ok", "error"):
            return False, case.status
        ok, why = check_passed(case.result)
        tail = case.stderr.decode("utf-8", errors="replace").strip().splitlines()[-1:]
        return ok, why + (f" ({tail[0][:200]})" if tail and not ok else "")
    if case.status != "ok":
        tail = case.stderr.decode("utf-8", errors="replace").strip().splitlines()[-1:]
        return False, f"{case.status}{': ' + tail[0][:200] if tail else ''}"
    if not stdio_matches(case.stdout, spec.expected[i]):
        got = case.stdout[:60].decode("utf-8", errors="replace")
        return False, f"wrong answer: expected {spec.expected[i][:60]!r}, got {got!r}"
    return True, ""


def run_tests(code: str, tests: Any, config: SandboxConfig | None = None) -> TestReport:
    """Judge one program against its tests (all cases in one sandboxed harness).

    Args:
        code: Python source.
        tests: a JSON string or dict, ``stdio``, ``call`` or ``check`` style (see ``parse_tests``).
        config: limits and isolation; defaults to ``SandboxConfig()``.

    Returns:
        A ``TestReport``: ``CORRECT`` iff every case passed; ``UNVERIFIABLE`` when the tests
        are malformed or the sandbox failed (both logged, never counted as correct).
    """
    config = config or SandboxConfig()
    try:
        spec = parse_tests(tests)
    except MalformedTests as exc:
        return TestReport(Verdict.UNVERIFIABLE, 0, 0, "invalid_tests", str(exc))
    total = len(spec.inputs)
    run = execute(with_prelude(code, spec.prelude), spec.style, spec.inputs, config, spec.fn_name, spec.check)
    if run.unavailable:
        return TestReport(Verdict.UNVERIFIABLE, 0, total, "sandbox_unavailable",
                          _unavailable_line(run.unavailable))
    if run.error:
        log.warning("sandbox error: %s", run.error)
        return TestReport(Verdict.UNVERIFIABLE, 0, total, "sandbox_error", run.error[:500])
    passed, detail = 0, ""
    for i in range(total):
        ok, why = _judge_case(spec, i, run.cases[i] if i < len(run.cases) else None)
        passed += ok
        detail = detail or (f"case {i}: {why}" if not ok else "")
    statuses = [c.status for c in run.cases] or ["ok"]
    status = min(statuses, key=STATUS_ORDER.index)
    verdict = Verdict.CORRECT if passed == total else Verdict.WRONG
    return TestReport(verdict, passed, total, status, detail,
                      _checked_isolation(run.isolation, config))


def _key(code: str, tests: Any) -> tuple[str, str]:
    if isinstance(tests, (str, bytes)):
        return code, tests if isinstance(tests, str) else tests.decode(errors="replace")
    try:
        return code, json.dumps(tests, sort_keys=True)
    except (TypeError, ValueError):
        return code, repr(tests)


def run_tests_batch(codes: Sequence[str], tests_list: Sequence[Any], *, workers: int | None = None,
                    config: SandboxConfig | None = None) -> list[TestReport]:
    """Judge many programs in parallel; identical (code, tests) pairs run once.

    Threads only wait on child processes, so a thread pool gives real parallelism here.

    Args:
        codes: Python sources.
        tests_list: one tests value per program (same length as ``codes``).
        workers: concurrent sandboxes; defaults to twice the number of CPUs (a sandboxed run spends
            much of its time starting up and waiting, so two per core keep the cores busy: 50 -> 70/s here).
        config: limits and isolation; defaults to ``SandboxConfig()``.

    Returns:
        One ``TestReport`` per program, in order.
    """
    if len(codes) != len(tests_list):
        raise ValueError(f"{len(codes)} programs but {len(tests_list)} tests values; pass one each")
    if workers is not None and workers < 1:
        raise ValueError(f"workers={workers}: use at least 1")
    config = config or SandboxConfig()
    unique: dict[tuple[str, str], tuple[str, Any]] = {}
    keys = [_key(c, t) for c, t in zip(codes, tests_list)]
    for key, code, tests in zip(keys, codes, tests_list):
        unique.setdefault(key, (code, tests))
    n_workers = workers or 2 * _cpu_count()
    with ThreadPoolExecutor(max_workers=max(1, min(n_workers, len(unique) or 1))) as pool:
        reports = dict(zip(unique, pool.map(lambda ct: run_tests(ct[0], ct[1], config),
                                            unique.values())))
    return [reports[k] for k in keys]


def _cpu_count() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


@functools.lru_cache(maxsize=8)
def _probe(config: SandboxConfig) -> tuple[tuple[str, Any], ...]:
    run = execute("", "probe", [], config)
    if run.error:
        raise SandboxError(run.error)
    return tuple(sorted(run.isolation.items()))


def _host_facts() -> dict[str, Any]:
    """What decides which mechanism can work: root, CAP_SYS_ADMIN, the user-namespace sysctls."""
    from factory.sandbox.jail import CAP_SYS_ADMIN, has_capability

    facts: dict[str, Any] = {"euid": os.geteuid(), "cap_sys_admin": has_capability(CAP_SYS_ADMIN)}
    for key, path in (("max_user_namespaces", "/proc/sys/user/max_user_namespaces"),
                      ("unprivileged_userns_clone", "/proc/sys/kernel/unprivileged_userns_clone"),
                      ("apparmor_restrict_unprivileged_userns",
                       "/proc/sys/kernel/apparmor_restrict_unprivileged_userns")):
        try:
            facts[key] = int(Path(path).read_text())
        except (OSError, ValueError):
            pass  # the knob does not exist on this kernel
    return facts


def sandbox_info(config: SandboxConfig | None = None) -> dict[str, Any]:
    """What isolation this machine actually grants (probed once per config by the harness).

    Args:
        config: the limits to report; defaults to ``SandboxConfig()``.

    Returns:
        ``{"mode", "tried", "network_isolated", "uid_switch", "fs_jail", "pid_ns",
        "process_cap", "rlimits", "host", …}``: ``mode`` is ``root``, ``userns``, ``unsafe``
        (the opt-in) or ``None`` (no mechanism: no code runs, ``unavailable`` says why);
        ``tried`` maps each mechanism to ``ok`` or why it does not work here.

    Raises:
        SandboxError: the harness cannot start at all.
    """
    config = config or SandboxConfig()
    info: dict[str, Any] = dict(_probe(config))
    info["process_cap"] = info.get("mode") in ("root", "userns")
    info["rlimits"] = {
        "cpu_s": config.cpu_s, "memory_mb": config.memory_mb, "fsize_bytes": config.max_output_bytes,
        "nproc": config.max_procs, "core": 0, "nofile": 256,
    }
    info["root"] = os.geteuid() == 0
    info["wall_timeout_s"] = config.timeout_s
    info["tmpfs_mb"] = config.tmpfs_mb
    info["host"] = _host_facts()
    _checked_isolation(info, config)
    return info
