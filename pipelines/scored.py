"""Scored rollouts: every grader's verdict on a rollouts snapshot — cheap to redo, never regenerates."""

from __future__ import annotations

from dataclasses import dataclass, field

from factory.scoring import ScoreConfig, score_batches

NAME = "scored"
VERSION = "1.0.0"
RELEASE_NOTES = {"1.0.0": "Accuracy (math/code), format and language-consistency columns plus weighted reward."}
KIND = "scored_rollouts"
PARENTS = ("rollouts",)


@dataclass(frozen=True)
class Config(ScoreConfig):
    split: str = field(default="train", metadata={"help": "split of the rollouts snapshot to score"})


def build(ctx, config: Config) -> None:
    rollouts = ctx.parent("rollouts")
    ctx.write("train", score_batches(rollouts.batches(config.split), config), total=rollouts.num_rows)
    ctx.note(graders=config.graders, description=f"{rollouts.ref} scored with {', '.join(config.rewards)}")
