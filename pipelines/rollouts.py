"""Rollouts: n sampled completions per problem from any backend — the expensive stage, cached by its inputs."""

from __future__ import annotations

from factory.generate.backends.base import backend_is_synthetic
from factory.generate.generation import GenerateConfig, GenerationProgress, GenerationTask

NAME = "rollouts"
VERSION = "1.0.0"
RELEASE_NOTES = {"1.0.0": "Sharded, resumable generation with gold columns carried along for scoring."}
KIND = "rollouts"
PARENTS = ("problems",)
Config = GenerateConfig


def build(ctx, config: GenerateConfig) -> None:
    problems = ctx.parent("problems")
    task = GenerationTask([str(p) for p in problems.files()], config, runtime_options=dict(ctx.options.backend))
    total = task.num_problems() * config.samples_per_prompt
    with GenerationProgress(config.model, total, completed=sum(ctx.done_shards("train").values()),
                            quiet=ctx.quiet) as bar:
        ctx.run_shards("train", task.num_shards(), task, on_done=lambda shard, rows: bar.shard_done(rows, task.stats()))
    info = {"backend": config.backend, "model": config.model, "template": config.template,
            "sampling": config.sampling().to_dict()}
    if task.backend is not None:
        info.update(task.backend.info())
        task.backend.close()
    ctx.note(synthetic=backend_is_synthetic(config.backend), generation=info,
             description=f"{config.samples_per_prompt} samples per prompt from {config.backend}:{config.model}")
