"""The sandbox runs real programs here: normal judging first, hostile programs last."""

from __future__ import annotations

import json
import os
import shutil
import socket
import tempfile
import uuid
from pathlib import Path

import pytest

from factory.rewards.base import Verdict
from factory.sandbox.jail import INNER_ID
from factory.sandbox.process import UID_BASE
from factory.sandbox.runner import (
    SandboxConfig,
    SandboxError,
    SandboxUnavailable,
    run_program,
    run_tests,
    run_tests_batch,
    sandbox_info,
)

CFG = SandboxConfig(timeout_s=2, cpu_s=2, memory_mb=512)
ADD = "a, b = map(int, input().split())\nprint(a + b)\n"
ADD_TESTS = {"style": "stdio", "cases": [{"input": "1 2\n", "output": "3\n"},
                                         {"input": "5 5\n", "output": "10\n"}]}


def still_works() -> None:
    """After any hostile program, the grader and the next normal program are fine."""
    report = run_tests(ADD, ADD_TESTS, CFG)
    assert (report.verdict, report.passed) == (Verdict.CORRECT, 2), report


def processes_of(uid: int) -> list[int]:
    """Live processes owned by ``uid`` (a sandbox uid should have none once its run is over)."""
    pids = []
    for name in os.listdir("/proc"):
        try:
            if name.isdigit() and os.stat(f"/proc/{name}").st_uid == uid:
                pids.append(int(name))
        except OSError:
            pass
    return pids


# --- normal programs -------------------------------------------------------------------

def test_run_program_io_and_exit_codes():
    ok = run_program("print(input()[::-1])", "abc\n", CFG)
    assert (ok.status, ok.stdout, ok.returncode) == ("ok", "cba\n", 0)
    assert ok.duration_s > 0
    failed = run_program("import sys\nprint('x', file=sys.stderr)\nexit(3)", config=CFG)
    assert (failed.status, failed.returncode, failed.stderr) == ("error", 3, "x\n")
    crashed = run_program("def f(:\n", config=CFG)
    assert crashed.status == "error" and "SyntaxError" in crashed.stderr
    assert "harness.py" not in run_program("1/0", config=CFG).stderr  # program frames only


def test_large_stdin_and_stdlib_imports():
    code = "import sys, heapq, collections, json\nprint(len(sys.stdin.read()))"
    assert run_program(code, "x" * 1_000_000, CFG).stdout == "1000000\n"


def test_environment_is_scrubbed_and_unprivileged(monkeypatch):
    monkeypatch.setenv("FACTORY_TEST_SECRET", "hunter2")
    out = run_program("import os\nprint(os.environ.get('FACTORY_TEST_SECRET'), os.getuid())",
                      config=CFG).stdout.split()
    assert out[0] == "None"
    mode = sandbox_info(CFG)["mode"]
    if mode == "root":
        assert int(out[1]) >= UID_BASE
    elif mode == "userns":  # the program's uid inside its user namespace
        assert int(out[1]) == INNER_ID


def test_program_sees_no_project_files():
    result = run_program(f"import os\nprint(os.path.exists({__file__!r}), os.getcwd())", config=CFG)
    if sandbox_info(CFG)["fs_jail"]:  # hidden test answers in the store must be out of reach
        assert result.stdout.split() == ["False", "/sandbox"]
    else:
        assert result.stdout.split()[0] == "True"


def test_stdio_judging_normalizes_whitespace():
    tests = {"style": "stdio", "cases": [{"input": "", "output": "1 2\n3\n"}]}
    padded = "print('1 2   ')\nprint('3')\nprint()\nprint()"
    assert run_tests(padded, tests, CFG).verdict is Verdict.CORRECT
    assert run_tests("print('1 2 3')", tests, CFG).verdict is Verdict.WRONG


def test_stdio_partial_pass_and_runtime_error():
    report = run_tests("a, b = map(int, input().split())\nprint(a + b if a < 5 else 0)", ADD_TESTS, CFG)
    assert (report.verdict, report.passed, report.total, report.status) == (Verdict.WRONG, 1, 2, "ok")
    assert report.detail == "case 1: wrong answer: expected '10\\n', got '0\\n'"
    crash = run_tests("raise ValueError('boom')", ADD_TESTS, CFG)
    assert crash.status == "error" and "ValueError: boom" in crash.detail


