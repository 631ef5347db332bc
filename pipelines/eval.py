"""Evaluation (R1 §3): k samples per benchmark prompt at temperature 0.6 / top-p 0.95, scored → pass@1, cons@k.

Each benchmark's problems, rollouts and scores are their own cached stages, so re-scoring or a
new benchmark never regenerates the others. The snapshot is the metrics table (one row per
benchmark); `factory build eval` prints it.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

import pyarrow as pa

from factory.evals.metrics import metrics
from factory.generate.backends.base import backend_is_synthetic
from factory.generate.generation import GenerateConfig
from factory.rewards.scoring import ScoreConfig

NAME = "eval"
VERSION = "1.0.0"
RELEASE_NOTES = {"1.0.0": "pass@1 (mean over k samples) and cons@k (majority vote) per benchmark."}
KIND = None
PARENTS: tuple[str, ...] = ()

HELDOUT = "procedural-heldout"


@dataclass(frozen=True)
class Config:
    benchmarks: tuple[str, ...] = field(default=("aime_2024", "math_500", "gpqa_diamond", "livecodebench"),
                                        metadata={"help": f"registry names (factory.evals.benchmarks) or {HELDOUT}"})
    paths: dict[str, str] = field(default_factory=dict, metadata={"help": "benchmark -> local file (offline copies)"})
    heldout_n: int = field(default=100, metadata={"help": f"problems in {HELDOUT}"})
    heldout_seed: int = 12345
    k: int = field(default=16, metadata={"help": "samples per prompt (pass@1 is averaged over them)"})
    generate: GenerateConfig = field(default_factory=lambda: GenerateConfig(
        template="chat", temperature=0.6, top_p=0.95, max_tokens=32768, samples_per_prompt=16))
    score: ScoreConfig = field(default_factory=lambda: ScoreConfig(rewards=("accuracy",), readability=None))


def problems_config(name: str, config: Config) -> dict:
    if name == HELDOUT:
        return {"source": "procedural", "n": config.heldout_n, "seed": config.heldout_seed}
    from factory.evals.benchmarks import problems_config as registry_config

    return registry_config(name, config.paths.get(name))


def build(ctx, config: Config) -> None:
    gen = dataclasses.replace(config.generate, samples_per_prompt=config.k)
    rows = []
    for bench in config.benchmarks:
        problems = ctx.stage("problems", problems_config(bench, config), name=f"eval-{bench}")
        rollouts = ctx.stage("rollouts", gen, name=f"{ctx.name}-{bench}-rollouts", parents={"problems": problems.ref})
        scored = ctx.stage("scored", config.score, name=f"{ctx.name}-{bench}-scored", parents={"rollouts": rollouts.ref})
        m = metrics(scored.batches(columns=["problem_id", "completion", "correct", "verdict", "domain"]))
        rows.append({"benchmark": bench, "model": gen.model, "backend": gen.backend, **m})
    table = pa.Table.from_pylist(rows)
    ctx.write("train", table.to_batches())
    ctx.note(metrics=rows, synthetic=backend_is_synthetic(gen.backend),
             description=f"pass@1 over k={config.k} samples and cons@{config.k} on {', '.join(config.benchmarks)}")
