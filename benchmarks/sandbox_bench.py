"""Sandbox throughput in every mode, side by side: trivial programs per second through
``run_tests_batch``, against bare Python measured by the same process.

Run as root, it measures each mode in a subprocess set up by ``tests/sandbox/launch.py``:
``root`` (root with CAP_SYS_ADMIN), ``root-no-sys-admin`` (Docker's default: the ``userns``
mechanism with a leased uid) and ``user`` (an ordinary user: ``userns``). Otherwise it measures
the one mode it finds. The baseline runs the same programs as plain ``python -I -S``
subprocesses (no isolation, no harness) from the same thread pool, so the ratio is the price
of the sandbox. Wall-clock rates swing with whatever else runs on a shared box, so CPU
milliseconds per program (grader plus all its reaped children) are printed too, with the rate
they imply when the machine's cores are free: cores / CPU-seconds per program.

    .venv/bin/python benchmarks/sandbox_bench.py [--programs 300] [--workers 2 4]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from factory.rewards.base import Verdict
from factory.sandbox.runner import SandboxConfig, run_tests_batch, sandbox_info

REPO = Path(__file__).resolve().parent.parent
LAUNCH = REPO / "tests" / "sandbox" / "launch.py"
MODES = ("root", "root-no-sys-admin", "user")
TESTS = '{"style": "stdio", "cases": [{"input": "", "output": "1\\n"}]}'


def programs(n: int, salt: str) -> list[str]:
    # distinct sources: run_tests_batch runs identical (code, tests) pairs only once
    return [f"print(1)  # program {salt} {i}" for i in range(n)]


def _cpu_seconds() -> float:
    own, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def timed(fn, codes: list[str], *args) -> tuple[float, float]:
    """(programs per wall second, CPU milliseconds per program)."""
    wall, cpu = time.perf_counter(), _cpu_seconds()
    fn(codes, *args)
    n = len(codes)
    return n / (time.perf_counter() - wall), (_cpu_seconds() - cpu) / n * 1000


def bare_python(codes: list[str], workers: int) -> None:
    """Unsandboxed ``python -I -S -c`` with the same pool size."""
    def run(code: str) -> bytes:
        return subprocess.run([sys.executable, "-I", "-S", "-c", code], input=b"",
                              capture_output=True, check=True).stdout
    with ThreadPoolExecutor(max_workers=workers) as pool:
        outputs = list(pool.map(run, codes))
    assert all(out == b"1\n" for out in outputs)


def sandboxed(codes: list[str], workers: int, config: SandboxConfig) -> None:
    reports = run_tests_batch(codes, [TESTS] * len(codes), workers=workers, config=config)
    bad = [r for r in reports if r.verdict is not Verdict.CORRECT]
    assert not bad, bad[:3]


def measure(n: int, workers: list[int]) -> dict:
    """This process's mode: one row per pool size."""
    config = SandboxConfig()
    info = sandbox_info(config)
    if info["mode"] is None:
        return {"mode": None, "why": info.get("unavailable"), "rows": []}
    sandboxed(programs(20, "warm"), 2, config)  # warm-up: page cache, bytecode
    rows = []
    for w in workers:
        rate, cpu_ms = timed(sandboxed, programs(n, f"w{w}"), w, config)
        base, base_ms = timed(bare_python, programs(n, f"b{w}"), w)
        rows.append({"workers": w, "rate": rate, "cpu_ms": cpu_ms, "bare": base, "bare_ms": base_ms})
    return {"mode": info["mode"], "uid_switch": info["uid_switch"], "pid_ns": info["pid_ns"], "rows": rows}


def _in_mode(mode: str, n: int, workers: list[int]) -> dict:
    cmd = [sys.executable, str(LAUNCH), mode, "--", sys.executable, str(Path(__file__).resolve()), "--measure",
           "--programs", str(n), "--workers", *map(str, workers)]
    env = dict(os.environ, PYTHONPATH=str(REPO))
    out = subprocess.run(cmd, env=env, cwd="/", capture_output=True, text=True, check=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--programs", type=int, default=300)
    parser.add_argument("--workers", type=int, nargs="+", default=[2, 4])
    parser.add_argument("--measure", action="store_true", help="measure this process's mode; print JSON")
    args = parser.parse_args()
    if args.measure:
        print(json.dumps(measure(args.programs, args.workers)))
        return
    cores = len(os.sched_getaffinity(0))
    modes = MODES if os.geteuid() == 0 else ("as-is",)
    print(f"cpus={cores} programs={args.programs} load={os.getloadavg()[0]:.1f} (before)")
    print(f"{'mode':>18} {'mechanism':>9} {'workers':>7} {'sandboxed/s':>12} {'bare/s':>8} {'ratio':>6} "
          f"{'cpu ms sandboxed':>17} {'cpu ms bare':>12} {'idle-machine/s':>15}")
    for mode in modes:
        res = measure(args.programs, args.workers) if mode == "as-is" else _in_mode(mode, args.programs, args.workers)
        if res["mode"] is None:
            print(f"{mode:>18} unavailable: {res['why']}")
        for r in res["rows"]:
            print(f"{mode:>18} {res['mode']:>9} {r['workers']:>7} {r['rate']:>12.1f} {r['bare']:>8.1f} "
                  f"{r['rate'] / r['bare']:>6.2f} {r['cpu_ms']:>17.1f} {r['bare_ms']:>12.1f} "
                  f"{cores * 1000 / r['cpu_ms']:>15.0f}")
    print(f"load={os.getloadavg()[0]:.1f} (after)")


if __name__ == "__main__":
    main()