def test_call_style_function_and_solution_class():
    tests = {"style": "call", "fn_name": "pair", "cases": [{"args": [1, 2], "expected": [1, 2]},
                                                           {"args": [[3], 4], "expected": [[3], 4]}]}
    assert run_tests("def pair(a, b):\n    return (a, b)", tests, CFG).verdict is Verdict.CORRECT
    cls = "class Solution:\n    def pair(self, a, b):\n        print('noise')\n        return [a, b]"
    assert run_tests(cls, json.dumps(tests), CFG).passed == 2
    wrong = run_tests("def pair(a, b):\n    return a", tests, CFG)
    assert (wrong.verdict, wrong.passed) == (Verdict.WRONG, 0) and "expected" in wrong.detail
    missing = run_tests("def other(): pass", tests, CFG)
    assert "no function named 'pair'" in missing.detail


@pytest.mark.parametrize("tests", [
    "{not json", {"cases": [{"input": "", "output": ""}]}, {"style": "stdio"},
    {"style": "stdio", "cases": []}, {"style": "shell", "cases": [{"input": "", "output": ""}]},
    {"style": "call", "cases": [{"args": [], "expected": 1}]},
    {"style": "stdio", "cases": [{"input": ""}]},
    {"style": "call", "fn_name": "f", "cases": [{"args": 1, "expected": 1}]}, [1, 2],
])
def test_malformed_tests_are_unverifiable(tests):
    report = run_tests("print(1)", tests, CFG)
    assert (report.verdict, report.status) == (Verdict.UNVERIFIABLE, "invalid_tests")


def test_batch_keeps_order_and_validates():
    codes = ["print(3)", "print(4)", "print(3)"]
    tests = {"style": "stdio", "cases": [{"input": "", "output": "3"}]}
    verdicts = [r.verdict for r in run_tests_batch(codes, [tests] * 3, workers=2, config=CFG)]
    assert verdicts == [Verdict.CORRECT, Verdict.WRONG, Verdict.CORRECT]
    with pytest.raises(ValueError, match="2 tests values"):
        run_tests_batch(codes, [tests] * 2)


@pytest.mark.parametrize("field, value", [("timeout_s", 0), ("memory_mb", 16), ("max_procs", 1),
                                          ("cpu_s", True), ("python", "/no/such/python")])
def test_bad_config_raises(field, value):
    with pytest.raises(ValueError, match=field):
        SandboxConfig(**{field: value})


def test_uid_leases_are_exclusive():
    from factory.sandbox.process import uid_lease

    with uid_lease() as first, uid_lease() as second:
        if first is None:
            pytest.skip("not root: no private uids")
        assert first != second and min(first, second) >= UID_BASE


def test_sandbox_info_reports_isolation():
    info = sandbox_info(CFG)
    assert {"network_isolated", "uid_switch", "fs_jail", "process_cap", "rlimits"} <= set(info)
    assert info["rlimits"]["memory_mb"] == 512
    assert run_program("print(1)", config=CFG).network_isolated is info["network_isolated"]


# --- hostile programs (kept last; each must fail or time out and leave everything intact) --

def test_infinite_loop_and_sleep_time_out():
    cfg = SandboxConfig(timeout_s=1, cpu_s=1)
    assert run_program("while True:\n    pass", config=cfg).status == "timeout"
    report = run_tests("import time\ntime.sleep(60)", ADD_TESTS, cfg)
    assert (report.status, report.passed) == ("timeout", 0)
    assert report.detail == "case 0: timeout"  # and case 1 was skipped, not waited for
    still_works()


def test_huge_output_is_capped():
    cfg = SandboxConfig(timeout_s=5, cpu_s=5, max_output_bytes=1_000_000)
    result = run_program("import sys\nfor _ in range(100):\n    sys.stdout.write('x' * 1_000_000)",
                         config=cfg)
    assert result.status == "output_limit" and len(result.stdout) <= 1_000_000
    still_works()


def test_no_network():
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    try:
        code = f"import socket\nsocket.create_connection(('127.0.0.1', {server.getsockname()[1]}), 1)"
        result = run_program(code, config=CFG)
        if sandbox_info(CFG)["network_isolated"]:
            assert result.status == "error" and "OSError" in result.stderr, result
        else:  # the report must say so rather than pretend
            assert result.network_isolated is False
    finally:
        server.close()
    still_works()


