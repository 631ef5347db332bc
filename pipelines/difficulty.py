"""Difficulty under the policy: k samples per prompt, rule-graded, one row per prompt with its pass rate.

The recipe's RL stages learn only from prompts the policy sometimes solves: a group whose k
rewards are all equal has zero advantage (DAPO drops all-0 and all-1 groups, Skywork-OR1 keeps
1–15 of 16, POLARIS drops 8/8). Generation and scoring are stage snapshots (`difficulty-rollouts`,
`difficulty-scored`) keyed by their own inputs, so a new filter threshold downstream never
regenerates, and a new grader version re-scores without sampling again.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import pyarrow as pa
import xxhash

import schemas
from factory.generate.generation import GenerateConfig
from factory.rewards.scoring import ScoreConfig
from factory.sql.filters import run_model

NAME = "difficulty"
VERSION = "1.0.0"
RELEASE_NOTES = {"1.0.0": "k samples per prompt under a policy -> n_correct, pass rate, lengths, truncation."}
KIND = "difficulty"
PARENTS = ("curated",)


@dataclass(frozen=True)
class Config:
    # --- the policy and its sampling (R1: 16 samples, temperature 0.6, top-p 0.95)
    generate: GenerateConfig = field(default_factory=lambda: GenerateConfig(samples_per_prompt=16, template="r1_zero"),
                                     metadata={"help": "policy backend/model, k = samples_per_prompt, template"})
    policy_revision: str = field(default="", metadata={"help": "checkpoint revision (commit, step) recorded per row"})
    # --- grading: rule accuracy only (what the RL stage rewards)
    score: ScoreConfig = field(default_factory=lambda: ScoreConfig(rewards=("accuracy",), readability=None))

    def __post_init__(self) -> None:
        if "accuracy" not in self.score.rewards and not {"math", "code"} & set(self.score.rewards):
            raise ValueError(f"score.rewards={list(self.score.rewards)}: a pass rate needs accuracy (or math/code)")


def difficulty_rows(table: pa.Table, *, revision: str, graders: dict[str, str], measured_on: str) -> pa.Table:
    """The SQL model's result plus prompt hashes and provenance, conformed to the difficulty schema."""
    hashes = [None if p is None else xxhash.xxh3_64_hexdigest(p.encode()) for p in table.column("prompt").to_pylist()]
    n = table.num_rows
    table = table.drop_columns(["prompt"]).append_column("prompt_hash", pa.array(hashes, pa.string()))
    table = table.append_column("policy_revision", pa.array([revision or None] * n, pa.string()))
    table = table.append_column("graders", pa.array([json.dumps(graders, sort_keys=True)] * n, pa.string()))
    table = table.append_column("measured_on", pa.array([measured_on] * n, pa.string()))
    return schemas.conform(table, schemas.get(KIND))


def build(ctx, config: Config) -> None:
    problems = ctx.parent("curated")
    rollouts = ctx.stage("rollouts", config.generate, name=f"{ctx.name}-rollouts", parents={"problems": problems.ref})
    scored = ctx.stage("scored", config.score, name=f"{ctx.name}-scored", parents={"rollouts": rollouts.ref})
    result, sql = run_model("difficulty", {"scored": scored}, {})
    table = difficulty_rows(result, revision=config.policy_revision, graders=config.score.graders, measured_on=rollouts.ref)
    ctx.write("train", table.to_batches(max_chunksize=65_536))
    k = config.generate.samples_per_prompt
    solved = table.column("n_correct").to_pylist()
    ctx.note(queries={"difficulty": sql}, synthetic=bool(rollouts.manifest.get("synthetic")),
             stats={"prompts": table.num_rows, "k": k, "solved_none": solved.count(0), "solved_all": solved.count(k),
                    "solved_some": sum(0 < s < k for s in solved)},
             description=f"pass rates of {table.num_rows:,} prompts under {config.generate.backend}:{config.generate.model} "
                         f"(k={k}) from {scored.ref}")
