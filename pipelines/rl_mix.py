"""All-scenario RL prompts (R1 §2.3.4): reasoning prompts with gold (rule rewards) plus general
prompts flagged for the reward model (helpfulness on the summary, harmlessness on the whole)."""

from __future__ import annotations

from dataclasses import dataclass, field

import pyarrow as pa
import pyarrow.compute as pc

from pipelines.difficulty_utils import DifficultyFilter, PassRateFilter
from pipelines.r1_zero import gate_duplicates, rl_prompt_batch, rule_mask
from schemas import message_type

NAME = "rl-mix"
VERSION = "1.2.0"
RELEASE_NOTES = {"1.0.0": "Chat-template reasoning prompts (reward_type=rule) + general prompts (reward_model).",
                 "1.1.0": "Optional pass-rate filter of the rule prompts (difficulty.enabled); general share of the kept.",
                 "1.2.0": "Refuses to publish rule prompts whose exact-duplicate ratio exceeds max_duplicate_ratio."}
KIND = "rl_prompts"
PARENTS = ("curated", "non-reasoning")


@dataclass(frozen=True)
class Config:
    template: str = field(default="chat", metadata={"help": "template for reasoning prompts (post-SFT: chat)"})
    general_share: float = field(default=0.3, metadata={"help": "share of general prompts in the mix"})
    domains: tuple[str, ...] = ("math", "code")
    difficulty: DifficultyFilter = field(default_factory=DifficultyFilter, metadata={
        "help": "pass-rate filter of the rule prompts (off by default: the default teacher is scripted)"})
    max_duplicate_ratio: float = field(default=0.01, metadata={"help": "refuse to publish above this share of repeats"})

    def __post_init__(self) -> None:
        if not 0.0 <= self.general_share < 1.0:
            raise ValueError(f"general_share={self.general_share}: must be in [0, 1)")


def _general_batches(snap, limit: int):
    left = limit
    for b in snap.batches(columns=["sample_id", "messages", "category", "language"]):
        if left <= 0:
            return
        b = b.slice(0, min(left, b.num_rows))
        left -= b.num_rows
        # sft_samples conversations open with the user turn (sft_format.sft_batch): keep just that turn
        users = pc.list_slice(b.column("messages"), 0, 1).cast(message_type())
        yield pa.RecordBatch.from_pydict({
            "problem_id": b.column("sample_id"), "prompt": users,
            "domain": b.column("category"), "language": b.column("language"),
            "reward_type": pa.array(["reward_model"] * b.num_rows, pa.string())})


def build(ctx, config: Config) -> None:
    problems, general = ctx.parent("curated"), ctx.parent("non-reasoning")
    domains = pa.array(list(config.domains), pa.string())
    gate_duplicates(ctx, problems, domains, config.max_duplicate_ratio)
    by_pass_rate = PassRateFilter(ctx, config.difficulty, problems, config.template)
    cols = ["problem_id", "domain", "answer", "tests"]
    rule = (by_pass_rate.label(b) for b in problems.batches(columns=cols))
    n_rule = sum(by_pass_rate.decisions.count_kept(b.filter(rule_mask(b, domains))) if by_pass_rate.decisions
                 else pc.sum(rule_mask(b, domains)).as_py() or 0 for b in rule)
    n_general = round(n_rule * config.general_share / (1 - config.general_share))

    def batches():
        for b in problems.batches():
            b = by_pass_rate.label(b)
            b = b.filter(rule_mask(b, domains))
            if b.num_rows:
                yield by_pass_rate(rl_prompt_batch(b, config.template, "rule"))
        yield from _general_batches(general, n_general)

    n = ctx.write("train", batches())
    by_pass_rate.finish(ctx)
    ctx.note(stats={"rule_prompts": n_rule, "reward_model_prompts": n - n_rule},
             description=f"all-scenario RL: {n_rule:,} rule-rewarded reasoning prompts + {n - n_rule:,} reward-model prompts")
