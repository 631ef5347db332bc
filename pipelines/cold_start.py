"""Cold-start set (R1 §2.3.1): thousands of readable long-CoT samples to fine-tune before RL.

Few-shot long-CoT prompting asks for detailed answers with reflection and verification; outputs
are filtered (readable format, correct, one language, markdown summary) and reformatted into
``|special_token|<reasoning>|special_token|<summary>``. Human post-editing goes through
``factory export cold-start --for-review DIR`` and ``factory import-review DIR``.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

import pyarrow as pa

from factory.curate.sft_format import sft_batch, to_readable
from factory.generate.generation import GenerateConfig
from factory.rewards.base import split_think
from factory.rewards.readability import ReadabilityConfig
from factory.rewards.scoring import ScoreConfig
from factory.sql.filters import rejects_of, row_keys, run_model, select_rows

NAME = "cold-start"
VERSION = "1.1.0"
RELEASE_NOTES = {
    "1.0.0": "Few-shot long-CoT generation, readability filters, readable special-token format.",
    "1.1.0": "Outputs not in R1's readable format (duplicated or nested think blocks) are rejected as bad_format.",
}
KIND = "sft_samples"
PARENTS = ("curated",)


@dataclass(frozen=True)
class Config:
    # --- size (R1: thousands of cold-start samples)
    n_prompts: int = field(default=6_000, metadata={"help": "prompts sent to the teacher"})
    target: int = field(default=5_000, metadata={"help": "samples kept"})
    seed: int = 0
    # --- generation and grading
    generate: GenerateConfig = field(default_factory=lambda: GenerateConfig(
        template="cold_start_few_shot", samples_per_prompt=2, backend_options={"scripted": {"style": "readable"}}))
    score: ScoreConfig = field(default_factory=lambda: ScoreConfig(
        rewards=("accuracy", "format", "language", "readability"), format_template="readable",
        readability=ReadabilityConfig(require_markdown=True, min_language_consistency=None)))


def readable_batch(batch: pa.RecordBatch) -> pa.RecordBatch:
    """Rewrite completions into R1's readable format (reasoning and summary split by special tokens)."""
    texts = [to_readable(*split_think(t or "")) for t in batch.column("completion").to_pylist()]
    i = batch.schema.get_field_index("completion")
    return batch.set_column(i, "completion", pa.array(texts, pa.string()))


def build(ctx, config: Config) -> None:
    problems = ctx.parent("curated")
    gen = dataclasses.replace(config.generate, limit=config.n_prompts)
    rollouts = ctx.stage("rollouts", gen, name=f"{ctx.name}-rollouts", parents={"problems": problems.ref})
    scored = ctx.stage("scored", config.score, name=f"{ctx.name}-scored", parents={"rollouts": rollouts.ref})
    decisions, sql = run_model("cold_start_filter", {"scored": scored}, {"seed": config.seed, "target": config.target})
    ctx.write_rejects(rejects_of(decisions))
    keys = row_keys(decisions.filter(decisions.column("reason").is_null()))
    cols = ["problem_id", "sample_idx", "prompt", "completion", "domain", "difficulty", "language", "completion_tokens"]
    ctx.write("train", (sft_batch(readable_batch(b), category="cold_start", source=rollouts.ref)
                        for b in select_rows(scored, keys, columns=cols)))
    ctx.note(queries={"cold_start_filter": sql},
             stats={"prompts": min(config.n_prompts, problems.num_rows), "kept": len(keys)},
             synthetic=bool(rollouts.manifest.get("synthetic")),
             description=f"{len(keys):,} cold-start samples in R1's readable format")
