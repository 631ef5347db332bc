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
from factory.curate.majority import Vote, majority_votes
from factory.generate.generation import GenerateConfig
from factory.rewards.scoring import ScoreConfig
from factory.sql.filters import run_model

NAME = "difficulty"
VERSION = "1.1.0"
RELEASE_NOTES = {"1.0.0": "k samples per prompt under a policy -> n_correct, pass rate, lengths, truncation.",
                 "1.1.0": "Majority-vote answers and agreement; prompts without gold are rated against the majority."}
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
    # --- majority vote (NeMo-Skills pseudo-labels): only used as gold where a builder opts in
    majority_vote: bool = field(default=True, metadata={
        "help": "cluster the k answers by grader equivalence; no-gold prompts get majority@k rates"})

    def __post_init__(self) -> None:
        if "accuracy" not in self.score.rewards and not {"math", "code"} & set(self.score.rewards):
            raise ValueError(f"score.rewards={list(self.score.rewards)}: a pass rate needs accuracy (or math/code)")


def difficulty_rows(table: pa.Table, *, revision: str, graders: dict[str, str], measured_on: str,
                    votes: dict[str, Vote] | None = None) -> pa.Table:
    """The SQL model's result plus prompt hashes, provenance and majority votes, in the difficulty schema.

    A prompt without gold (no verdict) is rated against its majority answer: ``n_correct`` is the
    size of the winning cluster and ``answer_source`` says ``majority@k``, so it is never read as gold.
    """
    hashes = [None if p is None else xxhash.xxh3_64_hexdigest(p.encode()) for p in table.column("prompt").to_pylist()]
    n, votes = table.num_rows, votes or {}
    ids, graded = table.column("problem_id").to_pylist(), table.column("n_graded").to_pylist()
    mine = [votes.get(i) for i in ids]
    pseudo = [g == 0 and v is not None for g, v in zip(graded, mine)]
    n_correct = [v.votes if p else c for p, v, c in zip(pseudo, mine, table.column("n_correct").to_pylist())]
    rate = [v.agreement if p else r for p, v, r in zip(pseudo, mine, table.column("pass_rate").to_pylist())]
    source = [f"majority@{v.k}" if p else ("gold" if g else None) for p, v, g in zip(pseudo, mine, graded)]
    extra = {"prompt_hash": pa.array(hashes, pa.string()), "policy_revision": pa.array([revision or None] * n, pa.string()),
             "graders": pa.array([json.dumps(graders, sort_keys=True)] * n, pa.string()),
             "measured_on": pa.array([measured_on] * n, pa.string()), "answer_source": pa.array(source, pa.string()),
             "majority_answer": pa.array([v.answer if v else None for v in mine], pa.string()),
             "majority_agreement": pa.array([v.agreement if v else None for v in mine], pa.float64())}
    table = table.drop_columns(["prompt", "n_correct", "pass_rate"])
    table = table.append_column("n_correct", pa.array(n_correct, pa.int32())).append_column("pass_rate", pa.array(rate, pa.float64()))
    for name, col in extra.items():
        table = table.append_column(name, col)
    return schemas.conform(table, schemas.get(KIND))


def build(ctx, config: Config) -> None:
    problems = ctx.parent("curated")
    rollouts = ctx.stage("rollouts", config.generate, name=f"{ctx.name}-rollouts", parents={"problems": problems.ref})
    scored = ctx.stage("scored", config.score, name=f"{ctx.name}-scored", parents={"rollouts": rollouts.ref})
    result, sql = run_model("difficulty", {"scored": scored}, {})
    votes = majority_votes(scored.batches(columns=["problem_id", "completion", "domain"])) if config.majority_vote else None
    table = difficulty_rows(result, revision=config.policy_revision, graders=config.score.graders, measured_on=rollouts.ref,
                            votes=votes)
    ctx.write("train", table.to_batches(max_chunksize=65_536))
    k = config.generate.samples_per_prompt
    solved = table.column("n_correct").to_pylist()
    ctx.note(queries={"difficulty": sql}, synthetic=bool(rollouts.manifest.get("synthetic")),
             stats={"prompts": table.num_rows, "k": k, "solved_none": solved.count(0), "solved_all": solved.count(k),
                    "solved_some": sum(0 < s < k for s in solved), **_majority_stats(table)},
             description=f"pass rates of {table.num_rows:,} prompts under {config.generate.backend}:{config.generate.model} "
                         f"(k={k}) from {scored.ref}")


def _majority_stats(table: pa.Table) -> dict[str, int]:
    sources = table.column("answer_source").to_pylist()
    return {"pseudo_labeled": sum(s is not None and s.startswith("majority@") for s in sources)}
