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
    data_dir = ctx._sb.work / "data"
    meter = _TokenMeter()
    with RowProgress(f"generate {config.model}", total=total, quiet=ctx.quiet,
                     completed=sum(done.values())) as bar:

        def on_done(shard: int, rows: int) -> None:
            part = pq.read_table(data_dir / f"train-{shard:05d}.parquet", columns=["completion_tokens"])
            bar.advance(rows, extra=meter.add(pc.sum(part.column(0)).as_py() or 0, task.stats()))

        ctx.run_shards("train", num_shards, task, on_done=on_done)
    info = {"backend": config.backend, "model": config.model, "template": config.template,
            "sampling": config.sampling().to_dict()}
    if task.backend is not None:
        info.update(task.backend.info())
        task.backend.close()
    stats = task.stats()
    if "cost_usd" in stats:
        info["cost_usd"] = round(stats["cost_usd"], 6)  # of the run that finished it (not of resumed parts)
    ctx.note(synthetic=config.backend == "scripted", generation=info,
             description=f"{config.samples_per_prompt} samples per prompt from {config.backend}:{config.model}")


class _TokenMeter:
    """Generated tokens per second of this run, and its cost when the backend prices its calls."""

    def __init__(self) -> None:
        self.tokens, self.t0 = 0, time.perf_counter()

    def add(self, tokens: int, stats: dict[str, float]) -> str:
        self.tokens += tokens
        rate = self.tokens / max(time.perf_counter() - self.t0, 1e-9)
        text = f"{_si(rate)} tok/s  {_si(self.tokens)} tok"
        return text + (f"  ${stats['cost_usd']:,.2f}" if "cost_usd" in stats else "")


def _si(x: float) -> str:
    """Compact count: 950, 12.3k, 4.56M."""
    for div, suffix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if x >= div:
            return f"{x / div:.3g}{suffix}"
    return f"{x:.0f}"
