"""Procedural generator throughput, as problems/s and as a ratio to a naive per-item generator in the same run.

Usage: ``python benchmarks/procedural_bench.py [N]`` (default 1,000,000). The baseline is
the obvious implementation with the same guarantee (problem i depends only on (seed, i)):
one ``random.Random`` per problem, an arithmetic expression, ``eval`` for the gold and
``json.dumps`` for the metadata — arithmetic only, so the ratio flatters the baseline.
"""

from __future__ import annotations

import json
import random
import sys
import time

import pyarrow as pa

from factory.sources.procedural import ProceduralConfig, ProceduralSource


def naive_arithmetic(n: int, seed: int = 0) -> pa.Table:
    prompts, answers, metas = [], [], []
    for i in range(n):
        rng = random.Random(seed * 1_000_003 + i)
        a, b, c = (rng.randint(1, 50) for _ in range(3))
        o1, o2 = rng.choice("+-*"), rng.choice("+-*")
        expr = f"{a} {o1} ({b} {o2} {c})" if rng.random() < 0.5 else f"{a} {o1} {b} {o2} {c}"
        prompts.append(f"Compute ${expr}$.")
        answers.append(str(eval(expr)))  # noqa: S307 - generated from digits and operators
        metas.append(json.dumps({"task": "arithmetic", "expression": expr}))
    return pa.table({"prompt": prompts, "answer": answers, "metadata": metas})


def rate(label: str, n: int, run) -> float:
    start, cpu = time.perf_counter(), time.process_time()
    rows = run()
    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
    print(f"{label:<36} {rows:>9,} problems  {seconds:6.2f} s wall  {cpu:6.2f} s cpu  "
          f"{rows / seconds:>9,.0f} problems/s")
    return rows / cpu  # CPU time: the ratio below stays meaningful on a shared machine


def drain(config: ProceduralConfig) -> int:
    return sum(batch.num_rows for batch in ProceduralSource(config).batches())


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
    small = max(n // 10, 1)
    base = rate("baseline: naive arithmetic", small, lambda: naive_arithmetic(small).num_rows)
    only_arithmetic = ProceduralConfig(n=small, tasks={"arithmetic": 1}, code_share=0)
    arith = rate("procedural: arithmetic only", small, lambda: drain(only_arithmetic))
    rate("procedural: math only (5 kinds)", small, lambda: drain(ProceduralConfig(n=small, code_share=0)))
    rate("procedural: code only (9 kinds)", small, lambda: drain(ProceduralConfig(n=small, code_share=1)))
    rate("procedural: default mix (20% code)", n, lambda: drain(ProceduralConfig(n=n)))
    print(f"arithmetic: {arith / base:.1f}x the naive baseline's problems per CPU second (same run)")


if __name__ == "__main__":
    main()
