"""Reasoning SFT set (R1 §2.3.3): rejection sampling — several samples per prompt, keep correct, readable ones.

Stages: generate (cached by its own inputs) → score (rule graders, readability) → judge
(LLM, only rows no rule can verify) → filter
(SQL model ``reasoning_filter``: correct, language-consistent, no long paragraphs or code in the
CoT, not over-long, deduplicated per prompt, at most k per problem, stratified by domain and
difficulty up to the target) → TRL conversational ``messages``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from factory.curate.sft_format import sft_batch
from factory.generate.generation import GenerateConfig
from factory.generate.judge import JudgeConfig
from factory.rewards.scoring import ScoreConfig
from factory.sql.filters import rejects_of, row_keys, run_model, select_rows

NAME = "reasoning"
VERSION = "1.2.0"
RELEASE_NOTES = {
    "1.0.0": "Rejection sampling as SQL: correct, consistent, readable, deduplicated, capped, stratified.",
    "1.1.0": "Prompts without a rule-checkable answer are judged by an LLM against the reference.",
    "1.2.0": "Rejection sampling requires R1's readable format: a duplicated or nested <think> block is dropped "
             "(bad_format).",
}
KIND = "sft_samples"
PARENTS = ("curated",)


@dataclass(frozen=True)
class Config:
    # --- size (R1: about 600k reasoning samples)
    target: int = field(default=600_000, metadata={"help": "kept samples after filtering"})
    max_per_problem: int = field(default=2, metadata={"help": "keep at most k correct samples per prompt"})
    # --- rejection sampling from the RL checkpoint
    generate: GenerateConfig = field(default_factory=lambda: GenerateConfig(samples_per_prompt=4, template="chat"))
    score: ScoreConfig = field(default_factory=lambda: ScoreConfig(rewards=("accuracy", "language", "readability")))
    judge: JudgeConfig = field(default_factory=JudgeConfig, metadata={
        "help": "LLM judge for prompts without rule-checkable answers (R1 used DeepSeek-V3)"})
    # --- filters
    max_completion_tokens: int = field(default=32_768, metadata={"help": "drop longer CoT"})
    seed: int = field(default=0, metadata={"help": "which samples are kept when capping"})

    def __post_init__(self) -> None:
        if self.target < 1 or self.max_per_problem < 1:
            raise ValueError(f"target={self.target}, max_per_problem={self.max_per_problem}: both must be >= 1")


def build(ctx, config: Config) -> None:
    problems = ctx.parent("curated")
    rollouts = ctx.stage("rollouts", config.generate, name=f"{ctx.name}-rollouts", parents={"problems": problems.ref})
    scored = ctx.stage("scored", config.score, name=f"{ctx.name}-scored", parents={"rollouts": rollouts.ref})
    variables = {"target": config.target, "max_per_problem": config.max_per_problem,
                 "max_completion_tokens": config.max_completion_tokens, "seed": config.seed}
    judged = ctx.stage("judged", config.judge, name=f"{ctx.name}-judged", parents={"scored": scored.ref})
    decisions, sql = run_model("reasoning_filter", {"scored": scored, "judgements": judged}, variables)
    ctx.write_rejects(rejects_of(decisions))
    kept = decisions.filter(decisions.column("reason").is_null())
    keys = row_keys(kept)
    ctx.write("train", (sft_batch(b, category="reasoning", source=rollouts.ref) for b in select_rows(scored, keys)),
              total=len(keys))
    ctx.note(queries={"reasoning_filter": sql},
             stats={"scored_rollouts": decisions.num_rows, "kept": len(keys), "problems": problems.num_rows,
                    "kept_problems": len(set(kept.column("problem_id").to_pylist()))},
             synthetic=bool(rollouts.manifest.get("synthetic")),
             description=f"{len(keys):,} rejection-sampled reasoning samples from {scored.ref}")
