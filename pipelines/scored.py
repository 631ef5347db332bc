"""Scored rollouts: every grader's verdict on a rollouts snapshot — cheap to redo, never regenerates.

Scoring is CPU-bound (language ID, readability, math-verify), so shards of rows are scored in
a process per core (or on Ray); each shard is a part file, so a killed scoring run resumes.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import Iterator

import pyarrow as pa

from factory.progress import RowProgress
from factory.rewards.scoring import ScoreConfig, score_batches

NAME = "scored"
VERSION = "1.2.0"
RELEASE_NOTES = {
    "1.0.0": "Accuracy (math/code), format and language-consistency columns plus weighted reward.",
    "1.1.0": "readability_issue bad_format for anything but R1's readable format (a duplicated <think> block); "
             "format auto holds R1-Zero-template rollouts to R1-Zero's format even without <answer>.",
    "1.2.0": "Only requested graders run (other columns null); readability is the 'readability' reward; "
             "math grader 2.0.0 (last committed answer, hedges wrong, exact equality, decimal tolerance).",
}
KIND = "scored_rollouts"
PARENTS = ("rollouts",)


@dataclass(frozen=True)
class Config(ScoreConfig):
    split: str = field(default="train", metadata={"help": "split of the rollouts snapshot to score"})
    rows_per_shard: int = field(default=50_000, metadata={"help": "rows per shard (the unit of resume)"})


@dataclass
class ScoreTask:
    """Picklable shard task: score rows ``[k * rows_per_shard, (k + 1) * rows_per_shard)``."""

    files: list[str]
    config: Config
    num_rows: int

    def setup(self) -> None:
        pass

    def num_shards(self) -> int:
        return max(1, math.ceil(self.num_rows / self.config.rows_per_shard))

    def __call__(self, shard: int) -> Iterator[pa.RecordBatch]:
        from factory.store.snapshot import read_rows

        start = shard * self.config.rows_per_shard
        table = read_rows(self.files, start, min(start + self.config.rows_per_shard, self.num_rows))
        # several shards run in a process per core already: no text-pool processes on top of those
        config = self.config if self.num_shards() == 1 else replace(self.config, text_workers=0)
        out = list(score_batches(table.to_batches(), config, rows_hint=table.num_rows))
        yield from out or [pa.RecordBatch.from_pylist([], schema=table.schema)]


def build(ctx, config: Config) -> None:
    rollouts = ctx.parent("rollouts")
    rows = rollouts.manifest["splits"][config.split]["rows"]
    task = ScoreTask([str(p) for p in rollouts.files(config.split)], config, rows)
    done = ctx.done_shards("train")
    with RowProgress("score", total=rows, quiet=ctx.quiet, completed=sum(done.values())) as bar:
        ctx.run_shards("train", task.num_shards(), task, on_done=lambda shard, n: bar.advance(n), cpu_bound=True)
    ctx.note(graders=config.graders, description=f"{rollouts.ref} scored with {', '.join(config.rewards)}")