def _canary_parent_outside_tmp() -> Path:
    # besides /tmp: without the jail the program sees these folders and only permissions stop it
    for parent in ("/run", "/mnt", "/srv"):
        if os.access(parent, os.W_OK):
            return Path(parent)
    return Path(__file__).parent


def test_cannot_delete_or_write_files_outside():
    canaries = [Path(tempfile.mkdtemp(prefix="canary-")),
                Path(tempfile.mkdtemp(prefix="canary-", dir=_canary_parent_outside_tmp()))]
    stray = Path(tempfile.gettempdir()) / f"sandbox-stray-{uuid.uuid4().hex}"
    try:
        for canary in canaries:
            (canary / "keep.txt").write_text("precious")
            code = (f"import shutil\nshutil.rmtree({str(canary)!r}, ignore_errors=True)\n"
                    f"open({str(canary / 'new.txt')!r}, 'w').write('x')")
            assert run_program(code, config=CFG).status == "error"
            assert (canary / "keep.txt").read_text() == "precious"
            assert not (canary / "new.txt").exists()
        assert run_program(f"open({str(stray)!r}, 'w').write('x')", config=CFG).status in ("ok", "error")
        assert not stray.exists()  # written only into the private /tmp, or refused
    finally:
        for canary in canaries:
            shutil.rmtree(canary, ignore_errors=True)
    still_works()


@pytest.mark.skipif(not os.access("/usr/bin/python3", os.X_OK), reason="needs a system python")
def test_without_jail_strays_are_removed():
    # no jail: the program runs in the real file system, where only its uid protects files
    cfg = SandboxConfig(timeout_s=2, cpu_s=2, jail=False, python="/usr/bin/python3")
    if not sandbox_info(cfg)["uid_switch"]:
        pytest.skip("needs root to run as a sandbox uid")
    stray = Path(tempfile.gettempdir()) / f"sandbox-stray-{uuid.uuid4().hex}"
    code = f"import os\nos.makedirs({str(stray / 'a')!r})\nprint(os.getcwd())"
    result = run_program(code, config=cfg)
    assert result.status == "ok" and not stray.exists()
    assert run_program(f"open({__file__!r}, 'a')", config=cfg).status == "error"  # read-only


def test_cannot_kill_the_grader_and_leaves_no_processes():
    info = sandbox_info(CFG)
    if info["mode"] != "root":
        pytest.skip("the private-uid sweep is mode root's; tests/sandbox/test_hostile.py covers every mode")
    parent = run_program(f"import os\nos.kill({os.getpid()}, 9)", config=CFG)
    assert parent.status == "error" and "PermissionError" in parent.stderr
    everyone = run_program("import os\nos.kill(-1, 9)\nprint('only my own uid')", config=CFG)
    assert everyone.stdout == "only my own uid\n"  # and the grader (this test) is still here
    daemon = ("import os, time\nif os.fork() == 0:\n    os.setsid()\n    time.sleep(60)\n"
              "print(os.getuid())")
    uid = int(run_program(daemon, config=CFG).stdout)
    assert processes_of(uid) == []  # the daemon left its session, yet was swept
    still_works()


def test_memory_bomb_fails():
    cfg = SandboxConfig(timeout_s=5, cpu_s=5, memory_mb=256)
    assert run_program("x = bytearray(10 * 1024 ** 3)", config=cfg).status == "oom"
    grow = run_program("x = []\nwhile True:\n    x.append(bytearray(10 ** 7))", config=cfg)
    assert grow.status in ("oom", "error")
    still_works()


def test_fork_bomb_is_contained():
    if sandbox_info(CFG)["mode"] != "root":
        pytest.skip("checks the leased uid; tests/sandbox/test_hostile.py covers every mode")
    cfg = SandboxConfig(timeout_s=1, cpu_s=1, max_procs=6)
    # prove the cap with a polite program before unleashing a real bomb
    probe = ("import os, time\nn = 0\ntry:\n    for _ in range(20):\n        if os.fork() == 0:\n"
             "            time.sleep(30)\n            os._exit(0)\n        n += 1\n"
             "except OSError:\n    pass\nprint(n)")
    assert int(run_program(probe, config=cfg).stdout) < 6
    bomb = ("import os\nprint(os.getuid(), flush=True)\nwhile True:\n    try:\n        os.fork()\n"
            "    except OSError:\n        pass")
    result = run_program(bomb, config=cfg)
    assert result.status in ("timeout", "error"), result
    assert processes_of(int(result.stdout)) == []
    still_works()


