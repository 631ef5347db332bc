"""Rollouts another trainer logged (TRL ``log_completions`` Parquet, verl rollout JSONL dumps) as a
rollouts snapshot, so SQL, scoring and stage-2 difficulty work on them as on our own GRPO logs."""

from __future__ import annotations

from dataclasses import dataclass, field

from factory.curate.rollout_imports import FORMATS, input_files, read_table, to_rollouts
from factory.sources.base import hash_files

NAME = "trainer-rollouts"
VERSION = "1.0.0"
RELEASE_NOTES = {"1.0.0": "TRL log_completions / verl rollout dumps as rollouts, prompts matched by content."}
KIND = "rollouts"
PARENTS: tuple[str, ...] = ()


@dataclass(frozen=True)
class Config:
    path: str = field(default="", metadata={"help": "a log file, or the folder of them (TRL: <output_dir>/completions)"})
    format: str = field(default="trl", metadata={"help": "trl | verl"})
    prompts: str = field(default="", metadata={"help": "pinned NAME@ID of the prompt snapshot trained on (lineage)"})
    model: str = field(default="", metadata={"help": "the policy that wrote the rollouts (recorded per row)"})

    def __post_init__(self) -> None:
        if not self.path:
            raise ValueError("trainer-rollouts needs path=FILE_OR_FOLDER")
        if self.format not in FORMATS:
            raise ValueError(f"format={self.format!r}: choose from {', '.join(FORMATS)}")
        if self.prompts and "@" not in self.prompts:
            raise ValueError(f"prompts={self.prompts!r}: pin it as NAME@ID so the snapshot id follows it")


class _Files:
    def __init__(self, config: Config):
        self.config = config

    def fingerprint(self) -> str:
        return hash_files([(f.name, f) for f in input_files(self.config.path, self.config.format)])


def sources(config: Config) -> dict:
    return {"files": _Files(config)}


def build(ctx, config: Config) -> None:
    prompts = None
    if config.prompts:
        snap = ctx.store.get(config.prompts)
        ctx.parents["prompts"] = snap
        prompts = snap.to_arrow()
    table, stats = to_rollouts(read_table(input_files(config.path, config.format), config.format), config.format,
                               prompts, config.model)
    ctx.write("train", table.to_batches(max_chunksize=65_536))
    ctx.note(stats=stats, description=f"{stats['rows']:,} {config.format} rollouts over {stats['steps']} steps "
                                      f"from {config.path}; {stats['matched_rows']:,} rows matched to {config.prompts or 'no prompt snapshot'}")
