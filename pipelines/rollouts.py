"""Rollouts: n sampled completions per problem from any backend — the expensive stage, cached by its inputs."""

from __future__ import annotations

import time

import pyarrow.compute as pc
import pyarrow.parquet as pq

from factory.generation import GenerateConfig, GenerationTask
from factory.progress import RowProgress

NAME = "rollouts"
VERSION = "1.0.0"
RELEASE_NOTES = {"1.0.0": "Sharded, resumable generation with gold columns carried along for scoring."}
KIND = "rollouts"
PARENTS = ("problems",)
Config = GenerateConfig


def build(ctx, config: GenerateConfig) -> None:
    problems = ctx.parent("problems")
    task = GenerationTask([str(p) for p in problems.files()], config, runtime_options=dict(ctx.options.backend))
    num_shards, total = task.num_shards(), task.num_problems() * config.samples_per_prompt
    done = ctx.done_shards("train")
    stats = {"tokens": 0, "t0": time.perf_counter()}
    data_dir = ctx._sb.work / "data"
    with RowProgress(f"generate {config.model}", total=total, quiet=ctx.quiet,
                     completed=sum(done.values())) as bar:

        def on_done(shard: int, rows: int) -> None:
            tokens = pc.sum(pq.read_table(data_dir / f"train-{shard:05d}.parquet", columns=["completion_tokens"])
                            .column(0)).as_py() or 0
            stats["tokens"] += tokens
            rate = stats["tokens"] / max(time.perf_counter() - stats["t0"], 1e-9)
            cost = getattr(task.backend, "stats", lambda: {})().get("cost_usd", 0.0) if task.backend else 0.0
            bar.advance(rows, extra=f"{rate:,.0f} tok/s  ${cost:,.4f}")

        ctx.run_shards("train", num_shards, task, on_done=on_done)
    info = {"backend": config.backend, "model": config.model, "template": config.template,
            "sampling": config.sampling().to_dict()}
    if task.backend is not None:
        info.update(task.backend.info())
        task.backend.close()
    ctx.note(synthetic=config.backend == "scripted", generation=info,
             description=f"{config.samples_per_prompt} samples per prompt from {config.backend}:{config.model}")
