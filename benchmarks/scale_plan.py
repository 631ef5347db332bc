"""Plan a run at R1 scale from rates measured on this machine: shards, replicas, object-store traffic, wall time.

Measured here, in this run (``--measure``, the default): per-process rates of the factory's own
work — the generation framework (scripted teacher: everything but the model), batch scoring
(accuracy + format + language, one process) and the rejection-sampling filter (the reasoning SQL
model in DuckDB) — and the compressed bytes per stored row and per completion character.
Projections (flags, no GPU here): model throughput per replica, tokens per generation, the
number of replicas and scoring CPUs. Every row of the output says which it is.

Run: .venv/bin/python benchmarks/scale_plan.py [--generations 2400000 --rows 10000000 --replicas 32]
"""

from __future__ import annotations

import argparse
import math
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


@dataclass
class Rates:
    """Per-process rates (rows/s) and stored sizes measured on this machine."""

    generation_rows_s: float
    scoring_rows_s: float
    filter_rows_s: float
    rollout_bytes_per_row: float
    scored_bytes_per_row: float
    bytes_per_completion_char: float


def measure(prompts: int, samples: int) -> Rates:
    """Build problems -> rollouts -> scored on a local store and time each stage; then the filter."""
    import pyarrow.compute as pc

    from factory import api
    from factory.api.build import BuildOptions, run_build
    from factory.generate.generation import GenerateConfig
    from factory.sql.filters import EMPTY_JUDGEMENTS, run_model
    from factory.store.store import Store
    from pipelines.reasoning import Config as ReasoningConfig

    with tempfile.TemporaryDirectory() as tmp:
        store = Store(Path(tmp) / "store")
        run_build(store, "problems", {"n": prompts})
        t0 = time.perf_counter()
        rollouts = api.generate(store, "problems", GenerateConfig(samples_per_prompt=samples)).snapshot
        t_gen = time.perf_counter() - t0
        t0 = time.perf_counter()
        scored = api.score(store, rollouts.ref, options=BuildOptions(workers=1)).snapshot
        t_score = time.perf_counter() - t0
        cfg = ReasoningConfig()
        variables = {"target": cfg.target, "max_per_problem": cfg.max_per_problem,
                     "max_completion_tokens": cfg.max_completion_tokens, "seed": cfg.seed}
        t0 = time.perf_counter()
        run_model("reasoning_filter", {"scored": scored, "judgements": EMPTY_JUDGEMENTS}, variables)
        t_filter = time.perf_counter() - t0
        chars = pc.sum(pc.utf8_length(rollouts.to_arrow().column("completion"))).as_py()
        n = rollouts.num_rows
        r_bytes = rollouts.manifest["splits"]["train"]["bytes"]
        return Rates(n / t_gen, n / t_score, n / t_filter, r_bytes / n,
                     scored.manifest["splits"]["train"]["bytes"] / n, r_bytes / chars)


def plan(r: Rates, a: argparse.Namespace) -> list[tuple[str, str, str, str, str]]:
    """(stage, shards x workers, traffic, wall time, basis) rows."""
    gen_shards = math.ceil(a.generations / a.samples / a.prompts_per_shard)
    gpu_s = a.generations * a.tokens_per_generation / (a.replicas * a.replica_tokens_s)
    framework_s = a.generations / (r.generation_rows_s * a.replicas)
    # stored size of one real generation: measured compressed bytes per char x projected length
    gen_bytes = max(r.rollout_bytes_per_row, r.bytes_per_completion_char * a.tokens_per_generation * a.chars_per_token)
    scored_bytes = gen_bytes + (r.scored_bytes_per_row - r.rollout_bytes_per_row)
    score_shards = math.ceil(a.rows / a.rows_per_shard)
    score_s = a.rows / (r.scoring_rows_s * a.score_cpus)
    filter_s = a.rows / r.filter_rows_s
    return [
        ("generation (model)", f"{gen_shards:,} shards x {a.replicas} replicas ({a.replicas * a.gpus_per_replica} GPUs)",
         f"write {_gb(a.generations * gen_bytes)}", _hours(gpu_s), "projection: tokens/s per replica, tokens/generation"),
        ("generation (framework)", "same shards", "-", _hours(framework_s),
         f"measured {r.generation_rows_s:,.0f} rows/s per process"),
        ("scoring", f"{score_shards:,} shards x {a.score_cpus} CPUs", f"read {_gb(a.rows * gen_bytes)}, "
         f"write {_gb(a.rows * scored_bytes)}", _hours(score_s), f"measured {r.scoring_rows_s:,.0f} rows/s per process"),
        ("filter (SQL)", "1 DuckDB job", f"read ~{_gb(a.rows * 64)} (narrow columns)", _hours(filter_s),
         f"measured {r.filter_rows_s:,.0f} rows/s in one process"),
    ]


def _gb(n: float) -> str:
    return f"{n / 1e9:,.1f} GB"


def _hours(s: float) -> str:
    return f"{s / 3600:,.2f} h" if s >= 360 else f"{s:,.0f} s"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--generations", type=int, default=2_400_000, help="target generations (R1: ~2.4M -> 600k kept)")
    p.add_argument("--rows", type=int, default=10_000_000, help="rows through scoring and the filter")
    p.add_argument("--samples", type=int, default=4, help="samples per prompt")
    p.add_argument("--prompts-per-shard", type=int, default=256)
    p.add_argument("--rows-per-shard", type=int, default=50_000)
    p.add_argument("--replicas", type=int, default=32, help="projection: model replicas (Ray actors)")
    p.add_argument("--gpus-per-replica", type=int, default=8, help="projection: GPUs per replica")
    p.add_argument("--replica-tokens-s", type=float, default=20_000, help="projection: generated tokens/s per replica")
    p.add_argument("--tokens-per-generation", type=int, default=6_000, help="projection: mean completion tokens")
    p.add_argument("--chars-per-token", type=float, default=3.5, help="projection: characters per token")
    p.add_argument("--score-cpus", type=int, default=64, help="projection: scoring processes")
    p.add_argument("--measure-prompts", type=int, default=2_000, help="size of the measuring run (x --samples)")
    a = p.parse_args()
    rates = measure(a.measure_prompts, a.samples)
    print(f"measured here: generation framework {rates.generation_rows_s:,.0f} rows/s, scoring "
          f"{rates.scoring_rows_s:,.0f} rows/s, filter {rates.filter_rows_s:,.0f} rows/s (one process each); "
          f"{rates.rollout_bytes_per_row:,.0f} B per stored rollout, {rates.bytes_per_completion_char:.3f} B per char")
    rows = plan(rates, a)
    widths = [max(len(r[i]) for r in rows + [("stage", "parallelism", "object-store traffic", "wall", "basis")])
              for i in range(5)]
    for r in [("stage", "parallelism", "object-store traffic", "wall", "basis")] + rows:
        print("  ".join(c.ljust(w) for c, w in zip(r, widths)))


if __name__ == "__main__":
    main()
