"""R1-Zero RL prompts (R1 §2.2): verifiable math/code prompts in the R1-Zero template, GRPO-ready.

Only rule rewards apply (accuracy + format), so every prompt must carry a gold answer or tests.
R1-Zero trains a *base* model on the paper's template as raw text, so the ``prompt`` column is
that text (TRL's standard format: GRPOTrainer tokenizes it as is, no chat template); a chat
template (``--set template=chat``) gives TRL's conversational format. Gold columns ride along.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pyarrow as pa
import pyarrow.compute as pc

from factory.curate.dedup import duplicate_gate
from factory.generate.templates import get_template
from pipelines.difficulty_utils import DifficultyFilter, PassRateFilter
from schemas import message_type

NAME = "r1-zero"
VERSION = "2.0.0"
RELEASE_NOTES = {
    "1.0.0": "R1-Zero template prompts with answer/tests gold and reward_type=rule.",
    "1.1.0": "Optional pass-rate filter (difficulty.enabled): a SQL predicate over a difficulty table.",
    "1.2.0": "Refuses to publish a prompt set whose exact-duplicate ratio exceeds max_duplicate_ratio.",
    "2.0.0": "A raw template (R1-Zero's) is stored as the prompt text a base model sees, not as a chat turn "
             "that TRL would wrap in the chat template.",
}
KIND = "rl_prompts"
PARENTS = ("curated",)


@dataclass(frozen=True)
class Config:
    template: str = field(default="r1_zero", metadata={"help": "prompt template (R1-Zero's by default)"})
    domains: tuple[str, ...] = field(default=("math", "code"), metadata={"help": "domains with rule rewards"})
    difficulty: DifficultyFilter = field(default_factory=DifficultyFilter, metadata={
        "help": "curation by pass rate under the policy (off by default: the default teacher is scripted)"})
    max_duplicate_ratio: float = field(default=0.01, metadata={
        "help": "refuse to publish above this share of repeated prompts (DAPO's set repeated each ~100x)"})


def rl_prompt_batch(batch: pa.RecordBatch, template_name: str, reward_type: str = "rule") -> pa.RecordBatch:
    """Render each problem through the template into TRL's ``prompt`` column: raw text for a raw
    template (R1-Zero), conversational messages for a chat template."""
    template = get_template(template_name)
    rows = batch.select([c for c in ("prompt", "domain", "language") if c in batch.schema.names]).to_pylist()
    if template.raw:
        prompt = pa.array([template.render_text(r) for r in rows], type=pa.string())
    else:
        prompt = pa.array([template.render(r) for r in rows], type=message_type())
    cols = {"problem_id": batch.column("problem_id"), "prompt": prompt}
    for c in ("answer", "answer_source", "tests", "domain", "language", "difficulty"):
        if c in batch.schema.names:
            cols[c] = batch.column(c)
    cols["reward_type"] = pa.array([reward_type] * batch.num_rows, pa.string())
    return pa.RecordBatch.from_pydict(cols)


def rule_mask(b: pa.RecordBatch, domains: pa.Array) -> pa.Array:
    """Prompts a rule reward can grade: in ``domains``, with a gold answer or tests."""
    return pc.and_(pc.is_in(b.column("domain"), value_set=domains),
                   pc.or_(pc.is_valid(b.column("answer")), pc.is_valid(b.column("tests"))))


def gate_duplicates(ctx, problems, domains: pa.Array, max_ratio: float) -> None:
    """Dedup as a gate, before anything is generated: refuse a prompt set that repeats itself."""
    cols = ["prompt", "domain", "answer", "tests"]
    texts = (b.filter(rule_mask(b, domains)).column("prompt") for b in problems.batches(columns=cols))
    ctx.note(reports={"duplicate_gate": duplicate_gate(texts, max_ratio, ctx.builder.NAME)})


def build(ctx, config: Config) -> None:
    problems = ctx.parent("curated")
    domains = pa.array(list(config.domains), pa.string())
    gate_duplicates(ctx, problems, domains, config.max_duplicate_ratio)
    by_pass_rate = PassRateFilter(ctx, config.difficulty, problems, config.template)

    def batches():
        for b in problems.batches():
            b = by_pass_rate.label(b)
            b = b.filter(rule_mask(b, domains))
            if b.num_rows:
                yield by_pass_rate(rl_prompt_batch(b, config.template))

    n = ctx.write("train", batches())
    by_pass_rate.finish(ctx)
    ctx.note(stats={"prompts": n, "problems": problems.num_rows},
             description=f"R1-Zero RL prompts ({get_template(config.template).ref}) from {problems.ref}")
