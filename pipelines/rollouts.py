"""Rollouts: n sampled completions per problem from any backend — the expensive stage, cached by its inputs."""

from __future__ import annotations

from factory.generate import generation_errors as errors
from factory.generate.backends.base import EndpointDown, backend_is_synthetic
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
    done = ctx.done_shards("train")
    with GenerationProgress(config.model, total, completed=sum(done.values()), quiet=ctx.quiet) as bar:
        try:  # a resume first retries the error rows of finished shards, then runs the rest
            retried = errors.retry_error_rows(ctx.shard_files("train") if done else {}, task.regenerate,
                                              lambda shard, table: ctx.rewrite_shard("train", shard, table.to_batches()))
            ctx.run_shards("train", task.num_shards(), task,
                           on_done=lambda shard, rows: bar.shard_done(rows, task.stats()))
        except EndpointDown as exc:
            raise errors.stopped(exc, sum(ctx.done_shards("train").values()), total) from exc
    tally = errors.tally(ctx.part_files("train"))
    info = {"backend": config.backend, "model": config.model, "template": config.template,
            "sampling": config.sampling().to_dict()}
    if task.backend is not None:
        info.update(task.backend.info())
        task.backend.close()
    errors.check(tally, ctx.options.max_error_share, task.endpoint())
    ctx.note(synthetic=backend_is_synthetic(config.backend), generation=info,
             stats={**tally.stats(), "retried_error_rows": retried},
             description=f"{config.samples_per_prompt} samples per prompt from {config.backend}:{config.model}")