def test_sandbox_error_is_raised_for_a_broken_interpreter():
    with pytest.raises(SandboxError):
        run_program("print(1)", config=SandboxConfig(python="/bin/false"))


def test_sweep_uid_kills_leftovers_of_a_dead_harness():
    if not sandbox_info(CFG)["uid_switch"]:
        pytest.skip("needs root to run as a sandbox uid")
    import subprocess

    from factory.sandbox.process import UID_SPAN, sweep_uid
    uid = UID_BASE + UID_SPAN + 1  # outside the leased range: no live sandbox uses it
    sleeper = subprocess.Popen(["sleep", "60"], user=uid, group=uid, extra_groups=[])
    sweep_uid(uid)
    assert sleeper.wait(timeout=10) == -9


# --- fail closed: no isolation mechanism, no code run -------------------------------------

CANARY_CODE = "open({path!r}, 'w').write('ran')\nprint(3)"


def test_no_mechanism_runs_no_code():
    canary = Path(tempfile.gettempdir()) / f"sandbox-canary-{uuid.uuid4().hex}"
    cfg = SandboxConfig(timeout_s=2, cpu_s=2, mechanisms=())
    report = run_tests(CANARY_CODE.format(path=str(canary)), ADD_TESTS, cfg)
    assert (report.verdict, report.status) == (Verdict.UNVERIFIABLE, "sandbox_unavailable")
    assert "max_user_namespaces" in report.detail and "--unsafe-unsandboxed-code" in report.detail
    with pytest.raises(SandboxUnavailable, match="no isolation mechanism works here"):
        run_program(CANARY_CODE.format(path=str(canary)), config=cfg)
    assert not canary.exists()
    assert sandbox_info(cfg)["mode"] is None


def test_unsafe_opt_in_is_explicit_and_loud(caplog):
    from factory.sandbox.runner import _warn_once

    cfg = SandboxConfig(timeout_s=2, cpu_s=2, mechanisms=(), unsafe_unsandboxed_code=True)
    _warn_once.cache_clear()  # warned once per process: make this test see it
    with caplog.at_level("WARNING"):
        report = run_tests(ADD, ADD_TESTS, cfg)
    assert report.verdict is Verdict.CORRECT and sandbox_info(cfg)["mode"] == "unsafe"
    assert "UNSANDBOXED" in caplog.text
    assert SandboxConfig().unsafe_unsandboxed_code is False  # never the default


def test_user_namespaces_disabled_fails_closed():
    """A real machine without the mechanism: an ordinary user where user.max_user_namespaces=0."""
    import subprocess
    import sys

    if os.geteuid() != 0:
        pytest.skip("simulating a machine without user namespaces needs root")
    canary = f"/tmp/sandbox-canary-{uuid.uuid4().hex}"
    script = ("import json\nfrom factory.rewards.code_reward import grade_code_batch\n"
              "from factory.sandbox.runner import sandbox_info\n"
              f"r = grade_code_batch(['```python\\n' + {CANARY_CODE.format(path=canary)!r} + '\\n```'], "
              f"[{json.dumps(ADD_TESTS)!r}])[0]\n"
              "print(json.dumps([sandbox_info()['mode'], r.verdict.value, r.status, r.detail]))")
    launch = Path(__file__).parent / "launch.py"
    proc = subprocess.run([sys.executable, str(launch), "user-no-userns", "--", sys.executable, "-c", script],
                          capture_output=True, text=True, timeout=120, cwd="/",
                          env={"PATH": os.environ["PATH"], "PYTHONPATH": str(Path(__file__).parents[2])})
    assert proc.returncode == 0, proc.stderr[-2000:]
    mode, verdict, status, detail = json.loads(proc.stdout.splitlines()[-1])
    assert (mode, verdict, status) == (None, "unverifiable", "sandbox_unavailable")
    assert "No space left on device" in detail and "sysctl" in detail  # why, and what to do
    assert "sandbox unavailable" in proc.stderr  # the one clear line in the log
    assert not os.path.exists(canary)
