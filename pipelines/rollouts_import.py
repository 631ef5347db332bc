"""Rollouts imported from a .jsonl/.parquet file, so files can be scored into snapshots with lineage."""

from __future__ import annotations

from dataclasses import dataclass, field

from factory.sources.base import FileFingerprint
from factory.store.row_files import read_row_file

NAME = "rollouts_import"
VERSION = "1.0.0"
RELEASE_NOTES = {"1.0.0": "Import rollouts (completion plus gold columns) from a local file."}
KIND = None  # any columns; scoring checks for `completion`
PARENTS: tuple[str, ...] = ()


@dataclass(frozen=True)
class Config:
    path: str = field(default="", metadata={"help": "a .jsonl or .parquet file of rollouts"})

    def __post_init__(self) -> None:
        if not self.path:
            raise ValueError("rollouts_import needs path=FILE")


def sources(config: Config) -> dict:
    return {"file": FileFingerprint(config.path)}


def build(ctx, config: Config) -> None:
    ctx.write("train", read_row_file(config.path))
    ctx.note(description=f"rollouts imported from {config.path}")
