"""Problems: verifiable prompts (math answers, code tests) imported from a source into a snapshot.

The root of every R1 dataset: R1-Zero RL prompts, rejection sampling and eval all start here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from factory.sources.base import Source
from factory.sources.registry import source_from_spec

NAME = "problems"
VERSION = "1.1.0"
RELEASE_NOTES = {
    "1.0.0": "Problems imported from procedural, local-file or Hugging Face sources, deduplicated by problem_id.",
    "1.1.0": "source benchmark:<name> reads an eval benchmark in its publisher's layout through its converter.",
}
KIND = "problems"
PARENTS: tuple[str, ...] = ()


@dataclass(frozen=True)
class Config:
    # --- where problems come from
    source: str = field(default="procedural", metadata={
        "help": "procedural | general | a .jsonl/.parquet/.csv path | hf:ORG/NAME | benchmark:NAME | reasoning-gym:TASK[,TASK...]"})
    mapping: dict[str, str] = field(default_factory=dict, metadata={"help": "source column -> problems column"})
    defaults: dict[str, Any] = field(default_factory=dict, metadata={"help": "constant columns, e.g. domain: math"})
    # --- procedural generator only
    n: int = field(default=20_000, metadata={"help": "number of procedural problems (reasoning-gym: per task)"})
    seed: int = field(default=0, metadata={"help": "procedural / reasoning-gym seed: same seed, same problems"})
    options: dict[str, Any] = field(default_factory=dict, metadata={"help": "other source options (split, languages, ...)"})

    def __post_init__(self) -> None:
        if self.n <= 0:
            raise ValueError(f"n={self.n}: the number of problems must be positive")


def source(config: Config) -> Source:
    if config.source.startswith("benchmark:"):
        from factory.evals.benchmarks import load_benchmark

        return load_benchmark(config.source.split(":", 1)[1], **config.options)
    if config.source in ("procedural", "general"):
        return source_from_spec({"kind": config.source, "n": config.n, "seed": config.seed, **config.options})
    if config.source.startswith("reasoning-gym:"):  # per-task generator options: options.configs.<task>
        return source_from_spec({"kind": "reasoning-gym", "tasks": config.source.partition(":")[2], "n": config.n,
                                 "seed": config.seed, **config.options})
    spec: dict[str, Any] = {"kind": "files", "path": config.source}
    if config.source.startswith("hf:"):
        spec = {"kind": "hf", "path": config.source[3:]}
    if config.mapping:
        spec["mapping"] = config.mapping
    if config.defaults:
        spec["defaults"] = config.defaults
    return source_from_spec({**spec, **config.options})


def sources(config: Config) -> dict[str, Source]:
    return {"problems": source(config)}


def build(ctx, config: Config) -> None:
    src = source(config)
    total = config.n if config.source in ("procedural", "general") else None
    ctx.write("train", src.batches(), total=total)
    ctx.note(description=f"Problems from {src.kind} source", source=src.describe())
