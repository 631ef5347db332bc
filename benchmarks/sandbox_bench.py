"""Sandbox throughput: trivial programs per second through ``run_tests_batch``, vs bare Python.

The baseline runs the same programs as plain ``python -I -S`` subprocesses (no isolation, no
harness) from the same thread pool, so the ratio is the price of the sandbox on this machine.
Wall-clock rates swing with whatever else runs on a shared box, so CPU milliseconds per
program (grader plus all its reaped children) are printed too, with the rate they imply
when the machine's cores are free: cores / CPU-seconds per program.

    .venv/bin/python benchmarks/sandbox_bench.py [--programs 300] [--workers 2 4]
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor

from factory.rewards.base import Verdict
from factory.sandbox.runner import SandboxConfig, run_tests_batch, sandbox_info

TESTS = '{"style": "stdio", "cases": [{"input": "", "output": "1\\n"}]}'


def programs(n: int) -> list[str]:
    # distinct sources: run_tests_batch runs identical (code, tests) pairs only once
    return [f"print(1)  # program {i}" for i in range(n)]


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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--programs", type=int, default=300)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2, 4])
    args = parser.parse_args()
    config = SandboxConfig()
    info = sandbox_info(config)
    cores = len(os.sched_getaffinity(0))
    print(f"cpus={cores} programs={args.programs} load={os.getloadavg()[0]:.1f} isolation="
          f"{ {k: info[k] for k in ('uid_switch', 'network_isolated', 'fs_jail')} }")
    sandboxed(programs(20), 2, config)  # warm-up: page cache, bytecode, uid lock files
    print(f"{'workers':>7} {'sandboxed/s':>12} {'bare/s':>8} {'ratio':>6} "
          f"{'cpu ms sandboxed':>17} {'cpu ms bare':>12} {'idle-machine/s':>15}")
    for workers in args.workers:
        codes = programs(args.programs)
        rate, cpu_ms = timed(sandboxed, codes, workers, config)
        base, base_ms = timed(bare_python, codes, workers)
        print(f"{workers:>7} {rate:>12.1f} {base:>8.1f} {rate / base:>6.2f} {cpu_ms:>17.1f} "
              f"{base_ms:>12.1f} {cores * 1000 / cpu_ms:>15.0f}")


if __name__ == "__main__":
    main()
